/*
 * The connection: its state machine on the loop thread (connect, INFO and
 * CONNECT, PING/PONG, reconnect, lame duck, drain, close) and the calls
 * other threads make to connect. The calls that wait (flush, rtt, drain,
 * close, free) are in waiting.c, publishing in publish.c, the event queue
 * and the readable fd in events.c, the getters in conninfo.c, what INFO
 * and CONNECT say in handshake.c.
 *
 * Reconnecting keeps the connection object, its subscriptions and `out`:
 * a lost socket is closed, the reconnect loop walks the server pool
 * (pool.c) with timer_ev for the waits between rounds, and a new socket
 * gets SUB lines for the live subscriptions in `wbuf` ahead of whatever
 * publishers buffered in `out` meanwhile.
 *
 * Data flows one way. Inbound: socket -> parser -> on_proto -> subscription
 * or request waiter. Outbound: a user call appends to `out` under the lock
 * and wakes the loop only when `out` goes from idle to busy; the loop swaps
 * `out` for its private `wbuf` and writes that without the lock, so
 * publishers never wait for the socket.
 */
#include "engine.h"
#include "subject.h"
#include "tls.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK (256 * 1024)
/* Reads in a row while each fills the buffer: 4 MiB per readiness. */
#define READS_PER_EVENT 16

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static int do_write(jw_conn *c);
static void start_connect(jw_conn *c);
static void schedule_reconnect(jw_conn *c);
static void teardown(jw_conn *c, jw_status why, const char *text);

/* ------------------------------------------------------------------------
 * References and small helpers
 */

void jw__conn_ref(jw_conn *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static void conn_destroy(jw_conn *c);

/* The connection's memory goes when no reference is left and the loop has
 * let go of it, whichever comes last. Counting the loop as a reference
 * instead would let it drop the last one on its own thread just after
 * jw_conn_free stopped waiting. */
void jw__conn_release(jw_conn *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_lock(&c->mu);
    int wait_for_loop = c->wake_ev && !c->torn_down;
    if (wait_for_loop)
        c->free_pending = 1;
    pthread_mutex_unlock(&c->mu);
    if (!wait_for_loop)
        conn_destroy(c);
}

static void conn_destroy(jw_conn *c)
{
    jw__delivery_pool_free(atomic_load(&c->delivery_pool));
    while (c->ev_head) {
        jw_event *ev = c->ev_head;
        c->ev_head = ev->next;
        jw_event_free(ev);
    }
    while (c->actions) {
        jw__pong_action *a = c->actions;
        c->actions = a->next;
        if (a->sub)
            jw__sub_release(a->sub);
        free(a);
    }
    jw__request_free_completions(c);
    jw__buf_free(&c->out);
    jw__buf_free(&c->wbuf);
    jw__parser_free(&c->parser);
    free(c->rbuf);
    free(c->info_json);
    jw__tls_ctx_free(c->tls_ctx);
    jw__map_free(&c->subs);
    jw__map_free(&c->requests);
    jw__pool_free(c);
    if (c->notify_fd >= 0)
        close(c->notify_fd);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->watch_mu);
    pthread_mutex_destroy(&c->ready_mu);
    pthread_cond_destroy(&c->cond);
    jw_loop *loop = c->loop;
    jw__opts_clear(&c->opts);
    free(c);
    jw__loop_release(loop);
}

jw_status jw__conn_check_open(jw_conn *c, int allow_draining)
{
    switch (c->status) {
    case JW_CONN_CLOSED:
        return jw__fail(JW_ECONNECTION_CLOSED, "connection is closed");
    case JW_CONN_DRAINING_SUBS:
        if (allow_draining)
            return JW_OK;
        return jw__fail(JW_EDRAINING, "connection is draining");
    case JW_CONN_DRAINING_PUBS:
        return jw__fail(JW_EDRAINING, "connection is draining");
    default:
        return JW_OK;
    }
}

void jw__conn_wake(jw_conn *c)
{
    event_active(c->wake_ev, 0, 0);
    jw__loop_kick(c->loop);
}

void jw__conn_schedule_write(jw_conn *c)
{
    if (!c->write_scheduled && !c->closing) {
        c->write_scheduled = 1;
        jw__conn_wake(c);
    }
}

void jw__conn_schedule_lazy(jw_conn *c)
{
    if (c->write_scheduled || c->lazy_armed || c->closing)
        return; /* it goes out with what is written anyway */
    c->lazy_armed = 1;
    c->commands |= JW__CMD_LAZY;
    jw__conn_wake(c);
}

jw_status jw__conn_queue(jw_conn *c, const char *p, size_t n)
{
    if (jw__buf_append(&c->out, p, n))
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    jw__conn_schedule_write(c);
    return JW_OK;
}

jw_status jw__conn_queue_ping(jw_conn *c, uint64_t *ping)
{
    jw_status st = jw__conn_queue(c, "PING\r\n", 6);
    if (st == JW_OK) {
        *ping = ++c->pings;
        c->out_pings++;
    }
    return st;
}

