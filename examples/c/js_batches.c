/*
 * js_batches: publishing many messages at once (ADR-50).
 *
 * An atomic batch (nats-server 2.12) stores an order and its lines all
 * together or not at all: the second order's batch expects a sequence the
 * stream does not have, so none of it is stored. A fast-ingest batch
 * (nats-server 2.14) then publishes 10,000 sensor readings with flow
 * control instead of one acknowledgment per message.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_js_batches
 */
#include "example.h"

static const char *const stream_config =
    "{\"name\":\"SHOP\",\"subjects\":[\"shop.>\"],\"storage\":\"memory\","
    "\"allow_atomic\":true,\"allow_batched\":true}";

static jw_status send_order(jw_js *js, int order, int lines,
                            int64_t expected_last_seq, jw_js_pub_ack **ack)
{
    jw_js_batch *b = NULL;
    jw_call_opts *first = NULL;
    jw_msg *m = NULL;
    char subject[64], body[64];
    jw_status st = jw_js_batch_new(js, &b);
    /* Checked when the batch commits, against the stream before it. */
    if (st == JW_OK && expected_last_seq >= 0 &&
        (st = jw_call_opts_new("publish", &first)) == JW_OK)
        st = jw_call_opts_set_int(first, "expected_last_seq",
                                  expected_last_seq);
    for (int i = 0; st == JW_OK && i <= lines; i++) {
        snprintf(subject, sizeof subject, "shop.order.%d.%s", order,
                 i ? "line" : "header");
        snprintf(body, sizeof body, "{\"order\":%d,\"line\":%d}", order, i);
        jw_msg_free(m);
        m = NULL;
        st = jw_msg_new(subject, NULL, body, strlen(body), &m);
        if (st == JW_OK)
            st = i < lines ? jw_js_batch_add(b, m, i ? NULL : first)
                           : jw_js_batch_commit(b, m, NULL, ack);
    }
    jw_msg_free(m);
    jw_call_opts_free(first);
    jw_js_batch_free(b);
    return st;
}

int main(void)
{
    example_name = "js_batches";
    int rc = 1;
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    jw_js_fast *fast = NULL;
    jw_js_pub_ack *ack = NULL;
    jw_msg *reading = NULL;

    if (!connect_jetstream(NULL, &nc, &js))
        goto out;
    jw_js_stream_delete(js, "SHOP");
    jw_status st = jw_js_stream_create(js, stream_config, NULL);
    if (st != JW_OK) {
        report("create stream", st);
        goto out;
    }

    if ((st = send_order(js, 1, 3, -1, &ack)) != JW_OK) {
        report("order 1", st);
        goto out;
    }
    printf("Order 1: batch %s stored %llu messages, last sequence %llu\n",
           jw_js_pub_ack_batch(ack),
           (unsigned long long)jw_js_pub_ack_count(ack),
           (unsigned long long)jw_js_pub_ack_seq(ack));
    jw_js_pub_ack_free(ack);
    ack = NULL;
    /* The stream is at 4, not 1: the whole batch is refused. */
    st = send_order(js, 2, 3, 1, &ack);
    printf("Order 2: %s (%s)\n", jw_status_name(st), jw_last_error());
    if (st != JW_EWRONG_LAST_SEQUENCE)
        goto out;

    /* Fast ingest: 10,000 readings, acknowledged every so many. */
    if ((st = jw_js_fast_new(js, NULL, &fast)) != JW_OK) {
        report("fast batch", st);
        goto out;
    }
    for (int i = 0; i < 10000; i++) {
        char body[32];
        int len = snprintf(body, sizeof body, "{\"celsius\":%d.%d}",
                           18 + i % 5, i % 10);
        jw_msg_free(reading);
        reading = NULL;
        st = jw_msg_new("shop.sensor.temp", NULL, body, (size_t)len,
                        &reading);
        if (st == JW_OK)
            st = jw_js_fast_add(fast, reading, NULL, NULL);
        if (st != JW_OK) {
            report("fast add", st);
            goto out;
        }
    }
    if ((st = jw_js_fast_commit(fast, NULL, &ack)) != JW_OK) {
        report("fast commit", st);
        goto out;
    }
    printf("Readings: %llu stored by one fast batch\n",
           (unsigned long long)jw_js_pub_ack_count(ack));
    rc = 0;
out:
    jw_msg_free(reading);
    jw_js_pub_ack_free(ack);
    jw_js_fast_free(fast);
    jw_js_free(js);
    jw_conn_free(nc);
    return rc;
}
