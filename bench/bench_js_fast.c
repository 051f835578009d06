/*
 * Fast-ingest batch publishing (ADR-50, nats-server 2.14+) against
 * jetwire's own async publish, in the same run on the same server, so
 * that the ratio means something on a shared 2-core machine:
 *
 *   fast    jw_js_fast_add N times, then jw_js_fast_commit (EOB): the
 *           clock stops when the final PubAck is in.
 *   async   jw_js_publish_async N times (window max_pending, 4000), then
 *           jw_js_publish_async_complete.
 *   atomic  atomic batches (ADR-50, 2.12+; not in "both") of --batch
 *           messages, one after the other, until N are stored: messages
 *           per second, and the commit's latency (the commit call: the
 *           last message and its PubAck) as p50/p99.
 *
 * Each mode gets a fresh stream ("allow_batched", memory storage unless
 * --storage file) and checks that it holds N messages at the end.
 *
 *   bench_js_fast --url nats://127.0.0.1:4222 [--n 1000000] [--size 128]
 *                 [--mode fast|async|both|atomic] [--flow 100]
 *                 [--batch 100]
 *                 [--max-outstanding-acks 2] [--storage memory|file]
 *
 * Prints one RESULT line per mode, in bench/common.h's shape.
 */
#include "common.h"

#include <jetwire.h>

#define LIB_NAME "jetwire"

static void die(const char *what, int status)
{
    fprintf(stderr, "bench_js_fast: %s: %s %s\n", what,
            jw_status_name(status), jw_last_error());
    exit(2);
}

typedef struct fast_args {
    const char *url;
    long n;
    size_t size;
    long flow, max_outstanding;
    const char *storage;
    int fast, async, atomic;
    long batch;
} fast_args;

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s --url URL [--n COUNT] [--size BYTES] "
            "[--mode fast|async|both|atomic] [--flow N] [--batch N] "
            "[--max-outstanding-acks 1..3] [--storage memory|file]\n",
            argv0);
    exit(2);
}

static void parse(int argc, char **argv, fast_args *a)
{
    *a = (fast_args){"nats://127.0.0.1:4222", 1000000, 128, 0, 0, "memory",
                     1, 1, 0, 100};
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (i + 1 >= argc)
            usage(argv[0]);
        const char *val = argv[++i];
        if (strcmp(opt, "--url") == 0)
            a->url = val;
        else if (strcmp(opt, "--n") == 0)
            a->n = atol(val);
        else if (strcmp(opt, "--size") == 0)
            a->size = (size_t)atol(val);
        else if (strcmp(opt, "--flow") == 0)
            a->flow = atol(val);
        else if (strcmp(opt, "--max-outstanding-acks") == 0)
            a->max_outstanding = atol(val);
        else if (strcmp(opt, "--storage") == 0)
            a->storage = val;
        else if (strcmp(opt, "--batch") == 0)
            a->batch = atol(val);
        else if (strcmp(opt, "--mode") == 0) {
            a->atomic = strcmp(val, "atomic") == 0;
            a->fast = !a->atomic && strcmp(val, "async") != 0;
            a->async = !a->atomic && strcmp(val, "fast") != 0;
        } else
            usage(argv[0]);
    }
    if (a->n < 1 || a->batch < 1)
        usage(argv[0]);
}

static jw_js *stream_setup(jw_conn *conn, const fast_args *a,
                           const char *stream, const char *subject)
{
    jw_js *js = NULL;
    int rc = jw_js_new(conn, &js);
    if (rc == JW_OK)
        rc = jw_js_set_int(js, "timeout", 60000);
    char cfg[256];
    snprintf(cfg, sizeof cfg,
             "{\"name\":\"%s\",\"subjects\":[\"%s\"],\"storage\":\"%s\","
             "\"%s\":true}",
             stream, subject, a->storage,
             a->atomic ? "allow_atomic" : "allow_batched");
    if (rc == JW_OK)
        rc = jw_js_stream_create(js, cfg, NULL);
    if (rc != JW_OK)
        die("jw_js_stream_create", rc);
    return js;
}

static long long stored(jw_js *js, const char *stream)
{
    char *info = NULL;
    if (jw_js_stream_info(js, stream, &info))
        return -1;
    const char *p = strstr(info, "\"messages\":");
    long long n = p ? strtoll(p + 11, NULL, 10) : -1;
    jw_free(info);
    return n;
}

static void report(const char *mode, const fast_args *a,
                   const bench_window *w, const bench_latency *lat)
{
    double elapsed = (double)(w->end_ns - w->start_ns) / 1e9;
    double cpu = w->cpu_end - w->cpu_start;
    char variant[32] = "default";
    if (a->atomic)
        snprintf(variant, sizeof variant, "batch%ld", a->batch);
    else if (a->fast && a->flow)
        snprintf(variant, sizeof variant, "flow%ld", a->flow);
    printf("RESULT lib=%s mode=%s size=%zu n=%ld variant=%s rate=%.0f "
           "elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f",
           LIB_NAME, mode, a->size, a->n, variant, (double)a->n / elapsed,
           elapsed, cpu, cpu / ((double)a->n / 1e6));
    if (lat)
        printf(" p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f "
               "mean_us=%.1f",
               lat->p50_us, lat->p90_us, lat->p99_us, lat->max_us,
               lat->mean_us);
    printf("\n");
    fflush(stdout);
}

