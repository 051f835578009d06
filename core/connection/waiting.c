/*
 * The user calls that wait for the loop: flush and rtt (a PING answered),
 * drain, close and free. They hand a command to the loop thread (conn.c)
 * and wait on the connection's condition, or run a driven loop themselves
 * (jw__loop_wait).
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

/* Wait until PING `ping` is answered (mu held). */
static jw_status wait_pong(jw_conn *c, uint64_t ping, int64_t timeout_ms)
{
    int64_t deadline = jw__deadline(timeout_ms);
    while (c->pongs < ping) {
        if (c->status == JW_CONN_CLOSED)
            return jw__fail(JW_ECONNECTION_CLOSED, "connection closed");
        if (ping <= c->lost_pings)
            return jw__fail(JW_ENOT_CONNECTED,
                            "connection lost before the server answered");
        jw_status st = jw__loop_wait_user(c->loop, &c->cond, &c->mu,
                                          deadline);
        if (st == JW_EINTERRUPTED)
            return jw__fail(st, "interrupted while waiting for a PONG");
        if (st)
            return jw__fail(JW_ETIMEOUT, "no PONG within %lld ms",
                            (long long)timeout_ms);
    }
    return JW_OK;
}

static jw_status blocking_allowed(jw_conn *c)
{
    if (!c)
        return jw__fail(JW_EINVAL, "conn is NULL");
    if (jw__loop_in_callback())
        return jw__fail(JW_EINVAL, "cannot wait inside a loop callback");
    return JW_OK;
}

jw_status jw_conn_flush(jw_conn *c, int64_t timeout_ms)
{
    jw_status st = blocking_allowed(c);
    if (st)
        return st;
    uint64_t ping = 0;
    pthread_mutex_lock(&c->mu);
    st = jw__conn_check_open(c, 1);
    if (st == JW_OK)
        st = jw__conn_queue_ping(c, &ping);
    if (st == JW_OK)
        st = wait_pong(c, ping, timeout_ms);
    pthread_mutex_unlock(&c->mu);
    return st;
}

jw_status jw_conn_rtt(jw_conn *c, int64_t *rtt_us)
{
    jw_status st = blocking_allowed(c);
    if (st)
        return st;
    if (!rtt_us)
        return jw__fail(JW_EINVAL, "rtt_us is NULL");
    uint64_t ping = 0;
    pthread_mutex_lock(&c->mu);
    st = jw__conn_check_open(c, 1);
    if (st == JW_OK && c->status != JW_CONN_CONNECTED)
        st = jw__fail(JW_ENOT_CONNECTED, "not connected");
    int64_t start = jw__now_us();
    if (st == JW_OK)
        st = jw__conn_queue_ping(c, &ping);
    if (st == JW_OK)
        st = wait_pong(c, ping, 10000);
    pthread_mutex_unlock(&c->mu);
    *rtt_us = st == JW_OK ? jw__now_us() - start : 0;
    return st;
}

jw_status jw_conn_close(jw_conn *c)
{
    if (!c)
        return jw__fail(JW_EINVAL, "conn is NULL");
    pthread_mutex_lock(&c->mu);
    if (c->status != JW_CONN_CLOSED) {
        c->status = JW_CONN_CLOSED;
        c->close_status = JW_OK;
        snprintf(c->close_text, sizeof(c->close_text), "closed by the user");
        jw__conn_close_subs(c, JW_ECONNECTION_CLOSED, 0);
        jw__request_fail_all(c, JW_ECONNECTION_CLOSED);
        c->commands |= JW__CMD_CLOSE;
        if (!c->closing)
            jw__conn_wake(c);
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->mu);
    /* A driven loop only moves when run: do the teardown now. */
    if (c->loop->mode == JW__LOOP_DRIVEN && !jw__loop_in_callback())
        jw_loop_run(c->loop, 0);
    return JW_OK;
}

