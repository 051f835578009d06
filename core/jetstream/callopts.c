/*
 * Call options: what a JetStream or KV call can be told beyond its few
 * essential arguments (publish expectations, fetch and consume limits,
 * the shape of a direct get batch, watch modes, the revision of a get,
 * the point in time of get_many and history), set by name on a
 * jw_call_opts made for that call. One table per call says each option's
 * type, its limits and the first server version that knows it, so a new
 * server option is one line here and no new function. Durations are kept
 * as given and read in the duration unit of the context the call runs in
 * (milliseconds unless a binding asked for seconds).
 */
#include "js.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V(a, b, c) ((a) * 10000 + (b) * 100 + (c))
#define SECOND_NS INT64_C(1000000000)
#define MS_NS INT64_C(1000000)

enum opt_type { O_STR, O_INT, O_BOOL, O_DUR };

typedef struct opt_def {
    const char *name;
    enum opt_type type;
    int since;        /* first server version that knows it, 0: all */
    int64_t min, max; /* O_INT: the value; O_DUR: in ns */
    const char *doc;  /* what it does, for the docs and the fields list */
} opt_def;

#define INT_ANY 0, INT64_MAX

static const opt_def publish_opts[] = {
    [JW__PUB_MSG_ID] = {"msg_id", O_STR, 0, 0, 0,
                        "Nats-Msg-Id: a duplicate within the stream's "
                        "duplicate_window is not stored again"},
    [JW__PUB_EXPECTED_STREAM] = {"expected_stream", O_STR, 0, 0, 0,
                                 "the stream that must capture the subject"},
    [JW__PUB_EXPECTED_LAST_MSG_ID] = {"expected_last_msg_id", O_STR, 0, 0, 0,
                                      "the msg_id the stream's last message "
                                      "must have"},
    [JW__PUB_EXPECTED_LAST_SEQ] = {"expected_last_seq", O_INT, 0, INT_ANY,
                                   "the stream's last sequence must be this "
                                   "(0: the stream must be empty)"},
    [JW__PUB_EXPECTED_LAST_SUBJECT_SEQ] =
        {"expected_last_subject_seq", O_INT, 0, INT_ANY,
         "the subject's last sequence must be this (0: no message on it)"},
    [JW__PUB_TIMEOUT] = {"timeout", O_DUR, 0, MS_NS, INT64_MAX,
                         "how long a synchronous publish waits for the "
                         "PubAck (default: the context's timeout)"},
    [JW__PUB_RETRY_ATTEMPTS] = {"retry_attempts", O_INT, 0, 0, 100,
                                "tries after a no-responders answer "
                                "(default 2)"},
    [JW__PUB_RETRY_WAIT] = {"retry_wait", O_DUR, 0, MS_NS, 60 * SECOND_NS,
                            "wait between those tries (default 250 ms)"},
    [JW__PUB_TTL] = {"ttl", O_DUR, V(2, 11, 0), SECOND_NS, INT64_MAX,
                     "Nats-TTL: the message is removed after this, in whole "
                     "seconds (the stream needs allow_msg_ttl)"},
    /* Message schedules (ADR-51): the message holds a schedule on its own
     * subject and the stream publishes its body to schedule_target. One
     * of schedule, schedule_at and schedule_every. */
    [JW__PUB_SCHEDULE] = {"schedule", O_STR, V(2, 12, 0), 0, 0,
                          "Nats-Schedule: \"@at <RFC 3339 time>\", \"@every "
                          "<Go duration>\", a 6-field cron expression (with "
                          "seconds) or @hourly, @daily, ... (the stream needs "
                          "allow_msg_schedules)"},
    [JW__PUB_SCHEDULE_AT] = {"schedule_at", O_STR, V(2, 12, 0), 0, 0,
                             "publish once at this RFC 3339 time (sent as "
                             "schedule \"@at <time>\")"},
    [JW__PUB_SCHEDULE_EVERY] = {"schedule_every", O_DUR, V(2, 12, 0),
                                SECOND_NS, INT64_MAX,
                                "publish every so long, 1 s at least (sent "
                                "as schedule \"@every <ms>ms\")"},
    [JW__PUB_SCHEDULE_TARGET] = {"schedule_target", O_STR, V(2, 12, 0), 0, 0,
                                 "Nats-Schedule-Target: the subject the "
                                 "schedule publishes to (in the same "
                                 "stream)"},
    [JW__PUB_SCHEDULE_SOURCE] = {"schedule_source", O_STR, V(2, 12, 0), 0, 0,
                                 "Nats-Schedule-Source: publish the last "
                                 "message of this subject instead (sampling; "
                                 "the schedule's own body when it has "
                                 "none)"},
    [JW__PUB_SCHEDULE_TTL] = {"schedule_ttl", O_DUR, V(2, 12, 0), SECOND_NS,
                              INT64_MAX,
                              "Nats-Schedule-TTL: the messages the schedule "
                              "makes are removed after this, in whole "
                              "seconds (the stream needs allow_msg_ttl)"},
    [JW__PUB_SCHEDULE_TIME_ZONE] = {"schedule_time_zone", O_STR, V(2, 14, 0),
                                    0, 0,
                                    "Nats-Schedule-Time-Zone: the IANA time "
                                    "zone of a cron schedule (default "
                                    "UTC)"},
    [JW__PUB_SCHEDULE_ROLLUP] = {"schedule_rollup", O_STR, V(2, 14, 0), 0, 0,
                                 "Nats-Schedule-Rollup: \"sub\" makes each "
                                 "message the schedule publishes roll up its "
                                 "subject"},
};

