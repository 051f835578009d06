/*
 * nats.c side of the benchmark, the twin of bench_jetwire.c; both share
 * bench/common.h, which owns the command line, the clocks and the RESULT
 * line. Each mode uses nats.c's fastest ordinary API with default options:
 *
 *   pub     natsConnection_Publish N times, then natsConnection_Flush.
 *   pubsub  a subscriber connection with an asynchronous subscription
 *           (natsConnection_Subscribe: a callback on the subscription's
 *           delivery thread) while a second connection publishes from
 *           another thread. The "sync" variant pulls with
 *           natsConnection_SubscribeSync + natsSubscription_NextMsg on the
 *           main thread instead.
 *   reqrep  a responder connection answers in an asynchronous subscription
 *           with natsConnection_Publish to the reply subject; the requester
 *           makes N sequential natsConnection_Request calls.
 *
 * The "sendasap" variant sets natsOptions_SetSendAsap(true) on every
 * connection: nats.c then writes each publish at once instead of leaving it
 * to its flusher thread, which waits about a millisecond to batch. Defaults
 * are the primary comparison; sendasap shows the tuned ceiling.
 */
#include "common.h"

#include <nats/nats.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#define LIB_NAME "natsc"
#define VARIANTS "default sendasap sync"

static void die(const char *what, natsStatus s)
{
    fprintf(stderr, "bench_natsc: %s: %s (%s)\n", what, natsStatus_GetText(s),
            nats_GetLastError(NULL));
    exit(2);
}

static natsConnection *connect_or_die(const bench_args *args, const char *name)
{
    natsOptions *opts = NULL;
    natsConnection *conn = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, args->url);
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, name);
    if (s == NATS_OK && strcmp(args->variant, "sendasap") == 0)
        s = natsOptions_SetSendAsap(opts, true);
    if (s != NATS_OK)
        die("natsOptions", s);
    s = natsConnection_Connect(&conn, opts);
    if (s != NATS_OK)
        die("natsConnection_Connect", s);
    natsOptions_Destroy(opts);
    return conn;
}

/* ------------------------------------------------------------------------
 * pub
 */
static int run_pub(const bench_args *args)
{
    natsConnection *conn = connect_or_die(args, "bench-pub");
    void *payload = bench_payload(args->size);
    bench_window w;

    bench_window_start(&w);
    for (long i = 0; i < args->n; i++) {
        natsStatus s = natsConnection_Publish(conn, args->subject, payload,
                                              (int)args->size);
        if (s != NATS_OK)
            die("natsConnection_Publish", s);
    }
    natsStatus s = natsConnection_FlushTimeout(conn, 60000);
    if (s != NATS_OK)
        die("natsConnection_FlushTimeout", s);
    bench_window_stop(&w);

    bench_report(LIB_NAME, args, &w, args->n, NULL);
    natsConnection_Destroy(conn);
    free(payload);
    return 0;
}

/* ------------------------------------------------------------------------
 * pubsub
 */
typedef struct publisher {
    const bench_args *args;
    natsConnection *conn;
    natsStatus status; /* first failure, NATS_OK otherwise */
} publisher;

static void *publisher_main(void *arg)
{
    publisher *p = arg;
    void *payload = bench_payload(p->args->size);
    natsStatus s = NATS_OK;
    for (long i = 0; i < p->args->n && s == NATS_OK; i++)
        s = natsConnection_Publish(p->conn, p->args->subject, payload,
                                   (int)p->args->size);
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(p->conn, 60000);
    p->status = s;
    free(payload);
    return NULL;
}

/* State shared with the asynchronous subscription's delivery thread. */
typedef struct receiver {
    const bench_args *args;
    bench_window *window;
    atomic_long received;
    atomic_long bad_size;
    pthread_mutex_t mu;
    pthread_cond_t done_cond;
    int done;
} receiver;

static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
                       void *closure)
{
    (void)nc;
    (void)sub;
    receiver *r = closure;
    if ((size_t)natsMsg_GetDataLength(msg) != r->args->size)
        atomic_fetch_add(&r->bad_size, 1);
    natsMsg_Destroy(msg);
    if (atomic_fetch_add(&r->received, 1) + 1 == r->args->n) {
        /* Stop the clock here, at the last receive, as bench_jetwire does
         * on its receiving thread; waking main would add a hand-off. */
        bench_window_stop(r->window);
        pthread_mutex_lock(&r->mu);
        r->done = 1;
        pthread_cond_signal(&r->done_cond);
        pthread_mutex_unlock(&r->mu);
    }
}

