/*
 * JSON across the ABI, both ways: Lua tables to the JSON the engine takes
 * for configurations (stream, consumer, bucket), and the JSON documents it
 * returns (infos, status, the server's INFO, its tables of configuration
 * fields and of call options) to Lua values. The engine owns the fields,
 * their types and units: nothing here knows a field, only what
 * jw_js_config_fields says is an array.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ljw.h"

static void free_json(void *p)
{
    json_decref(p);
}

static void free_text(void *p)
{
    jw_free(p);
}

static void free_c(void *p)
{
    free(p);
}

/* ------------------------------------------------------------------------
 * Lua tables to JSON
 *
 * A table is an array when it has a sequence part or is marked with
 * jetwire.array (JSON arrays the binding returns are marked, so they go
 * back as arrays); otherwise an object. An empty unmarked table is thus
 * an object ({}: metadata = {} is an empty map), except where the
 * engine's table of fields says the field is an array (type "strings" or
 * "durations": subjects, backoff, filter_subjects, ...): there it is [].
 * jetwire.null is JSON null.
 */

#define LJW_ARRAY_FIELDS "jetwire.config_array_fields"

/* Add the array fields of the engine's field list fl (a JSON array) to
 * the set at set_idx, under path prefix. */
static void add_array_fields(lua_State *L, int set_idx, json_t *fl,
                             const char *prefix)
{
    size_t i;
    json_t *f;
    json_array_foreach(fl, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *type = json_string_value(json_object_get(f, "type"));
        if (!name || !type)
            continue;
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "",
                 name);
        if (strcmp(type, "strings") == 0 || strcmp(type, "durations") == 0) {
            lua_pushboolean(L, 1);
            lua_setfield(L, set_idx, path);
        }
        json_t *members = json_object_get(f, "fields");
        if (json_is_array(members))
            add_array_fields(L, set_idx, members, path);
    }
}

/* Push the set of the array fields ("a", "a.b" inside objects) of the
 * engine's configurations of kind, read once from jw_js_config_fields. */
static void push_array_fields(lua_State *L, const char *kind)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, LJW_ARRAY_FIELDS) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, LJW_ARRAY_FIELDS);
    }
    if (lua_getfield(L, -1, kind) == LUA_TTABLE) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    lua_newtable(L);
    char *text = NULL;
    if (jw_js_config_fields(kind, &text) == JW_OK) {
        json_t *fl = json_loads(text, 0, NULL);
        jw_free(text);
        if (json_is_array(fl))
            add_array_fields(L, lua_gettop(L), fl, "");
        json_decref(fl);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, kind);
    lua_remove(L, -2);
}

typedef struct encoder {
    lua_State *L;
    int arg;     /* the argument errors name */
    int arrays;  /* stack index of the engine's array fields of the kind */
    char path[256]; /* the field being encoded, "a.b" inside objects */
    int in_array;   /* inside an array: no field path */
    /* jetwire.json.encode: any value, floats stay floats (1.0 is 1.0, not
     * 1), and the digits the floats need to read back the same. */
    int plain;
    int real_digits;
} encoder;

/* What errors call the value: "configuration" or "JSON". */
#define WHAT(e) ((e)->plain ? "JSON" : "configuration")

static json_t *encode(encoder *e, int idx, int depth);

