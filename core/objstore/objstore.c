/*
 * Object store (ADR-20, objects.md): a bucket is the stream OBJ_<bucket>,
 * an object its chunks on $O.<bucket>.C.<nuid> and its info, JSON, on
 * $O.<bucket>.M.<base64url(name)>, rolled up per subject. This file holds
 * buckets, put, info, delete, meta updates and links; objread.c the reads
 * (get, readers, watch, list). Everything rides on the JetStream calls of
 * this library and the connection's public API.
 */
#include "objstore.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- names and encodings ---- */

jw_status jw__obs_check_bucket(const char *bucket)
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

static jw_status check_name(const char *name)
{
    if (!name || !*name)
        return jw__fail(JW_EINVAL, "object name is empty");
    if (strlen(name) > OBS_NAME_MAX)
        return jw__fail(JW_EINVAL, "object name is longer than %d bytes",
                        OBS_NAME_MAX);
    return JW_OK;
}

char *jw__obs_b64url(const unsigned char *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    for (int i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[n] = 0;
    return out;
}

int jw__obs_digest_matches(const char *digest, const unsigned char *sha)
{
    /* "SHA-256=<base64url>", the algorithm's name in any case; padding
     * may be left out. */
    if (!digest || strncasecmp(digest, "SHA-256=", 8) != 0)
        return 0;
    const char *v = digest + 8;
    size_t n = strlen(v);
    if (n < 43 || n > 44)
        return 0;
    char text[45];
    for (size_t i = 0; i < n; i++)
        text[i] = v[i] == '-' ? '+' : v[i] == '_' ? '/' : v[i];
    if (n == 43)
        text[n++] = '=';
    unsigned char raw[33];
    if (EVP_DecodeBlock(raw, (const unsigned char *)text, (int)n) != 33)
        return 0;
    return memcmp(raw, sha, 32) == 0;
}

char *jw__obs_meta_subject(const jw_obs *obs, const char *name)
{
    if (check_name(name))
        return NULL;
    char *encoded = jw__obs_b64url((const unsigned char *)name, strlen(name));
    size_t size = encoded ? strlen(encoded) + strlen(obs->bucket) + 8 : 0;
    char *subject = encoded ? malloc(size) : NULL;
    if (subject)
        snprintf(subject, size, "$O.%s.M.%s", obs->bucket, encoded);
    else
        jw__fail(JW_ENO_MEMORY, "out of memory");
    free(encoded);
    return subject;
}

/* A NUID-like id: 22 characters of [0-9A-Za-z] from the system's random
 * source, so that a new object's chunks go to a subject of their own. */
static jw_status new_nuid(char out[23])
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char raw[22];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return jw__fail(JW_EIO, "no random bytes for an object id");
    for (int i = 0; i < 22; i++)
        out[i] = alphabet[raw[i] % 62];
    out[22] = 0;
    return JW_OK;
}

static void chunk_subject(const jw_obs *obs, const char *nuid, char *buf,
                          size_t size)
{
    snprintf(buf, size, "$O.%s.C.%s", obs->bucket, nuid);
}

/* ---- buckets ---- */

