/*
 * Delivered JetStream messages: acknowledgements (ack, ack-sync, nak, nak
 * with delay, term, in progress) with double-ack detection, and the
 * metadata carried by their ack subject (jetstream.md 8).
 */
#include "js.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- acks ---- */

static int is_js_reply(const jw_msg *m)
{
    const char *r = m ? jw_msg_reply(m) : NULL;
    return r && strncmp(r, "$JS.ACK.", 8) == 0;
}

static jw_status ack_check(const jw_msg *m, const char *what)
{
    if (!m)
        return jw__fail(JW_EINVAL, "msg is NULL");
    if (!is_js_reply(m))
        return jw__fail(JW_EINVAL,
                        "cannot %s: not a JetStream message (its reply "
                        "subject is not $JS.ACK.*)",
                        what);
    if (m->js_acked)
        return jw__fail(JW_EINVAL, "cannot %s: message already acknowledged",
                        what);
    return JW_OK;
}

static jw_status send_ack(jw_msg *m, const char *what, const char *payload,
                          int terminal)
{
    jw_status st = ack_check(m, what);
    if (st)
        return st;
    /* Lazily: a run of acks goes out in one write (see JW__SEND_LAZY). */
    st = jw__conn_publish(m->conn, m->reply, NULL, NULL, 0, payload,
                          strlen(payload), JW__SEND_LAZY);
    if (st == JW_OK && terminal)
        m->js_acked = 1;
    return st;
}

jw_status jw_msg_ack(jw_msg *m)
{
    return send_ack(m, "ack", "+ACK", 1);
}

jw_status jw_msg_nak(jw_msg *m)
{
    return send_ack(m, "nak", "-NAK", 1);
}

jw_status jw_msg_nak_delay(jw_msg *m, int64_t delay_ms)
{
    if (delay_ms < 0 || delay_ms > INT64_MAX / 1000000)
        return jw__fail(JW_EINVAL, "nak delay must be >= 0 ms");
    char payload[64];
    snprintf(payload, sizeof payload, "-NAK {\"delay\":%" PRId64 "}",
             delay_ms * 1000000);
    return send_ack(m, "nak", payload, 1);
}

jw_status jw_msg_term(jw_msg *m)
{
    return send_ack(m, "term", "+TERM", 1);
}

/* "+TERM <reason>" puts the reason in the server's MSG_TERMINATED
 * advisory. A server before 2.10.4 does not know the form, takes it for
 * no ack at all and redelivers: refused here instead. */
#define TERM_REASON_VERSION 21004

jw_status jw_msg_term_reason(jw_msg *m, const char *reason)
{
    if (!reason || !*reason)
        return jw_msg_term(m);
    jw_status st = ack_check(m, "term");
    if (st)
        return st;
    char have[32] = "";
    jw_conn_server_version(m->conn, have, sizeof have);
    int version = jw__js_version_parse(have);
    if (version && version < TERM_REASON_VERSION)
        return jw__fail(JW_ENOT_SUPPORTED,
                        "a term with a reason needs nats-server 2.10.4 or "
                        "newer (connected to %s, which would redeliver the "
                        "message): use term without a reason",
                        have);
    size_t n = strlen(reason);
    char *payload = malloc(n + sizeof "+TERM ");
    if (!payload)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    memcpy(payload, "+TERM ", 6);
    memcpy(payload + 6, reason, n + 1);
    st = send_ack(m, "term", payload, 1);
    free(payload);
    return st;
}

jw_status jw_msg_in_progress(jw_msg *m)
{
    return send_ack(m, "mark in progress", "+WPI", 0);
}

jw_status jw_msg_ack_sync(jw_msg *m, int64_t timeout_ms)
{
    jw_status st = ack_check(m, "ack");
    if (st)
        return st;
    jw_msg *reply = NULL;
    st = jw_conn_request(m->conn, m->reply, "+ACK", 4, timeout_ms, &reply);
    jw_msg_free(reply);
    if (st == JW_OK)
        m->js_acked = 1;
    else if (st == JW_ETIMEOUT)
        st = jw__fail(st, "the server did not confirm the ack within %lld ms",
                      (long long)timeout_ms);
    return st;
}

