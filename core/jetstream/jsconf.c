/*
 * Configurations: the one table of the fields of stream, consumer and KV
 * bucket configurations (type, the first server version that knows each),
 * and the conversions between the user's JSON and the wire's. Durations
 * cross the ABI in the context's duration unit (milliseconds unless a
 * binding asked for seconds) and the wire in nanoseconds. A field the
 * table does not know goes to a server that refuses unknown fields
 * (2.11 and newer) unchanged, so a configuration read from any server can
 * be written back; an older server would ignore it without a word, so
 * there it is refused.
 */
#include "js.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum field_type {
    F_ANY,  /* not checked here; the server validates it */
    F_STR,
    F_INT,
    F_BOOL,
    F_STRS, /* array of strings */
    F_OBJ,
    F_DUR,  /* the context's unit here, ns on the wire */
    F_DURS  /* array of durations */
};

typedef struct field {
    const char *name;
    enum field_type type;
    int since; /* first server version that knows it */
    const struct field *members; /* F_OBJ: fields of its own, or NULL */
    const char *const *values;   /* F_STR: the values it takes, or NULL */
    const char *alias;           /* another name callers may use */
} field;

/* A table's rows: a field; a string of one of the values; a field callers
 * may also name as nats.go and nats-py do. */
#define FIELD(name, type, since, members)                                    \
    {name, type, since, members, NULL, NULL}
#define ENUM(name, since, values) {name, F_STR, since, NULL, values, NULL}
#define ALIAS(name, type, alias) {name, type, 0, NULL, NULL, alias}

/* The values of the enumerations (the server's spellings). */
static const char *const retention_values[] = {"limits", "interest",
                                               "workqueue", NULL};
static const char *const storage_values[] = {"file", "memory", NULL};
static const char *const discard_values[] = {"old", "new", NULL};
static const char *const compression_values[] = {"none", "s2", NULL};
static const char *const deliver_values[] = {
    "all", "last", "new", "by_start_sequence", "by_start_time",
    "last_per_subject", NULL};
static const char *const ack_values[] = {"none", "all", "explicit", NULL};
static const char *const replay_values[] = {"instant", "original", NULL};
static const char *const priority_values[] = {
    "none", "overflow", "pinned_client", "prioritized", NULL};

#define V(a, b, c) ((a) * 10000 + (b) * 100 + (c))
/* The first server that refuses fields it does not know. */
#define STRICT_SINCE V(2, 11, 0)

static const field consumer_limits_fields[] = {
    FIELD("inactive_threshold", F_DUR, 0, NULL),
    FIELD("max_ack_pending", F_INT, 0, NULL),
    FIELD(NULL, F_ANY, 0, NULL),
};

static const field stream_fields[] = {
    FIELD("name", F_STR, 0, NULL),
    FIELD("description", F_STR, 0, NULL),
    FIELD("subjects", F_STRS, 0, NULL),
    ENUM("retention", 0, retention_values),
    FIELD("max_consumers", F_INT, 0, NULL),
    FIELD("max_msgs", F_INT, 0, NULL),
    FIELD("max_bytes", F_INT, 0, NULL),
    FIELD("max_age", F_DUR, 0, NULL),
    FIELD("max_msgs_per_subject", F_INT, 0, NULL),
    FIELD("max_msg_size", F_INT, 0, NULL),
    ENUM("discard", 0, discard_values),
    ENUM("storage", 0, storage_values),
    ALIAS("num_replicas", F_INT, "replicas"),
    FIELD("no_ack", F_BOOL, 0, NULL),
    FIELD("duplicate_window", F_DUR, 0, NULL),
    FIELD("placement", F_OBJ, 0, NULL),
    FIELD("mirror", F_OBJ, 0, NULL),
    FIELD("sources", F_ANY, 0, NULL),
    FIELD("republish", F_OBJ, V(2, 8, 3), NULL),
    FIELD("allow_direct", F_BOOL, V(2, 9, 0), NULL),
    FIELD("mirror_direct", F_BOOL, V(2, 9, 0), NULL),
    FIELD("discard_new_per_subject", F_BOOL, V(2, 9, 0), NULL),
    FIELD("sealed", F_BOOL, 0, NULL),
    FIELD("deny_delete", F_BOOL, 0, NULL),
    FIELD("deny_purge", F_BOOL, 0, NULL),
    FIELD("allow_rollup_hdrs", F_BOOL, 0, NULL),
    FIELD("template_owner", F_STR, 0, NULL),
    ENUM("compression", V(2, 10, 0), compression_values),
    FIELD("first_seq", F_INT, V(2, 10, 0), NULL),
    FIELD("subject_transform", F_OBJ, V(2, 10, 0), NULL),
    FIELD("metadata", F_OBJ, V(2, 10, 0), NULL),
    FIELD("consumer_limits", F_OBJ, V(2, 10, 0), consumer_limits_fields),
    FIELD("allow_msg_ttl", F_BOOL, V(2, 11, 0), NULL),
    FIELD("subject_delete_marker_ttl", F_DUR, V(2, 11, 0), NULL),
    FIELD("allow_msg_counter", F_BOOL, V(2, 12, 0), NULL),
    FIELD("allow_atomic", F_BOOL, V(2, 12, 0), NULL),
    FIELD("allow_msg_schedules", F_BOOL, V(2, 12, 0), NULL),
    FIELD("persist_mode", F_STR, V(2, 12, 0), NULL),
    FIELD("allow_batched", F_BOOL, V(2, 14, 0), NULL),
    FIELD(NULL, F_ANY, 0, NULL),
};

