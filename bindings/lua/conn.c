/*
 * Connections: connect, publish, request, subscribe, flush, drain, close
 * and introspection. What serves event loops (the fd, process, started
 * requests, events, jetwire.poll) is in loop.c.
 */
#include "ljw.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Each connection userdata's user value is a state table:
 *   subs  weak-valued: light userdata (jw_sub *) -> Subscription, so an
 *         event can name the subscription it concerns;
 *   done  completed started requests taken from the engine by process()
 *         (or by close), each {id = , msg = , err = }, oldest first. */

ljw_conn *ljw_check_conn(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_CONN);
}

int ljw_conn_closed(lua_State *L)
{
    return ljw_fail_msg(L, JW_ECONNECTION_CLOSED, NULL);
}

/* ------------------------------------------------------------------------
 * Connecting
 */

/* The engine's connection options (jw_opts_fields) as a table name ->
 * type, made once per state and kept in the registry; the ones a binding
 * sets itself (lang) are left out. Pushed on the stack. */
static void push_option_types(lua_State *L)
{
    static const char key = 0;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &key) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    char *text = NULL;
    if (jw_opts_fields(&text) != JW_OK)
        luaL_error(L, "jetwire: %s", jw_last_error());
    int ok = ljw_push_json(L, text);
    jw_free(text);
    if (ok != 1)
        luaL_error(L, "jetwire: the engine's option list does not parse");
    int fields = lua_gettop(L);
    lua_newtable(L);
    for (lua_Integer i = 1; lua_rawgeti(L, fields, i) == LUA_TTABLE; i++) {
        lua_getfield(L, -1, "binding");
        int binding = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (!binding) {
            lua_getfield(L, -1, "name");
            lua_getfield(L, -2, "type");
            lua_rawset(L, -4);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_remove(L, fields);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &key);
}

/* Set one option (value on top of the stack) by its engine type; raises
 * for a value of the wrong kind, as for any misused argument. */
static jw_status set_option(lua_State *L, int arg, jw_opts *o,
                            const char *key, const char *type)
{
    if (!strcmp(type, "string")) {
        size_t len;
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be "
                                                     "a string", key));
        const char *value = lua_tolstring(L, -1, &len);
        if (ljw_has_nul(value, len))
            luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' contains "
                                                     "NUL", key));
        return jw_opts_set_str(o, key, value);
    }
    if (!strcmp(type, "boolean")) {
        if (lua_type(L, -1) != LUA_TBOOLEAN)
            luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be "
                                                     "a boolean", key));
        return jw_opts_set_bool(o, key, lua_toboolean(L, -1));
    }
    if (!strcmp(type, "duration")) { /* seconds here, ms in the engine */
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be "
                                                     "a number of seconds",
                                                  key));
        int64_t ms = jw_seconds_to_ms(key, lua_tonumber(L, -1));
        if (ms == JW_EINVAL)
            luaL_argerror(L, arg, jw_last_error());
        return jw_opts_set_int(o, key, ms);
    }
    int ok;
    lua_Integer n = lua_tointegerx(L, -1, &ok);
    if (!ok || lua_type(L, -1) != LUA_TNUMBER)
        luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be an "
                                                 "integer", key));
    return jw_opts_set_int(o, key, (int64_t)n);
}

static void free_opts(void *p)
{
    jw_opts_free(p);
}

/* Push the servers as one comma-separated string, or nil for the
 * engine's default. */
static void push_servers(lua_State *L, int idx, int arg)
{
    if (lua_isnoneornil(L, idx)) {
        lua_pushnil(L);
        return;
    }
    if (lua_type(L, idx) == LUA_TSTRING) {
        lua_pushvalue(L, idx);
    } else if (lua_type(L, idx) == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        if (n == 0)
            luaL_argerror(L, arg, "servers list is empty");
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
                luaL_argerror(L, arg, "servers must be URL strings");
            if (i > 1)
                luaL_addchar(&b, ',');
            luaL_addvalue(&b);
        }
        luaL_pushresult(&b);
    } else {
        luaL_argerror(L, arg, "servers must be a URL string or a list");
    }
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (ljw_has_nul(s, len))
        luaL_argerror(L, arg, "servers contain NUL");
}

