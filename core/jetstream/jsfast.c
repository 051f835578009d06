/*
 * Fast-ingest batches (ADR-50, nats-server 2.14): a stream with
 * allow_batched takes a run of messages whose reply subjects say the
 * batch, its settings, each message's place in it and what it does:
 *
 *   <prefix>.<id>.<flow>.<gap>.<batch seq>.<operation>.$FI
 *
 * (operations: 0 start, 1 append, 2 commit with this message, 3 commit
 * without storing it, 4 ping). The server answers on the batch's inbox
 * (<prefix>.<id>.>): a flow ack {"type":"ack","seq","msgs"} every `msgs`
 * messages stored (the first one, seq 0, to the first message), a gap
 * {"type":"gap","last_seq","seq"} when messages did not arrive, an error
 * {"type":"err","seq","error"} for a refused message, and a PubAck with
 * "batch" and "count" when the batch ends.
 *
 * The publisher sends without waiting while it is fewer than
 * flow * max_outstanding_acks messages ahead of the last ack; acks are
 * read on the loop thread (an inline handler), which wakes the publisher
 * only when it waits. A publisher that waits too long pings (the highest
 * sequence it sent) so that the server sends the last ack again.
 */
#include "js.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V(a, b, c) ((a) * 10000 + (b) * 100 + (c))

/* Without a "flow" option, the flow asked for is as many of the first
 * message as fit in FAST_FLOW_BYTES, 1 to FAST_FLOW_MAX (the most the
 * server grants): small messages go at full speed, large ones keep what
 * is in flight small (see callopts.c). */
#define FAST_FLOW_BYTES (256 * 1024)
#define FAST_FLOW_MAX 500
#define FAST_MAX_OUTSTANDING 2
/* Reports of errors and gaps kept between two takes; beyond, counted. */
#define FAST_REPORTS_MAX 10000

enum {
    OP_START = 0,
    OP_APPEND = 1,
    OP_COMMIT = 2,
    OP_COMMIT_EOB = 3,
    OP_PING = 4
};

struct jw_js_fast {
    jw_js *js; /* referenced */
    jw_conn *conn;
    jw_sub *sub;
    int gap_ok;
    uint64_t max_outstanding;
    int64_t timeout_ms;

    /* The publisher's thread only. */
    uint64_t sent;  /* highest batch sequence sent (the EOB not counted) */
    int committed;  /* the commit went out (or was not needed) */
    int finished;   /* commit returned */
    char *subject;  /* the first message's: EOB and pings go to it */
    char reply[160];
    size_t reply_base; /* "<prefix>.<id>.<flow>.<gap>." */
    int64_t flow_given; /* the option, or 0: chosen at the first message */

    /* Shared with the loop thread: written under mu; the publisher's
     * path reads the atomics without it. */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int waiting;
    atomic_int started;     /* the server's first flow ack came */
    atomic_int ended;       /* final PubAck came, or a "fail" stop */
    atomic_uint_fast64_t acked;
    atomic_uint flow;
    /* The final PubAck (or its error). */
    int final_came;
    jw_status final_status;
    int final_err_code;
    char final_text[512];
    jw_js_pub_ack *final_ack;
    /* gap "fail": the first error or gap, which ends the batch. */
    jw_status stop_status;
    int stop_err_code;
    char stop_text[512];
    /* Reports for jw_js_fast_take_errors. */
    json_t *reports;
    size_t reports_dropped;
    /* Losses of the connection (watch): a waiting call fails at once. */
    jw__conn_watch watch;
    unsigned losses;
    jw_status lost_why;
};

/* ---- the loop thread: the server's answers ---- */

static void wake(jw_js_fast *f)
{
    if (f->waiting)
        pthread_cond_broadcast(&f->cond);
}

static void add_report(jw_js_fast *f, json_t *entry)
{
    if (!entry)
        return;
    if (json_array_size(f->reports) >= FAST_REPORTS_MAX) {
        f->reports_dropped++;
        json_decref(entry);
        return;
    }
    json_array_append_new(f->reports, entry);
}

/* Stop a "fail" batch (mu held): the first reason stands. */
static void stop(jw_js_fast *f, jw_status st, int err_code, const char *text)
{
    if (f->gap_ok || f->stop_status)
        return;
    f->stop_status = st;
    f->stop_err_code = err_code;
    snprintf(f->stop_text, sizeof f->stop_text, "%s", text);
    atomic_store(&f->ended, 1);
}

