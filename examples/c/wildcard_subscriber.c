/*
 * wildcard_subscriber: the tutorial's "Wildcard Subscriptions".
 *
 * Two subscriptions with handlers:
 *   orders.*  one token after "orders": orders.created, orders.updated
 *   orders.>  one or more tokens:       orders.created, orders.eu.created
 * A message matching both is delivered to both. Runs until COUNT deliveries
 * in total (when given) or until SIGINT/SIGTERM, then drains.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_wildcard_subscriber [COUNT]
 *
 * Each handler runs on its subscription's delivery thread; the main thread
 * only waits.
 */
#include "example.h"

#include <stdatomic.h>

static atomic_long delivered; /* written by the loop thread, read by main */

/* The handler of both subscriptions: the subscription's own pattern tells
 * which one matched. The message belongs to the handler. */
static void on_order_event(jw_sub *sub, jw_msg *msg, void *arg)
{
    (void)arg;
    printf("[%s] Subject: %s, Data: %.*s\n", jw_sub_subject(sub),
           jw_msg_subject(msg), (int)jw_msg_data_len(msg),
           (const char *)jw_msg_data(msg));
    jw_msg_free(msg);
    atomic_fetch_add(&delivered, 1);
}

int main(int argc, char **argv)
{
    example_name = "wildcard_subscriber";
    long limit = 0;
    if (!count_arg(argc, argv, 1, "[COUNT]", &limit))
        return 2;
    start_until_stopped();

    int rc = 1;
    jw_conn *nc = NULL;
    jw_sub *one_token = NULL, *many_tokens = NULL;

    jw_status st = jw_conn_connect(server_url(), NULL, &nc);
    if (st != JW_OK) {
        report("connect", st);
        goto out;
    }
    st = jw_conn_subscribe_cb(nc, "orders.*", NULL, on_order_event, NULL,
                              &one_token);
    if (st != JW_OK) {
        report("subscribe orders.*", st);
        goto out;
    }
    st = jw_conn_subscribe_cb(nc, "orders.>", NULL, on_order_event, NULL,
                              &many_tokens);
    if (st != JW_OK) {
        report("subscribe orders.>", st);
        goto out;
    }
    st = jw_conn_flush(nc, 2000); /* both subscriptions are now registered */
    if (st != JW_OK) {
        report("flush", st);
        goto out;
    }
    printf("Listening with wildcard subscriptions...\n");

    wait_until_stopped(&delivered, limit);

    /* Unsubscribe both, let the handlers see what is in flight, close. */
    st = jw_conn_drain(nc, 5000);
    if (st != JW_OK) {
        report("drain", st);
        goto out;
    }
    printf("Done: %ld message(s) delivered\n", atomic_load(&delivered));
    rc = 0;
out:
    jw_sub_free(one_token);
    jw_sub_free(many_tokens);
    jw_conn_free(nc);
    return rc;
}