jw_status jw__obs_new(jw_js *js, const char *bucket, jw_obs **out)
{
    jw_obs *obs = calloc(1, sizeof(*obs));
    if (!obs || !(obs->bucket = strdup(bucket))) {
        free(obs);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    atomic_init(&obs->refs, 1);
    obs->js = js;
    jw__js_ref(js);
    snprintf(obs->stream, sizeof obs->stream, "OBJ_%s", bucket);
    *out = obs;
    return JW_OK;
}

void jw__obs_ref(jw_obs *obs)
{
    atomic_fetch_add_explicit(&obs->refs, 1, memory_order_relaxed);
}

void jw__obs_release(jw_obs *obs)
{
    if (atomic_fetch_sub_explicit(&obs->refs, 1, memory_order_acq_rel) != 1)
        return;
    jw__js_release(obs->js);
    free(obs->bucket);
    free(obs);
}

void jw_obs_free(jw_obs *obs)
{
    if (obs)
        jw__obs_release(obs);
}

const char *jw_obs_bucket(const jw_obs *obs)
{
    return obs ? obs->bucket : NULL;
}

/* The stream configuration (wire form) of a bucket configuration checked
 * against the object store fields of jsconf.c. */
static jw_status stream_config(jw_js *js, const char *config_json,
                               char *bucket_out, size_t bucket_size,
                               json_t **stream_out)
{
    json_t *in;
    jw_status st = jw__js_config_to_wire(js, JW__JS_OBS,
                                         config_json ? config_json : "",
                                         &in);
    if (st)
        return st;
    const char *bucket = json_string_value(json_object_get(in, "bucket"));
    if ((st = jw__obs_check_bucket(bucket))) {
        json_decref(in);
        return st;
    }
    snprintf(bucket_out, bucket_size, "%s", bucket);
    char name[300], chunks[300], meta[300];
    snprintf(name, sizeof name, "OBJ_%s", bucket);
    snprintf(chunks, sizeof chunks, "$O.%s.C.>", bucket);
    snprintf(meta, sizeof meta, "$O.%s.M.>", bucket);
    json_t *v = json_object_get(in, "max_bytes");
    json_int_t max_bytes = v ? json_integer_value(v) : -1;
    v = json_object_get(in, "replicas");
    json_int_t replicas = v ? json_integer_value(v) : 1;
    json_t *out = json_pack(
        "{ss s[ss] sI sI sI ss sb sb}", "name", name, "subjects", chunks,
        meta, "max_age", json_integer_value(json_object_get(in, "ttl")),
        "max_bytes", max_bytes ? max_bytes : -1, "num_replicas",
        replicas ? replicas : 1, "discard", "new", "allow_rollup_hdrs", 1,
        "allow_direct", 1);
    if (!out) {
        json_decref(in);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    v = json_object_get(in, "storage");
    json_object_set_new(out, "storage",
                        v ? json_incref(v) : json_string("file"));
    if (json_is_true(json_object_get(in, "compression")))
        json_object_set_new(out, "compression", json_string("s2"));
    static const char *const copied[] = {"description", "placement",
                                         "metadata", NULL};
    for (int i = 0; copied[i]; i++)
        if ((v = json_object_get(in, copied[i])))
            json_object_set(out, copied[i], v);
    json_decref(in);
    *stream_out = out;
    return JW_OK;
}

static jw_status bucket_call(jw_js *js, const char *config_json, int mode,
                             jw_obs **out)
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
        st = jw__obs_new(js, bucket, out);
    json_decref(cfg);
    return st;
}

jw_status jw_js_obs_create(jw_js *js, const char *config_json, jw_obs **out)
{
    return bucket_call(js, config_json, JW__JS_CREATE, out);
}

jw_status jw_js_obs_update(jw_js *js, const char *config_json, jw_obs **out)
{
    jw_status st = bucket_call(js, config_json, JW__JS_UPDATE, out);
    return st == JW_ESTREAM_NOT_FOUND
               ? jw__fail(JW_EBUCKET_NOT_FOUND, "bucket not found")
               : st;
}

jw_status jw_js_obs_create_or_update(jw_js *js, const char *config_json,
                                     jw_obs **out)
{
    return bucket_call(js, config_json, JW__JS_CREATE | JW__JS_UPDATE, out);
}

jw_status jw_js_obs_get(jw_js *js, const char *bucket, jw_obs **out)
{
    if (out)
        *out = NULL;
    if (!js || !out)
        return jw__fail(JW_EINVAL, "js and out must not be NULL");
    jw_status st = jw__obs_check_bucket(bucket);
    if (st)
        return st;
    char stream[300], *info = NULL;
    snprintf(stream, sizeof stream, "OBJ_%s", bucket);
    st = jw_js_stream_info(js, stream, &info);
    if (st == JW_ESTREAM_NOT_FOUND)
        return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                        bucket);
    jw_free(info);
    return st ? st : jw__obs_new(js, bucket, out);
}

jw_status jw_js_obs_delete(jw_js *js, const char *bucket)
{
    if (!js)
        return jw__fail(JW_EINVAL, "js is NULL");
    jw_status st = jw__obs_check_bucket(bucket);
    if (st)
        return st;
    char stream[300];
    snprintf(stream, sizeof stream, "OBJ_%s", bucket);
    st = jw_js_stream_delete(js, stream);
    return st == JW_ESTREAM_NOT_FOUND
               ? jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                          bucket)
               : st;
}

