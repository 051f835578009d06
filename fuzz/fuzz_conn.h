/*
 * For the targets that drive the connection's inbound side (fuzz_info,
 * fuzz_session): core/connection/conn.c itself, so that its static
 * functions can be called, and a connection built by hand in the state the
 * loop thread has it after the handshake, but without a socket or a loop.
 * A write counts as already scheduled, so what the engine queues stays in
 * `out`.
 */
#ifndef JW_FUZZ_CONN_H
#define JW_FUZZ_CONN_H

#include "../core/connection/conn.c"

#include "fuzz.h"

static jw_conn *fuzz_conn_new(void)
{
    jw_conn *c = calloc(1, sizeof(*c));
    FUZZ_CHECK(c != NULL);
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->watch_mu, NULL);
    jw__cond_init(&c->cond);
    jw__opts_defaults(&c->opts);
    c->opts.no_randomize = 1; /* same input, same pool */
    FUZZ_CHECK(jw__pool_init(c, "nats://127.0.0.1:4222") == JW_OK);
    jw__parser_init(&c->parser, 0, 0);
    c->status = JW_CONN_CONNECTED;
    c->phase = JW__PHASE_OPEN;
    c->fd = -1;
    c->notify_fd = -1;
    c->write_scheduled = 1; /* no loop to wake */
    return c;
}

/* Drop the queued events (they hold their subscriptions) and the last
 * reference, which frees the connection. */
static void fuzz_conn_free(jw_conn *c)
{
    while (c->ev_head) {
        jw_event *ev = c->ev_head;
        c->ev_head = ev->next;
        jw_event_free(ev);
    }
    c->ev_tail = NULL;
    c->ev_count = 0;
    jw__conn_release(c);
}

#endif
