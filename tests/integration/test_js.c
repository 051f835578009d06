/* JetStream against a real nats-server with a temporary file store:
 * the tutorial's ORDERS flow, consumers, acks, publish options, admin. */
#include "server.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ORDERS_STREAM "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"]}"
#define PROCESSOR                                                              \
    "{\"durable_name\":\"order-processor\",\"ack_policy\":\"explicit\","       \
    "\"max_deliver\":3,\"deliver_policy\":\"all\"}"

/* Connect and make a JetStream context. */
#define JS_SETUP(srv, nc, js)                                                  \
    jw_conn *nc = NULL;                                                        \
    jw_js *js = NULL;                                                          \
    CHECK_OK(jw_test_connect(srv, &nc));                                       \
    CHECK_OK(jw_js_new(nc, &js))

static int publish_n(jw_js *js, const char *subject, int n)
{
    for (int i = 0; i < n; i++) {
        char data[32];
        snprintf(data, sizeof data, "order-%d", i + 1);
        CHECK_OK(jw_js_publish(js, subject, data, strlen(data), NULL, NULL));
    }
    return 0;
}

/* A numeric field of a JSON document's object member (crude but enough:
 * the key must be unique in the text). */
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

/* num_ack_pending of a consumer, -1 when its info cannot be had. */
static long long ack_pending(jw_js *js, const char *stream, const char *name)
{
    char *info = NULL;
    if (jw_js_consumer_info(js, stream, name, &info))
        return -1;
    long long n = json_num(info, "num_ack_pending");
    jw_free(info);
    return n;
}

static void free_msgs(jw_msg **msgs, int n)
{
    for (int i = 0; i < n; i++)
        jw_msg_free(msgs[i]);
}

static uint64_t stream_seq(const jw_msg *m)
{
    jw_js_meta *meta = NULL;
    if (jw_msg_metadata(m, &meta))
        return 0;
    uint64_t seq = jw_js_meta_stream_seq(meta);
    jw_js_meta_free(meta);
    return seq;
}

static uint64_t delivered(const jw_msg *m)
{
    jw_js_meta *meta = NULL;
    if (jw_msg_metadata(m, &meta))
        return 0;
    uint64_t n = jw_js_meta_num_delivered(meta);
    jw_js_meta_free(meta);
    return n;
}

/* The tutorial's ORDERS stream on a fresh server, n messages on
 * orders.new, and a consumer made from consumer_config. */
typedef struct orders_fixture {
    jw_test_server *srv;
    jw_conn *nc;
    jw_js *js;
    jw_consumer *cons;
} orders_fixture;

static int orders_open(orders_fixture *f, int n, const char *consumer_config)
{
    memset(f, 0, sizeof *f);
    f->srv = jw_test_server_start(NULL);
    CHECK(f->srv != NULL);
    CHECK_OK(jw_test_connect(f->srv, &f->nc));
    CHECK_OK(jw_js_new(f->nc, &f->js));
    CHECK_OK(jw_js_stream_create(f->js, ORDERS_STREAM, NULL));
    CHECK(publish_n(f->js, "orders.new", n) == 0);
    CHECK_OK(jw_js_consumer_create(f->js, "ORDERS", consumer_config,
                                   &f->cons));
    return 0;
}

static void orders_close(orders_fixture *f)
{
    jw_consumer_free(f->cons);
    jw_js_free(f->js);
    jw_conn_free(f->nc);
    jw_test_server_stop(f->srv);
}

TEST(js_orders_flow)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    char *info = NULL;
    CHECK_OK(jw_js_stream_create_or_update(js, ORDERS_STREAM, &info));
    CHECK(strstr(info, "\"name\":\"ORDERS\"") != NULL);
    /* Durations come back in ms: the default 2 min window. */
    CHECK_EQ_INT(json_num(info, "duplicate_window"), 120000);
    jw_free(info);

    for (int i = 1; i <= 5; i++) {
        char data[32];
        snprintf(data, sizeof data, "{\"id\":%d}", i);
        jw_js_pub_ack *ack = NULL;
        CHECK_OK(jw_js_publish(js, "orders.created", data, strlen(data), NULL,
                               &ack));
        CHECK_STR(jw_js_pub_ack_stream(ack), "ORDERS");
        CHECK_EQ_INT(jw_js_pub_ack_seq(ack), i);
        CHECK_EQ_INT(jw_js_pub_ack_duplicate(ack), 0);
        jw_js_pub_ack_free(ack);
    }
    CHECK_EQ_INT(stream_msgs(js, "ORDERS"), 5);

    jw_consumer *cons = NULL;
    CHECK_OK(jw_js_consumer_create_or_update(js, "ORDERS", PROCESSOR, &cons));
    CHECK_STR(jw_consumer_name(cons), "order-processor");
    CHECK_STR(jw_consumer_stream(cons), "ORDERS");
    CHECK_OK(jw_consumer_info(cons, &info));
    CHECK_EQ_INT(json_num(info, "max_deliver"), 3);
    CHECK(strstr(info, "\"ack_policy\":\"explicit\"") != NULL);
    jw_free(info);

    jw_msg *msgs[10];
    int n = jw_test_fetch(cons, msgs, 10, 2000, 0, 0);
    CHECK_EQ_INT(n, 5);
    for (int i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof want, "{\"id\":%d}", i + 1);
        CHECK_STR((const char *)jw_msg_data(msgs[i]), want);
        CHECK_STR(jw_msg_subject(msgs[i]), "orders.created");
        jw_js_meta *meta = NULL;
        CHECK_OK(jw_msg_metadata(msgs[i], &meta));
        CHECK_STR(jw_js_meta_stream(meta), "ORDERS");
        CHECK_STR(jw_js_meta_consumer(meta), "order-processor");
        CHECK_EQ_INT(jw_js_meta_stream_seq(meta), i + 1);
        CHECK_EQ_INT(jw_js_meta_consumer_seq(meta), i + 1);
        CHECK_EQ_INT(jw_js_meta_num_delivered(meta), 1);
        CHECK_EQ_INT(jw_js_meta_num_pending(meta), 4 - i);
        CHECK(jw_js_meta_timestamp(meta) > 1600000000000000000LL);
        jw_js_meta_free(meta);
        CHECK_OK(i % 2 ? jw_msg_ack(msgs[i]) : jw_msg_ack_sync(msgs[i], 2000));
    }
    free_msgs(msgs, n);
    CHECK_OK(jw_js_consumer_info(js, "ORDERS", "order-processor", &info));
    CHECK_EQ_INT(json_num(info, "num_ack_pending"), 0);
    CHECK_EQ_INT(json_num(info, "num_pending"), 0);
    jw_free(info);
    /* Nothing more: an empty fetch is not an error. */
    CHECK_EQ_INT(jw_test_fetch(cons, msgs, 10, 300, 0, 0), 0);
    CHECK_EQ_INT(jw_test_fetch(cons, msgs, 10, 300, 0, 1), 0);

    char *names = NULL;
    CHECK_OK(jw_js_consumer_names(js, "ORDERS", &names));
    CHECK_STR(names, "[\"order-processor\"]");
    jw_free(names);
    CHECK_OK(jw_js_consumer_list(js, "ORDERS", &names));
    CHECK(strstr(names, "\"durable_name\":\"order-processor\"") != NULL);
    CHECK(strstr(names, "\"ack_wait\":30000,") != NULL);
    jw_free(names);
    CHECK_OK(jw_js_stream_names(js, NULL, &names));
    CHECK_STR(names, "[\"ORDERS\"]");
    jw_free(names);
    CHECK_OK(jw_js_stream_names(js, "orders.created", &names));
    CHECK_STR(names, "[\"ORDERS\"]");
    jw_free(names);
    CHECK_OK(jw_js_stream_names(js, "payments.x", &names));
    CHECK_STR(names, "[]");
    jw_free(names);
    CHECK_OK(jw_js_stream_list(js, NULL, &names));
    CHECK(strstr(names, "\"messages\":5") != NULL);
    jw_free(names);

    jw_consumer_free(cons);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_durable_resumes)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    CHECK(publish_n(js, "orders.new", 5) == 0);
    jw_consumer *cons = NULL;
    CHECK_OK(jw_js_consumer_create(js, "ORDERS", PROCESSOR, &cons));
    jw_msg *msgs[5];
    CHECK_EQ_INT(jw_test_fetch(cons, msgs, 2, 2000, 0, 0), 2);
    for (int i = 0; i < 2; i++)
        CHECK_OK(jw_msg_ack_sync(msgs[i], 2000));
    free_msgs(msgs, 2);
    jw_consumer_free(cons);
    jw_js_free(js);
    jw_conn_free(nc);

    /* A new connection: the durable resumes after the acked ones. */
    JS_SETUP(srv, nc2, js2);
    CHECK_OK(jw_js_consumer_get(js2, "ORDERS", "order-processor", &cons));
    int n = jw_test_fetch(cons, msgs, 5, 2000, 0, 0);
    CHECK_EQ_INT(n, 3);
    for (int i = 0; i < n; i++) {
        CHECK_EQ_INT(stream_seq(msgs[i]), i + 3);
        CHECK_EQ_INT(delivered(msgs[i]), 1);
        CHECK_OK(jw_msg_ack(msgs[i]));
    }
    free_msgs(msgs, n);
    jw_consumer *missing = (jw_consumer *)1;
    CHECK_STATUS(jw_js_consumer_get(js2, "ORDERS", "nobody", &missing),
                 JW_ECONSUMER_NOT_FOUND);
    CHECK(missing == NULL);
    CHECK_EQ_INT(jw_js_last_err_code(), 10014);
    jw_consumer_free(cons);
    jw_js_free(js2);
    jw_conn_free(nc2);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_nak_redelivers)
{
    orders_fixture f;
    CHECK(orders_open(&f, 1, PROCESSOR) == 0);
    jw_consumer *cons = f.cons;
    jw_msg *m[1];
    CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 2000, 0, 0), 1);
    CHECK_EQ_INT(delivered(m[0]), 1);
    CHECK_OK(jw_msg_nak(m[0]));
    /* A nak is terminal for this delivery. */
    CHECK_STATUS(jw_msg_ack(m[0]), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "already acknowledged") != NULL);
    jw_msg_free(m[0]);
    CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 2000, 0, 0), 1);
    CHECK_EQ_INT(stream_seq(m[0]), 1);
    CHECK_EQ_INT(delivered(m[0]), 2);
    CHECK_OK(jw_msg_ack(m[0]));
    jw_msg_free(m[0]);
    orders_close(&f);
    return 0;
}

