/*
 * Scale (issue 23, point 4): P publisher connections, each on a thread of
 * its own, send N messages of B bytes in total into S handler
 * subscriptions on ONE subscriber connection, so that the client's routing
 * cost per message shows as the subscriptions grow. Subscription i is
 * `scale.<pid>.s.<i>`, or the wildcard `scale.<pid>.w.<i>.*` for every
 * tenth (i % 10 == 9); message k goes to subscription k % S (a wildcard
 * one as `scale.<pid>.w.<i>.x`), so each message matches exactly one
 * subscription. bench/go/scale.go is the nats.go twin.
 *
 * The window runs from releasing the publishers until a handler counts the
 * Nth message. The setup of the S subscriptions (subscribe, pending limits
 * lifted, flush) is timed apart as sub_setup_s. One RESULT line in
 * bench/common.h's shape (mode=scale) plus pubs, subs, mb_per_s (MB of
 * payload, 2^20 bytes, per second, as bench_objects counts them) and
 * sub_setup_s.
 *
 *   bench_scale --url U --pubs P --subs S --size B --n N
 *               [--variant default|pool] [--timeout-ms T]
 *
 * Variants: "default" (engine defaults), "pool" (the subscriber connection
 * with the option delivery_threads = 2: its handler subscriptions share a
 * pool of two delivery threads). Exit status: 0; 1 when a message was
 * lost or a publisher failed; 2 on a setup error.
 */
#include "common.h"

#include <jetwire.h>

#include <pthread.h>
#include <stdatomic.h>

#define LIB_NAME       "jetwire"
#define VARIANTS       "default pool"
#define POOL_THREADS   2
#define SUBJECT_MAX    64

static void die(const char *what, int status)
{
    fprintf(stderr, "bench_scale: %s: %s (%s) %s\n", what,
            jw_status_name(status), jw_strerror(status), jw_last_error());
    exit(2);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_scale --pubs P --subs S [--size BYTES] [--n COUNT]\n"
            "          [--url URL] [--timeout-ms MS] [--variant NAME]\n"
            "variants of this program: " VARIANTS "\n");
}

typedef struct scale_args {
    const char *url;
    long pubs, subs, size, n, timeout_ms;
    const char *variant;
} scale_args;

