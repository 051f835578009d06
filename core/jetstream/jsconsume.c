/*
 * Continuous consumption (like Go's Consume/Messages). A pull consumer
 * gets one inbox subscription, pull requests that overlap so that
 * messages keep coming, and idle heartbeats to notice a request the
 * server lost (a restart, a reconnect). A push consumer (one with a
 * deliver_subject, as nats.go's js.Subscribe and nats.c's js_Subscribe
 * consume) gets a subscription on that subject, in its deliver_group,
 * and its flow control answered. Everything happens in the caller's
 * jw_consume_next: nothing runs on the loop thread, and nothing is
 * requested while nobody pulls.
 */
#include "js.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jw_consume {
    jw_consumer *consumer; /* referenced */
    jw_sub *sub;
    char inbox[64];
    char next_subject[700];
    int batch;              /* messages asked for per round */
    int64_t max_bytes;
    int64_t expires_ms, heartbeat_ms;
    int64_t pending;        /* messages asked for and not yet settled */
    char *group;            /* priority group (NULL: none), and limits */
    int64_t min_pending, min_ack_pending, priority;
    int64_t last_activity;  /* ms: last message or heartbeat */
    int push;               /* delivered to the consumer's deliver_subject */
    int stopped;
};

static jw_status pull(jw_consume *cc, int64_t count)
{
    /* The group's part is made anew each time: the pin may have changed. */
    char priority[200];
    jw_status st = jw__pull_priority(cc->consumer, cc->group, cc->min_pending,
                                     cc->min_ack_pending, cc->priority,
                                     priority, sizeof priority);
    if (st)
        return st;
    char body[400];
    int n = snprintf(body, sizeof body,
                     "{\"batch\":%lld,\"expires\":%lld,\"idle_heartbeat\":%lld",
                     (long long)count, (long long)cc->expires_ms * 1000000,
                     (long long)cc->heartbeat_ms * 1000000);
    if (cc->max_bytes)
        n += snprintf(body + n, sizeof body - (size_t)n, ",\"max_bytes\":%lld",
                      (long long)cc->max_bytes);
    snprintf(body + n, sizeof body - (size_t)n, "%s}", priority);
    st = jw_conn_publish_reply(cc->consumer->js->conn,
                                         cc->next_subject, cc->inbox, body,
                                         strlen(body));
    if (st == JW_OK)
        cc->pending += count;
    return st;
}

/* Without a message or heartbeat for this long, a push consumption asks
 * whether its consumer is still there (the server tells a deleted push
 * consumer's subscribers nothing): twice the consumer's idle_heartbeat,
 * or this when it has none. */
#define PUSH_CHECK_MS 5000

/* Ask the server which kind of consumer this is; for a push consumer,
 * subscribe to its deliver_subject (in its deliver_group); the
 * subscription comes back with a reconnect, and the server pushes again.
 * The call's options are all about pull requests: given
 * for a push consumer they are an error, not ignored. */
static jw_status start_push(jw_consume *cc, const jw_call_opts *opts)
{
    jw_consumer *c = cc->consumer;
    json_t *info = NULL;
    jw_status st = jw__js_consumer_wire_info(c->js, c->stream, c->name, &info);
    if (st)
        return st;
    json_t *config = json_object_get(info, "config");
    const char *deliver =
        json_string_value(json_object_get(config, "deliver_subject"));
    if (!deliver || !*deliver) {
        json_decref(info);
        return JW_OK; /* a pull consumer */
    }
    for (int i = JW__CONSUME_BATCH; i <= JW__CONSUME_PRIORITY && !st; i++)
        if (jw__call_opts_has(opts, i))
            st = jw__fail(JW_EINVAL,
                          "consumer '%s' is a push consumer (deliver_subject "
                          "'%s'): the consume options (batch, max_bytes, "
                          "expires, priority groups) are for pull "
                          "consumers",
                          c->name, deliver);
    const char *group =
        json_string_value(json_object_get(config, "deliver_group"));
    json_t *hb = json_object_get(config, "idle_heartbeat"); /* ns */
    if (st == JW_OK)
        st = jw_conn_subscribe(c->js->conn, deliver,
                               group && *group ? group : NULL, &cc->sub);
    if (st == JW_OK) {
        cc->push = 1;
        cc->heartbeat_ms = json_is_integer(hb) && json_integer_value(hb) > 0
                               ? json_integer_value(hb) / 1000000
                               : PUSH_CHECK_MS / 2;
    }
    json_decref(info);
    return st;
}