static int driven_loop_gc(lua_State *L)
{
    jw_loop **slot = lua_touserdata(L, 1);
    jw_loop_free(*slot);
    *slot = NULL;
    return 0;
}

/* The Lua state's driven loop, shared by its connections made with
 * loop = "driven" (so that a call waiting on one keeps the others
 * moving), made on first use; the registry holds it until the state
 * closes. NULL when it cannot be made. */
jw_loop *ljw_driven_loop(lua_State *L)
{
    static const char key = 0;
    jw_loop *loop = NULL;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &key) == LUA_TUSERDATA)
        loop = *(jw_loop **)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (loop)
        return loop;
    jw_loop **slot = lua_newuserdatauv(L, sizeof(*slot), 0);
    *slot = NULL;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, driven_loop_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    if (jw_loop_new_driven(slot) != JW_OK) {
        lua_pop(L, 1);
        return NULL;
    }
    lua_rawsetp(L, LUA_REGISTRYINDEX, &key);
    return *slot;
}

/* jetwire.connect{servers = ..., name = ..., ...} or
 * jetwire.connect(servers [, options]). */
int ljw_connect(lua_State *L)
{
    lua_settop(L, 2);
    int opts = 1;
    if (lua_type(L, 1) == LUA_TSTRING) {
        opts = 2;
        push_servers(L, 1, 1);
    } else if (!lua_isnoneornil(L, 1) && lua_type(L, 1) != LUA_TTABLE) {
        return luaL_typeerror(L, 1, "table of options or server URL");
    }
    if (!lua_isnoneornil(L, opts))
        luaL_checktype(L, opts, LUA_TTABLE);
    else
        opts = 0;
    if (opts == 1) {
        lua_getfield(L, 1, "servers");
        int servers_idx = lua_gettop(L);
        push_servers(L, servers_idx, 1);
        lua_remove(L, servers_idx);
    } else if (lua_type(L, 1) != LUA_TSTRING) {
        lua_pushnil(L);
    }
    int servers = lua_gettop(L);

    /* The options go into a boxed jw_opts as they are read: an error
     * raised on the way leaves the box to the collector. */
    void **slot = ljw_box_new(L, free_opts);
    jw_status st = jw_opts_new((jw_opts **)slot);
    jw_opts *o = *slot;
    int driven = 0;
    if (opts && st == JW_OK) {
        push_option_types(L);
        int types = lua_gettop(L);
        lua_pushnil(L);
        while (st == JW_OK && lua_next(L, opts)) {
            const char *key =
                lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
            if (key && strcmp(key, "loop") == 0) {
                const char *mode = lua_type(L, -1) == LUA_TSTRING
                                       ? lua_tostring(L, -1)
                                       : "";
                if (strcmp(mode, "driven") && strcmp(mode, "thread"))
                    luaL_argerror(L, opts,
                                  "option 'loop' must be \"thread\" or "
                                  "\"driven\"");
                driven = strcmp(mode, "driven") == 0;
            } else if (!(key && strcmp(key, "servers") == 0)) {
                const char *type = NULL;
                if (key) {
                    lua_getfield(L, types, key);
                    type = lua_tostring(L, -1);
                    lua_pop(L, 1); /* the registry's table keeps it */
                }
                if (!type)
                    luaL_argerror(L, opts,
                                  lua_pushfstring(L, "unknown option '%s'",
                                                  key ? key : "?"));
                st = set_option(L, opts, o, key, type);
                if (st == JW_EINVAL) /* a value the engine refuses */
                    luaL_argerror(L, opts, jw_last_error());
            }
            lua_pop(L, 1);
        }
        if (st != JW_OK)
            lua_pop(L, 1); /* the key lua_next left */
        lua_pop(L, 1);     /* types */
    }
    if (st != JW_OK)
        return ljw_fail(L, st);

    ljw_conn *c = lua_newuserdatauv(L, sizeof(*c), 1);
    c->conn = NULL;
    c->loop = NULL;
    c->fd_used = 0;
    luaL_setmetatable(L, LJW_CONN);
    lua_createtable(L, 0, 2);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "subs");
    lua_newtable(L);
    lua_setfield(L, -2, "done");
    lua_setiuservalue(L, -2, 1);
    int conn_idx = lua_gettop(L);

    /* The server's /connz tells Lua clients from the others. */
    st = jw_opts_set_str(o, "lang", "lua");
    if (st == JW_OK)
        st = jw_opts_set_str(o, "lang_version", jw_version());
    if (st == JW_OK && driven) {
        /* The loop runs on this thread, inside the calls that wait and
         * nc:run(): no thread hand-off per message or request. */
        c->loop = ljw_driven_loop(L);
        st = c->loop ? jw_opts_set_loop(o, c->loop) : JW_ENO_MEMORY;
    }
    if (st == JW_OK)
        st = jw_conn_connect(lua_tostring(L, servers), o, &c->conn);
    ljw_box_forget(slot);
    if (st != JW_OK) {
        c->loop = NULL;
        return ljw_fail(L, st);
    }
    lua_pushvalue(L, conn_idx);
    return 1;
}

