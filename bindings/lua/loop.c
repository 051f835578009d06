/*
 * The parts of a connection that serve event loops and coroutine
 * schedulers: the readable fd and process(), requests started without
 * waiting (request_start, request_poll, request_cancel), connection events,
 * and jetwire.poll for Lua programs without an event library.
 */
#include "ljw.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Started requests and the fd
 */

/* The finished started requests wait in state.done, a queue holding its
 * entries at [done.first, done.last] (empty when first > last), so that
 * taking one costs the same however many wait. */
static lua_Integer queue_bound(lua_State *L, int queue, const char *which,
                               lua_Integer empty)
{
    lua_Integer v = lua_getfield(L, queue, which) == LUA_TNUMBER
                        ? lua_tointeger(L, -1)
                        : empty;
    lua_pop(L, 1);
    return v;
}

static void queue_set(lua_State *L, int queue, lua_Integer first,
                      lua_Integer last)
{
    if (first > last) { /* empty: start again from 1 */
        first = 1;
        last = 0;
    }
    lua_pushinteger(L, first);
    lua_setfield(L, queue, "first");
    lua_pushinteger(L, last);
    lua_setfield(L, queue, "last");
}

/* Move the engine's request completions into state.done; returns how
 * many wait there. */
int ljw_take_completions(lua_State *L, int conn_idx)
{
    ljw_conn *c = lua_touserdata(L, conn_idx);
    lua_getiuservalue(L, conn_idx, 1);
    lua_getfield(L, -1, "done");
    int done = lua_gettop(L);
    lua_Integer first = queue_bound(L, done, "first", 1);
    lua_Integer last = queue_bound(L, done, "last", 0);
    while (c->conn) {
        uint64_t id;
        jw_status status;
        /* The userdata first, so that the reply is owned at once. */
        ljw_msg *m = ljw_new_msg(L, conn_idx);
        if (jw_conn_request_poll(c->conn, &id, &status, &m->msg) != 1) {
            lua_pop(L, 1);
            break;
        }
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, (lua_Integer)id);
        lua_setfield(L, -2, "id");
        if (status == JW_OK) {
            lua_pushvalue(L, -2);
            lua_setfield(L, -2, "msg");
        } else {
            ljw_push_error(L, status, NULL);
            lua_setfield(L, -2, "err");
        }
        lua_rawseti(L, done, ++last);
        lua_pop(L, 1);
    }
    queue_set(L, done, first, last);
    lua_pop(L, 2);
    return (int)(last - first + 1);
}

/* Append a completion taken from the engine to state.done at done (the
 * message userdata at msg_idx holds its reply, if any). */
static void queue_completion(lua_State *L, int done, int msg_idx,
                             uint64_t id, jw_status status)
{
    lua_Integer first = queue_bound(L, done, "first", 1);
    lua_Integer last = queue_bound(L, done, "last", 0);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)id);
    lua_setfield(L, -2, "id");
    if (status == JW_OK) {
        lua_pushvalue(L, msg_idx);
        lua_setfield(L, -2, "msg");
    } else {
        ljw_push_error(L, status, NULL);
        lua_setfield(L, -2, "err");
    }
    lua_rawseti(L, done, ++last);
    queue_set(L, done, first, last);
}

/* Take completions until that of request id: 1 (its reply in the
 * userdata on the top of the stack, its status in *status) or 0. Those of
 * other started requests go to state.done, for request_poll. */
static int take_reply(lua_State *L, int conn_idx, int done, uint64_t id,
                      jw_status *status)
{
    ljw_conn *c = lua_touserdata(L, conn_idx);
    for (;;) {
        /* The userdata first, so that a reply is owned at once. */
        ljw_msg *m = ljw_new_msg(L, conn_idx);
        uint64_t got;
        if (jw_conn_request_poll(c->conn, &got, status, &m->msg) != 1) {
            lua_pop(L, 1);
            return 0;
        }
        if (got == id)
            return 1;
        queue_completion(L, done, lua_gettop(L), got, *status);
        lua_pop(L, 1);
    }
}

