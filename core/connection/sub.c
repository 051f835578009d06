/*
 * Subscriptions: sids, delivery (routing a read's messages, queues with
 * pending limits, handlers), pulls, and the ways a subscription ends
 * (unsubscribe, auto-unsubscribe, drain, close).
 */
#include "engine.h"
#include "subject.h"

#include <stdlib.h>
#include <string.h>

/* ---- the tagged ready list (jw_conn_ready) ---- */

static void ready_unlink(jw_conn *c, jw_sub *sub)
{
    if (sub->tag_prev)
        sub->tag_prev->tag_next = sub->tag_next;
    else
        c->ready_head = sub->tag_next;
    if (sub->tag_next)
        sub->tag_next->tag_prev = sub->tag_prev;
    else
        c->ready_tail = sub->tag_prev;
    sub->tag_prev = sub->tag_next = NULL;
    sub->tag_listed = 0;
}

/* List a tagged subscription that has messages (sub mu held). */
static void ready_list(jw_sub *sub)
{
    jw_conn *c = sub->conn;
    pthread_mutex_lock(&c->ready_mu);
    if (!sub->tag_listed) {
        sub->tag_next = NULL;
        sub->tag_prev = c->ready_tail;
        if (c->ready_tail)
            c->ready_tail->tag_next = sub;
        else
            c->ready_head = sub;
        c->ready_tail = sub;
    }
    sub->tag_listed = sub->tag; /* what jw_conn_ready hands out */
    pthread_mutex_unlock(&c->ready_mu);
}

static void ready_forget(jw_sub *sub)
{
    jw_conn *c = sub->conn;
    pthread_mutex_lock(&c->ready_mu);
    if (sub->tag_listed)
        ready_unlink(c, sub);
    pthread_mutex_unlock(&c->ready_mu);
}

jw_status jw_sub_set_tag(jw_sub *sub, uint64_t tag)
{
    if (!sub)
        return jw__fail(JW_EINVAL, "sub is NULL");
    if (sub->cb)
        return jw__fail(JW_EINVAL, "subscription delivers to a handler");
    pthread_mutex_lock(&sub->mu);
    sub->tag = tag;
    if (tag && sub->head)
        ready_list(sub);
    else if (!tag)
        ready_forget(sub);
    pthread_mutex_unlock(&sub->mu);
    return JW_OK;
}

int jw_conn_ready(jw_conn *c, uint64_t *tags, int max)
{
    if (!c || !tags || max <= 0)
        return jw__fail(JW_EINVAL, "conn, tags and max > 0 are needed");
    int n = 0;
    pthread_mutex_lock(&c->ready_mu);
    while (n < max && c->ready_head) {
        jw_sub *sub = c->ready_head;
        tags[n++] = sub->tag_listed;
        ready_unlink(c, sub);
    }
    pthread_mutex_unlock(&c->ready_mu);
    return n;
}

void jw__sub_release(jw_sub *sub)
{
    if (atomic_fetch_sub_explicit(&sub->refs, 1, memory_order_acq_rel) != 1)
        return;
    ready_forget(sub);
    while (sub->head) {
        jw_msg *m = sub->head;
        sub->head = m->next;
        jw_msg_free(m);
    }
    pthread_mutex_destroy(&sub->mu);
    pthread_cond_destroy(&sub->cond);
    free(sub->subject);
    free(sub->queue);
    jw_conn *conn = sub->conn;
    free(sub);
    jw__conn_release(conn);
}

/* Append "<verb><a> <b> <sid>[ <max>]\r\n" to buf. */
static int put_line(jw__buf *buf, const char *verb, const char *a,
                    const char *b, uint64_t sid, uint64_t max)
{
    char num[24];
    size_t n = jw__u64_to_dec(num, sid);
    if (jw__buf_reserve(buf, strlen(verb) + (a ? strlen(a) : 0) +
                                 (b ? strlen(b) : 0) + 64))
        return -1;
    jw__buf_put(buf, verb, strlen(verb));
    if (a) {
        jw__buf_put(buf, a, strlen(a));
        jw__buf_put(buf, " ", 1);
    }
    if (b) {
        jw__buf_put(buf, b, strlen(b));
        jw__buf_put(buf, " ", 1);
    }
    jw__buf_put(buf, num, n);
    if (max) {
        jw__buf_put(buf, " ", 1);
        jw__buf_put(buf, num, jw__u64_to_dec(num, max));
    }
    jw__buf_put(buf, "\r\n", 2);
    return 0;
}

