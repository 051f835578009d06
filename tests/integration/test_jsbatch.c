/* Atomic batch publishes (ADR-50) and counters (ADR-49), nats-server 2.12,
 * against a real nats-server; on an older one, NOT_SUPPORTED naming the
 * version. */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JS_SETUP(srv, nc, js)                                                  \
    jw_conn *nc = NULL;                                                        \
    jw_js *js = NULL;                                                          \
    CHECK_OK(jw_test_connect(srv, &nc));                                       \
    CHECK_OK(jw_js_new(nc, &js))

#define JS_TEARDOWN(srv, nc, js)                                               \
    do {                                                                       \
        jw_js_free(js);                                                        \
        jw_conn_free(nc);                                                      \
        jw_test_server_stop(srv);                                              \
    } while (0)

#define ATOMIC_STREAM(name, subjects)                                          \
    "{\"name\":\"" name "\",\"subjects\":[\"" subjects "\"],"                 \
    "\"allow_atomic\":true}"

/* The stream's message count (-1 when its info cannot be read). */
static long long stream_msgs(jw_js *js, const char *stream)
{
    char *info = NULL;
    if (jw_js_stream_info(js, stream, &info) != JW_OK)
        return -1;
    const char *at = strstr(info, "\"messages\":");
    long long n = at ? strtoll(at + strlen("\"messages\":"), NULL, 10) : -1;
    jw_free(info);
    return n;
}

/* Add messages <prefix>.<i> for i in [from, to) to b; the status of the
 * first failure. */
static jw_status add_run(jw_js_batch *b, const char *prefix, int from, int to)
{
    for (int i = from; i < to; i++) {
        char subject[64], data[32];
        snprintf(subject, sizeof subject, "%s.%d", prefix, i);
        int len = snprintf(data, sizeof data, "m%d", i);
        jw_msg *m = NULL;
        jw_status st = jw_msg_new(subject, NULL, data, (size_t)len, &m);
        if (st == JW_OK)
            st = jw_js_batch_add(b, m, NULL);
        jw_msg_free(m);
        if (st) {
            fprintf(stderr, "batch add %d: %s [%s]\n", i, jw_status_name(st),
                    jw_last_error());
            return st;
        }
    }
    return JW_OK;
}

/* Commit b with one more message on subject (NULL: end of batch). */
static jw_status commit_on(jw_js_batch *b, const char *subject,
                           jw_js_pub_ack **ack)
{
    if (!subject)
        return jw_js_batch_commit(b, NULL, NULL, ack);
    jw_msg *m = NULL;
    jw_status st = jw_msg_new(subject, NULL, "last", 4, &m);
    if (st == JW_OK)
        st = jw_js_batch_commit(b, m, NULL, ack);
    jw_msg_free(m);
    return st;
}

/* On a server older than 2.12, a batch and a counter are NOT_SUPPORTED,
 * naming the version, before anything is sent. */
static int check_not_supported(jw_js *js)
{
    jw_js_batch *b = (jw_js_batch *)1;
    CHECK_STATUS(jw_js_batch_new(js, &b), JW_ENOT_SUPPORTED);
    CHECK(strstr(jw_last_error(), "2.12.0") != NULL);
    CHECK(b == NULL);
    char *value = (char *)1;
    CHECK_STATUS(jw_js_counter_add(js, "c.hits", "+1", NULL, &value),
                 JW_ENOT_SUPPORTED);
    CHECK(strstr(jw_last_error(), "2.12.0") != NULL);
    CHECK(value == NULL);
    CHECK_STATUS(jw_js_counter_get(js, "C", "c.hits", &value),
                 JW_ENOT_SUPPORTED);
    CHECK(strstr(jw_last_error(), "2.12.0") != NULL);
    return 0;
}