/* ------------------------------------------------------------------------
 * Publishing and requests
 */

static const char *const request_options[] = {"headers", NULL};
static const char *const publish_options[] = {"reply", "headers", NULL};

/* nc:publish(subject, data [, {reply = , headers = }]) */
static int l_publish(lua_State *L)
{
    ljw_conn *c = ljw_check_self(L, 1, lua_upvalueindex(1), LJW_CONN);
    size_t subject_len, len, reply_len = 0;
    const char *subject = ljw_check_string(L, 2, &subject_len);
    const char *data = ljw_opt_data(L, 3, &len);
    const char *reply = NULL;
    int headers = 0;
    if (!lua_isnoneornil(L, 4)) {
        ljw_check_options(L, 4, publish_options);
        lua_getfield(L, 4, "reply");
        if (!lua_isnil(L, -1))
            reply = ljw_check_string(L, lua_gettop(L), &reply_len);
        headers = ljw_push_headers_option(L, 4);
    }
    if (!c->conn)
        return ljw_conn_closed(L);
    if (ljw_has_nul(subject, subject_len))
        return ljw_bad_subject(L, "subject");
    if (reply && ljw_has_nul(reply, reply_len))
        return ljw_bad_subject(L, "reply subject");
    jw_status st;
    if (headers) {
        jw_msg *m;
        st = ljw_build_msg(L, subject, reply, data, len, headers, &m);
        void **box = lua_touserdata(L, -1);
        if (st == JW_OK)
            st = jw_conn_publish_msg(c->conn, m);
        ljw_box_forget(box);
    } else {
        st = jw_conn_publish_reply(c->conn, subject, reply, data, len);
    }
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushboolean(L, 1);
    return 1;
}

/* nc:publish_packed(subject, value [, {reply = , headers = }]): the value
 * packed with MessagePack, with Content-Type: application/msgpack. */
static int l_publish_packed(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    size_t subject_len, reply_len = 0, len;
    const char *subject = ljw_check_string(L, 2, &subject_len);
    const char *reply = NULL;
    lua_settop(L, 4);
    ljw_check_options(L, 4, publish_options);
    if (!lua_isnil(L, 4)) {
        lua_getfield(L, 4, "reply");
        if (!lua_isnil(L, -1))
            reply = ljw_check_string(L, lua_gettop(L), &reply_len);
    }
    int headers = ljw_push_headers_option(L, 4);
    ljw_pack_value(L, 3);
    const char *data = lua_tolstring(L, -1, &len);
    if (!c->conn)
        return ljw_conn_closed(L);
    if (ljw_has_nul(subject, subject_len))
        return ljw_bad_subject(L, "subject");
    if (reply && ljw_has_nul(reply, reply_len))
        return ljw_bad_subject(L, "reply subject");
    jw_msg *m;
    jw_status st = ljw_build_msg(L, subject, reply, data, len, headers, &m);
    void **box = lua_touserdata(L, -1);
    if (st == JW_OK)
        st = jw_msg_header_set(m, "Content-Type", "application/msgpack");
    if (st == JW_OK)
        st = jw_conn_publish_msg(c->conn, m);
    ljw_box_forget(box);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushboolean(L, 1);
    return 1;
}

