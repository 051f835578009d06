/*
 * MessagePack through the engine's codec (so a value packed in Lua unpacks
 * to the same value in C and Python), the markers it needs (jetwire.null,
 * jetwire.array, jetwire.bin). JSON is json.c's.
 *
 * Lua -> MessagePack:
 *   nil, jetwire.null        nil
 *   boolean                  bool
 *   integer (math.type)      int (negative) / uint
 *   float                    float64 (1.0 stays a float)
 *   string                   str when valid UTF-8, else bin
 *   jetwire.bin(s)           bin
 *   table                    array when marked with jetwire.array or when
 *                            its keys are exactly 1..n (n >= 1); otherwise
 *                            a map (so {} is an empty map)
 * MessagePack -> Lua: nil is jetwire.null (so it can sit in a table), str
 * and bin are strings (bin as jetwire.bin with {wrap_bin = true}), arrays
 * come back marked with jetwire.array (an empty one round-trips), maps are
 * plain tables. An integer above 2^63-1, an ext value or a NaN map key
 * cannot be represented: unpack returns nil, err (INVALID_ARG).
 */
#include "ljw.h"

#include <math.h>
#include <string.h>

/* Containers nested deeper than the engine's unpacker accepts. */
#define MAX_DEPTH 32

#define PACKER_KEY "jetwire.packer"

/* ------------------------------------------------------------------------
 * Markers
 */

static int is_marked_array(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, LJW_ARRAYS);
    lua_pushvalue(L, idx);
    int marked = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return marked;
}

/* jetwire.array([t]) -> t marked as an array (a new table without t). */
int ljw_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    } else {
        luaL_checktype(L, 1, LUA_TTABLE);
        lua_settop(L, 1);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, LJW_ARRAYS);
    lua_pushvalue(L, 1);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return 1;
}

/* jetwire.is_array(v) -> whether v is a table marked as an array. */
int ljw_is_array(lua_State *L)
{
    lua_pushboolean(L, lua_type(L, 1) == LUA_TTABLE && is_marked_array(L, 1));
    return 1;
}

static void push_bin(lua_State *L, const char *data, size_t len)
{
    lua_newuserdatauv(L, 0, 1);
    lua_pushlstring(L, data, len);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, LJW_BIN);
}

/* jetwire.bin(s) -> s to be packed as MessagePack bin. */
int ljw_bin(lua_State *L)
{
    size_t len;
    const char *s = ljw_check_string(L, 1, &len);
    push_bin(L, s, len);
    return 1;
}

int ljw_is_bin(lua_State *L)
{
    lua_pushboolean(L, luaL_testudata(L, 1, LJW_BIN) != NULL);
    return 1;
}

static int bin_index(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_BIN);
    const char *key = lua_tostring(L, 2);
    if (key && strcmp(key, "data") == 0)
        lua_getiuservalue(L, 1, 1);
    else
        lua_pushnil(L);
    return 1;
}

