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

/* Process one order and ack it (1), or terminate it when it does not
 * parse (0). *st gets the status of the ack or term. */
static int process(jw_msg *msg, jw_status *st)
{
    char json[1024], id[64], customer[64];
    double total;
    snprintf(json, sizeof json, "%.*s", (int)jw_msg_data_len(msg),
             (const char *)jw_msg_data(msg));
    if (!json_string(json, "id", id, sizeof id) ||
        !json_string(json, "customer", customer, sizeof customer) ||
        !json_number(json, "total", &total)) {
        printf("Bad order, terminated: %s\n", json);
        *st = jw_msg_term(msg);
        return 0;
    }
    printf("Processing order %s for %s: $%.2f\n", id, customer, total);
    *st = jw_msg_ack(msg);
    return 1;
}

int main(int argc, char **argv)
{
    example_name = "order_worker";
    long limit = 0;
    if (!count_arg(argc, argv, 1, "[COUNT]", &limit))
        return 2;
    start_until_stopped();

    int rc = 1;
    long processed = 0;
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    jw_consumer *cons = NULL;

    jw_status st = jw_conn_connect(server_url(), NULL, &nc);
    if (st != JW_OK) {
        report("connect", st);
        goto out;
    }
    st = jw_js_new(nc, &js);
    if (st != JW_OK) {
        report("JetStream context", st);
        goto out;
    }
    st = jw_js_consumer_create_or_update(js, "ORDERS", consumer_config,
                                         &cons);
    if (st != JW_OK) {
        report("create consumer", st);
        goto out;
    }
    printf("Order worker running.\n");

    while (!stop_requested && (limit == 0 || processed < limit)) {
        jw_msg *batch[10];
        int want = limit && limit - processed < 10 ? (int)(limit - processed)
                                                   : 10;
        int n = jw_consumer_fetch(cons, batch, want, IDLE_MS, 0, 0);
        if (n < 0) {
            report("fetch", (jw_status)n);
            goto out;
        }
        if (n == 0) {
            printf("No order for 2 s: the queue is idle.\n");
            break;
        }
        for (int i = 0; i < n; i++) {
            processed += process(batch[i], &st);
            jw_msg_free(batch[i]);
            if (st != JW_OK) {
                report("ack", st);
                for (int j = i + 1; j < n; j++)
                    jw_msg_free(batch[j]);
                goto out;
            }
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
