/*
 * Request/reply through one wildcard inbox per connection
 * ("_INBOX.<random>.*"): each request gets a numeric token, its waiter is
 * found by that token when the reply arrives, and no per-request SUB/UNSUB
 * is ever sent.
 */
#include "engine.h"
#include "subject.h"

#include <stdlib.h>
#include <string.h>

typedef struct waiter {
    pthread_cond_t cond;
    int pending;
    jw_status status;
    jw_msg *reply;
} waiter;

static uint64_t token_of(const jw_conn *c, const char *subject, size_t len)
{
    if (len <= c->inbox_prefix_len || len - c->inbox_prefix_len > 20)
        return 0;
    uint64_t id = 0;
    for (size_t i = c->inbox_prefix_len; i < len; i++) {
        if (subject[i] < '0' || subject[i] > '9')
            return 0;
        id = id * 10 + (uint64_t)(subject[i] - '0');
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
    pthread_mutex_lock(&c->mu);
    waiter *w = jw__map_remove(&c->requests, id);
    if (w) {
        w->pending = 0;
        w->status = no_responders ? JW_ENO_RESPONDERS
                                  : reply ? JW_OK : JW_ENO_MEMORY;
        w->reply = reply;
        reply = NULL;
        pthread_cond_signal(&w->cond);
    }
    pthread_mutex_unlock(&c->mu);
    jw_msg_free(reply); /* a late or duplicate reply */
}

static void fail_one(void *value, void *arg)
{
    waiter *w = value;
    w->pending = 0;
    w->status = *(jw_status *)arg;
    pthread_cond_signal(&w->cond);
}

void jw__request_fail_all(jw_conn *c, jw_status why)
{
    jw__map_each(&c->requests, fail_one, &why);
    jw__map_free(&c->requests);
}

static jw_status request(jw_conn *c, const char *subject, const char *hdr,
                         size_t hdr_len, const void *data, size_t len,
                         int64_t timeout_ms, jw_msg **reply)
{
    if (!reply)
        return jw__fail(JW_EINVAL, "reply is NULL");
    *reply = NULL;
    if (!c)
        return jw__fail(JW_EINVAL, "conn is NULL");
    if (!subject)
        return jw__fail(JW_EINVALID_SUBJECT, "subject is NULL");
    if (len && !data)
        return jw__fail(JW_EINVAL, "data is NULL but len is %zu", len);
    if (jw__loop_in_callback() && c->loop->mode != JW__LOOP_DRIVEN)
        return jw__fail(JW_EINVAL, "cannot wait inside a loop callback");
    jw_status st = jw__subject_check(subject, strlen(subject), 0);
    if (st)
        return st;

    waiter w = {.pending = 1, .status = JW_OK};
    jw__cond_init(&w.cond);
    pthread_mutex_lock(&c->mu);
    st = jw__conn_check_open(c, 1);
    if (st == JW_OK && c->max_payload > 0 &&
        hdr_len + len > (uint64_t)c->max_payload)
        st = jw__fail(JW_EMAX_PAYLOAD,
                      "request of %zu bytes exceeds max_payload %lld",
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
    uint64_t id = ++c->next_request;
    if (st == JW_OK && jw__map_put(&c->requests, id, &w))
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    if (st == JW_OK) {
        char inbox[80];
        memcpy(inbox, c->inbox_prefix, c->inbox_prefix_len);
        size_t n = c->inbox_prefix_len + jw__u64_to_dec(
                                             inbox + c->inbox_prefix_len, id);
        inbox[n] = 0;
        st = jw__conn_queue_pub(c, subject, strlen(subject), inbox, n, hdr,
                                hdr_len, data, len);
        if (st)
            jw__map_remove(&c->requests, id);
    }
    int64_t deadline = jw__deadline(timeout_ms);
    while (st == JW_OK && w.pending) {
        if (jw__loop_wait(c->loop, &w.cond, &c->mu, deadline) && w.pending) {
            jw__map_remove(&c->requests, id);
            st = jw__fail(JW_ETIMEOUT, "no reply from '%s' within %lld ms",
                          subject, (long long)timeout_ms);
        }
    }
    if (st == JW_OK && !w.pending && w.status)
        st = w.status == JW_ENO_RESPONDERS
                 ? jw__fail(JW_ENO_RESPONDERS, "no responders on '%s'",
                            subject)
                 : jw__fail(w.status, "request failed: %s",
                            jw_strerror(w.status));
    pthread_mutex_unlock(&c->mu);
    pthread_cond_destroy(&w.cond);
    if (st == JW_OK)
        *reply = w.reply;
    else
        jw_msg_free(w.reply);
    return st;
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
