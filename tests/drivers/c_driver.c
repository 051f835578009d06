/*
 * The C conformance driver: speaks tests/drivers/PROTOCOL.md on stdin and
 * stdout and turns each request into calls of the public API (jetwire.h).
 *
 * One request at a time on the main thread. The only other code that runs
 * is the `serve` and burst handlers on their subscriptions' delivery
 * threads, which touch nothing but their own state.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "jetwire.h"

/* ------------------------------------------------------------------------
 * Failures: an op returns JW_OK or a status, with the detail in g_msg.
 */
static char g_msg[1024];

static jw_status fail(jw_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return st;
}

/* A failed library call: keep its detail text. */
static jw_status lib_fail(jw_status st)
{
    const char *detail = jw_last_error();
    snprintf(g_msg, sizeof g_msg, "%s",
             detail && detail[0] ? detail : jw_strerror(st));
    return st;
}

#define TRY(expr)                                                              \
    do {                                                                       \
        jw_status try_st_ = (expr);                                            \
        if (try_st_ != JW_OK)                                                  \
            return lib_fail(try_st_);                                          \
    } while (0)

/* ------------------------------------------------------------------------
 * Base64 (RFC 4648, standard alphabet, padded).
 */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const unsigned char *in, size_t len)
{
    size_t out_len = 4 * ((len + 2) / 3);
    char *out = malloc(out_len + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = b64_alphabet[v >> 6 & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict decode into a fresh buffer (never NULL on success, even for an
 * empty input). Returns 0, or -1 for invalid input or no memory. */
static int b64_decode(const char *in, size_t len, unsigned char **out,
                      size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len % 4 != 0)
        return -1;
    unsigned char *buf = malloc(len / 4 * 3 + 1);
    if (!buf)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = in[i + k];
            if (c == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad > 0 || (v[k] = b64_value(c)) < 0) {
                free(buf);
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)v[2] << 6 | (uint32_t)v[3];
        buf[o++] = (unsigned char)(w >> 16);
        if (pad < 2)
            buf[o++] = (unsigned char)(w >> 8);
        if (pad < 1)
            buf[o++] = (unsigned char)w;
    }
    *out = buf;
    *out_len = o;
    return 0;
}

/* ------------------------------------------------------------------------
 * Handles
 */
enum handle_kind {
    H_NONE = 0,
    H_CONN,
    H_SUB,
    H_JS,
    H_CONSUMER,
    H_JSMSG,
    H_KV,
    H_WATCHER,
    H_SERVICE,
    H_GROUP,
    H_BATCH,
    H_FAST,
    H_OBS
};

struct serve_state {
    jw_conn *conn;
    int upper;
    int64_t count; /* 0: no limit */
    atomic_llong answered;
    struct serve_state *next; /* all of them, freed at exit */
};

struct handle {
    enum handle_kind kind;
    jw_conn *conn; /* H_CONN */
    int64_t default_msgs_limit, default_bytes_limit;
    jw_sub *sub; /* H_SUB */
    int conn_handle; /* H_SUB: the connection it was made on */
    jw_js *js;         /* H_JS */
    jw_consumer *cons; /* H_CONSUMER */
    jw_msg *msg;       /* H_JSMSG: a fetched message */
    jw_kv *kv;         /* H_KV: a bucket, borrowing its jw_js */
    jw_kv_watcher *watcher; /* H_WATCHER, borrowing its jw_kv */
    jw_service *svc;         /* H_SERVICE */
    jw_service_group *group; /* H_GROUP, borrowed from its service */
    jw_js_batch *batch;      /* H_BATCH */
    jw_js_fast *fast;        /* H_FAST */
    jw_obs *obs;             /* H_OBS */
    /* H_JS, H_CONSUMER, H_KV, H_WATCHER: the handle it was made through,
     * freed with it (before it). */
    int parent;
};

static struct handle *g_handles; /* index = handle number; 0 unused */
static int g_nhandles = 1;       /* next number */
static int g_cap;
static struct serve_state *g_serves;

static int handle_new(enum handle_kind kind)
{
    if (g_nhandles >= g_cap) {
        int cap = g_cap ? g_cap * 2 : 64;
        struct handle *h = realloc(g_handles, (size_t)cap * sizeof *h);
        if (!h)
            return -1;
        memset(h + g_cap, 0, (size_t)(cap - g_cap) * sizeof *h);
        g_handles = h;
        g_cap = cap;
    }
    int id = g_nhandles++;
    memset(&g_handles[id], 0, sizeof g_handles[id]);
    g_handles[id].kind = kind;
    return id;
}

static struct handle *handle_get(int id, enum handle_kind kind)
{
    if (id <= 0 || id >= g_nhandles || g_handles[id].kind != kind)
        return NULL;
    return &g_handles[id];
}

static int handle_of_sub(const jw_sub *sub)
{
    if (!sub)
        return 0;
    for (int i = 1; i < g_nhandles; i++)
        if (g_handles[i].kind == H_SUB && g_handles[i].sub == sub)
            return i;
    return 0;
}

/* ------------------------------------------------------------------------
 * Argument helpers: each returns JW_OK or JW_EINVAL with g_msg set.
 */
static jw_status arg_str(json_t *req, const char *key, int required,
                         const char **out)
{
    json_t *v = json_object_get(req, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return fail(JW_EINVAL, "missing argument '%s'", key);
        return JW_OK;
    }
    if (!json_is_string(v))
        return fail(JW_EINVAL, "argument '%s' must be a string", key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fail(JW_EINVAL, "argument '%s' contains NUL", key);
    *out = json_string_value(v);
    return JW_OK;
}

static jw_status arg_int(json_t *req, const char *key, int required,
                         int64_t dflt, int64_t *out)
{
    json_t *v = json_object_get(req, key);
    *out = dflt;
    if (!v || json_is_null(v)) {
        if (required)
            return fail(JW_EINVAL, "missing argument '%s'", key);
        return JW_OK;
    }
    if (!json_is_integer(v))
        return fail(JW_EINVAL, "argument '%s' must be an integer", key);
    *out = (int64_t)json_integer_value(v);
    return JW_OK;
}

static jw_status arg_bool(json_t *req, const char *key, int dflt, int *out)
{
    json_t *v = json_object_get(req, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return JW_OK;
    if (!json_is_boolean(v))
        return fail(JW_EINVAL, "argument '%s' must be a boolean", key);
    *out = json_is_true(v);
    return JW_OK;
}

/* Seconds (a number) to milliseconds; negative means forever (-1). */
static jw_status seconds_to_ms(json_t *v, const char *key, int64_t *out)
{
    if (!json_is_number(v))
        return fail(JW_EINVAL, "'%s' must be a number of seconds", key);
    double s = json_number_value(v);
    if (s != s)
        return fail(JW_EINVAL, "'%s' is not a number", key);
    if (s < 0) {
        *out = -1;
        return JW_OK;
    }
    if (s > 1e12)
        s = 1e12;
    *out = (int64_t)(s * 1000.0 + 0.5);
    return JW_OK;
}

static jw_status arg_timeout(json_t *req, const char *key, double dflt_s,
                             int64_t *out_ms)
{
    json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v)) {
        *out_ms = dflt_s < 0 ? -1 : (int64_t)(dflt_s * 1000.0 + 0.5);
        return JW_OK;
    }
    return seconds_to_ms(v, key, out_ms);
}

static jw_status arg_handle(json_t *req, const char *key,
                            enum handle_kind kind, struct handle **out)
{
    int64_t id;
    jw_status st = arg_int(req, key, 1, 0, &id);
    if (st != JW_OK)
        return st;
    struct handle *h = id > 0 && id < INT32_MAX ? handle_get((int)id, kind)
                                                : NULL;
    if (!h)
        return fail(JW_EINVAL, "unknown %s handle %lld", key, (long long)id);
    *out = h;
    return JW_OK;
}

static jw_status arg_conn(json_t *req, struct handle **out)
{
    return arg_handle(req, "conn", H_CONN, out);
}

static jw_status arg_sub(json_t *req, struct handle **out)
{
    return arg_handle(req, "sub", H_SUB, out);
}

/* Optional base64 "data"; *buf is always set (free it) on success. */
static jw_status arg_data(json_t *req, const char *key, unsigned char **buf,
                          size_t *len)
{
    const char *text = NULL;
    jw_status st = arg_str(req, key, 0, &text);
    if (st != JW_OK)
        return st;
    if (!text)
        text = "";
    if (b64_decode(text, strlen(text), buf, len) != 0)
        return fail(JW_EINVAL, "argument '%s' is not valid base64", key);
    return JW_OK;
}

/* Check an optional "headers" list of [name, value] string pairs.
 * *out is NULL when absent. */
static jw_status arg_headers(json_t *req, json_t **out)
{
    json_t *v = json_object_get(req, "headers");
    *out = NULL;
    if (!v || json_is_null(v))
        return JW_OK;
    if (!json_is_array(v))
        return fail(JW_EINVAL, "'headers' must be a list of [name, value]");
    size_t i;
    json_t *pair;
    json_array_foreach(v, i, pair)
    {
        if (!json_is_array(pair) || json_array_size(pair) != 2 ||
            !json_is_string(json_array_get(pair, 0)) ||
            !json_is_string(json_array_get(pair, 1)))
            return fail(JW_EINVAL, "header %zu is not a [name, value] pair",
                        i);
        for (int k = 0; k < 2; k++) {
            json_t *s = json_array_get(pair, (size_t)k);
            if (strlen(json_string_value(s)) != json_string_length(s))
                return fail(JW_EINVAL, "header %zu contains NUL", i);
        }
    }
    *out = v;
    return JW_OK;
}

/* A message to publish, with headers. */
static jw_status build_msg(const char *subject, const char *reply,
                           const unsigned char *data, size_t len,
                           json_t *headers, jw_msg **out)
{
    jw_msg *m = NULL;
    TRY(jw_msg_new(subject, reply, data, len, &m));
    size_t i;
    json_t *pair;
    json_array_foreach(headers, i, pair)
    {
        jw_status st = jw_msg_header_add(
            m, json_string_value(json_array_get(pair, 0)),
            json_string_value(json_array_get(pair, 1)));
        if (st != JW_OK) {
            lib_fail(st);
            jw_msg_free(m);
            return st;
        }
    }
    *out = m;
    return JW_OK;
}

/* ------------------------------------------------------------------------
 * Results
 */
static json_t *b64_json(const void *data, size_t len)
{
    char *text = b64_encode(data, len);
    if (!text)
        return NULL;
    json_t *s = json_string(text);
    free(text);
    return s;
}

/* Set key on obj, taking the reference; false when value is NULL. */
static int put(json_t *obj, const char *key, json_t *value)
{
    return value != NULL && json_object_set_new(obj, key, value) == 0;
}

static jw_status msg_json(const jw_msg *m, json_t **out)
{
    json_t *o = json_object();
    json_t *hdrs = json_array();
    int ok = o && hdrs;
    const char *reply = jw_msg_reply(m);
    ok = ok && put(o, "subject", json_string(jw_msg_subject(m)));
    ok = ok && put(o, "reply", reply ? json_string(reply) : json_null());
    ok = ok && put(o, "data", b64_json(jw_msg_data(m), jw_msg_data_len(m)));
    int n = jw_msg_header_count(m);
    for (int i = 0; ok && i < n; i++) {
        const char *name = NULL, *value = NULL;
        jw_status st = jw_msg_header_at(m, i, &name, &value);
        if (st != JW_OK) {
            json_decref(o);
            json_decref(hdrs);
            return lib_fail(st);
        }
        json_t *pair = json_pack("[ss]", name, value);
        ok = pair != NULL && json_array_append_new(hdrs, pair) == 0;
    }
    if (ok) {
        ok = json_object_set(o, "headers", hdrs) == 0;
        ok = ok && put(o, "status", json_integer(jw_msg_status_code(m)));
    }
    json_decref(hdrs);
    if (!ok) {
        json_decref(o);
        return fail(JW_ENO_MEMORY, "could not build the message result");
    }
    *out = o;
    return JW_OK;
}

#define PUT(obj, key, value)                                                   \
    do {                                                                       \
        if (!put((obj), (key), (value)))                                       \
            return fail(JW_ENO_MEMORY, "could not build result '%s'", (key));  \
    } while (0)

/* ------------------------------------------------------------------------
 * MessagePack <-> JSON values
 */
static jw_status pack_json(jw_packer *p, json_t *v, int depth)
{
    if (depth > 512)
        return fail(JW_EINVAL, "value nested too deeply");
    switch (json_typeof(v)) {
    case JSON_NULL:
        TRY(jw_pack_nil(p));
        return JW_OK;
    case JSON_TRUE:
        TRY(jw_pack_bool(p, 1));
        return JW_OK;
    case JSON_FALSE:
        TRY(jw_pack_bool(p, 0));
        return JW_OK;
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        if (i >= 0)
            TRY(jw_pack_uint(p, (uint64_t)i));
        else
            TRY(jw_pack_int(p, (int64_t)i));
        return JW_OK;
    }
    case JSON_REAL:
        TRY(jw_pack_double(p, json_real_value(v)));
        return JW_OK;
    case JSON_STRING:
        TRY(jw_pack_str(p, json_string_value(v), json_string_length(v)));
        return JW_OK;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (n > UINT32_MAX)
            return fail(JW_EINVAL, "array too long");
        TRY(jw_pack_array(p, (uint32_t)n));
        for (size_t i = 0; i < n; i++) {
            jw_status st = pack_json(p, json_array_get(v, i), depth + 1);
            if (st != JW_OK)
                return st;
        }
        return JW_OK;
    }
    case JSON_OBJECT: {
        json_t *bin = json_object_get(v, "$bin");
        if (json_object_size(v) == 1 && json_is_string(bin)) {
            unsigned char *buf = NULL;
            size_t len = 0;
            if (b64_decode(json_string_value(bin), json_string_length(bin),
                           &buf, &len) != 0)
                return fail(JW_EINVAL, "'$bin' is not valid base64");
            jw_status st = jw_pack_bin(p, buf, len);
            free(buf);
            if (st != JW_OK)
                return lib_fail(st);
            return JW_OK;
        }
        size_t n = json_object_size(v);
        if (n > UINT32_MAX)
            return fail(JW_EINVAL, "map too large");
        TRY(jw_pack_map(p, (uint32_t)n));
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val)
        {
            TRY(jw_pack_str(p, key, strlen(key)));
            jw_status st = pack_json(p, val, depth + 1);
            if (st != JW_OK)
                return st;
        }
        return JW_OK;
    }
    }
    return fail(JW_EINVAL, "unsupported JSON value");
}

static jw_status value_json(const jw_value *v, int depth, json_t **out)
{
    json_t *r = NULL;
    size_t len = 0;
    const char *bytes;
    *out = NULL;
    if (depth > 512)
        return fail(JW_EINVAL, "value nested too deeply");
    switch (jw_value_type_get(v)) {
    case JW_VALUE_NIL:
        r = json_null();
        break;
    case JW_VALUE_BOOL:
        r = json_boolean(jw_value_bool(v));
        break;
    case JW_VALUE_INT:
        r = json_integer((json_int_t)jw_value_int(v));
        break;
    case JW_VALUE_UINT: {
        uint64_t u = jw_value_uint(v);
        if (u > (uint64_t)INT64_MAX)
            return fail(JW_EINVAL, "integer %llu is above 2^63-1",
                        (unsigned long long)u);
        r = json_integer((json_int_t)u);
        break;
    }
    case JW_VALUE_DOUBLE:
        r = json_real(jw_value_double(v));
        if (!r)
            return fail(JW_EINVAL, "non-finite float");
        break;
    case JW_VALUE_STR:
        bytes = jw_value_bytes(v, &len);
        r = json_stringn(bytes ? bytes : "", len);
        if (!r)
            return fail(JW_EINVAL, "str is not valid UTF-8");
        break;
    case JW_VALUE_BIN: {
        bytes = jw_value_bytes(v, &len);
        json_t *b = b64_json(bytes ? bytes : "", len);
        r = b ? json_pack("{so}", "$bin", b) : NULL;
        break;
    }
    case JW_VALUE_ARRAY: {
        uint32_t n = jw_value_count(v);
        r = json_array();
        for (uint32_t i = 0; r && i < n; i++) {
            json_t *e = NULL;
            jw_status st = value_json(jw_value_array_at(v, i), depth + 1, &e);
            if (st != JW_OK) {
                json_decref(r);
                return st;
            }
            if (json_array_append_new(r, e) != 0) {
                json_decref(r);
                r = NULL;
            }
        }
        break;
    }
    case JW_VALUE_MAP: {
        uint32_t n = jw_value_count(v);
        r = json_object();
        for (uint32_t i = 0; r && i < n; i++) {
            const jw_value *k = jw_value_map_key(v, i);
            if (jw_value_type_get(k) != JW_VALUE_STR) {
                json_decref(r);
                return fail(JW_EINVAL, "map key %u is not a str", i);
            }
            bytes = jw_value_bytes(k, &len);
            if (!bytes)
                bytes = "";
            if (memchr(bytes, 0, len) != NULL) {
                json_decref(r);
                return fail(JW_EINVAL, "map key %u contains NUL", i);
            }
            char *key = strndup(bytes, len);
            json_t *e = NULL;
            jw_status st = key ? value_json(jw_value_map_val(v, i), depth + 1,
                                            &e)
                               : fail(JW_ENO_MEMORY, "out of memory");
            if (st != JW_OK) {
                free(key);
                json_decref(r);
                return st;
            }
            int bad = json_object_set_new(r, key, e) != 0;
            free(key);
            if (bad) {
                json_decref(r);
                return fail(JW_EINVAL, "map key %u is not valid UTF-8", i);
            }
        }
        break;
    }
    case JW_VALUE_EXT:
        return fail(JW_EINVAL, "ext values are not representable");
    default:
        return fail(JW_EINVAL, "unknown value type");
    }
    if (!r)
        return fail(JW_ENO_MEMORY, "could not build the value");
    *out = r;
    return JW_OK;
}

