/* Fast-ingest batches (ADR-50) against a real nats-server: a large batch,
 * a stream that does not allow them, per-message errors in both gap
 * modes, the blocking jw_js_publish_batch; and on a server older than
 * 2.14, JW_ENOT_SUPPORTED before anything is sent. */
#include "server.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCHED_STREAM                                                         \
    "{\"name\":\"FAST\",\"subjects\":[\"fast.>\"],\"allow_batched\":true}"
#define PLAIN_STREAM "{\"name\":\"PLAIN\",\"subjects\":[\"plain.>\"]}"

#define JS_SETUP(srv, nc, js)                                                  \
    jw_conn *nc = NULL;                                                        \
    jw_js *js = NULL;                                                          \
    CHECK_OK(jw_test_connect(srv, &nc));                                       \
    CHECK_OK(jw_js_new(nc, &js))

/* A numeric member of a JSON text (the key must be unique in it). */
static long long json_num(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

static long long stream_msgs(jw_js *js, const char *stream)
{
    char *info = NULL;
    if (jw_js_stream_info(js, stream, &info))
        return -1;
    long long n = json_num(info, "messages");
    jw_free(info);
    return n;
}

/* Older servers: the batch cannot even be made, naming the version, and
 * nothing reaches the stream. */
static int check_not_supported(jw_js *js)
{
    CHECK_OK(jw_js_stream_create(js, PLAIN_STREAM, NULL));
    jw_js_fast *f = NULL;
    CHECK_STATUS(jw_js_fast_new(js, NULL, &f), JW_ENOT_SUPPORTED);
    CHECK(f == NULL);
    CHECK(strstr(jw_last_error(), "2.14.0") != NULL);
    jw_msg *m = NULL;
    CHECK_OK(jw_msg_new("plain.a", NULL, "x", 1, &m));
    const jw_msg *one[1] = {m};
    jw_js_pub_ack *ack = NULL;
    CHECK_STATUS(jw_js_publish_batch(js, one, 1, NULL, &ack),
                 JW_ENOT_SUPPORTED);
    CHECK(ack == NULL);
    CHECK(strstr(jw_last_error(), "2.14.0") != NULL);
    jw_msg_free(m);
    CHECK_EQ_INT(stream_msgs(js, "PLAIN"), 0);
    return 0;
}

TEST(js_fast_batch)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(fast, nc, "2.14.0", "fast-ingest batches");
    if (!fast) {
        CHECK(check_not_supported(js) == 0);
    } else {
        CHECK_OK(jw_js_stream_create(js, BATCHED_STREAM, NULL));
        enum { N = 100000 };
        jw_js_fast *f = NULL;
        CHECK_OK(jw_js_fast_new(js, NULL, &f));
        jw_msg *m = NULL;
        char data[128];
        memset(data, 'x', sizeof data);
        CHECK_OK(jw_msg_new("fast.big", NULL, data, sizeof data, &m));
        CHECK_EQ_INT(jw_js_fast_room(f), 0); /* the first add waits */
        for (uint64_t i = 1; i <= N; i++) {
            uint64_t seq = 0;
            /* Room only once the server answered, never more than the
             * window (128 B messages ask for flow 500, 2 acks ahead). */
            CHECK(i == 1 || jw_js_fast_room(f) <= 1000);
            /* Half as messages, half as subject and data. */
            if (i % 2)
                CHECK_OK(jw_js_fast_add(f, m, NULL, &seq));
            else
                CHECK_OK(jw_js_fast_publish(f, "fast.big", data, sizeof data,
                                            NULL, &seq));
            CHECK(seq == i);
            CHECK(jw_js_fast_acked(f) <= i);
        }
        jw_msg_free(m);
        /* End of batch without a further message. */
        jw_js_pub_ack *ack = NULL;
        CHECK_OK(jw_js_fast_commit(f, NULL, &ack));
        CHECK(ack != NULL);
        CHECK_EQ_INT(jw_js_pub_ack_count(ack), N);
        CHECK_EQ_INT(jw_js_pub_ack_seq(ack), N);
        CHECK_STR(jw_js_pub_ack_stream(ack), "FAST");
        CHECK(jw_js_pub_ack_batch(ack) != NULL &&
              strlen(jw_js_pub_ack_batch(ack)) > 0);
        jw_js_pub_ack_free(ack);
        CHECK_EQ_INT(jw_js_fast_acked(f), N);
        char *errors = NULL;
        CHECK_OK(jw_js_fast_take_errors(f, &errors));
        CHECK_STR(errors, "[]");
        jw_free(errors);
        /* A committed batch takes nothing more. */
        CHECK_OK(jw_msg_new("fast.big", NULL, "y", 1, &m));
        CHECK_STATUS(jw_js_fast_add(f, m, NULL, NULL), JW_EINVAL);
        CHECK_STATUS(jw_js_fast_commit(f, m, &ack), JW_EINVAL);
        CHECK(ack == NULL);
        jw_msg_free(m);
        jw_js_fast_free(f);
        CHECK_EQ_INT(stream_msgs(js, "FAST"), N);
    }
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

/* Large messages ask for a small flow (256 KiB per ack by default): the
 * publisher is never more than two 300 KB messages ahead of the acks. */
TEST(js_fast_large_messages)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(fast, nc, "2.14.0", "fast-ingest batches");
    if (fast) {
        CHECK_OK(jw_js_stream_create(js, BATCHED_STREAM, NULL));
        enum { SIZE = 300 * 1000, N = 20 };
        char *data = calloc(1, SIZE);
        CHECK(data != NULL);
        jw_js_fast *f = NULL;
        CHECK_OK(jw_js_fast_new(js, NULL, &f));
        for (int i = 0; i < N; i++) {
            CHECK_OK(jw_js_fast_publish(f, "fast.big", data, SIZE, NULL,
                                        NULL));
            CHECK(jw_js_fast_room(f) <= 2);
        }
        jw_js_pub_ack *ack = NULL;
        CHECK_OK(jw_js_fast_commit(f, NULL, &ack));
        CHECK_EQ_INT(jw_js_pub_ack_count(ack), N);
        jw_js_pub_ack_free(ack);
        jw_js_fast_free(f);
        free(data);
        CHECK_EQ_INT(stream_msgs(js, "FAST"), N);
    }
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_fast_refused)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(fast, nc, "2.14.0", "fast-ingest batches");
    if (!fast) {
        CHECK(check_not_supported(js) == 0);
    } else {
        CHECK_OK(jw_js_stream_create(js, PLAIN_STREAM, NULL));
        jw_msg *m = NULL;
        CHECK_OK(jw_msg_new("plain.a", NULL, "x", 1, &m));
        /* A stream without allow_batched: the server's error at the
         * first add, and every later call says the same. */
        jw_js_fast *f = NULL;
        CHECK_OK(jw_js_fast_new(js, NULL, &f));
        CHECK_STATUS(jw_js_fast_add(f, m, NULL, NULL), JW_EJETSTREAM);
        CHECK_EQ_INT(jw_js_last_err_code(), 10205);
        CHECK_STATUS(jw_js_fast_add(f, m, NULL, NULL), JW_EJETSTREAM);
        CHECK_EQ_INT(jw_js_last_err_code(), 10205);
        jw_js_pub_ack *ack = NULL;
        CHECK_STATUS(jw_js_fast_commit(f, NULL, &ack), JW_EJETSTREAM);
        CHECK(ack == NULL);
        jw_js_fast_free(f);
        CHECK_EQ_INT(stream_msgs(js, "PLAIN"), 0);

        /* No stream captures the subject. */
        jw_msg *nowhere = NULL;
        CHECK_OK(jw_msg_new("nowhere.a", NULL, "x", 1, &nowhere));
        CHECK_OK(jw_js_fast_new(js, NULL, &f));
        CHECK_STATUS(jw_js_fast_add(f, nowhere, NULL, NULL),
                     JW_ENO_RESPONDERS);
        jw_js_fast_free(f);
        jw_msg_free(nowhere);

        /* Bad arguments and options. */
        jw_call_opts *o = NULL;
        CHECK_OK(jw_call_opts_new("fast", &o));
        CHECK_OK(jw_call_opts_set_str(o, "gap", "maybe"));
        CHECK_STATUS(jw_js_fast_new(js, o, &f), JW_EINVAL);
        CHECK(f == NULL);
        CHECK_STATUS(jw_call_opts_set_int(o, "flow", 0), JW_EINVAL);
        CHECK_STATUS(jw_call_opts_set_int(o, "flow", 65536), JW_EINVAL);
        CHECK_STATUS(jw_call_opts_set_int(o, "max_outstanding_acks", 4),
                     JW_EINVAL);
        jw_call_opts_free(o);
        jw_call_opts *po = NULL;
        CHECK_OK(jw_call_opts_new("publish", &po));
        CHECK_STATUS(jw_js_fast_new(js, po, &f), JW_EINVAL);
        CHECK_STATUS(jw_js_fast_new(js, NULL, NULL), JW_EINVAL);
        CHECK_OK(jw_js_fast_new(js, NULL, &f));
        CHECK_STATUS(jw_js_fast_add(f, NULL, NULL, NULL), JW_EINVAL);
        CHECK_STATUS(jw_js_fast_take_errors(f, NULL), JW_EINVAL);
        /* An EOB needs a message before it. */
        CHECK_STATUS(jw_js_fast_commit(f, NULL, &ack), JW_EINVAL);
        jw_js_fast_free(f);
        const jw_msg *none[1] = {NULL};
        CHECK_STATUS(jw_js_publish_batch(js, none, 1, NULL, &ack), JW_EINVAL);
        CHECK_STATUS(jw_js_publish_batch(js, NULL, 1, NULL, &ack), JW_EINVAL);
        const jw_msg *one[1] = {m};
        CHECK_STATUS(jw_js_publish_batch(js, one, 0, NULL, &ack), JW_EINVAL);
        CHECK_STATUS(jw_js_publish_batch(js, one, 1, po, &ack), JW_EINVAL);
        jw_call_opts_free(po);
        jw_msg_free(m);
    }
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