/* Wait for the callback to see every message; give up after timeout_ms
 * without progress. Returns 1 when all arrived. */
static int wait_for_all(receiver *r)
{
    long last = -1;
    pthread_mutex_lock(&r->mu);
    while (!r->done) {
        long received = atomic_load(&r->received);
        if (received == last)
            break; /* no progress for timeout_ms: stalled */
        last = received;
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += r->args->timeout_ms / 1000;
        deadline.tv_nsec += (r->args->timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!r->done && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&r->done_cond, &r->mu, &deadline);
    }
    int done = r->done;
    pthread_mutex_unlock(&r->mu);
    return done;
}

static int run_pubsub(const bench_args *args)
{
    natsConnection *sub_conn = connect_or_die(args, "bench-sub");
    natsConnection *pub_conn = connect_or_die(args, "bench-pub");
    int sync_api = strcmp(args->variant, "sync") == 0;
    natsSubscription *sub = NULL;
    bench_window w;
    receiver r = {.args = args, .window = &w};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.done_cond, NULL);

    natsStatus s;
    if (sync_api)
        s = natsConnection_SubscribeSync(&sub, sub_conn, args->subject);
    else
        s = natsConnection_Subscribe(&sub, sub_conn, args->subject, on_message,
                                     &r);
    if (s != NATS_OK)
        die("natsConnection_Subscribe", s);
    /* No limit: the run must not lose messages to a slow consumer. */
    s = natsSubscription_SetPendingLimits(sub, -1, -1);
    if (s != NATS_OK)
        die("natsSubscription_SetPendingLimits", s);
    /* The server has the SUB once the PONG is back. */
    s = natsConnection_FlushTimeout(sub_conn, 10000);
    if (s != NATS_OK)
        die("natsConnection_FlushTimeout", s);

    publisher pub = {args, pub_conn, NATS_OK};
    pthread_t thread;
    long received = 0;

    bench_window_start(&w);
    if (pthread_create(&thread, NULL, publisher_main, &pub) != 0) {
        fprintf(stderr, "bench_natsc: pthread_create failed\n");
        return 2;
    }
    if (sync_api) {
        long bad_size = 0;
        while (received < args->n) {
            natsMsg *msg = NULL;
            s = natsSubscription_NextMsg(&msg, sub, args->timeout_ms);
            if (s == NATS_SLOW_CONSUMER)
                continue; /* reported once; the drop count tells the loss */
            if (s != NATS_OK) {
                if (s != NATS_TIMEOUT)
                    die("natsSubscription_NextMsg", s);
                break; /* stalled: count the loss below */
            }
            bad_size += (size_t)natsMsg_GetDataLength(msg) != args->size;
            natsMsg_Destroy(msg);
            received++;
        }
        bench_window_stop(&w);
        atomic_store(&r.bad_size, bad_size);
    } else {
        wait_for_all(&r);
        received = atomic_load(&r.received);
    }
    pthread_join(thread, NULL);

    int exit_code = 0;
    if (pub.status != NATS_OK) {
        fprintf(stderr, "bench_natsc: publisher failed: %s\n",
                natsStatus_GetText(pub.status));
        exit_code = 1;
    }
    if (received != args->n || atomic_load(&r.bad_size) != 0) {
        int64_t dropped = 0;
        natsSubscription_GetDropped(sub, &dropped);
        fprintf(stderr,
                "bench_natsc: LOSS received %ld of %ld (%ld wrong size, "
                "%lld dropped by the client)\n",
                received, args->n, atomic_load(&r.bad_size),
                (long long)dropped);
        exit_code = 1;
    }
    if (exit_code == 0)
        bench_report(LIB_NAME, args, &w, received, NULL);
    /* Unsubscribe before destroying: no callback may run on a dead r. */
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(pub_conn);
    natsConnection_Destroy(sub_conn);
    return exit_code;
}

/* ------------------------------------------------------------------------
 * reqrep
 */
static atomic_long respond_failures;

/* Echo the request back, on the subscription's delivery thread. */
static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
                       void *closure)
{
    (void)sub;
    (void)closure;
    const char *reply = natsMsg_GetReply(msg);
    if (reply == NULL ||
        natsConnection_Publish(nc, reply, natsMsg_GetData(msg),
                               natsMsg_GetDataLength(msg)) != NATS_OK)
        atomic_fetch_add(&respond_failures, 1);
    natsMsg_Destroy(msg);
}

