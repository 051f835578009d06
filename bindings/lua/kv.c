/*
 * Key-Value store: the bucket methods of JetStream contexts
 * (js:create_key_value, js:key_value, ...), buckets (jetwire.KeyValue) and
 * watchers (jetwire.KeyValueWatcher), each wrapping the engine's KV API one
 * to one. Entries are plain tables, so they outlive everything else.
 *
 * Buckets, watchers and key listers pin their connection (ljw.h) and
 * free only their own engine handle: a jw_kv keeps its jw_js, a watcher
 * and a lister their jw_kv alive in the engine, so a context or a bucket
 * may be closed or collected while something made through it is in use.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ljw.h"

#define LJW_KV         "jetwire.KeyValue"
#define LJW_KV_WATCHER "jetwire.KeyValueWatcher"
#define LJW_KV_LISTER  "jetwire.KeyLister"

typedef struct ljw_kv {
    jw_kv *kv; /* NULL once closed */
} ljw_kv;

typedef struct ljw_watcher {
    jw_kv_watcher *w; /* NULL once stopped */
} ljw_watcher;

typedef struct ljw_lister {
    jw_kv_lister *l; /* NULL once done or closed */
} ljw_lister;

static int bad_name(lua_State *L, const char *what)
{
    return ljw_fail_msg(L, JW_EINVAL,
                        lua_pushfstring(L, "%s contains NUL", what));
}

/* An optional revision argument: 0 when absent; min is its least value. */
static uint64_t revision_arg(lua_State *L, int arg, lua_Integer min)
{
    if (lua_isnoneornil(L, arg))
        return 0;
    lua_Integer rev = luaL_checkinteger(L, arg);
    luaL_argcheck(L, rev >= min, arg,
                  min ? "revision must be positive"
                      : "revision must not be negative");
    return (uint64_t)rev;
}

/* ------------------------------------------------------------------------
 * Entries
 */

static void push_entry(lua_State *L, const jw_kv_entry *e)
{
    lua_createtable(L, 0, 8);
    lua_pushstring(L, jw_kv_entry_bucket(e));
    lua_setfield(L, -2, "bucket");
    lua_pushstring(L, jw_kv_entry_key(e));
    lua_setfield(L, -2, "key");
    size_t len = 0;
    const char *value = jw_kv_entry_value(e, &len);
    lua_pushlstring(L, value ? value : "", len);
    lua_setfield(L, -2, "value");
    lua_pushinteger(L, (lua_Integer)jw_kv_entry_revision(e));
    lua_setfield(L, -2, "revision");
    int64_t created = jw_kv_entry_created(e);
    lua_pushnumber(L, (lua_Number)created / 1e9);
    lua_setfield(L, -2, "created");
    lua_pushinteger(L, (lua_Integer)created);
    lua_setfield(L, -2, "created_ns");
    lua_pushinteger(L, (lua_Integer)jw_kv_entry_delta(e));
    lua_setfield(L, -2, "delta");
    /* The engine's name: "PUT", "DEL" or "PURGE". */
    lua_pushstring(L, jw_kv_op_name(jw_kv_entry_operation(e)));
    lua_setfield(L, -2, "operation");
}

static void free_entry(void *p)
{
    jw_kv_entry_free(p);
}

/* Push the entry (freed here) as a table. */
static int entry_result(lua_State *L, jw_kv_entry *e)
{
    void **slot = ljw_box_new(L, free_entry);
    *slot = e;
    push_entry(L, e);
    ljw_box_forget(slot);
    lua_remove(L, -2);
    return 1;
}

typedef struct entry_list {
    jw_kv_entry **items;
    size_t count;
} entry_list;

static void free_entry_list(void *p)
{
    entry_list *l = p;
    jw_kv_entries_free(l->items, l->count);
    free(l);
}

/* ------------------------------------------------------------------------
 * Bucket management: methods of jetwire.JetStream
 */

static int js_released(lua_State *L)
{
    return ljw_fail_msg(L, JW_EINVAL, "JetStream context was released");
}

