/*
 * Internal declarations shared by the files of the Lua module. The module's
 * public surface is luaopen_jetwire and what docs/lua.md describes.
 *
 * Lifetime rules, in one place:
 *  - Every handle is a full userdata holding a pointer to the engine's
 *    object, NULL once released. Its finalizer (__gc and __close, and the
 *    explicit close method) is idempotent.
 *  - A userdata's first user value pins its connection userdata: a
 *    subscription's, a message's and that of every handle made through
 *    the connection (a JetStream context, a consumer, a consumption, an
 *    ordered consumer, a bucket, a watcher, a key lister). Collecting the
 *    connection's userdata closes the connection, so the pin keeps it open
 *    while anything made through it can still be used; the messages they
 *    hand out pin it in turn (a reply reaches the connection through it).
 *    The engine itself keeps the memory of a freed connection alive for
 *    them.
 *  - Each finalizer frees its own engine handle and nothing else: the
 *    engine counts references, and a handle keeps the one it was made
 *    through alive (include/jetwire.h), so Lua closes and collects them in
 *    any order.
 *  - Anything C allocates before a call that may raise (luaL_error, or a
 *    Lua allocation failing) sits in a "box" userdata whose __gc frees it,
 *    so a longjmp never leaks.
 */
#ifndef LJW_H
#define LJW_H

#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include "jetwire.h"

#define LJW_CONN  "jetwire.Connection"
#define LJW_SUB   "jetwire.Subscription"
#define LJW_MSG   "jetwire.Msg"
#define LJW_ERROR "jetwire.Error"
#define LJW_BIN   "jetwire.Bin"
#define LJW_BOX   "jetwire.Box"
/* Registry key of the weak-keyed set of tables marked as arrays. */
#define LJW_ARRAYS "jetwire.arrays"

/* Messages taken from a subscription per engine call. */
#define LJW_BATCH 256

typedef struct ljw_conn {
    jw_conn *conn; /* NULL once closed */
    jw_loop *loop; /* the state's driven loop (loop = "driven"), or NULL */
    /* The program asked for the readable fd (nc:fd(), jetwire.poll): a
     * blocking request that reset it signals it again (loop.c). */
    int fd_used;
} ljw_conn;

typedef struct ljw_sub {
    jw_sub *sub; /* NULL once closed */
    /* Messages taken from the engine but not yet wrapped in userdata: if
     * wrapping raises (out of memory), they stay here and are handed out
     * first by the next pull, or freed with the subscription. */
    int held_pos, held_end;
    jw_msg *held_msgs[LJW_BATCH];
} ljw_sub;

typedef struct ljw_msg {
    jw_msg *msg; /* NULL once released */
} ljw_msg;

/* Errors (jetwire.c). ljw_fail pushes nil and an error value for a
 * jw_status (the detail from jw_last_error) and returns 2, so a function
 * ends with `return ljw_fail(L, st);`. */
int ljw_fail(lua_State *L, jw_status st);
/* The same with a message of this binding's own (NULL: the engine's
 * jw_strerror); the code is always the engine's name of st. */
int ljw_fail_msg(lua_State *L, jw_status st, const char *message);
void ljw_push_error(lua_State *L, jw_status st, const char *message);
/* Every message says its durations in the seconds the Lua API takes, in
 * the words of the Python binding: the engine's "within 500 ms" reads
 * "within 0.5 s" (ljw_push_error converts them; ljw_in_seconds pushes text
 * converted and returns it, for messages that are raised). */
const char *ljw_in_seconds(lua_State *L, const char *text);
/* nil, TIMEOUT "<what> within <ms in seconds> s": a wait of ms the binding
 * cut in slices, whose engine text would name the last slice. */
int ljw_fail_timeout(lua_State *L, const char *what, int64_t ms);
/* ljw_fail for the end of such a wait: a TIMEOUT keeps the engine's
 * "<what>" and names the whole wait ("no update within 2 s"). */
int ljw_fail_waited(lua_State *L, jw_status st, int64_t ms);
/* Raise the error value on the top of the stack (pushed by ljw_fail...) as
 * the string "CODE: message", for iterators, which cannot return nil, err. */
int ljw_raise(lua_State *L);

