/*
 * Request/reply through one wildcard inbox per connection
 * ("_INBOX.<random>.*"): each request gets a numeric token, its waiter is
 * found by that token when the reply arrives, and no per-request SUB/UNSUB
 * is ever sent.
 */
#include "engine.h"
#include "subject.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* A request in flight. A blocking caller waits on `cond`; an
 * asynchronous one (is_async) gets a completion queued instead. */
typedef struct waiter {
    pthread_cond_t cond;
    /* Set while the loop signals cond after unlocking mu: the waiter keeps
     * cond alive until it is clear. */
    atomic_int signalling;
    int pending;
    int is_async;
    uint64_t id;
    jw_status status;
    jw_msg *reply;
} waiter;

/* Finish an asynchronous waiter: queue its completion (mu held). Returns 1
 * when the caller should signal the readable fd. */
static int complete_async(jw_conn *c, waiter *w, jw_status status,
                          jw_msg *reply)
{
    jw__completion *done = malloc(sizeof(*done));
    if (done) {
        done->next = NULL;
        done->id = w->id;
        done->status = status;
        done->reply = reply;
        if (c->done_tail)
            c->done_tail->next = done;
        else
            c->done_head = done;
        c->done_tail = done;
    } else {
        jw_msg_free(reply); /* the caller's timeout will end the wait */
    }
    pthread_cond_destroy(&w->cond);
    free(w);
    return 1;
}

static uint64_t token_of(const jw_conn *c, const char *subject, size_t len)
{
    if (len <= c->inbox_prefix_len || len - c->inbox_prefix_len > 20)
        return 0;
    /* Tokens are written without leading zeros and never wrap: anything
     * else is someone else's subject, not one of our requests. */
    if (subject[c->inbox_prefix_len] == '0')
        return 0;
    uint64_t id = 0;
    for (size_t i = c->inbox_prefix_len; i < len; i++) {
        if (subject[i] < '0' || subject[i] > '9')
            return 0;
        uint64_t d = (uint64_t)(subject[i] - '0');
        if (id > (UINT64_MAX - d) / 10)
            return 0;
        id = id * 10 + d;
    }
    return id;
}

