/*
 * The Lua 5.4 module `jetwire`: module table, error values, argument
 * helpers and boxes. Connections live in conn.c, subscriptions and
 * messages in sub.c, JetStream in js.c, Key-Value in kv.c, MessagePack
 * in pack.c, JSON in json.c, services in service.c, waiting, signals and
 * sleep in sys.c.
 *
 * Conventions (docs/lua.md): a failure at run time returns nil and an
 * error value (err.code is the shared code name, err.message the detail,
 * tostring(err) both); a misused argument raises. No Lua code ever runs on
 * the engine's loop thread: everything is pulled.
 */
#include "ljw.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------
 * Error values
 */

static int error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "message");
    const char *code = lua_tostring(L, -2);
    const char *message = lua_tostring(L, -1);
    if (message && *message)
        lua_pushfstring(L, "%s: %s", code ? code : "?", message);
    else
        lua_pushstring(L, code ? code : "?");
    return 1;
}

/* ms in the seconds the Lua API takes, as the Python binding writes them
 * (bindings/python/jetwire/_errors.py, seconds_text): 500 -> "0.5",
 * 2000 -> "2", 1250 -> "1.25". */
static const char *seconds_text(char *buf, size_t size, int64_t ms)
{
    snprintf(buf, size, "%.3f", (double)ms / 1000.0);
    char *end = buf + strlen(buf);
    while (end > buf && end[-1] == '0')
        *--end = '\0';
    if (end > buf && end[-1] == '.')
        *--end = '\0';
    return buf;
}

static int is_word(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

const char *ljw_in_seconds(lua_State *L, const char *text)
{
    if (!strstr(text, " ms")) {
        lua_pushstring(L, text);
        return lua_tostring(L, -1);
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; text[i];) {
        size_t digits = 0;
        int starts_word = i == 0 || !is_word(text[i - 1]);
        while (starts_word && isdigit((unsigned char)text[i + digits]))
            digits++;
        /* "<digits> ms", the word ending there. */
        const char *after = text + i + digits;
        if (digits && digits <= 18 && strncmp(after, " ms", 3) == 0 &&
            !is_word(after[3])) {
            char buf[40];
            luaL_addstring(&b, seconds_text(buf, sizeof buf,
                                            strtoll(text + i, NULL, 10)));
            luaL_addstring(&b, " s");
            i += digits + 3;
        } else {
            size_t run = digits ? digits : 1;
            luaL_addlstring(&b, text + i, run);
            i += run;
        }
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

void ljw_push_error(lua_State *L, jw_status st, const char *message)
{
    /* The engine words durations in its C unit: this API's is seconds.
     * Converted first, while message (maybe the engine's thread-local
     * text) is as it was given. */
    ljw_in_seconds(L, message ? message : jw_strerror(st));
    lua_createtable(L, 0, 2);
    lua_pushstring(L, jw_status_name(st));
    lua_setfield(L, -2, "code");
    lua_rotate(L, -2, -1); /* the table below its message */
    lua_setfield(L, -2, "message");
    luaL_setmetatable(L, LJW_ERROR);
}

int ljw_fail_msg(lua_State *L, jw_status st, const char *message)
{
    lua_pushnil(L);
    ljw_push_error(L, st, message);
    return 2;
}

int ljw_fail(lua_State *L, jw_status st)
{
    /* Copy the thread's detail text before anything else can replace it
     * (a finalizer run by an allocation may call the engine). */
    char detail[1024];
    snprintf(detail, sizeof detail, "%s", jw_last_error());
    return ljw_fail_msg(L, st, detail[0] ? detail : NULL);
}

int ljw_raise(lua_State *L)
{
    lua_getfield(L, -1, "code");
    lua_getfield(L, -2, "message");
    return luaL_error(L, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1));
}

int ljw_fail_timeout(lua_State *L, const char *what, int64_t ms)
{
    char buf[40];
    return ljw_fail_msg(L, JW_ETIMEOUT,
                        lua_pushfstring(L, "%s within %s s", what,
                                        seconds_text(buf, sizeof buf, ms)));
}

int ljw_fail_waited(lua_State *L, jw_status st, int64_t ms)
{
    char detail[1024];
    snprintf(detail, sizeof detail, "%s", jw_last_error());
    if (st != JW_ETIMEOUT || ms < 0)
        return ljw_fail_msg(L, st, detail[0] ? detail : NULL);
    /* "<what> within <slice> ms": what, within the whole wait. */
    char *within = NULL;
    for (char *at = strstr(detail, " within "); at;
         at = strstr(at + 1, " within "))
        within = at;
    if (!within)
        return ljw_fail_msg(L, st, detail[0] ? detail : NULL);
    *within = '\0';
    return ljw_fail_timeout(L, detail, ms);
}

/* ------------------------------------------------------------------------
 * Arguments
 */

/* Seconds (a number; math.huge: wait forever; negative raises) to the engine's
 * milliseconds, rounded to the nearest. nil or absent: default_seconds. */
int64_t ljw_timeout_ms(lua_State *L, int arg, double default_seconds)
{
    return ljw_seconds_ms(L, arg, default_seconds, "timeout");
}

int64_t ljw_seconds_ms(lua_State *L, int arg, double default_seconds,
                       const char *what)
{
    double seconds = default_seconds;
    if (!lua_isnoneornil(L, arg)) {
        if (lua_type(L, arg) != LUA_TNUMBER)
            luaL_typeerror(L, arg, "number of seconds");
        seconds = lua_tonumber(L, arg);
    }
    if (seconds < 0 && lua_isnoneornil(L, arg))
        return -1; /* a default of "forever" */
    /* The engine's rule: math.huge is forever; NaN, negative and more
     * than 100 years are refused, in its words. */
    int64_t ms = jw_seconds_to_ms(what, seconds);
    if (ms == JW_EINVAL)
        luaL_argerror(L, arg, jw_last_error());
    return ms;
}

/* A string argument; numbers are not converted (they are misuse here). */
const char *ljw_check_string(lua_State *L, int arg, size_t *len)
{
    if (lua_type(L, arg) != LUA_TSTRING)
        luaL_typeerror(L, arg, "string");
    return lua_tolstring(L, arg, len);
}

void *ljw_check_self(lua_State *L, int arg, int mt_idx, const char *tname)
{
    void *p = lua_touserdata(L, arg);
    if (p && lua_getmetatable(L, arg)) {
        int same = lua_rawequal(L, -1, mt_idx);
        lua_pop(L, 1);
        if (same)
            return p;
    }
    return luaL_checkudata(L, arg, tname);
}

/* A payload: a string, or nil/absent for the empty payload. */
const char *ljw_opt_data(lua_State *L, int arg, size_t *len)
{
    if (lua_isnoneornil(L, arg)) {
        *len = 0;
        return "";
    }
    return ljw_check_string(L, arg, len);
}

void ljw_push_bigint(lua_State *L, const char *text)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno == 0 && end != text && *end == 0)
        lua_pushinteger(L, (lua_Integer)v);
    else
        lua_pushstring(L, text);
}

