/*
 * JetStream management: streams (create, update, info, delete, purge,
 * names and lists, stored messages) and consumers (create, update, info,
 * delete, names and lists).
 */
#include "js.h"
#include "subject.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static jw_status check_js(jw_js *js, char **out)
{
    if (out)
        *out = NULL;
    if (!js)
        return jw__fail(JW_EINVAL, "js is NULL");
    return JW_OK;
}

/* Request with a JSON body (NULL: empty) and dump the info reply; level
 * > 0 is the API level the request needs (jw__js_api_at). */
static jw_status api_info(jw_js *js, int kind, const char *suffix,
                          json_t *body, int level, char **out)
{
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text)
            return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    json_t *reply;
    jw_status st = jw__js_api_at(js, suffix, text, level, &reply);
    free(text);
    if (st)
        return st;
    st = jw__js_info_out(js, kind, reply, out);
    json_decref(reply);
    return st;
}

/* A request whose reply only says {"success":true}. */
static jw_status api_success(jw_js *js, const char *suffix, json_t *body,
                             json_t **reply_out)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    json_t *reply;
    jw_status st = jw__js_api(js, suffix, text, &reply);
    free(text);
    if (st)
        return st;
    if (!json_is_true(json_object_get(reply, "success"))) {
        json_decref(reply);
        return jw__fail(JW_EJETSTREAM, "%s did not succeed", suffix);
    }
    if (reply_out)
        *reply_out = reply;
    else
        json_decref(reply);
    return JW_OK;
}

/* ---- streams ---- */

enum { CREATE = JW__JS_CREATE, UPDATE = JW__JS_UPDATE };

static jw_status stream_put_once(jw_js *js, int mode, json_t *cfg,
                                 char **info)
{
    const char *name = json_string_value(json_object_get(cfg, "name"));
    char suffix[300];
    jw_status st = JW_OK;
    if (!name)
        st = jw__fail(JW_EINVAL, "stream configuration needs a \"name\"");
    else if ((st = jw__js_check_name("stream", name)) == JW_OK)
        snprintf(suffix, sizeof suffix, "STREAM.%s.%s",
                 mode == CREATE ? "CREATE" : "UPDATE", name);
    if (st == JW_OK)
        st = api_info(js, JW__JS_STREAM, suffix, cfg,
                      jw__js_config_level(JW__JS_STREAM, cfg), info);
    return st;
}

jw_status jw__js_stream_put(jw_js *js, int mode, json_t *cfg, char **info)
{
    if (mode != (CREATE | UPDATE))
        return stream_put_once(js, mode, cfg, info);
    jw_status st = stream_put_once(js, CREATE, cfg, info);
    /* 10058: the stream exists with another configuration. */
    if (st == JW_EJETSTREAM && jw_js_last_err_code() == 10058)
        st = stream_put_once(js, UPDATE, cfg, info);
    return st;
}

static jw_status stream_put(jw_js *js, int mode, const char *config,
                            char **info)
{
    jw_status st = check_js(js, info);
    if (st)
        return st;
    json_t *cfg;
    st = jw__js_config_to_wire(js, JW__JS_STREAM, config, &cfg);
    if (st)
        return st;
    st = jw__js_stream_put(js, mode, cfg, info);
    json_decref(cfg);
    return st;
}

jw_status jw_js_stream_create(jw_js *js, const char *config, char **info)
{
    return stream_put(js, CREATE, config, info);
}

jw_status jw_js_stream_update(jw_js *js, const char *config, char **info)
{
    return stream_put(js, UPDATE, config, info);
}

jw_status jw_js_stream_create_or_update(jw_js *js, const char *config,
                                        char **info)
{
    return stream_put(js, CREATE | UPDATE, config, info);
}

/* "<verb>.<stream>" after checking the name. */
static jw_status stream_suffix(const char *verb, const char *stream,
                               char *buf, size_t size)
{
    jw_status st = jw__js_check_name("stream", stream);
    if (st == JW_OK)
        snprintf(buf, size, "%s.%s", verb, stream);
    return st;
}