static json_t *encode_number(encoder *e, int idx)
{
    lua_State *L = e->L;
    if (lua_isinteger(L, idx))
        return json_integer(lua_tointeger(L, idx));
    double v = lua_tonumber(L, idx);
    if (!isfinite(v))
        luaL_argerror(L, e->arg,
                      lua_pushfstring(L, "%s numbers must be finite",
                                      WHAT(e)));
    if (!e->plain && v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    if (e->plain) {
        /* The fewest digits (15 to 17) that read back as the same float;
         * the text is written with the most any float of it needs. */
        int digits = 15;
        char text[40];
        for (; digits < 17; digits++) {
            snprintf(text, sizeof text, "%.*g", digits, v);
            if (strtod(text, NULL) == v)
                break;
        }
        if (digits > e->real_digits)
            e->real_digits = digits;
    }
    return json_real(v);
}

/* Whether the engine's table says the field being encoded is an array. */
static int array_field(encoder *e)
{
    if (e->in_array || !e->path[0] || !e->arrays)
        return 0;
    int t = lua_getfield(e->L, e->arrays, e->path);
    lua_pop(e->L, 1);
    return t != LUA_TNIL;
}

static json_t *encode_table(encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    if (depth > (e->plain ? 32 : 16))
        luaL_argerror(L, e->arg,
                      lua_pushfstring(L, "%s nested too deeply (a cycle?)",
                                      WHAT(e)));
    luaL_checkstack(L, 6, "jetwire: JSON");
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    int as_array = n > 0;
    if (!as_array) {
        lua_pushcfunction(L, ljw_is_array);
        lua_pushvalue(L, idx);
        lua_call(L, 1, 1);
        as_array = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    if (!as_array) {
        lua_pushnil(L);
        if (lua_next(L, idx))
            lua_pop(L, 2); /* not empty: an object */
        else
            as_array = array_field(e);
    }
    json_t *out = as_array ? json_array() : json_object();
    void **slot = ljw_box_new(L, free_json); /* until handed to the parent */
    *slot = out;
    if (!out)
        luaL_error(L, "out of memory");
    size_t base = strlen(e->path);
    int was_in_array = e->in_array;
    if (as_array) {
        e->in_array = 1;
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            json_array_append_new(out, encode(e, lua_gettop(L), depth + 1));
            lua_pop(L, 1);
        }
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
                lua_tointeger(L, -1) > n)
                luaL_argerror(L, e->arg, "array with non-sequence keys");
        }
    } else {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_argerror(L, e->arg,
                              lua_pushfstring(L, "%s keys must be strings",
                                              WHAT(e)));
            size_t klen;
            const char *key = lua_tolstring(L, -2, &klen);
            if (strlen(key) != klen)
                luaL_argerror(L, e->arg,
                              lua_pushfstring(L,
                                              "%s keys must not contain NUL",
                                              WHAT(e)));
            snprintf(e->path + base, sizeof e->path - base, "%s%s",
                     base ? "." : "", key);
            if (json_object_set_new(out, key,
                                    encode(e, lua_gettop(L), depth + 1)))
                luaL_argerror(L, e->arg,
                              lua_pushfstring(L, "%s keys must be UTF-8",
                                              WHAT(e)));
            e->path[base] = 0;
            lua_pop(L, 1);
        }
    }
    e->in_array = was_in_array;
    *slot = NULL;
    lua_pop(L, 1);
    return out;
}

static json_t *encode(encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        return encode_number(e, idx);
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        json_t *j = json_stringn(s, len);
        if (!j)
            luaL_argerror(L, e->arg,
                          lua_pushfstring(L, "%s strings must be UTF-8",
                                          WHAT(e)));
        return j;
    }
    case LUA_TTABLE:
        return encode_table(e, idx, depth);
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) /* jetwire.null */
            return json_null();
        /* fall through */
    default:
        luaL_argerror(L, e->arg,
                      lua_pushfstring(L, "a %s cannot be in %s",
                                      luaL_typename(L, idx),
                                      e->plain ? "JSON" : "a configuration"));
        return NULL;
    }
}

/* The table at idx as JSON text, kept alive by a box pushed on the stack;
 * kind ("stream", "consumer", "bucket") names the engine's fields that are
 * arrays, and for "consumer" `durable` stands for durable_name. Errors
 * name argument idx. */
const char *ljw_config_json(lua_State *L, int idx, const char *kind)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    idx = lua_absindex(L, idx);
    encoder e = {L, idx, 0, "", 0, 0, 0};
    if (kind)
        push_array_fields(L, kind);
    else
        lua_newtable(L); /* no field is an array by the engine's word */
    e.arrays = lua_gettop(L);
    void **jslot = ljw_box_new(L, free_json);
    *jslot = encode_table(&e, idx, 0);
    json_t *cfg = *jslot;
    json_t *durable = json_object_get(cfg, "durable");
    if (durable && kind && strcmp(kind, "consumer") == 0) {
        if (json_object_get(cfg, "durable_name"))
            luaL_argerror(L, idx, "durable and durable_name both given");
        json_object_set(cfg, "durable_name", durable);
        json_object_del(cfg, "durable");
    }
    void **tslot = ljw_box_new(L, free_c);
    *tslot = json_dumps(cfg, JSON_COMPACT);
    if (!*tslot)
        luaL_error(L, "out of memory");
    ljw_box_forget(jslot);
    lua_remove(L, -2); /* the JSON's box: released */
    lua_remove(L, -2); /* the array fields */
    return *tslot;
}

/* ------------------------------------------------------------------------
 * JSON text to Lua values (the server's INFO, the engine's documents):
 * arrays come back marked with jetwire.array, null is jetwire.null
 */

static void push_json(lua_State *L, json_t *j, int arrays)
{
    luaL_checkstack(L, 4, "jetwire: JSON");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *value;
        lua_createtable(L, 0, (int)json_object_size(j));
        json_object_foreach(j, key, value)
        {
            push_json(L, value, arrays);
            lua_setfield(L, -2, key);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *value;
        lua_createtable(L, (int)json_array_size(j), 0);
        json_array_foreach(j, i, value)
        {
            push_json(L, value, arrays);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_pushvalue(L, -1);
        lua_pushboolean(L, 1);
        lua_rawset(L, arrays);
        break;
    }
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(j));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(j));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        lua_pushboolean(L, json_is_true(j));
        break;
    default:
        lua_pushlightuserdata(L, NULL);
        break;
    }
}

