/* Header blocks: the builder and the reader (protocol.md 4). */
#include <stdlib.h>

#include "headers.h"
#include "jetwire.h"
#include "test.h"

/* A heap copy of exactly the block's bytes, without a NUL, so that the
 * address sanitizer catches any read past len. */
static char *exact(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    if (p && len)
        memcpy(p, s, len);
    return p;
}

/* The finished block: the builder's bytes and the closing blank line. */
static int finished_is(const jw__hdr_builder *b, const char *want)
{
    size_t len = jw__hdr_block_len(b);
    if (len != strlen(want) || len < 2)
        return 0;
    return memcmp(b->buf, want, len - 2) == 0 &&
           memcmp(want + len - 2, "\r\n", 2) == 0;
}

TEST(headers_build_basic)
{
    jw__hdr_builder b = {0};
    CHECK_EQ_INT(jw__hdr_block_len(&b), 0);
    CHECK_EQ_INT(jw__hdr_add(&b, "Bar", "Baz"), 0);
    CHECK_MEM_STR(b.buf, b.len, "NATS/1.0\r\nBar: Baz\r\n");
    CHECK_EQ_INT(jw__hdr_block_len(&b), 22);
    CHECK(finished_is(&b, "NATS/1.0\r\nBar: Baz\r\n\r\n"));
    jw__hdr_free(&b);
    CHECK(b.buf == NULL);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(jw__hdr_block_len(&b), 0);
    jw__hdr_free(&b); /* twice is harmless */
    jw__hdr_free(NULL);
    CHECK_EQ_INT(jw__hdr_block_len(NULL), 0);
    return 0;
}

TEST(headers_build_repeated_and_case)
{
    jw__hdr_builder b = {0};
    CHECK_EQ_INT(jw__hdr_add(&b, "X-Key", "one"), 0);
    CHECK_EQ_INT(jw__hdr_add(&b, "x-key", "lower"), 0);
    CHECK_EQ_INT(jw__hdr_add(&b, "X-Key", "two"), 0);
    CHECK_EQ_INT(jw__hdr_add(&b, "Empty", ""), 0);
    CHECK_EQ_INT(jw__hdr_add(&b, "Nats-Msg-Id", "a:b c\tdé"), 0);
    CHECK_MEM_STR(b.buf, b.len,
                  "NATS/1.0\r\nX-Key: one\r\nx-key: lower\r\nX-Key: two\r\n"
                  "Empty: \r\nNats-Msg-Id: a:b c\tdé\r\n");
    CHECK_EQ_INT(jw__hdr_block_len(&b), b.len + 2);
    jw__hdr_free(&b);
    return 0;
}

TEST(headers_build_grows)
{
    jw__hdr_builder b = {0};
    char value[1000];
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    for (int i = 0; i < 50; i++)
        CHECK_EQ_INT(jw__hdr_add(&b, "Big", value), 0);
    CHECK_EQ_INT(b.len, 10 + 50 * (3 + 2 + 999 + 2));
    CHECK(b.cap >= b.len);
    jw__hdr_free(&b);
    return 0;
}

TEST(headers_build_invalid)
{
    static const char *const bad_names[] = {
        "", "Na me", "Name:", ":Name", "Tab\tName", "New\nLine", "Ctl\x01",
        "Del\x7f", "Ünï",
    };
    jw__hdr_builder b = {0};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        CHECK_EQ_INT(jw__hdr_add(&b, bad_names[i], "v"), JW_EINVAL);
        CHECK(strstr(jw_last_error(), "header name") != NULL);
    }
    CHECK_EQ_INT(jw__hdr_add(&b, "Name", "a\r\nEvil: 1"), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "CR or LF") != NULL);
    CHECK_EQ_INT(jw__hdr_add(&b, "Name", "a\rb"), JW_EINVAL);
    CHECK_EQ_INT(jw__hdr_add(&b, "Name", "a\nb"), JW_EINVAL);
    CHECK_EQ_INT(jw__hdr_add(&b, NULL, "v"), JW_EINVAL);
    CHECK_EQ_INT(jw__hdr_add(&b, "Name", NULL), JW_EINVAL);
    CHECK_EQ_INT(jw__hdr_add(NULL, "Name", "v"), JW_EINVAL);
    /* Nothing was written by the failures. */
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(jw__hdr_block_len(&b), 0);
    /* Every printable character but ':' is fine in a name. */
    CHECK_EQ_INT(jw__hdr_add(&b, "!#$%&'*+-.^_`|~09AZaz\"(),/;<=>?@[\\]{}",
                             "v"),
                 0);
    jw__hdr_free(&b);
    return 0;
}

