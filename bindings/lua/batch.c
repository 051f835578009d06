/*
 * Atomic batches (ADR-50) and counters (ADR-49): js:atomic_batch() and
 * its AtomicBatch type, js:publish_atomic, js:counter_add, counter_get and
 * counter_get_many. Each wraps the engine's call one to one; the engine
 * owns the headers, the server's limits and the checks of deltas.
 *
 * Counters are decimal text of any length in the engine; here a number
 * that fits in a Lua integer is one, a larger one stays its text
 * (ljw_push_bigint).
 *
 * A batch pins its connection (ljw.h) and keeps its jw_js alive in the
 * engine, so it works on after its context was closed. Its id lives in
 * its second user value, so b:id() answers after b:close() as well.
 */
#include <stdio.h>
#include <string.h>

#include "ljw.h"

#define LJW_ATOMIC_BATCH "jetwire.AtomicBatch"

typedef struct ljw_batch {
    jw_js_batch *b; /* NULL once closed */
    uint64_t count; /* the messages sent, kept when it closes */
} ljw_batch;

static void free_batch(void *p)
{
    jw_js_batch_free(p);
}

static void free_ack(void *p)
{
    jw_js_pub_ack_free(p);
}

static void free_opts(void *p)
{
    jw_call_opts_free(p);
}

static void free_msg(void *p)
{
    jw_msg_free(p);
}

/* ------------------------------------------------------------------------
 * Atomic batches
 */

static ljw_batch *check_batch(lua_State *L)
{
    return luaL_checkudata(L, 1, LJW_ATOMIC_BATCH);
}

/* js:atomic_batch() -> batch | nil, err (NOT_SUPPORTED before 2.12) */
static int l_atomic_batch(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_JS);
    lua_settop(L, 1);
    jw_js *js = ljw_js_arg1(L);
    if (!js)
        return 2;
    ljw_batch *b = lua_newuserdatauv(L, sizeof(*b), 2);
    b->b = NULL;
    b->count = 0;
    luaL_setmetatable(L, LJW_ATOMIC_BATCH);
    ljw_pin_conn(L, 1);
    jw_status st = jw_js_batch_new(js, &b->b);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushstring(L, jw_js_batch_id(b->b));
    lua_setiuservalue(L, -2, 2);
    return 1;
}

static int closed_batch(lua_State *L)
{
    return ljw_fail_msg(L, JW_EINVAL, "atomic batch was closed");
}

/* b:add(subject, data [, opts]) -> true | nil, err. opts: the engine's
 * "publish" options and headers, as js:publish takes them. */
static int l_batch_add(lua_State *L)
{
    ljw_batch *b = check_batch(L);
    const char *subject, *data;
    size_t len;
    jw_call_opts *opts;
    jw_msg *msg;
    int r = ljw_publish_args(L, &subject, &data, &len, &opts, &msg);
    if (r)
        return r;
    if (!b->b)
        return closed_batch(L);
    jw_status st = jw_js_batch_add(b->b, msg, opts);
    ljw_box_forget(lua_touserdata(L, -1)); /* the message's box */
    return ljw_ok_or_fail(L, st);
}

/* b:commit([subject, data [, opts]]) -> ack | nil, err. Without a
 * subject: the messages added are committed without one more (2.14). */
static int l_batch_commit(lua_State *L)
{
    ljw_batch *b = check_batch(L);
    jw_call_opts *opts = NULL;
    jw_msg *msg = NULL;
    if (lua_isnoneornil(L, 2)) {
        luaL_argcheck(L, lua_isnoneornil(L, 3), 3,
                      "data needs a subject to go with");
        lua_settop(L, 4);
        opts = *ljw_call_opts(L, 4, "publish", NULL);
    } else {
        const char *subject, *data;
        size_t len;
        int r = ljw_publish_args(L, &subject, &data, &len, &opts, &msg);
        if (r)
            return r;
    }
    if (!b->b)
        return closed_batch(L);
    void **ackslot = ljw_box_new(L, free_ack);
    jw_status st = jw_js_batch_commit(b->b, msg, opts,
                                      (jw_js_pub_ack **)ackslot);
    if (st != JW_OK)
        return ljw_fail(L, st);
    ljw_push_ack(L, *ackslot);
    return 1;
}

