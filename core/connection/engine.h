/*
 * The engine's objects and the functions its files share.
 *
 * Locking: a connection's `mu` guards its state, outbound buffer, sid map,
 * request map and event queue. A subscription's `mu` guards its message
 * queue. When both are needed, take the connection's first. The loop thread
 * never runs user code while holding either.
 */
#ifndef JW_ENGINE_H
#define JW_ENGINE_H

#include "buf.h"
#include "headers.h"
#include "internal.h"
#include "map.h"
#include "parser.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- loops ---- */

enum jw__loop_mode { JW__LOOP_OWN_THREAD, JW__LOOP_DRIVEN, JW__LOOP_EXTERNAL };

/* What a host poller watches for a driven loop (jw_loop_fd): an epoll set
 * of the loop's sockets as its events want them, plus an eventfd that the
 * wake-ups of its connections write to. */
#define JW__HOST_FDS 16

struct jw_loop {
    atomic_int refs;
    enum jw__loop_mode mode;
    struct event_base *base;
    int owns_base;
    pthread_t thread;
    int has_thread;
    atomic_int detached; /* released on its own thread: it frees itself */
    /* Host polling (driven loops, once jw_loop_fd was asked): the epoll
     * set, the wake-up eventfd, the thread that runs the loop (the others
     * wait for it), the sockets in the set and when the next timer is
     * due (monotonic us, -1: none). */
    int host_fd;
    int kick_fd;
    atomic_int kicked;
    /* Kicks taken (kicked seen set) less eventfd writes read: above 0,
     * a kicker's write is still to be read (loop.c, run_once). Host
     * thread only. */
    int64_t kick_owed;
    pthread_t host_thread;
    atomic_int host_polled;
    int n_polled;
    struct {
        int fd;
        short what;
    } polled[JW__HOST_FDS];
    int64_t next_timer_us;
};

/* Wake whoever runs the loop: a host poller (its fd becomes readable) or
 * the loop's thread (event_active on ev, which may be NULL). */
void jw__loop_kick(jw_loop *loop);

jw_status jw__loop_private(jw_loop **out); /* own-thread loop for one conn */
void jw__loop_ref(jw_loop *loop);
void jw__loop_release(jw_loop *loop);

/* Mark that this thread runs a callback of `loop` (NULL when it returns):
 * waiting calls made from there must fail instead of deadlocking. */
void jw__loop_enter(jw_loop *loop);
void jw__loop_leave(void);
/* 1 when the calling thread is inside a callback of any jetwire loop. */
int jw__loop_in_callback(void);

/* Wait on cond (mu held) until signalled or until deadline_us (monotonic,
 * < 0: forever). A driven loop is run instead of sleeping. Returns JW_OK
 * after a wake-up (the caller re-checks its condition) or JW_ETIMEOUT. */
jw_status jw__loop_wait(jw_loop *loop, pthread_cond_t *cond,
                        pthread_mutex_t *mu, int64_t deadline_us);

/* jw__loop_wait for the waits a user call makes for the server: with a
 * wait check set on the thread (jw_wait_check_set) it wakes when the check
 * is due and runs it without mu held; JW_EINTERRUPTED when the check says
 * stop. Callers word that status as they word a timeout. */
jw_status jw__loop_wait_user(jw_loop *loop, pthread_cond_t *cond,
                             pthread_mutex_t *mu, int64_t deadline_us);

/* Deadline in monotonic microseconds for a timeout in ms (< 0: none). */
int64_t jw__deadline(int64_t timeout_ms);

void jw__cond_init(pthread_cond_t *cond); /* monotonic clock */

/* ---- options ---- */

struct jw_opts {
    char *name, *user, *password, *token;
    char *lang, *lang_version; /* what CONNECT says the client is */
    char *nkeys_seed, *user_credentials; /* file paths */
    char *tls_ca_file, *tls_cert_file, *tls_key_file, *tls_hostname;
    char *servers; /* comma-separated, added after jw_conn_connect's list */
    int no_echo, verbose, pedantic;
    int tls_insecure_skip_verify;
    int no_randomize, allow_reconnect, retry_on_failed_connect;
    int ignore_discovered_servers;
    int64_t max_reconnect_attempts; /* per server; < 0: forever */
    int64_t reconnect_time_wait_ms;
    int64_t reconnect_jitter_ms, reconnect_jitter_tls_ms;
    int64_t reconnect_buf_size; /* <= 0: no buffering while reconnecting */
    int64_t connect_timeout_ms;
    int64_t ping_interval_ms;
    int64_t max_outstanding_pings;
    int64_t drain_timeout_ms;
    int64_t delivery_threads;
    int64_t pending_msgs_limit;
    int64_t pending_bytes_limit;
    int64_t max_pending_out;
    struct {
        jw_event_cb cb;
        void *arg;
    } on[7]; /* indexed by jw_event_kind */
    jw_loop *loop;
};

