/*
 * JetStream context: API requests and their errors, and publish with
 * PubAck (waiting, or asynchronous with a bounded window).
 */
#include "js.h"
#include "subject.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local int last_err_code;

int jw_js_last_err_code(void)
{
    return last_err_code;
}

void jw__js_set_err_code(int code)
{
    last_err_code = code;
}

void jw_free(void *p)
{
    free(p);
}

/* ---- errors ---- */

static jw_status status_of_err_code(int err_code)
{
    switch (err_code) {
    case 10059: return JW_ESTREAM_NOT_FOUND;
    case 10014: /* consumer not found */
    case 10149: /* consumer does not exist (an update action, 2.10) */
        return JW_ECONSUMER_NOT_FOUND;
    case 10071: return JW_EWRONG_LAST_SEQUENCE;
    default: return JW_EJETSTREAM;
    }
}

jw_status jw__js_error(const json_t *error, const char *what)
{
    int err_code = (int)json_integer_value(json_object_get(error, "err_code"));
    int code = (int)json_integer_value(json_object_get(error, "code"));
    const char *desc = json_string_value(json_object_get(error, "description"));
    jw_status st = status_of_err_code(err_code);
    jw__fail(st, "%s: %s (code %d, err_code %d)", what,
             desc ? desc : "no description", code, err_code);
    last_err_code = err_code;
    return st;
}

/* ---- context ---- */

static void conn_lost(void *arg, jw_status why);

jw_status jw_js_new(jw_conn *conn, jw_js **out)
{
    if (!out)
        return jw__fail(JW_EINVAL, "out is NULL");
    *out = NULL;
    if (!conn)
        return jw__fail(JW_EINVAL, "conn is NULL");
    if (jw_conn_status_get(conn) == JW_CONN_CLOSED)
        return jw__fail(JW_ECONNECTION_CLOSED, "connection is closed");
    jw_js *js = calloc(1, sizeof(*js));
    if (!js)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    atomic_init(&js->refs, 1);
    js->conn = conn;
    jw__conn_ref(conn);
    strcpy(js->prefix, "$JS.API");
    js->timeout_ms = 5000;
    js->unit_ns = 1000000;
    js->max_pending = 4000;
    char version[32] = "";
    jw_conn_server_version(conn, version, sizeof version);
    js->version = jw__js_version_parse(version);
    atomic_init(&js->api_level, -1);
    pthread_mutex_init(&js->mu, NULL);
    jw__cond_init(&js->cond);
    jw__cond_init(&js->done_cond);
    js->watch.fn = conn_lost;
    js->watch.arg = js;
    jw__conn_watch_add(conn, &js->watch);
    *out = js;
    return JW_OK;
}

jw_status jw_js_set_str(jw_js *js, const char *name, const char *value)
{
    if (!js || !name || !value)
        return jw__fail(JW_EINVAL, "js, name and value must not be NULL");
    int n;
    if (strcmp(name, "domain") == 0) {
        if (!*value || strpbrk(value, ".*> \t\r\n"))
            return jw__fail(JW_EINVAL, "invalid JetStream domain '%s'",
                            value);
        n = snprintf(js->prefix, sizeof js->prefix, "$JS.%s.API", value);
    } else if (strcmp(name, "duration_unit") == 0) {
        if (strcmp(value, "ms") == 0)
            js->unit_ns = 1000000;
        else if (strcmp(value, "s") == 0)
            js->unit_ns = 1000000000;
        else
            return jw__fail(JW_EINVAL, "duration_unit must be \"ms\" or "
                                       "\"s\", not '%s'", value);
        return JW_OK;
    } else if (strcmp(name, "prefix") == 0) {
        size_t len = strlen(value);
        if (len && value[len - 1] == '.')
            len--;
        if (!len || jw__subject_check(value, len, 0))
            return jw__fail(JW_EINVAL, "invalid JetStream API prefix '%s'",
                            value);
        n = snprintf(js->prefix, sizeof js->prefix, "%.*s", (int)len, value);
    } else {
        return jw__fail(JW_EINVAL, "unknown JetStream string option '%s'",
                        name);
    }
    if (n < 0 || (size_t)n >= sizeof js->prefix)
        return jw__fail(JW_EINVAL, "JetStream API prefix is too long");
    return JW_OK;
}

jw_status jw_js_set_int(jw_js *js, const char *name, int64_t value)
{
    if (!js || !name)
        return jw__fail(JW_EINVAL, "js and name must not be NULL");
    if (value <= 0)
        return jw__fail(JW_EINVAL, "JetStream option '%s' must be > 0", name);
    if (strcmp(name, "timeout") == 0)
        js->timeout_ms = value;
    else if (strcmp(name, "max_pending") == 0)
        js->max_pending = value;
    else
        return jw__fail(JW_EINVAL, "unknown JetStream integer option '%s'",
                        name);
    return JW_OK;
}