/* The handle of type tname at arg, checked as luaL_checkudata does, but
 * without its registry lookup when the value's metatable is the value at
 * mt_idx (an upvalue holding tname's metatable): the hot methods (publish,
 * next_msg(s), msg.data, respond) pay that lookup on every call otherwise.
 * Only for functions whose upvalue at mt_idx is tname's metatable. */
void *ljw_check_self(lua_State *L, int arg, int mt_idx, const char *tname);

/* Arguments (jetwire.c). */
int64_t ljw_timeout_ms(lua_State *L, int arg, double default_seconds);
/* The same for another duration argument, named what in its errors. */
int64_t ljw_seconds_ms(lua_State *L, int arg, double default_seconds,
                       const char *what);
jw_loop *ljw_driven_loop(lua_State *L);
const char *ljw_check_string(lua_State *L, int arg, size_t *len);
const char *ljw_opt_data(lua_State *L, int arg, size_t *len);
int ljw_has_nul(const char *s, size_t len);
/* Push decimal text of any length (a counter's value): an integer when it
 * fits in a lua_Integer, else the text itself (Lua has no big integer). */
void ljw_push_bigint(lua_State *L, const char *text);
void ljw_check_options(lua_State *L, int arg, const char *const *known);
void ljw_check_headers(lua_State *L, int idx, int arg);
/* Push options.headers (nil when absent), checked; its index or 0. */
int ljw_push_headers_option(lua_State *L, int opts);
/* nil, INVALID_SUBJECT for a subject (or reply, queue) containing NUL. */
int ljw_bad_subject(lua_State *L, const char *what);

/* Call options (jetwire.c). The options table at idx (nil or absent: none)
 * for the engine's call ("publish", "fetch", "consume", "watch", "get"),
 * built in a box pushed on the stack whose slot is returned: *slot is NULL
 * when the table gave no option. Every string key but those in skip
 * (NULL-terminated, may be NULL: the keys the binding handles itself)
 * goes to the engine by its Lua type: a boolean with set_bool, an integer
 * with set_int, another number with set_double, a string with set_str;
 * another type, or the engine refusing the name, the type or the value,
 * raises naming argument idx with the engine's message. The engine's table
 * (jw_call_opts_fields, jetwire.call_options) is the only list of names. */
jw_call_opts **ljw_call_opts(lua_State *L, int idx, const char *call,
                             const char *const *skip);
/* Set one option name from the Lua value at value_idx the same way,
 * making *slot for call first when it is NULL; errors name arg. */
void ljw_call_opt(lua_State *L, jw_call_opts **slot, const char *call,
                  const char *name, int value_idx, int arg);

/* Boxes (jetwire.c): a userdata owning one C pointer until released. */
void **ljw_box_new(lua_State *L, void (*free_fn)(void *));
void ljw_box_forget(void **slot);

/* A message with reply and headers, built in a box pushed on the stack.
 * headers_idx is 0 for none; it has been checked by ljw_check_headers. */
jw_status ljw_build_msg(lua_State *L, const char *subject, const char *reply,
                        const char *data, size_t len, int headers_idx,
                        jw_msg **out);

/* Connections (conn.c). */
void ljw_conn_register(lua_State *L);
int ljw_connect(lua_State *L);
ljw_conn *ljw_check_conn(lua_State *L, int arg);
int ljw_conn_closed(lua_State *L); /* nil, CONNECTION_CLOSED */
/* Run the nc:on handlers for every queued event (loop.c). */
void ljw_run_handlers(lua_State *L, int conn_idx);

/* Event-loop support (loop.c). */
/* Wait for started request id of the connection at conn_idx (in slices
 * a signal can end; the request is cancelled when the wait ends without
 * it) and push its reply, or nil, err (TIMEOUT naming subject and ms,
 * NO_RESPONDERS, INTERRUPTED, ...). Returns the count pushed. */
int ljw_request_wait(lua_State *L, int conn_idx, uint64_t id,
                     const char *subject, int64_t ms);
int ljw_poll(lua_State *L);
/* Move finished started requests into the connection's queue; returns
 * the queue's length. */
int ljw_take_completions(lua_State *L, int conn_idx);
void ljw_loop_methods(lua_State *L);

