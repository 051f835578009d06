/*
 * Key-Value store (kv.md): a bucket is the stream KV_<bucket> over
 * $KV.<bucket>.>, an entry a message on $KV.<bucket>.<key>, its revision
 * the stream sequence. Built on the JetStream calls of this library:
 * publish with expected-sequence headers for create/update, direct get for
 * reads, ordered consumers for watch, keys and history.
 */
#include "kv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- names ---- */

static jw_status check_bucket(const char *bucket)
{
    if (!bucket || !*bucket)
        return jw__fail(JW_EINVAL, "bucket name is empty");
    for (const char *p = bucket; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return jw__fail(JW_EINVAL,
                            "invalid bucket name '%s': only letters, digits, "
                            "'_' and '-'",
                            bucket);
    if (strlen(bucket) > 200)
        return jw__fail(JW_EINVAL, "bucket name is too long");
    return JW_OK;
}

jw_status jw__kv_check_key(const char *key, int wildcards)
{
    if (!key || !*key)
        return jw__fail(JW_EINVAL, "key is empty");
    size_t n = strlen(key);
    if (n > KV_SUBJECT_MAX - 220)
        return jw__fail(JW_EINVAL, "key is too long");
    if (key[0] == '.' || key[n - 1] == '.' || strstr(key, ".."))
        return jw__fail(JW_EINVAL,
                        "invalid key '%s': empty token (leading, trailing "
                        "or double '.')",
                        key);
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        int token_start = i == 0 || key[i - 1] == '.';
        int token_end = i + 1 == n || key[i + 1] == '.';
        if (wildcards && (c == '*' || c == '>') && token_start && token_end &&
            (c == '*' || i + 1 == n))
            continue;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '/' || c == '_' ||
              c == '=' || c == '.'))
            return jw__fail(JW_EINVAL,
                            "invalid key '%s': '%c' is not allowed", key, c);
    }
    return JW_OK;
}

jw_status jw__kv_subject_of(const jw_kv *kv, const char *key, char *buf,
                            size_t size)
{
    int n = snprintf(buf, size, "%s%s", kv->prefix, key);
    return n > 0 && (size_t)n < size
               ? JW_OK
               : jw__fail(JW_EINVAL, "key '%s' is too long", key);
}

jw_status jw__kv_put_subject(const jw_kv *kv, const char *key, char *buf,
                             size_t size)
{
    int n = snprintf(buf, size, "%s%s", kv->put_prefix, key);
    return n > 0 && (size_t)n < size
               ? JW_OK
               : jw__fail(JW_EINVAL, "key '%s' is too long", key);
}

/* ---- buckets ---- */

/* A handle on bucket, whose stream has the configuration cfg (wire form):
 * a mirror reads its own stream under the origin's subjects and writes to
 * the origin (kv.md, mirrors). */