/* b:id() -> the batch's id (also after close) */
static int l_batch_id(lua_State *L)
{
    check_batch(L);
    lua_getiuservalue(L, 1, 2);
    return 1;
}

/* b:count() -> the messages sent so far (the commit's included) */
static int l_batch_count(lua_State *L)
{
    ljw_batch *b = check_batch(L);
    lua_pushinteger(L, (lua_Integer)(b->b ? jw_js_batch_count(b->b)
                                          : b->count));
    return 1;
}

/* __gc and __close: an uncommitted batch is abandoned (nothing more is
 * sent; the server drops it and stores none of it). */
static int l_batch_gc(lua_State *L)
{
    ljw_batch *b = check_batch(L);
    jw_js_batch *batch = b->b;
    if (batch) {
        b->count = jw_js_batch_count(batch);
        b->b = NULL;
        jw_js_batch_free(batch);
    }
    return 0;
}

static int l_batch_close(lua_State *L)
{
    l_batch_gc(L);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_batch_tostring(lua_State *L)
{
    ljw_batch *b = check_batch(L);
    lua_getiuservalue(L, 1, 2);
    const char *id = lua_tostring(L, -1);
    lua_pushfstring(L, "jetwire.AtomicBatch (%s, %s)", id ? id : "none",
                    b->b ? "open" : "closed");
    return 1;
}

int ljw_check_batch_message(lua_State *L, int idx)
{
    if (!lua_istable(L, idx))
        luaL_argerror(L, 2, "messages must be {subject, data [, headers]} "
                            "tables");
    lua_geti(L, idx, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, 2, "a message's subject must be a string");
    lua_geti(L, idx, 2);
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, 2, "a message's data must be a string");
    lua_geti(L, idx, 3);
    if (!lua_isnil(L, -1))
        ljw_check_headers(L, -1, 2);
    size_t len;
    const char *subject = lua_tolstring(L, -3, &len);
    int nul = ljw_has_nul(subject, len);
    lua_pop(L, 3);
    return nul ? ljw_bad_subject(L, "subject") : 0;
}

jw_status ljw_build_batch_message(lua_State *L, int idx, jw_msg **msg)
{
    int top = lua_gettop(L);
    size_t len = 0;
    lua_geti(L, idx, 1);
    const char *subject = lua_tostring(L, -1);
    lua_geti(L, idx, 2);
    const char *data = lua_isnil(L, -1) ? "" : lua_tolstring(L, -1, &len);
    lua_geti(L, idx, 3);
    int headers = lua_isnil(L, -1) ? 0 : lua_gettop(L);
    /* The message copies what it takes; the list keeps the strings. */
    jw_status st = ljw_build_msg(L, subject, NULL, data, len, headers, msg);
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
    return st;
}

/* js:publish_atomic({{subject, data [, headers]}, ...} [, opts]) -> ack |
 * nil, err: all the messages stored together or none. opts are the
 * "publish" options of the first message (expected_last_seq, msg_id,
 * ...); their timeout bounds the commit as well. */
static int l_publish_atomic(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_JS);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 3);
    lua_Integer n = luaL_len(L, 2);
    luaL_argcheck(L, n >= 1, 2, "messages must not be empty");
    jw_call_opts *opts = *ljw_call_opts(L, 3, "publish", NULL);
    jw_call_opts **last_opts = (jw_call_opts **)ljw_box_new(L, free_opts);
    if (n > 1 && lua_istable(L, 3)) {
        lua_getfield(L, 3, "timeout");
        if (!lua_isnil(L, -1))
            ljw_call_opt(L, last_opts, "publish", "timeout", -1, 3);
        lua_pop(L, 1);
    }
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 2, i);
        if (ljw_check_batch_message(L, lua_gettop(L)))
            return 2;
        lua_pop(L, 1);
    }
    jw_js *js = ljw_js_arg1(L);
    if (!js)
        return 2;
    /* A batch that fails is abandoned when its box is collected. */
    jw_js_batch **batch = (jw_js_batch **)ljw_box_new(L, free_batch);
    jw_status st = jw_js_batch_new(js, batch);
    if (st != JW_OK)
        return ljw_fail(L, st);
    void **ackslot = ljw_box_new(L, free_ack);
    int top = lua_gettop(L);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 2, i);
        jw_msg *msg = NULL;
        st = ljw_build_batch_message(L, top + 1, &msg);
        if (st == JW_OK && i < n)
            st = jw_js_batch_add(*batch, msg, i == 1 ? opts : NULL);
        else if (st == JW_OK)
            st = jw_js_batch_commit(*batch, msg, n == 1 ? opts : *last_opts,
                                    (jw_js_pub_ack **)ackslot);
        if (st != JW_OK)
            return ljw_fail(L, st);
        ljw_box_forget(lua_touserdata(L, -1));
        lua_settop(L, top);
    }
    ljw_box_forget((void **)batch);
    ljw_push_ack(L, *ackslot);
    return 1;
}