int ljw_request_wait(lua_State *L, int conn_idx, uint64_t id,
                     const char *subject, int64_t ms)
{
    ljw_conn *c = lua_touserdata(L, conn_idx);
    lua_getiuservalue(L, conn_idx, 1);
    lua_getfield(L, -1, "done");
    int done = lua_gettop(L);
    int fd = jw_conn_fd(c->conn), was_reset = 0;
    jw_status status = JW_OK;
    int64_t slice = 0;
    ljw_wait w;
    ljw_wait_begin(L, &w, ms);
    while (!take_reply(L, conn_idx, done, id, &status)) {
        slice = ljw_wait_step(&w);
        if (slice < 0)
            break;
        if (c->loop) {
            /* Driven: the reply is read and completed in this run. */
            jw_loop_run(c->loop, slice);
            continue;
        }
        struct pollfd pfd[2] = {{fd, POLLIN, 0}};
        int rc = ljw_poll_slices(L, pfd, 1, slice);
        if (rc == LJW_WAIT_INTERRUPTED) {
            slice = LJW_WAIT_INTERRUPTED;
            break;
        }
        if (rc > 0) {
            jw_conn_fd_reset(c->conn);
            was_reset = 1;
        }
    }
    if (was_reset && c->fd_used) {
        /* The reset may have taken a transition meant for the program's
         * event loop (a delivery, an event, another request): signal it
         * again. The engine's fd is an eventfd. */
        uint64_t one = 1;
        ssize_t rc = write(fd, &one, sizeof one);
        (void)rc;
    }
    if (slice < 0) {
        /* Forget it; a completion that raced in is taken instead. */
        if (jw_conn_request_cancel(c->conn, id) != JW_OK &&
            take_reply(L, conn_idx, done, id, &status))
            slice = 0;
    }
    if (slice == LJW_WAIT_INTERRUPTED)
        return ljw_fail_interrupted(L);
    if (slice == LJW_WAIT_EXPIRED)
        return ljw_fail_timeout(L, lua_pushfstring(L, "no reply from '%s'",
                                                   subject), ms);
    if (status == JW_ENO_RESPONDERS)
        return ljw_fail_msg(L, status,
                            lua_pushfstring(L, "no responders on '%s'",
                                            subject));
    if (status != JW_OK)
        return ljw_fail_msg(L, status,
                            lua_pushfstring(L, "request failed: %s",
                                            jw_strerror(status)));
    return 1;
}

/* nc:process(): reset the readable fd, take the finished started
 * requests, run the event handlers set with nc:on and the handlers of the
 * connection's services for every request queued (service.c); returns
 * how many requests wait in request_poll. Call it when the fd fired,
 * then pull subscriptions (next_msg(0)) until they are empty. */
static int l_process(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    lua_settop(L, 1);
    if (c->conn)
        jw_conn_fd_reset(c->conn);
    int done = ljw_take_completions(L, 1);
    ljw_run_handlers(L, 1);
    ljw_run_services(L, 1);
    lua_pushinteger(L, done);
    return 1;
}

/* nc:ready([max = 256]) -> list of the subscriptions that got messages
 * (or ended) since they were last listed, oldest first (jw_conn_ready):
 * after the fd fired, pull those until they are empty instead of every
 * subscription of the connection. */
static int l_ready(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    lua_Integer max = luaL_optinteger(L, 2, LJW_BATCH);
    luaL_argcheck(L, max >= 1, 2, "max must be at least 1");
    lua_settop(L, 1);
    if (!c->conn)
        return ljw_conn_closed(L);
    lua_newtable(L);
    int out = lua_gettop(L);
    lua_getiuservalue(L, 1, 1);
    lua_getfield(L, -1, "subs"); /* jw_sub pointer -> subscription */
    int subs = lua_gettop(L);
    lua_Integer k = 0;
    uint64_t tags[LJW_BATCH];
    while (k < max) {
        int want = max - k < LJW_BATCH ? (int)(max - k) : LJW_BATCH;
        int n = jw_conn_ready(c->conn, tags, want);
        for (int i = 0; i < n; i++) {
            /* A subscription collected meanwhile is not there. */
            if (lua_rawgetp(L, subs, (void *)(uintptr_t)tags[i]) ==
                LUA_TUSERDATA)
                lua_rawseti(L, out, ++k);
            else
                lua_pop(L, 1);
        }
        if (n < want)
            break;
    }
    lua_settop(L, out);
    return 1;
}

static int l_fd(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    if (!c->conn)
        return ljw_conn_closed(L);
    c->fd_used = 1;
    lua_pushinteger(L, jw_conn_fd(c->conn));
    return 1;
}

/* nc:loop_fd() -> integer: for a scheduler or event library driving a
 * connection made with loop = "driven" (shared by the state's driven
 * connections): watch it for reading, and call nc:run(0) when it is
 * readable and when nc:loop_timeout() seconds have passed (jw_loop_fd). */
