/* The protocol reader: every op, odd but valid spellings, splits at every
 * byte, and malformed input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jetwire.h"
#include "parser.h"
#include "test.h"

/* A string literal and its length, NULs included. */
#define S(lit) (lit), (sizeof(lit) - 1)

/* Records every event as one text line, bytes escaped, so that whole runs
 * can be compared with an expected text or with each other. */
typedef struct rec {
    char out[16384];
    size_t len;
    int overflow;
    int count;
    int stop_at;     /* return 42 from this event (1-based; 0: never) */
    const char *buf; /* the buffer being fed whole, to spot views into it */
    size_t buf_len;
    int in_buf; /* MSG events whose subject and data pointed into buf */
} rec;

static void rec_init(rec *r)
{
    memset(r, 0, sizeof(*r));
}

static void put(rec *r, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t m;
        if (c == '\r')
            m = (size_t)snprintf(esc, sizeof(esc), "\\r");
        else if (c == '\n')
            m = (size_t)snprintf(esc, sizeof(esc), "\\n");
        else if (c < 0x20 || c >= 0x7f || c == '\\')
            m = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
        else
            m = (size_t)snprintf(esc, sizeof(esc), "%c", c);
        if (r->len + m >= sizeof(r->out)) {
            r->overflow = 1;
            return;
        }
        memcpy(r->out + r->len, esc, m);
        r->len += m;
        r->out[r->len] = '\0';
    }
}

static void put_str(rec *r, const char *s)
{
    put(r, s, strlen(s));
}

/* Ends an event's line; unlike put, the newline is not escaped. */
static void end_line(rec *r)
{
    if (r->len + 1 >= sizeof(r->out)) {
        r->overflow = 1;
        return;
    }
    r->out[r->len++] = '\n';
    r->out[r->len] = '\0';
}

/* A view that may be NULL, shown as (null) so NULL and "" differ. */
static void put_view(rec *r, const char *tag, const char *s, size_t n)
{
    put_str(r, tag);
    if (s)
        put(r, s, n);
    else
        put_str(r, "(null)");
}

static int in_range(const rec *r, const char *s, size_t n)
{
    return r->buf && s >= r->buf && s + n <= r->buf + r->buf_len;
}

static int rec_cb(void *arg, const jw__proto_event *ev)
{
    rec *r = arg;
    char num[32];

    r->count++;
    switch (ev->op) {
    case JW__OP_INFO:
        put_view(r, "INFO ", ev->text, ev->text_len);
        break;
    case JW__OP_ERR:
        put_view(r, "-ERR ", ev->text, ev->text_len);
        break;
    case JW__OP_PING:
        put_str(r, "PING");
        break;
    case JW__OP_PONG:
        put_str(r, "PONG");
        break;
    case JW__OP_OK:
        put_str(r, "+OK");
        break;
    case JW__OP_MSG:
        put_view(r, "MSG ", ev->subject, ev->subject_len);
        put_view(r, " ", ev->reply, ev->reply_len);
        snprintf(num, sizeof(num), " %llu", (unsigned long long)ev->sid);
        put_str(r, num);
        put_view(r, " hdr=", ev->hdr, ev->hdr_len);
        put_view(r, " data=", ev->data, ev->data_len);
        if (in_range(r, ev->subject, ev->subject_len) &&
            in_range(r, ev->data, ev->data_len))
            r->in_buf++;
        break;
    default:
        put_str(r, "BAD-OP");
        break;
    }
    end_line(r);
    return r->stop_at && r->count == r->stop_at ? 42 : 0;
}

/* Feed in[0..n) in one piece to a fresh parser with default limits. */
static int run(const char *in, size_t n, rec *r)
{
    jw__parser p;
    int rc;

    rec_init(r);
    r->buf = in;
    r->buf_len = n;
    jw__parser_init(&p, 0, 0);
    rc = jw__parser_feed(&p, in, n, rec_cb, r);
    jw__parser_free(&p);
    return r->overflow ? -999 : rc;
}

/* Feed in[0..n) as pieces cut at cuts[0..ncuts), each piece copied into a
 * buffer of exactly its size so that ASan/valgrind catch any over-read. */
