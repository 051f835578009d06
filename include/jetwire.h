/*
 * jetwire: a NATS client engine.
 *
 * This header is the whole public API. Everything it declares is stable in
 * the sense of the soname: an ABI change bumps the major version (while it
 * is 0, the minor one, and the soname is libjetwire.so.0.MINOR). No struct
 * layout is public; every object is an opaque handle reached through
 * functions, so options and fields can grow without breaking callers.
 *
 * Conventions used throughout:
 *
 *  - Fallible calls return a jw_status: JW_OK (0) or a negative JW_E* code.
 *    The detail text of the most recent failure on the calling thread is
 *    available from jw_last_error() until the next failing call.
 *  - NULL handles and out-pointers give JW_EINVAL; nothing in the library
 *    aborts, asserts or exits because of a caller's mistake.
 *  - Ownership: what jw_*_new, jw_conn_connect, jw_*_next, jw_*_request and
 *    jw_unpack return belongs to the caller and is released with the
 *    matching jw_*_free, which accepts NULL. Getters return borrowed views
 *    that stay valid while their owner lives. A handle made through
 *    another keeps it alive (a JetStream context its connection; a consumer,
 *    ordered consumer or bucket its context; a jw_consume its consumer; a
 *    watcher or key lister its bucket), so handles may be freed in any
 *    order; a handle whose connection was closed reports
 *    JW_ECONNECTION_CLOSED.
 *  - Durations are milliseconds (int64_t). A negative timeout means "wait
 *    forever"; zero means "do not wait".
 *  - Threads: unless a function says otherwise it may be called from any
 *    thread. Calls that wait (connect, flush, request, jw_sub_next with a
 *    timeout, drain) must not be made from a callback running on the
 *    engine's loop thread (event handlers, and message handlers on a loop
 *    the host runs); there they fail with JW_EINVAL instead of
 *    deadlocking. Message handlers on jetwire's own loop run on a delivery
 *    thread of their subscription, where they may wait.
 */
#ifndef JETWIRE_H
#define JETWIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(JW_BUILDING_LIBRARY) && defined(__GNUC__)
#define JW_EXTERN __attribute__((visibility("default")))
#else
#define JW_EXTERN
#endif

#define JW_VERSION_MAJOR 0
#define JW_VERSION_MINOR 2
#define JW_VERSION_PATCH 0
#define JW_VERSION_STRING "0.2.0"
/* major * 10000 + minor * 100 + patch, for comparisons: 0.1.0 is 100. */
#define JW_VERSION_NUMBER                                                     \
    (JW_VERSION_MAJOR * 10000 + JW_VERSION_MINOR * 100 + JW_VERSION_PATCH)

/* The library's version string, for example "0.1.0". */
JW_EXTERN const char *jw_version(void);
/* The library's JW_VERSION_NUMBER, as built: compare it with the header's
 * to learn whether the program runs on the library it was compiled
 * against. */
JW_EXTERN int jw_version_number(void);

/* ------------------------------------------------------------------------
 * Status codes
 *
 * One table generates the enum, jw_status_name() and jw_strerror(). The
 * second column is the code name shared by every language binding. Codes are
 * never renumbered or renamed; new ones are appended.
 */
#define JW_STATUS_MAP(X)                                                      \
    X(OK, 0, "OK", "success")                                                 \
    X(ETIMEOUT, -1, "TIMEOUT", "timed out")                                   \
    X(ENO_RESPONDERS, -2, "NO_RESPONDERS", "no responders for the request")   \
    X(ECONNECTION_CLOSED, -3, "CONNECTION_CLOSED", "connection is closed")    \
    X(ENOT_CONNECTED, -4, "NOT_CONNECTED", "not connected")                   \
    X(EINVAL, -5, "INVALID_ARG", "invalid argument")                          \
    X(EINVALID_SUBJECT, -6, "INVALID_SUBJECT", "invalid subject")             \
    X(EMAX_PAYLOAD, -7, "MAX_PAYLOAD", "payload exceeds the server maximum")  \
    X(EAUTH, -8, "AUTH", "authorization failed")                              \
    X(ECONNECT, -9, "CONNECT", "could not connect to any server")             \
    X(ESLOW_CONSUMER, -10, "SLOW_CONSUMER", "slow consumer, messages dropped")\
    X(EDRAINING, -11, "DRAINING", "connection or subscription is draining")   \
    X(EPERMISSION, -12, "PERMISSION", "permissions violation")                \
    X(ESTREAM_NOT_FOUND, -13, "STREAM_NOT_FOUND", "stream not found")         \
    X(ECONSUMER_NOT_FOUND, -14, "CONSUMER_NOT_FOUND", "consumer not found")   \
    X(EBUCKET_NOT_FOUND, -15, "BUCKET_NOT_FOUND", "bucket not found")         \
    X(EKEY_NOT_FOUND, -16, "KEY_NOT_FOUND", "key not found")                  \
    X(EKEY_DELETED, -17, "KEY_DELETED", "key was deleted")                    \
    X(EKEY_EXISTS, -18, "KEY_EXISTS", "key exists")                           \
    X(EWRONG_LAST_SEQUENCE, -19, "WRONG_LAST_SEQUENCE",                       \
      "wrong last sequence")                                                  \
    X(EJETSTREAM, -20, "JETSTREAM", "JetStream API error")                    \
    X(ENOT_SUPPORTED, -21, "NOT_SUPPORTED", "not supported by the server")    \
    X(EPROTOCOL, -22, "PROTOCOL", "protocol error")                           \
    X(EIO, -23, "IO", "input/output error")                                   \
    X(ENO_MEMORY, -24, "NO_MEMORY", "out of memory")                          \
    X(EINVALID_SUBSCRIPTION, -25, "INVALID_SUBSCRIPTION",                     \
      "subscription is closed")                                               \
    X(ETLS, -26, "TLS", "TLS error")                                          \
    X(EINTERRUPTED, -27, "INTERRUPTED", "interrupted while waiting")

typedef enum jw_status {
#define JW__STATUS_ENUM(suffix, value, name, text) JW_##suffix = value,
    JW_STATUS_MAP(JW__STATUS_ENUM)
#undef JW__STATUS_ENUM
} jw_status;

/* The code name ("TIMEOUT", ...) of a status; "UNKNOWN" for other values.
 * Static text, never NULL. */
JW_EXTERN const char *jw_status_name(int status);

/* A short English description of a status. Static text, never NULL. */
JW_EXTERN const char *jw_strerror(int status);

/* Detail text of the last failure on the calling thread (for example
 * "invalid subject 'a..b': empty token"). Empty if there was none. The text
 * belongs to the thread and is overwritten by its next failing call. */
JW_EXTERN const char *jw_last_error(void);

/* Seconds, the unit the Python and Lua APIs take for timeouts and delays,
 * in the engine's milliseconds, by one rule for every binding: infinity
 * is forever (-1); NaN, a negative value and more than JW_SECONDS_MAX
 * (100 years) are JW_EINVAL, returned as such and worded with `what`
 * ("timeout", "delay"; NULL: "timeout"); the rest is rounded to the
 * nearest millisecond (so below half a millisecond is 0: do not wait).
 * Returns the milliseconds (>= 0), -1, or JW_EINVAL. */
#define JW_SECONDS_MAX 3153600000
JW_EXTERN int64_t jw_seconds_to_ms(const char *what, double seconds);

/* ------------------------------------------------------------------------
 * Handles
 */
typedef struct jw_loop jw_loop;
typedef struct jw_opts jw_opts;
typedef struct jw_conn jw_conn;
typedef struct jw_sub jw_sub;
typedef struct jw_msg jw_msg;
typedef struct jw_event jw_event;
typedef struct jw_packer jw_packer;
typedef struct jw_value jw_value;
typedef struct jw_unpacked jw_unpacked;

struct event_base; /* libevent */

/* ------------------------------------------------------------------------
 * Event loops
 *
 * Every connection runs on a jw_loop. Three modes:
 *
 *  - Own thread (the default): a connection given no loop creates a private
 *    one with a thread of its own. Socket and timer work happens there
 *    (a request or reply may leave from the calling thread when the loop is
 *    idle: docs/threading.md); any other thread may call the API.
 *  - Host-driven: jw_loop_new_driven() creates a loop without a thread and
 *    the host runs it with jw_loop_run(). Use it from that one thread only.
 *    Calls that wait run the loop themselves while they wait, so they work
 *    from the host thread too.
 *  - External base: jw_loop_new_from_base() wraps a libevent event_base the
 *    host already runs. The base must have been created after
 *    evthread_use_pthreads() (jw_loop_new_from_base calls it for you, but
 *    a base created before that is not thread-aware). Waiting calls must
 *    come from threads other than the one running the base.
 *
 * One loop may serve many connections. A loop is reference counted: every
 * connection on it keeps it alive, so jw_loop_free() may come before the
 * connections are freed.
 */
JW_EXTERN jw_status jw_loop_new(jw_loop **out);
JW_EXTERN jw_status jw_loop_new_driven(jw_loop **out);
JW_EXTERN jw_status jw_loop_new_from_base(struct event_base *base,
                                          jw_loop **out);

/* Host-driven loops only: run ready work, waiting up to timeout_ms for
 * something to happen (0: do not wait). Returns JW_EINVAL for other loops. */
JW_EXTERN jw_status jw_loop_run(jw_loop *loop, int64_t timeout_ms);

/* Host-driven loops under another event loop (asyncio, libuv, a Lua
 * scheduler), Linux: jw_loop_fd gives one file descriptor that becomes
 * readable when the loop has work (its sockets as its events want them,
 * or a wake-up from any thread); watch it for reading, and call
 * jw_loop_run(loop, 0) when it is readable and when jw_loop_timeout_ms
 * (asked again after each run: -1 none, else ms until the next timer)
 * has passed. The thread that first asks for the fd becomes the loop's
 * runner: jw_loop_run from another thread is JW_EINVAL, and the waiting
 * calls of other threads (a blocking request on a worker thread) wait
 * for the runner instead of running the loop. A negative jw_status when
 * the loop is not driven or the set cannot be made. */
JW_EXTERN int jw_loop_fd(jw_loop *loop);
JW_EXTERN int64_t jw_loop_timeout_ms(const jw_loop *loop);

/* Release the caller's reference. An own-thread loop's thread stops once the
 * last connection on it is freed. Accepts NULL. */
JW_EXTERN void jw_loop_free(jw_loop *loop);

/* ------------------------------------------------------------------------
 * Interrupting waits
 *
 * For runtimes that must see signals while a call waits (Ctrl+C in Python
 * and Lua): once a check is set on a thread, every wait of that thread for
 * the server (a request and the calls made of requests, flush, rtt,
 * jw_sub_next and jw_sub_next_batch, fetch, consume and ordered reads,
 * watch, jw_conn_next_event, the publish_async window) calls check(arg)
 * each interval_ms it goes on, with no lock of the library held. A nonzero
 * return ends the wait with JW_EINTERRUPTED, as a timeout would end it: a
 * request's reply is no longer waited for (a late one is dropped), a
 * fetch gives what it took so far, nothing queued is taken. Zero lets the
 * wait go on. A wait answered within interval_ms never calls check. check
 * may call the library (its own waits do not call it again). connect,
 * drain, close and free are not interrupted.
 *
 * The setting belongs to the calling thread; check NULL removes it.
 * JW_EINVAL when interval_ms < 1 (with a check). */
typedef int (*jw_wait_check_cb)(void *arg);
JW_EXTERN jw_status jw_wait_check_set(jw_wait_check_cb check, void *arg,
                                      int64_t interval_ms);

/* ------------------------------------------------------------------------
 * Connection options
 *
 * Options are set by name so that a new option never changes the ABI. An
 * unknown name, or a known name with the wrong type, gives JW_EINVAL.
 * Durations are milliseconds.
 *
 *   string  name                    client name shown by the server
 *   string  lang, lang_version      what CONNECT calls the client ("c" and
 *                                   this library's version; a binding
 *                                   gives its language and version, which
 *                                   the server's /connz shows)
 *   string  user, password, token   credentials (also accepted in the URL)
 *   string  nkeys_seed              path of a user NKey seed file
 *   string  user_credentials        path of a .creds file (JWT + seed),
 *                                   read at every (re)connect
 *   string  tls_ca_file             PEM CA to verify servers with (default:
 *                                   the system's trust store)
 *   string  tls_cert_file, tls_key_file
 *                                   client certificate and key (mutual TLS)
 *   string  tls_hostname            name to verify instead of the URL's
 *   bool    tls_insecure_skip_verify  do not verify the server (false)
 *           TLS is used for tls:// URLs, when the server requires it, or
 *           when any tls_ option is set; JW_ETLS says why it failed.
 *   string  servers                 comma-separated URLs added to the pool
 *                                   after those given to jw_conn_connect
 *   bool    no_echo                 do not receive own publishes (false)
 *   bool    verbose, pedantic       protocol flags (false)
 *   bool    no_randomize            keep the pool in the order given
 *                                   instead of shuffling it (false)
 *   bool    ignore_discovered_servers
 *                                   do not add the servers an INFO
 *                                   announces (connect_urls) (false)
 *   bool    allow_reconnect         reconnect after a lost connection
 *                                   (true)
 *   int     max_reconnect_attempts  failed attempts in a row per server
 *                                   before it leaves the pool; negative:
 *                                   forever; 0: never reconnect (60)
 *   int     reconnect_time_wait     ms to wait between rounds over the
 *                                   pool (2000)
 *   int     reconnect_jitter        up to this many ms added at random to
 *                                   each wait (100); reconnect_jitter_tls
 *                                   when a server is tls:// (1000)
 *   int     reconnect_buf_size      bytes publishes may buffer while
 *                                   reconnecting; <= 0: none (8 MiB)
 *   bool    retry_on_failed_connect when no server answers the first
 *                                   connect, return a RECONNECTING
 *                                   connection and keep trying (false)
 *   int     connect_timeout         ms for TCP connect + handshake (2000)
 *   int     ping_interval           ms between client PINGs (120000)
 *   int     max_outstanding_pings   unanswered PINGs after which the
 *                                   connection is stale (2): a frozen
 *                                   server is found within ping_interval
 *                                   x (max_outstanding_pings + 1)
 *   int     drain_timeout           ms jw_conn_drain waits (30000)
 *   int     delivery_threads        0 (the default): each handler
 *                                   subscription has a delivery thread of
 *                                   its own; N: the connection's handler
 *                                   subscriptions share N threads, each
 *                                   subscription's messages still in order
 *                                   on one of them at a time (for many
 *                                   subscriptions; a handler that blocks
 *                                   holds one of the N)
 *   int     pending_msgs_limit      default per-subscription limit (524288)
 *   int     pending_bytes_limit     default per-subscription limit (64 MiB)
 *   int     max_pending_out         bytes of unwritten publishes after
 *                                   which publishing threads wait for the
 *                                   socket (2 MiB)
 *   callback disconnected_cb, reconnected_cb, closed_cb, error_cb,
 *            discovered_servers_cb, lame_duck_cb
 *                                   run on the loop thread (jw_event_cb)
 */