static int bin_tostring(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_BIN);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int bin_len(lua_State *L)
{
    luaL_checkudata(L, 1, LJW_BIN);
    lua_getiuservalue(L, 1, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

static int bin_eq(lua_State *L)
{
    if (!luaL_testudata(L, 1, LJW_BIN) || !luaL_testudata(L, 2, LJW_BIN)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_getiuservalue(L, 1, 1);
    lua_getiuservalue(L, 2, 1);
    lua_pushboolean(L, lua_rawequal(L, -1, -2));
    return 1;
}

/* ------------------------------------------------------------------------
 * Packing
 */

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned min, cp;
        if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

static void check(lua_State *L, jw_status st)
{
    if (st != JW_OK)
        luaL_error(L, "jetwire.pack: %s", jw_last_error());
}

static void pack_any(lua_State *L, jw_packer *p, int idx, int depth);

/* n when the table's keys are exactly 1..n (n >= 1), else 0. */
static lua_Integer sequence_length(lua_State *L, int idx)
{
    lua_Integer count = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
            lua_pop(L, 1);
            return 0;
        }
        lua_Integer k = lua_tointeger(L, -1);
        if (k > max)
            max = k;
        count++;
    }
    return max == count ? count : 0;
}

static void pack_table(lua_State *L, jw_packer *p, int idx, int depth)
{
    if (depth >= MAX_DEPTH)
        luaL_error(L,
                   "jetwire.pack: tables nested deeper than %d levels "
                   "(a cycle?)",
                   MAX_DEPTH);
    luaL_checkstack(L, 4, "jetwire.pack");
    lua_Integer n = is_marked_array(L, idx) ? (lua_Integer)lua_rawlen(L, idx)
                                            : sequence_length(L, idx);
    if (n > 0 || is_marked_array(L, idx)) {
        if (n > UINT32_MAX)
            luaL_error(L, "jetwire.pack: array too long");
        check(L, jw_pack_array(p, (uint32_t)n));
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            pack_any(L, p, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        return;
    }
    lua_Integer count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
    }
    if (count > UINT32_MAX)
        luaL_error(L, "jetwire.pack: map too large");
    check(L, jw_pack_map(p, (uint32_t)count));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) == LUA_TTABLE)
            luaL_error(L, "jetwire.pack: map keys cannot be tables");
        pack_any(L, p, lua_gettop(L) - 1, depth + 1);
        pack_any(L, p, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
}

static void pack_any(lua_State *L, jw_packer *p, int idx, int depth)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TNONE:
        check(L, jw_pack_nil(p));
        return;
    case LUA_TBOOLEAN:
        check(L, jw_pack_bool(p, lua_toboolean(L, idx)));
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            lua_Integer v = lua_tointeger(L, idx);
            check(L, v < 0 ? jw_pack_int(p, v) : jw_pack_uint(p, (uint64_t)v));
        } else {
            check(L, jw_pack_double(p, lua_tonumber(L, idx)));
        }
        return;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        check(L, valid_utf8((const unsigned char *)s, len)
                     ? jw_pack_str(p, s, len)
                     : jw_pack_bin(p, s, len));
        return;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) { /* jetwire.null */
            check(L, jw_pack_nil(p));
            return;
        }
        break;
    case LUA_TUSERDATA:
        if (luaL_testudata(L, idx, LJW_BIN)) {
            size_t len;
            lua_getiuservalue(L, idx, 1);
            const char *s = lua_tolstring(L, -1, &len);
            check(L, jw_pack_bin(p, s, len));
            lua_pop(L, 1);
            return;
        }
        break;
    case LUA_TTABLE:
        pack_table(L, p, lua_absindex(L, idx), depth);
        return;
    default:
        break;
    }
    luaL_error(L, "jetwire.pack: cannot pack a %s", luaL_typename(L, idx));
}

void ljw_pack_value(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    /* One packer per Lua state, reused: packing runs no Lua code, so it
     * is never re-entered, and a raise leaves nothing to free. */
    lua_getfield(L, LUA_REGISTRYINDEX, PACKER_KEY);
    jw_packer *p = *(jw_packer **)lua_touserdata(L, -1);
    lua_pop(L, 1);
    jw_packer_reset(p);
    pack_any(L, p, idx, 0);
    size_t len;
    const char *data = jw_packer_data(p, &len);
    lua_pushlstring(L, data, len);
    jw_packer_reset(p);
}

/* jetwire.pack(value) -> string */
int ljw_pack(lua_State *L)
{
    lua_settop(L, 1);
    ljw_pack_value(L, 1);
    return 1;
}

/* ------------------------------------------------------------------------
 * Unpacking
 */