static int l_loop_fd(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    if (!c->conn)
        return ljw_conn_closed(L);
    if (!c->loop)
        return ljw_fail_msg(L, JW_EINVAL,
                            "loop_fd() is for connections made with "
                            "loop = \"driven\"");
    int fd = jw_loop_fd(c->loop);
    if (fd < 0)
        return ljw_fail(L, (jw_status)fd);
    lua_pushinteger(L, fd);
    return 1;
}

/* nc:loop_timeout() -> seconds until the driven loop must run for its
 * timers, or nil when none is set (asked again after each run). */
static int l_loop_timeout(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    if (!c->conn)
        return ljw_conn_closed(L);
    if (!c->loop)
        return ljw_fail_msg(L, JW_EINVAL,
                            "loop_timeout() is for connections made with "
                            "loop = \"driven\"");
    int64_t ms = jw_loop_timeout_ms(c->loop);
    if (ms < 0)
        lua_pushnil(L);
    else
        lua_pushnumber(L, (lua_Number)ms / 1000.0);
    return 1;
}

/* nc:run([timeout = 0]) -> true: a connection made with loop = "driven"
 * does its socket and timer work here (and inside the calls that wait):
 * run it whenever the program is not inside a jetwire call, waiting up to
 * timeout seconds for something to happen. */