/* Priority groups (ADR-42), the same for fetch and consume. */
#define GROUP_DOC                                                       \
    "the priority group to pull as (the consumer's priority_groups); a " \
    "pinned_client group's pin is kept and sent by the engine"
#define MIN_PENDING_DOC                                                   \
    "overflow policy: served only while the consumer has at least this " \
    "many messages pending"
#define MIN_ACK_PENDING_DOC                                             \
    "overflow policy: served only while at least this many are "       \
    "unacknowledged"
#define PRIORITY_DOC "prioritized policy: 0 (first served) to 9"

static const opt_def fetch_opts[] = {
    [JW__FETCH_BATCH] = {"batch", O_INT, 0, 1, 1 << 20,
                         "messages asked for (default: the room given, at "
                         "most that)"},
    [JW__FETCH_MAX_BYTES] = {"max_bytes", O_INT, V(2, 9, 0), INT_ANY,
                             "cap on the batch's total size (0: none)"},
    [JW__FETCH_TIMEOUT] = {"timeout", O_DUR, 0, MS_NS, INT64_MAX,
                           "how long to wait for the batch (default: the "
                           "context's timeout)"},
    [JW__FETCH_NO_WAIT] = {"no_wait", O_BOOL, 0, 0, 0,
                           "take only what is available now"},
    [JW__FETCH_GROUP] = {"group", O_STR, V(2, 11, 0), 0, 0, GROUP_DOC},
    [JW__FETCH_MIN_PENDING] = {"min_pending", O_INT, V(2, 11, 0), 1,
                               INT64_MAX, MIN_PENDING_DOC},
    [JW__FETCH_MIN_ACK_PENDING] = {"min_ack_pending", O_INT, V(2, 11, 0), 1,
                                   INT64_MAX, MIN_ACK_PENDING_DOC},
    [JW__FETCH_PRIORITY] = {"priority", O_INT, V(2, 12, 0), 0, 9,
                            PRIORITY_DOC},
};

static const opt_def consume_opts[] = {
    [JW__CONSUME_BATCH] = {"batch", O_INT, 0, 1, INT32_MAX,
                           "messages asked for per pull request (default "
                           "100)"},
    [JW__CONSUME_MAX_BYTES] = {"max_bytes", O_INT, V(2, 9, 0), INT_ANY,
                               "cap on a pull request's total size (0: "
                               "none)"},
    [JW__CONSUME_EXPIRES] = {"expires", O_DUR, 0, SECOND_NS,
                             INT32_MAX * MS_NS,
                             "how long each pull request lives (default "
                             "30 s; idle heartbeats every half of it, at "
                             "most 30 s)"},
    [JW__CONSUME_GROUP] = {"group", O_STR, V(2, 11, 0), 0, 0, GROUP_DOC},
    [JW__CONSUME_MIN_PENDING] = {"min_pending", O_INT, V(2, 11, 0), 1,
                                 INT64_MAX, MIN_PENDING_DOC},
    [JW__CONSUME_MIN_ACK_PENDING] = {"min_ack_pending", O_INT, V(2, 11, 0),
                                     1, INT64_MAX, MIN_ACK_PENDING_DOC},
    [JW__CONSUME_PRIORITY] = {"priority", O_INT, V(2, 12, 0), 0, 9,
                              PRIORITY_DOC},
};