typedef enum jw_event_kind {
    /* The socket was lost (status: why; JW_OK when leaving a lame duck).
     * The connection is RECONNECTING, or closes next if it may not. */
    JW_EVENT_DISCONNECTED = 1,
    /* Connected again: subscriptions re-sent, buffered publishes written.
     * Also the first connection made late with retry_on_failed_connect. */
    JW_EVENT_RECONNECTED = 2,
    /* Closed for good (status: JW_OK when by the user, else why; after
     * the pool ran out, JW_ECONNECT). Always the last event. */
    JW_EVENT_CLOSED = 3,
    JW_EVENT_ERROR = 4, /* async error: slow consumer, -ERR, ... */
    /* A server announced servers the pool did not know (see
     * jw_conn_discovered_servers). Not raised for the first connection. */
    JW_EVENT_DISCOVERED_SERVERS = 5,
    /* The server is entering lame duck mode. When the pool has another
     * server the connection moves there at once (DISCONNECTED, then
     * RECONNECTED follow). */
    JW_EVENT_LAME_DUCK = 6
} jw_event_kind;

/* "DISCONNECTED", "RECONNECTED", "CLOSED", "ERROR", "DISCOVERED_SERVERS",
 * "LAME_DUCK"; NULL for a value that is no kind (static text). The kinds
 * are numbered from JW_EVENT_DISCONNECTED (1) up to the first NULL. */
JW_EXTERN const char *jw_event_kind_name(jw_event_kind kind);

/* An event handler. Runs on the loop thread; ev is borrowed for the call. */
typedef void (*jw_event_cb)(jw_conn *conn, const jw_event *ev, void *arg);

JW_EXTERN jw_status jw_opts_new(jw_opts **out);
JW_EXTERN void jw_opts_free(jw_opts *opts);
JW_EXTERN jw_status jw_opts_set_str(jw_opts *opts, const char *name,
                                    const char *value);
JW_EXTERN jw_status jw_opts_set_int(jw_opts *opts, const char *name,
                                    int64_t value);
JW_EXTERN jw_status jw_opts_set_bool(jw_opts *opts, const char *name,
                                     int value);
JW_EXTERN jw_status jw_opts_set_callback(jw_opts *opts, const char *name,
                                         jw_event_cb cb, void *arg);
/* Run the connection on this loop instead of a private own-thread one. */
JW_EXTERN jw_status jw_opts_set_loop(jw_opts *opts, jw_loop *loop);
/* The options set by name (not the callbacks, nor the loop), as a JSON
 * array of {"name", "type" ("string", "boolean", "integer" or "duration":
 * milliseconds, set with jw_opts_set_int), "default" (null for strings),
 * "min" (the least value of an integer or duration; null where a negative
 * one means none or forever), "binding" (true for those a language
 * binding sets for its users: lang, lang_version)}, so that bindings
 * take every option without a list of their own. *fields_json: jw_free. */
JW_EXTERN jw_status jw_opts_fields(char **fields_json);

/* ------------------------------------------------------------------------
 * Connections
 */
typedef enum jw_conn_status {
    JW_CONN_CONNECTING = 1,
    JW_CONN_CONNECTED = 2,
    JW_CONN_RECONNECTING = 3,
    JW_CONN_DRAINING_SUBS = 4,
    JW_CONN_DRAINING_PUBS = 5,
    JW_CONN_CLOSED = 6
} jw_conn_status;
/* "CONNECTING", "CONNECTED", "RECONNECTING", "DRAINING_SUBS",
 * "DRAINING_PUBS", "CLOSED"; NULL for another value (static text). */
JW_EXTERN const char *jw_conn_status_name(jw_conn_status status);

/* Connect to the first reachable server of `servers` (one URL or a
 * comma-separated list; NULL means the `servers` option, or
 * nats://127.0.0.1:4222 without it) and complete the handshake. opts may be
 * NULL; it is copied and may be freed afterwards. On success *out is a
 * connection owned by the caller (jw_conn_free).
 *
 * Reconnecting. When an open connection loses its socket (error, EOF, or
 * max_outstanding_pings unanswered PINGs) and allow_reconnect is set, it
 * emits DISCONNECTED, becomes JW_CONN_RECONNECTING and tries the pool from
 * the server after the lost one: each server once per round, waiting
 * reconnect_time_wait + jitter between rounds; a server that failed
 * max_reconnect_attempts times in a row leaves the pool, and an empty pool
 * closes the connection (CLOSED with JW_ECONNECT). On success it redoes the
 * handshake, sends SUB again for every live subscription (with UNSUB for
 * what remains of an auto-unsubscribe count), then writes what was
 * buffered, and emits RECONNECTED. Meanwhile:
 *  - publishes and requests are buffered, up to reconnect_buf_size bytes;
 *    past that they fail with JW_ENOT_CONNECTED and nothing buffered is
 *    dropped;
 *  - requests waiting for a reply when the socket was lost fail with
 *    JW_ENOT_CONNECTED (the reply could only come to the dead socket), as
 *    do flushes whose PING was already written; requests and flushes made
 *    during the outage wait for the new socket;
 *  - jw_conn_rtt fails with JW_ENOT_CONNECTED; jw_conn_drain waits for the
 *    reconnect within its timeout (see there);
 *  - a subscription's queued messages stay readable. Unwritten bytes that
 *    were already handed to the dead socket are lost. */
JW_EXTERN jw_status jw_conn_connect(const char *servers, const jw_opts *opts,
                                    jw_conn **out);

/* Publish data (len bytes, may be 0) to a literal subject. The message is
 * queued for the socket and written as soon as it is writable. Fails with
 * JW_EINVALID_SUBJECT or JW_EMAX_PAYLOAD before anything is queued. */
JW_EXTERN jw_status jw_conn_publish(jw_conn *conn, const char *subject,
                                   const void *data, size_t len);

/* Publish a message built with jw_msg_new(): subject, reply and headers.
 * The message is copied; the caller still owns it. */
JW_EXTERN jw_status jw_conn_publish_msg(jw_conn *conn, const jw_msg *msg);

/* Publish data with a reply subject (reply may be NULL). */
JW_EXTERN jw_status jw_conn_publish_reply(jw_conn *conn, const char *subject,
                                          const char *reply, const void *data,
                                          size_t len);

/* Send a request and wait up to timeout_ms for the first reply, through one
 * wildcard inbox subscription shared by all requests of the connection.
 * JW_ENO_RESPONDERS when nobody listens on the subject. *reply belongs to the
 * caller. request_msg takes headers too. */
JW_EXTERN jw_status jw_conn_request(jw_conn *conn, const char *subject,
                                    const void *data, size_t len,
                                    int64_t timeout_ms, jw_msg **reply);
JW_EXTERN jw_status jw_conn_request_msg(jw_conn *conn, const jw_msg *msg,
                                        int64_t timeout_ms, jw_msg **reply);

/* Requests without waiting, for event loops (asyncio, Lua schedulers):
 * start sends the request and gives its id; when the reply (or no
 * responders, or the connection's close) arrives the completion is queued,
 * the readable fd (jw_conn_fd) signals, and jw_conn_request_poll takes it.
 * There is no engine timeout: the caller cancels a request it stops waiting
 * for, and a reply arriving after that is dropped. */
JW_EXTERN jw_status jw_conn_request_start(jw_conn *conn, const jw_msg *msg,
                                          uint64_t *id);
/* Take one completion: returns 1 and sets *id, *status (JW_OK,
 * JW_ENO_RESPONDERS, JW_ECONNECTION_CLOSED, ...) and *reply (owned by the
 * caller; NULL unless *status is JW_OK), 0 when none is ready, or a negative
 * jw_status for bad arguments. */
JW_EXTERN int jw_conn_request_poll(jw_conn *conn, uint64_t *id,
                                   jw_status *status, jw_msg **reply);
/* Forget a started request (JW_EINVAL if it is not pending). */
JW_EXTERN jw_status jw_conn_request_cancel(jw_conn *conn, uint64_t id);

/* Write everything queued and wait for the server's PONG. */
JW_EXTERN jw_status jw_conn_flush(jw_conn *conn, int64_t timeout_ms);

/* Round-trip time of one PING/PONG, in microseconds. */
JW_EXTERN jw_status jw_conn_rtt(jw_conn *conn, int64_t *rtt_us);

/* Drain: unsubscribe every subscription, let the messages already on the
 * way arrive, write the queued publishes, then close. Waits until closed or
 * until timeout_ms (a negative value uses the drain_timeout option), after
 * which the connection is closed anyway and JW_ETIMEOUT returned. Messages
 * queued in subscriptions stay readable with jw_sub_next after the close.
 * Called while reconnecting, it first waits for the new connection (the
 * wait counts against timeout_ms; JW_ETIMEOUT and closed if none comes). A
 * connection lost during the drain is not reconnected: it closes and the
 * drain returns the loss's status (JW_EIO, ...). */
JW_EXTERN jw_status jw_conn_drain(jw_conn *conn, int64_t timeout_ms);

/* Close without waiting: unwritten publishes are written if the socket
 * takes them at once (the rest is lost; drain waits), queued messages are
 * discarded. Closing twice is harmless. */
JW_EXTERN jw_status jw_conn_close(jw_conn *conn);

/* Close if needed and release the caller's reference. Subscriptions and
 * messages still held stay safe to use (their calls report the closed
 * connection) until they are freed. Accepts NULL. */
JW_EXTERN void jw_conn_free(jw_conn *conn);

JW_EXTERN jw_conn_status jw_conn_status_get(const jw_conn *conn);
JW_EXTERN int jw_conn_is_connected(const jw_conn *conn);

/* URL of the connected server ("" when not connected). Copies at most
 * size-1 bytes and NUL-terminates. */
JW_EXTERN jw_status jw_conn_connected_url(jw_conn *conn, char *buf,
                                          size_t size);

/* The server pool as comma-separated URLs ("nats://host:port,..."), in the
 * order they are tried; discovered_servers lists only those learned from
 * INFO. Copied into buf like above; JW_EINVAL when it does not fit. */
JW_EXTERN jw_status jw_conn_servers(jw_conn *conn, char *buf, size_t size);
JW_EXTERN jw_status jw_conn_discovered_servers(jw_conn *conn, char *buf,
                                               size_t size);

/* The server's last INFO as JSON text, copied into buf like above. */
JW_EXTERN jw_status jw_conn_server_info(jw_conn *conn, char *buf, size_t size);
JW_EXTERN jw_status jw_conn_server_version(jw_conn *conn, char *buf,
                                           size_t size);
/* Server max_payload in bytes (0 when unknown). */
JW_EXTERN int64_t jw_conn_max_payload(const jw_conn *conn);
/* 1 when the server announced JetStream. */
JW_EXTERN int jw_conn_jetstream_enabled(const jw_conn *conn);

typedef enum jw_stat {
    JW_STAT_IN_MSGS = 0,
    JW_STAT_IN_BYTES = 1,
    JW_STAT_OUT_MSGS = 2,
    JW_STAT_OUT_BYTES = 3,
    JW_STAT_RECONNECTS = 4
} jw_stat;
/* "in_msgs", "in_bytes", "out_msgs", "out_bytes", "reconnects": the
 * stats are numbered from 0 and jw_stat_name gives NULL past the last, so
 * a binding can list them all. */
JW_EXTERN const char *jw_stat_name(jw_stat which);
/* One counter; 0 for an unknown stat or a NULL connection. */
JW_EXTERN uint64_t jw_conn_stat(const jw_conn *conn, jw_stat which);

/* Make a fresh inbox subject ("_INBOX.<unique>") into buf. */
JW_EXTERN jw_status jw_conn_new_inbox(jw_conn *conn, char *buf, size_t size);

/* A file descriptor that becomes readable when a subscription without a
 * handler goes from empty to non-empty, or an event is queued. After it
 * fires, call jw_conn_fd_reset() and then pull until jw_sub_next_batch and
 * jw_conn_next_event return nothing: the fd signals transitions, not each
 * message. Owned by the connection; do not close it. */
JW_EXTERN int jw_conn_fd(const jw_conn *conn);
JW_EXTERN void jw_conn_fd_reset(jw_conn *conn);