jw_status jw_consumer_consume(jw_consumer *c, const jw_call_opts *opts,
                              jw_consume **out)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return jw__fail(JW_EINVAL, "consumer and out must not be NULL");
    int64_t expires_ms;
    jw_status used = jw__call_opts_use(opts, JW__CALL_CONSUME, c->js);
    if (used == JW_OK)
        used = jw__call_opts_ms(opts, JW__CONSUME_EXPIRES, c->js, 30000,
                                &expires_ms);
    if (used)
        return used;
    int64_t batch = jw__call_opts_int(opts, JW__CONSUME_BATCH, 100);
    int64_t max_bytes = jw__call_opts_int(opts, JW__CONSUME_MAX_BYTES, 0);
    jw_consume *cc = calloc(1, sizeof(*cc));
    if (!cc)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    cc->consumer = c;
    jw__consumer_ref(c);
    cc->batch = (int)batch;
    const char *group = jw__call_opts_str(opts, JW__CONSUME_GROUP);
    if (group && !(cc->group = strdup(group))) {
        jw_consume_free(cc);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    cc->min_pending = jw__call_opts_int(opts, JW__CONSUME_MIN_PENDING, 0);
    cc->min_ack_pending =
        jw__call_opts_int(opts, JW__CONSUME_MIN_ACK_PENDING, 0);
    cc->priority = jw__call_opts_int(opts, JW__CONSUME_PRIORITY, 0);
    cc->max_bytes = max_bytes;
    cc->expires_ms = expires_ms;
    /* The server wants 2 * heartbeat <= expires. */
    cc->heartbeat_ms = expires_ms / 2 < 30000 ? expires_ms / 2 : 30000;
    jw_js *js = c->js;
    jw_status st = start_push(cc, opts);
    if (st == JW_OK && !cc->push) {
        int n = snprintf(cc->next_subject, sizeof cc->next_subject,
                         "%s.CONSUMER.MSG.NEXT.%s.%s", js->prefix, c->stream,
                         c->name);
        if (n < 0 || (size_t)n >= sizeof cc->next_subject)
            st = jw__fail(JW_EINVAL, "pull subject is too long");
        if (st == JW_OK)
            st = jw_conn_new_inbox(js->conn, cc->inbox, sizeof cc->inbox);
        if (st == JW_OK)
            st = jw_conn_subscribe(js->conn, cc->inbox, NULL, &cc->sub);
        if (st == JW_OK)
            st = pull(cc, batch);
    }
    if (st) {
        jw_consume_free(cc);
        return st;
    }
    cc->last_activity = jw__now_ms();
    *out = cc;
    return JW_OK;
}

/* The Nats-Pending-Messages of a status: what its request will not
 * deliver any more. */
static int64_t pending_of(const jw_msg *m)
{
    const char *v = NULL;
    if (jw_msg_header_get(m, "Nats-Pending-Messages", 0, &v))
        return -1;
    return strtoll(v, NULL, 10);
}

/* A status's description ("" when none), its length in *len. */
static const char *status_desc(const jw_msg *m, size_t *len)
{
    size_t hl;
    const char *hdr = jw_msg_headers_raw(m, &hl);
    int status = 0;
    const char *desc = "";
    *len = 0;
    jw__hdr_status(hdr, hl, &status, &desc, len);
    return desc;
}

/* Whether a status's description starts with text. */
static int desc_is(const jw_msg *m, const char *text)
{
    size_t dl, n = strlen(text);
    const char *desc = status_desc(m, &dl);
    return dl >= n && memcmp(desc, text, n) == 0;
}

/* A push consumer's control message: answer flow control, and a
 * heartbeat that says the consumer stalled waiting for that answer. */
static jw_status on_push_status(jw_consume *cc, const jw_msg *m)
{
    int code = jw_msg_status_code(m);
    jw_conn *conn = cc->consumer->js->conn;
    const char *reply = jw_msg_reply(m);
    const char *stalled = NULL;
    if (code == 100 && reply)
        return jw_conn_publish(conn, reply, NULL, 0);
    if (code == 100 && jw_msg_header_get(m, "Nats-Consumer-Stalled", 0,
                                         &stalled) == JW_OK)
        return jw_conn_publish(conn, stalled, NULL, 0);
    if (code == 409 && desc_is(m, "Consumer Deleted"))
        return jw__fail(JW_ECONSUMER_NOT_FOUND, "the consumer was deleted");
    return JW_OK;
}