/* Pack a JSON value into a fresh packer (the caller frees it). */
static jw_status pack_to_bytes(json_t *value, jw_packer **out)
{
    jw_packer *p = NULL;
    TRY(jw_packer_new(&p));
    jw_status st = pack_json(p, value, 0);
    if (st != JW_OK) {
        jw_packer_free(p);
        return st;
    }
    *out = p;
    return JW_OK;
}

/* ------------------------------------------------------------------------
 * Ops
 */
typedef jw_status (*op_fn)(json_t *req, json_t *res);

static jw_status op_version(json_t *req, json_t *res)
{
    PUT(res, "lang", json_string("c"));
    PUT(res, "version", json_string(jw_version()));
    return JW_OK;
}

static const struct {
    const char *name;
    enum { OPT_STR, OPT_BOOL, OPT_SECONDS, OPT_INT } type;
} conn_options[] = {
    {"name", OPT_STR},
    {"user", OPT_STR},
    {"password", OPT_STR},
    {"token", OPT_STR},
    {"nkeys_seed", OPT_STR},
    {"user_credentials", OPT_STR},
    {"tls_ca_file", OPT_STR},
    {"tls_cert_file", OPT_STR},
    {"tls_key_file", OPT_STR},
    {"tls_hostname", OPT_STR},
    {"tls_insecure_skip_verify", OPT_BOOL},
    {"no_echo", OPT_BOOL},
    {"verbose", OPT_BOOL},
    {"pedantic", OPT_BOOL},
    {"connect_timeout", OPT_SECONDS},
    {"ping_interval", OPT_SECONDS},
    {"drain_timeout", OPT_SECONDS},
    {"max_outstanding_pings", OPT_INT},
    {"pending_msgs_limit", OPT_INT},
    {"pending_bytes_limit", OPT_INT},
    {"no_randomize", OPT_BOOL},
    {"allow_reconnect", OPT_BOOL},
    {"retry_on_failed_connect", OPT_BOOL},
    {"ignore_discovered_servers", OPT_BOOL},
    {"reconnect_time_wait", OPT_SECONDS},
    {"reconnect_jitter", OPT_SECONDS},
    {"reconnect_jitter_tls", OPT_SECONDS},
    {"max_reconnect_attempts", OPT_INT},
    {"reconnect_buf_size", OPT_INT},
};

static jw_status set_options(jw_opts *opts, json_t *options,
                             int64_t *msgs_limit, int64_t *bytes_limit)
{
    const char *key;
    json_t *v;
    json_object_foreach(options, key, v)
    {
        size_t i, n = sizeof conn_options / sizeof conn_options[0];
        for (i = 0; i < n; i++)
            if (strcmp(conn_options[i].name, key) == 0)
                break;
        if (i == n)
            return fail(JW_EINVAL, "unknown connection option '%s'", key);
        switch (conn_options[i].type) {
        case OPT_STR:
            if (!json_is_string(v) ||
                strlen(json_string_value(v)) != json_string_length(v))
                return fail(JW_EINVAL, "option '%s' must be a string", key);
            TRY(jw_opts_set_str(opts, key, json_string_value(v)));
            break;
        case OPT_BOOL:
            if (!json_is_boolean(v))
                return fail(JW_EINVAL, "option '%s' must be a boolean", key);
            TRY(jw_opts_set_bool(opts, key, json_is_true(v)));
            break;
        case OPT_SECONDS: {
            int64_t ms;
            jw_status st = seconds_to_ms(v, key, &ms);
            if (st != JW_OK)
                return st;
            TRY(jw_opts_set_int(opts, key, ms));
            break;
        }
        case OPT_INT:
            if (!json_is_integer(v))
                return fail(JW_EINVAL, "option '%s' must be an integer", key);
            TRY(jw_opts_set_int(opts, key, (int64_t)json_integer_value(v)));
            if (strcmp(key, "pending_msgs_limit") == 0)
                *msgs_limit = (int64_t)json_integer_value(v);
            if (strcmp(key, "pending_bytes_limit") == 0)
                *bytes_limit = (int64_t)json_integer_value(v);
            break;
        }
    }
    return JW_OK;
}

static jw_status op_connect(json_t *req, json_t *res)
{
    const char *url = NULL;
    jw_status st = arg_str(req, "url", 1, &url);
    if (st != JW_OK)
        return st;
    json_t *options = json_object_get(req, "options");
    if (options && !json_is_null(options) && !json_is_object(options))
        return fail(JW_EINVAL, "'options' must be an object");
    int64_t msgs_limit = 524288, bytes_limit = 64LL * 1024 * 1024;
    jw_opts *opts = NULL;
    TRY(jw_opts_new(&opts));
    if (json_is_object(options)) {
        st = set_options(opts, options, &msgs_limit, &bytes_limit);
        if (st != JW_OK) {
            jw_opts_free(opts);
            return st;
        }
    }
    jw_conn *conn = NULL;
    st = jw_conn_connect(url, opts, &conn);
    jw_opts_free(opts);
    if (st != JW_OK)
        return lib_fail(st);
    int id = handle_new(H_CONN);
    if (id < 0) {
        jw_conn_free(conn);
        return fail(JW_ENO_MEMORY, "out of memory");
    }
    g_handles[id].conn = conn;
    g_handles[id].default_msgs_limit = msgs_limit;
    g_handles[id].default_bytes_limit = bytes_limit;
    PUT(res, "conn", json_integer(id));
    return JW_OK;
}

static jw_status op_close(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_conn(req, &h);
    if (st != JW_OK)
        return st;
    TRY(jw_conn_close(h->conn));
    return JW_OK;
}

static jw_status op_drain(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t ms;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", -1, &ms);
    if (st != JW_OK)
        return st;
    TRY(jw_conn_drain(h->conn, ms));
    return JW_OK;
}

static jw_status op_flush(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t ms;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 5, &ms);
    if (st != JW_OK)
        return st;
    TRY(jw_conn_flush(h->conn, ms));
    return JW_OK;
}

static jw_status op_rtt(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_conn(req, &h);
    if (st != JW_OK)
        return st;
    int64_t us = 0;
    TRY(jw_conn_rtt(h->conn, &us));
    PUT(res, "rtt", json_real((double)us / 1e6));
    return JW_OK;
}

static jw_status op_status(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_conn(req, &h);
    if (st != JW_OK)
        return st;
    jw_conn_status status = jw_conn_status_get(h->conn);
    const char *name = jw_conn_status_name(status);
    if (!name)
        return fail(JW_EPROTOCOL, "unknown connection status %d",
                    (int)status);
    PUT(res, "status", json_string(name));
    return JW_OK;
}

static jw_status op_server_info(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_conn(req, &h);
    if (st != JW_OK)
        return st;
    static char buf[256 * 1024];
    char url[2048];
    TRY(jw_conn_server_info(h->conn, buf, sizeof buf));
    TRY(jw_conn_connected_url(h->conn, url, sizeof url));
    json_error_t err;
    json_t *info = json_loads(buf, 0, &err);
    if (!json_is_object(info)) {
        json_decref(info);
        return fail(JW_EPROTOCOL, "server INFO is not a JSON object: %s",
                    err.text);
    }
    PUT(res, "info", info);
    PUT(res, "connected_url", json_string(url));
    PUT(res, "max_payload", json_integer(jw_conn_max_payload(h->conn)));
    return JW_OK;
}

static json_t *url_list(const char *text)
{
    json_t *list = json_array();
    for (const char *p = text; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        json_array_append_new(list, json_stringn(p, len));
        p += len + (comma ? 1 : 0);
    }
    return list;
}

static jw_status op_servers(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_conn(req, &h);
    if (st != JW_OK)
        return st;
    static char buf[64 * 1024];
    TRY(jw_conn_servers(h->conn, buf, sizeof buf));
    PUT(res, "servers", url_list(buf));
    TRY(jw_conn_discovered_servers(h->conn, buf, sizeof buf));
    PUT(res, "discovered", url_list(buf));
    return JW_OK;
}

static jw_status op_stats(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_conn(req, &h);
    if (st != JW_OK)
        return st;
    /* Every counter the engine has: numbered from 0 up to the first
     * without a name. */
    const char *name;
    for (jw_stat i = JW_STAT_IN_MSGS; (name = jw_stat_name(i)) != NULL;
         i = (jw_stat)(i + 1))
        PUT(res, name, json_integer((json_int_t)jw_conn_stat(h->conn, i)));
    return JW_OK;
}

static jw_status op_next_event(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t ms;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 5, &ms);
    if (st != JW_OK)
        return st;
    jw_event *ev = NULL;
    TRY(jw_conn_next_event(h->conn, ms, &ev));
    int sub = handle_of_sub(jw_event_sub(ev));
    jw_event_kind kind = jw_event_kind_get(ev);
    const char *name = jw_event_kind_name(kind);
    if (!name) {
        jw_event_free(ev);
        return fail(JW_EPROTOCOL, "event of unknown kind %d", (int)kind);
    }
    json_t *o = json_pack("{ssssss}", "kind", name, "code",
                          jw_status_name(jw_event_status(ev)), "text",
                          jw_event_text(ev));
    jw_event_free(ev);
    if (!o || !put(o, "sub", sub ? json_integer(sub) : json_null())) {
        json_decref(o);
        return fail(JW_ENO_MEMORY, "could not build the event");
    }
    PUT(res, "event", o);
    return JW_OK;
}

static jw_status op_publish(json_t *req, json_t *res)
{
    struct handle *h;
    const char *subject, *reply;
    json_t *headers;
    unsigned char *data = NULL;
    size_t len = 0;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_str(req, "subject", 1, &subject);
    if (st == JW_OK)
        st = arg_str(req, "reply", 0, &reply);
    if (st == JW_OK)
        st = arg_headers(req, &headers);
    if (st == JW_OK)
        st = arg_data(req, "data", &data, &len);
    if (st != JW_OK)
        return st;
    if (headers) {
        jw_msg *m = NULL;
        st = build_msg(subject, reply, data, len, headers, &m);
        if (st == JW_OK) {
            st = jw_conn_publish_msg(h->conn, m);
            if (st != JW_OK)
                lib_fail(st);
        }
        jw_msg_free(m);
    } else {
        st = jw_conn_publish_reply(h->conn, subject, reply, data, len);
        if (st != JW_OK)
            lib_fail(st);
    }
    free(data);
    return st;
}

static jw_status op_publish_packed(json_t *req, json_t *res)
{
    struct handle *h;
    const char *subject;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_str(req, "subject", 1, &subject);
    if (st != JW_OK)
        return st;
    json_t *value = json_object_get(req, "value");
    if (!value)
        return fail(JW_EINVAL, "missing argument 'value'");
    jw_packer *p = NULL;
    st = pack_to_bytes(value, &p);
    if (st != JW_OK)
        return st;
    size_t len = 0;
    const void *bytes = jw_packer_data(p, &len);
    jw_msg *m = NULL;
    st = jw_msg_new(subject, NULL, bytes, len, &m);
    if (st == JW_OK)
        st = jw_msg_header_add(m, "Content-Type", "application/msgpack");
    if (st == JW_OK)
        st = jw_conn_publish_msg(h->conn, m);
    if (st != JW_OK)
        lib_fail(st);
    jw_msg_free(m);
    jw_packer_free(p);
    return st;
}

static jw_status op_publish_many(json_t *req, json_t *res)
{
    struct handle *h;
    const char *subject;
    int64_t count, size, start;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_str(req, "subject", 1, &subject);
    if (st == JW_OK)
        st = arg_int(req, "count", 1, 0, &count);
    if (st == JW_OK)
        st = arg_int(req, "size", 1, 0, &size);
    if (st == JW_OK)
        st = arg_int(req, "start", 0, 0, &start);
    if (st != JW_OK)
        return st;
    if (count < 0)
        return fail(JW_EINVAL, "'count' must not be negative");
    if (start < 0)
        return fail(JW_EINVAL, "'start' must not be negative");
    if (size < 8 || size > 64 * 1024 * 1024)
        return fail(JW_EINVAL, "'size' must be between 8 and 64 MiB");
    unsigned char *payload = calloc(1, (size_t)size);
    if (!payload)
        return fail(JW_ENO_MEMORY, "out of memory");
    int64_t i;
    for (i = 0; i < count; i++) {
        uint64_t seq = (uint64_t)start + (uint64_t)i;
        for (int b = 0; b < 8; b++)
            payload[b] = (unsigned char)(seq >> (56 - 8 * b));
        st = jw_conn_publish(h->conn, subject, payload, (size_t)size);
        if (st != JW_OK)
            break;
    }
    free(payload);
    if (st != JW_OK) {
        lib_fail(st);
        size_t used = strlen(g_msg);
        snprintf(g_msg + used, sizeof g_msg - used,
                 " (after %lld of %lld messages)", (long long)i,
                 (long long)count);
        return st;
    }
    PUT(res, "published", json_integer(count));
    return JW_OK;
}

static jw_status op_request(json_t *req, json_t *res)
{
    struct handle *h;
    const char *subject;
    json_t *headers;
    int64_t ms;
    unsigned char *data = NULL;
    size_t len = 0;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_str(req, "subject", 1, &subject);
    if (st == JW_OK)
        st = arg_headers(req, &headers);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 5, &ms);
    if (st == JW_OK)
        st = arg_data(req, "data", &data, &len);
    if (st != JW_OK)
        return st;
    jw_msg *reply = NULL;
    if (headers) {
        jw_msg *m = NULL;
        st = build_msg(subject, NULL, data, len, headers, &m);
        if (st == JW_OK) {
            st = jw_conn_request_msg(h->conn, m, ms, &reply);
            if (st != JW_OK)
                lib_fail(st);
        }
        jw_msg_free(m);
    } else {
        st = jw_conn_request(h->conn, subject, data, len, ms, &reply);
        if (st != JW_OK)
            lib_fail(st);
    }
    free(data);
    if (st != JW_OK)
        return st;
    json_t *o = NULL;
    st = msg_json(reply, &o);
    jw_msg_free(reply);
    if (st != JW_OK)
        return st;
    PUT(res, "msg", o);
    return JW_OK;
}

static jw_status op_subscribe(json_t *req, json_t *res)
{
    struct handle *h;
    const char *subject, *queue;
    int64_t msgs_limit, bytes_limit;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_str(req, "subject", 1, &subject);
    if (st == JW_OK)
        st = arg_str(req, "queue", 0, &queue);
    if (st == JW_OK)
        st = arg_int(req, "pending_msgs_limit", 0, INT64_MIN, &msgs_limit);
    if (st == JW_OK)
        st = arg_int(req, "pending_bytes_limit", 0, INT64_MIN, &bytes_limit);
    if (st != JW_OK)
        return st;
    int conn_id = (int)(h - g_handles);
    int id = handle_new(H_SUB); /* may move g_handles: h is stale now */
    if (id < 0)
        return fail(JW_ENO_MEMORY, "out of memory");
    h = &g_handles[conn_id];
    jw_sub *sub = NULL;
    st = jw_conn_subscribe(h->conn, subject, queue, &sub);
    if (st == JW_OK &&
        (msgs_limit != INT64_MIN || bytes_limit != INT64_MIN)) {
        st = jw_sub_set_pending_limits(
            sub, msgs_limit != INT64_MIN ? msgs_limit : h->default_msgs_limit,
            bytes_limit != INT64_MIN ? bytes_limit : h->default_bytes_limit);
    }
    if (st != JW_OK) {
        lib_fail(st);
        jw_sub_free(sub);
        g_handles[id].kind = H_NONE;
        return st;
    }
    g_handles[id].sub = sub;
    g_handles[id].conn_handle = conn_id;
    PUT(res, "sub", json_integer(id));
    return JW_OK;
}

static jw_status op_unsubscribe(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_sub(req, &h);
    if (st != JW_OK)
        return st;
    TRY(jw_sub_unsubscribe(h->sub));
    return JW_OK;
}

static jw_status op_auto_unsubscribe(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t max;
    jw_status st = arg_sub(req, &h);
    if (st == JW_OK)
        st = arg_int(req, "max", 1, 0, &max);
    if (st != JW_OK)
        return st;
    if (max < 0)
        return fail(JW_EINVAL, "'max' must not be negative");
    TRY(jw_sub_auto_unsubscribe(h->sub, (uint64_t)max));
    return JW_OK;
}

static jw_status op_sub_drain(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_sub(req, &h);
    if (st != JW_OK)
        return st;
    TRY(jw_sub_drain(h->sub));
    return JW_OK;
}

static jw_status op_next_msg(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t ms;
    jw_status st = arg_sub(req, &h);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 5, &ms);
    if (st != JW_OK)
        return st;
    jw_msg *m = NULL;
    TRY(jw_sub_next(h->sub, ms, &m));
    json_t *o = NULL;
    st = msg_json(m, &o);
    jw_msg_free(m);
    if (st != JW_OK)
        return st;
    PUT(res, "msg", o);
    return JW_OK;
}

#define BATCH_MAX 4096

static jw_status op_next_msgs(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t ms, max;
    jw_status st = arg_sub(req, &h);
    if (st == JW_OK)
        st = arg_int(req, "max", 1, 0, &max);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 5, &ms);
    if (st != JW_OK)
        return st;
    if (max < 1)
        return fail(JW_EINVAL, "'max' must be at least 1");
    if (max > BATCH_MAX)
        max = BATCH_MAX;
    static jw_msg *batch[BATCH_MAX];
    int n = jw_sub_next_batch(h->sub, batch, (int)max, ms);
    if (n < 0)
        return lib_fail((jw_status)n);
    json_t *list = json_array();
    int ok = list != NULL;
    for (int i = 0; i < n; i++) {
        json_t *o = NULL;
        if (ok) {
            st = msg_json(batch[i], &o);
            ok = st == JW_OK && json_array_append_new(list, o) == 0;
        }
        jw_msg_free(batch[i]);
    }
    if (!ok) {
        json_decref(list);
        return st != JW_OK ? st : fail(JW_ENO_MEMORY, "out of memory");
    }
    PUT(res, "msgs", list);
    return JW_OK;
}

