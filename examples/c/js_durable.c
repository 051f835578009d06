/*
 * js_durable: the tutorial's "Durable Consumer".
 *
 * Creates (or updates) the durable pull consumer order-processor on the
 * stream ORDERS: explicit acks, from the start of the stream, 30 s to ack,
 * at most 3 deliveries, only orders.created. Fetches orders in batches,
 * processes each (100 ms of simulated work), acks it, and naks what it
 * cannot parse so that it comes back. Because the consumer is durable, a
 * restarted processor carries on after the last acked order.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_js_durable [COUNT]
 *
 * Runs until it has processed COUNT orders (when given) or until
 * SIGINT/SIGTERM. Run example_js_setup first to create the stream.
 */
#include "example.h"

static const char *const consumer_config =
    "{\"durable_name\":\"order-processor\",\"ack_policy\":\"explicit\","
    "\"deliver_policy\":\"all\",\"ack_wait\":30000,\"max_deliver\":3,"
    "\"filter_subject\":\"orders.created\"}";

/* Process one order: ack it when it parses, nak it otherwise. */
static jw_status process(jw_msg *msg)
{
    char json[512], id[64];
    double amount;
    snprintf(json, sizeof json, "%.*s", (int)jw_msg_data_len(msg),
             (const char *)jw_msg_data(msg));
    if (!json_string(json, "id", id, sizeof id) ||
        !json_number(json, "amount", &amount)) {
        printf("Failed to parse order: %s\n", json);
        return jw_msg_nak(msg); /* redelivered, up to max_deliver */
    }
    printf("Processing order: %s, Amount: $%.2f\n", id, amount);
    const struct timespec work = {0, 100 * 1000000L};
    nanosleep(&work, NULL);
    jw_status st = jw_msg_ack(msg);
    if (st == JW_OK)
        printf("Order %s processed successfully\n", id);
    return st;
}

int main(int argc, char **argv)
{
    example_name = "js_durable";
    long limit = 0;
    if (!count_arg(argc, argv, 1, "[COUNT]", &limit))
        return 2;
    start_until_stopped();

    int rc = 1;
    long processed = 0;
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    jw_consumer *cons = NULL;

    if (!connect_jetstream(NULL, &nc, &js))
        goto out;
    jw_status st = jw_js_consumer_create_or_update(js, "ORDERS", consumer_config,
                                         &cons);
    if (st != JW_OK) {
        report("create consumer", st);
        goto out;
    }
    printf("Order processor running.\n");

    while (!stop_requested && (limit == 0 || processed < limit)) {
        int want = limit && limit - processed < 10 ? (int)(limit - processed)
                                                   : 10;
        /* Up to 10 orders, waiting at most 1 s: an empty batch just
         * means nothing new arrived. */
        int n = fetch_each(cons, want, 1000, process);
        if (n < 0)
            goto out;
        processed += n;
    }
    printf("Shutting down...\n");
    /* Acks are written by the engine's loop: drain before leaving, or the
     * last ones could be dropped with the connection and their orders
     * delivered again once the ack wait is over. */
    st = jw_conn_drain(nc, 5000);
    if (st != JW_OK) {
        report("drain", st);
        goto out;
    }
    rc = 0;
out:
    jw_consumer_free(cons);
    jw_js_free(js);
    jw_conn_free(nc);
    return rc;
}
