/*
 * Services: the NATS micro API (ADR-32).
 *
 * A service is a set of endpoint subscriptions plus nine discovery
 * subscriptions ($SRV.{PING,INFO,STATS}[.name[.id]]) that the engine
 * answers inline on the loop thread from the service's own state. The
 * statistics of an endpoint change under the service's mutex: from the
 * handler's thread (jw_endpoint_end, jw_endpoint_respond_error) and read
 * by the STATS answer on the loop thread.
 *
 * Lifetimes: groups and endpoints live until jw_service_free, which first
 * ends every subscription (waiting for a running handler), so a handler
 * or a discovery answer never sees a freed endpoint.
 */
#include "engine.h"
#include "subject.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_QUEUE "q"
#define ERROR_HEADER "Nats-Service-Error"
#define ERROR_CODE_HEADER "Nats-Service-Error-Code"
/* What a failed handler answers (jw_endpoint_fail). */
#define HANDLER_FAILED_CODE "500"
#define N_VERBS 3

static const char *const verb_names[N_VERBS] = {"PING", "INFO", "STATS"};
static const char *const verb_types[N_VERBS] = {
    "io.nats.micro.v1.ping_response", "io.nats.micro.v1.info_response",
    "io.nats.micro.v1.stats_response"};

struct jw_service_group {
    struct jw_service_group *next;
    char *prefix; /* "" at the top */
    char *queue;  /* resolved; NULL: disabled */
};

struct jw_endpoint {
    struct jw_endpoint *next;
    jw_service *svc;
    char *name, *subject, *queue;
    json_t *metadata; /* an object */
    jw_endpoint_cb cb;
    void *arg;
    jw_sub *sub;
    /* Statistics, under svc->mu. */
    uint64_t requests, errors;
    uint64_t handled; /* since the start, for jw_service_stopped */
    int64_t processing_ns;
    char *last_error;
    char *data; /* jw_endpoint_set_stats_data */
};

struct jw_service {
    jw_conn *conn; /* referenced */
    pthread_mutex_t mu;
    char id[23];
    char *name, *version, *description;
    json_t *metadata; /* an object */
    jw_service_group top; /* the service's own prefix and queue group */
    jw_service_group *groups;
    jw_endpoint *endpoints, **endpoints_tail;
    jw_sub *verbs[N_VERBS * 3];
    int64_t started_ns; /* wall clock */
    int stopping;
    jw_service_stats_cb stats_cb;
    void *stats_arg;
};

/* ---- validation ---- */

static int name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-';
}

/* One dot-separated identifier list of a pre-release (numeric ones without
 * leading zeros) or of build metadata; *p moves past it. */
static int idents_ok(const char **p, int pre)
{
    const char *s = *p;
    for (;;) {
        const char *start = s;
        int digits = 1;
        while (ident_char(*s)) {
            digits &= *s >= '0' && *s <= '9';
            s++;
        }
        if (s == start || (pre && digits && s - start > 1 && *start == '0'))
            return 0;
        if (*s != '.')
            break;
        s++;
    }
    *p = s;
    return 1;
}