/* Which subscriptions to pull, for a dispatcher of many (a binding's
 * callbacks, an event loop): a subscription without a handler given a tag
 * (not 0) with jw_sub_set_tag is put on its connection's ready list when
 * its queue goes from empty to non-empty (and at once when it has
 * messages as the tag is set), and when it closes, at most once until
 * taken. jw_conn_ready
 * takes up to max tags off the list, oldest first, and returns how many
 * (0: none, or a negative jw_status); pull each of their subscriptions
 * until jw_sub_next_batch returns nothing, as after the fd fired. A
 * subscription freed while listed leaves the list; tag 0 takes it off. */
JW_EXTERN jw_status jw_sub_set_tag(jw_sub *sub, uint64_t tag);
JW_EXTERN int jw_conn_ready(jw_conn *conn, uint64_t *tags, int max);

/* Pull the next queued event (disconnected, closed, error, ...), waiting up
 * to timeout_ms. *ev belongs to the caller (jw_event_free). Events are also
 * given to the handlers set in the options; the queue keeps the newest 1024. */
JW_EXTERN jw_status jw_conn_next_event(jw_conn *conn, int64_t timeout_ms,
                                       jw_event **ev);
JW_EXTERN jw_event_kind jw_event_kind_get(const jw_event *ev);
/* The error of an ERROR or DISCONNECTED event (JW_OK otherwise). */
JW_EXTERN jw_status jw_event_status(const jw_event *ev);
/* Detail text, never NULL. */
JW_EXTERN const char *jw_event_text(const jw_event *ev);
/* The subscription an ERROR event concerns, or NULL. Borrowed. */
JW_EXTERN jw_sub *jw_event_sub(const jw_event *ev);
JW_EXTERN void jw_event_free(jw_event *ev);

/* ------------------------------------------------------------------------
 * Subscriptions
 */

/* A message handler (see jw_conn_subscribe_cb for the thread it runs on).
 * The message belongs to the handler (jw_msg_free it, or keep it). */
typedef void (*jw_msg_cb)(jw_sub *sub, jw_msg *msg, void *arg);

/* Subscribe to a subject (wildcards allowed), optionally as a member of a
 * queue group (queue may be NULL). Messages are queued in the subscription
 * and pulled with jw_sub_next / jw_sub_next_batch. *out belongs to the
 * caller: jw_sub_free unsubscribes and releases it. */
JW_EXTERN jw_status jw_conn_subscribe(jw_conn *conn, const char *subject,
                                      const char *queue, jw_sub **out);

/* Like jw_conn_subscribe, but each message is handed to cb, in order.
 * On jetwire's own loop (the default) the subscription gets a delivery
 * thread that runs cb, as nats.c does: the loop queues the messages under
 * the pending limits (past them they are dropped, counted and reported as
 * a JW_ESLOW_CONSUMER event) and cb may wait (request, flush; not
 * jw_conn_drain of its own connection, which would wait for it). On a
 * loop the host runs (driven or an external base) cb runs on that loop's
 * thread and must not wait. jw_sub_unsubscribe and jw_sub_free wait for a
 * running cb to return, except when called from a handler. */
JW_EXTERN jw_status jw_conn_subscribe_cb(jw_conn *conn, const char *subject,
                                         const char *queue, jw_msg_cb cb,
                                         void *arg, jw_sub **out);

/* Take the next queued message, waiting up to timeout_ms. JW_ETIMEOUT when
 * none came; JW_EINVALID_SUBSCRIPTION once the subscription is closed and
 * empty; JW_ECONNECTION_CLOSED once its connection was closed. */
JW_EXTERN jw_status jw_sub_next(jw_sub *sub, int64_t timeout_ms,
                                jw_msg **msg);

/* Take up to max queued messages into msgs[], waiting up to timeout_ms for
 * the first. Returns the number taken (> 0), or a negative jw_status. */
JW_EXTERN int jw_sub_next_batch(jw_sub *sub, jw_msg **msgs, int max,
                                int64_t timeout_ms);

/* Unsubscribe at once. Queued messages are discarded. */
JW_EXTERN jw_status jw_sub_unsubscribe(jw_sub *sub);

/* Unsubscribe after max messages in total have been received (counting
 * those already received). */
JW_EXTERN jw_status jw_sub_auto_unsubscribe(jw_sub *sub, uint64_t max);

/* Unsubscribe, keep the messages already on the way, and close once they
 * have been pulled. Returns at once. */
JW_EXTERN jw_status jw_sub_drain(jw_sub *sub);

/* Limits on queued messages and bytes (a value <= 0 means no limit on that
 * dimension). Past them messages are dropped, counted and reported once per
 * episode as a JW_ESLOW_CONSUMER error event. The bytes are the memory the
 * queued messages hold: payload, headers, subject, reply and the engine's
 * structure per message, as the allocator rounds them; jw_sub_pending
 * counts bytes the same way. */
JW_EXTERN jw_status jw_sub_set_pending_limits(jw_sub *sub, int64_t msgs,
                                              int64_t bytes);
/* The limits in force: the connection's pending_msgs_limit and
 * pending_bytes_limit options unless set for the subscription. */
JW_EXTERN jw_status jw_sub_pending_limits(jw_sub *sub, int64_t *msgs,
                                          int64_t *bytes);
JW_EXTERN jw_status jw_sub_pending(jw_sub *sub, int64_t *msgs, int64_t *bytes);
/* How many queued messages a binding should take in one batch: max, or
 * fewer when that many would count more than JW_SUB_BATCH_BYTES (1 MiB)
 * at the queue's average, at least 1. A batch taken is out of the queue
 * and its limits while the program works through it, so what it may hold
 * stays small beside them. max when sub is NULL or max < 1. */
#define JW_SUB_BATCH_BYTES (1 << 20)
JW_EXTERN int jw_sub_batch_size(jw_sub *sub, int max);
JW_EXTERN uint64_t jw_sub_dropped(const jw_sub *sub);
JW_EXTERN uint64_t jw_sub_delivered(const jw_sub *sub);
JW_EXTERN const char *jw_sub_subject(const jw_sub *sub);
JW_EXTERN const char *jw_sub_queue(const jw_sub *sub); /* NULL when none */
JW_EXTERN int jw_sub_is_valid(const jw_sub *sub);

/* Unsubscribe if still active and release the handle. Accepts NULL. */
JW_EXTERN void jw_sub_free(jw_sub *sub);

/* ------------------------------------------------------------------------
 * Messages
 *
 * Received messages come from jw_sub_next, handlers and requests. Messages
 * to publish are built with jw_msg_new. Both kinds are freed with
 * jw_msg_free.
 */
JW_EXTERN jw_status jw_msg_new(const char *subject, const char *reply,
                               const void *data, size_t len, jw_msg **out);
/* Append one header value; a name may be added several times. */
JW_EXTERN jw_status jw_msg_header_add(jw_msg *msg, const char *name,
                                      const char *value);
/* Replace every value of name by this one. */
JW_EXTERN jw_status jw_msg_header_set(jw_msg *msg, const char *name,
                                      const char *value);
JW_EXTERN void jw_msg_free(jw_msg *msg);

JW_EXTERN const char *jw_msg_subject(const jw_msg *msg);
JW_EXTERN const char *jw_msg_reply(const jw_msg *msg); /* NULL when none */
JW_EXTERN const void *jw_msg_data(const jw_msg *msg);  /* never NULL */
JW_EXTERN size_t jw_msg_data_len(const jw_msg *msg);

/* Headers: the idx-th value (0-based) of name, matched exactly (names keep
 * their case). JW_EINVAL when absent. *value is NUL-terminated and
 * borrowed from the message. */
JW_EXTERN jw_status jw_msg_header_get(const jw_msg *msg, const char *name,
                                      int idx, const char **value);
/* Number of header lines (every value of every name). */
JW_EXTERN int jw_msg_header_count(const jw_msg *msg);
/* The i-th header line, in order. */
JW_EXTERN jw_status jw_msg_header_at(const jw_msg *msg, int i,
                                     const char **name, const char **value);
/* Status of a status message ("NATS/1.0 503"), else 0. */
JW_EXTERN int jw_msg_status_code(const jw_msg *msg);
/* The raw header block ("NATS/1.0\r\n...\r\n\r\n") or NULL. */
JW_EXTERN const char *jw_msg_headers_raw(const jw_msg *msg, size_t *len);

/* Publish data to the message's reply subject on the connection it came
 * from. JW_EINVAL when the message has no reply. */
JW_EXTERN jw_status jw_msg_respond(const jw_msg *msg, const void *data,
                                   size_t len);
/* The same for a host that kept the reply subject and let the message go
 * (a binding that copies messages out): publish data to reply, leaving
 * from the calling thread when it can, as requests and jw_msg_respond do,
 * where a plain publish waits for the loop. */
JW_EXTERN jw_status jw_conn_respond(jw_conn *conn, const char *reply,
                                   const void *data, size_t len);

/* ------------------------------------------------------------------------
 * Subjects
 */
/* 1 when subject is a valid literal subject (for publishing), else 0. */
JW_EXTERN int jw_subject_is_valid(const char *subject);
/* 1 when pattern is a valid subscription subject (wildcards allowed). */
JW_EXTERN int jw_subject_pattern_is_valid(const char *pattern);
/* 1 when the literal subject matches pattern (`*` one token, `>` the rest). */
JW_EXTERN int jw_subject_matches(const char *pattern, const char *subject);

/* ------------------------------------------------------------------------
 * MessagePack
 *
 * A packer appends values; maps and arrays are announced with their element
 * count, then their elements follow (a map's as key, value, key, value...).
 */
JW_EXTERN jw_status jw_packer_new(jw_packer **out);
JW_EXTERN void jw_packer_free(jw_packer *p);
JW_EXTERN void jw_packer_reset(jw_packer *p);
JW_EXTERN jw_status jw_pack_nil(jw_packer *p);
JW_EXTERN jw_status jw_pack_bool(jw_packer *p, int value);
JW_EXTERN jw_status jw_pack_int(jw_packer *p, int64_t value);
JW_EXTERN jw_status jw_pack_uint(jw_packer *p, uint64_t value);
JW_EXTERN jw_status jw_pack_double(jw_packer *p, double value);
JW_EXTERN jw_status jw_pack_str(jw_packer *p, const char *s, size_t len);
JW_EXTERN jw_status jw_pack_bin(jw_packer *p, const void *data, size_t len);
JW_EXTERN jw_status jw_pack_array(jw_packer *p, uint32_t count);
JW_EXTERN jw_status jw_pack_map(jw_packer *p, uint32_t count);
/* The bytes packed so far, borrowed from the packer. */
JW_EXTERN const void *jw_packer_data(const jw_packer *p, size_t *len);

typedef enum jw_value_type {
    JW_VALUE_NIL = 0,
    JW_VALUE_BOOL = 1,
    JW_VALUE_INT = 2,    /* negative integer */
    JW_VALUE_UINT = 3,   /* non-negative integer */
    JW_VALUE_DOUBLE = 4, /* float32 values are widened */
    JW_VALUE_STR = 5,
    JW_VALUE_BIN = 6,
    JW_VALUE_ARRAY = 7,
    JW_VALUE_MAP = 8,
    JW_VALUE_EXT = 9
} jw_value_type;

/* Decode exactly one MessagePack value filling all of data. Malformed,
 * truncated or trailing input gives JW_EINVAL. *out owns the whole tree. */
JW_EXTERN jw_status jw_unpack(const void *data, size_t len,
                              jw_unpacked **out);
JW_EXTERN const jw_value *jw_unpacked_root(const jw_unpacked *u);
JW_EXTERN void jw_unpacked_free(jw_unpacked *u);

/* Accessors on a borrowed value; a mismatched type yields 0/NULL. */
JW_EXTERN jw_value_type jw_value_type_get(const jw_value *v);
JW_EXTERN int jw_value_bool(const jw_value *v);
JW_EXTERN int64_t jw_value_int(const jw_value *v);
JW_EXTERN uint64_t jw_value_uint(const jw_value *v);
JW_EXTERN double jw_value_double(const jw_value *v);
/* STR, BIN and EXT bytes (the EXT type is jw_value_ext_type). */
JW_EXTERN const char *jw_value_bytes(const jw_value *v, size_t *len);
JW_EXTERN int8_t jw_value_ext_type(const jw_value *v);
/* ARRAY and MAP element counts (a map's counts pairs). */
JW_EXTERN uint32_t jw_value_count(const jw_value *v);
JW_EXTERN const jw_value *jw_value_array_at(const jw_value *v, uint32_t i);
JW_EXTERN const jw_value *jw_value_map_key(const jw_value *v, uint32_t i);
JW_EXTERN const jw_value *jw_value_map_val(const jw_value *v, uint32_t i);

/* ------------------------------------------------------------------------
 * JetStream
 *
 * A jw_js context sends JetStream API requests over a connection. Stream
 * and consumer configurations cross the ABI as JSON text in the server's
 * own schema (StreamConfig, ConsumerConfig: docs/jetstream.md), with one
 * difference: every duration is in the context's duration unit,
 * MILLISECONDS unless the "duration_unit" option says "s" (max_age,
 * duplicate_window, ack_wait, backoff[], ...: jw_js_config_fields lists
 * them); the engine converts them to the server's nanoseconds and converts
 * the "config" of info replies back. The engine's table of fields says
 * each one's type and the first server version that knows it: a field of
 * a newer server than the connected one is JW_ENOT_SUPPORTED (naming the
 * version), a value of the wrong type JW_EINVAL. A field the table does
 * not know goes to the server unchanged when the server refuses unknown
 * fields itself (2.11 and newer), so that a configuration read from a
 * server can always be written back; an older server would ignore it, so
 * there it is JW_EINVAL. Results that are documents (StreamInfo,
 * ConsumerInfo, name lists) come back as JSON text owned by the caller and
 * released with jw_free.
 *
 * Errors: a server API error maps to JW_ESTREAM_NOT_FOUND (10059),
 * JW_ECONSUMER_NOT_FOUND (10014), JW_EWRONG_LAST_SEQUENCE (10071), or
 * JW_EJETSTREAM for the others; jw_js_last_err_code() then gives the
 * server's err_code and jw_last_error() its description. A server without
 * JetStream answers API requests with JW_ENO_RESPONDERS.
 *
 * Everything is pulled: no callback is needed to use any of it, so the
 * Python and Lua bindings wrap these calls one to one. A jw_js may be used
 * from several threads once its options are set.
 */
