/* Connection options, set by name so that new ones never change the ABI. */
#include "engine.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every option set by name, in one table: its type, where it lives in
 * jw_opts, the least value an integer or duration takes (INT64_MIN: a
 * negative value means none or forever), and whether a binding sets it
 * for its users (CONNECT's lang) rather than they. jw_opts_fields gives
 * the table to the bindings, with the defaults. */
enum opt_type { T_STR, T_BOOL, T_INT, T_MS };

typedef struct opt_def {
    const char *name;
    enum opt_type type;
    size_t offset;
    int64_t min;
    int binding;
} opt_def;

#define STR(n, f)     {n, T_STR, offsetof(jw_opts, f), 0, 0}
#define BOOL(n, f)    {n, T_BOOL, offsetof(jw_opts, f), 0, 0}
#define INT(n, f, m)  {n, T_INT, offsetof(jw_opts, f), m, 0}
#define MS(n, f, m)   {n, T_MS, offsetof(jw_opts, f), m, 0}
#define NONE_BELOW_0  INT64_MIN

static const opt_def options[] = {
    STR("name", name),
    STR("user", user),
    STR("password", password),
    STR("token", token),
    STR("nkeys_seed", nkeys_seed),
    STR("user_credentials", user_credentials),
    STR("tls_ca_file", tls_ca_file),
    STR("tls_cert_file", tls_cert_file),
    STR("tls_key_file", tls_key_file),
    STR("tls_hostname", tls_hostname),
    STR("servers", servers),
    {"lang", T_STR, offsetof(jw_opts, lang), 0, 1},
    {"lang_version", T_STR, offsetof(jw_opts, lang_version), 0, 1},
    BOOL("tls_insecure_skip_verify", tls_insecure_skip_verify),
    BOOL("no_echo", no_echo),
    BOOL("verbose", verbose),
    BOOL("pedantic", pedantic),
    BOOL("no_randomize", no_randomize),
    BOOL("allow_reconnect", allow_reconnect),
    BOOL("retry_on_failed_connect", retry_on_failed_connect),
    BOOL("ignore_discovered_servers", ignore_discovered_servers),
    MS("connect_timeout", connect_timeout_ms, 0),
    MS("ping_interval", ping_interval_ms, 1),
    MS("drain_timeout", drain_timeout_ms, 0),
    MS("reconnect_time_wait", reconnect_time_wait_ms, 0),
    MS("reconnect_jitter", reconnect_jitter_ms, 0),
    MS("reconnect_jitter_tls", reconnect_jitter_tls_ms, 0),
    INT("max_outstanding_pings", max_outstanding_pings, 1),
    INT("delivery_threads", delivery_threads, 0),
    INT("pending_msgs_limit", pending_msgs_limit, NONE_BELOW_0),
    INT("pending_bytes_limit", pending_bytes_limit, NONE_BELOW_0),
    INT("max_pending_out", max_pending_out, 0),
    INT("max_reconnect_attempts", max_reconnect_attempts, NONE_BELOW_0),
    INT("reconnect_buf_size", reconnect_buf_size, NONE_BELOW_0),
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static const opt_def *option_named(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (!strcmp(name, options[i].name))
            return &options[i];
    return NULL;
}

static char **str_at(jw_opts *o, size_t i)
{
    return (char **)((char *)o + options[i].offset);
}

static const char *str_of(const jw_opts *o, size_t i)
{
    return *(char *const *)((const char *)o + options[i].offset);
}

void jw__opts_defaults(jw_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->connect_timeout_ms = 2000;
    o->ping_interval_ms = 120000;
    o->max_outstanding_pings = 2;
    o->drain_timeout_ms = 30000;
    o->pending_msgs_limit = 524288;
    o->pending_bytes_limit = 64 * 1024 * 1024;
    /* Small enough that the two outbound buffers a publisher fills in turn
     * stay in cache (a publisher that outruns the server costs 0.06 us a
     * 128 B message with 2 MiB, 0.085 with 32 MiB: bench/, pub), large
     * enough for bursts; nats-py waits past 2 MB too, nats.go and nats.c
     * write their 32 KiB buffers themselves. */
    o->max_pending_out = 2 * 1024 * 1024;
    /* Reconnection follows nats.go and nats-py. */
    o->allow_reconnect = 1;
    o->max_reconnect_attempts = 60;
    o->reconnect_time_wait_ms = 2000;
    o->reconnect_jitter_ms = 100;
    o->reconnect_jitter_tls_ms = 1000;
    o->reconnect_buf_size = 8 * 1024 * 1024;
}

jw_status jw_opts_new(jw_opts **out)
{
    if (!out)
        return jw__fail(JW_EINVAL, "out is NULL");
    *out = malloc(sizeof(**out));
    if (!*out)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    jw__opts_defaults(*out);
    return JW_OK;
}

void jw__opts_clear(jw_opts *o)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].type == T_STR)
            free(*str_at(o, i));
    if (o->loop)
        jw__loop_release(o->loop);
    memset(o, 0, sizeof(*o));
}

