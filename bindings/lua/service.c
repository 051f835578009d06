/*
 * Services, the NATS micro API (ADR-32): nc:add_service, its groups and
 * endpoints, the requests their Lua handlers get, and discovery
 * (nc:service_ping, nc:service_info, nc:service_stats).
 *
 * The engine owns the service: the configurations (Lua tables handed over
 * as JSON, with only the binding's own keys taken out: an endpoint's
 * handler, the service's stats_handler), the $SRV answers and the
 * statistics. Endpoints are added without a C handler, so their requests
 * queue in the endpoint's subscription; nc:process() (and svc:wait) runs
 * the Lua handler for each, bracketed with jw_endpoint_begin and
 * jw_endpoint_end, or jw_endpoint_fail when it raised (the engine answers
 * 500 and counts the error). Lua never runs on the engine's thread, so
 * the engine's C stats hook is not used: the stats handler runs after
 * each request and when an endpoint is added, and what it returns
 * becomes the endpoint's STATS data (jw_endpoint_set_stats_data).
 *
 * Lifetimes (ljw.h has the module's rules):
 *  - A service's user values: 1 its connection (pinned), 2 the list of
 *    its endpoints' userdata (in the order added), 3 its stats handler.
 *  - The connection's state table holds its running services
 *    (services: Service -> true), so that process() finds them and a
 *    service whose handle the program dropped goes on answering, as an
 *    nc:on handler does. A service leaves it when closed, or once stopped
 *    with every request handled; its __gc then frees it.
 *  - Groups and endpoints are borrowed from the service: their first
 *    user value pins the service's userdata, they free nothing, and they
 *    are dead once the service is closed.
 *  - A request lives while its handler runs: the engine's message is
 *    freed when the handler returns, after jw_endpoint_end or _fail.
 *  - Closing a service from inside one of its handlers (or its stats
 *    handler) is deferred until that handler returns: the engine's
 *    endpoint must outlive jw_endpoint_end.
 */
#include <limits.h>
#include <string.h>

#include "ljw.h"

#define LJW_SERVICE  "jetwire.Service"
#define LJW_GROUP    "jetwire.ServiceGroup"
#define LJW_ENDPOINT "jetwire.Endpoint"
#define LJW_REQUEST  "jetwire.ServiceRequest"

/* The service's user values. */
#define UV_CONN      1
#define UV_ENDPOINTS 2
#define UV_STATS     3

typedef struct ljw_service {
    jw_service *svc;   /* NULL once closed */
    int busy;          /* its handlers running now (nested calls count) */
    int close_pending; /* closed while busy: freed when busy drops to 0 */
} ljw_service;

/* Groups and endpoints: owner is the service userdata their first user
 * value pins (a userdata never moves). */
typedef struct ljw_group {
    jw_service_group *group;
    ljw_service *owner;
} ljw_group;

typedef struct ljw_endpoint {
    jw_endpoint *ep; /* the handler is the second user value */
    ljw_service *owner;
} ljw_endpoint;

/* A request: the same first member as ljw_msg, and the same user values
 * (1 the connection, 2 the headers table once built), then 3 its
 * endpoint's userdata. */
typedef struct ljw_request {
    jw_msg *msg;     /* NULL once its handler returned */
    jw_endpoint *ep; /* NULL likewise */
    int responded;   /* respond or respond_error succeeded */
} ljw_request;

static const char *const REQUEST_GONE =
    "request was handled: its handler returned";

static int live(const ljw_service *s)
{
    return s->svc && !s->close_pending;
}

static int service_closed(lua_State *L)
{
    return ljw_fail_msg(L, JW_EINVAL, "service was closed");
}

static ljw_service *check_service(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_SERVICE);
}

/* ------------------------------------------------------------------------
 * The connection's running services
 */

/* Push the connection's set of running services (made when create). */
static int push_running(lua_State *L, int conn_idx, int create)
{
    lua_getiuservalue(L, conn_idx, 1);
    if (lua_getfield(L, -1, "services") != LUA_TTABLE && create) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, "services");
    }
    lua_remove(L, -2);
    return lua_istable(L, -1);
}

/* Take the service at svc_idx out of its connection's running set. */
static void forget_running(lua_State *L, int svc_idx)
{
    svc_idx = lua_absindex(L, svc_idx);
    if (lua_getiuservalue(L, svc_idx, UV_CONN) == LUA_TUSERDATA &&
        push_running(L, lua_gettop(L), 0)) {
        lua_pushvalue(L, svc_idx);
        lua_pushnil(L);
        lua_rawset(L, -3);
    }
    lua_pop(L, 2);
}