static void on_flow_ack(jw_js_fast *f, const json_t *doc)
{
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(doc, "seq"));
    json_int_t msgs = json_integer_value(json_object_get(doc, "msgs"));
    if (msgs < 1)
        msgs = 1;
    pthread_mutex_lock(&f->mu);
    /* A later ack implies the earlier ones: lost acks cannot stall. */
    if (seq >= atomic_load(&f->acked)) {
        atomic_store(&f->acked, seq);
        atomic_store(&f->flow, (unsigned)msgs);
    }
    atomic_store(&f->started, 1);
    wake(f);
    pthread_mutex_unlock(&f->mu);
}

static void on_gap(jw_js_fast *f, const json_t *doc)
{
    uint64_t last =
        (uint64_t)json_integer_value(json_object_get(doc, "last_seq"));
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(doc, "seq"));
    char text[200];
    if (seq > last)
        snprintf(text, sizeof text,
                 "the server did not get batch messages %llu to %llu",
                 (unsigned long long)last, (unsigned long long)seq - 1);
    else
        snprintf(text, sizeof text,
                 "the server got batch message %llu out of order (it "
                 "expected %llu)",
                 (unsigned long long)seq, (unsigned long long)last);
    pthread_mutex_lock(&f->mu);
    add_report(f, json_pack("{ss sI sI}", "type", "gap", "last_seq",
                            (json_int_t)last, "seq", (json_int_t)seq));
    stop(f, JW_EJETSTREAM, 0, text);
    wake(f);
    pthread_mutex_unlock(&f->mu);
}

static void on_err(jw_js_fast *f, const json_t *doc)
{
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(doc, "seq"));
    const json_t *error = json_object_get(doc, "error");
    char what[64];
    snprintf(what, sizeof what, "batch message %llu",
             (unsigned long long)seq);
    /* The status and text as a publish would give them. */
    jw_status st = jw__js_error(error, what);
    const char *desc =
        json_string_value(json_object_get(error, "description"));
    pthread_mutex_lock(&f->mu);
    add_report(f, json_pack("{ss sI sI sI ss}", "type", "err", "seq",
                            (json_int_t)seq, "code",
                            json_integer_value(json_object_get(error, "code")),
                            "err_code",
                            json_integer_value(
                                json_object_get(error, "err_code")),
                            "description", desc ? desc : ""));
    stop(f, st, jw_js_last_err_code(), jw_last_error());
    wake(f);
    pthread_mutex_unlock(&f->mu);
}

static void on_final(jw_js_fast *f, const jw_msg *reply)
{
    jw_js_pub_ack *ack = NULL;
    jw_status st = jw_js_pub_ack_parse(reply, &ack);
    pthread_mutex_lock(&f->mu);
    if (f->final_came) { /* a second one (a late ping's answer) */
        pthread_mutex_unlock(&f->mu);
        jw_js_pub_ack_free(ack);
        return;
    }
    f->final_came = 1;
    f->final_status = st;
    f->final_ack = ack;
    if (st) {
        f->final_err_code = jw_js_last_err_code();
        snprintf(f->final_text, sizeof f->final_text, "%s", jw_last_error());
    } else {
        uint64_t count = jw_js_pub_ack_count(ack);
        if (count > atomic_load(&f->acked))
            atomic_store(&f->acked, count);
    }
    atomic_store(&f->ended, 1);
    wake(f);
    pthread_mutex_unlock(&f->mu);
}

static void on_reply(jw_sub *sub, jw_msg *reply, void *arg)
{
    JW_UNUSED(sub);
    jw_js_fast *f = arg;
    json_t *doc = NULL;
    const char *type = NULL;
    if (jw_msg_status_code(reply) == 0) {
        doc = json_loadb(jw_msg_data(reply), jw_msg_data_len(reply), 0,
                         NULL);
        type = json_string_value(json_object_get(doc, "type"));
    }
    if (type && strcmp(type, "ack") == 0)
        on_flow_ack(f, doc);
    else if (type && strcmp(type, "gap") == 0)
        on_gap(f, doc);
    else if (type && strcmp(type, "err") == 0)
        on_err(f, doc);
    else if (!type)
        on_final(f, reply); /* a PubAck, an error, or no responders */
    json_decref(doc);
    jw_msg_free(reply);
}