void jw__opts_defaults(jw_opts *o);
/* Add the NKey/JWT fields (nkey or jwt, and sig of the nonce) the options
 * ask for to a CONNECT object (auth.c). */
struct json_t;
jw_status jw__auth_connect_fields(const jw_opts *o, const char *nonce,
                                  struct json_t *connect);
jw_status jw__opts_copy(jw_opts *dst, const jw_opts *src);
void jw__opts_clear(jw_opts *o);

/* ---- servers ---- */

typedef struct jw__url {
    char *host; /* without brackets */
    int port;
    char *user, *password, *token;
    int tls;
    int implicit; /* learned from an INFO's connect_urls */
    int attempts; /* reconnect attempts since it last worked */
    int auth_refusals; /* AUTH failures in a row, reconnecting */
} jw__url;

/* Parse "nats://[user[:pass]@]host[:port]" or "host:port" etc. */
jw_status jw__url_parse(const char *text, size_t len, jw__url *out);
void jw__url_clear(jw__url *u);
/* Split a comma-separated list into an array of parsed URLs. */
jw_status jw__urls_parse(const char *list, jw__url **out, int *count);
/* "nats://host:port" (brackets around an IPv6 host) into buf. */
void jw__url_format(const jw__url *u, char *buf, size_t size);

/* The server pool (pool.c): the URLs given to connect and in the options,
 * plus those the servers announce. Changed on the loop thread under mu. */
jw_status jw__pool_init(jw_conn *conn, const char *servers);
void jw__pool_free(jw_conn *conn);
/* Merge an INFO's connect_urls (a jansson array); returns how many servers
 * were new (mu held). */
int jw__pool_merge(jw_conn *conn, const void *connect_urls);
/* Forget server i; the one in use moves back so the next pick is right. */
void jw__pool_remove(jw_conn *conn, int i);
/* A pseudo-random number for shuffling and jitter (loop thread). */
uint64_t jw__pool_random(jw_conn *conn);

/* ---- messages ---- */

enum {
    JW__MSG_RECEIVED = 1, /* one block: subject, reply, headers, data */
    JW__MSG_BUILT = 2     /* made by jw_msg_new: parts owned separately */
};

typedef struct jw__hdr_index {
    int count;
    const char **names; /* NUL-terminated copies, in one allocation */
    const char **values;
} jw__hdr_index;

struct jw_msg {
    struct jw_msg *next; /* queue link */
    int kind;
    int js_acked;  /* a terminal JetStream ack was sent (js.c) */
    size_t memory; /* heap bytes a received one holds (pending limits) */
    jw_conn *conn; /* referenced when the message has a reply */
    const char *subject;
    const char *reply;
    const char *hdr; /* raw header block, NULL when none */
    size_t hdr_len;
    const char *data;
    size_t data_len;
    jw__hdr_index *index;  /* parsed headers, made on first access */
    jw__hdr_builder build; /* JW__MSG_BUILT: headers being added */
};

/* One allocation holding a received message (ev is MSG/HMSG). */
jw_msg *jw__msg_from_event(const jw__proto_event *ev, jw_conn *conn);
/* What a malloc of n bytes takes from the heap: glibc's chunk, the
 * request plus one size word rounded up to 16 bytes and 32 at least (on
 * 64-bit; other allocators round to size classes of the same order). */
static inline size_t jw__heap_size(size_t n)
{
    size_t chunk = (n + sizeof(size_t) + 15) & ~(size_t)15;
    return chunk < 32 ? 32 : chunk;
}
/* Size counted against pending-byte limits: all the memory a queued
 * message holds (its struct, subject, reply, headers and payload, as the
 * heap allocated them), so that a limit bounds the process's growth. */
static inline size_t jw__msg_size(const jw_msg *m)
{
    return m->memory;
}

/* ---- subscriptions ---- */