static const field consumer_fields[] = {
    ALIAS("durable_name", F_STR, "durable"),
    FIELD("name", F_STR, V(2, 9, 0), NULL),
    FIELD("description", F_STR, 0, NULL),
    ENUM("deliver_policy", 0, deliver_values),
    FIELD("opt_start_seq", F_INT, 0, NULL),
    FIELD("opt_start_time", F_STR, 0, NULL),
    ENUM("ack_policy", 0, ack_values),
    FIELD("ack_wait", F_DUR, 0, NULL),
    FIELD("max_deliver", F_INT, 0, NULL),
    FIELD("backoff", F_DURS, 0, NULL),
    FIELD("filter_subject", F_STR, 0, NULL),
    ENUM("replay_policy", 0, replay_values),
    FIELD("rate_limit_bps", F_INT, 0, NULL),
    FIELD("sample_freq", F_STR, 0, NULL),
    FIELD("max_waiting", F_INT, 0, NULL),
    FIELD("max_ack_pending", F_INT, 0, NULL),
    FIELD("flow_control", F_BOOL, 0, NULL),
    FIELD("idle_heartbeat", F_DUR, 0, NULL),
    FIELD("headers_only", F_BOOL, 0, NULL),
    FIELD("max_batch", F_INT, 0, NULL),
    FIELD("max_expires", F_DUR, 0, NULL),
    FIELD("max_bytes", F_INT, V(2, 8, 3), NULL),
    FIELD("deliver_subject", F_STR, 0, NULL),
    FIELD("deliver_group", F_STR, 0, NULL),
    FIELD("inactive_threshold", F_DUR, 0, NULL),
    ALIAS("num_replicas", F_INT, "replicas"),
    FIELD("mem_storage", F_BOOL, 0, NULL),
    FIELD("filter_subjects", F_STRS, V(2, 10, 0), NULL),
    FIELD("metadata", F_OBJ, V(2, 10, 0), NULL),
    FIELD("pause_until", F_STR, V(2, 11, 0), NULL),
    FIELD("priority_groups", F_STRS, V(2, 11, 0), NULL),
    ENUM("priority_policy", V(2, 11, 0), priority_values),
    FIELD("priority_timeout", F_DUR, V(2, 11, 0), NULL),
    FIELD(NULL, F_ANY, 0, NULL),
};

/* A KV bucket's configuration is ours (kv.c makes the stream's from it):
 * a field not here is refused whatever the server. */
static const field kv_fields[] = {
    FIELD("bucket", F_STR, 0, NULL),
    FIELD("description", F_STR, 0, NULL),
    FIELD("history", F_INT, 0, NULL),
    FIELD("ttl", F_DUR, 0, NULL),
    FIELD("max_value_size", F_INT, 0, NULL),
    FIELD("max_bytes", F_INT, 0, NULL),
    ENUM("storage", 0, storage_values),
    FIELD("replicas", F_INT, 0, NULL),
    FIELD("republish", F_OBJ, V(2, 8, 3), NULL),
    FIELD("placement", F_OBJ, 0, NULL),
    FIELD("mirror", F_OBJ, V(2, 9, 0), NULL),
    FIELD("compression", F_BOOL, V(2, 10, 0), NULL),
    FIELD("metadata", F_OBJ, V(2, 10, 0), NULL),
    FIELD("sources", F_ANY, V(2, 10, 0), NULL),
    FIELD("limit_marker_ttl", F_DUR, V(2, 11, 0), NULL),
    FIELD(NULL, F_ANY, 0, NULL),
};