/* The connection lost its socket or closed (loop thread): answers to
 * what was sent can no longer come; a waiting call stops at once. */
static void conn_lost(void *arg, jw_status why)
{
    jw_js_fast *f = arg;
    pthread_mutex_lock(&f->mu);
    f->losses++;
    f->lost_why = why;
    wake(f);
    pthread_mutex_unlock(&f->mu);
}

/* ---- the publisher's side ---- */

static jw_status check_gap(const char *gap, int *gap_ok)
{
    if (!gap || strcmp(gap, "fail") == 0)
        *gap_ok = 0;
    else if (strcmp(gap, "ok") == 0)
        *gap_ok = 1;
    else
        return jw__fail(JW_EINVAL, "fast option 'gap' must be \"ok\" or "
                                   "\"fail\", not '%s'", gap);
    return JW_OK;
}

jw_status jw_js_fast_new(jw_js *js, const jw_call_opts *opts,
                         jw_js_fast **out)
{
    if (out)
        *out = NULL;
    if (!js || !out)
        return jw__fail(JW_EINVAL, "js and out must not be NULL");
    jw_status st = jw__js_require(js, V(2, 14, 0), "fast-ingest batch "
                                                   "publish");
    if (st == JW_OK)
        st = jw__call_opts_use(opts, JW__CALL_FAST, js);
    int gap_ok = 0;
    int64_t timeout_ms = js->timeout_ms;
    if (st == JW_OK)
        st = check_gap(jw__call_opts_str(opts, JW__FAST_GAP), &gap_ok);
    if (st == JW_OK)
        st = jw__call_opts_ms(opts, JW__FAST_TIMEOUT, js, js->timeout_ms,
                              &timeout_ms);
    if (st)
        return st;
    jw_js_fast *f = calloc(1, sizeof(*f));
    json_t *reports = json_array();
    if (!f || !reports) {
        free(f);
        json_decref(reports);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    f->js = js;
    f->conn = js->conn;
    f->gap_ok = gap_ok;
    f->timeout_ms = timeout_ms;
    f->max_outstanding = (uint64_t)jw__call_opts_int(
        opts, JW__FAST_MAX_OUTSTANDING_ACKS, FAST_MAX_OUTSTANDING);
    f->flow_given = jw__call_opts_int(opts, JW__FAST_FLOW, 0);
    f->reports = reports;
    atomic_init(&f->started, 0);
    atomic_init(&f->ended, 0);
    atomic_init(&f->acked, 0);
    atomic_init(&f->flow, 1);
    pthread_mutex_init(&f->mu, NULL);
    jw__cond_init(&f->cond);

    /* "_INBOX.<token>": the prefix, and the token as the batch's id. A
     * plain subscription, not the shared request inbox, so that freeing
     * it tells the server to stop answering (ADR-50). */
    char inbox[64], filter[80];
    st = jw_conn_new_inbox(js->conn, inbox, sizeof inbox);
    if (st == JW_OK) {
        snprintf(filter, sizeof filter, "%s.>", inbox);
        /* "<prefix>.<id>."; the flow and the gap follow at the first
         * message (settle_flow). */
        int n = snprintf(f->reply, sizeof f->reply, "%s.", inbox);
        f->reply_base = (size_t)n;
        st = jw__conn_subscribe_inline(js->conn, filter, on_reply, f,
                                       &f->sub);
    }
    if (st) {
        json_decref(reports);
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cond);
        free(f);
        return st;
    }
    jw__js_ref(js);
    f->watch.fn = conn_lost;
    f->watch.arg = f;
    jw__conn_watch_add(js->conn, &f->watch);
    *out = f;
    return JW_OK;
}

void jw_js_fast_free(jw_js_fast *f)
{
    if (!f)
        return;
    jw__conn_watch_remove(f->conn, &f->watch);
    jw_sub_free(f->sub); /* the handler is not running once it returns */
    jw_js_pub_ack_free(f->final_ack);
    json_decref(f->reports);
    free(f->subject);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cond);
    jw_js *js = f->js;
    free(f);
    jw__js_release(js);
}

uint64_t jw_js_fast_acked(const jw_js_fast *f)
{
    return f ? (uint64_t)atomic_load(&f->acked) : 0;
}