/* Acks are written lazily, many to a write, but within milliseconds
 * without anything else on the connection to carry them: another
 * connection sees none pending soon after. */
TEST(js_acks_go_out_on_their_own)
{
    orders_fixture f;
    CHECK(orders_open(&f, 200, PROCESSOR) == 0);
    jw_conn *other = NULL;
    jw_js *ojs = NULL;
    CHECK_OK(jw_test_connect(f.srv, &other));
    CHECK_OK(jw_js_new(other, &ojs));
    jw_msg *m[200];
    CHECK_EQ_INT(jw_test_fetch(f.cons, m, 200, 5000, 0, 0), 200);
    CHECK_EQ_INT(ack_pending(ojs, "ORDERS", jw_consumer_name(f.cons)), 200);
    uint64_t sent = jw_conn_stat(f.nc, JW_STAT_OUT_MSGS);
    for (int i = 0; i < 200; i++)
        CHECK_OK(jw_msg_ack(m[i]));
    free_msgs(m, 200);
    int64_t deadline = jw_test_now_ms() + 2000;
    while (ack_pending(ojs, "ORDERS", jw_consumer_name(f.cons)) != 0 &&
           jw_test_now_ms() < deadline)
        jw_test_sleep_ms(5);
    CHECK_EQ_INT(ack_pending(ojs, "ORDERS", jw_consumer_name(f.cons)), 0);
    CHECK_EQ_INT(jw_conn_stat(f.nc, JW_STAT_OUT_MSGS) - sent, 200);
    jw_js_free(ojs);
    jw_conn_free(other);
    orders_close(&f);
    return 0;
}

TEST(js_nak_delay)
{
    orders_fixture f;
    CHECK(orders_open(&f, 1, PROCESSOR) == 0);
    jw_consumer *cons = f.cons;
    jw_msg *m[1];
    CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 2000, 0, 0), 1);
    CHECK_OK(jw_msg_nak_delay(m[0], 2000));
    jw_msg_free(m[0]);
    /* Not redelivered at once (a plain nak would be)... */
    CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 500, 0, 0), 0);
    /* ...but after the delay. */
    CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 5000, 0, 0), 1);
    CHECK_EQ_INT(delivered(m[0]), 2);
    CHECK_OK(jw_msg_ack(m[0]));
    jw_msg_free(m[0]);
    orders_close(&f);
    return 0;
}

TEST(js_term_not_redelivered)
{
    orders_fixture f;
    CHECK(orders_open(&f, 1, "{\"durable_name\":\"t\",\"ack_wait\":500,\"max_deliver\":5}") == 0);
    jw_consumer *cons = f.cons;
    jw_msg *m[1];
    CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 2000, 0, 0), 1);
    CHECK_OK(jw_msg_term(m[0]));
    CHECK_STATUS(jw_msg_term(m[0]), JW_EINVAL);
    jw_msg_free(m[0]);
    /* Well past ack_wait: still nothing. */
    CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 1500, 0, 0), 0);
    char *info = NULL;
    CHECK_OK(jw_consumer_info(cons, &info));
    CHECK_EQ_INT(json_num(info, "num_ack_pending"), 0);
    CHECK_EQ_INT(json_num(info, "num_redelivered"), 0);
    jw_free(info);
    orders_close(&f);
    return 0;
}

TEST(js_in_progress_extends)
{
    orders_fixture f;
    CHECK(orders_open(&f, 1, "{\"durable_name\":\"w\",\"ack_wait\":1000}") == 0);
    jw_js *js = f.js;
    jw_consumer *cons = f.cons;
    jw_msg *m[1], *again[1];
    CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 2000, 0, 0), 1);
    /* Keep it in progress for 2.5 ack_waits: never redelivered. Each
     * in_progress restarts the 1 s timer. */
    for (int i = 0; i < 5; i++) {
        jw_test_sleep_ms(500);
        CHECK_OK(jw_msg_in_progress(m[0]));
    }
    CHECK_EQ_INT(jw_test_fetch(cons, again, 1, 300, 0, 0), 0);
    CHECK_OK(jw_msg_ack_sync(m[0], 2000));
    CHECK_STATUS(jw_msg_in_progress(m[0]), JW_EINVAL);
    jw_msg_free(m[0]);
    /* Control: without in_progress the message comes back. */
    CHECK(publish_n(js, "orders.new", 1) == 0);
    CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 2000, 0, 0), 1);
    jw_msg_free(m[0]);
    CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 3000, 0, 0), 1);
    CHECK_EQ_INT(delivered(m[0]), 2);
    jw_msg_free(m[0]);
    orders_close(&f);
    return 0;
}

TEST(js_max_deliver)
{
    orders_fixture f;
    CHECK(orders_open(&f, 1, PROCESSOR) == 0);
    jw_consumer *cons = f.cons;
    jw_msg *m[1];
    for (int i = 1; i <= 3; i++) {
        CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 2000, 0, 0), 1);
        CHECK_EQ_INT(delivered(m[0]), i);
        CHECK_OK(jw_msg_nak(m[0]));
        jw_msg_free(m[0]);
    }
    /* max_deliver 3: no fourth delivery. */
    CHECK_EQ_INT(jw_test_fetch(cons, m, 1, 1000, 0, 0), 0);
    orders_close(&f);
    return 0;
}