/* ------------------------------------------------------------------------
 * Counters
 */

/* Push a counter entry of the engine's JSON text (released here):
 * {subject, value, incr, sources = {[stream] = {[subject] = value}}},
 * every number by ljw_push_bigint (incr without the sign a client
 * writes before a positive delta). */
static int push_entry(lua_State *L, char *text)
{
    int n = ljw_push_result(L, text);
    if (n != 1)
        return n;
    int doc = lua_gettop(L);
    lua_createtable(L, 0, 4);
    lua_getfield(L, doc, "subject");
    lua_setfield(L, -2, "subject");
    lua_getfield(L, doc, "val");
    ljw_push_bigint(L, lua_tostring(L, -1));
    lua_setfield(L, -3, "value");
    lua_pop(L, 1);
    if (lua_getfield(L, doc, "incr") == LUA_TSTRING) {
        /* "+5" as written by a client, "5" by a source: the same 5. */
        const char *incr = lua_tostring(L, -1);
        ljw_push_bigint(L, incr + (*incr == '+'));
        lua_setfield(L, -3, "incr");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, doc, "sources") == LUA_TTABLE) {
        int sources = lua_gettop(L);
        lua_newtable(L);
        lua_pushnil(L);
        while (lua_next(L, sources)) { /* stream -> {subject = val} */
            lua_newtable(L);
            lua_pushnil(L);
            while (lua_next(L, -3)) {
                if (lua_type(L, -1) == LUA_TSTRING) {
                    ljw_push_bigint(L, lua_tostring(L, -1));
                    lua_pushvalue(L, -3);
                    lua_insert(L, -2);
                    lua_settable(L, -5);
                }
                lua_pop(L, 1);
            }
            lua_pushvalue(L, -3);
            lua_insert(L, -2);
            lua_settable(L, -5);
            lua_pop(L, 1);
        }
        lua_setfield(L, -3, "sources");
    }
    lua_pop(L, 1);
    lua_remove(L, doc);
    return 1;
}

/* js:counter_add(subject, delta [, opts]) -> the new total | nil, err.
 * delta: an integer, or decimal text ("+5", "-3", of any length). */
static int l_counter_add(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_JS);
    size_t slen;
    const char *subject = ljw_check_string(L, 2, &slen);
    char digits[32];
    const char *delta;
    if (lua_type(L, 3) == LUA_TNUMBER) {
        luaL_argcheck(L, lua_isinteger(L, 3), 3,
                      "delta must be an integer or decimal text");
        snprintf(digits, sizeof(digits), LUA_INTEGER_FMT,
                 (LUAI_UACINT)lua_tointeger(L, 3));
        delta = digits;
    } else if (lua_type(L, 3) == LUA_TSTRING) {
        size_t len;
        delta = lua_tolstring(L, 3, &len);
        luaL_argcheck(L, !ljw_has_nul(delta, len), 3, "delta contains NUL");
    } else {
        return luaL_typeerror(L, 3, "integer or decimal text");
    }
    lua_settop(L, 4);
    jw_call_opts *opts = *ljw_call_opts(L, 4, "publish", NULL);
    if (ljw_has_nul(subject, slen))
        return ljw_bad_subject(L, "subject");
    jw_js *js = ljw_js_arg1(L);
    if (!js)
        return 2;
    char *value = NULL;
    jw_status st = jw_js_counter_add(js, subject, delta, opts, &value);
    if (st != JW_OK)
        return ljw_fail(L, st);
    ljw_push_bigint(L, value);
    jw_free(value);
    return 1;
}