static jw_status op_pending(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_sub(req, &h);
    if (st != JW_OK)
        return st;
    int64_t msgs = 0, bytes = 0;
    TRY(jw_sub_pending(h->sub, &msgs, &bytes));
    PUT(res, "msgs", json_integer(msgs));
    PUT(res, "bytes", json_integer(bytes));
    PUT(res, "dropped", json_integer((json_int_t)jw_sub_dropped(h->sub)));
    PUT(res, "delivered", json_integer((json_int_t)jw_sub_delivered(h->sub)));
    PUT(res, "valid", json_boolean(jw_sub_is_valid(h->sub)));
    return JW_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static jw_status op_receive_count(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t count, ms;
    int ordered;
    jw_status st = arg_sub(req, &h);
    if (st == JW_OK)
        st = arg_int(req, "count", 1, 0, &count);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 60, &ms);
    if (st == JW_OK)
        st = arg_bool(req, "ordered", 0, &ordered);
    if (st != JW_OK)
        return st;
    static jw_msg *batch[1024];
    int64_t deadline = ms < 0 ? INT64_MAX : now_ms() + ms;
    int64_t received = 0, bytes = 0;
    int in_order = 1;
    jw_status reason = JW_OK;
    while (received < count) {
        int64_t left = ms < 0 ? -1 : deadline - now_ms();
        if (ms >= 0 && left < 0)
            left = 0;
        int64_t want = count - received;
        int n = jw_sub_next_batch(h->sub, batch, want < 1024 ? (int)want : 1024,
                                  left);
        if (n < 0) {
            reason = (jw_status)n;
            break;
        }
        for (int k = 0; k < n; k++) {
            size_t len = jw_msg_data_len(batch[k]);
            if (ordered && in_order) {
                const unsigned char *d = jw_msg_data(batch[k]);
                uint64_t seq = 0;
                if (len >= 8)
                    for (int b = 0; b < 8; b++)
                        seq = seq << 8 | d[b];
                if (len < 8 || seq != (uint64_t)(received + k))
                    in_order = 0;
            }
            bytes += (int64_t)len;
            jw_msg_free(batch[k]);
        }
        received += n;
    }
    PUT(res, "received", json_integer(received));
    PUT(res, "bytes", json_integer(bytes));
    PUT(res, "in_order", ordered ? json_boolean(in_order) : json_null());
    PUT(res, "dropped", json_integer((json_int_t)jw_sub_dropped(h->sub)));
    PUT(res, "reason", json_string(jw_status_name(reason)));
    return JW_OK;
}

static jw_status op_respond_next(json_t *req, json_t *res)
{
    struct handle *h;
    json_t *headers;
    int64_t ms;
    unsigned char *data = NULL;
    size_t len = 0;
    jw_status st = arg_sub(req, &h);
    if (st == JW_OK)
        st = arg_headers(req, &headers);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 5, &ms);
    if (st == JW_OK)
        st = arg_data(req, "data", &data, &len);
    if (st != JW_OK)
        return st;
    jw_msg *m = NULL;
    st = jw_sub_next(h->sub, ms, &m);
    if (st != JW_OK) {
        free(data);
        return lib_fail(st);
    }
    if (jw_msg_reply(m) == NULL) {
        st = fail(JW_EINVAL, "message on '%s' has no reply subject",
                  jw_msg_subject(m));
    } else if (headers) {
        struct handle *ch = handle_get(h->conn_handle, H_CONN);
        jw_msg *out = NULL;
        if (!ch)
            st = fail(JW_ECONNECTION_CLOSED,
                      "the subscription's connection was freed");
        else
            st = build_msg(jw_msg_reply(m), NULL, data, len, headers, &out);
        if (st == JW_OK) {
            st = jw_conn_publish_msg(ch->conn, out);
            if (st != JW_OK)
                lib_fail(st);
        }
        jw_msg_free(out);
    } else {
        st = jw_msg_respond(m, data, len);
        if (st != JW_OK)
            lib_fail(st);
    }
    free(data);
    json_t *o = NULL;
    if (st == JW_OK)
        st = msg_json(m, &o);
    jw_msg_free(m);
    if (st != JW_OK)
        return st;
    PUT(res, "msg", o);
    return JW_OK;
}

/* Runs on the subscription's delivery thread. */
static void serve_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    struct serve_state *s = arg;
    (void)sub;
    const char *reply = jw_msg_reply(msg);
    if (reply == NULL) {
        fprintf(stderr, "c_driver: serve: message on %s without reply\n",
                jw_msg_subject(msg));
        jw_msg_free(msg);
        return;
    }
    if (s->count > 0 && atomic_load(&s->answered) >= s->count) {
        jw_msg_free(msg);
        return;
    }
    size_t len = jw_msg_data_len(msg);
    unsigned char *data = malloc(len + 1);
    jw_msg *out = NULL;
    jw_status st = data ? JW_OK : JW_ENO_MEMORY;
    if (st == JW_OK) {
        memcpy(data, jw_msg_data(msg), len);
        if (s->upper)
            for (size_t i = 0; i < len; i++)
                if (data[i] >= 'a' && data[i] <= 'z')
                    data[i] = (unsigned char)(data[i] - 'a' + 'A');
        st = jw_msg_new(reply, NULL, data, len, &out);
    }
    int n = jw_msg_header_count(msg);
    for (int i = 0; st == JW_OK && i < n; i++) {
        const char *name = NULL, *value = NULL;
        st = jw_msg_header_at(msg, i, &name, &value);
        if (st == JW_OK)
            st = jw_msg_header_add(out, name, value);
    }
    if (st == JW_OK)
        st = jw_conn_publish_msg(s->conn, out);
    if (st == JW_OK)
        atomic_fetch_add(&s->answered, 1);
    else
        fprintf(stderr, "c_driver: serve: answering on %s: %s [%s]\n", reply,
                jw_status_name(st), jw_last_error());
    jw_msg_free(out);
    free(data);
    jw_msg_free(msg);
}

static jw_status op_serve(json_t *req, json_t *res)
{
    struct handle *h;
    const char *subject, *queue, *mode;
    int64_t count;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_str(req, "subject", 1, &subject);
    if (st == JW_OK)
        st = arg_str(req, "queue", 0, &queue);
    if (st == JW_OK)
        st = arg_int(req, "count", 1, 0, &count);
    if (st == JW_OK)
        st = arg_str(req, "mode", 1, &mode);
    if (st != JW_OK)
        return st;
    if (count < 0)
        return fail(JW_EINVAL, "'count' must not be negative");
    int upper;
    if (strcmp(mode, "echo") == 0)
        upper = 0;
    else if (strcmp(mode, "upper") == 0)
        upper = 1;
    else
        return fail(JW_EINVAL, "unknown serve mode '%s'", mode);
    int conn_id = (int)(h - g_handles);
    int id = handle_new(H_SUB);
    if (id < 0)
        return fail(JW_ENO_MEMORY, "out of memory");
    h = &g_handles[conn_id];
    struct serve_state *s = calloc(1, sizeof *s);
    if (!s) {
        g_handles[id].kind = H_NONE;
        return fail(JW_ENO_MEMORY, "out of memory");
    }
    s->conn = h->conn;
    s->upper = upper;
    s->count = count;
    atomic_init(&s->answered, 0);
    /* Kept until exit: the handler may still be running on its thread
     * while the main thread frees the subscription. */
    s->next = g_serves;
    g_serves = s;
    jw_sub *sub = NULL;
    st = jw_conn_subscribe_cb(h->conn, subject, queue, serve_handler, s, &sub);
    if (st == JW_OK && count > 0)
        st = jw_sub_auto_unsubscribe(sub, (uint64_t)count);
    if (st != JW_OK) {
        lib_fail(st);
        jw_sub_free(sub);
        g_handles[id].kind = H_NONE;
        return st;
    }
    g_handles[id].sub = sub;
    g_handles[id].conn_handle = conn_id;
    PUT(res, "sub", json_integer(id));
    return JW_OK;
}

/* ------------------------------------------------------------------------
 * Delivery paths under load: burst_receive, burst_serve, request_many.
 * Each op makes its own connection and closes it before answering.
 */
#define BURST_BATCH 256
/* How often a wait looks again at what no message announces: drops, the
 * end of the subscription, the deadline. */
#define BURST_SLICE_MS 50

static void put_seq(unsigned char *p, uint64_t seq)
{
    for (int b = 0; b < 8; b++)
        p[b] = (unsigned char)(seq >> (56 - 8 * b));
}

static uint64_t get_seq(const unsigned char *p)
{
    uint64_t seq = 0;
    for (int b = 0; b < 8; b++)
        seq = seq << 8 | p[b];
    return seq;
}

/* What a burst op counts. On the handler path the delivery thread
 * updates it while the driver's thread waits, so both touch it under mu;
 * the pull path takes the same lock uncontended, to share the code. */
struct burst {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled when a goal may have been met */
    int64_t count, after;
    struct timespec delay; /* slept per message where user code works */
    int serve;             /* burst_serve: answer instead of counting */
    int64_t received, after_received, served;
    uint64_t last_seq, after_last_seq;
    uint64_t after_base; /* the dropped counter when the after phase began */
    int in_order, after_in_order;
};

enum burst_goal { GOAL_BURST, GOAL_AFTER, GOAL_SERVED };

static void burst_init(struct burst *b, int64_t count, int64_t after,
                       struct timespec delay, int serve)
{
    memset(b, 0, sizeof *b);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cond, &ca);
    pthread_condattr_destroy(&ca);
    b->count = count;
    b->after = after;
    b->delay = delay;
    b->serve = serve;
    b->in_order = b->after_in_order = 1;
}

static void burst_destroy(struct burst *b)
{
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->mu);
}

/* Whether goal is met (mu held). */
static int burst_reached(const struct burst *b, const jw_sub *sub,
                         enum burst_goal goal)
{
    switch (goal) {
    case GOAL_BURST:
        return b->received + (int64_t)jw_sub_dropped(sub) >= b->count;
    case GOAL_AFTER:
        return b->after_received >= b->after;
    case GOAL_SERVED:
        return b->served >= b->count;
    }
    return 1;
}

/* Count one message of burst_receive (mu held). It belongs to the burst
 * until the burst is accounted for (received + dropped reaches count) and
 * to the after phase from then on, since the peer sends those only once
 * it hears `ready` again. A sequence number must equal its position while
 * nothing was dropped; with drops it need only increase. */
static void burst_take(struct burst *b, const jw_msg *m, uint64_t dropped)
{
    int whole = jw_msg_data_len(m) >= 8;
    uint64_t seq = whole ? get_seq(jw_msg_data(m)) : 0;
    if (b->received + (int64_t)dropped < b->count) {
        if (!whole || (b->received > 0 && seq <= b->last_seq) ||
            (dropped == 0 && seq != (uint64_t)b->received))
            b->in_order = 0;
        b->last_seq = seq;
        b->received++;
    } else if (b->after_received < b->after) {
        if (!whole ||
            (b->after_received > 0 && seq <= b->after_last_seq) ||
            (dropped == b->after_base && seq != (uint64_t)b->after_received))
            b->after_in_order = 0;
        b->after_last_seq = seq;
        b->after_received++;
    }
}

/* The work of one message on either path: the user's delay, then count
 * it or answer it with its own data. */
static void burst_one(struct burst *b, jw_sub *sub, const jw_msg *m)
{
    if (b->delay.tv_sec > 0 || b->delay.tv_nsec > 0)
        nanosleep(&b->delay, NULL);
    uint64_t dropped = jw_sub_dropped(sub);
    /* served is written by this thread only, so reading it unlocked is
     * safe; the answer goes out without holding mu. */
    int answered = b->serve && b->served < b->count &&
                   jw_msg_respond(m, jw_msg_data(m), jw_msg_data_len(m)) ==
                       JW_OK;
    pthread_mutex_lock(&b->mu);
    if (b->serve)
        b->served += answered;
    else
        burst_take(b, m, dropped);
    /* Only phase ends wake the waiter: a wake per message would cost
     * the driver's thread more than the handler's work. */
    if (b->serve ? b->served >= b->count
                 : b->received + (int64_t)dropped >= b->count)
        pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->mu);
}

/* Runs on the subscription's delivery thread. */
static void burst_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    burst_one(arg, sub, msg);
    jw_msg_free(msg);
}

/* Pull path: take what is queued, waiting up to wait_ms for the first
 * message. JW_ETIMEOUT only says that nothing came; the other failures
 * say why the subscription ended. With a delay, a batch holds no more
 * messages than can be worked on before the deadline, so that the work
 * does not run on past the timeout. */
static jw_status burst_pull(struct burst *b, jw_sub *sub, int64_t wait_ms,
                            int64_t deadline)
{
    static jw_msg *batch[BURST_BATCH];
    int max = BURST_BATCH;
    double per_ms = (double)b->delay.tv_sec * 1e3 + b->delay.tv_nsec / 1e6;
    if (per_ms > 0) {
        double fit = (double)(deadline - now_ms()) / per_ms;
        if (fit < max)
            max = fit < 1 ? 1 : (int)fit;
    }
    int n = jw_sub_next_batch(sub, batch, max, wait_ms);
    if (n < 0)
        return (jw_status)n;
    for (int i = 0; i < n; i++) {
        burst_one(b, sub, batch[i]);
        jw_msg_free(batch[i]);
    }
    return JW_OK;
}

/* Wait until goal is met (JW_OK), the deadline passes (JW_ETIMEOUT) or
 * the subscription ends (why). Both paths wait in slices, so that the
 * last messages being dropped, which no delivery announces, cannot make
 * the wait hang. */
static jw_status burst_until(struct burst *b, jw_conn *conn, jw_sub *sub,
                             int handler, enum burst_goal goal,
                             int64_t deadline)
{
    for (;;) {
        pthread_mutex_lock(&b->mu);
        int done = burst_reached(b, sub, goal);
        pthread_mutex_unlock(&b->mu);
        if (done)
            return JW_OK;
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return JW_ETIMEOUT;
        int64_t slice = left < BURST_SLICE_MS ? left : BURST_SLICE_MS;
        if (!handler) {
            jw_status st = burst_pull(b, sub, slice, deadline);
            if (st != JW_OK && st != JW_ETIMEOUT)
                return st;
            continue;
        }
        if (!jw_sub_is_valid(sub))
            return jw_conn_status_get(conn) == JW_CONN_CLOSED
                       ? JW_ECONNECTION_CLOSED
                       : JW_EINVALID_SUBSCRIPTION;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += slice / 1000;
        until.tv_nsec += (long)(slice % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&b->mu);
        if (!burst_reached(b, sub, goal))
            pthread_cond_timedwait(&b->cond, &b->mu, &until);
        pthread_mutex_unlock(&b->mu);
    }
}

/* Milliseconds left until deadline for a waiting call (-1: forever). */
static int64_t ms_left(int64_t deadline)
{
    if (deadline == INT64_MAX)
        return -1;
    int64_t left = deadline - now_ms();
    return left > 0 ? left : 0;
}

/* Publish messages [from, to) of a burst as op_publish_many does. */
static jw_status burst_publish(jw_conn *conn, const char *subject,
                               unsigned char *payload, int64_t size,
                               int64_t from, int64_t to)
{
    for (int64_t i = from; i < to; i++) {
        put_seq(payload, (uint64_t)i);
        jw_status st = jw_conn_publish(conn, subject, payload, (size_t)size);
        if (st != JW_OK)
            return st;
    }
    return JW_OK;
}

/* Pull path with `publish`: runs of publishes, each followed by pulls
 * that do not wait, so that the connection's own messages are taken
 * while it is still publishing. */
static jw_status burst_publish_pulling(struct burst *b, jw_conn *conn,
                                       jw_sub *sub, const char *subject,
                                       unsigned char *payload, int64_t size,
                                       int64_t deadline)
{
    for (int64_t i = 0; i < b->count; i += BURST_BATCH) {
        if (now_ms() >= deadline)
            return JW_ETIMEOUT;
        int64_t end = b->count - i > BURST_BATCH ? i + BURST_BATCH : b->count;
        jw_status st = burst_publish(conn, subject, payload, size, i, end);
        if (st != JW_OK)
            return st;
        while (st == JW_OK)
            st = burst_pull(b, sub, 0, deadline);
        if (st != JW_ETIMEOUT)
            return st;
    }
    return JW_OK;
}

/* "path": 0 for pull, 1 for handler. */
static jw_status arg_path(json_t *req, int *handler)
{
    const char *path;
    jw_status st = arg_str(req, "path", 1, &path);
    if (st != JW_OK)
        return st;
    if (strcmp(path, "pull") == 0)
        *handler = 0;
    else if (strcmp(path, "handler") == 0)
        *handler = 1;
    else
        return fail(JW_EINVAL, "unknown path '%s'", path);
    return JW_OK;
}

/* "delay": seconds (a number >= 0), absent: none. */
static jw_status arg_delay(json_t *req, struct timespec *out)
{
    json_t *v = json_object_get(req, "delay");
    double s = 0;
    if (v && !json_is_null(v)) {
        if (!json_is_number(v))
            return fail(JW_EINVAL, "'delay' must be a number of seconds");
        s = json_number_value(v);
        if (!(s >= 0 && s <= 3600))
            return fail(JW_EINVAL, "'delay' must be between 0 and 3600");
    }
    out->tv_sec = (time_t)s;
    out->tv_nsec = (long)((s - (double)out->tv_sec) * 1e9);
    return JW_OK;
}

/* Connect with default options, subscribe the path's way (handler: b's
 * handler), apply the pending limits given (INT64_MIN: absent, the other
 * one then keeps the connection's default) and flush; with `ready`,
 * publish an empty message there and flush, so that the peer starts. */