/* Publish 10 messages on fast.e.<i>; the 5th expects its subject's last
 * sequence to be 99, which fails (err_code 10071). */
enum { E_N = 10, E_BAD = 5 };

static jw_status add_with_bad(jw_js_fast *f, int i, jw_call_opts *bad)
{
    char subject[32];
    snprintf(subject, sizeof subject, "fast.e.%d", i);
    jw_msg *m = NULL;
    jw_status st = jw_msg_new(subject, NULL, "e", 1, &m);
    if (st == JW_OK)
        st = jw_js_fast_add(f, m, i == E_BAD ? bad : NULL, NULL);
    jw_msg_free(m);
    return st;
}

TEST(js_fast_gap_ok_reports)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(fast, nc, "2.14.0", "fast-ingest batches");
    if (!fast) {
        CHECK(check_not_supported(js) == 0);
    } else {
        CHECK_OK(jw_js_stream_create(js, BATCHED_STREAM, NULL));
        jw_call_opts *o = NULL, *bad = NULL;
        CHECK_OK(jw_call_opts_new("fast", &o));
        CHECK_OK(jw_call_opts_set_str(o, "gap", "ok"));
        CHECK_OK(jw_call_opts_new("publish", &bad));
        CHECK_OK(jw_call_opts_set_int(bad, "expected_last_subject_seq", 99));
        jw_js_fast *f = NULL;
        CHECK_OK(jw_js_fast_new(js, o, &f));
        for (int i = 1; i <= E_N; i++)
            CHECK_OK(add_with_bad(f, i, bad));
        jw_js_pub_ack *ack = NULL;
        CHECK_OK(jw_js_fast_commit(f, NULL, &ack));
        /* With gaps allowed the count is the last sequence seen. */
        CHECK_EQ_INT(jw_js_pub_ack_count(ack), E_N);
        jw_js_pub_ack_free(ack);
        /* The error came before the PubAck: it is there now. */
        char *errors = NULL;
        CHECK_OK(jw_js_fast_take_errors(f, &errors));
        fprintf(stderr, "reported: %s\n", errors);
        CHECK(strstr(errors, "\"type\":\"err\"") != NULL);
        CHECK_EQ_INT(json_num(errors, "seq"), E_BAD);
        CHECK_EQ_INT(json_num(errors, "err_code"), 10071);
        CHECK_EQ_INT(json_num(errors, "code"), 400);
        CHECK(strstr(errors, "\"description\":\"wrong last sequence") !=
              NULL);
        jw_free(errors);
        CHECK_OK(jw_js_fast_take_errors(f, &errors));
        CHECK_STR(errors, "[]");
        jw_free(errors);
        jw_js_fast_free(f);
        CHECK_EQ_INT(stream_msgs(js, "FAST"), E_N - 1);
        jw_call_opts_free(o);
        jw_call_opts_free(bad);
    }
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

