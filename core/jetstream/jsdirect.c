/*
 * Direct get batches (ADR-31, nats-server 2.11): one request to
 * $JS.API.DIRECT.GET.<stream> on a fresh inbox, answered by a run of
 * stored messages without flow control and closed by a 204 "EOB" status
 * that says how many more would match. The replies are handed out as they
 * arrive, each as the stored message (its subject, headers and data) with
 * the server's Nats-* headers; nothing here waits for the whole batch.
 * jetstream.md "Direct get batches" lists what the server does that a
 * reader would not guess.
 */
#include "js.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS INT64_C(1000000000)

struct jw_direct_batch {
    jw_js *js; /* referenced */
    jw_sub *sub;
    char *stream;
    int multi;           /* multi_last: the EOB carries Nats-UpTo-Sequence */
    int no_hdr;          /* data only: no subject, sequence or headers */
    uint64_t given;      /* data messages handed out */
    uint64_t prev_seq;   /* the stream sequence of the last one */
    uint64_t num_pending, last_seq, up_to_seq; /* from the EOB */
    int done;            /* the batch ended: only JW_OK and NULL now */
    jw_status failed;    /* a failure, repeated by every later call */
    char error[300];
};

/* ---- timestamps ---- */

static int digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 1;
}

jw_status jw__js_parse_time(const char *text, const char *what, int64_t *ns)
{
    *ns = 0;
    const char *p = text;
    int year, mon, day, hour, min, sec;
    if (!p || strlen(p) < 20 || !digits(p, 4, &year) || p[4] != '-' ||
        !digits(p + 5, 2, &mon) || p[7] != '-' || !digits(p + 8, 2, &day) ||
        (p[10] != 'T' && p[10] != 't') || !digits(p + 11, 2, &hour) ||
        p[13] != ':' || !digits(p + 14, 2, &min) || p[16] != ':' ||
        !digits(p + 17, 2, &sec))
        goto bad;
    if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 ||
        hour > 23 || min > 59 || sec > 59)
        goto bad;
    p += 19;
    int64_t frac = 0;
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 9)
                frac = frac * 10 + (*p - '0');
        if (n == 0 || n > 9)
            goto bad;
        for (; n < 9; n++)
            frac *= 10;
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) ||
            oh > 23 || om > 59)
            goto bad;
        offset = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        goto bad;
    }
    if (*p)
        goto bad;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = mon - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = min,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    /* timegm normalizes 31 February into March: refuse it. */
    struct tm back;
    if (!gmtime_r(&t, &back) || back.tm_mday != day)
        goto bad;
    *ns = ((int64_t)t - offset) * NS + frac;
    if (*ns < 0)
        goto bad;
    return JW_OK;
bad:
    return jw__fail(JW_EINVAL, "%s must be an RFC 3339 time such as "
                               "\"2026-05-01T12:00:00Z\" (fractions up to "
                               "ns, Z or an offset), not \"%s\"",
                    what, text ? text : "(null)");
}

/* ---- the request ---- */

/* An RFC 3339 option, normalized to UTC, into the body as key. */
static jw_status add_time(json_t *body, const char *key,
                          const jw_call_opts *opts, int index,
                          const char *what)
{
    const char *text = jw__call_opts_str(opts, index);
    if (!text)
        return JW_OK;
    int64_t ns;
    jw_status st = jw__js_parse_time(text, what, &ns);
    if (st)
        return st;
    char buf[64];
    jw__time_text(ns, buf, sizeof buf);
    json_object_set_new(body, key, json_string(buf));
    return JW_OK;
}

static void add_int(json_t *body, const char *key, const jw_call_opts *opts,
                    int index)
{
    if (jw__call_opts_has(opts, index))
        json_object_set_new(body, key,
                            json_integer(jw__call_opts_int(opts, index, 0)));
}

/* The request's JSON. The server answers requests it cannot serve with a
 * bare 408 and ignores some fields in some modes; the engine says which
 * option is wrong before sending. */
