/* Bad input and dead objects: clear errors, no crash, no hang. */
#include <stdatomic.h>
#include <stdlib.h>

#include "server.h"

/* Proves a connection still works: a message to itself round trips. */
static int roundtrip(jw_conn *nc, const char *subject)
{
    jw_sub *sub = NULL;
    jw_msg *m = NULL;
    int ok = jw_conn_subscribe(nc, subject, NULL, &sub) == JW_OK &&
             jw_conn_publish(nc, subject, "ping", 4) == JW_OK &&
             jw_sub_next(sub, 5000, &m) == JW_OK && jw_msg_data_len(m) == 4 &&
             memcmp(jw_msg_data(m), "ping", 4) == 0;
    if (!ok)
        fprintf(stderr, "roundtrip on %s failed [%s]\n", subject,
                jw_last_error());
    jw_msg_free(m);
    jw_sub_free(sub);
    return ok ? 0 : -1;
}

TEST(invalid_subjects)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));

    static const char *bad_publish[] = {"",     "a..b",   "foo.", " a", "a b",
                                        "a.*",  "a.>",    ".a",   "*",  ">",
                                        "a\tb", "a\r\nb", "a.b "};
    for (size_t i = 0; i < sizeof bad_publish / sizeof bad_publish[0]; i++) {
        const char *subj = bad_publish[i];
        int st = jw_conn_publish(nc, subj, "x", 1);
        if (st != JW_EINVALID_SUBJECT) {
            fprintf(stderr, "publish '%s': %s\n", subj, jw_status_name(st));
            return 1;
        }
        CHECK(jw_last_error()[0] != '\0');
        CHECK_STATUS(jw_conn_publish_reply(nc, subj, "r", "x", 1),
                     JW_EINVALID_SUBJECT);
        jw_msg *reply = NULL;
        CHECK_STATUS(jw_conn_request(nc, subj, "x", 1, 1000, &reply),
                     JW_EINVALID_SUBJECT);
        /* jw_msg_new may refuse the subject itself; if it accepts it, the
         * publish must refuse. */
        jw_msg *m = NULL;
        st = jw_msg_new(subj, NULL, "x", 1, &m);
        if (st == JW_OK) {
            CHECK_STATUS(jw_conn_publish_msg(nc, m), JW_EINVALID_SUBJECT);
            jw_msg_free(m);
        } else {
            CHECK_STATUS(st, JW_EINVALID_SUBJECT);
        }
        CHECK_EQ_INT(jw_subject_is_valid(subj), 0);
    }
    /* A reply subject that would break the protocol line. */
    CHECK_STATUS(jw_conn_publish_reply(nc, "ok.subject", "a b", "x", 1),
                 JW_EINVALID_SUBJECT);

    static const char *bad_subscribe[] = {"",      "a..b", "foo.", " a",  "a b",
                                          "a.>.b", ">.a",  ".a",   "a\tb"};
    for (size_t i = 0; i < sizeof bad_subscribe / sizeof bad_subscribe[0];
         i++) {
        const char *subj = bad_subscribe[i];
        jw_sub *sub = NULL;
        int st = jw_conn_subscribe(nc, subj, NULL, &sub);
        if (st != JW_EINVALID_SUBJECT) {
            fprintf(stderr, "subscribe '%s': %s\n", subj, jw_status_name(st));
            return 1;
        }
        CHECK(sub == NULL);
        CHECK_EQ_INT(jw_subject_pattern_is_valid(subj), 0);
    }
    /* Valid wildcard patterns are accepted. */
    static const char *good_patterns[] = {"a.*", "a.>",   "*",
                                          ">",   "*.b.>", "a.*.c"};
    for (size_t i = 0; i < sizeof good_patterns / sizeof good_patterns[0];
         i++) {
        jw_sub *sub = NULL;
        CHECK_OK(jw_conn_subscribe(nc, good_patterns[i], NULL, &sub));
        jw_sub_free(sub);
    }

    /* Nothing bad was sent: the connection is intact. */
    CHECK_EQ_INT(jw_conn_is_connected(nc), 1);
    CHECK_OK(jw_conn_flush(nc, 5000));
    CHECK(roundtrip(nc, "still.works") == 0);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

TEST(max_payload)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));
    int64_t max = jw_conn_max_payload(nc);
    CHECK(max > 0);
    unsigned char *buf = malloc((size_t)max + 1);
    CHECK(buf != NULL);
    for (int64_t i = 0; i <= max; i++)
        buf[i] = (unsigned char)(i % 251);

    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "big.x", NULL, &sub));
    CHECK_STATUS(jw_conn_publish(nc, "big.x", buf, (size_t)max + 1),
                 JW_EMAX_PAYLOAD);
    CHECK_STATUS(jw_conn_publish_reply(nc, "big.x", "r", buf, (size_t)max + 1),
                 JW_EMAX_PAYLOAD);
    jw_msg *reply = NULL;
    CHECK_STATUS(
        jw_conn_request(nc, "big.x", buf, (size_t)max + 1, 1000, &reply),
        JW_EMAX_PAYLOAD);
    jw_msg *m = NULL;
    CHECK_OK(jw_msg_new("big.x", NULL, buf, (size_t)max + 1, &m));
    CHECK_STATUS(jw_conn_publish_msg(nc, m), JW_EMAX_PAYLOAD);
    jw_msg_free(m);
    /* Headers count against the limit too (the server checks HPUB's total
     * size). */
    m = NULL;
    CHECK_OK(jw_msg_new("big.x", NULL, buf, (size_t)max, &m));
    CHECK_OK(jw_msg_header_add(m, "K", "v"));
    CHECK_STATUS(jw_conn_publish_msg(nc, m), JW_EMAX_PAYLOAD);
    jw_msg_free(m);

    /* The connection survived, and exactly max_payload is fine. */
    CHECK_EQ_INT(jw_conn_is_connected(nc), 1);
    CHECK_OK(jw_conn_publish(nc, "big.x", buf, (size_t)max));
    m = NULL;
    CHECK_OK(jw_sub_next(sub, 10000, &m));
    CHECK_EQ_INT(jw_msg_data_len(m), max);
    CHECK(memcmp(jw_msg_data(m), buf, (size_t)max) == 0);
    jw_msg_free(m);
    /* Nothing else (no oversize message slipped through). */
    CHECK_STATUS(jw_sub_next(sub, 100, &m), JW_ETIMEOUT);
    free(buf);

    CHECK_OK(jw_conn_flush(nc, 5000));
    CHECK(roundtrip(nc, "after.big") == 0);
    jw_sub_free(sub);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

static void noop_msg_cb(jw_sub *sub, jw_msg *msg, void *arg)
{
    (void)sub;
    (void)arg;
    jw_msg_free(msg);
}

static void noop_event_cb(jw_conn *conn, const jw_event *ev, void *arg)
{
    (void)conn;
    (void)ev;
    (void)arg;
}