static int run_cut(const char *in, size_t n, const size_t *cuts,
                   size_t ncuts, rec *r)
{
    jw__parser p;
    size_t from = 0;
    int rc = 0;

    rec_init(r);
    jw__parser_init(&p, 0, 0);
    for (size_t c = 0; c <= ncuts && rc == 0; c++) {
        size_t to = c < ncuts ? cuts[c] : n;
        char *piece = malloc(to - from + 1);
        if (!piece) {
            rc = -998;
            break;
        }
        memcpy(piece, in + from, to - from);
        rc = jw__parser_feed(&p, piece, to - from, rec_cb, r);
        free(piece);
        from = to;
    }
    jw__parser_free(&p);
    return r->overflow ? -999 : rc;
}

/* Feed one byte per call. */
static int run_bytes(const char *in, size_t n, rec *r)
{
    size_t *cuts = malloc((n + 1) * sizeof(*cuts));
    int rc;

    if (!cuts)
        return -998;
    for (size_t i = 0; i < n; i++)
        cuts[i] = i;
    rc = run_cut(in, n, cuts, n, r);
    free(cuts);
    return rc;
}

/* Expect one valid input to give exactly the events `want`, whole, split at
 * every position and byte by byte. */
static int expect(const char *in, size_t n, const char *want)
{
    rec *r = malloc(sizeof(*r));
    int bad = 0;

    if (!r)
        return 1;
    if (run(in, n, r) != 0 || strcmp(r->out, want) != 0) {
        fprintf(stderr, "whole: got \"%s\", want \"%s\"\n", r->out, want);
        bad = 1;
    }
    for (size_t cut = 0; cut <= n && !bad; cut++) {
        if (run_cut(in, n, &cut, 1, r) != 0 || strcmp(r->out, want) != 0) {
            fprintf(stderr, "cut at %zu: got \"%s\"\n", cut, r->out);
            bad = 1;
        }
    }
    if (!bad && (run_bytes(in, n, r) != 0 || strcmp(r->out, want) != 0)) {
        fprintf(stderr, "bytewise: got \"%s\"\n", r->out);
        bad = 1;
    }
    free(r);
    return bad;
}

/* Expect malformed input to give JW_EPROTOCOL (with `why` in p->error) fed
 * whole and fed byte by byte, and the parser to stay failed afterwards. */
static int expect_bad(const char *in, size_t n, size_t max_line,
                      size_t max_payload, const char *why)
{
    rec *r = malloc(sizeof(*r));
    jw__parser p;
    int rc = 0, bad = 0;

    if (!r)
        return 1;
    rec_init(r);
    jw__parser_init(&p, max_line, max_payload);
    rc = jw__parser_feed(&p, in, n, rec_cb, r);
    if (rc != JW_EPROTOCOL || !strstr(p.error, why)) {
        fprintf(stderr, "whole: rc %d, error \"%s\", want \"%s\"\n", rc,
                p.error, why);
        bad = 1;
    }
    if (jw__parser_feed(&p, S("PING\r\n"), rec_cb, r) != JW_EPROTOCOL)
        bad = 1;
    jw__parser_free(&p);

    rec_init(r);
    jw__parser_init(&p, max_line, max_payload);
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *b = malloc(1);
        if (!b)
            break;
        *b = in[i];
        rc = jw__parser_feed(&p, b, 1, rec_cb, r);
        free(b);
    }
    if (rc != JW_EPROTOCOL || !strstr(p.error, why)) {
        fprintf(stderr, "bytewise: rc %d, error \"%s\"\n", rc, p.error);
        bad = 1;
    }
    jw__parser_free(&p);
    free(r);
    return bad;
}

TEST(parser_defaults)
{
    jw__parser p;

    jw__parser_init(&p, 0, 0);
    CHECK_EQ_INT(p.max_line, 64 * 1024);
    CHECK_EQ_INT(p.max_payload, 64 * 1024 * 1024);
    CHECK_EQ_INT(jw__parser_feed(&p, NULL, 0, rec_cb, NULL), 0);
    jw__parser_free(&p);
    jw__parser_free(&p); /* twice is harmless */
    return 0;
}

TEST(parser_ping)
{
    CHECK(expect(S("PING\r\n"), "PING\n") == 0);
    return 0;
}

TEST(parser_pong)
{
    CHECK(expect(S("PONG\r\n"), "PONG\n") == 0);
    return 0;
}