enum jw__sub_state {
    JW__SUB_ACTIVE = 0,
    JW__SUB_DRAINING, /* UNSUB sent, messages may still arrive */
    JW__SUB_CLOSED    /* nothing more arrives; queue still readable */
};

struct jw_sub {
    atomic_int refs;
    jw_conn *conn; /* referenced */
    uint64_t sid;
    char *subject, *queue;
    int is_inbox; /* the connection's shared request inbox */
    jw_msg_cb cb;
    void *cb_arg;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    enum jw__sub_state state;
    jw_status closed_status; /* what next() says once closed and empty */
    int user_freed;
    jw_msg *head, *tail;
    int64_t pending_msgs, pending_bytes;
    int64_t limit_msgs, limit_bytes;
    int slow; /* in a slow-consumer episode */
    int waiters;
    int in_handler; /* cb is running for this subscription */
    atomic_uint_fast64_t delivered, dropped;
    /* Received and thrown away unhandled: queued when the subscription
     * closed without its queue, or in a delivery batch after that. With
     * delivered and dropped it tells a service whether every request it
     * got was dealt with (core/service). */
    atomic_uint_fast64_t discarded;
    uint64_t max; /* auto-unsubscribe after this many (0: none) */
    /* A handler subscription on a loop jetwire runs itself: the loop
     * queues its messages like a pulled one's and `thread` hands them to
     * cb (sub.c, "Delivery threads"). Set before the sid is mapped. */
    int threaded;
    pthread_t thread;
    atomic_int discard; /* closed without its queue: hand out no more */
    /* With the connection's delivery_threads option, a handler
     * subscription is `pooled` (and threaded, for the loop): it has no
     * thread of its own, and is `listed` on the pool's ready list (or
     * being delivered by one of the pool's threads) while it has messages
     * or has closed unfinished (delivery.c). listed and finished belong to
     * mu; ready_next to the pool's lock. */
    int pooled, listed, finished;
    jw_sub *ready_next;
    /* jw_sub_set_tag: the tag belongs to mu; tag_listed (the tag as
     * listed, 0: not listed) and the links of the connection's ready list
     * to its ready_mu. */
    uint64_t tag, tag_listed;
    jw_sub *tag_prev, *tag_next;
};

void jw__sub_release(jw_sub *sub);
/* Loop thread, inside a read: a MSG to its subscription (a handler runs
 * now; a pulled subscription's run of messages is staged) or to the
 * request inbox. */
void jw__conn_route_msg(jw_conn *c, const jw__proto_event *ev);
/* Loop thread: queue the staged run (see stage_sub). Before any other
 * protocol operation and at the end of each read, so a PONG (the end of a
 * flush or a drain) always comes after the messages before it. */
void jw__conn_stage_flush(jw_conn *c);
/* Close the subscription: keep (drain) or discard its queue. */
void jw__sub_close(jw_sub *sub, jw_status why, int keep_queue);
/* A handler that runs inline on the loop thread whatever the loop (the
 * engine's own short handlers, such as JetStream's async acks). */
jw_status jw__conn_subscribe_inline(jw_conn *c, const char *subject,
                                    jw_msg_cb cb, void *arg, jw_sub **out);
/* Delivery of handler subscriptions on a loop of jetwire's own thread
 * (delivery.c): a thread per subscription, or a pool of the connection's
 * delivery_threads. jw__delivery_start (conn mu held) is called before
 * the sid can be routed to; jw__delivery_end after jw_sub_free closed it.
 * jw__delivery_wake (sub mu held) lists a pooled subscription whose queue
 * filled or that closed (one with a thread of its own is woken through
 * sub->cond), and wakes a pool thread for it if now; else (the loop,
 * inside a read) it hands the read's list to the pool at the end of the
 * read, and wakes one thread for it (jw__delivery_kick): not a lock hold
 * and a thread switch per message. jw__delivery_pool_free ends a connection's pool
 * (conn_destroy). */
jw_status jw__delivery_start(jw_sub *sub);
void jw__delivery_end(jw_sub *sub);
void jw__delivery_wake(jw_sub *sub, int now);
void jw__delivery_kick(jw_conn *c);
typedef struct jw__delivery_pool jw__delivery_pool;
void jw__delivery_pool_free(jw__delivery_pool *pool);
/* Pop up to max messages (and no more once they count max_bytes) from
 * sub's queue (sub mu held); the subscription whose handlers the calling
 * thread runs (NULL: none). */