static const opt_def watch_opts[] = {
    [JW__WATCH_INCLUDE_HISTORY] = {"include_history", O_BOOL, 0, 0, 0,
                                   "every stored entry first, not only the "
                                   "latest per key"},
    [JW__WATCH_IGNORE_DELETES] = {"ignore_deletes", O_BOOL, 0, 0, 0,
                                  "leave out delete and purge markers"},
    [JW__WATCH_META_ONLY] = {"meta_only", O_BOOL, 0, 0, 0,
                             "entries without their values"},
    [JW__WATCH_UPDATES_ONLY] = {"updates_only", O_BOOL, 0, 0, 0,
                                "no current values, only what changes "
                                "from now"},
};

static const opt_def get_opts[] = {
    [JW__GET_REVISION] = {"revision", O_INT, 0, 1, INT64_MAX,
                          "this revision of the key rather than the "
                          "latest"},
};

/* KV create and purge (ADR-48): a key that lives only so long, a purge
 * marker that goes after so long. The bucket needs limit_marker_ttl. */
static const opt_def create_opts[] = {
    [JW__CREATE_TTL] = {"ttl", O_DUR, V(2, 11, 0), SECOND_NS, INT64_MAX,
                        "the key is removed after this, in whole seconds "
                        "(the bucket needs limit_marker_ttl)"},
};

static const opt_def purge_opts[] = {
    [JW__PURGE_TTL] = {"ttl", O_DUR, V(2, 11, 0), SECOND_NS, INT64_MAX,
                       "the purge marker is removed after this, in whole "
                       "seconds (the bucket needs limit_marker_ttl)"},
};

/* Direct get batches (ADR-31): a run of messages from a sequence, a
 * subject or a time, or the last message of each of several subjects
 * (multi_last) as of a sequence or a time. The API knows seq and
 * next_by_subj since 2.9; batches and the rest came with 2.11, which the
 * call itself requires. */
static const opt_def direct_get_opts[] = {
    [JW__DIRECT_BATCH] = {"batch", O_INT, V(2, 11, 0), 1, INT32_MAX,
                          "messages at most (default: 1, or with "
                          "multi_last every match)"},
    [JW__DIRECT_MAX_BYTES] = {"max_bytes", O_INT, V(2, 11, 0), 1,
                              INT32_MAX,
                              "cap on the batch's size; the message that "
                              "crosses it is still sent (default: the "
                              "server's max_pending, 64 MiB)"},
    [JW__DIRECT_SEQ] = {"seq", O_INT, V(2, 9, 0), 1, INT64_MAX,
                        "the first stream sequence to give (with "
                        "multi_last: a lower bound)"},
    [JW__DIRECT_NEXT_BY_SUBJECT] = {"next_by_subject", O_STR, V(2, 9, 0), 0,
                                    0,
                                    "only messages on this subject "
                                    "(wildcards allowed); not with "
                                    "multi_last"},
    [JW__DIRECT_START_TIME] = {"start_time", O_STR, V(2, 11, 0), 0, 0,
                               "RFC 3339: from the first message stored "
                               "at or after it; not with seq or "
                               "multi_last"},
    [JW__DIRECT_UP_TO_SEQ] = {"up_to_seq", O_INT, V(2, 11, 0), 1, INT64_MAX,
                              "multi_last only: the last messages as of "
                              "this sequence (included)"},
    [JW__DIRECT_UP_TO_TIME] = {"up_to_time", O_STR, V(2, 11, 0), 0, 0,
                               "multi_last only, RFC 3339: the last "
                               "messages stored before this time "
                               "(excluded); not with up_to_seq"},
    [JW__DIRECT_NO_HDR] = {"no_hdr", O_BOOL, V(2, 12, 0), 0, 0,
                           "the stored data alone: no headers (not even "
                           "the get's Nats-* ones) and an empty subject"},
};