static jw_status burst_open(const char *url, const char *subject,
                            struct burst *handler, int64_t msgs_limit,
                            int64_t bytes_limit, const char *ready,
                            int64_t deadline, jw_conn **conn, jw_sub **sub)
{
    *conn = NULL;
    *sub = NULL;
    jw_status st = jw_conn_connect(url, NULL, conn);
    if (st == JW_OK && handler)
        st = jw_conn_subscribe_cb(*conn, subject, NULL, burst_handler,
                                  handler, sub);
    else if (st == JW_OK)
        st = jw_conn_subscribe(*conn, subject, NULL, sub);
    if (st == JW_OK &&
        (msgs_limit != INT64_MIN || bytes_limit != INT64_MIN))
        st = jw_sub_set_pending_limits(
            *sub, msgs_limit != INT64_MIN ? msgs_limit : 524288,
            bytes_limit != INT64_MIN ? bytes_limit : 64LL * 1024 * 1024);
    if (st == JW_OK)
        st = jw_conn_flush(*conn, ms_left(deadline));
    if (st == JW_OK && ready)
        st = jw_conn_publish(*conn, ready, "", 0);
    if (st == JW_OK && ready)
        st = jw_conn_flush(*conn, ms_left(deadline));
    if (st != JW_OK) {
        lib_fail(st);
        jw_sub_free(*sub);
        jw_conn_free(*conn);
        *sub = NULL;
        *conn = NULL;
    }
    return st;
}

/* Take the connection's queued events without waiting and count its slow
 * consumer errors. The others go to stderr: they explain a burst that
 * ended early (a server that dropped a slow client shows as DISCONNECTED
 * and RECONNECTED). */
static int64_t burst_slow_events(jw_conn *conn)
{
    int64_t n = 0;
    jw_event *ev = NULL;
    while (jw_conn_next_event(conn, 0, &ev) == JW_OK) {
        jw_event_kind kind = jw_event_kind_get(ev);
        if (kind == JW_EVENT_ERROR &&
            jw_event_status(ev) == JW_ESLOW_CONSUMER)
            n++;
        else
            fprintf(stderr, "c_driver: burst: event %s %s: %s\n",
                    jw_event_kind_name(kind) ? jw_event_kind_name(kind) : "?",
                    jw_status_name(jw_event_status(ev)), jw_event_text(ev));
        jw_event_free(ev);
    }
    return n;
}

static jw_status op_burst_paths(json_t *req, json_t *res)
{
    PUT(res, "paths", json_pack("[ss]", "pull", "handler"));
    return JW_OK;
}

static jw_status op_burst_receive(json_t *req, json_t *res)
{
    const char *url, *subject, *ready;
    int64_t count, size, after, ms, msgs_limit, bytes_limit;
    int handler, publish;
    struct timespec delay;
    jw_status st = arg_str(req, "url", 1, &url);
    if (st == JW_OK)
        st = arg_str(req, "subject", 1, &subject);
    if (st == JW_OK)
        st = arg_path(req, &handler);
    if (st == JW_OK)
        st = arg_int(req, "count", 1, 0, &count);
    if (st == JW_OK)
        st = arg_str(req, "ready", 0, &ready);
    if (st == JW_OK)
        st = arg_bool(req, "publish", 0, &publish);
    if (st == JW_OK)
        st = arg_int(req, "size", 0, 16, &size);
    if (st == JW_OK)
        st = arg_delay(req, &delay);
    if (st == JW_OK)
        st = arg_int(req, "after", 0, 0, &after);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 60, &ms);
    if (st == JW_OK)
        st = arg_int(req, "pending_msgs_limit", 0, INT64_MIN, &msgs_limit);
    if (st == JW_OK)
        st = arg_int(req, "pending_bytes_limit", 0, INT64_MIN, &bytes_limit);
    if (st != JW_OK)
        return st;
    if (count < 0 || after < 0)
        return fail(JW_EINVAL, "'count' and 'after' must not be negative");
    if (size < 8 || size > 64 * 1024 * 1024)
        return fail(JW_EINVAL, "'size' must be between 8 and 64 MiB");
    if (after > 0 && !ready)
        return fail(JW_EINVAL, "'after' needs 'ready'");
    unsigned char *payload = publish ? calloc(1, (size_t)size) : NULL;
    if (publish && !payload)
        return fail(JW_ENO_MEMORY, "out of memory");
    int64_t deadline = ms < 0 ? INT64_MAX : now_ms() + ms;
    struct burst b;
    burst_init(&b, count, after, delay, 0);
    jw_conn *conn;
    jw_sub *sub;
    st = burst_open(url, subject, handler ? &b : NULL, msgs_limit,
                    bytes_limit, ready, deadline, &conn, &sub);
    if (st != JW_OK) {
        free(payload);
        burst_destroy(&b);
        return st;
    }
    /* The handler receives on its thread while this one publishes. */
    jw_status reason = JW_OK;
    if (publish && handler)
        reason = burst_publish(conn, subject, payload, size, 0, count);
    else if (publish)
        reason = burst_publish_pulling(&b, conn, sub, subject, payload, size,
                                       deadline);
    if (reason == JW_OK)
        reason = burst_until(&b, conn, sub, handler, GOAL_BURST, deadline);
    if (reason == JW_OK && after > 0) {
        pthread_mutex_lock(&b.mu);
        b.after_base = jw_sub_dropped(sub);
        pthread_mutex_unlock(&b.mu);
        reason = jw_conn_publish(conn, ready, "", 0);
        if (reason == JW_OK)
            reason = jw_conn_flush(conn, ms_left(deadline));
        if (reason == JW_OK)
            reason = burst_until(&b, conn, sub, handler, GOAL_AFTER,
                                 deadline);
    }
    uint64_t dropped = jw_sub_dropped(sub);
    jw_sub_free(sub); /* waits out a running handler: b is ours again */
    int64_t slow = burst_slow_events(conn);
    jw_conn_free(conn);
    free(payload);
    burst_destroy(&b);
    PUT(res, "received", json_integer(b.received));
    PUT(res, "dropped", json_integer((json_int_t)dropped));
    PUT(res, "in_order", json_boolean(b.in_order));
    PUT(res, "slow_events", json_integer(slow));
    PUT(res, "after_received", json_integer(b.after_received));
    PUT(res, "after_in_order", json_boolean(b.after_in_order));
    PUT(res, "reason", json_string(jw_status_name(reason)));
    return JW_OK;
}

static jw_status op_burst_serve(json_t *req, json_t *res)
{
    const char *url, *subject, *ready;
    int64_t count, ms;
    int handler;
    jw_status st = arg_str(req, "url", 1, &url);
    if (st == JW_OK)
        st = arg_str(req, "subject", 1, &subject);
    if (st == JW_OK)
        st = arg_path(req, &handler);
    if (st == JW_OK)
        st = arg_int(req, "count", 1, 0, &count);
    if (st == JW_OK)
        st = arg_str(req, "ready", 0, &ready);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 60, &ms);
    if (st != JW_OK)
        return st;
    if (count < 0)
        return fail(JW_EINVAL, "'count' must not be negative");
    int64_t deadline = ms < 0 ? INT64_MAX : now_ms() + ms;
    struct burst b;
    burst_init(&b, count, 0, (struct timespec){0, 0}, 1);
    jw_conn *conn;
    jw_sub *sub;
    st = burst_open(url, subject, handler ? &b : NULL, INT64_MIN, INT64_MIN,
                    ready, deadline, &conn, &sub);
    if (st != JW_OK) {
        burst_destroy(&b);
        return st;
    }
    jw_status reason =
        burst_until(&b, conn, sub, handler, GOAL_SERVED, deadline);
    jw_sub_free(sub);
    /* Closing does not wait for unwritten answers: send them first. */
    jw_status flushed = jw_conn_flush(conn, 5000);
    if (flushed != JW_OK)
        fprintf(stderr, "c_driver: burst_serve: final flush: %s\n",
                jw_status_name(flushed));
    jw_conn_free(conn);
    burst_destroy(&b);
    PUT(res, "served", json_integer(b.served));
    PUT(res, "reason", json_string(jw_status_name(reason)));
    return JW_OK;
}

/* A started request of request_many: its id and its payload's number. */
struct started {
    uint64_t id;
    int64_t index;
    int done;
};

static int cmp_started(const void *a, const void *b)
{
    uint64_t x = ((const struct started *)a)->id;
    uint64_t y = ((const struct started *)b)->id;
    return x < y ? -1 : x > y;
}

/* errors[code] += 1. */
static int count_error(json_t *errors, const char *code)
{
    json_t *n = json_object_get(errors, code);
    if (n)
        return json_integer_set(n, json_integer_value(n) + 1) == 0;
    return put(errors, code, json_integer(1));
}

static jw_status op_request_many(json_t *req, json_t *res)
{
    const char *url, *subject;
    int64_t count, size, ms;
    jw_status st = arg_str(req, "url", 1, &url);
    if (st == JW_OK)
        st = arg_str(req, "subject", 1, &subject);
    if (st == JW_OK)
        st = arg_int(req, "count", 1, 0, &count);
    if (st == JW_OK)
        st = arg_int(req, "size", 0, 16, &size);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 10, &ms);
    if (st != JW_OK)
        return st;
    if (count < 0 || count > 10000000)
        return fail(JW_EINVAL, "'count' must be between 0 and 10000000");
    if (size > 64 * 1024 * 1024)
        return fail(JW_EINVAL, "'size' must be at most 64 MiB");
    if (size < 8)
        size = 8; /* room for the distinct index */
    int64_t deadline = ms < 0 ? INT64_MAX : now_ms() + ms;
    json_t *errors = json_object();
    unsigned char *payload = calloc(1, (size_t)size);
    struct started *reqs = calloc((size_t)count + 1, sizeof *reqs);
    jw_conn *conn = NULL;
    if (!errors || !payload || !reqs)
        st = fail(JW_ENO_MEMORY, "out of memory");
    else if ((st = jw_conn_connect(url, NULL, &conn)) != JW_OK)
        lib_fail(st);
    /* All of them in flight before the first reply is taken. */
    int64_t started = 0, pending = 0, answered = 0;
    int ok = 1;
    for (int64_t i = 0; st == JW_OK && ok && i < count; i++) {
        jw_msg *m = NULL;
        put_seq(payload, (uint64_t)i);
        jw_status rs = jw_msg_new(subject, NULL, payload, (size_t)size, &m);
        if (rs == JW_OK)
            rs = jw_conn_request_start(conn, m, &reqs[started].id);
        jw_msg_free(m);
        if (rs != JW_OK) {
            ok = count_error(errors, jw_status_name(rs));
            continue;
        }
        reqs[started++].index = i;
    }
    qsort(reqs, (size_t)started, sizeof *reqs, cmp_started);
    pending = started;
    while (st == JW_OK && ok && pending > 0) {
        /* Reset before taking, so a completion racing with the takes
         * signals the fd again. */
        jw_conn_fd_reset(conn);
        uint64_t id;
        jw_status rs;
        jw_msg *reply;
        while (ok && jw_conn_request_poll(conn, &id, &rs, &reply) == 1) {
            struct started key = {id, 0, 0};
            struct started *r = bsearch(&key, reqs, (size_t)started,
                                        sizeof *reqs, cmp_started);
            if (r && !r->done) {
                r->done = 1;
                pending--;
                put_seq(payload, (uint64_t)r->index);
                if (rs != JW_OK)
                    ok = count_error(errors, jw_status_name(rs));
                else if (jw_msg_data_len(reply) == (size_t)size &&
                         memcmp(jw_msg_data(reply), payload,
                                (size_t)size) == 0)
                    answered++;
                else
                    ok = count_error(errors, "MISMATCH");
            }
            jw_msg_free(reply);
        }
        int64_t left = ms_left(deadline);
        if (pending == 0 || left == 0)
            break;
        struct pollfd pfd = {jw_conn_fd(conn), POLLIN, 0};
        poll(&pfd, 1, left < 0 || left > INT_MAX ? -1 : (int)left);
    }
    /* The requests still waiting had their time: stop waiting for them. */
    for (int64_t i = 0; st == JW_OK && i < started; i++) {
        if (reqs[i].done)
            continue;
        jw_conn_request_cancel(conn, reqs[i].id);
        ok = ok && count_error(errors, jw_status_name(JW_ETIMEOUT));
    }
    jw_conn_free(conn);
    free(reqs);
    free(payload);
    if (st == JW_OK && !ok)
        st = fail(JW_ENO_MEMORY, "out of memory");
    if (st != JW_OK) {
        json_decref(errors);
        return st;
    }
    PUT(res, "answered", json_integer(answered));
    PUT(res, "errors", errors);
    return JW_OK;
}

static jw_status op_pack(json_t *req, json_t *res)
{
    json_t *value = json_object_get(req, "value");
    if (!value)
        return fail(JW_EINVAL, "missing argument 'value'");
    jw_packer *p = NULL;
    jw_status st = pack_to_bytes(value, &p);
    if (st != JW_OK)
        return st;
    size_t len = 0;
    const void *bytes = jw_packer_data(p, &len);
    json_t *data = b64_json(bytes, len);
    jw_packer_free(p);
    PUT(res, "data", data);
    return JW_OK;
}

static jw_status op_unpack(json_t *req, json_t *res)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (!json_is_string(json_object_get(req, "data")))
        return fail(JW_EINVAL, "missing argument 'data'");
    jw_status st = arg_data(req, "data", &data, &len);
    if (st != JW_OK)
        return st;
    jw_unpacked *u = NULL;
    st = jw_unpack(data, len, &u);
    free(data);
    if (st != JW_OK)
        return lib_fail(st);
    json_t *value = NULL;
    st = value_json(jw_unpacked_root(u), 0, &value);
    jw_unpacked_free(u);
    if (st != JW_OK)
        return st;
    PUT(res, "value", value);
    return JW_OK;
}

/* ------------------------------------------------------------------------
 * JetStream
 *
 * Every context the driver makes has the duration_unit "s": the engine
 * takes configurations with the protocol's durations in seconds and gives
 * infos and KV status back in seconds, and checks the fields itself
 * (jw_js_config_fields), so configurations pass through unchanged.
 */

/* The "config" argument (an object) as JSON text for the engine (free
 * it). */
static jw_status arg_config(json_t *req, char **out)
{
    json_t *v = json_object_get(req, "config");
    *out = NULL;
    if (!json_is_object(v))
        return fail(JW_EINVAL, "'config' must be an object");
    *out = json_dumps(v, JSON_COMPACT);
    return *out ? JW_OK : fail(JW_ENO_MEMORY, "out of memory");
}

/* Put the engine's JSON text (released here) as member key of res. */
static jw_status put_doc(json_t *res, const char *key, char *text)
{
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    jw_free(text);
    if (!doc)
        return fail(JW_EPROTOCOL, "%s is not JSON: %s", key, err.text);
    PUT(res, key, doc);
    return JW_OK;
}

/* Put the engine's info text (released here) as "info". */
static jw_status put_info(json_t *res, char *text)
{
    return put_doc(res, "info", text);
}

/* The "js" handle's context and a required string argument. */
static jw_status arg_js_str(json_t *req, const char *key, jw_js **js,
                            const char **value)
{
    struct handle *h = NULL;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st == JW_OK)
        st = arg_str(req, key, 1, value);
    if (st == JW_OK)
        *js = h->js;
    return st;
}

/* The context, "stream" and "name" of a request about one consumer. */
static jw_status arg_consumer_of(json_t *req, jw_js **js, const char **stream,
                                 const char **name)
{
    jw_status st = arg_js_str(req, "stream", js, stream);
    return st == JW_OK ? arg_str(req, "name", 1, name) : st;
}

/* An optional "timeout" that must be positive, in ms (dflt_s absent). */
static jw_status arg_positive_timeout(json_t *req, double dflt_s,
                                      int64_t *out_ms)
{
    json_t *v = json_object_get(req, "timeout");
    if (v && !json_is_null(v) &&
        !(json_is_number(v) && json_number_value(v) > 0))
        return fail(JW_EINVAL, "'timeout' must be a positive number");
    jw_status st = arg_timeout(req, "timeout", dflt_s, out_ms);
    if (st == JW_OK && *out_ms == 0)
        *out_ms = 1;
    return st;
}

/* A new handle of kind made through the handle parent. */
static int handle_child(enum handle_kind kind, int parent)
{
    int id = handle_new(kind);
    if (id > 0)
        g_handles[id].parent = parent;
    return id;
}

static jw_status op_jetstream(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t ms;
    const char *domain = NULL;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_positive_timeout(req, 5, &ms);
    if (st == JW_OK)
        st = arg_str(req, "domain", 0, &domain);
    if (st != JW_OK)
        return st;
    int conn_id = (int)(h - g_handles);
    jw_js *js = NULL;
    TRY(jw_js_new(h->conn, &js));
    if ((st = jw_js_set_int(js, "timeout", ms)) != JW_OK ||
        (st = jw_js_set_str(js, "duration_unit", "s")) != JW_OK ||
        (domain && (st = jw_js_set_str(js, "domain", domain)) != JW_OK)) {
        lib_fail(st);
        jw_js_free(js);
        return st;
    }
    int id = handle_child(H_JS, conn_id);
    if (id < 0) {
        jw_js_free(js);
        return fail(JW_ENO_MEMORY, "out of memory");
    }
    g_handles[id].js = js;
    PUT(res, "js", json_integer(id));
    return JW_OK;
}

typedef jw_status (*stream_cfg_fn)(jw_js *, const char *, char **);

static jw_status stream_config_op(json_t *req, json_t *res, stream_cfg_fn fn)
{
    struct handle *h;
    char *config = NULL, *info = NULL;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st == JW_OK)
        st = arg_config(req, &config);
    if (st != JW_OK)
        return st;
    st = fn(h->js, config, &info);
    free(config);
    if (st != JW_OK)
        return lib_fail(st);
    return put_info(res, info);
}