int jw__sub_pop(jw_sub *sub, jw_msg **msgs, int max, size_t max_bytes);
void jw__sub_set_delivering(jw_sub *sub);
jw_sub *jw__sub_delivering(void);

/* Whether the calling thread is a delivery thread of c's handlers. */
int jw__sub_delivering_for(const jw_conn *c);

/* ---- events ---- */

struct jw_event {
    struct jw_event *next;
    jw_event_kind kind;
    jw_status status;
    jw_sub *sub; /* referenced */
    char text[256];
};

/* ---- watchers of a connection's losses ----
 * A part of the engine with requests of its own on the connection, whose
 * answers could only come to the socket that was lost (JetStream's async
 * publishes), hears of the loss here: fn(arg, JW_ENOT_CONNECTED) when an
 * open connection lost its socket and will reconnect, before the
 * DISCONNECTED event, and fn(arg, JW_ECONNECTION_CLOSED) when it closes,
 * before CLOSED. fn runs on the loop thread, with none of the
 * connection's locks held but watch_mu, and must not add or remove
 * watchers. Once jw__conn_watch_remove returned, w's fn is not running and
 * will not run. Lock order: watch_mu before a watcher's own locks, so
 * neither call may be made while holding one of those. */
typedef struct jw__conn_watch {
    struct jw__conn_watch *next;
    void (*fn)(void *arg, jw_status why);
    void *arg;
} jw__conn_watch;

void jw__conn_watch_add(jw_conn *conn, jw__conn_watch *w);
void jw__conn_watch_remove(jw_conn *conn, jw__conn_watch *w);
/* Loop thread, no lock held: tell every watcher (events.c). */
void jw__conn_watchers_run(jw_conn *conn, jw_status why);

/* ---- connections ---- */

enum jw__phase {
    JW__PHASE_IDLE,      /* no socket */
    JW__PHASE_TCP,       /* connecting the socket */
    JW__PHASE_INFO,      /* waiting for the server's INFO */
    JW__PHASE_TLS,       /* TLS handshake after INFO */
    JW__PHASE_HANDSHAKE, /* CONNECT + PING sent, waiting for PONG */
    JW__PHASE_OPEN       /* handshake done */
};

/* Something to do once the server answered a given PING. */
typedef struct jw__pong_action {
    struct jw__pong_action *next;
    uint64_t ping; /* the PING's number */
    int kind;      /* JW__PA_* */
    jw_sub *sub;   /* referenced, for JW__PA_SUB_DRAINED */
} jw__pong_action;

enum { JW__PA_SUB_DRAINED = 1, JW__PA_DRAIN_SUBS, JW__PA_DRAIN_PUBS };

/* Commands from other threads, run by the loop when it wakes. */
enum {
    JW__CMD_FLUSH = 1,
    JW__CMD_CLOSE = 2,
    JW__CMD_DRAIN = 4,
    JW__CMD_LAZY = 8 /* arm lazy_ev */
};

/* When a queued publish goes out (jw__conn_queue_pub's `now`): the loop
 * writes it as soon as it runs; the caller writes it if the socket is
 * free (a round trip waits on it); or within JW__LAZY_MS, with whatever
 * else is queued by then (acks: many to a write, fewer reads for the
 * server, and no wake-up of the loop per ack). */
enum { JW__SEND_LOOP = 0, JW__SEND_NOW = 1, JW__SEND_LAZY = 2 };
#define JW__LAZY_MS 1

struct jw_conn {
    atomic_int refs;
    jw_loop *loop;
    jw_opts opts;
    jw__url *servers;
    int server_count, server_cap;
    int server_index; /* the one in use */
    uint64_t random_state;

    pthread_mutex_t mu;
    pthread_cond_t cond; /* status, pongs, outbound room */
    jw_conn_status status;
    jw_status close_status; /* why it closed (JW_OK: by the user) */
    char close_text[256];
    int commands;       /* JW__CMD_* waiting for the loop */
    int torn_down;      /* the loop released the socket and events */
    int free_pending;   /* no references left: free once torn down */
    int closing;        /* teardown began: do not wake the loop */

    /* Outbound: publishers append to `out` under mu; the loop swaps it with
     * `wbuf` and writes `wbuf` without the lock. */
    jw__buf out;
    jw__buf wbuf;
    size_t wpos;
    int write_scheduled; /* the loop will look at `out` again */
    /* Latency-sensitive frames (requests, replies) may be sent by the
     * calling thread itself while the socket is plain TCP (direct_ok) and
     * the loop has nothing in flight (!wbuf_busy): one thread hand-off less
     * per round trip. Both under mu; the loop reads wbuf and wpos under mu
     * whenever wbuf_busy is 0. */
    int direct_ok;
    int wbuf_busy;
    int out_waiters;     /* publishers waiting for room */

