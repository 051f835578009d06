/*
 * Fast-ingest batches (ADR-50, nats-server 2.14): js:fast_batch() and its
 * FastBatch type, and js:publish_batch. Each wraps the engine's call one
 * to one; the engine owns the flow control, the gaps and the errors the
 * server reports, and their JSON (take_errors).
 *
 * The hot paths make no message: fb:add without options and every
 * message of js:publish_batch without headers go to jw_js_fast_publish
 * with the Lua string's bytes, and publish_batch is one C loop over the
 * Lua array.
 *
 * A batch pins its connection (ljw.h) and keeps its jw_js alive in the
 * engine, so it works on after its context was closed.
 */
#include <string.h>

#include "ljw.h"

#define LJW_FAST_BATCH "jetwire.FastBatch"

typedef struct ljw_fast {
    jw_js_fast *f;  /* NULL once closed */
    uint64_t acked; /* kept when it closes */
} ljw_fast;

/* The commit's options: its message's headers (the engine's commit takes
 * no "publish" options). */
static const char *const commit_known[] = {"headers", NULL};

static void free_fast(void *p)
{
    jw_js_fast_free(p);
}

static void free_ack(void *p)
{
    jw_js_pub_ack_free(p);
}

static ljw_fast *check_fast(lua_State *L)
{
    return luaL_checkudata(L, 1, LJW_FAST_BATCH);
}

static int closed_fast(lua_State *L)
{
    return ljw_fail_msg(L, JW_EINVAL, "fast batch was closed");
}

/* js:fast_batch([opts]) -> fb | nil, err. opts: the engine's "fast"
 * options (flow, gap, max_outstanding_acks, timeout). NOT_SUPPORTED
 * before 2.14, before anything is sent. */
static int l_fast_batch(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_JS);
    lua_settop(L, 2);
    jw_call_opts *opts = *ljw_call_opts(L, 2, "fast", NULL);
    jw_js *js = ljw_js_arg1(L);
    if (!js)
        return 2;
    ljw_fast *fb = lua_newuserdatauv(L, sizeof(*fb), 1);
    fb->f = NULL;
    fb->acked = 0;
    luaL_setmetatable(L, LJW_FAST_BATCH);
    ljw_pin_conn(L, 1);
    jw_status st = jw_js_fast_new(js, opts, &fb->f);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return 1;
}

/* fb:add(subject, data [, opts]) -> seq | nil, err. opts: the engine's
 * "publish" options and headers, as js:publish takes them. The batch
 * sequence counts from 1. */
static int l_fast_add(lua_State *L)
{
    ljw_fast *fb = check_fast(L);
    jw_status st;
    uint64_t seq = 0;
    if (lua_isnoneornil(L, 4)) {
        /* The hot path: the Lua string's bytes, no message made. */
        size_t slen, len;
        const char *subject = ljw_check_string(L, 2, &slen);
        const char *data = ljw_opt_data(L, 3, &len);
        if (ljw_has_nul(subject, slen))
            return ljw_bad_subject(L, "subject");
        if (!fb->f)
            return closed_fast(L);
        st = jw_js_fast_publish(fb->f, subject, data, len, NULL, &seq);
    } else {
        const char *subject, *data;
        size_t len;
        jw_call_opts *opts;
        jw_msg *msg;
        int r = ljw_publish_args(L, &subject, &data, &len, &opts, &msg);
        if (r)
            return r;
        if (!fb->f)
            return closed_fast(L);
        st = jw_js_fast_add(fb->f, msg, opts, &seq);
        ljw_box_forget(lua_touserdata(L, -1)); /* the message's box */
    }
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushinteger(L, (lua_Integer)seq);
    return 1;
}

/* fb:commit([subject, data [, opts]]) -> ack | nil, err. opts: headers
 * only. Without a subject: the batch ends without one more message (after
 * at least one add). After a gap with gap "fail", the ack of what was
 * stored: its count is less than the messages added. */
static int l_fast_commit(lua_State *L)
{
    ljw_fast *fb = check_fast(L);
    jw_msg *msg = NULL;
    if (lua_isnoneornil(L, 2)) {
        luaL_argcheck(L, lua_isnoneornil(L, 3), 3,
                      "data needs a subject to go with");
        luaL_argcheck(L, lua_isnoneornil(L, 4), 4,
                      "options need a subject to go with");
    } else {
        size_t slen, len;
        const char *subject = ljw_check_string(L, 2, &slen);
        const char *data = ljw_opt_data(L, 3, &len);
        lua_settop(L, 4);
        if (!lua_isnil(L, 4)) {
            luaL_checktype(L, 4, LUA_TTABLE);
            ljw_check_options(L, 4, commit_known);
        }
        int headers = ljw_push_headers_option(L, 4);
        if (ljw_has_nul(subject, slen))
            return ljw_bad_subject(L, "subject");
        jw_status st =
            ljw_build_msg(L, subject, NULL, data, len, headers, &msg);
        if (st != JW_OK)
            return ljw_fail(L, st);
    }
    if (!fb->f)
        return closed_fast(L);
    void **ackslot = ljw_box_new(L, free_ack);
    jw_status st = jw_js_fast_commit(fb->f, msg, (jw_js_pub_ack **)ackslot);
    if (st != JW_OK)
        return ljw_fail(L, st);
    ljw_push_ack(L, *ackslot);
    return 1;
}