static jw_status op_stream_add(json_t *req, json_t *res)
{
    return stream_config_op(req, res, jw_js_stream_create);
}

static jw_status op_stream_update(json_t *req, json_t *res)
{
    return stream_config_op(req, res, jw_js_stream_update);
}

static jw_status op_stream_info(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream;
    char *info = NULL;
    jw_status st = arg_js_str(req, "stream", &js, &stream);
    if (st != JW_OK)
        return st;
    TRY(jw_js_stream_info(js, stream, &info));
    return put_info(res, info);
}

static jw_status op_stream_delete(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream;
    jw_status st = arg_js_str(req, "stream", &js, &stream);
    if (st != JW_OK)
        return st;
    TRY(jw_js_stream_delete(js, stream));
    return JW_OK;
}

static jw_status op_js_api_level(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st != JW_OK)
        return st;
    int level = 0;
    TRY(jw_js_api_level(h->js, &level));
    PUT(res, "level", json_integer(level));
    return JW_OK;
}

static jw_status op_stream_purge(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream, *subject;
    int64_t seq, keep;
    jw_status st = arg_js_str(req, "stream", &js, &stream);
    if (st == JW_OK)
        st = arg_str(req, "subject", 0, &subject);
    if (st == JW_OK)
        st = arg_int(req, "seq", 0, 0, &seq);
    if (st == JW_OK)
        st = arg_int(req, "keep", 0, 0, &keep);
    if (st != JW_OK)
        return st;
    if (seq < 0 || keep < 0)
        return fail(JW_EINVAL, "'seq' and 'keep' must be >= 0");
    uint64_t purged = 0;
    TRY(jw_js_stream_purge(js, stream, subject, (uint64_t)seq,
                           (uint64_t)keep, &purged));
    PUT(res, "purged", json_integer((json_int_t)purged));
    return JW_OK;
}

static jw_status op_stream_get_msg(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream;
    int64_t seq;
    jw_status st = arg_js_str(req, "stream", &js, &stream);
    if (st == JW_OK)
        st = arg_int(req, "seq", 1, 0, &seq);
    if (st != JW_OK)
        return st;
    if (seq < 1)
        return fail(JW_EINVAL, "'seq' must be positive");
    jw_msg *m = NULL;
    TRY(jw_js_stream_get_msg(js, stream, (uint64_t)seq, &m));
    int ok = put(res, "subject", json_string(jw_msg_subject(m))) &&
             put(res, "data", b64_json(jw_msg_data(m), jw_msg_data_len(m))) &&
             put(res, "seq", json_integer(seq));
    jw_msg_free(m);
    return ok ? JW_OK : fail(JW_ENO_MEMORY, "out of memory");
}

/* The call options of a request: every member but "op", "id" and the
 * op's own (skip, NULL-terminated) goes to the engine by its JSON type, so
 * the driver knows no option names; *o stays NULL when there is none. */
static jw_status call_options(json_t *req, const char *call,
                              const char *const *skip, jw_call_opts **o)
{
    *o = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(req, key, v)
    {
        int own = !strcmp(key, "op") || !strcmp(key, "id");
        for (int i = 0; !own && skip[i]; i++)
            own = !strcmp(key, skip[i]);
        if (own || json_is_null(v))
            continue;
        jw_status st = *o ? JW_OK : jw_call_opts_new(call, o);
        if (st == JW_OK) {
            if (json_is_string(v))
                st = jw_call_opts_set_str(*o, key, json_string_value(v));
            else if (json_is_integer(v))
                st = jw_call_opts_set_int(*o, key, json_integer_value(v));
            else if (json_is_real(v))
                st = jw_call_opts_set_double(*o, key, json_real_value(v));
            else if (json_is_boolean(v))
                st = jw_call_opts_set_bool(*o, key, json_is_true(v));
            else
                st = fail(JW_EINVAL, "%s option '%s' must be a string, a "
                                     "number or a boolean",
                          call, key);
        }
        if (st != JW_OK) {
            if (json_is_string(v) || json_is_number(v) || json_is_boolean(v))
                lib_fail(st);
            jw_call_opts_free(*o);
            *o = NULL;
            return st;
        }
    }
    return JW_OK;
}

static jw_status put_ack(json_t *res, jw_js_pub_ack *ack);

static jw_status op_js_publish(json_t *req, json_t *res)
{
    struct handle *h;
    const char *subject;
    json_t *headers;
    unsigned char *data = NULL;
    size_t len = 0;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st == JW_OK)
        st = arg_str(req, "subject", 1, &subject);
    if (st == JW_OK)
        st = arg_headers(req, &headers);
    if (st == JW_OK)
        st = arg_data(req, "data", &data, &len);
    if (st != JW_OK)
        return st;
    static const char *const own[] = {"js", "subject", "data", "headers",
                                      NULL};
    jw_call_opts *o = NULL;
    jw_msg *m = NULL;
    jw_js_pub_ack *ack = NULL;
    st = call_options(req, "publish", own, &o);
    if (st == JW_OK)
        st = build_msg(subject, NULL, data, len, headers, &m);
    if (st == JW_OK && (st = jw_js_publish_msg(h->js, m, o, &ack)) != JW_OK)
        lib_fail(st);
    free(data);
    jw_msg_free(m);
    jw_call_opts_free(o);
    if (st != JW_OK)
        return st;
    return put_ack(res, ack);
}

/* A PubAck (released here) as js_publish's result. */
static jw_status put_ack(json_t *res, jw_js_pub_ack *ack)
{
    json_int_t seq = (json_int_t)jw_js_pub_ack_seq(ack);
    const char *value = jw_js_pub_ack_value(ack);
    const char *batch = jw_js_pub_ack_batch(ack);
    int ok = put(res, "stream", json_string(jw_js_pub_ack_stream(ack))) &&
             put(res, "seq", json_integer(seq)) &&
             put(res, "duplicate",
                 json_boolean(jw_js_pub_ack_duplicate(ack))) &&
             (!value || put(res, "value", json_string(value))) &&
             (!batch || (put(res, "batch", json_string(batch)) &&
                         put(res, "count",
                             json_integer((json_int_t)jw_js_pub_ack_count(
                                 ack)))));
    jw_js_pub_ack_free(ack);
    return ok ? JW_OK : fail(JW_ENO_MEMORY, "out of memory");
}


/* A consumer handle made through the "js" handle; *cons already made. */
static jw_status put_consumer(json_t *req, json_t *res, jw_consumer *cons)
{
    int64_t js_id;
    arg_int(req, "js", 1, 0, &js_id); /* checked by the caller */
    int id = handle_child(H_CONSUMER, (int)js_id);
    if (id < 0) {
        jw_consumer_free(cons);
        return fail(JW_ENO_MEMORY, "out of memory");
    }
    g_handles[id].cons = cons;
    PUT(res, "consumer", json_integer(id));
    PUT(res, "name", json_string(jw_consumer_name(cons)));
    return JW_OK;
}

static jw_status op_consumer_add(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream, *action;
    char *config = NULL;
    jw_status st = arg_js_str(req, "stream", &js, &stream);
    if (st == JW_OK)
        st = arg_str(req, "action", 0, &action);
    if (st == JW_OK && action && strcmp(action, "create") != 0 &&
        strcmp(action, "update") != 0)
        st = fail(JW_EINVAL, "action must be \"create\" or \"update\"");
    if (st == JW_OK)
        st = arg_config(req, &config);
    if (st != JW_OK)
        return st;
    jw_consumer *cons = NULL;
    if (!action)
        st = jw_js_consumer_create_or_update(js, stream, config, &cons);
    else if (strcmp(action, "create") == 0)
        st = jw_js_consumer_create(js, stream, config, &cons);
    else
        st = jw_js_consumer_update(js, stream, config, &cons);
    free(config);
    if (st != JW_OK)
        return lib_fail(st);
    return put_consumer(req, res, cons);
}

static jw_status op_consumer_get(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream, *name;
    jw_status st = arg_consumer_of(req, &js, &stream, &name);
    if (st != JW_OK)
        return st;
    jw_consumer *cons = NULL;
    TRY(jw_js_consumer_get(js, stream, name, &cons));
    return put_consumer(req, res, cons);
}

static jw_status op_consumer_info(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream, *name;
    char *info = NULL;
    jw_status st = arg_js_str(req, "stream", &js, &stream);
    if (st == JW_OK)
        st = arg_str(req, "name", 1, &name);
    if (st != JW_OK)
        return st;
    TRY(jw_js_consumer_info(js, stream, name, &info));
    return put_info(res, info);
}

/* consumer_pause (until: seconds since the epoch), consumer_resume. */
static jw_status op_consumer_pause(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream, *name;
    jw_status st = arg_consumer_of(req, &js, &stream, &name);
    json_t *until = json_object_get(req, "until");
    if (st == JW_OK && !json_is_number(until))
        st = fail(JW_EINVAL, "'until' (seconds since the epoch) is needed");
    if (st != JW_OK)
        return st;
    char *reply = NULL;
    TRY(jw_js_consumer_pause(js, stream, name,
                             (int64_t)(json_number_value(until) * 1e9),
                             &reply));
    return put_doc(res, "pause", reply);
}

static jw_status op_consumer_resume(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream, *name;
    jw_status st = arg_consumer_of(req, &js, &stream, &name);
    if (st != JW_OK)
        return st;
    char *reply = NULL;
    TRY(jw_js_consumer_resume(js, stream, name, &reply));
    return put_doc(res, "pause", reply);
}

/* consumer_reset (seq: optional, 0 keeps the ack floor). */
static jw_status op_consumer_reset(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream, *name;
    jw_status st = arg_consumer_of(req, &js, &stream, &name);
    json_t *seq = json_object_get(req, "seq");
    if (st == JW_OK && seq && !json_is_integer(seq))
        st = fail(JW_EINVAL, "'seq' must be an integer");
    if (st != JW_OK)
        return st;
    char *info = NULL;
    TRY(jw_js_consumer_reset(js, stream, name,
                             (uint64_t)json_integer_value(seq), &info));
    return put_info(res, info);
}

static jw_status op_consumer_unpin(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream, *name, *group;
    jw_status st = arg_consumer_of(req, &js, &stream, &name);
    if (st == JW_OK)
        st = arg_str(req, "group", 1, &group);
    if (st != JW_OK)
        return st;
    TRY(jw_js_consumer_unpin(js, stream, name, group));
    return JW_OK;
}

static jw_status op_consumer_delete(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream, *name;
    jw_status st = arg_consumer_of(req, &js, &stream, &name);
    if (st != JW_OK)
        return st;
    TRY(jw_js_consumer_delete(js, stream, name));
    return JW_OK;
}

/* A fetched message: the message, its metadata and a new handle that
 * takes it over. */
static jw_status fetched_json(jw_msg *m, json_t **out)
{
    jw_js_meta *md = NULL;
    json_t *o = NULL;
    jw_status st = jw_msg_metadata(m, &md);
    if (st != JW_OK) {
        jw_msg_free(m);
        return lib_fail(st);
    }
    st = msg_json(m, &o);
    int id = st == JW_OK ? handle_new(H_JSMSG) : -1;
    int ok = id > 0 &&
             put(o, "metadata",
                 json_pack("{sssssIsIsIsIsI}", "stream",
                           jw_js_meta_stream(md), "consumer",
                           jw_js_meta_consumer(md), "num_delivered",
                           (json_int_t)jw_js_meta_num_delivered(md),
                           "stream_seq", (json_int_t)jw_js_meta_stream_seq(md),
                           "consumer_seq",
                           (json_int_t)jw_js_meta_consumer_seq(md),
                           "num_pending",
                           (json_int_t)jw_js_meta_num_pending(md), "timestamp",
                           (json_int_t)jw_js_meta_timestamp(md))) &&
             put(o, "handle", json_integer(id));
    jw_js_meta_free(md);
    if (!ok) {
        if (id > 0)
            g_handles[id].kind = H_NONE;
        json_decref(o);
        jw_msg_free(m);
        return st != JW_OK ? st : fail(JW_ENO_MEMORY, "out of memory");
    }
    g_handles[id].msg = m;
    *out = o;
    return JW_OK;
}

static jw_status op_fetch(json_t *req, json_t *res)
{
    static const char *const own[] = {"consumer", "batch", NULL};
    struct handle *h;
    int64_t batch;
    jw_call_opts *opts = NULL;
    jw_status st = arg_handle(req, "consumer", H_CONSUMER, &h);
    if (st == JW_OK)
        st = arg_int(req, "batch", 1, 0, &batch);
    if (st == JW_OK && (batch < 1 || batch > BATCH_MAX))
        st = fail(JW_EINVAL, "'batch' must be between 1 and %d", BATCH_MAX);
    if (st == JW_OK)
        st = call_options(req, "fetch", own, &opts);
    if (st != JW_OK)
        return st;
    static jw_msg *msgs[BATCH_MAX];
    int n = jw_consumer_fetch(h->cons, msgs, (int)batch, opts);
    jw_call_opts_free(opts);
    if (n < 0)
        return lib_fail((jw_status)n);
    json_t *list = json_array();
    st = list ? JW_OK : fail(JW_ENO_MEMORY, "out of memory");
    for (int i = 0; i < n; i++) {
        json_t *o = NULL;
        if (st == JW_OK) {
            st = fetched_json(msgs[i], &o); /* takes msgs[i] */
            if (st == JW_OK && json_array_append_new(list, o) != 0)
                st = fail(JW_ENO_MEMORY, "out of memory");
        } else {
            jw_msg_free(msgs[i]);
        }
    }
    if (st != JW_OK) {
        json_decref(list);
        return st;
    }
    PUT(res, "msgs", list);
    return JW_OK;
}

static jw_status arg_jsmsg(json_t *req, jw_msg **out)
{
    struct handle *h = NULL;
    jw_status st = arg_handle(req, "msg", H_JSMSG, &h);
    if (st == JW_OK)
        *out = h->msg;
    return st;
}

/* An ack op without arguments besides the message. */
static jw_status ack_call(json_t *req, jw_status (*fn)(jw_msg *))
{
    jw_msg *m;
    jw_status st = arg_jsmsg(req, &m);
    if (st != JW_OK)
        return st;
    TRY(fn(m));
    return JW_OK;
}

static jw_status op_ack(json_t *req, json_t *res)
{
    return ack_call(req, jw_msg_ack);
}

static jw_status op_term(json_t *req, json_t *res)
{
    jw_msg *m;
    const char *reason = NULL;
    jw_status st = arg_jsmsg(req, &m);
    if (st == JW_OK)
        st = arg_str(req, "reason", 0, &reason);
    if (st != JW_OK)
        return st;
    TRY(reason ? jw_msg_term_reason(m, reason) : jw_msg_term(m));
    return JW_OK;
}

static jw_status op_in_progress(json_t *req, json_t *res)
{
    return ack_call(req, jw_msg_in_progress);
}

static jw_status op_ack_sync(json_t *req, json_t *res)
{
    jw_msg *m;
    int64_t ms;
    jw_status st = arg_jsmsg(req, &m);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 5, &ms);
    if (st != JW_OK)
        return st;
    TRY(jw_msg_ack_sync(m, ms));
    return JW_OK;
}

static jw_status op_nak(json_t *req, json_t *res)
{
    jw_msg *m;
    int64_t ms = -1;
    jw_status st = arg_jsmsg(req, &m);
    json_t *delay = json_object_get(req, "delay");
    if (st == JW_OK && delay && !json_is_null(delay))
        st = seconds_to_ms(delay, "delay", &ms);
    if (st != JW_OK)
        return st;
    TRY(ms >= 0 ? jw_msg_nak_delay(m, ms) : jw_msg_nak(m));
    return JW_OK;
}

/* ------------------------------------------------------------------------
 * Key-Value
 *
 * A bucket configuration goes to the engine as it came (arg_config): the
 * engine checks its members and takes its durations in seconds.
 */