/* Subscriptions and messages (sub.c). */
void ljw_sub_register(lua_State *L);
void ljw_stored_register(lua_State *L); /* stored.c, after js.c's */
/* Push a subscription (sub NULL until the caller fills it) or a message
 * (msg NULL likewise) pinning the connection at conn_idx. */
ljw_sub *ljw_new_sub(lua_State *L, int conn_idx);
ljw_msg *ljw_new_msg(lua_State *L, int conn_idx);
/* Record the subscription at sub_idx in its connection's state, so that
 * events can name it. */
void ljw_sub_track(lua_State *L, int conn_idx, int sub_idx);
/* What messages and service requests (service.c) share. msg may be NULL
 * (released): fields are nil then, and the methods return nil, err
 * INVALID_ARG with the text gone after checking their arguments. */
/* Push field key (data, subject, reply, headers, status) of msg for the
 * userdata at idx, whose second user value caches the headers table. */
void ljw_msg_push_field(lua_State *L, int idx, const jw_msg *msg,
                        const char *key);
/* The methods' bodies: their self is argument 1 (its first user value the
 * connection, for a reply with headers), their arguments follow. */
int ljw_msg_respond(lua_State *L, const jw_msg *msg, const char *gone);
int ljw_msg_unpack(lua_State *L, const jw_msg *msg, const char *gone);
int ljw_msg_header_values(lua_State *L, const jw_msg *msg);
int ljw_msg_header_items(lua_State *L, const jw_msg *msg);
/* A metatable whose __index function serves methods and fields. Each
 * method, __gc and __close have the metatable as upvalue 1, the __index
 * function the methods table and the metatable as upvalues 1 and 2
 * (ljw_check_self). */
void ljw_register_index_type(lua_State *L, const char *name,
                             const luaL_Reg *methods, lua_CFunction index,
                             lua_CFunction tostring, lua_CFunction gc);

/* JetStream (js.c): nc:jetstream(), the JetStream and Consumer types, and
 * the ack methods of messages. */
#define LJW_JS "jetwire.JetStream"

typedef struct ljw_js {
    jw_js *js; /* NULL once released */
} ljw_js;

/* The context at arg (raises otherwise), and its engine handle, or NULL
 * after pushing nil, err when it was released (js.c). LJW_LIVE_JS
 * declares var as that handle, or returns nil, err from the caller. */
ljw_js *ljw_check_js(lua_State *L, int arg);
jw_js *ljw_live_js(lua_State *L, ljw_js *j);
/* The live context at argument 1, or NULL after pushing nil, err (the
 * caller returns 2); for calls that check their other arguments first. */
jw_js *ljw_js_arg1(lua_State *L);
#define LJW_LIVE_JS(L, j, var)                                                 \
    jw_js *var = ljw_live_js(L, j);                                            \
    if (!var) {                                                                \
        lua_pushnil(L);                                                        \
        lua_insert(L, -2);                                                     \
        return 2;                                                              \
    }

/* Pin the connection of the handle at from_idx (its first user value) as
 * the first user value of the userdata on the top of the stack. */
void ljw_pin_conn(lua_State *L, int from_idx);
/* Every context the binding makes has the duration_unit "s": the JSON
 * documents of the engine (configurations, infos, KV status) carry
 * durations in seconds, as Lua does, and the binding converts nothing. */
/* The table at idx (an argument: errors name it) as JSON text for the
 * engine, kept alive by a box pushed on the stack. kind is the engine's
 * configuration kind ("stream", "consumer", "bucket"): its table of
 * fields (jw_js_config_fields) decides whether an empty table is [] or
 * {}; for "consumer", `durable` stands for durable_name. kind NULL: a
 * configuration without array fields in the engine's tables (a service's,
 * a group's, an endpoint's), where only a sequence or jetwire.array is an
 * array. */
const char *ljw_config_json(lua_State *L, int idx, const char *kind);
/* The subjects at idx (nil: none; a string or a non-empty list of
 * strings, else argument arg raises naming what) as a char *[] in a box
 * pushed on the stack; the strings stay in the table. Returns the count. */
size_t ljw_subject_list(lua_State *L, int idx, int arg, const char *what,
                        const char ***out);