TEST(js_batch_commits_whole)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(atomic, nc, "2.12.0", "atomic batches");
    if (!atomic) {
        int failed = check_not_supported(js);
        JS_TEARDOWN(srv, nc, js);
        return failed;
    }
    CHECK_OK(jw_js_stream_create(js, ATOMIC_STREAM("B", "b.>"), NULL));
    jw_js_batch *b = NULL;
    CHECK_OK(jw_js_batch_new(js, &b));
    const char *id = jw_js_batch_id(b);
    CHECK(id && strlen(id) > 0 && strlen(id) <= 64);
    /* Another batch gets another id. */
    jw_js_batch *other = NULL;
    CHECK_OK(jw_js_batch_new(js, &other));
    CHECK(strcmp(jw_js_batch_id(other), id) != 0);
    jw_js_batch_free(other); /* abandoned before anything was sent */

    CHECK_OK(add_run(b, "b", 0, 999));
    CHECK_EQ_INT(jw_js_batch_count(b), 999);
    /* Staged, not stored, until the commit. */
    CHECK_EQ_INT(stream_msgs(js, "B"), 0);
    jw_js_pub_ack *ack = NULL;
    CHECK_OK(commit_on(b, "b.last", &ack));
    CHECK_EQ_INT(jw_js_batch_count(b), 1000);
    CHECK_STR(jw_js_pub_ack_stream(ack), "B");
    CHECK_STR(jw_js_pub_ack_batch(ack), id);
    CHECK_EQ_INT(jw_js_pub_ack_count(ack), 1000);
    CHECK_EQ_INT(jw_js_pub_ack_seq(ack), 1000);
    jw_js_pub_ack_free(ack);
    CHECK_EQ_INT(stream_msgs(js, "B"), 1000);
    /* In order, each with its batch headers; the last one says commit. */
    jw_msg *m = NULL;
    CHECK_OK(jw_js_stream_get_msg(js, "B", 500, &m));
    CHECK_STR(jw_msg_subject(m), "b.499");
    const char *v = NULL;
    CHECK_OK(jw_msg_header_get(m, "Nats-Batch-Id", 0, &v));
    CHECK_STR(v, id);
    CHECK_OK(jw_msg_header_get(m, "Nats-Batch-Sequence", 0, &v));
    CHECK_STR(v, "500");
    jw_msg_free(m);
    CHECK_OK(jw_js_stream_get_msg(js, "B", 1000, &m));
    CHECK_STR(jw_msg_subject(m), "b.last");
    CHECK_OK(jw_msg_header_get(m, "Nats-Batch-Commit", 0, &v));
    CHECK_STR(v, "1");
    jw_msg_free(m);

    /* A committed batch takes nothing more. */
    CHECK_STATUS(add_run(b, "b", 0, 1), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "committed") != NULL);
    CHECK_STATUS(commit_on(b, "b.again", NULL), JW_EINVAL);
    jw_js_batch_free(b);

    /* A batch of one: the commit is its only message. */
    CHECK_OK(jw_js_batch_new(js, &b));
    CHECK_OK(commit_on(b, "b.single", &ack));
    CHECK_EQ_INT(jw_js_pub_ack_count(ack), 1);
    CHECK_EQ_INT(jw_js_pub_ack_seq(ack), 1001);
    jw_js_pub_ack_free(ack);
    jw_js_batch_free(b);
    JS_TEARDOWN(srv, nc, js);
    return 0;
}