/* Parse a JSON text of the engine (released here). */
static jw_status engine_json(char *text, json_t **out)
{
    json_error_t err;
    *out = json_loads(text ? text : "", 0, &err);
    jw_free(text);
    if (!*out)
        return fail(JW_EPROTOCOL, "engine result is not JSON: %s", err.text);
    return JW_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A new array of the strings of list, sorted (bytewise); NULL when list
 * holds anything but strings, or no memory. */
static json_t *sorted_strings(json_t *list)
{
    size_t n = json_array_size(list);
    const char **v = malloc((n ? n : 1) * sizeof *v);
    json_t *out = v ? json_array() : NULL;
    for (size_t i = 0; out && i < n; i++)
        if (!(v[i] = json_string_value(json_array_get(list, i)))) {
            json_decref(out);
            out = NULL;
        }
    if (out)
        qsort(v, n, sizeof *v, cmp_str);
    for (size_t i = 0; out && i < n; i++)
        if (json_array_append_new(out, json_string(v[i])) != 0) {
            json_decref(out);
            out = NULL;
        }
    free(v);
    return out;
}

/* Put the engine's JSON array text (released here) as key, sorted. */
static jw_status put_sorted(json_t *res, const char *key, char *text)
{
    json_t *list = NULL;
    jw_status st = engine_json(text, &list);
    if (st != JW_OK)
        return st;
    if (!json_is_array(list)) {
        json_decref(list);
        return fail(JW_EPROTOCOL, "engine result is not a JSON array");
    }
    json_t *sorted = sorted_strings(list);
    json_decref(list);
    if (!sorted)
        return fail(JW_EPROTOCOL, "could not sort the engine's names");
    PUT(res, key, sorted);
    return JW_OK;
}

/* An entry as the protocol's object. */
static jw_status entry_json(const jw_kv_entry *e, json_t **out)
{
    const char *op = jw_kv_op_name(jw_kv_entry_operation(e));
    if (!op)
        return fail(JW_EPROTOCOL, "entry with unknown operation %d",
                    (int)jw_kv_entry_operation(e));
    size_t len = 0;
    const void *value = jw_kv_entry_value(e, &len);
    json_t *o = json_object();
    int ok = o != NULL &&
             put(o, "bucket", json_string(jw_kv_entry_bucket(e))) &&
             put(o, "key", json_string(jw_kv_entry_key(e))) &&
             put(o, "value", b64_json(value ? value : "", value ? len : 0)) &&
             put(o, "revision",
                 json_integer((json_int_t)jw_kv_entry_revision(e))) &&
             put(o, "delta", json_integer((json_int_t)jw_kv_entry_delta(e))) &&
             put(o, "operation", json_string(op)) &&
             put(o, "created",
                 json_integer((json_int_t)jw_kv_entry_created(e)));
    if (!ok) {
        json_decref(o);
        return fail(JW_ENO_MEMORY, "could not build the entry");
    }
    *out = o;
    return JW_OK;
}

/* The "kv" handle's bucket and, when key_required >= 0, the "key"
 * argument (required when 1). */
static jw_status arg_kv_key(json_t *req, int key_required, jw_kv **kv,
                            const char **key)
{
    struct handle *h = NULL;
    jw_status st = arg_handle(req, "kv", H_KV, &h);
    if (st == JW_OK && key_required >= 0)
        st = arg_str(req, "key", key_required, key);
    if (st == JW_OK)
        *kv = h->kv;
    return st;
}

/* An optional revision argument ("last", "revision"): absent gives 0;
 * given, it must be >= min. */
static jw_status arg_revision(json_t *req, const char *key, int required,
                              int64_t min, uint64_t *out)
{
    int64_t v;
    jw_status st = arg_int(req, key, required, 0, &v);
    if (st != JW_OK)
        return st;
    json_t *given = json_object_get(req, key);
    if (given && !json_is_null(given) && v < min)
        return fail(JW_EINVAL, "'%s' must be >= %lld", key, (long long)min);
    *out = (uint64_t)(v < 0 ? 0 : v);
    return JW_OK;
}

/* A kv handle made through the "js" handle js_id, taking kv. */
static jw_status put_kv(json_t *res, int js_id, jw_kv *kv)
{
    int id = handle_child(H_KV, js_id);
    if (id < 0) {
        jw_kv_free(kv);
        return fail(JW_ENO_MEMORY, "out of memory");
    }
    g_handles[id].kv = kv;
    PUT(res, "kv", json_integer(id));
    return JW_OK;
}

static jw_status op_kv_bucket_create(json_t *req, json_t *res)
{
    struct handle *h;
    char *config = NULL;
    int update;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st == JW_OK)
        st = arg_bool(req, "update", 0, &update);
    if (st == JW_OK)
        st = arg_config(req, &config);
    if (st != JW_OK)
        return st;
    int js_id = (int)(h - g_handles);
    jw_kv *kv = NULL;
    st = update ? jw_js_kv_create_or_update(h->js, config, &kv)
                : jw_js_kv_create(h->js, config, &kv);
    free(config);
    if (st != JW_OK)
        return lib_fail(st);
    return put_kv(res, js_id, kv);
}

static jw_status op_kv_bucket(json_t *req, json_t *res)
{
    struct handle *h;
    const char *bucket;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st == JW_OK)
        st = arg_str(req, "bucket", 1, &bucket);
    if (st != JW_OK)
        return st;
    int js_id = (int)(h - g_handles);
    jw_kv *kv = NULL;
    TRY(jw_js_kv(h->js, bucket, &kv));
    return put_kv(res, js_id, kv);
}

static jw_status op_kv_bucket_delete(json_t *req, json_t *res)
{
    jw_js *js;
    const char *bucket;
    jw_status st = arg_js_str(req, "bucket", &js, &bucket);
    if (st != JW_OK)
        return st;
    TRY(jw_js_kv_delete(js, bucket));
    return JW_OK;
}

static jw_status op_kv_bucket_names(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st != JW_OK)
        return st;
    char *names = NULL;
    TRY(jw_js_kv_names(h->js, &names));
    return put_sorted(res, "names", names);
}

static jw_status op_kv_bucket_statuses(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st != JW_OK)
        return st;
    char *text = NULL;
    TRY(jw_js_kv_statuses(h->js, &text));
    return put_doc(res, "statuses", text);
}

static jw_status op_kv_status(json_t *req, json_t *res)
{
    jw_kv *kv;
    jw_status st = arg_kv_key(req, -1, &kv, NULL);
    if (st != JW_OK)
        return st;
    char *text = NULL;
    TRY(jw_kv_status(kv, &text));
    /* The engine's status, its durations in seconds. */
    return put_doc(res, "status", text);
}

/* kv_put, kv_create and kv_update: a write giving a revision; a create
 * takes the engine's "create" options (ttl). */
static jw_status kv_write(json_t *req, json_t *res, int update)
{
    static const char *const own[] = {"kv", "key", "data", NULL};
    jw_kv *kv;
    const char *key;
    unsigned char *data = NULL;
    size_t len = 0;
    uint64_t last = 0, revision = 0;
    jw_call_opts *opts = NULL;
    jw_status st = arg_kv_key(req, 1, &kv, &key);
    if (st == JW_OK && update > 0)
        st = arg_revision(req, "last", 1, 0, &last);
    if (st == JW_OK && update < 0)
        st = call_options(req, "create", own, &opts);
    if (st == JW_OK)
        st = arg_data(req, "data", &data, &len);
    if (st != JW_OK) {
        jw_call_opts_free(opts);
        return st;
    }
    if (update > 0)
        st = jw_kv_update(kv, key, data, len, last, &revision);
    else if (update < 0)
        st = jw_kv_create(kv, key, data, len, opts, &revision);
    else
        st = jw_kv_put(kv, key, data, len, &revision);
    jw_call_opts_free(opts);
    free(data);
    if (st != JW_OK)
        return lib_fail(st);
    PUT(res, "revision", json_integer((json_int_t)revision));
    return JW_OK;
}

static jw_status op_kv_put(json_t *req, json_t *res)
{
    return kv_write(req, res, 0);
}

static jw_status op_kv_create(json_t *req, json_t *res)
{
    return kv_write(req, res, -1);
}

static jw_status op_kv_update(json_t *req, json_t *res)
{
    return kv_write(req, res, 1);
}

static jw_status op_kv_get(json_t *req, json_t *res)
{
    static const char *const own[] = {"kv", "key", NULL};
    jw_kv *kv;
    const char *key;
    jw_call_opts *opts = NULL;
    jw_status st = arg_kv_key(req, 1, &kv, &key);
    if (st == JW_OK)
        st = call_options(req, "get", own, &opts);
    if (st != JW_OK)
        return st;
    jw_kv_entry *e = NULL;
    st = jw_kv_get(kv, key, opts, &e);
    jw_call_opts_free(opts);
    if (st != JW_OK)
        return lib_fail(st);
    json_t *o = NULL;
    st = entry_json(e, &o);
    jw_kv_entry_free(e);
    if (st != JW_OK)
        return st;
    PUT(res, "entry", o);
    return JW_OK;
}

/* kv_delete and kv_purge. */
/* kv_delete, and kv_purge with the engine's "purge" options (ttl). */
static jw_status kv_remove(json_t *req, int purge)
{
    static const char *const own[] = {"kv", "key", "last", NULL};
    jw_kv *kv;
    const char *key;
    uint64_t last = 0;
    jw_call_opts *opts = NULL;
    jw_status st = arg_kv_key(req, 1, &kv, &key);
    if (st == JW_OK)
        st = arg_revision(req, "last", 0, 0, &last);
    if (st == JW_OK && purge)
        st = call_options(req, "purge", own, &opts);
    if (st != JW_OK)
        return st;
    st = purge ? jw_kv_purge(kv, key, last, opts)
               : jw_kv_delete(kv, key, last);
    jw_call_opts_free(opts);
    return st ? lib_fail(st) : JW_OK;
}

static jw_status op_kv_delete(json_t *req, json_t *res)
{
    return kv_remove(req, 0);
}

static jw_status op_kv_purge(json_t *req, json_t *res)
{
    return kv_remove(req, 1);
}

/* The key filters of member name: a string or an array of strings, into
 * out (room for max); *count 0 when absent. */
static jw_status arg_filters(json_t *req, const char *name,
                             const char **out, size_t max, size_t *count)
{
    json_t *v = json_object_get(req, name);
    *count = 0;
    if (!v || json_is_null(v))
        return JW_OK;
    if (json_is_string(v)) {
        out[(*count)++] = json_string_value(v);
        return JW_OK;
    }
    if (!json_is_array(v) || json_array_size(v) > max)
        return fail(JW_EINVAL, "'%s' must be a string or an array of at "
                               "most %zu strings", name, max);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return fail(JW_EINVAL, "'%s' must hold strings", name);
        out[(*count)++] = json_string_value(e);
    }
    return JW_OK;
}

static jw_status op_kv_keys(json_t *req, json_t *res)
{
    jw_kv *kv;
    const char *filters[16];
    size_t count = 0;
    jw_status st = arg_kv_key(req, -1, &kv, NULL);
    if (st == JW_OK)
        st = arg_filters(req, "filter", filters, 16, &count);
    if (st != JW_OK)
        return st;
    char *keys = NULL;
    TRY(jw_kv_keys_multi(kv, filters, count, &keys));
    return put_sorted(res, "keys", keys);
}

static jw_status op_kv_list_keys(json_t *req, json_t *res)
{
    jw_kv *kv;
    const char *filters[16];
    size_t count = 0;
    jw_status st = arg_kv_key(req, -1, &kv, NULL);
    if (st == JW_OK)
        st = arg_filters(req, "filter", filters, 16, &count);
    if (st != JW_OK)
        return st;
    jw_kv_lister *l = NULL;
    TRY(jw_kv_list_keys_multi(kv, filters, count, &l));
    json_t *keys = json_array();
    st = keys ? JW_OK : fail(JW_ENO_MEMORY, "out of memory");
    while (st == JW_OK) {
        const char *key = NULL;
        if ((st = jw_kv_lister_next(l, &key)) != JW_OK) {
            lib_fail(st);
            break;
        }
        if (!key)
            break;
        if (json_array_append_new(keys, json_string(key)) != 0)
            st = fail(JW_ENO_MEMORY, "out of memory");
    }
    jw_kv_lister_free(l);
    json_t *sorted = st == JW_OK ? sorted_strings(keys) : NULL;
    json_decref(keys);
    if (st != JW_OK)
        return st;
    if (!sorted)
        return fail(JW_ENO_MEMORY, "out of memory");
    PUT(res, "keys", sorted);
    return JW_OK;
}

static jw_status put_entries(json_t *res, jw_kv_entry **entries,
                             size_t n);

static jw_status op_kv_history(json_t *req, json_t *res)
{
    jw_kv *kv;
    const char *key;
    jw_status st = arg_kv_key(req, 1, &kv, &key);
    if (st != JW_OK)
        return st;
    static const char *const own[] = {"kv", "key", NULL};
    jw_call_opts *o = NULL;
    if ((st = call_options(req, "history", own, &o)) != JW_OK)
        return st;
    jw_kv_entry **entries = NULL;
    size_t n = 0;
    st = jw_kv_history(kv, key, o, &entries, &n);
    jw_call_opts_free(o);
    TRY(st);
    return put_entries(res, entries, n);
}

/* entries (freed here) as the response's "entries". */
static jw_status put_entries(json_t *res, jw_kv_entry **entries, size_t n)
{
    jw_status st;
    json_t *list = json_array();
    st = list ? JW_OK : fail(JW_ENO_MEMORY, "out of memory");
    for (size_t i = 0; st == JW_OK && i < n; i++) {
        json_t *o = NULL;
        st = entry_json(entries[i], &o);
        if (st == JW_OK && json_array_append_new(list, o) != 0)
            st = fail(JW_ENO_MEMORY, "out of memory");
    }
    jw_kv_entries_free(entries, n);
    if (st != JW_OK) {
        json_decref(list);
        return st;
    }
    PUT(res, "entries", list);
    return JW_OK;
}

/* The keys of get_many: absent (every key) or an array of strings. */
static jw_status op_kv_get_many(json_t *req, json_t *res)
{
    jw_kv *kv;
    jw_status st = arg_kv_key(req, -1, &kv, NULL);
    if (st != JW_OK)
        return st;
    json_t *given = json_object_get(req, "keys");
    size_t room = json_is_array(given) ? json_array_size(given) : 1;
    const char **keys = calloc(room ? room : 1, sizeof(*keys));
    if (!keys)
        return fail(JW_ENO_MEMORY, "out of memory");
    size_t count = 0;
    static const char *const own[] = {"kv", "keys", NULL};
    jw_call_opts *o = NULL;
    st = arg_filters(req, "keys", keys, room, &count);
    if (st == JW_OK)
        st = call_options(req, "get_many", own, &o);
    jw_kv_entry **entries = NULL;
    size_t n = 0;
    if (st == JW_OK &&
        (st = jw_kv_get_many(kv, keys, count, o, &entries, &n)) != JW_OK)
        lib_fail(st);
    free(keys);
    jw_call_opts_free(o);
    return st ? st : put_entries(res, entries, n);
}

/* A whole direct get batch: every message, then what its end said. */
static jw_status op_direct_get_batch(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream;
    int64_t ms;
    jw_status st = arg_js_str(req, "stream", &js, &stream);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 5, &ms);
    if (st != JW_OK)
        return st;
    json_t *given = json_object_get(req, "multi_last");
    size_t room = json_is_array(given) ? json_array_size(given) : 1;
    const char **multi = calloc(room ? room : 1, sizeof(*multi));
    if (!multi)
        return fail(JW_ENO_MEMORY, "out of memory");
    size_t count = 0;
    static const char *const own[] = {"js", "stream", "multi_last",
                                      "timeout", NULL};
    jw_call_opts *o = NULL;
    jw_direct_batch *b = NULL;
    st = arg_filters(req, "multi_last", multi, room, &count);
    if (st == JW_OK)
        st = call_options(req, "direct_get", own, &o);
    if (st == JW_OK &&
        (st = jw_js_direct_get_batch(js, stream, multi, count, o, &b)) !=
            JW_OK)
        lib_fail(st);
    free(multi);
    jw_call_opts_free(o);
    json_t *msgs = st == JW_OK ? json_array() : NULL;
    if (st == JW_OK && !msgs)
        st = fail(JW_ENO_MEMORY, "out of memory");
    while (st == JW_OK) {
        jw_msg *m = NULL;
        if ((st = jw_direct_batch_next(b, ms, &m)) != JW_OK) {
            lib_fail(st);
            break;
        }
        if (!m)
            break;
        const char *seq = NULL; /* none with no_hdr */
        if (jw_msg_header_get(m, "Nats-Sequence", 0, &seq) != JW_OK || !seq)
            seq = "0";
        json_t *o2 = NULL;
        st = msg_json(m, &o2);
        if (st == JW_OK &&
            (!put(o2, "seq", json_integer(strtoll(seq, NULL, 10))) ||
             json_array_append(msgs, o2) != 0))
            st = fail(JW_ENO_MEMORY, "out of memory");
        json_decref(o2);
        jw_msg_free(m);
    }
    if (st == JW_OK &&
        !(put(res, "num_pending",
              json_integer((json_int_t)jw_direct_batch_num_pending(b))) &&
          put(res, "last_seq",
              json_integer((json_int_t)jw_direct_batch_last_seq(b))) &&
          put(res, "up_to_seq",
              json_integer((json_int_t)jw_direct_batch_up_to_seq(b)))))
        st = fail(JW_ENO_MEMORY, "out of memory");
    jw_direct_batch_free(b);
    if (st != JW_OK) {
        json_decref(msgs);
        return st;
    }
    PUT(res, "msgs", msgs);
    return JW_OK;
}

/* The watch arguments: the engine's "watch" options by name
 * ("include_history", ...). */
static jw_status op_kv_watch(json_t *req, json_t *res)
{
    static const char *const own[] = {"kv", "keys", NULL};
    struct handle *h;
    const char *keys[16];
    size_t count = 0;
    jw_call_opts *o = NULL;
    jw_status st = arg_handle(req, "kv", H_KV, &h);
    if (st == JW_OK)
        st = arg_filters(req, "keys", keys, 16, &count);
    if (st == JW_OK)
        st = call_options(req, "watch", own, &o);
    if (st != JW_OK)
        return st;
    int kv_id = (int)(h - g_handles);
    jw_kv_watcher *w = NULL;
    st = jw_kv_watch_multi(h->kv, keys, count, o, &w);
    jw_call_opts_free(o);
    if (st != JW_OK)
        return lib_fail(st);
    int id = handle_child(H_WATCHER, kv_id);
    if (id < 0) {
        jw_kv_watcher_free(w);
        return fail(JW_ENO_MEMORY, "out of memory");
    }
    g_handles[id].watcher = w;
    PUT(res, "watcher", json_integer(id));
    return JW_OK;
}

static jw_status op_kv_watch_next(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t ms;
    jw_status st = arg_handle(req, "watcher", H_WATCHER, &h);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 5, &ms);
    if (st != JW_OK)
        return st;
    jw_kv_entry *e = NULL;
    TRY(jw_kv_watch_next(h->watcher, ms, &e));
    if (!e) {
        PUT(res, "entry", json_null()); /* the end of the initial values */
        return JW_OK;
    }
    json_t *o = NULL;
    st = entry_json(e, &o);
    jw_kv_entry_free(e);
    if (st != JW_OK)
        return st;
    PUT(res, "entry", o);
    return JW_OK;
}

/* ------------------------------------------------------------------------
 * Services: the engine's micro API with handlers of fixed behaviour.
 */

/* Modes: "echo" answers with the request's data, except that "fail"
 * gets an error reply (400, "bad input"); "slow" sleeps 20 ms first. */
