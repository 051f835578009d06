/*
 * NATS header blocks (protocol.md 4): a builder for publishing and a reader
 * that walks a received block in place.
 *
 * The reader is strict about the framing (every line ends in CRLF, the block
 * ends with a blank line and nothing after it) because a sloppy block means
 * the HMSG lengths were wrong, and every scan is bounded by len: a block
 * comes from the network and need not be NUL-terminated.
 */
#include "headers.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define STATUS_LINE "NATS/1.0"
#define STATUS_LINE_LEN 8
/* Error texts show at most this much of a name or value. */
#define SHOWN_MAX 64

static int shown(size_t len)
{
    return len > SHOWN_MAX ? SHOWN_MAX : (int)len;
}

/* ---- builder ---------------------------------------------------------- */

/* A name is what the server can find at a line start: printable ASCII
 * without ':' (so no space before the colon either). */
static int name_ok(const char *name, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 33 || c > 126 || c == ':')
            return 0;
    }
    return 1;
}

static int reserve(jw__hdr_builder *b, size_t more)
{
    if (more > SIZE_MAX / 2 - b->len)
        return jw__fail(JW_ENO_MEMORY, "header block too large");
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + more)
        cap *= 2;
    char *buf = realloc(b->buf, cap);
    if (!buf)
        return jw__fail(JW_ENO_MEMORY, "out of memory building headers");
    b->buf = buf;
    b->cap = cap;
    return 0;
}