TEST(js_batch_refused)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(atomic, nc, "2.12.0", "atomic batches");
    if (!atomic) {
        int failed = check_not_supported(js);
        JS_TEARDOWN(srv, nc, js);
        return failed;
    }
    CHECK_OK(jw_js_stream_create(js, ATOMIC_STREAM("B", "b.>"), NULL));
    CHECK_OK(jw_js_stream_create(
        js, "{\"name\":\"PLAIN\",\"subjects\":[\"p.>\"]}", NULL));

    /* A stream without allow_atomic says so at the first message. */
    jw_js_batch *b = NULL;
    CHECK_OK(jw_js_batch_new(js, &b));
    CHECK_STATUS(add_run(b, "p", 0, 1), JW_EJETSTREAM);
    CHECK_EQ_INT(jw_js_last_err_code(), 10174);
    CHECK(strstr(jw_last_error(), "atomic publish is disabled") != NULL);
    CHECK_EQ_INT(jw_js_batch_count(b), 0);
    CHECK_STATUS(add_run(b, "p", 1, 2), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "failed") != NULL);
    CHECK_STATUS(commit_on(b, "p.x", NULL), JW_EINVAL);
    jw_js_batch_free(b);
    CHECK_EQ_INT(stream_msgs(js, "PLAIN"), 0);

    /* No stream at all. */
    CHECK_OK(jw_js_batch_new(js, &b));
    CHECK_STATUS(add_run(b, "nowhere", 0, 1), JW_ENO_RESPONDERS);
    jw_js_batch_free(b);

    /* An expectation that fails in the middle: the commit is refused and
     * none of the batch is stored. */
    CHECK_OK(jw_js_publish(js, "b.x", "before", 6, NULL, NULL));
    CHECK_OK(jw_js_batch_new(js, &b));
    CHECK_OK(add_run(b, "b", 0, 500));
    jw_call_opts *o = jw_test_opts_int("publish", "expected_last_subject_seq",
                                       5);
    CHECK(o != NULL);
    jw_msg *m = NULL;
    CHECK_OK(jw_msg_new("b.x", NULL, "mid", 3, &m));
    CHECK_OK(jw_js_batch_add(b, m, o));
    jw_msg_free(m);
    jw_call_opts_free(o);
    CHECK_OK(add_run(b, "b", 501, 999));
    jw_js_pub_ack *ack = (jw_js_pub_ack *)1;
    CHECK_STATUS(commit_on(b, "b.last", &ack), JW_EWRONG_LAST_SEQUENCE);
    CHECK_EQ_INT(jw_js_last_err_code(), 10071);
    CHECK(ack == NULL);
    CHECK_STATUS(add_run(b, "b", 0, 1), JW_EINVAL);
    jw_js_batch_free(b);
    CHECK_EQ_INT(stream_msgs(js, "B"), 1);

    /* More than the server takes (1,000): the commit is the 1,001st. */
    CHECK_OK(jw_js_batch_new(js, &b));
    CHECK_OK(add_run(b, "b", 0, 1000));
    CHECK_STATUS(commit_on(b, "b.last", NULL), JW_EJETSTREAM);
    CHECK_EQ_INT(jw_js_last_err_code(), 10199);
    CHECK(strstr(jw_last_error(), "too large") != NULL);
    jw_js_batch_free(b);
    CHECK_EQ_INT(stream_msgs(js, "B"), 1);

    /* A header the server does not take in a batch. */
    CHECK_OK(jw_js_batch_new(js, &b));
    CHECK_OK(add_run(b, "b", 0, 2));
    o = NULL;
    CHECK_OK(jw_call_opts_new("publish", &o));
    CHECK_OK(jw_call_opts_set_str(o, "expected_last_msg_id", "x"));
    CHECK_OK(jw_msg_new("b.y", NULL, "y", 1, &m));
    CHECK_STATUS(jw_js_batch_commit(b, m, o, NULL), JW_EJETSTREAM);
    CHECK_EQ_INT(jw_js_last_err_code(), 10177);
    jw_msg_free(m);
    jw_call_opts_free(o);
    jw_js_batch_free(b);

    /* A msg_id seen before refuses the batch (2.12.1). */
    SERVER_AT_LEAST(dedup, nc, "2.12.1", "atomic batch msg_id");
    if (dedup) {
        o = NULL;
        CHECK_OK(jw_call_opts_new("publish", &o));
        CHECK_OK(jw_call_opts_set_str(o, "msg_id", "once"));
        CHECK_OK(jw_js_publish(js, "b.d", "d", 1, o, NULL));
        CHECK_OK(jw_js_batch_new(js, &b));
        CHECK_OK(add_run(b, "b", 0, 2));
        CHECK_OK(jw_msg_new("b.d", NULL, "d", 1, &m));
        CHECK_STATUS(jw_js_batch_commit(b, m, o, NULL), JW_EJETSTREAM);
        CHECK_EQ_INT(jw_js_last_err_code(), 10201);
        jw_msg_free(m);
        jw_call_opts_free(o);
        jw_js_batch_free(b);
        CHECK_EQ_INT(stream_msgs(js, "B"), 2);
    }
    JS_TEARDOWN(srv, nc, js);
    return 0;
}

