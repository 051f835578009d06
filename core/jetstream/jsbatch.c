/*
 * Atomic batch publishes (ADR-50, nats-server 2.12): messages that carry
 * Nats-Batch-Id and Nats-Batch-Sequence are staged by the stream and
 * stored together, or not at all, when the message with Nats-Batch-Commit
 * arrives. The first message is a request, so that a stream without
 * allow_atomic (or any other refusal) is heard of before more are sent;
 * the ones after it go without a reply subject, and whatever the stream
 * thought of them (a gap, a limit) is told by the commit's answer.
 */
#include "js.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V(a, b, c) ((a) * 10000 + (b) * 100 + (c))

enum batch_state { BATCH_OPEN, BATCH_COMMITTED, BATCH_FAILED };

struct jw_js_batch {
    jw_js *js; /* referenced */
    char id[32];
    uint64_t count; /* messages sent, the last one's Nats-Batch-Sequence */
    enum batch_state state;
    /* The subject of the last message sent: an end-of-batch commit goes
     * there, where the stream is known to listen. */
    char *last_subject;
};

jw_status jw_js_batch_new(jw_js *js, jw_js_batch **out)
{
    if (out)
        *out = NULL;
    if (!js || !out)
        return jw__fail(JW_EINVAL, "js and out must not be NULL");
    jw_status st = jw__js_require(js, V(2, 12, 0), "atomic batch publish");
    if (st)
        return st;
    /* The random part of an inbox: 22 characters of [0-9A-Za-z], well
     * inside the server's 64. */
    char inbox[64];
    st = jw_conn_new_inbox(js->conn, inbox, sizeof inbox);
    if (st)
        return st;
    jw_js_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    /* Cut to the id's room on purpose (22 characters fit). */
    snprintf(b->id, sizeof b->id, "%.*s", (int)sizeof b->id - 1,
             inbox + strlen("_INBOX."));
    b->js = js;
    jw__js_ref(js);
    *out = b;
    return JW_OK;
}

const char *jw_js_batch_id(const jw_js_batch *b)
{
    return b ? b->id : NULL;
}

uint64_t jw_js_batch_count(const jw_js_batch *b)
{
    return b ? b->count : 0;
}

void jw_js_batch_free(jw_js_batch *b)
{
    if (!b)
        return;
    /* Nothing to tell the server: it drops a batch that stays without
     * messages for a while (10 s in 2.12). */
    jw__js_release(b->js);
    free(b->last_subject);
    free(b);
}

static jw_status check_open(const jw_js_batch *b)
{
    if (b->state == BATCH_COMMITTED)
        return jw__fail(JW_EINVAL, "batch %s is committed: start a new one",
                        b->id);
    if (b->state == BATCH_FAILED)
        return jw__fail(JW_EINVAL, "batch %s failed (see the error of the "
                                   "call that failed it): start a new one",
                        b->id);
    return JW_OK;
}

/* The headers of the message numbered seq: msg's own, the options', and
 * the batch's ("1" or "eob" in commit, NULL for none). */
static jw_status batch_headers(jw_js_batch *b, const jw_msg *msg,
                               const jw_call_opts *opts, uint64_t seq,
                               const char *commit, char **hdr,
                               size_t *hdr_len)
{
    char num[24];
    num[jw__u64_to_dec(num, seq)] = 0;
    const char *extra[] = {"Nats-Batch-Id", b->id, "Nats-Batch-Sequence", num,
                           commit ? "Nats-Batch-Commit" : NULL, commit, NULL};
    return jw__js_pub_headers(b->js, msg, opts, extra, hdr, hdr_len);
}

static jw_status remember_subject(jw_js_batch *b, const char *subject)
{
    if (b->last_subject && strcmp(b->last_subject, subject) == 0)
        return JW_OK;
    char *copy = strdup(subject);
    if (!copy)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    free(b->last_subject);
    b->last_subject = copy;
    return JW_OK;
}

/* A request with these parts (a view, not a copy) and its reply. */
static jw_status batch_request(jw_js_batch *b, const char *subject,
                               const char *hdr, size_t hdr_len,
                               const void *data, size_t len,
                               int64_t timeout_ms, jw_msg **reply)
{
    jw_msg view = {.kind = JW__MSG_RECEIVED,
                   .subject = subject,
                   .hdr = hdr,
                   .hdr_len = hdr_len,
                   .data = data ? data : "",
                   .data_len = len};
    jw_status st = jw_conn_request_msg(b->js->conn, &view, timeout_ms, reply);
    jw__js_set_err_code(0);
    if (st == JW_ENO_RESPONDERS)
        return jw__fail(st, "no stream captures '%s' (or JetStream is off)",
                        subject);
    if (st == JW_ETIMEOUT)
        return jw__fail(st, "batch %s: no answer for '%s' within %lld ms",
                        b->id, subject, (long long)timeout_ms);
    return st;
}