static int has_report(jw_js_fast *f, char **kept)
{
    char *errors = NULL;
    if (jw_js_fast_take_errors(f, &errors))
        return 0;
    if (strcmp(errors, "[]") == 0) {
        jw_free(errors);
        return 0;
    }
    *kept = errors;
    return 1;
}

TEST(js_fast_gap_fail_stops)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(fast, nc, "2.14.0", "fast-ingest batches");
    if (!fast) {
        CHECK(check_not_supported(js) == 0);
    } else {
        CHECK_OK(jw_js_stream_create(js, BATCHED_STREAM, NULL));
        jw_call_opts *bad = NULL;
        CHECK_OK(jw_call_opts_new("publish", &bad));
        CHECK_OK(jw_call_opts_set_int(bad, "expected_last_subject_seq", 99));
        jw_js_fast *f = NULL;
        CHECK_OK(jw_js_fast_new(js, NULL, &f)); /* gap "fail" */
        for (int i = 1; i <= E_BAD; i++)
            CHECK_OK(add_with_bad(f, i, bad));
        /* The server reports the error and ends the batch there. */
        char *errors = NULL;
        JW_WAIT_FOR(has_report(f, &errors), 5000);
        CHECK(errors != NULL);
        CHECK_EQ_INT(json_num(errors, "seq"), E_BAD);
        CHECK_EQ_INT(json_num(errors, "err_code"), 10071);
        jw_free(errors);
        /* So the next add sends nothing and says why. */
        CHECK_STATUS(add_with_bad(f, E_BAD + 1, bad),
                     JW_EWRONG_LAST_SEQUENCE);
        CHECK_EQ_INT(jw_js_last_err_code(), 10071);
        CHECK(strstr(jw_last_error(), "batch message 5") != NULL);
        /* The commit's message is not sent either; the PubAck counts
         * what was stored. */
        jw_msg *last = NULL;
        CHECK_OK(jw_msg_new("fast.e.last", NULL, "l", 1, &last));
        jw_js_pub_ack *ack = NULL;
        CHECK_OK(jw_js_fast_commit(f, last, &ack));
        CHECK_EQ_INT(jw_js_pub_ack_count(ack), E_BAD - 1);
        CHECK_EQ_INT(jw_js_fast_acked(f), E_BAD - 1);
        jw_js_pub_ack_free(ack);
        jw_msg_free(last);
        jw_js_fast_free(f);
        CHECK_EQ_INT(stream_msgs(js, "FAST"), E_BAD - 1);

        /* A refused first message with gap "fail" ends the batch with
         * the publish's error (the first answer, the flow settings, came
         * before it): the commit gives it, nothing stored. */
        CHECK_OK(jw_js_fast_new(js, NULL, &f));
        CHECK_STATUS(add_with_bad(f, E_BAD, bad), JW_OK);
        CHECK_STATUS(jw_js_fast_commit(f, NULL, &ack),
                     JW_EWRONG_LAST_SEQUENCE);
        CHECK(ack == NULL);
        CHECK_EQ_INT(jw_js_last_err_code(), 10071);
        jw_js_fast_free(f);
        CHECK_EQ_INT(stream_msgs(js, "FAST"), E_BAD - 1);
        jw_call_opts_free(bad);
    }
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_publish_batch)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(fast, nc, "2.14.0", "fast-ingest batches");
    if (!fast) {
        CHECK(check_not_supported(js) == 0);
    } else {
        CHECK_OK(jw_js_stream_create(js, BATCHED_STREAM, NULL));
        enum { N = 1000 };
        static jw_msg *msgs[N];
        for (int i = 0; i < N; i++) {
            char data[32];
            snprintf(data, sizeof data, "m-%d", i);
            CHECK_OK(jw_msg_new("fast.pb", NULL, data, strlen(data),
                                &msgs[i]));
        }
        jw_call_opts *o = NULL;
        CHECK_OK(jw_call_opts_new("fast", &o));
        CHECK_OK(jw_call_opts_set_int(o, "flow", 10));
        CHECK_OK(jw_call_opts_set_int(o, "max_outstanding_acks", 1));
        jw_js_pub_ack *ack = NULL;
        CHECK_OK(jw_js_publish_batch(js, (const jw_msg *const *)msgs, N, o,
                                     &ack));
        CHECK_EQ_INT(jw_js_pub_ack_count(ack), N);
        CHECK_EQ_INT(jw_js_pub_ack_seq(ack), N);
        jw_js_pub_ack_free(ack);
        CHECK_EQ_INT(stream_msgs(js, "FAST"), N);
        /* The last one is the last stored. */
        jw_msg *got = NULL;
        CHECK_OK(jw_js_stream_get_msg(js, "FAST", N, &got));
        CHECK_MEM_STR(jw_msg_data(got), jw_msg_data_len(got), "m-999");
        jw_msg_free(got);
        /* One message: a batch that commits at once. */
        CHECK_OK(jw_js_publish_batch(js, (const jw_msg *const *)msgs, 1, NULL,
                                     &ack));
        CHECK_EQ_INT(jw_js_pub_ack_count(ack), 1);
        CHECK_EQ_INT(jw_js_pub_ack_seq(ack), N + 1);
        jw_js_pub_ack_free(ack);
        jw_call_opts_free(o);
        for (int i = 0; i < N; i++)
            jw_msg_free(msgs[i]);
    }
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

