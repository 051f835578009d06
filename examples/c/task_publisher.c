/*
 * task_publisher: the tutorial's "Task Publisher".
 *
 * Publishes 10 tasks (or COUNT) to tasks.process, 100 ms apart, for the
 * queue workers to share, then flushes.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_task_publisher [COUNT]
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <jetwire.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *server_url(void)
{
    const char *url = getenv("NATS_URL");
    return url && *url ? url : "nats://127.0.0.1:4222";
}

static void report(const char *what, jw_status st)
{
    const char *detail = jw_last_error();
    fprintf(stderr, "task_publisher: %s failed: %s (%s)%s%s\n", what,
            jw_strerror(st), jw_status_name(st), *detail ? ": " : "", detail);
}

static long parse_count(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    return *s && !*end && n > 0 ? n : 0;
}

int main(int argc, char **argv)
{
    long count = 10;
    if (argc > 2 || (argc == 2 && (count = parse_count(argv[1])) == 0)) {
        fprintf(stderr, "usage: %s [COUNT]\n", argv[0]);
        return 2;
    }

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
        int len = snprintf(task, sizeof task,
                           "{\"id\":\"task-%ld\",\"payload\":\"Process item %ld\"}",
                           i, i);
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
