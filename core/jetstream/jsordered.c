/*
 * Ordered consumer (jetstream.md 11, ADR-17): an ephemeral push consumer
 * without acks, delivered in stream order, that is recreated from the next
 * stream sequence whenever a gap shows (consumer sequence out of order, a
 * heartbeat naming another last sequence) or nothing at all arrives for
 * three heartbeats. Pulled like everything else: the checks, flow-control
 * replies and resets happen inside jw_ordered_next.
 */
#include "js.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jw_ordered {
    jw_js *js; /* referenced */
    char *stream;
    json_t *config; /* wire form, deliver_subject rewritten per reset */
    char *name;     /* the current server consumer, NULL when none */
    jw_sub *sub;
    int64_t heartbeat_ms;
    uint64_t expected_cseq, last_sseq;
    uint64_t initial; /* messages waiting when first created */
    int created_once;
    int64_t last_activity;
    int stopped;
};

/* What a user may choose; the rest is forced by the algorithm. */
static const char *const allowed[] = {
    "deliver_policy", "opt_start_seq", "opt_start_time", "filter_subject",
    "filter_subjects", "headers_only", "replay_policy", "idle_heartbeat",
    "description", NULL,
};

static int is_allowed(const char *key)
{
    for (int i = 0; allowed[i]; i++)
        if (strcmp(allowed[i], key) == 0)
            return 1;
    return 0;
}

static void drop_consumer(jw_ordered *oc)
{
    if (oc->name) {
        /* Best effort: an unused ephemeral also expires on its own. The
         * answer is waited for while connected (the consumer is gone when
         * this returns), not while the connection is lost or closed: a
         * free must not wait out a request's timeout then. */
        char suffix[700];
        snprintf(suffix, sizeof suffix, "CONSUMER.DELETE.%s.%s", oc->stream,
                 oc->name);
        if (jw_conn_status_get(oc->js->conn) == JW_CONN_CONNECTED) {
            json_t *reply = NULL;
            jw__js_api(oc->js, suffix, NULL, &reply);
            json_decref(reply);
        } else {
            jw__js_api_forget(oc->js, suffix);
        }
        free(oc->name);
        oc->name = NULL;
    }
    jw_sub_free(oc->sub);
    oc->sub = NULL;
}

/* (Re)create the consumer on a fresh inbox, from after last_sseq. */
static jw_status create(jw_ordered *oc)
{
    drop_consumer(oc);
    jw_conn *conn = oc->js->conn;
    char inbox[64];
    jw_status st = jw_conn_new_inbox(conn, inbox, sizeof inbox);
    if (st == JW_OK)
        st = jw_conn_subscribe(conn, inbox, NULL, &oc->sub);
    if (st)
        return st;
    json_object_set_new(oc->config, "deliver_subject", json_string(inbox));
    if (oc->last_sseq) {
        json_object_set_new(oc->config, "deliver_policy",
                            json_string("by_start_sequence"));
        json_object_set_new(oc->config, "opt_start_seq",
                            json_integer((json_int_t)oc->last_sseq + 1));
        json_object_del(oc->config, "opt_start_time");
    }
    json_t *body = json_pack("{sssO}", "stream_name", oc->stream, "config",
                             oc->config);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char suffix[300];
    snprintf(suffix, sizeof suffix, "CONSUMER.CREATE.%s", oc->stream);
    json_t *reply = NULL;
    st = jw__js_api(oc->js, suffix, text, &reply);
    free(text);
    if (st == JW_OK) {
        const char *name = json_string_value(json_object_get(reply, "name"));
        oc->name = name ? strdup(name) : NULL;
        if (!oc->created_once) {
            json_t *delivered = json_object_get(reply, "delivered");
            oc->initial =
                (uint64_t)json_integer_value(json_object_get(reply,
                                                             "num_pending")) +
                (uint64_t)json_integer_value(
                    json_object_get(delivered, "consumer_seq"));
            oc->created_once = 1;
        }
    }
    json_decref(reply);
    oc->expected_cseq = 1;
    oc->last_activity = jw__now_ms();
    return st;
}

