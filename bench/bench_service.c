/*
 * bench_service: services of the micro API under load (issue 20, point 7).
 *
 *   bench_service serve URL SUBJECT
 *       a jetwire service "bench" 1.0.0 with one endpoint, "echo", on
 *       SUBJECT, answering each request with its data from the engine's
 *       handler; prints "ready" and serves until stdin closes.
 *   bench_service load URL SUBJECT N SIZE CONCURRENCY LABEL
 *       one connection, CONCURRENCY threads each requesting in turn until
 *       N requests were answered (after 200 unmeasured ones), each reply
 *       checked; prints a RESULT line (lib=LABEL mode=service) with the
 *       rate and the latency percentiles.
 *
 * bench/run_services.sh runs the load client against the jetwire C
 * service, the jetwire Python service and a nats.go micro service in turn,
 * so that only the service differs between runs.
 */
#include "common.h"

#include "jetwire.h"

#include <pthread.h>
#include <stdatomic.h>

static void echo(jw_endpoint *ep, jw_msg *req, void *arg)
{
    (void)ep;
    (void)arg;
    jw_msg_respond(req, jw_msg_data(req), jw_msg_data_len(req));
}

static int serve(const char *url, const char *subject)
{
    jw_conn *nc = NULL;
    jw_service *svc = NULL;
    char config[300];
    snprintf(config, sizeof config,
             "{\"name\":\"echo\",\"subject\":\"%s\"}", subject);
    jw_status st = jw_conn_connect(url, NULL, &nc);
    if (st == JW_OK)
        st = jw_service_new(nc, "{\"name\":\"bench\",\"version\":\"1.0.0\"}",
                            &svc);
    if (st == JW_OK)
        st = jw_service_add_endpoint(svc, NULL, config, echo, NULL, NULL);
    if (st == JW_OK)
        st = jw_conn_flush(nc, 5000);
    if (st != JW_OK) {
        fprintf(stderr, "bench_service: %s: %s\n", jw_status_name(st),
                jw_last_error());
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin))
        ;
    jw_service_free(svc);
    jw_conn_free(nc);
    return 0;
}

struct load {
    jw_conn *nc;
    const char *subject;
    size_t size;
    void *payload;
    long n;
    atomic_long next;     /* the next measured request's number */
    uint64_t *samples_ns; /* by number */
    atomic_int failures;
};

/* One request and its checked reply; its round trip in ns. */
static uint64_t request_one(struct load *l)
{
    uint64_t t0 = bench_now_ns();
    jw_msg *reply = NULL;
    jw_status st = jw_conn_request(l->nc, l->subject, l->payload, l->size,
                                   5000, &reply);
    uint64_t took = bench_now_ns() - t0;
    if (st != JW_OK || jw_msg_data_len(reply) != l->size) {
        fprintf(stderr, "bench_service: request: %s %s\n",
                jw_status_name(st), jw_last_error());
        atomic_fetch_add(&l->failures, 1);
    }
    jw_msg_free(reply);
    return took;
}

static void *requester(void *arg)
{
    struct load *l = arg;
    long i;
    while ((i = atomic_fetch_add(&l->next, 1)) < l->n)
        l->samples_ns[i] = request_one(l);
    return NULL;
}

static int load(const char *url, const char *subject, long n, long size,
                long concurrency, const char *label)
{
    struct load l = {.subject = subject, .size = (size_t)size, .n = n};
    atomic_init(&l.next, 0);
    atomic_init(&l.failures, 0);
    pthread_t threads[64];
    if (concurrency > 64) {
        fprintf(stderr, "bench_service: at most 64 requesters\n");
        return 2;
    }
    l.payload = bench_payload(l.size);
    l.samples_ns = calloc((size_t)n, sizeof *l.samples_ns);
    jw_status st = jw_conn_connect(url, NULL, &l.nc);
    if (!l.samples_ns || st != JW_OK) {
        fprintf(stderr, "bench_service: connect: %s\n", jw_last_error());
        return 2;
    }
    for (int i = 0; i < BENCH_DEFAULT_WARMUP; i++)
        request_one(&l);

    bench_args args = {.mode_name = "service", .size = l.size, .n = n,
                       .variant = concurrency == 8 ? "c8" : "cN"};
    bench_window w;
    bench_window_start(&w);
    for (long i = 0; i < concurrency; i++)
        pthread_create(&threads[i], NULL, requester, &l);
    for (long i = 0; i < concurrency; i++)
        pthread_join(threads[i], NULL);
    bench_window_stop(&w);
    int failed = atomic_load(&l.failures);
    if (!failed) {
        bench_latency lat = bench_latency_of(l.samples_ns, n);
        bench_report(label, &args, &w, n, &lat);
    }
    jw_conn_free(l.nc);
    free(l.samples_ns);
    free(l.payload);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    long n, size, concurrency;
    if (argc == 4 && strcmp(argv[1], "serve") == 0)
        return serve(argv[2], argv[3]);
    if (argc == 8 && strcmp(argv[1], "load") == 0 &&
        bench_parse_long(argv[4], 1, &n) == 0 &&
        bench_parse_long(argv[5], 0, &size) == 0 &&
        bench_parse_long(argv[6], 1, &concurrency) == 0)
        return load(argv[2], argv[3], n, size, concurrency, argv[7]);
    fprintf(stderr,
            "usage: bench_service serve URL SUBJECT\n"
            "       bench_service load URL SUBJECT N SIZE CONCURRENCY LABEL\n");
    return 2;
}