/* The status document of a bucket from its StreamInfo (config already in
 * the context's unit). */
static json_t *status_of(const char *bucket, const json_t *info)
{
    const json_t *cfg = json_object_get(info, "config");
    const json_t *state = json_object_get(info, "state");
    const char *compression =
        json_string_value(json_object_get(cfg, "compression"));
    json_t *metadata = json_object_get(cfg, "metadata");
    json_t *description = json_object_get(cfg, "description");
    json_t *size = json_object_get(state, "bytes");
    return json_pack(
        "{ss so sO sO sO so sb so sb ss}", "bucket", bucket, "description",
        description ? json_incref(description) : json_string(""), "ttl",
        json_object_get(cfg, "max_age"), "storage",
        json_object_get(cfg, "storage"), "replicas",
        json_object_get(cfg, "num_replicas"), "size",
        size ? json_incref(size) : json_integer(0), "sealed",
        json_is_true(json_object_get(cfg, "sealed")), "metadata",
        metadata ? json_incref(metadata) : json_object(), "is_compressed",
        compression && strcmp(compression, "none") != 0, "backing_store",
        "JetStream");
}

jw_status jw_obs_status(jw_obs *obs, char **status_json)
{
    if (status_json)
        *status_json = NULL;
    if (!obs || !status_json)
        return jw__fail(JW_EINVAL, "obs and status_json must not be NULL");
    return jw__js_bucket_status(obs->js, obs->stream, obs->bucket, status_of,
                                status_json);
}

jw_status jw_js_obs_names(jw_js *js, char **names_json)
{
    return jw__js_prefixed_streams(js, "$O.*.C.>", "OBJ_", NULL, names_json);
}

jw_status jw_js_obs_list(jw_js *js, char **status_json)
{
    return jw__js_prefixed_streams(js, "$O.*.C.>", "OBJ_", status_of,
                                   status_json);
}

jw_status jw_obs_seal(jw_obs *obs)
{
    if (!obs)
        return jw__fail(JW_EINVAL, "obs is NULL");
    char suffix[320];
    snprintf(suffix, sizeof suffix, "STREAM.INFO.%s", obs->stream);
    json_t *info = NULL;
    jw_status st = jw__js_api(obs->js, suffix, NULL, &info);
    if (st == JW_ESTREAM_NOT_FOUND)
        return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                        obs->bucket);
    if (st)
        return st;
    json_t *cfg = json_object_get(info, "config");
    if (!json_is_object(cfg))
        st = jw__fail(JW_EPROTOCOL, "stream info without a config");
    else {
        json_object_set_new(cfg, "sealed", json_true());
        st = jw__js_stream_put(obs->js, JW__JS_UPDATE, cfg, NULL);
    }
    json_decref(info);
    return st;
}

/* ---- object info ---- */

const json_t *jw__obs_link(const json_t *info)
{
    const json_t *link =
        json_object_get(json_object_get(info, "options"), "link");
    return json_is_object(link) ? link : NULL;
}

jw_status jw__obs_info_out(const json_t *info, char **out)
{
    *out = json_dumps(info, JSON_COMPACT);
    return *out ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
}

/* The last meta message of subject: a direct get by body (no subject length
 * limit), or, for a bucket without allow_direct, the stream API. */