static jw_status kv_new(jw_js *js, const char *bucket, const json_t *cfg,
                        jw_kv **out)
{
    jw_kv *kv = calloc(1, sizeof(*kv));
    if (!kv || !(kv->bucket = strdup(bucket))) {
        free(kv);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    atomic_init(&kv->refs, 1);
    kv->js = js;
    jw__js_ref(js);
    snprintf(kv->stream, sizeof kv->stream, "KV_%s", bucket);
    const json_t *mirror = json_object_get(cfg, "mirror");
    const char *origin = json_string_value(json_object_get(mirror, "name"));
    if (origin && strncmp(origin, "KV_", 3) == 0)
        origin += 3;
    else
        origin = bucket;
    snprintf(kv->prefix, sizeof kv->prefix, "$KV.%s.", origin);
    kv->prefix_len = strlen(kv->prefix);
    const char *api = json_string_value(
        json_object_get(json_object_get(mirror, "external"), "api"));
    if (api && *api)
        snprintf(kv->put_prefix, sizeof kv->put_prefix, "%s.%s", api,
                 kv->prefix);
    else
        snprintf(kv->put_prefix, sizeof kv->put_prefix, "%s", kv->prefix);
    *out = kv;
    return JW_OK;
}

/* A stream source (or mirror) of a bucket's configuration, for the
 * stream: a bucket name gets its KV_ prefix, a JetStream domain becomes the
 * API prefix that reaches it. */
static json_t *bucket_source(const json_t *in, const char **origin)
{
    json_t *src = json_deep_copy(in);
    const char *name = json_string_value(json_object_get(src, "name"));
    const char *domain = json_string_value(json_object_get(src, "domain"));
    *origin = NULL;
    if (!src || !name)
        return src;
    if (strncmp(name, "KV_", 3) != 0) {
        char full[300];
        snprintf(full, sizeof full, "KV_%s", name);
        json_object_set_new(src, "name", json_string(full));
    }
    name = json_string_value(json_object_get(src, "name"));
    *origin = name + 3;
    if (domain && !json_object_get(src, "external")) {
        char api[300];
        snprintf(api, sizeof api, "$JS.%s.API", domain);
        json_object_set_new(src, "external", json_pack("{ss}", "api", api));
    }
    json_object_del(src, "domain");
    return src;
}

/* mirror or sources of a bucket's configuration into the stream's (out):
 * a mirror has no subjects of its own and answers direct gets for its
 * origin; a source bucket's subjects are transformed into this bucket's
 * (unless the source says how: jsconf.c makes sources need 2.10). */
static jw_status bucket_origins(const json_t *in, const char *bucket,
                                json_t *out)
{
    const json_t *mirror = json_object_get(in, "mirror");
    const json_t *sources = json_object_get(in, "sources");
    const char *origin;
    if (mirror && sources)
        return jw__fail(JW_EINVAL, "a bucket has a mirror or sources, not "
                                   "both");
    if (mirror) {
        json_t *m = bucket_source(mirror, &origin);
        if (!origin) {
            json_decref(m);
            return jw__fail(JW_EINVAL, "mirror needs a \"name\"");
        }
        json_object_del(out, "subjects");
        json_object_set_new(out, "mirror", m);
        json_object_set_new(out, "mirror_direct", json_true());
        return JW_OK;
    }
    if (!sources)
        return JW_OK;
    if (!json_is_array(sources))
        return jw__fail(JW_EINVAL, "sources must be an array of objects");
    json_t *list = json_array();
    size_t i;
    json_t *v;
    jw_status st = JW_OK;
    json_array_foreach(sources, i, v)
    {
        json_t *s = json_is_object(v) ? bucket_source(v, &origin) : NULL;
        if (!s || !origin) {
            json_decref(s);
            st = jw__fail(JW_EINVAL, "each source needs a \"name\"");
            break;
        }
        int own = json_object_get(s, "subject_transforms") != NULL;
        int same = json_object_get(s, "external") &&
                   strcmp(origin, bucket) == 0;
        if (!own && !same) {
            char src[300], dest[300];
            snprintf(src, sizeof src, "$KV.%s.>", origin);
            snprintf(dest, sizeof dest, "$KV.%s.>", bucket);
            json_object_set_new(s, "subject_transforms",
                                json_pack("[{ssss}]", "src", src, "dest",
                                          dest));
        }
        json_array_append_new(list, s);
    }
    if (st == JW_OK)
        json_object_set_new(out, "sources", list);
    else
        json_decref(list);
    return st;
}

/* The stream configuration, in the wire's form (durations in ns), for a
 * bucket configuration (checked against the bucket fields of jsconf.c, in
 * js's duration unit); kv.md 2. */
static jw_status stream_config(jw_js *js, const char *config_json,
                               char *bucket_out, size_t bucket_size,
                               json_t **stream_out)
{
    json_t *in;
    jw_status st = jw__js_config_to_wire(js, JW__JS_KV,
                                         config_json ? config_json : "",
                                         &in);
    if (st)
        return st;
    const char *bucket = json_string_value(json_object_get(in, "bucket"));
    st = check_bucket(bucket);
    json_t *v;
    json_int_t history = 1;
    if (st == JW_OK && (v = json_object_get(in, "history"))) {
        history = json_integer_value(v);
        if (history < 1 || history > KV_MAX_HISTORY)
            st = jw__fail(JW_EINVAL, "history must be 1 to %d",
                          KV_MAX_HISTORY);
    }
    if (st) {
        json_decref(in);
        return st;
    }
    snprintf(bucket_out, bucket_size, "%s", bucket);
    json_int_t ttl = json_integer_value(json_object_get(in, "ttl"));
    json_t *max_bytes = json_object_get(in, "max_bytes");
    json_t *max_value = json_object_get(in, "max_value_size");
    char name[300], subject[300];
    snprintf(name, sizeof name, "KV_%s", bucket);
    snprintf(subject, sizeof subject, "$KV.%s.>", bucket);
    /* Duplicates are detected for two minutes, or the TTL if shorter. */
    const json_int_t two_minutes = 120 * (json_int_t)1000000000;
    json_int_t window = ttl > 0 && ttl < two_minutes ? ttl : two_minutes;
    json_t *out = json_pack(
        "{ss s[s] ss sI sI sI si ss sb sb sb sI sI sI}", "name", name,
        "subjects", subject, "retention", "limits", "max_msgs_per_subject",
        history, "max_age", ttl, "duplicate_window", window, "max_consumers",
        -1, "discard", "new", "allow_rollup_hdrs", 1, "deny_delete", 1,
        "allow_direct", 1, "max_msgs", (json_int_t)-1, "max_bytes",
        max_bytes ? json_integer_value(max_bytes) : -1, "max_msg_size",
        max_value ? json_integer_value(max_value) : -1);
    v = json_object_get(in, "storage");
    json_object_set_new(out, "storage", v ? json_incref(v) : json_string("file"));
    if ((v = json_object_get(in, "replicas")))
        json_object_set(out, "num_replicas", v);
    if (json_is_true(json_object_get(in, "compression")))
        json_object_set_new(out, "compression", json_string("s2"));
    /* Markers for keys that expired or were removed by limits (ADR-48)
     * stay for limit_marker_ttl. */
    if ((v = json_object_get(in, "limit_marker_ttl")) &&
        json_integer_value(v) > 0) {
        json_object_set_new(out, "allow_msg_ttl", json_true());
        json_object_set(out, "subject_delete_marker_ttl", v);
    }
    static const char *const copied[] = {"description", "republish",
                                         "placement", "metadata", NULL};
    for (int i = 0; copied[i]; i++)
        if ((v = json_object_get(in, copied[i])))
            json_object_set(out, copied[i], v);
    st = out ? bucket_origins(in, bucket_out, out)
             : jw__fail(JW_ENO_MEMORY, "out of memory");
    json_decref(in);
    if (st) {
        json_decref(out);
        return st;
    }
    *stream_out = out;
    return JW_OK;
}

static jw_status bucket_call(jw_js *js, const char *config_json, int mode,
                             jw_kv **out)
{
    if (out)
        *out = NULL;
    if (!js || !out)
        return jw__fail(JW_EINVAL, "js and out must not be NULL");
    char bucket[256];
    json_t *cfg = NULL;
    jw_status st = stream_config(js, config_json, bucket, sizeof bucket,
                                 &cfg);
    if (st == JW_OK)
        st = jw__js_stream_put(js, mode, cfg, NULL);
    if (st == JW_OK)
        st = kv_new(js, bucket, cfg, out);
    json_decref(cfg);
    return st;
}

jw_status jw_js_kv_create(jw_js *js, const char *config_json, jw_kv **out)
{
    return bucket_call(js, config_json, JW__JS_CREATE, out);
}

jw_status jw_js_kv_update(jw_js *js, const char *config_json, jw_kv **out)
{
    jw_status st = bucket_call(js, config_json, JW__JS_UPDATE, out);
    return st == JW_ESTREAM_NOT_FOUND
               ? jw__fail(JW_EBUCKET_NOT_FOUND, "bucket not found")
               : st;
}

jw_status jw_js_kv_create_or_update(jw_js *js, const char *config_json,
                                    jw_kv **out)
{
    return bucket_call(js, config_json, JW__JS_CREATE | JW__JS_UPDATE, out);
}

jw_status jw_js_kv(jw_js *js, const char *bucket, jw_kv **out)
{
    if (out)
        *out = NULL;
    if (!js || !out)
        return jw__fail(JW_EINVAL, "js and out must not be NULL");
    jw_status st = check_bucket(bucket);
    if (st)
        return st;
    char stream[300], *info = NULL;
    snprintf(stream, sizeof stream, "KV_%s", bucket);
    st = jw_js_stream_info(js, stream, &info);
    if (st == JW_ESTREAM_NOT_FOUND)
        return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found", bucket);
    if (st)
        return st;
    json_t *j = json_loads(info, 0, NULL);
    jw_free(info);
    const json_t *cfg = json_object_get(j, "config");
    json_int_t history =
        json_integer_value(json_object_get(cfg, "max_msgs_per_subject"));
    st = history < 1 ? jw__fail(JW_EINVAL, "stream '%s' is not a KV bucket",
                                stream)
                     : kv_new(js, bucket, cfg, out);
    json_decref(j);
    return st;
}

jw_status jw_js_kv_delete(jw_js *js, const char *bucket)
{
    if (!js)
        return jw__fail(JW_EINVAL, "js is NULL");
    jw_status st = check_bucket(bucket);
    if (st)
        return st;
    char stream[300];
    snprintf(stream, sizeof stream, "KV_%s", bucket);
    st = jw_js_stream_delete(js, stream);
    return st == JW_ESTREAM_NOT_FOUND
               ? jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                          bucket)
               : st;
}