/* The first message's answer: nothing (staged), or the stream's error. */
static jw_status first_answer(jw_js_batch *b, const jw_msg *reply)
{
    if (jw_msg_data_len(reply) == 0 && jw_msg_status_code(reply) == 0)
        return JW_OK;
    jw_js_pub_ack *ack = NULL;
    jw_status st = jw_js_pub_ack_parse(reply, &ack);
    jw_js_pub_ack_free(ack);
    if (st)
        return st;
    /* A PubAck: the stream stored it as an ordinary message, which only
     * a server that does not know batches does. */
    return jw__fail(JW_ENOT_SUPPORTED,
                    "batch %s: the stream stored the first message as an "
                    "ordinary one: its server does not know atomic "
                    "batches (nats-server 2.12.0 or newer)",
                    b->id);
}

jw_status jw_js_batch_add(jw_js_batch *b, const jw_msg *msg,
                          const jw_call_opts *opts)
{
    if (!b || !msg)
        return jw__fail(JW_EINVAL, "batch and msg must not be NULL");
    jw_status st = check_open(b);
    int64_t timeout = 0;
    if (st == JW_OK)
        st = jw__call_opts_use(opts, JW__CALL_PUBLISH, b->js);
    if (st == JW_OK)
        st = jw__call_opts_ms(opts, JW__PUB_TIMEOUT, b->js,
                              b->js->timeout_ms, &timeout);
    char *hdr = NULL;
    size_t hdr_len = 0;
    if (st == JW_OK)
        st = batch_headers(b, msg, opts, b->count + 1, NULL, &hdr, &hdr_len);
    if (st == JW_OK)
        st = remember_subject(b, jw_msg_subject(msg));
    if (st) {
        free(hdr);
        return st; /* nothing was sent: the batch goes on */
    }
    if (b->count == 0) {
        jw_msg *reply = NULL;
        st = batch_request(b, jw_msg_subject(msg), hdr, hdr_len,
                           jw_msg_data(msg), jw_msg_data_len(msg), timeout,
                           &reply);
        if (st == JW_OK)
            st = first_answer(b, reply);
        jw_msg_free(reply);
        if (st)
            b->state = BATCH_FAILED;
    } else {
        /* A failure here sent nothing (a closed connection, a message
         * too large): the sequence is not used and the batch may go on. */
        st = jw__conn_publish(b->js->conn, jw_msg_subject(msg), NULL, hdr,
                              hdr_len, jw_msg_data(msg), jw_msg_data_len(msg),
                              0);
    }
    free(hdr);
    if (st == JW_OK)
        b->count++;
    return st;
}

jw_status jw_js_batch_commit(jw_js_batch *b, const jw_msg *msg,
                             const jw_call_opts *opts, jw_js_pub_ack **ack)
{
    if (ack)
        *ack = NULL;
    if (!b)
        return jw__fail(JW_EINVAL, "batch is NULL");
    jw_status st = check_open(b);
    if (st == JW_OK && !msg && b->count == 0)
        st = jw__fail(JW_EINVAL, "batch %s is empty: an end-of-batch commit "
                                 "(msg NULL) needs a message added before",
                      b->id);
    if (st == JW_OK && !msg)
        st = jw__js_require(b->js, V(2, 14, 0),
                            "an atomic batch commit without a message");
    int64_t timeout = 0;
    if (st == JW_OK)
        st = jw__call_opts_use(opts, JW__CALL_PUBLISH, b->js);
    if (st == JW_OK)
        st = jw__call_opts_ms(opts, JW__PUB_TIMEOUT, b->js,
                              b->js->timeout_ms, &timeout);
    char *hdr = NULL;
    size_t hdr_len = 0;
    if (st == JW_OK)
        st = batch_headers(b, msg, opts, b->count + 1, msg ? "1" : "eob",
                           &hdr, &hdr_len);
    if (st) {
        free(hdr);
        return st; /* nothing was sent */
    }
    const char *subject = msg ? jw_msg_subject(msg) : b->last_subject;
    jw_msg *reply = NULL;
    st = batch_request(b, subject, hdr, hdr_len, msg ? jw_msg_data(msg) : NULL,
                       msg ? jw_msg_data_len(msg) : 0, timeout, &reply);
    free(hdr);
    jw_js_pub_ack *a = NULL;
    if (st == JW_OK)
        st = jw_js_pub_ack_parse(reply, &a);
    jw_msg_free(reply);
    if (st == JW_OK && !jw_js_pub_ack_batch(a)) {
        jw_js_pub_ack_free(a);
        a = NULL;
        st = jw__fail(JW_EPROTOCOL, "batch %s: the commit's PubAck has no "
                                    "batch id",
                      b->id);
    }
    /* Whatever went wrong, the server has dropped the batch (or, after a
     * timeout, may have stored it whole): it cannot go on. */
    b->state = st ? BATCH_FAILED : BATCH_COMMITTED;
    if (st)
        return st;
    if (msg)
        b->count++;
    if (ack)
        *ack = a;
    else
        jw_js_pub_ack_free(a);
    return JW_OK;
}