/* nc:request(subject, data [, timeout = 2.0 [, {headers = }]]) -> msg */
static int l_request(lua_State *L)
{
    ljw_conn *c = ljw_check_self(L, 1, lua_upvalueindex(1), LJW_CONN);
    size_t subject_len, len;
    const char *subject = ljw_check_string(L, 2, &subject_len);
    const char *data = ljw_opt_data(L, 3, &len);
    int64_t ms = ljw_timeout_ms(L, 4, 2.0);
    ljw_check_options(L, 5, request_options);
    int headers = ljw_push_headers_option(L, 5);
    if (!c->conn)
        return ljw_conn_closed(L);
    if (ljw_has_nul(subject, subject_len))
        return ljw_bad_subject(L, "subject");
    /* Started and waited for here, in slices a signal can end: the
     * engine's blocking request cannot be interrupted. */
    jw_msg *m;
    jw_status st = ljw_build_msg(L, subject, NULL, data, len, headers, &m);
    void **box = lua_touserdata(L, -1);
    uint64_t id = 0;
    if (st == JW_OK)
        st = jw_conn_request_start(c->conn, m, &id);
    ljw_box_forget(box);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_request_wait(L, 1, id, subject, ms);
}

/* ------------------------------------------------------------------------
 * Subscribing
 */

static const char *const subscribe_options[] = {"queue", "pending_msgs_limit",
                                                "pending_bytes_limit", NULL};

/* Option key of the table at opts, an integer: 1 with *out, 0 when not
 * given. */
static int opt_limit(lua_State *L, int opts, const char *key, int64_t *out)
{
    *out = 0;
    if (lua_isnoneornil(L, opts))
        return 0;
    lua_getfield(L, opts, key);
    int given = !lua_isnil(L, -1);
    if (given) {
        int ok;
        *out = lua_tointegerx(L, -1, &ok);
        if (!ok || lua_type(L, -1) != LUA_TNUMBER)
            luaL_argerror(L, opts,
                          lua_pushfstring(L,
                                          "option '%s' must be "
                                          "an integer",
                                          key));
    }
    lua_pop(L, 1);
    return given;
}

/* nc:subscribe(subject [, {queue = , pending_msgs_limit = ,
 * pending_bytes_limit = }]) -> sub */
static int l_subscribe(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    size_t subject_len;
    const char *subject = ljw_check_string(L, 2, &subject_len);
    ljw_check_options(L, 3, subscribe_options);
    const char *queue = NULL;
    size_t queue_len = 0;
    if (!lua_isnoneornil(L, 3)) {
        lua_getfield(L, 3, "queue");
        if (!lua_isnil(L, -1))
            queue = ljw_check_string(L, lua_gettop(L), &queue_len);
    }
    int64_t msgs, bytes;
    int has_msgs = opt_limit(L, 3, "pending_msgs_limit", &msgs);
    int has_bytes = opt_limit(L, 3, "pending_bytes_limit", &bytes);
    if (!c->conn)
        return ljw_conn_closed(L);
    if (ljw_has_nul(subject, subject_len))
        return ljw_bad_subject(L, "subject");
    if (queue && ljw_has_nul(queue, queue_len))
        return ljw_bad_subject(L, "queue");
    ljw_sub *s = ljw_new_sub(L, 1);
    jw_status st = jw_conn_subscribe(c->conn, subject, queue, &s->sub);
    if (st == JW_OK && (has_msgs || has_bytes)) {
        /* The one not given stays as the connection set it. */
        int64_t now_msgs, now_bytes;
        jw_sub_pending_limits(s->sub, &now_msgs, &now_bytes);
        st = jw_sub_set_pending_limits(s->sub, has_msgs ? msgs : now_msgs,
                                       has_bytes ? bytes : now_bytes);
        if (st != JW_OK) {
            jw_sub_free(s->sub);
            s->sub = NULL;
        }
    }
    /* Named by nc:ready() when messages come: its key in "subs". */
    if (st == JW_OK)
        st = jw_sub_set_tag(s->sub, (uint64_t)(uintptr_t)s->sub);
    if (st != JW_OK)
        return ljw_fail(L, st);
    ljw_sub_track(L, 1, lua_gettop(L));
    return 1;
}