TEST(js_publish_options)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    jw_call_opts *o = NULL;
    jw_js_pub_ack *ack = NULL;
    CHECK_OK(jw_call_opts_new("publish", &o));
    CHECK_OK(jw_call_opts_set_str(o, "msg_id", "order-1"));
    CHECK_OK(jw_js_publish(js, "orders.new", "a", 1, o, &ack));
    CHECK_EQ_INT(jw_js_pub_ack_seq(ack), 1);
    CHECK_EQ_INT(jw_js_pub_ack_duplicate(ack), 0);
    jw_js_pub_ack_free(ack);
    CHECK_OK(jw_js_publish(js, "orders.new", "a", 1, o, &ack));
    CHECK_EQ_INT(jw_js_pub_ack_seq(ack), 1);
    CHECK_EQ_INT(jw_js_pub_ack_duplicate(ack), 1);
    jw_js_pub_ack_free(ack);
    CHECK_EQ_INT(stream_msgs(js, "ORDERS"), 1);
    jw_call_opts_free(o);

    /* Expected last sequence. */
    CHECK_OK(jw_call_opts_new("publish", &o));
    CHECK_OK(jw_call_opts_set_int(o, "expected_last_seq", 5));
    CHECK_STATUS(jw_js_publish(js, "orders.new", "b", 1, o, &ack),
                 JW_EWRONG_LAST_SEQUENCE);
    CHECK(ack == NULL);
    CHECK_EQ_INT(jw_js_last_err_code(), 10071);
    CHECK_OK(jw_call_opts_set_int(o, "expected_last_seq", 1));
    CHECK_OK(jw_js_publish(js, "orders.new", "b", 1, o, NULL));
    jw_call_opts_free(o);

    /* Expected last subject sequence (0: no message on it yet). */
    CHECK_OK(jw_call_opts_new("publish", &o));
    CHECK_OK(jw_call_opts_set_int(o, "expected_last_subject_seq", 0));
    CHECK_OK(jw_js_publish(js, "orders.other", "c", 1, o, &ack));
    CHECK_EQ_INT(jw_js_pub_ack_seq(ack), 3);
    jw_js_pub_ack_free(ack);
    CHECK_STATUS(jw_js_publish(js, "orders.other", "c", 1, o, NULL),
                 JW_EWRONG_LAST_SEQUENCE);
    CHECK_OK(jw_call_opts_set_int(o, "expected_last_subject_seq", 3));
    CHECK_OK(jw_js_publish(js, "orders.other", "d", 1, o, NULL));
    jw_call_opts_free(o);

    /* Expected stream and last msg id. */
    CHECK_OK(jw_call_opts_new("publish", &o));
    CHECK_OK(jw_call_opts_set_str(o, "expected_stream", "PAYMENTS"));
    CHECK_STATUS(jw_js_publish(js, "orders.new", "e", 1, o, NULL),
                 JW_EJETSTREAM);
    CHECK_EQ_INT(jw_js_last_err_code(), 10060);
    CHECK_OK(jw_call_opts_set_str(o, "expected_stream", "ORDERS"));
    CHECK_OK(jw_call_opts_set_str(o, "expected_last_msg_id", "nope"));
    CHECK_STATUS(jw_js_publish(js, "orders.new", "e", 1, o, NULL),
                 JW_EJETSTREAM);
    CHECK_EQ_INT(jw_js_last_err_code(), 10070);
    CHECK(strstr(jw_last_error(), "10070") != NULL);
    jw_call_opts_free(o);

    /* Headers of the message go along with the options'. */
    jw_msg *msg = NULL;
    CHECK_OK(jw_msg_new("orders.hdr", NULL, "f", 1, &msg));
    CHECK_OK(jw_msg_header_add(msg, "X-Order", "42"));
    CHECK_OK(jw_call_opts_new("publish", &o));
    CHECK_OK(jw_call_opts_set_str(o, "msg_id", "hdr-1"));
    CHECK_OK(jw_js_publish_msg(js, msg, o, &ack));
    uint64_t seq = jw_js_pub_ack_seq(ack);
    jw_js_pub_ack_free(ack);
    jw_call_opts_free(o);
    jw_msg_free(msg);
    jw_msg *got = NULL;
    const char *v = NULL;
    CHECK_OK(jw_js_stream_get_msg(js, "ORDERS", seq, &got));
    CHECK_OK(jw_msg_header_get(got, "X-Order", 0, &v));
    CHECK_STR(v, "42");
    CHECK_OK(jw_msg_header_get(got, "Nats-Msg-Id", 0, &v));
    CHECK_STR(v, "hdr-1");
    jw_msg_free(got);

    /* Bad options: refused when set (name, type, range), or when used (a
     * duration below its floor, options of another call). */
    CHECK_OK(jw_call_opts_new("publish", &o));
    CHECK_STATUS(jw_call_opts_set_str(o, "msgid", "x"), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "unknown publish option 'msgid'") != NULL);
    CHECK_STATUS(jw_call_opts_set_str(o, "msg_id", "a\r\nb"), JW_EINVAL);
    CHECK_STATUS(jw_call_opts_set_int(o, "expected_seq", 1), JW_EINVAL);
    CHECK_STATUS(jw_call_opts_set_bool(o, "msg_id", 1), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "must be a string") != NULL);
    CHECK_STATUS(jw_call_opts_set_double(o, "expected_last_seq", 1.5),
                 JW_EINVAL);
    CHECK_STATUS(jw_call_opts_set_int(o, "expected_last_seq", -1), JW_EINVAL);
    CHECK_STATUS(jw_call_opts_set_int(o, "retry_attempts", 101), JW_EINVAL);
    CHECK_STATUS(jw_call_opts_set_double(o, "timeout", -1), JW_EINVAL);
    CHECK_STATUS(jw_call_opts_set_int(o, "timeout", 0), JW_EINVAL);
    CHECK_OK(jw_call_opts_set_double(o, "timeout", 0.25)); /* ms */
    CHECK_STATUS(jw_js_publish(js, "orders.new", "x", 1, o, NULL), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "'timeout' must be from") != NULL);
    jw_call_opts_free(o);
    CHECK_OK(jw_call_opts_new("fetch", &o));
    CHECK_STATUS(jw_js_publish(js, "orders.new", "x", 1, o, NULL), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "made for fetch") != NULL);
    jw_call_opts_free(o);
    CHECK_EQ_INT(stream_msgs(js, "ORDERS"), 5);

    /* No stream captures the subject. */
    CHECK_STATUS(jw_js_publish(js, "payments.new", "x", 1, NULL, NULL),
                 JW_ENO_RESPONDERS);
    CHECK_STATUS(jw_js_publish(js, "orders.*", "x", 1, NULL, NULL),
                 JW_EINVALID_SUBJECT);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_workqueue)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_stream_create(js,
                                 "{\"name\":\"JOBS\",\"subjects\":[\"jobs.>\"],"
                                 "\"retention\":\"workqueue\"}",
                                 NULL));
    CHECK(publish_n(js, "jobs.resize", 3) == 0);
    CHECK_EQ_INT(stream_msgs(js, "JOBS"), 3);
    jw_consumer *cons = NULL;
    CHECK_OK(jw_js_consumer_create(js, "JOBS", "{\"durable_name\":\"worker\"}",
                                   &cons));
    jw_msg *m[3];
    CHECK_EQ_INT(jw_test_fetch(cons, m, 3, 2000, 0, 0), 3);
    for (int i = 0; i < 3; i++)
        CHECK_OK(jw_msg_ack_sync(m[i], 2000));
    free_msgs(m, 3);
    CHECK_EQ_INT(stream_msgs(js, "JOBS"), 0);
    /* A second unfiltered consumer on a work queue is refused. */
    CHECK_STATUS(jw_js_consumer_create(js, "JOBS",
                                       "{\"durable_name\":\"other\"}", NULL),
                 JW_EJETSTREAM);
    CHECK(jw_js_last_err_code() > 10000);
    jw_consumer_free(cons);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_restart_keeps_acked)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    CHECK(publish_n(js, "orders.new", 20) == 0);
    CHECK_OK(jw_js_consumer_create(js, "ORDERS", PROCESSOR, NULL));
    jw_js_free(js);
    jw_conn_free(nc);

    CHECK(jw_test_server_restart(srv, NULL) == 0);
    JS_SETUP(srv, nc2, js2);
    CHECK_EQ_INT(stream_msgs(js2, "ORDERS"), 20);
    jw_msg *m = NULL;
    CHECK_OK(jw_js_stream_get_msg(js2, "ORDERS", 20, &m));
    CHECK_STR((const char *)jw_msg_data(m), "order-20");
    jw_msg_free(m);
    jw_consumer *cons = NULL;
    CHECK_OK(jw_js_consumer_get(js2, "ORDERS", "order-processor", &cons));
    jw_msg *msgs[20];
    CHECK_EQ_INT(jw_test_fetch(cons, msgs, 20, 3000, 0, 0), 20);
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(stream_seq(msgs[i]), i + 1);
    free_msgs(msgs, 20);
    jw_consumer_free(cons);
    jw_js_free(js2);
    jw_conn_free(nc2);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_stream_admin)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    char *info = NULL;
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    /* The same configuration again is fine; another one is not. */
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    const char *changed = "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"],"
                          "\"max_msgs\":100,\"max_age\":3600000}";
    CHECK_STATUS(jw_js_stream_create(js, changed, NULL), JW_EJETSTREAM);
    CHECK_EQ_INT(jw_js_last_err_code(), 10058);
    CHECK_OK(jw_js_stream_create_or_update(js, changed, &info));
    CHECK_EQ_INT(json_num(info, "max_msgs"), 100);
    CHECK_EQ_INT(json_num(info, "max_age"), 3600000);
    jw_free(info);
    CHECK_STATUS(jw_js_stream_update(js, "{\"name\":\"NOPE\"}", NULL),
                 JW_ESTREAM_NOT_FOUND);
    CHECK_STATUS(jw_js_stream_info(js, "NOPE", &info), JW_ESTREAM_NOT_FOUND);
    CHECK(info == NULL);
    CHECK_EQ_INT(jw_js_last_err_code(), 10059);
    CHECK_STATUS(jw_js_stream_delete(js, "NOPE"), JW_ESTREAM_NOT_FOUND);
    /* A field the engine does not know is refused before anything is
     * sent to a server that would ignore it (2.9, 2.10); a 2.11 or newer
     * server refuses unknown fields itself, so it gets the request. */
    SERVER_AT_LEAST(strict, nc, "2.11.0", "js_stream_admin: unknown field");
    if (strict) {
        CHECK_STATUS(jw_js_stream_create(
                         js, "{\"name\":\"X\",\"maxage\":1}", NULL),
                     JW_EJETSTREAM);
        CHECK_EQ_INT(jw_js_last_err_code(), 10025);
    } else {
        CHECK_STATUS(jw_js_stream_create(
                         js, "{\"name\":\"X\",\"maxage\":1}", NULL),
                     JW_EINVAL);
    }
    CHECK(strstr(jw_last_error(), "maxage") != NULL);
    /* A field of a newer server is NOT_SUPPORTED, naming the version. */
    SERVER_AT_LEAST(has_metadata, nc, "2.10.0", "js_stream_admin: metadata");
    const char *with_metadata =
        "{\"name\":\"X\",\"metadata\":{\"owner\":\"ops\"}}";
    if (has_metadata) {
        CHECK_OK(jw_js_stream_create(js, with_metadata, &info));
        CHECK(strstr(info, "\"owner\":\"ops\"") != NULL);
        jw_free(info);
        CHECK_OK(jw_js_stream_delete(js, "X"));
    } else {
        CHECK_STATUS(jw_js_stream_create(js, with_metadata, NULL),
                     JW_ENOT_SUPPORTED);
        CHECK(strstr(jw_last_error(), "2.10.0") != NULL);
    }
    CHECK_STATUS(jw_js_stream_create(js, "{\"subjects\":[\"x\"]}", NULL),
                 JW_EINVAL);
    CHECK_STATUS(jw_js_stream_create(js, "{\"name\":\"a.b\"}", NULL),
                 JW_EINVAL);

    /* Messages: 3 on orders.a, 3 on orders.b. */
    for (int i = 0; i < 6; i++) {
        char data[8];
        snprintf(data, sizeof data, "%d", i + 1);
        CHECK_OK(jw_js_publish(js, i % 2 ? "orders.b" : "orders.a", data,
                               strlen(data), NULL, NULL));
    }
    jw_msg *m = NULL;
    const char *v = NULL;
    CHECK_OK(jw_js_stream_get_msg(js, "ORDERS", 2, &m));
    CHECK_STR(jw_msg_subject(m), "orders.b");
    CHECK_STR((const char *)jw_msg_data(m), "2");
    CHECK_OK(jw_msg_header_get(m, "Nats-Sequence", 0, &v));
    CHECK_STR(v, "2");
    CHECK_OK(jw_msg_header_get(m, "Nats-Stream", 0, &v));
    CHECK_STR(v, "ORDERS");
    jw_msg_free(m);
    CHECK_OK(jw_js_stream_get_last_msg(js, "ORDERS", "orders.a", &m));
    CHECK_STR((const char *)jw_msg_data(m), "5");
    jw_msg_free(m);
    CHECK_STATUS(jw_js_stream_get_msg(js, "ORDERS", 99, &m), JW_EJETSTREAM);
    CHECK_EQ_INT(jw_js_last_err_code(), 10037);
    CHECK_STATUS(jw_js_stream_get_last_msg(js, "ORDERS", "orders.zzz", &m),
                 JW_EJETSTREAM);
    CHECK_EQ_INT(jw_js_last_err_code(), 10037);

    CHECK_OK(jw_js_stream_delete_msg(js, "ORDERS", 1, 0));
    CHECK_STATUS(jw_js_stream_delete_msg(js, "ORDERS", 1, 1), JW_EJETSTREAM);
    CHECK_EQ_INT(stream_msgs(js, "ORDERS"), 5);

    uint64_t purged = 0;
    CHECK_STATUS(jw_js_stream_purge(js, "ORDERS", NULL, 3, 1, &purged),
                 JW_EINVAL);
    CHECK_OK(jw_js_stream_purge(js, "ORDERS", "orders.b", 0, 1, &purged));
    CHECK_EQ_INT(purged, 2); /* 2 and 4 go, 6 stays */
    CHECK_OK(jw_js_stream_purge(js, "ORDERS", NULL, 5, 0, &purged));
    CHECK_EQ_INT(purged, 1); /* 3 (1 was deleted) */
    CHECK_EQ_INT(stream_msgs(js, "ORDERS"), 2);
    CHECK_OK(jw_js_stream_purge(js, "ORDERS", NULL, 0, 0, &purged));
    CHECK_EQ_INT(purged, 2);
    CHECK_EQ_INT(stream_msgs(js, "ORDERS"), 0);

    /* Direct get for the last message when the stream allows it. */
    CHECK_OK(jw_js_stream_create(js,
                                 "{\"name\":\"CFG\",\"subjects\":[\"cfg.>\"],"
                                 "\"allow_direct\":true,"
                                 "\"max_msgs_per_subject\":5}",
                                 NULL));
    CHECK_OK(jw_js_publish(js, "cfg.db", "one", 3, NULL, NULL));
    CHECK_OK(jw_js_publish(js, "cfg.db", "two", 3, NULL, NULL));
    CHECK_OK(jw_js_stream_get_last_msg(js, "CFG", "cfg.db", &m));
    CHECK_STR(jw_msg_subject(m), "cfg.db");
    CHECK_STR((const char *)jw_msg_data(m), "two");
    CHECK_OK(jw_msg_header_get(m, "Nats-Sequence", 0, &v));
    CHECK_STR(v, "2");
    jw_msg_free(m);
    CHECK_STATUS(jw_js_stream_get_last_msg(js, "CFG", "cfg.none", &m),
                 JW_EJETSTREAM);
    CHECK_EQ_INT(jw_js_last_err_code(), 10037);

    char *names = NULL;
    CHECK_OK(jw_js_stream_names(js, NULL, &names));
    CHECK(strstr(names, "\"ORDERS\"") && strstr(names, "\"CFG\""));
    jw_free(names);
    CHECK_OK(jw_js_stream_delete(js, "CFG"));
    CHECK_OK(jw_js_stream_delete(js, "ORDERS"));
    CHECK_OK(jw_js_stream_names(js, NULL, &names));
    CHECK_STR(names, "[]");
    jw_free(names);
    CHECK_OK(jw_js_account_info(js, &info));
    CHECK(strstr(info, "\"streams\":0") != NULL);
    jw_free(info);
    /* The API level (ADR-44): none before 2.11, a level from there on. */
    int level = -1;
    CHECK_OK(jw_js_api_level(js, &level));
    if (jw_test_version_cmp(jw_test_server_version(), "2.11.0") < 0)
        CHECK_EQ_INT(level, 0);
    else
        CHECK(level >= 1);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_consumer_admin)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    const char *cfg = "{\"durable_name\":\"audit\",\"ack_wait\":5000,"
                      "\"filter_subject\":\"orders.created\","
                      "\"backoff\":[1000,2000],\"max_deliver\":4}";
    jw_consumer *cons = NULL;
    CHECK_OK(jw_js_consumer_create(js, "ORDERS", cfg, &cons));
    /* Create again: the same configuration is the same consumer (2.10's
     * create action; emulated on 2.9), another one is refused. */
    jw_consumer *same = NULL;
    CHECK_OK(jw_js_consumer_create(js, "ORDERS", cfg, &same));
    CHECK_STR(jw_consumer_name(same), "audit");
    jw_consumer_free(same);
    CHECK_STATUS(jw_js_consumer_create(js, "ORDERS",
                                       "{\"durable_name\":\"audit\","
                                       "\"max_deliver\":5}",
                                       NULL),
                 JW_EJETSTREAM);
    CHECK(strstr(jw_last_error(), "already exists") != NULL);
    CHECK_EQ_INT(jw_js_last_err_code(), 10148);
    char *info = NULL;
    CHECK_OK(jw_consumer_info(cons, &info));
    /* With a backoff the server takes its first step as ack_wait. */
    CHECK_EQ_INT(json_num(info, "ack_wait"), 1000);
    CHECK(strstr(info, "\"backoff\":[1000,2000]") != NULL);
    jw_free(info);
    CHECK_OK(jw_js_consumer_update(
        js, "ORDERS",
        "{\"durable_name\":\"audit\",\"ack_wait\":5000,\"description\":"
        "\"audit log\",\"filter_subject\":\"orders.created\","
        "\"backoff\":[1000,2000],\"max_deliver\":4}",
        NULL));
    CHECK_OK(jw_js_consumer_info(js, "ORDERS", "audit", &info));
    CHECK(strstr(info, "\"description\":\"audit log\"") != NULL);
    jw_free(info);
    CHECK_STATUS(jw_js_consumer_update(js, "ORDERS",
                                       "{\"durable_name\":\"ghost\"}", NULL),
                 JW_ECONSUMER_NOT_FOUND);
    CHECK_EQ_INT(jw_js_last_err_code(), 10149);
    CHECK_STATUS(jw_js_consumer_info(js, "ORDERS", "ghost", &info),
                 JW_ECONSUMER_NOT_FOUND);
    CHECK_STATUS(jw_js_consumer_update(js, "ORDERS", "{}", NULL), JW_EINVAL);
    /* Several filter subjects need 2.10. */
    SERVER_AT_LEAST(has_filters, nc, "2.10.0",
                    "js_consumer_admin: filter_subjects");
    const char *filters = "{\"durable_name\":\"x\",\"filter_subjects\":"
                          "[\"orders.a\",\"orders.b\"]}";
    if (has_filters) {
        CHECK_OK(jw_js_consumer_create(js, "ORDERS", filters, NULL));
        CHECK_OK(jw_js_consumer_info(js, "ORDERS", "x", &info));
        CHECK(strstr(info, "\"filter_subjects\":[\"orders.a\","
                           "\"orders.b\"]") != NULL);
        jw_free(info);
        CHECK_OK(jw_js_consumer_delete(js, "ORDERS", "x"));
    } else {
        CHECK_STATUS(jw_js_consumer_create(js, "ORDERS", filters, NULL),
                     JW_ENOT_SUPPORTED);
        CHECK(strstr(jw_last_error(), "2.10.0") != NULL);
    }
    /* An unknown field: refused by the engine for a server that would
     * ignore it, by the server itself from 2.11 on. */
    SERVER_AT_LEAST(strict, nc, "2.11.0", "js_consumer_admin: unknown field");
    CHECK_STATUS(jw_js_consumer_create(js, "ORDERS",
                                       "{\"durable_name\":\"x\","
                                       "\"ackwait\":1}",
                                       NULL),
                 strict ? JW_EJETSTREAM : JW_EINVAL);
    if (strict)
        CHECK_EQ_INT(jw_js_last_err_code(), 10025);
    CHECK(strstr(jw_last_error(), "ackwait") != NULL);
    CHECK_STATUS(jw_js_consumer_create(js, "NOPE", "{\"durable_name\":\"x\"}",
                                       NULL),
                 JW_ESTREAM_NOT_FOUND);

    /* An ephemeral consumer gets a server-made name. */
    jw_consumer *eph = NULL;
    CHECK_OK(jw_js_consumer_create(js, "ORDERS", "{}", &eph));
    CHECK(strlen(jw_consumer_name(eph)) > 0);
    /* A wildcard filter uses the plain named subject. */
    CHECK_OK(jw_js_consumer_create_or_update(
        js, "ORDERS", "{\"durable_name\":\"all\",\"filter_subject\":\"orders.>\"}",
        NULL));
    CHECK(publish_n(js, "orders.created", 2) == 0);
    jw_msg *m[4];
    CHECK_EQ_INT(jw_test_fetch(eph, m, 4, 1000, 0, 0), 2);
    free_msgs(m, 2);

    char *names = NULL;
    CHECK_OK(jw_js_consumer_names(js, "ORDERS", &names));
    CHECK(strstr(names, "\"audit\"") && strstr(names, "\"all\"") &&
          strstr(names, jw_consumer_name(eph)));
    jw_free(names);

    CHECK_OK(jw_js_consumer_delete(js, "ORDERS", "audit"));
    CHECK_STATUS(jw_js_consumer_delete(js, "ORDERS", "audit"),
                 JW_ECONSUMER_NOT_FOUND);
    /* Fetching from a deleted consumer says so instead of waiting. */
    int n = jw_test_fetch(cons, m, 1, 1000, 0, 0);
    CHECK(n < 0);
    CHECK_STATUS(n, JW_ECONSUMER_NOT_FOUND);
    CHECK_STATUS(jw_test_fetch(cons, m, 0, 1000, 0, 0), JW_EINVAL);
    CHECK_STATUS(jw_test_fetch(cons, m, 1, 0, 0, 0), JW_EINVAL);
    CHECK_STATUS(jw_test_fetch(NULL, m, 1, 10, 0, 0), JW_EINVAL);
    jw_consumer_free(eph);
    jw_consumer_free(cons);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_fetch_limits)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    jw_consumer *cons = NULL;
    CHECK_OK(jw_js_consumer_create(js, "ORDERS", PROCESSOR, &cons));
    jw_msg *m[10];
    /* no_wait on nothing: at once, empty; timeout 0 is fine with no_wait
     * (the context's timeout covers the answer) and refused without. */
    CHECK_EQ_INT(jw_test_fetch(cons, m, 10, 5000, 0, 1), 0);
    CHECK_EQ_INT(jw_test_fetch(cons, m, 10, 0, 0, 1), 0);
    CHECK_EQ_INT(jw_test_fetch(cons, m, 10, 0, 0, 0), JW_EINVAL);
    char big[200];
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 6; i++)
        CHECK_OK(jw_js_publish(js, "orders.big", big, sizeof big, NULL, NULL));
    /* max_bytes fits two of them (the server counts subject, ack subject,
     * headers and data: about 270 bytes each). */
    int n = jw_test_fetch(cons, m, 10, 2000, 700, 0);
    CHECK_EQ_INT(n, 2);
    for (int i = 0; i < n; i++)
        CHECK_OK(jw_msg_ack(m[i]));
    free_msgs(m, n);
    /* no_wait takes what is there. */
    n = jw_test_fetch(cons, m, 10, 2000, 0, 1);
    CHECK_EQ_INT(n, 4);
    for (int i = 0; i < n; i++)
        CHECK_OK(jw_msg_ack(m[i]));
    free_msgs(m, n);
    for (int i = 0; i < 4; i++)
        CHECK_OK(jw_js_publish(js, "orders.big", big, 10, NULL, NULL));
    /* The batch option asks for fewer than the room given, never more;
     * options of another call are refused. */
    jw_call_opts *o = jw_test_opts_int("fetch", "batch", 3);
    CHECK(o != NULL);
    CHECK_OK(jw_call_opts_set_double(o, "timeout", 2000.0));
    CHECK_EQ_INT(jw_consumer_fetch(cons, m, 10, o), 3);
    free_msgs(m, 3);
    CHECK_STATUS(jw_consumer_fetch(cons, m, 2, o), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "more than the room") != NULL);
    jw_call_opts_free(o);
    o = jw_test_opts_int("get", "revision", 1);
    CHECK_STATUS(jw_consumer_fetch(cons, m, 10, o), JW_EINVAL);
    jw_call_opts_free(o);
    /* No options: a batch of the room given. */
    CHECK_EQ_INT(jw_consumer_fetch(cons, m, 1, NULL), 1);
    free_msgs(m, 1);
    jw_consumer_free(cons);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_async_publish)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_set_int(js, "max_pending", 16));
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    enum { N = 2000 };
    jw_msg *msg = NULL;
    CHECK_OK(jw_msg_new("orders.async", NULL, "data", 4, &msg));
    for (int i = 0; i < N; i++) {
        uint64_t id = 0;
        CHECK_OK(jw_js_publish_async(js, msg, NULL, &id));
        CHECK_EQ_INT(id, i + 1);
        CHECK(jw_js_publish_async_pending(js) <= 16);
    }
    jw_msg_free(msg);
    CHECK_OK(jw_js_publish_async_complete(js, 10000));
    CHECK_EQ_INT(jw_js_publish_async_pending(js), 0);
    static uint64_t seen[N + 1];
    int count = 0;
    uint64_t id;
    jw_status st;
    jw_js_pub_ack *ack;
    while (jw_js_publish_async_poll(js, &id, &st, &ack) == 1) {
        CHECK_OK(st);
        CHECK(id >= 1 && id <= N);
        CHECK(seen[id] == 0);
        seen[id] = jw_js_pub_ack_seq(ack);
        jw_js_pub_ack_free(ack);
        count++;
    }
    CHECK_EQ_INT(count, N);
    CHECK_EQ_INT(stream_msgs(js, "ORDERS"), N);

    /* A subject no stream captures completes with no responders, and
     * options apply as for the waiting publish. */
    CHECK_OK(jw_msg_new("payments.x", NULL, "p", 1, &msg));
    CHECK_OK(jw_js_publish_async(js, msg, NULL, NULL));
    jw_msg_free(msg);
    jw_call_opts *o = NULL;
    CHECK_OK(jw_call_opts_new("publish", &o));
    CHECK_OK(jw_call_opts_set_int(o, "expected_last_seq", 1));
    CHECK_OK(jw_msg_new("orders.async", NULL, "q", 1, &msg));
    CHECK_OK(jw_js_publish_async(js, msg, o, NULL));
    jw_msg_free(msg);
    jw_call_opts_free(o);
    CHECK_OK(jw_js_publish_async_complete(js, 5000));
    int results[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(jw_js_publish_async_poll(js, &id, &st, NULL), 1);
        results[id - N - 1] = st;
        if (st == JW_EWRONG_LAST_SEQUENCE)
            CHECK_EQ_INT(jw_js_last_err_code(), 10071);
    }
    CHECK_EQ_INT(results[0], JW_ENO_RESPONDERS);
    CHECK_EQ_INT(results[1], JW_EWRONG_LAST_SEQUENCE);
    CHECK_EQ_INT(jw_js_publish_async_poll(js, &id, &st, NULL), 0);
    /* Unwaited publishes are forgotten on free. */
    CHECK_OK(jw_msg_new("orders.async", NULL, "z", 1, &msg));
    CHECK_OK(jw_js_publish_async(js, msg, NULL, NULL));
    jw_msg_free(msg);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_no_jetstream)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    /* Nothing answers under another prefix: as if JetStream were off. */
    CHECK_OK(jw_js_set_str(js, "prefix", "$NOJS.API"));
    char *info = NULL;
    CHECK_STATUS(jw_js_account_info(js, &info), JW_ENO_RESPONDERS);
    CHECK(strstr(jw_last_error(), "JetStream") != NULL);
    int level = -1;
    CHECK_STATUS(jw_js_api_level(js, &level), JW_ENO_RESPONDERS);
    CHECK_EQ_INT(level, 0);
    CHECK_STATUS(jw_js_stream_create(js, ORDERS_STREAM, NULL),
                 JW_ENO_RESPONDERS);
    CHECK_OK(jw_js_set_str(js, "domain", "elsewhere"));
    CHECK_STATUS(jw_js_account_info(js, &info), JW_ENO_RESPONDERS);
    CHECK_STATUS(jw_js_set_str(js, "domain", "a.b"), JW_EINVAL);
    CHECK_STATUS(jw_js_set_str(js, "color", "red"), JW_EINVAL);
    CHECK_STATUS(jw_js_set_int(js, "timeout", 0), JW_EINVAL);
    CHECK_STATUS(jw_js_set_int(js, "speed", 5), JW_EINVAL);
    CHECK_OK(jw_js_set_str(js, "prefix", "$JS.API"));
    CHECK_OK(jw_js_account_info(js, &info));
    CHECK(strstr(info, "\"limits\"") != NULL);
    jw_free(info);
    /* NULL handles. */
    jw_js *none = (jw_js *)1;
    CHECK_STATUS(jw_js_new(NULL, &none), JW_EINVAL);
    CHECK(none == NULL);
    CHECK_STATUS(jw_js_stream_info(NULL, "S", &info), JW_EINVAL);
    CHECK_STATUS(jw_js_publish(NULL, "a", "b", 1, NULL, NULL), JW_EINVAL);
    CHECK_STATUS(jw_js_consumer_info(js, "S", NULL, &info), JW_EINVAL);
    jw_js_free(NULL);
    jw_consumer_free(NULL);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_consume_continuous)
{
    orders_fixture f;
    CHECK(orders_open(&f, 30, PROCESSOR) == 0);
    jw_js *js = f.js;
    jw_consumer *cons = f.cons;
    jw_consume *cc = NULL;
    CHECK_STATUS(jw_test_consume(cons, 0, 0, 0, &cc), JW_EINVAL);
    CHECK_STATUS(jw_test_consume(cons, 10, 0, 500, &cc), JW_EINVAL);
    /* Batches of 10: 100 messages need many overlapping requests. */
    CHECK_OK(jw_test_consume(cons, 10, 0, 2000, &cc));
    uint64_t next = 1;
    jw_msg *m[7];
    while (next <= 100) {
        if (next == 31)
            CHECK(publish_n(js, "orders.new", 70) == 0);
        int n = jw_consume_next(cc, m, 7, 3000);
        CHECK(n > 0);
        for (int i = 0; i < n; i++) {
            CHECK_EQ_INT(stream_seq(m[i]), next);
            next++;
            CHECK_OK(jw_msg_ack(m[i]));
        }
        free_msgs(m, n);
    }
    /* Idle for longer than a request lives (2 s) and two heartbeats:
     * the requests are renewed and a new message still arrives. */
    CHECK_EQ_INT(jw_consume_next(cc, m, 7, 2500), 0);
    CHECK(publish_n(js, "orders.new", 1) == 0);
    CHECK_EQ_INT(jw_consume_next(cc, m, 7, 3000), 1);
    CHECK_EQ_INT(stream_seq(m[0]), 101);
    CHECK_OK(jw_msg_ack_sync(m[0], 2000));
    jw_msg_free(m[0]);
    CHECK_OK(jw_consume_stop(cc));
    CHECK_OK(jw_consume_stop(cc));
    CHECK_STATUS(jw_consume_next(cc, m, 7, 100), JW_EINVALID_SUBSCRIPTION);
    jw_consume_free(cc);

    /* A deleted consumer ends consumption with an error, not a hang. */
    CHECK_OK(jw_test_consume(cons, 10, 0, 2000, &cc));
    CHECK_OK(jw_js_consumer_delete(js, "ORDERS", "order-processor"));
    int n = jw_consume_next(cc, m, 7, 3000);
    CHECK_STATUS(n, JW_ECONSUMER_NOT_FOUND);
    jw_consume_free(cc);
    jw_consume_free(NULL);
    orders_close(&f);
    return 0;
}