TEST(parser_ok)
{
    CHECK(expect(S("+OK\r\n"), "+OK\n") == 0);
    return 0;
}

TEST(parser_info)
{
    CHECK(expect(S("INFO {\"server_id\":\"N1\",\"max_payload\":1048576}\r\n"),
                 "INFO {\"server_id\":\"N1\",\"max_payload\":1048576}\n") ==
          0);
    /* Spaces inside the JSON stay; blanks around it go. */
    CHECK(expect(S("INFO \t {\"a\": \"x y\"} \t\r\n"),
                 "INFO {\"a\": \"x y\"}\n") == 0);
    return 0;
}

TEST(parser_err)
{
    CHECK(expect(S("-ERR 'Stale Connection'\r\n"),
                 "-ERR Stale Connection\n") == 0);
    CHECK(expect(S("-ERR 'Permissions Violation for Publish to \"a.b\"'\r\n"),
                 "-ERR Permissions Violation for Publish to \"a.b\"\n") ==
          0);
    CHECK(expect(S("-err   'maximum control line exceeded'  \r\n"),
                 "-ERR maximum control line exceeded\n") == 0);
    CHECK(expect(S("-ERR no quotes\r\n"), "-ERR no quotes\n") == 0);
    CHECK(expect(S("-ERR ''\r\n"), "-ERR \n") == 0);
    return 0;
}

TEST(parser_msg)
{
    CHECK(expect(S("MSG FOO.BAR 9 11\r\nHello World\r\n"),
                 "MSG FOO.BAR (null) 9 hdr=(null) data=Hello World\n") == 0);
    return 0;
}

TEST(parser_msg_reply)
{
    CHECK(expect(S("MSG FOO.BAR 9 GREETING.34 11\r\nHello World\r\n"),
                 "MSG FOO.BAR GREETING.34 9 hdr=(null) data=Hello World\n") ==
          0);
    return 0;
}

TEST(parser_hmsg)
{
    CHECK(expect(S("HMSG FOO.BAR 9 34 45\r\nNATS/1.0\r\nFoodGroup: "
                   "vegetable\r\n\r\nHello World\r\n"),
                 "MSG FOO.BAR (null) 9 hdr=NATS/1.0\\r\\nFoodGroup: "
                 "vegetable\\r\\n\\r\\n data=Hello World\n") == 0);
    return 0;
}

TEST(parser_hmsg_reply)
{
    CHECK(expect(S("HMSG FOO.BAR 9 BAZ.69 34 45\r\nNATS/1.0\r\nFoodGroup: "
                   "vegetable\r\n\r\nHello World\r\n"),
                 "MSG FOO.BAR BAZ.69 9 hdr=NATS/1.0\\r\\nFoodGroup: "
                 "vegetable\\r\\n\\r\\n data=Hello World\n") == 0);
    return 0;
}

TEST(parser_hmsg_double_space)
{
    /* JetStream's empty reply field: four fields, so no reply. */
    static const char in[] =
        "HMSG my.inbox 2  75 75\r\nNATS/1.0 100 Idle Heartbeat\r\n"
        "Nats-Last-Consumer: 0\r\nNats-Last-Stream: 0\r\n\r\n\r\n";
    CHECK(expect(in, sizeof(in) - 1,
                 "MSG my.inbox (null) 2 hdr=NATS/1.0 100 Idle Heartbeat\\r\\n"
                 "Nats-Last-Consumer: 0\\r\\nNats-Last-Stream: 0\\r\\n\\r\\n"
                 " data=\n") == 0);
    return 0;
}

TEST(parser_hmsg_status_only)
{
    CHECK(expect(S("HMSG _INBOX.x.y 3 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"),
                 "MSG _INBOX.x.y (null) 3 hdr=NATS/1.0 503\\r\\n\\r\\n "
                 "data=\n") == 0);
    return 0;
}

TEST(parser_hmsg_zero_header)
{
    /* hdr 0 carries no header block: reported like a MSG. */
    CHECK(expect(S("HMSG a 1 0 2\r\nhi\r\n"),
                 "MSG a (null) 1 hdr=(null) data=hi\n") == 0);
    return 0;
}

TEST(parser_zero_payload)
{
    CHECK(expect(S("MSG NOTIFY 1 0\r\n\r\nMSG x 2 r 0\r\n\r\n"),
                 "MSG NOTIFY (null) 1 hdr=(null) data=\n"
                 "MSG x r 2 hdr=(null) data=\n") == 0);
    return 0;
}