/* Push the engine's JSON text (released here) as Lua values. */
int ljw_push_result(lua_State *L, char *text);
/* Push the value at idx as JSON text, as jetwire.json.encode does
 * (raises for what JSON cannot hold). */
void ljw_json_encode(lua_State *L, int idx);
/* Field name of the options table at opts: a non-negative integer, 0 when
 * absent; anything else raises. */
uint64_t ljw_opt_uint(lua_State *L, int opts, const char *name);
/* true, or nil, err for a failure. */
int ljw_ok_or_fail(lua_State *L, jw_status st);
/* A metatable with methods in __index, __gc = __close = gc, __tostring. */
void ljw_register_type(lua_State *L, const char *name,
                       const luaL_Reg *methods, lua_CFunction gc,
                       lua_CFunction tostring);
void ljw_js_register(lua_State *L);
int ljw_jetstream(lua_State *L);
/* A PubAck as a table: stream, seq, duplicate, and domain, value (a
 * counter's total, ljw_push_bigint), batch and count when it has them. */
void ljw_push_ack(lua_State *L, const jw_js_pub_ack *ack);
/* Check a publish's subject, data and options (args 2..4: the engine's
 * "publish" options and headers) and build the message, leaving boxes on
 * the stack: 0, or the count of nil, err pushed (a subject with NUL). */
int ljw_publish_args(lua_State *L, const char **subject, const char **data,
                     size_t *len, jw_call_opts **opts, jw_msg **msg);
/* jetwire.config_fields(kind) -> the engine's table of the fields of
 * "stream", "consumer" or "bucket" configurations | nil, err. */
int ljw_config_fields(lua_State *L);
/* jetwire.call_options(call) -> the engine's table of the options of
 * "publish", "fetch", "consume", "watch" or "get" | nil, err. */
int ljw_call_options(lua_State *L);
int ljw_msg_ack(lua_State *L);
int ljw_msg_ack_sync(lua_State *L);
int ljw_msg_nak(lua_State *L);
int ljw_msg_term(lua_State *L);
int ljw_msg_in_progress(lua_State *L);
int ljw_msg_metadata(lua_State *L);

/* Consumers (js.c). */
#define LJW_CONSUMER "jetwire.Consumer"

typedef struct ljw_consumer {
    jw_consumer *cons; /* NULL once released */
} ljw_consumer;

/* Continuous consumption (cons:messages) and ordered consumers
 * (js:ordered_consumer), consume.c. After ljw_js_register. */
void ljw_consume_register(lua_State *L);

/* Atomic batches and counters (batch.c): their methods of JetStream
 * contexts and the AtomicBatch type. After ljw_js_register. */
void ljw_batch_register(lua_State *L);
/* The message at idx of a list of messages (argument 2 of
 * js:publish_atomic and js:publish_batch), checked: {subject, data [,
 * headers]}; anything else raises. 0, or nil, err pushed (2) for a
 * subject with NUL. */
int ljw_check_batch_message(lua_State *L, int idx);
/* Build the checked message at idx in a box pushed on the stack. */
jw_status ljw_build_batch_message(lua_State *L, int idx, jw_msg **msg);

/* Fast-ingest batches (fast.c): js:fast_batch, js:publish_batch and the
 * FastBatch type. After ljw_js_register. */
void ljw_fast_register(lua_State *L);

/* Key-Value (kv.c): the bucket methods of JetStream contexts, the
 * KeyValue and KeyValueWatcher types. After ljw_js_register. */
void ljw_kv_register(lua_State *L);

/* Object store (obs.c): the bucket methods of JetStream contexts, the
 * ObjectStore, ObjectReader and ObjectWatcher types. After
 * ljw_js_register. */
void ljw_obs_register(lua_State *L);

/* MessagePack and JSON (pack.c). */
void ljw_pack_register(lua_State *L);
int ljw_pack(lua_State *L);
int ljw_unpack(lua_State *L);
int ljw_array(lua_State *L);
int ljw_is_array(lua_State *L);
int ljw_bin(lua_State *L);
int ljw_is_bin(lua_State *L);
/* Pack the value at idx, leaving the packed string on the stack. */
void ljw_pack_value(lua_State *L, int idx);
/* Unpack bytes onto the stack: 1 on success, else nil, err pushed (2). */
int ljw_unpack_bytes(lua_State *L, const char *data, size_t len, int wrap_bin);
/* Push a JSON text as Lua values (objects as tables, null as
 * jetwire.null); nil, err when it does not parse. */