TEST(js_async_unacked)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_stream_create(js,
                                 "{\"name\":\"ORDERS\",\"subjects\":"
                                 "[\"orders.>\"],\"allow_rollup_hdrs\":true}",
                                 NULL));
    /* Publishes the server never acknowledges stay in flight. Up to 2.10
     * the server drops an invalid Nats-Rollup value without any ack
     * (jetstream.md 6.3); from 2.11 on it answers it with error 10111, so
     * there a plain subscriber that never replies stands in for the
     * silent stream. */
    jw_msg *msg = NULL;
    const char *subject = "orders.x";
    jw_sub *silent = NULL;
    SERVER_AT_LEAST(rollup_answered, nc, "2.11.0",
                    "js_async_unacked: invalid Nats-Rollup");
    if (rollup_answered) {
        CHECK_OK(jw_msg_new("orders.x", NULL, "r", 1, &msg));
        CHECK_OK(jw_msg_header_add(msg, "Nats-Rollup", "bogus"));
        CHECK_STATUS(jw_js_publish_msg(js, msg, NULL, NULL), JW_EJETSTREAM);
        CHECK_EQ_INT(jw_js_last_err_code(), 10111);
        jw_msg_free(msg);
        subject = "silent.x";
        CHECK_OK(jw_conn_subscribe(nc, subject, NULL, &silent));
        CHECK_OK(jw_conn_flush(nc, 5000));
    }
    CHECK_OK(jw_msg_new(subject, NULL, "r", 1, &msg));
    CHECK_OK(jw_msg_header_add(msg, "Nats-Rollup", "bogus"));
    uint64_t first = 0, second = 0;
    CHECK_OK(jw_js_publish_async(js, msg, NULL, &first));
    CHECK_OK(jw_js_publish_async(js, msg, NULL, &second));
    jw_msg_free(msg);
    CHECK_STATUS(jw_js_publish_async_complete(js, 300), JW_ETIMEOUT);
    CHECK_EQ_INT(jw_js_publish_async_pending(js), 2);
    /* The waiting publish times out the same way. */
    CHECK_OK(jw_js_set_int(js, "timeout", 300));
    CHECK_OK(jw_msg_new(subject, NULL, "r", 1, &msg));
    CHECK_OK(jw_msg_header_add(msg, "Nats-Rollup", "bogus"));
    CHECK_STATUS(jw_js_publish_msg(js, msg, NULL, NULL), JW_ETIMEOUT);
    /* A full window waits for acks, then gives up. */
    CHECK_OK(jw_js_set_int(js, "max_pending", 2));
    CHECK_STATUS(jw_js_publish_async(js, msg, NULL, NULL), JW_ETIMEOUT);
    jw_msg_free(msg);
    /* Closing the connection completes them at once. */
    CHECK_OK(jw_conn_close(nc));
    CHECK_STATUS(jw_js_publish_async_complete(js, 10000),
                 JW_ECONNECTION_CLOSED);
    CHECK_EQ_INT(jw_js_publish_async_pending(js), 0);
    uint64_t id;
    jw_status st;
    int seen = 0;
    while (jw_js_publish_async_poll(js, &id, &st, NULL) == 1) {
        CHECK(id == first || id == second);
        CHECK_STATUS(st, JW_ECONNECTION_CLOSED);
        seen++;
    }
    CHECK_EQ_INT(seen, 2);
    jw_sub_free(silent);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