TEST(parser_payload_crlf)
{
    /* Never scan the payload for line ends. */
    CHECK(expect(S("MSG a 1 10\r\n\r\nPING\r\n\r\n\r\nPONG\r\n"),
                 "MSG a (null) 1 hdr=(null) data=\\r\\nPING\\r\\n\\r\\n\n"
                 "PONG\n") == 0);
    CHECK(expect(S("MSG a 1 3\r\n\0\r\0\r\n"),
                 "MSG a (null) 1 hdr=(null) data=\\x00\\r\\x00\n") == 0);
    return 0;
}

TEST(parser_leading_zeros)
{
    CHECK(expect(S("MSG a 007 0000000000000000000000000005\r\nhello\r\n"
                   "HMSG b 0 000012 0014\r\nNATS/1.0\r\n\r\nhi\r\n"),
                 "MSG a (null) 7 hdr=(null) data=hello\n"
                 "MSG b (null) 0 hdr=NATS/1.0\\r\\n\\r\\n data=hi\n") == 0);
    return 0;
}

TEST(parser_max_sid)
{
    CHECK(expect(S("MSG a 18446744073709551615 0\r\n\r\n"),
                 "MSG a (null) 18446744073709551615 hdr=(null) data=\n") ==
          0);
    return 0;
}

TEST(parser_lower_case)
{
    CHECK(expect(S("ping\r\nPong\r\n+ok\r\ninfo {}\r\n-eRr 'x'\r\n"
                   "msg a 1 1\r\nz\r\nhmsg b 2 12 12\r\nNATS/1.0\r\n\r\n\r\n"),
                 "PING\nPONG\n+OK\nINFO {}\n-ERR x\n"
                 "MSG a (null) 1 hdr=(null) data=z\n"
                 "MSG b (null) 2 hdr=NATS/1.0\\r\\n\\r\\n data=\n") == 0);
    return 0;
}

TEST(parser_blanks_and_bare_lf)
{
    /* Tabs and runs of blanks separate fields; control lines may end with
     * a bare LF, and trailing blanks are ignored. */
    CHECK(expect(S("MSG\ta \t 1\t\tr   3 \r\nabc\r\nPING\nMSG b 2 1\nx\r\n"
                   "PONG  \r\n"),
                 "MSG a r 1 hdr=(null) data=abc\nPING\n"
                 "MSG b (null) 2 hdr=(null) data=x\nPONG\n") == 0);
    return 0;
}

TEST(parser_many_in_one_feed)
{
    char in[4096];
    char want[8192];
    size_t n = 0, w = 0;
    rec r;

    for (int i = 0; i < 100; i++) {
        n += (size_t)snprintf(in + n, sizeof(in) - n,
                              "MSG s.%d %d 2\r\n%02d\r\n", i, i, i);
        w += (size_t)snprintf(want + w, sizeof(want) - w,
                              "MSG s.%d (null) %d hdr=(null) data=%02d\n", i,
                              i, i);
    }
    CHECK(n < sizeof(in) - 1 && w < sizeof(want) - 1);
    CHECK_EQ_INT(run(in, n, &r), 0);
    CHECK_EQ_INT(r.count, 100);
    CHECK_STR(r.out, want);
    CHECK_EQ_INT(r.in_buf, 100); /* all zero copy */
    return 0;
}

/* About ten mixed operations exercising every state of the parser. */
static const char mixed[] =
    "INFO {\"server_id\":\"x\",\"max_payload\":1048576}\r\n"
    "MSG foo.bar 9 11\r\nHello World\r\n"
    "+OK\r\n"
    "HMSG foo.bar 10 reply.to 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\n"
    "Hello NATS!\r\n"
    "PING\r\n"
    "msg lower 1 0\r\n\r\n"
    "-ERR 'Permissions Violation for Publish to \"x\"'\r\n"
    "HMSG my.inbox 2  16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
    "MSG a 3 r 4\r\n\r\n\r\n\r\n"
    "PONG\n"
    "MSG x\t7\t0005\r\nabcde\r\n";