jw_status jw_conn_drain(jw_conn *c, int64_t timeout_ms)
{
    jw_status st = blocking_allowed(c);
    if (st)
        return st;
    if (jw__sub_delivering_for(c))
        return jw__fail(JW_EINVAL, "cannot drain from one of the "
                        "connection's handlers: the drain waits for them");
    if (timeout_ms < 0)
        timeout_ms = c->opts.drain_timeout_ms;
    int64_t started = jw__now_ms();
    pthread_mutex_lock(&c->mu);
    /* A drain asked for during a reconnect starts once connected again,
     * within the same timeout. */
    int64_t reconnect_deadline = jw__deadline(timeout_ms);
    while (c->status == JW_CONN_RECONNECTING) {
        if (jw__loop_wait(c->loop, &c->cond, &c->mu, reconnect_deadline) &&
            c->status == JW_CONN_RECONNECTING) {
            pthread_mutex_unlock(&c->mu);
            jw_conn_close(c);
            return jw__fail(JW_ETIMEOUT,
                            "drain: still reconnecting after %lld ms",
                            (long long)timeout_ms);
        }
    }
    timeout_ms -= jw__now_ms() - started;
    if (timeout_ms < 0)
        timeout_ms = 0;
    st = jw__conn_check_open(c, 0);
    if (st == JW_OK && c->status != JW_CONN_CONNECTED)
        st = jw__fail(JW_ENOT_CONNECTED, "not connected");
    if (st) {
        pthread_mutex_unlock(&c->mu);
        return st;
    }
    c->status = JW_CONN_DRAINING_SUBS;
    c->drain_deadline_ms = jw__now_ms() + timeout_ms;
    /* UNSUB everything but the request inbox, then a PING: its PONG says
     * the server has stopped sending to us. */
    for (size_t i = 0; i < c->subs.cap; i++) {
        jw_sub *sub = c->subs.keys[i] ? c->subs.values[i] : NULL;
        if (!sub || sub->is_inbox)
            continue;
        char line[40] = "UNSUB ";
        size_t n = 6 + jw__u64_to_dec(line + 6, sub->sid);
        line[n++] = '\r';
        line[n++] = '\n';
        jw__conn_queue(c, line, n);
        pthread_mutex_lock(&sub->mu);
        if (sub->state == JW__SUB_ACTIVE)
            sub->state = JW__SUB_DRAINING;
        pthread_mutex_unlock(&sub->mu);
    }
    uint64_t ping;
    st = jw__conn_queue_ping(c, &ping);
    if (st == JW_OK)
        st = jw__conn_on_pong(c, ping, JW__PA_DRAIN_SUBS, NULL);
    c->commands |= JW__CMD_DRAIN;
    if (!c->closing)
        jw__conn_wake(c);
    int64_t deadline = jw__deadline(timeout_ms + 1000);
    while (!c->torn_down) {
        if (jw__loop_wait(c->loop, &c->cond, &c->mu, deadline))
            break;
    }
    int timed_out = !c->torn_down || c->close_status == JW_ETIMEOUT;
    jw_status lost = c->close_status;
    char lost_text[sizeof(c->close_text)];
    memcpy(lost_text, c->close_text, sizeof(lost_text));
    pthread_mutex_unlock(&c->mu);
    if (!timed_out && lost != JW_OK)
        return jw__fail(lost, "drain cut short: %s", lost_text);
    if (timed_out) {
        jw_conn_close(c);
        return jw__fail(JW_ETIMEOUT, "drain did not finish in %lld ms",
                        (long long)timeout_ms);
    }
    return st;
}

void jw_conn_free(jw_conn *c)
{
    if (!c)
        return;
    jw_conn_close(c);
    /* Wait for the loop to let go of the socket, so the last reference
     * (and a private loop's thread) is released here, not on the loop. */
    if (!jw__loop_in_callback()) {
        pthread_mutex_lock(&c->mu);
        int64_t deadline = jw__deadline(5000);
        while (!c->torn_down &&
               jw__loop_wait(c->loop, &c->cond, &c->mu, deadline) == JW_OK)
            ;
        pthread_mutex_unlock(&c->mu);
    }
    /* Nobody can pull events any more; dropping them also lets go of the
     * subscriptions they name, which hold the connection. */
    pthread_mutex_lock(&c->mu);
    jw_event *events = c->ev_head;
    c->ev_head = c->ev_tail = NULL;
    c->ev_count = 0;
    pthread_mutex_unlock(&c->mu);
    while (events) {
        jw_event *ev = events;
        events = ev->next;
        jw_event_free(ev);
    }
    jw__conn_release(c);
}
