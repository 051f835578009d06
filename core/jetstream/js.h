/*
 * JetStream internals shared by js.c (context, API requests, publish),
 * jsack.c (acks, metadata), jsconf.c (configuration checks), jsm.c
 * (streams and consumers), jsfetch.c (fetch), jsconsume.c (continuous
 * pull), jsbatch.c (atomic batches), jsfast.c (fast-ingest batches),
 * jscounter.c (counters) and callopts.c (the options of calls).
 * Everything here rides on the public connection API (requests,
 * subscriptions): JetStream adds no state to the connection.
 */
#ifndef JW_JS_H
#define JW_JS_H

#include "engine.h"

#include <jansson.h>

struct jw_js {
    /* The user's reference and one per handle made through it (consumer,
     * ordered consumer, bucket), so that handles may be freed in any
     * order. */
    atomic_int refs;
    jw_conn *conn; /* referenced */
    char prefix[128]; /* "$JS.API" or "$JS.<domain>.API" */
    int64_t timeout_ms;
    int64_t max_pending;
    int version; /* the server's, as major*10000 + minor*100 + patch */
    /* The JetStream API level of the account's servers ($JS.API.INFO,
     * ADR-44), learned on first need: -1 not yet asked, -2 unknown (the
     * request failed), else the level. */
    atomic_int api_level;
    /* Durations in JSON documents across the ABI: ns per unit (1e6: ms,
     * the C default; 1e9: seconds, the bindings'). */
    int64_t unit_ns;

    /* Async publish: acks come back on "<ack_prefix><id>" to ack_sub,
     * whose handler (loop thread) queues completions under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cond; /* in flight fell to a mark (wait_acks) */
    jw_sub *ack_sub;
    char ack_prefix[64];
    size_t ack_prefix_len;
    uint64_t next_id;
    jw__map in_flight; /* id -> the id, as a pointer */
    struct jw__js_done *done_head, *done_tail;
    /* Callers of jw_js_publish_async_wait, woken by any completion. */
    pthread_cond_t done_cond;
    int done_waiters;
    /* The connection's losses fail what is in flight at once (watch); the
     * next jw_js_publish_async_complete reports it: the status those
     * publishes got and how many there were (0: nothing to report). */
    jw__conn_watch watch;
    jw_status lost;
    size_t lost_count;
};

struct jw_consumer {
    atomic_int refs; /* the user's and each jw_consume's */
    jw_js *js;       /* referenced */
    char *stream, *name;
    /* The pin of a "pinned_client" priority group (ADR-42): the id the
     * server gave with a message (Nats-Pin-Id), sent with every pull until
     * it says the pin went to another client (423). */
    pthread_mutex_t pin_mu;
    char pin_id[64];
};

/* Priority groups in pull requests (jsfetch.c, jsconsume.c). The request
 * fields of group (NULL: none) and its limits (0: not set), with the
 * consumer's pin id, as JSON members to append (",\"group\":...") into
 * buf; JW_EINVAL for a bad group name or limits without a group. */
jw_status jw__pull_priority(jw_consumer *c, const char *group,
                            int64_t min_pending, int64_t min_ack_pending,
                            int64_t priority, char *buf, size_t size);
/* Keep the pin id a delivered message carries; forget it (a 423). */
void jw__consumer_pin_note(jw_consumer *c, const jw_msg *m);
void jw__consumer_pin_clear(jw_consumer *c);

/* A reference on a context or a consumer handle; releasing the last one
 * frees it (and releases what it references). */
void jw__js_ref(jw_js *js);
void jw__js_release(jw_js *js);
void jw__consumer_ref(jw_consumer *c);
void jw__consumer_release(jw_consumer *c);

/* Server version "2.9.10" as 20910 (0 when unknown). */
int jw__js_version_parse(const char *text);
/* "a.b.c" for a version number, into buf. */
void jw__js_version_text(int version, char *buf, size_t size);

/* Record the err_code of a server API error for jw_js_last_err_code. */
void jw__js_set_err_code(int code);

/* The status for a server error object ({"code","err_code",
 * "description"}), with jw_last_error set. */
jw_status jw__js_error(const json_t *error, const char *what);

/* Send an API request: subject "<prefix>.<suffix>", body (NULL: empty) and
 * parse the JSON reply. On JW_OK *reply is the parsed object (caller
 * decrefs); a reply with an "error" member becomes its status.
 * jw__js_api_at also sends Nats-Required-Api-Level: level (when > 0), so
 * that a server below it refuses instead of dropping what it does not
 * know (ADR-44). */
/* Send an API request without waiting for its answer (best-effort
 * clean-ups from calls that must not wait: a free). */