    /* Loop-thread state. */
    enum jw__phase phase;
    int fd;
    struct jw__tls_ctx *tls_ctx; /* made once, when TLS is first needed */
    struct jw__tls *tls;         /* the TLS session on fd, or NULL */
    int tls_write_wants_read;    /* a TLS write waits for readability */
    struct event *read_ev, *write_ev, *wake_ev, *ping_ev, *timer_ev;
    struct event *lazy_ev; /* writes lazy publishes (JW__SEND_LAZY) */
    int lazy_armed;        /* lazy_ev is (to be) pending; under mu */
    jw__parser parser;
    char *rbuf;
    size_t rbuf_cap;
    int64_t handshake_deadline_ms;
    int dispatching; /* inside read processing */
    /* A read's messages in a row for one pulled subscription, queued
     * together (jw__conn_route_msg, jw__conn_stage_flush): the
     * subscription (with a reference), the list and the delivered count
     * of its first, and the bytes it counts (a run is queued once it
     * counts STAGE_MAX_BYTES, sub.c: what waits here, where the pending
     * limits do not look yet, stays small). Loop thread only; empty
     * outside jw__parser_feed. */
    jw_sub *stage_sub;
    jw_msg *stage_head, *stage_tail;
    uint64_t stage_first;
    size_t stage_bytes;
    int teardown_pending; /* asked for while dispatching: done after */
    int fail_pending;     /* the socket failed while dispatching */
    int lame_duck_move;   /* leave this server once dispatching ends */
    int ever_connected;   /* a handshake completed once */
    int round_tries;      /* servers tried since the last wait */
    int reconnect_waiting; /* timer_ev holds the wait between rounds */
    jw_status teardown_status;
    char teardown_text[256];

    /* From the server's INFO. */
    char *info_json;
    int64_t max_payload;
    int jetstream, headers;
    int tls_required, tls_available;
    char version[32];
    char nonce[128]; /* to sign for NKey/JWT auth; "" when none */
    char url[300];

    /* PING/PONG accounting: PONGs come back in order, so a PING's number
     * is answered once pongs >= it. */
    uint64_t pings, pongs;
    uint64_t out_pings;  /* PINGs in `out`, not yet handed to the socket */
    int64_t keepalive_out; /* keep-alive PINGs since the last PONG */
    uint64_t lost_pings; /* PINGs up to this number died with a socket */
    int64_t drain_deadline_ms;
    jw__pong_action *actions;
    /* Delivery threads of handler subscriptions still running, and a
     * drain whose subscriptions are drained but whose handlers are still
     * working through what came before: the last one to finish moves the
     * drain on to the publishes (jw__conn_drain_pubs). */
    int delivering;
    int drain_after_handlers;
    /* The handler subscriptions' shared delivery threads, made with the
     * first of them when opts.delivery_threads > 0 (delivery.c); atomic:
     * the loop looks at it after each read. */
    _Atomic(jw__delivery_pool *) delivery_pool;
    /* Pooled subscriptions the loop listed during the current read,
     * handed to the pool at its end (jw__delivery_kick): loop thread
     * only. */
    jw_sub *listed_head, *listed_tail;

    /* Subscriptions by sid; request waiters by id. */
    jw__map subs;
    uint64_t next_sid;
    jw_sub *inbox_sub;
    char inbox_prefix[48]; /* "_INBOX.<22 chars>." */
    size_t inbox_prefix_len;
    jw__map requests;
    uint64_t next_request;
    struct jw__completion *done_head, *done_tail; /* async requests */

    /* Tagged subscriptions with messages (jw_conn_ready), oldest first;
     * lock order: a subscription's mu before ready_mu. */
    pthread_mutex_t ready_mu;
    jw_sub *ready_head, *ready_tail;

    /* Watchers of the connection's losses (jw__conn_watch_add). */
    pthread_mutex_t watch_mu;
    jw__conn_watch *watchers;

    /* Events for jw_conn_next_event, and the readable fd. */
    jw_event *ev_head, *ev_tail;
    int ev_count, ev_waiters;
    int notify_fd;
    atomic_int notify_armed;