/* ------------------------------------------------------------------------
 * Configurations
 */

/* The configuration table at arg without the binding's own keys (own,
 * NULL-terminated; may be NULL) as JSON text for the engine, kept alive by
 * a box pushed on the stack. The copy takes the table's place at arg, so
 * that errors name the argument; everything else in it is the engine's
 * to judge. */
static const char *config_text(lua_State *L, int arg, const char *const *own)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        int skip = 0;
        if (own && lua_type(L, -2) == LUA_TSTRING)
            for (int i = 0; own[i] && !skip; i++)
                skip = strcmp(lua_tostring(L, -2), own[i]) == 0;
        if (skip) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    lua_replace(L, arg);
    return ljw_config_json(L, arg, NULL);
}

/* Push field name of the table at arg, which must be a function or nil. */
static int opt_function(lua_State *L, int arg, const char *name)
{
    int t = lua_getfield(L, arg, name);
    if (t != LUA_TNIL && t != LUA_TFUNCTION)
        luaL_argerror(L, arg,
                      lua_pushfstring(L, "'%s' must be a function", name));
    return t == LUA_TFUNCTION;
}

/* ------------------------------------------------------------------------
 * Running handlers
 */

/* Both the Lua handler and the stats handler run protected: their errors
 * become a warning (lua_warning, which lua5.4 prints once turned on with
 * -W or warn("@on"), as it does for errors in finalizers) and, for a
 * request handler, the 500 reply. Warnings are written in pieces, which
 * allocate nothing, so that no error can leave a request unended. */
static void warn_failure(lua_State *L, const char *what, jw_endpoint *ep,
                         const char *why, const char *reply_error)
{
    lua_warning(L, "jetwire: ", 1);
    lua_warning(L, what, 1);
    lua_warning(L, " of endpoint '", 1);
    lua_warning(L, jw_endpoint_name(ep), 1);
    lua_warning(L, "' failed: ", 1);
    lua_warning(L, why, reply_error != NULL);
    if (reply_error) {
        lua_warning(L, " (its 500 reply failed: ", 1);
        lua_warning(L, reply_error, 1);
        lua_warning(L, ")", 0);
    }
}

/* The message handler of those calls: the error value as a string
 * (jetwire's error values read "CODE: message"). */
static int error_text(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TSTRING)
        luaL_tolstring(L, 1, NULL);
    return 1;
}

/* stats_data(fn, ep): fn(ep) as the endpoint's STATS data. */
static int stats_data(lua_State *L)
{
    ljw_endpoint *e = lua_touserdata(L, 2);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 1, 1);
    const char *json = NULL;
    if (!lua_isnil(L, -1)) {
        ljw_json_encode(L, lua_gettop(L));
        json = lua_tostring(L, -1);
    }
    if (!live(e->owner)) /* the stats handler closed the service */
        return 0;
    if (jw_endpoint_set_stats_data(e->ep, json) != JW_OK)
        return luaL_error(L, "%s", jw_last_error());
    return 0;
}

static void free_service(ljw_service *s);

/* Run the service's stats handler, if it has one, for the endpoint at
 * ep_idx. Raises nothing (the stack has room: the callers checked). */
static void update_stats(lua_State *L, int svc_idx, int ep_idx)
{
    ljw_service *s = lua_touserdata(L, svc_idx);
    ljw_endpoint *e = lua_touserdata(L, ep_idx);
    if (!live(s))
        return;
    int top = lua_gettop(L);
    lua_pushcfunction(L, error_text);
    lua_pushcfunction(L, stats_data);
    if (lua_getiuservalue(L, svc_idx, UV_STATS) == LUA_TFUNCTION) {
        lua_pushvalue(L, ep_idx);
        s->busy++;
        if (lua_pcall(L, 2, 0, top + 1) != LUA_OK)
            warn_failure(L, "stats_handler", e->ep, lua_tostring(L, -1),
                         NULL);
        if (--s->busy == 0 && s->close_pending)
            free_service(s);
    }
    lua_settop(L, top);
}

static void free_service(ljw_service *s)
{
    jw_service *svc = s->svc;
    s->svc = NULL;
    s->close_pending = 0;
    jw_service_free(svc);
}