static void run_fast(jw_conn *conn, const fast_args *a, jw_msg *msg,
                     const char *stream, const char *subject)
{
    jw_js *js = stream_setup(conn, a, stream, subject);
    jw_call_opts *o = NULL;
    int rc = jw_call_opts_new("fast", &o);
    if (rc == JW_OK && a->flow)
        rc = jw_call_opts_set_int(o, "flow", a->flow);
    if (rc == JW_OK && a->max_outstanding)
        rc = jw_call_opts_set_int(o, "max_outstanding_acks",
                                  a->max_outstanding);
    if (rc != JW_OK)
        die("fast options", rc);
    bench_window w;
    bench_window_start(&w);
    jw_js_fast *f = NULL;
    rc = jw_js_fast_new(js, o, &f);
    if (rc != JW_OK)
        die("jw_js_fast_new", rc);
    for (long i = 0; i < a->n; i++)
        if ((rc = jw_js_fast_add(f, msg, NULL, NULL)) != JW_OK)
            die("jw_js_fast_add", rc);
    jw_js_pub_ack *ack = NULL;
    if ((rc = jw_js_fast_commit(f, NULL, &ack)) != JW_OK)
        die("jw_js_fast_commit", rc);
    bench_window_stop(&w);
    if (jw_js_pub_ack_count(ack) != (uint64_t)a->n ||
        stored(js, stream) != a->n) {
        fprintf(stderr, "bench_js_fast: fast: %llu in the PubAck, %lld "
                        "stored, %ld published\n",
                (unsigned long long)jw_js_pub_ack_count(ack),
                stored(js, stream), a->n);
        exit(1);
    }
    report("fast", a, &w, NULL);
    jw_js_pub_ack_free(ack);
    jw_js_fast_free(f);
    jw_call_opts_free(o);
    jw_js_stream_delete(js, stream);
    jw_js_free(js);
}

static void run_async(jw_conn *conn, const fast_args *a, jw_msg *msg,
                      const char *stream, const char *subject)
{
    jw_js *js = stream_setup(conn, a, stream, subject);
    long failed = 0;
    uint64_t id;
    jw_status st;
    bench_window w;
    bench_window_start(&w);
    for (long i = 0; i < a->n; i++) {
        int rc = jw_js_publish_async(js, msg, NULL, NULL);
        if (rc != JW_OK)
            die("jw_js_publish_async", rc);
        if ((i & 1023) == 1023)
            while (jw_js_publish_async_poll(js, &id, &st, NULL) == 1)
                failed += st != JW_OK;
    }
    int rc = jw_js_publish_async_complete(js, 60000);
    if (rc != JW_OK)
        die("jw_js_publish_async_complete", rc);
    while (jw_js_publish_async_poll(js, &id, &st, NULL) == 1)
        failed += st != JW_OK;
    bench_window_stop(&w);
    if (failed || stored(js, stream) != a->n) {
        fprintf(stderr, "bench_js_fast: async: %ld failed\n", failed);
        exit(1);
    }
    report("async", a, &w, NULL);
    jw_js_stream_delete(js, stream);
    jw_js_free(js);
}

static void run_atomic(jw_conn *conn, fast_args *a, jw_msg *msg,
                       const char *stream, const char *subject)
{
    jw_js *js = stream_setup(conn, a, stream, subject);
    long batches = (a->n + a->batch - 1) / a->batch;
    a->n = batches * a->batch; /* whole batches */
    uint64_t *commit_ns = calloc((size_t)batches, sizeof *commit_ns);
    if (!commit_ns)
        die("calloc", JW_ENO_MEMORY);
    bench_window w;
    bench_window_start(&w);
    for (long b = 0; b < batches; b++) {
        jw_js_batch *batch = NULL;
        int rc = jw_js_batch_new(js, &batch);
        for (long i = 1; rc == JW_OK && i < a->batch; i++)
            rc = jw_js_batch_add(batch, msg, NULL);
        if (rc != JW_OK)
            die("jw_js_batch_add", rc);
        uint64_t t0 = bench_now_ns();
        jw_js_pub_ack *ack = NULL;
        if ((rc = jw_js_batch_commit(batch, msg, NULL, &ack)) != JW_OK)
            die("jw_js_batch_commit", rc);
        commit_ns[b] = bench_now_ns() - t0;
        if (jw_js_pub_ack_count(ack) != (uint64_t)a->batch)
            die("a batch's count", JW_EPROTOCOL);
        jw_js_pub_ack_free(ack);
        jw_js_batch_free(batch);
    }
    bench_window_stop(&w);
    if (stored(js, stream) != a->n) {
        fprintf(stderr, "bench_js_fast: atomic: %lld stored of %ld\n",
                stored(js, stream), a->n);
        exit(1);
    }
    bench_latency lat = bench_latency_of(commit_ns, batches);
    report("atomic", a, &w, &lat);
    free(commit_ns);
    jw_js_stream_delete(js, stream);
    jw_js_free(js);
}

int main(int argc, char **argv)
{
    (void)bench_report; /* common.h's, for the other programs */
    fast_args a;
    parse(argc, argv, &a);
    jw_conn *conn = NULL;
    int rc = jw_conn_connect(a.url, NULL, &conn);
    if (rc != JW_OK)
        die("jw_conn_connect", rc);
    char stream[32], subject[64];
    snprintf(stream, sizeof stream, "BENCHFAST%ld", (long)getpid());
    snprintf(subject, sizeof subject, "bench.%ld.fast", (long)getpid());
    void *payload = bench_payload(a.size);
    jw_msg *msg = NULL;
    if ((rc = jw_msg_new(subject, NULL, payload, a.size, &msg)) != JW_OK)
        die("jw_msg_new", rc);
    if (a.fast)
        run_fast(conn, &a, msg, stream, subject);
    if (a.async)
        run_async(conn, &a, msg, stream, subject);
    if (a.atomic)
        run_atomic(conn, &a, msg, stream, subject);
    jw_msg_free(msg);
    free(payload);
    jw_conn_free(conn);
    return 0;
}