typedef struct jw_js jw_js;
typedef struct jw_call_opts jw_call_opts;
typedef struct jw_js_pub_ack jw_js_pub_ack;
typedef struct jw_consumer jw_consumer;
typedef struct jw_js_meta jw_js_meta;

/* Release text returned by the JetStream calls (JSON documents). Accepts
 * NULL. */
JW_EXTERN void jw_free(void *p);

/* err_code of the last JetStream API error on this thread (10059, ...), or
 * 0 when the last failing JetStream call was not a server API error. */
JW_EXTERN int jw_js_last_err_code(void);

/* A JetStream context on conn (which it keeps alive). Options, set before
 * the context is shared between threads:
 *   string domain        JetStream domain: API prefix "$JS.<domain>.API"
 *   string prefix        API prefix (default "$JS.API"); not with domain
 *   string duration_unit "ms" (default) or "s": the unit of every duration
 *                        in the JSON documents of this context
 *                        (configurations, infos, KV bucket configurations
 *                        and status); seconds may have fractions
 *   int    timeout       ms each API request and sync publish waits (5000)
 *   int    max_pending   async publishes in flight before
 *                        jw_js_publish_async waits for acks (4000)
 */
JW_EXTERN jw_status jw_js_new(jw_conn *conn, jw_js **out);
JW_EXTERN jw_status jw_js_set_str(jw_js *js, const char *name,
                                  const char *value);
JW_EXTERN jw_status jw_js_set_int(jw_js *js, const char *name,
                                  int64_t value);
/* Release the context. Async publishes still in flight are forgotten.
 * Handles made through it keep it alive until they are freed too. Accepts
 * NULL. */
JW_EXTERN void jw_js_free(jw_js *js);

/* The engine's table of configuration fields for kind "stream",
 * "consumer" or "bucket" (a KV bucket), as a JSON array of {"name",
 * "type" ("string", "integer", "boolean", "strings", "object", "duration",
 * "durations" or "any"), "since" (the first nats-server version that knows
 * the field, or null when every JetStream server does), and "fields" for
 * an object with fields of its own}. *fields_json: jw_free. */
JW_EXTERN jw_status jw_js_config_fields(const char *kind,
                                        char **fields_json);

/* The JetStream API level of the account's servers (ADR-44: 0 before
 * nats-server 2.11, 1 for 2.11, 2 for 2.12, 4 for 2.14, 5 for 2.15), asked
 * of them now ($JS.API.INFO). The engine learns it by itself, once per
 * context, the first time a feature of 2.11 or newer is used: a feature
 * the level says they lack is JW_ENOT_SUPPORTED even when the connected
 * server is newer (a leaf node, a domain), and API requests that use one
 * carry Nats-Required-Api-Level, so that a server below it refuses them
 * rather than dropping the fields it does not know. */
JW_EXTERN jw_status jw_js_api_level(jw_js *js, int *level);

/* Account information ($JS.API.INFO) as JSON text. */
JW_EXTERN jw_status jw_js_account_info(jw_js *js, char **json);

/* ---- streams ----
 * config_json is a StreamConfig object ({"name":"ORDERS","subjects":
 * ["orders.>"],...}). info_json may be NULL when the caller does not want
 * the resulting StreamInfo. create fails with JW_EJETSTREAM (10058) when a
 * stream of that name exists with another configuration; update with
 * JW_ESTREAM_NOT_FOUND when there is none; create_or_update does either. */
JW_EXTERN jw_status jw_js_stream_create(jw_js *js, const char *config_json,
                                        char **info_json);
JW_EXTERN jw_status jw_js_stream_update(jw_js *js, const char *config_json,
                                        char **info_json);
JW_EXTERN jw_status jw_js_stream_create_or_update(jw_js *js,
                                                  const char *config_json,
                                                  char **info_json);
JW_EXTERN jw_status jw_js_stream_info(jw_js *js, const char *stream,
                                      char **info_json);
JW_EXTERN jw_status jw_js_stream_delete(jw_js *js, const char *stream);
/* Purge messages: all of them (filter NULL, seq 0, keep 0), those of a
 * subject (filter, wildcards allowed), those below sequence seq, or all but
 * the newest keep. seq and keep exclude each other. *purged (may be NULL)
 * gets the count removed. */
JW_EXTERN jw_status jw_js_stream_purge(jw_js *js, const char *stream,
                                       const char *filter, uint64_t seq,
                                       uint64_t keep, uint64_t *purged);
/* Every stream name (a JSON array of strings) or StreamInfo (a JSON array
 * of objects), paged through the API's offsets until complete; subject
 * (may be NULL) keeps only streams that capture it. */
JW_EXTERN jw_status jw_js_stream_names(jw_js *js, const char *subject,
                                       char **names_json);
JW_EXTERN jw_status jw_js_stream_list(jw_js *js, const char *subject,
                                      char **infos_json);
/* A stored message by sequence, or the last one on a subject (through
 * DIRECT.GET when the stream has allow_direct, else STREAM.MSG.GET). The
 * message has the stored subject, data and headers, plus the headers
 * Nats-Stream, Nats-Subject, Nats-Sequence and Nats-Time-Stamp. No such
 * message: JW_EJETSTREAM with err_code 10037. *msg belongs to the caller. */
JW_EXTERN jw_status jw_js_stream_get_msg(jw_js *js, const char *stream,
                                         uint64_t seq, jw_msg **msg);
JW_EXTERN jw_status jw_js_stream_get_last_msg(jw_js *js, const char *stream,
                                              const char *subject,
                                              jw_msg **msg);
/* Delete one message; erase overwrites its data on disk as well. */
JW_EXTERN jw_status jw_js_stream_delete_msg(jw_js *js, const char *stream,
                                            uint64_t seq, int erase);

/* ---- direct get batches ----
 * Many stored messages with one request (ADR-31, nats-server 2.11; the
 * stream needs allow_direct): a run of them from a sequence
 * (option "seq"), a subject ("next_by_subject", wildcards allowed) or a
 * time ("start_time"), or, with multi_last (count subjects, wildcards
 * allowed; NULL and 0 for none), the last message of each matching
 * subject, in stream order, as of now or as of "up_to_seq" /
 * "up_to_time". opts ("direct_get", may be NULL; "batch", "max_bytes",
 * ...: jw_call_opts_fields) are checked before anything is sent: a run
 * needs seq, next_by_subject or start_time; up_to_* need multi_last;
 * times are RFC 3339 text ("2026-05-01T12:00:00Z"), up_to_time excluded.
 * A run gives "batch" messages at most (default 1); multi_last every
 * match (at most 1024 subjects: more is JW_EJETSTREAM) unless batch says
 * fewer; both stop early past "max_bytes". An older server is
 * JW_ENOT_SUPPORTED. *out belongs to the caller and keeps js alive.
 *
 * The server sends the batch at once; jw_direct_batch_next hands out the
 * messages as they arrive (each belongs to the caller; its subject is the
 * stored one, its headers carry Nats-Stream, Nats-Subject, Nats-Sequence,
 * Nats-Time-Stamp, Nats-Num-Pending, Nats-Last-Sequence), then JW_OK with
 * *msg NULL at the end of the batch, and again on every later call.
 * Nothing matching is an empty batch. JW_ETIMEOUT when nothing came
 * within timeout_ms (< 0: wait; the batch stays usable);
 * JW_ESTREAM_NOT_FOUND, JW_EJETSTREAM (a stream without allow_direct, a
 * refused request), JW_ESLOW_CONSUMER (replies lost on the way) or
 * JW_ECONNECTION_CLOSED end it: every later call gives the same. One
 * thread at a time.
 *
 * After the end, num_pending is how many more messages match (a batch cut
 * by batch or max_bytes: ask again from last_seq + 1), last_seq the
 * stream sequence of the last message sent, and up_to_seq (multi_last)
 * the stream sequence the answer was read at: give it as "up_to_seq" to
 * the next requests for a consistent read across them. 0 before the end.
 * jw_direct_batch_free accepts NULL. */
typedef struct jw_direct_batch jw_direct_batch;
JW_EXTERN jw_status jw_js_direct_get_batch(jw_js *js, const char *stream,
                                           const char *const *multi_last,
                                           size_t count,
                                           const jw_call_opts *opts,
                                           jw_direct_batch **out);
JW_EXTERN jw_status jw_direct_batch_next(jw_direct_batch *b,
                                         int64_t timeout_ms, jw_msg **msg);
JW_EXTERN uint64_t jw_direct_batch_num_pending(const jw_direct_batch *b);
JW_EXTERN uint64_t jw_direct_batch_last_seq(const jw_direct_batch *b);
JW_EXTERN uint64_t jw_direct_batch_up_to_seq(const jw_direct_batch *b);
JW_EXTERN void jw_direct_batch_free(jw_direct_batch *b);

/* ---- atomic batches ----
 * Messages stored in a stream together or not at all (ADR-50, nats-server
 * 2.12; the stream needs allow_atomic). jw_js_batch_new makes a batch with
 * a fresh unique id (jw_js_batch_id; nothing is sent yet): an older server
 * is JW_ENOT_SUPPORTED, naming the version. jw_js_batch_add sends msg
 * (subject, headers, data; its reply is ignored) with the batch's headers
 * (Nats-Batch-Id, Nats-Batch-Sequence). The first one waits for the
 * stream to take it (up to the "timeout" option, else the context's), so
 * a stream that refuses batches (without allow_atomic: JW_EJETSTREAM,
 * err_code 10174) or a subject no stream captures (JW_ENO_RESPONDERS) is
 * heard of at once; the ones after it are sent without waiting, and what
 * the stream thought of them comes with the commit. jw_js_batch_commit
 * sends msg as the last message, with Nats-Batch-Commit, and waits for the
 * PubAck (*ack, owned by the caller; may be NULL): its seq is the last
 * message's, jw_js_pub_ack_batch the batch id and jw_js_pub_ack_count the
 * number stored. msg NULL commits the messages added without storing one
 * more (nats-server 2.14; JW_ENOT_SUPPORTED before; JW_EINVAL for an
 * empty batch).
 *
 * opts are "publish" call options for that message: msg_id (duplicates
 * within the stream's duplicate_window refuse the whole batch, err_code
 * 10201), expected_last_seq (first message only) and
 * expected_last_subject_seq (checked when the batch commits, against the
 * stream as it was before the batch), ttl, timeout (the first message and
 * the commit; they are not retried, retry_* are ignored).
 * expected_last_msg_id is refused by the server (10177).
 *
 * The stream's refusals come from the commit as for jw_js_publish, with
 * the server's description and jw_js_last_err_code: an expectation that
 * failed (JW_EWRONG_LAST_SEQUENCE, 10071), and as JW_EJETSTREAM a batch
 * with a gap or dropped after 10 s without messages (10176), more messages
 * than the server's limit (10199; 1,000 by default), an unsupported header
 * (10177) or a duplicate msg_id (10201). Nothing of a refused batch is
 * stored. After a commit, or a failed first add or commit, the batch
 * takes nothing more (JW_EINVAL: start a new one); a failure of a later
 * add sent nothing and the batch goes on. A commit that timed out may
 * have been stored whole.
 *
 * jw_js_batch_count gives the messages sent so far (the commit's
 * included). jw_js_batch_free releases a batch (accepts NULL); an
 * uncommitted batch is abandoned: nothing is sent, the server drops it
 * after 10 s without messages and stores none of it. A batch keeps js
 * alive and is used from one thread at a time. */
typedef struct jw_js_batch jw_js_batch;
JW_EXTERN jw_status jw_js_batch_new(jw_js *js, jw_js_batch **out);
JW_EXTERN jw_status jw_js_batch_add(jw_js_batch *b, const jw_msg *msg,
                                    const jw_call_opts *opts);
JW_EXTERN jw_status jw_js_batch_commit(jw_js_batch *b, const jw_msg *msg,
                                       const jw_call_opts *opts,
                                       jw_js_pub_ack **ack);
JW_EXTERN const char *jw_js_batch_id(const jw_js_batch *b);
JW_EXTERN uint64_t jw_js_batch_count(const jw_js_batch *b);
JW_EXTERN void jw_js_batch_free(jw_js_batch *b);

/* ---- counters ----
 * A stream with allow_msg_counter (ADR-49, nats-server 2.12) keeps a
 * counter per subject: each message adds its Nats-Incr to the subject's
 * total, which the stream stores as the message's body. Values and
 * deltas are decimal text of any length (the server counts with big
 * integers). An older server is JW_ENOT_SUPPORTED, naming the version.
 *
 * jw_js_counter_add adds delta ("+5", "-3", "12": an optional sign and
 * digits, else JW_EINVAL) to the counter on subject and gives its new
 * total in *value (may be NULL; jw_free). opts are "publish" call options
 * (timeout, retry_attempts, retry_wait; the server refuses expectations
 * on counters). A stream without allow_msg_counter refuses it
 * (JW_EJETSTREAM and its err_code).
 *
 * jw_js_counter_get reads the counter on subject in stream (its last
 * message, by direct get when the stream has allow_direct) as a JSON
 * entry (*entry_json: jw_free):
 *   {"subject":"hits","val":"42","incr":"1",
 *    "sources":{"<stream>":{"<subject>":"<val>"}}}
 * with every number as decimal text: val the total, incr the last delta
 * added (without a "+"), and sources, only for a stream that
 * sources other counters, the last total seen from each source stream's
 * subject. A subject without a message is JW_EKEY_NOT_FOUND (err_code
 * 10037); a message that is not a counter's is JW_EINVAL.
 *
 * jw_js_counter_entry makes the same entry of one stored counter message
 * (from jw_js_stream_get_last_msg, or many at once from
 * jw_js_direct_get_batch with multi_last). */