static int l_run(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, 0);
    if (!c->conn)
        return ljw_conn_closed(L);
    if (!c->loop)
        return ljw_fail_msg(L, JW_EINVAL,
                            "run() is for connections made with "
                            "loop = \"driven\"");
    /* In slices a signal can end; the run ends with the first slice in
     * which something happened (it returned before its timer). */
    ljw_wait w;
    ljw_wait_begin(L, &w, ms);
    for (;;) {
        int64_t slice = ljw_wait_step(&w);
        if (slice == LJW_WAIT_INTERRUPTED)
            return ljw_fail_interrupted(L);
        if (slice == LJW_WAIT_EXPIRED)
            break;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        jw_status st = jw_loop_run(c->loop, slice);
        if (st != JW_OK)
            return ljw_fail(L, st);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int64_t took_ms = (t1.tv_sec - t0.tv_sec) * 1000 +
                          (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (slice == 0 || took_ms + 1 < slice)
            break;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static const char *const request_options[] = {"headers", NULL};

/* nc:request_start(subject, data [, {headers = }]) -> id */
static int l_request_start(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    size_t subject_len, len;
    const char *subject = ljw_check_string(L, 2, &subject_len);
    const char *data = ljw_opt_data(L, 3, &len);
    ljw_check_options(L, 4, request_options);
    int headers = ljw_push_headers_option(L, 4);
    if (!c->conn)
        return ljw_conn_closed(L);
    if (ljw_has_nul(subject, subject_len))
        return ljw_bad_subject(L, "subject");
    jw_msg *m;
    jw_status st = ljw_build_msg(L, subject, NULL, data, len, headers, &m);
    void **box = lua_touserdata(L, -1);
    uint64_t id = 0;
    if (st == JW_OK)
        st = jw_conn_request_start(c->conn, m, &id);
    if (st != JW_OK)
        return ljw_fail(L, st);
    ljw_box_forget(box);
    lua_pushinteger(L, (lua_Integer)id);
    return 1;
}

/* nc:request_poll() -> id, msg | id, nil, err | nil (none finished). */
static int l_request_poll(lua_State *L)
{
    ljw_check_conn(L, 1);
    lua_settop(L, 1);
    ljw_take_completions(L, 1);
    lua_getiuservalue(L, 1, 1);
    lua_getfield(L, -1, "done");
    int done = lua_gettop(L);
    lua_Integer first = queue_bound(L, done, "first", 1);
    lua_Integer last = queue_bound(L, done, "last", 0);
    if (first > last) {
        lua_pushnil(L);
        return 1;
    }
    lua_rawgeti(L, done, first);
    int entry = lua_gettop(L);
    lua_pushnil(L);
    lua_rawseti(L, done, first);
    queue_set(L, done, first + 1, last);
    lua_getfield(L, entry, "id");
    lua_getfield(L, entry, "msg");
    if (lua_getfield(L, entry, "err") != LUA_TNIL)
        return 3;
    lua_pop(L, 1);
    return 2;
}

/* nc:request_cancel(id): forget a started request. */
static int l_request_cancel(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    lua_settop(L, 2);
    /* A completion already taken is dropped from the queue as well. */
    int removed = 0;
    lua_getiuservalue(L, 1, 1);
    lua_getfield(L, -1, "done");
    int done = lua_gettop(L);
    lua_Integer first = queue_bound(L, done, "first", 1);
    lua_Integer last = queue_bound(L, done, "last", 0), kept = first - 1;
    for (lua_Integer i = first; i <= last; i++) {
        lua_rawgeti(L, done, i);
        lua_getfield(L, -1, "id");
        if (lua_tointeger(L, -1) == id) {
            removed = 1;
            lua_pop(L, 2);
            continue;
        }
        lua_pop(L, 1);
        lua_rawseti(L, done, ++kept);
    }
    for (lua_Integer i = kept + 1; i <= last; i++) {
        lua_pushnil(L);
        lua_rawseti(L, done, i);
    }
    queue_set(L, done, first, kept);
    if (removed) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (!c->conn)
        return ljw_conn_closed(L);
    jw_status st = jw_conn_request_cancel(c->conn, (uint64_t)id);
    if (st != JW_OK)
        return ljw_fail(L, st);
    lua_pushboolean(L, 1);
    return 1;
}

/* jetwire.poll(items, timeout) -> the items that are readable. items are
 * file descriptors (integers) or connections (their fd). For Lua programs
 * without an event library: a closed connection counts as ready. */
int ljw_poll(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int64_t ms = ljw_timeout_ms(L, 2, -1);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    if (n > 4096)
        return luaL_argerror(L, 1, "too many items");
    /* One more slot: ljw_poll_slices adds the signals' pipe. */
    struct pollfd *fds =
        lua_newuserdatauv(L, sizeof(*fds) * (size_t)(n + 1), 0);
    int ready_now = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        int fd = -1;
        lua_rawgeti(L, 1, i);
        if (lua_isinteger(L, -1)) {
            lua_Integer v = lua_tointeger(L, -1);
            if (v < 0 || v > INT_MAX)
                return luaL_argerror(L, 1, "file descriptor out of range");
            fd = (int)v;
        } else {
            ljw_conn *c = luaL_testudata(L, -1, LJW_CONN);
            if (!c)
                return luaL_argerror(L, 1,
                                     "items must be file descriptors "
                                     "or connections");
            if (c->conn) {
                fd = jw_conn_fd(c->conn);
                c->fd_used = 1;
            } else {
                ready_now = 1;
            }
        }
        lua_pop(L, 1);
        fds[i - 1].fd = fd; /* a negative fd is ignored by poll */
        fds[i - 1].events = POLLIN;
        fds[i - 1].revents = 0;
    }
    int rc = ljw_poll_slices(L, fds, (int)n, ready_now ? 0 : ms);
    if (rc == LJW_WAIT_INTERRUPTED)
        return ljw_fail_interrupted(L);
    if (rc < 0)
        return ljw_fail_msg(L, JW_EIO, strerror(errno));
    lua_newtable(L);
    lua_Integer out = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        int ready = rc > 0 && fds[i - 1].revents != 0;
        if (fds[i - 1].fd < 0) {
            lua_rawgeti(L, 1, i);
            ready = luaL_testudata(L, -1, LJW_CONN) != NULL;
            lua_pop(L, 1);
        }
        if (ready) {
            lua_rawgeti(L, 1, i);
            lua_rawseti(L, -2, ++out);
        }
    }
    return 1;
}

/* ------------------------------------------------------------------------
 * Events
 */

static void free_event(void *p)
{
    jw_event_free(p);
}

/* Push the Lua name of an event kind: the engine's name in lowercase
 * ("disconnected", ...); "unknown" for a kind the engine does not name. */
static void push_event_kind(lua_State *L, jw_event_kind kind)
{
    const char *name = jw_event_kind_name(kind);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (const char *p = name ? name : "unknown"; *p; p++)
        luaL_addchar(&b, (char)tolower((unsigned char)*p));
    luaL_pushresult(&b);
}

/* Push {kind = , code = , text = , sub = } for ev. */
static void push_event(lua_State *L, int conn_idx, const jw_event *ev)
{
    lua_createtable(L, 0, 4);
    push_event_kind(L, jw_event_kind_get(ev));
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, jw_status_name(jw_event_status(ev)));
    lua_setfield(L, -2, "code");
    lua_pushstring(L, jw_event_text(ev));
    lua_setfield(L, -2, "text");
    jw_sub *sub = jw_event_sub(ev);
    if (sub) {
        lua_getiuservalue(L, conn_idx, 1);
        lua_getfield(L, -1, "subs");
        lua_rawgetp(L, -1, sub);
        lua_setfield(L, -4, "sub");
        lua_pop(L, 2);
    }
}

