/*
 * The connection: its state machine on the loop thread (connect, INFO and
 * CONNECT, PING/PONG, drain, close) and the calls other threads make.
 *
 * Data flows one way. Inbound: socket -> parser -> on_proto -> subscription
 * or request waiter. Outbound: a user call appends to `out` under the lock
 * and wakes the loop only when `out` goes from idle to busy; the loop swaps
 * `out` for its private `wbuf` and writes that without the lock, so
 * publishers never wait for the socket.
 */
#include "engine.h"
#include "subject.h"

#include <errno.h>
#include <jansson.h>
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
#define MAX_EVENTS 1024

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void do_write(jw_conn *c);
static void start_connect(jw_conn *c);
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
    jw__map_free(&c->subs);
    jw__map_free(&c->requests);
    for (int i = 0; i < c->server_count; i++)
        jw__url_clear(&c->servers[i]);
    free(c->servers);
    if (c->notify_fd >= 0)
        close(c->notify_fd);
    pthread_mutex_destroy(&c->mu);
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

void jw__conn_schedule_write(jw_conn *c)
{
    if (!c->write_scheduled && !c->closing) {
        c->write_scheduled = 1;
        event_active(c->wake_ev, 0, 0);
    }
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
    if (st == JW_OK)
        *ping = ++c->pings;
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

/* ------------------------------------------------------------------------
 * Events
 */

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
                             : jw__loop_wait(c->loop, &c->cond, &c->mu,
                                             deadline);
        c->ev_waiters--;
        if (st) {
            st = jw__fail(JW_ETIMEOUT, "no event within %lld ms",
                          (long long)timeout_ms);
            break;
        }
    }
    if (c->ev_head) {
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

/* ------------------------------------------------------------------------
 * The loop side: sockets, handshake, protocol events
 */

static void enter(jw_conn *c)
{
    jw__loop_enter(c->loop);
}

static void close_socket(jw_conn *c)
{
    if (c->read_ev) {
        event_free(c->read_ev);
        c->read_ev = NULL;
    }
    if (c->write_ev) {
        event_free(c->write_ev);
        c->write_ev = NULL;
    }
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

/* A connect attempt failed: try the next server, or give up. */
static void connect_failed(jw_conn *c, jw_status why, const char *text)
{
    close_socket(c);
    snprintf(c->close_text, sizeof(c->close_text), "%s:%d: %s",
             c->servers[c->server_index].host,
             c->servers[c->server_index].port, text);
    c->close_status = why;
    if (++c->server_index < c->server_count) {
        start_connect(c);
        return;
    }
    char text_copy[sizeof(c->close_text)];
    memcpy(text_copy, c->close_text, sizeof(text_copy));
    teardown(c, why, text_copy);
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
    const jw__url *u = &c->servers[c->server_index];
    json_t *o = json_pack(
        "{s:b, s:b, s:b, s:s, s:s, s:i, s:b, s:b, s:b}", "verbose",
        c->opts.verbose, "pedantic", c->opts.pedantic, "tls_required", 0,
        "lang", "c", "version", JW_VERSION_STRING, "protocol", 1, "echo",
        !c->opts.no_echo, "headers", 1, "no_responders", 1);
    if (o && c->opts.name)
        json_object_set_new(o, "name", json_string(c->opts.name));
    const char *user = u->user ? u->user : c->opts.user;
    const char *pass = u->user ? u->password : c->opts.password;
    const char *token = u->token ? u->token : c->opts.token;
    if (o && user)
        json_object_set_new(o, "user", json_string(user));
    if (o && pass)
        json_object_set_new(o, "pass", json_string(pass));
    if (o && token)
        json_object_set_new(o, "auth_token", json_string(token));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text || jw__buf_append(&c->wbuf, "CONNECT ", 8) ||
        jw__buf_append(&c->wbuf, text, strlen(text)) ||
        jw__buf_append(&c->wbuf, "\r\nPING\r\n", 8)) {
        free(text);
        connect_failed(c, JW_ENO_MEMORY, "out of memory");
        return;
    }
    free(text);
    c->phase = JW__PHASE_HANDSHAKE;
    do_write(c);
}

static void process_info(jw_conn *c, const char *text, size_t len)
{
    json_error_t err;
    json_t *info = json_loadb(text, len, 0, &err);
    if (!info || !json_is_object(info)) {
        json_decref(info);
        return;
    }
    char *copy = strndup(text, len);
    pthread_mutex_lock(&c->mu);
    if (copy) {
        free(c->info_json);
        c->info_json = copy;
    }
    json_t *v = json_object_get(info, "max_payload");
    /* A negative limit is no limit we can honour: jw_conn_max_payload
     * promises 0 when unknown (found by fuzz/fuzz_info.c). */
    if (json_is_integer(v))
        c->max_payload = json_integer_value(v) > 0 ? json_integer_value(v) : 0;
    c->jetstream = json_is_true(json_object_get(info, "jetstream"));
    c->headers = json_is_true(json_object_get(info, "headers"));
    v = json_object_get(info, "version");
    if (json_is_string(v))
        snprintf(c->version, sizeof(c->version), "%s", json_string_value(v));
    pthread_mutex_unlock(&c->mu);
    int ldm = json_is_true(json_object_get(info, "ldm"));
    json_decref(info);
    if (ldm && c->phase == JW__PHASE_OPEN)
        jw__conn_emit(c, JW_EVENT_LAME_DUCK, JW_OK, NULL,
                      "server entered lame duck mode");
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

static void handshake_done(jw_conn *c)
{
    c->phase = JW__PHASE_OPEN;
    evtimer_del(c->timer_ev);
    const jw__url *u = &c->servers[c->server_index];
    pthread_mutex_lock(&c->mu);
    snprintf(c->url, sizeof(c->url), "%s://%s%s%s:%d", u->tls ? "tls" : "nats",
             strchr(u->host, ':') ? "[" : "", u->host,
             strchr(u->host, ':') ? "]" : "", u->port);
    c->status = JW_CONN_CONNECTED;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    struct timeval tv = {(time_t)(c->opts.ping_interval_ms / 1000),
                         (suseconds_t)(c->opts.ping_interval_ms % 1000) * 1000};
    event_add(c->ping_ev, &tv);
    do_write(c);
}

static void run_pong_actions(jw_conn *c, jw__pong_action *done);

static void got_pong(jw_conn *c)
{
    pthread_mutex_lock(&c->mu);
    c->pongs++;
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

static void route_msg(jw_conn *c, const jw__proto_event *ev)
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
    if (sub->is_inbox)
        jw__request_deliver(c, ev);
    else
        jw__sub_deliver(sub, ev);
    jw__sub_release(sub);
}

static int on_proto(void *arg, const jw__proto_event *ev)
{
    jw_conn *c = arg;
    switch (ev->op) {
    case JW__OP_MSG:
        route_msg(c, ev);
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
        process_info(c, ev->text, ev->text_len);
        if (c->phase == JW__PHASE_INFO)
            send_connect(c);
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

/* The connection broke after the handshake. Reconnecting comes later; for
 * now a lost connection is closed and says why. */
static void connection_lost(jw_conn *c, jw_status why, const char *text)
{
    jw__conn_emit(c, JW_EVENT_DISCONNECTED, why, NULL, "%s", text);
    teardown(c, why, text);
}

static void fail(jw_conn *c, jw_status why, const char *text)
{
    if (c->phase == JW__PHASE_OPEN)
        connection_lost(c, why, text);
    else
        connect_failed(c, why, text);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    jw_conn *c = arg;
    JW_UNUSED(what);
    enter(c);
    ssize_t n = recv(fd, c->rbuf, c->rbuf_cap, 0);
    if (n > 0) {
        c->dispatching = 1;
        int rc = jw__parser_feed(&c->parser, c->rbuf, (size_t)n, on_proto, c);
        c->dispatching = 0;
        if (c->teardown_pending)
            teardown(c, c->teardown_status, c->teardown_text);
        else if (rc == JW_EPROTOCOL)
            fail(c, JW_EPROTOCOL, c->parser.error);
        else if (rc == JW_ENO_MEMORY)
            fail(c, JW_ENO_MEMORY, "out of memory");
        else if (rc) {
            char text[sizeof(stop_text)];
            memcpy(text, stop_text, sizeof(text));
            fail(c, stop_status, text);
        } else if (c->phase == JW__PHASE_HANDSHAKE && c->wbuf.len) {
            do_write(c); /* a PONG answered during the handshake */
        }
    } else if (n == 0) {
        fail(c, JW_EIO, "connection closed by the server");
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        fail(c, JW_EIO, strerror(errno));
    }
    jw__loop_leave();
}

static void do_write(jw_conn *c)
{
    for (;;) {
        if (c->wpos == c->wbuf.len) {
            c->wbuf.len = c->wpos = 0;
            if (c->phase == JW__PHASE_OPEN) {
                pthread_mutex_lock(&c->mu);
                if (c->out.len) {
                    jw__buf tmp = c->out;
                    c->out = c->wbuf;
                    c->wbuf = tmp;
                    if (c->out_waiters)
                        pthread_cond_broadcast(&c->cond);
                } else {
                    c->write_scheduled = 0;
                }
                pthread_mutex_unlock(&c->mu);
            }
            if (!c->wbuf.len)
                return;
        }
        ssize_t n = send(c->fd, c->wbuf.data + c->wpos, c->wbuf.len - c->wpos,
                         MSG_NOSIGNAL);
        if (n > 0) {
            c->wpos += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_add(c->write_ev, NULL);
            return;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            fail(c, JW_EIO, n < 0 ? strerror(errno) : "write failed");
            return;
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
    /* Stale when the server answered none of our last PINGs; any PONG
     * (flush or keep-alive) proves it alive. */
    int stale = c->pings - c->pongs > (uint64_t)c->opts.max_outstanding_pings;
    if (!stale)
        jw__conn_queue_ping(c, &ping);
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
    } else if (c->drain_deadline_ms) {
        if (jw__now_ms() >= c->drain_deadline_ms)
            teardown(c, JW_ETIMEOUT, "drain timed out");
        else
            arm_timer(c, c->drain_deadline_ms - jw__now_ms());
    }
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
    pthread_mutex_unlock(&c->mu);
    if (commands & JW__CMD_CLOSE) {
        teardown(c, JW_OK, "closed by the user");
    } else {
        if ((commands & JW__CMD_DRAIN) && c->drain_deadline_ms)
            arm_timer(c, c->drain_deadline_ms - jw__now_ms());
        if (c->phase == JW__PHASE_IDLE && c->status == JW_CONN_CONNECTING)
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
            snprintf(c->teardown_text, sizeof(c->teardown_text), "%s",
                     text);
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
    c->timer_ev = c->ping_ev = NULL;
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
            /* The server has seen every UNSUB: nothing more arrives. Now
             * write what publishers queued, and close once it is out. */
            uint64_t ping;
            pthread_mutex_lock(&c->mu);
            jw__conn_close_subs(c, JW_ECONNECTION_CLOSED, 1);
            if (c->status == JW_CONN_DRAINING_SUBS) {
                c->status = JW_CONN_DRAINING_PUBS;
                if (jw__conn_queue_ping(c, &ping) == JW_OK)
                    jw__conn_on_pong(c, ping, JW__PA_DRAIN_PUBS, NULL);
            }
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
    jw__cond_init(&c->cond);
    jw_status st;
    if (opts) {
        st = jw__opts_copy(&c->opts, opts);
    } else {
        jw__opts_defaults(&c->opts);
        st = JW_OK;
    }
    if (st == JW_OK)
        st = jw__urls_parse(servers, &c->servers, &c->server_count);
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
    if (st == JW_OK && (c->notify_fd < 0 || !c->rbuf || !c->wake_ev ||
                        !c->timer_ev || !c->ping_ev))
        st = jw__fail(JW_ENO_MEMORY, "could not set up the connection");
    if (st) {
        if (c->wake_ev)
            event_free(c->wake_ev);
        if (c->timer_ev)
            event_free(c->timer_ev);
        if (c->ping_ev)
            event_free(c->ping_ev);
        c->wake_ev = c->timer_ev = c->ping_ev = NULL;
        jw__conn_release(c);
        return st;
    }

    pthread_mutex_lock(&c->mu);
    event_active(c->wake_ev, 0, 0);
    int64_t per_server = c->opts.connect_timeout_ms + 1000;
    int64_t deadline = jw__deadline(per_server * c->server_count);
    while (c->status == JW_CONN_CONNECTING && !c->torn_down) {
        if (jw__loop_wait(c->loop, &c->cond, &c->mu, deadline))
            break;
    }
    int connected = c->status == JW_CONN_CONNECTED;
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

jw_status jw__conn_queue_pub(jw_conn *c, const char *subject,
                             size_t subject_len, const char *reply,
                             size_t reply_len, const char *hdr,
                             size_t hdr_len, const void *data, size_t len)
{
    if (jw__buf_reserve(&c->out, subject_len + reply_len + hdr_len + len + 64))
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    jw__buf *b = &c->out;
    char *p = b->data + b->len;
    if (hdr_len) {
        memcpy(p, "HPUB ", 5);
        p += 5;
    } else {
        memcpy(p, "PUB ", 4);
        p += 4;
    }
    memcpy(p, subject, subject_len);
    p += subject_len;
    *p++ = ' ';
    if (reply_len) {
        memcpy(p, reply, reply_len);
        p += reply_len;
        *p++ = ' ';
    }
    if (hdr_len) {
        p += jw__u64_to_dec(p, hdr_len);
        *p++ = ' ';
    }
    p += jw__u64_to_dec(p, hdr_len + len);
    *p++ = '\r';
    *p++ = '\n';
    if (hdr_len) {
        memcpy(p, hdr, hdr_len);
        p += hdr_len;
    }
    if (len) {
        memcpy(p, data, len);
        p += len;
    }
    *p++ = '\r';
    *p++ = '\n';
    b->len = (size_t)(p - b->data);
    c->out_msgs++;
    c->out_bytes += hdr_len + len;
    jw__conn_schedule_write(c);
    return JW_OK;
}

jw_status jw__conn_publish(jw_conn *c, const char *subject, const char *reply,
                           const char *hdr, size_t hdr_len, const void *data,
                           size_t len)
{
    if (!c)
        return jw__fail(JW_EINVAL, "conn is NULL");
    if (!subject)
        return jw__fail(JW_EINVALID_SUBJECT, "subject is NULL");
    if (len && !data)
        return jw__fail(JW_EINVAL, "data is NULL but len is %zu", len);
    size_t subject_len = strlen(subject);
    size_t reply_len = reply ? strlen(reply) : 0;
    jw_status st = jw__subject_check(subject, subject_len, 0);
    if (st)
        return st;
    if (reply_len && (st = jw__subject_check(reply, reply_len, 0)))
        return st;
    pthread_mutex_lock(&c->mu);
    st = jw__conn_check_open(c, 1);
    if (st == JW_OK && c->max_payload > 0 &&
        hdr_len + len > (uint64_t)c->max_payload)
        st = jw__fail(JW_EMAX_PAYLOAD,
                      "message of %zu bytes exceeds the server's "
                      "max_payload of %lld",
                      hdr_len + len, (long long)c->max_payload);
    /* Back-pressure: past max_pending_out the publisher waits for the
     * socket, so memory stays bounded. The loop thread never waits. */
    while (st == JW_OK && c->out.len >= (size_t)c->opts.max_pending_out &&
           !jw__loop_in_callback()) {
        c->out_waiters++;
        jw__loop_wait(c->loop, &c->cond, &c->mu, jw__deadline(100));
        c->out_waiters--;
        st = jw__conn_check_open(c, 1);
    }
    if (st == JW_OK)
        st = jw__conn_queue_pub(c, subject, subject_len, reply, reply_len,
                                hdr, hdr_len, data, len);
    pthread_mutex_unlock(&c->mu);
    return st;
}

jw_status jw_conn_publish(jw_conn *c, const char *subject, const void *data,
                          size_t len)
{
    return jw__conn_publish(c, subject, NULL, NULL, 0, data, len);
}

jw_status jw_conn_publish_reply(jw_conn *c, const char *subject,
                                const char *reply, const void *data,
                                size_t len)
{
    return jw__conn_publish(c, subject, reply, NULL, 0, data, len);
}

/* Wait until PING `ping` is answered (mu held). */
static jw_status wait_pong(jw_conn *c, uint64_t ping, int64_t timeout_ms)
{
    int64_t deadline = jw__deadline(timeout_ms);
    while (c->pongs < ping) {
        if (c->status == JW_CONN_CLOSED)
            return jw__fail(JW_ECONNECTION_CLOSED, "connection closed");
        if (jw__loop_wait(c->loop, &c->cond, &c->mu, deadline))
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
            event_active(c->wake_ev, 0, 0);
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
    if (timeout_ms < 0)
        timeout_ms = c->opts.drain_timeout_ms;
    pthread_mutex_lock(&c->mu);
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
        event_active(c->wake_ev, 0, 0);
    int64_t deadline = jw__deadline(timeout_ms + 1000);
    while (!c->torn_down) {
        if (jw__loop_wait(c->loop, &c->cond, &c->mu, deadline))
            break;
    }
    int timed_out = !c->torn_down || c->close_status == JW_ETIMEOUT;
    pthread_mutex_unlock(&c->mu);
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

/* ------------------------------------------------------------------------
 * Getters
 */

jw_conn_status jw_conn_status_get(const jw_conn *c)
{
    if (!c)
        return JW_CONN_CLOSED;
    jw_conn *m = (jw_conn *)c;
    pthread_mutex_lock(&m->mu);
    jw_conn_status s = m->status;
    pthread_mutex_unlock(&m->mu);
    return s;
}

int jw_conn_is_connected(const jw_conn *c)
{
    return jw_conn_status_get(c) == JW_CONN_CONNECTED;
}

static jw_status copy_out(jw_conn *c, const char *text, char *buf,
                          size_t size)
{
    if (!c || !buf || !size)
        return jw__fail(JW_EINVAL, "conn and buf must not be NULL");
    pthread_mutex_lock(&c->mu);
    snprintf(buf, size, "%s", text ? text : "");
    pthread_mutex_unlock(&c->mu);
    return JW_OK;
}

jw_status jw_conn_connected_url(jw_conn *c, char *buf, size_t size)
{
    return copy_out(c, c && c->status == JW_CONN_CONNECTED ? c->url : "", buf,
                    size);
}

jw_status jw_conn_server_info(jw_conn *c, char *buf, size_t size)
{
    return copy_out(c, c ? c->info_json : NULL, buf, size);
}

jw_status jw_conn_server_version(jw_conn *c, char *buf, size_t size)
{
    return copy_out(c, c ? c->version : NULL, buf, size);
}

int64_t jw_conn_max_payload(const jw_conn *c)
{
    return c ? c->max_payload : 0;
}

int jw_conn_jetstream_enabled(const jw_conn *c)
{
    return c ? c->jetstream : 0;
}

uint64_t jw_conn_stat(const jw_conn *c, jw_stat which)
{
    if (!c)
        return 0;
    uint64_t value = 0;
    jw_conn *m = (jw_conn *)c;
    pthread_mutex_lock(&m->mu);
    if (which == JW_STAT_OUT_MSGS)
        value = m->out_msgs;
    else if (which == JW_STAT_OUT_BYTES)
        value = m->out_bytes;
    pthread_mutex_unlock(&m->mu);
    switch (which) {
    case JW_STAT_IN_MSGS:
        return atomic_load(&c->in_msgs);
    case JW_STAT_IN_BYTES:
        return atomic_load(&c->in_bytes);
    case JW_STAT_OUT_MSGS:
    case JW_STAT_OUT_BYTES:
        return value;
    case JW_STAT_RECONNECTS:
        return atomic_load(&c->reconnects);
    }
    return 0;
}