jw_status jw_js_kv_names(jw_js *js, char **names_json)
{
    return jw__js_prefixed_streams(js, "$KV.*.>", "KV_", NULL, names_json);
}

void jw__kv_release(jw_kv *kv)
{
    if (atomic_fetch_sub_explicit(&kv->refs, 1, memory_order_acq_rel) != 1)
        return;
    jw__js_release(kv->js);
    free(kv->bucket);
    free(kv);
}

void jw_kv_free(jw_kv *kv)
{
    if (kv)
        jw__kv_release(kv);
}

const char *jw_kv_bucket(const jw_kv *kv)
{
    return kv ? kv->bucket : NULL;
}

/* A bucket's status from its stream's info (a JSON object whose config is
 * in the context's unit already), or NULL when it is not one. */
static json_t *status_of(const char *bucket, const json_t *info)
{
    json_t *cfg = json_object_get(info, "config");
    json_t *state = json_object_get(info, "state");
    const char *stream = json_string_value(json_object_get(cfg, "name"));
    if (!stream || !json_is_object(state))
        return NULL;
    const char *compression =
        json_string_value(json_object_get(cfg, "compression"));
    json_t *metadata = json_object_get(cfg, "metadata");
    json_t *marker = json_object_get(cfg, "subject_delete_marker_ttl");
    json_t *out = json_pack(
        "{ss sO sO sO sO sO sO ss ss sb so so}", "bucket", bucket,
        "values", json_object_get(state, "messages"), "history",
        json_object_get(cfg, "max_msgs_per_subject"), "ttl",
        json_object_get(cfg, "max_age"), "bytes",
        json_object_get(state, "bytes"), "storage",
        json_object_get(cfg, "storage"), "replicas",
        json_object_get(cfg, "num_replicas"), "backing_store", "JetStream",
        "stream", stream, "is_compressed",
        compression && strcmp(compression, "none") != 0, "limit_marker_ttl",
        marker ? json_incref(marker) : json_integer(0), "metadata",
        metadata ? json_incref(metadata) : json_object());
    static const char *const copied[] = {"mirror", "sources", "republish",
                                         NULL};
    json_t *v;
    for (int i = 0; out && copied[i]; i++)
        json_object_set_new(out, copied[i],
                            (v = json_object_get(cfg, copied[i]))
                                ? json_incref(v)
                                : json_null());
    return out;
}

