/*
 * js_counters: distributed counters (ADR-49, nats-server 2.12).
 *
 * Creates the stream PAGEVIEWS over pages.>, whose subjects are counters
 * (allow_msg_counter), counts visits to two pages, takes some back, reads
 * one counter and then every counter of the stream with one request.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_js_counters
 *
 * Counter values are decimal text of any size (the server counts with big
 * integers): "+1", "-3", "100000000000000000000" all work.
 */
#include "example.h"

static const char *const stream_config =
    "{\"name\":\"PAGEVIEWS\",\"subjects\":[\"pages.>\"],"
    "\"storage\":\"memory\",\"allow_msg_counter\":true,"
    "\"allow_direct\":true}";

static int add(jw_js *js, const char *subject, const char *delta)
{
    char *total = NULL;
    jw_status st = jw_js_counter_add(js, subject, delta, NULL, &total);
    if (st != JW_OK) {
        report("counter add", st);
        return 0;
    }
    printf("%s %s -> %s\n", subject, delta, total);
    jw_free(total);
    return 1;
}

int main(void)
{
    example_name = "js_counters";
    int rc = 1;
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    jw_direct_batch *batch = NULL;
    char *entry = NULL;

    if (!connect_jetstream(NULL, &nc, &js))
        goto out;
    jw_js_stream_delete(js, "PAGEVIEWS"); /* start from zero */
    jw_status st = jw_js_stream_create(js, stream_config, NULL);
    if (st != JW_OK) {
        report("create stream", st);
        goto out;
    }
    for (int i = 0; i < 3; i++)
        if (!add(js, "pages.home", "+1"))
            goto out;
    if (!add(js, "pages.about", "+10") || !add(js, "pages.about", "-4") ||
        !add(js, "pages.big", "100000000000000000000"))
        goto out;

    /* One counter: its total and its last increment. */
    if ((st = jw_js_counter_get(js, "PAGEVIEWS", "pages.home", &entry))) {
        report("counter get", st);
        goto out;
    }
    printf("pages.home: %s\n", entry);

    /* Every counter at once: the last message of each subject. */
    const char *all[] = {"pages.>"};
    if ((st = jw_js_direct_get_batch(js, "PAGEVIEWS", all, 1, NULL,
                                     &batch))) {
        report("direct get", st);
        goto out;
    }
    for (;;) {
        jw_msg *m = NULL;
        char *e = NULL;
        if ((st = jw_direct_batch_next(batch, 5000, &m)) != JW_OK) {
            report("next counter", st);
            goto out;
        }
        if (!m)
            break;
        st = jw_js_counter_entry(m, &e);
        jw_msg_free(m);
        if (st != JW_OK) {
            report("counter entry", st);
            goto out;
        }
        char subject[64], value[64];
        if (json_string(e, "subject", subject, sizeof subject) &&
            json_string(e, "val", value, sizeof value))
            printf("  %-12s %s\n", subject, value);
        jw_free(e);
    }
    rc = 0;
out:
    jw_free(entry);
    jw_direct_batch_free(batch);
    jw_js_free(js);
    jw_conn_free(nc);
    return rc;
}