static ljw_request *new_request(lua_State *L, int svc_idx, int ep_idx)
{
    ljw_request *r = lua_newuserdatauv(L, sizeof(*r), 3);
    r->msg = NULL;
    r->ep = NULL;
    r->responded = 0;
    luaL_setmetatable(L, LJW_REQUEST);
    lua_getiuservalue(L, svc_idx, UV_CONN);
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, ep_idx);
    lua_setiuservalue(L, -2, 3);
    return r;
}

/* Handle every request queued for the endpoint at ep_idx of the service
 * at svc_idx. Between taking a request and ending it nothing can raise:
 * each request taken is ended or failed. */
static void run_endpoint(lua_State *L, int svc_idx, int ep_idx)
{
    ljw_service *s = lua_touserdata(L, svc_idx);
    ljw_endpoint *e = lua_touserdata(L, ep_idx);
    luaL_checkstack(L, 12, "jetwire: service handlers");
    int top = lua_gettop(L);
    while (live(s)) {
        jw_sub *sub = jw_endpoint_sub(e->ep);
        /* The userdata first, so that a request taken is owned at once. */
        ljw_request *r = new_request(L, svc_idx, ep_idx);
        if (!sub || jw_sub_next_batch(sub, &r->msg, 1, 0) != 1) {
            r->msg = NULL;
            break;
        }
        r->ep = e->ep;
        lua_pushcfunction(L, error_text);
        lua_getiuservalue(L, ep_idx, 2);
        lua_pushvalue(L, top + 1);
        s->busy++;
        int64_t begun = jw_endpoint_begin(e->ep);
        int rc = lua_pcall(L, 1, 0, top + 2);
        jw_msg *msg = r->msg;
        r->msg = NULL;
        r->ep = NULL;
        if (rc == LUA_OK) {
            jw_endpoint_end(e->ep, begun);
        } else {
            const char *why = lua_tostring(L, -1);
            if (!why || !*why)
                why = "handler failed";
            jw_status st = jw_endpoint_fail(e->ep, r->responded ? NULL : msg,
                                            begun, why);
            warn_failure(L, "handler", e->ep, why,
                         st != JW_OK ? jw_last_error() : NULL);
        }
        jw_msg_free(msg);
        lua_settop(L, top);
        update_stats(L, svc_idx, ep_idx);
        if (--s->busy == 0 && s->close_pending)
            free_service(s);
    }
    lua_settop(L, top);
}

/* Every endpoint of the service at svc_idx, including those its handlers
 * add meanwhile. */
static void run_service(lua_State *L, int svc_idx)
{
    ljw_service *s = lua_touserdata(L, svc_idx);
    lua_getiuservalue(L, svc_idx, UV_ENDPOINTS);
    int list = lua_gettop(L);
    for (lua_Integer i = 1; live(s) && i <= (lua_Integer)lua_rawlen(L, list);
         i++) {
        lua_rawgeti(L, list, i);
        ljw_endpoint *e = lua_touserdata(L, -1);
        if (e && e->ep)
            run_endpoint(L, svc_idx, lua_gettop(L));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

void ljw_run_services(lua_State *L, int conn_idx)
{
    conn_idx = lua_absindex(L, conn_idx);
    if (!push_running(L, conn_idx, 0)) {
        lua_pop(L, 1);
        return;
    }
    /* A list first: handlers may add and close services. */
    int set = lua_gettop(L);
    lua_newtable(L);
    int list = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, set)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, list, ++n);
    }
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, list, i);
        ljw_service *s = lua_touserdata(L, -1);
        if (live(s))
            run_service(L, lua_gettop(L));
        /* Stopped with every request handled: nothing more to run. */
        if (!live(s) || jw_service_stopped(s->svc) == 1)
            forget_running(L, -1);
        lua_pop(L, 1);
    }
    lua_settop(L, set - 1);
}

/* ------------------------------------------------------------------------
 * Adding services, groups and endpoints
 */

static const char *const service_own[] = {"stats_handler", NULL};
static const char *const endpoint_own[] = {"handler", NULL};