jw_status jw_kv_status(jw_kv *kv, char **status_json)
{
    if (status_json)
        *status_json = NULL;
    if (!kv || !status_json)
        return jw__fail(JW_EINVAL, "kv and status_json must not be NULL");
    return jw__js_bucket_status(kv->js, kv->stream, kv->bucket, status_of,
                                status_json);
}

jw_status jw_js_kv_statuses(jw_js *js, char **statuses_json)
{
    /* One listing of the streams that capture $KV subjects (paged by the
     * engine), not a request per bucket. */
    return jw__js_prefixed_streams(js, "$KV.*.>", "KV_", status_of,
                                   statuses_json);
}

/* ---- writes ---- */

static jw_status direct_get(jw_kv *kv, const char *key, uint64_t seq,
                            jw_kv_entry **out, uint64_t *marker);

/* Publish options expecting the key's last revision to be `last` (when
 * has_last) and, with ttl_ms > 0, a per-message TTL (Nats-TTL); *opts
 * stays NULL when neither is asked for. */
static jw_status pub_opts(const jw_kv *kv, int has_last, uint64_t last,
                          int64_t ttl_ms, jw_call_opts **opts)
{
    *opts = NULL;
    if (!has_last && !ttl_ms)
        return JW_OK;
    jw_status st = jw_call_opts_new("publish", opts);
    if (st == JW_OK && has_last)
        st = jw_call_opts_set_int(*opts, "expected_last_subject_seq",
                                  (int64_t)last);
    /* The publish reads it in the context's unit. */
    if (st == JW_OK && ttl_ms)
        st = jw_call_opts_set_double(*opts, "ttl",
                                     (double)ttl_ms * 1e6 /
                                         (double)kv->js->unit_ns);
    return st;
}