void jw__js_api_forget(jw_js *js, const char *suffix);
jw_status jw__js_api(jw_js *js, const char *suffix, const char *body,
                     json_t **reply);
jw_status jw__js_api_at(jw_js *js, const char *suffix, const char *body,
                        int level, json_t **reply);

/* API levels (ADR-44): the level a server version brings (0 before
 * 2.11), and the level of the account's JetStream servers, asked once
 * per context ($JS.API.INFO; -1 when it cannot be learned). */
int jw__js_level_of_version(int version);
int jw__js_api_level(jw_js *js);
/* The API level a wire-form configuration needs: the highest of its
 * fields' (0: any JetStream server). */
int jw__js_config_level(int kind, const json_t *config);

/* Configurations (jsconf.c): stream, consumer, KV bucket, object store
 * bucket. */
enum {
    JW__JS_STREAM = 1,
    JW__JS_CONSUMER = 2,
    JW__JS_KV = 3,
    JW__JS_OBS = 4
};
/* Parse the user's JSON, check the fields the table knows (type, server
 * version) and convert their durations from js's unit to ns; unknown
 * fields pass to servers that refuse them themselves. *out is a new
 * object. */
jw_status jw__js_config_to_wire(jw_js *js, int kind, const char *json,
                                json_t **out);
/* Convert the durations of a server configuration from ns to js's unit,
 * in place. */
void jw__js_config_from_wire(const jw_js *js, int kind, json_t *config);
/* A duration from the wire (ns) in js's unit, new. */
json_t *jw__js_duration_out(const jw_js *js, const json_t *ns);
/* Dump an info document for the user, with its "config" converted (kind
 * 0: as it is). */
jw_status jw__js_info_out(const jw_js *js, int kind, json_t *info,
                          char **out);

/* Call options (callopts.c): the calls that take a jw_call_opts, and the
 * index of each of their options in the call's table. */
enum {
    JW__CALL_PUBLISH = 1,
    JW__CALL_FETCH,
    JW__CALL_CONSUME,
    JW__CALL_WATCH,
    JW__CALL_GET,
    JW__CALL_CREATE,
    JW__CALL_PURGE,
    JW__CALL_DIRECT_GET,
    JW__CALL_GET_MANY,
    JW__CALL_HISTORY,
    JW__CALL_FAST
};
enum {
    JW__PUB_MSG_ID,
    JW__PUB_EXPECTED_STREAM,
    JW__PUB_EXPECTED_LAST_MSG_ID,
    JW__PUB_EXPECTED_LAST_SEQ,
    JW__PUB_EXPECTED_LAST_SUBJECT_SEQ,
    JW__PUB_TIMEOUT,
    JW__PUB_RETRY_ATTEMPTS,
    JW__PUB_RETRY_WAIT,
    JW__PUB_TTL,
    JW__PUB_SCHEDULE,
    JW__PUB_SCHEDULE_AT,
    JW__PUB_SCHEDULE_EVERY,
    JW__PUB_SCHEDULE_TARGET,
    JW__PUB_SCHEDULE_SOURCE,
    JW__PUB_SCHEDULE_TTL,
    JW__PUB_SCHEDULE_TIME_ZONE,
    JW__PUB_SCHEDULE_ROLLUP
};
enum {
    JW__FETCH_BATCH,
    JW__FETCH_MAX_BYTES,
    JW__FETCH_TIMEOUT,
    JW__FETCH_NO_WAIT,
    JW__FETCH_GROUP,
    JW__FETCH_MIN_PENDING,
    JW__FETCH_MIN_ACK_PENDING,
    JW__FETCH_PRIORITY
};
enum {
    JW__CONSUME_BATCH,
    JW__CONSUME_MAX_BYTES,
    JW__CONSUME_EXPIRES,
    JW__CONSUME_GROUP,
    JW__CONSUME_MIN_PENDING,
    JW__CONSUME_MIN_ACK_PENDING,
    JW__CONSUME_PRIORITY
};
enum {
    JW__WATCH_INCLUDE_HISTORY,
    JW__WATCH_IGNORE_DELETES,
    JW__WATCH_META_ONLY,
    JW__WATCH_UPDATES_ONLY
};
enum {
    JW__FAST_FLOW,
    JW__FAST_GAP,
    JW__FAST_MAX_OUTSTANDING_ACKS,
    JW__FAST_TIMEOUT
};
enum { JW__GET_REVISION };
enum { JW__CREATE_TTL };
enum { JW__PURGE_TTL };
enum {
    JW__DIRECT_BATCH,
    JW__DIRECT_MAX_BYTES,
    JW__DIRECT_SEQ,
    JW__DIRECT_NEXT_BY_SUBJECT,
    JW__DIRECT_START_TIME,
    JW__DIRECT_UP_TO_SEQ,
    JW__DIRECT_UP_TO_TIME,
    JW__DIRECT_NO_HDR
};
/* KV get_many and history: the same two bounds, at the same indices. */
enum { JW__UP_TO_REVISION, JW__UP_TO_TIME };
/* JW_OK when o (may be NULL) was made for call and every option set on it
 * is known to js's server; JW_EINVAL / JW_ENOT_SUPPORTED otherwise. */
