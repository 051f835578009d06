/*
 * Header blocks (core/protocol/headers.c and the message accessors of
 * core/connection/msg.c) on arbitrary bytes.
 *
 * The input is one received header block. The reader must either walk it
 * or reject it, never read outside it; every line it returns must be one
 * the builder would accept. A received message made from the block must
 * index the same lines and report the same status. Lines that the reader
 * accepted are then written again with the builder and read back: the
 * lines must come back unchanged (a differential check of builder against
 * reader), and removing a name must remove exactly its lines.
 */
#include "engine.h"
#include "fuzz.h"
#include "headers.h"

#include <stddef.h>
#include <stdint.h>

/* A 4 KiB block holds at most ~1000 lines ("a:\r\n"). */
#define MAX_LINES 2048

typedef struct lines {
    int count;
    jw__hdr_line line[MAX_LINES];
} lines;

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Walk a block; returns the reader's last answer (0 or JW_EPROTOCOL). */
static int walk(const char *block, size_t len, lines *out)
{
    size_t pos = 0, last = 0;
    jw__hdr_line line;
    int rc;
    out->count = 0;
    while ((rc = jw__hdr_next(block, len, &pos, &line)) == 1) {
        FUZZ_CHECK(pos > last && pos <= len);
        last = pos;
        FUZZ_CHECK(line.name >= block && line.name_len > 0);
        FUZZ_CHECK(line.name + line.name_len <= block + len);
        for (size_t i = 0; i < line.name_len; i++) {
            unsigned char c = (unsigned char)line.name[i];
            FUZZ_CHECK(c > ' ' && c < 0x7f && c != ':');
        }
        FUZZ_CHECK(line.value >= line.name + line.name_len);
        FUZZ_CHECK(line.value + line.value_len <= block + len);
        FUZZ_CHECK(!line.value_len || !is_blank(line.value[0]));
        for (size_t i = 0; i < line.value_len; i++)
            FUZZ_CHECK(line.value[i] != '\r' && line.value[i] != '\n');
        if (out->count < MAX_LINES)
            out->line[out->count] = line;
        out->count++;
    }
    FUZZ_CHECK(rc == 0 || rc == JW_EPROTOCOL);
    if (rc == 0) /* a complete block is consumed to its end */
        FUZZ_CHECK(pos == len);
    return rc;
}