static jw_status publish(jw_kv *kv, const char *key, const char *op,
                         int rollup, const void *value, size_t len,
                         int has_last, uint64_t last, int64_t ttl_ms,
                         uint64_t *revision)
{
    char subject[KV_SUBJECT_MAX];
    jw_status st = jw__kv_check_key(key, 0);
    if (st == JW_OK)
        st = jw__kv_put_subject(kv, key, subject, sizeof subject);
    if (st)
        return st;
    jw_call_opts *opts = NULL;
    jw_msg *msg = NULL;
    jw_js_pub_ack *ack = NULL;
    st = pub_opts(kv, has_last, last, ttl_ms, &opts);
    if (st == JW_OK && !op) {
        st = jw_js_publish(kv->js, subject, value, len, opts, &ack);
    } else if (st == JW_OK) {
        st = jw_msg_new(subject, NULL, value, len, &msg);
        if (st == JW_OK)
            st = jw_msg_header_add(msg, "KV-Operation", op);
        if (st == JW_OK && rollup)
            st = jw_msg_header_add(msg, "Nats-Rollup", "sub");
        if (st == JW_OK)
            st = jw_js_publish_msg(kv->js, msg, opts, &ack);
    }
    if (st == JW_OK && revision)
        *revision = jw_js_pub_ack_seq(ack);
    jw_js_pub_ack_free(ack);
    jw_msg_free(msg);
    jw_call_opts_free(opts);
    if (st == JW_ENO_RESPONDERS)
        return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                        kv->bucket);
    return st;
}

jw_status jw_kv_put(jw_kv *kv, const char *key, const void *value,
                    size_t len, uint64_t *revision)
{
    if (!kv || (len && !value))
        return jw__fail(JW_EINVAL, "kv is NULL or value is NULL");
    return publish(kv, key, NULL, 0, value, len, 0, 0, 0, revision);
}

jw_status jw_kv_update(jw_kv *kv, const char *key, const void *value,
                       size_t len, uint64_t last, uint64_t *revision)
{
    if (!kv || (len && !value))
        return jw__fail(JW_EINVAL, "kv is NULL or value is NULL");
    return publish(kv, key, NULL, 0, value, len, 1, last, 0, revision);
}

/* The ttl option of a create or purge, in ms (0: none). */
static jw_status ttl_of(jw_kv *kv, const jw_call_opts *opts, int call,
                        int index, int64_t *ttl_ms)
{
    *ttl_ms = 0;
    jw_status st = jw__call_opts_use(opts, call, kv->js);
    return st ? st : jw__call_opts_ms(opts, index, kv->js, 0, ttl_ms);
}

jw_status jw_kv_create(jw_kv *kv, const char *key, const void *value,
                       size_t len, const jw_call_opts *opts,
                       uint64_t *revision)
{
    if (!kv || (len && !value))
        return jw__fail(JW_EINVAL, "kv is NULL or value is NULL");
    int64_t ttl_ms;
    jw_status st = ttl_of(kv, opts, JW__CALL_CREATE, JW__CREATE_TTL, &ttl_ms);
    if (st)
        return st;
    st = publish(kv, key, NULL, 0, value, len, 1, 0, ttl_ms, revision);
    if (st != JW_EWRONG_LAST_SEQUENCE)
        return st;
    /* Something is stored: a delete or purge marker may be replaced. */
    jw_kv_entry *e = NULL;
    uint64_t marker = 0;
    st = direct_get(kv, key, 0, &e, &marker);
    if (st == JW_EKEY_DELETED)
        return publish(kv, key, NULL, 0, value, len, 1, marker, ttl_ms,
                       revision);
    jw_kv_entry_free(e);
    if (st == JW_OK)
        return jw__fail(JW_EKEY_EXISTS, "key '%s' exists", key);
    return st;
}