static jw_status last_meta(jw_obs *obs, const char *subject, jw_msg **out)
{
    *out = NULL;
    jw_js *js = obs->js;
    char api[512];
    snprintf(api, sizeof api, "%s.DIRECT.GET.%s", js->prefix, obs->stream);
    json_t *body = json_pack("{ss}", "last_by_subj", subject);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    jw_msg *m = NULL;
    jw_status st = jw_conn_request(js->conn, api, text, strlen(text),
                                   js->timeout_ms, &m);
    free(text);
    if (st == JW_ENO_RESPONDERS) {
        st = jw_js_stream_get_last_msg(js, obs->stream, subject, out);
        if (st == JW_EJETSTREAM && jw_js_last_err_code() == 10037)
            return JW_EKEY_NOT_FOUND; /* the caller names the object */
        if (st == JW_ESTREAM_NOT_FOUND)
            return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                            obs->bucket);
        return st;
    }
    if (st == JW_ETIMEOUT) {
        /* A 2.9 server leaves a direct get of a deleted stream without an
         * answer: say which it was. */
        char *info = NULL;
        jw_status known = jw_js_stream_info(js, obs->stream, &info);
        jw_free(info);
        if (known == JW_ESTREAM_NOT_FOUND)
            return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                            obs->bucket);
        return jw__fail(JW_ETIMEOUT, "no answer from bucket '%s' within "
                                     "%lld ms",
                        obs->bucket, (long long)js->timeout_ms);
    }
    if (st)
        return st;
    int code = jw_msg_status_code(m);
    if (code == 404) {
        jw_msg_free(m);
        return JW_EKEY_NOT_FOUND;
    }
    if (code) {
        jw_msg_free(m);
        return jw__fail(JW_EJETSTREAM, "direct get from '%s': status %d",
                        obs->stream, code);
    }
    *out = m;
    return JW_OK;
}

jw_status jw__obs_info(jw_obs *obs, const char *name, int show_deleted,
                       json_t **info)
{
    *info = NULL;
    char *subject = jw__obs_meta_subject(obs, name);
    if (!subject)
        return check_name(name) ? check_name(name) : JW_ENO_MEMORY;
    jw_msg *m = NULL;
    jw_status st = last_meta(obs, subject, &m);
    free(subject);
    if (st == JW_EKEY_NOT_FOUND)
        return jw__fail(st, "object '%s' not found in bucket '%s'", name,
                        obs->bucket);
    if (st)
        return st;
    json_t *j = json_loadb(jw_msg_data(m), jw_msg_data_len(m), 0, NULL);
    const char *stamp = NULL;
    jw_msg_header_get(m, "Nats-Time-Stamp", 0, &stamp);
    if (json_is_object(j) && stamp)
        json_object_set_new(j, "mtime", json_string(stamp));
    jw_msg_free(m);
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "name"))) {
        json_decref(j);
        return jw__fail(JW_EPROTOCOL, "object '%s' has a bad meta message",
                        name);
    }
    if (!show_deleted && json_is_true(json_object_get(j, "deleted"))) {
        json_decref(j);
        return jw__fail(JW_EKEY_NOT_FOUND, "object '%s' was deleted", name);
    }
    *info = j;
    return JW_OK;
}

jw_status jw_obs_info(jw_obs *obs, const char *name, int show_deleted,
                      char **info_json)
{
    if (info_json)
        *info_json = NULL;
    if (!obs || !info_json)
        return jw__fail(JW_EINVAL, "obs and info_json must not be NULL");
    json_t *info = NULL;
    jw_status st = jw__obs_info(obs, name, show_deleted, &info);
    if (st == JW_OK)
        st = jw__obs_info_out(info, info_json);
    json_decref(info);
    return st;
}

/* Write info as the meta of its name (rolled up, mtime not stored), then
 * set "mtime" to now for the caller. */
static jw_status publish_meta(jw_obs *obs, json_t *info)
{
    const char *name = json_string_value(json_object_get(info, "name"));
    char *subject = jw__obs_meta_subject(obs, name);
    if (!subject)
        return check_name(name) ? check_name(name) : JW_ENO_MEMORY;
    /* nats.go writes the zero time; readers take the server's. */
    json_object_set_new(info, "mtime", json_string("0001-01-01T00:00:00Z"));
    char *text = json_dumps(info, JSON_COMPACT);
    jw_msg *m = NULL;
    jw_js_pub_ack *ack = NULL;
    jw_status st = text ? jw_msg_new(subject, NULL, text, strlen(text), &m)
                        : jw__fail(JW_ENO_MEMORY, "out of memory");
    if (st == JW_OK)
        st = jw_msg_header_set(m, "Nats-Rollup", "sub");
    if (st == JW_OK)
        st = jw_js_publish_msg(obs->js, m, NULL, &ack);
    if (st == JW_ENO_RESPONDERS)
        st = jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                      obs->bucket);
    jw_js_pub_ack_free(ack);
    jw_msg_free(m);
    free(text);
    free(subject);
    char now[64];
    jw__time_text(jw__wall_ns(), now, sizeof now);
    json_object_set_new(info, "mtime", json_string(now));
    return st;
}

