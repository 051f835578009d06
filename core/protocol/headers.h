/*
 * NATS header blocks ("NATS/1.0[ status[ description]]\r\n" then
 * "Name: value\r\n" lines and a blank line).
 *
 * The builder writes a block for publishing; the reader walks a received
 * block without copying it.
 */
#ifndef JW_HEADERS_H
#define JW_HEADERS_H

#include <stddef.h>

/* A growable header block being built for publishing. */
typedef struct jw__hdr_builder {
    char *buf; /* "NATS/1.0\r\n" + lines, without the final blank line */
    size_t len, cap;
} jw__hdr_builder;

/* Append "name: value\r\n". Names must be printable ASCII 33..126 without
 * ':' and values must not contain CR or LF; else JW_EINVAL (with
 * jw_last_error set). JW_ENO_MEMORY on allocation failure. */
int jw__hdr_add(jw__hdr_builder *b, const char *name, const char *value);
/* Remove every line with this exact name. */
void jw__hdr_remove(jw__hdr_builder *b, const char *name);
void jw__hdr_free(jw__hdr_builder *b);
/* Bytes of the finished block (buf + the terminating "\r\n"), or 0 when no
 * header was added. */
size_t jw__hdr_block_len(const jw__hdr_builder *b);

/* Parsed view of a received header block. */
typedef struct jw__hdr_line {
    const char *name;
    size_t name_len;
    const char *value; /* leading whitespace skipped */
    size_t value_len;
} jw__hdr_line;

/* Parse the status line: sets *status (0 when none) and the description
 * (may be empty). Returns 0, or JW_EPROTOCOL when the block does not start
 * with "NATS/1.0". */
int jw__hdr_status(const char *block, size_t len, int *status,
                   const char **desc, size_t *desc_len);

/* Iterate lines: *pos starts at 0; returns 1 and fills *line while there is
 * one more, 0 at the end, JW_EPROTOCOL on a malformed line. */
int jw__hdr_next(const char *block, size_t len, size_t *pos,
                 jw__hdr_line *line);

#endif
