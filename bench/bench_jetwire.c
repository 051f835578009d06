/*
 * jetwire side of the benchmark. bench_natsc.c is its twin on nats.c; both
 * share bench/common.h, which owns the command line, the clocks and the
 * RESULT line. Here each mode uses jetwire's fastest ordinary API:
 *
 *   pub     jw_conn_publish N times, then jw_conn_flush.
 *   pubsub  a subscriber connection pulls with jw_sub_next_batch on the
 *           main thread while a second connection publishes from another
 *           thread ("next" variant: jw_sub_next, one message per call).
 *   reqrep  a responder connection answers in a jw_conn_subscribe_cb
 *           handler (loop thread) with jw_msg_respond; the requester makes
 *           N sequential jw_conn_request calls ("pull" variant: the
 *           responder is a thread pulling with jw_sub_next, as a binding
 *           that never runs its code on the loop thread must do).
 *
 * Every connection uses the default own-thread loop and default options.
 */
#include "common.h"

#include <jetwire.h>

#include <pthread.h>
#include <stdatomic.h>

#define LIB_NAME  "jetwire"
#define VARIANTS  "default next pull"
#define BATCH_MAX 1024

static void die(const char *what, int status)
{
    fprintf(stderr, "bench_jetwire: %s: %s (%s) %s\n", what,
            jw_status_name(status), jw_strerror(status), jw_last_error());
    exit(2);
}

static jw_conn *connect_or_die(const bench_args *args, const char *name)
{
    jw_opts *opts = NULL;
    jw_conn *conn = NULL;
    int rc = jw_opts_new(&opts);
    if (rc != JW_OK)
        die("jw_opts_new", rc);
    rc = jw_opts_set_str(opts, "name", name);
    if (rc != JW_OK)
        die("jw_opts_set_str name", rc);
    rc = jw_conn_connect(args->url, opts, &conn);
    if (rc != JW_OK)
        die("jw_conn_connect", rc);
    jw_opts_free(opts);
    return conn;
}

/* ------------------------------------------------------------------------
 * pub
 */
static int run_pub(const bench_args *args)
{
    jw_conn *conn = connect_or_die(args, "bench-pub");
    void *payload = bench_payload(args->size);
    bench_window w;

    bench_window_start(&w);
    for (long i = 0; i < args->n; i++) {
        int rc = jw_conn_publish(conn, args->subject, payload, args->size);
        if (rc != JW_OK)
            die("jw_conn_publish", rc);
    }
    int rc = jw_conn_flush(conn, 60000);
    if (rc != JW_OK)
        die("jw_conn_flush", rc);
    bench_window_stop(&w);

    bench_report(LIB_NAME, args, &w, args->n, NULL);
    jw_conn_free(conn);
    free(payload);
    return 0;
}

/* ------------------------------------------------------------------------
 * pubsub
 */
typedef struct publisher {
    const bench_args *args;
    jw_conn *conn;
    int status; /* first failure, JW_OK otherwise */
} publisher;

static void *publisher_main(void *arg)
{
    publisher *p = arg;
    void *payload = bench_payload(p->args->size);
    int rc = JW_OK;
    for (long i = 0; i < p->args->n && rc == JW_OK; i++)
        rc = jw_conn_publish(p->conn, p->args->subject, payload, p->args->size);
    if (rc == JW_OK)
        rc = jw_conn_flush(p->conn, 60000);
    p->status = rc;
    free(payload);
    return NULL;
}

static int run_pubsub(const bench_args *args)
{
    jw_conn *sub_conn = connect_or_die(args, "bench-sub");
    jw_conn *pub_conn = connect_or_die(args, "bench-pub");
    jw_sub *sub = NULL;
    int rc = jw_conn_subscribe(sub_conn, args->subject, NULL, &sub);
    if (rc != JW_OK)
        die("jw_conn_subscribe", rc);
    /* No limit: the run must not lose messages to a slow consumer. */
    rc = jw_sub_set_pending_limits(sub, 0, 0);
    if (rc != JW_OK)
        die("jw_sub_set_pending_limits", rc);
    /* The server has the SUB once the PONG is back. */
    rc = jw_conn_flush(sub_conn, 10000);
    if (rc != JW_OK)
        die("jw_conn_flush", rc);

    int single = strcmp(args->variant, "next") == 0;
    publisher pub = {args, pub_conn, JW_OK};
    jw_msg *msgs[BATCH_MAX];
    long received = 0, bad_size = 0;
    pthread_t thread;
    bench_window w;

    bench_window_start(&w);
    if (pthread_create(&thread, NULL, publisher_main, &pub) != 0) {
        fprintf(stderr, "bench_jetwire: pthread_create failed\n");
        return 2;
    }
    while (received < args->n) {
        int got;
        if (single) {
            rc = jw_sub_next(sub, args->timeout_ms, &msgs[0]);
            got = rc == JW_OK ? 1 : rc;
        } else {
            got = jw_sub_next_batch(sub, msgs, BATCH_MAX, args->timeout_ms);
        }
        if (got < 0) {
            if (got != JW_ETIMEOUT)
                die("jw_sub_next_batch", got);
            break; /* stalled: count the loss below */
        }
        for (int i = 0; i < got; i++) {
            bad_size += jw_msg_data_len(msgs[i]) != args->size;
            jw_msg_free(msgs[i]);
        }
        received += got;
    }
    bench_window_stop(&w);
    pthread_join(thread, NULL);

    int exit_code = 0;
    if (pub.status != JW_OK) {
        fprintf(stderr, "bench_jetwire: publisher failed: %s %s\n",
                jw_status_name(pub.status), jw_last_error());
        exit_code = 1;
    }
    if (received != args->n || bad_size != 0) {
        fprintf(stderr,
                "bench_jetwire: LOSS received %ld of %ld (%ld wrong size, "
                "%llu dropped by the client)\n",
                received, args->n, bad_size,
                (unsigned long long)jw_sub_dropped(sub));
        exit_code = 1;
    }
    if (exit_code == 0)
        bench_report(LIB_NAME, args, &w, received, NULL);
    jw_sub_free(sub);
    jw_conn_free(pub_conn);
    jw_conn_free(sub_conn);
    return exit_code;
}