jw_status jw_kv_delete(jw_kv *kv, const char *key, uint64_t last)
{
    if (!kv)
        return jw__fail(JW_EINVAL, "kv is NULL");
    return publish(kv, key, "DEL", 0, NULL, 0, last != 0, last, 0, NULL);
}

jw_status jw_kv_purge(jw_kv *kv, const char *key, uint64_t last,
                      const jw_call_opts *opts)
{
    if (!kv)
        return jw__fail(JW_EINVAL, "kv is NULL");
    int64_t ttl_ms;
    jw_status st = ttl_of(kv, opts, JW__CALL_PURGE, JW__PURGE_TTL, &ttl_ms);
    return st ? st
              : publish(kv, key, "PURGE", 1, NULL, 0, last != 0, last,
                        ttl_ms, NULL);
}

/* ---- reads ---- */

int64_t jw__kv_parse_time(const char *s)
{
    if (!s)
        return 0;
    struct tm tm = {0};
    int frac_start = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
               &frac_start) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t ns = (int64_t)timegm(&tm) * 1000000000LL;
    const char *p = s + frac_start;
    if (*p == '.') {
        int64_t scale = 100000000LL;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            ns += (*p - '0') * scale;
    }
    return ns;
}

/* What a stored message means for its key: a put, or a delete or purge
 * by KV-Operation; a marker the server wrote when the key went by a limit
 * (ADR-48, nats-server 2.11: Nats-Marker-Reason MaxAge or Purge) is a
 * purge, one for a removal (Remove) a delete. */
static jw_kv_op op_of(const jw_msg *m)
{
    const char *op = NULL;
    if (jw_msg_header_get(m, "KV-Operation", 0, &op) == JW_OK && op)
        return strcmp(op, "PURGE") == 0 ? JW_KV_PURGE : JW_KV_DEL;
    if (jw_msg_header_get(m, "Nats-Marker-Reason", 0, &op) == JW_OK && op)
        return strcmp(op, "Remove") == 0 ? JW_KV_DEL : JW_KV_PURGE;
    return JW_KV_PUT;
}

