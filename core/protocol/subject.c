/*
 * Subject validation and wildcard matching, following protocol.md 5.
 *
 * Validation is done once, before anything reaches the wire or the
 * subscription table, so the matcher below may assume well-formed input and
 * stay a plain token walk.
 */
#include "subject.h"
#include "internal.h"

#include <string.h>

/* Subjects can be long; the error text shows only their start. */
#define SHOWN_MAX 64

/* The whitespace the server refuses inside subjects and queue names. */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
           c == '\v';
}

static int fail_subject(const char *subject, size_t len, const char *reason)
{
    int shown = len > SHOWN_MAX ? SHOWN_MAX : (int)len;
    return jw__fail(JW_EINVALID_SUBJECT, "invalid subject '%.*s%s': %s",
                    shown, subject ? subject : "",
                    len > SHOWN_MAX ? "..." : "", reason);
}

/* Check one token [tok, tok + tok_len); last says whether it ends the
 * subject. Returns the reason it is invalid, or NULL. */
static const char *token_problem(const char *tok, size_t tok_len, int last,
                                 int wildcards)
{
    if (tok_len == 0)
        return "empty token";
    if (tok_len != 1 || (tok[0] != '*' && tok[0] != '>'))
        return NULL; /* "foo*" and "f>o" are literal tokens */
    if (!wildcards)
        return "wildcard token in a literal subject";
    if (tok[0] == '>' && !last)
        return "'>' must be the last token";
    return NULL;
}

int jw__subject_check(const char *subject, size_t len, int wildcards)
{
    if (!subject || len == 0)
        return fail_subject(subject, 0, "empty subject");

    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        /* Most bytes are plain token characters: one test settles them. */
        if (i < len && (unsigned char)subject[i] > ' ' && subject[i] != '.')
            continue;
        if (i < len && subject[i] != '.') {
            if (subject[i] == '\0')
                return fail_subject(subject, len, "contains a NUL byte");
            if (is_space(subject[i]))
                return fail_subject(subject, len, "contains whitespace");
            continue;
        }
        /* A token ends here, at a dot or at the end of the subject. */
        const char *reason = token_problem(subject + start, i - start,
                                           i == len, wildcards);
        if (reason)
            return fail_subject(subject, len, reason);
        start = i + 1;
    }
    return 0;
}

int jw__queue_check(const char *queue, size_t len)
{
    if (!queue || len == 0)
        return jw__fail(JW_EINVAL, "invalid queue group '': empty");
    for (size_t i = 0; i < len; i++) {
        if (queue[i] == '\0' || is_space(queue[i])) {
            int shown = len > SHOWN_MAX ? SHOWN_MAX : (int)len;
            return jw__fail(JW_EINVAL,
                            "invalid queue group '%.*s%s': contains "
                            "whitespace or NUL",
                            shown, queue, len > SHOWN_MAX ? "..." : "");
        }
    }
    return 0;
}

/* Index of the dot ending the token that starts at from, or len. */
static size_t token_end(const char *s, size_t len, size_t from)
{
    const char *dot = memchr(s + from, '.', len - from);
    return dot ? (size_t)(dot - s) : len;
}

int jw__subject_matches(const char *pattern, size_t plen, const char *subject,
                        size_t slen)
{
    if (!pattern || !subject || plen == 0 || slen == 0)
        return 0;
    size_t p = 0, s = 0;
    for (;;) {
        size_t p_end = token_end(pattern, plen, p);
        size_t s_end = token_end(subject, slen, s);
        size_t p_len = p_end - p;
        int p_last = p_end == plen, s_last = s_end == slen;

        /* A final '>' takes this subject token and all that follow; there
         * is at least this one, so "foo.>" never matches "foo". */
        if (p_len == 1 && pattern[p] == '>' && p_last)
            return 1;
        int star = p_len == 1 && pattern[p] == '*';
        if (!star && (p_len != s_end - s ||
                      memcmp(pattern + p, subject + s, p_len) != 0))
            return 0;
        if (p_last || s_last)
            return p_last && s_last;
        p = p_end + 1;
        s = s_end + 1;
    }
}

int jw_subject_is_valid(const char *subject)
{
    return subject && jw__subject_check(subject, strlen(subject), 0) == 0;
}

int jw_subject_pattern_is_valid(const char *pattern)
{
    return pattern && jw__subject_check(pattern, strlen(pattern), 1) == 0;
}

int jw_subject_matches(const char *pattern, const char *subject)
{
    if (!jw_subject_pattern_is_valid(pattern) || !jw_subject_is_valid(subject))
        return 0;
    return jw__subject_matches(pattern, strlen(pattern), subject,
                               strlen(subject));
}