/* Push v; NULL on success, else why it cannot be represented. */
static const char *push_value(lua_State *L, const jw_value *v, int wrap_bin,
                              int arrays)
{
    luaL_checkstack(L, 4, "jetwire.unpack");
    switch (jw_value_type_get(v)) {
    case JW_VALUE_NIL:
        lua_pushlightuserdata(L, NULL);
        return NULL;
    case JW_VALUE_BOOL:
        lua_pushboolean(L, jw_value_bool(v));
        return NULL;
    case JW_VALUE_INT:
        lua_pushinteger(L, (lua_Integer)jw_value_int(v));
        return NULL;
    case JW_VALUE_UINT:
        if (jw_value_uint(v) > (uint64_t)INT64_MAX)
            return "integer above 2^63-1 does not fit a Lua integer";
        lua_pushinteger(L, (lua_Integer)jw_value_uint(v));
        return NULL;
    case JW_VALUE_DOUBLE:
        lua_pushnumber(L, jw_value_double(v));
        return NULL;
    case JW_VALUE_STR:
    case JW_VALUE_BIN: {
        size_t len;
        const char *s = jw_value_bytes(v, &len);
        if (wrap_bin && jw_value_type_get(v) == JW_VALUE_BIN)
            push_bin(L, s, len);
        else
            lua_pushlstring(L, s, len);
        return NULL;
    }
    case JW_VALUE_ARRAY: {
        uint32_t n = jw_value_count(v);
        lua_createtable(L, (int)(n > 1u << 20 ? 1u << 20 : n), 0);
        for (uint32_t i = 0; i < n; i++) {
            const char *why =
                push_value(L, jw_value_array_at(v, i), wrap_bin, arrays);
            if (why)
                return why;
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_pushvalue(L, -1);
        lua_pushboolean(L, 1);
        lua_rawset(L, arrays);
        return NULL;
    }
    case JW_VALUE_MAP: {
        uint32_t n = jw_value_count(v);
        lua_createtable(L, 0, (int)(n > 1u << 20 ? 1u << 20 : n));
        for (uint32_t i = 0; i < n; i++) {
            const char *why =
                push_value(L, jw_value_map_key(v, i), wrap_bin, arrays);
            if (!why && lua_type(L, -1) == LUA_TNUMBER &&
                isnan(lua_tonumber(L, -1)))
                why = "a NaN map key cannot be a Lua table key";
            if (!why)
                why = push_value(L, jw_value_map_val(v, i), wrap_bin, arrays);
            if (why)
                return why;
            lua_rawset(L, -3);
        }
        return NULL;
    }
    default:
        return "MessagePack ext values are not supported";
    }
}

static void free_unpacked(void *p)
{
    jw_unpacked_free(p);
}

int ljw_unpack_bytes(lua_State *L, const char *data, size_t len, int wrap_bin)
{
    int base = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, LJW_ARRAYS);
    int arrays = lua_gettop(L);
    void **slot = ljw_box_new(L, free_unpacked);
    jw_status st = jw_unpack(data, len, (jw_unpacked **)slot);
    if (st != JW_OK) {
        lua_settop(L, base);
        return ljw_fail(L, st);
    }
    const char *why = push_value(L, jw_unpacked_root(*slot), wrap_bin, arrays);
    if (why) {
        lua_settop(L, base);
        return ljw_fail_msg(L, JW_EINVAL, why);
    }
    lua_replace(L, base + 1);
    ljw_box_forget(slot);
    lua_settop(L, base + 1);
    return 1;
}

/* jetwire.unpack(s [, {wrap_bin = true}]) -> value | nil, err */
int ljw_unpack(lua_State *L)
{
    size_t len;
    const char *data = ljw_check_string(L, 1, &len);
    int wrap_bin = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "wrap_bin");
        wrap_bin = lua_toboolean(L, -1);
    }
    lua_settop(L, 1);
    return ljw_unpack_bytes(L, data, len, wrap_bin);
}

/* ------------------------------------------------------------------------
 * Registration
 */

static void free_packer(void *p)
{
    jw_packer_free(p);
}

void ljw_pack_register(lua_State *L)
{
    luaL_newmetatable(L, LJW_BIN);
    lua_pushcfunction(L, bin_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, bin_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, bin_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, bin_eq);
    lua_setfield(L, -2, "__eq");
    lua_pop(L, 1);

    /* Tables marked as arrays, weakly: the mark dies with the table. */
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, LJW_ARRAYS);

    void **slot = ljw_box_new(L, free_packer);
    if (jw_packer_new((jw_packer **)slot) != JW_OK)
        luaL_error(L, "jetwire: out of memory");
    lua_setfield(L, LUA_REGISTRYINDEX, PACKER_KEY);
}