/* nc:add_service{name =, version =, ..., stats_handler =} -> a service */
int ljw_add_service(lua_State *L)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    opt_function(L, 2, "stats_handler"); /* 3 */
    const char *json = config_text(L, 2, service_own);
    if (!c->conn)
        return ljw_conn_closed(L);
    ljw_service *s = lua_newuserdatauv(L, sizeof(*s), 3);
    s->svc = NULL;
    s->busy = s->close_pending = 0;
    luaL_setmetatable(L, LJW_SERVICE);
    int svc_idx = lua_gettop(L);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, svc_idx, UV_CONN);
    lua_newtable(L);
    lua_setiuservalue(L, svc_idx, UV_ENDPOINTS);
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, svc_idx, UV_STATS);
    /* In the running set before the engine's call, so that nothing after
     * it can raise. */
    push_running(L, 1, 1);
    lua_pushvalue(L, svc_idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    jw_status st = jw_service_new(c->conn, json, &s->svc);
    if (st != JW_OK) {
        int n = ljw_fail(L, st); /* first: it copies the engine's text */
        forget_running(L, svc_idx);
        return n;
    }
    lua_settop(L, svc_idx);
    return 1;
}

/* add_endpoint on the service at svc_idx, in group (NULL: the service's
 * top); the configuration is argument 2. */
static int add_endpoint(lua_State *L, int svc_idx, jw_service_group *group)
{
    ljw_service *s = lua_touserdata(L, svc_idx);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!opt_function(L, 2, "handler"))
        luaL_argerror(L, 2, "'handler' must be a function");
    int handler = lua_gettop(L);
    const char *json = config_text(L, 2, endpoint_own);
    if (!live(s))
        return service_closed(L);
    ljw_endpoint *e = lua_newuserdatauv(L, sizeof(*e), 2);
    e->ep = NULL;
    e->owner = s;
    luaL_setmetatable(L, LJW_ENDPOINT);
    int ep_idx = lua_gettop(L);
    lua_pushvalue(L, svc_idx);
    lua_setiuservalue(L, ep_idx, 1);
    lua_pushvalue(L, handler);
    lua_setiuservalue(L, ep_idx, 2);
    /* In the service's list before the engine's call, so that nothing
     * after it can raise: requests of an endpoint not listed would never
     * be handled. */
    lua_getiuservalue(L, svc_idx, UV_ENDPOINTS);
    int list = lua_gettop(L);
    lua_Integer slot = (lua_Integer)lua_rawlen(L, list) + 1;
    lua_pushvalue(L, ep_idx);
    lua_rawseti(L, list, slot);
    jw_status st =
        jw_service_add_endpoint(s->svc, group, json, NULL, NULL, &e->ep);
    if (st != JW_OK) {
        int n = ljw_fail(L, st); /* first: it copies the engine's text */
        lua_pushnil(L);
        lua_rawseti(L, list, slot);
        return n;
    }
    luaL_checkstack(L, 8, "jetwire: service handlers");
    update_stats(L, svc_idx, ep_idx);
    lua_settop(L, ep_idx);
    return 1;
}

static int add_group(lua_State *L, int svc_idx, jw_service_group *parent)
{
    ljw_service *s = lua_touserdata(L, svc_idx);
    const char *json = config_text(L, 2, NULL);
    if (!live(s))
        return service_closed(L);
    ljw_group *g = lua_newuserdatauv(L, sizeof(*g), 1);
    g->group = NULL;
    g->owner = s;
    luaL_setmetatable(L, LJW_GROUP);
    lua_pushvalue(L, svc_idx);
    lua_setiuservalue(L, -2, 1);
    jw_status st = jw_service_add_group(s->svc, parent, json, &g->group);
    return st == JW_OK ? 1 : ljw_fail(L, st);
}

/* ------------------------------------------------------------------------
 * Services
 */

static int l_svc_add_endpoint(lua_State *L)
{
    check_service(L, 1);
    lua_settop(L, 2);
    return add_endpoint(L, 1, NULL);
}

static int l_svc_add_group(lua_State *L)
{
    check_service(L, 1);
    lua_settop(L, 2);
    return add_group(L, 1, NULL);
}

static int push_text(lua_State *L, const char *(*get)(const jw_service *))
{
    ljw_service *s = check_service(L, 1);
    if (!live(s))
        return service_closed(L);
    lua_pushstring(L, get(s->svc));
    return 1;
}

static int l_svc_id(lua_State *L)
{
    return push_text(L, jw_service_id);
}

static int l_svc_name(lua_State *L)
{
    return push_text(L, jw_service_name);
}

static int l_svc_version(lua_State *L)
{
    return push_text(L, jw_service_version);
}