jw_status jw__call_opts_use(const jw_call_opts *o, int call, jw_js *js);
/* Whether the option at index was set (o may be NULL), and its value
 * (the default when not set; NULL for an unset string). */
int jw__call_opts_has(const jw_call_opts *o, int index);
const char *jw__call_opts_str(const jw_call_opts *o, int index);
int64_t jw__call_opts_int(const jw_call_opts *o, int index, int64_t dflt);
/* A duration option in ms, read in js's unit and checked against the
 * table's limits; dflt when not set. */
jw_status jw__call_opts_ms(const jw_call_opts *o, int index, const jw_js *js,
                           int64_t dflt, int64_t *ms);

/* The headers of a JetStream publish: msg's own (msg may be NULL), then
 * those of the "publish" options o (checked here for the call and the
 * server), then extra (NULL, or name/value pairs ending in NULL: an atomic
 * batch's Nats-Batch-* headers, a counter's Nats-Incr). On JW_OK *block is
 * NULL (no headers) or a finished block for the caller to free. */
jw_status jw__js_pub_headers(jw_js *js, const jw_msg *msg,
                             const jw_call_opts *o, const char *const *extra,
                             char **block, size_t *block_len);

/* Create (JW__JS_CREATE), update, or both (create, then update when the
 * stream exists with another configuration) a stream from a wire-form
 * configuration (durations in ns). */
enum { JW__JS_CREATE = 1, JW__JS_UPDATE = 2 };
jw_status jw__js_stream_put(jw_js *js, int mode, json_t *cfg, char **info);

/* JW_ENOT_SUPPORTED (naming the version) when the connected server is
 * older than `needed` for `what`, or when its version says yes but the
 * account's JetStream servers answer at a lower API level than `needed`
 * brings (a leaf node or domain on an older release); JW_OK otherwise or
 * when unknown. */
jw_status jw__js_require(jw_js *js, int needed, const char *what);

/* Timestamps (jsdirect.c): RFC 3339 text ("2026-11-28T14:28:38Z",
 * fractions up to ns, "Z" or an offset) to ns since the epoch, JW_EINVAL
 * naming what for anything else (jw__time_text goes the other way). */
jw_status jw__js_parse_time(const char *text, const char *what,
                            int64_t *ns);

/* A consumer's info as the server sent it (durations in ns; *info the
 * caller's to decref), else the API's error. */
jw_status jw__js_consumer_wire_info(jw_js *js, const char *stream,
                                    const char *name, json_t **info);
/* JW_OK when the consumer exists, else the API's error. */
jw_status jw__js_consumer_exists(jw_js *js, const char *stream,
                                 const char *name);

/* jw_js_consumer_create that also gives the new consumer's num_pending
 * from the create reply (what it has to deliver; 0 when an existing
 * consumer of the same configuration was taken on a server before 2.10). */
jw_status jw__js_consumer_create_pending(jw_js *js, const char *stream,
                                        const char *config,
                                        jw_consumer **out,
                                        uint64_t *num_pending);

/* The streams capturing subject whose names start with prefix (KV_,
 * OBJ_), as a JSON array in *out (jw_free): their names without the
 * prefix when each is NULL, else what each makes of every one's name
 * without the prefix and info (NULL leaves it out). */
typedef json_t *(*jw__stream_each)(const char *name, const json_t *info);
jw_status jw__js_prefixed_streams(jw_js *js, const char *subject,
                                  const char *prefix, jw__stream_each each,
                                  char **out);
/* One bucket's status: what status makes of its stream's info, in *out
 * (jw_free); JW_EBUCKET_NOT_FOUND when the stream is gone. */
jw_status jw__js_bucket_status(jw_js *js, const char *stream,
                               const char *bucket, jw__stream_each status,
                               char **out);

/* A stream or consumer name usable in an API subject. */
jw_status jw__js_check_name(const char *what, const char *name);

/* How many messages the ordered consumer had waiting when it was first
 * created (num_pending + delivered consumer sequence of the create
 * response): KV watchers count up to it for their end-of-initial-values
 * marker. */
uint64_t jw__ordered_initial(const jw_ordered *oc);

#endif