static const char mixed_events[] =
    "INFO {\"server_id\":\"x\",\"max_payload\":1048576}\n"
    "MSG foo.bar (null) 9 hdr=(null) data=Hello World\n"
    "+OK\n"
    "MSG foo.bar reply.to 10 hdr=NATS/1.0\\r\\nBar: Baz\\r\\n\\r\\n "
    "data=Hello NATS!\n"
    "PING\n"
    "MSG lower (null) 1 hdr=(null) data=\n"
    "-ERR Permissions Violation for Publish to \"x\"\n"
    "MSG my.inbox (null) 2 hdr=NATS/1.0 503\\r\\n\\r\\n data=\n"
    "MSG a r 3 hdr=(null) data=\\r\\n\\r\\n\n"
    "PONG\n"
    "MSG x (null) 7 hdr=(null) data=abcde\n";

TEST(parser_split_two)
{
    size_t n = sizeof(mixed) - 1;
    rec whole, part;

    CHECK_EQ_INT(run(mixed, n, &whole), 0);
    CHECK_EQ_INT(whole.count, 11);
    CHECK_STR(whole.out, mixed_events);
    for (size_t cut = 0; cut <= n; cut++) {
        int rc = run_cut(mixed, n, &cut, 1, &part);
        if (rc != 0 || strcmp(part.out, whole.out) != 0)
            fprintf(stderr, "cut at %zu: rc %d\n%s", cut, rc, part.out);
        CHECK_EQ_INT(rc, 0);
        CHECK_STR(part.out, whole.out);
    }
    return 0;
}

TEST(parser_split_bytewise)
{
    rec r;

    CHECK_EQ_INT(run_bytes(mixed, sizeof(mixed) - 1, &r), 0);
    CHECK_EQ_INT(r.count, 11);
    CHECK_STR(r.out, mixed_events);
    return 0;
}

TEST(parser_split_three)
{
    /* Every pair of cuts on a shorter stream, so that a control line and
     * its payload can both be split in the same run. */
    static const char in[] = "MSG a.b 1 r 5\r\nhello\r\n"
                             "HMSG c 2 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n";
    size_t n = sizeof(in) - 1;
    rec whole, part;

    CHECK_EQ_INT(run(in, n, &whole), 0);
    CHECK_EQ_INT(whole.count, 3);
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b++) {
            size_t cuts[2] = {a, b};
            CHECK_EQ_INT(run_cut(in, n, cuts, 2, &part), 0);
            CHECK_STR(part.out, whole.out);
        }
    }
    return 0;
}

static int keep_view(void *arg, const jw__proto_event *ev)
{
    const char **out = arg;
    out[0] = ev->subject;
    out[1] = ev->data;
    return 0;
}

TEST(parser_zero_copy)
{
    static const char in[] = "MSG a 1 5\r\nhello\r\n";
    const char *views[2] = {NULL, NULL};
    jw__parser p;

    /* Whole: views point into the fed buffer. */
    jw__parser_init(&p, 0, 0);
    CHECK_EQ_INT(jw__parser_feed(&p, S(in), keep_view, views), 0);
    CHECK(views[0] == in + 4);
    CHECK(views[1] == in + 11);
    CHECK(p.payload == NULL); /* nothing was allocated */
    CHECK(p.line == NULL);

    /* Split: views point into the parser's scratch. */
    CHECK_EQ_INT(jw__parser_feed(&p, in, 13, keep_view, views), 0);
    CHECK_EQ_INT(jw__parser_feed(&p, in + 13, sizeof(in) - 1 - 13, keep_view,
                                 views),
                 0);
    CHECK(views[0] == p.payload);
    CHECK(views[1] == p.payload + 1);
    jw__parser_free(&p);
    return 0;
}

TEST(parser_scratch_reused)
{
    static const char in[] = "MSG subject.x 1 reply.y 20\r\n"
                             "01234567890123456789\r\n";
    size_t n = sizeof(in) - 1;
    jw__parser p;
    rec r;
    char *scratch = NULL;
    size_t cap = 0;

    rec_init(&r);
    jw__parser_init(&p, 0, 0);
    for (int i = 0; i < 10; i++) {
        CHECK_EQ_INT(jw__parser_feed(&p, in, 10, rec_cb, &r), 0);
        CHECK_EQ_INT(jw__parser_feed(&p, in + 10, n - 10, rec_cb, &r), 0);
        if (i == 0) {
            scratch = p.payload;
            cap = p.payload_cap;
        }
        CHECK(p.payload == scratch);
        CHECK_EQ_INT(p.payload_cap, cap);
    }
    CHECK_EQ_INT(r.count, 10);
    jw__parser_free(&p);
    return 0;
}