TEST(js_batch_end_of_batch)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(atomic, nc, "2.12.0", "atomic batches");
    if (!atomic) {
        int failed = check_not_supported(js);
        JS_TEARDOWN(srv, nc, js);
        return failed;
    }
    CHECK_OK(jw_js_stream_create(js, ATOMIC_STREAM("B", "b.>"), NULL));
    jw_js_batch *b = NULL;
    CHECK_OK(jw_js_batch_new(js, &b));
    /* Nothing to end yet. */
    CHECK_STATUS(commit_on(b, NULL, NULL), JW_EINVAL);
    CHECK_OK(add_run(b, "b", 0, 3));
    /* Options of another call are refused before anything is sent: the
     * batch goes on. */
    jw_call_opts *fetch = jw_test_opts_true("fetch", "no_wait");
    CHECK(fetch != NULL);
    jw_msg *bad = NULL;
    CHECK_OK(jw_msg_new("b.bad", NULL, "x", 1, &bad));
    CHECK_STATUS(jw_js_batch_add(b, bad, fetch), JW_EINVAL);
    jw_msg_free(bad);
    jw_call_opts_free(fetch);
    CHECK_EQ_INT(jw_js_batch_count(b), 3);
    SERVER_AT_LEAST(eob, nc, "2.14.0", "atomic batch end-of-batch commit");
    if (!eob) {
        CHECK_STATUS(commit_on(b, NULL, NULL), JW_ENOT_SUPPORTED);
        CHECK(strstr(jw_last_error(), "2.14.0") != NULL);
        /* Nothing was sent: the batch can still be committed. */
        CHECK_OK(commit_on(b, "b.last", NULL));
        CHECK_EQ_INT(stream_msgs(js, "B"), 4);
        jw_js_batch_free(b);
        JS_TEARDOWN(srv, nc, js);
        return 0;
    }
    jw_js_pub_ack *ack = NULL;
    CHECK_OK(commit_on(b, NULL, &ack));
    CHECK_EQ_INT(jw_js_pub_ack_count(ack), 3);
    CHECK_EQ_INT(jw_js_pub_ack_seq(ack), 3);
    CHECK_STR(jw_js_pub_ack_batch(ack), jw_js_batch_id(b));
    jw_js_pub_ack_free(ack);
    CHECK_EQ_INT(jw_js_batch_count(b), 3);
    CHECK_EQ_INT(stream_msgs(js, "B"), 3);
    /* The server marks the last stored message as the commit. */
    jw_msg *m = NULL;
    const char *v = NULL;
    CHECK_OK(jw_js_stream_get_msg(js, "B", 3, &m));
    CHECK_STR(jw_msg_subject(m), "b.2");
    CHECK_OK(jw_msg_header_get(m, "Nats-Batch-Commit", 0, &v));
    CHECK_STR(v, "1");
    jw_msg_free(m);
    jw_js_batch_free(b);
    JS_TEARDOWN(srv, nc, js);
    return 0;
}

#define COUNTER_STREAM(name, subjects)                                         \
    "{\"name\":\"" name "\",\"subjects\":[\"" subjects "\"],"                 \
    "\"allow_msg_counter\":true,\"allow_direct\":true}"