/* KV get_many and history as of a point: a revision or a time. */
#define UP_TO_REVISION_DOC \
    "values as of this revision (included); not with up_to_time"
#define UP_TO_TIME_DOC                                                    \
    "RFC 3339: values as of just before this time (entries stored at it " \
    "or later are left out); not with up_to_revision"
static const opt_def get_many_opts[] = {
    [JW__UP_TO_REVISION] = {"up_to_revision", O_INT, V(2, 11, 0), 1,
                            INT64_MAX, UP_TO_REVISION_DOC},
    [JW__UP_TO_TIME] = {"up_to_time", O_STR, V(2, 11, 0), 0, 0,
                        UP_TO_TIME_DOC},
};
static const opt_def history_opts[] = {
    [JW__UP_TO_REVISION] = {"up_to_revision", O_INT, V(2, 11, 0), 1,
                            INT64_MAX, UP_TO_REVISION_DOC},
    [JW__UP_TO_TIME] = {"up_to_time", O_STR, V(2, 11, 0), 0, 0,
                        UP_TO_TIME_DOC},
};

/* Fast-ingest batches (ADR-50): how the server acknowledges them and what
 * it does with a message it did not get. The server starts with a low
 * flow and ramps up to the one asked for (500 at most); by default the
 * engine asks for what keeps about 256 KiB per ack (500 for messages up
 * to 500 B, 1 from 256 KiB), so small messages go at full speed and
 * large ones do not pile up. With 2 acks outstanding (the ADR's advice)
 * the server works on one window while the next is sent. */
static const opt_def fast_opts[] = {
    [JW__FAST_FLOW] = {"flow", O_INT, V(2, 14, 0), 1, 65535,
                       "the most messages per ack the server may use (it "
                       "starts lower and adapts; default: as many of the "
                       "first message as fit in 256 KiB, 500 at most)"},
    [JW__FAST_GAP] = {"gap", O_STR, V(2, 14, 0), 0, 0,
                      "\"fail\" (default): a message the server did not "
                      "get or refused ends the batch, what was stored has "
                      "no gaps; \"ok\": it is reported and the batch goes "
                      "on"},
    [JW__FAST_MAX_OUTSTANDING_ACKS] =
        {"max_outstanding_acks", O_INT, V(2, 14, 0), 1, 3,
         "acks the publisher may be ahead of before it waits (default 2)"},
    [JW__FAST_TIMEOUT] = {"timeout", O_DUR, V(2, 14, 0), MS_NS, INT64_MAX,
                          "how long a waiting add or the commit waits for "
                          "the server (default: the context's timeout)"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
    const char *name;
    const opt_def *defs;
    size_t count;
} calls[] = {
    [JW__CALL_PUBLISH] = {"publish", publish_opts, COUNT(publish_opts)},
    [JW__CALL_FETCH] = {"fetch", fetch_opts, COUNT(fetch_opts)},
    [JW__CALL_CONSUME] = {"consume", consume_opts, COUNT(consume_opts)},
    [JW__CALL_WATCH] = {"watch", watch_opts, COUNT(watch_opts)},
    [JW__CALL_GET] = {"get", get_opts, COUNT(get_opts)},
    [JW__CALL_CREATE] = {"create", create_opts, COUNT(create_opts)},
    [JW__CALL_PURGE] = {"purge", purge_opts, COUNT(purge_opts)},
    [JW__CALL_DIRECT_GET] = {"direct_get", direct_get_opts,
                             COUNT(direct_get_opts)},
    [JW__CALL_GET_MANY] = {"get_many", get_many_opts, COUNT(get_many_opts)},
    [JW__CALL_HISTORY] = {"history", history_opts, COUNT(history_opts)},
    [JW__CALL_FAST] = {"fast", fast_opts, COUNT(fast_opts)},
};

typedef struct slot {
    int set;
    int is_real; /* O_DUR given as a double */
    int64_t i;   /* O_INT, O_BOOL, O_DUR as an integer */
    double d;    /* O_DUR as a double */
    char *s;     /* O_STR */
} slot;

struct jw_call_opts {
    int call;
    size_t count;
    slot slots[];
};

static int find_call(const char *name)
{
    for (size_t i = 1; i < COUNT(calls); i++)
        if (calls[i].name && strcmp(calls[i].name, name) == 0)
            return (int)i;
    return 0;
}

/* The call kind named call, or 0 after failing with JW_EINVAL naming the
 * calls that have options. */
static int call_of(const char *call)
{
    int k = find_call(call);
    if (k)
        return k;
    char names[200] = "";
    size_t n = 0;
    for (size_t i = 1; i < COUNT(calls) && n < sizeof names; i++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s",
                              i > 1 ? ", " : "", calls[i].name);
    jw__fail(JW_EINVAL, "no options for call '%s' (the calls with options: "
                        "%s)", call, names);
    return 0;
}

jw_status jw_call_opts_new(const char *call, jw_call_opts **out)
{
    if (out)
        *out = NULL;
    if (!call || !out)
        return jw__fail(JW_EINVAL, "call and out must not be NULL");
    int k = call_of(call);
    if (!k)
        return JW_EINVAL;
    jw_call_opts *o = calloc(1, sizeof(*o) + calls[k].count * sizeof(slot));
    if (!o)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    o->call = k;
    o->count = calls[k].count;
    *out = o;
    return JW_OK;
}

void jw_call_opts_free(jw_call_opts *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->count; i++)
        free(o->slots[i].s);
    free(o);
}