/* Semantic Versioning 2.0: MAJOR.MINOR.PATCH[-pre][+build]. */
static int semver_ok(const char *s)
{
    for (int part = 0; part < 3; part++) {
        if (part && *s++ != '.')
            return 0;
        if (*s < '0' || *s > '9' || (*s == '0' && s[1] >= '0' && s[1] <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == '-' && (s++, !idents_ok(&s, 1)))
        return 0;
    if (*s == '+' && (s++, !idents_ok(&s, 0)))
        return 0;
    return *s == 0;
}

typedef struct field {
    const char *name;
    int type; /* a json_type */
} field;

/* Parse config_json (an object, NULL: {}) and refuse fields outside
 * fields[] and values of the wrong type; *obj: json_decref. */
static jw_status parse_config(const char *what, const char *config_json,
                              const field *fields, json_t **obj)
{
    *obj = NULL;
    json_error_t err;
    json_t *o = config_json ? json_loads(config_json, 0, &err)
                            : json_object();
    if (!o)
        return jw__fail(JW_EINVAL, "%s config is not JSON: %s", what,
                        err.text);
    if (!json_is_object(o)) {
        json_decref(o);
        return jw__fail(JW_EINVAL, "%s config must be a JSON object", what);
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        const field *f = fields;
        while (f->name && strcmp(f->name, key))
            f++;
        if (!f->name) {
            jw_status st = jw__fail(JW_EINVAL, "%s config has no field '%s'",
                                    what, key);
            json_decref(o); /* key is o's */
            return st;
        }
        int t = json_typeof(v);
        int ok = t == f->type || (f->type == JSON_TRUE && t == JSON_FALSE) ||
                 (f->type == JSON_OBJECT && t == JSON_NULL);
        if (ok && f->type == JSON_OBJECT && t == JSON_OBJECT) {
            const char *k;
            json_t *mv;
            json_object_foreach(v, k, mv) ok &= json_is_string(mv);
        }
        if (!ok) {
            jw_status st = jw__fail(
                JW_EINVAL, "%s config: '%s' must be %s", what, key,
                f->type == JSON_STRING    ? "a string"
                : f->type == JSON_TRUE    ? "true or false"
                : f->type == JSON_INTEGER ? "an integer"
                                          : "an object of strings");
            json_decref(o);
            return st;
        }
    }
    *obj = o;
    return JW_OK;
}

static const char *str_field(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A copy of the "metadata" object ({} when absent or null). */
static json_t *metadata_of(json_t *o)
{
    json_t *m = json_object_get(o, "metadata");
    return json_is_object(m) ? json_deep_copy(m) : json_object();
}

/* The queue group of a child: its own, unless disabled, else the
 * parent's. *out is a copy or NULL (disabled). */
static jw_status resolve_queue(const char *what, json_t *o,
                               const char *parent, int parent_disabled,
                               char **out)
{
    *out = NULL;
    const char *own = str_field(o, "queue_group");
    if (json_is_true(json_object_get(o, "queue_group_disabled")))
        return JW_OK;
    if (own && *own) {
        if (jw__queue_check(own, strlen(own)))
            return jw__fail(JW_EINVAL, "%s: invalid queue group '%s'", what,
                            own);
    } else if (parent_disabled) {
        return JW_OK;
    } else {
        own = parent ? parent : DEFAULT_QUEUE;
    }
    *out = strdup(own);
    return *out ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
}

/* ---- the discovery answers ---- */

static void add_identity(const jw_service *svc, json_t *o, int verb)
{
    json_object_set_new(o, "type", json_string(verb_types[verb]));
    json_object_set_new(o, "name", json_string(svc->name));
    json_object_set_new(o, "id", json_string(svc->id));
    json_object_set_new(o, "version", json_string(svc->version));
    json_object_set(o, "metadata", svc->metadata);
}

static json_t *info_json(jw_service *svc)
{
    json_t *o = json_object();
    pthread_mutex_lock(&svc->mu);
    add_identity(svc, o, 1);
    json_object_set_new(o, "description",
                        json_string(svc->description ? svc->description : ""));
    json_t *eps = json_array();
    for (jw_endpoint *e = svc->endpoints; e; e = e->next) {
        json_t *ej = json_object();
        json_object_set_new(ej, "name", json_string(e->name));
        json_object_set_new(ej, "subject", json_string(e->subject));
        json_object_set_new(ej, "queue_group",
                            json_string(e->queue ? e->queue : ""));
        json_object_set(ej, "metadata", e->metadata);
        json_array_append_new(eps, ej);
    }
    pthread_mutex_unlock(&svc->mu);
    json_object_set_new(o, "endpoints", eps);
    return o;
}

static json_t *stats_json(jw_service *svc)
{
    char started[48];
    json_t *o = json_object();
    pthread_mutex_lock(&svc->mu);
    add_identity(svc, o, 2);
    jw__time_text(svc->started_ns, started, sizeof started);
    json_object_set_new(o, "started", json_string(started));
    json_t *eps = json_array();
    for (jw_endpoint *e = svc->endpoints; e; e = e->next) {
        json_t *ej = json_object();
        json_object_set_new(ej, "name", json_string(e->name));
        json_object_set_new(ej, "subject", json_string(e->subject));
        json_object_set_new(ej, "queue_group",
                            json_string(e->queue ? e->queue : ""));
        json_object_set_new(ej, "num_requests",
                            json_integer((json_int_t)e->requests));
        json_object_set_new(ej, "num_errors",
                            json_integer((json_int_t)e->errors));
        json_object_set_new(ej, "last_error",
                            json_string(e->last_error ? e->last_error : ""));
        json_object_set_new(ej, "processing_time",
                            json_integer(e->processing_ns));
        json_object_set_new(
            ej, "average_processing_time",
            json_integer(e->requests ? e->processing_ns / (json_int_t)e->requests
                                     : 0));
        if (e->data)
            json_object_set_new(ej, "data",
                                json_loads(e->data, JSON_DECODE_ANY, NULL));
        json_array_append_new(eps, ej);
    }
    jw_service_stats_cb cb = svc->stats_cb;
    void *arg = svc->stats_arg;
    pthread_mutex_unlock(&svc->mu);
    /* The hook runs without the lock (it may look at the service);
     * endpoints live as long as the service, and the list only grows at
     * its end. */
    if (cb) {
        size_t i = 0;
        for (jw_endpoint *e = svc->endpoints; e && i < json_array_size(eps);
             e = e->next, i++) {
            char *text = cb(e, arg);
            json_t *data = text ? json_loads(text, JSON_DECODE_ANY, NULL)
                                : NULL;
            free(text);
            if (data)
                json_object_set_new(json_array_get(eps, i), "data", data);
        }
    }
    json_object_set_new(o, "endpoints", eps);
    return o;
}

static json_t *answer_json(jw_service *svc, int verb)
{
    if (verb == 1)
        return info_json(svc);
    if (verb == 2)
        return stats_json(svc);
    json_t *o = json_object();
    pthread_mutex_lock(&svc->mu);
    add_identity(svc, o, 0);
    pthread_mutex_unlock(&svc->mu);
    return o;
}

static void answer(jw_service *svc, jw_msg *m, int verb)
{
    json_t *o = answer_json(svc, verb);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text)
        jw_msg_respond(m, text, strlen(text));
    free(text);
    jw_msg_free(m);
}

/* Each verb's handler; the subscription knows which verb it serves by the
 * handler it calls. */
static void on_ping(jw_sub *sub, jw_msg *m, void *arg)
{
    JW_UNUSED(sub);
    answer(arg, m, 0);
}

static void on_info(jw_sub *sub, jw_msg *m, void *arg)
{
    JW_UNUSED(sub);
    answer(arg, m, 1);
}

static void on_stats(jw_sub *sub, jw_msg *m, void *arg)
{
    JW_UNUSED(sub);
    answer(arg, m, 2);
}

static const jw_msg_cb verb_handlers[N_VERBS] = {on_ping, on_info, on_stats};

/* ---- the service ---- */

static const field service_fields[] = {
    {"name", JSON_STRING},        {"version", JSON_STRING},
    {"description", JSON_STRING}, {"metadata", JSON_OBJECT},
    {"queue_group", JSON_STRING}, {"queue_group_disabled", JSON_TRUE},
    {NULL, 0}};

static void end_subs(jw_service *svc)
{
    for (int i = 0; i < N_VERBS * 3; i++) {
        jw_sub_free(svc->verbs[i]);
        svc->verbs[i] = NULL;
    }
    for (jw_endpoint *e = svc->endpoints; e; e = e->next) {
        jw_sub_free(e->sub);
        e->sub = NULL;
    }
}

void jw_service_free(jw_service *svc)
{
    if (!svc)
        return;
    end_subs(svc);
    while (svc->endpoints) {
        jw_endpoint *e = svc->endpoints;
        svc->endpoints = e->next;
        free(e->name);
        free(e->subject);
        free(e->queue);
        json_decref(e->metadata);
        free(e->last_error);
        free(e->data);
        free(e);
    }
    while (svc->groups) {
        jw_service_group *g = svc->groups;
        svc->groups = g->next;
        free(g->prefix);
        free(g->queue);
        free(g);
    }
    free(svc->top.prefix);
    free(svc->top.queue);
    free(svc->name);
    free(svc->version);
    free(svc->description);
    json_decref(svc->metadata);
    pthread_mutex_destroy(&svc->mu);
    jw__conn_release(svc->conn);
    free(svc);
}

static jw_status subscribe_verbs(jw_service *svc)
{
    char subject[300];
    for (int v = 0; v < N_VERBS; v++) {
        for (int depth = 0; depth < 3; depth++) {
            int n = snprintf(subject, sizeof subject, "$SRV.%s%s%s%s%s",
                             verb_names[v], depth ? "." : "",
                             depth ? svc->name : "", depth == 2 ? "." : "",
                             depth == 2 ? svc->id : "");
            if (n < 0 || (size_t)n >= sizeof subject)
                return jw__fail(JW_EINVAL, "service name '%s' is too long",
                                svc->name);
            jw_status st = jw__conn_subscribe_inline(
                svc->conn, subject, verb_handlers[v], svc,
                &svc->verbs[v * 3 + depth]);
            if (st)
                return st;
        }
    }
    return JW_OK;
}

jw_status jw_service_new(jw_conn *conn, const char *config_json,
                         jw_service **out)
{
    if (!out)
        return jw__fail(JW_EINVAL, "out is NULL");
    *out = NULL;
    if (!conn)
        return jw__fail(JW_EINVAL, "conn is NULL");
    json_t *o;
    jw_status st = parse_config("service", config_json, service_fields, &o);
    if (st)
        return st;
    const char *name = str_field(o, "name");
    const char *version = str_field(o, "version");
    const char *desc = str_field(o, "description");
    if (!name || !name_ok(name))
        st = jw__fail(JW_EINVAL, "service name '%s' must be letters, digits, "
                      "'-' and '_'", name ? name : "");
    else if (!version || !semver_ok(version))
        st = jw__fail(JW_EINVAL, "service version '%s' is not a semantic "
                      "version (such as \"1.0.0\")", version ? version : "");
    jw_service *svc = st ? NULL : calloc(1, sizeof *svc);
    if (!st && !svc)
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    if (st) {
        json_decref(o);
        return st;
    }
    pthread_mutex_init(&svc->mu, NULL);
    svc->conn = conn;
    jw__conn_ref(conn);
    svc->endpoints_tail = &svc->endpoints;
    svc->name = strdup(name);
    svc->version = strdup(version);
    svc->description = desc ? strdup(desc) : NULL;
    svc->metadata = metadata_of(o);
    svc->top.prefix = strdup("");
    char inbox[40];
    st = jw_conn_new_inbox(conn, inbox, sizeof inbox);
    if (st == JW_OK) {
        memcpy(svc->id, inbox + 7, 22); /* the random part: a NUID's form */
        st = resolve_queue("service", o, NULL, 0, &svc->top.queue);
    }
    json_decref(o);
    if (st == JW_OK && (!svc->name || !svc->version || !svc->metadata ||
                        !svc->top.prefix || (desc && !svc->description)))
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    svc->started_ns = jw__wall_ns();
    if (st == JW_OK)
        st = subscribe_verbs(svc);
    if (st) {
        jw_service_free(svc);
        return st;
    }
    *out = svc;
    return JW_OK;
}

static const field group_fields[] = {{"name", JSON_STRING},
                                     {"queue_group", JSON_STRING},
                                     {"queue_group_disabled", JSON_TRUE},
                                     {NULL, 0}};

jw_status jw_service_add_group(jw_service *svc, jw_service_group *parent,
                               const char *config_json,
                               jw_service_group **out)
{
    if (!out)
        return jw__fail(JW_EINVAL, "out is NULL");
    *out = NULL;
    if (!svc)
        return jw__fail(JW_EINVAL, "service is NULL");
    if (!parent)
        parent = &svc->top;
    json_t *o;
    jw_status st = parse_config("group", config_json, group_fields, &o);
    if (st)
        return st;
    const char *name = str_field(o, "name");
    jw_service_group *g = calloc(1, sizeof *g);
    if (!g) {
        json_decref(o);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    size_t n = strlen(parent->prefix) + (name ? strlen(name) : 0) + 2;
    g->prefix = malloc(n);
    if (g->prefix)
        snprintf(g->prefix, n, "%s%s%s", parent->prefix,
                 *parent->prefix && name && *name ? "." : "",
                 name ? name : "");
    st = g->prefix ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
    if (st == JW_OK && *g->prefix &&
        jw__subject_check(g->prefix, strlen(g->prefix), 1))
        st = jw__fail(JW_EINVAL, "group prefix '%s' is not a subject",
                      g->prefix);
    if (st == JW_OK)
        st = resolve_queue("group", o, parent->queue, !parent->queue,
                           &g->queue);
    json_decref(o);
    if (st) {
        free(g->prefix);
        free(g);
        return st;
    }
    pthread_mutex_lock(&svc->mu);
    g->next = svc->groups;
    svc->groups = g;
    pthread_mutex_unlock(&svc->mu);
    *out = g;
    return JW_OK;
}

/* ---- endpoints ---- */

static const field endpoint_fields[] = {
    {"name", JSON_STRING},           {"subject", JSON_STRING},
    {"metadata", JSON_OBJECT},       {"queue_group", JSON_STRING},
    {"queue_group_disabled", JSON_TRUE},
    {"pending_msgs_limit", JSON_INTEGER},
    {"pending_bytes_limit", JSON_INTEGER},
    {NULL, 0}};

/* What a handler the engine runs itself is wrapped in. */
static void on_request(jw_sub *sub, jw_msg *m, void *arg)
{
    JW_UNUSED(sub);
    jw_endpoint *e = arg;
    int64_t begun = jw_endpoint_begin(e);
    e->cb(e, m, e->arg);
    jw_endpoint_end(e, begun);
    jw_msg_free(m);
}

static jw_status endpoint_subscribe(jw_endpoint *e, json_t *o)
{
    jw_conn *c = e->svc->conn;
    jw_status st = e->cb ? jw_conn_subscribe_cb(c, e->subject, e->queue,
                                                on_request, e, &e->sub)
                         : jw_conn_subscribe(c, e->subject, e->queue, &e->sub);
    json_t *msgs = json_object_get(o, "pending_msgs_limit");
    json_t *bytes = json_object_get(o, "pending_bytes_limit");
    if (st == JW_OK && (msgs || bytes))
        st = jw_sub_set_pending_limits(
            e->sub,
            msgs ? json_integer_value(msgs) : c->opts.pending_msgs_limit,
            bytes ? json_integer_value(bytes) : c->opts.pending_bytes_limit);
    return st;
}

jw_status jw_service_add_endpoint(jw_service *svc, jw_service_group *group,
                                  const char *config_json, jw_endpoint_cb cb,
                                  void *arg, jw_endpoint **out)
{
    if (out)
        *out = NULL;
    if (!svc)
        return jw__fail(JW_EINVAL, "service is NULL");
    if (!group)
        group = &svc->top;
    json_t *o;
    jw_status st = parse_config("endpoint", config_json, endpoint_fields, &o);
    if (st)
        return st;
    const char *name = str_field(o, "name");
    const char *subject = str_field(o, "subject");
    if (!subject || !*subject)
        subject = name;
    jw_endpoint *e = NULL;
    if (!name || !name_ok(name))
        st = jw__fail(JW_EINVAL, "endpoint name '%s' must be letters, "
                      "digits, '-' and '_'", name ? name : "");
    else if (!(e = calloc(1, sizeof *e)))
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    if (st == JW_OK) {
        size_t n = strlen(group->prefix) + strlen(subject) + 2;
        e->svc = svc;
        e->cb = cb;
        e->arg = arg;
        e->name = strdup(name);
        e->metadata = metadata_of(o);
        if ((e->subject = malloc(n)))
            snprintf(e->subject, n, "%s%s%s", group->prefix,
                     *group->prefix ? "." : "", subject);
        if (!e->name || !e->metadata || !e->subject)
            st = jw__fail(JW_ENO_MEMORY, "out of memory");
        else if (jw__subject_check(e->subject, strlen(e->subject), 1))
            st = jw__fail(JW_EINVAL, "endpoint subject '%s' is not a "
                          "subject", e->subject);
    }
    if (st == JW_OK)
        st = resolve_queue("endpoint", o, group->queue, !group->queue,
                           &e->queue);
    pthread_mutex_lock(&svc->mu);
    if (st == JW_OK && svc->stopping)
        st = jw__fail(JW_EINVALID_SUBSCRIPTION, "service '%s' is stopped",
                      svc->name);
    pthread_mutex_unlock(&svc->mu);
    if (st == JW_OK)
        st = endpoint_subscribe(e, o);
    json_decref(o);
    if (st) {
        if (e) {
            jw_sub_free(e->sub);
            free(e->name);
            free(e->subject);
            free(e->queue);
            json_decref(e->metadata);
            free(e);
        }
        return st;
    }
    pthread_mutex_lock(&svc->mu);
    *svc->endpoints_tail = e;
    svc->endpoints_tail = &e->next;
    pthread_mutex_unlock(&svc->mu);
    if (out)
        *out = e;
    return JW_OK;
}

jw_status jw_service_set_stats_handler(jw_service *svc, jw_service_stats_cb cb,
                                       void *arg)
{
    if (!svc)
        return jw__fail(JW_EINVAL, "service is NULL");
    pthread_mutex_lock(&svc->mu);
    svc->stats_cb = cb;
    svc->stats_arg = arg;
    pthread_mutex_unlock(&svc->mu);
    return JW_OK;
}

jw_status jw_endpoint_set_stats_data(jw_endpoint *ep, const char *json)
{
    if (!ep)
        return jw__fail(JW_EINVAL, "endpoint is NULL");
    json_t *check = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
    if (json && !check)
        return jw__fail(JW_EINVAL, "stats data is not JSON");
    json_decref(check);
    char *copy = json ? strdup(json) : NULL;
    if (json && !copy)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    pthread_mutex_lock(&ep->svc->mu);
    free(ep->data);
    ep->data = copy;
    pthread_mutex_unlock(&ep->svc->mu);
    return JW_OK;
}

/* ---- getters ---- */

const char *jw_service_id(const jw_service *svc)
{
    return svc ? svc->id : NULL;
}

const char *jw_service_name(const jw_service *svc)
{
    return svc ? svc->name : NULL;
}

const char *jw_service_version(const jw_service *svc)
{
    return svc ? svc->version : NULL;
}

jw_service *jw_endpoint_service(const jw_endpoint *ep)
{
    return ep ? ep->svc : NULL;
}

const char *jw_endpoint_name(const jw_endpoint *ep)
{
    return ep ? ep->name : NULL;
}

const char *jw_endpoint_subject(const jw_endpoint *ep)
{
    return ep ? ep->subject : NULL;
}

const char *jw_endpoint_queue_group(const jw_endpoint *ep)
{
    return ep ? ep->queue : NULL;
}

jw_sub *jw_endpoint_sub(const jw_endpoint *ep)
{
    return ep && !ep->cb ? ep->sub : NULL;
}

static jw_status dump(json_t *o, char **json)
{
    *json = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return *json ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
}

jw_status jw_service_info(jw_service *svc, char **json)
{
    if (!json)
        return jw__fail(JW_EINVAL, "json is NULL");
    *json = NULL;
    if (!svc)
        return jw__fail(JW_EINVAL, "service is NULL");
    return dump(info_json(svc), json);
}

jw_status jw_service_stats(jw_service *svc, char **json)
{
    if (!json)
        return jw__fail(JW_EINVAL, "json is NULL");
    *json = NULL;
    if (!svc)
        return jw__fail(JW_EINVAL, "service is NULL");
    return dump(stats_json(svc), json);
}

jw_status jw_service_reset(jw_service *svc)
{
    if (!svc)
        return jw__fail(JW_EINVAL, "service is NULL");
    pthread_mutex_lock(&svc->mu);
    for (jw_endpoint *e = svc->endpoints; e; e = e->next) {
        e->requests = e->errors = 0;
        e->processing_ns = 0;
        free(e->last_error);
        e->last_error = NULL;
    }
    svc->started_ns = jw__wall_ns();
    pthread_mutex_unlock(&svc->mu);
    return JW_OK;
}

/* ---- requests ---- */

/* Monotonic nanoseconds, never 0 (which jw_endpoint_end ignores). */
static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + 1;
}

int64_t jw_endpoint_begin(jw_endpoint *ep)
{
    return ep ? now_ns() : 0;
}

static void count(jw_endpoint *ep, int64_t begun, const char *code,
                  const char *description)
{
    int64_t took = begun ? now_ns() - begun : 0;
    char *last = NULL;
    if (code) {
        size_t n = strlen(code) + strlen(description) + 2;
        if ((last = malloc(n)))
            snprintf(last, n, "%s:%s", code, description);
    }
    pthread_mutex_lock(&ep->svc->mu);
    if (begun) {
        ep->requests++;
        ep->processing_ns += took > 0 ? took : 0;
        ep->handled++;
    }
    if (code) {
        ep->errors++;
        free(ep->last_error);
        ep->last_error = last;
    }
    pthread_mutex_unlock(&ep->svc->mu);
}

void jw_endpoint_end(jw_endpoint *ep, int64_t begun)
{
    if (ep && begun)
        count(ep, begun, NULL, NULL);
}

static jw_status respond_error(const jw_msg *req, const char *code,
                               const char *description, const void *data,
                               size_t len)
{
    const char *reply = jw_msg_reply(req);
    if (!reply || !req->conn)
        return jw__fail(JW_EINVAL, "request has no reply subject");
    jw__hdr_builder h = {0};
    jw_status st = jw__hdr_add(&h, ERROR_HEADER, description);
    if (st == JW_OK)
        st = jw__hdr_add(&h, ERROR_CODE_HEADER, code);
    if (st == JW_OK && h.cap < h.len + 2) {
        char *grown = realloc(h.buf, h.len + 2);
        st = grown ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
        if (grown)
            h.buf = grown;
    }
    if (st == JW_OK) {
        memcpy(h.buf + h.len, "\r\n", 2);
        st = jw__conn_publish(req->conn, reply, NULL, h.buf, h.len + 2,
                              data ? data : "", data ? len : 0, 1);
    }
    jw__hdr_free(&h);
    return st;
}

jw_status jw_endpoint_respond_error(jw_endpoint *ep, const jw_msg *req,
                                    const char *code, const char *description,
                                    const void *data, size_t len)
{
    if (!ep || !req)
        return jw__fail(JW_EINVAL, "endpoint and request must not be NULL");
    if (!code || !*code || !description || !*description)
        return jw__fail(JW_EINVAL, "an error needs a code and a description");
    if (!data && len)
        return jw__fail(JW_EINVAL, "data is NULL");
    jw_status st = respond_error(req, code, description, data, len);
    if (st == JW_OK)
        count(ep, 0, code, description);
    return st;
}

jw_status jw_endpoint_fail(jw_endpoint *ep, const jw_msg *req, int64_t begun,
                           const char *description)
{
    if (!ep)
        return jw__fail(JW_EINVAL, "endpoint is NULL");
    /* An error's text may have several lines (a traceback); a header
     * value has one. */
    char text[512];
    snprintf(text, sizeof text, "%s",
             description && *description ? description : "handler failed");
    for (char *p = text; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    jw_status st = req && jw_msg_reply(req)
                       ? respond_error(req, HANDLER_FAILED_CODE, text, NULL, 0)
                       : JW_OK;
    count(ep, begun, HANDLER_FAILED_CODE, text);
    return st;
}

/* ---- stopping ---- */

jw_status jw_service_stop(jw_service *svc)
{
    if (!svc)
        return jw__fail(JW_EINVAL, "service is NULL");
    pthread_mutex_lock(&svc->mu);
    int was = svc->stopping;
    svc->stopping = 1;
    pthread_mutex_unlock(&svc->mu);
    if (was)
        return JW_OK;
    for (int i = 0; i < N_VERBS * 3; i++)
        jw_sub_unsubscribe(svc->verbs[i]);
    jw_status st = JW_OK;
    for (jw_endpoint *e = svc->endpoints; e; e = e->next) {
        jw_status one = jw_sub_drain(e->sub);
        /* A connection already closed has nothing left to drain. */
        if (one && one != JW_ECONNECTION_CLOSED &&
            one != JW_EINVALID_SUBSCRIPTION && st == JW_OK)
            st = one;
    }
    return st;
}

/* An endpoint's subscription has nothing more to hand out, and every
 * request it received was dealt with: dropped by the pending limits,
 * discarded by a close (of the connection, say), or taken and ended
 * (svc->mu held). */
static int endpoint_done(const jw_endpoint *e)
{
    jw_sub *sub = e->sub;
    if (!sub)
        return 1;
    pthread_mutex_lock(&sub->mu);
    int done = sub->state == JW__SUB_CLOSED && !sub->head && !sub->in_handler;
    pthread_mutex_unlock(&sub->mu);
    return done && e->handled + atomic_load(&sub->dropped) +
                           atomic_load(&sub->discarded) >=
                       atomic_load(&sub->delivered);
}

int jw_service_stopped(const jw_service *svc)
{
    if (!svc)
        return 1;
    jw_service *s = (jw_service *)svc;
    pthread_mutex_lock(&s->mu);
    int state = s->stopping ? 1 : 0;
    for (jw_endpoint *e = s->endpoints; e && state == 1; e = e->next)
        if (!endpoint_done(e))
            state = -1;
    pthread_mutex_unlock(&s->mu);
    return state;
}

jw_status jw_service_wait(jw_service *svc, int64_t timeout_ms)
{
    if (!svc)
        return jw__fail(JW_EINVAL, "service is NULL");
    if (!svc->stopping)
        return jw__fail(JW_EINVAL, "service '%s' was not stopped", svc->name);
    /* Stopping ends in other threads' work (drains, handlers): look again
     * every few milliseconds, on the service's connection's loop. */
    int64_t deadline = jw__deadline(timeout_ms);
    jw_conn *c = svc->conn;
    pthread_mutex_lock(&c->mu);
    jw_status st = JW_OK;
    for (;;) {
        pthread_mutex_unlock(&c->mu);
        int done = jw_service_stopped(svc) == 1;
        pthread_mutex_lock(&c->mu);
        if (done)
            break;
        int64_t now = jw__now_us();
        if (deadline >= 0 && now >= deadline) {
            st = jw__fail(JW_ETIMEOUT, "service '%s' still handles requests",
                          svc->name);
            break;
        }
        int64_t step = now + 5000;
        st = jw__loop_wait_user(c->loop, &c->cond, &c->mu,
                                deadline >= 0 && deadline < step ? deadline
                                                                 : step);
        if (st == JW_ETIMEOUT)
            st = JW_OK;
        else if (st)
            break;
    }
    pthread_mutex_unlock(&c->mu);
    return st;
}

/* ---- discovery ---- */

jw_status jw_service_discover(jw_conn *conn, jw_service_verb verb,
                              const char *name, const char *id,
                              int64_t timeout_ms, int max_responses,
                              char **json)
{
    if (!json)
        return jw__fail(JW_EINVAL, "json is NULL");
    *json = NULL;
    if (!conn)
        return jw__fail(JW_EINVAL, "conn is NULL");
    if ((int)verb < 0 || (int)verb >= N_VERBS)
        return jw__fail(JW_EINVAL, "no service verb %d", (int)verb);
    if (id && !name)
        return jw__fail(JW_EINVAL, "a service id needs the service's name");
    if ((name && !name_ok(name)) || (id && !name_ok(id)))
        return jw__fail(JW_EINVAL, "service name '%s' and id '%s' must be "
                        "letters, digits, '-' and '_'", name ? name : "",
                        id ? id : "");
    char subject[300], inbox[40];
    snprintf(subject, sizeof subject, "$SRV.%s%s%s%s%s", verb_names[verb],
             name ? "." : "", name ? name : "", id ? "." : "", id ? id : "");
    jw_sub *sub = NULL;
    jw_status st = jw_conn_new_inbox(conn, inbox, sizeof inbox);
    if (st == JW_OK)
        st = jw_conn_subscribe(conn, inbox, NULL, &sub);
    if (st == JW_OK)
        st = jw_conn_publish_reply(conn, subject, inbox, "", 0);
    json_t *all = json_array();
    int64_t deadline = jw__deadline(timeout_ms);
    while (st == JW_OK &&
           (max_responses <= 0 || (int)json_array_size(all) < max_responses)) {
        int64_t left = deadline < 0 ? -1 : (deadline - jw__now_us()) / 1000;
        if (deadline >= 0 && left <= 0)
            break;
        jw_msg *m = NULL;
        st = jw_sub_next(sub, left, &m);
        if (st == JW_ETIMEOUT) {
            st = JW_OK;
            break;
        }
        if (st)
            break;
        if (jw_msg_status_code(m) == 503) { /* no service at all */
            jw_msg_free(m);
            break;
        }
        json_t *one = json_loadb(m->data, m->data_len, 0, NULL);
        if (json_is_object(one))
            json_array_append_new(all, one);
        else
            json_decref(one);
        jw_msg_free(m);
    }
    jw_sub_free(sub);
    if (st == JW_OK)
        st = dump(all, json);
    else
        json_decref(all);
    return st;
}
