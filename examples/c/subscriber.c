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
#define _POSIX_C_SOURCE 200809L /* sigaction */

#include <jetwire.h>

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static const char *server_url(void)
{
    const char *url = getenv("NATS_URL");
    return url && *url ? url : "nats://127.0.0.1:4222";
}

static void report(const char *what, jw_status st)
{
    const char *detail = jw_last_error();
    fprintf(stderr, "subscriber: %s failed: %s (%s)%s%s\n", what,
            jw_strerror(st), jw_status_name(st), *detail ? ": " : "", detail);
}

/* Where the value of "key" starts in a flat JSON object, or NULL. This is
 * not a JSON parser: it is enough for the objects these examples send
 * (no nesting, no escaped quotes). */
static const char *json_value(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *p = strstr(json, pattern);
    if (!p)
        return NULL;
    p += strlen(pattern);
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != ':')
        return NULL;
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

/* Copy the string value of key into out (1), or return 0. */
static int json_string(const char *json, const char *key, char *out,
                       size_t size)
{
    const char *p = json_value(json, key);
    if (!p || *p != '"')
        return 0;
    const char *end = strchr(++p, '"');
    if (!end)
        return 0;
    snprintf(out, size, "%.*s", (int)(end - p), p);
    return 1;
}

/* Parse the number value of key into *out (1), or return 0. */
static int json_number(const char *json, const char *key, double *out)
{
    const char *p = json_value(json, key);
    char *end;
    if (!p)
        return 0;
    *out = strtod(p, &end);
    return end != p;
}

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

/* A positive count argument, or 0 when the text is not one. */
static long parse_count(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    return *s && !*end && n > 0 ? n : 0;
}

int main(int argc, char **argv)
{
    long limit = 0; /* 0: until a signal */
    if (argc > 2 || (argc == 2 && (limit = parse_count(argv[1])) == 0)) {
        fprintf(stderr, "usage: %s [COUNT]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, even into a pipe */

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

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