/* Push a bucket handle pinning the connection of the context at js_idx. */
static ljw_kv *new_kv(lua_State *L, int js_idx)
{
    js_idx = lua_absindex(L, js_idx);
    ljw_kv *k = lua_newuserdatauv(L, sizeof(*k), 1);
    k->kv = NULL;
    luaL_setmetatable(L, LJW_KV);
    ljw_pin_conn(L, js_idx);
    return k;
}

/* The bucket handle on the stack's top, or nil, err. */
static int kv_result(lua_State *L, jw_status st)
{
    return st == JW_OK ? 1 : ljw_fail(L, st);
}

typedef jw_status (*kv_cfg_fn)(jw_js *, const char *, jw_kv **);

static int bucket_config_call(lua_State *L, kv_cfg_fn fn)
{
    ljw_js *j = ljw_check_js(L, 1);
    lua_settop(L, 2);
    /* The engine checks the fields (names, types, server versions). */
    const char *cfg = ljw_config_json(L, 2, "bucket");
    if (!j->js)
        return js_released(L);
    ljw_kv *k = new_kv(L, 1);
    return kv_result(L, fn(j->js, cfg, &k->kv));
}

/* js:create_key_value(cfg) -> a bucket; fails when it exists otherwise */
static int l_create_key_value(lua_State *L)
{
    return bucket_config_call(L, jw_js_kv_create);
}

static int l_update_key_value(lua_State *L)
{
    return bucket_config_call(L, jw_js_kv_update);
}

static int l_create_or_update_key_value(lua_State *L)
{
    return bucket_config_call(L, jw_js_kv_create_or_update);
}

/* js:key_value(bucket) -> a handle on an existing bucket */
static int l_key_value(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    size_t len;
    const char *bucket = ljw_check_string(L, 2, &len);
    if (ljw_has_nul(bucket, len))
        return bad_name(L, "bucket name");
    if (!j->js)
        return js_released(L);
    ljw_kv *k = new_kv(L, 1);
    return kv_result(L, jw_js_kv(j->js, bucket, &k->kv));
}

static int l_delete_key_value(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    size_t len;
    const char *bucket = ljw_check_string(L, 2, &len);
    if (ljw_has_nul(bucket, len))
        return bad_name(L, "bucket name");
    if (!j->js)
        return js_released(L);
    return ljw_ok_or_fail(L, jw_js_kv_delete(j->js, bucket));
}