TEST(headers_remove)
{
    jw__hdr_builder b = {0};
    jw__hdr_remove(&b, "A"); /* on an empty builder */
    jw__hdr_remove(NULL, "A");
    CHECK_EQ_INT(jw__hdr_add(&b, "A", "1"), 0);
    CHECK_EQ_INT(jw__hdr_add(&b, "AB", "2"), 0);
    CHECK_EQ_INT(jw__hdr_add(&b, "a", "3"), 0);
    CHECK_EQ_INT(jw__hdr_add(&b, "A", "4"), 0);
    CHECK_EQ_INT(jw__hdr_add(&b, "B", "A: 5"), 0);
    jw__hdr_remove(&b, "A");
    CHECK_MEM_STR(b.buf, b.len, "NATS/1.0\r\nAB: 2\r\na: 3\r\nB: A: 5\r\n");
    jw__hdr_remove(&b, "Missing");
    jw__hdr_remove(&b, NULL);
    CHECK_MEM_STR(b.buf, b.len, "NATS/1.0\r\nAB: 2\r\na: 3\r\nB: A: 5\r\n");
    jw__hdr_remove(&b, "B");
    jw__hdr_remove(&b, "AB");
    CHECK_MEM_STR(b.buf, b.len, "NATS/1.0\r\na: 3\r\n");
    /* Removing the last header leaves no block at all. */
    jw__hdr_remove(&b, "a");
    CHECK_EQ_INT(jw__hdr_block_len(&b), 0);
    /* A set is a remove and an add; the status line comes back. */
    CHECK_EQ_INT(jw__hdr_add(&b, "C", "6"), 0);
    CHECK_MEM_STR(b.buf, b.len, "NATS/1.0\r\nC: 6\r\n");
    CHECK_EQ_INT(jw__hdr_block_len(&b), 18);
    jw__hdr_free(&b);
    return 0;
}

/* Status of the NUL-less copy of s; the description is copied to desc. */
static int status_of(const char *s, int *code, char *desc, size_t size)
{
    size_t len = strlen(s), dlen = 0;
    char *block = exact(s, len);
    const char *d = NULL;
    int rc = jw__hdr_status(block, len, code, &d, &dlen);
    if (rc == 0 && desc)
        snprintf(desc, size, "%.*s", (int)dlen, d);
    free(block);
    return rc;
}

TEST(headers_status_parse)
{
    int code = -1;
    char desc[64];
    CHECK_EQ_INT(status_of("NATS/1.0\r\n\r\n", &code, desc, sizeof(desc)), 0);
    CHECK_EQ_INT(code, 0);
    CHECK_STR(desc, "");
    CHECK_EQ_INT(status_of("NATS/1.0 503\r\n\r\n", &code, desc, 64), 0);
    CHECK_EQ_INT(code, 503);
    CHECK_STR(desc, "");
    CHECK_EQ_INT(status_of("NATS/1.0 404 No Messages\r\n\r\n", &code, desc,
                           sizeof(desc)),
                 0);
    CHECK_EQ_INT(code, 404);
    CHECK_STR(desc, "No Messages");
    CHECK_EQ_INT(status_of("NATS/1.0 100 Idle Heartbeat\r\n"
                           "Nats-Last-Consumer: 0\r\nNats-Last-Stream: 0\r\n"
                           "\r\n",
                           &code, desc, sizeof(desc)),
                 0);
    CHECK_EQ_INT(code, 100);
    CHECK_STR(desc, "Idle Heartbeat");
    CHECK_EQ_INT(status_of("NATS/1.0 409 Exceeded MaxRequestBatch of 5\r\n"
                           "\r\n",
                           &code, desc, sizeof(desc)),
                 0);
    CHECK_EQ_INT(code, 409);
    CHECK_STR(desc, "Exceeded MaxRequestBatch of 5");
    /* Extra spaces are trimmed on both sides. */
    CHECK_EQ_INT(status_of("NATS/1.0   408   Request Timeout  \r\n\r\n",
                           &code, desc, sizeof(desc)),
                 0);
    CHECK_EQ_INT(code, 408);
    CHECK_STR(desc, "Request Timeout");
    CHECK_EQ_INT(status_of("NATS/1.0 \r\n\r\n", &code, desc, 64), 0);
    CHECK_EQ_INT(code, 0);
    /* NULL outputs are allowed. */
    CHECK_EQ_INT(jw__hdr_status("NATS/1.0 503\r\n\r\n", 16, NULL, NULL, NULL),
                 0);
    return 0;
}