/* An object store bucket's configuration is ours too (objstore.c makes
 * the stream's). */
static const field obs_fields[] = {
    FIELD("bucket", F_STR, 0, NULL),
    FIELD("description", F_STR, 0, NULL),
    FIELD("ttl", F_DUR, 0, NULL),
    FIELD("max_bytes", F_INT, 0, NULL),
    ENUM("storage", 0, storage_values),
    FIELD("replicas", F_INT, 0, NULL),
    FIELD("placement", F_OBJ, 0, NULL),
    FIELD("compression", F_BOOL, V(2, 10, 0), NULL),
    FIELD("metadata", F_OBJ, V(2, 10, 0), NULL),
    FIELD(NULL, F_ANY, 0, NULL),
};

static const struct {
    const char *name; /* also what messages call it */
    const field *fields;
    int open;        /* the server's schema: unknown fields may pass */
    const char *doc; /* the page whose table lists the fields */
} kinds[] = {
    [JW__JS_STREAM] = {"stream", stream_fields, 1, "docs/jetstream.md"},
    [JW__JS_CONSUMER] = {"consumer", consumer_fields, 1, "docs/jetstream.md"},
    [JW__JS_KV] = {"bucket", kv_fields, 0, "docs/kv.md"},
    [JW__JS_OBS] = {"object_store", obs_fields, 0, "docs/objects.md"},
};

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

/* The JetStream API level each release brought (ADR-44; nats-server's
 * JSApiLevel), newest last. */
static const struct {
    int version, level;
} api_levels[] = {
    {V(2, 11, 0), 1},
    {V(2, 12, 0), 2},
    {V(2, 14, 0), 4},
    {V(2, 15, 0), 5},
};

int jw__js_level_of_version(int version)
{
    int level = 0;
    for (size_t i = 0; i < sizeof api_levels / sizeof *api_levels; i++)
        if (version >= api_levels[i].version)
            level = api_levels[i].level;
    return level;
}

jw_status jw__js_require(jw_js *js, int needed, const char *what)
{
    char need[32], have[32];
    jw__js_version_text(needed, need, sizeof need);
    jw__js_version_text(js->version, have, sizeof have);
    if (js->version && js->version < needed)
        return jw__fail(JW_ENOT_SUPPORTED,
                        "%s needs nats-server %s or newer (connected "
                        "server: %s)",
                        what, need, have);
    /* The connected server may be newer than the JetStream servers behind
     * it (a leaf node, a domain): their API level says what they know. */
    int level = jw__js_level_of_version(needed);
    int known = level ? jw__js_api_level(js) : -1;
    if (known >= 0 && known < level)
        return jw__fail(JW_ENOT_SUPPORTED,
                        "%s needs nats-server %s or newer (JetStream API "
                        "level %d; the account's JetStream servers answer "
                        "at level %d, connected server: %s)",
                        what, need, level, known, have);
    return JW_OK;
}

static const char *type_name(enum field_type t)
{
    switch (t) {
    case F_STR: return "string";
    case F_INT: return "integer";
    case F_BOOL: return "boolean";
    case F_STRS: return "strings";
    case F_OBJ: return "object";
    case F_DUR: return "duration";
    case F_DURS: return "durations";
    default: return "any";
    }
}

static const char *type_text(enum field_type t, int64_t unit_ns)
{
    int s = unit_ns == 1000000000;
    switch (t) {
    case F_STR: return "a string";
    case F_INT: return "an integer";
    case F_BOOL: return "true or false";
    case F_STRS: return "an array of strings";
    case F_OBJ: return "an object";
    case F_DUR: return s ? "a duration in seconds (a number >= 0)"
                         : "a duration in milliseconds (a number >= 0)";
    case F_DURS: return s ? "an array of durations in seconds"
                          : "an array of durations in milliseconds";
    default: return "a value";
    }
}

/* A duration in the unit (integer or real, >= 0) to nanoseconds. */
static int to_ns(const json_t *v, int64_t unit_ns, json_int_t *ns)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > INT64_MAX / unit_ns)
            return -1;
        *ns = i * unit_ns;
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    double d = json_real_value(v) * (double)unit_ns;
    if (!(d >= 0) || d >= 9.2e18)
        return -1;
    *ns = (json_int_t)(d + 0.5); /* d >= 0: rounds */
    return 0;
}