static void service_handler(jw_endpoint *ep, jw_msg *req, void *arg)
{
    if (arg)
        usleep(20000);
    const char *data = jw_msg_data(req);
    size_t len = jw_msg_data_len(req);
    jw_status st =
        len == 4 && memcmp(data, "fail", 4) == 0
            ? jw_endpoint_respond_error(ep, req, "400", "bad input", NULL, 0)
            : jw_msg_respond(req, data, len);
    if (st != JW_OK)
        fprintf(stderr, "c_driver: service: %s [%s]\n", jw_status_name(st),
                jw_last_error());
}

static jw_status op_service_add(json_t *req, json_t *res)
{
    struct handle *h;
    char *config = NULL;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_config(req, &config);
    if (st != JW_OK)
        return st;
    int conn_id = (int)(h - g_handles);
    jw_service *svc = NULL;
    st = jw_service_new(h->conn, config, &svc);
    free(config);
    if (st != JW_OK)
        return lib_fail(st);
    int id = handle_child(H_SERVICE, conn_id);
    if (id < 0) {
        jw_service_free(svc);
        return fail(JW_ENO_MEMORY, "out of memory");
    }
    g_handles[id].svc = svc;
    PUT(res, "service", json_integer(id));
    PUT(res, "service_id", json_string(jw_service_id(svc)));
    return JW_OK;
}

/* The service of "service" and the group of "group" (absent: NULL). */
static jw_status arg_service_group(json_t *req, struct handle **svc,
                                   jw_service_group **group)
{
    jw_status st = arg_handle(req, "service", H_SERVICE, svc);
    *group = NULL;
    if (st == JW_OK && json_object_get(req, "group")) {
        struct handle *g;
        st = arg_handle(req, "group", H_GROUP, &g);
        if (st == JW_OK)
            *group = g->group;
    }
    return st;
}

static jw_status op_service_group(json_t *req, json_t *res)
{
    struct handle *h;
    jw_service_group *parent, *g = NULL;
    char *config = NULL;
    jw_status st = arg_service_group(req, &h, &parent);
    if (st == JW_OK)
        st = arg_config(req, &config);
    if (st != JW_OK)
        return st;
    int svc_id = (int)(h - g_handles);
    st = jw_service_add_group(h->svc, parent, config, &g);
    free(config);
    if (st != JW_OK)
        return lib_fail(st);
    int id = handle_child(H_GROUP, svc_id);
    if (id < 0)
        return fail(JW_ENO_MEMORY, "out of memory");
    g_handles[id].group = g;
    PUT(res, "group", json_integer(id));
    return JW_OK;
}

static jw_status op_service_endpoint(json_t *req, json_t *res)
{
    struct handle *h;
    jw_service_group *group;
    const char *mode;
    char *config = NULL;
    jw_status st = arg_service_group(req, &h, &group);
    if (st == JW_OK)
        st = arg_str(req, "mode", 1, &mode);
    if (st == JW_OK && strcmp(mode, "echo") && strcmp(mode, "slow"))
        st = fail(JW_EINVAL, "unknown endpoint mode '%s'", mode);
    if (st == JW_OK)
        st = arg_config(req, &config);
    if (st != JW_OK)
        return st;
    jw_endpoint *ep = NULL;
    /* The handler's argument says slow (non-NULL) or not. */
    st = jw_service_add_endpoint(h->svc, group, config, service_handler,
                                 strcmp(mode, "slow") ? NULL : (void *)h,
                                 &ep);
    free(config);
    if (st != JW_OK)
        return lib_fail(st);
    const char *queue = jw_endpoint_queue_group(ep);
    PUT(res, "name", json_string(jw_endpoint_name(ep)));
    PUT(res, "subject", json_string(jw_endpoint_subject(ep)));
    PUT(res, "queue_group", queue ? json_string(queue) : json_null());
    return JW_OK;
}

/* res[key]: the document of a call that returned st. */
static jw_status put_result(json_t *res, const char *key, jw_status st,
                            char *text)
{
    return st == JW_OK ? put_doc(res, key, text) : lib_fail(st);
}

static jw_status op_service_info(json_t *req, json_t *res)
{
    struct handle *h;
    char *text = NULL;
    jw_status st = arg_handle(req, "service", H_SERVICE, &h);
    if (st != JW_OK)
        return st;
    st = jw_service_info(h->svc, &text);
    return put_result(res, "info", st, text);
}

static jw_status op_service_stats(json_t *req, json_t *res)
{
    struct handle *h;
    char *text = NULL;
    jw_status st = arg_handle(req, "service", H_SERVICE, &h);
    if (st != JW_OK)
        return st;
    st = jw_service_stats(h->svc, &text);
    return put_result(res, "stats", st, text);
}

static jw_status op_service_reset(json_t *req, json_t *res)
{
    struct handle *h;
    (void)res;
    jw_status st = arg_handle(req, "service", H_SERVICE, &h);
    if (st == JW_OK && (st = jw_service_reset(h->svc)) != JW_OK)
        lib_fail(st);
    return st;
}

static jw_status op_service_stop(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t ms;
    jw_status st = arg_handle(req, "service", H_SERVICE, &h);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 5.0, &ms);
    if (st != JW_OK)
        return st;
    st = jw_service_stop(h->svc);
    if (st == JW_OK)
        st = jw_service_wait(h->svc, ms);
    if (st != JW_OK)
        return lib_fail(st);
    PUT(res, "stopped", json_boolean(jw_service_stopped(h->svc) == 1));
    return JW_OK;
}

static jw_status op_service_discover(json_t *req, json_t *res)
{
    struct handle *h;
    const char *verb, *name, *id;
    int64_t ms, max;
    jw_status st = arg_conn(req, &h);
    if (st == JW_OK)
        st = arg_str(req, "verb", 1, &verb);
    if (st == JW_OK)
        st = arg_str(req, "name", 0, &name);
    if (st == JW_OK)
        st = arg_str(req, "service_id", 0, &id);
    if (st == JW_OK)
        st = arg_timeout(req, "timeout", 1.0, &ms);
    if (st == JW_OK)
        st = arg_int(req, "max", 0, 0, &max);
    if (st != JW_OK)
        return st;
    jw_service_verb v;
    if (!strcmp(verb, "ping"))
        v = JW_SERVICE_PING;
    else if (!strcmp(verb, "info"))
        v = JW_SERVICE_INFO;
    else if (!strcmp(verb, "stats"))
        v = JW_SERVICE_STATS;
    else
        return fail(JW_EINVAL, "unknown verb '%s'", verb);
    char *text = NULL;
    st = jw_service_discover(h->conn, v, name, id, ms,
                             max > INT32_MAX ? INT32_MAX : (int)max, &text);
    return put_result(res, "responses", st, text);
}

/* Release handle id and, first, the handles made through it. */
static void free_handle(int id)
{
    for (int i = 1; i < g_nhandles; i++)
        if (g_handles[i].kind != H_NONE && g_handles[i].parent == id)
            free_handle(i);
    struct handle *h = &g_handles[id];
    switch (h->kind) {
    case H_CONN:
        jw_conn_free(h->conn);
        break;
    case H_SUB:
        jw_sub_free(h->sub);
        break;
    case H_JS:
        jw_js_free(h->js);
        break;
    case H_CONSUMER:
        jw_consumer_free(h->cons);
        break;
    case H_JSMSG:
        jw_msg_free(h->msg);
        break;
    case H_KV:
        jw_kv_free(h->kv);
        break;
    case H_WATCHER:
        jw_kv_watcher_free(h->watcher);
        break;
    case H_SERVICE:
        jw_service_free(h->svc);
        break;
    case H_BATCH:
        jw_js_batch_free(h->batch);
        break;
    case H_FAST:
        jw_js_fast_free(h->fast);
        break;
    case H_OBS:
        jw_obs_free(h->obs);
        break;
    case H_GROUP: /* the service's */
    case H_NONE:
        break;
    }
    memset(h, 0, sizeof *h);
}

/* ---- atomic batches and counters ---- */

static jw_status op_atomic_batch(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t js_id;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st != JW_OK)
        return st;
    jw_js_batch *b = NULL;
    TRY(jw_js_batch_new(h->js, &b));
    arg_int(req, "js", 1, 0, &js_id); /* checked above */
    int id = handle_child(H_BATCH, (int)js_id);
    if (id < 0) {
        jw_js_batch_free(b);
        return fail(JW_ENO_MEMORY, "out of memory");
    }
    g_handles[id].batch = b;
    PUT(res, "batch", json_integer(id));
    PUT(res, "batch_id", json_string(jw_js_batch_id(b)));
    return JW_OK;
}

/* batch_add and batch_commit: a message and its publish options. */
static jw_status batch_send(json_t *req, json_t *res, int commit)
{
    struct handle *h;
    const char *subject = NULL;
    json_t *headers;
    unsigned char *data = NULL;
    size_t len = 0;
    jw_status st = arg_handle(req, "batch", H_BATCH, &h);
    if (st == JW_OK)
        st = arg_str(req, "subject", !commit, &subject);
    if (st == JW_OK)
        st = arg_headers(req, &headers);
    if (st == JW_OK)
        st = arg_data(req, "data", &data, &len);
    if (st != JW_OK)
        return st;
    static const char *const own[] = {"batch", "subject", "data", "headers",
                                      NULL};
    jw_call_opts *o = NULL;
    jw_msg *m = NULL;
    jw_js_pub_ack *ack = NULL;
    st = call_options(req, "publish", own, &o);
    if (st == JW_OK && subject)
        st = build_msg(subject, NULL, data, len, headers, &m);
    if (st == JW_OK) {
        st = commit ? jw_js_batch_commit(h->batch, m, o, &ack)
                    : jw_js_batch_add(h->batch, m, o);
        if (st != JW_OK)
            lib_fail(st);
    }
    free(data);
    jw_msg_free(m);
    jw_call_opts_free(o);
    if (st != JW_OK)
        return st;
    if (commit)
        return put_ack(res, ack);
    PUT(res, "count", json_integer((json_int_t)jw_js_batch_count(h->batch)));
    return JW_OK;
}

static jw_status op_batch_add(json_t *req, json_t *res)
{
    return batch_send(req, res, 0);
}

static jw_status op_batch_commit(json_t *req, json_t *res)
{
    return batch_send(req, res, 1);
}

static jw_status op_batch_close(json_t *req, json_t *res)
{
    int64_t id;
    struct handle *h;
    jw_status st = arg_handle(req, "batch", H_BATCH, &h);
    if (st != JW_OK)
        return st;
    arg_int(req, "batch", 1, 0, &id);
    free_handle((int)id);
    (void)res;
    return JW_OK;
}

/* ---- fast-ingest batches ---- */

static jw_status op_fast_batch(json_t *req, json_t *res)
{
    struct handle *h;
    int64_t js_id;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st != JW_OK)
        return st;
    static const char *const own[] = {"js", NULL};
    jw_call_opts *o = NULL;
    jw_js_fast *f = NULL;
    if ((st = call_options(req, "fast", own, &o)) != JW_OK)
        return st;
    st = jw_js_fast_new(h->js, o, &f);
    jw_call_opts_free(o);
    if (st != JW_OK)
        return lib_fail(st);
    arg_int(req, "js", 1, 0, &js_id); /* checked above */
    int id = handle_child(H_FAST, (int)js_id);
    if (id < 0) {
        jw_js_fast_free(f);
        return fail(JW_ENO_MEMORY, "out of memory");
    }
    g_handles[id].fast = f;
    PUT(res, "fast", json_integer(id));
    return JW_OK;
}

/* fast_add and fast_commit: a message and its publish options. */
static jw_status fast_send(json_t *req, json_t *res, int commit)
{
    struct handle *h;
    const char *subject = NULL;
    json_t *headers;
    unsigned char *data = NULL;
    size_t len = 0;
    jw_status st = arg_handle(req, "fast", H_FAST, &h);
    if (st == JW_OK)
        st = arg_str(req, "subject", !commit, &subject);
    if (st == JW_OK)
        st = arg_headers(req, &headers);
    if (st == JW_OK)
        st = arg_data(req, "data", &data, &len);
    if (st != JW_OK)
        return st;
    static const char *const own[] = {"fast", "subject", "data", "headers",
                                      NULL};
    jw_call_opts *o = NULL;
    jw_msg *m = NULL;
    jw_js_pub_ack *ack = NULL;
    uint64_t seq = 0;
    st = commit ? JW_OK : call_options(req, "publish", own, &o);
    if (st == JW_OK && subject)
        st = build_msg(subject, NULL, data, len, headers, &m);
    if (st == JW_OK) {
        st = commit ? jw_js_fast_commit(h->fast, m, &ack)
                    : jw_js_fast_add(h->fast, m, o, &seq);
        if (st != JW_OK)
            lib_fail(st);
    }
    free(data);
    jw_msg_free(m);
    jw_call_opts_free(o);
    if (st != JW_OK)
        return st;
    if (commit)
        return put_ack(res, ack);
    PUT(res, "seq", json_integer((json_int_t)seq));
    return JW_OK;
}

static jw_status op_fast_add(json_t *req, json_t *res)
{
    return fast_send(req, res, 0);
}

static jw_status op_fast_commit(json_t *req, json_t *res)
{
    return fast_send(req, res, 1);
}

static jw_status op_fast_errors(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_handle(req, "fast", H_FAST, &h);
    if (st != JW_OK)
        return st;
    char *errors = NULL;
    TRY(jw_js_fast_take_errors(h->fast, &errors));
    PUT(res, "acked", json_integer((json_int_t)jw_js_fast_acked(h->fast)));
    return put_doc(res, "errors", errors);
}

static jw_status op_fast_close(json_t *req, json_t *res)
{
    int64_t id;
    struct handle *h;
    jw_status st = arg_handle(req, "fast", H_FAST, &h);
    if (st != JW_OK)
        return st;
    arg_int(req, "fast", 1, 0, &id);
    free_handle((int)id);
    (void)res;
    return JW_OK;
}

/* publish_batch: msgs is a list of [subject, data (base64)] pairs. */
static jw_status op_publish_batch(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    json_t *list = json_object_get(req, "msgs");
    if (st == JW_OK && !json_is_array(list))
        st = fail(JW_EINVAL, "'msgs' must be a list of [subject, data]");
    if (st != JW_OK)
        return st;
    size_t n = json_array_size(list);
    jw_msg **msgs = calloc(n ? n : 1, sizeof *msgs);
    if (!msgs)
        return fail(JW_ENO_MEMORY, "out of memory");
    static const char *const own[] = {"js", "msgs", NULL};
    jw_call_opts *o = NULL;
    jw_js_pub_ack *ack = NULL;
    st = call_options(req, "fast", own, &o);
    for (size_t i = 0; st == JW_OK && i < n; i++) {
        json_t *pair = json_array_get(list, i);
        const char *subject = json_string_value(json_array_get(pair, 0));
        const char *b64 = json_string_value(json_array_get(pair, 1));
        unsigned char *data = NULL;
        size_t len = 0;
        if (!subject || !b64 || b64_decode(b64, strlen(b64), &data, &len))
            st = fail(JW_EINVAL, "msgs[%zu] must be [subject, base64]", i);
        else if ((st = jw_msg_new(subject, NULL, data, len, &msgs[i])) !=
                 JW_OK)
            lib_fail(st);
        free(data);
    }
    if (st == JW_OK &&
        (st = jw_js_publish_batch(h->js, (const jw_msg *const *)msgs, n, o,
                                  &ack)) != JW_OK)
        lib_fail(st);
    for (size_t i = 0; i < n; i++)
        jw_msg_free(msgs[i]);
    free(msgs);
    jw_call_opts_free(o);
    return st == JW_OK ? put_ack(res, ack) : st;
}

static jw_status op_counter_add(json_t *req, json_t *res)
{
    jw_js *js;
    const char *subject, *delta;
    jw_status st = arg_js_str(req, "subject", &js, &subject);
    if (st == JW_OK)
        st = arg_str(req, "delta", 1, &delta);
    if (st != JW_OK)
        return st;
    char *value = NULL;
    TRY(jw_js_counter_add(js, subject, delta, NULL, &value));
    json_t *v = json_string(value);
    jw_free(value);
    PUT(res, "value", v);
    return JW_OK;
}

static jw_status op_counter_get(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream, *subject;
    jw_status st = arg_js_str(req, "stream", &js, &stream);
    if (st == JW_OK)
        st = arg_str(req, "subject", 1, &subject);
    if (st != JW_OK)
        return st;
    char *entry = NULL;
    TRY(jw_js_counter_get(js, stream, subject, &entry));
    return put_doc(res, "entry", entry);
}

/* Many counters with one direct get (multi_last), each message parsed. */
static jw_status op_counter_get_many(json_t *req, json_t *res)
{
    jw_js *js;
    const char *stream;
    jw_status st = arg_js_str(req, "stream", &js, &stream);
    if (st != JW_OK)
        return st;
    json_t *given = json_object_get(req, "subjects");
    size_t room = json_is_array(given) ? json_array_size(given) : 1;
    const char **subjects = calloc(room ? room : 1, sizeof(*subjects));
    if (!subjects)
        return fail(JW_ENO_MEMORY, "out of memory");
    size_t count = 0;
    jw_direct_batch *b = NULL;
    st = arg_filters(req, "subjects", subjects, room, &count);
    if (st == JW_OK &&
        (st = jw_js_direct_get_batch(js, stream, subjects, count, NULL, &b)))
        lib_fail(st);
    free(subjects);
    json_t *entries = st == JW_OK ? json_array() : NULL;
    if (st == JW_OK && !entries)
        st = fail(JW_ENO_MEMORY, "out of memory");
    while (st == JW_OK) {
        jw_msg *m = NULL;
        char *text = NULL;
        if ((st = jw_direct_batch_next(b, 5000, &m)) != JW_OK) {
            lib_fail(st);
            break;
        }
        if (!m)
            break;
        st = jw_js_counter_entry(m, &text);
        jw_msg_free(m);
        if (st != JW_OK) {
            lib_fail(st);
            break;
        }
        json_t *e = json_loads(text, 0, NULL);
        jw_free(text);
        if (!e || json_array_append_new(entries, e) != 0)
            st = fail(JW_ENO_MEMORY, "out of memory");
    }
    jw_direct_batch_free(b);
    if (st != JW_OK) {
        json_decref(entries);
        return st;
    }
    PUT(res, "entries", entries);
    return JW_OK;
}