JW_EXTERN jw_status jw_js_counter_add(jw_js *js, const char *subject,
                                      const char *delta,
                                      const jw_call_opts *opts,
                                      char **value);
JW_EXTERN jw_status jw_js_counter_get(jw_js *js, const char *stream,
                                      const char *subject,
                                      char **entry_json);
JW_EXTERN jw_status jw_js_counter_entry(const jw_msg *msg,
                                        char **entry_json);

/* ---- call options ----
 * The calls that grow options take them in a jw_call_opts made for that
 * call ("publish", "fetch", "consume", "direct_get", and KV's "watch",
 * "get", "create", "purge", "get_many" and "history"; NULL everywhere
 * means all defaults), set by name, so that
 * a new option is never a new function. Setting a name the call does not
 * have, or a value of the wrong type or out of range, is JW_EINVAL at
 * once; an option newer than the connected server is JW_ENOT_SUPPORTED
 * (naming the version) when the call is made. A duration may be set as
 * an integer or a double and is read in the duration unit of the context
 * the call runs in (ms unless "duration_unit" says "s"). The same options
 * may be used for many calls, from one thread at a time while they are
 * being set.
 *
 * Each call's options, their types, limits, defaults and the servers that
 * know them are in the engine's table: jw_call_opts_fields, and
 * docs/jetstream.md and docs/kv.md, generated from it. For example:
 * publish "msg_id" (string), "expected_last_seq" (integer), "timeout"
 * (duration); fetch "no_wait" (boolean); watch "include_history".
 *
 * jw_call_opts_fields gives a call's table as a JSON array of {"name",
 * "type" ("string", "integer", "boolean", "duration"), "since" (the first
 * nats-server version that knows it, or null), "doc"} (*fields_json:
 * jw_free). */
JW_EXTERN jw_status jw_call_opts_new(const char *call, jw_call_opts **out);
JW_EXTERN jw_status jw_call_opts_set_str(jw_call_opts *opts,
                                         const char *name,
                                         const char *value);
JW_EXTERN jw_status jw_call_opts_set_int(jw_call_opts *opts,
                                         const char *name, int64_t value);
JW_EXTERN jw_status jw_call_opts_set_double(jw_call_opts *opts,
                                            const char *name, double value);
JW_EXTERN jw_status jw_call_opts_set_bool(jw_call_opts *opts,
                                          const char *name, int value);
/* Accepts NULL. */
JW_EXTERN void jw_call_opts_free(jw_call_opts *opts);
JW_EXTERN jw_status jw_call_opts_fields(const char *call,
                                        char **fields_json);

/* ---- publish ----
 * The str and integer options become the Nats-* headers of the published
 * message. A synchronous publish that meets no responders (no stream, or
 * a stream between leaders in a cluster) is tried again retry_attempts
 * times before JW_ENO_RESPONDERS is returned; async publishes are not.
 */
/* Publish and wait for the stream's PubAck. opts ("publish") may be NULL;
 * ack may be NULL when the caller does not need it (else *ack belongs to
 * the caller).
 * JW_ENO_RESPONDERS when no stream captures the subject (or JetStream is
 * off); JW_EWRONG_LAST_SEQUENCE, JW_EJETSTREAM for refused messages.
 * jw_js_publish_msg takes subject, headers and data from msg (its reply is
 * ignored). */
JW_EXTERN jw_status jw_js_publish(jw_js *js, const char *subject,
                                  const void *data, size_t len,
                                  const jw_call_opts *opts,
                                  jw_js_pub_ack **ack);
JW_EXTERN jw_status jw_js_publish_msg(jw_js *js, const jw_msg *msg,
                                      const jw_call_opts *opts,
                                      jw_js_pub_ack **ack);
JW_EXTERN const char *jw_js_pub_ack_stream(const jw_js_pub_ack *ack);
JW_EXTERN const char *jw_js_pub_ack_domain(const jw_js_pub_ack *ack);
JW_EXTERN uint64_t jw_js_pub_ack_seq(const jw_js_pub_ack *ack);
/* 1 when the msg_id was seen within the duplicate window: the message was
 * not stored again and seq is the original's. */
JW_EXTERN int jw_js_pub_ack_duplicate(const jw_js_pub_ack *ack);
/* A counter's new total (decimal text of any length, ADR-49) when the
 * stream keeps counters, else NULL. */
JW_EXTERN const char *jw_js_pub_ack_value(const jw_js_pub_ack *ack);
/* The ack that ends a batch (ADR-50): the batch's id and how many of its
 * messages were stored (seq is the last one's); NULL and 0 otherwise. */
JW_EXTERN const char *jw_js_pub_ack_batch(const jw_js_pub_ack *ack);
JW_EXTERN uint64_t jw_js_pub_ack_count(const jw_js_pub_ack *ack);
JW_EXTERN void jw_js_pub_ack_free(jw_js_pub_ack *ack);

/* A publish for another event loop: start sends it (with the options'
 * headers) as a request on the context's connection and gives the
 * request's id; its completion comes as for jw_conn_request_start (the
 * connection's fd, jw_conn_request_poll, jw_conn_request_cancel when the
 * caller stops waiting), and jw_js_pub_ack_parse turns the reply into the
 * PubAck (*ack, owned by the caller) or the publish's error, as
 * jw_js_publish reports them. The caller retries no-responders itself. */
JW_EXTERN jw_status jw_js_publish_start(jw_js *js, const jw_msg *msg,
                                        const jw_call_opts *opts,
                                        uint64_t *id);
JW_EXTERN jw_status jw_js_pub_ack_parse(const jw_msg *reply,
                                        jw_js_pub_ack **ack);

/* Publish without waiting for the ack. *id (may be NULL) numbers the
 * publish, from 1. When max_pending publishes are already in flight the
 * call waits for acks to free a slot, up to the context's timeout
 * (JW_ETIMEOUT). Every publish's outcome is queued and taken with
 * jw_js_publish_async_poll: 1 when one was taken (*status is JW_OK or the
 * error, *ack the PubAck or NULL, owned by the caller; ack may be NULL to
 * drop it), 0 when none is ready, negative for bad arguments.
 *
 * A publish in flight when the connection loses its socket completes at
 * once, before the DISCONNECTED event, with JW_ENOT_CONNECTED (its ack
 * could only come to the dead socket; the stream may still have stored
 * the message: a msg_id makes publishing it again safe), and one in
 * flight when the connection closes with JW_ECONNECTION_CLOSED. They are
 * not sent again after a reconnect.
 *
 * jw_js_publish_async_complete waits until nothing is in flight
 * (JW_ETIMEOUT if acks are still missing at timeout_ms); when publishes
 * were completed by a loss of the connection since its last call it then
 * returns that status (JW_ENOT_CONNECTED or JW_ECONNECTION_CLOSED) once.
 * jw_js_publish_async_wait waits up to timeout_ms until an outcome is
 * queued for the poll: JW_OK at once when one is, else JW_ETIMEOUT (or
 * JW_EINTERRUPTED by a wait check); for a thread that hands outcomes on
 * as they come. jw_js_publish_async_pending gives the number in flight.
 * Any thread may call them; inside a loop callback the waits (the two
 * above, and jw_js_publish_async with a full window) fail with
 * JW_EINVAL. */
JW_EXTERN jw_status jw_js_publish_async(jw_js *js, const jw_msg *msg,
                                        const jw_call_opts *opts,
                                        uint64_t *id);
JW_EXTERN int jw_js_publish_async_poll(jw_js *js, uint64_t *id,
                                       jw_status *status,
                                       jw_js_pub_ack **ack);
JW_EXTERN jw_status jw_js_publish_async_complete(jw_js *js,
                                                 int64_t timeout_ms);
JW_EXTERN jw_status jw_js_publish_async_wait(jw_js *js, int64_t timeout_ms);
JW_EXTERN int64_t jw_js_publish_async_pending(jw_js *js);

/* ---- fast-ingest batches ----
 * A fast-ingest batch (ADR-50, nats-server 2.14.0 or newer, a stream with
 * "allow_batched": true) publishes a run of messages at full speed: the
 * server acknowledges them every so many ("flow", which it adapts) rather
 * than one by one, and the publisher waits only when it is
 * max_outstanding_acks acks ahead. The batch is not atomic: every message
 * is stored as it comes. What the server guarantees depends on "gap":
 *  - "fail" (the default): what is stored is the batch's messages in
 *    order without gaps (other publishers' messages may fall between).
 *    The first message the server did not get, or refused (an expected_*
 *    option that failed), ends the batch there: nothing after it is
 *    stored, and the final PubAck's count is how many were.
 *  - "ok": a message lost or refused is reported (take_errors) and the
 *    batch goes on; the PubAck's count is then the highest sequence the
 *    server saw, not how many it stored.
 *
 * jw_js_fast_new makes a batch on js (opts: "fast" call options, may be
 * NULL: "flow", "gap", "max_outstanding_acks", "timeout"; *out belongs to
 * the caller). JW_ENOT_SUPPORTED, naming 2.14.0, from an older server
 * before anything is sent (an older server would store the messages as
 * plain publishes); JW_EINVAL for a "gap" other than "ok" and "fail".
 *
 * jw_js_fast_add publishes msg (its subject, headers and data; its reply
 * is ignored) as the batch's next message, with the headers of pub_opts
 * ("publish" options, may be NULL: msg_id, expected_*, ttl; their timeout
 * and retries do not apply) and gives its batch sequence (from 1) in *seq
 * (may be NULL). It returns at once while the window is open, else waits
 * up to the timeout for an ack (pinging the server to have a lost ack
 * sent again): JW_ETIMEOUT, and then the message was not sent. The first
 * add waits for the server's first answer: JW_EJETSTREAM with err_code
 * 10205 (jw_js_last_err_code) for a stream without allow_batched,
 * JW_ENO_RESPONDERS when no stream captures the subject. With gap
 * "fail", a refused first message ends the batch with the publish's
 * error (JW_EWRONG_LAST_SEQUENCE, ...), which a later add or the commit
 * returns; once the server reported an
 * error or a gap, add sends nothing more and returns that error's status
 * (JW_EWRONG_LAST_SEQUENCE, JW_EJETSTREAM with its err_code) or, for a
 * gap, JW_EJETSTREAM (err_code 0); commit then gives what was stored.
 *
 * jw_js_fast_commit ends the batch: with msg, which is stored as its last
 * message; with NULL, without a further message (after at least one
 * add). It waits up to the timeout for the final PubAck (*ack, the
 * caller's, may be NULL: jw_js_pub_ack_batch and jw_js_pub_ack_count say
 * the batch's id and size). After a gap "fail" stop msg is not sent and
 * the PubAck of what was stored comes back with JW_OK: its count is less
 * than the messages added. An error PubAck (the batch unknown after 10 s
 * without messages: err_code 10208) is its status. Add and commit after
 * the commit are JW_EINVAL.
 *
 * A waiting add or commit returns JW_ENOT_CONNECTED at once when the
 * connection loses its server (JW_ECONNECTION_CLOSED when it closes):
 * what was handed to the connection counts in the batch, and later acks,
 * gaps and the PubAck say what became of it. In a loop callback the calls
 * that would wait return JW_EINVAL.
 *
 * jw_js_fast_acked is the highest batch sequence the server acknowledged
 * (with gap "fail": every message up to it is stored). jw_js_fast_take_
 * errors gives (*json, jw_free) the errors and gaps reported since the
 * last call as a JSON array, "[]" when none:
 *   {"type":"err","seq":N,"code":400,"err_code":10071,"description":"..."}
 *   {"type":"gap","last_seq":N,"seq":M}  (messages N to M-1 were lost)
 * Past 10,000 kept, further ones are counted in a last
 * {"type":"dropped","count":N}.
 *
 * Threads: one thread at a time adds and commits (a batch is a sequence);
 * acks are read on the loop thread, and acked and take_errors may be
 * called from any thread. jw_js_fast_free (accepts NULL) abandons a batch
 * that was not committed (what was sent stays stored; the server forgets
 * the batch after 10 s).
 *
 * jw_js_publish_batch publishes msgs[0..count) as one batch (opts as for
 * jw_js_fast_new, the last message as the commit) and returns when all are
 * acknowledged, with the final PubAck in *ack (may be NULL), or the first
 * failure's status. */
typedef struct jw_js_fast jw_js_fast;
JW_EXTERN jw_status jw_js_fast_new(jw_js *js, const jw_call_opts *opts,
                                   jw_js_fast **out);
JW_EXTERN jw_status jw_js_fast_add(jw_js_fast *f, const jw_msg *msg,
                                   const jw_call_opts *pub_opts,
                                   uint64_t *seq);
/* jw_js_fast_add of subject and data (len bytes; NULL and 0 for none),
 * without headers and without a jw_msg to make. */
JW_EXTERN jw_status jw_js_fast_publish(jw_js_fast *f, const char *subject,
                                       const void *data, size_t len,
                                       const jw_call_opts *pub_opts,
                                       uint64_t *seq);