/* Until every thread of the process is stopped (SIGSTOP returns before a
 * thread running on another core has stopped, and such a thread may still
 * answer). 0, or -1 after 5 s. */
static int wait_stopped(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    int64_t deadline = jw_test_now_ms() + 5000;
    while (jw_test_now_ms() < deadline) {
        DIR *dir = opendir(path);
        if (!dir)
            return -1;
        int running = 0, seen = 0;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char stat_path[sizeof path + 280], text[512];
            snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path,
                     e->d_name);
            FILE *f = fopen(stat_path, "r");
            if (!f)
                continue; /* the thread ended meanwhile */
            size_t n = fread(text, 1, sizeof text - 1, f);
            fclose(f);
            text[n] = 0;
            const char *close_paren = strrchr(text, ')');
            seen++;
            if (!close_paren || (close_paren[2] != 'T' && close_paren[2] != 't'))
                running++;
        }
        closedir(dir);
        if (seen && !running)
            return 0;
        jw_test_sleep_ms(5);
    }
    return -1;
}

typedef struct async_waiter {
    jw_js *js;
    int what; /* 0: publish_async_complete, 1: publish_async_wait, 2: a
                 publish_async that finds the window full */
    jw_status status;
    _Atomic int64_t done_ms; /* read by the main thread while it waits */
} async_waiter;