jw_status jw_js_stream_info(jw_js *js, const char *stream, char **info)
{
    char suffix[300];
    jw_status st = check_js(js, info);
    if (st == JW_OK && !info)
        st = jw__fail(JW_EINVAL, "info_json is NULL");
    if (st == JW_OK)
        st = stream_suffix("STREAM.INFO", stream, suffix, sizeof suffix);
    return st ? st : api_info(js, JW__JS_STREAM, suffix, NULL, 0, info);
}

jw_status jw_js_stream_delete(jw_js *js, const char *stream)
{
    char suffix[300];
    jw_status st = check_js(js, NULL);
    if (st == JW_OK)
        st = stream_suffix("STREAM.DELETE", stream, suffix, sizeof suffix);
    return st ? st : api_success(js, suffix, NULL, NULL);
}

jw_status jw_js_stream_purge(jw_js *js, const char *stream,
                             const char *filter, uint64_t seq, uint64_t keep,
                             uint64_t *purged)
{
    if (purged)
        *purged = 0;
    char suffix[300];
    jw_status st = check_js(js, NULL);
    if (st == JW_OK)
        st = stream_suffix("STREAM.PURGE", stream, suffix, sizeof suffix);
    if (st == JW_OK && seq && keep)
        st = jw__fail(JW_EINVAL, "purge takes seq or keep, not both");
    if (st == JW_OK && filter)
        st = jw__subject_check(filter, strlen(filter), 1);
    if (st)
        return st;
    json_t *body = json_object();
    if (filter)
        json_object_set_new(body, "filter", json_string(filter));
    if (seq)
        json_object_set_new(body, "seq", json_integer((json_int_t)seq));
    if (keep)
        json_object_set_new(body, "keep", json_integer((json_int_t)keep));
    json_t *reply = NULL;
    st = api_success(js, suffix, json_object_size(body) ? body : NULL,
                     &reply);
    json_decref(body);
    if (st == JW_OK && purged)
        *purged = (uint64_t)json_integer_value(json_object_get(reply,
                                                               "purged"));
    json_decref(reply);
    return st;
}

/* Collect every page of a names/list API into one JSON array. */
static jw_status paged(jw_js *js, const char *suffix, const char *key,
                       const char *subject, int info_kind, char **out)
{
    json_t *all = json_array();
    jw_status st = all ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
    json_int_t offset = 0;
    while (st == JW_OK) {
        json_t *body = json_pack("{sI}", "offset", offset);
        if (subject)
            json_object_set_new(body, "subject", json_string(subject));
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        json_t *reply;
        st = jw__js_api(js, suffix, text, &reply);
        free(text);
        if (st)
            break;
        json_t *page = json_object_get(reply, key);
        size_t n = json_is_array(page) ? json_array_size(page) : 0;
        for (size_t i = 0; i < n; i++) {
            json_t *item = json_array_get(page, i);
            if (info_kind)
                jw__js_config_from_wire(js, info_kind,
                                        json_object_get(item, "config"));
            json_array_append(all, item);
        }
        json_int_t total = json_integer_value(json_object_get(reply, "total"));
        json_decref(reply);
        offset += (json_int_t)n;
        if (n == 0 || offset >= total)
            break;
    }
    if (st == JW_OK) {
        *out = json_dumps(all, JSON_COMPACT);
        if (!*out)
            st = jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    json_decref(all);
    return st;
}

static jw_status stream_paged(jw_js *js, const char *subject, int list,
                              char **out)
{
    jw_status st = check_js(js, out);
    if (st == JW_OK && !out)
        st = jw__fail(JW_EINVAL, "out is NULL");
    if (st == JW_OK && subject)
        st = jw__subject_check(subject, strlen(subject), 1);
    if (st)
        return st;
    return paged(js, list ? "STREAM.LIST" : "STREAM.NAMES", "streams",
                 subject, list ? JW__JS_STREAM : 0, out);
}

jw_status jw_js_stream_names(jw_js *js, const char *subject, char **names)
{
    return stream_paged(js, subject, 0, names);
}

jw_status jw_js_stream_list(jw_js *js, const char *subject, char **infos)
{
    return stream_paged(js, subject, 1, infos);
}

jw_status jw__js_bucket_status(jw_js *js, const char *stream,
                               const char *bucket, jw__stream_each status,
                               char **out)
{
    char *text = NULL;
    jw_status st = jw_js_stream_info(js, stream, &text);
    if (st == JW_ESTREAM_NOT_FOUND)
        return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                        bucket);
    if (st)
        return st;
    json_t *info = json_loads(text, 0, NULL);
    jw_free(text);
    json_t *doc = status(bucket, info);
    json_decref(info);
    *out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return *out ? JW_OK : jw__fail(JW_EJETSTREAM, "unexpected stream info");
}