static void purge_subject(jw_obs *obs, const char *subject)
{
    /* Best effort: what is left over only takes room. */
    jw_js_stream_purge(obs->js, obs->stream, subject, 0, 0, NULL);
}

static void purge_chunks(jw_obs *obs, const char *nuid)
{
    if (!nuid || !*nuid)
        return;
    char subject[400];
    chunk_subject(obs, nuid, subject, sizeof subject);
    purge_subject(obs, subject);
}

/* ---- meta documents ---- */

/* headers: an object of strings or arrays of strings (as arrays);
 * metadata: an object of strings. */
static jw_status check_meta_fields(json_t *meta)
{
    json_t *v = json_object_get(meta, "description");
    if (v && !json_is_string(v) && !json_is_null(v))
        return jw__fail(JW_EINVAL, "description must be a string");
    v = json_object_get(meta, "metadata");
    const char *key;
    json_t *x;
    if (v && !json_is_null(v)) {
        if (!json_is_object(v))
            return jw__fail(JW_EINVAL, "metadata must be an object of "
                                       "strings");
        json_object_foreach(v, key, x) if (!json_is_string(x)) return jw__fail(
            JW_EINVAL, "metadata '%s' must be a string", key);
    }
    v = json_object_get(meta, "headers");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v))
            return jw__fail(JW_EINVAL, "headers must be an object");
        json_object_foreach(v, key, x)
        {
            if (json_is_string(x))
                json_object_set_new(v, key, json_pack("[O]", x));
            x = json_object_get(v, key);
            size_t i;
            json_t *s;
            int ok = json_is_array(x);
            json_array_foreach(x, i, s) ok = ok && json_is_string(s);
            if (!ok)
                return jw__fail(JW_EINVAL, "header '%s' must be a string or "
                                           "an array of strings",
                                key);
            /* Names and values by the rules of every message's headers
             * (no ':' or space in a name, no line break in a value). */
            json_array_foreach(x, i, s)
            {
                jw__hdr_builder b = {0};
                int st = jw__hdr_add(&b, key, json_string_value(s));
                jw__hdr_free(&b);
                if (st)
                    return (jw_status)st;
            }
        }
    }
    return JW_OK;
}

static jw_status parse_meta(const char *meta_json, json_t **out)
{
    *out = NULL;
    if (!meta_json)
        return jw__fail(JW_EINVAL, "meta_json is NULL");
    json_error_t jerr;
    json_t *meta = json_loads(meta_json, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(meta)) {
        json_decref(meta);
        return jw__fail(JW_EINVAL, "object meta must be a JSON object");
    }
    static const char *const known[] = {"name", "description", "headers",
                                        "metadata", "options", NULL};
    const char *key;
    json_t *v;
    json_object_foreach(meta, key, v)
    {
        int ok = 0;
        for (int i = 0; known[i] && !ok; i++)
            ok = strcmp(known[i], key) == 0;
        if (!ok) {
            jw_status st = jw__fail(JW_EINVAL, "unknown object meta field "
                                               "'%s'", key);
            json_decref(meta);
            return st;
        }
    }
    jw_status st = check_meta_fields(meta);
    if (st) {
        json_decref(meta);
        return st;
    }
    *out = meta;
    return JW_OK;
}

/* Copy description, headers and metadata of from into to (dropping those
 * from lacks or sets to null). */
static void take_meta(json_t *to, const json_t *from)
{
    static const char *const fields[] = {"description", "headers",
                                         "metadata", NULL};
    for (int i = 0; fields[i]; i++) {
        json_t *v = json_object_get(from, fields[i]);
        if (v && !json_is_null(v))
            json_object_set(to, fields[i], v);
        else
            json_object_del(to, fields[i]);
    }
}

/* ---- put ---- */

/* The acks of a put's chunks come to an inbox of its own, so that the
 * context's async publishes are not disturbed; at most window chunks wait
 * for their ack. */
typedef struct put_state {
    jw_obs *obs;
    jw_sub *acks;
    char inbox[64];
    size_t pending;
    size_t window;
} put_state;