/* nc:next_event([timeout = 0]) -> {kind = , code = , text = , sub = } */
static int l_next_event(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, 0);
    lua_settop(L, 1);
    if (!c->conn)
        return ljw_conn_closed(L);
    void **slot = ljw_box_new(L, free_event);
    jw_status st;
    ljw_wait w;
    ljw_wait_begin(L, &w, ms);
    for (;;) {
        int64_t slice = ljw_wait_step(&w);
        if (slice == LJW_WAIT_INTERRUPTED)
            return ljw_fail_interrupted(L);
        if (slice == LJW_WAIT_EXPIRED)
            return ljw_fail_timeout(L, "no event", ms);
        st = jw_conn_next_event(c->conn, slice, (jw_event **)slot);
        if (st != JW_ETIMEOUT)
            break;
    }
    if (st != JW_OK)
        return ljw_fail(L, st);
    push_event(L, 1, *slot);
    ljw_box_forget(slot);
    return 1;
}

/* Check that the string at arg is the Lua name of an event kind: the
 * kinds are numbered from JW_EVENT_DISCONNECTED up to the first the engine
 * does not name. */
static void check_event_kind(lua_State *L, int arg)
{
    luaL_checkstring(L, arg);
    for (jw_event_kind k = JW_EVENT_DISCONNECTED; jw_event_kind_name(k);
         k = (jw_event_kind)(k + 1)) {
        push_event_kind(L, k);
        int same = lua_rawequal(L, arg, -1);
        lua_pop(L, 1);
        if (same)
            return;
    }
    luaL_argerror(L, arg,
                  lua_pushfstring(L, "invalid option '%s'",
                                  lua_tostring(L, arg)));
}

/* nc:on(kind, fn | nil): run fn(event) inside process() for events of
 * this kind. Once any handler is set, process() takes every queued event
 * (kinds without a handler are dropped), so next_event finds none. */
static int l_on(lua_State *L)
{
    ljw_check_conn(L, 1);
    check_event_kind(L, 2);
    const char *kind = lua_tostring(L, 2);
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TFUNCTION);
    lua_settop(L, 3);
    lua_getiuservalue(L, 1, 1);
    if (lua_getfield(L, -1, "handlers") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, "handlers");
    }
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, kind);
    lua_pushboolean(L, 1);
    return 1;
}

/* Run the handlers set with nc:on for every queued event (process()). */
void ljw_run_handlers(lua_State *L, int conn_idx)
{
    ljw_conn *c = lua_touserdata(L, conn_idx);
    lua_getiuservalue(L, conn_idx, 1);
    if (lua_getfield(L, -1, "handlers") != LUA_TTABLE || !c->conn) {
        lua_pop(L, 2);
        return;
    }
    int handlers = lua_gettop(L);
    lua_pushnil(L);
    int any = lua_next(L, handlers);
    if (any)
        lua_pop(L, 2);
    while (any && c->conn) {
        /* Boxed first, so a handler that raises does not leak it. */
        void **slot = ljw_box_new(L, free_event);
        if (jw_conn_next_event(c->conn, 0, (jw_event **)slot) != JW_OK) {
            lua_pop(L, 1);
            break;
        }
        push_event_kind(L, jw_event_kind_get(*slot));
        lua_gettable(L, handlers);
        if (lua_isfunction(L, -1)) {
            push_event(L, conn_idx, *slot);
            lua_call(L, 1, 0);
        } else {
            lua_pop(L, 1);
        }
        ljw_box_forget(slot);
        lua_pop(L, 1);
    }
    lua_settop(L, handlers - 2);
}

static const luaL_Reg loop_methods[] = {
    {"fd", l_fd},
    {"run", l_run},
    {"loop_fd", l_loop_fd},
    {"loop_timeout", l_loop_timeout},
    {"process", l_process},
    {"ready", l_ready},
    {"request_start", l_request_start},
    {"request_poll", l_request_poll},
    {"request_cancel", l_request_cancel},
    {"next_event", l_next_event},
    {"on", l_on},
    {NULL, NULL},
};

/* Add these methods to the connection's method table (on the stack). */
void ljw_loop_methods(lua_State *L)
{
    luaL_setfuncs(L, loop_methods, 0);
}
