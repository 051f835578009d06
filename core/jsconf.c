/*
 * Stream and consumer configurations: the user's JSON (durations in ms) is
 * checked against the fields each server version knows and converted to
 * the wire form (durations in ns). A 2.9.10 server ignores unknown keys, so
 * a misspelt or too-new field would otherwise be dropped without a word.
 */
#include "js.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum field_type {
    F_ANY,      /* not checked here; the server validates it */
    F_STR,
    F_INT,
    F_BOOL,
    F_STRS,     /* array of strings */
    F_OBJ,
    F_DUR,      /* ms here, ns on the wire */
    F_DURS      /* array of durations */
};

typedef struct field {
    const char *name;
    enum field_type type;
    int since; /* first server version that knows it */
} field;

#define V(a, b, c) ((a) * 10000 + (b) * 100 + (c))

static const field stream_fields[] = {
    {"name", F_STR, 0},
    {"description", F_STR, 0},
    {"subjects", F_STRS, 0},
    {"retention", F_STR, 0},
    {"max_consumers", F_INT, 0},
    {"max_msgs", F_INT, 0},
    {"max_bytes", F_INT, 0},
    {"max_age", F_DUR, 0},
    {"max_msgs_per_subject", F_INT, 0},
    {"max_msg_size", F_INT, 0},
    {"discard", F_STR, 0},
    {"storage", F_STR, 0},
    {"num_replicas", F_INT, 0},
    {"no_ack", F_BOOL, 0},
    {"duplicate_window", F_DUR, 0},
    {"placement", F_OBJ, 0},
    {"mirror", F_OBJ, 0},
    {"sources", F_ANY, 0},
    {"republish", F_OBJ, V(2, 8, 3)},
    {"allow_direct", F_BOOL, V(2, 9, 0)},
    {"mirror_direct", F_BOOL, V(2, 9, 0)},
    {"discard_new_per_subject", F_BOOL, V(2, 9, 0)},
    {"sealed", F_BOOL, 0},
    {"deny_delete", F_BOOL, 0},
    {"deny_purge", F_BOOL, 0},
    {"allow_rollup_hdrs", F_BOOL, 0},
    {"template_owner", F_STR, 0},
    {"compression", F_STR, V(2, 10, 0)},
    {"first_seq", F_INT, V(2, 10, 0)},
    {"subject_transform", F_OBJ, V(2, 10, 0)},
    {"metadata", F_OBJ, V(2, 10, 0)},
    {"consumer_limits", F_OBJ, V(2, 10, 0)},
    {"allow_msg_ttl", F_BOOL, V(2, 11, 0)},
    {"subject_delete_marker_ttl", F_DUR, V(2, 11, 0)},
    {NULL, F_ANY, 0},
};

static const field consumer_fields[] = {
    {"durable_name", F_STR, 0},
    {"name", F_STR, V(2, 9, 0)},
    {"description", F_STR, 0},
    {"deliver_policy", F_STR, 0},
    {"opt_start_seq", F_INT, 0},
    {"opt_start_time", F_STR, 0},
    {"ack_policy", F_STR, 0},
    {"ack_wait", F_DUR, 0},
    {"max_deliver", F_INT, 0},
    {"backoff", F_DURS, 0},
    {"filter_subject", F_STR, 0},
    {"replay_policy", F_STR, 0},
    {"rate_limit_bps", F_INT, 0},
    {"sample_freq", F_STR, 0},
    {"max_waiting", F_INT, 0},
    {"max_ack_pending", F_INT, 0},
    {"flow_control", F_BOOL, 0},
    {"idle_heartbeat", F_DUR, 0},
    {"headers_only", F_BOOL, 0},
    {"max_batch", F_INT, 0},
    {"max_expires", F_DUR, 0},
    {"max_bytes", F_INT, V(2, 8, 3)},
    {"deliver_subject", F_STR, 0},
    {"deliver_group", F_STR, 0},
    {"inactive_threshold", F_DUR, 0},
    {"num_replicas", F_INT, 0},
    {"mem_storage", F_BOOL, 0},
    {"filter_subjects", F_STRS, V(2, 10, 0)},
    {"metadata", F_OBJ, V(2, 10, 0)},
    {"pause_until", F_STR, V(2, 11, 0)},
    {"priority_groups", F_STRS, V(2, 11, 0)},
    {"priority_policy", F_STR, V(2, 11, 0)},
    {"priority_timeout", F_DUR, V(2, 11, 0)},
    {NULL, F_ANY, 0},
};

static const field *fields_of(int kind)
{
    return kind == JW__JS_STREAM ? stream_fields : consumer_fields;
}