/* fb:acked() -> the highest batch sequence the server acknowledged (with
 * gap "fail": every message up to it is stored); also after close. */
static int l_fast_acked(lua_State *L)
{
    ljw_fast *fb = check_fast(L);
    lua_pushinteger(L, (lua_Integer)(fb->f ? jw_js_fast_acked(fb->f)
                                           : fb->acked));
    return 1;
}

/* fb:take_errors() -> the errors and gaps reported since the last call, an
 * array (empty: none) of {type = "err", seq, code, err_code, description},
 * {type = "gap", last_seq, seq} (messages last_seq to seq - 1 were lost)
 * and, past 10,000 kept, {type = "dropped", count} | nil, err. */
static int l_fast_take_errors(lua_State *L)
{
    ljw_fast *fb = check_fast(L);
    if (!fb->f)
        return closed_fast(L);
    char *text = NULL;
    jw_status st = jw_js_fast_take_errors(fb->f, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

/* __gc and __close: a batch not committed is abandoned (what was sent
 * stays stored; the server forgets the batch after 10 s). */
static int l_fast_gc(lua_State *L)
{
    ljw_fast *fb = check_fast(L);
    jw_js_fast *f = fb->f;
    if (f) {
        fb->acked = jw_js_fast_acked(f);
        fb->f = NULL;
        jw_js_fast_free(f);
    }
    return 0;
}

static int l_fast_close(lua_State *L)
{
    l_fast_gc(L);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_fast_tostring(lua_State *L)
{
    ljw_fast *fb = check_fast(L);
    lua_pushfstring(L, "jetwire.FastBatch (%s)", fb->f ? "open" : "closed");
    return 1;
}

/* js:publish_batch({{subject, data [, headers]}, ...} [, opts]) -> ack |
 * nil, err: the messages as one fast batch, the last one its commit;
 * returns when all are acknowledged, with the final PubAck (its count:
 * how many were stored), or the first failure. opts: the engine's "fast"
 * options. Every message is checked before any is sent. */
static int l_publish_batch(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_JS);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 3);
    lua_Integer n = luaL_len(L, 2);
    luaL_argcheck(L, n >= 1, 2, "messages must not be empty");
    jw_call_opts *opts = *ljw_call_opts(L, 3, "fast", NULL);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 2, i);
        if (ljw_check_batch_message(L, lua_gettop(L)))
            return 2;
        lua_pop(L, 1);
    }
    jw_js *js = ljw_js_arg1(L);
    if (!js)
        return 2;
    jw_js_fast **fslot = (jw_js_fast **)ljw_box_new(L, free_fast);
    jw_status st = jw_js_fast_new(js, opts, fslot);
    void **ackslot = ljw_box_new(L, free_ack);
    int top = lua_gettop(L);
    for (lua_Integer i = 1; st == JW_OK && i < n; i++) {
        lua_geti(L, 2, i);
        lua_geti(L, top + 1, 1);
        lua_geti(L, top + 1, 2);
        if (lua_geti(L, top + 1, 3) == LUA_TNIL) {
            size_t len = 0;
            const char *data = lua_isnil(L, top + 3)
                                   ? ""
                                   : lua_tolstring(L, top + 3, &len);
            st = jw_js_fast_publish(*fslot, lua_tostring(L, top + 2), data,
                                    len, NULL, NULL);
        } else {
            jw_msg *msg = NULL;
            lua_settop(L, top + 1);
            st = ljw_build_batch_message(L, top + 1, &msg);
            if (st == JW_OK)
                st = jw_js_fast_add(*fslot, msg, NULL, NULL);
            ljw_box_forget(lua_touserdata(L, -1));
        }
        lua_settop(L, top);
    }
    if (st == JW_OK) {
        jw_msg *msg = NULL;
        lua_geti(L, 2, n);
        st = ljw_build_batch_message(L, top + 1, &msg);
        if (st == JW_OK)
            st = jw_js_fast_commit(*fslot, msg, (jw_js_pub_ack **)ackslot);
        ljw_box_forget(lua_touserdata(L, -1));
        lua_settop(L, top);
    }
    if (st != JW_OK) {
        int r = ljw_fail(L, st);
        ljw_box_forget((void **)fslot); /* abandoned now, not at the GC */
        return r;
    }
    ljw_box_forget((void **)fslot);
    ljw_push_ack(L, *ackslot);
    return 1;
}

/* ------------------------------------------------------------------------
 * Registration
 */

static const luaL_Reg fast_methods[] = {
    {"add", l_fast_add},
    {"commit", l_fast_commit},
    {"acked", l_fast_acked},
    {"take_errors", l_fast_take_errors},
    {"close", l_fast_close},
    {NULL, NULL},
};

static const luaL_Reg js_fast_methods[] = {
    {"fast_batch", l_fast_batch},
    {"publish_batch", l_publish_batch},
    {NULL, NULL},
};

void ljw_fast_register(lua_State *L)
{
    ljw_register_type(L, LJW_FAST_BATCH, fast_methods, l_fast_gc,
                      l_fast_tostring);
    luaL_getmetatable(L, LJW_JS);
    lua_getfield(L, -1, "__index");
    luaL_setfuncs(L, js_fast_methods, 0);
    lua_pop(L, 2);
}
