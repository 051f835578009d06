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
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include "example.h"

#include <time.h>

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
    example_name = "queue_worker";
    long limit = 0;
    if (!count_arg(argc, argv, 2, "[ID [COUNT]]", &limit))
        return 2;
    const char *worker = argc > 1 ? argv[1] : "worker-1";
    start_until_stopped();

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