jw_status jw__js_prefixed_streams(jw_js *js, const char *subject,
                                  const char *prefix, jw__stream_each each,
                                  char **out)
{
    if (out)
        *out = NULL;
    if (!js || !out)
        return jw__fail(JW_EINVAL, "js and the output must not be NULL");
    char *text = NULL;
    jw_status st = stream_paged(js, subject, each != NULL, &text);
    if (st)
        return st;
    json_t *all = json_loads(text, 0, NULL);
    jw_free(text);
    json_t *items = json_array();
    size_t n = strlen(prefix), i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        const char *stream = json_string_value(
            each ? json_object_get(json_object_get(v, "config"), "name") : v);
        if (!stream || strncmp(stream, prefix, n) != 0)
            continue;
        json_t *item = each ? each(stream + n, v)
                            : json_string(stream + n);
        if (item)
            json_array_append_new(items, item);
    }
    json_decref(all);
    *out = items ? json_dumps(items, JSON_COMPACT) : NULL;
    json_decref(items);
    return *out ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
}

/* ---- stored messages ---- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 with padding into out (room for len*3/4 bytes). */
static int b64_decode(const char *in, size_t len, char *out, size_t *out_len)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '=')
            break;
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    *out_len = n;
    return 0;
}

/* A received-style message with the stored subject, headers and data. */
static jw_status make_msg(jw_conn *conn, const char *subject,
                          const char *hdr, size_t hdr_len, const char *data,
                          size_t data_len, jw_msg **out)
{
    jw__proto_event ev = {.subject = subject,
                          .subject_len = strlen(subject),
                          .hdr = hdr_len ? hdr : NULL,
                          .hdr_len = hdr_len,
                          .data = data,
                          .data_len = data_len};
    *out = jw__msg_from_event(&ev, conn);
    return *out ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
}

/* STREAM.MSG.GET reply {"message":{subject,seq,hdrs,data,time}} to a
 * message carrying the same headers a direct get adds. */
static jw_status msg_from_get(jw_js *js, const char *stream, json_t *reply,
                              jw_msg **out)
{
    json_t *m = json_object_get(reply, "message");
    const char *subject = json_string_value(json_object_get(m, "subject"));
    const char *hdrs = json_string_value(json_object_get(m, "hdrs"));
    const char *data = json_string_value(json_object_get(m, "data"));
    const char *time = json_string_value(json_object_get(m, "time"));
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
    if (!subject)
        return jw__fail(JW_EPROTOCOL, "message get reply without a subject");
    size_t hl = hdrs ? strlen(hdrs) : 0, dl = data ? strlen(data) : 0;
    size_t extra = 128 + strlen(stream) + strlen(subject) +
                   (time ? strlen(time) : 0);
    char *hbuf = malloc(hl + extra + 16), *dbuf = malloc(dl + 1);
    jw_status st = JW_OK;
    size_t hn = 0, dn = 0;
    if (!hbuf || !dbuf)
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    else if (b64_decode(hdrs ? hdrs : "", hl, hbuf, &hn) ||
             b64_decode(data ? data : "", dl, dbuf, &dn))
        st = jw__fail(JW_EPROTOCOL, "message get reply has bad base64");
    if (st == JW_OK) {
        /* Drop the stored block's closing blank line, then add ours. */
        if (hn >= 4 && memcmp(hbuf + hn - 4, "\r\n\r\n", 4) == 0)
            hn -= 2;
        else if (hn == 0) {
            memcpy(hbuf, "NATS/1.0\r\n", 10);
            hn = 10;
        }
        hn += (size_t)snprintf(hbuf + hn, extra,
                               "Nats-Stream: %s\r\nNats-Subject: %s\r\n"
                               "Nats-Sequence: %llu\r\nNats-Time-Stamp: "
                               "%s\r\n\r\n",
                               stream, subject, (unsigned long long)seq,
                               time ? time : "");
        st = make_msg(js->conn, subject, hbuf, hn, dbuf, dn, out);
    }
    free(hbuf);
    free(dbuf);
    return st;
}