static jw_status take_ack(put_state *p)
{
    jw_msg *m = NULL;
    jw_status st = jw_sub_next(p->acks, p->obs->js->timeout_ms, &m);
    if (st == JW_ETIMEOUT)
        return jw__fail(JW_ETIMEOUT, "no ack for a chunk within %lld ms",
                        (long long)p->obs->js->timeout_ms);
    if (st)
        return st;
    p->pending--;
    jw_js_pub_ack *ack = NULL;
    st = jw_js_pub_ack_parse(m, &ack);
    jw_js_pub_ack_free(ack);
    jw_msg_free(m);
    if (st == JW_ENO_RESPONDERS)
        return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                        p->obs->bucket);
    return st;
}

static jw_status drain_acks(put_state *p)
{
    jw_status st = JW_OK;
    while (p->pending) {
        jw_status s = take_ack(p);
        if (s == JW_ETIMEOUT || s == JW_ECONNECTION_CLOSED)
            return s;
        if (st == JW_OK)
            st = s;
    }
    return st;
}

/* Fill buf up to cap from read: the bytes got, 0 at the end, -1 when read
 * failed. */
static long fill(jw_obs_read_fn read, void *arg, unsigned char *buf,
                 size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        long n = read(arg, buf + got, cap - got);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (long)got;
}

/* Publish every chunk of read to subject; size, chunks and the SHA-256
 * come back. */
static jw_status send_chunks(put_state *p, const char *subject,
                             size_t chunk_size, jw_obs_read_fn read,
                             void *arg, uint64_t *size, uint64_t *chunks,
                             unsigned char sha[32])
{
    unsigned char *buf = malloc(chunk_size);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    jw_status st = buf && md ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of "
                                                               "memory");
    if (st == JW_OK && EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        st = jw__fail(JW_EIO, "SHA-256 is not available");
    while (st == JW_OK) {
        long n = fill(read, arg, buf, chunk_size);
        if (n < 0) {
            st = jw__fail(JW_EIO, "the object's reader failed");
            break;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)n);
        while (st == JW_OK && p->pending >= p->window)
            st = take_ack(p);
        if (st == JW_OK)
            st = jw_conn_publish_reply(p->obs->js->conn, subject, p->inbox,
                                       buf, (size_t)n);
        if (st == JW_OK) {
            p->pending++;
            *size += (uint64_t)n;
            (*chunks)++;
        }
        if ((size_t)n < chunk_size)
            break;
    }
    unsigned int len = 0;
    if (st == JW_OK && EVP_DigestFinal_ex(md, sha, &len) != 1)
        st = jw__fail(JW_EIO, "SHA-256 failed");
    EVP_MD_CTX_free(md);
    free(buf);
    jw_status acked = drain_acks(p);
    return st ? st : acked;
}

static jw_status chunk_size_of(const json_t *meta, size_t *size)
{
    const json_t *options = json_object_get(meta, "options");
    *size = OBS_DEFAULT_CHUNK;
    if (!options || json_is_null(options))
        return JW_OK;
    if (!json_is_object(options))
        return jw__fail(JW_EINVAL, "options must be an object");
    if (json_object_get(options, "link"))
        return jw__fail(JW_EINVAL, "a put cannot make a link: use "
                                   "jw_obs_add_link");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)options, key, v)
    {
        if (strcmp(key, "max_chunk_size") != 0)
            return jw__fail(JW_EINVAL, "unknown object option '%s'", key);
        json_int_t n = json_integer_value(v);
        if (!json_is_integer(v) || n < 0 || n > 64 * 1024 * 1024)
            return jw__fail(JW_EINVAL, "max_chunk_size must be 1 to 64 MiB");
        if (n)
            *size = (size_t)n;
    }
    return JW_OK;
}

