/*
 * Stored messages of a stream, from the JetStream context: js:get_msg,
 * js:get_last_msg, js:delete_msg, and direct get batches
 * (js:direct_get_batch and the DirectBatch they give). A stored message
 * is a table {subject, data, headers, seq}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ljw.h"

/* A stored message as a table: subject, data, headers, seq. */
static int push_stored(lua_State *L, jw_msg *msg)
{
    lua_createtable(L, 0, 4);
    lua_pushstring(L, jw_msg_subject(msg));
    lua_setfield(L, -2, "subject");
    lua_pushlstring(L, jw_msg_data(msg), jw_msg_data_len(msg));
    lua_setfield(L, -2, "data");
    int count = jw_msg_header_count(msg);
    lua_createtable(L, 0, count);
    for (int i = 0; i < count; i++) {
        const char *name, *value;
        if (jw_msg_header_at(msg, i, &name, &value) != JW_OK)
            continue;
        if (lua_getfield(L, -1, name) == LUA_TNIL) {
            lua_pushstring(L, value);
            lua_setfield(L, -3, name);
        }
        lua_pop(L, 1);
        if (strcmp(name, "Nats-Sequence") == 0) {
            lua_pushinteger(L, (lua_Integer)strtoull(value, NULL, 10));
            lua_setfield(L, -3, "seq");
        }
    }
    lua_setfield(L, -2, "headers");
    return 1;
}

static void free_msg_box(void *p)
{
    jw_msg_free(p);
}

static int stored_result(lua_State *L, jw_status st, jw_msg *msg)
{
    if (st != JW_OK)
        return ljw_fail(L, st);
    void **slot = ljw_box_new(L, free_msg_box);
    *slot = msg;
    push_stored(L, msg);
    ljw_box_forget(slot);
    lua_remove(L, -2);
    return 1;
}

static lua_Integer check_seq(lua_State *L, int arg)
{
    lua_Integer seq = luaL_checkinteger(L, arg);
    luaL_argcheck(L, seq > 0, arg, "sequence must be positive");
    return seq;
}

/* js:get_msg(stream, seq) -> {subject, data, headers, seq} */
static int l_get_msg(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *stream = ljw_check_string(L, 2, NULL);
    lua_Integer seq = check_seq(L, 3);
    LJW_LIVE_JS(L, j, js);
    jw_msg *msg = NULL;
    jw_status st = jw_js_stream_get_msg(js, stream, (uint64_t)seq, &msg);
    return stored_result(L, st, msg);
}

/* js:get_last_msg(stream, subject) */
static int l_get_last_msg(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *stream = ljw_check_string(L, 2, NULL);
    const char *subject = ljw_check_string(L, 3, NULL);
    LJW_LIVE_JS(L, j, js);
    jw_msg *msg = NULL;
    jw_status st = jw_js_stream_get_last_msg(js, stream, subject, &msg);
    return stored_result(L, st, msg);
}

/* ------------------------------------------------------------------------
 * Direct get batches
 */

#define LJW_DIRECT_BATCH "jetwire.DirectBatch"

typedef struct ljw_direct_batch {
    jw_direct_batch *b; /* NULL once closed */
} ljw_direct_batch;

static ljw_direct_batch *check_batch(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_DIRECT_BATCH);
}

static void free_strings(void *p)
{
    free(p);
}

size_t ljw_subject_list(lua_State *L, int idx, int arg, const char *what,
                        const char ***out)
{
    idx = lua_absindex(L, idx);
    void **slot = ljw_box_new(L, free_strings);
    *out = NULL;
    if (lua_isnil(L, idx))
        return 0;
    lua_Integer n = 1;
    if (lua_istable(L, idx)) {
        n = luaL_len(L, idx);
        if (n < 1 || (lua_Unsigned)n > SIZE_MAX / sizeof(char *))
            return (size_t)luaL_argerror(
                L, arg, lua_pushfstring(L, "%s must not be empty", what));
    } else if (lua_type(L, idx) != LUA_TSTRING) {
        return (size_t)luaL_argerror(
            L, arg,
            lua_pushfstring(L, "%s must be a string or a list of strings",
                            what));
    }
    const char **list = calloc((size_t)n, sizeof(*list));
    if (!list)
        luaL_error(L, "out of memory");
    *slot = list;
    for (lua_Integer i = 0; i < n; i++) {
        size_t len;
        if (lua_istable(L, idx))
            lua_geti(L, idx, i + 1);
        else
            lua_pushvalue(L, idx);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, arg, lua_pushfstring(L, "%s must be strings",
                                                  what));
        list[i] = lua_tolstring(L, -1, &len);
        if (ljw_has_nul(list[i], len))
            luaL_argerror(L, arg, lua_pushfstring(L, "%s contains NUL", what));
        lua_pop(L, 1); /* the table (or the argument) keeps it */
    }
    *out = list;
    return (size_t)n;
}

static const char *const direct_own[] = {"multi_last", NULL};

/* js:direct_get_batch(stream, {multi_last =, batch =, seq =, ...}) -> a
 * batch to read with b:next() or b:messages() | nil, err */