int ljw_has_nul(const char *s, size_t len)
{
    return memchr(s, 0, len) != NULL;
}

/* The options table at arg is nil/absent or a table whose keys are all in
 * known (NULL-terminated); an unknown key raises, like a mistyped keyword
 * argument in Python. */
void ljw_check_options(lua_State *L, int arg, const char *const *known)
{
    if (lua_isnoneornil(L, arg))
        return;
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            luaL_argerror(L, arg, "option names must be strings");
        }
        const char *key = lua_tostring(L, -1);
        int found = 0;
        for (int i = 0; known[i]; i++)
            found |= strcmp(key, known[i]) == 0;
        if (!found)
            luaL_argerror(L, arg,
                          lua_pushfstring(L, "unknown option '%s'", key));
    }
}

/* ------------------------------------------------------------------------
 * Call options: a Lua table to the engine's jw_call_opts, by Lua type.
 * The engine's table (jw_call_opts_fields) decides which names a call
 * takes and of what type; nothing here knows an option.
 */

static void free_call_opts(void *p)
{
    jw_call_opts_free(p);
}

void ljw_call_opt(lua_State *L, jw_call_opts **slot, const char *call,
                  const char *name, int value_idx, int arg)
{
    value_idx = lua_absindex(L, value_idx);
    if (!*slot && jw_call_opts_new(call, slot) != JW_OK)
        luaL_error(L, "%s", jw_last_error());
    jw_call_opts *o = *slot;
    jw_status st;
    switch (lua_type(L, value_idx)) {
    case LUA_TBOOLEAN:
        st = jw_call_opts_set_bool(o, name, lua_toboolean(L, value_idx));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, value_idx))
            st = jw_call_opts_set_int(o, name, lua_tointeger(L, value_idx));
        else
            st = jw_call_opts_set_double(o, name,
                                         lua_tonumber(L, value_idx));
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, value_idx, &len);
        if (ljw_has_nul(s, len))
            luaL_argerror(L, arg,
                          lua_pushfstring(L, "%s option '%s' contains NUL",
                                          call, name));
        st = jw_call_opts_set_str(o, name, s);
        break;
    }
    default:
        luaL_argerror(L, arg,
                      lua_pushfstring(L, "%s option '%s' cannot be a %s",
                                      call, name,
                                      luaL_typename(L, value_idx)));
        return;
    }
    if (st != JW_OK)
        luaL_argerror(L, arg, jw_last_error());
}