JW_EXTERN jw_status jw_js_fast_commit(jw_js_fast *f, const jw_msg *msg,
                                      jw_js_pub_ack **ack);
JW_EXTERN uint64_t jw_js_fast_acked(const jw_js_fast *f);
/* How many adds would return now without waiting for an ack (the window
 * the server's flow leaves open); 0 when the next one may wait (the first
 * add always waits for the server's first answer) or the batch is over.
 * For a host whose thread must not block (an asyncio loop): add at once
 * while it is above 0, else add from a thread that may wait. */
JW_EXTERN uint64_t jw_js_fast_room(const jw_js_fast *f);
JW_EXTERN jw_status jw_js_fast_take_errors(jw_js_fast *f, char **json);
JW_EXTERN void jw_js_fast_free(jw_js_fast *f);
JW_EXTERN jw_status jw_js_publish_batch(jw_js *js,
                                        const jw_msg *const *msgs,
                                        size_t count,
                                        const jw_call_opts *opts,
                                        jw_js_pub_ack **ack);

/* ---- consumers ----
 * config_json is a ConsumerConfig object. A durable consumer has
 * "durable_name" (or "name" with the same value); without either the
 * consumer is ephemeral. ack_policy defaults to "explicit" here (the
 * server's own default is "none"). Creation uses the named API
 * ($JS.API.CONSUMER.CREATE.<stream>.<name>[.<filter>]) on servers that have
 * it (2.9.0+). create makes a new consumer, or finds one with the same
 * configuration (JW_EJETSTREAM, err_code 10148 "consumer already exists",
 * for another configuration); update changes an existing one only
 * (JW_ECONSUMER_NOT_FOUND, err_code 10149); create_or_update does either.
 * From 2.10 the server checks (the request's create/update action); a 2.9
 * server is asked for the consumer first, and create compares the fields
 * the caller gave. On success *out (may be NULL) is a handle for
 * fetching. */
JW_EXTERN jw_status jw_js_consumer_create(jw_js *js, const char *stream,
                                          const char *config_json,
                                          jw_consumer **out);
JW_EXTERN jw_status jw_js_consumer_update(jw_js *js, const char *stream,
                                          const char *config_json,
                                          jw_consumer **out);
JW_EXTERN jw_status jw_js_consumer_create_or_update(jw_js *js,
                                                    const char *stream,
                                                    const char *config_json,
                                                    jw_consumer **out);
/* A handle on an existing consumer (JW_ECONSUMER_NOT_FOUND otherwise). */
JW_EXTERN jw_status jw_js_consumer_get(jw_js *js, const char *stream,
                                       const char *name, jw_consumer **out);
JW_EXTERN jw_status jw_js_consumer_info(jw_js *js, const char *stream,
                                        const char *name, char **info_json);
JW_EXTERN jw_status jw_js_consumer_delete(jw_js *js, const char *stream,
                                          const char *name);
/* Pause a consumer until until_ns (ns since the epoch; nothing is
 * delivered before, nats-server 2.11), or resume it now. *reply_json (may
 * be NULL; jw_free) gets {"paused", "pause_until", "pause_remaining" (in
 * the context's duration unit)}. ConsumerInfo says "paused" too, and a
 * configuration may carry "pause_until" (RFC 3339) to create it paused.
 * An older server: JW_ENOT_SUPPORTED. */
JW_EXTERN jw_status jw_js_consumer_pause(jw_js *js, const char *stream,
                                         const char *name, int64_t until_ns,
                                         char **reply_json);
JW_EXTERN jw_status jw_js_consumer_resume(jw_js *js, const char *stream,
                                          const char *name,
                                          char **reply_json);
/* Release the client pinned to a priority group of a consumer with the
 * "pinned_client" policy (ADR-42): the server pins another puller (or
 * the same one) on its next pull. nats-server 2.11. */
JW_EXTERN jw_status jw_js_consumer_unpin(jw_js *js, const char *stream,
                                         const char *name,
                                         const char *group);
/* Reset a consumer's delivery state without deleting it (nats-server
 * 2.14): pending and redelivery state are dropped and delivery starts
 * again above the ack floor, with delivery sequence 1. seq 0 keeps the
 * ack floor; seq > 0 moves it to seq - 1, so that the next message is the
 * first at or after seq (a consumer that delivers "all" only; one that
 * starts by sequence or time may not go before its start: JW_EJETSTREAM).
 * *info_json (may be NULL; jw_free) is the ConsumerInfo after the reset
 * with "reset_seq". An older server: JW_ENOT_SUPPORTED. */
JW_EXTERN jw_status jw_js_consumer_reset(jw_js *js, const char *stream,
                                         const char *name, uint64_t seq,
                                         char **info_json);

/* Every consumer name / ConsumerInfo of a stream, as a JSON array. */
JW_EXTERN jw_status jw_js_consumer_names(jw_js *js, const char *stream,
                                         char **names_json);
JW_EXTERN jw_status jw_js_consumer_list(jw_js *js, const char *stream,
                                        char **infos_json);

/* The consumer's name and stream, borrowed from the handle. */
JW_EXTERN const char *jw_consumer_name(const jw_consumer *c);
JW_EXTERN const char *jw_consumer_stream(const jw_consumer *c);
/* Fresh ConsumerInfo of this consumer. */
JW_EXTERN jw_status jw_consumer_info(jw_consumer *c, char **info_json);
/* Release the handle (the consumer stays on the server). Accepts NULL. */
JW_EXTERN void jw_consumer_free(jw_consumer *c);

/* Pull up to batch messages into msgs[] (room for max; batch defaults to
 * max), waiting up to the timeout for them, with max_bytes as a cap on
 * their total size, or, with no_wait, taking only what is available now.
 * opts ("fetch") may be NULL. Returns the number of messages taken, 0
 * included (nothing arrived in time is not an error), or a negative
 * jw_status: JW_ECONSUMER_NOT_FOUND, JW_EJETSTREAM for a refused request
 * (409 with its description). The messages belong to the caller; ack them
 * with jw_msg_ack and friends. Must not be called from a loop callback. */
JW_EXTERN int jw_consumer_fetch(jw_consumer *c, jw_msg **msgs, int max,
                                const jw_call_opts *opts);

/* Continuous consumption, like Go's Consume/Messages: pull requests of
 * batch messages (and max_bytes) that overlap, a new one going out when
 * half of the previous is used, each living expires with idle heartbeats
 * every expires/2 (at most 30 s); opts ("consume") may be NULL;
 * when neither a message nor a heartbeat came for two heartbeats, the
 * requests are made again (after a server restart, a reconnect). All of it
 * runs inside jw_consume_next, in the caller's thread: nothing is asked
 * for while nobody pulls. The jw_consume keeps its consumer handle alive.
 * The consumer's kind is asked first (one API request): a push consumer
 * (with a deliver_subject) is consumed from a subscription on that
 * subject, in its deliver_group, with its flow control answered inside
 * jw_consume_next; options given for a push consumer are JW_EINVAL (they
 * are all about pull requests).
 *
 * jw_consume_next takes up to max messages into msgs[], waiting up to
 * timeout_ms (< 0: until one comes) for the first; returns the count (0
 * when none came in time) or a negative jw_status (JW_ECONSUMER_NOT_FOUND
 * once the consumer is deleted, JW_EINVALID_SUBSCRIPTION after stop,
 * JW_EJETSTREAM with the server's description when it refuses the pull
 * requests themselves, say for a batch above the consumer's
 * max_request_batch).
 * jw_consume_stop ends the requests; jw_consume_free stops and releases.
 * One jw_consume is used from one thread at a time. */
typedef struct jw_consume jw_consume;
JW_EXTERN jw_status jw_consumer_consume(jw_consumer *c,
                                        const jw_call_opts *opts,
                                        jw_consume **out);
JW_EXTERN int jw_consume_next(jw_consume *cc, jw_msg **msgs, int max,
                              int64_t timeout_ms);
JW_EXTERN jw_status jw_consume_stop(jw_consume *cc);
JW_EXTERN void jw_consume_free(jw_consume *cc);

/* Ordered consumer: every message of the stream (or of filter_subject) in
 * stream order, without gaps or duplicates and without acks, for reading a
 * stream from start to end or following it. An ephemeral push consumer is
 * created (ack_policy none, flow control, idle heartbeats, in memory) and
 * recreated from the next stream sequence when a gap shows or nothing,
 * not even a heartbeat, arrives for three heartbeats (a server restart, a
 * reconnect). config_json (may be NULL) may set only deliver_policy,
 * opt_start_seq, opt_start_time, filter_subject, headers_only,
 * replay_policy, idle_heartbeat (ms, default 5000) and description; the
 * other fields give JW_EINVAL. The handle keeps its context alive.
 *
 * jw_ordered_next works like jw_consume_next (0 when nothing came within
 * timeout_ms); flow-control replies and resets happen inside it, so it
 * should be called regularly. jw_ordered_last_sequence gives the stream
 * sequence of the last message handed out (0: none yet). jw_ordered_free
 * deletes the server's consumer and releases the handle; accepts NULL. */
typedef struct jw_ordered jw_ordered;
JW_EXTERN jw_status jw_js_ordered_consumer(jw_js *js, const char *stream,
                                           const char *config_json,
                                           jw_ordered **out);
JW_EXTERN int jw_ordered_next(jw_ordered *oc, jw_msg **msgs, int max,
                              int64_t timeout_ms);
JW_EXTERN uint64_t jw_ordered_last_sequence(const jw_ordered *oc);
JW_EXTERN void jw_ordered_free(jw_ordered *oc);

/* ---- acknowledgements ----
 * For messages delivered by a JetStream consumer (reply subject $JS.ACK.*).
 * Another message gives JW_EINVAL "not a JetStream message". After a
 * terminal ack (ack, nak, term) further acks give JW_EINVAL "already
 * acknowledged"; in_progress may repeat. Acks of one message should come
 * from one thread at a time. ack_sync waits for the server's confirmation.
 * nak_delay asks for redelivery after delay_ms. term_reason terminates
 * with a reason the server puts in its MSG_TERMINATED advisory (NULL or
 * "": a plain term); it needs nats-server 2.10.4 (JW_ENOT_SUPPORTED
 * before: older servers take it for no ack and redeliver). */
JW_EXTERN jw_status jw_msg_ack(jw_msg *msg);
JW_EXTERN jw_status jw_msg_ack_sync(jw_msg *msg, int64_t timeout_ms);
JW_EXTERN jw_status jw_msg_nak(jw_msg *msg);
JW_EXTERN jw_status jw_msg_nak_delay(jw_msg *msg, int64_t delay_ms);
JW_EXTERN jw_status jw_msg_term(jw_msg *msg);
JW_EXTERN jw_status jw_msg_term_reason(jw_msg *msg, const char *reason);
JW_EXTERN jw_status jw_msg_in_progress(jw_msg *msg);

/* Metadata of a JetStream message, parsed from its reply subject (both
 * the 9-token and the 11+-token forms). JW_EINVAL for other messages.
 * jw_js_meta_parse parses a reply subject directly. *out belongs to the
 * caller (jw_js_meta_free); the string getters borrow from it. domain is
 * "" when there is none. timestamp is nanoseconds since the Unix epoch. */
JW_EXTERN jw_status jw_msg_metadata(const jw_msg *msg, jw_js_meta **out);
JW_EXTERN jw_status jw_js_meta_parse(const char *reply, jw_js_meta **out);
JW_EXTERN const char *jw_js_meta_stream(const jw_js_meta *m);
JW_EXTERN const char *jw_js_meta_consumer(const jw_js_meta *m);
JW_EXTERN const char *jw_js_meta_domain(const jw_js_meta *m);
JW_EXTERN uint64_t jw_js_meta_num_delivered(const jw_js_meta *m);
JW_EXTERN uint64_t jw_js_meta_stream_seq(const jw_js_meta *m);
JW_EXTERN uint64_t jw_js_meta_consumer_seq(const jw_js_meta *m);
JW_EXTERN int64_t jw_js_meta_timestamp(const jw_js_meta *m);
JW_EXTERN uint64_t jw_js_meta_num_pending(const jw_js_meta *m);
JW_EXTERN void jw_js_meta_free(jw_js_meta *m);

/* ------------------------------------------------------------------------
 * Key-Value store (kv.md)
 *
 * A bucket is the stream KV_<bucket>; its configuration crosses the ABI as
 * JSON: {"bucket": "...", "description": "...", "history": 1..64 (1),
 * "ttl": duration (0: forever), "max_value_size": bytes, "max_bytes":
 * bytes, "storage": "file" | "memory", "replicas": n, "republish": {...},
 * "placement": {...}, "compression": true (2.10), "metadata": {...}
 * (2.10), "limit_marker_ttl": duration (2.11: how long the markers of keys
 * removed by the TTL or limits stay)}, durations in the context's unit
 * (jw_js_config_fields "bucket"); other fields are refused (JW_EINVAL), a
 * field newer than the connected server is JW_ENOT_SUPPORTED. Bucket names
 * are letters, digits, '_' and '-'; keys letters, digits and -/_=. without
 * an empty token. A bucket handle keeps its jw_js alive.
 *
 * An entry's revision is the stream sequence of its message; created is
 * the time it was stored (ns since the epoch); delta, in watches and
 * history, how many newer entries match (0: the latest). Reading a key
 * whose latest entry is a delete or purge marker gives JW_EKEY_DELETED (a
 * kind of "not found": test for both); a key never written,
 * JW_EKEY_NOT_FOUND. A bucket that does not exist is JW_EBUCKET_NOT_FOUND.
 */
typedef struct jw_kv jw_kv;
typedef struct jw_kv_entry jw_kv_entry;
typedef struct jw_kv_watcher jw_kv_watcher;

