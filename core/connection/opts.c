/* Connection options, set by name so that new ones never change the ABI. */
#include "engine.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The string options: set by name, copied and freed with the options. */
static const struct {
    const char *name;
    size_t offset;
} str_fields[] = {
    {"name", offsetof(jw_opts, name)},
    {"user", offsetof(jw_opts, user)},
    {"password", offsetof(jw_opts, password)},
    {"token", offsetof(jw_opts, token)},
    {"nkeys_seed", offsetof(jw_opts, nkeys_seed)},
    {"user_credentials", offsetof(jw_opts, user_credentials)},
    {"tls_ca_file", offsetof(jw_opts, tls_ca_file)},
    {"tls_cert_file", offsetof(jw_opts, tls_cert_file)},
    {"tls_key_file", offsetof(jw_opts, tls_key_file)},
    {"tls_hostname", offsetof(jw_opts, tls_hostname)},
    {"servers", offsetof(jw_opts, servers)},
    {"lang", offsetof(jw_opts, lang)},
    {"lang_version", offsetof(jw_opts, lang_version)},
};
#define N_STR_FIELDS (sizeof(str_fields) / sizeof(str_fields[0]))

static char **str_at(jw_opts *o, size_t i)
{
    return (char **)((char *)o + str_fields[i].offset);
}

static const char *str_of(const jw_opts *o, size_t i)
{
    return *(char *const *)((const char *)o + str_fields[i].offset);
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
    o->max_pending_out = 32 * 1024 * 1024;
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
    for (size_t i = 0; i < N_STR_FIELDS; i++)
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
    for (size_t i = 0; i < N_STR_FIELDS; i++)
        *str_at(dst, i) = NULL;
    for (size_t i = 0; i < N_STR_FIELDS; i++) {
        if (dup_into(str_at(dst, i), str_of(src, i))) {
            dst->loop = NULL;
            jw__opts_clear(dst);
            return jw__fail(JW_ENO_MEMORY, "out of memory");
        }
    }
    if (dst->loop)
        jw__loop_ref(dst->loop);
    return JW_OK;
}

static char **str_field(jw_opts *o, const char *name)
{
    for (size_t i = 0; i < N_STR_FIELDS; i++)
        if (!strcmp(name, str_fields[i].name))
            return str_at(o, i);
    return NULL;
}

static int64_t *int_field(jw_opts *o, const char *name)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"connect_timeout", offsetof(jw_opts, connect_timeout_ms)},
        {"ping_interval", offsetof(jw_opts, ping_interval_ms)},
        {"max_outstanding_pings", offsetof(jw_opts, max_outstanding_pings)},
        {"drain_timeout", offsetof(jw_opts, drain_timeout_ms)},
        {"pending_msgs_limit", offsetof(jw_opts, pending_msgs_limit)},
        {"pending_bytes_limit", offsetof(jw_opts, pending_bytes_limit)},
        {"max_pending_out", offsetof(jw_opts, max_pending_out)},
        {"max_reconnect_attempts", offsetof(jw_opts, max_reconnect_attempts)},
        {"reconnect_time_wait", offsetof(jw_opts, reconnect_time_wait_ms)},
        {"reconnect_jitter", offsetof(jw_opts, reconnect_jitter_ms)},
        {"reconnect_jitter_tls", offsetof(jw_opts, reconnect_jitter_tls_ms)},
        {"reconnect_buf_size", offsetof(jw_opts, reconnect_buf_size)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!strcmp(name, fields[i].name))
            return (int64_t *)((char *)o + fields[i].offset);
    return NULL;
}

static int *bool_field(jw_opts *o, const char *name)
{
    if (!strcmp(name, "no_echo"))
        return &o->no_echo;
    if (!strcmp(name, "verbose"))
        return &o->verbose;
    if (!strcmp(name, "pedantic"))
        return &o->pedantic;
    if (!strcmp(name, "tls_insecure_skip_verify"))
        return &o->tls_insecure_skip_verify;
    if (!strcmp(name, "no_randomize"))
        return &o->no_randomize;
    if (!strcmp(name, "allow_reconnect"))
        return &o->allow_reconnect;
    if (!strcmp(name, "retry_on_failed_connect"))
        return &o->retry_on_failed_connect;
    if (!strcmp(name, "ignore_discovered_servers"))
        return &o->ignore_discovered_servers;
    return NULL;
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

jw_status jw_opts_set_str(jw_opts *opts, const char *name, const char *value)
{
    CHECK_ARGS(opts, name);
    char **field = str_field(opts, name);
    if (!field)
        return jw__fail(JW_EINVAL, "no string option named '%s'", name);
    if (dup_into(field, value))
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    return JW_OK;
}

jw_status jw_opts_set_int(jw_opts *opts, const char *name, int64_t value)
{
    CHECK_ARGS(opts, name);
    int64_t *field = int_field(opts, name);
    if (!field)
        return jw__fail(JW_EINVAL, "no integer option named '%s'", name);
    /* Negative values mean "no limit" for the pending limits, "forever"
     * for max_reconnect_attempts and "no buffer" for reconnect_buf_size. */
    if (value < 0 && strcmp(name, "pending_msgs_limit") &&
        strcmp(name, "pending_bytes_limit") &&
        strcmp(name, "max_reconnect_attempts") &&
        strcmp(name, "reconnect_buf_size"))
        return jw__fail(JW_EINVAL, "option '%s' must not be negative", name);
    if (value == 0 && (!strcmp(name, "ping_interval") ||
                       !strcmp(name, "max_outstanding_pings")))
        return jw__fail(JW_EINVAL, "option '%s' must be positive", name);
    *field = value;
    return JW_OK;
}

jw_status jw_opts_set_bool(jw_opts *opts, const char *name, int value)
{
    CHECK_ARGS(opts, name);
    int *field = bool_field(opts, name);
    if (!field)
        return jw__fail(JW_EINVAL, "no boolean option named '%s'", name);
    *field = value != 0;
    return JW_OK;
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