TEST(null_handles)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "null.x", NULL, &sub));
    jw_msg *m = NULL;
    CHECK_OK(jw_msg_new("null.x", NULL, "d", 1, &m));
    jw_msg *got = NULL;
    jw_sub *s2 = NULL;
    jw_event *ev = NULL;
    jw_loop *loop = NULL;
    jw_opts *opts = NULL;
    int64_t i64 = 0, i64b = 0;
    char buf[64];
    const char *cs = NULL, *cs2 = NULL;
    jw_msg *batch[4];

    /* Loops and options. */
    CHECK_STATUS(jw_loop_new(NULL), JW_EINVAL);
    CHECK_STATUS(jw_loop_new_driven(NULL), JW_EINVAL);
    CHECK_STATUS(jw_loop_new_from_base(NULL, &loop), JW_EINVAL);
    CHECK_STATUS(jw_loop_run(NULL, 0), JW_EINVAL);
    jw_loop_free(NULL);
    CHECK_OK(jw_wait_check_set(NULL, NULL, 0)); /* NULL: no check */
    CHECK(jw_seconds_to_ms(NULL, 1.5) == 1500); /* NULL: "timeout" */
    CHECK_STATUS(jw_opts_fields(NULL), JW_EINVAL);
    CHECK_EQ_INT(jw_loop_fd(NULL), JW_EINVAL);
    CHECK_EQ_INT(jw_loop_timeout_ms(NULL), -1);
    CHECK_EQ_INT(jw_sub_batch_size(NULL, 256), 256);
    CHECK_STATUS(jw_opts_new(NULL), JW_EINVAL);
    jw_opts_free(NULL);
    CHECK_STATUS(jw_opts_set_str(NULL, "name", "x"), JW_EINVAL);
    CHECK_STATUS(jw_opts_set_int(NULL, "ping_interval", 1), JW_EINVAL);
    CHECK_STATUS(jw_opts_set_bool(NULL, "no_echo", 1), JW_EINVAL);
    CHECK_STATUS(jw_opts_set_callback(NULL, "closed_cb", noop_event_cb, NULL),
                 JW_EINVAL);
    CHECK_STATUS(jw_opts_set_loop(NULL, NULL), JW_EINVAL);
    CHECK_OK(jw_opts_new(&opts));
    CHECK_STATUS(jw_opts_set_str(opts, NULL, "x"), JW_EINVAL);
    CHECK_STATUS(jw_opts_set_int(opts, NULL, 1), JW_EINVAL);
    CHECK_STATUS(jw_opts_set_bool(opts, NULL, 1), JW_EINVAL);
    CHECK_STATUS(jw_opts_set_callback(opts, NULL, noop_event_cb, NULL),
                 JW_EINVAL);
    jw_opts_free(opts);

    /* Connections. */
    CHECK_STATUS(jw_conn_connect(s->url, NULL, NULL), JW_EINVAL);
    CHECK_STATUS(jw_conn_publish(NULL, "a", "x", 1), JW_EINVAL);
    CHECK_STATUS2(jw_conn_publish(nc, NULL, "x", 1), JW_EINVAL,
                  JW_EINVALID_SUBJECT);
    CHECK_STATUS(jw_conn_publish(nc, "a", NULL, 5), JW_EINVAL);
    CHECK_STATUS(jw_conn_publish_msg(NULL, m), JW_EINVAL);
    CHECK_STATUS(jw_conn_publish_msg(nc, NULL), JW_EINVAL);
    CHECK_STATUS(jw_conn_publish_reply(NULL, "a", "r", "x", 1), JW_EINVAL);
    CHECK_STATUS(jw_conn_respond(NULL, "a", "x", 1), JW_EINVAL);
    CHECK_STATUS(jw_conn_request(NULL, "a", "x", 1, 100, &got), JW_EINVAL);
    CHECK_STATUS(jw_conn_request(nc, "a", "x", 1, 100, NULL), JW_EINVAL);
    CHECK_STATUS(jw_conn_request_msg(NULL, m, 100, &got), JW_EINVAL);
    CHECK_STATUS(jw_conn_request_msg(nc, NULL, 100, &got), JW_EINVAL);
    CHECK_STATUS(jw_conn_request_msg(nc, m, 100, NULL), JW_EINVAL);
    uint64_t rid = 0;
    jw_status rst = JW_OK;
    CHECK_STATUS(jw_conn_request_start(NULL, m, &rid), JW_EINVAL);
    CHECK_STATUS(jw_conn_request_start(nc, NULL, &rid), JW_EINVAL);
    CHECK_STATUS(jw_conn_request_start(nc, m, NULL), JW_EINVAL);
    CHECK(jw_conn_request_poll(NULL, &rid, &rst, &got) < 0);
    CHECK(jw_conn_request_poll(nc, NULL, &rst, &got) < 0);
    CHECK_STATUS(jw_conn_request_cancel(NULL, 1), JW_EINVAL);
    CHECK_STATUS(jw_conn_request_cancel(nc, 987654321), JW_EINVAL);
    CHECK_STATUS(jw_conn_flush(NULL, 100), JW_EINVAL);
    CHECK_STATUS(jw_conn_rtt(NULL, &i64), JW_EINVAL);
    CHECK_STATUS(jw_conn_rtt(nc, NULL), JW_EINVAL);
    CHECK_STATUS(jw_conn_drain(NULL, 100), JW_EINVAL);
    CHECK_STATUS(jw_conn_close(NULL), JW_EINVAL);
    jw_conn_free(NULL);
    (void)jw_conn_status_get(NULL);
    CHECK_EQ_INT(jw_conn_is_connected(NULL), 0);
    CHECK_STATUS(jw_conn_connected_url(NULL, buf, sizeof buf), JW_EINVAL);
    CHECK_STATUS(jw_conn_connected_url(nc, NULL, 10), JW_EINVAL);
    CHECK_STATUS(jw_conn_servers(NULL, buf, sizeof buf), JW_EINVAL);
    CHECK_STATUS(jw_conn_servers(nc, NULL, 10), JW_EINVAL);
    CHECK_STATUS(jw_conn_discovered_servers(NULL, buf, sizeof buf),
                 JW_EINVAL);
    CHECK_STATUS(jw_conn_discovered_servers(nc, NULL, 10), JW_EINVAL);
    CHECK_STATUS(jw_conn_discovered_servers(nc, buf, 0), JW_EINVAL);
    CHECK_STATUS(jw_conn_server_info(NULL, buf, sizeof buf), JW_EINVAL);
    CHECK_STATUS(jw_conn_server_info(nc, NULL, 10), JW_EINVAL);
    CHECK_STATUS(jw_conn_server_version(NULL, buf, sizeof buf), JW_EINVAL);
    CHECK_STATUS(jw_conn_server_version(nc, NULL, 10), JW_EINVAL);
    CHECK_EQ_INT(jw_conn_max_payload(NULL), 0);
    CHECK_EQ_INT(jw_conn_jetstream_enabled(NULL), 0);
    CHECK_EQ_INT(jw_conn_stat(NULL, JW_STAT_IN_MSGS), 0);
    CHECK_STATUS(jw_conn_new_inbox(NULL, buf, sizeof buf), JW_EINVAL);
    CHECK_STATUS(jw_conn_new_inbox(nc, NULL, 10), JW_EINVAL);
    CHECK(jw_conn_fd(NULL) < 0);
    jw_conn_fd_reset(NULL);
    uint64_t tags[4];
    CHECK_EQ_INT(jw_conn_ready(NULL, tags, 4), JW_EINVAL);
    CHECK_EQ_INT(jw_conn_ready(nc, NULL, 4), JW_EINVAL);
    CHECK_EQ_INT(jw_conn_ready(nc, tags, 0), JW_EINVAL);
    CHECK_STATUS(jw_sub_set_tag(NULL, 1), JW_EINVAL);
    CHECK_STATUS(jw_conn_next_event(NULL, 0, &ev), JW_EINVAL);
    CHECK_STATUS(jw_conn_next_event(nc, 0, NULL), JW_EINVAL);
    (void)jw_event_kind_get(NULL);
    CHECK_EQ_INT(jw_event_status(NULL), JW_EINVAL);
    CHECK(jw_event_text(NULL) != NULL);
    CHECK(jw_event_sub(NULL) == NULL);
    jw_event_free(NULL);

    /* Subscriptions. */
    CHECK_STATUS(jw_conn_subscribe(NULL, "a", NULL, &s2), JW_EINVAL);
    CHECK_STATUS(jw_conn_subscribe(nc, "a", NULL, NULL), JW_EINVAL);
    CHECK_STATUS2(jw_conn_subscribe(nc, NULL, NULL, &s2), JW_EINVAL,
                  JW_EINVALID_SUBJECT);
    CHECK_STATUS(jw_conn_subscribe_cb(NULL, "a", NULL, noop_msg_cb, NULL, &s2),
                 JW_EINVAL);
    CHECK_STATUS(jw_conn_subscribe_cb(nc, "a", NULL, NULL, NULL, &s2),
                 JW_EINVAL);
    CHECK_STATUS(jw_conn_subscribe_cb(nc, "a", NULL, noop_msg_cb, NULL, NULL),
                 JW_EINVAL);
    CHECK(s2 == NULL);
    CHECK_STATUS(jw_sub_next(NULL, 0, &got), JW_EINVAL);
    CHECK_STATUS(jw_sub_next(sub, 0, NULL), JW_EINVAL);
    CHECK_STATUS(jw_sub_next_batch(NULL, batch, 4, 0), JW_EINVAL);
    CHECK_STATUS(jw_sub_next_batch(sub, NULL, 4, 0), JW_EINVAL);
    CHECK_STATUS(jw_sub_next_batch(sub, batch, 0, 0), JW_EINVAL);
    CHECK_STATUS(jw_sub_next_batch(sub, batch, -1, 0), JW_EINVAL);
    CHECK_STATUS(jw_sub_unsubscribe(NULL), JW_EINVAL);
    CHECK_STATUS(jw_sub_auto_unsubscribe(NULL, 1), JW_EINVAL);
    CHECK_STATUS(jw_sub_drain(NULL), JW_EINVAL);
    CHECK_STATUS(jw_sub_set_pending_limits(NULL, 1, 1), JW_EINVAL);
    CHECK_STATUS(jw_sub_pending(NULL, &i64, &i64b), JW_EINVAL);
    CHECK_STATUS(jw_sub_pending_limits(NULL, &i64, &i64b), JW_EINVAL);
    CHECK_EQ_INT(jw_sub_dropped(NULL), 0);
    CHECK_EQ_INT(jw_sub_delivered(NULL), 0);
    (void)jw_sub_subject(NULL);
    CHECK(jw_sub_queue(NULL) == NULL);
    CHECK_EQ_INT(jw_sub_is_valid(NULL), 0);
    jw_sub_free(NULL);

    /* Messages. */
    CHECK_STATUS(jw_msg_new("a", NULL, "x", 1, NULL), JW_EINVAL);
    CHECK_STATUS2(jw_msg_new(NULL, NULL, "x", 1, &got), JW_EINVAL,
                  JW_EINVALID_SUBJECT);
    CHECK_STATUS(jw_msg_new("a", NULL, NULL, 3, &got), JW_EINVAL);
    CHECK_STATUS(jw_msg_header_add(NULL, "K", "v"), JW_EINVAL);
    CHECK_STATUS(jw_msg_header_add(m, NULL, "v"), JW_EINVAL);
    CHECK_STATUS(jw_msg_header_add(m, "K", NULL), JW_EINVAL);
    CHECK_STATUS(jw_msg_header_set(NULL, "K", "v"), JW_EINVAL);
    CHECK_STATUS(jw_msg_header_set(m, NULL, "v"), JW_EINVAL);
    jw_msg_free(NULL);
    (void)jw_msg_subject(NULL);
    CHECK(jw_msg_reply(NULL) == NULL);
    (void)jw_msg_data(NULL);
    CHECK_EQ_INT(jw_msg_data_len(NULL), 0);
    CHECK_STATUS(jw_msg_header_get(NULL, "K", 0, &cs), JW_EINVAL);
    CHECK_STATUS(jw_msg_header_get(m, NULL, 0, &cs), JW_EINVAL);
    CHECK_STATUS(jw_msg_header_get(m, "K", 0, NULL), JW_EINVAL);
    CHECK(jw_msg_header_count(NULL) <= 0);
    CHECK_STATUS(jw_msg_header_at(NULL, 0, &cs, &cs2), JW_EINVAL);
    CHECK_EQ_INT(jw_msg_status_code(NULL), 0);
    size_t len = 0;
    CHECK(jw_msg_headers_raw(NULL, &len) == NULL);
    CHECK_STATUS(jw_msg_respond(NULL, "x", 1), JW_EINVAL);

    /* Subjects and codec. */
    CHECK_EQ_INT(jw_subject_is_valid(NULL), 0);
    CHECK_EQ_INT(jw_subject_pattern_is_valid(NULL), 0);
    CHECK_EQ_INT(jw_subject_matches(NULL, "a"), 0);
    CHECK_EQ_INT(jw_subject_matches("a", NULL), 0);
    CHECK_STATUS(jw_packer_new(NULL), JW_EINVAL);
    jw_packer_free(NULL);
    jw_packer_reset(NULL);
    CHECK_STATUS(jw_pack_nil(NULL), JW_EINVAL);
    CHECK_STATUS(jw_pack_int(NULL, 1), JW_EINVAL);
    CHECK_STATUS(jw_pack_uint(NULL, 1), JW_EINVAL);
    CHECK_STATUS(jw_pack_bool(NULL, 1), JW_EINVAL);
    CHECK_STATUS(jw_pack_double(NULL, 1.5), JW_EINVAL);
    CHECK_STATUS(jw_pack_bin(NULL, "a", 1), JW_EINVAL);
    CHECK_STATUS(jw_pack_array(NULL, 1), JW_EINVAL);
    CHECK_STATUS(jw_pack_str(NULL, "a", 1), JW_EINVAL);
    CHECK_STATUS(jw_pack_map(NULL, 1), JW_EINVAL);
    CHECK(jw_packer_data(NULL, &len) == NULL);
    jw_unpacked *u = NULL;
    CHECK_STATUS(jw_unpack("\xc0", 1, NULL), JW_EINVAL);
    CHECK_STATUS(jw_unpack(NULL, 4, &u), JW_EINVAL);
    CHECK(jw_unpacked_root(NULL) == NULL);
    jw_unpacked_free(NULL);
    CHECK_EQ_INT(jw_value_int(NULL), 0);
    (void)jw_value_type_get(NULL);
    CHECK_EQ_INT(jw_value_bool(NULL), 0);
    CHECK_EQ_INT(jw_value_uint(NULL), 0);
    CHECK(jw_value_double(NULL) == 0.0);
    CHECK_EQ_INT(jw_value_ext_type(NULL), 0);
    CHECK_EQ_INT(jw_value_count(NULL), 0);
    CHECK(jw_value_bytes(NULL, &len) == NULL);
    CHECK(jw_value_array_at(NULL, 0) == NULL);
    CHECK(jw_value_map_key(NULL, 0) == NULL);
    CHECK(jw_value_map_val(NULL, 0) == NULL);

    /* JetStream: every call with NULL where a handle or an out pointer
     * belongs. */
    {
        jw_js *js = NULL;
        char *json = NULL;
        uint64_t u64 = 0;
        jw_consumer *cons = NULL;
        jw_consume *cc = NULL;
        jw_ordered *oc = NULL;
        jw_call_opts *po = NULL;
        jw_js_pub_ack *ack = NULL;
        jw_js_meta *meta = NULL;
        jw_msg *jm = NULL;
        jw_status jst = JW_OK;
        jw_free(NULL);
        (void)jw_js_last_err_code();
        CHECK_STATUS(jw_js_new(NULL, &js), JW_EINVAL);
        CHECK_STATUS(jw_js_new(nc, NULL), JW_EINVAL);
        CHECK_STATUS(jw_js_set_str(NULL, "domain", "x"), JW_EINVAL);
        CHECK_STATUS(jw_js_set_int(NULL, "timeout", 1), JW_EINVAL);
        jw_js_free(NULL);
        CHECK_STATUS(jw_js_account_info(NULL, &json), JW_EINVAL);
        int level = 0;
        CHECK_STATUS(jw_js_api_level(NULL, &level), JW_EINVAL);
        CHECK_STATUS(jw_js_config_fields(NULL, &json), JW_EINVAL);
        /* The version in its two forms agrees with the header. */
        CHECK_EQ_INT(jw_version_number(), JW_VERSION_NUMBER);
        char want[32];
        snprintf(want, sizeof want, "%d.%d.%d", JW_VERSION_MAJOR,
                 JW_VERSION_MINOR, JW_VERSION_PATCH);
        CHECK_STR(jw_version(), want);
        CHECK_STR(JW_VERSION_STRING, want);
        /* The enums' names: NULL outside the enum, never a crash. */
        CHECK(jw_event_kind_name((jw_event_kind)0) == NULL);
        CHECK_STR(jw_event_kind_name(JW_EVENT_LAME_DUCK), "LAME_DUCK");
        CHECK(jw_conn_status_name((jw_conn_status)99) == NULL);
        CHECK_STR(jw_conn_status_name(JW_CONN_DRAINING_PUBS),
                  "DRAINING_PUBS");
        CHECK(jw_stat_name((jw_stat)-1) == NULL);
        CHECK_STR(jw_stat_name(JW_STAT_RECONNECTS), "reconnects");
        CHECK(jw_stat_name((jw_stat)(JW_STAT_RECONNECTS + 1)) == NULL);
        CHECK(jw_kv_op_name((jw_kv_op)0) == NULL);
        CHECK_STR(jw_kv_op_name(JW_KV_PURGE), "PURGE");
        CHECK_STATUS(jw_js_config_fields("stream", NULL), JW_EINVAL);
        CHECK_STATUS(jw_js_stream_create(NULL, "{}", &json), JW_EINVAL);
        CHECK_STATUS(jw_js_stream_update(NULL, "{}", &json), JW_EINVAL);
        CHECK_STATUS(jw_js_stream_create_or_update(NULL, "{}", &json),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_stream_info(NULL, "S", &json), JW_EINVAL);
        CHECK_STATUS(jw_js_stream_delete(NULL, "S"), JW_EINVAL);
        CHECK_STATUS(jw_js_stream_purge(NULL, "S", NULL, 0, 0, &u64),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_stream_names(NULL, NULL, &json), JW_EINVAL);
        CHECK_STATUS(jw_js_stream_list(NULL, NULL, &json), JW_EINVAL);
        CHECK_STATUS(jw_js_stream_get_msg(NULL, "S", 1, &jm), JW_EINVAL);
        CHECK_STATUS(jw_js_stream_get_last_msg(NULL, "S", "a", &jm),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_stream_delete_msg(NULL, "S", 1, 0), JW_EINVAL);
        CHECK_STATUS(jw_call_opts_new(NULL, &po), JW_EINVAL);
        CHECK_STATUS(jw_call_opts_new("publish", NULL), JW_EINVAL);
        CHECK_STATUS(jw_call_opts_new("nope", &po), JW_EINVAL);
        CHECK(po == NULL);
        CHECK_STATUS(jw_call_opts_set_str(NULL, "msg_id", "x"), JW_EINVAL);
        CHECK_STATUS(jw_call_opts_set_int(NULL, "expected_last_seq", 1),
                     JW_EINVAL);
        CHECK_STATUS(jw_call_opts_set_double(NULL, "timeout", 1), JW_EINVAL);
        CHECK_STATUS(jw_call_opts_set_bool(NULL, "no_wait", 1), JW_EINVAL);
        CHECK_STATUS(jw_call_opts_fields(NULL, &json), JW_EINVAL);
        CHECK_STATUS(jw_call_opts_fields("fetch", NULL), JW_EINVAL);
        jw_call_opts_free(NULL);
        CHECK_STATUS(jw_js_publish(NULL, "a", "x", 1, po, &ack), JW_EINVAL);
        CHECK_STATUS(jw_js_publish_msg(NULL, m, po, &ack), JW_EINVAL);
        CHECK(jw_js_pub_ack_stream(NULL) == NULL);
        CHECK(jw_js_pub_ack_domain(NULL) == NULL);
        CHECK_EQ_INT(jw_js_pub_ack_seq(NULL), 0);
        CHECK_EQ_INT(jw_js_pub_ack_duplicate(NULL), 0);
        CHECK(jw_js_pub_ack_value(NULL) == NULL);
        CHECK(jw_js_pub_ack_batch(NULL) == NULL);
        CHECK_EQ_INT(jw_js_pub_ack_count(NULL), 0);
        jw_js_pub_ack_free(NULL);
        CHECK_STATUS(jw_js_publish_async(NULL, m, po, &u64), JW_EINVAL);
        CHECK(jw_js_publish_async_poll(NULL, &u64, &jst, &ack) < 0);
        CHECK_STATUS(jw_js_publish_async_complete(NULL, 0), JW_EINVAL);
        CHECK_STATUS(jw_js_publish_async_wait(NULL, 0), JW_EINVAL);
        CHECK_EQ_INT(jw_js_publish_async_pending(NULL), 0);
        CHECK_STATUS(jw_js_publish_start(NULL, m, po, &u64), JW_EINVAL);
        CHECK_STATUS(jw_js_pub_ack_parse(NULL, &ack), JW_EINVAL);
        CHECK(ack == NULL);
        jw_js_fast *fast = NULL;
        CHECK_STATUS(jw_js_fast_new(NULL, NULL, &fast), JW_EINVAL);
        CHECK_STATUS(jw_js_fast_add(NULL, m, NULL, &u64), JW_EINVAL);
        CHECK_STATUS(jw_js_fast_publish(NULL, "a", "x", 1, NULL, &u64),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_fast_publish(NULL, NULL, NULL, 0, NULL, NULL),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_fast_commit(NULL, m, &ack), JW_EINVAL);
        CHECK_EQ_INT(jw_js_fast_room(NULL), 0);
        CHECK(ack == NULL);
        CHECK_EQ_INT(jw_js_fast_acked(NULL), 0);
        CHECK_STATUS(jw_js_fast_take_errors(NULL, &json), JW_EINVAL);
        CHECK(json == NULL);
        jw_js_fast_free(NULL);
        CHECK(fast == NULL);
        const jw_msg *one[1] = {m};
        CHECK_STATUS(jw_js_publish_batch(NULL, one, 1, NULL, &ack),
                     JW_EINVAL);
        CHECK(ack == NULL);
        CHECK_STATUS(jw_js_consumer_create(NULL, "S", "{}", &cons),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_consumer_update(NULL, "S", "{}", &cons),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_consumer_create_or_update(NULL, "S", "{}", &cons),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_consumer_get(NULL, "S", "C", &cons), JW_EINVAL);
        CHECK_STATUS(jw_js_consumer_info(NULL, "S", "C", &json), JW_EINVAL);
        CHECK_STATUS(jw_js_consumer_delete(NULL, "S", "C"), JW_EINVAL);
        CHECK_STATUS(jw_js_consumer_pause(NULL, "S", "C", 0, &json),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_consumer_resume(NULL, "S", "C", &json),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_consumer_unpin(NULL, "S", "C", "g"), JW_EINVAL);
        CHECK_STATUS(jw_js_consumer_reset(NULL, "S", "C", 0, &json),
                     JW_EINVAL);
        CHECK(json == NULL);
        CHECK_STATUS(jw_js_consumer_names(NULL, "S", &json), JW_EINVAL);
        CHECK_STATUS(jw_js_consumer_list(NULL, "S", &json), JW_EINVAL);
        CHECK(jw_consumer_name(NULL) == NULL);
        CHECK(jw_consumer_stream(NULL) == NULL);
        CHECK_STATUS(jw_consumer_info(NULL, &json), JW_EINVAL);
        jw_consumer_free(NULL);
        CHECK(jw_consumer_fetch(NULL, batch, 4, NULL) < 0);
        CHECK_STATUS(jw_consumer_consume(NULL, NULL, &cc), JW_EINVAL);
        CHECK(jw_consume_next(NULL, batch, 4, 0) < 0);
        CHECK_STATUS(jw_consume_stop(NULL), JW_EINVAL);
        jw_consume_free(NULL);
        CHECK_STATUS(jw_js_ordered_consumer(NULL, "S", NULL, &oc), JW_EINVAL);
        CHECK(jw_ordered_next(NULL, batch, 4, 0) < 0);
        CHECK_EQ_INT(jw_ordered_last_sequence(NULL), 0);
        jw_ordered_free(NULL);
        CHECK_STATUS(jw_msg_ack(NULL), JW_EINVAL);
        CHECK_STATUS(jw_msg_ack_sync(NULL, 100), JW_EINVAL);
        CHECK_STATUS(jw_msg_nak(NULL), JW_EINVAL);
        CHECK_STATUS(jw_msg_nak_delay(NULL, 10), JW_EINVAL);
        CHECK_STATUS(jw_msg_term(NULL), JW_EINVAL);
        CHECK_STATUS(jw_msg_term_reason(NULL, "why"), JW_EINVAL);
        char *statuses = (char *)"x";
        CHECK_STATUS(jw_js_kv_statuses(NULL, &statuses), JW_EINVAL);
        jw_kv_lister *lister = (jw_kv_lister *)1;
        CHECK_STATUS(jw_kv_list_keys_multi(NULL, NULL, 0, &lister),
                     JW_EINVAL);
        CHECK(lister == NULL);
        CHECK(statuses == NULL);
        CHECK_STATUS(jw_msg_in_progress(NULL), JW_EINVAL);
        CHECK_STATUS(jw_msg_metadata(NULL, &meta), JW_EINVAL);
        CHECK_STATUS(jw_msg_metadata(m, NULL), JW_EINVAL);
        /* A message that is not from JetStream cannot be acked. */
        CHECK_STATUS(jw_msg_ack(m), JW_EINVAL);
        CHECK_STATUS(jw_js_meta_parse(NULL, &meta), JW_EINVAL);
        jw_direct_batch *db = (jw_direct_batch *)1;
        const char *subjects[] = {"s.>"};
        CHECK_STATUS(jw_js_direct_get_batch(NULL, "S", subjects, 1, NULL,
                                            &db),
                     JW_EINVAL);
        CHECK(db == NULL);
        jw_msg *dm = (jw_msg *)1;
        CHECK_STATUS(jw_direct_batch_next(NULL, 0, &dm), JW_EINVAL);
        CHECK(dm == NULL);
        CHECK_EQ_INT(jw_direct_batch_num_pending(NULL), 0);
        CHECK_EQ_INT(jw_direct_batch_last_seq(NULL), 0);
        CHECK_EQ_INT(jw_direct_batch_up_to_seq(NULL), 0);
        jw_direct_batch_free(NULL);
        jw_js_batch *jb = (jw_js_batch *)1;
        CHECK_STATUS(jw_js_batch_new(NULL, &jb), JW_EINVAL);
        CHECK(jb == NULL);
        CHECK_STATUS(jw_js_batch_add(NULL, m, po), JW_EINVAL);
        ack = (jw_js_pub_ack *)1;
        CHECK_STATUS(jw_js_batch_commit(NULL, m, po, &ack), JW_EINVAL);
        CHECK(ack == NULL);
        CHECK(jw_js_batch_id(NULL) == NULL);
        CHECK_EQ_INT(jw_js_batch_count(NULL), 0);
        jw_js_batch_free(NULL);
        char *cv = (char *)1;
        CHECK_STATUS(jw_js_counter_add(NULL, "c", "+1", po, &cv), JW_EINVAL);
        CHECK(cv == NULL);
        cv = (char *)1;
        CHECK_STATUS(jw_js_counter_get(NULL, "S", "c", &cv), JW_EINVAL);
        CHECK(cv == NULL);
        cv = (char *)1;
        CHECK_STATUS(jw_js_counter_entry(NULL, &cv), JW_EINVAL);
        CHECK(cv == NULL);
        CHECK_STATUS(jw_js_counter_entry(m, NULL), JW_EINVAL);
        /* A message that is not a counter's. */
        CHECK_STATUS(jw_js_counter_entry(m, &cv), JW_EINVAL);
        CHECK(cv == NULL);
        CHECK(jw_js_meta_stream(NULL) == NULL);
        CHECK(jw_js_meta_consumer(NULL) == NULL);
        CHECK(jw_js_meta_domain(NULL) == NULL);
        CHECK_EQ_INT(jw_js_meta_num_delivered(NULL), 0);
        CHECK_EQ_INT(jw_js_meta_stream_seq(NULL), 0);
        CHECK_EQ_INT(jw_js_meta_consumer_seq(NULL), 0);
        CHECK_EQ_INT(jw_js_meta_timestamp(NULL), 0);
        CHECK_EQ_INT(jw_js_meta_num_pending(NULL), 0);
        jw_js_meta_free(NULL);
        CHECK(js == NULL && cons == NULL && cc == NULL && oc == NULL &&
              ack == NULL && meta == NULL && jm == NULL);
    }

    /* Key-Value. */
    {
        jw_kv *kv = NULL;
        jw_kv_entry *e = NULL;
        jw_kv_entry **entries = NULL;
        jw_kv_watcher *w = NULL;
        char *json = NULL;
        size_t n = 0;
        uint64_t rev = 0;
        CHECK_STATUS(jw_js_kv_create(NULL, "{\"bucket\":\"b\"}", &kv),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_kv_update(NULL, "{\"bucket\":\"b\"}", &kv),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_kv_create_or_update(NULL, "{}", &kv), JW_EINVAL);
        CHECK_STATUS(jw_js_kv(NULL, "b", &kv), JW_EINVAL);
        CHECK_STATUS(jw_js_kv_delete(NULL, "b"), JW_EINVAL);
        CHECK_STATUS(jw_js_kv_names(NULL, &json), JW_EINVAL);
        jw_kv_free(NULL);
        CHECK(jw_kv_bucket(NULL) == NULL);
        CHECK_STATUS(jw_kv_status(NULL, &json), JW_EINVAL);
        CHECK_STATUS(jw_kv_put(NULL, "k", "v", 1, &rev), JW_EINVAL);
        CHECK_STATUS(jw_kv_create(NULL, "k", "v", 1, NULL, &rev), JW_EINVAL);
        CHECK_STATUS(jw_kv_update(NULL, "k", "v", 1, 1, &rev), JW_EINVAL);
        CHECK_STATUS(jw_kv_delete(NULL, "k", 0), JW_EINVAL);
        CHECK_STATUS(jw_kv_purge(NULL, "k", 0, NULL), JW_EINVAL);
        CHECK_STATUS(jw_kv_purge_deletes(NULL, 0), JW_EINVAL);
        CHECK_STATUS(jw_kv_get(NULL, "k", NULL, &e), JW_EINVAL);
        CHECK_STATUS(jw_kv_keys(NULL, NULL, &json), JW_EINVAL);
        jw_kv_lister *lister = (jw_kv_lister *)1;
        const char *lkey = "x";
        CHECK_STATUS(jw_kv_list_keys(NULL, NULL, &lister), JW_EINVAL);
        CHECK(lister == NULL);
        CHECK_STATUS(jw_kv_lister_next(NULL, &lkey), JW_EINVAL);
        CHECK(lkey == NULL);
        jw_kv_lister_free(NULL);
        jw_kv_entry *kve = (jw_kv_entry *)1;
        CHECK_STATUS(jw_kv_get_start(NULL, "k", NULL, &rev), JW_EINVAL);
        CHECK_STATUS(jw_kv_get_result(NULL, "k", JW_OK, NULL, &kve), JW_EINVAL);
        CHECK(kve == NULL);
        CHECK_STATUS(jw_kv_put_start(NULL, "k", "v", 1, 0, &rev), JW_EINVAL);
        CHECK_STATUS(jw_kv_put_result(NULL, JW_OK, NULL, &rev), JW_EINVAL);
        CHECK_STATUS(jw_kv_history(NULL, "k", NULL, &entries, &n),
                     JW_EINVAL);
        const char *keys[] = {"k"};
        CHECK_STATUS(jw_kv_get_many(NULL, keys, 1, NULL, &entries, &n),
                     JW_EINVAL);
        CHECK(entries == NULL && n == 0);
        jw_kv_entries_free(NULL, 0);
        CHECK(jw_kv_entry_bucket(NULL) == NULL);
        CHECK(jw_kv_entry_key(NULL) == NULL);
        CHECK(jw_kv_entry_value(NULL, &n) == NULL && n == 0);
        CHECK_EQ_INT(jw_kv_entry_revision(NULL), 0);
        CHECK_EQ_INT(jw_kv_entry_delta(NULL), 0);
        CHECK_EQ_INT(jw_kv_entry_created(NULL), 0);
        CHECK_EQ_INT(jw_kv_entry_operation(NULL), 0);
        jw_kv_entry_free(NULL);
        CHECK_STATUS(jw_kv_watch(NULL, NULL, NULL, &w), JW_EINVAL);
        CHECK_STATUS(jw_kv_watch_multi(NULL, NULL, 0, NULL, &w), JW_EINVAL);
        CHECK_STATUS(jw_kv_keys_multi(NULL, NULL, 0, &json), JW_EINVAL);
        CHECK_STATUS(jw_kv_watch_next(NULL, 0, &e), JW_EINVAL);
        jw_kv_watcher_free(NULL);
        CHECK(kv == NULL && e == NULL && w == NULL && json == NULL);
    }

    /* Object store. */
    {
        jw_obs *obs = NULL;
        jw_obs_reader *r = NULL;
        jw_obs_watcher *w = NULL;
        char *json = NULL;
        void *data = NULL;
        size_t n = 0;
        CHECK_STATUS(jw_js_obs_create(NULL, "{\"bucket\":\"b\"}", &obs),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_obs_update(NULL, "{\"bucket\":\"b\"}", &obs),
                     JW_EINVAL);
        CHECK_STATUS(jw_js_obs_create_or_update(NULL, "{}", &obs), JW_EINVAL);
        CHECK_STATUS(jw_js_obs_get(NULL, "b", &obs), JW_EINVAL);
        CHECK_STATUS(jw_js_obs_delete(NULL, "b"), JW_EINVAL);
        CHECK_STATUS(jw_js_obs_names(NULL, &json), JW_EINVAL);
        CHECK_STATUS(jw_js_obs_list(NULL, &json), JW_EINVAL);
        jw_obs_free(NULL);
        CHECK(jw_obs_bucket(NULL) == NULL);
        CHECK_STATUS(jw_obs_status(NULL, &json), JW_EINVAL);
        CHECK_STATUS(jw_obs_seal(NULL), JW_EINVAL);
        CHECK_STATUS(jw_obs_put(NULL, "{\"name\":\"o\"}", "x", 1, &json),
                     JW_EINVAL);
        CHECK_STATUS(jw_obs_put_stream(NULL, "{\"name\":\"o\"}", NULL,
                                       NULL, &json),
                     JW_EINVAL);
        CHECK_STATUS(jw_obs_get(NULL, "o", &data, &n, &json), JW_EINVAL);
        CHECK_STATUS(jw_obs_open(NULL, "o", &r), JW_EINVAL);
        CHECK_STATUS(jw_obs_reader_read(NULL, buf, sizeof buf, 0, &n),
                     JW_EINVAL);
        CHECK(jw_obs_reader_info(NULL) == NULL);
        jw_obs_reader_free(NULL);
        CHECK_STATUS(jw_obs_info(NULL, "o", 0, &json), JW_EINVAL);
        CHECK_STATUS(jw_obs_list(NULL, 0, &json), JW_EINVAL);
        CHECK_STATUS(jw_obs_delete(NULL, "o"), JW_EINVAL);
        CHECK_STATUS(jw_obs_update_meta(NULL, "o", "{}"), JW_EINVAL);
        CHECK_STATUS(jw_obs_add_link(NULL, "l", NULL, "o", &json),
                     JW_EINVAL);
        CHECK_STATUS(jw_obs_add_bucket_link(NULL, "l", NULL, &json),
                     JW_EINVAL);
        CHECK_STATUS(jw_obs_watch(NULL, NULL, &w), JW_EINVAL);
        CHECK_STATUS(jw_obs_watcher_next(NULL, 0, &json), JW_EINVAL);
        jw_obs_watcher_free(NULL);
        CHECK(obs == NULL && r == NULL && w == NULL && json == NULL &&
              data == NULL && n == 0);
    }

    /* Services. */
    {
        jw_service *svc = NULL;
        jw_service_group *g = NULL;
        jw_endpoint *ep = NULL;
        char *json = NULL;
        CHECK_STATUS(jw_service_new(NULL, "{}", &svc), JW_EINVAL);
        CHECK_STATUS(jw_service_add_group(NULL, NULL, "{}", &g), JW_EINVAL);
        CHECK_STATUS(jw_service_add_endpoint(NULL, NULL, "{}", NULL, NULL,
                                             &ep),
                     JW_EINVAL);
        CHECK_STATUS(jw_service_set_stats_handler(NULL, NULL, NULL),
                     JW_EINVAL);
        CHECK(jw_service_id(NULL) == NULL);
        CHECK(jw_service_name(NULL) == NULL);
        CHECK(jw_service_version(NULL) == NULL);
        CHECK_STATUS(jw_service_info(NULL, &json), JW_EINVAL);
        CHECK_STATUS(jw_service_stats(NULL, &json), JW_EINVAL);
        CHECK_STATUS(jw_service_reset(NULL), JW_EINVAL);
        CHECK_STATUS(jw_service_stop(NULL), JW_EINVAL);
        CHECK_EQ_INT(jw_service_stopped(NULL), 1);
        CHECK_STATUS(jw_service_wait(NULL, 0), JW_EINVAL);
        jw_service_free(NULL);
        CHECK(jw_endpoint_service(NULL) == NULL);
        CHECK(jw_endpoint_name(NULL) == NULL);
        CHECK(jw_endpoint_subject(NULL) == NULL);
        CHECK(jw_endpoint_queue_group(NULL) == NULL);
        CHECK(jw_endpoint_sub(NULL) == NULL);
        CHECK_STATUS(jw_endpoint_set_stats_data(NULL, NULL), JW_EINVAL);
        CHECK_STATUS(jw_endpoint_respond_error(NULL, NULL, "1", "d", NULL, 0),
                     JW_EINVAL);
        CHECK_EQ_INT(jw_endpoint_begin(NULL), 0);
        jw_endpoint_end(NULL, 1);
        CHECK_STATUS(jw_endpoint_fail(NULL, NULL, 1, "d"), JW_EINVAL);
        CHECK_STATUS(jw_service_discover(NULL, JW_SERVICE_PING, NULL, NULL, 0,
                                         0, &json),
                     JW_EINVAL);
        CHECK_STATUS(jw_service_discover(nc, JW_SERVICE_PING, NULL, NULL, 0,
                                         0, NULL),
                     JW_EINVAL);
        CHECK(svc == NULL && g == NULL && ep == NULL && json == NULL);
    }

    /* Status text. */
    CHECK_STR(jw_status_name(JW_ETIMEOUT), "TIMEOUT");
    CHECK_STR(jw_status_name(12345), "UNKNOWN");
    CHECK(jw_strerror(12345) != NULL);
    CHECK(jw_last_error() != NULL);
    CHECK(jw_version() != NULL && jw_version()[0] != '\0');

    /* After all that, the connection and its objects are unharmed. */
    CHECK_EQ_INT(jw_conn_is_connected(nc), 1);
    CHECK_OK(jw_conn_publish_msg(nc, m));
    CHECK_OK(jw_sub_next(sub, 5000, &got));
    CHECK_MEM_STR(jw_msg_data(got), jw_msg_data_len(got), "d");
    jw_msg_free(got);
    jw_msg_free(m);
    jw_sub_free(sub);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