static int parse_args(int argc, char **argv, scale_args *a)
{
    *a = (scale_args){"nats://127.0.0.1:4222", 1, 1, 16, 100000, 10000,
                      "default"};
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            usage();
            exit(0);
        }
        if (i + 1 >= argc)
            return -1;
        const char *val = argv[++i];
        long *number = NULL, min = 1;
        if (strcmp(opt, "--url") == 0)
            a->url = val;
        else if (strcmp(opt, "--variant") == 0)
            a->variant = val;
        else if (strcmp(opt, "--pubs") == 0)
            number = &a->pubs;
        else if (strcmp(opt, "--subs") == 0)
            number = &a->subs;
        else if (strcmp(opt, "--size") == 0)
            number = &a->size, min = 0;
        else if (strcmp(opt, "--n") == 0)
            number = &a->n;
        else if (strcmp(opt, "--timeout-ms") == 0)
            number = &a->timeout_ms;
        else
            return -1;
        if (number && bench_parse_long(val, min, number) != 0)
            return -1;
    }
    if (strcmp(a->variant, "default") != 0 && strcmp(a->variant, "pool") != 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------------
 * The subscriber: one handler for every subscription.
 */
static atomic_long received, bad_size;
static atomic_int done;
static long expected;
static size_t payload_size;
static bench_window window;

static void on_msg(jw_sub *sub, jw_msg *msg, void *arg)
{
    (void)sub;
    (void)arg;
    if (jw_msg_data_len(msg) != payload_size)
        atomic_fetch_add(&bad_size, 1);
    jw_msg_free(msg);
    /* The handler that counts the last message stops the clock: waking
     * the main thread would add its sleep to the window. */
    if (atomic_fetch_add(&received, 1) + 1 == expected) {
        bench_window_stop(&window);
        atomic_store_explicit(&done, 1, memory_order_release);
    }
}

/* ------------------------------------------------------------------------
 * The publishers: publisher j sends messages j, j + P, j + 2P, ... below
 * N, each to its subject, then flushes.
 */
typedef struct publisher {
    jw_conn *conn;
    long first, step, n;
    char (*subjects)[SUBJECT_MAX]; /* S publish subjects, shared */
    long subs;
    const void *payload;
    size_t size;
    pthread_barrier_t *start;
    int status; /* the first failure, JW_OK otherwise */
    char error[256];
} publisher;

static void *publisher_main(void *arg)
{
    publisher *p = arg;
    int rc = JW_OK;
    pthread_barrier_wait(p->start);
    for (long k = p->first; k < p->n && rc == JW_OK; k += p->step)
        rc = jw_conn_publish(p->conn, p->subjects[k % p->subs], p->payload,
                             p->size);
    if (rc == JW_OK)
        rc = jw_conn_flush(p->conn, 60000);
    if (rc != JW_OK)
        snprintf(p->error, sizeof p->error, "%s", jw_last_error());
    p->status = rc;
    return NULL;
}

static jw_conn *connect_or_die(const scale_args *a, const char *name,
                               int pool)
{
    jw_opts *opts = NULL;
    jw_conn *conn = NULL;
    int rc = jw_opts_new(&opts);
    if (rc != JW_OK)
        die("jw_opts_new", rc);
    if ((rc = jw_opts_set_str(opts, "name", name)) != JW_OK)
        die("jw_opts_set_str name", rc);
    if (pool &&
        (rc = jw_opts_set_int(opts, "delivery_threads", POOL_THREADS)) !=
            JW_OK)
        die("jw_opts_set_int delivery_threads", rc);
    if ((rc = jw_conn_connect(a->url, opts, &conn)) != JW_OK)
        die("jw_conn_connect", rc);
    jw_opts_free(opts);
    return conn;
}

static void report(const scale_args *a, const bench_window *w,
                   double setup_s)
{
    double elapsed = (double)(w->end_ns - w->start_ns) / 1e9;
    double cpu = w->cpu_end - w->cpu_start;
    printf("RESULT lib=%s mode=scale size=%ld n=%ld variant=%s rate=%.0f "
           "elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f pubs=%ld subs=%ld "
           "mb_per_s=%.1f sub_setup_s=%.4f\n",
           LIB_NAME, a->size, a->n, a->variant, (double)a->n / elapsed,
           elapsed, cpu, cpu / ((double)a->n / 1e6), a->pubs, a->subs,
           (double)a->n * (double)a->size / 1048576.0 / elapsed, setup_s);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    (void)bench_report; /* common.h's, for the other programs */
    (void)bench_latency_of;
    (void)bench_parse_args;
    scale_args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage();
        return 2;
    }
    expected = a.n;
    payload_size = (size_t)a.size;
    long pid = (long)getpid();

    /* The subjects: subscribe to sub_subjects[i], publish to
     * pub_subjects[i]. */
    char(*sub_subjects)[SUBJECT_MAX] = calloc((size_t)a.subs, SUBJECT_MAX);
    char(*pub_subjects)[SUBJECT_MAX] = calloc((size_t)a.subs, SUBJECT_MAX);
    jw_sub **subs = calloc((size_t)a.subs, sizeof *subs);
    publisher *pubs = calloc((size_t)a.pubs, sizeof *pubs);
    pthread_t *threads = calloc((size_t)a.pubs, sizeof *threads);
    if (!sub_subjects || !pub_subjects || !subs || !pubs || !threads) {
        fprintf(stderr, "bench_scale: out of memory\n");
        return 2;
    }
    for (long i = 0; i < a.subs; i++) {
        if (i % 10 == 9) {
            snprintf(sub_subjects[i], SUBJECT_MAX, "scale.%ld.w.%ld.*", pid, i);
            snprintf(pub_subjects[i], SUBJECT_MAX, "scale.%ld.w.%ld.x", pid, i);
        } else {
            snprintf(sub_subjects[i], SUBJECT_MAX, "scale.%ld.s.%ld", pid, i);
            snprintf(pub_subjects[i], SUBJECT_MAX, "scale.%ld.s.%ld", pid, i);
        }
    }

    jw_conn *sub_conn = connect_or_die(&a, "bench-scale-sub",
                                       strcmp(a.variant, "pool") == 0);
    uint64_t setup_start = bench_now_ns();
    for (long i = 0; i < a.subs; i++) {
        int rc = jw_conn_subscribe_cb(sub_conn, sub_subjects[i], NULL, on_msg,
                                      NULL, &subs[i]);
        if (rc != JW_OK)
            die("jw_conn_subscribe_cb", rc);
        /* No limit: the run must not lose messages to a slow consumer. */
        if ((rc = jw_sub_set_pending_limits(subs[i], 0, 0)) != JW_OK)
            die("jw_sub_set_pending_limits", rc);
    }
    /* The server has every SUB once the PONG is back. */
    int rc = jw_conn_flush(sub_conn, 60000);
    if (rc != JW_OK)
        die("jw_conn_flush", rc);
    double setup_s = (double)(bench_now_ns() - setup_start) / 1e9;

    void *payload = bench_payload((size_t)a.size);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)a.pubs + 1);
    for (long j = 0; j < a.pubs; j++) {
        pubs[j] = (publisher){connect_or_die(&a, "bench-scale-pub", 0),
                              j, a.pubs, a.n, pub_subjects, a.subs,
                              payload, (size_t)a.size, &start, JW_OK, ""};
        if (pthread_create(&threads[j], NULL, publisher_main, &pubs[j])) {
            fprintf(stderr, "bench_scale: pthread_create failed\n");
            return 2;
        }
    }

    /* Every publisher is connected and waiting at the barrier. */
    bench_window_start(&window);
    pthread_barrier_wait(&start);
    long last = -1;
    uint64_t last_move = bench_now_ns();
    int stalled = 0;
    const struct timespec tick = {0, 1000000}; /* 1 ms */
    while (!atomic_load_explicit(&done, memory_order_acquire)) {
        nanosleep(&tick, NULL);
        long now = atomic_load(&received);
        if (now != last) {
            last = now;
            last_move = bench_now_ns();
        } else if (bench_now_ns() - last_move >
                   (uint64_t)a.timeout_ms * 1000000u) {
            stalled = 1; /* no progress for the timeout */
            break;
        }
    }
    for (long j = 0; j < a.pubs; j++)
        pthread_join(threads[j], NULL);

    int exit_code = 0;
    for (long j = 0; j < a.pubs; j++)
        if (pubs[j].status != JW_OK) {
            fprintf(stderr, "bench_scale: publisher %ld failed: %s %s\n", j,
                    jw_status_name(pubs[j].status), pubs[j].error);
            exit_code = 1;
        }
    /* A message matching two subscriptions would be counted past N: one
     * more round trip lets such extras arrive before the count is read. */
    if (!stalled)
        jw_conn_flush(sub_conn, 10000);
    uint64_t dropped = 0;
    for (long i = 0; i < a.subs; i++)
        dropped += jw_sub_dropped(subs[i]);
    long got = atomic_load(&received);
    if (stalled || got != a.n || atomic_load(&bad_size) != 0 || dropped) {
        fprintf(stderr,
                "bench_scale: LOSS received %ld of %ld%s (%ld wrong size, "
                "%llu dropped by the client)\n",
                got, a.n, stalled ? ", stalled" : "",
                atomic_load(&bad_size), (unsigned long long)dropped);
        exit_code = 1;
    }
    if (exit_code == 0)
        report(&a, &window, setup_s);

    for (long i = 0; i < a.subs; i++)
        jw_sub_free(subs[i]);
    for (long j = 0; j < a.pubs; j++)
        jw_conn_free(pubs[j].conn);
    jw_conn_free(sub_conn);
    pthread_barrier_destroy(&start);
    free(payload);
    free(threads);
    free(pubs);
    free(subs);
    free(pub_subjects);
    free(sub_subjects);
    return exit_code;
}