/* ---- metadata ---- */

struct jw_js_meta {
    const char *stream, *consumer, *domain;
    uint64_t delivered, stream_seq, consumer_seq, pending;
    int64_t timestamp;
};

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (!n || n > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t next = v * 10 + (uint64_t)(s[i] - '0');
        if (next / 10 != v)
            return -1;
        v = next;
    }
    *out = v;
    return 0;
}

jw_status jw_js_meta_parse(const char *reply, jw_js_meta **out)
{
    if (!out)
        return jw__fail(JW_EINVAL, "out is NULL");
    *out = NULL;
    if (!reply || strncmp(reply, "$JS.ACK.", 8) != 0)
        return jw__fail(JW_EINVAL, "not a JetStream message: reply '%s' is "
                                   "not a $JS.ACK subject",
                        reply ? reply : "(none)");
    enum { MAX_TOKENS = 16 };
    const char *tok[MAX_TOKENS];
    size_t len[MAX_TOKENS];
    int count = 0, empty = 0;
    const char *p = reply;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (count < MAX_TOKENS) {
            tok[count] = p;
            len[count] = n;
        }
        count++;
        empty |= n == 0;
        if (!dot)
            break;
        p = dot + 1;
    }
    int base; /* index of the stream token */
    if (empty)
        base = 0;
    else if (count == 9)
        base = 2;
    else if (count >= 11 && count <= MAX_TOKENS)
        base = 4;
    else
        base = 0;
    if (!base)
        return jw__fail(JW_EINVAL, "malformed JetStream ack subject '%s'",
                        reply);
    uint64_t num[5];
    for (int i = 0; i < 5; i++)
        if (parse_u64(tok[base + 2 + i], len[base + 2 + i], &num[i]))
            return jw__fail(JW_EINVAL,
                            "malformed JetStream ack subject '%s': token %d "
                            "is not a number",
                            reply, base + 3 + i);
    size_t dl = base == 4 && !(len[2] == 1 && tok[2][0] == '_') ? len[2] : 0;
    jw_js_meta *m = malloc(sizeof(*m) + len[base] + len[base + 1] + dl + 3);
    if (!m)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    char *s = (char *)(m + 1);
    m->stream = s;
    memcpy(s, tok[base], len[base]);
    s[len[base]] = 0;
    s += len[base] + 1;
    m->consumer = s;
    memcpy(s, tok[base + 1], len[base + 1]);
    s[len[base + 1]] = 0;
    s += len[base + 1] + 1;
    m->domain = s;
    memcpy(s, tok[2], dl);
    s[dl] = 0;
    m->delivered = num[0];
    m->stream_seq = num[1];
    m->consumer_seq = num[2];
    m->timestamp = (int64_t)num[3];
    m->pending = num[4];
    *out = m;
    return JW_OK;
}

jw_status jw_msg_metadata(const jw_msg *msg, jw_js_meta **out)
{
    if (out)
        *out = NULL;
    if (!msg)
        return jw__fail(JW_EINVAL, "msg is NULL");
    return jw_js_meta_parse(jw_msg_reply(msg), out);
}

const char *jw_js_meta_stream(const jw_js_meta *m)
{
    return m ? m->stream : NULL;
}

const char *jw_js_meta_consumer(const jw_js_meta *m)
{
    return m ? m->consumer : NULL;
}

const char *jw_js_meta_domain(const jw_js_meta *m)
{
    return m ? m->domain : NULL;
}

uint64_t jw_js_meta_num_delivered(const jw_js_meta *m)
{
    return m ? m->delivered : 0;
}

uint64_t jw_js_meta_stream_seq(const jw_js_meta *m)
{
    return m ? m->stream_seq : 0;
}

uint64_t jw_js_meta_consumer_seq(const jw_js_meta *m)
{
    return m ? m->consumer_seq : 0;
}

int64_t jw_js_meta_timestamp(const jw_js_meta *m)
{
    return m ? m->timestamp : 0;
}

uint64_t jw_js_meta_num_pending(const jw_js_meta *m)
{
    return m ? m->pending : 0;
}

void jw_js_meta_free(jw_js_meta *m)
{
    free(m);
}