static int l_direct_get_batch(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *stream = ljw_check_string(L, 2, NULL);
    lua_settop(L, 3);
    if (!lua_isnil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    jw_call_opts **opts = ljw_call_opts(L, 3, "direct_get", direct_own);
    if (lua_istable(L, 3))
        lua_getfield(L, 3, "multi_last");
    else
        lua_pushnil(L);
    const char **multi = NULL;
    size_t count = ljw_subject_list(L, -1, 3, "multi_last", &multi);
    LJW_LIVE_JS(L, j, js);
    ljw_direct_batch *b = lua_newuserdatauv(L, sizeof(*b), 1);
    b->b = NULL;
    luaL_setmetatable(L, LJW_DIRECT_BATCH);
    ljw_pin_conn(L, 1);
    jw_status st = jw_js_direct_get_batch(js, stream, multi, count, *opts,
                                          &b->b);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return 1;
}

static int l_batch_gc(lua_State *L)
{
    ljw_direct_batch *b = check_batch(L, 1);
    jw_direct_batch *batch = b->b;
    b->b = NULL;
    jw_direct_batch_free(batch);
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
    ljw_direct_batch *b = check_batch(L, 1);
    lua_pushfstring(L, "jetwire.DirectBatch (%s)", b->b ? "open" : "closed");
    return 1;
}

/* One step: a message table, false at the end, or a status
 * (LJW_INTERRUPTED for a signal: the wait goes in slices, ljw.h). */
typedef struct batch_call {
    jw_direct_batch *b;
    jw_msg *msg;
} batch_call;

static jw_status batch_slice(void *ctx, int64_t ms)
{
    batch_call *c = ctx;
    return jw_direct_batch_next(c->b, ms, &c->msg);
}

static jw_status batch_step(lua_State *L, ljw_direct_batch *b, int64_t ms)
{
    batch_call call = {b->b, NULL};
    jw_status st = ljw_wait_sliced(L, ms, batch_slice, &call);
    jw_msg *msg = call.msg;
    if (st != JW_OK)
        return st;
    if (!msg) {
        lua_pushboolean(L, 0);
        return JW_OK;
    }
    stored_result(L, JW_OK, msg);
    return JW_OK;
}

/* b:next([timeout = 1]) -> msg | false (the end, and after it) |
 * nil, err */
static int l_batch_next(lua_State *L)
{
    ljw_direct_batch *b = check_batch(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, 1.0);
    if (!b->b)
        return ljw_fail_msg(L, JW_EINVAL, "direct get batch was closed");
    jw_status st = batch_step(L, b, ms);
    if (st == LJW_INTERRUPTED)
        return ljw_fail_interrupted(L);
    return st == JW_OK ? 1 : ljw_fail_waited(L, st, ms);
}

static int messages_step(lua_State *L)
{
    ljw_direct_batch *b = lua_touserdata(L, lua_upvalueindex(1));
    int64_t ms = lua_tointeger(L, lua_upvalueindex(2));
    lua_settop(L, 0);
    if (!b->b)
        return 0;
    jw_status st = batch_step(L, b, ms);
    if (st == LJW_INTERRUPTED)
        return 0; /* a signal ends the loop */
    if (st != JW_OK) { /* a failure must not look like the end */
        ljw_fail_waited(L, st, ms);
        return ljw_raise(L);
    }
    if (lua_isboolean(L, -1))
        return 0; /* the end */
    return 1;
}

/* for msg in b:messages([timeout = 5]) do ... end: every message of the
 * batch; a failure or a timeout raises the error. */
static int l_batch_messages(lua_State *L)
{
    check_batch(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, 5.0);
    lua_settop(L, 1);
    lua_pushinteger(L, (lua_Integer)ms);
    lua_pushcclosure(L, messages_step, 2);
    return 1;
}

typedef uint64_t (*batch_counter)(const jw_direct_batch *b);

static int batch_count(lua_State *L, batch_counter fn)
{
    ljw_direct_batch *b = check_batch(L, 1);
    lua_pushinteger(L, (lua_Integer)fn(b->b));
    return 1;
}

/* After the end: how many more match, the last sequence sent, and (with
 * multi_last) the sequence the answer was read at; 0 before. */
static int l_batch_num_pending(lua_State *L)
{
    return batch_count(L, jw_direct_batch_num_pending);
}

static int l_batch_last_seq(lua_State *L)
{
    return batch_count(L, jw_direct_batch_last_seq);
}

static int l_batch_up_to_seq(lua_State *L)
{
    return batch_count(L, jw_direct_batch_up_to_seq);
}

static const luaL_Reg batch_methods[] = {
    {"next", l_batch_next},
    {"messages", l_batch_messages},
    {"num_pending", l_batch_num_pending},
    {"last_seq", l_batch_last_seq},
    {"up_to_seq", l_batch_up_to_seq},
    {"close", l_batch_close},
    {NULL, NULL},
};

/* js:delete_msg(stream, seq [, erase]) */
static int l_delete_msg(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *stream = ljw_check_string(L, 2, NULL);
    lua_Integer seq = check_seq(L, 3);
    if (!lua_isnoneornil(L, 4))
        luaL_checktype(L, 4, LUA_TBOOLEAN);
    int erase = lua_toboolean(L, 4);
    LJW_LIVE_JS(L, j, js);
    return ljw_ok_or_fail(L, jw_js_stream_delete_msg(js, stream, (uint64_t)seq,
                                                 erase));
}

/* ------------------------------------------------------------------------
 * Registration: the DirectBatch type and the context's methods.
 */

static const luaL_Reg js_stored_methods[] = {
    {"get_msg", l_get_msg},
    {"get_last_msg", l_get_last_msg},
    {"delete_msg", l_delete_msg},
    {"direct_get_batch", l_direct_get_batch},
    {NULL, NULL},
};

void ljw_stored_register(lua_State *L)
{
    ljw_register_type(L, LJW_DIRECT_BATCH, batch_methods, l_batch_gc,
                      l_batch_tostring);
    luaL_getmetatable(L, LJW_JS);
    lua_getfield(L, -1, "__index");
    luaL_setfuncs(L, js_stored_methods, 0);
    lua_pop(L, 2);
}