int ljw_push_json(lua_State *L, const char *text);

/* Waiting (sys.c). Every call that blocks waits in slices of at most
 * LJW_SLICE_MS and looks between two slices whether a signal interrupted
 * it: lua5.4's SIGINT handler (it sets a hook on the main thread) or a
 * signal caught by jetwire.signals. The pattern:
 *
 *     ljw_wait w;
 *     ljw_wait_begin(L, &w, timeout_ms);   (< 0: forever)
 *     for (;;) {
 *         int64_t slice = ljw_wait_step(&w);
 *         if (slice < 0) break;   (LJW_WAIT_INTERRUPTED, LJW_WAIT_EXPIRED)
 *         ... the engine's call with timeout slice; done? break ...
 *     }
 *
 * The first step returns min(timeout, LJW_SLICE_MS) without a system call
 * or a clock read. An interrupted wait returns ljw_fail_interrupted. */
#define LJW_SLICE_MS          50
/* What a step function returns for an interrupted wait: the engine's own
 * status, which its waits give too (the wait check, sys.c). */
#define LJW_INTERRUPTED       JW_EINTERRUPTED
#define LJW_WAIT_INTERRUPTED  (-1)
#define LJW_WAIT_EXPIRED      (-2)

typedef struct ljw_wait {
    lua_State *main;     /* the state's main thread: lua.c hooks it */
    lua_Hook hook;       /* its hook when the wait began */
    int64_t timeout_ms;  /* < 0: forever */
    int64_t deadline_us; /* when timeout_ms > LJW_SLICE_MS */
    int steps;
} ljw_wait;

void ljw_wait_begin(lua_State *L, ljw_wait *w, int64_t timeout_ms);
int64_t ljw_wait_step(ljw_wait *w);
/* The pattern above for an engine call that can simply be made again:
 * fn(ctx, slice) while it returns JW_ETIMEOUT. Its last status,
 * LJW_INTERRUPTED for a signal, or JW_ETIMEOUT once timeout_ms passed. */
typedef jw_status (*ljw_slice_fn)(void *ctx, int64_t slice_ms);
jw_status ljw_wait_sliced(lua_State *L, int64_t timeout_ms,
                          ljw_slice_fn fn, void *ctx);
/* The milliseconds left (-1: forever; 0: none). */
int64_t ljw_wait_left_ms(ljw_wait *w);
/* 1 when a signal came since the wait began (or a caught signal has not
 * interrupted a wait yet); it then counts as reported. */
int ljw_wait_interrupted(ljw_wait *w);
/* nil and an error value with code INTERRUPTED; returns 2. */
int ljw_fail_interrupted(lua_State *L);
/* poll(2) fds[0..nfds-1] in slices until one is ready (its count), the
 * timeout passed (0), a signal (LJW_WAIT_INTERRUPTED) or poll failed (-1,
 * errno). fds must have room for one more entry (the signals' pipe). */
struct pollfd;
int ljw_poll_slices(lua_State *L, struct pollfd *fds, int nfds,
                    int64_t timeout_ms);
/* jetwire.signals, jetwire.sleep and the Signals type. */
void ljw_sys_register(lua_State *L);
void ljw_sys_functions(lua_State *L);

/* jetwire.json (json.c): encode and decode, added to the module table on
 * the top of the stack. */
void ljw_json_functions(lua_State *L);

/* Services, the micro API (service.c): nc:add_service and the discovery
 * calls, the Service, ServiceGroup, Endpoint and ServiceRequest types. */
int ljw_add_service(lua_State *L);
int ljw_service_ping(lua_State *L);
int ljw_service_info(lua_State *L);
int ljw_service_stats(lua_State *L);
void ljw_service_register(lua_State *L);
/* Run the handlers of the services of the connection at conn_idx for
 * every request queued (nc:process()). */
void ljw_run_services(lua_State *L, int conn_idx);

#endif
