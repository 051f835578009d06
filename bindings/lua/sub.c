/*
 * Subscriptions (pulled: next_msg, next_msgs, the messages iterator) and
 * received messages (fields read from the engine's message on access).
 */
#include "ljw.h"

#include <string.h>

static ljw_sub *check_sub(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_SUB);
}

static ljw_msg *check_msg(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_MSG);
}

static int sub_closed(lua_State *L)
{
    return ljw_fail_msg(L, JW_EINVALID_SUBSCRIPTION, NULL);
}

/* ------------------------------------------------------------------------
 * Subscriptions
 */

ljw_sub *ljw_new_sub(lua_State *L, int conn_idx)
{
    conn_idx = lua_absindex(L, conn_idx);
    ljw_sub *s = lua_newuserdatauv(L, sizeof(*s), 1);
    s->sub = NULL;
    s->held_pos = s->held_end = 0;
    luaL_setmetatable(L, LJW_SUB);
    lua_pushvalue(L, conn_idx);
    lua_setiuservalue(L, -2, 1);
    return s;
}

void ljw_sub_track(lua_State *L, int conn_idx, int sub_idx)
{
    ljw_sub *s = lua_touserdata(L, sub_idx);
    sub_idx = lua_absindex(L, sub_idx);
    lua_getiuservalue(L, conn_idx, 1);
    lua_getfield(L, -1, "subs");
    lua_pushvalue(L, sub_idx);
    lua_rawsetp(L, -2, s->sub);
    lua_pop(L, 2);
}