/* A status message: settle the request it ends, or fail. */
static jw_status on_status(jw_consume *cc, const jw_msg *m)
{
    int code = jw_msg_status_code(m);
    if (cc->push)
        return on_push_status(cc, m);
    if (code == 100)
        return JW_OK; /* heartbeat: activity already noted */
    if (code == 408 || code == 409 || code == 404) {
        int64_t left = pending_of(m);
        if (code == 409 && left < 0) {
            /* A deleted consumer ends consumption. A request refused
             * for what it asks (Exceeded MaxRequestBatch, MaxWaiting...)
             * or for the consumer's kind would be refused again at once:
             * the caller hears of it rather than the engine asking in a
             * loop. Other ends (a leadership change) ask again. */
            if (desc_is(m, "Consumer Deleted"))
                return jw__fail(JW_ECONSUMER_NOT_FOUND,
                                "the consumer was deleted");
            cc->pending = 0;
            if (desc_is(m, "Exceeded") ||
                desc_is(m, "Consumer is push based")) {
                size_t dl;
                const char *desc = status_desc(m, &dl);
                return jw__fail(JW_EJETSTREAM,
                                "pull request refused: %.*s", (int)dl, desc);
            }
            return JW_OK;
        }
        cc->pending -= left > 0 ? left : 0;
        if (cc->pending < 0)
            cc->pending = 0;
        return JW_OK;
    }
    if (code == 503)
        return jw__fail(JW_ECONSUMER_NOT_FOUND,
                        "no responders: the consumer or its stream is gone");
    if (code == 423) {
        /* The group's pin went to another client: this request is over;
         * the next one goes without the old id. */
        jw__consumer_pin_clear(cc->consumer);
        cc->pending = 0;
        return JW_OK;
    }
    return jw__fail(JW_EJETSTREAM, "pull request failed with status %d",
                    code);
}

int jw_consume_next(jw_consume *cc, jw_msg **msgs, int max,
                    int64_t timeout_ms)
{
    if (!cc || !msgs || max <= 0)
        return jw__fail(JW_EINVAL, "consume, msgs and max > 0 are needed");
    if (cc->stopped)
        return jw__fail(JW_EINVALID_SUBSCRIPTION, "consumption was stopped");
    jw__js_set_err_code(0);
    int64_t deadline = timeout_ms < 0 ? -1 : jw__now_ms() + timeout_ms;
    int count = 0;
    jw_status st = JW_OK;
    while (count == 0 && st == JW_OK) {
        int64_t now = jw__now_ms();
        int64_t wait = -1; /* until a message comes */
        if (deadline >= 0)
            wait = deadline > now ? deadline - now : 0;
        if (cc->push) {
            if (now - cc->last_activity > 2 * cc->heartbeat_ms) {
                cc->last_activity = now;
                jw_consumer *c = cc->consumer;
                jw_status gone =
                    jw__js_consumer_exists(c->js, c->stream, c->name);
                if (gone == JW_ECONSUMER_NOT_FOUND ||
                    gone == JW_ESTREAM_NOT_FOUND) {
                    st = gone;
                    break;
                }
            }
            if (wait < 0 || wait > 2 * cc->heartbeat_ms)
                wait = 2 * cc->heartbeat_ms;
        } else {
            /* No message nor heartbeat for two heartbeats: the server
             * lost our requests (restart, reconnect). Ask again from
             * scratch. */
            if (now - cc->last_activity > 2 * cc->heartbeat_ms) {
                cc->pending = 0;
                cc->last_activity = now;
            }
            /* Overlap: ask for more before the current round runs dry. */
            if (cc->pending <= cc->batch / 2)
                st = pull(cc, cc->batch - cc->pending);
            if (st)
                break;
            if (wait < 0 || wait > cc->heartbeat_ms)
                wait = cc->heartbeat_ms;
        }
        jw_msg *got[256];
        int k = jw_sub_next_batch(cc->sub, got, max < 256 ? max : 256, wait);
        if (k == JW_ETIMEOUT) {
            if (deadline >= 0 && jw__now_ms() >= deadline)
                break;
            continue;
        }
        if (k < 0) {
            st = k;
            break;
        }
        cc->last_activity = jw__now_ms();
        for (int i = 0; i < k; i++) {
            jw_msg *m = got[i];
            if (jw_msg_status_code(m) && jw_msg_data_len(m) == 0) {
                jw_status s = on_status(cc, m);
                if (s && st == JW_OK)
                    st = s;
                jw_msg_free(m);
            } else {
                jw__consumer_pin_note(cc->consumer, m);
                msgs[count++] = m;
                if (cc->pending > 0)
                    cc->pending--;
            }
        }
        if (deadline >= 0 && jw__now_ms() >= deadline)
            break;
    }
    if (st && count == 0)
        return st;
    return count;
}

jw_status jw_consume_stop(jw_consume *cc)
{
    if (!cc)
        return jw__fail(JW_EINVAL, "consume is NULL");
    if (!cc->stopped) {
        /* Dropping the interest ends the server's requests. */
        jw_sub_free(cc->sub);
        cc->sub = NULL;
        cc->stopped = 1;
    }
    return JW_OK;
}

void jw_consume_free(jw_consume *cc)
{
    if (!cc)
        return;
    jw_sub_free(cc->sub);
    jw__consumer_release(cc->consumer);
    free(cc->group);
    free(cc);
}