/* Nanoseconds to the unit: whole numbers stay integers. */
static json_t *from_ns(json_int_t ns, int64_t unit_ns)
{
    if (ns % unit_ns == 0)
        return json_integer(ns / unit_ns);
    return json_real((double)ns / (double)unit_ns);
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

typedef struct conv {
    jw_js *js;
    const char *what; /* "stream", "consumer", "bucket" */
    int open;
    const char *doc;
    char path[128]; /* the field's name, "consumer_limits.x" inside */
} conv;

static jw_status to_wire(conv *cv, json_t *obj, const field *fields);

/* value must be one of f's: the server would answer another with an
 * unmarshalling error that names neither the field nor the choices. */
static jw_status check_value(const conv *cv, const field *f,
                             const char *value)
{
    char list[256] = "";
    size_t used = 0;
    for (const char *const *p = f->values; *p; p++) {
        if (strcmp(*p, value) == 0)
            return JW_OK;
        int n = snprintf(list + used, sizeof list - used, "%s\"%s\"",
                         p == f->values ? "" : ", ", *p);
        if (n > 0 && (size_t)n < sizeof list - used)
            used += (size_t)n;
    }
    return jw__fail(JW_EINVAL, "%s configuration field '%s' must be one of "
                               "%s, not \"%s\"",
                    cv->what, cv->path, list, value);
}

/* Rename the aliases among obj's keys (nats.go and nats-py spellings such
 * as "replicas" for num_replicas) to the server's names. */
static jw_status resolve_aliases(const conv *cv, json_t *obj,
                                 const field *fields)
{
    for (const field *f = fields; f->name; f++) {
        json_t *v = f->alias ? json_object_get(obj, f->alias) : NULL;
        if (!v)
            continue;
        if (json_object_get(obj, f->name))
            return jw__fail(JW_EINVAL, "%s configuration has both '%s' and "
                                       "'%s' (the same field)",
                            cv->what, f->alias, f->name);
        json_object_set(obj, f->name, v);
        json_object_del(obj, f->alias);
    }
    return JW_OK;
}

/* Convert one known field in place. */
static jw_status field_to_wire(conv *cv, json_t *obj, const char *key,
                               const field *f)
{
    int64_t unit = cv->js->unit_ns;
    json_t *v = json_object_get(obj, key);
    json_int_t ns;
    int ok = 1;
    if (f->type == F_DUR) {
        ok = !to_ns(v, unit, &ns) &&
             !json_object_set_new(obj, key, json_integer(ns));
    } else if (f->type == F_DURS && !json_is_null(v)) {
        ok = json_is_array(v);
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            ok = ok && !to_ns(e, unit, &ns);
            if (ok)
                json_array_set_new(v, i, json_integer(ns));
        }
    } else {
        ok = type_ok(f->type, v);
    }
    if (!ok)
        return jw__fail(JW_EINVAL, "%s configuration field '%s' must be %s",
                        cv->what, cv->path, type_text(f->type, unit));
    if (f->values && json_is_string(v))
        return check_value(cv, f, json_string_value(v));
    if (f->members && json_is_object(v))
        return to_wire(cv, v, f->members);
    return JW_OK;
}

static jw_status to_wire(conv *cv, json_t *obj, const field *fields)
{
    int server = cv->js->version;
    size_t base = strlen(cv->path);
    const char *key;
    json_t *v;
    void *tmp;
    jw_status aliased = resolve_aliases(cv, obj, fields);
    if (aliased)
        return aliased;
    json_object_foreach_safe(obj, tmp, key, v)
    {
        snprintf(cv->path + base, sizeof cv->path - base, "%s%s",
                 base ? "." : "", key);
        const field *f = find(fields, key);
        jw_status st = JW_OK;
        if (!f && (!cv->open || (server && server < STRICT_SINCE))) {
            char have[32];
            jw__js_version_text(server, have, sizeof have);
            st = cv->open
                     ? jw__fail(JW_EINVAL,
                                "unknown %s configuration field '%s' (the "
                                "connected nats-server %s would ignore it; "
                                "%s lists the fields)",
                                cv->what, cv->path, have, cv->doc)
                     : jw__fail(JW_EINVAL,
                                "unknown %s configuration field '%s' (see "
                                "%s for the fields)",
                                cv->what, cv->path, cv->doc);
        } else if (f && f->since) {
            char what[192];
            snprintf(what, sizeof what, "%s configuration field '%s'",
                     cv->what, cv->path);
            st = jw__js_require(cv->js, f->since, what);
        }
        if (st == JW_OK && f)
            st = field_to_wire(cv, obj, key, f);
        if (st)
            return st;
        cv->path[base] = 0;
    }
    return JW_OK;
}

