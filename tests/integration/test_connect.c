/* Connecting, server info, status, stats, flush and rtt. */
#include "server.h"

TEST(connect_info)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));
    CHECK(nc != NULL);

    CHECK_EQ_INT(jw_conn_status_get(nc), JW_CONN_CONNECTED);
    CHECK_EQ_INT(jw_conn_is_connected(nc), 1);

    char buf[8192];
    /* The version of the server JW_NATS_SERVER names (2.9.10 or 2.15.3 in
     * the test matrix), as its --version reports it. */
    CHECK_OK(jw_conn_server_version(nc, buf, sizeof buf));
    CHECK(jw_test_server_version()[0] != '\0');
    CHECK_STR(buf, jw_test_server_version());
    CHECK_EQ_INT(jw_conn_max_payload(nc), 1024 * 1024);
    CHECK_EQ_INT(jw_conn_jetstream_enabled(nc), 1);

    char hostport[64];
    snprintf(hostport, sizeof hostport, "127.0.0.1:%d", s->port);
    CHECK_OK(jw_conn_connected_url(nc, buf, sizeof buf));
    if (strstr(buf, hostport) == NULL) {
        fprintf(stderr, "connected url '%s' lacks '%s'\n", buf, hostport);
        return 1;
    }
    /* Truncation: at most size-1 bytes and NUL-terminated. */
    char small[8];
    memset(small, 'x', sizeof small);
    jw_status st = jw_conn_connected_url(nc, small, sizeof small);
    (void)st;
    CHECK(memchr(small, '\0', sizeof small) != NULL);
    CHECK_EQ_INT(strlen(small), sizeof small - 1);

    CHECK_OK(jw_conn_server_info(nc, buf, sizeof buf));
    CHECK(buf[0] == '{');
    char version_field[96];
    snprintf(version_field, sizeof version_field, "\"version\":\"%s\"",
             jw_test_server_version());
    CHECK(strstr(buf, version_field) != NULL);
    CHECK(strstr(buf, "max_payload") != NULL);
    CHECK(strstr(buf, "server_id") != NULL);

    char inbox1[128], inbox2[128];
    CHECK_OK(jw_conn_new_inbox(nc, inbox1, sizeof inbox1));
    CHECK_OK(jw_conn_new_inbox(nc, inbox2, sizeof inbox2));
    CHECK(strncmp(inbox1, "_INBOX.", 7) == 0);
    CHECK(strlen(inbox1) > 7);
    CHECK(strcmp(inbox1, inbox2) != 0);
    CHECK_EQ_INT(jw_subject_is_valid(inbox1), 1);

    CHECK_OK(jw_conn_close(nc));
    CHECK_EQ_INT(jw_conn_status_get(nc), JW_CONN_CLOSED);
    CHECK_EQ_INT(jw_conn_is_connected(nc), 0);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

TEST(connect_options)
{
    START_SERVER(s, NULL);
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_str(opts, "name", "integration-client"));
    CHECK_OK(jw_opts_set_int(opts, "connect_timeout", 5000));
    CHECK_OK(jw_opts_set_bool(opts, "no_echo", 0));
    CHECK_STATUS(jw_opts_set_str(opts, "no_such_option", "x"), JW_EINVAL);
    CHECK_STATUS(jw_opts_set_int(opts, "name", 3), JW_EINVAL);

    jw_conn *nc = NULL;
    CHECK_OK(jw_conn_connect(s->url, opts, &nc));
    /* opts are copied: freeing them must not disturb the connection. */
    jw_opts_free(opts);
    CHECK_OK(jw_conn_flush(nc, 5000));
    jw_conn_free(nc);

    /* no_echo: a connection does not receive its own publishes. */
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_bool(opts, "no_echo", 1));
    jw_conn *quiet = NULL, *other = NULL;
    CHECK_OK(jw_conn_connect(s->url, opts, &quiet));
    jw_opts_free(opts);
    CHECK_OK(jw_test_connect(s, &other));
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(quiet, "echo.test", NULL, &sub));
    CHECK_OK(jw_conn_flush(quiet, 5000));
    CHECK_OK(jw_conn_publish(quiet, "echo.test", "mine", 4));
    CHECK_OK(jw_conn_flush(quiet, 5000));
    CHECK_OK(jw_conn_publish(other, "echo.test", "theirs", 6));
    jw_msg *m = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &m));
    CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), "theirs");
    jw_msg_free(m);
    jw_sub_free(sub);
    jw_conn_free(quiet);
    jw_conn_free(other);
    jw_test_server_stop(s);
    return 0;
}