/* Push the JSON text of len bytes as Lua values; nil, err (code, message
 * prefix) when it does not parse. */
static int push_json_text(lua_State *L, const char *text, size_t len,
                          jw_status code, int flags, const char *prefix)
{
    lua_getfield(L, LUA_REGISTRYINDEX, LJW_ARRAYS);
    int arrays = lua_gettop(L);
    void **slot = ljw_box_new(L, free_json);
    json_error_t error;
    *slot = json_loadb(text, len, JSON_DECODE_ANY | flags, &error);
    if (!*slot && prefix) {
        lua_pop(L, 2);
        return ljw_fail_msg(L, code,
                            lua_pushfstring(L,
                                            "%s at line %d, column %d: %s",
                                            prefix, error.line,
                                            error.column, error.text));
    }
    if (!*slot) {
        lua_pop(L, 2);
        return ljw_fail_msg(L, code, error.text);
    }
    push_json(L, *slot, arrays);
    ljw_box_forget(slot);
    lua_replace(L, arrays);
    lua_pop(L, 1);
    return 1;
}

int ljw_push_json(lua_State *L, const char *text)
{
    return push_json_text(L, text, strlen(text), JW_EPROTOCOL, 0, NULL);
}

/* ------------------------------------------------------------------------
 * jetwire.json: the same conversions for the program's own JSON
 */

/* jetwire.json.encode(value) -> text. Tables as above (arrays: a
 * sequence, or jetwire.array; {} is an object), jetwire.null is null,
 * integers stay integers and floats floats; keys sorted, no spaces.
 * Anything JSON cannot hold raises. */
static int l_json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    ljw_json_encode(L, 1);
    return 1;
}

void ljw_json_encode(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    encoder e = {L, idx, 0, "", 0, 1, 0};
    void **jslot = ljw_box_new(L, free_json);
    *jslot = encode(&e, idx, 0);
    size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                   JSON_REAL_PRECISION(e.real_digits ? e.real_digits : 17);
    void **tslot = ljw_box_new(L, free_c);
    *tslot = json_dumps(*jslot, flags);
    if (!*tslot)
        luaL_error(L, "out of memory");
    lua_pushstring(L, *tslot);
    ljw_box_forget(tslot);
    ljw_box_forget(jslot);
    lua_replace(L, -3); /* the string in the place of the first box */
    lua_pop(L, 1);
}

/* jetwire.json.decode(text) -> value | nil, err (INVALID_ARG naming the
 * line and column). Arrays come back marked with jetwire.array (so they
 * encode back as arrays, also empty), null as jetwire.null, numbers
 * without a fraction or exponent as integers. */
static int l_json_decode(lua_State *L)
{
    size_t len;
    const char *text = ljw_check_string(L, 1, &len);
    return push_json_text(L, text, len, JW_EINVAL, JSON_ALLOW_NUL,
                          "invalid JSON");
}

void ljw_json_functions(lua_State *L)
{
    static const luaL_Reg json_functions[] = {
        {"encode", l_json_encode},
        {"decode", l_json_decode},
        {NULL, NULL},
    };
    luaL_newlib(L, json_functions);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    lua_setfield(L, -2, "json");
}

/* ------------------------------------------------------------------------
 * JSON results
 */

/* Push the engine's JSON text (released here) as Lua values: its
 * durations are already in seconds. Returns the count of values pushed. */
int ljw_push_result(lua_State *L, char *text)
{
    void **slot = ljw_box_new(L, free_text);
    *slot = text;
    int n = ljw_push_json(L, text);
    ljw_box_forget(slot);
    lua_remove(L, -1 - n);
    return n;
}

/* jetwire.config_fields(kind) -> the engine's table of fields: an array
 * of {name =, type =, since = (a version, or jetwire.null: every server),
 * fields = (of an object with fields of its own)} | nil, err */
int ljw_config_fields(lua_State *L)
{
    size_t len;
    const char *kind = ljw_check_string(L, 1, &len);
    if (ljw_has_nul(kind, len))
        return ljw_fail_msg(L, JW_EINVAL,
                            "configuration kind contains NUL");
    char *text = NULL;
    jw_status st = jw_js_config_fields(kind, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

/* jetwire.call_options(call) -> the engine's table of the options of a
 * call: an array of {name =, type = ("string", "integer", "boolean",
 * "duration": seconds here), since = (a version, or jetwire.null: every
 * server), doc =} | nil, err */
int ljw_call_options(lua_State *L)
{
    size_t len;
    const char *call = ljw_check_string(L, 1, &len);
    if (ljw_has_nul(call, len))
        return ljw_fail_msg(L, JW_EINVAL, "call name contains NUL");
    char *text = NULL;
    jw_status st = jw_call_opts_fields(call, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}