jw_status jw__conn_on_pong(jw_conn *c, uint64_t ping, int kind, jw_sub *sub)
{
    jw__pong_action *a = calloc(1, sizeof(*a));
    if (!a)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    a->ping = ping;
    a->kind = kind;
    a->sub = sub;
    if (sub)
        atomic_fetch_add(&sub->refs, 1);
    /* Appended in PING order, so the list stays sorted. */
    jw__pong_action **p = &c->actions;
    while (*p)
        p = &(*p)->next;
    *p = a;
    return JW_OK;
}

/* ------------------------------------------------------------------------
 * The loop side: sockets, handshake, protocol events
 */

static void enter(jw_conn *c)
{
    jw__loop_enter(c->loop);
}

static void close_socket(jw_conn *c)
{
    pthread_mutex_lock(&c->mu);
    c->direct_ok = 0; /* no caller thread touches fd or wbuf from here */
    c->wbuf_busy = 1;
    pthread_mutex_unlock(&c->mu);
    if (c->read_ev) {
        event_free(c->read_ev);
        c->read_ev = NULL;
    }
    if (c->write_ev) {
        event_free(c->write_ev);
        c->write_ev = NULL;
    }
    jw__tls_free(c->tls);
    c->tls = NULL;
    c->tls_write_wants_read = 0;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->phase = JW__PHASE_IDLE;
    c->wbuf.len = c->wpos = 0;
    jw__parser_reset(&c->parser);
}

static void arm_timer(jw_conn *c, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->timer_ev, &tv);
}

/* A connect attempt failed. The first connect tries each server once;
 * after that (or when retry_on_failed_connect is set) the reconnect loop
 * goes on round by round until a server answers or every server has used
 * up its max_reconnect_attempts. */
static void connect_failed(jw_conn *c, jw_status why, const char *why_text)
{
    char text[256]; /* why_text may be the parser's error: reset below */
    snprintf(text, sizeof(text), "%s", why_text);
    close_socket(c);
    pthread_mutex_lock(&c->mu);
    snprintf(c->close_text, sizeof(c->close_text), "%s:%d: %.200s",
             c->servers[c->server_index].host,
             c->servers[c->server_index].port, text);
    c->close_status = why;
    jw_conn_status status = c->status;
    pthread_mutex_unlock(&c->mu);
    if (status == JW_CONN_CONNECTING) {
        if (++c->server_index < c->server_count) {
            start_connect(c);
            return;
        }
        if (!c->opts.retry_on_failed_connect || !c->opts.allow_reconnect ||
            c->opts.max_reconnect_attempts == 0) {
            char text_copy[sizeof(c->close_text)];
            memcpy(text_copy, c->close_text, sizeof(text_copy));
            teardown(c, why, text_copy);
            return;
        }
        /* jw_conn_connect returns now; the loop keeps trying. */
        pthread_mutex_lock(&c->mu);
        c->status = JW_CONN_RECONNECTING;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->mu);
        c->server_index = c->server_count - 1;
        c->round_tries = c->server_count;
        schedule_reconnect(c);
        return;
    }
    if (status != JW_CONN_RECONNECTING) {
        teardown(c, why, text);
        return;
    }
    int64_t max = c->opts.max_reconnect_attempts;
    jw__url *u = &c->servers[c->server_index];
    /* A server that refuses the credentials twice in a row will refuse
     * them again: stop asking it rather than hammer it. */
    u->auth_refusals = why == JW_EAUTH ? u->auth_refusals + 1 : 0;
    int refused = u->auth_refusals >= 2;
    if (refused || (max >= 0 && u->attempts >= max)) {
        pthread_mutex_lock(&c->mu);
        jw__pool_remove(c, c->server_index);
        pthread_mutex_unlock(&c->mu);
    }
    if (c->server_count == 0 && refused) {
        char text_copy[sizeof(c->close_text) + 80];
        snprintf(text_copy, sizeof(text_copy),
                 "every server refused the credentials twice in a row; "
                 "last: %s",
                 c->close_text);
        teardown(c, JW_EAUTH, text_copy);
        return;
    }
    if (c->server_count == 0) {
        char text_copy[sizeof(c->close_text) + 80];
        snprintf(text_copy, sizeof(text_copy),
                 "no server left after %lld reconnect attempts each; "
                 "last: %s",
                 (long long)max, c->close_text);
        teardown(c, JW_ECONNECT, text_copy);
        return;
    }
    schedule_reconnect(c);
}

/* Try the next server of the pool: at once within a round, after
 * reconnect_time_wait plus jitter once every server had its try. */
static void schedule_reconnect(jw_conn *c)
{
    if (c->round_tries >= c->server_count) {
        int tls = 0;
        for (int i = 0; i < c->server_count; i++)
            tls |= c->servers[i].tls;
        int64_t jitter = tls ? c->opts.reconnect_jitter_tls_ms
                             : c->opts.reconnect_jitter_ms;
        int64_t wait = c->opts.reconnect_time_wait_ms;
        if (jitter > 0)
            wait += (int64_t)(jw__pool_random(c) % (uint64_t)(jitter + 1));
        c->round_tries = 0;
        c->reconnect_waiting = 1;
        arm_timer(c, wait);
        return;
    }
    c->server_index = (c->server_index + 1) % c->server_count;
    c->servers[c->server_index].attempts++;
    c->round_tries++;
    start_connect(c);
}

