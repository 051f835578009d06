/*
 * responder: the tutorial's "Service (Responder)".
 *
 * A user service on user.get. A request is {"user_id":"user-1"}; the reply
 * is the user from a small in-memory table,
 *   {"user_id":"user-1","name":"Alice Smith","email":"...","found":true}
 * or {"user_id":"...","found":false} for an unknown id. Runs until it has
 * answered COUNT requests (when given) or until SIGINT/SIGTERM, then drains.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_responder [COUNT]
 *
 * Requests are handled in a handler (jw_conn_subscribe_cb) on the engine's
 * loop thread, which answers with jw_msg_respond. Handlers must not wait,
 * and this one does not: it looks up, formats and publishes.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, nanosleep */

#include <jetwire.h>

#include <ctype.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct user {
    const char *id, *name, *email;
};

/* The simulated user database. */
static const struct user users[] = {
    {"user-1", "Alice Smith", "alice@example.com"},
    {"user-2", "Bob Johnson", "bob@example.com"},
};

static volatile sig_atomic_t stop_requested;
static atomic_long answered;

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
    fprintf(stderr, "responder: %s failed: %s (%s)%s%s\n", what,
            jw_strerror(st), jw_status_name(st), *detail ? ": " : "", detail);
}

static long parse_count(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    return *s && !*end && n > 0 ? n : 0;
}

/* Copy the string value of key in a flat JSON object into out (1), or
 * return 0. Not a JSON parser: no nesting, no escaped quotes. */
static int json_string(const char *json, const char *key, char *out,
                       size_t size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *p = strstr(json, pattern);
    if (!p)
        return 0;
    p += strlen(pattern);
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != ':')
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != '"')
        return 0;
    const char *end = strchr(p, '"');
    if (!end)
        return 0;
    snprintf(out, size, "%.*s", (int)(end - p), p);
    return 1;
}

static const struct user *find_user(const char *id)
{
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
        if (strcmp(users[i].id, id) == 0)
            return &users[i];
    return NULL;
}

/* One request: runs on the loop thread and owns msg. */
static void on_request(jw_sub *sub, jw_msg *msg, void *arg)
{
    (void)sub;
    (void)arg;
    char request[256], user_id[64], reply[256];
    int len;

    snprintf(request, sizeof request, "%.*s", (int)jw_msg_data_len(msg),
             (const char *)jw_msg_data(msg));
    if (!json_string(request, "user_id", user_id, sizeof user_id)) {
        printf("Invalid request: %s\n", request);
        len = snprintf(reply, sizeof reply,
                       "{\"error\":\"expected {\\\"user_id\\\":\\\"...\\\"}\"}");
    } else {
        printf("Received request for user: %s\n", user_id);
        const struct user *u = find_user(user_id);
        if (u)
            len = snprintf(reply, sizeof reply,
                           "{\"user_id\":\"%s\",\"name\":\"%s\","
                           "\"email\":\"%s\",\"found\":true}",
                           u->id, u->name, u->email);
        else
            len = snprintf(reply, sizeof reply,
                           "{\"user_id\":\"%s\",\"found\":false}", user_id);
    }

    /* The reply goes to the request's reply subject (its inbox). */
    jw_status st = jw_msg_respond(msg, reply, (size_t)len);
    if (st != JW_OK)
        report("respond", st);
    else
        printf("Sent response: %s\n", reply);
    jw_msg_free(msg);
    atomic_fetch_add(&answered, 1);
}

int main(int argc, char **argv)
{
    long limit = 0;
    if (argc > 2 || (argc == 2 && (limit = parse_count(argv[1])) == 0)) {
        fprintf(stderr, "usage: %s [COUNT]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int rc = 1;
    jw_conn *nc = NULL;
    jw_sub *sub = NULL;

    jw_status st = jw_conn_connect(server_url(), NULL, &nc);
    if (st != JW_OK) {
        report("connect", st);
        goto out;
    }
    st = jw_conn_subscribe_cb(nc, "user.get", NULL, on_request, NULL, &sub);
    if (st != JW_OK) {
        report("subscribe", st);
        goto out;
    }
    st = jw_conn_flush(nc, 2000); /* the server knows us from now on */
    if (st != JW_OK) {
        report("flush", st);
        goto out;
    }
    printf("User service listening on 'user.get'...\n");

    const struct timespec tick = {0, 50 * 1000000L};
    while (!stop_requested && (limit == 0 || atomic_load(&answered) < limit))
        nanosleep(&tick, NULL);

    /* Drain: stop taking requests, answer those in flight, flush, close. */
    st = jw_conn_drain(nc, 5000);
    if (st != JW_OK) {
        report("drain", st);
        goto out;
    }
    printf("User service stopped after %ld request(s)\n",
           atomic_load(&answered));
    rc = 0;
out:
    jw_sub_free(sub);
    jw_conn_free(nc);
    return rc;
}
