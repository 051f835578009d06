/*
 * Continuous consumption (cons:messages{...}, jetwire.ConsumerMessages,
 * like Go's Consume/Messages) and ordered consumers
 * (js:ordered_consumer(...), jetwire.OrderedConsumer). Both are pulled:
 * the engine's jw_consume_next / jw_ordered_next run inside next() and the
 * messages iterator, in the caller's thread, so nothing is requested while
 * Lua does not ask.
 *
 * Each pins its connection (ljw.h), which the messages handed out pin in
 * turn, and its finalizer frees only its own engine handle: a jw_consume
 * keeps its jw_consumer, a jw_ordered its jw_js alive in the engine, so
 * the consumer or context may be closed or collected first.
 */
#include <stdlib.h>

#include "ljw.h"

#define LJW_MESSAGES "jetwire.ConsumerMessages"
#define LJW_ORDERED  "jetwire.OrderedConsumer"

typedef struct ljw_reader {
    void *handle;           /* jw_consume or jw_ordered; NULL once closed */
    uint64_t last_sequence; /* an ordered consumer's, kept at close */
    /* Messages taken from the engine but not yet handed to Lua. */
    int held_pos, held_end;
    jw_msg *held[LJW_BATCH];
} ljw_reader;

/* What differs between the two types. Their methods and metamethods are
 * shared, with the type as their first upvalue. */
typedef struct reader_type {
    const char *tname;
    const char *closed;   /* the error text once closed */
    const char *released; /* tostring's note once closed */
    int batch;            /* messages taken from the engine per call */
    int (*next)(void *handle, jw_msg **msgs, int max, int64_t ms);
    void (*free_handle)(ljw_reader *r); /* frees r->handle, not NULL */
} reader_type;

static int consume_next(void *handle, jw_msg **msgs, int max, int64_t ms)
{
    return jw_consume_next(handle, msgs, max, ms);
}

static void consume_free(ljw_reader *r)
{
    jw_consume_free(r->handle);
}

static int ordered_next(void *handle, jw_msg **msgs, int max, int64_t ms)
{
    return jw_ordered_next(handle, msgs, max, ms);
}

static void ordered_free(ljw_reader *r)
{
    r->last_sequence = jw_ordered_last_sequence(r->handle);
    jw_ordered_free(r->handle);
}

static const reader_type messages_type = {
    .tname = LJW_MESSAGES,
    .closed = "consumption was stopped",
    .released = "stopped",
    .batch = LJW_BATCH,
    .next = consume_next,
    .free_handle = consume_free,
};

/* One message per engine call, so that jw_ordered_last_sequence is the
 * last message Lua was given, never one still held here. */
static const reader_type ordered_type = {
    .tname = LJW_ORDERED,
    .closed = "ordered consumer was closed",
    .released = "closed",
    .batch = 1,
    .next = ordered_next,
    .free_handle = ordered_free,
};

/* Push a reader pinning the connection of the handle at parent_idx (a
 * consumer or a context). */
static ljw_reader *new_reader(lua_State *L, const reader_type *t,
                              int parent_idx)
{
    parent_idx = lua_absindex(L, parent_idx);
    ljw_reader *r = lua_newuserdatauv(L, sizeof(*r), 1);
    r->handle = NULL;
    r->last_sequence = 0;
    r->held_pos = r->held_end = 0;
    luaL_setmetatable(L, t->tname);
    ljw_pin_conn(L, parent_idx);
    return r;
}

static const reader_type *type_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* The one finalizer (close, stop, __close, __gc): messages still held are
 * dropped (unacknowledged, so the server delivers them again). */