static void start_connect(jw_conn *c)
{
    const jw__url *u = &c->servers[c->server_index];
    char port[8];
    snprintf(port, sizeof(port), "%d", u->port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(u->host, port, &hints, &res);
    if (rc) {
        connect_failed(c, JW_ECONNECT, gai_strerror(rc));
        return;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
                                       SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            errno == EINPROGRESS)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        connect_failed(c, JW_ECONNECT, strerror(err));
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    c->read_ev = event_new(c->loop->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->write_ev = event_new(c->loop->base, fd, EV_WRITE, on_write, c);
    if (!c->read_ev || !c->write_ev) {
        connect_failed(c, JW_ENO_MEMORY, "out of memory");
        return;
    }
    c->phase = JW__PHASE_TCP;
    event_add(c->write_ev, NULL);
    c->handshake_deadline_ms = jw__now_ms() + c->opts.connect_timeout_ms;
    arm_timer(c, c->opts.connect_timeout_ms);
}

static void send_connect(jw_conn *c)
{
    jw_status st = jw__conn_hello(c, &c->wbuf);
    if (st) {
        connect_failed(c, st, jw_last_error());
        return;
    }
    c->phase = JW__PHASE_HANDSHAKE;
    do_write(c);
}

/* Why a protocol event stopped the stream, for on_read. */
static _Thread_local jw_status stop_status;
static _Thread_local char stop_text[256];

static int stop(jw_status why, const char *fmt, const char *arg, size_t len)
{
    stop_status = why;
    snprintf(stop_text, sizeof(stop_text), fmt, (int)len, arg);
    return 1;
}

static int contains_ci(const char *text, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(text + i, word, n) == 0)
            return 1;
    return 0;
}

/* After a reconnect: SUB again for every live subscription, ahead of what
 * was buffered in `out` (mu held; wbuf is the loop's). */
static void resubscribe(jw_conn *c)
{
    for (size_t i = 0; i < c->subs.cap; i++) {
        jw_sub *sub = c->subs.keys[i] ? c->subs.values[i] : NULL;
        if (sub)
            jw__sub_resend(sub, &c->wbuf);
    }
}

static void handshake_done(jw_conn *c)
{
    c->phase = JW__PHASE_OPEN;
    evtimer_del(c->timer_ev);
    jw__url *u = &c->servers[c->server_index];
    u->attempts = 0;
    u->auth_refusals = 0;
    c->round_tries = 0;
    pthread_mutex_lock(&c->mu);
    if (c->status == JW_CONN_CLOSED) {
        pthread_mutex_unlock(&c->mu);
        return; /* closed by the user meanwhile: on_wake tears down */
    }
    jw__url_format(u, c->url, sizeof(c->url));
    int reconnected = c->status == JW_CONN_RECONNECTING;
    if (reconnected) {
        resubscribe(c);
        if (c->ever_connected)
            atomic_fetch_add(&c->reconnects, 1);
    }
    c->status = JW_CONN_CONNECTED;
    c->ever_connected = 1;
    c->keepalive_out = 0;
    c->direct_ok = c->tls == NULL; /* the TLS session is the loop's alone */
    c->wbuf_busy = 1;              /* until do_write below looks */
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    struct timeval tv = {(time_t)(c->opts.ping_interval_ms / 1000),
                         (suseconds_t)(c->opts.ping_interval_ms % 1000) * 1000};
    event_add(c->ping_ev, &tv);
    do_write(c);
    if (reconnected && c->phase == JW__PHASE_OPEN)
        jw__conn_emit(c, JW_EVENT_RECONNECTED, JW_OK, NULL, "connected to %s",
                      c->url);
}

static void run_pong_actions(jw_conn *c, jw__pong_action *done);

/* After INFO: TLS first when the URL, the options or the server ask for
 * it, else CONNECT. Runs inside the parser's callback, so it only starts
 * the TLS session and lets on_write drive the handshake; a failure stops
 * the stream (see stop). */
static int start_tls_or_connect(jw_conn *c)
{
    const jw__url *u = &c->servers[c->server_index];
    if (!u->tls && !c->tls_required && !jw__tls_wanted(&c->opts)) {
        send_connect(c);
        return 0;
    }
    if (!c->tls_required && !c->tls_available) {
        const char *text = "TLS is wanted but the server does not offer it";
        return stop(JW_ETLS, "%.*s", text, strlen(text));
    }
    jw_status st = c->tls_ctx ? JW_OK : jw__tls_ctx_new(&c->opts, &c->tls_ctx);
    if (st == JW_OK)
        st = jw__tls_new(c->tls_ctx, c->fd, u->host, &c->tls);
    if (st)
        return stop(st, "%.*s", jw_last_error(), strlen(jw_last_error()));
    c->phase = JW__PHASE_TLS;
    event_add(c->write_ev, NULL);
    return 0;
}

/* One step of the TLS handshake; CONNECT once it is done. */
static void tls_step(jw_conn *c)
{
    int rc = jw__tls_handshake(c->tls);
    if (rc == JW_OK)
        send_connect(c);
    else if (rc == JW__TLS_WANT_WRITE)
        event_add(c->write_ev, NULL);
    else if (rc < 0)
        connect_failed(c, rc, jw_last_error());
}

static void got_pong(jw_conn *c)
{
    pthread_mutex_lock(&c->mu);
    c->pongs++;
    c->keepalive_out = 0;
    jw__pong_action *done = NULL, **tail = &done;
    while (c->actions && c->actions->ping <= c->pongs) {
        *tail = c->actions;
        c->actions = c->actions->next;
        tail = &(*tail)->next;
        *tail = NULL;
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    if (done)
        run_pong_actions(c, done);
}

static int on_proto(void *arg, const jw__proto_event *ev)
{
    jw_conn *c = arg;
    if (ev->op != JW__OP_MSG)
        jw__conn_stage_flush(c);
    if (c->fail_pending || c->teardown_pending)
        return 1; /* the rest of the buffer belongs to a dead socket */
    switch (ev->op) {
    case JW__OP_MSG:
        jw__conn_route_msg(c, ev);
        break;
    case JW__OP_PING:
        if (c->phase == JW__PHASE_OPEN) {
            pthread_mutex_lock(&c->mu);
            jw__conn_queue(c, "PONG\r\n", 6);
            pthread_mutex_unlock(&c->mu);
        } else if (jw__buf_append(&c->wbuf, "PONG\r\n", 6)) {
            return stop(JW_ENO_MEMORY, "%.*s", "out of memory", 13);
        }
        break;
    case JW__OP_PONG:
        if (c->phase == JW__PHASE_HANDSHAKE)
            handshake_done(c);
        else
            got_pong(c);
        break;
    case JW__OP_INFO:
        if (jw__conn_take_info(c, ev->text, ev->text_len))
            return stop(JW_EPROTOCOL, "INFO is not a JSON object: %.*s",
                        ev->text, ev->text_len < 64 ? ev->text_len : 64);
        if (c->phase == JW__PHASE_INFO)
            return start_tls_or_connect(c);
        break;
    case JW__OP_OK:
        break;
    case JW__OP_ERR:
        if (contains_ci(ev->text, ev->text_len, "permissions violation")) {
            jw__conn_emit(c, JW_EVENT_ERROR, JW_EPERMISSION, NULL, "%.*s",
                          (int)ev->text_len, ev->text);
            break;
        }
        if (contains_ci(ev->text, ev->text_len, "invalid subject")) {
            jw__conn_emit(c, JW_EVENT_ERROR, JW_EINVALID_SUBJECT, NULL,
                          "%.*s", (int)ev->text_len, ev->text);
            break;
        }
        if (contains_ci(ev->text, ev->text_len, "authorization") ||
            contains_ci(ev->text, ev->text_len, "authentication"))
            return stop(JW_EAUTH, "server: %.*s", ev->text, ev->text_len);
        if (contains_ci(ev->text, ev->text_len, "maximum payload"))
            return stop(JW_EMAX_PAYLOAD, "server: %.*s", ev->text,
                        ev->text_len);
        return stop(c->phase == JW__PHASE_OPEN ? JW_EPROTOCOL : JW_ECONNECT,
                    "server: %.*s", ev->text, ev->text_len);
    }
    return 0;
}

/* The PINGs already handed to the dead socket will never be answered: fail
 * their waiters and run their actions. Those still in `out` go out on the
 * next socket and are answered there, in order (mu held on entry and
 * exit). */
static void forget_sent_pings(jw_conn *c)
{
    c->lost_pings = c->pings - c->out_pings;
    c->pongs = c->lost_pings;
    jw__pong_action *lost = NULL, **tail = &lost;
    while (c->actions && c->actions->ping <= c->lost_pings) {
        *tail = c->actions;
        c->actions = c->actions->next;
        tail = &(*tail)->next;
        *tail = NULL;
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    if (lost)
        run_pong_actions(c, lost);
    pthread_mutex_lock(&c->mu);
}

/* The connection broke after the handshake (or is leaving a lame duck).
 * Keep the subscriptions and what publishers buffer, and look for a
 * server; close instead when reconnecting is off or a drain was under
 * way. */
static void connection_lost(jw_conn *c, jw_status why, const char *why_text)
{
    /* why_text may live in what close_socket resets (the parser's error)
     * or in jw_last_error's buffer: keep a copy. */
    char text[256];
    snprintf(text, sizeof(text), "%s", why_text);
    pthread_mutex_lock(&c->mu);
    int reconnect = c->opts.allow_reconnect &&
                    c->opts.max_reconnect_attempts != 0 &&
                    c->status == JW_CONN_CONNECTED;
    pthread_mutex_unlock(&c->mu);
    if (!reconnect) {
        jw__conn_emit(c, JW_EVENT_DISCONNECTED, why, NULL, "%s", text);
        teardown(c, why, text);
        return;
    }
    close_socket(c);
    evtimer_del(c->timer_ev);
    event_del(c->ping_ev);
    pthread_mutex_lock(&c->mu);
    c->status = JW_CONN_RECONNECTING;
    c->url[0] = 0;
    forget_sent_pings(c);
    /* Their replies went to the dead socket; see jw_conn_request. */
    jw__request_fail_all(c, JW_ENOT_CONNECTED);
    pthread_mutex_unlock(&c->mu);
    /* So do the answers the engine's own requests wait for (JetStream's
     * async publishes): failed before the event says so. */
    jw__conn_watchers_run(c, JW_ENOT_CONNECTED);
    jw__conn_emit(c, JW_EVENT_DISCONNECTED, why, NULL, "%s", text);
    if (jw_conn_status_get(c) != JW_CONN_RECONNECTING)
        return; /* a handler closed it: on_wake tears down */
    c->round_tries = 0;
    schedule_reconnect(c);
}

static void fail(jw_conn *c, jw_status why, const char *text)
{
    if (c->dispatching) {
        /* The parser is still walking the read buffer: finish there. */
        if (!c->fail_pending && !c->teardown_pending) {
            c->fail_pending = 1;
            c->teardown_status = why;
            snprintf(c->teardown_text, sizeof(c->teardown_text), "%s", text);
        }
        return;
    }
    if (c->phase == JW__PHASE_OPEN)
        connection_lost(c, why, text);
    else
        connect_failed(c, why, text);
}

/* Read what the socket (or the TLS session on it) has: like recv. */
static ssize_t conn_recv(jw_conn *c)
{
    int want = 0;
    if (!c->tls)
        return recv(c->fd, c->rbuf, c->rbuf_cap, 0);
    ssize_t n = jw__tls_read(c->tls, c->rbuf, c->rbuf_cap, &want);
    if (n == -1 && want == JW__TLS_WANT_WRITE)
        event_add(c->write_ev, NULL);
    return n;
}

static int read_once(jw_conn *c);

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    jw_conn *c = arg;
    JW_UNUSED(what);
    JW_UNUSED(fd);
    enter(c);
    if (c->phase == JW__PHASE_TLS) {
        tls_step(c);
    } else {
        /* OpenSSL may hold decrypted bytes the socket no longer signals;
         * a read that filled the buffer was likely not all there is, and
         * taking more now saves a round through the poller (a host's
         * loop may come back late: asyncio between callbacks). After a
         * failure the connection may be gone: touch nothing. */
        int alive, reads = 0;
        do
            alive = read_once(c);
        while (alive && ((c->tls && jw__tls_pending(c->tls) > 0) ||
                         (alive == 2 && ++reads < READS_PER_EVENT)));
        if (alive && c->tls && c->tls_write_wants_read) {
            c->tls_write_wants_read = 0;
            do_write(c);
        }
    }
    jw__loop_leave();
}

/* One read and its processing; 0 when the connection failed (it may be
 * gone) or the read would block, 2 when the read filled the buffer (more
 * may be waiting), else 1. */
static int read_once(jw_conn *c)
{
    ssize_t n = conn_recv(c);
    if (n > 0) {
        c->dispatching = 1;
        int rc = jw__parser_feed(&c->parser, c->rbuf, (size_t)n, on_proto, c);
        jw__conn_stage_flush(c);
        jw__delivery_kick(c);
        c->dispatching = 0;
        int move = c->lame_duck_move;
        c->lame_duck_move = 0;
        if (c->teardown_pending) {
            teardown(c, c->teardown_status, c->teardown_text);
        } else if (c->fail_pending) {
            char text[sizeof(c->teardown_text)];
            memcpy(text, c->teardown_text, sizeof(text));
            c->fail_pending = 0;
            fail(c, c->teardown_status, text);
        } else if (rc == JW_EPROTOCOL) {
            fail(c, JW_EPROTOCOL, c->parser.error);
        } else if (rc == JW_ENO_MEMORY) {
            fail(c, JW_ENO_MEMORY, "out of memory");
        } else if (rc) {
            char text[sizeof(stop_text)];
            memcpy(text, stop_text, sizeof(text));
            fail(c, stop_status, text);
        } else if (c->phase == JW__PHASE_HANDSHAKE && c->wbuf.len) {
            return do_write(c) == 0; /* a PONG answered in the handshake */
        } else if (move && c->phase == JW__PHASE_OPEN &&
                   c->server_count > 1) {
            /* The server will close us anyway: leave while the rest of the
             * cluster is still there. */
            connection_lost(c, JW_OK, "left a server in lame duck mode");
        } else {
            return (size_t)n == c->rbuf_cap ? 2 : 1;
        }
    } else if (n == 0) {
        fail(c, JW_EIO, "connection closed by the server");
    } else if (n == -2) {
        fail(c, jw__tls_error(c->tls), jw_last_error());
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        fail(c, JW_EIO, strerror(errno));
    }
    return 0;
}

/* Write what is queued; -1 when the connection failed (and may be gone). */
static int do_write(jw_conn *c)
{
    for (;;) {
        if (c->phase == JW__PHASE_OPEN) {
            /* Under mu: while wbuf_busy is 0 a caller may fill wbuf
             * (jw__conn_send_now). */
            pthread_mutex_lock(&c->mu);
            if (c->wpos == c->wbuf.len) {
                c->wbuf.len = c->wpos = 0;
                if (c->out.len) {
                    jw__buf tmp = c->out;
                    c->out = c->wbuf;
                    c->wbuf = tmp;
                    c->out_pings = 0;
                    if (c->out_waiters)
                        pthread_cond_broadcast(&c->cond);
                } else {
                    c->write_scheduled = 0;
                }
            }
            int busy = c->wbuf_busy = c->wpos < c->wbuf.len;
            pthread_mutex_unlock(&c->mu);
            if (!busy)
                return 0;
        } else if (c->wpos == c->wbuf.len) {
            c->wbuf.len = c->wpos = 0;
            return 0;
        }
        int want = JW__TLS_WANT_WRITE;
        ssize_t n =
            c->tls ? jw__tls_write(c->tls, c->wbuf.data + c->wpos,
                                   c->wbuf.len - c->wpos, &want)
                   : send(c->fd, c->wbuf.data + c->wpos,
                          c->wbuf.len - c->wpos, MSG_NOSIGNAL);
        if (n > 0) {
            c->wpos += (size_t)n;
        } else if (n == -2) {
            fail(c, jw__tls_error(c->tls), jw_last_error());
            return -1;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (want == JW__TLS_WANT_READ)
                c->tls_write_wants_read = 1; /* on_read retries */
            else
                event_add(c->write_ev, NULL);
            return 0;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            fail(c, JW_EIO, n < 0 ? strerror(errno) : "write failed");
            return -1;
        }
    }
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    jw_conn *c = arg;
    JW_UNUSED(what);
    enter(c);
    if (c->phase == JW__PHASE_TCP) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            connect_failed(c, JW_ECONNECT, strerror(err));
        } else {
            c->phase = JW__PHASE_INFO;
            event_add(c->read_ev, NULL);
        }
    } else if (c->phase == JW__PHASE_TLS) {
        tls_step(c);
    } else {
        do_write(c);
    }
    jw__loop_leave();
}