static int request_once(natsConnection *conn, const bench_args *args,
                        const void *payload)
{
    natsMsg *reply = NULL;
    natsStatus s = natsConnection_Request(&reply, conn, args->subject, payload,
                                          (int)args->size, args->timeout_ms);
    if (s != NATS_OK) {
        fprintf(stderr, "bench_natsc: natsConnection_Request: %s\n",
                natsStatus_GetText(s));
        return -1;
    }
    int ok = (size_t)natsMsg_GetDataLength(reply) == args->size;
    natsMsg_Destroy(reply);
    if (!ok)
        fprintf(stderr, "bench_natsc: reply of the wrong size\n");
    return ok ? 0 : -1;
}

static int run_reqrep(const bench_args *args)
{
    natsConnection *resp_conn = connect_or_die(args, "bench-responder");
    natsConnection *req_conn = connect_or_die(args, "bench-requester");
    natsSubscription *sub = NULL;
    natsStatus s = natsConnection_Subscribe(&sub, resp_conn, args->subject,
                                            on_request, NULL);
    if (s != NATS_OK)
        die("natsConnection_Subscribe", s);
    s = natsConnection_FlushTimeout(resp_conn, 10000);
    if (s != NATS_OK)
        die("natsConnection_FlushTimeout", s);

    void *payload = bench_payload(args->size);
    uint64_t *samples = malloc((size_t)args->n * sizeof *samples);
    if (samples == NULL) {
        fprintf(stderr, "bench_natsc: out of memory\n");
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
        fprintf(stderr, "bench_natsc: %ld responses failed\n",
                atomic_load(&respond_failures));
        exit_code = 1;
    }
    if (exit_code == 0) {
        bench_latency lat = bench_latency_of(samples, args->n);
        bench_report(LIB_NAME, args, &w, args->n, &lat);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(req_conn);
    natsConnection_Destroy(resp_conn);
    free(samples);
    free(payload);
    return exit_code;
}

/* ------------------------------------------------------------------------
 * JetStream: the same memory stream as bench_jetwire's, through nats.c's
 * JetStream API (js_Publish, js_PublishAsync, js_PullSubscribe +
 * natsSubscription_Fetch + natsMsg_Ack).
 */
static atomic_long async_failures;

static void on_async_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
    (void)js;
    (void)pae;
    (void)closure;
    atomic_fetch_add(&async_failures, 1);
}

static jsCtx *js_setup(natsConnection *conn, const bench_args *args)
{
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = args->timeout_ms;
    jo.PublishAsync.ErrHandler = on_async_error;
    /* The window jetwire (max_pending) and nats.go (PublishAsync) use:
     * nats.c's default is none, and a million publishes in flight
     * overrun the server's JetStream queue (its publishes then fail). */
    jo.PublishAsync.MaxPending = 4000;
    jsCtx *js = NULL;
    natsStatus s = natsConnection_JetStream(&js, conn, &jo);
    if (s != NATS_OK)
        die("natsConnection_JetStream", s);
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char *subjects[1] = {args->subject};
    cfg.Name = args->stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_MemoryStorage;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    s = js_AddStream(&si, js, &cfg, NULL, &jerr);
    if (s != NATS_OK)
        die("js_AddStream", s);
    jsStreamInfo_Destroy(si);
    return js;
}

static void js_teardown(jsCtx *js, const bench_args *args)
{
    js_DeleteStream(js, args->stream, NULL, NULL);
    jsCtx_Destroy(js);
}

static int run_jspub(const bench_args *args)
{
    natsConnection *conn = connect_or_die(args, "bench-jspub");
    jsCtx *js = js_setup(conn, args);
    void *payload = bench_payload(args->size);
    bench_window w;
    bench_window_start(&w);
    for (long i = 0; i < args->n; i++) {
        jsPubAck *pa = NULL;
        natsStatus s = js_Publish(&pa, js, args->subject, payload,
                                  (int)args->size, NULL, NULL);
        if (s != NATS_OK)
            die("js_Publish", s);
        jsPubAck_Destroy(pa);
    }
    bench_window_stop(&w);
    bench_report(LIB_NAME, args, &w, args->n, NULL);
    js_teardown(js, args);
    natsConnection_Destroy(conn);
    free(payload);
    return 0;
}