struct big {
    size_t size;
    int count;
    int ok;
};

static int big_cb(void *arg, const jw__proto_event *ev)
{
    struct big *b = arg;

    b->count++;
    b->ok = ev->op == JW__OP_MSG && ev->data_len == b->size;
    for (size_t i = 0; b->ok && i < ev->data_len; i++)
        b->ok = ev->data[i] == (char)(i * 7 + 3);
    return 0;
}

TEST(parser_big_payload)
{
    size_t size = 1024 * 1024 + 17;
    size_t head, n;
    char *in = malloc(size + 64);
    jw__parser p;
    struct big b = {size, 0, 0};
    int rc = 0;

    CHECK(in != NULL);
    head = (size_t)snprintf(in, 64, "MSG big 1 %zu\r\n", size);
    for (size_t i = 0; i < size; i++)
        in[head + i] = (char)(i * 7 + 3);
    memcpy(in + head + size, "\r\n", 2);
    n = head + size + 2;

    jw__parser_init(&p, 0, 0);
    for (size_t off = 0; off < n && rc == 0; off += 4093) {
        size_t m = n - off < 4093 ? n - off : 4093;
        rc = jw__parser_feed(&p, in + off, m, big_cb, &b);
    }
    jw__parser_reset(&p); /* drops the 1 MiB scratch */
    CHECK(p.payload == NULL);
    CHECK_EQ_INT(jw__parser_feed(&p, in, n, big_cb, &b), 0); /* whole */
    jw__parser_free(&p);
    free(in);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(b.count, 2);
    CHECK(b.ok);
    return 0;
}

TEST(parser_callback_stop)
{
    rec r;
    jw__parser p;

    rec_init(&r);
    r.stop_at = 2;
    jw__parser_init(&p, 0, 0);
    CHECK_EQ_INT(jw__parser_feed(&p, S("PING\r\nMSG a 1 1\r\nx\r\nPONG\r\n"),
                                 rec_cb, &r),
                 42);
    CHECK_EQ_INT(r.count, 2);
    CHECK_STR(r.out, "PING\nMSG a (null) 1 hdr=(null) data=x\n");

    /* Also when the stopping message came from scratch. */
    jw__parser_reset(&p);
    rec_init(&r);
    r.stop_at = 1;
    CHECK_EQ_INT(jw__parser_feed(&p, S("MSG a 1 1\r\n"), rec_cb, &r), 0);
    CHECK_EQ_INT(jw__parser_feed(&p, S("x\r\nPING\r\n"), rec_cb, &r), 42);
    CHECK_EQ_INT(r.count, 1);
    jw__parser_free(&p);
    return 0;
}

TEST(parser_error_sticky)
{
    jw__parser p;
    rec r;

    rec_init(&r);
    jw__parser_init(&p, 0, 0);
    CHECK_EQ_INT(jw__parser_feed(&p, S("BOGUS\r\n"), rec_cb, &r),
                 JW_EPROTOCOL);
    CHECK_STR(p.error, "unknown protocol operation 'BOGUS'");
    CHECK_EQ_INT(jw__parser_feed(&p, S("PING\r\n"), rec_cb, &r),
                 JW_EPROTOCOL);
    CHECK_EQ_INT(r.count, 0);
    jw__parser_reset(&p);
    CHECK_STR(p.error, "");
    CHECK_EQ_INT(jw__parser_feed(&p, S("PING\r\n"), rec_cb, &r), 0);
    CHECK_STR(r.out, "PING\n");
    jw__parser_free(&p);
    return 0;
}

TEST(parser_bad_op)
{
    CHECK(expect_bad(S("FOO bar\r\n"), 0, 0, "operation 'FOO'") == 0);
    CHECK(expect_bad(S("PINGX\r\n"), 0, 0, "operation 'PINGX'") == 0);
    CHECK(expect_bad(S("\r\n"), 0, 0, "operation ''") == 0);
    CHECK(expect_bad(S(" PING\r\n"), 0, 0, "operation ''") == 0);
    CHECK(expect_bad(S("PUB a 1\r\nx\r\n"), 0, 0, "'PUB'") == 0);
    CHECK(expect_bad(S("PING x\r\n"), 0, 0, "arguments after PING") == 0);
    /* Long names are truncated in the message. */
    CHECK(expect_bad(S("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"), 0,
                     0, "'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'...") == 0);
    return 0;
}

