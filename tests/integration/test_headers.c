/* Message headers: repeated names, case kept, order kept, through publish
 * and request. */
#include "server.h"

TEST(headers_roundtrip)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *pc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    CHECK_OK(jw_test_connect(s, &pc));
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "hdr.x", NULL, &sub));
    CHECK_OK(jw_conn_flush(sc, 5000));

    jw_msg *out = NULL;
    CHECK_OK(jw_msg_new("hdr.x", "hdr.reply", "body", 4, &out));
    CHECK_OK(jw_msg_header_add(out, "X-Trace", "a"));
    CHECK_OK(jw_msg_header_add(out, "X-Trace", "b"));
    CHECK_OK(jw_msg_header_add(out, "lower-case", "v"));
    CHECK_OK(jw_msg_header_add(out, "MiXeD-Case", "Value With Spaces"));
    CHECK_OK(jw_msg_header_add(out, "Replace-Me", "old1"));
    CHECK_OK(jw_msg_header_add(out, "Replace-Me", "old2"));
    CHECK_OK(jw_msg_header_set(out, "Replace-Me", "new"));
    CHECK_EQ_INT(jw_msg_header_count(out), 5);
    CHECK_OK(jw_conn_publish_msg(pc, out));
    /* The message was copied: reuse and free it at once. */
    jw_msg_free(out);

    jw_msg *m = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &m));
    CHECK_STR(jw_msg_subject(m), "hdr.x");
    CHECK_STR(jw_msg_reply(m), "hdr.reply");
    CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), "body");
    CHECK_EQ_INT(jw_msg_status_code(m), 0);

    const char *v = NULL;
    CHECK_OK(jw_msg_header_get(m, "X-Trace", 0, &v));
    CHECK_STR(v, "a");
    CHECK_OK(jw_msg_header_get(m, "X-Trace", 1, &v));
    CHECK_STR(v, "b");
    CHECK_STATUS(jw_msg_header_get(m, "X-Trace", 2, &v), JW_EINVAL);
    /* Names match exactly. */
    CHECK_STATUS(jw_msg_header_get(m, "x-trace", 0, &v), JW_EINVAL);
    CHECK_STATUS(jw_msg_header_get(m, "Lower-Case", 0, &v), JW_EINVAL);
    CHECK_OK(jw_msg_header_get(m, "lower-case", 0, &v));
    CHECK_STR(v, "v");
    CHECK_OK(jw_msg_header_get(m, "MiXeD-Case", 0, &v));
    CHECK_STR(v, "Value With Spaces");
    CHECK_OK(jw_msg_header_get(m, "Replace-Me", 0, &v));
    CHECK_STR(v, "new");
    CHECK_STATUS(jw_msg_header_get(m, "Replace-Me", 1, &v), JW_EINVAL);
    CHECK_STATUS(jw_msg_header_get(m, "Absent", 0, &v), JW_EINVAL);

    CHECK_EQ_INT(jw_msg_header_count(m), 5);
    static const char *want[][2] = {{"X-Trace", "a"},
                                    {"X-Trace", "b"},
                                    {"lower-case", "v"},
                                    {"MiXeD-Case", "Value With Spaces"},
                                    {"Replace-Me", "new"}};
    for (int i = 0; i < 5; i++) {
        const char *name = NULL, *value = NULL;
        CHECK_OK(jw_msg_header_at(m, i, &name, &value));
        CHECK_STR(name, want[i][0]);
        CHECK_STR(value, want[i][1]);
    }
    const char *name = NULL;
    CHECK_STATUS(jw_msg_header_at(m, 5, &name, &v), JW_EINVAL);
    CHECK_STATUS(jw_msg_header_at(m, -1, &name, &v), JW_EINVAL);

    size_t raw_len = 0;
    const char *raw = jw_msg_headers_raw(m, &raw_len);
    CHECK(raw != NULL);
    CHECK(raw_len > 12);
    CHECK(strncmp(raw, "NATS/1.0", 8) == 0);
    CHECK(memcmp(raw + raw_len - 4, "\r\n\r\n", 4) == 0);
    jw_msg_free(m);

    /* Headers with an empty payload. */
    CHECK_OK(jw_msg_new("hdr.x", NULL, NULL, 0, &out));
    CHECK_OK(jw_msg_header_add(out, "Only", "headers"));
    CHECK_OK(jw_conn_publish_msg(pc, out));
    jw_msg_free(out);
    m = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &m));
    CHECK_EQ_INT(jw_msg_data_len(m), 0);
    CHECK(jw_msg_reply(m) == NULL);
    CHECK_OK(jw_msg_header_get(m, "Only", 0, &v));
    CHECK_STR(v, "headers");
    jw_msg_free(m);

    /* A plain publish carries no headers. */
    CHECK_OK(jw_conn_publish(pc, "hdr.x", "plain", 5));
    m = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &m));
    CHECK_EQ_INT(jw_msg_header_count(m), 0);
    CHECK_STATUS(jw_msg_header_get(m, "X-Trace", 0, &v), JW_EINVAL);
    size_t none_len = 99;
    CHECK(jw_msg_headers_raw(m, &none_len) == NULL);
    jw_msg_free(m);

    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

/* Answers with the value of the request's "Req-Id" header, and sets it as
 * a header of the reply too. */
static void header_echo(jw_sub *sub, jw_msg *msg, void *arg)
{
    jw_conn *conn = arg;
    (void)sub;
    const char *id = NULL;
    if (jw_msg_header_get(msg, "Req-Id", 0, &id) != JW_OK)
        id = "missing";
    jw_msg *reply = NULL;
    if (jw_msg_reply(msg) != NULL &&
        jw_msg_new(jw_msg_reply(msg), NULL, id, strlen(id), &reply) == JW_OK) {
        jw_msg_header_add(reply, "Resp-Id", id);
        jw_conn_publish_msg(conn, reply);
        jw_msg_free(reply);
    }
    jw_msg_free(msg);
}

TEST(headers_request)
{
    START_SERVER(s, NULL);
    jw_conn *rc = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &rc));
    CHECK_OK(jw_test_connect(s, &nc));
    jw_sub *svc = NULL;
    CHECK_OK(jw_conn_subscribe_cb(rc, "hdr.svc", NULL, header_echo, rc, &svc));
    CHECK_OK(jw_conn_flush(rc, 5000));

    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "req-%d", i);
        jw_msg *req = NULL;
        CHECK_OK(jw_msg_new("hdr.svc", NULL, "q", 1, &req));
        CHECK_OK(jw_msg_header_add(req, "Req-Id", id));
        jw_msg *reply = NULL;
        CHECK_OK(jw_conn_request_msg(nc, req, 5000, &reply));
        jw_msg_free(req);
        CHECK_MEM_STR(jw_msg_data(reply), jw_msg_data_len(reply), id);
        const char *v = NULL;
        CHECK_OK(jw_msg_header_get(reply, "Resp-Id", 0, &v));
        CHECK_STR(v, id);
        jw_msg_free(reply);
    }
    jw_sub_free(svc);
    jw_conn_free(rc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}
