/*
 * Object store (ADR-20): the bucket methods of JetStream contexts
 * (js:create_object_store, js:object_store, ...), buckets
 * (jetwire.ObjectStore), readers (jetwire.ObjectReader) and watchers
 * (jetwire.ObjectWatcher), each wrapping the engine's object store API one
 * to one. Infos and statuses are the engine's JSON as tables.
 *
 * Buckets, readers and watchers pin their connection (ljw.h) and free
 * only their own engine handle: a jw_obs keeps its jw_js, a reader and a
 * watcher their jw_obs alive in the engine, so they may be closed or
 * collected in any order.
 */
#include <stdlib.h>
#include <string.h>

#include "ljw.h"

#define LJW_OBS         "jetwire.ObjectStore"
#define LJW_OBS_READER  "jetwire.ObjectReader"
#define LJW_OBS_WATCHER "jetwire.ObjectWatcher"

/* Bytes asked of the engine per read when the whole rest is wanted, and
 * of a file handle per read in a streamed put. */
#define READ_PIECE 65536

typedef struct ljw_obs {
    jw_obs *obs; /* NULL once closed */
    /* Streamed puts under way: a reader function may close the handle
     * meanwhile, which then leaves the engine handle to the last put. */
    int puts;
    jw_obs *closed;
} ljw_obs;

typedef struct ljw_obs_reader {
    jw_obs_reader *r; /* NULL once closed */
} ljw_obs_reader;

typedef struct ljw_obs_watcher {
    jw_obs_watcher *w; /* NULL once stopped */
} ljw_obs_watcher;

static int bad_name(lua_State *L, const char *what)
{
    return ljw_fail_msg(L, JW_EINVAL,
                        lua_pushfstring(L, "%s contains NUL", what));
}

static int js_released(lua_State *L)
{
    return ljw_fail_msg(L, JW_EINVAL, "JetStream context was released");
}

static int obs_closed(lua_State *L)
{
    return ljw_fail_msg(L, JW_EINVAL, "object store handle was closed");
}

/* A name argument without NUL bytes, or NULL after pushing nil, err. */
static const char *name_arg(lua_State *L, int arg, const char *what)
{
    size_t len;
    const char *name = ljw_check_string(L, arg, &len);
    if (ljw_has_nul(name, len)) {
        bad_name(L, what);
        return NULL;
    }
    return name;
}

/* ------------------------------------------------------------------------
 * Bucket management: methods of jetwire.JetStream
 */

static ljw_obs *new_obs(lua_State *L, int js_idx)
{
    js_idx = lua_absindex(L, js_idx);
    ljw_obs *o = lua_newuserdatauv(L, sizeof(*o), 1);
    o->obs = NULL;
    o->puts = 0;
    o->closed = NULL;
    luaL_setmetatable(L, LJW_OBS);
    ljw_pin_conn(L, js_idx);
    return o;
}

typedef jw_status (*obs_cfg_fn)(jw_js *, const char *, jw_obs **);

static int bucket_config_call(lua_State *L, obs_cfg_fn fn)
{
    ljw_js *j = ljw_check_js(L, 1);
    lua_settop(L, 2);
    /* The engine checks the fields (names, types, server versions). */
    const char *cfg = ljw_config_json(L, 2, "object_store");
    if (!j->js)
        return js_released(L);
    ljw_obs *o = new_obs(L, 1);
    jw_status st = fn(j->js, cfg, &o->obs);
    return st == JW_OK ? 1 : ljw_fail(L, st);
}

/* js:create_object_store(cfg) -> a bucket; fails when it exists otherwise */
static int l_create_object_store(lua_State *L)
{
    return bucket_config_call(L, jw_js_obs_create);
}

static int l_update_object_store(lua_State *L)
{
    return bucket_config_call(L, jw_js_obs_update);
}

static int l_create_or_update_object_store(lua_State *L)
{
    return bucket_config_call(L, jw_js_obs_create_or_update);
}