/* Add delta to subject and check the new total. */
static int add_expect(jw_js *js, const char *subject, const char *delta,
                      const char *total)
{
    char *value = NULL;
    CHECK_OK(jw_js_counter_add(js, subject, delta, NULL, &value));
    CHECK_STR(value, total);
    jw_free(value);
    return 0;
}

TEST(js_counters)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(counters, nc, "2.12.0", "counters");
    if (!counters) {
        int failed = check_not_supported(js);
        JS_TEARDOWN(srv, nc, js);
        return failed;
    }
    CHECK_OK(jw_js_stream_create(js, COUNTER_STREAM("C", "c.>"), NULL));
    CHECK(add_expect(js, "c.hits", "+1", "1") == 0);
    CHECK(add_expect(js, "c.hits", "41", "42") == 0);
    CHECK(add_expect(js, "c.hits", "-2", "40") == 0);
    /* Past 64 bits, exactly. */
    CHECK(add_expect(js, "c.big", "+99999999999999999999999",
                     "99999999999999999999999") == 0);
    CHECK(add_expect(js, "c.big", "+99999999999999999999999",
                     "199999999999999999999998") == 0);
    CHECK_OK(jw_js_counter_add(js, "c.quiet", "+7", NULL, NULL));

    char *entry = NULL;
    CHECK_OK(jw_js_counter_get(js, "C", "c.hits", &entry));
    CHECK_STR(entry, "{\"subject\":\"c.hits\",\"val\":\"40\",\"incr\":\"-2\"}");
    jw_free(entry);
    CHECK_OK(jw_js_counter_get(js, "C", "c.big", &entry));
    CHECK_STR(entry, "{\"subject\":\"c.big\",\"val\":"
                     "\"199999999999999999999998\",\"incr\":"
                     "\"99999999999999999999999\"}");
    jw_free(entry);
    entry = (char *)1;
    CHECK_STATUS(jw_js_counter_get(js, "C", "c.none", &entry),
                 JW_EKEY_NOT_FOUND);
    CHECK_EQ_INT(jw_js_last_err_code(), 10037);
    CHECK(entry == NULL);

    /* Many at once: the last message of each subject, each parsed. */
    const char *subjects[] = {"c.>"};
    jw_direct_batch *db = NULL;
    CHECK_OK(jw_js_direct_get_batch(js, "C", subjects, 1, NULL, &db));
    int seen = 0;
    for (;;) {
        jw_msg *m = NULL;
        CHECK_OK(jw_direct_batch_next(db, 5000, &m));
        if (!m)
            break;
        CHECK_OK(jw_js_counter_entry(m, &entry));
        const char *subject = jw_msg_subject(m);
        if (strcmp(subject, "c.hits") == 0) {
            CHECK_STR(entry, "{\"subject\":\"c.hits\",\"val\":\"40\","
                             "\"incr\":\"-2\"}");
            seen |= 1;
        } else if (strcmp(subject, "c.big") == 0) {
            CHECK(strstr(entry, "\"val\":\"199999999999999999999998\""));
            seen |= 2;
        } else {
            CHECK_STR(subject, "c.quiet");
            CHECK(strstr(entry, "\"val\":\"7\"") != NULL);
            seen |= 4;
        }
        jw_free(entry);
        jw_msg_free(m);
    }
    jw_direct_batch_free(db);
    CHECK_EQ_INT(seen, 7);

    /* Bad deltas never reach the server. */
    const char *bad[] = {"1.5", "abc", "", "+", "-", "1e3", " 1", "+-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *value = (char *)1;
        CHECK_STATUS(jw_js_counter_add(js, "c.hits", bad[i], NULL, &value),
                     JW_EINVAL);
        CHECK(value == NULL);
    }
    CHECK_OK(jw_js_counter_get(js, "C", "c.hits", &entry));
    CHECK(strstr(entry, "\"val\":\"40\"") != NULL);
    jw_free(entry);

    /* A stream that keeps no counters refuses them. */
    CHECK_OK(jw_js_stream_create(
        js, "{\"name\":\"PLAIN\",\"subjects\":[\"p.>\"]}", NULL));
    CHECK_STATUS(jw_js_counter_add(js, "p.hits", "+1", NULL, NULL),
                 JW_EJETSTREAM);
    CHECK_EQ_INT(jw_js_last_err_code(), 10168);
    CHECK_EQ_INT(stream_msgs(js, "PLAIN"), 0);
    /* And its messages are not counters. */
    CHECK_OK(jw_js_publish(js, "p.x", "hello", 5, NULL, NULL));
    CHECK_STATUS(jw_js_counter_get(js, "PLAIN", "p.x", &entry), JW_EINVAL);
    JS_TEARDOWN(srv, nc, js);
    return 0;
}

