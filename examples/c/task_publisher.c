/*
 * task_publisher: the tutorial's "Task Publisher".
 *
 * Publishes 10 tasks (or COUNT) to tasks.process, 100 ms apart, for the
 * queue workers to share, then flushes.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_task_publisher [COUNT]
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include "example.h"

#include <time.h>

int main(int argc, char **argv)
{
    example_name = "task_publisher";
    long count = 10;
    if (!count_arg(argc, argv, 1, "[COUNT]", &count))
        return 2;

    int rc = 1;
    jw_conn *nc = NULL;
    jw_status st = jw_conn_connect(server_url(), NULL, &nc);
    if (st != JW_OK) {
        report("connect", st);
        goto out;
    }

    const struct timespec gap = {0, 100 * 1000000L};
    for (long i = 1; i <= count; i++) {
        char task[128];
        int len = snprintf(
            task, sizeof task,
            "{\"id\":\"task-%ld\",\"payload\":\"Process item %ld\"}", i, i);
        st = jw_conn_publish(nc, "tasks.process", task, (size_t)len);
        if (st != JW_OK) {
            report("publish", st);
            goto out;
        }
        printf("Published task: task-%ld\n", i);
        nanosleep(&gap, NULL);
    }

    st = jw_conn_flush(nc, 2000); /* all tasks have reached the server */
    if (st != JW_OK) {
        report("flush", st);
        goto out;
    }
    printf("All tasks published\n");
    rc = 0;
out:
    jw_conn_free(nc);
    return rc;
}