uint64_t jw_js_fast_room(const jw_js_fast *f)
{
    if (!f || f->committed || atomic_load(&f->ended) ||
        !atomic_load(&f->started))
        return 0;
    uint64_t window = (uint64_t)atomic_load(&f->flow) * f->max_outstanding;
    uint64_t end = (uint64_t)atomic_load(&f->acked) + window;
    return end > f->sent ? end - f->sent : 0;
}

/* The reply subject for seq and op, in f->reply (returned). */
static const char *reply_for(jw_js_fast *f, uint64_t seq, int op)
{
    char *p = f->reply + f->reply_base;
    p += jw__u64_to_dec(p, seq);
    *p++ = '.';
    *p++ = (char)('0' + op);
    memcpy(p, ".$FI", 5);
    return f->reply;
}

/* May the publisher send message sent + 1 (mu held, or racy reads on
 * the fast path, which re-checks under mu before it waits)? */
static int may_send(jw_js_fast *f)
{
    if (atomic_load(&f->ended))
        return 1; /* the caller sees why */
    if (!atomic_load(&f->started))
        return f->sent == 0;
    uint64_t window = (uint64_t)atomic_load(&f->flow) * f->max_outstanding;
    return atomic_load(&f->acked) + window > f->sent;
}

static int has_started(jw_js_fast *f)
{
    return atomic_load(&f->started) || atomic_load(&f->ended);
}

static int has_final(jw_js_fast *f)
{
    return f->final_came;
}

static jw_status send_ping(jw_js_fast *f)
{
    if (!f->subject || !f->sent)
        return JW_OK;
    return jw__conn_publish(f->conn, f->subject,
                            reply_for(f, f->sent, OP_PING), NULL, 0, NULL, 0,
                            0);
}

/* Wait (mu held) until ready(f), for what (the error's words). Pings the
 * batch every third of the timeout so that a lost ack is sent again.
 * JW_ENOT_CONNECTED (JW_ECONNECTION_CLOSED) at once when the connection
 * is without its socket (closed). */
static jw_status wait_until(jw_js_fast *f, int (*ready)(jw_js_fast *),
                            const char *what)
{
    if (ready(f))
        return JW_OK;
    if (jw__loop_in_callback())
        return jw__fail(JW_EINVAL, "fast batch: cannot wait for %s inside a "
                                   "loop callback", what);
    int64_t deadline_us = jw__deadline(f->timeout_ms);
    int64_t ping_every_us = f->timeout_ms * 1000 / 3;
    int64_t next_ping_us = jw__now_us() + ping_every_us;
    unsigned losses = f->losses;
    jw_status st = JW_OK;
    f->waiting++;
    while (!ready(f)) {
        /* A draining connection still reads: its answers can come. */
        jw_conn_status cs = jw_conn_status_get(f->conn);
        if (f->losses != losses || cs == JW_CONN_RECONNECTING ||
            cs == JW_CONN_CLOSED) {
            int closed = cs == JW_CONN_CLOSED ||
                         (f->losses != losses &&
                          f->lost_why == JW_ECONNECTION_CLOSED);
            st = jw__fail(closed ? JW_ECONNECTION_CLOSED : JW_ENOT_CONNECTED,
                          "fast batch: the connection %s while waiting for "
                          "%s (%llu messages sent, %llu acknowledged)",
                          closed ? "closed" : "lost its server", what,
                          (unsigned long long)f->sent,
                          (unsigned long long)atomic_load(&f->acked));
            break;
        }
        /* Look at the connection at least every 100 ms. */
        int64_t slice = jw__deadline(100);
        if (next_ping_us < slice)
            slice = next_ping_us;
        if (deadline_us >= 0 && deadline_us < slice)
            slice = deadline_us;
        jw_status waited =
            jw__loop_wait_user(f->conn->loop, &f->cond, &f->mu, slice);
        if (ready(f))
            break;
        if (waited == JW_EINTERRUPTED) {
            st = jw__fail(waited, "fast batch: interrupted while waiting "
                                  "for %s", what);
            break;
        }
        int64_t now = jw__now_us();
        if (deadline_us >= 0 && now >= deadline_us) {
            st = jw__fail(JW_ETIMEOUT,
                          "fast batch: no %s within %lld ms (%llu messages "
                          "sent, %llu acknowledged)",
                          what, (long long)f->timeout_ms,
                          (unsigned long long)f->sent,
                          (unsigned long long)atomic_load(&f->acked));
            break;
        }
        if (now >= next_ping_us) {
            next_ping_us = now + ping_every_us;
            pthread_mutex_unlock(&f->mu);
            send_ping(f);
            pthread_mutex_lock(&f->mu);
        }
    }
    f->waiting--;
    return st;
}

