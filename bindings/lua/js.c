/*
 * JetStream: the context (nc:jetstream()), streams, acknowledged publish
 * (sync and async), consumers with fetch, and the acks and metadata of
 * JetStream messages. Everything wraps the engine's pulled API one to one.
 *
 * Continuous and ordered consumption are in consume.c; stored messages
 * (get_msg, get_last_msg, delete_msg, direct get batches) in stored.c.
 *
 * The options tables of publish and fetch are the engine's call options,
 * handed over by name and Lua type (ljw_call_opts, jetwire.c): the engine
 * owns their names, types and ranges.
 *
 * Configurations are Lua tables turned into JSON generically (json.c) and
 * handed to the engine, which owns the fields (jw_js_config_fields:
 * names, types, the server version each needs) and the units: every
 * context made here has the duration_unit "s", so durations cross in
 * seconds both ways and nothing is converted here.
 *
 * A context and a consumer pin their connection (ljw.h) and free only
 * their own engine handle: a consumer keeps its jw_js alive in the engine,
 * so it works on after its context was closed or collected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ljw.h"

/* ------------------------------------------------------------------------
 * The context
 */

ljw_js *ljw_check_js(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_JS);
}

jw_js *ljw_js_arg1(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    if (!j->js)
        ljw_fail_msg(L, JW_EINVAL, "JetStream context was released");
    return j->js;
}

jw_js *ljw_live_js(lua_State *L, ljw_js *j)
{
    if (!j->js) {
        ljw_push_error(L, JW_EINVAL, "JetStream context was released");
        return NULL;
    }
    return j->js;
}


static const char *const js_options[] = {"timeout", "domain", "prefix",
                                         "max_pending", NULL};

/* nc:jetstream([{timeout =, domain =, prefix =, max_pending =}]) */
int ljw_jetstream(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    ljw_check_options(L, 2, js_options);
    lua_settop(L, 2);
    const char *domain = NULL, *prefix = NULL;
    int64_t timeout = -2, max_pending = -1;
    if (!lua_isnil(L, 2)) {
        lua_getfield(L, 2, "timeout");
        if (!lua_isnil(L, -1))
            timeout = ljw_timeout_ms(L, lua_gettop(L), 5.0);
        lua_getfield(L, 2, "domain");
        if (!lua_isnil(L, -1))
            domain = ljw_check_string(L, lua_gettop(L), NULL);
        lua_getfield(L, 2, "prefix");
        if (!lua_isnil(L, -1))
            prefix = ljw_check_string(L, lua_gettop(L), NULL);
        lua_getfield(L, 2, "max_pending");
        if (!lua_isnil(L, -1)) {
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1)
                luaL_argerror(L, 2, "max_pending must be a positive integer");
            max_pending = lua_tointeger(L, -1);
        }
    }
    if (!c->conn)
        return ljw_conn_closed(L);
    ljw_js *j = lua_newuserdatauv(L, sizeof(*j), 1);
    j->js = NULL;
    luaL_setmetatable(L, LJW_JS);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    jw_status st = jw_js_new(c->conn, &j->js);
    /* Durations in every JSON document of this context are seconds. */
    if (st == JW_OK)
        st = jw_js_set_str(j->js, "duration_unit", "s");
    if (st == JW_OK && domain)
        st = jw_js_set_str(j->js, "domain", domain);
    if (st == JW_OK && prefix)
        st = jw_js_set_str(j->js, "prefix", prefix);
    if (st == JW_OK && timeout != -2)
        st = jw_js_set_int(j->js, "timeout", timeout < 0 ? INT32_MAX : timeout);
    if (st == JW_OK && max_pending > 0)
        st = jw_js_set_int(j->js, "max_pending", max_pending);
    if (st != JW_OK) {
        jw_js *js = j->js;
        j->js = NULL;
        jw_js_free(js);
        return ljw_fail(L, st);
    }
    return 1;
}

void ljw_pin_conn(lua_State *L, int from_idx)
{
    lua_getiuservalue(L, from_idx, 1);
    lua_setiuservalue(L, -2, 1);
}