jw_call_opts **ljw_call_opts(lua_State *L, int idx, const char *call,
                             const char *const *skip)
{
    idx = lua_absindex(L, idx);
    jw_call_opts **slot = (jw_call_opts **)ljw_box_new(L, free_call_opts);
    if (lua_isnoneornil(L, idx))
        return slot;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t len;
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_argerror(L, idx, "option names must be strings");
        const char *name = lua_tolstring(L, -2, &len);
        if (ljw_has_nul(name, len))
            luaL_argerror(L, idx, "option names must not contain NUL");
        int own = 0;
        for (int i = 0; skip && skip[i] && !own; i++)
            own = strcmp(name, skip[i]) == 0;
        if (!own)
            ljw_call_opt(L, slot, call, name, -1, idx);
        lua_pop(L, 1);
    }
    return slot;
}

static void check_header_string(lua_State *L, int arg, int idx,
                                const char *what)
{
    size_t len;
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_argerror(L, arg,
                      lua_pushfstring(L,
                                      "header %s must be a "
                                      "string",
                                      what));
    const char *s = lua_tolstring(L, idx, &len);
    if (ljw_has_nul(s, len))
        luaL_argerror(L, arg,
                      lua_pushfstring(L, "header %s contains NUL", what));
}

/* Headers are a table of name = "value" or name = {"v1", "v2"}, and/or an
 * ordered list of {name, value} pairs (which keeps the interleaving of
 * different names). Checked completely before anything is allocated. */
void ljw_check_headers(lua_State *L, int idx, int arg)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_argerror(L, arg, "headers must be a table");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int key_type = lua_type(L, -2);
        if (key_type == LUA_TSTRING) {
            check_header_string(L, arg, -2, "name");
            if (lua_type(L, -1) == LUA_TTABLE) {
                lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
                for (lua_Integer i = 1; i <= n; i++) {
                    lua_rawgeti(L, -1, i);
                    check_header_string(L, arg, -1, "value");
                    lua_pop(L, 1);
                }
            } else {
                check_header_string(L, arg, -1, "value");
            }
        } else if (key_type == LUA_TNUMBER && lua_isinteger(L, -2) &&
                   lua_type(L, -1) == LUA_TTABLE) {
            lua_rawgeti(L, -1, 1);
            check_header_string(L, arg, -1, "name");
            lua_rawgeti(L, -2, 2);
            check_header_string(L, arg, -1, "value");
            lua_pop(L, 2);
        } else {
            luaL_argerror(L, arg,
                          "headers must map names to strings or "
                          "lists of strings, or list {name, value} "
                          "pairs");
        }
        lua_pop(L, 1);
    }
}

/* Push options.headers (nil when absent) and check it. */
int ljw_push_headers_option(lua_State *L, int opts)
{
    if (lua_isnoneornil(L, opts)) {
        lua_pushnil(L);
    } else {
        lua_getfield(L, opts, "headers");
        if (!lua_isnil(L, -1))
            ljw_check_headers(L, -1, opts);
    }
    return lua_isnil(L, -1) ? 0 : lua_gettop(L);
}

int ljw_bad_subject(lua_State *L, const char *what)
{
    return ljw_fail_msg(L, JW_EINVALID_SUBJECT,
                        lua_pushfstring(L, "%s contains NUL", what));
}

/* ------------------------------------------------------------------------
 * Boxes
 */

typedef struct ljw_box {
    void *ptr;
    void (*free_fn)(void *);
} ljw_box;

static int box_gc(lua_State *L)
{
    ljw_box *box = luaL_checkudata(L, 1, LJW_BOX);
    if (box->ptr) {
        void *p = box->ptr;
        box->ptr = NULL;
        box->free_fn(p);
    }
    return 0;
}