static int same(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* The message's index copies names and values as C strings. */
static int same_cstr(const char *c, const char *b, size_t blen)
{
    size_t n = strnlen(b, blen); /* a NUL inside a value ends the copy */
    return strlen(c) == n && memcmp(c, b, n) == 0;
}

static void check_message(const char *block, size_t len, const lines *ls,
                          int status_rc, int status)
{
    /* The reader hands the message layer only blocks it framed itself. */
    if (len < 12 || memcmp(block, "NATS/1.0", 8) != 0)
        return;
    jw__proto_event ev = {0};
    ev.op = JW__OP_MSG;
    ev.subject = "s";
    ev.subject_len = 1;
    ev.hdr = block;
    ev.hdr_len = len;
    ev.data = block + len;
    jw_msg *m = jw__msg_from_event(&ev, NULL);
    FUZZ_CHECK(m != NULL);

    size_t raw_len;
    const char *raw = jw_msg_headers_raw(m, &raw_len);
    FUZZ_CHECK(same(raw, raw_len, block, len));
    FUZZ_CHECK(jw_msg_status_code(m) == (status_rc ? 0 : status));

    /* The index holds the lines read before any malformed one. */
    int count = jw_msg_header_count(m);
    FUZZ_CHECK(count == ls->count);
    for (int i = 0; i < count && i < MAX_LINES; i++) {
        const char *name, *value;
        FUZZ_CHECK(jw_msg_header_at(m, i, &name, &value) == JW_OK);
        FUZZ_CHECK(
            same(name, strlen(name), ls->line[i].name, ls->line[i].name_len));
        FUZZ_CHECK(same_cstr(value, ls->line[i].value, ls->line[i].value_len));
        /* A lookup by name finds the first line of that name. */
        const char *first;
        FUZZ_CHECK(jw_msg_header_get(m, name, 0, &first) == JW_OK);
        int j = 0;
        while (
            !same(ls->line[j].name, ls->line[j].name_len, name, strlen(name)))
            j++;
        FUZZ_CHECK(j <= i);
        FUZZ_CHECK(same_cstr(first, ls->line[j].value, ls->line[j].value_len));
    }
    const char *name, *value;
    FUZZ_CHECK(jw_msg_header_at(m, count, &name, &value) == JW_EINVAL);
    jw_msg_free(m);
}

/* The builder's block, finished, in an exact-size allocation. */
static char *finished(const jw__hdr_builder *b, size_t *len)
{
    *len = jw__hdr_block_len(b);
    char *block = malloc(*len);
    FUZZ_CHECK(block != NULL);
    memcpy(block, b->buf, b->len);
    memcpy(block + b->len, "\r\n", 2);
    return block;
}

/* Write the lines again with the builder and read them back. */
static void check_rebuild(const lines *ls)
{
    jw__hdr_builder b = {0};
    int kept = 0;
    char name[256], value[4096];
    if (ls->count > MAX_LINES)
        return;
    for (int i = 0; i < ls->count && i < MAX_LINES; i++) {
        const jw__hdr_line *l = &ls->line[i];
        /* The builder takes C strings; a value with a NUL cannot pass. */
        if (l->name_len >= sizeof(name) || l->value_len >= sizeof(value) ||
            memchr(l->value, '\0', l->value_len))
            return jw__hdr_free(&b);
        memcpy(name, l->name, l->name_len);
        name[l->name_len] = '\0';
        memcpy(value, l->value, l->value_len);
        value[l->value_len] = '\0';
        FUZZ_CHECK(jw__hdr_add(&b, name, value) == JW_OK);
        kept++;
    }
    if (!kept)
        return jw__hdr_free(&b);

    size_t len;
    char *block = finished(&b, &len);
    int status = -1;
    FUZZ_CHECK(jw__hdr_status(block, len, &status, NULL, NULL) == 0);
    FUZZ_CHECK(status == 0);
    static lines again;
    FUZZ_CHECK(walk(block, len, &again) == 0);
    FUZZ_CHECK(again.count == kept);
    for (int i = 0; i < kept; i++) {
        FUZZ_CHECK(same(again.line[i].name, again.line[i].name_len,
                        ls->line[i].name, ls->line[i].name_len));
        FUZZ_CHECK(same(again.line[i].value, again.line[i].value_len,
                        ls->line[i].value, ls->line[i].value_len));
    }
    free(block);

    /* Removing the first line's name removes all its lines, only those. */
    memcpy(name, ls->line[0].name, ls->line[0].name_len);
    name[ls->line[0].name_len] = '\0';
    int others = 0;
    for (int i = 0; i < kept; i++)
        others +=
            !same(ls->line[i].name, ls->line[i].name_len, name, strlen(name));
    jw__hdr_remove(&b, name);
    FUZZ_CHECK((jw__hdr_block_len(&b) == 0) == (others == 0));
    if (others) {
        block = finished(&b, &len);
        FUZZ_CHECK(walk(block, len, &again) == 0);
        FUZZ_CHECK(again.count == others);
        for (int i = 0; i < again.count; i++)
            FUZZ_CHECK(!same(again.line[i].name, again.line[i].name_len, name,
                             strlen(name)));
        free(block);
    }
    jw__hdr_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *block = (const char *)data;
    int status = -1;
    const char *desc = NULL;
    size_t desc_len = 0;
    int status_rc = jw__hdr_status(block, size, &status, &desc, &desc_len);
    FUZZ_CHECK(status_rc == 0 || status_rc == JW_EPROTOCOL);
    if (status_rc == 0) {
        FUZZ_CHECK(status >= 0 && status <= 999);
        FUZZ_CHECK(desc >= block && desc + desc_len <= block + size);
        for (size_t i = 0; i < desc_len; i++)
            FUZZ_CHECK(desc[i] != '\r' && desc[i] != '\n');
    }

    static lines ls; /* large: off the stack */
    int walk_rc = walk(block, size, &ls);
    check_message(block, size, &ls, status_rc, status);
    if (walk_rc == 0 && status_rc == 0)
        check_rebuild(&ls);
    return 0;
}