jw_status jw_obs_put_stream(jw_obs *obs, const char *meta_json,
                            jw_obs_read_fn read, void *arg, char **info_json)
{
    if (info_json)
        *info_json = NULL;
    if (!obs || !read)
        return jw__fail(JW_EINVAL, "obs and read must not be NULL");
    json_t *meta = NULL;
    jw_status st = parse_meta(meta_json, &meta);
    const char *name = st ? NULL
                          : json_string_value(json_object_get(meta, "name"));
    size_t chunk_size = 0;
    if (st == JW_OK)
        st = check_name(name);
    if (st == JW_OK)
        st = chunk_size_of(meta, &chunk_size);
    /* The object it replaces, whose chunks go once this one is stored. */
    json_t *old = NULL;
    if (st == JW_OK) {
        st = jw__obs_info(obs, name, 1, &old);
        if (st == JW_EKEY_NOT_FOUND)
            st = JW_OK;
    }
    char nuid[23], subject[400];
    if (st == JW_OK)
        st = new_nuid(nuid);
    put_state p = {obs, NULL, "", 0, 0};
    p.window = chunk_size ? (8u << 20) / chunk_size : 2;
    p.window = p.window < 2 ? 2 : p.window > 128 ? 128 : p.window;
    if (st == JW_OK)
        st = jw_conn_new_inbox(obs->js->conn, p.inbox, sizeof p.inbox);
    if (st == JW_OK)
        st = jw_conn_subscribe(obs->js->conn, p.inbox, NULL, &p.acks);
    uint64_t size = 0, chunks = 0;
    unsigned char sha[32];
    int sent = 0;
    if (st == JW_OK) {
        chunk_subject(obs, nuid, subject, sizeof subject);
        sent = 1;
        st = send_chunks(&p, subject, chunk_size, read, arg, &size, &chunks,
                         sha);
    }
    jw_sub_free(p.acks);
    json_t *info = NULL;
    if (st == JW_OK) {
        char *digest = jw__obs_b64url(sha, 32);
        char text[64];
        snprintf(text, sizeof text, "SHA-256=%s", digest ? digest : "");
        free(digest);
        info = json_pack("{ss ss ss sI sI ss s{sI}}", "name", name, "bucket",
                         obs->bucket, "nuid", nuid, "size", (json_int_t)size,
                         "chunks", (json_int_t)chunks, "digest", text,
                         "options", "max_chunk_size",
                         (json_int_t)chunk_size);
        if (info)
            take_meta(info, meta);
        st = info ? publish_meta(obs, info)
                  : jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    if (st && sent) {
        /* Nothing visible was written: take back what was. */
        char *keep = strdup(jw_last_error());
        purge_subject(obs, subject);
        if (keep)
            jw__fail(st, "%s", keep);
        free(keep);
    }
    if (st == JW_OK && old && !json_is_true(json_object_get(old, "deleted")))
        purge_chunks(obs, json_string_value(json_object_get(old, "nuid")));
    if (st == JW_OK && info_json)
        st = jw__obs_info_out(info, info_json);
    json_decref(old);
    json_decref(info);
    json_decref(meta);
    return st;
}

typedef struct bytes_source {
    const unsigned char *data;
    size_t len, at;
} bytes_source;

static long read_bytes(void *arg, void *buf, size_t cap)
{
    bytes_source *s = arg;
    size_t n = s->len - s->at < cap ? s->len - s->at : cap;
    if (n)
        memcpy(buf, s->data + s->at, n);
    s->at += n;
    return (long)n;
}

jw_status jw_obs_put(jw_obs *obs, const char *meta_json, const void *data,
                     size_t len, char **info_json)
{
    if (info_json)
        *info_json = NULL;
    if (!obs || (len && !data))
        return jw__fail(JW_EINVAL, "obs is NULL or data is NULL");
    bytes_source s = {data, len, 0};
    return jw_obs_put_stream(obs, meta_json, read_bytes, &s, info_json);
}

/* ---- delete, meta, links ---- */

jw_status jw_obs_delete(jw_obs *obs, const char *name)
{
    if (!obs)
        return jw__fail(JW_EINVAL, "obs is NULL");
    json_t *info = NULL;
    jw_status st = jw__obs_info(obs, name, 1, &info);
    if (st)
        return st;
    char *nuid = strdup(json_string_value(json_object_get(info, "nuid"))
                            ? json_string_value(json_object_get(info, "nuid"))
                            : "");
    json_object_set_new(info, "deleted", json_true());
    json_object_set_new(info, "size", json_integer(0));
    json_object_set_new(info, "chunks", json_integer(0));
    json_object_del(info, "digest");
    st = nuid ? publish_meta(obs, info)
              : jw__fail(JW_ENO_MEMORY, "out of memory");
    if (st == JW_OK)
        purge_chunks(obs, nuid);
    free(nuid);
    json_decref(info);
    return st;
}

jw_status jw_obs_update_meta(jw_obs *obs, const char *name,
                             const char *meta_json)
{
    if (!obs)
        return jw__fail(JW_EINVAL, "obs is NULL");
    json_t *meta = NULL, *info = NULL, *other = NULL;
    jw_status st = check_name(name);
    if (st == JW_OK)
        st = parse_meta(meta_json, &meta);
    if (st == JW_OK && json_object_get(meta, "options"))
        st = jw__fail(JW_EINVAL, "options cannot be updated");
    const char *to = st ? NULL
                        : json_string_value(json_object_get(meta, "name"));
    if (st == JW_OK && !to)
        to = name;
    if (st == JW_OK)
        st = check_name(to);
    if (st == JW_OK)
        st = jw__obs_info(obs, name, 0, &info);
    int renamed = st == JW_OK && strcmp(to, name) != 0;
    if (renamed) {
        st = jw__obs_info(obs, to, 0, &other);
        st = st == JW_OK ? jw__fail(JW_EKEY_EXISTS, "object '%s' exists", to)
             : st == JW_EKEY_NOT_FOUND ? JW_OK
                                       : st;
    }
    if (st == JW_OK) {
        json_object_set_new(info, "name", json_string(to));
        take_meta(info, meta);
        st = publish_meta(obs, info);
    }
    if (st == JW_OK && renamed) {
        char *old = jw__obs_meta_subject(obs, name);
        if (old)
            purge_subject(obs, old);
        free(old);
    }
    json_decref(other);
    json_decref(info);
    json_decref(meta);
    return st;
}

/* A link may take the place of nothing, a deleted object or another
 * link, not of a live object. */
static jw_status link_place_free(jw_obs *obs, const char *name)
{
    json_t *info = NULL;
    jw_status st = jw__obs_info(obs, name, 1, &info);
    if (st == JW_EKEY_NOT_FOUND)
        return JW_OK;
    if (st == JW_OK && !jw__obs_link(info) &&
        !json_is_true(json_object_get(info, "deleted")))
        st = jw__fail(JW_EKEY_EXISTS, "object '%s' exists", name);
    json_decref(info);
    return st;
}

static jw_status put_link(jw_obs *obs, const char *name, json_t *link,
                          char **info_json)
{
    char nuid[23];
    jw_status st = link ? new_nuid(nuid)
                        : jw__fail(JW_ENO_MEMORY, "out of memory");
    json_t *info = NULL;
    if (st == JW_OK) {
        info = json_pack("{ss ss ss si si s{sO}}", "name", name, "bucket",
                         obs->bucket, "nuid", nuid, "size", 0, "chunks", 0,
                         "options", "link", link);
        st = info ? publish_meta(obs, info)
                  : jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    if (st == JW_OK && info_json)
        st = jw__obs_info_out(info, info_json);
    json_decref(info);
    json_decref(link);
    return st;
}

jw_status jw_obs_add_link(jw_obs *obs, const char *name, jw_obs *target,
                          const char *target_name, char **info_json)
{
    if (info_json)
        *info_json = NULL;
    if (!obs || !target)
        return jw__fail(JW_EINVAL, "obs and target must not be NULL");
    jw_status st = check_name(name);
    json_t *info = NULL;
    if (st == JW_OK)
        st = jw__obs_info(target, target_name, 0, &info);
    if (st == JW_OK && jw__obs_link(info))
        st = jw__fail(JW_EINVAL, "'%s' is a link: a link cannot point to a "
                                 "link",
                      target_name);
    json_decref(info);
    if (st == JW_OK)
        st = link_place_free(obs, name);
    return st ? st
              : put_link(obs, name,
                         json_pack("{ssss}", "bucket", target->bucket, "name",
                                   target_name),
                         info_json);
}

jw_status jw_obs_add_bucket_link(jw_obs *obs, const char *name,
                                 jw_obs *target, char **info_json)
{
    if (info_json)
        *info_json = NULL;
    if (!obs || !target)
        return jw__fail(JW_EINVAL, "obs and target must not be NULL");
    jw_status st = check_name(name);
    if (st == JW_OK)
        st = link_place_free(obs, name);
    return st ? st
              : put_link(obs, name,
                         json_pack("{ss}", "bucket", target->bucket),
                         info_json);
}