jw_status jw__kv_entry_new(const jw_kv *kv, const char *key, const jw_msg *m,
                           jw_kv_entry **out)
{
    jw_kv_entry *e = calloc(1, sizeof(*e));
    size_t len = jw_msg_data_len(m);
    if (e) {
        e->bucket = strdup(kv->bucket);
        e->key = strdup(key);
        e->value = malloc(len + 1);
    }
    if (!e || !e->bucket || !e->key || !e->value) {
        jw_kv_entry_free(e);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    if (len)
        memcpy(e->value, jw_msg_data(m), len);
    e->value[len] = '\0';
    e->len = len;
    e->op = op_of(m);
    *out = e;
    return JW_OK;
}

/* Direct get: by subject (the latest) or by sequence. A delete or purge
 * marker is JW_EKEY_DELETED, its revision in *marker (may be NULL). */
/* The direct get of key (the latest, or seq): its request subject into
 * api and its body into body (empty for the latest). */
static jw_status direct_get_request(jw_kv *kv, const char *key, uint64_t seq,
                                    char *api, size_t api_size, char *body,
                                    size_t body_size, char *subject)
{
    jw_status st = jw__kv_check_key(key, 0);
    if (st == JW_OK)
        st = jw__kv_subject_of(kv, key, subject, KV_SUBJECT_MAX);
    if (st)
        return st;
    body[0] = 0;
    if (seq) {
        snprintf(api, api_size, "%s.DIRECT.GET.%s", kv->js->prefix,
                 kv->stream);
        snprintf(body, body_size, "{\"seq\":%llu}", (unsigned long long)seq);
    } else {
        snprintf(api, api_size, "%s.DIRECT.GET.%s.%s", kv->js->prefix,
                 kv->stream, subject);
    }
    return JW_OK;
}

/* A direct get's reply (m) to the entry of key. A delete or purge marker
 * is JW_EKEY_DELETED, its revision in *marker (may be NULL). */
static jw_status direct_get_reply(jw_kv *kv, const char *key,
                                  const char *subject, const jw_msg *m,
                                  jw_kv_entry **out, uint64_t *marker)
{
    int code = jw_msg_status_code(m);
    const char *got_subject = NULL;
    jw_msg_header_get(m, "Nats-Subject", 0, &got_subject);
    if (code == 404 || (code == 0 && (!got_subject ||
                                      strcmp(got_subject, subject) != 0)))
        return jw__fail(JW_EKEY_NOT_FOUND, "key '%s' not found", key);
    if (code)
        return jw__fail(JW_EJETSTREAM, "direct get of '%s': status %d", key,
                        code);
    const char *hdr = NULL;
    jw_kv_entry *e = NULL;
    jw_status st = jw__kv_entry_new(kv, key, m, &e);
    if (st)
        return st;
    if (jw_msg_header_get(m, "Nats-Sequence", 0, &hdr) == JW_OK && hdr)
        e->revision = strtoull(hdr, NULL, 10);
    if (jw_msg_header_get(m, "Nats-Time-Stamp", 0, &hdr) == JW_OK)
        e->created_ns = jw__kv_parse_time(hdr);
    if (e->op != JW_KV_PUT) {
        if (marker)
            *marker = e->revision;
        jw_kv_entry_free(e);
        return jw__fail(JW_EKEY_DELETED, "key '%s' was deleted", key);
    }
    *out = e;
    return JW_OK;
}

/* A get nobody answered: nobody answers direct gets for a stream that is
 * gone, so ask for the stream (one API request). */
static jw_status get_timed_out(jw_kv *kv, const char *key)
{
    char *info = NULL;
    if (jw_js_stream_info(kv->js, kv->stream, &info) == JW_ESTREAM_NOT_FOUND)
        return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                        kv->bucket);
    jw_free(info);
    return jw__fail(JW_ETIMEOUT, "no reply to the get of '%s'", key);
}

/* Direct get: by subject (the latest) or by sequence. */
static jw_status direct_get(jw_kv *kv, const char *key, uint64_t seq,
                            jw_kv_entry **out, uint64_t *marker)
{
    char subject[KV_SUBJECT_MAX], api[2 * KV_SUBJECT_MAX + 600], body[64];
    jw_status st = direct_get_request(kv, key, seq, api, sizeof api, body,
                                      sizeof body, subject);
    if (st)
        return st;
    jw_msg *m = NULL;
    st = jw_conn_request(kv->js->conn, api, body, strlen(body),
                         kv->js->timeout_ms, &m);
    if (st == JW_ENO_RESPONDERS)
        return jw__fail(JW_EBUCKET_NOT_FOUND,
                        "bucket '%s' not found (or JetStream is off)",
                        kv->bucket);
    if (st == JW_ETIMEOUT)
        return get_timed_out(kv, key);
    if (st)
        return st;
    st = direct_get_reply(kv, key, subject, m, out, marker);
    jw_msg_free(m);
    return st;
}

/* The revision a get asks for (0: the latest). */
static uint64_t revision_of(const jw_call_opts *opts)
{
    return (uint64_t)jw__call_opts_int(opts, JW__GET_REVISION, 0);
}

/* ---- reads and writes for other event loops ---- */

jw_status jw_kv_get_start(jw_kv *kv, const char *key,
                          const jw_call_opts *opts, uint64_t *id)
{
    if (id)
        *id = 0;
    if (!kv || !id)
        return jw__fail(JW_EINVAL, "kv and id must not be NULL");
    char subject[KV_SUBJECT_MAX], api[2 * KV_SUBJECT_MAX + 600], body[64];
    jw_status st = jw__call_opts_use(opts, JW__CALL_GET, kv->js);
    if (st == JW_OK)
        st = direct_get_request(kv, key, revision_of(opts), api, sizeof api,
                                body, sizeof body, subject);
    jw_msg *m = NULL;
    if (st == JW_OK)
        st = jw_msg_new(api, NULL, body, strlen(body), &m);
    if (st == JW_OK)
        st = jw_conn_request_start(kv->js->conn, m, id);
    jw_msg_free(m);
    return st;
}