void jw_opts_free(jw_opts *opts)
{
    if (!opts)
        return;
    jw__opts_clear(opts);
    free(opts);
}

static int dup_into(char **dst, const char *src)
{
    char *copy = NULL;
    if (src && !(copy = strdup(src)))
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

jw_status jw__opts_copy(jw_opts *dst, const jw_opts *src)
{
    *dst = *src;
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].type == T_STR)
            *str_at(dst, i) = NULL;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (options[i].type == T_STR &&
            dup_into(str_at(dst, i), str_of(src, i))) {
            dst->loop = NULL;
            jw__opts_clear(dst);
            return jw__fail(JW_ENO_MEMORY, "out of memory");
        }
    }
    if (dst->loop)
        jw__loop_ref(dst->loop);
    return JW_OK;
}

static int event_index(const char *name)
{
    static const char *names[] = {NULL,
                                  "disconnected_cb",
                                  "reconnected_cb",
                                  "closed_cb",
                                  "error_cb",
                                  "discovered_servers_cb",
                                  "lame_duck_cb"};
    for (int i = 1; i < 7; i++)
        if (!strcmp(name, names[i]))
            return i;
    return -1;
}

#define CHECK_ARGS(opts, name)                                              \
    do {                                                                    \
        if (!(opts) || !(name))                                             \
            return jw__fail(JW_EINVAL, "opts and name must not be NULL");   \
    } while (0)

/* The option called name if it has type t (else NULL, failure set). */
static const opt_def *option_of(const char *name, enum opt_type t,
                                const char *kind)
{
    const opt_def *d = option_named(name);
    if (!d || (d->type != t && !(t == T_INT && d->type == T_MS))) {
        jw__fail(JW_EINVAL, "no %s option named '%s'", kind, name);
        return NULL;
    }
    return d;
}

jw_status jw_opts_set_str(jw_opts *opts, const char *name, const char *value)
{
    CHECK_ARGS(opts, name);
    const opt_def *d = option_of(name, T_STR, "string");
    if (!d)
        return JW_EINVAL;
    if (dup_into((char **)((char *)opts + d->offset), value))
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    return JW_OK;
}

jw_status jw_opts_set_int(jw_opts *opts, const char *name, int64_t value)
{
    CHECK_ARGS(opts, name);
    const opt_def *d = option_of(name, T_INT, "integer");
    if (!d)
        return JW_EINVAL;
    /* Negative values mean "no limit" for the pending limits, "forever"
     * for max_reconnect_attempts and "no buffer" for reconnect_buf_size. */
    if (value < d->min)
        return jw__fail(JW_EINVAL, d->min > 0
                                       ? "option '%s' must be positive"
                                       : "option '%s' must not be negative",
                        name);
    *(int64_t *)((char *)opts + d->offset) = value;
    return JW_OK;
}

jw_status jw_opts_set_bool(jw_opts *opts, const char *name, int value)
{
    CHECK_ARGS(opts, name);
    const opt_def *d = option_of(name, T_BOOL, "boolean");
    if (!d)
        return JW_EINVAL;
    *(int *)((char *)opts + d->offset) = value != 0;
    return JW_OK;
}

jw_status jw_opts_fields(char **fields_json)
{
    if (!fields_json)
        return jw__fail(JW_EINVAL, "fields_json is NULL");
    *fields_json = NULL;
    static const char *const type_names[] = {"string", "boolean", "integer",
                                             "duration"};
    jw_opts defaults;
    jw__opts_defaults(&defaults);
    json_t *list = json_array();
    for (size_t i = 0; list && i < N_OPTIONS; i++) {
        const opt_def *d = &options[i];
        const char *at = (const char *)&defaults + d->offset;
        json_t *def = d->type == T_STR    ? json_null()
                      : d->type == T_BOOL ? json_boolean(*(const int *)at)
                                          : json_integer(*(const int64_t *)at);
        json_t *min = d->type == T_INT || d->type == T_MS
                          ? (d->min == NONE_BELOW_0 ? json_null()
                                                    : json_integer(d->min))
                          : json_null();
        json_t *f = json_pack("{s:s, s:s, s:o, s:o, s:b}", "name", d->name,
                              "type", type_names[d->type], "default", def,
                              "min", min, "binding", d->binding);
        if (!f || json_array_append_new(list, f)) {
            json_decref(list);
            list = NULL;
        }
    }
    *fields_json = list ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    return *fields_json ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
}

jw_status jw_opts_set_callback(jw_opts *opts, const char *name, jw_event_cb cb,
                               void *arg)
{
    CHECK_ARGS(opts, name);
    int i = event_index(name);
    if (i < 0)
        return jw__fail(JW_EINVAL, "no callback option named '%s'", name);
    opts->on[i].cb = cb;
    opts->on[i].arg = arg;
    return JW_OK;
}

jw_status jw_opts_set_loop(jw_opts *opts, jw_loop *loop)
{
    if (!opts)
        return jw__fail(JW_EINVAL, "opts is NULL");
    if (loop)
        jw__loop_ref(loop);
    if (opts->loop)
        jw__loop_release(opts->loop);
    opts->loop = loop;
    return JW_OK;
}