static jw_status not_found(const char *stream, const char *what)
{
    jw__fail(JW_EJETSTREAM, "no message found in stream '%s' for %s",
             stream, what);
    jw__js_set_err_code(10037);
    return JW_EJETSTREAM;
}

static jw_status msg_get(jw_js *js, const char *stream, json_t *body,
                         jw_msg **out)
{
    char suffix[300];
    jw_status st = stream_suffix("STREAM.MSG.GET", stream, suffix,
                                 sizeof suffix);
    if (st)
        return st;
    char *text = json_dumps(body, JSON_COMPACT);
    json_t *reply;
    st = jw__js_api(js, suffix, text, &reply);
    free(text);
    if (st)
        return st;
    st = msg_from_get(js, stream, reply, out);
    json_decref(reply);
    return st;
}

jw_status jw_js_stream_get_msg(jw_js *js, const char *stream, uint64_t seq,
                               jw_msg **msg)
{
    if (msg)
        *msg = NULL;
    if (!js || !msg)
        return jw__fail(JW_EINVAL, "js and msg must not be NULL");
    json_t *body = json_pack("{sI}", "seq", (json_int_t)seq);
    jw_status st = msg_get(js, stream, body, msg);
    json_decref(body);
    return st;
}

/* DIRECT.GET.<stream>.<subject> with an empty body. */
static jw_status direct_get_last(jw_js *js, const char *stream,
                                 const char *subject, jw_msg **out)
{
    char full[600];
    int n = snprintf(full, sizeof full, "%s.DIRECT.GET.%s.%s", js->prefix,
                     stream, subject);
    if (n < 0 || (size_t)n >= sizeof full)
        return jw__fail(JW_EINVAL, "subject is too long for a direct get");
    jw_msg *reply = NULL;
    jw_status st = jw_conn_request(js->conn, full, NULL, 0, js->timeout_ms,
                                   &reply);
    if (st)
        return st;
    int code = jw_msg_status_code(reply);
    const char *stored = NULL;
    if (code == 404) {
        st = not_found(stream, subject);
    } else if (code) {
        st = jw__fail(JW_EJETSTREAM, "direct get from '%s' answered status "
                                     "%d", stream, code);
    } else if (jw_msg_header_get(reply, "Nats-Subject", 0, &stored)) {
        st = jw__fail(JW_EPROTOCOL, "direct get reply without Nats-Subject");
    } else {
        size_t hl;
        const char *hdr = jw_msg_headers_raw(reply, &hl);
        st = make_msg(js->conn, stored, hdr, hl, jw_msg_data(reply),
                      jw_msg_data_len(reply), out);
    }
    jw_msg_free(reply);
    return st;
}

jw_status jw_js_stream_get_last_msg(jw_js *js, const char *stream,
                                    const char *subject, jw_msg **msg)
{
    if (msg)
        *msg = NULL;
    if (!js || !msg || !subject)
        return jw__fail(JW_EINVAL, "js, subject and msg must not be NULL");
    jw_status st = jw__subject_check(subject, strlen(subject), 0);
    char suffix[300];
    if (st == JW_OK)
        st = stream_suffix("STREAM.INFO", stream, suffix, sizeof suffix);
    json_t *info = NULL;
    if (st == JW_OK)
        st = jw__js_api(js, suffix, NULL, &info);
    if (st)
        return st;
    int direct = json_is_true(json_object_get(
        json_object_get(info, "config"), "allow_direct"));
    json_decref(info);
    if (direct && (st = jw__js_require(js, 20900, "direct get")) == JW_OK)
        return direct_get_last(js, stream, subject, msg);
    json_t *body = json_pack("{ss}", "last_by_subj", subject);
    st = msg_get(js, stream, body, msg);
    json_decref(body);
    return st;
}