TEST(parser_bad_msg_args)
{
    CHECK(expect_bad(S("MSG\r\n"), 0, 0, "wrong number") == 0);
    CHECK(expect_bad(S("MSG foo 1\r\n"), 0, 0, "wrong number") == 0);
    CHECK(expect_bad(S("MSG foo 1 r x 5\r\nhello\r\n"), 0, 0,
                     "wrong number") == 0);
    CHECK(expect_bad(S("HMSG foo 1 12\r\n"), 0, 0, "wrong number") == 0);
    CHECK(expect_bad(S("HMSG foo 1 r x 12 12\r\n"), 0, 0, "wrong number") ==
          0);
    return 0;
}

TEST(parser_bad_size)
{
    CHECK(expect_bad(S("MSG foo 1 1x\r\nx\r\n"), 0, 0, "invalid size") == 0);
    CHECK(expect_bad(S("MSG foo 1 -1\r\n"), 0, 0, "invalid size") == 0);
    CHECK(expect_bad(S("MSG foo 1 +5\r\nhello\r\n"), 0, 0, "invalid size") ==
          0);
    CHECK(expect_bad(S("MSG foo 1 99999999999999999999999\r\n"), 0, 0,
                     "invalid size") == 0);
    CHECK(expect_bad(S("HMSG foo 1 x 12\r\n"), 0, 0, "invalid size") == 0);
    return 0;
}

TEST(parser_bad_sid)
{
    CHECK(expect_bad(S("MSG foo abc 1\r\nx\r\n"), 0, 0, "invalid sid") == 0);
    CHECK(expect_bad(S("MSG foo 1a r 1\r\nx\r\n"), 0, 0, "invalid sid") ==
          0);
    CHECK(expect_bad(S("MSG foo 18446744073709551616 0\r\n\r\n"), 0, 0,
                     "invalid sid") == 0);
    return 0;
}

TEST(parser_bad_hdr)
{
    CHECK(expect_bad(S("HMSG foo 1 20 10\r\n0123456789\r\n"), 0, 0,
                     "header size") == 0);
    CHECK(expect_bad(S("HMSG foo 1 5 10\r\n0123456789\r\n"), 0, 0,
                     "header size") == 0);
    CHECK(expect_bad(S("HMSG foo 1 12 12\r\nNATS/1.1\r\n\r\n\r\n"), 0, 0,
                     "NATS/1.0") == 0);
    return 0;
}

TEST(parser_bad_payload_end)
{
    CHECK(expect_bad(S("MSG foo 1 3\r\nabcX\r\n"), 0, 0, "CRLF") == 0);
    CHECK(expect_bad(S("MSG foo 1 3\r\nabc\n"), 0, 0, "CRLF") == 0);
    CHECK(expect_bad(S("MSG foo 1 3\r\nabc\rX"), 0, 0, "CRLF") == 0);
    CHECK(expect_bad(S("MSG foo 1 0\r\nPING\r\n"), 0, 0, "CRLF") == 0);
    /* A payload one byte longer than announced. */
    CHECK(expect_bad(S("MSG foo 1 11\r\nHello World!\r\n"), 0, 0, "CRLF") ==
          0);
    return 0;
}