static int l_js_gc(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    jw_js *js = j->js;
    j->js = NULL;
    jw_js_free(js);
    return 0;
}

static int l_js_close(lua_State *L)
{
    l_js_gc(L);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_js_tostring(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    lua_pushstring(L, j->js ? "jetwire.JetStream" : "jetwire.JetStream (released)");
    return 1;
}

int ljw_ok_or_fail(lua_State *L, jw_status st)
{
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_account_info(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    LJW_LIVE_JS(L, j, js);
    char *text = NULL;
    jw_status st = jw_js_account_info(js, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

/* js:api_level(): the JetStream API level of the answering servers. */
static int l_api_level(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    LJW_LIVE_JS(L, j, js);
    int level = 0;
    jw_status st = jw_js_api_level(js, &level);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushinteger(L, level);
    return 1;
}

typedef jw_status (*stream_cfg_fn)(jw_js *, const char *, char **);

static int stream_config_call(lua_State *L, stream_cfg_fn fn)
{
    ljw_js *j = ljw_check_js(L, 1);
    lua_settop(L, 2);
    const char *cfg = ljw_config_json(L, 2, "stream");
    LJW_LIVE_JS(L, j, js);
    char *text = NULL;
    jw_status st = fn(js, cfg, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

static int l_create_stream(lua_State *L)
{
    return stream_config_call(L, jw_js_stream_create);
}

static int l_update_stream(lua_State *L)
{
    return stream_config_call(L, jw_js_stream_update);
}

static int l_create_or_update_stream(lua_State *L)
{
    return stream_config_call(L, jw_js_stream_create_or_update);
}

static int l_stream_info(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *name = ljw_check_string(L, 2, NULL);
    LJW_LIVE_JS(L, j, js);
    char *text = NULL;
    jw_status st = jw_js_stream_info(js, name, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

static int l_delete_stream(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *name = ljw_check_string(L, 2, NULL);
    LJW_LIVE_JS(L, j, js);
    return ljw_ok_or_fail(L, jw_js_stream_delete(js, name));
}

uint64_t ljw_opt_uint(lua_State *L, int opts, const char *name)
{
    uint64_t v = 0;
    lua_getfield(L, opts, name);
    if (!lua_isnil(L, -1)) {
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0)
            luaL_argerror(L, opts,
                          lua_pushfstring(L, "%s must be a non-negative "
                                             "integer", name));
        v = (uint64_t)lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static const char *const purge_options[] = {"subject", "seq", "keep", NULL};

/* js:purge_stream(name [, {subject =, seq =, keep =}]) -> purged count */
static int l_purge_stream(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *name = ljw_check_string(L, 2, NULL);
    ljw_check_options(L, 3, purge_options);
    lua_settop(L, 3);
    const char *filter = NULL;
    uint64_t seq = 0, keep = 0;
    if (!lua_isnil(L, 3)) {
        lua_getfield(L, 3, "subject");
        if (!lua_isnil(L, -1))
            filter = ljw_check_string(L, lua_gettop(L), NULL);
        seq = ljw_opt_uint(L, 3, "seq");
        keep = ljw_opt_uint(L, 3, "keep");
    }
    LJW_LIVE_JS(L, j, js);
    uint64_t purged = 0;
    jw_status st = jw_js_stream_purge(js, name, filter, seq, keep, &purged);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushinteger(L, (lua_Integer)purged);
    return 1;
}

typedef jw_status (*listing_fn)(jw_js *, const char *, char **);

static int listing(lua_State *L, listing_fn fn, int required)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *arg = NULL;
    if (required || !lua_isnoneornil(L, 2))
        arg = ljw_check_string(L, 2, NULL);
    LJW_LIVE_JS(L, j, js);
    char *text = NULL;
    jw_status st = fn(js, arg, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

static int l_stream_names(lua_State *L)
{
    return listing(L, jw_js_stream_names, 0);
}

static int l_streams(lua_State *L)
{
    return listing(L, jw_js_stream_list, 0);
}

/* ------------------------------------------------------------------------
 * Publish
 */

static void free_ack(void *p)
{
    jw_js_pub_ack_free(p);
}

/* The keys of publish options the binding takes itself. */
static const char *const publish_own[] = {"headers", NULL};

void ljw_push_ack(lua_State *L, const jw_js_pub_ack *ack)
{
    lua_createtable(L, 0, 4);
    lua_pushstring(L, jw_js_pub_ack_stream(ack));
    lua_setfield(L, -2, "stream");
    lua_pushinteger(L, (lua_Integer)jw_js_pub_ack_seq(ack));
    lua_setfield(L, -2, "seq");
    lua_pushboolean(L, jw_js_pub_ack_duplicate(ack));
    lua_setfield(L, -2, "duplicate");
    const char *domain = jw_js_pub_ack_domain(ack);
    if (domain && *domain) {
        lua_pushstring(L, domain);
        lua_setfield(L, -2, "domain");
    }
    const char *value = jw_js_pub_ack_value(ack);
    if (value) {
        ljw_push_bigint(L, value);
        lua_setfield(L, -2, "value");
    }
    const char *batch = jw_js_pub_ack_batch(ack);
    if (batch) {
        lua_pushstring(L, batch);
        lua_setfield(L, -2, "batch");
        lua_pushinteger(L, (lua_Integer)jw_js_pub_ack_count(ack));
        lua_setfield(L, -2, "count");
    }
}

int ljw_publish_args(lua_State *L, const char **subject, const char **data,
                     size_t *len, jw_call_opts **opts, jw_msg **msg)
{
    size_t slen;
    *subject = ljw_check_string(L, 2, &slen);
    *data = ljw_opt_data(L, 3, len);
    lua_settop(L, 4);
    *opts = *ljw_call_opts(L, 4, "publish", publish_own);
    int headers = ljw_push_headers_option(L, 4);
    *msg = NULL;
    if (ljw_has_nul(*subject, slen))
        return ljw_bad_subject(L, "subject");
    jw_status st = ljw_build_msg(L, *subject, NULL, *data, *len, headers, msg);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return 0;
}

/* js:publish(subject, data [, opts]) -> {stream, seq, duplicate} */
static int l_publish(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *subject, *data;
    size_t len;
    jw_call_opts *opts;
    jw_msg *msg;
    int r = ljw_publish_args(L, &subject, &data, &len, &opts, &msg);
    if (r)
        return r;
    LJW_LIVE_JS(L, j, js);
    void **ackslot = ljw_box_new(L, free_ack);
    jw_status st = jw_js_publish_msg(js, msg, opts, (jw_js_pub_ack **)ackslot);
    if (st != JW_OK)
        return ljw_fail(L, st);
    ljw_push_ack(L, *ackslot);
    return 1;
}

/* js:publish_async(subject, data [, opts]) -> id (from 1) */
static int l_publish_async(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *subject, *data;
    size_t len;
    jw_call_opts *opts;
    jw_msg *msg;
    int r = ljw_publish_args(L, &subject, &data, &len, &opts, &msg);
    if (r)
        return r;
    LJW_LIVE_JS(L, j, js);
    uint64_t id = 0;
    jw_status st = jw_js_publish_async(js, msg, opts, &id);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

/* js:publish_async_poll() -> id, ack | id, nil, err | nil when none is
 * ready. */
static int l_publish_async_poll(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    if (!j->js) {
        lua_pushnil(L);
        return 1;
    }
    void **ackslot = ljw_box_new(L, free_ack);
    uint64_t id = 0;
    jw_status st = JW_OK;
    int got = jw_js_publish_async_poll(j->js, &id, &st,
                                       (jw_js_pub_ack **)ackslot);
    if (got <= 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushinteger(L, (lua_Integer)id);
    if (st != JW_OK) {
        ljw_fail(L, st);
        return 3;
    }
    ljw_push_ack(L, *ackslot);
    return 2;
}

static jw_status complete_slice(void *js, int64_t ms)
{
    return jw_js_publish_async_complete(js, ms);
}

/* js:method([timeout = 5]) -> true | nil, err: one of the context's
 * waits for acks, in slices (a signal ends it). */
static int js_wait(lua_State *L, ljw_slice_fn fn)
{
    ljw_js *j = ljw_check_js(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, 5.0);
    LJW_LIVE_JS(L, j, js);
    jw_status st = ljw_wait_sliced(L, ms, fn, js);
    if (st == LJW_INTERRUPTED)
        return ljw_fail_interrupted(L);
    if (st != JW_OK)
        return ljw_fail_waited(L, st, ms);
    lua_pushboolean(L, 1);
    return 1;
}

/* js:publish_async_complete([timeout]): every publish acked */
static int l_publish_async_complete(lua_State *L)
{
    return js_wait(L, complete_slice);
}

static jw_status outcome_slice(void *js, int64_t ms)
{
    return jw_js_publish_async_wait(js, ms);
}

/* js:publish_async_wait([timeout]): an outcome is ready for
 * publish_async_poll (TIMEOUT when none came) */
static int l_publish_async_wait(lua_State *L)
{
    return js_wait(L, outcome_slice);
}

static int l_publish_async_pending(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    lua_pushinteger(L, j->js ? (lua_Integer)jw_js_publish_async_pending(j->js)
                             : 0);
    return 1;
}

/* ------------------------------------------------------------------------
 * Consumers
 */

static ljw_consumer *check_consumer(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_CONSUMER);
}

/* Push a consumer handle pinning the connection of the context at
 * js_idx. */
static ljw_consumer *new_consumer(lua_State *L, int js_idx)
{
    js_idx = lua_absindex(L, js_idx);
    ljw_consumer *c = lua_newuserdatauv(L, sizeof(*c), 1);
    c->cons = NULL;
    luaL_setmetatable(L, LJW_CONSUMER);
    ljw_pin_conn(L, js_idx);
    return c;
}

typedef jw_status (*cons_cfg_fn)(jw_js *, const char *, const char *,
                                 jw_consumer **);

static int consumer_config_call(lua_State *L, cons_cfg_fn fn)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *stream = ljw_check_string(L, 2, NULL);
    lua_settop(L, 3);
    const char *cfg = ljw_config_json(L, 3, "consumer");
    LJW_LIVE_JS(L, j, js);
    ljw_consumer *c = new_consumer(L, 1);
    jw_status st = fn(js, stream, cfg, &c->cons);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return 1;
}

static int l_create_consumer(lua_State *L)
{
    return consumer_config_call(L, jw_js_consumer_create);
}

static int l_update_consumer(lua_State *L)
{
    return consumer_config_call(L, jw_js_consumer_update);
}

static int l_create_or_update_consumer(lua_State *L)
{
    return consumer_config_call(L, jw_js_consumer_create_or_update);
}

/* js:consumer(stream, name) -> a handle on an existing consumer */
static int l_consumer(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *stream = ljw_check_string(L, 2, NULL);
    const char *name = ljw_check_string(L, 3, NULL);
    LJW_LIVE_JS(L, j, js);
    ljw_consumer *c = new_consumer(L, 1);
    jw_status st = jw_js_consumer_get(js, stream, name, &c->cons);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return 1;
}

static int l_consumer_info(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *stream = ljw_check_string(L, 2, NULL);
    const char *name = ljw_check_string(L, 3, NULL);
    LJW_LIVE_JS(L, j, js);
    char *text = NULL;
    jw_status st = jw_js_consumer_info(js, stream, name, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

/* js:pause_consumer(stream, name, until): until in seconds since the
 * epoch; js:resume_consumer(stream, name). The server's answer as a
 * table {paused, pause_until, pause_remaining (seconds)}. */
static int pause_call(lua_State *L, int pause)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *stream = ljw_check_string(L, 2, NULL);
    const char *name = ljw_check_string(L, 3, NULL);
    lua_Number until = pause ? luaL_checknumber(L, 4) : 0;
    if (!(until >= 0 && until < 9.2e9))
        luaL_argerror(L, 4, "a time in seconds since the epoch");
    LJW_LIVE_JS(L, j, js);
    char *text = NULL;
    jw_status st = pause ? jw_js_consumer_pause(js, stream, name,
                                                (int64_t)(until * 1e9), &text)
                         : jw_js_consumer_resume(js, stream, name, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

static int l_pause_consumer(lua_State *L)
{
    return pause_call(L, 1);
}

static int l_resume_consumer(lua_State *L)
{
    return pause_call(L, 0);
}

/* js:reset_consumer(stream, name [, seq]): ConsumerInfo after the reset,
 * with reset_seq. */
static int l_reset_consumer(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *stream = ljw_check_string(L, 2, NULL);
    const char *name = ljw_check_string(L, 3, NULL);
    lua_Integer seq = luaL_optinteger(L, 4, 0);
    luaL_argcheck(L, seq >= 0, 4, "a stream sequence (>= 0)");
    LJW_LIVE_JS(L, j, js);
    char *text = NULL;
    jw_status st = jw_js_consumer_reset(js, stream, name, (uint64_t)seq,
                                        &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

/* js:unpin_consumer(stream, name, group) */
static int l_unpin_consumer(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *stream = ljw_check_string(L, 2, NULL);
    const char *name = ljw_check_string(L, 3, NULL);
    const char *group = ljw_check_string(L, 4, NULL);
    LJW_LIVE_JS(L, j, js);
    return ljw_ok_or_fail(L, jw_js_consumer_unpin(js, stream, name, group));
}

static int l_delete_consumer(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *stream = ljw_check_string(L, 2, NULL);
    const char *name = ljw_check_string(L, 3, NULL);
    LJW_LIVE_JS(L, j, js);
    return ljw_ok_or_fail(L, jw_js_consumer_delete(js, stream, name));
}

static int l_consumer_names(lua_State *L)
{
    return listing(L, jw_js_consumer_names, 1);
}

static int l_consumers(lua_State *L)
{
    return listing(L, jw_js_consumer_list, 1);
}

static int l_cons_gc(lua_State *L)
{
    ljw_consumer *c = check_consumer(L, 1);
    jw_consumer *cons = c->cons;
    c->cons = NULL;
    jw_consumer_free(cons);
    return 0;
}

static int l_cons_close(lua_State *L)
{
    l_cons_gc(L);
    lua_pushboolean(L, 1);
    return 1;
}

static int cons_released(lua_State *L)
{
    return ljw_fail_msg(L, JW_EINVAL, "consumer was released");
}

static int l_cons_name(lua_State *L)
{
    ljw_consumer *c = check_consumer(L, 1);
    if (!c->cons)
        return cons_released(L);
    lua_pushstring(L, jw_consumer_name(c->cons));
    return 1;
}

static int l_cons_stream(lua_State *L)
{
    ljw_consumer *c = check_consumer(L, 1);
    if (!c->cons)
        return cons_released(L);
    lua_pushstring(L, jw_consumer_stream(c->cons));
    return 1;
}

static int l_cons_info(lua_State *L)
{
    ljw_consumer *c = check_consumer(L, 1);
    if (!c->cons)
        return cons_released(L);
    char *text = NULL;
    jw_status st = jw_consumer_info(c->cons, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

typedef struct fetched {
    int pos, n;
    jw_msg *msgs[];
} fetched;

static void free_fetched(void *p)
{
    fetched *f = p;
    for (int i = f->pos; i < f->n; i++)
        jw_msg_free(f->msgs[i]);
    free(f);
}

/* cons:fetch(batch [, timeout [, opts]]) -> array of messages (empty
 * when none came in time) | nil, err. batch sizes the array and is the
 * "batch" option; timeout (seconds) is the "timeout" option; opts are the
 * engine's other "fetch" options. */
static int l_fetch(lua_State *L)
{
    ljw_consumer *c = check_consumer(L, 1);
    lua_Integer batch = luaL_checkinteger(L, 2);
    if (!lua_isnoneornil(L, 3) && lua_type(L, 3) != LUA_TNUMBER)
        luaL_typeerror(L, 3, "number of seconds");
    lua_settop(L, 4);
    jw_call_opts **opts = ljw_call_opts(L, 4, "fetch", NULL);
    /* The engine checks the batch (its range: call_options("fetch"))
     * before the room for it is made: the room given, or the smaller
     * batch of the options (checked with them). The timeout is its
     * "timeout" option, in seconds, by its rule (nil: the context's). */
    lua_Integer asked = 0;
    if (lua_istable(L, 4)) {
        lua_pushliteral(L, "batch");
        lua_rawget(L, 4);
        asked = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
        lua_pop(L, 1);
    }
    if (asked <= 0 || batch < 1)
        ljw_call_opt(L, opts, "fetch", "batch", 2, 2);
    else if (asked < batch)
        batch = asked; /* else the engine says when it exceeds the room */
    if (!lua_isnoneornil(L, 3)) {
        if (lua_istable(L, 4)) {
            lua_pushliteral(L, "timeout");
            if (lua_rawget(L, 4) != LUA_TNIL)
                luaL_argerror(L, 4, "timeout given twice (argument 3 and "
                                    "the options)");
            lua_pop(L, 1);
        }
        ljw_call_opt(L, opts, "fetch", "timeout", 3, 3);
    }
    if (!c->cons)
        return cons_released(L);
    void **slot = ljw_box_new(L, free_fetched);
    fetched *f = malloc(sizeof(*f) + (size_t)batch * sizeof(jw_msg *));
    if (!f)
        luaL_error(L, "out of memory");
    f->pos = f->n = 0;
    *slot = f;
    int n = jw_consumer_fetch(c->cons, f->msgs, (int)batch, *opts);
    if (n < 0)
        return ljw_fail(L, (jw_status)n);
    f->n = n;
    lua_getiuservalue(L, 1, 1); /* the connection, which messages pin */
    int conn_idx = lua_gettop(L);
    lua_createtable(L, n, 0);
    while (f->pos < f->n) {
        ljw_msg *m = ljw_new_msg(L, conn_idx);
        m->msg = f->msgs[f->pos++];
        lua_rawseti(L, -2, f->pos);
    }
    return 1;
}

static int l_cons_tostring(lua_State *L)
{
    ljw_consumer *c = check_consumer(L, 1);
    if (!c->cons)
        lua_pushliteral(L, "jetwire.Consumer (released)");
    else
        lua_pushfstring(L, "jetwire.Consumer (%s on %s)",
                        jw_consumer_name(c->cons), jw_consumer_stream(c->cons));
    return 1;
}

/* ------------------------------------------------------------------------
 * Acks and metadata of messages (methods of jetwire.Msg)
 */

static jw_msg *ack_target(lua_State *L)
{
    ljw_msg *m = luaL_checkudata(L, 1, LJW_MSG);
    return m->msg;
}

#define ACK_BODY(call)                                                         \
    jw_msg *msg = ack_target(L);                                               \
    if (!msg)                                                                  \
        return ljw_fail_msg(L, JW_EINVAL, "message was released");        \
    return ljw_ok_or_fail(L, call)

int ljw_msg_ack(lua_State *L)
{
    ACK_BODY(jw_msg_ack(msg));
}

int ljw_msg_ack_sync(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_MSG);
    int64_t ms = ljw_timeout_ms(L, 2, 5.0);
    if (ms < 0 || ms > INT32_MAX)
        ms = INT32_MAX;
    ACK_BODY(jw_msg_ack_sync(msg, ms));
}

/* msg:nak([delay seconds]) */
int ljw_msg_nak(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_MSG);
    if (lua_isnoneornil(L, 2)) {
        ACK_BODY(jw_msg_nak(msg));
    }
    int64_t ms = ljw_seconds_ms(L, 2, 0, "delay");
    if (ms < 0)
        luaL_argerror(L, 2, "delay must be finite");
    ACK_BODY(jw_msg_nak_delay(msg, ms));
}

/* msg:term([reason]) */
int ljw_msg_term(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_MSG);
    if (lua_isnoneornil(L, 2)) {
        ACK_BODY(jw_msg_term(msg));
    }
    size_t len = 0;
    const char *reason = ljw_check_string(L, 2, &len);
    if (ljw_has_nul(reason, len))
        return ljw_fail_msg(L, JW_EINVAL, "reason contains a NUL byte");
    ACK_BODY(jw_msg_term_reason(msg, reason));
}

int ljw_msg_in_progress(lua_State *L)
{
    ACK_BODY(jw_msg_in_progress(msg));
}

static void free_meta(void *p)
{
    jw_js_meta_free(p);
}

/* msg:metadata() -> {stream, consumer, domain, num_delivered, stream_seq,
 * consumer_seq, timestamp (seconds), timestamp_ns, num_pending} */
int ljw_msg_metadata(lua_State *L)
{
    jw_msg *msg = ack_target(L);
    if (!msg)
        return ljw_fail_msg(L, JW_EINVAL, "message was released");
    void **slot = ljw_box_new(L, free_meta);
    jw_status st = jw_msg_metadata(msg, (jw_js_meta **)slot);
    if (st != JW_OK)
        return ljw_fail(L, st);
    const jw_js_meta *m = *slot;
    lua_createtable(L, 0, 9);
    lua_pushstring(L, jw_js_meta_stream(m));
    lua_setfield(L, -2, "stream");
    lua_pushstring(L, jw_js_meta_consumer(m));
    lua_setfield(L, -2, "consumer");
    lua_pushstring(L, jw_js_meta_domain(m));
    lua_setfield(L, -2, "domain");
    lua_pushinteger(L, (lua_Integer)jw_js_meta_num_delivered(m));
    lua_setfield(L, -2, "num_delivered");
    lua_pushinteger(L, (lua_Integer)jw_js_meta_stream_seq(m));
    lua_setfield(L, -2, "stream_seq");
    lua_pushinteger(L, (lua_Integer)jw_js_meta_consumer_seq(m));
    lua_setfield(L, -2, "consumer_seq");
    lua_pushnumber(L, (double)jw_js_meta_timestamp(m) / 1e9);
    lua_setfield(L, -2, "timestamp");
    lua_pushinteger(L, (lua_Integer)jw_js_meta_timestamp(m));
    lua_setfield(L, -2, "timestamp_ns");
    lua_pushinteger(L, (lua_Integer)jw_js_meta_num_pending(m));
    lua_setfield(L, -2, "num_pending");
    return 1;
}

/* ------------------------------------------------------------------------
 * Registration
 */

static const luaL_Reg js_methods[] = {
    {"account_info", l_account_info},
    {"api_level", l_api_level},
    {"create_stream", l_create_stream},
    {"update_stream", l_update_stream},
    {"create_or_update_stream", l_create_or_update_stream},
    {"stream_info", l_stream_info},
    {"delete_stream", l_delete_stream},
    {"purge_stream", l_purge_stream},
    {"stream_names", l_stream_names},
    {"streams", l_streams},
    {"publish", l_publish},
    {"publish_async", l_publish_async},
    {"publish_async_poll", l_publish_async_poll},
    {"publish_async_complete", l_publish_async_complete},
    {"publish_async_wait", l_publish_async_wait},
    {"publish_async_pending", l_publish_async_pending},
    {"create_consumer", l_create_consumer},
    {"update_consumer", l_update_consumer},
    {"create_or_update_consumer", l_create_or_update_consumer},
    {"consumer", l_consumer},
    {"consumer_info", l_consumer_info},
    {"delete_consumer", l_delete_consumer},
    {"pause_consumer", l_pause_consumer},
    {"resume_consumer", l_resume_consumer},
    {"unpin_consumer", l_unpin_consumer},
    {"reset_consumer", l_reset_consumer},
    {"consumer_names", l_consumer_names},
    {"consumers", l_consumers},
    {"close", l_js_close},
    {NULL, NULL},
};

static const luaL_Reg cons_methods[] = {
    {"fetch", l_fetch},
    {"info", l_cons_info},
    {"name", l_cons_name},
    {"stream", l_cons_stream},
    {"close", l_cons_close},
    {NULL, NULL},
};

void ljw_register_type(lua_State *L, const char *name,
                       const luaL_Reg *methods, lua_CFunction gc,
                       lua_CFunction tostring)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
}

void ljw_js_register(lua_State *L)
{
    ljw_register_type(L, LJW_JS, js_methods, l_js_gc, l_js_tostring);
    ljw_register_type(L, LJW_CONSUMER, cons_methods, l_cons_gc,
                      l_cons_tostring);
}