jw_status jw_kv_get_result(jw_kv *kv, const char *key, jw_status status,
                           const jw_msg *reply, jw_kv_entry **out)
{
    if (out)
        *out = NULL;
    if (!kv || !key || !out || (status == JW_OK && !reply))
        return jw__fail(JW_EINVAL, "kv, key, out and the reply must not be "
                                   "NULL");
    if (status == JW_ENO_RESPONDERS)
        return jw__fail(JW_EBUCKET_NOT_FOUND,
                        "bucket '%s' not found (or JetStream is off)",
                        kv->bucket);
    if (status == JW_ETIMEOUT)
        return get_timed_out(kv, key);
    if (status)
        return status;
    char subject[KV_SUBJECT_MAX];
    jw_status st = jw__kv_subject_of(kv, key, subject, sizeof subject);
    return st ? st : direct_get_reply(kv, key, subject, reply, out, NULL);
}

jw_status jw_kv_put_start(jw_kv *kv, const char *key, const void *value,
                          size_t len, uint64_t last, uint64_t *id)
{
    if (id)
        *id = 0;
    if (!kv || !id || (len && !value))
        return jw__fail(JW_EINVAL, "kv, id and value must not be NULL");
    char subject[KV_SUBJECT_MAX];
    jw_status st = jw__kv_check_key(key, 0);
    if (st == JW_OK)
        st = jw__kv_put_subject(kv, key, subject, sizeof subject);
    jw_call_opts *opts = NULL;
    jw_msg *m = NULL;
    if (st == JW_OK)
        st = pub_opts(kv, last != 0, last, 0, &opts);
    if (st == JW_OK)
        st = jw_msg_new(subject, NULL, value, len, &m);
    if (st == JW_OK)
        st = jw_js_publish_start(kv->js, m, opts, id);
    jw_msg_free(m);
    jw_call_opts_free(opts);
    return st;
}

jw_status jw_kv_put_result(jw_kv *kv, jw_status status, const jw_msg *reply,
                           uint64_t *revision)
{
    if (revision)
        *revision = 0;
    if (!kv || (status == JW_OK && !reply))
        return jw__fail(JW_EINVAL, "kv and the reply must not be NULL");
    if (status == JW_ENO_RESPONDERS)
        return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                        kv->bucket);
    if (status)
        return status;
    jw_js_pub_ack *ack = NULL;
    jw_status st = jw_js_pub_ack_parse(reply, &ack);
    if (st == JW_OK && revision)
        *revision = jw_js_pub_ack_seq(ack);
    jw_js_pub_ack_free(ack);
    return st;
}

jw_status jw_kv_get(jw_kv *kv, const char *key, const jw_call_opts *opts,
                    jw_kv_entry **out)
{
    if (out)
        *out = NULL;
    if (!kv || !out)
        return jw__fail(JW_EINVAL, "kv and out must not be NULL");
    jw_status st = jw__call_opts_use(opts, JW__CALL_GET, kv->js);
    return st ? st : direct_get(kv, key, revision_of(opts), out, NULL);
}

/* ---- entries ---- */

void jw_kv_entry_free(jw_kv_entry *e)
{
    if (!e)
        return;
    free(e->bucket);
    free(e->key);
    free(e->value);
    free(e);
}

const char *jw_kv_entry_bucket(const jw_kv_entry *e)
{
    return e ? e->bucket : NULL;
}

const char *jw_kv_entry_key(const jw_kv_entry *e)
{
    return e ? e->key : NULL;
}

const void *jw_kv_entry_value(const jw_kv_entry *e, size_t *len)
{
    if (len)
        *len = e ? e->len : 0;
    return e ? e->value : NULL;
}

uint64_t jw_kv_entry_revision(const jw_kv_entry *e)
{
    return e ? e->revision : 0;
}

uint64_t jw_kv_entry_delta(const jw_kv_entry *e)
{
    return e ? e->delta : 0;
}

int64_t jw_kv_entry_created(const jw_kv_entry *e)
{
    return e ? e->created_ns : 0;
}

jw_kv_op jw_kv_entry_operation(const jw_kv_entry *e)
{
    return e ? e->op : 0;
}
