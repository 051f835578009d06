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
 *   NATS_URL=nats://127.0.0.1:4222 ./example_order_service serve [COUNT [FIRST]]
 *
 * The tutorial's service takes its orders from an HTTP endpoint, which is
 * not this project's field: here they come from the command line instead.
 * Order n is ORD-n; its customer and two items are picked by n from small
 * tables, and the total is the items' prices added up. The Python and Lua
 * order services make the same orders from the same arguments.
 *
 * With "serve" the orders come as requests instead: the order service is
 * the micro service "orders" 1.0.0 with one endpoint, "create", on
 * order.create (outside orders.>, which the stream captures). A request is
 *   {"customer":"alice","items":["keyboard","mouse"]}
 * (a customer, one or more items of the catalogue); the service makes
 * order ORD-n (n from FIRST, +1 per order), publishes it as above, prints
 * the same two lines and replies with the order's JSON. A request that is
 * not such JSON, or names an item the catalogue lacks, gets an error reply
 * with code 400 (headers Nats-Service-Error and Nats-Service-Error-Code);
 * a JetStream failure, 503 with the error's text. It stops after COUNT
 * orders (when given) or on SIGINT/SIGTERM: the service stops (the
 * requests on the way are answered), the connection drains, and it prints
 * "Order service stopped after <k> order(s)". Try it with natscli:
 *   nats request order.create '{"customer":"alice","items":["mouse"]}'
 *   nats micro stats orders
 * The handler runs on the endpoint's delivery thread, where it may wait
 * for the stream's acknowledgment.
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

#define CATALOGUE_SIZE 4
static const struct {
    const char *name;
    int cents;
} catalogue[CATALOGUE_SIZE] = {
    {"keyboard", 4999}, {"mouse", 1999}, {"monitor", 18999}, {"cable", 999}};

/* The JSON of order number n for customer (JSON string text, escapes
 * kept: customer_len bytes) with the catalogue's items[0..count), created
 * now: a string to free, or NULL when out of memory. */
static char *order_json_of(long n, const char *customer, size_t customer_len,
                           const int *items, size_t count)
{
    char created_at[32];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(created_at, sizeof created_at, "%Y-%m-%dT%H:%M:%SZ", &utc);

    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&out, &size);
    if (!f)
        return NULL;
    long long cents = 0;
    fprintf(f, "{\"id\":\"ORD-%ld\",\"customer\":\"%.*s\",\"items\":[", n,
            (int)customer_len, customer);
    for (size_t i = 0; i < count; i++) {
        fprintf(f, "%s\"%s\"", i ? "," : "", catalogue[items[i]].name);
        cents += catalogue[items[i]].cents;
    }
    fprintf(f, "],\"total\":%.2f,\"status\":\"pending\",\"created_at\":\"%s\"}",
            cents / 100.0, created_at);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* The JSON of order number n, created now: its customer and two items
 * picked by n (to free; NULL when out of memory). */
static char *order_json(long n)
{
    const char *customer = customers[(n - 1) % 3];
    int items[2] = {(int)((n - 1) % 4), (int)(n % 4)};
    return order_json_of(n, customer, strlen(customer), items, 2);
}

/* ---- serve: orders as requests ---- */

/* The descriptions of the error replies, the same in every language. */
#define NOT_AN_ORDER "expected {\"customer\":\"...\",\"items\":[\"...\",...]}"
#define UNKNOWN_ITEM \
    "unknown item (the catalogue: keyboard, mouse, monitor, cable)"
#define STOPPING "the service is stopping"

/* A small reader of the one JSON object a request is: enough JSON (any
 * spacing, strings with escapes) for {"customer":"...","items":[...]}. */
struct reader {
    const char *p, *end;
};

static void skip_space(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
                             *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* Take c (after spaces): 1, or 0 when something else comes. */
static int take(struct reader *r, char c)
{
    skip_space(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return 1;
    }
    return 0;
}

/* A JSON string (after spaces): 1 with *text and *len its text between the
 * quotes (escapes kept, checked), or 0 when there is none. */
static int take_string(struct reader *r, const char **text, size_t *len)
{
    if (!take(r, '"'))
        return 0;
    const char *start = r->p;
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p++;
        if (c < 0x20)
            return 0;
        if (c != '\\')
            continue;
        if (r->p >= r->end)
            return 0;
        c = (unsigned char)*r->p++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++)
                if (r->p >= r->end || !isxdigit((unsigned char)*r->p++))
                    return 0;
        } else if (!strchr("\"\\/bfnrt", c) || !c) {
            return 0;
        }
    }
    if (r->p >= r->end)
        return 0;
    *text = start;
    *len = (size_t)(r->p++ - start);
    return 1;
}

