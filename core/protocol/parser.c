/*
 * The NATS protocol reader (spec: protocol.md sections 1, 3 and 4).
 *
 * Control lines are found with memchr and split by a small hand-written
 * scanner. A MSG/HMSG that lies whole in the fed buffer (control line,
 * payload and trailing CRLF) is reported with views into that buffer, so the
 * common case costs no copy and no allocation. Anything split across feeds
 * is copied: a partial control line into p->line, the subject, reply and
 * payload of a split message into p->payload. Both scratch buffers grow as
 * needed and are reused for later operations.
 *
 * A message is reported only after its trailing CRLF has been checked, so a
 * corrupt stream never delivers the message in front of the corruption, and
 * the event sequence is the same however the input was split.
 */
#include "parser.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ST_LINE = 0, /* reading a control line (p->line may hold a part) */
    ST_PAYLOAD,  /* copying a split payload into p->payload */
    ST_CR,       /* expecting the '\r' that ends a payload */
    ST_LF,       /* expecting the '\n' that ends a payload */
    ST_ERROR     /* the stream was rejected; only a reset leaves this */
};

#define DEFAULT_MAX_LINE    ((size_t)64 * 1024)
#define DEFAULT_MAX_PAYLOAD ((size_t)64 * 1024 * 1024)
#define HDR_MIN             12 /* "NATS/1.0\r\n\r\n" */
#define SCRATCH_KEEP        ((size_t)1024 * 1024)

typedef struct tok {
    const char *s;
    size_t n;
} tok;