static jw_status request_body(const char *const *multi_last, size_t count,
                              const jw_call_opts *opts, json_t **out)
{
    int has_seq = jw__call_opts_has(opts, JW__DIRECT_SEQ);
    int has_start = jw__call_opts_has(opts, JW__DIRECT_START_TIME);
    const char *next = jw__call_opts_str(opts, JW__DIRECT_NEXT_BY_SUBJECT);
    int up_seq = jw__call_opts_has(opts, JW__DIRECT_UP_TO_SEQ);
    int up_time = jw__call_opts_has(opts, JW__DIRECT_UP_TO_TIME);
    if (count) {
        if (next || has_start)
            return jw__fail(JW_EINVAL, "direct_get option '%s' does not go "
                                       "with multi_last",
                            next ? "next_by_subject" : "start_time");
        if (up_seq && up_time)
            return jw__fail(JW_EINVAL, "direct_get options up_to_seq and "
                                       "up_to_time exclude each other");
    } else {
        if (up_seq || up_time)
            return jw__fail(JW_EINVAL, "direct_get option '%s' needs "
                                       "multi_last (the server ignores it "
                                       "otherwise)",
                            up_seq ? "up_to_seq" : "up_to_time");
        if (!has_seq && !has_start && !next)
            return jw__fail(JW_EINVAL, "a direct get batch needs multi_last "
                                       "or one of the options seq, "
                                       "next_by_subject, start_time");
        if (has_seq && has_start)
            return jw__fail(JW_EINVAL, "direct_get options seq and "
                                       "start_time exclude each other");
    }
    if (next && !jw_subject_pattern_is_valid(next))
        return jw__fail(JW_EINVALID_SUBJECT, "invalid next_by_subject '%s'",
                        next);
    json_t *body = json_object();
    json_t *list = count ? json_array() : NULL;
    if (!body || (count && !list)) {
        json_decref(body);
        json_decref(list);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    jw_status st = JW_OK;
    for (size_t i = 0; i < count && st == JW_OK; i++) {
        if (!multi_last[i] || !jw_subject_pattern_is_valid(multi_last[i]))
            st = jw__fail(JW_EINVALID_SUBJECT, "invalid multi_last subject "
                                               "'%s'",
                          multi_last[i] ? multi_last[i] : "(null)");
        else if (json_array_append_new(list, json_string(multi_last[i])))
            st = jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    if (list)
        json_object_set_new(body, "multi_last", list);
    /* Without batch the server answers one message and no EOB: a batch of
     * one keeps every reply shaped alike. */
    if (!count && !jw__call_opts_has(opts, JW__DIRECT_BATCH))
        json_object_set_new(body, "batch", json_integer(1));
    add_int(body, "batch", opts, JW__DIRECT_BATCH);
    add_int(body, "max_bytes", opts, JW__DIRECT_MAX_BYTES);
    add_int(body, "seq", opts, JW__DIRECT_SEQ);
    add_int(body, "up_to_seq", opts, JW__DIRECT_UP_TO_SEQ);
    if (next)
        json_object_set_new(body, "next_by_subj", json_string(next));
    if (jw__call_opts_int(opts, JW__DIRECT_NO_HDR, 0))
        json_object_set_new(body, "no_hdr", json_true());
    if (st == JW_OK)
        st = add_time(body, "start_time", opts, JW__DIRECT_START_TIME,
                      "direct_get option 'start_time'");
    if (st == JW_OK)
        st = add_time(body, "up_to_time", opts, JW__DIRECT_UP_TO_TIME,
                      "direct_get option 'up_to_time'");
    if (st) {
        json_decref(body);
        return st;
    }
    *out = body;
    return JW_OK;
}

static void batch_free(jw_direct_batch *b)
{
    if (!b)
        return;
    jw_sub_free(b->sub);
    if (b->js)
        jw__js_release(b->js);
    free(b->stream);
    free(b);
}

jw_status jw_js_direct_get_batch(jw_js *js, const char *stream,
                                 const char *const *multi_last, size_t count,
                                 const jw_call_opts *opts,
                                 jw_direct_batch **out)
{
    if (out)
        *out = NULL;
    if (!js || !stream || !out)
        return jw__fail(JW_EINVAL, "js, stream and out must not be NULL");
    if (count && !multi_last)
        return jw__fail(JW_EINVAL, "multi_last is NULL with a count of %zu",
                        count);
    /* A closed connection says so before the server's version does. */
    if (jw_conn_status_get(js->conn) == JW_CONN_CLOSED)
        return jw__fail(JW_ECONNECTION_CLOSED, "connection is closed");
    jw_status st = jw__js_check_name("stream", stream);
    if (st == JW_OK)
        st = jw__call_opts_use(opts, JW__CALL_DIRECT_GET, js);
    if (st == JW_OK)
        st = jw__js_require(js, 21100, "a direct get batch");
    json_t *body = NULL;
    if (st == JW_OK)
        st = request_body(multi_last, count, opts, &body);
    if (st)
        return st;
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    jw_direct_batch *b = calloc(1, sizeof(*b));
    if (b)
        b->stream = strdup(stream);
    if (!text || !b || !b->stream) {
        free(text);
        batch_free(b);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    b->multi = count > 0;
    b->no_hdr = (int)jw__call_opts_int(opts, JW__DIRECT_NO_HDR, 0);
    char inbox[64], subject[400];
    int n = snprintf(subject, sizeof subject, "%s.DIRECT.GET.%s", js->prefix,
                     stream);
    if (n < 0 || (size_t)n >= sizeof subject)
        st = jw__fail(JW_EINVAL, "stream name is too long");
    if (st == JW_OK)
        st = jw_conn_new_inbox(js->conn, inbox, sizeof inbox);
    if (st == JW_OK)
        st = jw_conn_subscribe(js->conn, inbox, NULL, &b->sub);
    /* The server sends the whole batch at once, bounded by max_bytes (its
     * max_pending, 64 MiB, by default): the inbox must take all of it, or
     * the pending limits would drop the tail. */
    if (st == JW_OK)
        st = jw_sub_set_pending_limits(b->sub, 0, 0);
    if (st == JW_OK)
        st = jw_conn_publish_reply(js->conn, subject, inbox, text,
                                   strlen(text));
    free(text);
    if (st) {
        batch_free(b);
        return st;
    }
    jw__js_ref(js);
    b->js = js;
    *out = b;
    return JW_OK;
}

/* ---- the replies ---- */

static jw_status fail(jw_direct_batch *b, jw_status st)
{
    b->failed = st;
    snprintf(b->error, sizeof b->error, "%s", jw_last_error());
    return st;
}

static uint64_t header_u64(const jw_msg *m, const char *name, int *found)
{
    const char *v = NULL;
    int ok = jw_msg_header_get(m, name, 0, &v) == JW_OK && v;
    if (found)
        *found = ok;
    return ok ? strtoull(v, NULL, 10) : 0;
}

/* Nobody answered: the stream is missing, or has no allow_direct (the
 * server subscribes its direct get responders only then). */
static jw_status no_responders(jw_direct_batch *b)
{
    char *info = NULL;
    jw_status st = jw_js_stream_info(b->js, b->stream, &info);
    if (st == JW_ESTREAM_NOT_FOUND || st == JW_ENO_RESPONDERS)
        return st;
    jw_free(info);
    if (st)
        return st;
    jw__js_set_err_code(0);
    return jw__fail(JW_EJETSTREAM, "stream '%s' does not answer direct gets "
                                   "(its allow_direct is false)",
                    b->stream);
}

/* A status message: the end of the batch, or why there is none. */
static jw_status status_of(jw_direct_batch *b, const jw_msg *m, int code)
{
    int found = 0;
    switch (code) {
    case 204:
        b->num_pending = header_u64(m, "Nats-Num-Pending", NULL);
        b->last_seq = header_u64(m, "Nats-Last-Sequence", &found);
        b->up_to_seq = header_u64(m, "Nats-UpTo-Sequence", NULL);
        /* The EOB names the last message sent: one missing at the tail. */
        if (found && !b->no_hdr && b->last_seq != b->prev_seq)
            return jw__fail(JW_ESLOW_CONSUMER, "direct get batch from '%s' "
                                               "lost messages: it ended at "
                                               "sequence %llu, the last "
                                               "received was %llu",
                            b->stream, (unsigned long long)b->last_seq,
                            (unsigned long long)b->prev_seq);
        b->done = 1;
        return JW_OK;
    case 404:
        /* Nothing matched; after messages it means one failed to load. */
        if (b->given)
            break;
        b->done = 1;
        return JW_OK;
    case 503:
        return no_responders(b);
    case 413:
        jw__js_set_err_code(0);
        return jw__fail(JW_EJETSTREAM, "direct get from '%s': multi_last "
                                       "matches more than 1024 subjects "
                                       "(413 Too Many Results)",
                        b->stream);
    default:
        break;
    }
    const char *desc = "";
    size_t desc_len = 0, hl = 0;
    const char *hdr = jw_msg_headers_raw(m, &hl);
    if (hdr)
        jw__hdr_status(hdr, hl, &code, &desc, &desc_len);
    jw__js_set_err_code(0);
    return jw__fail(JW_EJETSTREAM, "direct get from '%s' answered %d %.*s",
                    b->stream, code, (int)desc_len, desc);
}

/* A stored message as the caller gets it: its own subject (the reply came
 * on the inbox), headers and data. */
static jw_status stored_msg(jw_direct_batch *b, const jw_msg *m, jw_msg **out)
{
    const char *subject = NULL;
    size_t hl = 0;
    const char *hdr = jw_msg_headers_raw(m, &hl);
    if (b->no_hdr && !hdr) {
        /* Asked for: the data alone, under no subject. */
        jw__proto_event ev = {.subject = "",
                              .data = jw_msg_data(m),
                              .data_len = jw_msg_data_len(m)};
        *out = jw__msg_from_event(&ev, NULL);
        if (!*out)
            return jw__fail(JW_ENO_MEMORY, "out of memory");
        b->given++;
        return JW_OK;
    }
    if (jw_msg_header_get(m, "Nats-Subject", 0, &subject) || !subject)
        return jw__fail(JW_EPROTOCOL, "direct get reply without "
                                      "Nats-Subject");
    int found = 0;
    header_u64(m, "Nats-Num-Pending", &found);
    if (!found)
        return jw__fail(JW_ENOT_SUPPORTED, "the server answering direct gets "
                                           "for '%s' ignores batches (it is "
                                           "older than nats-server 2.11.0)",
                        b->stream);
    uint64_t seq = header_u64(m, "Nats-Sequence", NULL);
    uint64_t before = header_u64(m, "Nats-Last-Sequence", &found);
    /* Each reply names the one sent before it: a gap means replies were
     * lost on the way. */
    if (found && before != b->prev_seq)
        return jw__fail(JW_ESLOW_CONSUMER, "direct get batch from '%s' lost "
                                           "messages between sequences %llu "
                                           "and %llu",
                        b->stream, (unsigned long long)b->prev_seq,
                        (unsigned long long)seq);
    jw__proto_event ev = {.subject = subject,
                          .subject_len = strlen(subject),
                          .hdr = hl ? hdr : NULL,
                          .hdr_len = hl,
                          .data = jw_msg_data(m),
                          .data_len = jw_msg_data_len(m)};
    *out = jw__msg_from_event(&ev, NULL);
    if (!*out)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    b->prev_seq = seq;
    b->given++;
    return JW_OK;
}

jw_status jw_direct_batch_next(jw_direct_batch *b, int64_t timeout_ms,
                               jw_msg **msg)
{
    if (msg)
        *msg = NULL;
    if (!b || !msg)
        return jw__fail(JW_EINVAL, "batch and msg must not be NULL");
    if (b->failed)
        return jw__fail(b->failed, "%s", b->error);
    if (b->done)
        return JW_OK;
    jw_msg *m = NULL;
    jw_status st = jw_sub_next(b->sub, timeout_ms, &m);
    if (st == JW_ETIMEOUT)
        return jw__fail(JW_ETIMEOUT, "no direct get reply from '%s' within "
                                     "%lld ms",
                        b->stream, (long long)timeout_ms);
    if (st == JW_EINTERRUPTED)
        return st; /* the batch goes on with the next call */
    if (st)
        return fail(b, st);
    int code = jw_msg_status_code(m);
    st = code ? status_of(b, m, code) : stored_msg(b, m, msg);
    jw_msg_free(m);
    if (st)
        return fail(b, st);
    if (b->done) {
        /* Nothing more comes on the inbox: let it go now. */
        jw_sub_free(b->sub);
        b->sub = NULL;
    }
    return JW_OK;
}

uint64_t jw_direct_batch_num_pending(const jw_direct_batch *b)
{
    return b ? b->num_pending : 0;
}

uint64_t jw_direct_batch_last_seq(const jw_direct_batch *b)
{
    return b ? b->last_seq : 0;
}

uint64_t jw_direct_batch_up_to_seq(const jw_direct_batch *b)
{
    return b ? b->up_to_seq : 0;
}

void jw_direct_batch_free(jw_direct_batch *b)
{
    batch_free(b);
}