void jw__request_deliver(jw_conn *c, const jw__proto_event *ev)
{
    uint64_t id = token_of(c, ev->subject, ev->subject_len);
    if (!id)
        return;
    int no_responders = 0;
    if (ev->hdr_len && ev->data_len == 0) {
        int status = 0;
        const char *desc;
        size_t desc_len;
        if (jw__hdr_status(ev->hdr, ev->hdr_len, &status, &desc,
                           &desc_len) == 0)
            no_responders = status == 503;
    }
    jw_msg *reply = no_responders ? NULL : jw__msg_from_event(ev, c);
    int notify = 0;
    waiter *wake = NULL;
    pthread_mutex_lock(&c->mu);
    waiter *w = jw__map_remove(&c->requests, id);
    if (w) {
        jw_status status = no_responders ? JW_ENO_RESPONDERS
                           : reply       ? JW_OK
                                         : JW_ENO_MEMORY;
        if (w->is_async) {
            notify = complete_async(c, w, status, reply);
        } else {
            w->pending = 0;
            w->status = status;
            w->reply = reply;
            atomic_store_explicit(&w->signalling, 1, memory_order_relaxed);
            wake = w;
        }
        reply = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (wake) {
        /* Signalled without mu, so the requester does not wake into a
         * held lock; it waits for `signalling` before cond goes away. */
        pthread_cond_signal(&wake->cond);
        atomic_store_explicit(&wake->signalling, 0, memory_order_release);
    }
    jw_msg_free(reply); /* a late or duplicate reply */
    if (notify)
        jw__conn_notify(c);
}

typedef struct fail_args {
    jw_conn *conn;
    jw_status why;
    int notify;
} fail_args;

static void fail_one(void *value, void *arg)
{
    fail_args *a = arg;
    waiter *w = value;
    if (w->is_async) {
        a->notify |= complete_async(a->conn, w, a->why, NULL);
        return;
    }
    w->pending = 0;
    w->status = a->why;
    pthread_cond_signal(&w->cond);
}

void jw__request_fail_all(jw_conn *c, jw_status why)
{
    fail_args a = {c, why, 0};
    jw__map_each(&c->requests, fail_one, &a);
    jw__map_free(&c->requests);
    if (a.notify)
        jw__conn_notify(c);
}

void jw__request_free_completions(jw_conn *c)
{
    while (c->done_head) {
        jw__completion *done = c->done_head;
        c->done_head = done->next;
        jw_msg_free(done->reply);
        free(done);
    }
    c->done_tail = NULL;
}

/* Check a request's arguments (no lock needed). */
static jw_status check_request(jw_conn *c, const char *subject,
                               const void *data, size_t len)
{
    if (!c)
        return jw__fail(JW_EINVAL, "conn is NULL");
    if (!subject)
        return jw__fail(JW_EINVALID_SUBJECT, "subject is NULL");
    if (len && !data)
        return jw__fail(JW_EINVAL, "data is NULL but len is %zu", len);
    return jw__subject_check(subject, strlen(subject), 0);
}

/* Register w under a new id and queue the request (mu held). */
static jw_status send_request(jw_conn *c, waiter *w, const char *subject,
                              const char *hdr, size_t hdr_len,
                              const void *data, size_t len)
{
    jw_status st = jw__conn_check_open(c, 1);
    if (st == JW_OK && c->max_payload > 0 &&
        hdr_len + len > (uint64_t)c->max_payload)
        st = jw__fail(JW_EMAX_PAYLOAD,
                      "message of %zu bytes exceeds the server's "
                      "max_payload of %lld",
                      hdr_len + len, (long long)c->max_payload);
    if (st == JW_OK && !c->inbox_sub) {
        char pattern[64];
        memcpy(pattern, c->inbox_prefix, c->inbox_prefix_len);
        memcpy(pattern + c->inbox_prefix_len, "*", 2);
        st = jw__sub_create(c, pattern, NULL, NULL, NULL, &c->inbox_sub);
        if (st == JW_OK) {
            c->inbox_sub->is_inbox = 1;
            /* The map's reference is enough: the inbox lives as long as
             * the connection. */
            jw__sub_release(c->inbox_sub);
        }
    }
    if (st)
        return st;
    w->id = ++c->next_request;
    if (jw__map_put(&c->requests, w->id, w))
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    char inbox[80];
    memcpy(inbox, c->inbox_prefix, c->inbox_prefix_len);
    size_t n = c->inbox_prefix_len +
               jw__u64_to_dec(inbox + c->inbox_prefix_len, w->id);
    inbox[n] = 0;
    st = jw__conn_queue_pub(c, subject, strlen(subject), inbox, n, hdr,
                            hdr_len, data, len, 1);
    if (st)
        jw__map_remove(&c->requests, w->id);
    return st;
}

static jw_status request(jw_conn *c, const char *subject, const char *hdr,
                         size_t hdr_len, const void *data, size_t len,
                         int64_t timeout_ms, jw_msg **reply)
{
    if (!reply)
        return jw__fail(JW_EINVAL, "reply is NULL");
    *reply = NULL;
    jw_status st = check_request(c, subject, data, len);
    if (st)
        return st;
    if (jw__loop_in_callback() && c->loop->mode != JW__LOOP_DRIVEN)
        return jw__fail(JW_EINVAL, "cannot wait inside a loop callback");

    waiter w = {.pending = 1, .status = JW_OK};
    jw__cond_init(&w.cond);
    pthread_mutex_lock(&c->mu);
    st = send_request(c, &w, subject, hdr, hdr_len, data, len);
    int64_t deadline = jw__deadline(timeout_ms);
    while (st == JW_OK && w.pending) {
        jw_status waited =
            jw__loop_wait_user(c->loop, &w.cond, &c->mu, deadline);
        if (waited && w.pending) {
            jw__map_remove(&c->requests, w.id);
            st = waited == JW_EINTERRUPTED
                     ? jw__fail(JW_EINTERRUPTED,
                                "interrupted while waiting for a reply "
                                "from '%s'",
                                subject)
                     : jw__fail(JW_ETIMEOUT,
                                "no reply from '%s' within %lld ms", subject,
                                (long long)timeout_ms);
        }
    }
    if (st == JW_OK && !w.pending && w.status)
        st = w.status == JW_ENO_RESPONDERS
                 ? jw__fail(JW_ENO_RESPONDERS, "no responders on '%s'",
                            subject)
                 : jw__fail(w.status, "request failed: %s",
                            jw_strerror(w.status));
    pthread_mutex_unlock(&c->mu);
    while (atomic_load_explicit(&w.signalling, memory_order_acquire))
        sched_yield(); /* the loop is between its unlock and its signal */
    pthread_cond_destroy(&w.cond);
    if (st == JW_OK)
        *reply = w.reply;
    else
        jw_msg_free(w.reply);
    return st;
}

jw_status jw_conn_request_start(jw_conn *c, const jw_msg *m, uint64_t *id)
{
    if (!m || !id)
        return jw__fail(JW_EINVAL, "msg and id must not be NULL");
    *id = 0;
    jw_status st = check_request(c, m->subject, m->data, m->data_len);
    if (st)
        return st;
    size_t hdr_len;
    const char *hdr = jw_msg_headers_raw(m, &hdr_len);
    waiter *w = calloc(1, sizeof(*w));
    if (!w)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    w->is_async = 1;
    w->pending = 1;
    jw__cond_init(&w->cond); /* unused, but destroyed like the others */
    pthread_mutex_lock(&c->mu);
    st = send_request(c, w, m->subject, hdr, hdr_len, m->data, m->data_len);
    if (st == JW_OK)
        *id = w->id;
    pthread_mutex_unlock(&c->mu);
    if (st) {
        pthread_cond_destroy(&w->cond);
        free(w);
    }
    return st;
}

int jw_conn_request_poll(jw_conn *c, uint64_t *id, jw_status *status,
                         jw_msg **reply)
{
    if (!c || !id || !status || !reply)
        return jw__fail(JW_EINVAL, "conn, id, status and reply must be set");
    *reply = NULL;
    pthread_mutex_lock(&c->mu);
    jw__completion *done = c->done_head;
    if (done) {
        c->done_head = done->next;
        if (!c->done_head)
            c->done_tail = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (!done)
        return 0;
    *id = done->id;
    *status = done->status;
    *reply = done->reply;
    free(done);
    return 1;
}

jw_status jw_conn_request_cancel(jw_conn *c, uint64_t id)
{
    if (!c)
        return jw__fail(JW_EINVAL, "conn is NULL");
    pthread_mutex_lock(&c->mu);
    waiter *w = jw__map_get(&c->requests, id);
    if (w && w->is_async)
        jw__map_remove(&c->requests, id);
    else
        w = NULL;
    pthread_mutex_unlock(&c->mu);
    if (!w)
        return jw__fail(JW_EINVAL, "no pending request %llu",
                        (unsigned long long)id);
    pthread_cond_destroy(&w->cond);
    free(w);
    return JW_OK;
}

jw_status jw_conn_request(jw_conn *c, const char *subject, const void *data,
                          size_t len, int64_t timeout_ms, jw_msg **reply)
{
    return request(c, subject, NULL, 0, data, len, timeout_ms, reply);
}

jw_status jw_conn_request_msg(jw_conn *c, const jw_msg *m, int64_t timeout_ms,
                              jw_msg **reply)
{
    if (!m) {
        if (reply)
            *reply = NULL;
        return jw__fail(JW_EINVAL, "msg is NULL");
    }
    size_t hdr_len;
    const char *hdr = jw_msg_headers_raw(m, &hdr_len);
    return request(c, m->subject, hdr, hdr_len, m->data, m->data_len,
                   timeout_ms, reply);
}