/* The one finalizer of a subscription (close, __close, __gc). */
static void sub_release(lua_State *L, int idx)
{
    ljw_sub *s = lua_touserdata(L, idx);
    while (s->held_pos < s->held_end)
        jw_msg_free(s->held_msgs[s->held_pos++]);
    if (!s->sub)
        return;
    jw_sub *sub = s->sub;
    s->sub = NULL;
    /* Forget it in the connection's table if it is still there. */
    if (lua_getiuservalue(L, idx, 1) == LUA_TUSERDATA &&
        lua_getiuservalue(L, -1, 1) == LUA_TTABLE) {
        lua_getfield(L, -1, "subs");
        if (lua_rawgetp(L, -1, sub) == LUA_TUSERDATA &&
            lua_touserdata(L, -1) == s) {
            lua_pushnil(L);
            lua_rawsetp(L, -3, sub);
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 2);
    jw_sub_free(sub);
}

/* The wait fill ends with when a signal interrupted it (jw_status codes
 * are negative). */

/* Take up to max messages (waiting up to ms for the first, in slices that
 * a signal can end) into the subscription's held array. 0 on success,
 * LJW_INTERRUPTED, else a jw_status. */
static int fill(lua_State *L, ljw_sub *s, int max, int64_t ms)
{
    if (s->held_pos < s->held_end)
        return 0;
    s->held_pos = s->held_end = 0;
    ljw_wait w;
    ljw_wait_begin(L, &w, ms);
    int n;
    for (;;) {
        int64_t slice = ljw_wait_step(&w);
        if (slice == LJW_WAIT_INTERRUPTED)
            return LJW_INTERRUPTED;
        if (slice == LJW_WAIT_EXPIRED)
            return JW_ETIMEOUT;
        n = jw_sub_next_batch(s->sub, s->held_msgs, max, slice);
        if (n != JW_ETIMEOUT)
            break;
    }
    if (n < 0)
        return n;
    s->held_end = n;
    return 0;
}

/* nil, err for what fill returned. */
static int fill_failed(lua_State *L, int st, int64_t ms)
{
    if (st == LJW_INTERRUPTED)
        return ljw_fail_interrupted(L);
    /* The engine's text names the last slice's timeout. */
    if (st == JW_ETIMEOUT && ms > LJW_SLICE_MS)
        return ljw_fail_timeout(L, "no message", ms);
    return ljw_fail(L, st);
}

/* Wrap the next held message in a userdata (pushed). */
static void push_held(lua_State *L, ljw_sub *s, int conn_idx)
{
    ljw_msg *m = ljw_new_msg(L, conn_idx);
    m->msg = s->held_msgs[s->held_pos];
    s->held_msgs[s->held_pos++] = NULL;
}

/* sub:next_msg([timeout = 1.0]) -> msg | nil, err (TIMEOUT,
 * INVALID_SUBSCRIPTION once closed and empty, CONNECTION_CLOSED). */
static int l_next_msg(lua_State *L)
{
    ljw_sub *s = ljw_check_self(L, 1, lua_upvalueindex(1), LJW_SUB);
    int64_t ms = ljw_timeout_ms(L, 2, 1.0);
    lua_settop(L, 1);
    if (!s->sub)
        return sub_closed(L);
    lua_getiuservalue(L, 1, 1);
    int st = fill(L, s, 1, ms);
    if (st)
        return fill_failed(L, st, ms);
    push_held(L, s, 2);
    return 1;
}

/* sub:next_msgs([max = 256 [, timeout = 1.0]]) -> list of 1..max
 * messages, waiting up to timeout for the first | nil, err. */
static int l_next_msgs(lua_State *L)
{
    ljw_sub *s = ljw_check_self(L, 1, lua_upvalueindex(1), LJW_SUB);
    lua_Integer max = luaL_optinteger(L, 2, LJW_BATCH);
    luaL_argcheck(L, max >= 1, 2, "max must be at least 1");
    int64_t ms = ljw_timeout_ms(L, 3, 1.0);
    lua_settop(L, 1);
    if (!s->sub)
        return sub_closed(L);
    lua_getiuservalue(L, 1, 1);
    int st = fill(L, s, max > LJW_BATCH ? LJW_BATCH : (int)max, ms);
    if (st)
        return fill_failed(L, st, ms);
    int n = s->held_end - s->held_pos;
    if (n > max)
        n = (int)max;
    lua_createtable(L, n, 0);
    for (int i = 1; i <= n; i++) {
        push_held(L, s, 2);
        lua_rawseti(L, -2, i);
    }
    return 1;
}

static int messages_step(lua_State *L)
{
    ljw_sub *s = lua_touserdata(L, lua_upvalueindex(1));
    int64_t ms = lua_tointeger(L, lua_upvalueindex(2));
    lua_settop(L, 0);
    if (!s->sub)
        return 0;
    lua_getiuservalue(L, lua_upvalueindex(1), 1);
    if (fill(L, s, jw_sub_batch_size(s->sub, LJW_BATCH), ms) != 0)
        return 0; /* timeout, closed or a signal: the loop ends */
    push_held(L, s, 1);
    return 1;
}

/* for msg in sub:messages([timeout]) do ... end: until no message came
 * within timeout (default: wait forever) or the subscription ended.
 * Messages are taken from the engine in batches. */
static int l_messages(lua_State *L)
{
    check_sub(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, -1);
    lua_settop(L, 1);
    lua_pushinteger(L, (lua_Integer)ms);
    lua_pushcclosure(L, messages_step, 2);
    return 1;
}

/* sub:unsubscribe([max]): now, or after max messages in total. */
static int l_unsubscribe(lua_State *L)
{
    ljw_sub *s = check_sub(L, 1);
    lua_Integer max = luaL_optinteger(L, 2, 0);
    luaL_argcheck(L, max >= 0, 2, "max must not be negative");
    if (!s->sub)
        return sub_closed(L);
    jw_status st = max ? jw_sub_auto_unsubscribe(s->sub, (uint64_t)max)
                       : jw_sub_unsubscribe(s->sub);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_drain(lua_State *L)
{
    ljw_sub *s = check_sub(L, 1);
    if (!s->sub)
        return sub_closed(L);
    jw_status st = jw_sub_drain(s->sub);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushboolean(L, 1);
    return 1;
}

/* sub:pending() -> msgs, bytes queued (messages taken from the engine
 * but not yet handed out count too). */
static int l_pending(lua_State *L)
{
    ljw_sub *s = check_sub(L, 1);
    if (!s->sub)
        return sub_closed(L);
    int64_t msgs, bytes;
    jw_status st = jw_sub_pending(s->sub, &msgs, &bytes);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushinteger(L, msgs + (s->held_end - s->held_pos));
    lua_pushinteger(L, bytes);
    return 2;
}

/* sub:pending_limits() -> msgs, bytes the queue may hold (<= 0: none). */
static int l_pending_limits(lua_State *L)
{
    ljw_sub *s = check_sub(L, 1);
    if (!s->sub)
        return sub_closed(L);
    int64_t msgs, bytes;
    jw_status st = jw_sub_pending_limits(s->sub, &msgs, &bytes);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushinteger(L, msgs);
    lua_pushinteger(L, bytes);
    return 2;
}

static int l_set_pending_limits(lua_State *L)
{
    ljw_sub *s = check_sub(L, 1);
    lua_Integer msgs = luaL_checkinteger(L, 2);
    lua_Integer bytes = luaL_checkinteger(L, 3);
    if (!s->sub)
        return sub_closed(L);
    jw_status st = jw_sub_set_pending_limits(s->sub, msgs, bytes);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_dropped(lua_State *L)
{
    ljw_sub *s = check_sub(L, 1);
    if (!s->sub)
        return sub_closed(L);
    lua_pushinteger(L, (lua_Integer)jw_sub_dropped(s->sub));
    return 1;
}

static int l_delivered(lua_State *L)
{
    ljw_sub *s = check_sub(L, 1);
    if (!s->sub)
        return sub_closed(L);
    lua_pushinteger(L, (lua_Integer)jw_sub_delivered(s->sub));
    return 1;
}

static int l_is_valid(lua_State *L)
{
    ljw_sub *s = check_sub(L, 1);
    lua_pushboolean(L, s->sub && jw_sub_is_valid(s->sub));
    return 1;
}

static int l_sub_close(lua_State *L)
{
    check_sub(L, 1);
    sub_release(L, 1);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_sub_gc(lua_State *L)
{
    ljw_check_self(L, 1, lua_upvalueindex(1), LJW_SUB);
    sub_release(L, 1);
    return 0;
}

static int l_sub_index(lua_State *L)
{
    /* A method needs no check here: the method checks its self. */
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    ljw_sub *s = ljw_check_self(L, 1, lua_upvalueindex(2), LJW_SUB);
    const char *key = lua_tostring(L, 2);
    if (key && s->sub && strcmp(key, "subject") == 0) {
        lua_pushstring(L, jw_sub_subject(s->sub));
        return 1;
    }
    if (key && s->sub && strcmp(key, "queue") == 0) {
        const char *queue = jw_sub_queue(s->sub);
        if (queue)
            lua_pushstring(L, queue);
        else
            lua_pushnil(L);
        return 1;
    }
    lua_pushnil(L);
    return 1;
}

static int l_sub_tostring(lua_State *L)
{
    ljw_sub *s = check_sub(L, 1);
    if (!s->sub)
        lua_pushliteral(L, "jetwire.Subscription (closed)");
    else
        lua_pushfstring(L, "jetwire.Subscription (%s%s)",
                        jw_sub_subject(s->sub),
                        jw_sub_is_valid(s->sub) ? "" : ", ended");
    return 1;
}

static const luaL_Reg sub_methods[] = {
    {"next_msg", l_next_msg},
    {"next_msgs", l_next_msgs},
    {"messages", l_messages},
    {"unsubscribe", l_unsubscribe},
    {"drain", l_drain},
    {"pending", l_pending},
    {"set_pending_limits", l_set_pending_limits},
    {"pending_limits", l_pending_limits},
    {"dropped", l_dropped},
    {"delivered", l_delivered},
    {"is_valid", l_is_valid},
    {"close", l_sub_close},
    {NULL, NULL},
};

/* ------------------------------------------------------------------------
 * Messages
 *
 * A message's first user value is its connection (for respond with
 * headers), the second the headers table once built.
 */

ljw_msg *ljw_new_msg(lua_State *L, int conn_idx)
{
    conn_idx = lua_absindex(L, conn_idx);
    ljw_msg *m = lua_newuserdatauv(L, sizeof(*m), 2);
    m->msg = NULL;
    luaL_setmetatable(L, LJW_MSG);
    lua_pushvalue(L, conn_idx);
    lua_setiuservalue(L, -2, 1);
    return m;
}

static void push_headers(lua_State *L, int idx, const jw_msg *msg)
{
    if (lua_getiuservalue(L, idx, 2) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    int count = jw_msg_header_count(msg);
    lua_createtable(L, 0, count);
    for (int i = 0; i < count; i++) {
        const char *name, *value;
        if (jw_msg_header_at(msg, i, &name, &value) != JW_OK)
            continue;
        if (lua_getfield(L, -1, name) == LUA_TNIL) {
            lua_pushstring(L, value); /* the first value of a name wins */
            lua_setfield(L, -3, name);
        }
        lua_pop(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, idx, 2);
}

void ljw_msg_push_field(lua_State *L, int idx, const jw_msg *msg,
                        const char *key)
{
    if (!key || !msg) {
        lua_pushnil(L);
    } else if (strcmp(key, "data") == 0) {
        lua_pushlstring(L, jw_msg_data(msg), jw_msg_data_len(msg));
    } else if (strcmp(key, "subject") == 0) {
        lua_pushstring(L, jw_msg_subject(msg));
    } else if (strcmp(key, "reply") == 0) {
        const char *reply = jw_msg_reply(msg);
        if (reply)
            lua_pushstring(L, reply);
        else
            lua_pushnil(L);
    } else if (strcmp(key, "headers") == 0) {
        push_headers(L, idx, msg);
    } else if (strcmp(key, "status") == 0) {
        lua_pushinteger(L, jw_msg_status_code(msg));
    } else {
        lua_pushnil(L);
    }
}

static int l_msg_index(lua_State *L)
{
    /* A method needs no check here: the method checks its self. */
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    ljw_msg *m = ljw_check_self(L, 1, lua_upvalueindex(2), LJW_MSG);
    ljw_msg_push_field(L, 1, m->msg, lua_tostring(L, 2));
    return 1;
}

/* msg:header_values(name) -> every value of name, in order. */
int ljw_msg_header_values(lua_State *L, const jw_msg *msg)
{
    const char *name = luaL_checkstring(L, 2);
    lua_newtable(L);
    for (int i = 0; msg; i++) {
        const char *value;
        if (jw_msg_header_get(msg, name, i, &value) != JW_OK)
            break;
        lua_pushstring(L, value);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_header_values(lua_State *L)
{
    return ljw_msg_header_values(L, check_msg(L, 1)->msg);
}

/* msg:header_items() -> every header line as {name, value}, in order. */
int ljw_msg_header_items(lua_State *L, const jw_msg *msg)
{
    int count = msg ? jw_msg_header_count(msg) : 0;
    lua_createtable(L, count, 0);
    for (int i = 0; i < count; i++) {
        const char *name, *value;
        if (jw_msg_header_at(msg, i, &name, &value) != JW_OK)
            continue;
        lua_createtable(L, 2, 0);
        lua_pushstring(L, name);
        lua_rawseti(L, -2, 1);
        lua_pushstring(L, value);
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    }
    return 1;
}

static int l_header_items(lua_State *L)
{
    return ljw_msg_header_items(L, check_msg(L, 1)->msg);
}

static const char *const respond_options[] = {"headers", NULL};

int ljw_msg_respond(lua_State *L, const jw_msg *msg, const char *gone)
{
    size_t len;
    const char *data = ljw_opt_data(L, 2, &len);
    ljw_check_options(L, 3, respond_options);
    int headers = 0;
    lua_settop(L, 3);
    if (!lua_isnil(L, 3)) {
        lua_getfield(L, 3, "headers");
        if (!lua_isnil(L, -1)) {
            ljw_check_headers(L, -1, 3);
            headers = lua_gettop(L);
        }
    }
    if (!msg)
        return ljw_fail_msg(L, JW_EINVAL, gone);
    const char *reply = jw_msg_reply(msg);
    if (!reply)
        return ljw_fail_msg(L, JW_EINVAL, "message has no reply subject");
    jw_status st;
    if (headers) {
        lua_getiuservalue(L, 1, 1);
        ljw_conn *c = luaL_testudata(L, -1, LJW_CONN);
        if (!c || !c->conn)
            return ljw_fail_msg(L, JW_ECONNECTION_CLOSED, NULL);
        jw_msg *out;
        st = ljw_build_msg(L, reply, NULL, data, len, headers, &out);
        void **box = lua_touserdata(L, -1);
        if (st == JW_OK)
            st = jw_conn_publish_msg(c->conn, out);
        ljw_box_forget(box);
    } else {
        st = jw_msg_respond(msg, data, len);
    }
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushboolean(L, 1);
    return 1;
}

/* msg:respond(data [, {headers = }]): publish to the reply subject. */
static int l_respond(lua_State *L)
{
    ljw_msg *m = ljw_check_self(L, 1, lua_upvalueindex(1), LJW_MSG);
    return ljw_msg_respond(L, m->msg, "message was released");
}

int ljw_msg_unpack(lua_State *L, const jw_msg *msg, const char *gone)
{
    int wrap_bin = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "wrap_bin");
        wrap_bin = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    if (!msg)
        return ljw_fail_msg(L, JW_EINVAL, gone);
    return ljw_unpack_bytes(L, jw_msg_data(msg), jw_msg_data_len(msg),
                            wrap_bin);
}

/* msg:unpack([{wrap_bin = true}]) -> the MessagePack value of the data. */
static int l_msg_unpack(lua_State *L)
{
    return ljw_msg_unpack(L, check_msg(L, 1)->msg, "message was released");
}

static int l_msg_gc(lua_State *L)
{
    ljw_msg *m = ljw_check_self(L, 1, lua_upvalueindex(1), LJW_MSG);
    if (m->msg) {
        jw_msg *msg = m->msg;
        m->msg = NULL;
        jw_msg_free(msg);
    }
    return 0;
}

static int l_msg_tostring(lua_State *L)
{
    ljw_msg *m = check_msg(L, 1);
    if (!m->msg)
        lua_pushliteral(L, "jetwire.Msg (released)");
    else
        lua_pushfstring(L, "jetwire.Msg (%s, %I bytes)", jw_msg_subject(m->msg),
                        (lua_Integer)jw_msg_data_len(m->msg));
    return 1;
}

static const luaL_Reg msg_methods[] = {
    {"respond", l_respond},
    {"header_values", l_header_values},
    {"header_items", l_header_items},
    {"unpack", l_msg_unpack},
    {"ack", ljw_msg_ack},
    {"ack_sync", ljw_msg_ack_sync},
    {"nak", ljw_msg_nak},
    {"term", ljw_msg_term},
    {"in_progress", ljw_msg_in_progress},
    {"metadata", ljw_msg_metadata},
    {NULL, NULL},
};

/* One metatable: methods reached through an __index function that also
 * serves the fields. Each method, __gc and __close have the metatable as
 * upvalue 1, the __index function the methods table and the metatable as
 * upvalues 1 and 2 (ljw_check_self). */
void ljw_register_index_type(lua_State *L, const char *name,
                             const luaL_Reg *methods, lua_CFunction index,
                             lua_CFunction tostring, lua_CFunction gc)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    lua_pushvalue(L, -2);
    luaL_setfuncs(L, methods, 1);
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, index, 2);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, gc, 1);
    lua_setfield(L, -2, "__gc");
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, gc, 1);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
}

void ljw_sub_register(lua_State *L)
{
    ljw_register_index_type(L, LJW_SUB, sub_methods, l_sub_index,
                            l_sub_tostring, l_sub_gc);
    ljw_register_index_type(L, LJW_MSG, msg_methods, l_msg_index,
                            l_msg_tostring, l_msg_gc);
}
