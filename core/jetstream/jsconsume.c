/*
 * Continuous pull consumption (like Go's Consume/Messages): one inbox
 * subscription, pull requests that overlap so that messages keep coming,
 * and idle heartbeats to notice a request the server lost (a restart, a
 * reconnect). Everything happens in the caller's jw_consume_next: nothing
 * runs on the loop thread and nothing is requested while nobody pulls.
 */
#include "js.h"

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
    int n = snprintf(cc->next_subject, sizeof cc->next_subject,
                     "%s.CONSUMER.MSG.NEXT.%s.%s", js->prefix, c->stream,
                     c->name);
    jw_status st = n < 0 || (size_t)n >= sizeof cc->next_subject
                       ? jw__fail(JW_EINVAL, "pull subject is too long")
                       : JW_OK;
    if (st == JW_OK)
        st = jw_conn_new_inbox(js->conn, cc->inbox, sizeof cc->inbox);
    if (st == JW_OK)
        st = jw_conn_subscribe(js->conn, cc->inbox, NULL, &cc->sub);
    if (st == JW_OK)
        st = pull(cc, batch);
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

/* A status message: settle the request it ends, or fail. */
static jw_status on_status(jw_consume *cc, const jw_msg *m)
{
    int code = jw_msg_status_code(m);
    if (code == 100)
        return JW_OK; /* heartbeat: activity already noted */
    if (code == 408 || code == 409 || code == 404) {
        int64_t left = pending_of(m);
        if (code == 409 && left < 0) {
            size_t hl;
            const char *hdr = jw_msg_headers_raw(m, &hl);
            int status = 0;
            const char *desc = "";
            size_t dl = 0;
            jw__hdr_status(hdr, hl, &status, &desc, &dl);
            /* A refused request; a deleted consumer ends consumption. */
            if (dl >= 16 && memcmp(desc, "Consumer Deleted", 16) == 0)
                return jw__fail(JW_ECONSUMER_NOT_FOUND,
                                "the consumer was deleted");
            cc->pending = 0;
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
        /* No message nor heartbeat for two heartbeats: the server lost
         * our requests (restart, reconnect). Ask again from scratch. */
        if (now - cc->last_activity > 2 * cc->heartbeat_ms) {
            cc->pending = 0;
            cc->last_activity = now;
        }
        /* Overlap: ask for more before the current round runs dry. */
        if (cc->pending <= cc->batch / 2)
            st = pull(cc, cc->batch - cc->pending);
        if (st)
            break;
        int64_t wait = deadline < 0 ? cc->heartbeat_ms : deadline - now;
        if (wait > cc->heartbeat_ms)
            wait = cc->heartbeat_ms;
        if (wait < 0)
            wait = 0;
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