static const char *type_text(enum opt_type t)
{
    switch (t) {
    case O_STR: return "a string";
    case O_INT: return "an integer";
    case O_BOOL: return "true or false";
    case O_DUR: return "a duration (a number >= 0)";
    }
    return "a value";
}

/* The slot of name for a value of type `given`, or NULL with the error. */
static slot *slot_for(jw_call_opts *o, const char *name, enum opt_type given,
                      jw_status *st)
{
    if (!o || !name) {
        *st = jw__fail(JW_EINVAL, "opts and name must not be NULL");
        return NULL;
    }
    const opt_def *defs = calls[o->call].defs;
    for (size_t i = 0; i < o->count; i++) {
        if (strcmp(defs[i].name, name) != 0)
            continue;
        /* An integer is a duration too. */
        if (defs[i].type != given &&
            !(defs[i].type == O_DUR && given == O_INT)) {
            *st = jw__fail(JW_EINVAL, "%s option '%s' must be %s",
                           calls[o->call].name, name,
                           type_text(defs[i].type));
            return NULL;
        }
        return &o->slots[i];
    }
    *st = jw__fail(JW_EINVAL, "unknown %s option '%s'", calls[o->call].name,
                   name);
    return NULL;
}

static const opt_def *def_of(const jw_call_opts *o, const slot *s)
{
    return &calls[o->call].defs[s - o->slots];
}

jw_status jw_call_opts_set_str(jw_call_opts *o, const char *name,
                               const char *value)
{
    jw_status st = JW_OK;
    slot *s = slot_for(o, name, O_STR, &st);
    if (!s)
        return st;
    if (!value || !*value || strpbrk(value, "\r\n"))
        return jw__fail(JW_EINVAL, "%s option '%s' must be non-empty and "
                                   "without CR or LF",
                        calls[o->call].name, name);
    char *copy = strdup(value);
    if (!copy)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    free(s->s);
    s->s = copy;
    s->set = 1;
    return JW_OK;
}

jw_status jw_call_opts_set_int(jw_call_opts *o, const char *name,
                               int64_t value)
{
    jw_status st = JW_OK;
    slot *s = slot_for(o, name, O_INT, &st);
    if (!s)
        return st;
    const opt_def *d = def_of(o, s);
    if (d->type == O_INT && (value < d->min || value > d->max))
        return jw__fail(JW_EINVAL, "%s option '%s' must be from %lld to "
                                   "%lld",
                        calls[o->call].name, name, (long long)d->min,
                        (long long)d->max);
    if (d->type == O_DUR && (value < 0 || (value == 0 && d->min > 0)))
        return jw__fail(JW_EINVAL, "%s option '%s' must be %s",
                        calls[o->call].name, name, d->min ? "> 0" : ">= 0");
    s->i = value;
    s->is_real = 0;
    s->set = 1;
    return JW_OK;
}