/* Why the batch ended before the commit (mu held): the stop's status, or
 * the final PubAck's error. */
static jw_status ended_status(jw_js_fast *f)
{
    if (f->stop_status) {
        jw__js_set_err_code(f->stop_err_code);
        return jw__fail(f->stop_status,
                        "fast batch stopped (gap \"fail\"): %s; commit to "
                        "get the PubAck of what was stored",
                        f->stop_text);
    }
    if (f->final_came && f->final_status) {
        jw__js_set_err_code(f->final_err_code);
        return jw__fail(f->final_status, "%s", f->final_text);
    }
    jw__js_set_err_code(0);
    return jw__fail(JW_EJETSTREAM,
                    "fast batch: the server ended the batch after %llu "
                    "messages; commit to get its PubAck",
                    (unsigned long long)jw_js_pub_ack_count(f->final_ack));
}

/* Send message seq with op: subject, headers (the message's, with those
 * of the "publish" options) and data. */
static jw_status send_msg(jw_js_fast *f, const jw_msg *msg,
                          const jw_call_opts *pub_opts, uint64_t seq, int op)
{
    size_t hdr_len = 0;
    const char *hdr;
    char *built = NULL;
    if (pub_opts) {
        jw_status st =
            jw__js_pub_headers(f->js, msg, pub_opts, NULL, &built,
                               &hdr_len);
        if (st)
            return st;
        hdr = built;
    } else {
        hdr = jw_msg_headers_raw(msg, &hdr_len);
    }
    jw_status st = jw__conn_publish(f->conn, jw_msg_subject(msg),
                                    reply_for(f, seq, op), hdr, hdr_len,
                                    jw_msg_data(msg), jw_msg_data_len(msg),
                                    0);
    free(built);
    return st;
}

/* At the first message: the flow asked for (the option, else from the
 * message's size), which every reply subject then carries with the gap
 * mode, and the subject that EOB and pings go to. */
static jw_status first_message(jw_js_fast *f, const jw_msg *msg)
{
    if (f->subject)
        return JW_OK;
    int64_t flow = f->flow_given;
    if (!flow) {
        size_t hl = 0;
        jw_msg_headers_raw(msg, &hl);
        size_t size = jw_msg_data_len(msg) + hl + 1;
        flow = size >= FAST_FLOW_BYTES ? 1 : (int64_t)(FAST_FLOW_BYTES / size);
        if (flow > FAST_FLOW_MAX)
            flow = FAST_FLOW_MAX;
    }
    atomic_store(&f->flow, (unsigned)flow);
    int n = snprintf(f->reply + f->reply_base,
                     sizeof f->reply - f->reply_base, "%lld.%s.",
                     (long long)flow, f->gap_ok ? "ok" : "fail");
    f->reply_base += (size_t)n;
    f->subject = strdup(jw_msg_subject(msg) ? jw_msg_subject(msg) : "");
    return f->subject ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
}

jw_status jw_js_fast_add(jw_js_fast *f, const jw_msg *msg,
                         const jw_call_opts *pub_opts, uint64_t *seq)
{
    if (seq)
        *seq = 0;
    if (!f || !msg)
        return jw__fail(JW_EINVAL, "fast batch and msg must not be NULL");
    if (f->committed)
        return jw__fail(JW_EINVAL, "fast batch: already committed");
    jw_status st = JW_OK;
    /* Fast path: no lock while the window is open. */
    if (atomic_load(&f->ended) || !may_send(f)) {
        pthread_mutex_lock(&f->mu);
        st = wait_until(f, may_send, "an ack to open the window");
        if (st == JW_OK && atomic_load(&f->ended))
            st = ended_status(f);
        pthread_mutex_unlock(&f->mu);
        if (st)
            return st;
    }
    int first = f->sent == 0;
    if (first && (st = first_message(f, msg)))
        return st;
    st = send_msg(f, msg, pub_opts, f->sent + 1,
                  first ? OP_START : OP_APPEND);
    if (st)
        return st;
    f->sent++;
    if (seq)
        *seq = f->sent;
    if (first) {
        /* The server's first answer: its flow settings, or why not. */
        pthread_mutex_lock(&f->mu);
        st = wait_until(f, has_started, "the server's first answer");
        if (st == JW_OK && !atomic_load(&f->started))
            st = ended_status(f);
        pthread_mutex_unlock(&f->mu);
    }
    return st;
}