typedef struct jw__js_done {
    struct jw__js_done *next;
    uint64_t id;
    jw_status status;
    int err_code;
    jw_js_pub_ack *ack;
    char *text; /* detail of a failure */
} jw__js_done;

static void done_free(jw__js_done *d)
{
    jw_js_pub_ack_free(d->ack);
    free(d->text);
    free(d);
}

void jw__js_ref(jw_js *js)
{
    atomic_fetch_add_explicit(&js->refs, 1, memory_order_relaxed);
}

void jw_js_free(jw_js *js)
{
    if (js)
        jw__js_release(js);
}

void jw__js_release(jw_js *js)
{
    if (atomic_fetch_sub_explicit(&js->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* After these no loss of the connection and no ack reaches it. */
    jw__conn_watch_remove(js->conn, &js->watch);
    jw_sub_free(js->ack_sub);
    while (js->done_head) {
        jw__js_done *d = js->done_head;
        js->done_head = d->next;
        done_free(d);
    }
    jw__map_free(&js->in_flight);
    pthread_cond_destroy(&js->cond);
    pthread_cond_destroy(&js->done_cond);
    pthread_mutex_destroy(&js->mu);
    jw__conn_release(js->conn);
    free(js);
}

/* ---- API requests ---- */

jw_status jw__js_api(jw_js *js, const char *suffix, const char *body,
                     json_t **reply)
{
    return jw__js_api_at(js, suffix, body, 0, reply);
}

void jw__js_api_forget(jw_js *js, const char *suffix)
{
    char subject[512];
    int n = snprintf(subject, sizeof subject, "%s.%s", js->prefix, suffix);
    if (n < 0 || (size_t)n >= sizeof subject)
        return;
    jw_msg *m = NULL;
    uint64_t id = 0;
    if (jw_msg_new(subject, NULL, NULL, 0, &m) == JW_OK &&
        jw_conn_request_start(js->conn, m, &id) == JW_OK)
        jw_conn_request_cancel(js->conn, id); /* its answer is dropped */
    jw_msg_free(m);
}

/* A request carrying Nats-Required-Api-Level: level. */
static jw_status request_at(jw_js *js, const char *subject, const char *body,
                            int level, jw_msg **reply)
{
    char text[16];
    snprintf(text, sizeof text, "%d", level);
    jw_msg *m = NULL;
    jw_status st = jw_msg_new(subject, NULL, body, body ? strlen(body) : 0,
                              &m);
    if (st == JW_OK)
        st = jw_msg_header_set(m, "Nats-Required-Api-Level", text);
    if (st == JW_OK)
        st = jw_conn_request_msg(js->conn, m, js->timeout_ms, reply);
    jw_msg_free(m);
    return st;
}

jw_status jw__js_api_at(jw_js *js, const char *suffix, const char *body,
                        int level, json_t **reply)
{
    *reply = NULL;
    last_err_code = 0;
    char subject[512];
    int n = snprintf(subject, sizeof subject, "%s.%s", js->prefix, suffix);
    if (n < 0 || (size_t)n >= sizeof subject)
        return jw__fail(JW_EINVAL, "JetStream API subject is too long");
    jw_msg *msg = NULL;
    jw_status st =
        level > 0 ? request_at(js, subject, body, level, &msg)
                  : jw_conn_request(js->conn, subject, body,
                                    body ? strlen(body) : 0, js->timeout_ms,
                                    &msg);
    if (st == JW_ENO_RESPONDERS)
        return jw__fail(st,
                        "no responders on '%s': JetStream is not enabled on "
                        "the server (or not for this domain/prefix)",
                        subject);
    if (st == JW_ETIMEOUT)
        return jw__fail(st, "JetStream API '%s' did not answer within %lld ms",
                        subject, (long long)js->timeout_ms);
    if (st)
        return st;
    json_error_t jerr;
    json_t *doc = json_loadb(jw_msg_data(msg), jw_msg_data_len(msg), 0, &jerr);
    jw_msg_free(msg);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return jw__fail(JW_EPROTOCOL, "JetStream API '%s' replied with "
                                      "something that is not a JSON object",
                        subject);
    }
    json_t *error = json_object_get(doc, "error");
    if (error) {
        st = jw__js_error(error, suffix);
        json_decref(doc);
        return st;
    }
    *reply = doc;
    return JW_OK;
}

/* The level in account information: 2.11 and newer say it, older
 * servers have none (level 0). */
static int level_in(const json_t *info)
{
    json_t *l = json_object_get(json_object_get(info, "api"), "level");
    return json_is_integer(l) ? (int)json_integer_value(l) : 0;
}

int jw__js_api_level(jw_js *js)
{
    int level = atomic_load(&js->api_level);
    if (level != -1)
        return level < 0 ? -1 : level;
    json_t *doc = NULL;
    /* A failed request leaves it unknown (-2), not asked again. */
    level = jw__js_api(js, "INFO", NULL, &doc) == JW_OK ? level_in(doc) : -2;
    json_decref(doc);
    atomic_store(&js->api_level, level);
    return level < 0 ? -1 : level;
}

jw_status jw_js_api_level(jw_js *js, int *level)
{
    if (level)
        *level = 0;
    if (!js || !level)
        return jw__fail(JW_EINVAL, "js and level must not be NULL");
    json_t *doc = NULL;
    jw_status st = jw__js_api(js, "INFO", NULL, &doc);
    if (st)
        return st;
    *level = level_in(doc);
    json_decref(doc);
    atomic_store(&js->api_level, *level);
    return JW_OK;
}

jw_status jw_js_account_info(jw_js *js, char **json)
{
    if (!js || !json)
        return jw__fail(JW_EINVAL, "js and json must not be NULL");
    *json = NULL;
    json_t *doc;
    jw_status st = jw__js_api(js, "INFO", NULL, &doc);
    if (st)
        return st;
    st = jw__js_info_out(js, 0, doc, json);
    json_decref(doc);
    return st;
}

/* ---- publish acks ---- */

/* A publish that meets no responders is tried again this many times, this
 * long apart (ADR-22): a stream whose leader is being elected in a cluster
 * has nobody to answer for a moment. As in nats.go. */
#define JW__JS_PUB_RETRIES 2
#define JW__JS_PUB_RETRY_WAIT_MS 250

struct jw_js_pub_ack {
    char *stream, *domain;
    char *value; /* a counter's total (ADR-49), NULL for other streams */
    char *batch; /* the batch id of a batch's last ack (ADR-50), or NULL */
    uint64_t seq, count;
    int duplicate;
};

const char *jw_js_pub_ack_stream(const jw_js_pub_ack *a)
{
    return a ? a->stream : NULL;
}

const char *jw_js_pub_ack_domain(const jw_js_pub_ack *a)
{
    return a ? a->domain : NULL;
}

uint64_t jw_js_pub_ack_seq(const jw_js_pub_ack *a)
{
    return a ? a->seq : 0;
}

int jw_js_pub_ack_duplicate(const jw_js_pub_ack *a)
{
    return a ? a->duplicate : 0;
}

const char *jw_js_pub_ack_value(const jw_js_pub_ack *a)
{
    return a ? a->value : NULL;
}

const char *jw_js_pub_ack_batch(const jw_js_pub_ack *a)
{
    return a ? a->batch : NULL;
}

uint64_t jw_js_pub_ack_count(const jw_js_pub_ack *a)
{
    return a ? a->count : 0;
}

void jw_js_pub_ack_free(jw_js_pub_ack *a)
{
    free(a);
}

/* Parse a PubAck reply. A failure sets jw_last_error and, for an error
 * object, the err_code. */
static jw_status parse_ack(const jw_msg *reply, jw_js_pub_ack **out)
{
    *out = NULL;
    last_err_code = 0;
    if (jw_msg_status_code(reply) == 503)
        return jw__fail(JW_ENO_RESPONDERS,
                        "no stream captures '%s' (or JetStream is off)",
                        jw_msg_subject(reply));
    json_t *doc = json_loadb(jw_msg_data(reply), jw_msg_data_len(reply), 0,
                             NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return jw__fail(JW_EPROTOCOL, "publish ack is not a JSON object");
    }
    jw_status st;
    json_t *error = json_object_get(doc, "error");
    const char *stream = json_string_value(json_object_get(doc, "stream"));
    const char *domain = json_string_value(json_object_get(doc, "domain"));
    if (error) {
        st = jw__js_error(error, "publish");
    } else if (!stream) {
        st = jw__fail(JW_EPROTOCOL, "publish ack without a stream");
    } else {
        /* One block: the struct, then its strings. */
        const char *value = json_string_value(json_object_get(doc, "val"));
        const char *batch = json_string_value(json_object_get(doc, "batch"));
        size_t sl = strlen(stream) + 1, dl = domain ? strlen(domain) + 1 : 1;
        size_t vl = value ? strlen(value) + 1 : 0;
        size_t bl = batch ? strlen(batch) + 1 : 0;
        jw_js_pub_ack *a = malloc(sizeof(*a) + sl + dl + vl + bl);
        if (!a) {
            st = jw__fail(JW_ENO_MEMORY, "out of memory");
        } else {
            a->stream = (char *)(a + 1);
            memcpy(a->stream, stream, sl);
            a->domain = a->stream + sl;
            memcpy(a->domain, domain ? domain : "", dl);
            a->value = value ? memcpy(a->domain + dl, value, vl) : NULL;
            a->batch = batch ? memcpy(a->domain + dl + vl, batch, bl) : NULL;
            a->count =
                (uint64_t)json_integer_value(json_object_get(doc, "count"));
            a->seq = (uint64_t)json_integer_value(json_object_get(doc, "seq"));
            a->duplicate = json_is_true(json_object_get(doc, "duplicate"));
            *out = a;
            st = JW_OK;
        }
    }
    json_decref(doc);
    return st;
}

jw_status jw_js_pub_ack_parse(const jw_msg *reply, jw_js_pub_ack **ack)
{
    if (ack)
        *ack = NULL;
    if (!reply || !ack)
        return jw__fail(JW_EINVAL, "reply and ack must not be NULL");
    return parse_ack(reply, ack);
}

/* A duration option as a header of whole seconds, as the server keeps
 * them. */
static jw_status ttl_header(jw__hdr_builder *b, const jw_js *js,
                            const jw_call_opts *o, int opt, const char *name)
{
    int64_t ms = 0;
    if (!jw__call_opts_has(o, opt))
        return JW_OK;
    jw_status st = jw__call_opts_ms(o, opt, js, 0, &ms);
    if (st)
        return st;
    char num[24];
    num[jw__u64_to_dec(num, (uint64_t)(ms / 1000))] = 0;
    return jw__hdr_add(b, name, num);
}

/* schedule_at and schedule_every: the Nats-Schedule they stand for. The
 * schedule is one of the three options. */
static jw_status schedule_header(jw__hdr_builder *b, const jw_js *js,
                                 const jw_call_opts *o)
{
    int at = jw__call_opts_has(o, JW__PUB_SCHEDULE_AT);
    int every = jw__call_opts_has(o, JW__PUB_SCHEDULE_EVERY);
    if (at + every + jw__call_opts_has(o, JW__PUB_SCHEDULE) > 1)
        return jw__fail(JW_EINVAL, "give one of the publish options "
                                   "schedule, schedule_at and "
                                   "schedule_every");
    char text[96];
    if (at) {
        const char *when = jw__call_opts_str(o, JW__PUB_SCHEDULE_AT);
        if (strlen(when) > sizeof text - 5)
            return jw__fail(JW_EINVAL, "schedule_at '%s' is not an RFC 3339 "
                                       "time", when);
        snprintf(text, sizeof text, "@at %s", when);
        return jw__hdr_add(b, "Nats-Schedule", text);
    }
    if (every) {
        int64_t ms = 0;
        jw_status st = jw__call_opts_ms(o, JW__PUB_SCHEDULE_EVERY, js, 0, &ms);
        if (st)
            return st;
        snprintf(text, sizeof text, "@every %lldms", (long long)ms);
        return jw__hdr_add(b, "Nats-Schedule", text);
    }
    return JW_OK;
}

jw_status jw__js_pub_headers(jw_js *js, const jw_msg *msg,
                             const jw_call_opts *o, const char *const *extra,
                             char **block, size_t *block_len)
{
    *block = NULL;
    *block_len = 0;
    jw_status used = jw__call_opts_use(o, JW__CALL_PUBLISH, js);
    if (used)
        return used;
    size_t own_len = 0;
    const char *own = msg ? jw_msg_headers_raw(msg, &own_len) : NULL;
    if (!o && !own && !extra)
        return JW_OK;
    jw__hdr_builder b = {0};
    jw_status st = JW_OK;
    if (own) {
        jw__hdr_line line;
        size_t pos = 0;
        char name[256], value[4096];
        while (st == JW_OK && jw__hdr_next(own, own_len, &pos, &line) == 1) {
            if (line.name_len >= sizeof name || line.value_len >= sizeof value)
                st = jw__fail(JW_EINVAL, "header too long");
            else {
                memcpy(name, line.name, line.name_len);
                name[line.name_len] = 0;
                memcpy(value, line.value, line.value_len);
                value[line.value_len] = 0;
                st = jw__hdr_add(&b, name, value);
            }
        }
    }
    static const struct {
        int option;
        const char *header;
    } headers[] = {
        {JW__PUB_MSG_ID, "Nats-Msg-Id"},
        {JW__PUB_EXPECTED_STREAM, "Nats-Expected-Stream"},
        {JW__PUB_EXPECTED_LAST_MSG_ID, "Nats-Expected-Last-Msg-Id"},
        {JW__PUB_EXPECTED_LAST_SEQ, "Nats-Expected-Last-Sequence"},
        {JW__PUB_EXPECTED_LAST_SUBJECT_SEQ,
         "Nats-Expected-Last-Subject-Sequence"},
        {JW__PUB_SCHEDULE, "Nats-Schedule"},
        {JW__PUB_SCHEDULE_TARGET, "Nats-Schedule-Target"},
        {JW__PUB_SCHEDULE_SOURCE, "Nats-Schedule-Source"},
        {JW__PUB_SCHEDULE_TIME_ZONE, "Nats-Schedule-Time-Zone"},
        {JW__PUB_SCHEDULE_ROLLUP, "Nats-Schedule-Rollup"},
    };
    for (size_t i = 0; st == JW_OK && i < sizeof headers / sizeof *headers;
         i++) {
        int opt = headers[i].option;
        if (!jw__call_opts_has(o, opt))
            continue;
        const char *text = jw__call_opts_str(o, opt);
        char num[24];
        if (!text) {
            num[jw__u64_to_dec(num, (uint64_t)jw__call_opts_int(o, opt, 0))] =
                0;
            text = num;
        }
        st = jw__hdr_add(&b, headers[i].header, text);
    }
    if (st == JW_OK)
        st = ttl_header(&b, js, o, JW__PUB_TTL, "Nats-TTL");
    if (st == JW_OK)
        st = ttl_header(&b, js, o, JW__PUB_SCHEDULE_TTL, "Nats-Schedule-TTL");
    if (st == JW_OK)
        st = schedule_header(&b, js, o);
    for (size_t i = 0; st == JW_OK && extra && extra[i]; i += 2)
        st = jw__hdr_add(&b, extra[i], extra[i + 1]);
    if (st == JW_OK && b.len) {
        char *full = realloc(b.buf, b.len + 2);
        if (!full) {
            st = jw__fail(JW_ENO_MEMORY, "out of memory");
        } else {
            memcpy(full + b.len, "\r\n", 2);
            *block = full;
            *block_len = b.len + 2;
            b.buf = NULL;
        }
    }
    jw__hdr_free(&b);
    return st;
}

/* The message a publish sends when it has headers: a view of subject, the
 * header block and data, not a copy (the request calls only read it). */
static jw_msg pub_view(const char *subject, const char *hdr, size_t hdr_len,
                       const void *data, size_t len)
{
    jw_msg view = {.kind = JW__MSG_RECEIVED,
                   .subject = subject,
                   .hdr = hdr,
                   .hdr_len = hdr_len,
                   .data = data ? data : "",
                   .data_len = len};
    return view;
}

/* One try: the request and its PubAck. */
static jw_status publish_once(jw_js *js, const char *subject, const char *hdr,
                              size_t hdr_len, const void *data, size_t len,
                              int64_t timeout, jw_js_pub_ack **ack)
{
    jw_msg *reply = NULL;
    jw_status st;
    if (hdr) {
        jw_msg view = pub_view(subject, hdr, hdr_len, data, len);
        st = jw_conn_request_msg(js->conn, &view, timeout, &reply);
    } else {
        st = jw_conn_request(js->conn, subject, data, len, timeout, &reply);
    }
    last_err_code = 0;
    if (st == JW_ENO_RESPONDERS)
        return jw__fail(st, "no stream captures '%s' (or JetStream is off)",
                        subject);
    if (st == JW_ETIMEOUT)
        return jw__fail(st, "no publish ack for '%s' within %lld ms", subject,
                        (long long)timeout);
    if (st)
        return st;
    jw_js_pub_ack *a;
    st = parse_ack(reply, &a);
    jw_msg_free(reply);
    if (st == JW_OK && ack)
        *ack = a;
    else
        jw_js_pub_ack_free(a);
    return st;
}

static jw_status publish(jw_js *js, const char *subject, const jw_msg *msg,
                         const void *data, size_t len,
                         const jw_call_opts *o, jw_js_pub_ack **ack)
{
    if (ack)
        *ack = NULL;
    if (!js)
        return jw__fail(JW_EINVAL, "js is NULL");
    int64_t timeout, wait_ms;
    jw_status st = jw__call_opts_use(o, JW__CALL_PUBLISH, js);
    if (st == JW_OK)
        st = jw__call_opts_ms(o, JW__PUB_TIMEOUT, js, js->timeout_ms,
                              &timeout);
    if (st == JW_OK)
        st = jw__call_opts_ms(o, JW__PUB_RETRY_WAIT, js,
                              JW__JS_PUB_RETRY_WAIT_MS, &wait_ms);
    int64_t retries = jw__call_opts_int(o, JW__PUB_RETRY_ATTEMPTS,
                                        JW__JS_PUB_RETRIES);
    char *hdr = NULL;
    size_t hdr_len = 0;
    if (st == JW_OK)
        st = jw__js_pub_headers(js, msg, o, NULL, &hdr, &hdr_len);
    if (st)
        return st;
    for (int64_t attempt = 0;; attempt++) {
        st = publish_once(js, subject, hdr, hdr_len, data, len, timeout, ack);
        if (st != JW_ENO_RESPONDERS || attempt >= retries ||
            jw_conn_status_get(js->conn) == JW_CONN_CLOSED)
            break;
        struct timespec pause = {wait_ms / 1000, (wait_ms % 1000) * 1000000};
        while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
            ;
    }
    free(hdr);
    return st;
}

jw_status jw_js_publish_start(jw_js *js, const jw_msg *msg,
                              const jw_call_opts *opts, uint64_t *id)
{
    if (id)
        *id = 0;
    if (!js || !msg || !id)
        return jw__fail(JW_EINVAL, "js, msg and id must not be NULL");
    /* The caller waits and retries, by these options: they are checked
     * here as for jw_js_publish. */
    int64_t unused;
    jw_status st = jw__call_opts_use(opts, JW__CALL_PUBLISH, js);
    if (st == JW_OK)
        st = jw__call_opts_ms(opts, JW__PUB_TIMEOUT, js, 0, &unused);
    if (st == JW_OK)
        st = jw__call_opts_ms(opts, JW__PUB_RETRY_WAIT, js, 0, &unused);
    if (st)
        return st;
    char *hdr;
    size_t hdr_len;
    st = jw__js_pub_headers(js, msg, opts, NULL, &hdr, &hdr_len);
    if (st)
        return st;
    if (!hdr)
        return jw_conn_request_start(js->conn, msg, id);
    jw_msg view = pub_view(jw_msg_subject(msg), hdr, hdr_len,
                           jw_msg_data(msg), jw_msg_data_len(msg));
    st = jw_conn_request_start(js->conn, &view, id);
    free(hdr);
    return st;
}

jw_status jw_js_publish(jw_js *js, const char *subject, const void *data,
                        size_t len, const jw_call_opts *opts,
                        jw_js_pub_ack **ack)
{
    return publish(js, subject, NULL, data, len, opts, ack);
}

jw_status jw_js_publish_msg(jw_js *js, const jw_msg *msg,
                            const jw_call_opts *opts, jw_js_pub_ack **ack)
{
    if (!msg) {
        if (ack)
            *ack = NULL;
        return jw__fail(JW_EINVAL, "msg is NULL");
    }
    return publish(js, jw_msg_subject(msg), msg, jw_msg_data(msg),
                   jw_msg_data_len(msg), opts, ack);
}

/* ---- asynchronous publish ---- */

/* A publisher that found the window full waits until it has drained to
 * three quarters: one wake-up per max_pending/4 acks instead of one per
 * ack, which would ping-pong between the loop and the publisher. */
static size_t low_water(const jw_js *js)
{
    return (size_t)(js->max_pending - (js->max_pending + 3) / 4);
}

/* Queue a completion (mu held). */
static void queue_done(jw_js *js, jw__js_done *d)
{
    if (js->done_tail)
        js->done_tail->next = d;
    else
        js->done_head = d;
    js->done_tail = d;
}

/* Loop thread: an ack (or a no-responders status) for "<prefix><id>". */
static void async_ack(jw_sub *sub, jw_msg *reply, void *arg)
{
    JW_UNUSED(sub);
    jw_js *js = arg;
    const char *subject = jw_msg_subject(reply);
    uint64_t id = 0;
    if (strncmp(subject, js->ack_prefix, js->ack_prefix_len) == 0)
        id = strtoull(subject + js->ack_prefix_len, NULL, 10);
    jw__js_done *d = calloc(1, sizeof(*d));
    if (d) {
        d->id = id;
        d->status = parse_ack(reply, &d->ack);
        d->err_code = last_err_code;
        if (d->status)
            d->text = strdup(jw_last_error());
    }
    jw_msg_free(reply);
    pthread_mutex_lock(&js->mu);
    if (id && jw__map_remove(&js->in_flight, id)) {
        if (d) {
            queue_done(js, d);
            d = NULL;
            if (js->done_waiters)
                pthread_cond_broadcast(&js->done_cond);
        }
        /* Wake waiters at two marks only (see low_water), not per ack. */
        if (js->in_flight.count == 0 ||
            js->in_flight.count == low_water(js))
            pthread_cond_broadcast(&js->cond);
    }
    pthread_mutex_unlock(&js->mu);
    if (d)
        done_free(d); /* an ack for nothing we wait for */
}

/* The ack subscription, made on first use (js->mu held). */
static jw_status ensure_ack_sub(jw_js *js)
{
    if (js->ack_sub)
        return JW_OK;
    char inbox[64];
    jw_status st = jw_conn_new_inbox(js->conn, inbox, sizeof inbox - 3);
    if (st)
        return st;
    size_t n = strlen(inbox);
    memcpy(js->ack_prefix, inbox, n);
    js->ack_prefix[n] = '.';
    js->ack_prefix[n + 1] = 0;
    js->ack_prefix_len = n + 1;
    memcpy(inbox + n, ".*", 3);
    return jw__conn_subscribe_inline(js->conn, inbox, async_ack, js,
                                     &js->ack_sub);
}

typedef struct fail_args {
    jw_js *js;
    jw_status why;
} fail_args;

static void fail_one(void *value, void *arg)
{
    fail_args *a = arg;
    jw__js_done *d = calloc(1, sizeof(*d));
    if (!d)
        return;
    d->id = (uint64_t)(uintptr_t)value;
    d->status = a->why;
    d->text = strdup(a->why == JW_ECONNECTION_CLOSED
                         ? "the connection closed before the ack came"
                         : "the connection was lost before the ack came: "
                           "the stream may have stored the message "
                           "(publish it again with the same msg_id to be "
                           "sure it is stored once)");
    queue_done(a->js, d);
}

/* The connection lost the socket the acks would come to, or closed:
 * complete every publish in flight with `why` now (mu held), wake every
 * waiter, and keep it for jw_js_publish_async_complete to report. */
static void fail_in_flight(jw_js *js, jw_status why)
{
    size_t n = js->in_flight.count;
    if (!n)
        return;
    fail_args a = {js, why};
    jw__map_each(&js->in_flight, fail_one, &a);
    jw__map_free(&js->in_flight);
    if (js->lost != JW_ECONNECTION_CLOSED)
        js->lost = why;
    js->lost_count += n;
    pthread_cond_broadcast(&js->cond);
    pthread_cond_broadcast(&js->done_cond);
}

/* The connection's watch (loop thread, before the DISCONNECTED or CLOSED
 * event): acks of publishes written to the lost socket can no longer
 * come. A publish still in the connection's buffer goes out after the
 * reconnect and may be stored although it failed here: its ack then
 * finds nobody waiting and is dropped. */
static void conn_lost(void *arg, jw_status why)
{
    jw_js *js = arg;
    pthread_mutex_lock(&js->mu);
    fail_in_flight(js, why);
    pthread_mutex_unlock(&js->mu);
}

/* Drop the completion of id queued by fail_in_flight for a publish that
 * then failed to be queued itself (mu held): its caller hears of it from
 * jw_js_publish_async instead. */
static void drop_done(jw_js *js, uint64_t id)
{
    jw__js_done *prev = NULL;
    for (jw__js_done *d = js->done_head; d; prev = d, d = d->next) {
        if (d->id != id)
            continue;
        if (prev)
            prev->next = d->next;
        else
            js->done_head = d->next;
        if (js->done_tail == d)
            js->done_tail = prev;
        done_free(d);
        if (js->lost_count && --js->lost_count == 0)
            js->lost = JW_OK;
        return;
    }
}

/* Wait (mu held) up to timeout_ms until fewer than limit publishes are in
 * flight. Acks cannot come over a closed connection: its publishes then
 * complete with JW_ECONNECTION_CLOSED at once instead of at the deadline
 * (the connection's watch usually did that already). */
static jw_status wait_acks(jw_js *js, int64_t timeout_ms, size_t limit)
{
    int64_t deadline_us = jw__deadline(timeout_ms);
    while (js->in_flight.count >= limit) {
        if (jw_conn_status_get(js->conn) == JW_CONN_CLOSED) {
            fail_in_flight(js, JW_ECONNECTION_CLOSED);
            return jw__fail(JW_ECONNECTION_CLOSED,
                            "the connection closed with async publishes "
                            "unacknowledged");
        }
        /* Look at the connection at least every 100 ms. */
        int64_t slice = jw__deadline(100);
        if (deadline_us >= 0 && deadline_us < slice)
            slice = deadline_us;
        jw_status st =
            jw__loop_wait_user(js->conn->loop, &js->cond, &js->mu, slice);
        if (st == JW_EINTERRUPTED && js->in_flight.count >= limit)
            return jw__fail(st, "interrupted while waiting for PubAcks "
                                "(%zu in flight)",
                            js->in_flight.count);
        if (st && js->in_flight.count >= limit && deadline_us >= 0 &&
            jw__now_us() >= deadline_us)
            return jw__fail(JW_ETIMEOUT,
                            "%zu publishes still without a PubAck within "
                            "%lld ms",
                            js->in_flight.count, (long long)timeout_ms);
    }
    return JW_OK;
}

jw_status jw_js_publish_async(jw_js *js, const jw_msg *msg,
                              const jw_call_opts *o, uint64_t *id_out)
{
    if (id_out)
        *id_out = 0;
    if (!js || !msg)
        return jw__fail(JW_EINVAL, "js and msg must not be NULL");
    char *hdr;
    size_t hdr_len;
    jw_status st = jw__js_pub_headers(js, msg, o, NULL, &hdr, &hdr_len);
    if (st)
        return st;
    pthread_mutex_lock(&js->mu);
    st = ensure_ack_sub(js);
    if (st == JW_OK && (int64_t)js->in_flight.count >= js->max_pending)
        st = jw__loop_in_callback()
                 ? jw__fail(JW_EINVAL, "async publish window is full and "
                                       "cannot be waited for in a callback")
                 : wait_acks(js, js->timeout_ms, low_water(js) + 1);
    uint64_t id = st == JW_OK ? ++js->next_id : 0;
    if (st == JW_OK &&
        jw__map_put(&js->in_flight, id, (void *)(uintptr_t)id))
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    pthread_mutex_unlock(&js->mu);
    if (st == JW_OK) {
        char reply[96];
        memcpy(reply, js->ack_prefix, js->ack_prefix_len);
        reply[js->ack_prefix_len + jw__u64_to_dec(reply + js->ack_prefix_len,
                                                  id)] = 0;
        st = jw__conn_publish(js->conn, jw_msg_subject(msg), reply, hdr,
                              hdr_len, jw_msg_data(msg), jw_msg_data_len(msg),
                              0);
        if (st) {
            jw_status keep = st;
            char text[256];
            snprintf(text, sizeof text, "%s", jw_last_error());
            pthread_mutex_lock(&js->mu);
            if (!jw__map_remove(&js->in_flight, id))
                drop_done(js, id); /* failed meanwhile by a lost socket */
            pthread_cond_broadcast(&js->cond);
            pthread_mutex_unlock(&js->mu);
            st = jw__fail(keep, "%s", text);
        } else if (id_out) {
            *id_out = id;
        }
    }
    free(hdr);
    return st;
}

int jw_js_publish_async_poll(jw_js *js, uint64_t *id, jw_status *status,
                             jw_js_pub_ack **ack)
{
    if (!js || !id || !status)
        return jw__fail(JW_EINVAL, "js, id and status must not be NULL");
    if (ack)
        *ack = NULL;
    pthread_mutex_lock(&js->mu);
    jw__js_done *d = js->done_head;
    if (d) {
        js->done_head = d->next;
        if (!js->done_head)
            js->done_tail = NULL;
    }
    pthread_mutex_unlock(&js->mu);
    if (!d)
        return 0;
    *id = d->id;
    *status = d->status;
    if (d->status) {
        jw__fail(d->status, "%s", d->text ? d->text : "");
        last_err_code = d->err_code;
    }
    if (ack) {
        *ack = d->ack;
        d->ack = NULL;
    }
    done_free(d);
    return 1;
}

jw_status jw_js_publish_async_complete(jw_js *js, int64_t timeout_ms)
{
    if (!js)
        return jw__fail(JW_EINVAL, "js is NULL");
    if (jw__loop_in_callback())
        return jw__fail(JW_EINVAL, "cannot wait inside a loop callback");
    pthread_mutex_lock(&js->mu);
    jw_status st = wait_acks(js, timeout_ms, 1);
    if (js->lost && st != JW_ETIMEOUT && st != JW_EINTERRUPTED) {
        if (st == JW_OK)
            st = jw__fail(js->lost,
                          "%zu async publishes were in flight when the "
                          "connection %s: they completed with %s",
                          js->lost_count,
                          js->lost == JW_ECONNECTION_CLOSED ? "closed"
                                                            : "was lost",
                          jw_status_name(js->lost));
        js->lost = JW_OK;
        js->lost_count = 0;
    }
    pthread_mutex_unlock(&js->mu);
    return st;
}

jw_status jw_js_publish_async_wait(jw_js *js, int64_t timeout_ms)
{
    if (!js)
        return jw__fail(JW_EINVAL, "js is NULL");
    if (jw__loop_in_callback())
        return jw__fail(JW_EINVAL, "cannot wait inside a loop callback");
    pthread_mutex_lock(&js->mu);
    int64_t deadline_us = jw__deadline(timeout_ms);
    jw_status st = JW_OK;
    js->done_waiters++;
    while (!js->done_head) {
        if (js->in_flight.count &&
            jw_conn_status_get(js->conn) == JW_CONN_CLOSED) {
            fail_in_flight(js, JW_ECONNECTION_CLOSED);
            continue;
        }
        /* Look at the connection at least every 100 ms, as wait_acks. */
        int64_t slice = jw__deadline(100);
        if (deadline_us >= 0 && deadline_us < slice)
            slice = deadline_us;
        jw_status waited = jw__loop_wait_user(js->conn->loop,
                                              &js->done_cond, &js->mu, slice);
        if (js->done_head)
            break;
        if (waited == JW_EINTERRUPTED) {
            st = jw__fail(waited, "interrupted while waiting for an async "
                                  "publish to finish (%zu in flight)",
                          js->in_flight.count);
            break;
        }
        if (waited && deadline_us >= 0 && jw__now_us() >= deadline_us) {
            st = jw__fail(JW_ETIMEOUT,
                          "no async publish finished within %lld ms "
                          "(%zu in flight)",
                          (long long)timeout_ms, js->in_flight.count);
            break;
        }
    }
    js->done_waiters--;
    pthread_mutex_unlock(&js->mu);
    return st;
}

int64_t jw_js_publish_async_pending(jw_js *js)
{
    if (!js)
        return 0;
    pthread_mutex_lock(&js->mu);
    int64_t n = (int64_t)js->in_flight.count;
    pthread_mutex_unlock(&js->mu);
    return n;
}