static int proto_error(jw__parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int proto_error(jw__parser *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(p->error, sizeof(p->error), fmt, ap);
    va_end(ap);
    p->state = ST_ERROR;
    return JW_EPROTOCOL;
}

/* Bytes were consumed but not kept, so the stream cannot go on either. */
static int no_memory(jw__parser *p)
{
    snprintf(p->error, sizeof(p->error), "out of memory");
    p->state = ST_ERROR;
    return JW_ENO_MEMORY;
}

/* Make room for need bytes. Doubling keeps line appends amortised O(1) and
 * lets one buffer serve messages of varying sizes without reallocating. */
static int reserve(char **buf, size_t *cap, size_t need)
{
    size_t n = *cap ? *cap : 256;
    char *nb;

    if (need <= *cap)
        return 0;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    nb = realloc(*buf, n);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = n;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* ASCII case-insensitive match against an upper-case op name; op names are
 * ASCII, so the locale must not take part (no toupper). */
static int op_is(tok t, const char *name, size_t n)
{
    if (t.n != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t.s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != name[i])
            return 0;
    }
    return 1;
}

#define OP_IS(t, lit) op_is((t), (lit), sizeof(lit) - 1)

/* Split s into fields at runs of blanks (the server may emit two spaces in
 * a row). Returns the field count, counting up to max + 1 so that callers
 * can tell "too many" without storing the extra field, or -1 when the line
 * holds a control character: control lines are text, and a NUL or stray CR
 * means a broken stream (and would surprise whoever turns a subject into a
 * C string). One pass, one comparison per byte in the common case. */
static long split(const char *s, size_t n, tok *t, size_t max)
{
    size_t count = 0, i = 0;

    while (count <= max) {
        size_t start;
        while (i < n && is_blank(s[i]))
            i++;
        if (i == n)
            break;
        start = i;
        while (i < n && (unsigned char)s[i] > ' ')
            i++;
        if (i < n && !is_blank(s[i]))
            return -1;
        if (count < max) {
            t[count].s = s + start;
            t[count].n = i - start;
        }
        count++;
    }
    return (long)count;
}

/* Decimal digits only (leading zeros are fine: the server copies the
 * publisher's size tokens verbatim); no sign, no overflow. */
static int parse_u64(tok t, uint64_t *out)
{
    uint64_t v = 0;

    if (t.n == 0)
        return -1;
    for (size_t i = 0; i < t.n; i++) {
        unsigned d = (unsigned)((unsigned char)t.s[i] - '0');
        /* 19 digits never overflow; only longer tokens need the check. */
        if (d > 9 || (i >= 19 && v > (UINT64_MAX - d) / 10))
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* The op name goes into the error text, so keep it short and printable. */
static int unknown_op(jw__parser *p, tok op)
{
    char name[33];
    size_t n = op.n < sizeof(name) - 1 ? op.n : sizeof(name) - 1;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)op.s[i];
        name[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    name[n] = '\0';
    return proto_error(p, "unknown protocol operation '%s'%s", name,
                       op.n > n ? "..." : "");
}

/* Report the first control character of args in an op's line. */
static int control_error(jw__parser *p, const char *op, int op_len,
                         const char *args, size_t n)
{
    unsigned char c = 0;
    for (size_t i = 0; i < n && !c; i++)
        if ((unsigned char)args[i] < 0x20 && args[i] != '\t')
            c = (unsigned char)args[i];
    return proto_error(p, "control character 0x%02x in a %.*s line", c,
                       op_len, op);
}

/* Point hdr and data into the body (header block + payload) at d. */
static void set_body(jw__proto_event *ev, const char *d)
{
    ev->hdr = ev->hdr_len ? d : NULL;
    ev->data = d + ev->hdr_len;
}

static int deliver(jw__parser *p, const jw__proto_event *ev,
                   jw__parser_cb cb, void *arg)
{
    /* The header reader relies on this prefix; hdr_len >= HDR_MIN here. */
    if (ev->hdr_len && memcmp(ev->hdr, "NATS/1.0", 8) != 0)
        return proto_error(p, "header block does not start with NATS/1.0");
    p->state = ST_LINE;
    return cb(arg, ev);
}

/* A split message is complete: report it from the scratch copy. */
static int deliver_scratch(jw__parser *p, jw__parser_cb cb, void *arg)
{
    jw__proto_event ev = p->msg;

    ev.subject = p->payload;
    ev.reply = ev.reply_len ? p->payload + ev.subject_len : NULL;
    set_body(&ev, p->payload + ev.subject_len + ev.reply_len);
    p->payload_len = 0;
    return deliver(p, &ev, cb, arg);
}

/*
 * MSG <subj> <sid> [reply] <n> / HMSG <subj> <sid> [reply] <hdr> <total>.
 * args is the line after the op name; the payload starts at buf[*pos].
 * whole says the control line itself was in buf (not in p->line).
 */
static int parse_msg(jw__parser *p, int hmsg, const char *args, size_t n,
                     const char *buf, size_t len, size_t *pos, int whole,
                     jw__parser_cb cb, void *arg)
{
    const char *name = hmsg ? "HMSG" : "MSG";
    size_t base = hmsg ? 4 : 3; /* field count without a reply */
    tok f[5];
    long nf = split(args, n, f, 5);
    const tok *sizes;
    uint64_t sid, hdr = 0, total;
    jw__proto_event ev;
    size_t rest = len - *pos;

    if (nf < 0)
        return control_error(p, name, (int)strlen(name), args, n);
    if (nf != (long)base && nf != (long)base + 1)
        return proto_error(p, "%s with a wrong number of arguments", name);
    sizes = f + (nf == (long)base ? 2 : 3);
    if (parse_u64(f[1], &sid) != 0)
        return proto_error(p, "%s with an invalid sid", name);
    if (parse_u64(sizes[hmsg], &total) != 0 ||
        (hmsg && parse_u64(sizes[0], &hdr) != 0))
        return proto_error(p, "%s with an invalid size", name);
    if (total > p->max_payload)
        return proto_error(p, "%s of %llu bytes exceeds the limit of %zu",
                           name, (unsigned long long)total, p->max_payload);
    if (hdr > total || (hdr != 0 && hdr < HDR_MIN))
        return proto_error(p, "HMSG header size %llu is invalid",
                           (unsigned long long)hdr);

    memset(&ev, 0, sizeof(ev));
    ev.op = JW__OP_MSG;
    ev.subject = f[0].s;
    ev.subject_len = f[0].n;
    if (nf != (long)base) {
        ev.reply = f[2].s;
        ev.reply_len = f[2].n;
    }
    ev.sid = sid;
    ev.hdr_len = (size_t)hdr;
    ev.data_len = (size_t)(total - hdr);

    /* Hot path: everything is here, hand out views into buf. */
    if (whole && rest >= 2 && rest - 2 >= total) {
        const char *d = buf + *pos;
        *pos += (size_t)total + 2;
        /* The same text as the split path's, so that how the input was
         * cut never shows in the error (found by fuzz/fuzz_parser.c). */
        if (d[total] != '\r' || d[total + 1] != '\n')
            return proto_error(p, "payload not followed by CRLF");
        set_body(&ev, d);
        return deliver(p, &ev, cb, arg);
    }

    /* Split: copy what the views need, since buf (and p->line) will be
     * gone or reused by the time the payload is complete. */
    if (total > SIZE_MAX - ev.subject_len - ev.reply_len)
        return proto_error(p, "%s too large", name);
    if (reserve(&p->payload, &p->payload_cap,
                ev.subject_len + ev.reply_len + (size_t)total) != 0)
        return no_memory(p);
    memcpy(p->payload, ev.subject, ev.subject_len);
    if (ev.reply_len)
        memcpy(p->payload + ev.subject_len, ev.reply, ev.reply_len);
    p->payload_len = ev.subject_len + ev.reply_len;
    p->msg = ev;
    p->msg_total = (size_t)total;
    p->want = (size_t)total;
    p->state = total ? ST_PAYLOAD : ST_CR;
    return 0;
}

/* One complete control line s[0..n) without its line end. */
static int parse_line(jw__parser *p, const char *s, size_t n,
                      const char *buf, size_t len, size_t *pos, int whole,
                      jw__parser_cb cb, void *arg)
{
    size_t k = 0;
    tok op;
    const char *rest;
    size_t rn;
    jw__proto_event ev;

    while (k < n && !is_blank(s[k]))
        k++;
    op.s = s;
    op.n = k;
    if (!OP_IS(op, "MSG") && !OP_IS(op, "HMSG") && !OP_IS(op, "PING") &&
        !OP_IS(op, "PONG") && !OP_IS(op, "+OK") && !OP_IS(op, "-ERR") &&
        !OP_IS(op, "INFO"))
        return unknown_op(p, op);

    /* MSG lines are checked for control characters while they are split. */
    if (OP_IS(op, "MSG") || OP_IS(op, "HMSG"))
        return parse_msg(p, k == 4, s + k, n - k, buf, len, pos, whole, cb,
                         arg);
    for (size_t i = k; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
            return control_error(p, s, (int)k, s + k, n - k);

    rest = s + k;
    rn = n - k;
    while (rn && is_blank(*rest)) {
        rest++;
        rn--;
    }
    while (rn && is_blank(rest[rn - 1]))
        rn--;

    memset(&ev, 0, sizeof(ev));
    if (OP_IS(op, "INFO")) {
        ev.op = JW__OP_INFO;
    } else if (OP_IS(op, "-ERR")) {
        ev.op = JW__OP_ERR;
        /* The server wraps the text in single quotes. */
        if (rn && *rest == '\'') {
            rest++;
            rn--;
        }
        if (rn && rest[rn - 1] == '\'')
            rn--;
    } else {
        ev.op = OP_IS(op, "PING")   ? JW__OP_PING
                : OP_IS(op, "PONG") ? JW__OP_PONG
                                    : JW__OP_OK;
        if (rn)
            return proto_error(p, "unexpected arguments after %.*s", (int)k,
                               s);
    }
    if (ev.op == JW__OP_INFO || ev.op == JW__OP_ERR) {
        ev.text = rest;
        ev.text_len = rn;
    }
    return cb(arg, &ev);
}

static int append_line(jw__parser *p, const char *s, size_t n)
{
    if (reserve(&p->line, &p->line_cap, p->line_len + n) != 0)
        return -1;
    memcpy(p->line + p->line_len, s, n);
    p->line_len += n;
    return 0;
}

/* ST_LINE: find the end of the control line starting at buf[*pos]. */
static int read_line(jw__parser *p, const char *buf, size_t len, size_t *pos,
                     jw__parser_cb cb, void *arg)
{
    const char *s = buf + *pos;
    size_t avail = len - *pos;
    /* A line may hold max_line bytes plus "\r\n"; never look further, so
     * garbage without a newline is rejected after a bounded scan. */
    size_t room = p->max_line + 2 - p->line_len;
    size_t scan = avail < room ? avail : room;
    const char *nl = memchr(s, '\n', scan);
    const char *line = s;
    size_t n;
    int whole = p->line_len == 0;

    if (!nl) {
        if (scan == room)
            return proto_error(p, "control line too long");
        if (append_line(p, s, scan) != 0)
            return no_memory(p);
        *pos = len;
        return 0;
    }
    n = (size_t)(nl - s);
    *pos += n + 1;
    if (!whole) {
        /* p->line stays untouched until the next line, so views into it
         * live through the parse below. */
        if (append_line(p, s, n) != 0)
            return no_memory(p);
        line = p->line;
        n = p->line_len;
        p->line_len = 0;
    }
    if (n && line[n - 1] == '\r') /* a bare '\n' is accepted too */
        n--;
    if (n > p->max_line)
        return proto_error(p, "control line too long");
    return parse_line(p, line, n, buf, len, pos, whole, cb, arg);
}

void jw__parser_init(jw__parser *p, size_t max_line, size_t max_payload)
{
    memset(p, 0, sizeof(*p));
    p->state = ST_LINE;
    p->max_line = max_line ? max_line : DEFAULT_MAX_LINE;
    p->max_payload = max_payload ? max_payload : DEFAULT_MAX_PAYLOAD;
    if (p->max_line > SIZE_MAX / 2) /* keep max_line + 2 from wrapping */
        p->max_line = SIZE_MAX / 2;
}

void jw__parser_reset(jw__parser *p)
{
    p->state = ST_LINE;
    p->line_len = 0;
    p->payload_len = 0;
    p->msg_total = 0;
    p->want = 0;
    memset(&p->msg, 0, sizeof(p->msg));
    p->error[0] = '\0';
    /* One huge message should not pin its scratch across reconnects. */
    if (p->payload_cap > SCRATCH_KEEP) {
        free(p->payload);
        p->payload = NULL;
        p->payload_cap = 0;
    }
}

void jw__parser_free(jw__parser *p)
{
    free(p->line);
    free(p->payload);
    p->line = p->payload = NULL;
    p->line_cap = p->payload_cap = 0;
    p->line_len = p->payload_len = 0;
}

/*
 * When the callback returns non-zero, the feed stops at once and returns
 * that value. The rest of buf is NOT kept: the parser is left at the start
 * of the next operation but the skipped bytes are lost, so the caller must
 * drop the connection (or reset the parser) rather than feed on.
 */
int jw__parser_feed(jw__parser *p, const char *buf, size_t len,
                    jw__parser_cb cb, void *arg)
{
    size_t pos = 0;
    int rc = 0;

    if (p->state == ST_ERROR)
        return JW_EPROTOCOL;
    while (pos < len && rc == 0) {
        switch (p->state) {
        case ST_LINE:
            rc = read_line(p, buf, len, &pos, cb, arg);
            break;
        case ST_PAYLOAD: {
            size_t n = len - pos < p->want ? len - pos : p->want;
            memcpy(p->payload + p->payload_len, buf + pos, n);
            p->payload_len += n;
            p->want -= n;
            pos += n;
            if (p->want == 0)
                p->state = ST_CR;
            break;
        }
        case ST_CR:
            if (buf[pos++] != '\r')
                rc = proto_error(p, "payload not followed by CRLF");
            else
                p->state = ST_LF;
            break;
        case ST_LF:
            if (buf[pos++] != '\n')
                rc = proto_error(p, "payload not followed by CRLF");
            else
                rc = deliver_scratch(p, cb, arg);
            break;
        default:
            rc = JW_EPROTOCOL;
            break;
        }
    }
    return rc;
}