/* js:object_store(bucket) -> a handle on an existing bucket */
static int l_object_store(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *bucket = name_arg(L, 2, "bucket name");
    if (!bucket)
        return 2;
    if (!j->js)
        return js_released(L);
    ljw_obs *o = new_obs(L, 1);
    jw_status st = jw_js_obs_get(j->js, bucket, &o->obs);
    return st == JW_OK ? 1 : ljw_fail(L, st);
}

static int l_delete_object_store(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    const char *bucket = name_arg(L, 2, "bucket name");
    if (!bucket)
        return 2;
    if (!j->js)
        return js_released(L);
    return ljw_ok_or_fail(L, jw_js_obs_delete(j->js, bucket));
}

typedef jw_status (*js_list_fn)(jw_js *, char **);

static int js_list_call(lua_State *L, js_list_fn fn)
{
    ljw_js *j = ljw_check_js(L, 1);
    if (!j->js)
        return js_released(L);
    char *text = NULL;
    jw_status st = fn(j->js, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

/* js:object_store_names() -> every bucket's name */
static int l_object_store_names(lua_State *L)
{
    return js_list_call(L, jw_js_obs_names);
}

/* js:object_stores() -> every bucket's status */
static int l_object_stores(lua_State *L)
{
    return js_list_call(L, jw_js_obs_list);
}

/* ------------------------------------------------------------------------
 * Buckets
 */

static ljw_obs *check_obs(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_OBS);
}

static int l_obs_gc(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    jw_obs *obs = o->obs;
    o->obs = NULL;
    if (o->puts > 0 && obs)
        o->closed = obs; /* freed when the last put returns */
    else
        jw_obs_free(obs);
    return 0;
}

static int l_obs_close(lua_State *L)
{
    l_obs_gc(L);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_obs_tostring(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    if (!o->obs)
        lua_pushliteral(L, "jetwire.ObjectStore (closed)");
    else
        lua_pushfstring(L, "jetwire.ObjectStore (%s)", jw_obs_bucket(o->obs));
    return 1;
}

static int l_obs_bucket(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    if (!o->obs)
        return obs_closed(L);
    lua_pushstring(L, jw_obs_bucket(o->obs));
    return 1;
}

/* obs:status() -> the engine's status document */
static int l_obs_status(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    if (!o->obs)
        return obs_closed(L);
    char *text = NULL;
    jw_status st = jw_obs_status(o->obs, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

static int l_obs_seal(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    if (!o->obs)
        return obs_closed(L);
    return ljw_ok_or_fail(L, jw_obs_seal(o->obs));
}

/* The result of a call giving an info (or NULL: true). */
static int info_result(lua_State *L, jw_status st, char *info)
{
    if (st != JW_OK) {
        jw_free(info);
        return ljw_fail(L, st);
    }
    if (!info) {
        lua_pushboolean(L, 1);
        return 1;
    }
    return ljw_push_result(L, info);
}

/* Push the meta of a put or an update as JSON text (left on the stack):
 * the name string at arg, or the table there, whose chunk_size (for a
 * put) becomes options.max_chunk_size; the engine checks the rest. */
static const char *meta_json(lua_State *L, int arg, int put)
{
    arg = lua_absindex(L, arg);
    if (lua_type(L, arg) == LUA_TSTRING && put) {
        lua_createtable(L, 0, 1);
        lua_pushvalue(L, arg);
        lua_setfield(L, -2, "name");
    } else {
        luaL_checktype(L, arg, LUA_TTABLE);
        lua_createtable(L, 0, 5);
        lua_pushnil(L);
        while (lua_next(L, arg)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_argerror(L, arg, "meta keys must be strings");
            const char *key = lua_tostring(L, -2);
            if (put && strcmp(key, "chunk_size") == 0) {
                lua_createtable(L, 0, 1);
                lua_insert(L, -2);
                lua_setfield(L, -2, "max_chunk_size");
                lua_setfield(L, -3, "options");
            } else {
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_settable(L, -4);
            }
        }
    }
    ljw_json_encode(L, -1);
    lua_remove(L, -2);
    return lua_tostring(L, -1);
}

/* A streamed put's source: the function at fn_idx called with the
 * values at self_idx (a file handle, or 0: none) and cap (a file's read
 * size), each string it returns kept at str_idx until handed out. */
typedef struct put_source {
    lua_State *L;
    int fn_idx, self_idx, str_idx;
    size_t pos;
    int failed; /* 1: raised (the error at str_idx); 2: nil, err there */
} put_source;

static long source_read(void *arg, void *buf, size_t cap)
{
    put_source *s = arg;
    lua_State *L = s->L;
    size_t len = 0;
    const char *str = lua_tolstring(L, s->str_idx, &len);
    while (!str || s->pos >= len) {
        if (!lua_checkstack(L, 4))
            return -1;
        lua_pushvalue(L, s->fn_idx);
        int nargs = 0;
        if (s->self_idx) {
            lua_pushvalue(L, s->self_idx);
            lua_pushinteger(L, READ_PIECE);
            nargs = 2;
        }
        if (lua_pcall(L, nargs, 2, 0) != LUA_OK) {
            lua_replace(L, s->str_idx);
            s->failed = 1;
            return -1;
        }
        if (lua_isnil(L, -2)) {
            if (!lua_isnil(L, -1)) { /* nil, err: a read that failed */
                lua_replace(L, s->str_idx);
                lua_pop(L, 1);
                s->failed = 2;
                return -1;
            }
            lua_pop(L, 2);
            return 0; /* the end */
        }
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pushfstring(L, "the reader gave a %s, not a string",
                            luaL_typename(L, -1));
            lua_replace(L, s->str_idx);
            lua_pop(L, 1);
            s->failed = 1;
            return -1;
        }
        lua_replace(L, s->str_idx);
        s->pos = 0;
        str = lua_tolstring(L, s->str_idx, &len);
    }
    size_t n = len - s->pos < cap ? len - s->pos : cap;
    memcpy(buf, str + s->pos, n);
    s->pos += n;
    return (long)n;
}

/* obs:put(name | meta, data) -> info | nil, err. data: a string, a file
 * handle (read in pieces) or a function giving strings and nil at the
 * end; an error it raises comes out of put, raised again; nil, err from
 * it makes put return nil, err (IO). */
static int l_obs_put(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    lua_settop(L, 3);
    if (lua_type(L, 2) != LUA_TSTRING && !lua_istable(L, 2))
        luaL_typeerror(L, 2, "name or meta table");
    int kind = lua_type(L, 3);
    int file = luaL_testudata(L, 3, LUA_FILEHANDLE) != NULL;
    if (kind != LUA_TSTRING && kind != LUA_TFUNCTION && !file)
        luaL_typeerror(L, 3, "string, file or reader function");
    const char *meta = meta_json(L, 2, 1); /* 4 */
    if (!o->obs)
        return obs_closed(L);
    char *info = NULL;
    jw_status st;
    if (kind == LUA_TSTRING) {
        size_t len;
        const char *data = lua_tolstring(L, 3, &len);
        st = jw_obs_put(o->obs, meta, data, len, &info);
    } else {
        put_source s = {L, 3, 0, 0, 0, 0};
        if (file) {
            lua_getfield(L, 3, "read"); /* 5 */
            s.fn_idx = 5;
            s.self_idx = 3;
        }
        lua_pushnil(L);
        s.str_idx = lua_gettop(L);
        o->puts++;
        st = jw_obs_put_stream(o->obs, meta, source_read, &s, &info);
        if (--o->puts == 0 && o->closed) {
            jw_obs_free(o->closed);
            o->closed = NULL;
        }
        if (s.failed == 1) {
            jw_free(info);
            lua_pushvalue(L, s.str_idx);
            return lua_error(L);
        }
        if (s.failed == 2) {
            jw_free(info);
            const char *why = luaL_tolstring(L, s.str_idx, NULL);
            lua_pushnil(L);
            ljw_push_error(L, JW_EIO, why);
            return 2;
        }
    }
    return info_result(L, st, info);
}

static void free_data(void *p)
{
    jw_free(p);
}

/* obs:get(name) -> data, info | nil, err */
static int l_obs_get(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    const char *name = name_arg(L, 2, "object name");
    if (!name)
        return 2;
    if (!o->obs)
        return obs_closed(L);
    void **slot = ljw_box_new(L, free_data);
    void **info_slot = ljw_box_new(L, free_data);
    size_t len = 0;
    char *info = NULL;
    jw_status st = jw_obs_get(o->obs, name, slot, &len, &info);
    *info_slot = info;
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushlstring(L, *slot ? *slot : "", len);
    ljw_box_forget(slot); /* the bytes are Lua's now */
    *info_slot = NULL;    /* ljw_push_result takes the info */
    return 1 + ljw_push_result(L, info);
}

/* obs:info(name [, show_deleted]) -> info | nil, err */
static int l_obs_info(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    const char *name = name_arg(L, 2, "object name");
    int deleted = lua_toboolean(L, 3);
    if (!name)
        return 2;
    if (!o->obs)
        return obs_closed(L);
    char *info = NULL;
    jw_status st = jw_obs_info(o->obs, name, deleted, &info);
    return info_result(L, st, info);
}

/* obs:list([show_deleted]) -> a list of infos (empty for none) */
static int l_obs_list(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    int deleted = lua_toboolean(L, 2);
    if (!o->obs)
        return obs_closed(L);
    char *text = NULL;
    jw_status st = jw_obs_list(o->obs, deleted, &text);
    return info_result(L, st, text);
}

static int l_obs_delete(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    const char *name = name_arg(L, 2, "object name");
    if (!name)
        return 2;
    if (!o->obs)
        return obs_closed(L);
    return ljw_ok_or_fail(L, jw_obs_delete(o->obs, name));
}

/* obs:update_meta(name, {name =, description =, headers =, metadata =})
 * -> true | nil, err */
static int l_obs_update_meta(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    lua_settop(L, 3);
    const char *name = name_arg(L, 2, "object name");
    luaL_checktype(L, 3, LUA_TTABLE);
    if (!name)
        return 2;
    const char *meta = meta_json(L, 3, 0);
    if (!o->obs)
        return obs_closed(L);
    return ljw_ok_or_fail(L, jw_obs_update_meta(o->obs, name, meta));
}

/* obs:add_link(name, target_obs, target_name) -> the link's info;
 * obs:add_bucket_link(name, target_obs) -> the link's info */
static int link_call(lua_State *L, int bucket)
{
    ljw_obs *o = check_obs(L, 1);
    const char *name = name_arg(L, 2, "link name");
    ljw_obs *t = check_obs(L, 3);
    const char *target = NULL;
    if (name && !bucket)
        target = name_arg(L, 4, "target name");
    if (!name || (!bucket && !target))
        return 2;
    if (!o->obs || !t->obs)
        return obs_closed(L);
    char *info = NULL;
    jw_status st = bucket ? jw_obs_add_bucket_link(o->obs, name, t->obs, &info)
                          : jw_obs_add_link(o->obs, name, t->obs, target,
                                            &info);
    return info_result(L, st, info);
}

static int l_obs_add_link(lua_State *L)
{
    return link_call(L, 0);
}

static int l_obs_add_bucket_link(lua_State *L)
{
    return link_call(L, 1);
}

/* ------------------------------------------------------------------------
 * Readers
 */

static ljw_obs_reader *check_reader(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_OBS_READER);
}

/* obs:open(name) -> a reader | nil, err */
static int l_obs_open(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    const char *name = name_arg(L, 2, "object name");
    if (!name)
        return 2;
    if (!o->obs)
        return obs_closed(L);
    ljw_obs_reader *r = lua_newuserdatauv(L, sizeof(*r), 1);
    r->r = NULL;
    luaL_setmetatable(L, LJW_OBS_READER);
    ljw_pin_conn(L, 1);
    jw_status st = jw_obs_open(o->obs, name, &r->r);
    return st == JW_OK ? 1 : ljw_fail(L, st);
}

static int l_reader_gc(lua_State *L)
{
    ljw_obs_reader *r = check_reader(L, 1);
    jw_obs_reader *reader = r->r;
    r->r = NULL;
    jw_obs_reader_free(reader);
    return 0;
}

static int l_reader_close(lua_State *L)
{
    l_reader_gc(L);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_reader_tostring(lua_State *L)
{
    ljw_obs_reader *r = check_reader(L, 1);
    lua_pushstring(L, r->r ? "jetwire.ObjectReader"
                           : "jetwire.ObjectReader (closed)");
    return 1;
}

static int reader_closed(lua_State *L)
{
    return ljw_fail_msg(L, JW_EINVAL, "object reader was closed");
}

/* reader:info() -> the object's info */
static int l_reader_info(lua_State *L)
{
    ljw_obs_reader *r = check_reader(L, 1);
    if (!r->r)
        return reader_closed(L);
    return ljw_push_json(L, jw_obs_reader_info(r->r));
}

typedef struct read_call {
    jw_obs_reader *r;
    char *buf;
    size_t cap, got;
} read_call;

static jw_status read_slice(void *ctx, int64_t ms)
{
    read_call *c = ctx;
    return jw_obs_reader_read(c->r, c->buf, c->cap, ms, &c->got);
}

typedef struct grow_buf {
    char *data;
    size_t len, cap;
} grow_buf;

static void free_grow(void *p)
{
    grow_buf *b = p;
    free(b->data);
    free(b);
}

/* reader:read([n [, timeout = 5]]) -> up to n bytes (all of the rest
 * without n; fewer only at the end, or when a failure or the timeout
 * cuts the read short after some bytes came), nil at the end | nil, err
 * (PROTOCOL: the bytes do not match the object's digest or size) */
static int l_reader_read(lua_State *L)
{
    ljw_obs_reader *r = check_reader(L, 1);
    size_t want = SIZE_MAX;
    if (!lua_isnoneornil(L, 2)) {
        lua_Integer n = luaL_checkinteger(L, 2);
        luaL_argcheck(L, n >= 1, 2, "n must be positive");
        want = (size_t)n;
    }
    int64_t ms = ljw_timeout_ms(L, 3, 5.0);
    if (!r->r)
        return reader_closed(L);
    void **slot = ljw_box_new(L, free_grow);
    grow_buf *b = calloc(1, sizeof(*b));
    if (!b)
        return luaL_error(L, "out of memory");
    *slot = b;
    while (b->len < want) {
        if (b->len == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : READ_PIECE;
            if (want != SIZE_MAX && cap > want)
                cap = want;
            char *p = realloc(b->data, cap);
            if (!p)
                return luaL_error(L, "out of memory");
            b->data = p;
            b->cap = cap;
        }
        read_call c = {r->r, b->data + b->len, b->cap - b->len, 0};
        jw_status st = ljw_wait_sliced(L, ms, read_slice, &c);
        if (st != JW_OK && b->len)
            break; /* the bytes read come first; the engine repeats a
                      failure at the next read, a wait starts again */
        if (st == LJW_INTERRUPTED)
            return ljw_fail_interrupted(L);
        if (st != JW_OK)
            return ljw_fail_waited(L, st, ms);
        if (c.got == 0)
            break; /* the end */
        b->len += c.got;
    }
    if (b->len == 0 && want > 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushlstring(L, b->data, b->len);
    return 1;
}

/* ------------------------------------------------------------------------
 * Watchers
 */

static ljw_obs_watcher *check_watcher(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_OBS_WATCHER);
}

/* obs:watch([opts]) -> a watcher; opts: the engine's "watch" options
 * (include_history, ignore_deletes, updates_only) */
static int l_obs_watch(lua_State *L)
{
    ljw_obs *o = check_obs(L, 1);
    lua_settop(L, 2);
    jw_call_opts **opts = ljw_call_opts(L, 2, "watch", NULL);
    if (!o->obs)
        return obs_closed(L);
    ljw_obs_watcher *w = lua_newuserdatauv(L, sizeof(*w), 1);
    w->w = NULL;
    luaL_setmetatable(L, LJW_OBS_WATCHER);
    ljw_pin_conn(L, 1);
    jw_status st = jw_obs_watch(o->obs, *opts, &w->w);
    return st == JW_OK ? 1 : ljw_fail(L, st);
}

static int l_watcher_gc(lua_State *L)
{
    ljw_obs_watcher *w = check_watcher(L, 1);
    jw_obs_watcher *watcher = w->w;
    w->w = NULL;
    jw_obs_watcher_free(watcher);
    return 0;
}

static int l_watcher_stop(lua_State *L)
{
    l_watcher_gc(L);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_watcher_tostring(lua_State *L)
{
    ljw_obs_watcher *w = check_watcher(L, 1);
    lua_pushstring(L, w->w ? "jetwire.ObjectWatcher"
                           : "jetwire.ObjectWatcher (stopped)");
    return 1;
}

typedef struct watch_next_call {
    jw_obs_watcher *w;
    char *info;
} watch_next_call;

static jw_status watch_slice(void *ctx, int64_t ms)
{
    watch_next_call *c = ctx;
    return jw_obs_watcher_next(c->w, ms, &c->info);
}

/* w:next([timeout = 1]) -> info | false (once: the initial infos are all
 * out) | nil, err (TIMEOUT, ...) */
static int l_watcher_next(lua_State *L)
{
    ljw_obs_watcher *w = check_watcher(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, 1.0);
    if (!w->w)
        return ljw_fail_msg(L, JW_EINVAL, "watcher was stopped");
    watch_next_call call = {w->w, NULL};
    jw_status st = ljw_wait_sliced(L, ms, watch_slice, &call);
    if (st == LJW_INTERRUPTED)
        return ljw_fail_interrupted(L);
    if (st != JW_OK)
        return ljw_fail_waited(L, st, ms);
    if (!call.info) {
        lua_pushboolean(L, 0);
        return 1;
    }
    return ljw_push_result(L, call.info);
}

/* ------------------------------------------------------------------------
 * Registration
 */

static const luaL_Reg js_obs_methods[] = {
    {"create_object_store", l_create_object_store},
    {"update_object_store", l_update_object_store},
    {"create_or_update_object_store", l_create_or_update_object_store},
    {"object_store", l_object_store},
    {"delete_object_store", l_delete_object_store},
    {"object_store_names", l_object_store_names},
    {"object_stores", l_object_stores},
    {NULL, NULL},
};

static const luaL_Reg obs_methods[] = {
    {"bucket", l_obs_bucket},
    {"put", l_obs_put},
    {"get", l_obs_get},
    {"open", l_obs_open},
    {"info", l_obs_info},
    {"list", l_obs_list},
    {"delete", l_obs_delete},
    {"update_meta", l_obs_update_meta},
    {"add_link", l_obs_add_link},
    {"add_bucket_link", l_obs_add_bucket_link},
    {"watch", l_obs_watch},
    {"status", l_obs_status},
    {"seal", l_obs_seal},
    {"close", l_obs_close},
    {NULL, NULL},
};

static const luaL_Reg reader_methods[] = {
    {"read", l_reader_read},
    {"info", l_reader_info},
    {"close", l_reader_close},
    {NULL, NULL},
};

static const luaL_Reg watcher_methods[] = {
    {"next", l_watcher_next},
    {"stop", l_watcher_stop},
    {"close", l_watcher_stop},
    {NULL, NULL},
};

void ljw_obs_register(lua_State *L)
{
    ljw_register_type(L, LJW_OBS, obs_methods, l_obs_gc, l_obs_tostring);
    ljw_register_type(L, LJW_OBS_READER, reader_methods, l_reader_gc,
                      l_reader_tostring);
    ljw_register_type(L, LJW_OBS_WATCHER, watcher_methods, l_watcher_gc,
                      l_watcher_tostring);
    luaL_getmetatable(L, LJW_JS);
    lua_getfield(L, -1, "__index");
    luaL_setfuncs(L, js_obs_methods, 0);
    lua_pop(L, 2);
}