static void put(jw__hdr_builder *b, const char *p, size_t n)
{
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

int jw__hdr_add(jw__hdr_builder *b, const char *name, const char *value)
{
    if (!b || !name || !value)
        return jw__fail(JW_EINVAL, "header name and value must not be NULL");
    size_t name_len = strlen(name), value_len = strlen(value);
    if (!name_ok(name, name_len))
        return jw__fail(JW_EINVAL,
                        "invalid header name '%.*s': must be printable "
                        "ASCII without ':' or spaces",
                        shown(name_len), name);
    /* CR or LF would end the line early and let a value forge headers. */
    if (strpbrk(value, "\r\n"))
        return jw__fail(JW_EINVAL,
                        "invalid value for header '%.*s': contains CR or LF",
                        shown(name_len), name);

    size_t first = b->len == 0 ? STATUS_LINE_LEN + 2 : 0;
    int rc = reserve(b, first + name_len + 2 + value_len + 2);
    if (rc)
        return rc;
    if (first)
        put(b, STATUS_LINE "\r\n", first);
    put(b, name, name_len);
    put(b, ": ", 2);
    put(b, value, value_len);
    put(b, "\r\n", 2);
    return 0;
}

void jw__hdr_remove(jw__hdr_builder *b, const char *name)
{
    if (!b || !name || b->len == 0)
        return;
    size_t name_len = strlen(name);
    size_t pos = STATUS_LINE_LEN + 2; /* lines start after the status line */
    while (pos < b->len) {
        /* The builder wrote every line, so each has ": " and CRLF. */
        const char *line = b->buf + pos;
        const char *eol = memchr(line, '\n', b->len - pos);
        size_t line_len = eol ? (size_t)(eol - line) + 1 : b->len - pos;
        const char *colon = memchr(line, ':', line_len);
        if (colon && (size_t)(colon - line) == name_len &&
            memcmp(line, name, name_len) == 0) {
            memmove(b->buf + pos, b->buf + pos + line_len,
                    b->len - pos - line_len);
            b->len -= line_len;
        } else {
            pos += line_len;
        }
    }
    /* A lone status line is no header at all: start afresh next time. */
    if (b->len == STATUS_LINE_LEN + 2)
        b->len = 0;
}

void jw__hdr_free(jw__hdr_builder *b)
{
    if (!b)
        return;
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
}

size_t jw__hdr_block_len(const jw__hdr_builder *b)
{
    return b && b->len ? b->len + 2 : 0;
}

/* ---- reader ----------------------------------------------------------- */

/* Offset of the CRLF ending the line that starts at from. Returns 0 with
 * *eol set, or JW_EPROTOCOL when there is none or a bare CR or LF comes
 * first (it would make the line boundaries ambiguous). */
static int line_end(const char *block, size_t len, size_t from, size_t *eol)
{
    for (size_t i = from; i < len; i++) {
        if (block[i] != '\r' && block[i] != '\n')
            continue;
        if (block[i] == '\r' && i + 1 < len && block[i + 1] == '\n') {
            *eol = i;
            return 0;
        }
        return jw__fail(JW_EPROTOCOL,
                        "malformed header block: bare CR or LF at byte %zu",
                        i);
    }
    return jw__fail(JW_EPROTOCOL, "malformed header block: line without "
                                  "CRLF at byte %zu",
                    from);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int jw__hdr_status(const char *block, size_t len, int *status,
                   const char **desc, size_t *desc_len)
{
    if (status)
        *status = 0;
    if (desc)
        *desc = block;
    if (desc_len)
        *desc_len = 0;
    if (!block || len < STATUS_LINE_LEN ||
        memcmp(block, STATUS_LINE, STATUS_LINE_LEN) != 0)
        return jw__fail(JW_EPROTOCOL,
                        "header block does not start with NATS/1.0");
    size_t eol = 0;
    int rc = line_end(block, len, 0, &eol);
    if (rc)
        return rc;

    /* The rest of the line, trimmed, is "" or "<3 digits>[ description]". */
    size_t p = STATUS_LINE_LEN, end = eol;
    if (p < end && !is_blank(block[p]))
        return jw__fail(JW_EPROTOCOL, "malformed status line '%.*s'",
                        shown(eol), block);
    while (p < end && is_blank(block[p]))
        p++;
    while (end > p && is_blank(block[end - 1]))
        end--;
    if (p == end)
        return 0;
    int code = 0;
    for (size_t i = 0; i < 3; i++) {
        if (p + i >= end || block[p + i] < '0' || block[p + i] > '9')
            return jw__fail(JW_EPROTOCOL, "malformed status line '%.*s'",
                            shown(eol), block);
        code = code * 10 + (block[p + i] - '0');
    }
    p += 3;
    if (p < end && !is_blank(block[p]))
        return jw__fail(JW_EPROTOCOL, "malformed status line '%.*s'",
                        shown(eol), block);
    while (p < end && is_blank(block[p]))
        p++;
    if (status)
        *status = code;
    if (desc)
        *desc = block + p;
    if (desc_len)
        *desc_len = end - p;
    return 0;
}

int jw__hdr_next(const char *block, size_t len, size_t *pos,
                 jw__hdr_line *line)
{
    if (!block || !pos || !line)
        return jw__fail(JW_EINVAL, "NULL argument to header iteration");
    size_t eol = 0;
    int rc;
    if (*pos == 0) { /* skip the status line, parsed by jw__hdr_status */
        if ((rc = line_end(block, len, 0, &eol)) != 0)
            return rc;
        *pos = eol + 2;
    }
    size_t p = *pos;
    if (p > len)
        return jw__fail(JW_EINVAL, "header position past the block");
    /* Asked again after the end: the block ends with a blank line, which
     * no header line can look like, so this is not a truncated block. */
    if (p == len && len >= 4 && memcmp(block + len - 4, "\r\n\r\n", 4) == 0)
        return 0;
    if ((rc = line_end(block, len, p, &eol)) != 0)
        return rc;
    if (eol == p) { /* the blank line ends the block */
        if (eol + 2 != len)
            return jw__fail(JW_EPROTOCOL,
                            "malformed header block: %zu bytes after the "
                            "blank line",
                            len - eol - 2);
        *pos = len;
        return 0;
    }

    const char *colon = memchr(block + p, ':', eol - p);
    if (!colon || !name_ok(block + p, (size_t)(colon - block) - p))
        return jw__fail(JW_EPROTOCOL, "malformed header line '%.*s'",
                        shown(eol - p), block + p);
    size_t v = (size_t)(colon - block) + 1;
    while (v < eol && is_blank(block[v]))
        v++;
    line->name = block + p;
    line->name_len = (size_t)(colon - block) - p;
    line->value = block + v;
    line->value_len = eol - v;
    *pos = eol + 2;
    return 1;
}
