/*
 * production_connection: the tutorial's "Production-Ready Connection" and
 * "Graceful Shutdown".
 *
 * Connects with the options a service sets in production: a name for
 * monitoring, unlimited reconnection with a wait between rounds and a
 * 5 MiB buffer for the outage, timeouts and keepalive pings, a drain
 * timeout, and handlers for the connection's events. Subscribes to
 * "heartbeat" and publishes one every second (the tutorial: every 5 s).
 * When the server goes away the handlers report it, heartbeats published
 * meanwhile are buffered, and the subscription resumes once a server is
 * back. Runs until it has received COUNT heartbeats (when given) or until
 * SIGINT/SIGTERM, then drains.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_production_connection [COUNT]
 *
 * NATS_URL may list several servers ("nats://a:4222,nats://b:4222"); the
 * others of a cluster are learned from the server anyway. Handlers run on
 * the engine's loop thread: they print and return, nothing more.
 */
#include "example.h"

static void on_disconnected(jw_conn *nc, const jw_event *ev, void *arg)
{
    (void)nc;
    (void)arg;
    if (jw_event_status(ev) != JW_OK)
        printf("Disconnected due to error: %s (%s)\n", jw_event_text(ev),
               jw_status_name(jw_event_status(ev)));
    else
        printf("Disconnected from NATS\n");
}

static void on_reconnected(jw_conn *nc, const jw_event *ev, void *arg)
{
    (void)ev;
    (void)arg;
    char url[256];
    jw_conn_connected_url(nc, url, sizeof url);
    printf("Reconnected to %s\n", url);
}

static void on_closed(jw_conn *nc, const jw_event *ev, void *arg)
{
    (void)nc;
    (void)ev;
    (void)arg;
    printf("Connection closed\n");
}

static void on_error(jw_conn *nc, const jw_event *ev, void *arg)
{
    (void)nc;
    (void)arg;
    jw_sub *sub = jw_event_sub(ev);
    if (sub)
        printf("Error on subscription %s: %s\n", jw_sub_subject(sub),
               jw_event_text(ev));
    else
        printf("Error: %s\n", jw_event_text(ev));
}

static void on_lame_duck(jw_conn *nc, const jw_event *ev, void *arg)
{
    (void)nc;
    (void)ev;
    (void)arg;
    printf("Server entering lame duck mode: moving on\n");
}

static atomic_long heard;

static void on_heartbeat(jw_sub *sub, jw_msg *msg, void *arg)
{
    (void)sub;
    (void)arg;
    printf("Received heartbeat: %.*s\n", (int)jw_msg_data_len(msg),
           (const char *)jw_msg_data(msg));
    jw_msg_free(msg);
    atomic_fetch_add(&heard, 1);
}

/* The options of the tutorial, by name. */
static jw_status production_options(jw_opts *o)
{
    jw_status st = JW_OK;
    if (!st)
        st = jw_opts_set_str(o, "name", "order-service");
    /* Reconnection: forever, 2 s between rounds over the servers, 5 MiB of
     * publishes kept while disconnected. */
    if (!st)
        st = jw_opts_set_int(o, "max_reconnect_attempts", -1);
    if (!st)
        st = jw_opts_set_int(o, "reconnect_time_wait", 2000);
    if (!st)
        st = jw_opts_set_int(o, "reconnect_buf_size", 5 * 1024 * 1024);
    /* Timeouts: connect, keepalive pings, unanswered pings. */
    if (!st)
        st = jw_opts_set_int(o, "connect_timeout", 5000);
    if (!st)
        st = jw_opts_set_int(o, "ping_interval", 20000);
    if (!st)
        st = jw_opts_set_int(o, "max_outstanding_pings", 3);
    if (!st)
        st = jw_opts_set_int(o, "drain_timeout", 30000);
    if (!st)
        st = jw_opts_set_callback(o, "disconnected_cb", on_disconnected, NULL);
    if (!st)
        st = jw_opts_set_callback(o, "reconnected_cb", on_reconnected, NULL);
    if (!st)
        st = jw_opts_set_callback(o, "closed_cb", on_closed, NULL);
    if (!st)
        st = jw_opts_set_callback(o, "error_cb", on_error, NULL);
    if (!st)
        st = jw_opts_set_callback(o, "lame_duck_cb", on_lame_duck, NULL);
    return st;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    example_name = "production_connection";
    long limit = 0;
    if (!count_arg(argc, argv, 1, "[COUNT]", &limit))
        return 2;
    start_until_stopped();

    int rc = 1;
    jw_opts *opts = NULL;
    jw_conn *nc = NULL;
    jw_sub *sub = NULL;
    jw_status st = jw_opts_new(&opts);
    if (st == JW_OK)
        st = production_options(opts);
    if (st != JW_OK) {
        report("options", st);
        goto out;
    }
    st = jw_conn_connect(server_url(), opts, &nc);
    if (st != JW_OK) {
        report("connect", st);
        goto out;
    }
    char url[256];
    jw_conn_connected_url(nc, url, sizeof url);
    printf("Connected to NATS, server: %s\n", url);
    if (jw_conn_is_connected(nc))
        printf("Connection is active\n");

    /* Subscribe to show that the connection stays active, across
     * reconnects too: the engine subscribes again on the new server. */
    st = jw_conn_subscribe_cb(nc, "heartbeat", NULL, on_heartbeat, NULL, &sub);
    if (st == JW_OK)
        st = jw_conn_flush(nc, 2000);
    if (st != JW_OK) {
        report("subscribe", st);
        goto out;
    }
    printf("Service running. Press Ctrl+C for graceful shutdown.\n");

    long ticks = 0;
    while (!stop_requested && (limit == 0 || atomic_load(&heard) < limit)) {
        if (ticks++ % 20 == 0) { /* every second */
            char now[64];
            time_t t = time(NULL);
            strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S%z", localtime(&t));
            /* While reconnecting this is buffered; past the buffer it
             * fails, and the next heartbeat tries again. */
            st = jw_conn_publish(nc, "heartbeat", now, strlen(now));
            if (st != JW_OK)
                report("publish", st);
        }
        sleep_ms(50);
        if (jw_conn_status_get(nc) == JW_CONN_CLOSED) {
            printf("Connection lost for good: exiting\n");
            goto out;
        }
    }

    /* Graceful shutdown with drain: stop the subscription, let what is on
     * its way reach the handler, write what is unsent, then close. */
    printf("Initiating graceful shutdown...\n");
    st = jw_conn_drain(nc, -1); /* bounded by drain_timeout */
    if (st != JW_OK) {
        report("drain", st);
        goto out;
    }
    printf("Shutdown complete\n");
    rc = 0;
out:
    jw_sub_free(sub);
    jw_conn_free(nc);
    jw_opts_free(opts);
    return rc;
}
