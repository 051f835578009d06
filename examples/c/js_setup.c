/*
 * js_setup: the tutorial's "Creating Streams and Consumers".
 *
 * Creates (or updates) the stream ORDERS over orders.>, kept on disk for
 * 24 hours and at most 100000 messages, then publishes five orders to
 * orders.created and prints the sequence the stream gave each one.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_js_setup
 *
 * Configurations are JSON in the server's own schema, with durations in
 * milliseconds (24 h = 86400000).
 */
#include "example.h"

static const char *const stream_config =
    "{\"name\":\"ORDERS\",\"description\":\"Order events stream\","
    "\"subjects\":[\"orders.>\"],\"storage\":\"file\","
    "\"retention\":\"limits\",\"max_age\":86400000,\"max_msgs\":100000,"
    "\"num_replicas\":1}";

int main(void)
{
    example_name = "js_setup";
    int rc = 1;
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    char *info = NULL;

    if (!connect_jetstream(NULL, &nc, &js))
        goto out;
    /* Streams persist messages; any number of consumers can read them. */
    jw_status st = jw_js_stream_create_or_update(js, stream_config, &info);
    if (st != JW_OK) {
        report("create stream", st);
        goto out;
    }
    printf("Stream created: ORDERS with subjects [orders.>]\n");

    for (int i = 1; i <= 5; i++) {
        char order[128];
        snprintf(order, sizeof order,
                 "{\"id\":\"ORD-%d\",\"amount\":%.2f,\"status\":\"pending\"}",
                 i, i * 25.50);
        jw_js_pub_ack *ack = NULL;
        /* Waits for the stream's acknowledgment: stored, with a sequence. */
        st = jw_js_publish(js, "orders.created", order, strlen(order), NULL,
                           &ack);
        if (st != JW_OK) {
            report("publish", st);
            goto out;
        }
        printf("Published order ORD-%d, sequence: %llu\n", i,
               (unsigned long long)jw_js_pub_ack_seq(ack));
        jw_js_pub_ack_free(ack);
    }
    rc = 0;
out:
    jw_free(info);
    jw_js_free(js);
    jw_conn_free(nc);
    return rc;
}
