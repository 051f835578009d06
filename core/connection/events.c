/*
 * What a connection tells its user without being asked: the event queue
 * (disconnected, reconnected, closed, errors...) with its handlers, and
 * the readable fd that signals pending deliveries, events and finished
 * requests to other event loops.
 */
#include "engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* At most this many events wait for next_event; past it the oldest goes. */
#define MAX_EVENTS 1024

void jw__conn_notify(jw_conn *c)
{
    if (!atomic_exchange(&c->notify_armed, 1)) {
        uint64_t one = 1;
        ssize_t rc = write(c->notify_fd, &one, sizeof(one));
        JW_UNUSED(rc); /* a full counter is readable already */
    }
}

int jw_conn_fd(const jw_conn *c)
{
    return c ? c->notify_fd : -1;
}

void jw_conn_fd_reset(jw_conn *c)
{
    if (!c)
        return;
    uint64_t value;
    ssize_t rc = read(c->notify_fd, &value, sizeof(value));
    JW_UNUSED(rc);
    /* Disarm after reading: a delivery racing with us either sees the
     * flag still set (and we will find its message when we pull) or sees
     * it cleared and signals again. */
    atomic_store(&c->notify_armed, 0);
}

void jw__conn_emit(jw_conn *c, jw_event_kind kind, jw_status status,
                   jw_sub *sub, const char *fmt, ...)
{
    jw_event *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return;
    ev->kind = kind;
    ev->status = status;
    ev->sub = sub;
    if (sub)
        atomic_fetch_add(&sub->refs, 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
    va_end(ap);

    if (c->opts.on[kind].cb)
        c->opts.on[kind].cb(c, ev, c->opts.on[kind].arg);

    pthread_mutex_lock(&c->mu);
    if (c->ev_count >= MAX_EVENTS) {
        jw_event *old = c->ev_head;
        c->ev_head = old->next;
        c->ev_count--;
        old->next = NULL;
        pthread_mutex_unlock(&c->mu);
        jw_event_free(old);
        pthread_mutex_lock(&c->mu);
    }
    if (c->ev_tail)
        c->ev_tail->next = ev;
    else
        c->ev_head = ev;
    c->ev_tail = ev;
    c->ev_count++;
    if (c->ev_waiters)
        pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    jw__conn_notify(c);
}

jw_status jw_conn_next_event(jw_conn *c, int64_t timeout_ms, jw_event **out)
{
    if (!c || !out)
        return jw__fail(JW_EINVAL, "conn and ev must not be NULL");
    *out = NULL;
    int64_t deadline = jw__deadline(timeout_ms);
    jw_status st = JW_OK;
    pthread_mutex_lock(&c->mu);
    while (!c->ev_head) {
        if (c->status == JW_CONN_CLOSED && c->torn_down) {
            st = jw__fail(JW_ECONNECTION_CLOSED, "connection is closed");
            break;
        }
        if (timeout_ms != 0 && jw__loop_in_callback() &&
            c->loop->mode != JW__LOOP_DRIVEN) {
            st = jw__fail(JW_EINVAL, "cannot wait on the loop thread");
            break;
        }
        c->ev_waiters++;
        st = timeout_ms == 0 ? JW_ETIMEOUT
                             : jw__loop_wait_user(c->loop, &c->cond, &c->mu,
                                                  deadline);
        c->ev_waiters--;
        if (st == JW_EINTERRUPTED) { /* takes nothing, even if one came */
            st = jw__fail(st, "interrupted while waiting for an event");
            break;
        }
        if (st && !c->ev_head) {
            st = jw__fail(JW_ETIMEOUT, "no event within %lld ms",
                          (long long)timeout_ms);
            break;
        }
    }
    if (st != JW_EINTERRUPTED && c->ev_head) {
        st = JW_OK;
        *out = c->ev_head;
        c->ev_head = (*out)->next;
        if (!c->ev_head)
            c->ev_tail = NULL;
        c->ev_count--;
        (*out)->next = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    return st;
}

jw_event_kind jw_event_kind_get(const jw_event *ev)
{
    return ev ? ev->kind : (jw_event_kind)0;
}

jw_status jw_event_status(const jw_event *ev)
{
    return ev ? ev->status : JW_EINVAL;
}

const char *jw_event_text(const jw_event *ev)
{
    return ev ? ev->text : "";
}

jw_sub *jw_event_sub(const jw_event *ev)
{
    return ev ? ev->sub : NULL;
}

void jw_event_free(jw_event *ev)
{
    if (!ev)
        return;
    if (ev->sub)
        jw__sub_release(ev->sub);
    free(ev);
}


void jw__conn_watch_add(jw_conn *c, jw__conn_watch *w)
{
    pthread_mutex_lock(&c->watch_mu);
    w->next = c->watchers;
    c->watchers = w;
    pthread_mutex_unlock(&c->watch_mu);
}

void jw__conn_watch_remove(jw_conn *c, jw__conn_watch *w)
{
    pthread_mutex_lock(&c->watch_mu);
    for (jw__conn_watch **p = &c->watchers; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&c->watch_mu);
}

void jw__conn_watchers_run(jw_conn *c, jw_status why)
{
    pthread_mutex_lock(&c->watch_mu);
    for (jw__conn_watch *w = c->watchers; w; w = w->next)
        w->fn(w->arg, why);
    pthread_mutex_unlock(&c->watch_mu);
}
