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
 *           handler (its delivery thread) with jw_msg_respond; the
 *           requester makes
 *           N sequential jw_conn_request calls ("pull" variant: the
 *           responder is a thread pulling with jw_sub_next, as a binding
 *           that never runs its code on the loop thread must do; "driven":
 *           both connections on host-driven loops, the requester's run by
 *           its own jw_conn_request and the responder's by a thread of
 *           its own, the handler on it: no thread hands a message to
 *           another).
 *   js*     JetStream: publish (each acked, or async), fetch and continuous
 *           consumption with an ack per message, on a memory stream
 *           (jsconsume "push" variant: of a push consumer).
 *   kv*     Key-Value on a memory bucket: put (each acked) and get over
 *           1,000 keys; watch: the initial values of n keys up to the end
 *           marker.
 *
 * Every connection uses the default own-thread loop and default options.
 */
#include "common.h"

#include <jetwire.h>

#include <pthread.h>
#include <stdatomic.h>

#define LIB_NAME  "jetwire"
#define VARIANTS  "default next pull driven push"
#define BATCH_MAX 1024

static void die(const char *what, int status)
{
    fprintf(stderr, "bench_jetwire: %s: %s (%s) %s\n", what,
            jw_status_name(status), jw_strerror(status), jw_last_error());
    exit(2);
}

static jw_conn *connect_on(const bench_args *args, const char *name,
                           jw_loop *loop)
{
    jw_opts *opts = NULL;
    jw_conn *conn = NULL;
    int rc = jw_opts_new(&opts);
    if (rc != JW_OK)
        die("jw_opts_new", rc);
    rc = jw_opts_set_str(opts, "name", name);
    if (rc != JW_OK)
        die("jw_opts_set_str name", rc);
    if (loop && (rc = jw_opts_set_loop(opts, loop)) != JW_OK)
        die("jw_opts_set_loop", rc);
    rc = jw_conn_connect(args->url, opts, &conn);
    if (rc != JW_OK)
        die("jw_conn_connect", rc);
    jw_opts_free(opts);
    return conn;
}