static void *async_wait_thread(void *arg)
{
    async_waiter *w = arg;
    if (w->what == 0) {
        w->status = jw_js_publish_async_complete(w->js, 30000);
    } else if (w->what == 1) {
        w->status = jw_js_publish_async_wait(w->js, 30000);
    } else {
        jw_msg *msg = NULL;
        w->status = jw_msg_new("orders.window", NULL, "w", 1, &msg);
        if (w->status == JW_OK)
            w->status = jw_js_publish_async(w->js, msg, NULL, NULL);
        jw_msg_free(msg);
    }
    atomic_store(&w->done_ms, jw_test_now_ms());
    return NULL;
}

/* Take completions until `want` came or ms passed: how many had status
 * `expected` (and how many another, in *other). */
static int take_done(jw_js *js, int want, jw_status expected, int64_t ms,
                     int *other)
{
    int same = 0;
    *other = 0;
    int64_t deadline = jw_test_now_ms() + ms;
    while (same + *other < want && jw_test_now_ms() < deadline) {
        uint64_t id;
        jw_status st;
        jw_js_pub_ack *ack = NULL;
        if (jw_js_publish_async_poll(js, &id, &st, &ack) == 1) {
            if (st == expected)
                same++;
            else
                (*other)++;
            jw_js_pub_ack_free(ack);
        } else {
            jw_test_sleep_ms(1);
        }
    }
    return same;
}

/* Async publishes in flight when the socket is lost complete at once with
 * NOT_CONNECTED, before the DISCONNECTED event, however long the
 * context's timeout: waiters wake, the window opens, and what is
 * published during the outage goes out after the reconnect. Two
 * contexts on one connection: one with a full window and a thread
 * waiting for an outcome, one with a thread in publish_async_complete. */