static void on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
    jw_conn *c = arg;
    JW_UNUSED(fd);
    JW_UNUSED(what);
    enter(c);
    uint64_t ping;
    pthread_mutex_lock(&c->mu);
    /* Stale when max_outstanding_pings keep-alive PINGs in a row went
     * unanswered for a whole interval; any PONG (flush or keep-alive)
     * proves the server alive and resets the count. Flushes do not count:
     * a busy client's PINGs in flight are no sign of a frozen server. */
    int stale = c->keepalive_out >= c->opts.max_outstanding_pings;
    if (!stale && jw__conn_queue_ping(c, &ping) == JW_OK)
        c->keepalive_out++;
    pthread_mutex_unlock(&c->mu);
    if (stale)
        connection_lost(c, JW_EIO, "stale connection: PINGs unanswered");
    jw__loop_leave();
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    jw_conn *c = arg;
    JW_UNUSED(fd);
    JW_UNUSED(what);
    enter(c);
    if (c->phase != JW__PHASE_OPEN && c->phase != JW__PHASE_IDLE) {
        connect_failed(c, JW_ETIMEOUT, "connect timed out");
    } else if (c->reconnect_waiting) {
        c->reconnect_waiting = 0;
        if (jw_conn_status_get(c) == JW_CONN_RECONNECTING)
            schedule_reconnect(c);
    } else if (c->drain_deadline_ms) {
        if (jw__now_ms() >= c->drain_deadline_ms)
            teardown(c, JW_ETIMEOUT, "drain timed out");
        else
            arm_timer(c, c->drain_deadline_ms - jw__now_ms());
    }
    jw__loop_leave();
}