/* ------------------------------------------------------------------------
 * Round trips and lifetime
 */

static void release(lua_State *L, int idx, int keep_completions);

/* ------------------------------------------------------------------------
 * Flush and drain on a thread of their own
 *
 * The engine's flush and drain wait on a condition no signal can break.
 * A drain (and a flush the first slice did not finish) runs on a thread
 * of its own while this one waits in slices; a signal closes the
 * connection, which ends the engine's wait, and the call returns
 * INTERRUPTED once the thread is done with the connection.
 */

typedef struct offload {
    jw_conn *conn;
    int64_t ms;
    int drain;
    jw_status st;
    char detail[256];
    int finished;
    pthread_mutex_t mu;
    pthread_cond_t cond;
} offload;

static void *offload_main(void *arg)
{
    offload *o = arg;
    jw_status st = o->drain ? jw_conn_drain(o->conn, o->ms)
                            : jw_conn_flush(o->conn, o->ms);
    if (st != JW_OK) /* the detail is the thread's own */
        snprintf(o->detail, sizeof o->detail, "%s", jw_last_error());
    pthread_mutex_lock(&o->mu);
    o->st = st;
    o->finished = 1;
    pthread_cond_signal(&o->cond);
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

/* Run the flush or drain of o; 1 when a signal interrupted it (the
 * connection is closed then), else 0 with o->st and o->detail set. */
static int offload_run(lua_State *L, offload *o)
{
    o->finished = 0;
    o->detail[0] = 0;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&o->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&o->mu, NULL);
    pthread_t thread;
    if (pthread_create(&thread, NULL, offload_main, o) != 0) {
        offload_main(o); /* no thread: wait here, uninterruptible */
        pthread_cond_destroy(&o->cond);
        pthread_mutex_destroy(&o->mu);
        return 0;
    }
    ljw_wait w;
    ljw_wait_begin(L, &w, -1); /* the engine keeps the time */
    int interrupted = 0;
    pthread_mutex_lock(&o->mu);
    while (!o->finished) {
        if (!interrupted && ljw_wait_step(&w) == LJW_WAIT_INTERRUPTED) {
            interrupted = 1;
            pthread_mutex_unlock(&o->mu);
            jw_conn_close(o->conn); /* ends the engine's wait */
            pthread_mutex_lock(&o->mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += LJW_SLICE_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&o->cond, &o->mu, &ts);
    }
    pthread_mutex_unlock(&o->mu);
    pthread_join(thread, NULL);
    pthread_cond_destroy(&o->cond);
    pthread_mutex_destroy(&o->mu);
    return interrupted;
}

static int offload_failed(lua_State *L, offload *o)
{
    return ljw_fail_msg(L, o->st, o->detail[0] ? o->detail : NULL);
}

/* nc:flush([timeout = 5]) -> true | nil, err */
static int l_flush(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, 5.0);
    if (!c->conn)
        return ljw_conn_closed(L);
    ljw_wait w;
    ljw_wait_begin(L, &w, ms);
    int64_t slice = ljw_wait_step(&w);
    if (slice == LJW_WAIT_INTERRUPTED)
        return ljw_fail_interrupted(L);
    /* Mostly the server answers within the first slice, on this thread. */
    jw_status st = jw_conn_flush(c->conn, slice);
    if (st == JW_ETIMEOUT && (ms < 0 || ms > slice)) {
        /* What is left of the timeout, on a thread of its own. */
        offload o = {.conn = c->conn, .ms = ljw_wait_left_ms(&w)};
        if (o.ms != 0) {
            if (offload_run(L, &o)) {
                release(L, 1, 1);
                return ljw_fail_interrupted(L);
            }
            st = o.st;
            if (st != JW_OK && st != JW_ETIMEOUT)
                return offload_failed(L, &o);
        }
    }
    if (st == JW_ETIMEOUT && ms > LJW_SLICE_MS)
        return ljw_fail_timeout(L, "no PONG", ms);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_rtt(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    if (!c->conn)
        return ljw_conn_closed(L);
    int64_t us;
    jw_status st = jw_conn_rtt(c->conn, &us);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushnumber(L, (lua_Number)us / 1e6);
    return 1;
}

/* The connection's counters as a table, by the engine's names. */
static void push_stats(lua_State *L, jw_conn *conn)
{
    lua_newtable(L);
    const char *name;
    for (jw_stat i = JW_STAT_IN_MSGS; (name = jw_stat_name(i)) != NULL;
         i = (jw_stat)(i + 1)) {
        lua_pushinteger(L, (lua_Integer)jw_conn_stat(conn, i));
        lua_setfield(L, -2, name);
    }
}

/* The one finalizer of a connection (close, __close, __gc): close, keep
 * the completions of started requests (they report the close) and the last
 * counters (nc:stats() after the close, as nats.go's Stats()) unless the
 * object itself is being collected, free. Idempotent. */
static void release(lua_State *L, int idx, int keep_completions)
{
    ljw_conn *c = lua_touserdata(L, idx);
    if (!c->conn)
        return;
    jw_conn_close(c->conn);
    /* Not from __gc: nobody can poll them any more, and userdata made
     * while lua_close runs the finalizers would never be finalized. */
    if (keep_completions) {
        ljw_take_completions(L, idx);
        lua_getiuservalue(L, idx, 1);
        push_stats(L, c->conn);
        lua_setfield(L, -2, "stats");
        lua_pop(L, 1);
    }
    jw_conn *conn = c->conn;
    c->conn = NULL;
    jw_conn_free(conn);
    c->loop = NULL;
}

static int l_close(lua_State *L)
{
    ljw_check_conn(L, 1);
    release(L, 1, 1);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_gc(lua_State *L)
{
    ljw_check_conn(L, 1);
    release(L, 1, 0);
    return 0;
}

/* nc:drain([timeout]): timeout nil uses the drain_timeout option. The
 * connection is closed afterwards either way; queued messages stay
 * readable from its subscriptions. */
static int l_drain(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, -1);
    lua_settop(L, 2);
    if (!c->conn)
        return ljw_conn_closed(L);
    offload o = {.conn = c->conn, .ms = ms, .drain = 1};
    int interrupted = offload_run(L, &o);
    /* The drain ended with the closed event queued: handlers see it now,
     * before the connection is released. */
    ljw_run_handlers(L, 1);
    lua_settop(L, 2);
    int results = interrupted      ? ljw_fail_interrupted(L)
                  : o.st == JW_OK ? (lua_pushboolean(L, 1), 1)
                                  : offload_failed(L, &o);
    release(L, 1, 1);
    return results;
}

/* ------------------------------------------------------------------------
 * Introspection and events
 */

/* The engine's name of the connection's status ("CONNECTED", ...); a
 * closed handle (or a status without a name) is CLOSED. */
static const char *status_name(const ljw_conn *c)
{
    const char *name =
        c->conn ? jw_conn_status_name(jw_conn_status_get(c->conn)) : NULL;
    return name ? name : jw_conn_status_name(JW_CONN_CLOSED);
}

static int l_status(lua_State *L)
{
    lua_pushstring(L, status_name(ljw_check_conn(L, 1)));
    return 1;
}

static int l_is_connected(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    lua_pushboolean(L, c->conn && jw_conn_is_connected(c->conn));
    return 1;
}

/* nc:servers() / nc:discovered_servers(): the pool as a list of URLs. */
static int push_server_list(lua_State *L,
                            jw_status (*get)(jw_conn *, char *, size_t))
{
    ljw_conn *c = ljw_check_conn(L, 1);
    if (!c->conn)
        return ljw_conn_closed(L);
    char buf[16384];
    jw_status st = get(c->conn, buf, sizeof buf);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_newtable(L);
    int n = 0;
    for (char *p = buf; *p;) {
        char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        lua_pushlstring(L, p, len);
        lua_rawseti(L, -2, ++n);
        p += len + (comma ? 1 : 0);
    }
    return 1;
}

static int l_servers(lua_State *L)
{
    return push_server_list(L, jw_conn_servers);
}

static int l_discovered_servers(lua_State *L)
{
    return push_server_list(L, jw_conn_discovered_servers);
}

static int l_connected_url(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    char buf[1024] = "";
    if (c->conn)
        jw_conn_connected_url(c->conn, buf, sizeof buf);
    if (*buf)
        lua_pushstring(L, buf);
    else
        lua_pushnil(L);
    return 1;
}

/* nc:server_info(): the server's INFO decoded into a table (version,
 * server_id, port, max_payload, jetstream, headers, ...) with the text
 * itself under `json`. */
static int l_server_info(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    if (!c->conn)
        return ljw_conn_closed(L);
    size_t size = 1 << 16;
    char *buf = lua_newuserdatauv(L, size, 0);
    jw_status st = jw_conn_server_info(c->conn, buf, size);
    if (st != JW_OK)
        return ljw_fail(L, st);
    if (ljw_push_json(L, buf) != 1)
        return 2;
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    lua_pushstring(L, buf);
    lua_setfield(L, -2, "json");
    return 1;
}

static int l_max_payload(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    if (!c->conn)
        return ljw_conn_closed(L);
    lua_pushinteger(L, (lua_Integer)jw_conn_max_payload(c->conn));
    return 1;
}

/* nc:stats(): every counter the engine has, by the engine's names (the
 * stats are numbered from 0 up to the first without a name). */
static int l_stats(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    if (c->conn) {
        push_stats(L, c->conn);
        return 1;
    }
    /* Closed: the counters as they were at the close (a copy). */
    lua_getiuservalue(L, 1, 1);
    if (lua_getfield(L, -1, "stats") != LUA_TTABLE)
        return ljw_conn_closed(L);
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, -4);
    }
    return 1;
}