TEST(headers_status_malformed)
{
    static const char *const bad[] = {
        "", "NATS", "NATS/1.", "HTTP/1.1 200\r\n\r\n", "nats/1.0\r\n\r\n",
        "NATS/1.0", "NATS/1.0 503", "NATS/1.01\r\n\r\n", "NATS/1.0 50\r\n\r\n",
        "NATS/1.0 5x3\r\n\r\n", "NATS/1.0 5034\r\n\r\n",
        "NATS/1.0 503Desc\r\n\r\n", "NATS/1.0 503\n\r\n", "NATS/1.0\r",
        "NATS/1.0 50\r3\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int code = -1;
        if (status_of(bad[i], &code, NULL, 0) != JW_EPROTOCOL) {
            fprintf(stderr, "accepted '%s'\n", bad[i]);
            return 1;
        }
        CHECK_EQ_INT(code, 0);
    }
    CHECK_EQ_INT(jw__hdr_status(NULL, 0, NULL, NULL, NULL), JW_EPROTOCOL);
    return 0;
}

/* Iterate the NUL-less copy of s into "name=value;" pairs in out. Returns
 * the final result of jw__hdr_next (0 at the end or an error). */
static int walk(const char *s, char *out, size_t size)
{
    size_t len = strlen(s), pos = 0, used = 0;
    char *block = exact(s, len);
    jw__hdr_line line;
    int rc;
    out[0] = '\0';
    while ((rc = jw__hdr_next(block, len, &pos, &line)) == 1) {
        used += (size_t)snprintf(out + used, size - used, "%.*s=%.*s;",
                                 (int)line.name_len, line.name,
                                 (int)line.value_len, line.value);
        if (used >= size)
            break;
    }
    /* Asking again after the end stays at the end. */
    if (rc == 0 && jw__hdr_next(block, len, &pos, &line) != 0)
        rc = -999;
    free(block);
    return rc;
}

TEST(headers_iterate)
{
    char out[256];
    CHECK_EQ_INT(walk("NATS/1.0\r\n\r\n", out, sizeof(out)), 0);
    CHECK_STR(out, "");
    CHECK_EQ_INT(walk("NATS/1.0\r\nBar: Baz\r\n\r\n", out, sizeof(out)), 0);
    CHECK_STR(out, "Bar=Baz;");
    CHECK_EQ_INT(walk("NATS/1.0 100 Idle Heartbeat\r\n"
                      "Nats-Last-Consumer: 0\r\nNats-Last-Stream: 0\r\n\r\n",
                      out, sizeof(out)),
                 0);
    CHECK_STR(out, "Nats-Last-Consumer=0;Nats-Last-Stream=0;");
    /* Repeats stay separate and ordered; case is kept; whitespace after
     * the colon is optional and skipped; colons in values are fine. */
    CHECK_EQ_INT(walk("NATS/1.0\r\nK: 1\r\nk:2\r\nK:\t \t3 \r\nE:\r\n"
                      "U: a:b\r\n\r\n",
                      out, sizeof(out)),
                 0);
    CHECK_STR(out, "K=1;k=2;K=3 ;E=;U=a:b;");
    return 0;
}

