/*
 * queue_worker: the tutorial's "Worker with Queue Group".
 *
 * Joins the queue group "workers" on tasks.process. The server hands each
 * task to one member of the group only, so several workers share the load.
 * Prints which worker got which task. Runs until it has processed COUNT
 * tasks (when given) or until SIGINT/SIGTERM, then drains, finishing every
 * task already delivered to it.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_queue_worker [ID [COUNT]]
 *
 * ID defaults to worker-1. Tasks are pulled on the main thread, where the
 * simulated work may take its time without holding up the engine.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, nanosleep */

#include <jetwire.h>

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static const char *server_url(void)
{
    const char *url = getenv("NATS_URL");
    return url && *url ? url : "nats://127.0.0.1:4222";
}

static void report(const char *what, jw_status st)
{
    const char *detail = jw_last_error();
    fprintf(stderr, "queue_worker: %s failed: %s (%s)%s%s\n", what,
            jw_strerror(st), jw_status_name(st), *detail ? ": " : "", detail);
}

static long parse_count(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    return *s && !*end && n > 0 ? n : 0;
}

/* Copy the string value of key in a flat JSON object into out (1), or
 * return 0. Not a JSON parser: no nesting, no escaped quotes. */
static int json_string(const char *json, const char *key, char *out,
                       size_t size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *p = strstr(json, pattern);
    if (!p)
        return 0;
    p += strlen(pattern);
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != ':')
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != '"')
        return 0;
    const char *end = strchr(p, '"');
    if (!end)
        return 0;
    snprintf(out, size, "%.*s", (int)(end - p), p);
    return 1;
}

static void process_task(const char *worker, const jw_msg *msg)
{
    char json[512], id[64], payload[128];
    snprintf(json, sizeof json, "%.*s", (int)jw_msg_data_len(msg),
             (const char *)jw_msg_data(msg));
    if (!json_string(json, "id", id, sizeof id) ||
        !json_string(json, "payload", payload, sizeof payload)) {
        printf("[%s] Invalid task: %s\n", worker, json);
        return;
    }
    printf("[%s] Processing task: %s (%s)\n", worker, id, payload);

    const struct timespec work = {0, 100 * 1000000L}; /* simulated work */
    nanosleep(&work, NULL);

    printf("[%s] Completed task: %s\n", worker, id);
}

int main(int argc, char **argv)
{
    long limit = 0;
    if (argc > 3 || (argc == 3 && (limit = parse_count(argv[2])) == 0)) {
        fprintf(stderr, "usage: %s [ID [COUNT]]\n", argv[0]);
        return 2;
    }
    const char *worker = argc > 1 ? argv[1] : "worker-1";
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int rc = 1;
    long processed = 0;
    jw_conn *nc = NULL;
    jw_sub *sub = NULL;
    jw_msg *msg = NULL;

    jw_status st = jw_conn_connect(server_url(), NULL, &nc);
    if (st != JW_OK) {
        report("connect", st);
        goto out;
    }
    /* The queue name makes this a group member rather than a listener. */
    st = jw_conn_subscribe(nc, "tasks.process", "workers", &sub);
    if (st != JW_OK) {
        report("subscribe", st);
        goto out;
    }
    st = jw_conn_flush(nc, 2000);
    if (st != JW_OK) {
        report("flush", st);
        goto out;
    }
    printf("[%s] Ready to process tasks...\n", worker);

    while (!stop_requested && (limit == 0 || processed < limit)) {
        st = jw_sub_next(sub, 200, &msg);
        if (st == JW_ETIMEOUT)
            continue;
        if (st != JW_OK) {
            report("receive", st);
            goto out;
        }
        process_task(worker, msg);
        jw_msg_free(msg);
        processed++;
    }

    /* Leave the group gracefully: tasks the server already gave us are
     * still processed after the drain, not lost. */
    st = jw_conn_drain(nc, 5000);
    if (st != JW_OK) {
        report("drain", st);
        goto out;
    }
    while (jw_sub_next(sub, 0, &msg) == JW_OK) {
        process_task(worker, msg);
        jw_msg_free(msg);
        processed++;
    }
    printf("[%s] Stopped after %ld task(s)\n", worker, processed);
    rc = 0;
out:
    jw_sub_free(sub);
    jw_conn_free(nc);
    return rc;
}