TEST(js_async_lost_connection)
{
    START_SERVER(srv, NULL);
    jw_opts *o = NULL;
    CHECK_OK(jw_opts_new(&o));
    CHECK_OK(jw_opts_set_int(o, "reconnect_time_wait", 100));
    CHECK_OK(jw_opts_set_int(o, "reconnect_jitter", 10));
    CHECK_OK(jw_opts_set_int(o, "max_reconnect_attempts", -1));
    jw_conn *nc = NULL;
    CHECK_OK(jw_conn_connect(srv->url, o, &nc));
    jw_js *js = NULL, *js2 = NULL;
    CHECK_OK(jw_js_new(nc, &js));
    CHECK_OK(jw_js_new(nc, &js2));
    /* A timeout the test would notice: nothing may wait for it. */
    CHECK_OK(jw_js_set_int(js, "timeout", 30000));
    CHECK_OK(jw_js_set_int(js2, "timeout", 30000));
    enum { ACKED = 20, N = 200, M = 30 };
    CHECK_OK(jw_js_set_int(js, "max_pending", N));
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    jw_msg *msg = NULL;
    CHECK_OK(jw_msg_new("orders.lost", NULL, "data", 4, &msg));

    /* Nothing queued yet: the wait for an outcome times out. */
    CHECK_STATUS(jw_js_publish_async_wait(js, 0), JW_ETIMEOUT);
    CHECK_STATUS(jw_js_publish_async_wait(js, 20), JW_ETIMEOUT);
    for (int i = 0; i < ACKED; i++)
        CHECK_OK(jw_js_publish_async(js, msg, NULL, NULL));
    CHECK_OK(jw_js_publish_async_complete(js, 10000));
    CHECK_OK(jw_js_publish_async_wait(js, 0)); /* outcomes are queued */
    int other = 0;
    CHECK_EQ_INT(take_done(js, ACKED, JW_OK, 5000, &other), ACKED);
    CHECK_EQ_INT(other, 0);

    /* Frozen, the server takes the publishes but acknowledges none. */
    CHECK(kill(srv->pid, SIGSTOP) == 0);
    CHECK(wait_stopped(srv->pid) == 0);
    for (int i = 0; i < N; i++)
        CHECK_OK(jw_js_publish_async(js, msg, NULL, NULL));
    for (int i = 0; i < M; i++)
        CHECK_OK(jw_js_publish_async(js2, msg, NULL, NULL));
    CHECK_EQ_INT(jw_js_publish_async_pending(js), N);
    CHECK_EQ_INT(jw_js_publish_async_pending(js2), M);
    async_waiter waiters[3] = {{js2, 0, JW_OK, 0}, {js, 1, JW_OK, 0},
                               {js, 2, JW_OK, 0}};
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&threads[i], NULL, async_wait_thread,
                             &waiters[i]) == 0);
    jw_test_sleep_ms(100); /* into their waits */
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(atomic_load(&waiters[i].done_ms), 0);

    CHECK(jw_test_server_kill(srv) == 0);
    jw_event *ev = NULL;
    CHECK_OK(jw_conn_next_event(nc, 10000, &ev));
    int kind = jw_event_kind_get(ev);
    jw_event_free(ev);
    CHECK_EQ_INT(kind, JW_EVENT_DISCONNECTED);
    int64_t lost_ms = jw_test_now_ms();
    /* The waiters woke within a second of the event: the complete
     * reports the loss, the wait saw outcomes queued, and the publish
     * that waited for room went on into the reconnect buffer. */
    for (int i = 0; i < 3; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(waiters[i].done_ms > 0);
        CHECK(waiters[i].done_ms - lost_ms <= 1000);
    }
    CHECK_STATUS(waiters[0].status, JW_ENOT_CONNECTED);
    CHECK_OK(waiters[1].status);
    CHECK_OK(waiters[2].status);
    CHECK_EQ_INT(jw_js_publish_async_pending(js), 1);
    CHECK_EQ_INT(jw_js_publish_async_pending(js2), 0);
    /* Each one completed with NOT_CONNECTED, within a second of the
     * event too. */
    CHECK_EQ_INT(take_done(js, N, JW_ENOT_CONNECTED, 1000, &other), N);
    CHECK_EQ_INT(other, 0);
    CHECK_EQ_INT(take_done(js2, M, JW_ENOT_CONNECTED, 1000, &other), M);
    CHECK_EQ_INT(other, 0);
    CHECK(jw_test_now_ms() - lost_ms <= 1000);

    /* Published during the outage: out after the reconnect, acked. */
    for (int i = 0; i < 4; i++)
        CHECK_OK(jw_js_publish_async(js, msg, NULL, NULL));
    CHECK(jw_test_server_revive(srv) == 0);
    CHECK_OK(jw_conn_next_event(nc, 10000, &ev));
    kind = jw_event_kind_get(ev);
    jw_event_free(ev);
    CHECK_EQ_INT(kind, JW_EVENT_RECONNECTED);
    /* The loss is reported once, by the first complete after it. */
    CHECK_STATUS(jw_js_publish_async_complete(js, 10000), JW_ENOT_CONNECTED);
    CHECK(strstr(jw_last_error(), "200 async publishes") != NULL);
    CHECK_OK(jw_js_publish_async_complete(js, 0));
    CHECK_OK(jw_js_publish_async_complete(js2, 0));
    CHECK_EQ_INT(take_done(js, 5, JW_OK, 5000, &other), 5);
    CHECK_EQ_INT(other, 0);

    /* A close completes what is in flight with CONNECTION_CLOSED. */
    CHECK(kill(srv->pid, SIGSTOP) == 0);
    CHECK(wait_stopped(srv->pid) == 0);
    for (int i = 0; i < 3; i++)
        CHECK_OK(jw_js_publish_async(js, msg, NULL, NULL));
    CHECK_OK(jw_conn_close(nc));
    CHECK_OK(jw_js_publish_async_wait(js, 5000));
    CHECK_EQ_INT(take_done(js, 3, JW_ECONNECTION_CLOSED, 5000, &other), 3);
    CHECK_EQ_INT(other, 0);
    CHECK_STATUS(jw_js_publish_async_complete(js, 5000),
                 JW_ECONNECTION_CLOSED);
    CHECK(kill(srv->pid, SIGCONT) == 0);

    jw_msg_free(msg);
    jw_js_free(js);
    jw_js_free(js2);
    jw_conn_free(nc);
    jw_opts_free(o);
    jw_test_server_stop(srv);
    return 0;
}

/* Read from an ordered consumer until `want` messages came; they must be
 * stream sequences first, first+1, ... */
static int read_ordered(jw_ordered *oc, uint64_t first, int want)
{
    int got = 0;
    int64_t deadline = jw_test_now_ms() + 10000;
    while (got < want && jw_test_now_ms() < deadline) {
        jw_msg *m[16];
        int n = jw_ordered_next(oc, m, 16, 1000);
        CHECK(n >= 0);
        for (int i = 0; i < n; i++) {
            CHECK_EQ_INT(stream_seq(m[i]), first + (uint64_t)got);
            got++;
            /* No acks: ack_policy is none. */
        }
        free_msgs(m, n);
    }
    CHECK_EQ_INT(got, want);
    return 0;
}

TEST(js_ordered_consumer)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    CHECK(publish_n(js, "orders.new", 50) == 0);
    jw_ordered *oc = NULL;
    CHECK_STATUS(jw_js_ordered_consumer(js, "ORDERS",
                                        "{\"durable_name\":\"x\"}", &oc),
                 JW_EINVAL);
    CHECK(strstr(jw_last_error(), "durable_name") != NULL);
    CHECK_STATUS(jw_js_ordered_consumer(js, "ORDERS",
                                        "{\"ack_policy\":\"explicit\"}", &oc),
                 JW_EINVAL);
    CHECK_STATUS(jw_js_ordered_consumer(js, "ORDERS",
                                        "{\"idle_heartbeat\":10}", &oc),
                 JW_EINVAL);
    CHECK_STATUS(jw_js_ordered_consumer(js, "NOPE", NULL, &oc),
                 JW_ESTREAM_NOT_FOUND);
    CHECK_OK(jw_js_ordered_consumer(js, "ORDERS",
                                    "{\"idle_heartbeat\":300}", &oc));
    CHECK(read_ordered(oc, 1, 50) == 0);
    CHECK_EQ_INT(jw_ordered_last_sequence(oc), 50);

    /* Lose the server's consumer: no more heartbeats, so after three of
     * them the consumer is made again, from sequence 51. */
    char *names = NULL;
    CHECK_OK(jw_js_consumer_names(js, "ORDERS", &names));
    char name[64] = "";
    CHECK(sscanf(names, "[\"%63[^\"]\"]", name) == 1);
    jw_free(names);
    CHECK_OK(jw_js_consumer_delete(js, "ORDERS", name));
    CHECK(publish_n(js, "orders.new", 10) == 0);
    CHECK(read_ordered(oc, 51, 10) == 0);
    CHECK_OK(jw_js_consumer_names(js, "ORDERS", &names));
    CHECK(strstr(names, name) == NULL);
    CHECK(strcmp(names, "[]") != 0);
    jw_free(names);
    jw_ordered_free(oc);
    /* Freeing deleted the server's consumer too. */
    CHECK_OK(jw_js_consumer_names(js, "ORDERS", &names));
    CHECK_STR(names, "[]");
    jw_free(names);

    /* Filtered, from a start sequence. */
    CHECK_OK(jw_js_publish(js, "orders.special", "s", 1, NULL, NULL));
    CHECK_OK(jw_js_ordered_consumer(
        js, "ORDERS",
        "{\"filter_subject\":\"orders.special\",\"deliver_policy\":"
        "\"by_start_sequence\",\"opt_start_seq\":5}",
        &oc));
    CHECK(read_ordered(oc, 61, 1) == 0);
    jw_msg *m[4];
    CHECK_EQ_INT(jw_ordered_next(oc, m, 4, 300), 0);
    jw_ordered_free(oc);
    jw_ordered_free(NULL);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

TEST(js_push_consumer_group)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    /* Subscribe the deliver subject (as a queue group) first, then make
     * the consumer that pushes to it. */
    jw_sub *a = NULL, *b = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "deliver.orders", "workers", &a));
    CHECK_OK(jw_conn_subscribe(nc, "deliver.orders", "workers", &b));
    CHECK_OK(jw_conn_flush(nc, 2000));
    CHECK_OK(jw_js_consumer_create(
        js, "ORDERS",
        "{\"durable_name\":\"pusher\",\"deliver_subject\":\"deliver.orders\","
        "\"deliver_group\":\"workers\",\"ack_wait\":5000}",
        NULL));
    CHECK(publish_n(js, "orders.new", 20) == 0);
    int got = 0;
    static int seen[21];
    int64_t deadline = jw_test_now_ms() + 5000;
    while (got < 20 && jw_test_now_ms() < deadline) {
        jw_sub *subs[2] = {a, b};
        for (int s = 0; s < 2; s++) {
            jw_msg *m = NULL;
            if (jw_sub_next(subs[s], 50, &m) != JW_OK)
                continue;
            uint64_t seq = stream_seq(m);
            CHECK(seq >= 1 && seq <= 20 && !seen[seq]);
            seen[seq] = 1;
            CHECK_OK(jw_msg_ack(m));
            jw_msg_free(m);
            got++;
        }
    }
    CHECK_EQ_INT(got, 20);
    char *info = NULL;
    CHECK_OK(jw_js_consumer_info(js, "ORDERS", "pusher", &info));
    CHECK(strstr(info, "\"deliver_group\":\"workers\"") != NULL);
    jw_free(info);
    /* The acks were not waited for: give the server a moment. */
    JW_WAIT_FOR(ack_pending(js, "ORDERS", "pusher") == 0, 3000);
    CHECK_EQ_INT(ack_pending(js, "ORDERS", "pusher"), 0);
    jw_sub_free(a);
    jw_sub_free(b);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

