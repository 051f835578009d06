/*
 * order_service: the tutorial's "Order Service" (Complete Microservice
 * Example).
 *
 * Connects as a service does (reconnecting forever, 1 s between rounds),
 * creates or updates the stream ORDERS over orders.> as a work queue (on
 * disk, 7 days at most: each order stays until a worker acks it), then
 * creates COUNT orders (default 3) numbered from FIRST (default 1). Each
 * order is published to orders.created with an acknowledgment from the
 * stream; its JSON is printed, then "Order <id> created and published".
 * Drains before leaving.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_order_service [COUNT [FIRST]]
 *
 * The tutorial's service takes its orders from an HTTP endpoint, which is
 * not this project's field: here they come from the command line instead.
 * Order n is ORD-n; its customer and two items are picked by n from small
 * tables, and the total is the items' prices added up. The Python and Lua
 * order services make the same orders from the same arguments.
 *
 * A stream's retention cannot change: on a server where js_setup already
 * made ORDERS (limits retention) the update is refused. Use a server of
 * its own (as scripts/demo.sh does) or delete that stream first.
 */
#include "example.h"

/* Durations are in ms: 7 days = 604800000. */
static const char *const stream_config =
    "{\"name\":\"ORDERS\",\"subjects\":[\"orders.>\"],\"storage\":\"file\","
    "\"retention\":\"workqueue\",\"max_age\":604800000}";

static const char *const customers[] = {"alice", "bob", "carol"};

static const struct {
    const char *name;
    int cents;
} catalogue[] = {
    {"keyboard", 4999}, {"mouse", 1999}, {"monitor", 18999}, {"cable", 999}};

/* The JSON of order number n, created now, into out. */
static void order_json(long n, char *out, size_t size)
{
    char created_at[32];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(created_at, sizeof created_at, "%Y-%m-%dT%H:%M:%SZ", &utc);

    int first = (int)((n - 1) % 4), second = (int)(n % 4);
    snprintf(out, size,
             "{\"id\":\"ORD-%ld\",\"customer\":\"%s\","
             "\"items\":[\"%s\",\"%s\"],\"total\":%.2f,"
             "\"status\":\"pending\",\"created_at\":\"%s\"}",
             n, customers[(n - 1) % 3], catalogue[first].name,
             catalogue[second].name,
             (catalogue[first].cents + catalogue[second].cents) / 100.0,
             created_at);
}

int main(int argc, char **argv)
{
    example_name = "order_service";
    long count = 3, first = 1;
    if (argc > 3 || (argc > 1 && (count = parse_count(argv[1])) == 0) ||
        (argc > 2 && (first = parse_count(argv[2])) == 0)) {
        fprintf(stderr, "usage: %s [COUNT [FIRST]]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    int rc = 1;
    jw_opts *opts = NULL;
    jw_conn *nc = NULL;
    jw_js *js = NULL;

    /* A service rides out server restarts: reconnect forever, 1 s apart. */
    jw_status st = jw_opts_new(&opts);
    if (!st)
        st = jw_opts_set_str(opts, "name", "order-service");
    if (!st)
        st = jw_opts_set_int(opts, "max_reconnect_attempts", -1);
    if (!st)
        st = jw_opts_set_int(opts, "reconnect_time_wait", 1000);
    if (st != JW_OK) {
        report("options", st);
        goto out;
    }
    if (!connect_jetstream(opts, &nc, &js))
        goto out;
    st = jw_js_stream_create_or_update(js, stream_config, NULL);
    if (st != JW_OK) {
        report("create stream", st);
        goto out;
    }
    printf("Order service ready: stream ORDERS over orders.> (work queue)\n");

    for (long n = first; n < first + count; n++) {
        char order[512];
        order_json(n, order, sizeof order);
        jw_js_pub_ack *ack = NULL;
        /* Waits for the stream's acknowledgment: the order is stored. */
        st = jw_js_publish(js, "orders.created", order, strlen(order), NULL,
                           &ack);
        if (st != JW_OK) {
            report("publish", st);
            goto out;
        }
        jw_js_pub_ack_free(ack);
        printf("%s\n", order);
        printf("Order ORD-%ld created and published\n", n);
    }
    st = jw_conn_drain(nc, 5000);
    if (st != JW_OK) {
        report("drain", st);
        goto out;
    }
    rc = 0;
out:
    jw_js_free(js);
    jw_conn_free(nc);
    jw_opts_free(opts);
    return rc;
}