/* The aggregate's entry for total.hits, once its value is `want` (polled,
 * up to 10 s); NULL if it never was. */
static char *aggregate_at(jw_js *js, const char *want)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"val\":\"%s\"", want);
    int64_t deadline = jw_test_now_ms() + 10000;
    while (jw_test_now_ms() < deadline) {
        char *entry = NULL;
        if (jw_js_counter_get(js, "AGG", "total.hits", &entry) == JW_OK) {
            if (strstr(entry, needle))
                return entry;
            jw_free(entry);
        }
        jw_test_sleep_ms(20);
    }
    return NULL;
}

TEST(js_counter_sources)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(counters, nc, "2.12.0", "counters");
    if (!counters) {
        int failed = check_not_supported(js);
        JS_TEARDOWN(srv, nc, js);
        return failed;
    }
    CHECK_OK(jw_js_stream_create(js, COUNTER_STREAM("CA", "ca.hits"), NULL));
    CHECK_OK(jw_js_stream_create(js, COUNTER_STREAM("CB", "cb.hits"), NULL));
    CHECK_OK(jw_js_stream_create(
        js,
        "{\"name\":\"AGG\",\"allow_msg_counter\":true,\"allow_direct\":true,"
        "\"sources\":["
        "{\"name\":\"CA\",\"subject_transforms\":"
        "[{\"src\":\"ca.hits\",\"dest\":\"total.hits\"}]},"
        "{\"name\":\"CB\",\"subject_transforms\":"
        "[{\"src\":\"cb.hits\",\"dest\":\"total.hits\"}]}]}",
        NULL));
    CHECK(add_expect(js, "ca.hits", "+3", "3") == 0);
    CHECK(add_expect(js, "cb.hits", "+4", "4") == 0);
    CHECK(add_expect(js, "ca.hits", "+5", "8") == 0);
    char *entry = aggregate_at(js, "12");
    CHECK(entry != NULL);
    fprintf(stderr, "aggregate: %s\n", entry);
    CHECK(strstr(entry, "\"subject\":\"total.hits\"") != NULL);
    CHECK(strstr(entry, "\"sources\":{") != NULL);
    CHECK(strstr(entry, "\"CA\":{\"ca.hits\":\"8\"}") != NULL);
    CHECK(strstr(entry, "\"CB\":{\"cb.hits\":\"4\"}") != NULL);
    jw_free(entry);
    /* A source going down is counted as well. */
    CHECK(add_expect(js, "cb.hits", "-10", "-6") == 0);
    entry = aggregate_at(js, "2");
    CHECK(entry != NULL);
    CHECK(strstr(entry, "\"CB\":{\"cb.hits\":\"-6\"}") != NULL);
    CHECK(strstr(entry, "\"incr\":\"-10\"") != NULL);
    jw_free(entry);
    JS_TEARDOWN(srv, nc, js);
    return 0;
}