static int l_reader_close(lua_State *L)
{
    const reader_type *t = type_of(L);
    ljw_reader *r = luaL_checkudata(L, 1, t->tname);
    while (r->held_pos < r->held_end)
        jw_msg_free(r->held[r->held_pos++]);
    if (r->handle) {
        t->free_handle(r);
        r->handle = NULL;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* The wait fill ends with when a signal interrupted it (jw_status codes
 * are negative). */

/* Take messages into the held array unless some are left, waiting up to
 * ms for the first, in slices that a signal can end (the engine's call
 * keeps its pull requests and heartbeats across calls). 0, JW_ETIMEOUT
 * when none came, LJW_INTERRUPTED, or a jw_status. */
static int fill(lua_State *L, ljw_reader *r, const reader_type *t,
                int64_t ms)
{
    if (r->held_pos < r->held_end)
        return 0;
    r->held_pos = r->held_end = 0;
    ljw_wait w;
    ljw_wait_begin(L, &w, ms);
    for (;;) {
        int64_t slice = ljw_wait_step(&w);
        if (slice == LJW_WAIT_INTERRUPTED)
            return LJW_INTERRUPTED;
        if (slice == LJW_WAIT_EXPIRED)
            return JW_ETIMEOUT;
        int n = t->next(r->handle, r->held, t->batch, slice);
        if (n < 0)
            return n;
        if (n > 0) {
            r->held_end = n;
            return 0;
        }
    }
}

/* Wrap the next held message (pinning the connection of the reader at
 * idx) and push it. */
static void push_held(lua_State *L, ljw_reader *r, int idx)
{
    lua_getiuservalue(L, idx, 1);
    ljw_msg *m = ljw_new_msg(L, -1);
    m->msg = r->held[r->held_pos];
    r->held[r->held_pos++] = NULL;
    lua_remove(L, -2);
}

/* r:next([timeout = 1]) -> msg | nil, err (TIMEOUT; CONSUMER_NOT_FOUND
 * once a consumption's consumer is gone; INVALID_SUBSCRIPTION once
 * closed; CONNECTION_CLOSED) */
static int l_reader_next(lua_State *L)
{
    const reader_type *t = type_of(L);
    ljw_reader *r = luaL_checkudata(L, 1, t->tname);
    int64_t ms = ljw_timeout_ms(L, 2, 1.0);
    lua_settop(L, 1);
    if (!r->handle)
        return ljw_fail_msg(L, JW_EINVALID_SUBSCRIPTION, t->closed);
    int st = fill(L, r, t, ms);
    if (st == LJW_INTERRUPTED)
        return ljw_fail_interrupted(L);
    if (st == JW_ETIMEOUT)
        return ljw_fail_timeout(L, "no message", ms);
    if (st)
        return ljw_fail(L, st);
    push_held(L, r, 1);
    return 1;
}

static int iterate_step(lua_State *L)
{
    ljw_reader *r = lua_touserdata(L, lua_upvalueindex(1));
    int64_t ms = lua_tointeger(L, lua_upvalueindex(2));
    const reader_type *t = lua_touserdata(L, lua_upvalueindex(3));
    lua_settop(L, 0);
    if (!r->handle || fill(L, r, t, ms) != 0)
        return 0; /* timeout, closed, failed or a signal: the loop ends */
    push_held(L, r, lua_upvalueindex(1));
    return 1;
}

/* for msg in r:messages([timeout]) do ... end: until no message came
 * within timeout (default: wait forever), it was closed or it failed;
 * next() afterwards tells which. */
static int l_reader_messages(lua_State *L)
{
    const reader_type *t = type_of(L);
    luaL_checkudata(L, 1, t->tname);
    int64_t ms = ljw_timeout_ms(L, 2, -1);
    lua_settop(L, 1);
    lua_pushinteger(L, (lua_Integer)ms);
    lua_pushlightuserdata(L, (void *)t);
    lua_pushcclosure(L, iterate_step, 3);
    return 1;
}

static int l_reader_tostring(lua_State *L)
{
    const reader_type *t = type_of(L);
    ljw_reader *r = luaL_checkudata(L, 1, t->tname);
    if (r->handle)
        lua_pushstring(L, t->tname);
    else
        lua_pushfstring(L, "%s (%s)", t->tname, t->released);
    return 1;
}

/* ------------------------------------------------------------------------
 * cons:messages{...}
 */

/* cons:messages([opts]) -> a running consumption | nil, err. opts are
 * the engine's "consume" options (batch = 100, max_bytes = 0, expires =
 * 30 seconds). */
static int l_cons_messages(lua_State *L)
{
    ljw_consumer *c = luaL_checkudata(L, 1, LJW_CONSUMER);
    lua_settop(L, 2);
    jw_call_opts **opts = ljw_call_opts(L, 2, "consume", NULL);
    if (!c->cons)
        return ljw_fail_msg(L, JW_EINVAL, "consumer was released");
    ljw_reader *r = new_reader(L, &messages_type, 1);
    jw_consume *cc = NULL;
    jw_status st = jw_consumer_consume(c->cons, *opts, &cc);
    if (st != JW_OK)
        return ljw_fail(L, st);
    r->handle = cc;
    return 1;
}

/* ------------------------------------------------------------------------
 * js:ordered_consumer(stream [, cfg])
 */

/* js:ordered_consumer(stream [, {filter_subject =, deliver_policy =,
 * opt_start_seq =, opt_start_time =, headers_only =, replay_policy =,
 * idle_heartbeat = seconds, description =}]) -> an ordered consumer |
 * nil, err (INVALID_ARG for another field, STREAM_NOT_FOUND) */
static int l_ordered_consumer(lua_State *L)
{
    ljw_js *j = luaL_checkudata(L, 1, LJW_JS);
    const char *stream = ljw_check_string(L, 2, NULL);
    lua_settop(L, 3);
    const char *cfg =
        lua_isnil(L, 3) ? NULL : ljw_config_json(L, 3, "consumer");
    if (!j->js)
        return ljw_fail_msg(L, JW_EINVAL,
                            "JetStream context was released");
    ljw_reader *r = new_reader(L, &ordered_type, 1);
    jw_ordered *oc = NULL;
    jw_status st = jw_js_ordered_consumer(j->js, stream, cfg, &oc);
    if (st != JW_OK)
        return ljw_fail(L, st);
    r->handle = oc;
    return 1;
}

/* oc:last_sequence() -> the stream sequence of the last message handed
 * out (0: none yet), also after close. */
static int l_ordered_last_sequence(lua_State *L)
{
    ljw_reader *r = luaL_checkudata(L, 1, LJW_ORDERED);
    uint64_t seq = r->handle ? jw_ordered_last_sequence(r->handle)
                             : r->last_sequence;
    lua_pushinteger(L, (lua_Integer)seq);
    return 1;
}

/* ------------------------------------------------------------------------
 * Registration
 */

static const luaL_Reg messages_methods[] = {
    {"next", l_reader_next},
    {"messages", l_reader_messages},
    {"stop", l_reader_close},
    {"close", l_reader_close},
    {NULL, NULL},
};

static const luaL_Reg ordered_methods[] = {
    {"next", l_reader_next},
    {"messages", l_reader_messages},
    {"last_sequence", l_ordered_last_sequence},
    {"close", l_reader_close},
    {NULL, NULL},
};

static const luaL_Reg reader_metamethods[] = {
    {"__gc", l_reader_close},
    {"__close", l_reader_close},
    {"__tostring", l_reader_tostring},
    {NULL, NULL},
};

/* The metatable of t, every function with t as its first upvalue. */
static void register_reader(lua_State *L, const reader_type *t,
                            const luaL_Reg *methods)
{
    luaL_newmetatable(L, t->tname);
    lua_pushlightuserdata(L, (void *)t);
    luaL_setfuncs(L, reader_metamethods, 1);
    lua_newtable(L);
    lua_pushlightuserdata(L, (void *)t);
    luaL_setfuncs(L, methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* Add fn as method name of the type tname. */
static void add_method(lua_State *L, const char *tname, const char *name,
                       lua_CFunction fn)
{
    luaL_getmetatable(L, tname);
    lua_getfield(L, -1, "__index");
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, name);
    lua_pop(L, 2);
}

void ljw_consume_register(lua_State *L)
{
    register_reader(L, &messages_type, messages_methods);
    register_reader(L, &ordered_type, ordered_methods);
    add_method(L, LJW_CONSUMER, "messages", l_cons_messages);
    add_method(L, LJW_JS, "ordered_consumer", l_ordered_consumer);
}