TEST(headers_iterate_built)
{
    jw__hdr_builder b = {0};
    CHECK_EQ_INT(jw__hdr_add(&b, "A", "x y"), 0);
    CHECK_EQ_INT(jw__hdr_add(&b, "A", ""), 0);
    CHECK_EQ_INT(jw__hdr_add(&b, "Nats-Expected-Stream", "S"), 0);
    size_t len = jw__hdr_block_len(&b);
    char *block = malloc(len);
    CHECK(block != NULL);
    memcpy(block, b.buf, b.len);
    memcpy(block + b.len, "\r\n", 2);
    int code = -1;
    CHECK_EQ_INT(jw__hdr_status(block, len, &code, NULL, NULL), 0);
    CHECK_EQ_INT(code, 0);
    size_t pos = 0;
    jw__hdr_line line;
    CHECK_EQ_INT(jw__hdr_next(block, len, &pos, &line), 1);
    CHECK_MEM_STR(line.name, line.name_len, "A");
    CHECK_MEM_STR(line.value, line.value_len, "x y");
    CHECK_EQ_INT(jw__hdr_next(block, len, &pos, &line), 1);
    CHECK_MEM_STR(line.value, line.value_len, "");
    CHECK_EQ_INT(jw__hdr_next(block, len, &pos, &line), 1);
    CHECK_MEM_STR(line.name, line.name_len, "Nats-Expected-Stream");
    CHECK_MEM_STR(line.value, line.value_len, "S");
    CHECK_EQ_INT(jw__hdr_next(block, len, &pos, &line), 0);
    free(block);
    jw__hdr_free(&b);
    return 0;
}

TEST(headers_iterate_malformed)
{
    static const char *const bad[] = {
        "NATS/1.0",                      /* no line end at all */
        "NATS/1.0\r\n",                  /* no blank line */
        "NATS/1.0\r\nA: b\r\n",          /* no blank line */
        "NATS/1.0\r\nA: b",              /* cut inside a line */
        "NATS/1.0\r\nA: b\r",            /* cut inside the CRLF */
        "NATS/1.0\r\nA: b\r\n\r",        /* cut inside the blank line */
        "NATS/1.0\r\nNoColon\r\n\r\n",   /* line without ':' */
        "NATS/1.0\r\n: v\r\n\r\n",       /* empty name */
        "NATS/1.0\r\nA b: v\r\n\r\n",    /* space in the name */
        "NATS/1.0\r\nA : v\r\n\r\n",     /* space before the colon */
        "NATS/1.0\r\nA: b\nC: d\r\n\r\n", /* bare LF */
        "NATS/1.0\r\nA: b\rc\r\n\r\n",   /* bare CR */
        "NATS/1.0\r\nA: b\r\n\r\nX",     /* bytes after the blank line */
        "NATS/1.0\r\nA: b\r\n\r\n\r\n",  /* a second blank line */
    };
    char out[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (walk(bad[i], out, sizeof(out)) != JW_EPROTOCOL) {
            fprintf(stderr, "accepted block %zu\n", i);
            return 1;
        }
    }
    /* Lines before the bad one are still handed out. */
    CHECK_EQ_INT(walk("NATS/1.0\r\nA: 1\r\nbad\r\n\r\n", out, sizeof(out)),
                 JW_EPROTOCOL);
    CHECK_STR(out, "A=1;");
    CHECK(strstr(jw_last_error(), "bad") != NULL);

    size_t pos = 0;
    jw__hdr_line line;
    CHECK_EQ_INT(jw__hdr_next(NULL, 0, &pos, &line), JW_EINVAL);
    CHECK_EQ_INT(jw__hdr_next("NATS/1.0\r\n\r\n", 12, NULL, &line), JW_EINVAL);
    pos = 13;
    CHECK_EQ_INT(jw__hdr_next("NATS/1.0\r\n\r\n", 12, &pos, &line), JW_EINVAL);
    return 0;
}

TEST(headers_every_prefix_bounded)
{
    /* Every cut of a valid block is rejected, and ASan checks that no
     * scan reads past the cut. */
    const char *full = "NATS/1.0 100 Idle Heartbeat\r\n"
                       "Nats-Last-Consumer: 0\r\nNats-Last-Stream: 0\r\n\r\n";
    size_t full_len = strlen(full);
    CHECK_EQ_INT(full_len, 75);
    for (size_t cut = 0; cut < full_len; cut++) {
        char *block = exact(full, cut);
        size_t pos = 0;
        jw__hdr_line line;
        int rc;
        while ((rc = jw__hdr_next(block, cut, &pos, &line)) == 1)
            ;
        CHECK_EQ_INT(rc, JW_EPROTOCOL);
        int code;
        rc = jw__hdr_status(block, cut, &code, NULL, NULL);
        CHECK(rc == 0 || rc == JW_EPROTOCOL);
        CHECK_EQ_INT(rc == 0, cut >= 29); /* status line ends at 27 + 2 */
        free(block);
    }
    return 0;
}
