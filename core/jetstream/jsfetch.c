/*
 * Pull consumption: one fetch = a fresh inbox subscription, one pull
 * request on it, and whatever arrives until the batch is full, a
 * terminating status comes, or the time is up (jetstream.md 7).
 */
#include "js.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK = 256 };

/* ---- priority groups (ADR-42), for fetch and consume ---- */

/* A group name: 1 to 16 of letters, digits and -_/= (ADR-42). */
static int group_ok(const char *g)
{
    size_t n = strlen(g);
    if (n < 1 || n > 16)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = g[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || strchr("-_/=", ch)))
            return 0;
    }
    return 1;
}

jw_status jw__pull_priority(jw_consumer *c, const char *group,
                            int64_t min_pending, int64_t min_ack_pending,
                            int64_t priority, char *buf, size_t size)
{
    buf[0] = 0;
    if (!group) {
        if (min_pending || min_ack_pending || priority)
            return jw__fail(JW_EINVAL, "min_pending, min_ack_pending and "
                                       "priority need a group");
        return JW_OK;
    }
    if (!group_ok(group))
        return jw__fail(JW_EINVAL, "invalid priority group '%s': 1 to 16 "
                                   "letters, digits, '-', '_', '/' or '='",
                        group);
    int n = snprintf(buf, size, ",\"group\":\"%s\"", group);
    if (min_pending)
        n += snprintf(buf + n, size - (size_t)n, ",\"min_pending\":%lld",
                      (long long)min_pending);
    if (min_ack_pending)
        n += snprintf(buf + n, size - (size_t)n,
                      ",\"min_ack_pending\":%lld",
                      (long long)min_ack_pending);
    if (priority)
        n += snprintf(buf + n, size - (size_t)n, ",\"priority\":%lld",
                      (long long)priority);
    pthread_mutex_lock(&c->pin_mu);
    if (c->pin_id[0])
        snprintf(buf + n, size - (size_t)n, ",\"id\":\"%s\"", c->pin_id);
    pthread_mutex_unlock(&c->pin_mu);
    return JW_OK;
}