/* js:counter_get(stream, subject) -> entry | nil, err (KEY_NOT_FOUND for
 * a subject without a counter) */
static int l_counter_get(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_JS);
    size_t len, slen;
    const char *stream = ljw_check_string(L, 2, &len);
    const char *subject = ljw_check_string(L, 3, &slen);
    if (ljw_has_nul(stream, len))
        return ljw_fail_msg(L, JW_EINVAL, "stream contains NUL");
    if (ljw_has_nul(subject, slen))
        return ljw_bad_subject(L, "subject");
    jw_js *js = ljw_js_arg1(L);
    if (!js)
        return 2;
    char *text = NULL;
    jw_status st = jw_js_counter_get(js, stream, subject, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return push_entry(L, text);
}

typedef struct next_call {
    jw_direct_batch *b;
    jw_msg *msg;
} next_call;

static jw_status next_slice(void *ctx, int64_t ms)
{
    next_call *c = ctx;
    return jw_direct_batch_next(c->b, ms, &c->msg);
}

static void free_direct(void *p)
{
    jw_direct_batch_free(p);
}

/* js:counter_get_many(stream, subjects [, timeout = 5]) -> the entries of
 * the subjects' counters (wildcards allowed; those without one are left
 * out), in stream order | nil, err. One direct get (the stream needs
 * allow_direct, nats-server 2.11); timeout is for each message. */
static int l_counter_get_many(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_JS);
    size_t len;
    const char *stream = ljw_check_string(L, 2, &len);
    if (lua_isnoneornil(L, 3))
        luaL_typeerror(L, 3, "subject or list of subjects");
    int64_t ms = ljw_timeout_ms(L, 4, 5.0);
    lua_settop(L, 4);
    const char **subjects = NULL;
    size_t count = ljw_subject_list(L, 3, 3, "subjects", &subjects);
    if (ljw_has_nul(stream, len))
        return ljw_fail_msg(L, JW_EINVAL, "stream contains NUL");
    jw_js *js = ljw_js_arg1(L);
    if (!js)
        return 2;
    void **dslot = ljw_box_new(L, free_direct);
    jw_status st = jw_js_direct_get_batch(js, stream, subjects, count, NULL,
                                          (jw_direct_batch **)dslot);
    if (st != JW_OK)
        return ljw_fail(L, st);
    void **mslot = ljw_box_new(L, free_msg);
    lua_newtable(L);
    for (lua_Integer i = 1;; i++) {
        next_call call = {*dslot, NULL};
        st = ljw_wait_sliced(L, ms, next_slice, &call);
        if (st == LJW_INTERRUPTED)
            return ljw_fail_interrupted(L);
        if (st != JW_OK)
            return ljw_fail_waited(L, st, ms);
        if (!call.msg)
            break;
        *mslot = call.msg;
        char *text = NULL;
        st = jw_js_counter_entry(call.msg, &text);
        ljw_box_forget(mslot);
        if (st != JW_OK)
            return ljw_fail(L, st);
        if (push_entry(L, text) != 1)
            return 2;
        lua_seti(L, -2, i);
    }
    ljw_box_forget(dslot);
    return 1;
}

/* ------------------------------------------------------------------------
 * Registration
 */

static const luaL_Reg batch_methods[] = {
    {"add", l_batch_add},
    {"commit", l_batch_commit},
    {"id", l_batch_id},
    {"count", l_batch_count},
    {"close", l_batch_close},
    {NULL, NULL},
};

static const luaL_Reg js_batch_methods[] = {
    {"atomic_batch", l_atomic_batch},
    {"publish_atomic", l_publish_atomic},
    {"counter_add", l_counter_add},
    {"counter_get", l_counter_get},
    {"counter_get_many", l_counter_get_many},
    {NULL, NULL},
};

void ljw_batch_register(lua_State *L)
{
    ljw_register_type(L, LJW_ATOMIC_BATCH, batch_methods, l_batch_gc,
                      l_batch_tostring);
    luaL_getmetatable(L, LJW_JS);
    lua_getfield(L, -1, "__index");
    luaL_setfuncs(L, js_batch_methods, 0);
    lua_pop(L, 2);
}
