/*
 * example.h: the helpers all the examples share, so that each program shows
 * only its own NATS pattern: the server to use, the report of a failed
 * call, the COUNT argument, running until SIGINT/SIGTERM (or COUNT), a
 * JetStream connection and a fetch that hands each message to a handler,
 * and a few lookups in flat JSON objects. It also includes jetwire.h and the
 * standard headers the examples use throughout.
 *
 * Header only: everything is static, the functions static inline, so a
 * program that does not use one pays nothing for it and gets no warning.
 */
#ifndef JW_EXAMPLE_H
#define JW_EXAMPLE_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* sigaction, nanosleep */
#endif

#include <jetwire.h>

#include <ctype.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The program's name, which starts report()'s lines: main sets it first. */
static const char *example_name = "example";

/* The server to use: $NATS_URL, else a local default. */
static inline const char *server_url(void)
{
    const char *url = getenv("NATS_URL");
    return url && *url ? url : "nats://127.0.0.1:4222";
}

/* Report a failed call: what failed, the status, and the engine's detail. */
static inline void report(const char *what, jw_status st)
{
    const char *detail = jw_last_error();
    fprintf(stderr, "%s: %s failed: %s (%s)%s%s\n", example_name, what,
            jw_strerror(st), jw_status_name(st), *detail ? ": " : "", detail);
}

/* Set by SIGINT or SIGTERM, once start_until_stopped() has run. */
static volatile sig_atomic_t stop_requested;

/* The handler of both signals: only raises the flag. */
static inline void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Start a program that runs until stopped: its output goes out line by
 * line, even into a pipe (a script may wait for a line), and SIGINT and
 * SIGTERM only set stop_requested, so that it can leave gracefully. */
static inline void start_until_stopped(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Wait on the main thread while handlers do the work on the engine's loop
 * thread: until *done reaches limit (0: no limit) or stop_requested is set.
 * Looks every 50 ms. */
static inline void wait_until_stopped(atomic_long *done, long limit)
{
    const struct timespec tick = {0, 50 * 1000000L};
    while (!stop_requested && (limit == 0 || atomic_load(done) < limit))
        nanosleep(&tick, NULL);
}

/* A positive count argument, or 0 when the text is not one. */
static inline long parse_count(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    return *s && !*end && n > 0 ? n : 0;
}

/* The optional COUNT argument, argv[pos], the last one the program takes:
 * 1 with *count set (left as it is when absent), or 0 after printing the
 * usage when there are more arguments or COUNT is not a positive number. */
static inline int count_arg(int argc, char **argv, int pos, const char *usage,
                            long *count)
{
    if (argc > pos + 1 ||
        (argc == pos + 1 && (*count = parse_count(argv[pos])) == 0)) {
        fprintf(stderr, "usage: %s %s\n", argv[0], usage);
        return 0;
    }
    return 1;
}

/* Connect to server_url() with opts (may be NULL) and make a JetStream
 * context: 1, or 0 after reporting what failed (free *nc and *js as usual
 * in both cases). */
static inline int connect_jetstream(const jw_opts *opts, jw_conn **nc,
                                    jw_js **js)
{
    jw_status st = jw_conn_connect(server_url(), opts, nc);
    if (st != JW_OK) {
        report("connect", st);
        return 0;
    }
    st = jw_js_new(*nc, js);
    if (st != JW_OK) {
        report("JetStream context", st);
        return 0;
    }
    return 1;
}

/* Fetch up to want (at most 16) messages from cons, waiting up to
 * timeout_ms, and pass each to handle, which acks, naks or terms it. The
 * number fetched (0: none came in time, not an error), or -1 after
 * reporting a failed fetch or handler. Every message fetched is freed,
 * those after a failure too; messages not fetched stay with the consumer
 * for the next fetch or the next run. */
static inline int fetch_each(jw_consumer *cons, int want, int64_t timeout_ms,
                             jw_status (*handle)(jw_msg *msg))
{
    jw_msg *batch[16];
    jw_call_opts *opts = NULL;
    jw_status made = jw_call_opts_new("fetch", &opts);
    if (made == JW_OK)
        made = jw_call_opts_set_int(opts, "timeout", timeout_ms);
    int n = made == JW_OK ? jw_consumer_fetch(cons, batch,
                                              want < 16 ? want : 16, opts)
                          : made;
    jw_call_opts_free(opts);
    if (n < 0) {
        report("fetch", (jw_status)n);
        return -1;
    }
    jw_status st = JW_OK;
    for (int i = 0; i < n; i++) {
        if (st == JW_OK && (st = handle(batch[i])) != JW_OK)
            report("ack", st);
        jw_msg_free(batch[i]);
    }
    return st == JW_OK ? n : -1;
}

/* Where the value of "key" starts in a flat JSON object, or NULL. This is
 * not a JSON parser: it is enough for the objects these examples send
 * (no nesting, no escaped quotes). */
static inline const char *json_value(const char *json, const char *key)
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
static inline int json_string(const char *json, const char *key, char *out,
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
static inline int json_number(const char *json, const char *key, double *out)
{
    const char *p = json_value(json, key);
    char *end;
    if (!p)
        return 0;
    *out = strtod(p, &end);
    return end != p;
}

/* Whether the value of key is true. */
static inline int json_true(const char *json, const char *key)
{
    const char *p = json_value(json, key);
    return p && strncmp(p, "true", 4) == 0;
}

#endif /* JW_EXAMPLE_H */