TEST(connect_refused)
{
    /* A port where nothing listens: start and stop a server to get one. */
    START_SERVER(s, NULL);
    char url[64];
    snprintf(url, sizeof url, "%s", s->url);
    jw_test_server_stop(s);

    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_int(opts, "connect_timeout", 2000));
    jw_conn *nc = NULL;
    CHECK_STATUS(jw_conn_connect(url, opts, &nc), JW_ECONNECT);
    jw_conn_free(nc); /* NULL or a dead handle: both must be accepted */
    jw_opts_free(opts);
    return 0;
}

TEST(connect_server_list)
{
    /* The first server of the list is down; the second one is used. */
    START_SERVER(dead, NULL);
    char dead_url[64];
    snprintf(dead_url, sizeof dead_url, "%s", dead->url);
    jw_test_server_stop(dead);
    START_SERVER(s, NULL);

    char servers[160];
    snprintf(servers, sizeof servers, "%s,%s", dead_url, s->url);
    jw_conn *nc = NULL;
    CHECK_OK(jw_conn_connect(servers, NULL, &nc));
    char buf[128], hostport[64];
    snprintf(hostport, sizeof hostport, "127.0.0.1:%d", s->port);
    CHECK_OK(jw_conn_connected_url(nc, buf, sizeof buf));
    CHECK(strstr(buf, hostport) != NULL);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

TEST(flush_rtt)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));
    CHECK_OK(jw_conn_flush(nc, 5000));
    for (int i = 0; i < 100; i++)
        CHECK_OK(jw_conn_publish(nc, "flush.x", "abc", 3));
    CHECK_OK(jw_conn_flush(nc, 5000));
    int64_t rtt = -1;
    CHECK_OK(jw_conn_rtt(nc, &rtt));
    CHECK(rtt > 0);
    CHECK(rtt < 5 * 1000 * 1000);

    CHECK_OK(jw_conn_close(nc));
    CHECK_STATUS(jw_conn_flush(nc, 1000), JW_ECONNECTION_CLOSED);
    CHECK_STATUS(jw_conn_rtt(nc, &rtt), JW_ECONNECTION_CLOSED);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

TEST(stats_counters)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));
    CHECK_EQ_INT(jw_conn_stat(nc, JW_STAT_IN_MSGS), 0);
    CHECK_EQ_INT(jw_conn_stat(nc, JW_STAT_OUT_MSGS), 0);
    CHECK_EQ_INT(jw_conn_stat(nc, JW_STAT_RECONNECTS), 0);

    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "stats.x", NULL, &sub));
    for (int i = 0; i < 5; i++)
        CHECK_OK(jw_conn_publish(nc, "stats.x", "0123456789", 10));
    for (int i = 0; i < 5; i++) {
        jw_msg *m = NULL;
        CHECK_OK(jw_sub_next(sub, 5000, &m));
        jw_msg_free(m);
    }
    CHECK_EQ_INT(jw_conn_stat(nc, JW_STAT_OUT_MSGS), 5);
    CHECK_EQ_INT(jw_conn_stat(nc, JW_STAT_IN_MSGS), 5);
    CHECK(jw_conn_stat(nc, JW_STAT_OUT_BYTES) >= 50);
    CHECK(jw_conn_stat(nc, JW_STAT_IN_BYTES) >= 50);
    CHECK_EQ_INT(jw_conn_stat(nc, (jw_stat)99), 0);
    CHECK_EQ_INT(jw_sub_delivered(sub), 5);
    jw_sub_free(sub);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}