static jw_status queue_line(jw_conn *c, const char *verb, const char *a,
                            const char *b, uint64_t sid, uint64_t max)
{
    if (put_line(&c->out, verb, a, b, sid, max))
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    jw__conn_schedule_write(c);
    return JW_OK;
}

jw_status jw__sub_resend(jw_sub *sub, jw__buf *buf)
{
    pthread_mutex_lock(&sub->mu);
    int live = sub->state == JW__SUB_ACTIVE && !sub->user_freed;
    uint64_t max = sub->max;
    pthread_mutex_unlock(&sub->mu);
    uint64_t delivered = atomic_load(&sub->delivered);
    /* The new server counts deliveries from zero: ask it for what is
     * left. A subscription that already had all it wanted is ending. */
    if (!live || (max && delivered >= max))
        return JW_OK;
    if (put_line(buf, "SUB ", sub->subject, sub->queue, sub->sid, 0) ||
        (max && put_line(buf, "UNSUB ", NULL, NULL, sub->sid,
                         max - delivered)))
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    return JW_OK;
}

jw_status jw__sub_create(jw_conn *c, const char *subject, const char *queue,
                         jw_msg_cb cb, void *arg, jw_sub **out)
{
    jw_sub *sub = calloc(1, sizeof(*sub));
    if (!sub)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    sub->subject = strdup(subject);
    sub->queue = queue ? strdup(queue) : NULL;
    if (!sub->subject || (queue && !sub->queue)) {
        free(sub->subject);
        free(sub->queue);
        free(sub);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    atomic_init(&sub->refs, 2); /* the caller's and the sid map's */
    pthread_mutex_init(&sub->mu, NULL);
    jw__cond_init(&sub->cond);
    sub->conn = c;
    jw__conn_ref(c);
    sub->cb = cb;
    sub->cb_arg = arg;
    sub->limit_msgs = c->opts.pending_msgs_limit;
    sub->limit_bytes = c->opts.pending_bytes_limit;
    sub->closed_status = JW_EINVALID_SUBSCRIPTION;
    sub->sid = ++c->next_sid;
    if (jw__map_put(&c->subs, sub->sid, sub) ||
        queue_line(c, "SUB ", subject, queue, sub->sid, 0)) {
        jw__map_remove(&c->subs, sub->sid);
        atomic_store(&sub->refs, 1);
        jw__sub_release(sub);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    *out = sub;
    return JW_OK;
}

static jw_status subscribe(jw_conn *c, const char *subject, const char *queue,
                           jw_msg_cb cb, void *arg, int inline_cb,
                           jw_sub **out)
{
    if (!out)
        return jw__fail(JW_EINVAL, "out is NULL");
    *out = NULL;
    if (!c)
        return jw__fail(JW_EINVAL, "conn is NULL");
    if (!subject)
        return jw__fail(JW_EINVALID_SUBJECT, "subject is NULL");
    jw_status st = jw__subject_check(subject, strlen(subject), 1);
    if (st)
        return st;
    if (queue && (st = jw__queue_check(queue, strlen(queue))))
        return st;
    pthread_mutex_lock(&c->mu);
    st = jw__conn_check_open(c, 0);
    if (st == JW_OK)
        st = jw__sub_create(c, subject, queue, cb, arg, out);
    /* Threaded before the loop can route a message to it, which needs mu
     * (the fuzz targets' connections have no loop: inline there). */
    if (st == JW_OK && cb && !inline_cb && c->loop &&
        c->loop->mode == JW__LOOP_OWN_THREAD)
        st = jw__delivery_start(*out);
    pthread_mutex_unlock(&c->mu);
    if (st != JW_OK && *out) {
        jw_sub_free(*out);
        *out = NULL;
    }
    return st;
}

jw_status jw_conn_subscribe(jw_conn *c, const char *subject, const char *queue,
                            jw_sub **out)
{
    return subscribe(c, subject, queue, NULL, NULL, 0, out);
}

jw_status jw__conn_subscribe_inline(jw_conn *c, const char *subject,
                                    jw_msg_cb cb, void *arg, jw_sub **out)
{
    return subscribe(c, subject, NULL, cb, arg, 1, out);
}

jw_status jw_conn_subscribe_cb(jw_conn *c, const char *subject,
                               const char *queue, jw_msg_cb cb, void *arg,
                               jw_sub **out)
{
    if (!cb) {
        if (out)
            *out = NULL;
        return jw__fail(JW_EINVAL, "cb is NULL");
    }
    return subscribe(c, subject, queue, cb, arg, 0, out);
}

/* Take the subscription out of the sid map (conn mu held); returns 1 when
 * it was there, with the map's reference handed to the caller. */
static int unmap(jw_conn *c, jw_sub *sub)
{
    if (jw__map_get(&c->subs, sub->sid) != sub)
        return 0;
    jw__map_remove(&c->subs, sub->sid);
    return 1;
}

void jw__sub_close(jw_sub *sub, jw_status why, int keep_queue)
{
    jw_msg *discard = NULL;
    pthread_mutex_lock(&sub->mu);
    if (sub->state != JW__SUB_CLOSED) {
        sub->state = JW__SUB_CLOSED;
        sub->closed_status = why;
    }
    if (!keep_queue) {
        discard = sub->head;
        atomic_fetch_add(&sub->discarded, (uint64_t)sub->pending_msgs);
        sub->head = sub->tail = NULL;
        sub->pending_msgs = sub->pending_bytes = 0;
        atomic_store(&sub->discard, 1);
    }
    pthread_cond_broadcast(&sub->cond);
    jw__delivery_wake(sub, 1); /* a pool's thread finishes it */
    if (sub->tag)
        ready_list(sub); /* its dispatcher learns it ended */
    pthread_mutex_unlock(&sub->mu);
    while (discard) {
        jw_msg *m = discard;
        discard = m->next;
        jw_msg_free(m);
    }
    if (!sub->cb && !sub->is_inbox)
        jw__conn_notify(sub->conn); /* pullers learn it ended */
}

/* The subscription whose handler the calling thread delivers to, if it is
 * a delivery thread. */
static _Thread_local jw_sub *delivering;

int jw__sub_delivering_for(const jw_conn *c)
{
    return delivering && delivering->conn == c;
}

void jw__sub_set_delivering(jw_sub *sub)
{
    delivering = sub;
}

jw_sub *jw__sub_delivering(void)
{
    return delivering;
}

/* No handler may run after jw_sub_unsubscribe or jw_sub_free returned: wait
 * out one in progress, unless this is that handler or another handler
 * (which must not block on a handler that may be waiting for it). Called
 * without the connection's lock, which the handler may need. */
static void wait_handler(jw_sub *sub)
{
    if (!sub->cb || jw__loop_in_callback() || delivering)
        return;
    pthread_mutex_lock(&sub->mu);
    while (sub->in_handler)
        pthread_cond_wait(&sub->cond, &sub->mu);
    pthread_mutex_unlock(&sub->mu);
}

static void close_one(void *value, void *arg)
{
    const int *how = arg;
    jw_sub *sub = value;
    jw__sub_close(sub, (jw_status)how[0], how[1]);
}

static void release_one(void *value, void *arg)
{
    JW_UNUSED(arg);
    jw__sub_release(value);
}

void jw__conn_close_subs(jw_conn *c, jw_status why, int keep_queue)
{
    int how[2] = {why, keep_queue};
    jw__map_each(&c->subs, close_one, how);
    jw__map_each(&c->subs, release_one, NULL);
    jw__map_free(&c->subs);
    c->inbox_sub = NULL;
}

/* After its max-th message the subscription ends (the server has
 * forgotten it already): unmapped and closed, its queue kept. */
static void end_at_max(jw_conn *c, jw_sub *sub)
{
    pthread_mutex_lock(&c->mu);
    int mapped = unmap(c, sub);
    pthread_mutex_unlock(&c->mu);
    jw__sub_close(sub, JW_EINVALID_SUBSCRIPTION, 1);
    if (mapped)
        jw__sub_release(sub);
}

/* Run the handler of a subscription with a callback on its n-th message
 * (the count is `delivered` after it). */
static void sub_handle(jw_sub *sub, jw_msg *msg, uint64_t n)
{
    pthread_mutex_lock(&sub->mu);
    if (sub->state == JW__SUB_CLOSED || sub->user_freed ||
        (sub->max && n > sub->max)) {
        pthread_mutex_unlock(&sub->mu);
        jw_msg_free(msg);
        return;
    }
    int last = sub->max && n == sub->max;
    sub->in_handler = 1;
    pthread_mutex_unlock(&sub->mu);
    sub->cb(sub, msg, sub->cb_arg);
    pthread_mutex_lock(&sub->mu);
    sub->in_handler = 0;
    pthread_cond_broadcast(&sub->cond);
    pthread_mutex_unlock(&sub->mu);
    if (last)
        end_at_max(sub->conn, sub);
}

/* Queue a list of messages (linked by next, the first being the n-th) for
 * a pulled subscription under one hold of its lock, with the pending
 * limits and max applied to each. */
static void sub_queue(jw_sub *sub, jw_msg *head, uint64_t n)
{
    jw_conn *c = sub->conn;
    jw_msg *drop = NULL;
    int slow_now = 0, last = 0;

    pthread_mutex_lock(&sub->mu);
    int was_empty = sub->head == NULL;
    int closed = sub->state == JW__SUB_CLOSED || sub->user_freed;
    for (; head; n++) {
        jw_msg *msg = head;
        head = msg->next;
        msg->next = NULL;
        size_t size = jw__msg_size(msg);
        if (closed || (sub->max && n > sub->max)) {
            msg->next = drop;
            drop = msg;
            continue;
        }
        last |= sub->max && n == sub->max;
        if ((sub->limit_msgs > 0 && sub->pending_msgs >= sub->limit_msgs) ||
            (sub->limit_bytes > 0 &&
             sub->pending_bytes + (int64_t)size > sub->limit_bytes)) {
            atomic_fetch_add(&sub->dropped, 1);
            slow_now |= !sub->slow;
            sub->slow = 1;
            msg->next = drop;
            drop = msg;
            continue;
        }
        if (sub->tail)
            sub->tail->next = msg;
        else
            sub->head = msg;
        sub->tail = msg;
        sub->pending_msgs++;
        sub->pending_bytes += (int64_t)size;
    }
    int filled = was_empty && sub->head != NULL;
    int wake = filled && sub->waiters;
    if (filled && sub->pooled)
        jw__delivery_wake(sub, 0); /* woken at the end of the read */
    if (filled && sub->tag)
        ready_list(sub);
    pthread_mutex_unlock(&sub->mu);
    /* After the unlock, so the woken reader does not block on mu at once
     * (the caller's reference keeps sub->cond alive). */
    if (wake)
        pthread_cond_signal(&sub->cond);
    if (filled && !sub->threaded)
        jw__conn_notify(c);
    while (drop) {
        jw_msg *m = drop;
        drop = m->next;
        jw_msg_free(m);
    }
    if (slow_now)
        jw__conn_emit(c, JW_EVENT_ERROR, JW_ESLOW_CONSUMER, sub,
                      "slow consumer on '%s': pending limits reached, "
                      "messages dropped",
                      sub->subject);
    if (last)
        end_at_max(c, sub);
}

/* Bytes (as jw__msg_size counts them) after which a staged run is queued:
 * about a thousand 128-byte messages per lock hold. */
#define STAGE_MAX_BYTES (256 * 1024)

void jw__conn_stage_flush(jw_conn *c)
{
    jw_sub *sub = c->stage_sub;
    if (!sub)
        return;
    jw_msg *head = c->stage_head;
    uint64_t first = c->stage_first;
    c->stage_sub = NULL;
    c->stage_head = c->stage_tail = NULL;
    c->stage_bytes = 0;
    sub_queue(sub, head, first);
    jw__sub_release(sub);
}

void jw__conn_route_msg(jw_conn *c, const jw__proto_event *ev)
{
    atomic_store_explicit(
        &c->in_msgs,
        atomic_load_explicit(&c->in_msgs, memory_order_relaxed) + 1,
        memory_order_relaxed);
    atomic_store_explicit(
        &c->in_bytes,
        atomic_load_explicit(&c->in_bytes, memory_order_relaxed) +
            ev->hdr_len + ev->data_len,
        memory_order_relaxed);
    pthread_mutex_lock(&c->mu);
    jw_sub *sub = jw__map_get(&c->subs, ev->sid);
    if (sub)
        atomic_fetch_add_explicit(&sub->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&c->mu);
    if (!sub)
        return; /* a late message for a subscription that is gone */
    if (sub != c->stage_sub)
        jw__conn_stage_flush(c); /* a run ends at any other message */
    if (sub->is_inbox) {
        jw__request_deliver(c, ev);
        jw__sub_release(sub);
        return;
    }
    uint64_t n = atomic_fetch_add_explicit(&sub->delivered, 1,
                                           memory_order_relaxed) + 1;
    jw_msg *msg = jw__msg_from_event(ev, c);
    if (!msg) {
        jw__conn_stage_flush(c); /* the staged counts run on from here */
        atomic_fetch_add(&sub->dropped, 1);
        jw__sub_release(sub);
        return;
    }
    if (sub->cb && !sub->threaded) { /* set before it was mapped */
        sub_handle(sub, msg, n);
        jw__sub_release(sub);
        return;
    }
    /* A pulled subscription, or one with a delivery thread: one lock
     * hold for the run of messages to it (taken per message, its lock
     * was a tenth of pub->sub's CPU). */
    if (c->stage_sub == sub) {
        jw__sub_release(sub); /* the stage holds one */
        c->stage_tail->next = msg;
    } else {
        c->stage_sub = sub;
        c->stage_first = n;
        c->stage_head = msg;
    }
    c->stage_tail = msg;
    c->stage_bytes += jw__msg_size(msg);
    /* A run is staged outside the pending limits: queue it before it
     * holds much (a 256 KiB read of small messages makes megabytes of
     * them). The rest of the run starts a new one. */
    if (c->stage_bytes >= STAGE_MAX_BYTES)
        jw__conn_stage_flush(c);
}

int jw__sub_pop(jw_sub *sub, jw_msg **msgs, int max, size_t max_bytes)
{
    int n = 0;
    size_t bytes = 0;
    while (n < max && sub->head && bytes < max_bytes) {
        jw_msg *m = sub->head;
        sub->head = m->next;
        m->next = NULL;
        sub->pending_msgs--;
        sub->pending_bytes -= (int64_t)jw__msg_size(m);
        bytes += jw__msg_size(m);
        msgs[n++] = m;
    }
    if (!sub->head) {
        sub->tail = NULL;
        sub->slow = 0; /* the episode ends once the reader caught up */
    }
    return n;
}

int jw_sub_next_batch(jw_sub *sub, jw_msg **msgs, int max, int64_t timeout_ms)
{
    if (!sub || !msgs || max <= 0)
        return jw__fail(JW_EINVAL, "sub and msgs must be set, max > 0");
    if (sub->cb)
        return jw__fail(JW_EINVAL, "subscription delivers to a handler");
    int64_t deadline = jw__deadline(timeout_ms);
    int n = 0;
    pthread_mutex_lock(&sub->mu);
    while (!sub->head) {
        if (sub->state == JW__SUB_CLOSED || sub->user_freed) {
            n = jw__fail(sub->closed_status, "subscription on '%s' is closed",
                         sub->subject);
            break;
        }
        if (timeout_ms == 0) {
            n = jw__fail(JW_ETIMEOUT, "no message");
            break;
        }
        if (jw__loop_in_callback() && sub->conn->loop->mode !=
                                          JW__LOOP_DRIVEN) {
            n = jw__fail(JW_EINVAL, "cannot wait inside a loop callback");
            break;
        }
        sub->waiters++;
        jw_status st = jw__loop_wait_user(sub->conn->loop, &sub->cond,
                                          &sub->mu, deadline);
        sub->waiters--;
        if (st == JW_EINTERRUPTED) { /* takes nothing, even if one came */
            n = jw__fail(st, "interrupted while waiting for a message");
            break;
        }
        if (st && !sub->head) {
            n = jw__fail(JW_ETIMEOUT, "no message within %lld ms",
                         (long long)timeout_ms);
            break;
        }
    }
    if (n == 0 && sub->head)
        n = jw__sub_pop(sub, msgs, max, SIZE_MAX);
    pthread_mutex_unlock(&sub->mu);
    return n;
}

jw_status jw_sub_next(jw_sub *sub, int64_t timeout_ms, jw_msg **msg)
{
    if (!msg)
        return jw__fail(JW_EINVAL, "msg is NULL");
    *msg = NULL;
    int n = jw_sub_next_batch(sub, msg, 1, timeout_ms);
    return n > 0 ? JW_OK : n;
}

/* Common start of the calls that end a subscription. */
static jw_status sub_check(jw_sub *sub, jw_conn **c)
{
    if (!sub)
        return jw__fail(JW_EINVAL, "sub is NULL");
    *c = sub->conn;
    pthread_mutex_lock(&(*c)->mu);
    jw_status st = JW_OK;
    if ((*c)->status == JW_CONN_CLOSED)
        st = jw__fail(JW_ECONNECTION_CLOSED, "connection is closed");
    else if (jw__map_get(&(*c)->subs, sub->sid) != sub)
        st = jw__fail(JW_EINVALID_SUBSCRIPTION,
                      "subscription on '%s' is closed", sub->subject);
    if (st)
        pthread_mutex_unlock(&(*c)->mu);
    return st;
}

jw_status jw_sub_unsubscribe(jw_sub *sub)
{
    jw_conn *c = NULL;
    jw_status st = sub_check(sub, &c);
    if (st)
        return st;
    unmap(c, sub);
    st = queue_line(c, "UNSUB ", NULL, NULL, sub->sid, 0);
    pthread_mutex_unlock(&c->mu);
    jw__sub_close(sub, JW_EINVALID_SUBSCRIPTION, 0);
    wait_handler(sub);
    jw__sub_release(sub); /* the map's reference */
    return st;
}

jw_status jw_sub_auto_unsubscribe(jw_sub *sub, uint64_t max)
{
    if (!max)
        return jw__fail(JW_EINVAL, "max must be positive");
    jw_conn *c = NULL;
    jw_status st = sub_check(sub, &c);
    if (st)
        return st;
    if (atomic_load(&sub->delivered) >= max) {
        pthread_mutex_unlock(&c->mu);
        return jw_sub_unsubscribe(sub);
    }
    pthread_mutex_lock(&sub->mu);
    sub->max = max;
    pthread_mutex_unlock(&sub->mu);
    st = queue_line(c, "UNSUB ", NULL, NULL, sub->sid, max);
    pthread_mutex_unlock(&c->mu);
    return st;
}

jw_status jw_sub_drain(jw_sub *sub)
{
    jw_conn *c = NULL;
    jw_status st = sub_check(sub, &c);
    if (st)
        return st;
    uint64_t ping;
    pthread_mutex_lock(&sub->mu);
    if (sub->state == JW__SUB_ACTIVE)
        sub->state = JW__SUB_DRAINING;
    pthread_mutex_unlock(&sub->mu);
    st = queue_line(c, "UNSUB ", NULL, NULL, sub->sid, 0);
    if (st == JW_OK)
        st = jw__conn_queue_ping(c, &ping);
    if (st == JW_OK)
        st = jw__conn_on_pong(c, ping, JW__PA_SUB_DRAINED, sub);
    pthread_mutex_unlock(&c->mu);
    return st;
}

void jw_sub_free(jw_sub *sub)
{
    if (!sub)
        return;
    jw_conn *c = sub->conn;
    pthread_mutex_lock(&c->mu);
    int mapped = c->status != JW_CONN_CLOSED && unmap(c, sub);
    if (mapped)
        queue_line(c, "UNSUB ", NULL, NULL, sub->sid, 0);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&sub->mu);
    sub->user_freed = 1;
    pthread_mutex_unlock(&sub->mu);
    jw__sub_close(sub, JW_EINVALID_SUBSCRIPTION, 0);
    wait_handler(sub);
    jw__delivery_end(sub);
    if (mapped)
        jw__sub_release(sub);
    jw__sub_release(sub);
}

jw_status jw_sub_set_pending_limits(jw_sub *sub, int64_t msgs, int64_t bytes)
{
    if (!sub)
        return jw__fail(JW_EINVAL, "sub is NULL");
    jw_status st = JW_OK;
    pthread_mutex_lock(&sub->mu);
    if (sub->state == JW__SUB_CLOSED || sub->user_freed) {
        st = jw__fail(sub->closed_status, "subscription on '%s' is closed",
                      sub->subject);
    } else {
        sub->limit_msgs = msgs;
        sub->limit_bytes = bytes;
    }
    pthread_mutex_unlock(&sub->mu);
    return st;
}

jw_status jw_sub_pending_limits(jw_sub *sub, int64_t *msgs, int64_t *bytes)
{
    if (!sub)
        return jw__fail(JW_EINVAL, "sub is NULL");
    pthread_mutex_lock(&sub->mu);
    if (msgs)
        *msgs = sub->limit_msgs;
    if (bytes)
        *bytes = sub->limit_bytes;
    pthread_mutex_unlock(&sub->mu);
    return JW_OK;
}

jw_status jw_sub_pending(jw_sub *sub, int64_t *msgs, int64_t *bytes)
{
    if (!sub)
        return jw__fail(JW_EINVAL, "sub is NULL");
    pthread_mutex_lock(&sub->mu);
    if (msgs)
        *msgs = sub->pending_msgs;
    if (bytes)
        *bytes = sub->pending_bytes;
    pthread_mutex_unlock(&sub->mu);
    return JW_OK;
}

int jw_sub_batch_size(jw_sub *sub, int max)
{
    if (!sub || max < 1)
        return max;
    pthread_mutex_lock(&sub->mu);
    int64_t msgs = sub->pending_msgs, bytes = sub->pending_bytes;
    pthread_mutex_unlock(&sub->mu);
    if (msgs <= 0 || bytes <= JW_SUB_BATCH_BYTES)
        return max;
    int64_t fit = (int64_t)JW_SUB_BATCH_BYTES * msgs / bytes;
    return fit < 1 ? 1 : fit < max ? (int)fit : max;
}

uint64_t jw_sub_dropped(const jw_sub *sub)
{
    return sub ? atomic_load(&sub->dropped) : 0;
}

uint64_t jw_sub_delivered(const jw_sub *sub)
{
    return sub ? atomic_load(&sub->delivered) : 0;
}

const char *jw_sub_subject(const jw_sub *sub)
{
    return sub ? sub->subject : NULL;
}

const char *jw_sub_queue(const jw_sub *sub)
{
    return sub ? sub->queue : NULL;
}

int jw_sub_is_valid(const jw_sub *sub)
{
    if (!sub)
        return 0;
    jw_sub *s = (jw_sub *)sub;
    pthread_mutex_lock(&s->mu);
    int valid = s->state != JW__SUB_CLOSED && !s->user_freed;
    pthread_mutex_unlock(&s->mu);
    return valid;
}
