/*
 * Shared parts of the two benchmark programs (bench_jetwire, bench_natsc):
 * the command line, the clocks, CPU accounting, percentiles and the RESULT
 * line. Everything that decides what is measured lives here once, so the
 * two programs cannot drift apart; each program only supplies the calls of
 * its library.
 *
 * Header-only on purpose: each program is one translation unit plus this.
 */
#ifndef JW_BENCH_COMMON_H
#define JW_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef enum bench_mode {
    BENCH_PUB = 1,
    BENCH_PUBSUB = 2,
    BENCH_REQREP = 3,
    BENCH_JSPUB = 4,   /* JetStream publish, waiting for each ack */
    BENCH_JSASYNC = 5, /* JetStream async publish, then wait for all acks */
    BENCH_JSFETCH = 6, /* pull fetch in batches + ack each message */
    BENCH_JSCONSUME = 7, /* continuous consumption + ack each message */
    BENCH_KVPUT = 8,     /* KV put, waiting for each ack */
    BENCH_KVGET = 9,     /* KV get of the latest value (direct get) */
    BENCH_KVWATCH = 10   /* KV watch of n keys up to the end marker */
} bench_mode;

/* KV modes: the bucket (named like the stream) is in memory with history 1;
 * put and get cycle over this many keys. */
#define BENCH_KV_KEYS 1000

static inline void bench_kv_key(char *buf, size_t size, long i)
{
    snprintf(buf, size, "k%ld", i);
}

/* JetStream modes: the stream is in memory (the client's costs, not the
 * disk's), one per process; fetch takes batches of this size. */
#define BENCH_JS_BATCH 256
#define BENCH_JS_DURABLE "bench"
/* jsconsume: messages a continuous consumer keeps asked for (Go's
 * Consume asks for 500 by default). */
#define BENCH_JS_CONSUME_BATCH 1024

typedef struct bench_args {
    const char *url; /* server URL */
    bench_mode mode;
    const char *mode_name;
    size_t size;         /* payload bytes */
    long n;              /* messages or requests measured */
    long warmup;         /* reqrep: unmeasured requests before the run */
    const char *variant; /* library-specific option set, "default" */
    long timeout_ms;     /* stall limit: no progress for this long fails */
    char subject[64];    /* unique per process */
    char stream[32];     /* JetStream modes: the stream, unique too */
} bench_args;

/* Requests made before measuring reqrep, so that both libraries have set up
 * their response inbox and warmed their caches before the clock starts. */
#define BENCH_DEFAULT_WARMUP 200

static void bench_usage(const char *prog, const char *variants)
{
    fprintf(stderr,
            "usage: %s --mode pub|pubsub|reqrep|jspub|jsasync|jsfetch|jsconsume|\n"
            "                 kvput|kvget|kvwatch\n"
            "          [--size BYTES] [--n COUNT]\n"
            "          [--url URL] [--warmup COUNT] [--timeout-ms MS]\n"
            "          [--variant NAME]\n"
            "variants of this program: %s\n",
            prog, variants);
}

static int bench_parse_long(const char *text, long min, long *out)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || value < min)
        return -1;
    *out = value;
    return 0;
}

/* Parse argv into *args. Returns 0, or -1 after printing the usage.
 * `variants` lists the variant names the program accepts ("default" first,
 * separated by spaces); anything else is rejected here so that a typo
 * cannot silently measure the default. */