static void on_lazy(evutil_socket_t fd, short what, void *arg)
{
    jw_conn *c = arg;
    JW_UNUSED(fd);
    JW_UNUSED(what);
    enter(c);
    pthread_mutex_lock(&c->mu);
    c->lazy_armed = 0;
    pthread_mutex_unlock(&c->mu);
    if (c->phase == JW__PHASE_OPEN)
        do_write(c); /* else the handshake writes it */
    jw__loop_leave();
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    jw_conn *c = arg;
    JW_UNUSED(fd);
    JW_UNUSED(what);
    enter(c);
    pthread_mutex_lock(&c->mu);
    int commands = c->commands;
    c->commands = 0;
    int connecting = c->status == JW_CONN_CONNECTING; /* users close it */
    pthread_mutex_unlock(&c->mu);
    if (commands & JW__CMD_CLOSE) {
        /* What is queued (the last acks and publishes) goes out first if
         * the socket takes it now, as nats.go and nats.c do on close; no
         * wait for a full socket. A failed write has torn down already. */
        if (c->phase != JW__PHASE_OPEN || do_write(c) == 0)
            teardown(c, JW_OK, "closed by the user");
    } else {
        if ((commands & JW__CMD_DRAIN) && c->drain_deadline_ms)
            arm_timer(c, c->drain_deadline_ms - jw__now_ms());
        if (commands & JW__CMD_LAZY) {
            struct timeval tv = {0, JW__LAZY_MS * 1000};
            evtimer_add(c->lazy_ev, &tv);
        }
        if (c->phase == JW__PHASE_IDLE && connecting)
            start_connect(c);
        else if (c->phase == JW__PHASE_OPEN)
            do_write(c);
    }
    jw__loop_leave();
}