void jw__consumer_pin_note(jw_consumer *c, const jw_msg *m)
{
    const char *id = NULL;
    if (jw_msg_header_get(m, "Nats-Pin-Id", 0, &id) != JW_OK || !id)
        return;
    /* An id is the server's NUID: letters and digits; anything else is
     * not sent back. */
    size_t n = strlen(id);
    if (n == 0 || n >= sizeof c->pin_id || strspn(id,
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != n)
        return;
    pthread_mutex_lock(&c->pin_mu);
    memcpy(c->pin_id, id, n + 1);
    pthread_mutex_unlock(&c->pin_mu);
}

void jw__consumer_pin_clear(jw_consumer *c)
{
    pthread_mutex_lock(&c->pin_mu);
    c->pin_id[0] = 0;
    pthread_mutex_unlock(&c->pin_mu);
}

/* What a status message means for the fetch in progress. */
enum verdict { KEEP_GOING, FINISHED, FAILED };

static enum verdict judge_status(jw_consumer *c, const jw_msg *m, int have,
                                 jw_status *st)
{
    int code = 0;
    const char *desc = "";
    size_t desc_len = 0;
    size_t hl;
    const char *hdr = jw_msg_headers_raw(m, &hl);
    if (hdr)
        jw__hdr_status(hdr, hl, &code, &desc, &desc_len);
    switch (code) {
    case 100: /* heartbeat */
        return KEEP_GOING;
    case 404: /* no messages (no_wait) */
    case 408: /* expired, or no_wait drained */
        return FINISHED;
    case 423: /* the group's pin went to another client: not ours now */
        jw__consumer_pin_clear(c);
        return FINISHED;
    case 409:
        /* Hitting max_bytes ends a request normally; the other 409s refuse
         * it, which only matters when nothing was delivered. */
        if (have || (desc_len >= 12 && memcmp(desc, "Message Size", 12) == 0)
            || (desc_len >= 15 && memcmp(desc, "Batch Completed", 15) == 0))
            return FINISHED;
        *st = jw__fail(JW_EJETSTREAM, "pull request refused: 409 %.*s",
                       (int)desc_len, desc);
        return FAILED;
    case 503:
        if (have)
            return FINISHED;
        *st = jw__fail(JW_ECONSUMER_NOT_FOUND,
                       "pull request had no responders: the consumer or its "
                       "stream does not exist");
        return FAILED;
    default:
        if (have)
            return FINISHED;
        *st = jw__fail(JW_EJETSTREAM, "pull request failed: %d %.*s", code,
                       (int)desc_len, desc);
        return FAILED;
    }
}

int jw_consumer_fetch(jw_consumer *c, jw_msg **msgs, int max,
                      const jw_call_opts *opts)
{
    if (!c || !msgs)
        return jw__fail(JW_EINVAL, "consumer and msgs must not be NULL");
    if (max <= 0)
        return jw__fail(JW_EINVAL, "fetch needs room for a message (max > "
                                   "0)");
    jw_js *js = c->js;
    int64_t timeout_ms;
    jw_status st = jw__call_opts_use(opts, JW__CALL_FETCH, js);
    if (st == JW_OK)
        st = jw__call_opts_ms(opts, JW__FETCH_TIMEOUT, js, js->timeout_ms,
                              &timeout_ms);
    if (st)
        return st;
    int64_t batch = jw__call_opts_int(opts, JW__FETCH_BATCH, max);
    if (batch > max)
        return jw__fail(JW_EINVAL, "fetch batch %lld is more than the room "
                                   "given (%d)",
                        (long long)batch, max);
    int64_t max_bytes = jw__call_opts_int(opts, JW__FETCH_MAX_BYTES, 0);
    int no_wait = (int)jw__call_opts_int(opts, JW__FETCH_NO_WAIT, 0);
    char priority[200];
    st = jw__pull_priority(
        c, jw__call_opts_str(opts, JW__FETCH_GROUP),
        jw__call_opts_int(opts, JW__FETCH_MIN_PENDING, 0),
        jw__call_opts_int(opts, JW__FETCH_MIN_ACK_PENDING, 0),
        jw__call_opts_int(opts, JW__FETCH_PRIORITY, 0), priority,
        sizeof priority);
    if (st)
        return st;
    jw__js_set_err_code(0);

    char inbox[64];
    jw_sub *sub = NULL;
    st = jw_conn_new_inbox(js->conn, inbox, sizeof inbox);
    if (st == JW_OK)
        st = jw_conn_subscribe(js->conn, inbox, NULL, &sub);
    if (st)
        return st;

    /* The server gives up a little before the client does, so that its 408
     * normally arrives in time to end the fetch. */
    char body[400];
    int n = snprintf(body, sizeof body, "{\"batch\":%lld", (long long)batch);
    if (no_wait)
        n += snprintf(body + n, sizeof body - (size_t)n, ",\"no_wait\":true");
    else
        n += snprintf(body + n, sizeof body - (size_t)n, ",\"expires\":%lld",
                      (long long)(timeout_ms * 900000));
    if (max_bytes)
        n += snprintf(body + n, sizeof body - (size_t)n, ",\"max_bytes\":%lld",
                      (long long)max_bytes);
    snprintf(body + n, sizeof body - (size_t)n, "%s}", priority);
    char subject[700];
    n = snprintf(subject, sizeof subject, "%s.CONSUMER.MSG.NEXT.%s.%s",
                 js->prefix, c->stream, c->name);
    if (n < 0 || (size_t)n >= sizeof subject)
        st = jw__fail(JW_EINVAL, "pull subject is too long");
    if (st == JW_OK)
        st = jw_conn_publish_reply(js->conn, subject, inbox, body,
                                   strlen(body));

    int count = 0, statuses = 0;
    int64_t deadline = jw__now_ms() + timeout_ms;
    enum verdict v = KEEP_GOING;
    while (st == JW_OK && v == KEEP_GOING && count < batch) {
        int64_t left = deadline - jw__now_ms();
        if (left <= 0)
            break;
        jw_msg *got[CHUNK];
        int want = batch - count < CHUNK ? (int)(batch - count) : CHUNK;
        int k = jw_sub_next_batch(sub, got, want, left);
        if (k == JW_ETIMEOUT)
            break;
        if (k < 0) {
            st = k;
            break;
        }
        for (int i = 0; i < k; i++) {
            jw_msg *m = got[i];
            if (v == KEEP_GOING && jw_msg_status_code(m) &&
                jw_msg_data_len(m) == 0) {
                v = judge_status(c, m, count, &st);
                statuses++;
                jw_msg_free(m);
            } else if (v == KEEP_GOING) {
                jw__consumer_pin_note(c, m);
                msgs[count++] = m;
            } else {
                jw_msg_free(m); /* nothing follows a terminal status */
            }
        }
    }
    jw_sub_free(sub);
    /* A live consumer ends an expiring request with a 408 before the
     * client gives up; silence means the consumer (or its stream) is gone,
     * since 2.9.10 does not answer pulls for a missing consumer. */
    if (st == JW_OK && count == 0 && statuses == 0 && !no_wait) {
        jw_status found = jw__js_consumer_exists(js, c->stream, c->name);
        if (found == JW_ECONSUMER_NOT_FOUND || found == JW_ESTREAM_NOT_FOUND)
            st = found;
    }
    if (st && count == 0)
        return st;
    return count;
}