/* js:key_value_names() -> every bucket's name */
static int l_key_value_names(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    if (!j->js)
        return js_released(L);
    char *text = NULL;
    jw_status st = jw_js_kv_names(j->js, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

/* js:key_value_stores() -> every bucket's status (as kv:status()) */
static int l_key_value_stores(lua_State *L)
{
    ljw_js *j = ljw_check_js(L, 1);
    if (!j->js)
        return js_released(L);
    char *text = NULL;
    jw_status st = jw_js_kv_statuses(j->js, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

/* ------------------------------------------------------------------------
 * Buckets
 */

static ljw_kv *check_kv(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_KV);
}

static int kv_closed(lua_State *L)
{
    return ljw_fail_msg(L, JW_EINVAL, "bucket handle was closed");
}

static int l_kv_gc(lua_State *L)
{
    ljw_kv *k = check_kv(L, 1);
    jw_kv *kv = k->kv;
    k->kv = NULL;
    jw_kv_free(kv);
    return 0;
}

static int l_kv_close(lua_State *L)
{
    l_kv_gc(L);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_kv_tostring(lua_State *L)
{
    ljw_kv *k = check_kv(L, 1);
    if (!k->kv)
        lua_pushliteral(L, "jetwire.KeyValue (closed)");
    else
        lua_pushfstring(L, "jetwire.KeyValue (%s)", jw_kv_bucket(k->kv));
    return 1;
}

static int l_kv_bucket(lua_State *L)
{
    ljw_kv *k = check_kv(L, 1);
    if (!k->kv)
        return kv_closed(L);
    lua_pushstring(L, jw_kv_bucket(k->kv));
    return 1;
}

static int revision_result(lua_State *L, jw_status st, uint64_t revision)
{
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushinteger(L, (lua_Integer)revision);
    return 1;
}

enum write_kind { WRITE_PUT, WRITE_CREATE, WRITE_UPDATE };

/* kv:put(key, value), kv:create(key, value), kv:update(key, value, last)
 * -> the new revision */
static int write_call(lua_State *L, enum write_kind kind)
{
    ljw_kv *k = check_kv(L, 1);
    size_t klen, vlen;
    const char *key = ljw_check_string(L, 2, &klen);
    const char *value = ljw_check_string(L, 3, &vlen);
    uint64_t last = 0;
    if (kind == WRITE_UPDATE) {
        luaL_checkinteger(L, 4);
        last = revision_arg(L, 4, 0);
    }
    /* kv:create(key, value [, opts]): the engine's "create" options. */
    lua_settop(L, 4);
    jw_call_opts **opts = kind == WRITE_CREATE
                              ? ljw_call_opts(L, 4, "create", NULL)
                              : NULL;
    if (ljw_has_nul(key, klen))
        return bad_name(L, "key");
    if (!k->kv)
        return kv_closed(L);
    uint64_t revision = 0;
    jw_status st;
    if (kind == WRITE_PUT)
        st = jw_kv_put(k->kv, key, value, vlen, &revision);
    else if (kind == WRITE_CREATE)
        st = jw_kv_create(k->kv, key, value, vlen, *opts, &revision);
    else
        st = jw_kv_update(k->kv, key, value, vlen, last, &revision);
    return revision_result(L, st, revision);
}

static int l_kv_put(lua_State *L)
{
    return write_call(L, WRITE_PUT);
}

static int l_kv_create(lua_State *L)
{
    return write_call(L, WRITE_CREATE);
}

static int l_kv_update(lua_State *L)
{
    return write_call(L, WRITE_UPDATE);
}

/* kv:delete(key [, last]), kv:purge(key [, last] [, opts]) -> true; a
 * purge takes the engine's "purge" options (ttl), after last or in its
 * place. */
static int marker_call(lua_State *L, int purge)
{
    ljw_kv *k = check_kv(L, 1);
    size_t len;
    const char *key = ljw_check_string(L, 2, &len);
    lua_settop(L, 4);
    int opts_at = purge && lua_istable(L, 3) ? 3 : 4;
    uint64_t last = opts_at == 3 ? 0 : revision_arg(L, 3, 0);
    jw_call_opts **opts = purge ? ljw_call_opts(L, opts_at, "purge", NULL)
                                : NULL;
    if (ljw_has_nul(key, len))
        return bad_name(L, "key");
    if (!k->kv)
        return kv_closed(L);
    return ljw_ok_or_fail(L, purge ? jw_kv_purge(k->kv, key, last, *opts)
                                   : jw_kv_delete(k->kv, key, last));
}

static int l_kv_delete(lua_State *L)
{
    return marker_call(L, 0);
}

static int l_kv_purge(lua_State *L)
{
    return marker_call(L, 1);
}

/* kv:purge_deletes([older_than]) -> true. Markers older than older_than
 * seconds go (default 30 minutes; 0 or less: all of them). */
static int l_kv_purge_deletes(lua_State *L)
{
    ljw_kv *k = check_kv(L, 1);
    int64_t ms = 0;
    if (!lua_isnoneornil(L, 2)) {
        if (lua_type(L, 2) != LUA_TNUMBER)
            luaL_typeerror(L, 2, "number of seconds");
        double seconds = lua_tonumber(L, 2);
        luaL_argcheck(L, !isnan(seconds), 2, "older_than is NaN");
        if (seconds <= 0)
            ms = -1;
        else if (seconds > 9e12)
            ms = INT64_MAX / 1000000;
        else
            ms = (int64_t)ceil(seconds * 1000.0);
    }
    if (!k->kv)
        return kv_closed(L);
    return ljw_ok_or_fail(L, jw_kv_purge_deletes(k->kv, ms));
}

/* kv:get(key [, revision | opts]) -> entry | nil, err (KEY_NOT_FOUND,
 * KEY_DELETED). A revision is the engine's "get" option of that name;
 * a table is the "get" options themselves. */
static int l_kv_get(lua_State *L)
{
    ljw_kv *k = check_kv(L, 1);
    size_t len;
    const char *key = ljw_check_string(L, 2, &len);
    lua_settop(L, 3);
    int table = lua_istable(L, 3);
    lua_pushnil(L); /* 4: no options table, when 3 is not one */
    jw_call_opts **opts = ljw_call_opts(L, table ? 3 : 4, "get", NULL);
    if (!table && !lua_isnil(L, 3))
        ljw_call_opt(L, opts, "get", "revision", 3, 3);
    if (ljw_has_nul(key, len))
        return bad_name(L, "key");
    if (!k->kv)
        return kv_closed(L);
    jw_kv_entry *e = NULL;
    jw_status st = jw_kv_get(k->kv, key, *opts, &e);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return entry_result(L, e);
}

/* kv:keys([filter]) -> the live keys (an empty table for none) */
enum { MAX_FILTERS = 16 };

/* Key filters at idx: nil (every key), a string, or a list of strings
 * (several need nats-server 2.10). The strings stay on the stack's
 * table or argument. */
static size_t key_filters(lua_State *L, int idx, const char *what,
                          const char **out)
{
    if (lua_isnoneornil(L, idx))
        return 0;
    size_t len, n = 0;
    if (!lua_istable(L, idx)) {
        out[0] = ljw_check_string(L, idx, &len);
        if (ljw_has_nul(out[0], len))
            luaL_argerror(L, idx, lua_pushfstring(L, "%s contains NUL", what));
        return 1;
    }
    lua_Integer count = luaL_len(L, idx);
    if (count < 1 || count > MAX_FILTERS)
        luaL_argerror(L, idx, lua_pushfstring(L, "1 to %d %s", MAX_FILTERS,
                                              what));
    for (lua_Integer i = 1; i <= count; i++) {
        lua_geti(L, idx, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, idx, lua_pushfstring(L, "%s must be strings",
                                                  what));
        out[n] = lua_tolstring(L, -1, &len);
        if (ljw_has_nul(out[n], len))
            luaL_argerror(L, idx, lua_pushfstring(L, "%s contains NUL", what));
        n++;
        lua_pop(L, 1); /* the table keeps it */
    }
    return n;
}

/* kv:keys([filter]): filter a string or a list of them. */
static int l_kv_keys(lua_State *L)
{
    ljw_kv *k = check_kv(L, 1);
    const char *filters[MAX_FILTERS];
    size_t count = key_filters(L, 2, "filter", filters);
    if (!k->kv)
        return kv_closed(L);
    char *text = NULL;
    jw_status st = jw_kv_keys_multi(k->kv, filters, count, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

/* Raise "CODE: what went wrong" for a failed engine call. */
static int raise_status(lua_State *L, jw_status st)
{
    ljw_fail(L, st);
    return ljw_raise(L);
}

static int l_lister_gc(lua_State *L)
{
    ljw_lister *ls = luaL_checkudata(L, 1, LJW_KV_LISTER);
    jw_kv_lister *l = ls->l;
    ls->l = NULL;
    jw_kv_lister_free(l);
    return 0;
}

static int l_lister_tostring(lua_State *L)
{
    ljw_lister *ls = luaL_checkudata(L, 1, LJW_KV_LISTER);
    lua_pushstring(L, ls->l ? "jetwire.KeyLister" : "jetwire.KeyLister (done)");
    return 1;
}

/* The generic for's step: the next key, nothing at the end; a failure
 * raises (a listing cut short must not look complete). */
static int lister_step(lua_State *L)
{
    ljw_lister *ls = luaL_checkudata(L, 1, LJW_KV_LISTER);
    if (!ls->l)
        return 0;
    const char *key = NULL;
    jw_status st = jw_kv_lister_next(ls->l, &key);
    if (st != JW_OK)
        return raise_status(L, st);
    if (!key) {
        lua_settop(L, 1);
        return l_lister_gc(L); /* every key given: free it now */
    }
    lua_pushstring(L, key);
    return 1;
}

/* for key in kv:list_keys([filter]) do ... end: the live keys one at a
 * time, for buckets too large for kv:keys() (filter a string or a list of
 * them, as there); leaving the loop early closes the listing (the generic
 * for's closing value). Failures raise "CODE: message". */
static int l_kv_list_keys(lua_State *L)
{
    ljw_kv *k = check_kv(L, 1);
    const char *filters[MAX_FILTERS];
    size_t count = 0, len = 0;
    if (lua_istable(L, 2)) {
        count = key_filters(L, 2, "filters", filters);
    } else if (!lua_isnoneornil(L, 2)) {
        filters[0] = ljw_check_string(L, 2, &len);
        count = 1;
        /* An iterator's maker raises: `for` cannot take nil, err. */
        if (ljw_has_nul(filters[0], len))
            return luaL_error(L, "INVALID_ARG: filter contains a NUL byte");
    }
    if (!k->kv)
        return luaL_error(L, "INVALID_ARG: bucket handle was closed");
    lua_pushcfunction(L, lister_step);
    ljw_lister *ls = lua_newuserdatauv(L, sizeof(*ls), 1);
    ls->l = NULL;
    luaL_setmetatable(L, LJW_KV_LISTER);
    ljw_pin_conn(L, 1);
    jw_status st = jw_kv_list_keys_multi(k->kv, count ? filters : NULL,
                                         count, &ls->l);
    if (st != JW_OK)
        return raise_status(L, st);
    lua_pushnil(L);       /* the control variable's start */
    lua_pushvalue(L, -2); /* the closing value: the lister */
    return 4;             /* step, lister (the state), nil, lister */
}

/* Push a list of entries (taken from the box at slot) as a table. */
static int push_entries(lua_State *L, void **slot, entry_list *l)
{
    lua_createtable(L, l->count > INT32_MAX ? 0 : (int)l->count, 0);
    for (size_t i = 0; i < l->count; i++) {
        push_entry(L, l->items[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    ljw_box_forget(slot);
    return 1;
}

/* kv:history(key [, {up_to_revision =, up_to_time =}]) -> every stored
 * entry of the key, oldest first (as it stood then, with options) */
static int l_kv_history(lua_State *L)
{
    ljw_kv *k = check_kv(L, 1);
    size_t len;
    const char *key = ljw_check_string(L, 2, &len);
    lua_settop(L, 3);
    jw_call_opts **opts = ljw_call_opts(L, 3, "history", NULL);
    if (ljw_has_nul(key, len))
        return bad_name(L, "key");
    if (!k->kv)
        return kv_closed(L);
    void **slot = ljw_box_new(L, free_entry_list);
    entry_list *l = calloc(1, sizeof(*l));
    if (!l)
        luaL_error(L, "out of memory");
    *slot = l;
    jw_status st = jw_kv_history(k->kv, key, *opts, &l->items, &l->count);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return push_entries(L, slot, l);
}

static void free_key_list(void *p)
{
    free(p);
}

/* kv:get_many(keys [, {up_to_revision =, up_to_time =}]) -> the latest
 * live entry of each key (a list of keys or filters; nil: every key), in
 * revision order */
static int l_kv_get_many(lua_State *L)
{
    ljw_kv *k = check_kv(L, 1);
    lua_settop(L, 3);
    size_t count = 0;
    if (!lua_isnil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_Integer n = luaL_len(L, 2);
        luaL_argcheck(L, n >= 1, 2, "keys must not be empty");
        count = (size_t)n;
    }
    jw_call_opts **opts = ljw_call_opts(L, 3, "get_many", NULL);
    void **keys_slot = ljw_box_new(L, free_key_list);
    const char **keys = count ? calloc(count, sizeof(*keys)) : NULL;
    if (count && !keys)
        luaL_error(L, "out of memory");
    *keys_slot = keys;
    for (size_t i = 0; i < count; i++) {
        size_t len;
        lua_geti(L, 2, (lua_Integer)i + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, 2, "keys must be strings");
        keys[i] = lua_tolstring(L, -1, &len);
        if (ljw_has_nul(keys[i], len))
            luaL_argerror(L, 2, "keys contain NUL");
        lua_pop(L, 1); /* the table keeps it */
    }
    if (!k->kv)
        return kv_closed(L);
    void **slot = ljw_box_new(L, free_entry_list);
    entry_list *l = calloc(1, sizeof(*l));
    if (!l)
        luaL_error(L, "out of memory");
    *slot = l;
    jw_status st = jw_kv_get_many(k->kv, keys, count, *opts, &l->items,
                                  &l->count);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return push_entries(L, slot, l);
}

/* kv:status() -> {bucket, values, history, ttl (seconds), bytes, ...}:
 * the engine's status document, its durations in the context's seconds */
static int l_kv_status(lua_State *L)
{
    ljw_kv *k = check_kv(L, 1);
    if (!k->kv)
        return kv_closed(L);
    char *text = NULL;
    jw_status st = jw_kv_status(k->kv, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

/* ------------------------------------------------------------------------
 * Watchers
 */

/* The watcher of keys with the engine's "watch" options (the table at
 * opts_arg: include_history, ignore_deletes, meta_only, updates_only). */
static int watch_call(lua_State *L, const char *const *keys, size_t count,
                      int opts_arg)
{
    jw_call_opts **opts = ljw_call_opts(L, opts_arg, "watch", NULL);
    ljw_kv *k = check_kv(L, 1);
    if (!k->kv)
        return kv_closed(L);
    ljw_watcher *w = lua_newuserdatauv(L, sizeof(*w), 1);
    w->w = NULL;
    luaL_setmetatable(L, LJW_KV_WATCHER);
    ljw_pin_conn(L, 1);
    jw_status st = jw_kv_watch_multi(k->kv, keys, count, *opts, &w->w);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return 1;
}

/* kv:watch(keys [, opts]) -> a watcher of a key or a filter ("svc.*",
 * "svc.>"; nil: every key), or of a list of them (2.10) */
static int l_kv_watch(lua_State *L)
{
    check_kv(L, 1);
    lua_settop(L, 3);
    const char *keys[MAX_FILTERS];
    size_t count = key_filters(L, 2, "keys", keys);
    return watch_call(L, keys, count, 3);
}

/* kv:watch_all([opts]) -> a watcher of every key */
static int l_kv_watch_all(lua_State *L)
{
    check_kv(L, 1);
    lua_settop(L, 2);
    return watch_call(L, NULL, 0, 2);
}

static ljw_watcher *check_watcher(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_KV_WATCHER);
}

static int l_watcher_gc(lua_State *L)
{
    ljw_watcher *w = check_watcher(L, 1);
    jw_kv_watcher *watcher = w->w;
    w->w = NULL;
    jw_kv_watcher_free(watcher);
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
    ljw_watcher *w = check_watcher(L, 1);
    lua_pushstring(L, w->w ? "jetwire.KeyValueWatcher"
                           : "jetwire.KeyValueWatcher (stopped)");
    return 1;
}

/* One step of a watcher: pushes an entry or false (the marker) and
 * returns JW_OK, or returns the failure's status (LJW_INTERRUPTED for a
 * signal: the wait goes in slices, ljw.h). */
typedef struct watch_next_call {
    jw_kv_watcher *w;
    jw_kv_entry *e;
} watch_next_call;

static jw_status watch_slice(void *ctx, int64_t ms)
{
    watch_next_call *c = ctx;
    return jw_kv_watch_next(c->w, ms, &c->e);
}

static jw_status watch_step(lua_State *L, ljw_watcher *w, int64_t ms)
{
    watch_next_call call = {w->w, NULL};
    jw_status st = ljw_wait_sliced(L, ms, watch_slice, &call);
    jw_kv_entry *e = call.e;
    if (st != JW_OK)
        return st;
    if (!e)
        lua_pushboolean(L, 0);
    else
        entry_result(L, e);
    return JW_OK;
}

/* w:next([timeout = 1]) -> entry | false (once: the initial values are all
 * out) | nil, err (TIMEOUT, ...) */
static int l_watcher_next(lua_State *L)
{
    ljw_watcher *w = check_watcher(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, 1.0);
    if (!w->w)
        return ljw_fail_msg(L, JW_EINVAL, "watcher was stopped");
    jw_status st = watch_step(L, w, ms);
    if (st == LJW_INTERRUPTED)
        return ljw_fail_interrupted(L);
    return st == JW_OK ? 1 : ljw_fail_waited(L, st, ms);
}

static int entries_step(lua_State *L)
{
    ljw_watcher *w = lua_touserdata(L, lua_upvalueindex(1));
    int64_t ms = lua_tointeger(L, lua_upvalueindex(2));
    lua_settop(L, 0);
    if (!w->w)
        return 0; /* stopped: the loop ends */
    jw_status st = watch_step(L, w, ms);
    if (st == JW_ETIMEOUT || st == LJW_INTERRUPTED)
        return 0; /* nothing within the timeout, or a signal: the end */
    if (st != JW_OK) /* a failure must not look like the end */
        return raise_status(L, st);
    return 1;
}

/* for entry in w:entries([timeout]) do ... end: entries, and false once
 * for the marker, until nothing came within timeout (default: wait
 * forever) or the watcher stopped; a failure (the connection closed, ...)
 * raises "CODE: message". */
static int l_watcher_entries(lua_State *L)
{
    check_watcher(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, -1);
    lua_settop(L, 1);
    lua_pushinteger(L, (lua_Integer)ms);
    lua_pushcclosure(L, entries_step, 2);
    return 1;
}

/* ------------------------------------------------------------------------
 * Registration
 */

static const luaL_Reg js_kv_methods[] = {
    {"create_key_value", l_create_key_value},
    {"update_key_value", l_update_key_value},
    {"create_or_update_key_value", l_create_or_update_key_value},
    {"key_value", l_key_value},
    {"delete_key_value", l_delete_key_value},
    {"key_value_names", l_key_value_names},
    {"key_value_stores", l_key_value_stores},
    {NULL, NULL},
};

static const luaL_Reg kv_methods[] = {
    {"bucket", l_kv_bucket},
    {"put", l_kv_put},
    {"get", l_kv_get},
    {"create", l_kv_create},
    {"update", l_kv_update},
    {"delete", l_kv_delete},
    {"purge", l_kv_purge},
    {"purge_deletes", l_kv_purge_deletes},
    {"keys", l_kv_keys},
    {"list_keys", l_kv_list_keys},
    {"history", l_kv_history},
    {"get_many", l_kv_get_many},
    {"status", l_kv_status},
    {"watch", l_kv_watch},
    {"watch_all", l_kv_watch_all},
    {"close", l_kv_close},
    {NULL, NULL},
};

static const luaL_Reg watcher_methods[] = {
    {"next", l_watcher_next},
    {"entries", l_watcher_entries},
    {"stop", l_watcher_stop},
    {"close", l_watcher_stop},
    {NULL, NULL},
};

void ljw_kv_register(lua_State *L)
{
    ljw_register_type(L, LJW_KV, kv_methods, l_kv_gc, l_kv_tostring);
    ljw_register_type(L, LJW_KV_WATCHER, watcher_methods, l_watcher_gc,
                      l_watcher_tostring);
    static const luaL_Reg lister_methods[] = {{NULL, NULL}};
    ljw_register_type(L, LJW_KV_LISTER, lister_methods, l_lister_gc,
                      l_lister_tostring);
    luaL_getmetatable(L, LJW_JS);
    lua_getfield(L, -1, "__index");
    luaL_setfuncs(L, js_kv_methods, 0);
    lua_pop(L, 2);
}
