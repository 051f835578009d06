/* Keep-alive both ways: the client answers the server's PINGs, and a server
 * that stops answering ours is declared stale. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

TEST(server_pings_answered)
{
    /* A server that PINGs every 100 ms and drops a client after 5 missed
     * PONGs: still connected after 15 of its PINGs means we answered. (Not
     * 2: a client slowed down by valgrind on a loaded machine can take
     * 300 ms to finish its handshake.) */
    char conf[] = "/tmp/jw-ping-XXXXXX";
    int fd = mkstemp(conf);
    CHECK(fd >= 0);
    const char *text = "ping_interval: \"100ms\"\nping_max: 5\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    char args[64];
    snprintf(args, sizeof args, "-c %s", conf);
    START_SERVER(s, args);

    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_int(opts, "ping_interval", 60000)); /* ours idle */
    jw_conn *nc = NULL;
    CHECK_OK(jw_conn_connect(s->url, opts, &nc));
    jw_test_sleep_ms(1500);
    CHECK_EQ_INT(jw_conn_status_get(nc), JW_CONN_CONNECTED);
    CHECK_OK(jw_conn_flush(nc, 5000));
    jw_event *ev = NULL;
    CHECK_STATUS(jw_conn_next_event(nc, 0, &ev), JW_ETIMEOUT);

    jw_conn_free(nc);
    jw_opts_free(opts);
    jw_test_server_stop(s);
    unlink(conf);
    return 0;
}

TEST(stale_connection_detected)
{
    START_SERVER(s, NULL);
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_int(opts, "ping_interval", 100));
    CHECK_OK(jw_opts_set_int(opts, "max_outstanding_pings", 2));
    CHECK_OK(jw_opts_set_bool(opts, "allow_reconnect", 0));
    jw_conn *nc = NULL;
    CHECK_OK(jw_conn_connect(s->url, opts, &nc));

    /* A frozen server keeps the TCP connection open but answers nothing:
     * only the unanswered PINGs can tell. */
    CHECK(kill(s->pid, SIGSTOP) == 0);
    jw_event *ev = NULL;
    jw_status st = jw_conn_next_event(nc, 5000, &ev);
    kill(s->pid, SIGCONT);
    CHECK_OK(st);
    CHECK_EQ_INT(jw_event_kind_get(ev), JW_EVENT_DISCONNECTED);
    CHECK_EQ_INT(jw_event_status(ev), JW_EIO);
    CHECK(strstr(jw_event_text(ev), "stale") != NULL);
    jw_event_free(ev);
    CHECK_OK(jw_conn_next_event(nc, 5000, &ev));
    CHECK_EQ_INT(jw_event_kind_get(ev), JW_EVENT_CLOSED);
    jw_event_free(ev);
    CHECK_STATUS(jw_conn_publish(nc, "after.stale", "x", 1),
                 JW_ECONNECTION_CLOSED);

    jw_conn_free(nc);
    jw_opts_free(opts);
    jw_test_server_stop(s);
    return 0;
}

TEST(stale_then_recovered)
{
    START_SERVER(s, NULL);
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    const int interval = 200, max_out = 2;
    CHECK_OK(jw_opts_set_int(opts, "ping_interval", interval));
    CHECK_OK(jw_opts_set_int(opts, "max_outstanding_pings", max_out));
    CHECK_OK(jw_opts_set_int(opts, "reconnect_time_wait", 100));
    CHECK_OK(jw_opts_set_int(opts, "connect_timeout", 500));
    CHECK_OK(jw_opts_set_int(opts, "max_reconnect_attempts", -1));
    jw_conn *nc = NULL;
    CHECK_OK(jw_conn_connect(s->url, opts, &nc));
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "frozen.n", NULL, &sub));
    CHECK_OK(jw_conn_flush(nc, 5000));

    int64_t frozen_at = jw_test_now_ms();
    CHECK(kill(s->pid, SIGSTOP) == 0);
    jw_event *ev = NULL;
    jw_status st = jw_conn_next_event(nc, 5000, &ev);
    int64_t found_after = jw_test_now_ms() - frozen_at;
    if (st != JW_OK)
        kill(s->pid, SIGCONT);
    CHECK_OK(st);
    CHECK_EQ_INT(jw_event_kind_get(ev), JW_EVENT_DISCONNECTED);
    CHECK(strstr(jw_event_text(ev), "stale") != NULL);
    jw_event_free(ev);
    /* The promise: found within ping_interval x (max_outstanding + 1),
     * with 150 ms for a busy machine's timers. */
    if (found_after > interval * (max_out + 1) + 150)
        fprintf(stderr, "stale after %lld ms\n", (long long)found_after);
    CHECK(found_after <= interval * (max_out + 1) + 150);

    /* Attempts against the frozen server time out; after SIGCONT one
     * succeeds and the subscription works again. */
    CHECK_OK(jw_conn_publish(nc, "frozen.n", "buffered", 8));
    jw_test_sleep_ms(700);
    CHECK(kill(s->pid, SIGCONT) == 0);
    CHECK_OK(jw_conn_next_event(nc, 10000, &ev));
    CHECK_EQ_INT(jw_event_kind_get(ev), JW_EVENT_RECONNECTED);
    jw_event_free(ev);
    jw_msg *m = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &m));
    CHECK_MEM_STR((const char *)jw_msg_data(m), jw_msg_data_len(m),
                  "buffered");
    jw_msg_free(m);

    jw_sub_free(sub);
    jw_conn_free(nc);
    jw_opts_free(opts);
    jw_test_server_stop(s);
    return 0;
}