typedef enum jw_kv_op {
    JW_KV_PUT = 1,
    JW_KV_DEL = 2,
    JW_KV_PURGE = 3
} jw_kv_op;
/* "PUT", "DEL", "PURGE"; NULL for another value (static text). */
JW_EXTERN const char *jw_kv_op_name(jw_kv_op op);

JW_EXTERN jw_status jw_js_kv_create(jw_js *js, const char *config_json,
                                    jw_kv **out);
JW_EXTERN jw_status jw_js_kv_update(jw_js *js, const char *config_json,
                                    jw_kv **out);
JW_EXTERN jw_status jw_js_kv_create_or_update(jw_js *js,
                                              const char *config_json,
                                              jw_kv **out);
/* Bind to an existing bucket. */
JW_EXTERN jw_status jw_js_kv(jw_js *js, const char *bucket, jw_kv **out);
JW_EXTERN jw_status jw_js_kv_delete(jw_js *js, const char *bucket);
/* Every bucket's name, as a JSON array (free with jw_free). */
JW_EXTERN jw_status jw_js_kv_names(jw_js *js, char **names_json);
JW_EXTERN void jw_kv_free(jw_kv *kv);
JW_EXTERN const char *jw_kv_bucket(const jw_kv *kv);
/* {"bucket","values","history","ttl","bytes","storage","replicas",
 *  "backing_store":"JetStream","stream","is_compressed",
 *  "limit_marker_ttl","metadata"}, durations in the context's unit
 *  (jw_free). */
JW_EXTERN jw_status jw_kv_status(jw_kv *kv, char **status_json);
/* Every bucket's status, as a JSON array of the objects jw_kv_status
 * gives, from one listing of the streams (jw_free); their metadata lacks
 * what a server adds to one stream's info only (_nats.ver, _nats.level). */
JW_EXTERN jw_status jw_js_kv_statuses(jw_js *js, char **statuses_json);

/* Writes; *revision (may be NULL) gets the new revision. create fails with
 * JW_EKEY_EXISTS over a live value and succeeds over a deleted key; update
 * with JW_EWRONG_LAST_SEQUENCE when `last` is not the key's latest
 * revision. delete and purge take `last` too (0: unconditional); purge
 * also drops the key's history. create and purge take options ("create",
 * "purge"; may be NULL): "ttl", a per-key TTL for the value or for the
 * purge marker (ADR-48, nats-server 2.11; the bucket needs
 * limit_marker_ttl). */
JW_EXTERN jw_status jw_kv_put(jw_kv *kv, const char *key, const void *value,
                              size_t len, uint64_t *revision);
JW_EXTERN jw_status jw_kv_create(jw_kv *kv, const char *key,
                                 const void *value, size_t len,
                                 const jw_call_opts *opts,
                                 uint64_t *revision);
JW_EXTERN jw_status jw_kv_update(jw_kv *kv, const char *key,
                                 const void *value, size_t len, uint64_t last,
                                 uint64_t *revision);
JW_EXTERN jw_status jw_kv_delete(jw_kv *kv, const char *key, uint64_t last);
JW_EXTERN jw_status jw_kv_purge(jw_kv *kv, const char *key, uint64_t last,
                                const jw_call_opts *opts);
/* Drop the delete and purge markers older than older_than_ms (0: 30
 * minutes; negative: all of them). */
JW_EXTERN jw_status jw_kv_purge_deletes(jw_kv *kv, int64_t older_than_ms);

/* Read a key (direct get): its latest entry, or with the option
 * "revision" that one (opts: "get", may be NULL). */
JW_EXTERN jw_status jw_kv_get(jw_kv *kv, const char *key,
                              const jw_call_opts *opts, jw_kv_entry **out);
/* The same reads and writes for another event loop, each one request on
 * the bucket's connection: start gives the request's id, its completion
 * comes as for jw_conn_request_start (the connection's fd,
 * jw_conn_request_poll with its status and reply, jw_conn_request_cancel
 * when the caller stops waiting), and result turns that status and reply
 * into what jw_kv_get / jw_kv_put / jw_kv_update give (no responders is
 * JW_EBUCKET_NOT_FOUND). put_start is a put when last is 0, else an
 * update expecting revision last. The timeout is the caller's; given
 * JW_ETIMEOUT, jw_kv_get_result asks whether the bucket is gone (one
 * blocking API request), as jw_kv_get does. */
JW_EXTERN jw_status jw_kv_get_start(jw_kv *kv, const char *key,
                                    const jw_call_opts *opts, uint64_t *id);
JW_EXTERN jw_status jw_kv_get_result(jw_kv *kv, const char *key,
                                     jw_status status, const jw_msg *reply,
                                     jw_kv_entry **out);
JW_EXTERN jw_status jw_kv_put_start(jw_kv *kv, const char *key,
                                    const void *value, size_t len,
                                    uint64_t last, uint64_t *id);
JW_EXTERN jw_status jw_kv_put_result(jw_kv *kv, jw_status status,
                                     const jw_msg *reply, uint64_t *revision);
/* The live keys matching filter (NULL: all), as a JSON array; an empty
 * bucket gives []. */
JW_EXTERN jw_status jw_kv_keys(jw_kv *kv, const char *filter,
                               char **keys_json);
/* The live keys matching any of count filters (more than one: 2.10). */
JW_EXTERN jw_status jw_kv_keys_multi(jw_kv *kv, const char *const *filters,
                                     size_t count, char **keys_json);
/* The same keys one at a time, for buckets too large for one array: each
 * jw_kv_lister_next gives the next key (valid until the next call or the
 * free), then JW_OK with *key NULL once every key was given. Each call
 * waits up to the context's timeout. */
typedef struct jw_kv_lister jw_kv_lister;
JW_EXTERN jw_status jw_kv_list_keys(jw_kv *kv, const char *filter,
                                    jw_kv_lister **out);
/* The same over count filters (more than one: 2.10), as jw_kv_keys_multi. */
JW_EXTERN jw_status jw_kv_list_keys_multi(jw_kv *kv,
                                          const char *const *filters,
                                          size_t count, jw_kv_lister **out);
JW_EXTERN jw_status jw_kv_lister_next(jw_kv_lister *l, const char **key);
/* Accepts NULL. */
JW_EXTERN void jw_kv_lister_free(jw_kv_lister *l);
/* Every stored entry of a key, oldest first, markers included; free with
 * jw_kv_entries_free. JW_EKEY_NOT_FOUND when there is none. opts
 * ("history", may be NULL): "up_to_revision" (included) or "up_to_time"
 * (RFC 3339, excluded) give the history as it stood then, through direct
 * get batches (nats-server 2.11, JW_ENOT_SUPPORTED before; the bucket's
 * allow_direct); without them an ordered consumer reads it on any
 * server. delta counts the newer entries of the answer. */
JW_EXTERN jw_status jw_kv_history(jw_kv *kv, const char *key,
                                  const jw_call_opts *opts,
                                  jw_kv_entry ***entries, size_t *count);
JW_EXTERN void jw_kv_entries_free(jw_kv_entry **entries, size_t count);
/* The latest entry of each of count keys (filters with '*' and '>' too;
 * NULL and 0: every key) in one consistent view, through direct get
 * batches with multi_last (nats-server 2.11, JW_ENOT_SUPPORTED before):
 * *entries (jw_kv_entries_free) holds *n live entries in revision order;
 * keys never written, deleted, purged or removed by a limit are left out
 * (no error), each key once. opts ("get_many", may be NULL):
 * "up_to_revision" (included) or "up_to_time" (RFC 3339, excluded) give
 * the values as they stood then. Literal keys go 256 to a request, a
 * filter with wildcards alone; a filter matching more than 1024 keys is
 * JW_EJETSTREAM (the server's limit). */
JW_EXTERN jw_status jw_kv_get_many(jw_kv *kv, const char *const *keys,
                                   size_t count, const jw_call_opts *opts,
                                   jw_kv_entry ***entries, size_t *n);

JW_EXTERN const char *jw_kv_entry_bucket(const jw_kv_entry *e);
JW_EXTERN const char *jw_kv_entry_key(const jw_kv_entry *e);
/* The value, NUL-terminated for convenience; *len (may be NULL) its size. */
JW_EXTERN const void *jw_kv_entry_value(const jw_kv_entry *e, size_t *len);
JW_EXTERN uint64_t jw_kv_entry_revision(const jw_kv_entry *e);
JW_EXTERN uint64_t jw_kv_entry_delta(const jw_kv_entry *e);
JW_EXTERN int64_t jw_kv_entry_created(const jw_kv_entry *e);
JW_EXTERN jw_kv_op jw_kv_entry_operation(const jw_kv_entry *e);
JW_EXTERN void jw_kv_entry_free(jw_kv_entry *e);

/* Watch keys (a key, a filter with '*' tokens and a final '>', or NULL for
 * all). First the current values (one per key, markers included; every
 * stored entry with include_history; none with updates_only), then
 * exactly once an end-of-initial-values marker: jw_kv_watch_next returns
 * JW_OK with *entry NULL. Then live updates. The marker comes after the
 * initial values even while other clients write. opts ("watch", may be
 * NULL): include_history, ignore_deletes, meta_only (values left out),
 * updates_only; include_history with updates_only is JW_EINVAL. */
JW_EXTERN jw_status jw_kv_watch(jw_kv *kv, const char *keys,
                                const jw_call_opts *opts,
                                jw_kv_watcher **out);
/* The same over count key filters at once (count 0: every key; more than
 * one needs nats-server 2.10: JW_ENOT_SUPPORTED before). */
JW_EXTERN jw_status jw_kv_watch_multi(jw_kv *kv, const char *const *keys,
                                      size_t count,
                                      const jw_call_opts *opts,
                                      jw_kv_watcher **out);
/* The next entry (owned by the caller), NULL once for the marker;
 * JW_ETIMEOUT when nothing came within timeout_ms. */
JW_EXTERN jw_status jw_kv_watch_next(jw_kv_watcher *w, int64_t timeout_ms,
                                     jw_kv_entry **entry);
/* Stop watching and release the watcher. Accepts NULL. */
JW_EXTERN void jw_kv_watcher_free(jw_kv_watcher *w);

/* ------------------------------------------------------------------------
 * Object store (ADR-20)
 *
 * The JetStream object store: large objects kept in chunks, as
 * nats.go, nats-py and natscli keep them, so that each reads what the other
 * wrote. A bucket is the stream OBJ_<bucket> over $O.<bucket>.C.> (chunks)
 * and $O.<bucket>.M.> (meta); an object is its chunks on
 * $O.<bucket>.C.<nuid> and one meta message on $O.<bucket>.M.<name in
 * base64url>, a JSON document rolled up per subject and written after the
 * chunks, so that an object is visible only once all of it is stored.
 *
 * A bucket configuration is JSON text: {"bucket" (letters, digits, '_'
 * and '-'), "description", "ttl" (the context's duration unit), "storage"
 * ("file" or "memory"), "replicas", "max_bytes", "placement",
 * "compression" (a bool: s2, nats-server 2.10), "metadata" (an object of
 * strings, 2.10)} (jw_js_config_fields "object_store"); other fields are
 * JW_EINVAL, a field newer than the connected server JW_ENOT_SUPPORTED.
 * A bucket handle keeps its jw_js alive; readers and watchers keep their
 * bucket alive.
 *
 * An object's info is JSON text (jw_free): {"name", "description",
 * "headers" (an object of arrays of strings), "metadata" (an object of
 * strings), "options" ({"max_chunk_size"}, or {"link": {"bucket", "name"}}
 * for a link), "bucket", "nuid", "size", "chunks", "digest"
 * ("SHA-256=<base64url>"), "deleted" (only when true), "mtime" (RFC 3339:
 * when the server stored the meta; the client's clock right after a
 * write)}. Object names are any non-empty text of at most 1024 bytes.
 *
 * An object that does not exist, or was deleted, is JW_EKEY_NOT_FOUND; a
 * name held by a live object where a link or rename wants it,
 * JW_EKEY_EXISTS; a bucket that does not exist, JW_EBUCKET_NOT_FOUND. An
 * object whose bytes do not match its size or digest (or whose chunks are
 * gone) is JW_EPROTOCOL when its end is read.
 */
typedef struct jw_obs jw_obs;
typedef struct jw_obs_reader jw_obs_reader;
typedef struct jw_obs_watcher jw_obs_watcher;

JW_EXTERN jw_status jw_js_obs_create(jw_js *js, const char *config_json,
                                     jw_obs **out);
JW_EXTERN jw_status jw_js_obs_update(jw_js *js, const char *config_json,
                                     jw_obs **out);
JW_EXTERN jw_status jw_js_obs_create_or_update(jw_js *js,
                                               const char *config_json,
                                               jw_obs **out);
/* Bind to an existing bucket. */
JW_EXTERN jw_status jw_js_obs_get(jw_js *js, const char *bucket,
                                  jw_obs **out);
JW_EXTERN jw_status jw_js_obs_delete(jw_js *js, const char *bucket);
/* Every bucket's name (a JSON array of strings), or status (a JSON array
 * of what jw_obs_status gives); jw_free. */
JW_EXTERN jw_status jw_js_obs_names(jw_js *js, char **names_json);
JW_EXTERN jw_status jw_js_obs_list(jw_js *js, char **status_json);
/* Release the handle (the bucket stays). Accepts NULL. */
JW_EXTERN void jw_obs_free(jw_obs *obs);
/* The bucket's name, borrowed from the handle. */
JW_EXTERN const char *jw_obs_bucket(const jw_obs *obs);
/* {"bucket", "description", "ttl" (the context's unit), "storage",
 *  "replicas", "size" (bytes stored), "sealed", "metadata",
 *  "is_compressed", "backing_store": "JetStream"} (jw_free). */