static int push_document(lua_State *L, jw_status (*get)(jw_service *,
                                                        char **))
{
    ljw_service *s = check_service(L, 1);
    if (!live(s))
        return service_closed(L);
    char *text = NULL;
    jw_status st = get(s->svc, &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

/* svc:info(), svc:stats(): the engine's INFO and STATS answers. */
static int l_svc_info(lua_State *L)
{
    return push_document(L, jw_service_info);
}

static int l_svc_stats(lua_State *L)
{
    return push_document(L, jw_service_stats);
}

static int l_svc_reset(lua_State *L)
{
    ljw_service *s = check_service(L, 1);
    if (!live(s))
        return service_closed(L);
    return ljw_ok_or_fail(L, jw_service_reset(s->svc));
}

/* svc:stop(): the endpoints drain; process() answers what is on the way. */
static int l_svc_stop(lua_State *L)
{
    ljw_service *s = check_service(L, 1);
    if (!live(s))
        return service_closed(L);
    return ljw_ok_or_fail(L, jw_service_stop(s->svc));
}

/* svc:stopped() -> true once stopped with every request handled (the
 * engine says so of a closed service too). */
static int l_svc_stopped(lua_State *L)
{
    ljw_service *s = check_service(L, 1);
    lua_pushboolean(L, jw_service_stopped(live(s) ? s->svc : NULL) == 1);
    return 1;
}

typedef struct wait_ctx {
    lua_State *L;
    ljw_service *s;
    int closed;
} wait_ctx;

/* One slice of svc:wait: run the service's handlers, then wait for the
 * engine to say it stopped. */
static jw_status wait_slice(void *arg, int64_t slice_ms)
{
    wait_ctx *w = arg;
    run_service(w->L, 1);
    if (!live(w->s)) {
        w->closed = 1;
        return JW_EINVAL;
    }
    return jw_service_wait(w->s->svc, slice_ms);
}

/* svc:wait([timeout = math.huge]) -> true once stopped with every request
 * handled; runs the service's handlers meanwhile. */
static int l_svc_wait(lua_State *L)
{
    ljw_service *s = check_service(L, 1);
    int64_t ms = ljw_timeout_ms(L, 2, -1);
    lua_settop(L, 1);
    if (!live(s))
        return service_closed(L);
    wait_ctx w = {L, s, 0};
    jw_status st = ljw_wait_sliced(L, ms, wait_slice, &w);
    if (w.closed)
        return service_closed(L);
    if (st == LJW_INTERRUPTED)
        return ljw_fail_interrupted(L);
    if (st != JW_OK)
        return ljw_fail(L, st);
    forget_running(L, 1);
    lua_pushboolean(L, 1);
    return 1;
}

/* The one finalizer (close, __close, __gc): the engine stops the service
 * if it runs (queued requests are dropped) and frees it with its groups
 * and endpoints. From inside one of its handlers, the free waits for the
 * handler's return. */
static int l_svc_gc(lua_State *L)
{
    ljw_service *s = check_service(L, 1);
    if (!live(s))
        return 0;
    forget_running(L, 1);
    if (s->busy)
        s->close_pending = 1;
    else
        free_service(s);
    return 0;
}

static int l_svc_close(lua_State *L)
{
    l_svc_gc(L);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_svc_tostring(lua_State *L)
{
    ljw_service *s = check_service(L, 1);
    if (!live(s))
        lua_pushliteral(L, "jetwire.Service (closed)");
    else
        lua_pushfstring(L, "jetwire.Service (%s %s, %s)",
                        jw_service_name(s->svc), jw_service_version(s->svc),
                        jw_service_id(s->svc));
    return 1;
}

static const luaL_Reg service_methods[] = {
    {"add_endpoint", l_svc_add_endpoint},
    {"add_group", l_svc_add_group},
    {"id", l_svc_id},
    {"name", l_svc_name},
    {"version", l_svc_version},
    {"info", l_svc_info},
    {"stats", l_svc_stats},
    {"reset", l_svc_reset},
    {"stop", l_svc_stop},
    {"stopped", l_svc_stopped},
    {"wait", l_svc_wait},
    {"close", l_svc_close},
    {NULL, NULL},
};

/* ------------------------------------------------------------------------
 * Groups and endpoints (borrowed)
 */

static ljw_group *check_group(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_GROUP);
}

static int l_group_add_endpoint(lua_State *L)
{
    ljw_group *g = check_group(L, 1);
    lua_settop(L, 2);
    lua_getiuservalue(L, 1, 1);
    return add_endpoint(L, 3, g->group);
}

static int l_group_add_group(lua_State *L)
{
    ljw_group *g = check_group(L, 1);
    lua_settop(L, 2);
    lua_getiuservalue(L, 1, 1);
    return add_group(L, 3, g->group);
}

static int l_group_tostring(lua_State *L)
{
    ljw_group *g = check_group(L, 1);
    if (!live(g->owner))
        lua_pushliteral(L, "jetwire.ServiceGroup (closed)");
    else
        lua_pushfstring(L, "jetwire.ServiceGroup (of %s)",
                        jw_service_name(g->owner->svc));
    return 1;
}

static const luaL_Reg group_methods[] = {
    {"add_endpoint", l_group_add_endpoint},
    {"add_group", l_group_add_group},
    {NULL, NULL},
};

static ljw_endpoint *check_endpoint(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_ENDPOINT);
}

static int push_endpoint_text(lua_State *L,
                              const char *(*get)(const jw_endpoint *))
{
    ljw_endpoint *e = check_endpoint(L, 1);
    if (!live(e->owner))
        return service_closed(L);
    const char *text = get(e->ep);
    if (text)
        lua_pushstring(L, text);
    else
        lua_pushnil(L);
    return 1;
}

static int l_ep_name(lua_State *L)
{
    return push_endpoint_text(L, jw_endpoint_name);
}

static int l_ep_subject(lua_State *L)
{
    return push_endpoint_text(L, jw_endpoint_subject);
}

/* ep:queue_group() -> the queue group, nil when disabled. */
static int l_ep_queue_group(lua_State *L)
{
    return push_endpoint_text(L, jw_endpoint_queue_group);
}

static int l_ep_tostring(lua_State *L)
{
    ljw_endpoint *e = check_endpoint(L, 1);
    if (!live(e->owner))
        lua_pushliteral(L, "jetwire.Endpoint (closed)");
    else
        lua_pushfstring(L, "jetwire.Endpoint (%s on %s)",
                        jw_endpoint_name(e->ep), jw_endpoint_subject(e->ep));
    return 1;
}

static const luaL_Reg endpoint_methods[] = {
    {"name", l_ep_name},
    {"subject", l_ep_subject},
    {"queue_group", l_ep_queue_group},
    {NULL, NULL},
};

/* ------------------------------------------------------------------------
 * Requests
 */

static ljw_request *check_request(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, LJW_REQUEST);
}