/* ---- object store ---- */

static jw_status put_obs(json_t *res, int js_id, jw_obs *obs)
{
    int id = handle_child(H_OBS, js_id);
    if (id < 0) {
        jw_obs_free(obs);
        return fail(JW_ENO_MEMORY, "out of memory");
    }
    g_handles[id].obs = obs;
    PUT(res, "obs", json_integer(id));
    return JW_OK;
}

static jw_status op_obs_create(json_t *req, json_t *res)
{
    struct handle *h;
    char *config = NULL;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st == JW_OK)
        st = arg_config(req, &config);
    if (st != JW_OK)
        return st;
    jw_obs *obs = NULL;
    st = jw_js_obs_create_or_update(h->js, config, &obs);
    free(config);
    if (st != JW_OK)
        return lib_fail(st);
    return put_obs(res, (int)(h - g_handles), obs);
}

static jw_status op_obs_bind(json_t *req, json_t *res)
{
    struct handle *h;
    const char *bucket;
    jw_status st = arg_handle(req, "js", H_JS, &h);
    if (st == JW_OK)
        st = arg_str(req, "bucket", 1, &bucket);
    if (st != JW_OK)
        return st;
    jw_obs *obs = NULL;
    TRY(jw_js_obs_get(h->js, bucket, &obs));
    return put_obs(res, (int)(h - g_handles), obs);
}

static jw_status op_obs_delete_bucket(json_t *req, json_t *res)
{
    jw_js *js;
    const char *bucket;
    jw_status st = arg_js_str(req, "bucket", &js, &bucket);
    if (st != JW_OK)
        return st;
    (void)res;
    TRY(jw_js_obs_delete(js, bucket));
    return JW_OK;
}

/* The bytes of an obs_put with stream: handed out 1,000 at a time. */
struct obs_source {
    const unsigned char *data;
    size_t len, pos;
};

static long obs_read(void *arg, void *buf, size_t cap)
{
    struct obs_source *s = arg;
    size_t n = s->len - s->pos;
    if (n > 1000)
        n = 1000;
    if (n > cap)
        n = cap;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (long)n;
}

static jw_status op_obs_put(json_t *req, json_t *res)
{
    struct handle *h;
    const char *name;
    unsigned char *data = NULL;
    size_t len = 0;
    int stream;
    jw_status st = arg_handle(req, "obs", H_OBS, &h);
    if (st == JW_OK)
        st = arg_str(req, "name", 1, &name);
    if (st == JW_OK)
        st = arg_bool(req, "stream", 0, &stream);
    if (st == JW_OK)
        st = arg_data(req, "data", &data, &len);
    if (st != JW_OK)
        return st;
    json_t *meta = json_pack("{ss}", "name", name);
    json_t *desc = json_object_get(req, "description");
    json_t *md = json_object_get(req, "metadata");
    json_t *chunk = json_object_get(req, "chunk_size");
    if (meta && desc)
        json_object_set(meta, "description", desc);
    if (meta && md)
        json_object_set(meta, "metadata", md);
    if (meta && chunk)
        json_object_set_new(meta, "options",
                            json_pack("{sO}", "max_chunk_size", chunk));
    char *text = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    json_decref(meta);
    char *info = NULL;
    if (!text)
        st = fail(JW_ENO_MEMORY, "out of memory");
    else if (stream) {
        struct obs_source src = {data, len, 0};
        st = jw_obs_put_stream(h->obs, text, obs_read, &src, &info);
    } else {
        st = jw_obs_put(h->obs, text, data, len, &info);
    }
    free(text);
    free(data);
    if (st != JW_OK)
        return lib_fail(st);
    return put_doc(res, "info", info);
}

/* obs_get: the bytes form, or with piece the reader, piece bytes a read. */
static jw_status op_obs_get(json_t *req, json_t *res)
{
    struct handle *h;
    const char *name;
    int64_t piece;
    jw_status st = arg_handle(req, "obs", H_OBS, &h);
    if (st == JW_OK)
        st = arg_str(req, "name", 1, &name);
    if (st == JW_OK)
        st = arg_int(req, "piece", 0, 0, &piece);
    if (st != JW_OK)
        return st;
    void *data = NULL;
    size_t len = 0;
    char *info = NULL;
    if (piece <= 0) {
        TRY(jw_obs_get(h->obs, name, &data, &len, &info));
    } else {
        jw_obs_reader *r = NULL;
        TRY(jw_obs_open(h->obs, name, &r));
        size_t cap = 0;
        unsigned char *buf = NULL;
        for (;;) {
            if (len + (size_t)piece > cap) {
                cap = (len + (size_t)piece) * 2;
                unsigned char *more = realloc(buf, cap);
                if (!more) {
                    st = fail(JW_ENO_MEMORY, "out of memory");
                    break;
                }
                buf = more;
            }
            size_t got = 0;
            st = jw_obs_reader_read(r, buf + len, (size_t)piece, 5000, &got);
            if (st != JW_OK) {
                lib_fail(st);
                break;
            }
            if (got == 0)
                break;
            len += got;
        }
        const char *text = jw_obs_reader_info(r);
        info = st == JW_OK && text ? strdup(text) : NULL;
        jw_obs_reader_free(r);
        if (st != JW_OK) {
            free(buf);
            return st;
        }
        data = buf;
    }
    json_t *b64 = b64_json(data, len);
    free(data);
    PUT(res, "data", b64);
    return put_doc(res, "info", info);
}

static jw_status op_obs_info(json_t *req, json_t *res)
{
    struct handle *h;
    const char *name;
    int deleted;
    jw_status st = arg_handle(req, "obs", H_OBS, &h);
    if (st == JW_OK)
        st = arg_str(req, "name", 1, &name);
    if (st == JW_OK)
        st = arg_bool(req, "show_deleted", 0, &deleted);
    if (st != JW_OK)
        return st;
    char *info = NULL;
    TRY(jw_obs_info(h->obs, name, deleted, &info));
    return put_doc(res, "info", info);
}

static jw_status op_obs_list(json_t *req, json_t *res)
{
    struct handle *h;
    int deleted;
    jw_status st = arg_handle(req, "obs", H_OBS, &h);
    if (st == JW_OK)
        st = arg_bool(req, "show_deleted", 0, &deleted);
    if (st != JW_OK)
        return st;
    char *infos = NULL;
    TRY(jw_obs_list(h->obs, deleted, &infos));
    return put_doc(res, "infos", infos);
}

static jw_status op_obs_delete(json_t *req, json_t *res)
{
    struct handle *h;
    const char *name;
    jw_status st = arg_handle(req, "obs", H_OBS, &h);
    if (st == JW_OK)
        st = arg_str(req, "name", 1, &name);
    if (st != JW_OK)
        return st;
    (void)res;
    TRY(jw_obs_delete(h->obs, name));
    return JW_OK;
}

static jw_status op_obs_update_meta(json_t *req, json_t *res)
{
    struct handle *h;
    const char *name;
    jw_status st = arg_handle(req, "obs", H_OBS, &h);
    if (st == JW_OK)
        st = arg_str(req, "name", 1, &name);
    json_t *meta = json_object_get(req, "meta");
    if (st == JW_OK && !json_is_object(meta))
        st = fail(JW_EINVAL, "'meta' must be an object");
    if (st != JW_OK)
        return st;
    char *text = json_dumps(meta, JSON_COMPACT);
    if (!text)
        return fail(JW_ENO_MEMORY, "out of memory");
    st = jw_obs_update_meta(h->obs, name, text);
    free(text);
    (void)res;
    return st == JW_OK ? JW_OK : lib_fail(st);
}

static jw_status op_obs_link(json_t *req, json_t *res)
{
    struct handle *h, *target;
    const char *name, *target_name = NULL;
    jw_status st = arg_handle(req, "obs", H_OBS, &h);
    if (st == JW_OK)
        st = arg_str(req, "name", 1, &name);
    if (st == JW_OK)
        st = arg_handle(req, "target", H_OBS, &target);
    if (st == JW_OK)
        st = arg_str(req, "target_name", 0, &target_name);
    if (st != JW_OK)
        return st;
    char *info = NULL;
    if (target_name)
        TRY(jw_obs_add_link(h->obs, name, target->obs, target_name, &info));
    else
        TRY(jw_obs_add_bucket_link(h->obs, name, target->obs, &info));
    return put_doc(res, "info", info);
}

static jw_status op_obs_status(json_t *req, json_t *res)
{
    struct handle *h;
    jw_status st = arg_handle(req, "obs", H_OBS, &h);
    if (st != JW_OK)
        return st;
    char *status = NULL;
    TRY(jw_obs_status(h->obs, &status));
    return put_doc(res, "status", status);
}

static jw_status op_free(json_t *req, json_t *res)
{
    int64_t id;
    jw_status st = arg_int(req, "handle", 1, 0, &id);
    if (st != JW_OK)
        return st;
    if (id <= 0 || id >= g_nhandles || g_handles[id].kind == H_NONE)
        return fail(JW_EINVAL, "unknown handle %lld", (long long)id);
    free_handle((int)id);
    return JW_OK;
}

static int g_quit;

static jw_status op_quit(json_t *req, json_t *res)
{
    g_quit = 1;
    return JW_OK;
}

static const struct {
    const char *name;
    op_fn fn;
} ops[] = {
    {"version", op_version},
    {"free", op_free},
    {"quit", op_quit},
    {"connect", op_connect},
    {"close", op_close},
    {"drain", op_drain},
    {"flush", op_flush},
    {"rtt", op_rtt},
    {"status", op_status},
    {"server_info", op_server_info},
    {"stats", op_stats},
    {"servers", op_servers},
    {"next_event", op_next_event},
    {"publish", op_publish},
    {"publish_packed", op_publish_packed},
    {"publish_many", op_publish_many},
    {"request", op_request},
    {"subscribe", op_subscribe},
    {"unsubscribe", op_unsubscribe},
    {"auto_unsubscribe", op_auto_unsubscribe},
    {"sub_drain", op_sub_drain},
    {"next_msg", op_next_msg},
    {"next_msgs", op_next_msgs},
    {"pending", op_pending},
    {"receive_count", op_receive_count},
    {"respond_next", op_respond_next},
    {"serve", op_serve},
    {"burst_paths", op_burst_paths},
    {"burst_receive", op_burst_receive},
    {"burst_serve", op_burst_serve},
    {"request_many", op_request_many},
    {"pack", op_pack},
    {"unpack", op_unpack},
    {"jetstream", op_jetstream},
    {"stream_add", op_stream_add},
    {"stream_update", op_stream_update},
    {"stream_info", op_stream_info},
    {"stream_delete", op_stream_delete},
    {"js_api_level", op_js_api_level},
    {"stream_purge", op_stream_purge},
    {"stream_get_msg", op_stream_get_msg},
    {"js_publish", op_js_publish},
    {"consumer_add", op_consumer_add},
    {"consumer_get", op_consumer_get},
    {"consumer_info", op_consumer_info},
    {"consumer_delete", op_consumer_delete},
    {"consumer_pause", op_consumer_pause},
    {"consumer_resume", op_consumer_resume},
    {"consumer_unpin", op_consumer_unpin},
    {"consumer_reset", op_consumer_reset},
    {"atomic_batch", op_atomic_batch},
    {"batch_add", op_batch_add},
    {"batch_commit", op_batch_commit},
    {"batch_close", op_batch_close},
    {"counter_add", op_counter_add},
    {"obs_create", op_obs_create},
    {"obs_bind", op_obs_bind},
    {"obs_delete_bucket", op_obs_delete_bucket},
    {"obs_put", op_obs_put},
    {"obs_get", op_obs_get},
    {"obs_info", op_obs_info},
    {"obs_list", op_obs_list},
    {"obs_delete", op_obs_delete},
    {"obs_update_meta", op_obs_update_meta},
    {"obs_link", op_obs_link},
    {"obs_status", op_obs_status},
    {"fast_batch", op_fast_batch},
    {"fast_add", op_fast_add},
    {"fast_commit", op_fast_commit},
    {"fast_errors", op_fast_errors},
    {"fast_close", op_fast_close},
    {"publish_batch", op_publish_batch},
    {"counter_get", op_counter_get},
    {"counter_get_many", op_counter_get_many},
    {"fetch", op_fetch},
    {"ack", op_ack},
    {"ack_sync", op_ack_sync},
    {"nak", op_nak},
    {"term", op_term},
    {"in_progress", op_in_progress},
    {"kv_bucket_create", op_kv_bucket_create},
    {"kv_bucket", op_kv_bucket},
    {"kv_bucket_delete", op_kv_bucket_delete},
    {"kv_bucket_names", op_kv_bucket_names},
    {"kv_bucket_statuses", op_kv_bucket_statuses},
    {"kv_status", op_kv_status},
    {"kv_put", op_kv_put},
    {"kv_create", op_kv_create},
    {"kv_update", op_kv_update},
    {"kv_get", op_kv_get},
    {"kv_delete", op_kv_delete},
    {"kv_purge", op_kv_purge},
    {"kv_keys", op_kv_keys},
    {"kv_list_keys", op_kv_list_keys},
    {"kv_history", op_kv_history},
    {"kv_get_many", op_kv_get_many},
    {"direct_get_batch", op_direct_get_batch},
    {"kv_watch", op_kv_watch},
    {"kv_watch_next", op_kv_watch_next},
    {"service_add", op_service_add},
    {"service_group", op_service_group},
    {"service_endpoint", op_service_endpoint},
    {"service_info", op_service_info},
    {"service_stats", op_service_stats},
    {"service_reset", op_service_reset},
    {"service_stop", op_service_stop},
    {"service_discover", op_service_discover},
};

/* ------------------------------------------------------------------------
 * Main loop
 */
static void write_line(json_t *resp)
{
    char *text = json_dumps(resp, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!text) {
        /* Cannot serialise the result: report that instead. */
        json_t *id = json_object_get(resp, "id");
        json_t *err = json_pack("{sOsbssss}", "id", id ? id : json_null(),
                                "ok", 0, "code",
                                jw_status_name(JW_ENO_MEMORY), "message",
                                "could not serialise the response");
        text = err ? json_dumps(err, JSON_COMPACT) : NULL;
        json_decref(err);
        if (!text) {
            fprintf(stderr, "c_driver: cannot write a response\n");
            exit(2);
        }
    }
    if (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF ||
        fflush(stdout) == EOF) {
        fprintf(stderr, "c_driver: stdout: %s\n", strerror(errno));
        free(text);
        exit(2);
    }
    free(text);
}

static void respond(json_t *id, jw_status st, json_t *res)
{
    json_object_set(res, "id", id ? id : json_null());
    if (st == JW_OK) {
        json_object_set_new(res, "ok", json_true());
    } else {
        /* Drop partial results of a failed op. */
        json_object_clear(res);
        json_object_set(res, "id", id ? id : json_null());
        json_object_set_new(res, "ok", json_false());
        json_object_set_new(res, "code", json_string(jw_status_name(st)));
        json_object_set_new(res, "message", json_string(g_msg));
    }
    write_line(res);
}

static void handle_line(const char *line, size_t len)
{
    json_error_t err;
    json_t *res = json_object();
    if (!res) {
        fprintf(stderr, "c_driver: out of memory\n");
        exit(2);
    }
    g_msg[0] = '\0';
    json_t *req = json_loadb(line, len, JSON_ALLOW_NUL, &err);
    if (!req) {
        fail(JW_EINVAL, "malformed JSON: %s (column %d)", err.text,
             err.column);
        respond(NULL, JW_EINVAL, res);
        json_decref(res);
        return;
    }
    json_t *id = json_object_get(req, "id");
    if (!json_is_object(req) || !json_is_integer(id)) {
        fail(JW_EINVAL, "a request is an object with an integer 'id'");
        respond(NULL, JW_EINVAL, res);
    } else {
        const char *op = NULL;
        jw_status st = arg_str(req, "op", 1, &op);
        if (st == JW_OK) {
            size_t i, n = sizeof ops / sizeof ops[0];
            for (i = 0; i < n; i++)
                if (strcmp(ops[i].name, op) == 0)
                    break;
            if (i == n)
                st = fail(JW_EINVAL, "unknown op '%s'", op);
            else
                st = ops[i].fn(req, res);
        }
        if (st != JW_OK && g_msg[0] == '\0')
            snprintf(g_msg, sizeof g_msg, "%s", jw_strerror(st));
        respond(id, st, res);
    }
    json_decref(res);
    json_decref(req);
}

static void cleanup(void)
{
    /* Messages and subscriptions, then connections with the JetStream
     * and Key-Value handles made through them (watchers before their
     * bucket, buckets before their context). */
    for (int i = 1; i < g_nhandles; i++)
        if (g_handles[i].kind == H_JSMSG || g_handles[i].kind == H_SUB)
            free_handle(i);
    for (int i = 1; i < g_nhandles; i++)
        if (g_handles[i].kind != H_NONE)
            free_handle(i);
    free(g_handles);
    g_handles = NULL;
    while (g_serves) {
        struct serve_state *next = g_serves->next;
        free(g_serves);
        g_serves = next;
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (!g_quit && (n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        size_t start = 0;
        while (start < len && (line[start] == ' ' || line[start] == '\t'))
            start++;
        if (start == len)
            continue;
        handle_line(line + start, len - start);
    }
    free(line);
    cleanup();
    return 0;
}