/* Everything the loop holds is released; the connection is closed for
 * good. Runs on the loop thread, once. */
static void teardown(jw_conn *c, jw_status why, const char *text)
{
    if (c->closing)
        return;
    if (c->dispatching) {
        /* on_read still walks the parser and the read buffer: finish
         * there, since the connection may be freed once torn down. */
        if (!c->teardown_pending) {
            c->teardown_pending = 1;
            c->teardown_status = why;
            /* Cut to the buffer on purpose (the precision says so). */
            snprintf(c->teardown_text, sizeof(c->teardown_text), "%.*s",
                     (int)sizeof(c->teardown_text) - 1, text);
        }
        return;
    }
    close_socket(c);
    evtimer_del(c->timer_ev);
    event_del(c->ping_ev);
    pthread_mutex_lock(&c->mu);
    int by_user = c->status == JW_CONN_CLOSED;
    int was_draining = c->status == JW_CONN_DRAINING_SUBS ||
                       c->status == JW_CONN_DRAINING_PUBS;
    if (!by_user) {
        c->close_status = why;
        snprintf(c->close_text, sizeof(c->close_text), "%s", text);
    }
    c->status = JW_CONN_CLOSED;
    /* What arrived before a drain or a failure stays readable; a close
     * asked for by the user discards it (jw_conn_close did that). */
    jw__conn_close_subs(c, JW_ECONNECTION_CLOSED, !by_user || was_draining);
    jw__request_fail_all(c, JW_ECONNECTION_CLOSED);
    jw__pong_action *actions = c->actions;
    c->actions = NULL;
    c->closing = 1; /* no more wake-ups: the events are going */
    pthread_mutex_unlock(&c->mu);
    while (actions) {
        jw__pong_action *a = actions;
        actions = a->next;
        if (a->sub)
            jw__sub_release(a->sub);
        free(a);
    }
    event_free(c->timer_ev);
    event_free(c->ping_ev);
    event_free(c->lazy_ev);
    c->timer_ev = c->ping_ev = c->lazy_ev = NULL;
    jw__conn_watchers_run(c, JW_ECONNECTION_CLOSED);
    jw__conn_emit(c, JW_EVENT_CLOSED, by_user ? JW_OK : why, NULL, "%s",
                  by_user ? "closed" : text);

    /* The last touch of the loop: after this, whoever holds the last
     * reference frees the connection (or we do, if that already
     * happened). */
    pthread_mutex_lock(&c->mu);
    event_free(c->wake_ev);
    c->wake_ev = NULL;
    c->torn_down = 1;
    int destroy = c->free_pending;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    if (destroy)
        conn_destroy(c);
}