jw_status jw__js_config_to_wire(jw_js *js, int kind, const char *text,
                                json_t **out)
{
    *out = NULL;
    const char *what = kinds[kind].name;
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
    conv cv = {js, what, kinds[kind].open, kinds[kind].doc, ""};
    jw_status st = to_wire(&cv, cfg, kinds[kind].fields);
    if (st) {
        json_decref(cfg);
        return st;
    }
    *out = cfg;
    return JW_OK;
}

static void from_wire(const jw_js *js, json_t *cfg, const field *fields)
{
    if (!json_is_object(cfg))
        return;
    for (const field *f = fields; f->name; f++) {
        json_t *v = json_object_get(cfg, f->name);
        if (!v)
            continue;
        if (f->type == F_DUR && json_is_integer(v)) {
            json_object_set_new(cfg, f->name,
                                from_ns(json_integer_value(v), js->unit_ns));
        } else if (f->type == F_DURS && json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) if (json_is_integer(e))
                json_array_set_new(v, i,
                                   from_ns(json_integer_value(e),
                                           js->unit_ns));
        } else if (f->members) {
            from_wire(js, v, f->members);
        }
    }
}

void jw__js_config_from_wire(const jw_js *js, int kind, json_t *cfg)
{
    from_wire(js, cfg, kinds[kind].fields);
}

static int level_of(const field *fields, const json_t *cfg)
{
    int level = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)cfg, key, v)
    {
        const field *f = find(fields, key);
        if (!f || json_is_null(v) || json_is_false(v) ||
            (json_is_integer(v) && json_integer_value(v) == 0))
            continue; /* not used: any server takes it */
        int l = jw__js_level_of_version(f->since);
        if (f->members && json_is_object(v)) {
            int inner = level_of(f->members, v);
            l = inner > l ? inner : l;
        }
        level = l > level ? l : level;
    }
    return level;
}

int jw__js_config_level(int kind, const json_t *cfg)
{
    return json_is_object(cfg) ? level_of(kinds[kind].fields, cfg) : 0;
}

json_t *jw__js_duration_out(const jw_js *js, const json_t *ns)
{
    return json_is_integer(ns) ? from_ns(json_integer_value(ns), js->unit_ns)
                               : json_integer(0);
}

jw_status jw__js_info_out(const jw_js *js, int kind, json_t *info,
                          char **out)
{
    if (!out)
        return JW_OK;
    *out = NULL;
    if (kind)
        jw__js_config_from_wire(js, kind, json_object_get(info, "config"));
    json_object_del(info, "type");
    *out = json_dumps(info, JSON_COMPACT);
    if (!*out)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    return JW_OK;
}

static json_t *fields_json(const field *fields)
{
    json_t *list = json_array();
    for (const field *f = fields; list && f->name; f++) {
        /* since: null for a field every JetStream server knows. */
        char since[32];
        jw__js_version_text(f->since, since, sizeof since);
        json_t *item = json_pack("{ss ss so}", "name", f->name, "type",
                                 type_name(f->type), "since",
                                 f->since ? json_string(since) : json_null());
        if (item && f->members)
            json_object_set_new(item, "fields", fields_json(f->members));
        json_t *values = f->values ? json_array() : NULL;
        for (const char *const *p = f->values; values && *p; p++)
            json_array_append_new(values, json_string(*p));
        if (item && values)
            json_object_set_new(item, "values", values);
        if (item && f->alias)
            json_object_set_new(item, "alias", json_string(f->alias));
        json_array_append_new(list, item);
    }
    return list;
}

jw_status jw_js_config_fields(const char *kind, char **fields_json_out)
{
    if (fields_json_out)
        *fields_json_out = NULL;
    if (!kind || !fields_json_out)
        return jw__fail(JW_EINVAL, "kind and fields_json must not be NULL");
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (!kinds[i].name || strcmp(kinds[i].name, kind) != 0)
            continue;
        json_t *list = fields_json(kinds[i].fields);
        *fields_json_out = list ? json_dumps(list, JSON_COMPACT) : NULL;
        json_decref(list);
        return *fields_json_out ? JW_OK
                                : jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    return jw__fail(JW_EINVAL, "unknown configuration kind '%s' (stream, "
                               "consumer, bucket or object_store)", kind);
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