jw_status jw_call_opts_set_double(jw_call_opts *o, const char *name,
                                  double value)
{
    jw_status st = JW_OK;
    slot *s = slot_for(o, name, O_DUR, &st);
    if (!s)
        return st;
    const opt_def *d = def_of(o, s);
    if (!(value >= 0) || isinf(value) || (value == 0 && d->min > 0))
        return jw__fail(JW_EINVAL, "%s option '%s' must be a finite number "
                                   "%s",
                        calls[o->call].name, name, d->min ? "> 0" : ">= 0");
    s->d = value;
    s->is_real = 1;
    s->set = 1;
    return JW_OK;
}

jw_status jw_call_opts_set_bool(jw_call_opts *o, const char *name, int value)
{
    jw_status st = JW_OK;
    slot *s = slot_for(o, name, O_BOOL, &st);
    if (!s)
        return st;
    s->i = value != 0;
    s->set = 1;
    return JW_OK;
}

static const char *type_name(enum opt_type t)
{
    switch (t) {
    case O_STR: return "string";
    case O_INT: return "integer";
    case O_BOOL: return "boolean";
    case O_DUR: return "duration";
    }
    return "any";
}

jw_status jw_call_opts_fields(const char *call, char **fields_json)
{
    if (fields_json)
        *fields_json = NULL;
    if (!call || !fields_json)
        return jw__fail(JW_EINVAL, "call and fields_json must not be NULL");
    int k = call_of(call);
    if (!k)
        return JW_EINVAL;
    json_t *list = json_array();
    for (size_t i = 0; list && i < calls[k].count; i++) {
        const opt_def *d = &calls[k].defs[i];
        char since[32];
        jw__js_version_text(d->since, since, sizeof since);
        json_array_append_new(
            list, json_pack("{ss ss so ss}", "name", d->name, "type",
                            type_name(d->type), "since",
                            d->since ? json_string(since) : json_null(),
                            "doc", d->doc));
    }
    *fields_json = list ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    return *fields_json ? JW_OK : jw__fail(JW_ENO_MEMORY, "out of memory");
}

/* ---- the engine's side ---- */

jw_status jw__call_opts_use(const jw_call_opts *o, int call, jw_js *js)
{
    if (!o)
        return JW_OK;
    if (o->call != call)
        return jw__fail(JW_EINVAL, "options made for %s given to %s",
                        calls[o->call].name, calls[call].name);
    for (size_t i = 0; i < o->count; i++) {
        const opt_def *d = &calls[call].defs[i];
        if (!o->slots[i].set || !d->since)
            continue;
        char what[96];
        snprintf(what, sizeof what, "%s option '%s'", calls[call].name,
                 d->name);
        jw_status st = jw__js_require(js, d->since, what);
        if (st)
            return st;
    }
    return JW_OK;
}

int jw__call_opts_has(const jw_call_opts *o, int index)
{
    return o && index >= 0 && (size_t)index < o->count &&
           o->slots[index].set;
}

const char *jw__call_opts_str(const jw_call_opts *o, int index)
{
    return jw__call_opts_has(o, index) ? o->slots[index].s : NULL;
}

int64_t jw__call_opts_int(const jw_call_opts *o, int index, int64_t dflt)
{
    return jw__call_opts_has(o, index) ? o->slots[index].i : dflt;
}

jw_status jw__call_opts_ms(const jw_call_opts *o, int index, const jw_js *js,
                           int64_t dflt, int64_t *ms)
{
    *ms = dflt;
    if (!jw__call_opts_has(o, index))
        return JW_OK;
    const slot *s = &o->slots[index];
    const opt_def *d = &calls[o->call].defs[index];
    double ns = s->is_real ? s->d * (double)js->unit_ns
                           : (double)s->i * (double)js->unit_ns;
    if (ns < (double)d->min || ns > (double)d->max) {
        double unit = js->unit_ns == SECOND_NS ? 1e9 : 1e6;
        return jw__fail(JW_EINVAL, "%s option '%s' must be from %g to %g %s",
                        calls[o->call].name, d->name, (double)d->min / unit,
                        (double)d->max / unit,
                        js->unit_ns == SECOND_NS ? "s" : "ms");
    }
    *ms = (int64_t)(ns / (double)MS_NS + 0.5);
    return JW_OK;
}