TEST(parser_line_too_long)
{
    char *junk;
    size_t n = 70 * 1024;

    CHECK(expect_bad(S("MSG a.very.long.subject.name 1 0\r\n\r\n"), 16, 0,
                     "control line too long") == 0);
    /* No newline at all: rejected after max_line + 2 bytes. */
    CHECK(expect_bad(S("INFO {\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 16, 0,
                     "control line too long") == 0);
    /* 17 bytes + CRLF is one too many; 16 + CRLF and 16 + LF fit. */
    CHECK(expect_bad(S("-ERR 'abcdefghij'\r\n"), 16, 0,
                     "control line too long") == 0);
    CHECK(expect_bad(S("-ERR 'abcdefghij'\n"), 16, 0,
                     "control line too long") == 0);
    {
        jw__parser p;
        rec r;
        rec_init(&r);
        jw__parser_init(&p, 16, 0);
        CHECK_EQ_INT(jw__parser_feed(&p, S("-ERR 'abcdefghi'\r\n-ERR "
                                           "'abcdefghi'\n"),
                                     rec_cb, &r),
                     0);
        CHECK_EQ_INT(r.count, 2);
        jw__parser_free(&p);
    }
    /* The default limit. */
    junk = malloc(n);
    CHECK(junk != NULL);
    memcpy(junk, "INFO ", 5);
    memset(junk + 5, 'a', n - 5);
    {
        jw__parser p;
        int rc;
        jw__parser_init(&p, 0, 0);
        rc = jw__parser_feed(&p, junk, n, rec_cb, NULL);
        jw__parser_free(&p);
        free(junk);
        CHECK_EQ_INT(rc, JW_EPROTOCOL);
    }
    return 0;
}

TEST(parser_payload_too_big)
{
    CHECK(expect_bad(S("MSG a 1 5\r\nhello\r\n"), 0, 4, "exceeds the limit") ==
          0);
    CHECK(expect_bad(S("HMSG a 1 12 17\r\nNATS/1.0\r\n\r\nhello\r\n"), 0, 16,
                     "exceeds the limit") == 0);
    CHECK(expect_bad(S("MSG a 1 67108865\r\n"), 0, 0, "exceeds the limit") ==
          0);
    CHECK(expect(S("MSG a 1 4\r\nhell\r\n"),
                 "MSG a (null) 1 hdr=(null) data=hell\n") == 0);
    return 0;
}

TEST(parser_nul_bytes)
{
    CHECK(expect_bad(S("\0\0\0\0\r\n"), 0, 0, "operation '?\?\?\?'") == 0);
    CHECK(expect_bad(S("PI\0NG\r\n"), 0, 0, "operation 'PI?NG'") == 0);
    CHECK(expect_bad(S("MSG a\0b 1 0\r\n\r\n"), 0, 0, "control character") ==
          0);
    CHECK(expect_bad(S("PING\r\r\n"), 0, 0, "operation 'PING?'") == 0);
    return 0;
}

TEST(parser_garbage)
{
    size_t n = 1024 * 1024;
    char *junk = malloc(n);
    uint32_t x = 12345;
    int rc;

    CHECK(junk != NULL);
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (char)(x >> 16);
    }
    rc = expect_bad(junk, n, 0, 0, "");
    /* Printable garbage without a line end, and with short lines. */
    for (size_t i = 0; i < n; i++)
        junk[i] = (char)('!' + i % 90);
    rc |= expect_bad(junk, n, 0, 0, "control line too long");
    for (size_t i = 0; i < n; i++)
        junk[i] = i % 50 == 49 ? '\n' : (char)('A' + i % 26);
    rc |= expect_bad(junk, n, 0, 0, "unknown protocol operation");
    free(junk);
    CHECK_EQ_INT(rc, 0);
    return 0;
}

/* Found by fuzz/fuzz_parser.c: a payload without its CRLF was reported
 * with one text when the message arrived whole and another when it was
 * split, so how reads fell showed in the error. */
TEST(parser_error_same_when_split)
{
    static const char in[] = "MSG foo 1 5\r\nhel\r\nPING\r\n";
    size_t n = sizeof(in) - 1;
    jw__parser whole, split;
    rec r;
    char error[sizeof(whole.error)];

    rec_init(&r);
    jw__parser_init(&whole, 0, 0);
    CHECK_EQ_INT(jw__parser_feed(&whole, in, n, rec_cb, &r), JW_EPROTOCOL);
    snprintf(error, sizeof(error), "%s", whole.error);
    jw__parser_free(&whole);
    CHECK(strstr(error, "CRLF") != NULL);
    for (size_t cut = 1; cut < n; cut++) {
        int rc;
        jw__parser_init(&split, 0, 0);
        rc = jw__parser_feed(&split, in, cut, rec_cb, &r);
        if (rc == 0)
            rc = jw__parser_feed(&split, in + cut, n - cut, rec_cb, &r);
        CHECK_EQ_INT(rc, JW_EPROTOCOL);
        CHECK_STR(split.error, error);
        jw__parser_free(&split);
    }
    CHECK_EQ_INT(r.count, 0);
    return 0;
}