static inline int bench_parse_args(int argc, char **argv,
                                   const char *variants, bench_args *args)
{
    memset(args, 0, sizeof *args);
    args->url = "nats://127.0.0.1:4222";
    args->size = 16;
    args->n = 100000;
    args->warmup = BENCH_DEFAULT_WARMUP;
    args->variant = "default";
    args->timeout_ms = 10000;

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        long number = 0;
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            bench_usage(argv[0], variants);
            exit(0);
        }
        if (val == NULL)
            goto bad;
        i++;
        if (strcmp(opt, "--url") == 0) {
            args->url = val;
        } else if (strcmp(opt, "--mode") == 0) {
            if (strcmp(val, "pub") == 0)
                args->mode = BENCH_PUB;
            else if (strcmp(val, "pubsub") == 0)
                args->mode = BENCH_PUBSUB;
            else if (strcmp(val, "reqrep") == 0)
                args->mode = BENCH_REQREP;
            else if (strcmp(val, "jspub") == 0)
                args->mode = BENCH_JSPUB;
            else if (strcmp(val, "jsasync") == 0)
                args->mode = BENCH_JSASYNC;
            else if (strcmp(val, "jsfetch") == 0)
                args->mode = BENCH_JSFETCH;
            else if (strcmp(val, "jsconsume") == 0)
                args->mode = BENCH_JSCONSUME;
            else if (strcmp(val, "kvput") == 0)
                args->mode = BENCH_KVPUT;
            else if (strcmp(val, "kvget") == 0)
                args->mode = BENCH_KVGET;
            else if (strcmp(val, "kvwatch") == 0)
                args->mode = BENCH_KVWATCH;
            else
                goto bad;
            args->mode_name = val;
        } else if (strcmp(opt, "--size") == 0) {
            if (bench_parse_long(val, 0, &number) != 0)
                goto bad;
            args->size = (size_t)number;
        } else if (strcmp(opt, "--n") == 0) {
            if (bench_parse_long(val, 1, &args->n) != 0)
                goto bad;
        } else if (strcmp(opt, "--warmup") == 0) {
            if (bench_parse_long(val, 0, &args->warmup) != 0)
                goto bad;
        } else if (strcmp(opt, "--timeout-ms") == 0) {
            if (bench_parse_long(val, 1, &args->timeout_ms) != 0)
                goto bad;
        } else if (strcmp(opt, "--variant") == 0) {
            args->variant = val;
        } else {
            goto bad;
        }
    }
    if (args->mode == 0)
        goto bad;
    {
        /* Whole-word match of the variant in the space-separated list. */
        size_t len = strlen(args->variant);
        const char *p = variants;
        int found = 0;
        while (!found && (p = strstr(p, args->variant)) != NULL) {
            found = (p == variants || p[-1] == ' ') &&
                    (p[len] == '\0' || p[len] == ' ');
            p += len ? len : 1;
        }
        if (!found || len == 0)
            goto bad;
    }
    snprintf(args->subject, sizeof args->subject, "bench.%ld.%s",
             (long)getpid(), args->mode_name);
    snprintf(args->stream, sizeof args->stream, "BENCH_%ld",
             (long)getpid());
    return 0;
bad:
    bench_usage(argv[0], variants);
    return -1;
}

/* ------------------------------------------------------------------------
 * Clocks
 */
static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* User + system CPU seconds of the whole process (every thread, both
 * connections), as getrusage(RUSAGE_SELF) reports them. */
static double bench_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The measured window: wall clock and process CPU. */
typedef struct bench_window {
    uint64_t start_ns, end_ns;
    double cpu_start, cpu_end;
} bench_window;

static void bench_window_start(bench_window *w)
{
    w->cpu_start = bench_cpu_seconds();
    w->start_ns = bench_now_ns();
}

static void bench_window_stop(bench_window *w)
{
    w->end_ns = bench_now_ns();
    w->cpu_end = bench_cpu_seconds();
}

/* A payload of `size` bytes, recognisable in a capture. */
static void *bench_payload(size_t size)
{
    unsigned char *data = malloc(size ? size : 1);
    if (data == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < size; i++)
        data[i] = (unsigned char)('a' + i % 26);
    return data;
}

/* ------------------------------------------------------------------------
 * Latency samples and the RESULT line
 */
typedef struct bench_latency {
    double p50_us, p90_us, p99_us, max_us, mean_us;
} bench_latency;

static int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples: the smallest value with at
 * least pct percent of the samples at or below it. */
static uint64_t bench_rank(const uint64_t *sorted, long n, int pct)
{
    long rank = (long)(((int64_t)n * pct + 99) / 100);
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

/* Sorts samples_ns in place. */
static bench_latency bench_latency_of(uint64_t *samples_ns, long n)
{
    bench_latency lat = {0};
    if (n <= 0)
        return lat;
    qsort(samples_ns, (size_t)n, sizeof *samples_ns, bench_cmp_u64);
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += (double)samples_ns[i];
    lat.p50_us = (double)bench_rank(samples_ns, n, 50) / 1e3;
    lat.p90_us = (double)bench_rank(samples_ns, n, 90) / 1e3;
    lat.p99_us = (double)bench_rank(samples_ns, n, 99) / 1e3;
    lat.max_us = (double)samples_ns[n - 1] / 1e3;
    lat.mean_us = sum / (double)n / 1e3;
    return lat;
}

/* One machine-readable line on stdout; run.sh parses it. `lat` is only
 * printed for reqrep. */
static void bench_report(const char *lib, const bench_args *args,
                         const bench_window *w, long count,
                         const bench_latency *lat)
{
    double elapsed = (double)(w->end_ns - w->start_ns) / 1e9;
    double cpu = w->cpu_end - w->cpu_start;
    double rate = elapsed > 0 ? (double)count / elapsed : 0.0;
    printf("RESULT lib=%s mode=%s size=%zu n=%ld variant=%s rate=%.0f "
           "elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f",
           lib, args->mode_name, args->size, count, args->variant, rate,
           elapsed, cpu, cpu / ((double)count / 1e6));
    if (lat != NULL)
        printf(" p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f "
               "mean_us=%.1f",
               lat->p50_us, lat->p90_us, lat->p99_us, lat->max_us,
               lat->mean_us);
    printf("\n");
    fflush(stdout);
}

#endif /* JW_BENCH_COMMON_H */