typedef struct stalled_adder {
    jw_js_fast *f;
    jw_msg *msg;
    atomic_int added;
    atomic_int done;
    jw_status last;
    char text[256]; /* the last add's jw_last_error */
} stalled_adder;

static void *add_until_error(void *arg)
{
    stalled_adder *a = arg;
    jw_status st = JW_OK;
    for (int i = 0; i < 100000 && st == JW_OK; i++)
        if ((st = jw_js_fast_add(a->f, a->msg, NULL, NULL)) == JW_OK)
            atomic_fetch_add(&a->added, 1);
    a->last = st;
    snprintf(a->text, sizeof a->text, "%s", jw_last_error());
    atomic_store(&a->done, 1);
    return NULL;
}

TEST(js_fast_lost_connection)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(fast, nc, "2.14.0", "fast-ingest batches");
    if (!fast) {
        CHECK(check_not_supported(js) == 0);
    } else {
        CHECK_OK(jw_js_stream_create(js, BATCHED_STREAM, NULL));
        jw_call_opts *o = NULL;
        CHECK_OK(jw_call_opts_new("fast", &o));
        CHECK_OK(jw_call_opts_set_int(o, "flow", 10));
        CHECK_OK(jw_call_opts_set_int(o, "max_outstanding_acks", 1));
        /* A timeout the test would notice: nothing may wait for it. */
        CHECK_OK(jw_call_opts_set_int(o, "timeout", 50000));
        stalled_adder a = {.last = JW_OK};
        atomic_init(&a.added, 0);
        atomic_init(&a.done, 0);
        CHECK_OK(jw_js_fast_new(js, o, &a.f));
        CHECK_OK(jw_msg_new("fast.lost", NULL, "l", 1, &a.msg));
        CHECK_OK(jw_js_fast_add(a.f, a.msg, NULL, NULL)); /* started */
        /* Frozen, the server acknowledges nothing more: the adder
         * fills its window of 10 and waits. */
        CHECK(kill(srv->pid, SIGSTOP) == 0);
        pthread_t thread;
        CHECK(pthread_create(&thread, NULL, add_until_error, &a) == 0);
        JW_WAIT_FOR(atomic_load(&a.added) >= 9, 5000);
        CHECK(atomic_load(&a.added) >= 9);
        CHECK(jw_test_server_kill(srv) == 0);
        /* The waiting add gives up at once, not after its timeout. */
        JW_WAIT_FOR(atomic_load(&a.done), 20000);
        CHECK(atomic_load(&a.done));
        pthread_join(thread, NULL);
        fprintf(stderr, "added before the loss: %d (%s)\n",
                atomic_load(&a.added), a.text);
        CHECK_STATUS(a.last, JW_ENOT_CONNECTED);
        CHECK(strstr(a.text, "lost its server") != NULL);
        jw_msg_free(a.msg);
        jw_js_fast_free(a.f);
        jw_call_opts_free(o);
    }
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}