static void count_closed(jw_conn *conn, const jw_event *ev, void *arg)
{
    (void)conn;
    if (jw_event_kind_get(ev) == JW_EVENT_CLOSED)
        atomic_fetch_add((atomic_int *)arg, 1);
}

TEST(after_close)
{
    START_SERVER(s, NULL);
    atomic_int closed;
    atomic_init(&closed, 0);
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_callback(opts, "closed_cb", count_closed, &closed));
    jw_conn *nc = NULL;
    CHECK_OK(jw_conn_connect(s->url, opts, &nc));
    jw_opts_free(opts);

    jw_sub *sub = NULL, *cbsub = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "closed.x", NULL, &sub));
    CHECK_OK(
        jw_conn_subscribe_cb(nc, "closed.cb", NULL, noop_msg_cb, NULL, &cbsub));
    /* A message with a reply subject, kept across the close. */
    CHECK_OK(jw_conn_publish_reply(nc, "closed.x", "closed.reply", "r", 1));
    jw_msg *held = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &held));

    CHECK_OK(jw_conn_close(nc));
    CHECK_OK(jw_conn_close(nc));
    CHECK_EQ_INT(jw_conn_status_get(nc), JW_CONN_CLOSED);
    CHECK_EQ_INT(jw_conn_is_connected(nc), 0);

    CHECK_STATUS(jw_conn_publish(nc, "closed.x", "x", 1),
                 JW_ECONNECTION_CLOSED);
    CHECK_STATUS(jw_conn_publish_reply(nc, "closed.x", "r", "x", 1),
                 JW_ECONNECTION_CLOSED);
    CHECK_STATUS(jw_conn_respond(nc, "closed.reply", "x", 1),
                 JW_ECONNECTION_CLOSED);
    jw_msg *out = NULL;
    CHECK_OK(jw_msg_new("closed.x", NULL, "x", 1, &out));
    CHECK_STATUS(jw_conn_publish_msg(nc, out), JW_ECONNECTION_CLOSED);
    jw_msg *reply = NULL;
    CHECK_STATUS(jw_conn_request(nc, "closed.x", "x", 1, 1000, &reply),
                 JW_ECONNECTION_CLOSED);
    CHECK_STATUS(jw_conn_request_msg(nc, out, 1000, &reply),
                 JW_ECONNECTION_CLOSED);
    jw_msg_free(out);
    jw_sub *s2 = NULL;
    CHECK_STATUS(jw_conn_subscribe(nc, "closed.y", NULL, &s2),
                 JW_ECONNECTION_CLOSED);
    CHECK_STATUS(
        jw_conn_subscribe_cb(nc, "closed.y", NULL, noop_msg_cb, NULL, &s2),
        JW_ECONNECTION_CLOSED);
    CHECK(s2 == NULL);
    CHECK_STATUS(jw_conn_flush(nc, 1000), JW_ECONNECTION_CLOSED);
    int64_t rtt = 0;
    CHECK_STATUS(jw_conn_rtt(nc, &rtt), JW_ECONNECTION_CLOSED);
    CHECK_STATUS(jw_conn_drain(nc, 1000), JW_ECONNECTION_CLOSED);

    /* Existing subscriptions report the close, without waiting. */
    jw_msg *m = NULL;
    int64_t start = jw_test_now_ms();
    CHECK_STATUS2(jw_sub_next(sub, 10000, &m), JW_ECONNECTION_CLOSED,
                  JW_EINVALID_SUBSCRIPTION);
    CHECK(jw_test_now_ms() - start < 5000);
    jw_msg *batch[4];
    CHECK_STATUS2(jw_sub_next_batch(sub, batch, 4, 1000), JW_ECONNECTION_CLOSED,
                  JW_EINVALID_SUBSCRIPTION);
    CHECK_EQ_INT(jw_sub_is_valid(sub), 0);
    CHECK_STATUS2(jw_sub_unsubscribe(sub), JW_ECONNECTION_CLOSED,
                  JW_EINVALID_SUBSCRIPTION);
    CHECK_STATUS2(jw_sub_auto_unsubscribe(sub, 5), JW_ECONNECTION_CLOSED,
                  JW_EINVALID_SUBSCRIPTION);
    CHECK_STATUS2(jw_sub_drain(sub), JW_ECONNECTION_CLOSED,
                  JW_EINVALID_SUBSCRIPTION);
    CHECK_STATUS2(jw_sub_unsubscribe(cbsub), JW_ECONNECTION_CLOSED,
                  JW_EINVALID_SUBSCRIPTION);
    CHECK_STATUS(jw_msg_respond(held, "late", 4), JW_ECONNECTION_CLOSED);
    /* Views on the held message are still fine. */
    CHECK_STR(jw_msg_subject(held), "closed.x");
    CHECK_STR(jw_msg_reply(held), "closed.reply");

    /* The closed handler ran exactly once. */
    JW_WAIT_FOR(atomic_load(&closed) >= 1, 5000);
    CHECK_EQ_INT(atomic_load(&closed), 1);

    jw_msg_free(held);
    jw_sub_free(sub);
    jw_sub_free(cbsub);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