void jw__conn_drain_pubs(jw_conn *c)
{
    uint64_t ping;
    if (c->status != JW_CONN_DRAINING_SUBS)
        return;
    c->status = JW_CONN_DRAINING_PUBS;
    if (jw__conn_queue_ping(c, &ping) == JW_OK)
        jw__conn_on_pong(c, ping, JW__PA_DRAIN_PUBS, NULL);
}

static void run_pong_actions(jw_conn *c, jw__pong_action *done)
{
    while (done) {
        jw__pong_action *a = done;
        done = a->next;
        if (a->kind == JW__PA_SUB_DRAINED) {
            pthread_mutex_lock(&c->mu);
            if (jw__map_get(&c->subs, a->sub->sid) == a->sub) {
                jw__map_remove(&c->subs, a->sub->sid);
                jw__sub_release(a->sub); /* the map's reference */
            }
            pthread_mutex_unlock(&c->mu);
            jw__sub_close(a->sub, JW_EINVALID_SUBSCRIPTION, 1);
        } else if (a->kind == JW__PA_DRAIN_SUBS) {
            /* The server has seen every UNSUB: nothing more arrives. Once
             * the handlers have worked through what came (their replies
             * are publishes too), write what publishers queued, and close
             * once it is out. */
            pthread_mutex_lock(&c->mu);
            jw__conn_close_subs(c, JW_ECONNECTION_CLOSED, 1);
            if (c->delivering > 0)
                c->drain_after_handlers = 1;
            else
                jw__conn_drain_pubs(c);
            pthread_mutex_unlock(&c->mu);
        } else if (a->kind == JW__PA_DRAIN_PUBS) {
            c->drain_deadline_ms = 0;
            teardown(c, JW_OK, "drained");
        }
        if (a->sub)
            jw__sub_release(a->sub);
        free(a);
    }
}

