/*
 * The object store (ADR-20): one object of --mib MiB put from a source
 * that copies its bytes from a pattern as they are asked for
 * (jw_obs_put_stream), then read back through a reader (jw_obs_open,
 * jw_obs_reader_read) into a buffer of 64 KiB, every byte checked, into a
 * fresh file-backed bucket.
 * One RESULT line per direction (mode put, get) in bench/common.h's
 * shape, n the object's bytes, plus mb_per_s.
 *
 *   bench_objects --url nats://127.0.0.1:4222 [--mib 256] [--chunk BYTES]
 */
#include "common.h"

#include <jetwire.h>

static void die(const char *what, int status)
{
    fprintf(stderr, "bench_objects: %s: %s %s\n", what,
            jw_status_name(status), jw_last_error());
    exit(2);
}

/* The object's bytes: byte i is the low byte of i * 2654435761, a pattern
 * with a period of 256. PIECE bytes of it and one period more, so that
 * any piece of up to PIECE bytes starting anywhere is a slice of it (the
 * Python and nats.go twins work on the same pieces). */
enum { PERIOD = 256, PIECE = 64 * 1024 };
static unsigned char pattern[PIECE + PERIOD];

typedef struct source {
    size_t at, len;
} source;

static long make_bytes(void *arg, void *buf, size_t cap)
{
    source *s = arg;
    size_t n = s->len - s->at < cap ? s->len - s->at : cap;
    if (n > PIECE)
        n = PIECE;
    memcpy(buf, pattern + s->at % PERIOD, n);
    s->at += n;
    return (long)n;
}

static void report(const char *mode, size_t len, const bench_window *w)
{
    double elapsed = (double)(w->end_ns - w->start_ns) / 1e9;
    double cpu = w->cpu_end - w->cpu_start;
    printf("RESULT lib=jetwire mode=%s size=%zu n=%zu variant=default "
           "rate=%.0f elapsed_s=%.4f cpu_s=%.4f cpu_s_per_m=%.4f "
           "mb_per_s=%.1f\n",
           mode, len, len, (double)len / elapsed, elapsed, cpu,
           cpu / ((double)len / 1e6), (double)len / 1048576.0 / elapsed);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    (void)bench_report; /* common.h's, for the other programs */
    (void)bench_latency_of;
    const char *url = "nats://127.0.0.1:4222";
    long mib = 256, chunk = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--mib") == 0)
            mib = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--chunk") == 0)
            chunk = atol(argv[i + 1]);
    }
    size_t len = (size_t)mib << 20;
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (unsigned char)(i * 2654435761u);
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    jw_obs *obs = NULL;
    int rc = jw_conn_connect(url, NULL, &nc);
    if (rc == JW_OK)
        rc = jw_js_new(nc, &js);
    if (rc == JW_OK)
        rc = jw_js_set_int(js, "timeout", 60000);
    char bucket[64], meta[128];
    snprintf(bucket, sizeof bucket,
             "{\"bucket\":\"bench%ld\",\"storage\":\"file\"}", (long)getpid());
    if (rc == JW_OK)
        rc = jw_js_obs_create(js, bucket, &obs);
    if (rc != JW_OK)
        die("bucket", rc);
    if (chunk)
        snprintf(meta, sizeof meta,
                 "{\"name\":\"big\",\"options\":{\"max_chunk_size\":%ld}}",
                 chunk);
    else
        snprintf(meta, sizeof meta, "{\"name\":\"big\"}");

    bench_window w;
    source src = {0, len};
    bench_window_start(&w);
    if ((rc = jw_obs_put_stream(obs, meta, make_bytes, &src, NULL)) != JW_OK)
        die("put", rc);
    bench_window_stop(&w);
    report("put", len, &w);

    static unsigned char buf[PIECE];
    size_t pos = 0, got = 0, wrong = 0;
    jw_obs_reader *r = NULL;
    bench_window_start(&w);
    if ((rc = jw_obs_open(obs, "big", &r)) != JW_OK)
        die("open", rc);
    do {
        if ((rc = jw_obs_reader_read(r, buf, sizeof buf, 30000, &got)))
            die("read", rc);
        wrong += memcmp(buf, pattern + pos % PERIOD, got) != 0;
        pos += got;
    } while (got);
    bench_window_stop(&w);
    jw_obs_reader_free(r);
    if (pos != len || wrong)
        die("the bytes read back", JW_EPROTOCOL);
    report("get", len, &w);

    jw_obs_free(obs);
    snprintf(bucket, sizeof bucket, "bench%ld", (long)getpid());
    jw_js_obs_delete(js, bucket);
    jw_js_free(js);
    jw_conn_free(nc);
    return 0;
}