jw_status jw_js_ordered_consumer(jw_js *js, const char *stream,
                                 const char *config_json, jw_ordered **out)
{
    if (out)
        *out = NULL;
    if (!js || !out)
        return jw__fail(JW_EINVAL, "js and out must not be NULL");
    jw_status st = jw__js_check_name("stream", stream);
    json_t *cfg = NULL;
    if (st == JW_OK)
        st = jw__js_config_to_wire(js, JW__JS_CONSUMER,
                                   config_json ? config_json : "{}", &cfg);
    if (st)
        return st;
    const char *key;
    json_t *v;
    json_object_foreach(cfg, key, v)
    {
        if (!is_allowed(key)) {
            /* The key lives in cfg: report before releasing it. */
            st = jw__fail(JW_EINVAL,
                          "'%s' cannot be set for an ordered consumer", key);
            json_decref(cfg);
            return st;
        }
    }
    json_t *hb = json_object_get(cfg, "idle_heartbeat");
    json_int_t hb_ns = hb ? json_integer_value(hb) : 5000000000LL;
    if (hb_ns < 100000000LL) {
        json_decref(cfg);
        return jw__fail(JW_EINVAL, "idle_heartbeat must be >= 100 ms");
    }
    json_object_set_new(cfg, "idle_heartbeat", json_integer(hb_ns));
    json_object_set_new(cfg, "ack_policy", json_string("none"));
    json_object_set_new(cfg, "max_deliver", json_integer(1));
    json_object_set_new(cfg, "flow_control", json_true());
    json_object_set_new(cfg, "mem_storage", json_true());
    json_object_set_new(cfg, "num_replicas", json_integer(1));
    json_object_set_new(cfg, "ack_wait",
                        json_integer(22LL * 3600 * 1000000000LL));
    jw_ordered *oc = calloc(1, sizeof(*oc));
    if (!oc || !(oc->stream = strdup(stream))) {
        free(oc);
        json_decref(cfg);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    oc->js = js;
    jw__js_ref(js);
    oc->config = cfg;
    oc->heartbeat_ms = hb_ns / 1000000;
    st = create(oc);
    if (st) {
        jw_ordered_free(oc);
        return st;
    }
    *out = oc;
    return JW_OK;
}

/* A control message: answer flow control, check a heartbeat. Returns 1
 * when the heartbeat shows a gap. */
static int control(jw_ordered *oc, const jw_msg *m)
{
    jw_conn *conn = oc->js->conn;
    const char *reply = jw_msg_reply(m);
    if (reply) { /* flow control: everything before it was handed over */
        jw_conn_publish(conn, reply, NULL, 0);
        return 0;
    }
    const char *v = NULL;
    if (jw_msg_header_get(m, "Nats-Consumer-Stalled", 0, &v) == JW_OK)
        jw_conn_publish(conn, v, NULL, 0);
    if (jw_msg_header_get(m, "Nats-Last-Consumer", 0, &v) == JW_OK) {
        uint64_t last = strtoull(v, NULL, 10);
        return last != oc->expected_cseq - 1;
    }
    return 0;
}

int jw_ordered_next(jw_ordered *oc, jw_msg **msgs, int max,
                    int64_t timeout_ms)
{
    if (!oc || !msgs || max <= 0)
        return jw__fail(JW_EINVAL, "ordered, msgs and max > 0 are needed");
    if (oc->stopped)
        return jw__fail(JW_EINVALID_SUBSCRIPTION,
                        "the ordered consumer was stopped");
    jw__js_set_err_code(0);
    int64_t deadline = timeout_ms < 0 ? -1 : jw__now_ms() + timeout_ms;
    int count = 0;
    while (count == 0) {
        int64_t now = jw__now_ms();
        int reset = !oc->sub || now - oc->last_activity > 3 * oc->heartbeat_ms;
        if (reset && create(oc) != JW_OK)
            oc->last_activity = now; /* retry after three heartbeats */
        int64_t wait = deadline < 0 ? oc->heartbeat_ms : deadline - now;
        if (wait > oc->heartbeat_ms)
            wait = oc->heartbeat_ms;
        if (wait < 0)
            wait = 0;
        jw_msg *got[256];
        int k = oc->sub ? jw_sub_next_batch(oc->sub, got,
                                            max < 256 ? max : 256, wait)
                        : JW_ETIMEOUT;
        if (k < 0 && k != JW_ETIMEOUT)
            return count ? count : k;
        int gap = 0;
        for (int i = 0; i < (k > 0 ? k : 0); i++) {
            jw_msg *m = got[i];
            oc->last_activity = jw__now_ms();
            if (gap) {
                jw_msg_free(m);
                continue;
            }
            if (jw_msg_status_code(m) && jw_msg_data_len(m) == 0) {
                gap = control(oc, m);
                jw_msg_free(m);
                continue;
            }
            jw_js_meta *meta = NULL;
            if (jw_msg_metadata(m, &meta)) {
                jw_msg_free(m);
                continue;
            }
            if (jw_js_meta_consumer_seq(meta) != oc->expected_cseq) {
                gap = 1;
                jw_msg_free(m);
            } else {
                oc->expected_cseq++;
                oc->last_sseq = jw_js_meta_stream_seq(meta);
                msgs[count++] = m;
            }
            jw_js_meta_free(meta);
        }
        if (gap)
            oc->last_activity = 0; /* reset on the next turn */
        if (count || (deadline >= 0 && jw__now_ms() >= deadline))
            break;
    }
    return count;
}

uint64_t jw__ordered_initial(const jw_ordered *oc)
{
    return oc ? oc->initial : 0;
}

uint64_t jw_ordered_last_sequence(const jw_ordered *oc)
{
    return oc ? oc->last_sseq : 0;
}

void jw_ordered_free(jw_ordered *oc)
{
    if (!oc)
        return;
    drop_consumer(oc);
    json_decref(oc->config);
    jw__js_release(oc->js);
    free(oc->stream);
    free(oc);
}