/* ------------------------------------------------------------------------
 * Calls from users
 */

static jw_status fill_random_token(char *out, size_t n)
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char bytes[64];
    if (n > sizeof(bytes) || getentropy(bytes, n))
        return jw__fail(JW_EIO, "no randomness for inbox names");
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[bytes[i] % 62];
    return JW_OK;
}

jw_status jw_conn_new_inbox(jw_conn *c, char *buf, size_t size)
{
    if (!c || !buf)
        return jw__fail(JW_EINVAL, "conn and buf must not be NULL");
    if (size < 7 + 22 + 1)
        return jw__fail(JW_EINVAL, "buffer too small for an inbox");
    memcpy(buf, "_INBOX.", 7);
    jw_status st = fill_random_token(buf + 7, 22);
    buf[st ? 0 : 29] = 0;
    return st;
}

static int needs_tls_ctx(const jw_conn *c)
{
    if (jw__tls_wanted(&c->opts))
        return 1;
    for (int i = 0; i < c->server_count; i++)
        if (c->servers[i].tls)
            return 1;
    return 0;
}

jw_status jw_conn_connect(const char *servers, const jw_opts *opts,
                          jw_conn **out)
{
    if (!out)
        return jw__fail(JW_EINVAL, "out is NULL");
    *out = NULL;
    if (jw__loop_in_callback())
        return jw__fail(JW_EINVAL, "cannot connect from a loop callback");
    jw_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    c->fd = c->notify_fd = -1;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->watch_mu, NULL);
    pthread_mutex_init(&c->ready_mu, NULL);
    jw__cond_init(&c->cond);
    jw_status st;
    if (opts) {
        st = jw__opts_copy(&c->opts, opts);
    } else {
        jw__opts_defaults(&c->opts);
        st = JW_OK;
    }
    if (st == JW_OK)
        st = jw__pool_init(c, servers);
    /* Certificates that do not load fail here, not per server. */
    if (st == JW_OK && needs_tls_ctx(c))
        st = jw__tls_ctx_new(&c->opts, &c->tls_ctx);
    if (st == JW_OK) {
        if (c->opts.loop) {
            c->loop = c->opts.loop;
            jw__loop_ref(c->loop);
        } else {
            st = jw__loop_private(&c->loop);
        }
    }
    if (st) {
        jw__conn_release(c);
        return st;
    }
    c->status = JW_CONN_CONNECTING;
    c->next_sid = 0;
    c->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c->rbuf_cap = READ_CHUNK;
    c->rbuf = malloc(c->rbuf_cap);
    memcpy(c->inbox_prefix, "_INBOX.", 7);
    st = fill_random_token(c->inbox_prefix + 7, 22);
    c->inbox_prefix[29] = '.';
    c->inbox_prefix_len = 30;
    jw__parser_init(&c->parser, 0, 0);
    struct event_base *base = c->loop->base;
    c->wake_ev = event_new(base, -1, 0, on_wake, c);
    c->timer_ev = evtimer_new(base, on_timer, c);
    c->ping_ev = event_new(base, -1, EV_PERSIST, on_ping_timer, c);
    c->lazy_ev = evtimer_new(base, on_lazy, c);
    if (st == JW_OK && (c->notify_fd < 0 || !c->rbuf || !c->wake_ev ||
                        !c->timer_ev || !c->ping_ev || !c->lazy_ev))
        st = jw__fail(JW_ENO_MEMORY, "could not set up the connection");
    if (st) {
        if (c->wake_ev)
            event_free(c->wake_ev);
        if (c->timer_ev)
            event_free(c->timer_ev);
        if (c->ping_ev)
            event_free(c->ping_ev);
        if (c->lazy_ev)
            event_free(c->lazy_ev);
        c->wake_ev = c->timer_ev = c->ping_ev = c->lazy_ev = NULL;
        jw__conn_release(c);
        return st;
    }

    pthread_mutex_lock(&c->mu);
    jw__conn_wake(c);
    int64_t per_server = c->opts.connect_timeout_ms + 1000;
    int64_t deadline = jw__deadline(per_server * c->server_count);
    while (c->status == JW_CONN_CONNECTING && !c->torn_down) {
        if (jw__loop_wait(c->loop, &c->cond, &c->mu, deadline))
            break;
    }
    /* With retry_on_failed_connect the connection is usable (publishes are
     * buffered) while the loop keeps trying. */
    int connected = c->status == JW_CONN_CONNECTED ||
                    c->status == JW_CONN_RECONNECTING;
    st = c->close_status ? c->close_status : JW_ECONNECT;
    char text[sizeof(c->close_text)];
    memcpy(text, c->close_text, sizeof(text));
    pthread_mutex_unlock(&c->mu);
    if (connected) {
        *out = c;
        return JW_OK;
    }
    jw_conn_free(c);
    return jw__fail(st, "connect failed: %s", text[0] ? text : "timed out");
}