static int is_key(const char *text, size_t len, const char *key)
{
    return len == strlen(key) && memcmp(text, key, len) == 0;
}

/* The catalogue's index of an item, or -1. */
static int find_item(const char *name, size_t len)
{
    for (int i = 0; i < CATALOGUE_SIZE; i++)
        if (is_key(name, len, catalogue[i].name))
            return i;
    return -1;
}

/* Read the request {"customer":"...","items":["...",...]} (nothing else):
 * NULL with the customer's text and the items' catalogue indexes (items
 * has room for len / 3 + 1), or the description of the error reply. */
static const char *read_request(const char *data, size_t len,
                                const char **customer, size_t *customer_len,
                                int *items, size_t *count)
{
    struct reader r = {data, data + len};
    int unknown = 0, seen_items = 0;
    const char *key;
    size_t key_len;

    *customer = NULL;
    *customer_len = 0;
    if (!take(&r, '{'))
        return NOT_AN_ORDER;
    do {
        if (!take_string(&r, &key, &key_len) || !take(&r, ':'))
            return NOT_AN_ORDER;
        if (is_key(key, key_len, "customer")) {
            if (!take_string(&r, customer, customer_len))
                return NOT_AN_ORDER;
        } else if (is_key(key, key_len, "items")) {
            /* A member given twice: the last one counts, as in Python. */
            *count = 0;
            seen_items = 1;
            if (!take(&r, '['))
                return NOT_AN_ORDER;
            if (!take(&r, ']')) {
                do {
                    const char *name;
                    size_t name_len;
                    if (!take_string(&r, &name, &name_len))
                        return NOT_AN_ORDER;
                    int item = find_item(name, name_len);
                    if (item < 0)
                        unknown = 1;
                    else
                        items[(*count)++] = item;
                } while (take(&r, ','));
                if (!take(&r, ']'))
                    return NOT_AN_ORDER;
            }
        } else {
            return NOT_AN_ORDER;
        }
    } while (take(&r, ','));
    if (!take(&r, '}'))
        return NOT_AN_ORDER;
    skip_space(&r);
    if (r.p != r.end || !*customer || *customer_len == 0 || !seen_items ||
        (*count == 0 && !unknown))
        return NOT_AN_ORDER;
    return unknown ? UNKNOWN_ITEM : NULL;
}

struct order_desk {
    jw_js *js;
    long next;           /* the number of the next order */
    long limit;          /* stop after this many (0: no limit) */
    atomic_long created; /* orders created */
};

/* One request on order.create; the engine's until the handler returns.
 * The endpoint's requests come one at a time, on its delivery thread. */
static void on_create(jw_endpoint *ep, jw_msg *req, void *arg)
{
    struct order_desk *desk = arg;
    const char *data = jw_msg_data(req);
    size_t len = jw_msg_data_len(req);
    jw_status st;

    if (desk->limit && atomic_load(&desk->created) >= desk->limit) {
        st = jw_endpoint_respond_error(ep, req, "503", STOPPING, NULL, 0);
        if (st != JW_OK)
            report("respond", st);
        return;
    }

    const char *customer;
    size_t customer_len, count = 0;
    int *items = malloc((len / 3 + 1) * sizeof *items);
    if (!items) {
        st = jw_endpoint_respond_error(ep, req, "500", "out of memory", NULL,
                                       0);
        if (st != JW_OK)
            report("respond", st);
        return;
    }
    const char *problem =
        read_request(data, len, &customer, &customer_len, items, &count);
    if (problem) {
        free(items);
        st = jw_endpoint_respond_error(ep, req, "400", problem, NULL, 0);
        if (st != JW_OK)
            report("respond", st);
        return;
    }

    long n = desk->next;
    char *order = order_json_of(n, customer, customer_len, items, count);
    free(items);
    if (!order) {
        st = jw_endpoint_respond_error(ep, req, "500", "out of memory", NULL,
                                       0);
        if (st != JW_OK)
            report("respond", st);
        return;
    }
    jw_js_pub_ack *ack = NULL;
    /* Waits for the stream's acknowledgment: the order is stored. */
    st = jw_js_publish(desk->js, "orders.created", order, strlen(order), NULL,
                       &ack);
    if (st != JW_OK) {
        const char *detail = jw_last_error();
        char text[256];
        snprintf(text, sizeof text, "%s", *detail ? detail : jw_strerror(st));
        report("publish", st);
        free(order);
        st = jw_endpoint_respond_error(ep, req, "503", text, NULL, 0);
        if (st != JW_OK)
            report("respond", st);
        return;
    }
    jw_js_pub_ack_free(ack);
    desk->next = n + 1;
    printf("%s\n", order);
    printf("Order ORD-%ld created and published\n", n);
    /* The reply goes to the request's reply subject (its inbox). */
    st = jw_msg_respond(req, order, strlen(order));
    if (st != JW_OK)
        report("respond", st);
    free(order);
    atomic_fetch_add(&desk->created, 1);
}

