/* Subject validation and wildcard matching (NATS rules, see protocol.md). */
#ifndef JW_SUBJECT_H
#define JW_SUBJECT_H

#include <stddef.h>

/* 0 when valid, else JW_EINVALID_SUBJECT with jw_last_error() set to a
 * message naming the subject and the reason. wildcards: 1 to accept `*` and
 * a last `>` as whole tokens (subscribe), 0 for literal subjects (publish,
 * reply). */
int jw__subject_check(const char *subject, size_t len, int wildcards);

/* 0 when a queue group name is valid (non-empty, no whitespace), else
 * JW_EINVAL with jw_last_error() set. */
int jw__queue_check(const char *queue, size_t len);

/* 1 when the literal subject matches the pattern. */
int jw__subject_matches(const char *pattern, size_t plen,
                        const char *subject, size_t slen);

#endif