jw_status jw_js_stream_delete_msg(jw_js *js, const char *stream, uint64_t seq,
                                  int erase)
{
    char suffix[300];
    jw_status st = check_js(js, NULL);
    if (st == JW_OK)
        st = stream_suffix("STREAM.MSG.DELETE", stream, suffix, sizeof suffix);
    if (st)
        return st;
    json_t *body = json_pack("{sIsb}", "seq", (json_int_t)seq, "no_erase",
                             !erase);
    st = api_success(js, suffix, body, NULL);
    json_decref(body);
    return st;
}

/* ---- consumers ---- */

static jw_status new_handle(jw_js *js, const char *stream, const char *name,
                            jw_consumer **out)
{
    jw_consumer *c = calloc(1, sizeof(*c));
    if (c) {
        atomic_init(&c->refs, 1);
        pthread_mutex_init(&c->pin_mu, NULL);
        c->js = js;
        jw__js_ref(js);
        c->stream = strdup(stream);
        c->name = strdup(name);
    }
    if (!c || !c->stream || !c->name) {
        jw_consumer_free(c);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    *out = c;
    return JW_OK;
}

void jw__consumer_ref(jw_consumer *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void jw__consumer_release(jw_consumer *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    jw__js_release(c->js);
    pthread_mutex_destroy(&c->pin_mu);
    free(c->stream);
    free(c->name);
    free(c);
}

void jw_consumer_free(jw_consumer *c)
{
    if (c)
        jw__consumer_release(c);
}

const char *jw_consumer_name(const jw_consumer *c)
{
    return c ? c->name : NULL;
}

const char *jw_consumer_stream(const jw_consumer *c)
{
    return c ? c->stream : NULL;
}

static jw_status consumer_suffix(const char *verb, const char *stream,
                                 const char *name, char *buf, size_t size)
{
    jw_status st = jw__js_check_name("stream", stream);
    if (st == JW_OK)
        st = jw__js_check_name("consumer", name);
    if (st == JW_OK)
        snprintf(buf, size, "%s.%s.%s", verb, stream, name);
    return st;
}

jw_status jw__js_consumer_wire_info(jw_js *js, const char *stream,
                                    const char *name, json_t **info)
{
    *info = NULL;
    char suffix[600];
    jw_status st = consumer_suffix("CONSUMER.INFO", stream, name, suffix,
                                   sizeof suffix);
    return st ? st : jw__js_api(js, suffix, NULL, info);
}

jw_status jw__js_consumer_exists(jw_js *js, const char *stream,
                                 const char *name)
{
    json_t *reply = NULL;
    jw_status st = jw__js_consumer_wire_info(js, stream, name, &reply);
    json_decref(reply);
    return st;
}

static int has_wildcard(const char *subject)
{
    for (const char *p = subject; *p; p++)
        if ((*p == '*' || *p == '>') && (p == subject || p[-1] == '.') &&
            (p[1] == 0 || p[1] == '.'))
            return 1;
    return 0;
}

/* The create subject: the named form on 2.9.0+, with the filter appended
 * when it is a literal subject; the durable or ephemeral forms before. */
static jw_status create_suffix(jw_js *js, const char *stream,
                               const char *name, const char *durable,
                               const char *filter, char *buf, size_t size)
{
    int named = js->version == 0 || js->version >= 20900;
    int n;
    if (name && named && filter && !has_wildcard(filter))
        n = snprintf(buf, size, "CONSUMER.CREATE.%s.%s.%s", stream, name,
                     filter);
    else if (name && named)
        n = snprintf(buf, size, "CONSUMER.CREATE.%s.%s", stream, name);
    else if (durable)
        n = snprintf(buf, size, "CONSUMER.DURABLE.CREATE.%s.%s", stream,
                     durable);
    else if (name)
        return jw__js_require(js, 20900, "a named ephemeral consumer");
    else
        n = snprintf(buf, size, "CONSUMER.CREATE.%s", stream);
    if (n < 0 || (size_t)n >= size)
        return jw__fail(JW_EINVAL, "consumer create subject is too long");
    return JW_OK;
}

/* What a 2.10 server's create and update actions do, for a 2.9 server:
 * update needs the consumer (10149 as 2.10 says it), create refuses one
 * that exists (10148) unless every field of cfg has the same value there,
 * and then *alike is set and nothing need be sent. 2.10 compares the whole
 * configuration with its defaults filled in; this compares the fields the
 * caller gave (docs/jetstream.md). */
static jw_status emulate_action(jw_js *js, int mode, const char *stream,
                                const char *name, const json_t *cfg,
                                int *alike)
{
    char suffix[600];
    jw_status st = consumer_suffix("CONSUMER.INFO", stream, name, suffix,
                                   sizeof suffix);
    json_t *info = NULL;
    if (st == JW_OK)
        st = jw__js_api(js, suffix, NULL, &info);
    if (st == JW_ECONSUMER_NOT_FOUND) {
        if (mode == CREATE)
            return JW_OK;
        jw__fail(st, "consumer '%s' does not exist on stream '%s'", name,
                 stream);
        jw__js_set_err_code(10149);
        return st;
    }
    if (st || mode == UPDATE) {
        json_decref(info);
        return st;
    }
    const json_t *have = json_object_get(info, "config");
    /* With a backoff, the server's ack_wait is its first step. */
    const json_t *step = json_array_get(json_object_get(cfg, "backoff"), 0);
    const char *key;
    json_t *want;
    int same = 1;
    json_object_foreach((json_t *)cfg, key, want)
        same = same && json_equal(step && strcmp(key, "ack_wait") == 0
                                      ? step : want,
                                  json_object_get(have, key));
    json_decref(info);
    if (same) {
        *alike = 1;
        return JW_OK;
    }
    jw__fail(JW_EJETSTREAM, "consumer '%s' already exists on stream '%s' "
                            "with another configuration", name, stream);
    jw__js_set_err_code(10148);
    return JW_EJETSTREAM;
}

static jw_status consumer_put(jw_js *js, int mode, const char *stream,
                              const char *config, jw_consumer **out,
                              uint64_t *num_pending)
{
    if (out)
        *out = NULL;
    if (num_pending)
        *num_pending = 0;
    if (!js)
        return jw__fail(JW_EINVAL, "js is NULL");
    jw_status st = jw__js_check_name("stream", stream);
    json_t *cfg = NULL;
    if (st == JW_OK)
        st = jw__js_config_to_wire(js, JW__JS_CONSUMER, config, &cfg);
    if (st)
        return st;
    const char *durable =
        json_string_value(json_object_get(cfg, "durable_name"));
    const char *name = json_string_value(json_object_get(cfg, "name"));
    const char *filter =
        json_string_value(json_object_get(cfg, "filter_subject"));
    if (durable && name && strcmp(durable, name) != 0)
        st = jw__fail(JW_EINVAL, "consumer durable_name '%s' and name '%s' "
                                 "differ", durable, name);
    if (!name)
        name = durable;
    if (st == JW_OK && name)
        st = jw__js_check_name("consumer", name);
    if (st == JW_OK && mode != (CREATE | UPDATE) && !name)
        st = mode == UPDATE
                 ? jw__fail(JW_EINVAL, "consumer update needs a "
                                       "durable_name or name")
                 : JW_OK;
    if (st == JW_OK && !json_object_get(cfg, "ack_policy"))
        json_object_set_new(cfg, "ack_policy", json_string("explicit"));
    /* 2.10 added the create and update actions; before, ask first. */
    int action = js->version == 0 || js->version >= 21000;
    int exists_alike = 0;
    if (st == JW_OK && name && mode != (CREATE | UPDATE) && !action)
        st = emulate_action(js, mode, stream, name, cfg, &exists_alike);
    if (st == JW_OK && exists_alike) {
        st = out ? new_handle(js, stream, name, out) : JW_OK;
        json_decref(cfg);
        return st;
    }
    char suffix[1024];
    if (st == JW_OK)
        st = create_suffix(js, stream, name, durable, filter, suffix,
                           sizeof suffix);
    json_t *reply = NULL;
    if (st == JW_OK) {
        json_t *body = json_pack("{sssO}", "stream_name", stream, "config",
                                 cfg);
        if (action && mode != (CREATE | UPDATE))
            json_object_set_new(body, "action", json_string(
                                    mode == CREATE ? "create" : "update"));
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        st = jw__js_api_at(js, suffix, text,
                           jw__js_config_level(JW__JS_CONSUMER, cfg), &reply);
        free(text);
    }
    json_decref(cfg);
    if (st == JW_OK && out) {
        const char *made = json_string_value(json_object_get(reply, "name"));
        st = made ? new_handle(js, stream, made, out)
                  : jw__fail(JW_EPROTOCOL, "consumer create reply has no "
                                           "name");
    }
    if (st == JW_OK && num_pending) {
        json_int_t n = json_integer_value(json_object_get(reply,
                                                          "num_pending"));
        *num_pending = n > 0 ? (uint64_t)n : 0;
    }
    json_decref(reply);
    return st;
}

jw_status jw_js_consumer_create(jw_js *js, const char *stream,
                                const char *config, jw_consumer **out)
{
    return consumer_put(js, CREATE, stream, config, out, NULL);
}

jw_status jw__js_consumer_create_pending(jw_js *js, const char *stream,
                                        const char *config,
                                        jw_consumer **out,
                                        uint64_t *num_pending)
{
    return consumer_put(js, CREATE, stream, config, out, num_pending);
}

jw_status jw_js_consumer_update(jw_js *js, const char *stream,
                                const char *config, jw_consumer **out)
{
    return consumer_put(js, UPDATE, stream, config, out, NULL);
}

jw_status jw_js_consumer_create_or_update(jw_js *js, const char *stream,
                                          const char *config,
                                          jw_consumer **out)
{
    return consumer_put(js, CREATE | UPDATE, stream, config, out, NULL);
}

jw_status jw_js_consumer_get(jw_js *js, const char *stream, const char *name,
                             jw_consumer **out)
{
    if (out)
        *out = NULL;
    if (!js || !out)
        return jw__fail(JW_EINVAL, "js and out must not be NULL");
    jw_status st = jw__js_consumer_exists(js, stream, name);
    return st ? st : new_handle(js, stream, name, out);
}

jw_status jw_js_consumer_info(jw_js *js, const char *stream, const char *name,
                              char **info)
{
    char suffix[600];
    jw_status st = check_js(js, info);
    if (st == JW_OK && !info)
        st = jw__fail(JW_EINVAL, "info_json is NULL");
    if (st == JW_OK)
        st = consumer_suffix("CONSUMER.INFO", stream, name, suffix,
                             sizeof suffix);
    return st ? st : api_info(js, JW__JS_CONSUMER, suffix, NULL, 0, info);
}

jw_status jw_consumer_info(jw_consumer *c, char **info)
{
    if (!c) {
        if (info)
            *info = NULL;
        return jw__fail(JW_EINVAL, "consumer is NULL");
    }
    return jw_js_consumer_info(c->js, c->stream, c->name, info);
}

jw_status jw_js_consumer_delete(jw_js *js, const char *stream,
                                const char *name)
{
    char suffix[600];
    jw_status st = check_js(js, NULL);
    if (st == JW_OK)
        st = consumer_suffix("CONSUMER.DELETE", stream, name, suffix,
                             sizeof suffix);
    return st ? st : api_success(js, suffix, NULL, NULL);
}

/* ---- pause, resume and unpin (nats-server 2.11) ---- */

static jw_status pause_request(jw_js *js, const char *stream,
                               const char *name, int pause, int64_t until_ns,
                               char **reply_json)
{
    char suffix[600];
    jw_status st = check_js(js, reply_json);
    if (st == JW_OK)
        st = jw__js_require(js, 21100, pause ? "consumer pause"
                                              : "consumer resume");
    if (st == JW_OK)
        st = consumer_suffix("CONSUMER.PAUSE", stream, name, suffix,
                             sizeof suffix);
    if (st)
        return st;
    char body[96] = "";
    if (pause) {
        char when[64];
        jw__time_text(until_ns, when, sizeof when);
        snprintf(body, sizeof body, "{\"pause_until\":\"%s\"}", when);
    }
    json_t *reply = NULL;
    st = jw__js_api(js, suffix, pause ? body : NULL, &reply);
    if (st == JW_OK) {
        json_t *left = json_object_get(reply, "pause_remaining");
        if (left)
            json_object_set_new(reply, "pause_remaining",
                                jw__js_duration_out(js, left));
        st = jw__js_info_out(js, 0, reply, reply_json);
    }
    json_decref(reply);
    return st;
}

jw_status jw_js_consumer_pause(jw_js *js, const char *stream,
                               const char *name, int64_t until_ns,
                               char **reply_json)
{
    return pause_request(js, stream, name, 1, until_ns, reply_json);
}

jw_status jw_js_consumer_resume(jw_js *js, const char *stream,
                                const char *name, char **reply_json)
{
    return pause_request(js, stream, name, 0, 0, reply_json);
}

jw_status jw_js_consumer_unpin(jw_js *js, const char *stream,
                               const char *name, const char *group)
{
    char suffix[600];
    jw_status st = check_js(js, NULL);
    if (st == JW_OK && (!group || !*group))
        st = jw__fail(JW_EINVAL, "unpin needs a priority group");
    if (st == JW_OK)
        st = jw__js_require(js, 21100, "consumer unpin");
    if (st == JW_OK)
        st = consumer_suffix("CONSUMER.UNPIN", stream, name, suffix,
                             sizeof suffix);
    json_t *body = st ? NULL : json_pack("{ss}", "group", group);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    json_t *reply = NULL;
    if (st == JW_OK)
        st = text ? jw__js_api(js, suffix, text, &reply)
                  : jw__fail(JW_ENO_MEMORY, "out of memory");
    free(text);
    json_decref(reply);
    return st;
}

/* ---- reset (nats-server 2.14, ADR-60) ---- */

jw_status jw_js_consumer_reset(jw_js *js, const char *stream,
                               const char *name, uint64_t seq,
                               char **info_json)
{
    char suffix[600];
    jw_status st = check_js(js, info_json);
    if (st == JW_OK)
        st = jw__js_require(js, 21400, "consumer reset");
    if (st == JW_OK)
        st = consumer_suffix("CONSUMER.RESET", stream, name, suffix,
                             sizeof suffix);
    /* The consumer answers its reset itself: an unknown one leaves the
     * request to time out. Asking for it first says which is missing. */
    if (st == JW_OK)
        st = jw__js_consumer_exists(js, stream, name);
    if (st)
        return st;
    /* No body keeps the ack floor; a sequence moves it to just below. */
    json_t *body = seq ? json_pack("{sI}", "seq", (json_int_t)seq) : NULL;
    if (seq && !body)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    st = api_info(js, JW__JS_CONSUMER, suffix, body, 0, info_json);
    json_decref(body);
    return st;
}

static jw_status consumer_paged(jw_js *js, const char *stream, int list,
                                char **out)
{
    char suffix[300];
    jw_status st = check_js(js, out);
    if (st == JW_OK && !out)
        st = jw__fail(JW_EINVAL, "out is NULL");
    if (st == JW_OK)
        st = stream_suffix(list ? "CONSUMER.LIST" : "CONSUMER.NAMES", stream,
                           suffix, sizeof suffix);
    return st ? st
              : paged(js, suffix, "consumers", NULL,
                      list ? JW__JS_CONSUMER : 0, out);
}

jw_status jw_js_consumer_names(jw_js *js, const char *stream, char **names)
{
    return consumer_paged(js, stream, 0, names);
}

jw_status jw_js_consumer_list(jw_js *js, const char *stream, char **infos)
{
    return consumer_paged(js, stream, 1, infos);
}