/* Serve orders on order.create until limit orders were created (0: no
 * limit) or a signal came; then stop the service and drain. 1 when all
 * went well, 0 after reporting what failed. */
static int serve(jw_conn *nc, jw_js *js, long limit, long first)
{
    struct order_desk desk = {.js = js, .next = first, .limit = limit};
    atomic_init(&desk.created, 0);
    jw_service *svc = NULL;
    int ok = 0;

    jw_status st = jw_service_new(
        nc,
        "{\"name\":\"orders\",\"version\":\"1.0.0\","
        "\"description\":\"the tutorial's order service\"}",
        &svc);
    if (st == JW_OK)
        st = jw_service_add_endpoint(
            svc, NULL, "{\"name\":\"create\",\"subject\":\"order.create\"}",
            on_create, &desk, NULL);
    if (st != JW_OK) {
        report("service", st);
        goto out;
    }
    st = jw_conn_flush(nc, 2000); /* the server knows us from now on */
    if (st != JW_OK) {
        report("flush", st);
        goto out;
    }
    printf("Order service ready: stream ORDERS over orders.> (work queue); "
           "service orders on order.create (service id %s)\n",
           jw_service_id(svc));

    wait_until_stopped(&desk.created, limit);

    /* Stop the service (its requests in flight are answered), then drain
     * the connection: what is still queued is written before it closes. */
    st = jw_service_stop(svc);
    if (st == JW_OK)
        st = jw_service_wait(svc, 5000);
    if (st == JW_OK)
        st = jw_conn_drain(nc, 5000);
    if (st != JW_OK) {
        report("drain", st);
        goto out;
    }
    printf("Order service stopped after %ld order(s)\n",
           atomic_load(&desk.created));
    ok = 1;
out:
    jw_service_free(svc);
    return ok;
}

int main(int argc, char **argv)
{
    example_name = "order_service";
    const char *prog = argv[0];
    int serving = argc > 1 && strcmp(argv[1], "serve") == 0;
    if (serving) {
        argv++;
        argc--;
    }
    long count = serving ? 0 : 3, first = 1;
    if (argc > 3 || (argc > 1 && (count = parse_count(argv[1])) == 0) ||
        (argc > 2 && (first = parse_count(argv[2])) == 0)) {
        fprintf(stderr, "usage: %s [serve] [COUNT [FIRST]]\n", prog);
        return 2;
    }
    if (serving)
        start_until_stopped();
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
    if (serving) {
        rc = serve(nc, js, count, first) ? 0 : 1;
        goto out;
    }
    printf("Order service ready: stream ORDERS over orders.> (work queue)\n");

    for (long n = first; n < first + count; n++) {
        char *order = order_json(n);
        if (!order) {
            fprintf(stderr, "%s: out of memory\n", example_name);
            goto out;
        }
        jw_js_pub_ack *ack = NULL;
        /* Waits for the stream's acknowledgment: the order is stored. */
        st = jw_js_publish(js, "orders.created", order, strlen(order), NULL,
                           &ack);
        if (st != JW_OK) {
            report("publish", st);
            free(order);
            goto out;
        }
        jw_js_pub_ack_free(ack);
        printf("%s\n", order);
        free(order);
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
