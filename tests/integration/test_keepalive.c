/* Keep-alive both ways: the client answers the server's PINGs, and a server
 * that stops answering ours is declared stale. */
#include <signal.h>
#include <stdlib.h>
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
