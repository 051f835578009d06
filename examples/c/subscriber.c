/*
 * subscriber: the tutorial's "Simple Subscriber" and "Graceful Shutdown".
 *
 * Subscribes to orders.created and prints every order it receives. It runs
 * until it has received COUNT orders (when given) or until SIGINT/SIGTERM,
 * then drains: the subscription is closed, orders already on their way
 * still arrive and are printed, and only then does the connection close.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_subscriber [COUNT]
 *
 * Messages are pulled with jw_sub_next on the main thread, so the program
 * can watch for the signal between two waits.
 */
#include "example.h"

/* Print one order. The payload is not NUL-terminated: copy it first. */
static void print_order(const jw_msg *msg)
{
    char json[512], id[64], customer[64];
    double amount;
    snprintf(json, sizeof json, "%.*s", (int)jw_msg_data_len(msg),
             (const char *)jw_msg_data(msg));
    if (!json_string(json, "id", id, sizeof id) ||
        !json_string(json, "customer_id", customer, sizeof customer) ||
        !json_number(json, "amount", &amount)) {
        printf("Failed to parse order: %s\n", json);
        return;
    }
    printf("Received order: ID=%s, Customer=%s, Amount=$%.2f\n", id, customer,
           amount);
}

int main(int argc, char **argv)
{
    example_name = "subscriber";
    long limit = 0; /* 0: until a signal */
    if (!count_arg(argc, argv, 1, "[COUNT]", &limit))
        return 2;
    start_until_stopped();

    int rc = 1;
    long received = 0;
    jw_conn *nc = NULL;
    jw_sub *sub = NULL;
    jw_msg *msg = NULL;

    jw_status st = jw_conn_connect(server_url(), NULL, &nc);
    if (st != JW_OK) {
        report("connect", st);
        goto out;
    }
    /* No handler: messages queue in the subscription until we pull them. */
    st = jw_conn_subscribe(nc, "orders.created", NULL, &sub);
    if (st != JW_OK) {
        report("subscribe", st);
        goto out;
    }
    /* After a flush round trip the server has registered the subscription,
     * so anything published from now on reaches us. */
    st = jw_conn_flush(nc, 2000);
    if (st != JW_OK) {
        report("flush", st);
        goto out;
    }
    printf("Listening for orders on 'orders.created'...\n");

    while (!stop_requested && (limit == 0 || received < limit)) {
        /* A short timeout, so a signal is noticed quickly. */
        st = jw_sub_next(sub, 200, &msg);
        if (st == JW_ETIMEOUT)
            continue;
        if (st != JW_OK) {
            report("receive", st);
            goto out;
        }
        print_order(msg);
        jw_msg_free(msg);
        received++;
    }
    if (stop_requested)
        printf("Received shutdown signal\n");

    /* Graceful shutdown: unsubscribe, let in-flight messages land, close.
     * What arrived meanwhile stays queued and is handled, not lost. */
    st = jw_conn_drain(nc, 5000);
    if (st != JW_OK) {
        report("drain", st);
        goto out;
    }
    while (jw_sub_next(sub, 0, &msg) == JW_OK) {
        print_order(msg);
        jw_msg_free(msg);
        received++;
    }
    printf("Graceful shutdown complete: %ld order(s) received\n", received);
    rc = 0;
out:
    jw_sub_free(sub);
    jw_conn_free(nc);
    return rc;
}