    /* Inbound counters have one writer, the loop; outbound ones change
     * under mu. Neither needs a locked instruction per message. */
    atomic_uint_fast64_t in_msgs, in_bytes, reconnects;
    uint64_t out_msgs, out_bytes;
};

void jw__conn_ref(jw_conn *conn);
void jw__conn_release(jw_conn *conn);

/* Check a handle and the connection's state for a user call: JW_OK, or
 * JW_ECONNECTION_CLOSED / JW_EDRAINING (mu held). */
jw_status jw__conn_check_open(jw_conn *conn, int allow_draining);

/* Append protocol text to `out` and make sure the loop will write it (mu
 * held). Returns JW_ENO_MEMORY when the buffer could not grow. */
jw_status jw__conn_queue(jw_conn *conn, const char *p, size_t n);
/* After appending directly to conn->out (mu held): schedule a write. */
void jw__conn_schedule_write(jw_conn *conn);
/* Have the loop write what is queued within JW__LAZY_MS (mu held). */
void jw__conn_schedule_lazy(jw_conn *conn);
/* Make the loop run the connection's commands (wake_ev), whoever runs it:
 * its thread, or a host polling it (jw__loop_kick). */
void jw__conn_wake(jw_conn *conn);
/* Send what `out` holds now from this thread when the loop is idle, else
 * schedule the loop's write (mu held). */
void jw__conn_send_now(jw_conn *conn);

/* Append a PUB/HPUB for these parts to `out` (mu held); with `now`, a
 * round trip waits on it: jw__conn_send_now instead of the loop's write. */
jw_status jw__conn_queue_pub(jw_conn *conn, const char *subject,
                             size_t subject_len, const char *reply,
                             size_t reply_len, const char *hdr,
                             size_t hdr_len, const void *data, size_t len,
                             int now);

/* handshake.c: append the CONNECT for the server in use, and the PING
 * whose PONG ends the handshake, to out (loop thread); JW_OK, or why not
 * (credentials that cannot be signed, no memory). */
jw_status jw__conn_hello(jw_conn *conn, jw__buf *out);
/* Take in what an INFO says (loop thread; takes mu); -1 when it is not a
 * JSON object. */
int jw__conn_take_info(jw_conn *conn, const char *text, size_t len);

/* Validate and publish (takes mu); `now` as for jw__conn_queue_pub. */
jw_status jw__conn_publish(jw_conn *conn, const char *subject,
                           const char *reply, const char *hdr, size_t hdr_len,
                           const void *data, size_t len, int now);

/* Queue an event: run the handler (loop thread), keep it for pulling. */
void jw__conn_emit(jw_conn *conn, jw_event_kind kind, jw_status status,
                   jw_sub *sub, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Make the readable fd readable (once per arming). */
void jw__conn_notify(jw_conn *conn);

/* A PING numbered on return in *ping (mu held). */
jw_status jw__conn_queue_ping(jw_conn *conn, uint64_t *ping);
/* Register an action for when PING `ping` is answered (mu held). */
jw_status jw__conn_on_pong(jw_conn *conn, uint64_t ping, int kind,
                           jw_sub *sub);
/* A drain's subscriptions are done: write what publishers queued, then
 * close (mu held; any thread). */
void jw__conn_drain_pubs(jw_conn *conn);

/* A finished asynchronous request, waiting for jw_conn_request_poll. */
typedef struct jw__completion {
    struct jw__completion *next;
    uint64_t id;
    jw_status status;
    jw_msg *reply;
} jw__completion;

/* Request mux (request.c). */
void jw__request_free_completions(jw_conn *conn); /* conn being destroyed */
void jw__request_deliver(jw_conn *conn, const jw__proto_event *ev);
void jw__request_fail_all(jw_conn *conn, jw_status why); /* mu held */

/* Subscriptions (sub.c): make one and send SUB (mu held). */
jw_status jw__sub_create(jw_conn *conn, const char *subject,
                         const char *queue, jw_msg_cb cb, void *arg,
                         jw_sub **out);

/* Append SUB (and UNSUB with the remaining auto-unsubscribe count) for a
 * live subscription to buf, for a new socket after a reconnect (mu held).
 * Nothing for a subscription that is draining or closed. */
jw_status jw__sub_resend(jw_sub *sub, jw__buf *buf);

/* Close every subscription of a closing connection (mu held). */
void jw__conn_close_subs(jw_conn *conn, jw_status why, int keep_queue);

#endif