static void publish_async_all(jsCtx *js, const bench_args *args,
                              const void *payload, long n)
{
    for (long i = 0; i < n; i++) {
        natsStatus s = js_PublishAsync(js, args->subject, payload,
                                       (int)args->size, NULL);
        if (s != NATS_OK)
            die("js_PublishAsync", s);
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = args->timeout_ms;
    natsStatus s = js_PublishAsyncComplete(js, &po);
    if (s != NATS_OK)
        die("js_PublishAsyncComplete", s);
}

static int run_jsasync(const bench_args *args)
{
    natsConnection *conn = connect_or_die(args, "bench-jsasync");
    jsCtx *js = js_setup(conn, args);
    void *payload = bench_payload(args->size);
    bench_window w;
    bench_window_start(&w);
    publish_async_all(js, args, payload, args->n);
    bench_window_stop(&w);
    long failed = atomic_load(&async_failures);
    if (failed)
        fprintf(stderr, "bench_natsc: %ld async publishes failed\n", failed);
    else
        bench_report(LIB_NAME, args, &w, args->n, NULL);
    js_teardown(js, args);
    natsConnection_Destroy(conn);
    free(payload);
    return failed ? 1 : 0;
}

static int run_jsfetch(const bench_args *args)
{
    natsConnection *conn = connect_or_die(args, "bench-jsfetch");
    jsCtx *js = js_setup(conn, args);
    void *payload = bench_payload(args->size);
    publish_async_all(js, args, payload, args->n);
    if (atomic_load(&async_failures))
        die("prefill", NATS_ERR);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = BENCH_JS_DURABLE;
    cc.AckPolicy = js_AckExplicit;
    cc.MaxAckPending = -1;
    jsConsumerInfo *ci = NULL;
    natsStatus s = js_AddConsumer(&ci, js, args->stream, &cc, NULL, NULL);
    if (s != NATS_OK)
        die("js_AddConsumer", s);
    jsConsumerInfo_Destroy(ci);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = args->stream;
    so.Consumer = BENCH_JS_DURABLE;
    natsSubscription *sub = NULL;
    s = js_PullSubscribe(&sub, js, args->subject, BENCH_JS_DURABLE, NULL, &so,
                         NULL);
    if (s != NATS_OK)
        die("js_PullSubscribe", s);
    long received = 0;
    bench_window w;
    bench_window_start(&w);
    while (received < args->n) {
        long left = args->n - received;
        int want = left < BENCH_JS_BATCH ? (int)left : BENCH_JS_BATCH;
        natsMsgList list = {0};
        s = natsSubscription_Fetch(&list, sub, want, args->timeout_ms, NULL);
        if (s != NATS_OK)
            die("natsSubscription_Fetch", s);
        for (int i = 0; i < list.Count; i++) {
            s = natsMsg_Ack(list.Msgs[i], NULL);
            if (s != NATS_OK)
                die("natsMsg_Ack", s);
        }
        received += list.Count;
        natsMsgList_Destroy(&list);
    }
    s = natsConnection_FlushTimeout(conn, args->timeout_ms);
    if (s != NATS_OK)
        die("natsConnection_FlushTimeout", s);
    bench_window_stop(&w);
    bench_report(LIB_NAME, args, &w, received, NULL);
    natsSubscription_Destroy(sub);
    js_teardown(js, args);
    natsConnection_Destroy(conn);
    free(payload);
    return 0;
}

/* jsconsume: nats.c's continuous consumption is a push subscription with
 * a callback (js_Subscribe); each message is acked there, by hand. */
static atomic_long consumed;
static atomic_long ack_failures;

static void on_js_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
                      void *closure)
{
    (void)nc;
    (void)sub;
    (void)closure;
    if (natsMsg_Ack(msg, NULL) != NATS_OK)
        atomic_fetch_add(&ack_failures, 1);
    natsMsg_Destroy(msg);
    atomic_fetch_add(&consumed, 1);
}

static int run_jsconsume(const bench_args *args)
{
    natsConnection *conn = connect_or_die(args, "bench-jsconsume");
    jsCtx *js = js_setup(conn, args);
    void *payload = bench_payload(args->size);
    publish_async_all(js, args, payload, args->n);
    if (atomic_load(&async_failures))
        die("prefill", NATS_ERR);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = args->stream;
    so.ManualAck = true;
    so.Config.Durable = BENCH_JS_DURABLE;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.MaxAckPending = -1;
    natsSubscription *sub = NULL;
    bench_window w;
    bench_window_start(&w);
    natsStatus s = js_Subscribe(&sub, js, args->subject, on_js_msg, NULL,
                                NULL, &so, NULL);
    if (s != NATS_OK)
        die("js_Subscribe", s);
    uint64_t last_progress = bench_now_ns();
    long seen = 0;
    while (atomic_load(&consumed) < args->n) {
        long now_seen = atomic_load(&consumed);
        if (now_seen != seen) {
            seen = now_seen;
            last_progress = bench_now_ns();
        } else if (bench_now_ns() - last_progress >
                   (uint64_t)args->timeout_ms * 1000000) {
            fprintf(stderr, "bench_natsc: consumption stalled at %ld\n",
                    seen);
            return 1;
        }
        const struct timespec tick = {0, 200000};
        nanosleep(&tick, NULL);
    }
    s = natsConnection_FlushTimeout(conn, args->timeout_ms);
    if (s != NATS_OK)
        die("natsConnection_FlushTimeout", s);
    bench_window_stop(&w);
    long failed = atomic_load(&ack_failures);
    if (failed)
        fprintf(stderr, "bench_natsc: %ld acks failed\n", failed);
    else
        bench_report(LIB_NAME, args, &w, args->n, NULL);
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    js_teardown(js, args);
    natsConnection_Destroy(conn);
    free(payload);
    return failed ? 1 : 0;
}