/* ------------------------------------------------------------------------
 * reqrep
 */
static atomic_long respond_failures;

/* Echo the request back, on the responder's loop thread. */
static void on_request(jw_sub *sub, jw_msg *msg, void *arg)
{
    (void)sub;
    (void)arg;
    if (jw_msg_respond(msg, jw_msg_data(msg), jw_msg_data_len(msg)) != JW_OK)
        atomic_fetch_add(&respond_failures, 1);
    jw_msg_free(msg);
}

/* The "pull" responder: a thread of its own takes each request with
 * jw_sub_next and echoes it, until the subscription is closed. */
static void *responder_main(void *arg)
{
    jw_sub *sub = arg;
    for (;;) {
        jw_msg *msg = NULL;
        int rc = jw_sub_next(sub, -1, &msg);
        if (rc != JW_OK)
            break; /* closed: the run is over */
        if (jw_msg_respond(msg, jw_msg_data(msg), jw_msg_data_len(msg)) !=
            JW_OK)
            atomic_fetch_add(&respond_failures, 1);
        jw_msg_free(msg);
    }
    return NULL;
}

static int request_once(jw_conn *conn, const bench_args *args,
                        const void *payload)
{
    jw_msg *reply = NULL;
    int rc = jw_conn_request(conn, args->subject, payload, args->size,
                             args->timeout_ms, &reply);
    if (rc != JW_OK) {
        fprintf(stderr, "bench_jetwire: jw_conn_request: %s %s\n",
                jw_status_name(rc), jw_last_error());
        return -1;
    }
    int ok = jw_msg_data_len(reply) == args->size;
    jw_msg_free(reply);
    if (!ok)
        fprintf(stderr, "bench_jetwire: reply of the wrong size\n");
    return ok ? 0 : -1;
}

static int run_reqrep(const bench_args *args)
{
    jw_conn *resp_conn = connect_or_die(args, "bench-responder");
    jw_conn *req_conn = connect_or_die(args, "bench-requester");
    jw_sub *sub = NULL;
    int pull = strcmp(args->variant, "pull") == 0;
    pthread_t responder;
    int rc = pull ? jw_conn_subscribe(resp_conn, args->subject, NULL, &sub)
                  : jw_conn_subscribe_cb(resp_conn, args->subject, NULL,
                                         on_request, NULL, &sub);
    if (rc != JW_OK)
        die("jw_conn_subscribe", rc);
    if (pull && pthread_create(&responder, NULL, responder_main, sub) != 0) {
        fprintf(stderr, "bench_jetwire: pthread_create failed\n");
        return 2;
    }
    rc = jw_conn_flush(resp_conn, 10000);
    if (rc != JW_OK)
        die("jw_conn_flush", rc);

    void *payload = bench_payload(args->size);
    uint64_t *samples = malloc((size_t)args->n * sizeof *samples);
    if (samples == NULL) {
        fprintf(stderr, "bench_jetwire: out of memory\n");
        return 2;
    }
    int exit_code = 0;
    for (long i = 0; i < args->warmup && exit_code == 0; i++)
        if (request_once(req_conn, args, payload) != 0)
            exit_code = 1;

    bench_window w;
    bench_window_start(&w);
    for (long i = 0; i < args->n && exit_code == 0; i++) {
        uint64_t t0 = bench_now_ns();
        if (request_once(req_conn, args, payload) != 0)
            exit_code = 1;
        samples[i] = bench_now_ns() - t0;
    }
    bench_window_stop(&w);

    if (atomic_load(&respond_failures) != 0) {
        fprintf(stderr, "bench_jetwire: %ld responses failed\n",
                atomic_load(&respond_failures));
        exit_code = 1;
    }
    if (exit_code == 0) {
        bench_latency lat = bench_latency_of(samples, args->n);
        bench_report(LIB_NAME, args, &w, args->n, &lat);
    }
    if (pull) {
        /* Wakes the responder's jw_sub_next, which then fails: it ends. */
        jw_sub_unsubscribe(sub);
        pthread_join(responder, NULL);
    }
    jw_sub_free(sub);
    jw_conn_free(req_conn);
    jw_conn_free(resp_conn);
    free(samples);
    free(payload);
    return exit_code;
}

int main(int argc, char **argv)
{
    bench_args args;
    if (bench_parse_args(argc, argv, VARIANTS, &args) != 0)
        return 2;
    switch (args.mode) {
    case BENCH_PUB:
        return run_pub(&args);
    case BENCH_PUBSUB:
        return run_pubsub(&args);
    case BENCH_REQREP:
        return run_reqrep(&args);
    }
    return 2;
}
