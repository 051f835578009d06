/*
 * publisher: the tutorial's "Simple Publisher".
 *
 * Publishes one order, as JSON, to orders.created (or to the subject given
 * as the only argument) and flushes, so that the message has reached the
 * server before the program exits.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_publisher [SUBJECT]
 */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */

#include "example.h"

#include <time.h>

int main(int argc, char **argv)
{
    example_name = "publisher";
    if (argc > 2) {
        fprintf(stderr, "usage: %s [SUBJECT]\n", argv[0]);
        return 2;
    }
    const char *subject = argc > 1 ? argv[1] : "orders.created";

    /* The order, serialized by hand: a flat JSON object. */
    char created_at[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created_at, sizeof created_at, "%Y-%m-%dT%H:%M:%SZ", &tm);

    const char *order_id = "ORD-12345";
    char order[256];
    int len = snprintf(order, sizeof order,
                       "{\"id\":\"%s\",\"customer_id\":\"%s\",\"amount\":%.2f,"
                       "\"status\":\"%s\",\"created_at\":\"%s\"}",
                       order_id, "CUST-789", 99.99, "created", created_at);
    if (len < 0 || (size_t)len >= sizeof order) {
        fprintf(stderr, "publisher: order does not fit its buffer\n");
        return 1;
    }

    int rc = 1;
    jw_conn *nc = NULL;
    jw_status st = jw_conn_connect(server_url(), NULL, &nc);
    if (st != JW_OK) {
        report("connect", st);
        goto out;
    }

    /* Publishing only queues the message for the socket... */
    st = jw_conn_publish(nc, subject, order, (size_t)len);
    if (st != JW_OK) {
        report("publish", st);
        goto out;
    }
    /* ...flush writes it and waits for the server's PONG, so it has
     * arrived before we close the connection. */
    st = jw_conn_flush(nc, 2000);
    if (st != JW_OK) {
        report("flush", st);
        goto out;
    }

    printf("Published order %s to %s\n", order_id, subject);
    rc = 0;
out:
    jw_conn_free(nc); /* closes the connection; accepts NULL */
    return rc;
}