/* ------------------------------------------------------------------------
 * Key-Value: a memory bucket named like the stream, deleted after.
 */
static void kv_put_all(kvStore *kv, const bench_args *args,
                       const void *payload, long n, long keys)
{
    char key[32];
    for (long i = 0; i < n; i++) {
        bench_kv_key(key, sizeof key, i % keys);
        natsStatus s = kvStore_Put(NULL, kv, key, payload, (int)args->size);
        if (s != NATS_OK)
            die("kvStore_Put", s);
    }
}

static int run_kv(const bench_args *args)
{
    natsConnection *conn = connect_or_die(args, "bench-kv");
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = args->timeout_ms;
    jsCtx *js = NULL;
    natsStatus s = natsConnection_JetStream(&js, conn, &jo);
    if (s != NATS_OK)
        die("natsConnection_JetStream", s);
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = args->stream;
    cfg.StorageType = js_MemoryStorage;
    kvStore *kv = NULL;
    s = js_CreateKeyValue(&kv, js, &cfg);
    if (s != NATS_OK)
        die("js_CreateKeyValue", s);
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
            kvEntry *e = NULL;
            bench_kv_key(key, sizeof key, i % BENCH_KV_KEYS);
            s = kvStore_Get(&e, kv, key);
            if (s != NATS_OK)
                die("kvStore_Get", s);
            kvEntry_Destroy(e);
        }
        bench_window_stop(&w);
    } else {
        kv_put_all(kv, args, payload, args->n, args->n);
        kvWatcher *watcher = NULL;
        long seen = 0;
        bench_window_start(&w);
        s = kvStore_WatchAll(&watcher, kv, NULL);
        if (s != NATS_OK)
            die("kvStore_WatchAll", s);
        for (;;) {
            kvEntry *e = NULL;
            s = kvWatcher_Next(&e, watcher, args->timeout_ms);
            if (s != NATS_OK)
                die("kvWatcher_Next", s);
            if (e == NULL)
                break; /* the end of the initial values */
            kvEntry_Destroy(e);
            seen++;
        }
        bench_window_stop(&w);
        kvWatcher_Destroy(watcher);
        if (seen != args->n) {
            fprintf(stderr, "bench_natsc: watch saw %ld of %ld keys\n", seen,
                    args->n);
            return 1;
        }
    }
    bench_report(LIB_NAME, args, &w, args->n, NULL);
    kvStore_Destroy(kv);
    js_DeleteKeyValue(js, args->stream);
    jsCtx_Destroy(js);
    natsConnection_Destroy(conn);
    free(payload);
    return 0;
}

int main(int argc, char **argv)
{
    bench_args args;
    if (bench_parse_args(argc, argv, VARIANTS, &args) != 0)
        return 2;
    natsStatus s = nats_Open(-1);
    if (s != NATS_OK)
        die("nats_Open", s);
    int rc = 2;
    switch (args.mode) {
    case BENCH_PUB:
        rc = run_pub(&args);
        break;
    case BENCH_PUBSUB:
        rc = run_pubsub(&args);
        break;
    case BENCH_REQREP:
        rc = run_reqrep(&args);
        break;
    case BENCH_JSPUB:
        rc = run_jspub(&args);
        break;
    case BENCH_JSASYNC:
        rc = run_jsasync(&args);
        break;
    case BENCH_JSFETCH:
        rc = run_jsfetch(&args);
        break;
    case BENCH_JSCONSUME:
        rc = run_jsconsume(&args);
        break;
    case BENCH_KVPUT:
    case BENCH_KVGET:
    case BENCH_KVWATCH:
        rc = run_kv(&args);
        break;
    }
    nats_Close();
    return rc;
}