TEST(after_free)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));
    jw_sub *sub = NULL, *cbsub = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "freed.x", NULL, &sub));
    CHECK_OK(
        jw_conn_subscribe_cb(nc, "freed.cb", NULL, noop_msg_cb, NULL, &cbsub));
    CHECK_OK(jw_conn_publish_reply(nc, "freed.x", "freed.reply", "a", 1));
    CHECK_OK(jw_conn_publish(nc, "freed.x", "b", 1));
    jw_msg *held = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &held));
    CHECK_OK(jw_conn_flush(nc, 5000));

    /* Free the connection while a subscription (with a queued message)
     * and a received message are still held. */
    jw_conn_free(nc);

    jw_msg *m = NULL;
    CHECK_STATUS2(jw_sub_next(sub, 1000, &m), JW_ECONNECTION_CLOSED,
                  JW_EINVALID_SUBSCRIPTION);
    CHECK_EQ_INT(jw_sub_is_valid(sub), 0);
    CHECK_STATUS2(jw_sub_unsubscribe(sub), JW_ECONNECTION_CLOSED,
                  JW_EINVALID_SUBSCRIPTION);
    CHECK_STATUS2(jw_sub_set_pending_limits(sub, 10, 10), JW_ECONNECTION_CLOSED,
                  JW_EINVALID_SUBSCRIPTION);
    (void)jw_sub_dropped(sub);
    (void)jw_sub_subject(sub);
    CHECK_STATUS2(jw_sub_drain(cbsub), JW_ECONNECTION_CLOSED,
                  JW_EINVALID_SUBSCRIPTION);
    CHECK_STATUS(jw_msg_respond(held, "late", 4), JW_ECONNECTION_CLOSED);
    CHECK_STR(jw_msg_subject(held), "freed.x");
    CHECK_MEM_STR(jw_msg_data(held), jw_msg_data_len(held), "a");
    jw_msg_free(held);
    jw_sub_free(sub);
    jw_sub_free(cbsub);

    /* And the other order: subscription freed first, then message, then
     * connection. */
    CHECK_OK(jw_test_connect(s, &nc));
    CHECK_OK(jw_conn_subscribe(nc, "freed.y", NULL, &sub));
    CHECK_OK(jw_conn_publish_reply(nc, "freed.y", "freed.reply", "c", 1));
    CHECK_OK(jw_sub_next(sub, 5000, &held));
    jw_sub_free(sub);
    CHECK_OK(jw_msg_respond(held, "still", 5));
    jw_conn_free(nc);
    jw_msg_free(held);
    jw_test_server_stop(s);
    return 0;
}