/* req:respond(data [, {headers = }]) */
static int l_req_respond(lua_State *L)
{
    ljw_request *r = check_request(L, 1);
    int n = ljw_msg_respond(L, r->msg, REQUEST_GONE);
    if (n == 1)
        r->responded = 1;
    return n;
}

/* req:respond_error(code, description [, data]): headers
 * Nats-Service-Error and Nats-Service-Error-Code; counts as the
 * endpoint's error. */
static int l_req_respond_error(lua_State *L)
{
    ljw_request *r = check_request(L, 1);
    size_t code_len, description_len, len;
    const char *code = ljw_check_string(L, 2, &code_len);
    const char *description = ljw_check_string(L, 3, &description_len);
    const char *data = ljw_opt_data(L, 4, &len);
    luaL_argcheck(L, !ljw_has_nul(code, code_len), 2, "code contains NUL");
    luaL_argcheck(L, !ljw_has_nul(description, description_len), 3,
                  "description contains NUL");
    if (!r->msg)
        return ljw_fail_msg(L, JW_EINVAL, REQUEST_GONE);
    jw_status st =
        jw_endpoint_respond_error(r->ep, r->msg, code, description, data, len);
    if (st != JW_OK)
        return ljw_fail(L, st);
    r->responded = 1;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_req_header_values(lua_State *L)
{
    return ljw_msg_header_values(L, check_request(L, 1)->msg);
}

static int l_req_header_items(lua_State *L)
{
    return ljw_msg_header_items(L, check_request(L, 1)->msg);
}

static int l_req_unpack(lua_State *L)
{
    return ljw_msg_unpack(L, check_request(L, 1)->msg, REQUEST_GONE);
}

static int l_req_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    ljw_request *r = ljw_check_self(L, 1, lua_upvalueindex(2), LJW_REQUEST);
    ljw_msg_push_field(L, 1, r->msg, lua_tostring(L, 2));
    return 1;
}

