/*
 * order_worker: processes the order service's orders (order_service).
 *
 * Creates (or updates) the durable pull consumer order-processor on the
 * work-queue stream ORDERS (explicit acks, 30 s to ack, at most 3
 * deliveries, only orders.created), fetches orders in batches and prints
 * "Processing order <id> for <customer>: $<total>" for each, then acks
 * it: the stream then deletes it. An order that does not parse is
 * terminated (the tutorial's "Message Acknowledgment": a poison message
 * is never delivered again).
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_order_worker [COUNT]
 *
 * Stops after COUNT orders (when given), when no order came for 2 s, or
 * on SIGINT/SIGTERM; then drains, so that its last acks reach the server.
 */
#include "example.h"

static const char *const consumer_config =
    "{\"durable_name\":\"order-processor\",\"ack_policy\":\"explicit\","
    "\"deliver_policy\":\"all\",\"ack_wait\":30000,\"max_deliver\":3,"
    "\"filter_subject\":\"orders.created\"}";

enum { IDLE_MS = 2000 };

/* Orders processed and acked so far. */
static long processed;

/* Process one order and ack it, or terminate it when it does not parse. */
static jw_status process(jw_msg *msg)
{
    char json[1024], id[64], customer[64];
    double total;
    snprintf(json, sizeof json, "%.*s", (int)jw_msg_data_len(msg),
             (const char *)jw_msg_data(msg));
    if (!json_string(json, "id", id, sizeof id) ||
        !json_string(json, "customer", customer, sizeof customer) ||
        !json_number(json, "total", &total)) {
        printf("Bad order, terminated: %s\n", json);
        return jw_msg_term(msg);
    }
    printf("Processing order %s for %s: $%.2f\n", id, customer, total);
    jw_status st = jw_msg_ack(msg);
    if (st == JW_OK)
        processed++;
    return st;
}

int main(int argc, char **argv)
{
    example_name = "order_worker";
    long limit = 0;
    if (!count_arg(argc, argv, 1, "[COUNT]", &limit))
        return 2;
    start_until_stopped();

    int rc = 1;
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    jw_consumer *cons = NULL;

    if (!connect_jetstream(NULL, &nc, &js))
        goto out;
    jw_status st = jw_js_consumer_create_or_update(js, "ORDERS",
                                                   consumer_config, &cons);
    if (st != JW_OK) {
        report("create consumer", st);
        goto out;
    }
    printf("Order worker running.\n");

    while (!stop_requested && (limit == 0 || processed < limit)) {
        int want = limit && limit - processed < 10 ? (int)(limit - processed)
                                                   : 10;
        int n = fetch_each(cons, want, IDLE_MS, process);
        if (n < 0)
            goto out;
        if (n == 0) {
            printf("No order for 2 s: the queue is idle.\n");
            break;
        }
    }
    printf("Done: %ld order(s) processed\n", processed);
    /* Acks are written by the engine's loop: drain before leaving, or the
     * last ones could be lost and their orders delivered again. */
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
