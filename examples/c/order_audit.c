/*
 * order_audit: checks the order service's work queue (order_service,
 * order_worker): how many orders were published, processed and are still
 * pending.
 *
 * Reads the info of the stream ORDERS and of its durable consumer
 * order-processor and prints both, then a summary line such as
 * "published 5, processed 5, pending 0". Exits 0 only when every order
 * published was processed.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_order_audit
 *
 * In a work queue an order leaves the stream once a worker acks it, so
 * the stream's last sequence counts the orders published and the
 * messages still stored are the ones pending; the difference was
 * processed. (An order a worker terminated as unreadable leaves the
 * stream as well, and so would orders removed by max_age or a purge: they
 * count as processed too.) The consumer tells the pending ones apart:
 * delivered but not acked yet, or not delivered yet.
 */
#include "example.h"

/* A number found by key inside the JSON object member `object` of json:
 * 1 with *out set, or 0. */
static int member_number(const char *json, const char *object,
                         const char *key, double *out)
{
    const char *inner = json_value(json, object);
    return inner && *inner == '{' && json_number(inner, key, out);
}

int main(void)
{
    example_name = "order_audit";
    int rc = 1;
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    char *stream_info = NULL, *consumer_info = NULL;

    if (!connect_jetstream(NULL, &nc, &js))
        goto out;
    jw_status st = jw_js_stream_info(js, "ORDERS", &stream_info);
    if (st != JW_OK) {
        report("stream info", st);
        goto out;
    }
    double published, stored;
    if (!member_number(stream_info, "state", "last_seq", &published) ||
        !member_number(stream_info, "state", "messages", &stored)) {
        fprintf(stderr, "order_audit: unexpected stream info: %s\n",
                stream_info);
        goto out;
    }
    printf("Stream ORDERS: %.0f order(s) published, %.0f still stored\n",
           published, stored);

    /* Before any worker ran there is no consumer: nothing was delivered. */
    double unacked = 0, undelivered = stored, acked_floor = 0;
    st = jw_js_consumer_info(js, "ORDERS", "order-processor",
                             &consumer_info);
    if (st == JW_ECONSUMER_NOT_FOUND) {
        printf("Consumer order-processor: not created yet\n");
    } else if (st != JW_OK) {
        report("consumer info", st);
        goto out;
    } else if (!json_number(consumer_info, "num_ack_pending", &unacked) ||
               !json_number(consumer_info, "num_pending", &undelivered) ||
               !member_number(consumer_info, "ack_floor", "stream_seq",
                              &acked_floor)) {
        fprintf(stderr, "order_audit: unexpected consumer info: %s\n",
                consumer_info);
        goto out;
    } else {
        printf("Consumer order-processor: %.0f waiting for an ack, %.0f not "
               "delivered yet, all acked up to sequence %.0f\n",
               unacked, undelivered, acked_floor);
    }

    printf("published %.0f, processed %.0f, pending %.0f\n", published,
           published - stored, stored);
    if (stored == 0 && unacked == 0 && undelivered == 0) {
        printf("All orders processed.\n");
        rc = 0;
    } else {
        printf("Not all orders processed.\n");
    }
out:
    jw_free(consumer_info);
    jw_free(stream_info);
    jw_js_free(js);
    jw_conn_free(nc);
    return rc;
}