static const field *find(const field *fields, const char *name)
{
    for (const field *f = fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

int jw__js_version_parse(const char *text)
{
    int a = 0, b = 0, c = 0;
    if (!text || sscanf(text, "%d.%d.%d", &a, &b, &c) < 2)
        return 0;
    return V(a, b, c);
}

void jw__js_version_text(int version, char *buf, size_t size)
{
    snprintf(buf, size, "%d.%d.%d", version / 10000, version / 100 % 100,
             version % 100);
}

jw_status jw__js_require(const jw_js *js, int needed, const char *what)
{
    if (!js->version || js->version >= needed)
        return JW_OK;
    char need[32], have[32];
    jw__js_version_text(needed, need, sizeof need);
    jw__js_version_text(js->version, have, sizeof have);
    return jw__fail(JW_ENOT_SUPPORTED,
                    "%s needs nats-server %s or newer (connected server: %s)",
                    what, need, have);
}

static const char *type_name(enum field_type t)
{
    switch (t) {
    case F_STR: return "a string";
    case F_INT: return "an integer";
    case F_BOOL: return "true or false";
    case F_STRS: return "an array of strings";
    case F_OBJ: return "an object";
    case F_DUR: return "a duration in milliseconds (a number >= 0)";
    case F_DURS: return "an array of durations in milliseconds";
    default: return "a value";
    }
}

/* Milliseconds (integer or real, >= 0) to nanoseconds. */
static int ms_to_ns(const json_t *v, json_int_t *ns)
{
    double ms;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > INT64_MAX / 1000000)
            return -1;
        *ns = i * 1000000;
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    ms = json_real_value(v);
    if (!(ms >= 0) || ms > (double)(INT64_MAX / 1000000))
        return -1;
    *ns = (json_int_t)(ms * 1e6 + 0.5); /* ms >= 0: rounds */
    return 0;
}

static int type_ok(enum field_type t, const json_t *v)
{
    switch (t) {
    case F_STR: return json_is_string(v);
    case F_INT: return json_is_integer(v);
    case F_BOOL: return json_is_boolean(v);
    case F_OBJ: return json_is_object(v) || json_is_null(v);
    case F_STRS: {
        if (json_is_null(v))
            return 1;
        if (!json_is_array(v))
            return 0;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) if (!json_is_string(e)) return 0;
        return 1;
    }
    default: return 1;
    }
}

/* Convert one field in place (durations); -1 when its value is bad. */
static int convert(json_t *obj, const char *key, const field *f)
{
    json_t *v = json_object_get(obj, key);
    json_int_t ns;
    if (f->type == F_DUR) {
        if (ms_to_ns(v, &ns))
            return -1;
        return json_object_set_new(obj, key, json_integer(ns));
    }
    if (f->type == F_DURS) {
        if (json_is_null(v))
            return 0;
        if (!json_is_array(v))
            return -1;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (ms_to_ns(e, &ns))
                return -1;
            json_array_set_new(v, i, json_integer(ns));
        }
        return 0;
    }
    return type_ok(f->type, v) ? 0 : -1;
}

jw_status jw__js_config_to_wire(int kind, const char *text,
                                int server_version, json_t **out)
{
    *out = NULL;
    const char *what = kind == JW__JS_STREAM ? "stream" : "consumer";
    if (!text)
        return jw__fail(JW_EINVAL, "%s configuration is NULL", what);
    json_error_t jerr;
    json_t *cfg = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!cfg)
        return jw__fail(JW_EINVAL,
                        "%s configuration is not valid JSON: %s (line %d, "
                        "column %d)",
                        what, jerr.text, jerr.line, jerr.column);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return jw__fail(JW_EINVAL, "%s configuration must be a JSON object",
                        what);
    }
    const field *fields = fields_of(kind);
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(cfg, tmp, key, v)
    {
        const field *f = find(fields, key);
        jw_status st = JW_OK;
        if (!f) {
            st = jw__fail(JW_EINVAL,
                          "unknown %s configuration field '%s' (see "
                          "docs/jetstream.md for the fields)",
                          what, key);
        } else if (server_version && f->since > server_version) {
            char need[32], have[32];
            jw__js_version_text(f->since, need, sizeof need);
            jw__js_version_text(server_version, have, sizeof have);
            st = jw__fail(JW_ENOT_SUPPORTED,
                          "%s configuration field '%s' needs nats-server "
                          "%s or newer (connected server: %s)",
                          what, key, need, have);
        } else if (convert(cfg, key, f)) {
            st = jw__fail(JW_EINVAL, "%s configuration field '%s' must be %s",
                          what, key, type_name(f->type));
        }
        if (st) {
            json_decref(cfg);
            return st;
        }
    }
    *out = cfg;
    return JW_OK;
}

/* Nanoseconds to milliseconds: whole numbers stay integers. */
static json_t *ns_to_ms(const json_t *v)
{
    json_int_t ns = json_integer_value(v);
    if (ns % 1000000 == 0)
        return json_integer(ns / 1000000);
    return json_real((double)ns / 1e6);
}

void jw__js_config_from_wire(int kind, json_t *cfg)
{
    if (!json_is_object(cfg))
        return;
    for (const field *f = fields_of(kind); f->name; f++) {
        json_t *v = json_object_get(cfg, f->name);
        if (!v)
            continue;
        if (f->type == F_DUR && json_is_integer(v)) {
            json_object_set_new(cfg, f->name, ns_to_ms(v));
        } else if (f->type == F_DURS && json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) if (json_is_integer(e))
                json_array_set_new(v, i, ns_to_ms(e));
        }
    }
}

jw_status jw__js_info_out(int kind, json_t *info, char **out)
{
    if (!out)
        return JW_OK;
    *out = NULL;
    jw__js_config_from_wire(kind, json_object_get(info, "config"));
    json_object_del(info, "type");
    *out = json_dumps(info, JSON_COMPACT);
    if (!*out)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    return JW_OK;
}

jw_status jw__js_check_name(const char *what, const char *name)
{
    if (!name || !*name)
        return jw__fail(JW_EINVAL, "%s name is empty", what);
    size_t n = strlen(name);
    if (n > 255)
        return jw__fail(JW_EINVAL, "%s name is longer than 255 bytes", what);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch <= ' ' || ch == '.' || ch == '*' || ch == '>' || ch == '/' ||
            ch == '\\' || ch == 127)
            return jw__fail(JW_EINVAL,
                            "invalid %s name '%s': no spaces, '.', '*', '>', "
                            "'/' or '\\' allowed",
                            what, name);
    }
    return JW_OK;
}