/* Only a request whose handler never ran can hold its message here. */
static int l_req_gc(lua_State *L)
{
    ljw_request *r = check_request(L, 1);
    jw_msg *msg = r->msg;
    r->msg = NULL;
    r->ep = NULL;
    jw_msg_free(msg);
    return 0;
}

static int l_req_tostring(lua_State *L)
{
    ljw_request *r = check_request(L, 1);
    if (!r->msg)
        lua_pushliteral(L, "jetwire.ServiceRequest (handled)");
    else
        lua_pushfstring(L, "jetwire.ServiceRequest (%s, %I bytes)",
                        jw_msg_subject(r->msg),
                        (lua_Integer)jw_msg_data_len(r->msg));
    return 1;
}

static const luaL_Reg request_methods[] = {
    {"respond", l_req_respond},
    {"respond_error", l_req_respond_error},
    {"header_values", l_req_header_values},
    {"header_items", l_req_header_items},
    {"unpack", l_req_unpack},
    {NULL, NULL},
};

/* ------------------------------------------------------------------------
 * Discovery
 */

static const char *const discover_options[] = {"name", "id", "timeout",
                                               "max_responses", NULL};

/* Field name of the options at opts: a string or nil; *nul set when it
 * holds a NUL. */
static const char *opt_string(lua_State *L, int opts, const char *name,
                              int *nul)
{
    if (lua_getfield(L, opts, name) == LUA_TNIL)
        return NULL;
    size_t len;
    const char *s = ljw_check_string(L, lua_gettop(L), &len);
    *nul |= ljw_has_nul(s, len);
    return s;
}

/* nc:service_ping/info/stats([{name =, id =, timeout = 1,
 * max_responses =}]) -> the answers, in the order they came. */
static int discover(lua_State *L, jw_service_verb verb)
{
    ljw_conn *c = ljw_check_conn(L, 1);
    ljw_check_options(L, 2, discover_options);
    lua_settop(L, 2);
    const char *name = NULL, *id = NULL;
    int nul = 0, max = 0;
    int64_t ms = 1000;
    if (!lua_isnil(L, 2)) {
        name = opt_string(L, 2, "name", &nul);
        id = opt_string(L, 2, "id", &nul);
        lua_getfield(L, 2, "timeout");
        ms = ljw_timeout_ms(L, lua_gettop(L), 1.0);
        if (lua_getfield(L, 2, "max_responses") != LUA_TNIL) {
            int ok;
            lua_Integer n = lua_tointegerx(L, -1, &ok);
            if (!ok || lua_type(L, -1) != LUA_TNUMBER || n < INT_MIN ||
                n > INT_MAX)
                luaL_argerror(L, 2, "max_responses must be an integer");
            max = (int)n;
        }
    }
    if (!c->conn)
        return ljw_conn_closed(L);
    if (nul)
        return ljw_fail_msg(L, JW_EINVAL, "service name or id contains NUL");
    char *text = NULL;
    jw_status st = jw_service_discover(c->conn, verb, name, id, ms, max,
                                       &text);
    if (st != JW_OK)
        return ljw_fail(L, st);
    return ljw_push_result(L, text);
}

int ljw_service_ping(lua_State *L)
{
    return discover(L, JW_SERVICE_PING);
}

int ljw_service_info(lua_State *L)
{
    return discover(L, JW_SERVICE_INFO);
}

int ljw_service_stats(lua_State *L)
{
    return discover(L, JW_SERVICE_STATS);
}

/* ------------------------------------------------------------------------
 * Registration
 */

/* A borrowed handle's type: methods and __tostring, nothing to free. */
static void register_borrowed(lua_State *L, const char *name,
                              const luaL_Reg *methods,
                              lua_CFunction tostring)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
}

void ljw_service_register(lua_State *L)
{
    ljw_register_type(L, LJW_SERVICE, service_methods, l_svc_gc,
                      l_svc_tostring);
    register_borrowed(L, LJW_GROUP, group_methods, l_group_tostring);
    register_borrowed(L, LJW_ENDPOINT, endpoint_methods, l_ep_tostring);
    ljw_register_index_type(L, LJW_REQUEST, request_methods, l_req_index,
                            l_req_tostring, l_req_gc);
}