static int l_new_inbox(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    if (!c->conn)
        return ljw_conn_closed(L);
    char buf[128];
    jw_status st = jw_conn_new_inbox(c->conn, buf, sizeof buf);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushstring(L, buf);
    return 1;
}

static int l_tostring(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    if (!c->conn) {
        lua_pushliteral(L, "jetwire.Connection (closed)");
        return 1;
    }
    char url[1024] = "";
    jw_conn_connected_url(c->conn, url, sizeof url);
    lua_pushfstring(L, "jetwire.Connection (%s%s%s)", status_name(c),
                    *url ? " " : "", url);
    return 1;
}

static const luaL_Reg methods[] = {
    {"publish", l_publish},
    {"publish_packed", l_publish_packed},
    {"request", l_request},
    {"subscribe", l_subscribe},
    {"flush", l_flush},
    {"rtt", l_rtt},
    {"drain", l_drain},
    {"close", l_close},
    {"status", l_status},
    {"is_connected", l_is_connected},
    {"connected_url", l_connected_url},
    {"servers", l_servers},
    {"discovered_servers", l_discovered_servers},
    {"server_info", l_server_info},
    {"max_payload", l_max_payload},
    {"stats", l_stats},
    {"new_inbox", l_new_inbox},
    {"jetstream", ljw_jetstream},
    {"add_service", ljw_add_service},
    {"service_ping", ljw_service_ping},
    {"service_info", ljw_service_info},
    {"service_stats", ljw_service_stats},
    {NULL, NULL},
};

void ljw_conn_register(lua_State *L)
{
    luaL_newmetatable(L, LJW_CONN);
    /* Each method has the metatable as upvalue 1 (ljw_check_self). */
    luaL_newlibtable(L, methods);
    lua_pushvalue(L, -2);
    luaL_setfuncs(L, methods, 1);
    ljw_loop_methods(L);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
}