/* Continuous consumption of push consumers, as nats.go's js.Subscribe
 * and nats.c's js_Subscribe consume them: from the deliver subject, in the
 * deliver group, with flow control answered; pull options refused. And a
 * pull request the consumer refuses (a batch above its max_request_batch)
 * is an error from next, not requests sent in a loop. */
TEST(js_consume_push)
{
    orders_fixture f;
    CHECK(orders_open(&f, 0,
                      "{\"durable_name\":\"pusher\",\"deliver_subject\":"
                      "\"deliver.orders\",\"deliver_group\":\"workers\","
                      "\"ack_policy\":\"explicit\",\"flow_control\":true,"
                      "\"idle_heartbeat\":200}") == 0);
    jw_js *js = f.js;
    jw_consume *cc = NULL;
    CHECK_STATUS(jw_test_consume(f.cons, 10, 0, 0, &cc), JW_EINVAL);
    CHECK(cc == NULL);
    CHECK(strstr(jw_last_error(), "push consumer") != NULL);
    CHECK_OK(jw_consumer_consume(f.cons, NULL, &cc));
    /* Two members of the group: a core subscription of the same group
     * shares the messages with the consume. */
    jw_sub *other = NULL;
    CHECK_OK(jw_conn_subscribe(f.nc, "deliver.orders", "workers", &other));
    CHECK_OK(jw_conn_flush(f.nc, 2000));
    /* More than a flow-control window's worth of bytes: 2,000 x 1 KiB. */
    char payload[1024];
    memset(payload, 'p', sizeof payload);
    for (int i = 0; i < 2000; i++)
        CHECK_OK(jw_js_publish(js, "orders.new", payload, sizeof payload,
                               NULL, NULL));
    static unsigned char seen[2001];
    int got = 0, mine = 0;
    int64_t deadline = jw_test_now_ms() + 10000;
    jw_msg *m[64];
    while (got < 2000 && jw_test_now_ms() < deadline) {
        int n = jw_consume_next(cc, m, 64, 50);
        CHECK(n >= 0);
        for (int i = 0; i < n; i++) {
            uint64_t seq = stream_seq(m[i]);
            CHECK(seq >= 1 && seq <= 2000 && !seen[seq]);
            CHECK_EQ_INT(jw_msg_data_len(m[i]), sizeof payload);
            seen[seq] = 1;
            CHECK_OK(jw_msg_ack(m[i]));
        }
        free_msgs(m, n);
        got += n;
        mine += n;
        jw_msg *o = NULL;
        while (jw_sub_next(other, 0, &o) == JW_OK) {
            if (jw_msg_status_code(o)) { /* the group's control messages */
                if (jw_msg_reply(o))
                    CHECK_OK(jw_conn_publish(f.nc, jw_msg_reply(o), NULL, 0));
                jw_msg_free(o);
                continue;
            }
            uint64_t seq = stream_seq(o);
            CHECK(seq >= 1 && seq <= 2000 && !seen[seq]);
            seen[seq] = 1;
            CHECK_OK(jw_msg_ack(o));
            jw_msg_free(o);
            got++;
        }
    }
    CHECK_EQ_INT(got, 2000);
    CHECK(mine > 0 && mine < 2000);
    JW_WAIT_FOR(ack_pending(js, "ORDERS", "pusher") == 0, 3000);
    CHECK_EQ_INT(ack_pending(js, "ORDERS", "pusher"), 0);
    /* Heartbeats alone: nothing handed out, no error. */
    CHECK_EQ_INT(jw_consume_next(cc, m, 64, 500), 0);
    jw_sub_free(other);
    /* A deleted consumer ends it with an error. */
    CHECK_OK(jw_js_consumer_delete(js, "ORDERS", "pusher"));
    int n = jw_consume_next(cc, m, 64, 2000);
    CHECK_STATUS(n, JW_ECONSUMER_NOT_FOUND);
    jw_consume_free(cc);

    /* A pull consumer that takes at most 5 a request, asked for 10. */
    jw_consumer *small = NULL;
    CHECK_OK(jw_js_consumer_create(js, "ORDERS",
                                   "{\"durable_name\":\"small\","
                                   "\"ack_policy\":\"explicit\","
                                   "\"max_batch\":5}",
                                   &small));
    CHECK_OK(jw_test_consume(small, 10, 0, 2000, &cc));
    int64_t t0 = jw_test_now_ms();
    CHECK_STATUS(jw_consume_next(cc, m, 64, 3000), JW_EJETSTREAM);
    CHECK(jw_test_now_ms() - t0 < 1500);
    CHECK(strstr(jw_last_error(), "MaxRequestBatch") != NULL);
    jw_consume_free(cc);
    CHECK_OK(jw_test_consume(small, 5, 0, 2000, &cc));
    n = jw_consume_next(cc, m, 64, 3000);
    CHECK(n > 0);
    CHECK_EQ_INT(stream_seq(m[0]), 1);
    free_msgs(m, n);
    jw_consume_free(cc);
    jw_consumer_free(small);
    orders_close(&f);
    return 0;
}

/* A stream made by another connection while a publish is retrying after
 * "no responders": the retry finds it (as when a cluster elects a stream
 * leader). With retry_attempts 0 the first answer stands. */
typedef struct late_stream {
    jw_test_server *srv;
    jw_status status;
} late_stream;

static void *make_stream_later(void *arg)
{
    late_stream *ls = arg;
    struct timespec pause = {0, 150 * 1000000};
    nanosleep(&pause, NULL);
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    ls->status = jw_test_connect(ls->srv, &nc);
    if (ls->status == JW_OK)
        ls->status = jw_js_new(nc, &js);
    if (ls->status == JW_OK)
        ls->status = jw_js_stream_create(js, ORDERS_STREAM, NULL);
    jw_js_free(js);
    jw_conn_free(nc);
    return NULL;
}

TEST(js_publish_retries_no_responders)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    jw_call_opts *once = NULL;
    CHECK_OK(jw_call_opts_new("publish", &once));
    CHECK_OK(jw_call_opts_set_int(once, "retry_attempts", 0));
    CHECK_STATUS(jw_call_opts_set_int(once, "retry_attempts", -1),
                 JW_EINVAL);
    CHECK_STATUS(jw_call_opts_set_int(once, "retry_wait", 0), JW_EINVAL);
    CHECK_STATUS(jw_js_publish(js, "orders.new", "x", 1, once, NULL),
                 JW_ENO_RESPONDERS);

    jw_call_opts *patient = NULL;
    CHECK_OK(jw_call_opts_new("publish", &patient));
    CHECK_OK(jw_call_opts_set_int(patient, "retry_attempts", 40));
    CHECK_OK(jw_call_opts_set_int(patient, "retry_wait", 50));
    late_stream ls = {srv, -1};
    pthread_t maker;
    CHECK(pthread_create(&maker, NULL, make_stream_later, &ls) == 0);
    jw_js_pub_ack *ack = NULL;
    jw_status st = jw_js_publish(js, "orders.new", "x", 1, patient, &ack);
    pthread_join(maker, NULL);
    CHECK_OK(ls.status);
    CHECK_OK(st);
    CHECK_EQ_INT(jw_js_pub_ack_seq(ack), 1);
    CHECK(strcmp(jw_js_pub_ack_stream(ack), "ORDERS") == 0);
    jw_js_pub_ack_free(ack);
    jw_call_opts_free(once);
    jw_call_opts_free(patient);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

/* The publish for other event loops: start, the completion through the
 * connection, the reply parsed into the PubAck or the publish's error. */
TEST(js_publish_start)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_stream_create(js, ORDERS_STREAM, NULL));
    jw_msg *m = NULL;
    CHECK_OK(jw_msg_new("orders.new", NULL, "o1", 2, &m));
    jw_call_opts *o = NULL;
    CHECK_OK(jw_call_opts_new("publish", &o));
    CHECK_OK(jw_call_opts_set_str(o, "msg_id", "first"));
    uint64_t id = 0;
    jw_msg *reply = NULL;
    jw_js_pub_ack *ack = NULL;
    for (int round = 0; round < 2; round++) { /* the second is a duplicate */
        CHECK_OK(jw_js_publish_start(js, m, o, &id));
        CHECK(id != 0);
        CHECK_OK(jw_test_completion(nc, id, &reply));
        CHECK_OK(jw_js_pub_ack_parse(reply, &ack));
        jw_msg_free(reply);
        CHECK_EQ_INT(jw_js_pub_ack_seq(ack), 1);
        CHECK_EQ_INT(jw_js_pub_ack_duplicate(ack), round);
        jw_js_pub_ack_free(ack);
    }
    /* A refused publish: the error of jw_js_publish. */
    jw_call_opts *stale = NULL;
    CHECK_OK(jw_call_opts_new("publish", &stale));
    CHECK_OK(jw_call_opts_set_int(stale, "expected_last_seq", 7));
    CHECK_OK(jw_js_publish_start(js, m, stale, &id));
    CHECK_OK(jw_test_completion(nc, id, &reply));
    CHECK_STATUS(jw_js_pub_ack_parse(reply, &ack), JW_EWRONG_LAST_SEQUENCE);
    CHECK(ack == NULL);
    jw_msg_free(reply);
    /* No stream: no responders, at once (no retries here). */
    jw_msg *lost = NULL;
    CHECK_OK(jw_msg_new("nowhere", NULL, "x", 1, &lost));
    CHECK_OK(jw_js_publish_start(js, lost, NULL, &id));
    CHECK_STATUS(jw_test_completion(nc, id, &reply), JW_ENO_RESPONDERS);
    CHECK_EQ_INT(stream_msgs(js, "ORDERS"), 1);
    jw_msg_free(lost);
    jw_call_opts_free(stale);
    jw_call_opts_free(o);
    jw_msg_free(m);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}