JW_EXTERN jw_status jw_obs_status(jw_obs *obs, char **status_json);
/* Seal the bucket: nothing can be written or removed any more. */
JW_EXTERN jw_status jw_obs_seal(jw_obs *obs);

/* Source of a streamed put: copy up to cap bytes into buf and return how
 * many, 0 at the end, or a negative number for a failure (the put fails
 * with JW_EIO). Runs in the caller's thread. */
typedef long (*jw_obs_read_fn)(void *arg, void *buf, size_t cap);
/* Store an object: meta_json is {"name", "description", "headers",
 * "metadata", "options": {"max_chunk_size" (default 131072)}}. The bytes
 * go in chunks, published with a bounded window of acks pending and
 * hashed (SHA-256) on the way; the meta goes last. An object of the same
 * name is replaced, its chunks purged once the new one is stored. A failed
 * put leaves no new object (its chunks are purged, best effort). At most
 * a few chunks are held in memory whatever the size. *info_json (may be
 * NULL; jw_free) gets the new object's info. The stream form reads the
 * bytes from read(arg, ...) until it returns 0. */
JW_EXTERN jw_status jw_obs_put(jw_obs *obs, const char *meta_json,
                               const void *data, size_t len,
                               char **info_json);
JW_EXTERN jw_status jw_obs_put_stream(jw_obs *obs, const char *meta_json,
                                      jw_obs_read_fn read, void *arg,
                                      char **info_json);
/* The whole object in memory (*data: jw_free, NUL-terminated for
 * convenience; *len its size), its digest checked; *info_json may be NULL.
 * A link to an object is followed (into its bucket); a link to a bucket
 * is JW_EINVAL. For large objects use a reader. */
JW_EXTERN jw_status jw_obs_get(jw_obs *obs, const char *name, void **data,
                               size_t *len, char **info_json);
/* Read an object as a stream, following a link as jw_obs_get does. Each
 * jw_obs_reader_read copies up to cap bytes into buf (*got), waiting up
 * to timeout_ms for chunks; JW_OK with *got 0 at the end, once the size
 * and digest were checked (a mismatch: JW_EPROTOCOL, every later read
 * too). The reader fetches about 4 MiB at a time from an ephemeral
 * consumer, which jw_obs_reader_free deletes (accepts NULL).
 * jw_obs_reader_info gives the object's info (borrowed, valid until the
 * free). One reader is used from one thread at a time. */
JW_EXTERN jw_status jw_obs_open(jw_obs *obs, const char *name,
                                jw_obs_reader **out);
JW_EXTERN jw_status jw_obs_reader_read(jw_obs_reader *r, void *buf,
                                       size_t cap, int64_t timeout_ms,
                                       size_t *got);
JW_EXTERN const char *jw_obs_reader_info(const jw_obs_reader *r);
JW_EXTERN void jw_obs_reader_free(jw_obs_reader *r);

/* The info of an object (of a deleted one too when show_deleted). */
JW_EXTERN jw_status jw_obs_info(jw_obs *obs, const char *name,
                                int show_deleted, char **info_json);
/* Every object's info, as a JSON array (deleted ones when show_deleted);
 * an empty bucket gives []. */
JW_EXTERN jw_status jw_obs_list(jw_obs *obs, int show_deleted,
                                char **list_json);
/* Delete an object: its meta becomes a deleted marker (size 0, no
 * digest) and its chunks are purged. Deleting a deleted object again is
 * harmless. */
JW_EXTERN jw_status jw_obs_delete(jw_obs *obs, const char *name);
/* Replace an object's name, description, headers and metadata by those of
 * meta_json ({"name", "description", "headers", "metadata"}; a field left
 * out is removed, a name left out keeps the name). Renaming onto a live
 * object is JW_EKEY_EXISTS; a deleted or missing object,
 * JW_EKEY_NOT_FOUND. */
JW_EXTERN jw_status jw_obs_update_meta(jw_obs *obs, const char *name,
                                       const char *meta_json);
/* Add a link called name to the object target_name of target (a bucket
 * handle; the same bucket or another), or to the whole bucket target.
 * The target object must exist and not be a link (JW_EINVAL); name may
 * replace a link or a deleted object, not a live object (JW_EKEY_EXISTS).
 * *info_json (may be NULL; jw_free) gets the link's info. */
JW_EXTERN jw_status jw_obs_add_link(jw_obs *obs, const char *name,
                                    jw_obs *target, const char *target_name,
                                    char **info_json);
JW_EXTERN jw_status jw_obs_add_bucket_link(jw_obs *obs, const char *name,
                                           jw_obs *target, char **info_json);

/* Watch the bucket's objects: first the current info of each (every
 * stored meta with include_history, none with updates_only), then exactly
 * once an end-of-initial-values marker (jw_obs_watcher_next returns JW_OK
 * with *info_json NULL), then live changes. opts ("watch", may be NULL):
 * include_history, ignore_deletes, updates_only (meta_only is
 * JW_EINVAL). jw_obs_watcher_next waits up to timeout_ms (JW_ETIMEOUT);
 * *info_json belongs to the caller (jw_free). jw_obs_watcher_free stops
 * and releases; accepts NULL. */
JW_EXTERN jw_status jw_obs_watch(jw_obs *obs, const jw_call_opts *opts,
                                 jw_obs_watcher **out);
JW_EXTERN jw_status jw_obs_watcher_next(jw_obs_watcher *w,
                                        int64_t timeout_ms,
                                        char **info_json);
JW_EXTERN void jw_obs_watcher_free(jw_obs_watcher *w);

/* ------------------------------------------------------------------------
 * Services (the NATS "micro" API, ADR-32)
 *
 * A service is a named, versioned set of endpoints that answer requests in
 * a queue group, and that answer the discovery requests of `nats micro`
 * and of every client's micro API: PING, INFO and STATS on $SRV.<VERB>,
 * $SRV.<VERB>.<name> and $SRV.<VERB>.<name>.<id>. The engine answers
 * those itself, on the loop thread, from what it knows of the service and
 * the statistics it keeps per endpoint: requests, errors, the last error
 * ("code:description") and the time spent in handlers (nanoseconds).
 *
 * Configurations are JSON text:
 *  - a service: {"name" (letters, digits, '-' and '_'), "version"
 *    (semantic versioning 2.0), "description", "metadata" (an object of
 *    strings), "queue_group" (default "q"), "queue_group_disabled"};
 *  - a group: {"name" (a subject prefix; several tokens allowed),
 *    "queue_group", "queue_group_disabled"};
 *  - an endpoint: {"name" (as a service's), "subject" (default: the
 *    name; wildcards allowed), "metadata", "queue_group",
 *    "queue_group_disabled", "pending_msgs_limit",
 *    "pending_bytes_limit"}.
 * A queue group not set is the parent's (endpoint, then group, then
 * service), "q" at the top; disabled, the endpoint subscribes without one.
 * An endpoint in a group listens on "<group prefix>.<subject>". Unknown
 * fields and fields of the wrong type are JW_EINVAL.
 *
 * Groups and endpoints belong to their service: their handles are
 * borrowed and stay valid until jw_service_free.
 */
typedef struct jw_service jw_service;
typedef struct jw_service_group jw_service_group;
typedef struct jw_endpoint jw_endpoint;

/* A request handler. req is borrowed: valid until the handler returns,
 * when the engine frees it. Answer it with jw_msg_respond (or
 * jw_endpoint_respond_error); the time the handler takes is the
 * endpoint's processing time. It runs on the endpoint subscription's
 * delivery thread, as handlers of jw_conn_subscribe_cb do. */
typedef void (*jw_endpoint_cb)(jw_endpoint *ep, jw_msg *req, void *arg);

/* Data an endpoint adds to STATS ("data"): JSON text allocated with
 * malloc, which the engine frees, or NULL for none. Runs on the loop
 * thread when a STATS request is answered; it must not wait. */
typedef char *(*jw_service_stats_cb)(jw_endpoint *ep, void *arg);

/* Start a service on conn: validate config_json, subscribe its PING, INFO
 * and STATS subjects and give it an id (a NUID). *out: jw_service_free. */
JW_EXTERN jw_status jw_service_new(jw_conn *conn, const char *config_json,
                                   jw_service **out);
/* A group of endpoints under parent (NULL: the service itself). */
JW_EXTERN jw_status jw_service_add_group(jw_service *svc,
                                         jw_service_group *parent,
                                         const char *config_json,
                                         jw_service_group **out);
/* Add an endpoint to the service (group NULL) or to a group, and
 * subscribe it. With cb, each request is handed to cb. Without (NULL),
 * requests queue in the endpoint's subscription (jw_endpoint_sub) for a
 * host that runs handlers itself: it brackets each with
 * jw_endpoint_begin and jw_endpoint_end. *out (may be NULL) is borrowed. */
JW_EXTERN jw_status jw_service_add_endpoint(jw_service *svc,
                                            jw_service_group *group,
                                            const char *config_json,
                                            jw_endpoint_cb cb, void *arg,
                                            jw_endpoint **out);
/* Data for STATS from cb, for every endpoint (NULL: none). */
JW_EXTERN jw_status jw_service_set_stats_handler(jw_service *svc,
                                                 jw_service_stats_cb cb,
                                                 void *arg);

/* The service's id, name and version (borrowed). */
JW_EXTERN const char *jw_service_id(const jw_service *svc);
JW_EXTERN const char *jw_service_name(const jw_service *svc);
JW_EXTERN const char *jw_service_version(const jw_service *svc);
/* The answers to INFO and STATS as they stand, JSON text (jw_free), the
 * same the service sends. */
JW_EXTERN jw_status jw_service_info(jw_service *svc, char **json);
JW_EXTERN jw_status jw_service_stats(jw_service *svc, char **json);
/* Zero every endpoint's statistics and restart the service's clock. */
JW_EXTERN jw_status jw_service_reset(jw_service *svc);

/* Stop: the discovery subscriptions end at once, the endpoints'
 * subscriptions drain (requests on the way are still handled). Returns
 * at once; stopping twice is harmless. */
JW_EXTERN jw_status jw_service_stop(jw_service *svc);
/* 0 while running; 1 once stopped and every request taken was handled
 * (nothing queued, no handler running); -1 while stopping. */
JW_EXTERN int jw_service_stopped(const jw_service *svc);
/* Wait up to timeout_ms until jw_service_stopped says 1 (JW_ETIMEOUT). */
JW_EXTERN jw_status jw_service_wait(jw_service *svc, int64_t timeout_ms);
/* Stop if running (endpoints unsubscribe at once, queued requests are
 * dropped) and release the service with its groups and endpoints.
 * Accepts NULL. */
JW_EXTERN void jw_service_free(jw_service *svc);

JW_EXTERN jw_service *jw_endpoint_service(const jw_endpoint *ep);
JW_EXTERN const char *jw_endpoint_name(const jw_endpoint *ep);
JW_EXTERN const char *jw_endpoint_subject(const jw_endpoint *ep);
/* The queue group, NULL when disabled. */
JW_EXTERN const char *jw_endpoint_queue_group(const jw_endpoint *ep);
/* The subscription of an endpoint added without a handler (borrowed; the
 * service owns it), NULL otherwise. */
JW_EXTERN jw_sub *jw_endpoint_sub(const jw_endpoint *ep);
/* Replace the endpoint's STATS data by JSON text (NULL: none); the stats
 * handler, when set, has the last word. */
JW_EXTERN jw_status jw_endpoint_set_stats_data(jw_endpoint *ep,
                                               const char *json);

/* Answer req with an error: headers Nats-Service-Error (description) and
 * Nats-Service-Error-Code (code), data as body (may be NULL with len 0).
 * Counts as the endpoint's error; last_error becomes "code:description".
 * Both code and description must be non-empty. */
JW_EXTERN jw_status jw_endpoint_respond_error(jw_endpoint *ep,
                                              const jw_msg *req,
                                              const char *code,
                                              const char *description,
                                              const void *data, size_t len);
/* For a host running handlers itself (endpoints without cb): call
 * jw_endpoint_begin as a handler starts, and jw_endpoint_end with what
 * it returned when it finishes, for every request taken from the
 * endpoint's subscription; the request counts then, with the time
 * between the two, and jw_service_stopped waits for it. jw_endpoint_fail
 * instead of jw_endpoint_end says the handler failed (an exception, a Lua
 * error): the engine answers req with error code 500 and description
 * (its line breaks made spaces, at most 511 bytes kept; req NULL: the
 * handler answered already) and counts the error. */
JW_EXTERN int64_t jw_endpoint_begin(jw_endpoint *ep);
JW_EXTERN void jw_endpoint_end(jw_endpoint *ep, int64_t begun);
JW_EXTERN jw_status jw_endpoint_fail(jw_endpoint *ep, const jw_msg *req,
                                     int64_t begun, const char *description);

/* Discovery: send a PING, INFO or STATS request to every service (name
 * NULL), to the services called name, or to one instance (name and id),
 * and gather the answers that come within timeout_ms, or until
 * max_responses came (<= 0: no limit). *json (jw_free) is a JSON array
 * of the answers, in the order they came; none is an empty array. */
typedef enum jw_service_verb {
    JW_SERVICE_PING = 0,
    JW_SERVICE_INFO = 1,
    JW_SERVICE_STATS = 2
} jw_service_verb;
JW_EXTERN jw_status jw_service_discover(jw_conn *conn, jw_service_verb verb,
                                        const char *name, const char *id,
                                        int64_t timeout_ms,
                                        int max_responses, char **json);

#ifdef __cplusplus
}
#endif
#endif /* JETWIRE_H */