jw_status jw_js_fast_publish(jw_js_fast *f, const char *subject,
                             const void *data, size_t len,
                             const jw_call_opts *pub_opts, uint64_t *seq)
{
    if (!subject) {
        if (seq)
            *seq = 0;
        return jw__fail(JW_EINVAL, "subject is NULL");
    }
    /* A view of the caller's subject and data, not a copy. */
    jw_msg view = {.kind = JW__MSG_RECEIVED,
                   .subject = subject,
                   .data = data ? data : "",
                   .data_len = data ? len : 0};
    return jw_js_fast_add(f, &view, pub_opts, seq);
}

jw_status jw_js_fast_commit(jw_js_fast *f, const jw_msg *msg,
                            jw_js_pub_ack **ack)
{
    if (ack)
        *ack = NULL;
    if (!f)
        return jw__fail(JW_EINVAL, "fast batch is NULL");
    if (f->finished)
        return jw__fail(JW_EINVAL, "fast batch: already committed");
    if (!msg && f->sent == 0)
        return jw__fail(JW_EINVAL, "fast batch: nothing to commit (give the "
                                   "last message, or add messages first)");
    jw_status st = JW_OK;
    if (!f->committed && !atomic_load(&f->ended)) {
        /* Sent to the subject of the batch's first message, an EOB is not
         * stored and counts no further message. */
        uint64_t seq = f->sent + 1;
        if (msg && f->sent == 0)
            st = first_message(f, msg);
        if (st == JW_OK && msg)
            st = send_msg(f, msg, NULL, seq, OP_COMMIT);
        else if (st == JW_OK)
            st = jw__conn_publish(f->conn, f->subject,
                                  reply_for(f, seq, OP_COMMIT_EOB), NULL, 0,
                                  NULL, 0, 0);
        if (st)
            return st;
        if (msg)
            f->sent = seq;
    }
    f->committed = 1;
    pthread_mutex_lock(&f->mu);
    st = wait_until(f, has_final, "the batch's PubAck");
    if (st == JW_OK) {
        f->finished = 1;
        if (f->final_status) {
            jw__js_set_err_code(f->final_err_code);
            st = jw__fail(f->final_status, "%s", f->final_text);
        } else if (ack) {
            *ack = f->final_ack;
            f->final_ack = NULL;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return st;
}

jw_status jw_js_fast_take_errors(jw_js_fast *f, char **json)
{
    if (json)
        *json = NULL;
    if (!f || !json)
        return jw__fail(JW_EINVAL, "fast batch and json must not be NULL");
    json_t *fresh = json_array();
    if (!fresh)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    pthread_mutex_lock(&f->mu);
    json_t *taken = f->reports;
    size_t dropped = f->reports_dropped;
    f->reports = fresh;
    f->reports_dropped = 0;
    pthread_mutex_unlock(&f->mu);
    if (dropped)
        json_array_append_new(taken, json_pack("{ss sI}", "type", "dropped",
                                               "count", (json_int_t)dropped));
    *json = json_dumps(taken, JSON_COMPACT);
    json_decref(taken);
    return *json ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
}

jw_status jw_js_publish_batch(jw_js *js, const jw_msg *const *msgs,
                              size_t count, const jw_call_opts *opts,
                              jw_js_pub_ack **ack)
{
    if (ack)
        *ack = NULL;
    if (!js || !msgs || !count)
        return jw__fail(JW_EINVAL, "js and msgs must not be NULL, count "
                                   "not 0");
    for (size_t i = 0; i < count; i++)
        if (!msgs[i])
            return jw__fail(JW_EINVAL, "msgs[%zu] is NULL", i);
    jw_js_fast *f = NULL;
    jw_status st = jw_js_fast_new(js, opts, &f);
    for (size_t i = 0; st == JW_OK && i + 1 < count; i++)
        st = jw_js_fast_add(f, msgs[i], NULL, NULL);
    if (st == JW_OK)
        st = jw_js_fast_commit(f, msgs[count - 1], ack);
    jw_js_fast_free(f);
    return st;
}