static jw_conn *connect_or_die(const bench_args *args, const char *name)
{
    return connect_on(args, name, NULL);
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

/* The "driven" responder: runs its connection's loop, where the handler
 * answers, until told to stop. */
typedef struct driven_responder {
    jw_loop *loop;
    atomic_int stop;
} driven_responder;

static void *driven_main(void *arg)
{
    driven_responder *r = arg;
    while (!atomic_load(&r->stop))
        jw_loop_run(r->loop, 20);
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
    int driven = strcmp(args->variant, "driven") == 0;
    jw_loop *resp_loop = NULL, *req_loop = NULL;
    if (driven && (jw_loop_new_driven(&resp_loop) != JW_OK ||
                   jw_loop_new_driven(&req_loop) != JW_OK))
        die("jw_loop_new_driven", JW_ENO_MEMORY);
    jw_conn *resp_conn = connect_on(args, "bench-responder", resp_loop);
    jw_conn *req_conn = connect_on(args, "bench-requester", req_loop);
    jw_sub *sub = NULL;
    int pull = strcmp(args->variant, "pull") == 0;
    pthread_t responder;
    driven_responder dr = {resp_loop, 0};
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
    if (driven && pthread_create(&responder, NULL, driven_main, &dr) != 0) {
        fprintf(stderr, "bench_jetwire: pthread_create failed\n");
        return 2;
    }

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
    if (driven) {
        atomic_store(&dr.stop, 1);
        pthread_join(responder, NULL);
    }
    jw_sub_free(sub);
    jw_conn_free(req_conn);
    jw_conn_free(resp_conn);
    jw_loop_free(req_loop);
    jw_loop_free(resp_loop);
    free(samples);
    free(payload);
    return exit_code;
}

/* ------------------------------------------------------------------------
 * JetStream: a memory stream over the subject, made before measuring and
 * deleted after.
 */
static jw_js *js_setup(jw_conn *conn, const bench_args *args)
{
    jw_js *js = NULL;
    int rc = jw_js_new(conn, &js);
    if (rc == JW_OK)
        rc = jw_js_set_int(js, "timeout", args->timeout_ms);
    char cfg[256];
    snprintf(cfg, sizeof cfg,
             "{\"name\":\"%s\",\"subjects\":[\"%s\"],\"storage\":\"memory\"}",
             args->stream, args->subject);
    if (rc == JW_OK)
        rc = jw_js_stream_create(js, cfg, NULL);
    if (rc != JW_OK)
        die("jw_js_stream_create", rc);
    return js;
}

static void js_teardown(jw_js *js, const bench_args *args)
{
    jw_js_stream_delete(js, args->stream);
    jw_js_free(js);
}

static int run_jspub(const bench_args *args)
{
    jw_conn *conn = connect_or_die(args, "bench-jspub");
    jw_js *js = js_setup(conn, args);
    void *payload = bench_payload(args->size);
    bench_window w;
    bench_window_start(&w);
    for (long i = 0; i < args->n; i++) {
        int rc = jw_js_publish(js, args->subject, payload, args->size, NULL,
                               NULL);
        if (rc != JW_OK)
            die("jw_js_publish", rc);
    }
    bench_window_stop(&w);
    bench_report(LIB_NAME, args, &w, args->n, NULL);
    js_teardown(js, args);
    jw_conn_free(conn);
    free(payload);
    return 0;
}

/* Take every queued async outcome; returns how many failed. */
static long drain_outcomes(jw_js *js)
{
    long failed = 0;
    uint64_t id;
    jw_status st;
    while (jw_js_publish_async_poll(js, &id, &st, NULL) == 1)
        failed += st != JW_OK;
    return failed;
}

/* Publish n messages asynchronously and wait for every ack. */
static long publish_async_all(jw_js *js, const bench_args *args,
                              const void *payload, long n)
{
    jw_msg *msg = NULL;
    int rc = jw_msg_new(args->subject, NULL, payload, args->size, &msg);
    if (rc != JW_OK)
        die("jw_msg_new", rc);
    long failed = 0;
    for (long i = 0; i < n; i++) {
        rc = jw_js_publish_async(js, msg, NULL, NULL);
        if (rc != JW_OK)
            die("jw_js_publish_async", rc);
        if ((i & 1023) == 1023)
            failed += drain_outcomes(js);
    }
    rc = jw_js_publish_async_complete(js, args->timeout_ms);
    if (rc != JW_OK)
        die("jw_js_publish_async_complete", rc);
    failed += drain_outcomes(js);
    jw_msg_free(msg);
    return failed;
}

static int run_jsasync(const bench_args *args)
{
    jw_conn *conn = connect_or_die(args, "bench-jsasync");
    jw_js *js = js_setup(conn, args);
    void *payload = bench_payload(args->size);
    bench_window w;
    bench_window_start(&w);
    long failed = publish_async_all(js, args, payload, args->n);
    bench_window_stop(&w);
    if (failed)
        fprintf(stderr, "bench_jetwire: %ld async publishes failed\n", failed);
    else
        bench_report(LIB_NAME, args, &w, args->n, NULL);
    js_teardown(js, args);
    jw_conn_free(conn);
    free(payload);
    return failed ? 1 : 0;
}

/* jsfetch and jsconsume: n messages stored before the clock starts, then
 * taken by a durable explicit-ack consumer and acked one by one. */
static int run_jsconsume(const bench_args *args)
{
    int continuous = args->mode == BENCH_JSCONSUME;
    jw_conn *conn = connect_or_die(args, "bench-jsconsume");
    jw_js *js = js_setup(conn, args);
    void *payload = bench_payload(args->size);
    if (publish_async_all(js, args, payload, args->n))
        die("prefill", JW_EJETSTREAM);
    jw_consumer *cons = NULL;
    /* "push": a push consumer (to an inbox), as nats.c's js_Subscribe
     * makes, consumed by the same calls. */
    int push = continuous && strcmp(args->variant, "push") == 0;
    char config[256], inbox[64] = "";
    if (push && jw_conn_new_inbox(conn, inbox, sizeof inbox) != JW_OK)
        die("jw_conn_new_inbox", JW_EINVAL);
    snprintf(config, sizeof config,
             "{\"durable_name\":\"" BENCH_JS_DURABLE "\","
             "\"ack_policy\":\"explicit\",\"max_ack_pending\":-1%s%s%s}",
             push ? ",\"deliver_subject\":\"" : "", inbox, push ? "\"" : "");
    int rc = jw_js_consumer_create(js, args->stream, config, &cons);
    if (rc != JW_OK)
        die("jw_js_consumer_create", rc);
    jw_msg *msgs[BENCH_JS_BATCH];
    long received = 0;
    jw_consume *cc = NULL;
    bench_window w;
    bench_window_start(&w);
    if (continuous) {
        jw_call_opts *opts = NULL;
        rc = jw_call_opts_new("consume", &opts);
        if (rc == JW_OK && !push)
            rc = jw_call_opts_set_int(opts, "batch", BENCH_JS_CONSUME_BATCH);
        if (rc == JW_OK)
            rc = jw_consumer_consume(cons, opts, &cc);
        jw_call_opts_free(opts);
        if (rc != JW_OK)
            die("jw_consumer_consume", rc);
    }
    jw_call_opts *fetch_opts = NULL;
    if ((rc = jw_call_opts_new("fetch", &fetch_opts)) != JW_OK ||
        (rc = jw_call_opts_set_int(fetch_opts, "timeout",
                                   args->timeout_ms)) != JW_OK)
        die("jw_call_opts", rc);
    while (received < args->n) {
        long left = args->n - received;
        int want = left < BENCH_JS_BATCH ? (int)left : BENCH_JS_BATCH;
        int n = continuous
                    ? jw_consume_next(cc, msgs, want, args->timeout_ms)
                    : jw_consumer_fetch(cons, msgs, want, fetch_opts);
        if (n <= 0)
            die(continuous ? "jw_consume_next" : "jw_consumer_fetch",
                n ? n : JW_ETIMEOUT);
        for (int i = 0; i < n; i++) {
            rc = jw_msg_ack(msgs[i]);
            if (rc != JW_OK)
                die("jw_msg_ack", rc);
            jw_msg_free(msgs[i]);
        }
        received += n;
    }
    rc = jw_conn_flush(conn, args->timeout_ms); /* the acks are out */
    if (rc != JW_OK)
        die("jw_conn_flush", rc);
    bench_window_stop(&w);
    bench_report(LIB_NAME, args, &w, received, NULL);
    jw_consume_free(cc);
    jw_call_opts_free(fetch_opts);
    jw_consumer_free(cons);
    js_teardown(js, args);
    jw_conn_free(conn);
    free(payload);
    return 0;
}

/* ------------------------------------------------------------------------
 * Key-Value: a memory bucket named like the stream, deleted after.
 */
static jw_kv *kv_setup(jw_js *js, const bench_args *args)
{
    char cfg[128];
    snprintf(cfg, sizeof cfg,
             "{\"bucket\":\"%s\",\"storage\":\"memory\"}", args->stream);
    jw_kv *kv = NULL;
    int rc = jw_js_kv_create(js, cfg, &kv);
    if (rc != JW_OK)
        die("jw_js_kv_create", rc);
    return kv;
}

/* Put n values, cycling over `keys` keys. */
static void kv_put_all(jw_kv *kv, const bench_args *args, const void *payload,
                       long n, long keys)
{
    char key[32];
    for (long i = 0; i < n; i++) {
        bench_kv_key(key, sizeof key, i % keys);
        int rc = jw_kv_put(kv, key, payload, args->size, NULL);
        if (rc != JW_OK)
            die("jw_kv_put", rc);
    }
}

static int run_kv(const bench_args *args)
{
    jw_conn *conn = connect_or_die(args, "bench-kv");
    jw_js *js = NULL;
    int rc = jw_js_new(conn, &js);
    if (rc == JW_OK)
        rc = jw_js_set_int(js, "timeout", args->timeout_ms);
    if (rc != JW_OK)
        die("jw_js_new", rc);
    jw_kv *kv = kv_setup(js, args);
    void *payload = bench_payload(args->size);
    bench_window w;
    if (args->mode == BENCH_KVPUT) {
        bench_window_start(&w);
        kv_put_all(kv, args, payload, args->n, BENCH_KV_KEYS);
        bench_window_stop(&w);
    } else if (args->mode == BENCH_KVGET) {
        kv_put_all(kv, args, payload, BENCH_KV_KEYS, BENCH_KV_KEYS);
        char key[32];
        bench_window_start(&w);
        for (long i = 0; i < args->n; i++) {
            jw_kv_entry *e = NULL;
            bench_kv_key(key, sizeof key, i % BENCH_KV_KEYS);
            rc = jw_kv_get(kv, key, NULL, &e);
            if (rc != JW_OK)
                die("jw_kv_get", rc);
            jw_kv_entry_free(e);
        }
        bench_window_stop(&w);
    } else {
        kv_put_all(kv, args, payload, args->n, args->n);
        jw_kv_watcher *watcher = NULL;
        long seen = 0;
        bench_window_start(&w);
        rc = jw_kv_watch(kv, NULL, NULL, &watcher);
        if (rc != JW_OK)
            die("jw_kv_watch", rc);
        for (;;) {
            jw_kv_entry *e = NULL;
            rc = jw_kv_watch_next(watcher, args->timeout_ms, &e);
            if (rc != JW_OK)
                die("jw_kv_watch_next", rc);
            if (e == NULL)
                break; /* the end of the initial values */
            jw_kv_entry_free(e);
            seen++;
        }
        bench_window_stop(&w);
        jw_kv_watcher_free(watcher);
        if (seen != args->n) {
            fprintf(stderr, "bench_jetwire: watch saw %ld of %ld keys\n",
                    seen, args->n);
            return 1;
        }
    }
    bench_report(LIB_NAME, args, &w, args->n, NULL);
    jw_kv_free(kv);
    jw_js_kv_delete(js, args->stream);
    jw_js_free(js);
    jw_conn_free(conn);
    free(payload);
    return 0;
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
    case BENCH_JSPUB:
        return run_jspub(&args);
    case BENCH_JSASYNC:
        return run_jsasync(&args);
    case BENCH_JSFETCH:
    case BENCH_JSCONSUME:
        return run_jsconsume(&args);
    case BENCH_KVPUT:
    case BENCH_KVGET:
    case BENCH_KVWATCH:
        return run_kv(&args);
    }
    return 2;
}