/* Push a box; store the C object in *slot right after allocating it. */
void **ljw_box_new(lua_State *L, void (*free_fn)(void *))
{
    ljw_box *box = lua_newuserdatauv(L, sizeof(*box), 0);
    box->ptr = NULL;
    box->free_fn = free_fn;
    luaL_setmetatable(L, LJW_BOX);
    return &box->ptr;
}

/* Free the boxed object now (rather than at the next collection: it may
 * hold a large payload the collector does not know about). */
void ljw_box_forget(void **slot)
{
    ljw_box *box = (ljw_box *)slot; /* ptr is the first member */
    if (box->ptr) {
        void *p = box->ptr;
        box->ptr = NULL;
        box->free_fn(p);
    }
}

static void free_msg(void *p)
{
    jw_msg_free(p);
}

static jw_status add_header(lua_State *L, jw_msg *m, int name_idx,
                            int value_idx)
{
    return jw_msg_header_add(m, lua_tostring(L, name_idx),
                             lua_tostring(L, value_idx));
}

jw_status ljw_build_msg(lua_State *L, const char *subject, const char *reply,
                        const char *data, size_t len, int headers_idx,
                        jw_msg **out)
{
    if (headers_idx)
        headers_idx = lua_absindex(L, headers_idx);
    void **slot = ljw_box_new(L, free_msg);
    jw_status st = jw_msg_new(subject, reply, data, len, (jw_msg **)slot);
    if (st || !headers_idx) {
        *out = *slot;
        return st;
    }
    jw_msg *m = *slot;
    /* The ordered pairs first, in order; then the name = value entries. */
    lua_Integer n = (lua_Integer)lua_rawlen(L, headers_idx);
    for (lua_Integer i = 1; st == JW_OK && i <= n; i++) {
        if (lua_rawgeti(L, headers_idx, i) == LUA_TTABLE) {
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);
            st = add_header(L, m, -2, -1);
            lua_pop(L, 2);
        }
        lua_pop(L, 1);
    }
    *out = m;
    if (st != JW_OK)
        return st;
    lua_pushnil(L);
    while (st == JW_OK && lua_next(L, headers_idx)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            if (lua_type(L, -1) == LUA_TTABLE) {
                lua_Integer count = (lua_Integer)lua_rawlen(L, -1);
                for (lua_Integer i = 1; st == JW_OK && i <= count; i++) {
                    lua_rawgeti(L, -1, i);
                    st = add_header(L, m, -3, -1);
                    lua_pop(L, 1);
                }
            } else {
                st = add_header(L, m, -2, -1);
            }
        }
        lua_pop(L, 1);
    }
    if (st != JW_OK)
        lua_pop(L, 1); /* the key lua_next left */
    return st;
}

/* ------------------------------------------------------------------------
 * The module
 */

/* jetwire.now() -> seconds on a monotonic clock, for the deadlines of Lua
 * schedulers (os.time has whole seconds, os.clock is CPU time). */
static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

static const luaL_Reg functions[] = {
    {"now", l_now},
    {"connect", ljw_connect},
    {"poll", ljw_poll},
    {"pack", ljw_pack},
    {"unpack", ljw_unpack},
    {"array", ljw_array},
    {"is_array", ljw_is_array},
    {"bin", ljw_bin},
    {"is_bin", ljw_is_bin},
    {"config_fields", ljw_config_fields},
    {"call_options", ljw_call_options},
    {NULL, NULL},
};

/* The module builds with hidden visibility: only this entry is exported. */
#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
LUALIB_API int
luaopen_jetwire(lua_State *L)
{
    luaL_checkversion(L);

    luaL_newmetatable(L, LJW_ERROR);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    luaL_newmetatable(L, LJW_BOX);
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    ljw_conn_register(L);
    ljw_sub_register(L);
    ljw_pack_register(L);
    ljw_js_register(L);
    ljw_stored_register(L);
    ljw_batch_register(L);
    ljw_fast_register(L);
    ljw_consume_register(L);
    ljw_kv_register(L);
    ljw_obs_register(L);
    ljw_service_register(L);
    ljw_sys_register(L);

    luaL_newlib(L, functions);
    ljw_sys_functions(L);  /* signals, sleep */
    ljw_json_functions(L); /* json.encode, json.decode */
    lua_pushstring(L, jw_version());
    lua_setfield(L, -2, "version");
    /* The same value as cjson.null: a NULL light userdata. */
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    return 1;
}
