/*
 * The whole inbound path of an open connection (core/connection/conn.c
 * on_proto and what it calls: sub.c delivery, pending limits and
 * auto-unsubscribe, request.c reply routing, msg.c, the event queue) on an
 * arbitrary stream from the server.
 *
 * The connection is built by hand (fuzz_conn.h). Through the public API it
 * then makes the state a client has mid-session: a pulled subscription on
 * "foo.>" (sid 1) with a pending limit of 4 messages, a handler
 * subscription on "bar" (sid 2) that auto-unsubscribes after 3, and two
 * asynchronous requests on the inbox "_INBOX.fz.*" (sid 3, tokens 1 and 2).
 * The input is fed to the real parser, as the loop would feed a read.
 *
 * Afterwards: one PONG queued per PING, sid 1's messages pulled + dropped
 * equal what the stream sent it, the handler ran at most 3 times, each
 * request completed at most once with a sane status, and tearing down
 * frees everything (LeakSanitizer).
 */
#include "fuzz_conn.h"

#define PULL_LIMIT  4
#define HANDLER_MAX 3

typedef struct session {
    jw_conn *c;
    int pings;
    uint64_t msgs_for[4]; /* MSG events per sid 1..3 */
    int handled;
} session;

/* Read a delivered message through every accessor, as a user would. */
static void read_msg(const jw_msg *m)
{
    FUZZ_CHECK(jw_msg_subject(m) != NULL);
    fuzz_touch(jw_msg_subject(m), strlen(jw_msg_subject(m)));
    if (jw_msg_reply(m))
        fuzz_touch(jw_msg_reply(m), strlen(jw_msg_reply(m)));
    fuzz_touch(jw_msg_data(m), jw_msg_data_len(m) + 1); /* NUL-terminated */
    int count = jw_msg_header_count(m);
    FUZZ_CHECK(count >= 0);
    for (int i = 0; i < count; i++) {
        const char *name, *value, *first;
        FUZZ_CHECK(jw_msg_header_at(m, i, &name, &value) == JW_OK);
        FUZZ_CHECK(jw_msg_header_get(m, name, 0, &first) == JW_OK);
        fuzz_touch(value, strlen(value));
    }
    int status = jw_msg_status_code(m);
    FUZZ_CHECK(status >= 0 && status <= 999);
}

static void on_bar(jw_sub *sub, jw_msg *msg, void *arg)
{
    session *s = arg;
    (void)sub;
    s->handled++;
    read_msg(msg);
    jw_msg_free(msg);
}

static int on_event(void *arg, const jw__proto_event *ev)
{
    session *s = arg;
    if (ev->op == JW__OP_PING)
        s->pings++;
    if (ev->op == JW__OP_MSG && ev->sid >= 1 && ev->sid <= 3)
        s->msgs_for[ev->sid]++;
    return on_proto(s->c, ev);
}

static int count_pongs(const jw__buf *out)
{
    int n = 0;
    for (size_t i = 0; i + 6 <= out->len; i++)
        n += memcmp(out->data + i, "PONG\r\n", 6) == 0;
    return n;
}

/* What teardown does, without the socket and the loop's events. */
static void close_conn(jw_conn *c)
{
    pthread_mutex_lock(&c->mu);
    c->status = JW_CONN_CLOSED;
    jw__conn_close_subs(c, JW_ECONNECTION_CLOSED, 1);
    jw__request_fail_all(c, JW_ECONNECTION_CLOSED);
    c->closing = 1;
    c->torn_down = 1;
    pthread_mutex_unlock(&c->mu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    session s = {0};
    jw_conn *c = s.c = fuzz_conn_new();
    memcpy(c->inbox_prefix, "_INBOX.fz.", 10); /* fixed, for the corpus */
    c->inbox_prefix_len = 10;
    jw_sub *pulled = NULL, *handled = NULL;
    FUZZ_CHECK(jw_conn_subscribe(c, "foo.>", NULL, &pulled) == JW_OK);
    FUZZ_CHECK(jw_sub_set_pending_limits(pulled, PULL_LIMIT, 0) == JW_OK);
    FUZZ_CHECK(jw_conn_subscribe_cb(c, "bar", "q", on_bar, &s, &handled) ==
               JW_OK);
    FUZZ_CHECK(jw_sub_auto_unsubscribe(handled, HANDLER_MAX) == JW_OK);
    jw_msg *req;
    FUZZ_CHECK(jw_msg_new("svc", NULL, "x", 1, &req) == JW_OK);
    uint64_t ids[2];
    for (int i = 0; i < 2; i++)
        FUZZ_CHECK(jw_conn_request_start(c, req, &ids[i]) == JW_OK);
    jw_msg_free(req);
    FUZZ_CHECK(ids[0] == 1 && ids[1] == 2);
    size_t queued = c->out.len; /* SUB, UNSUB and PUB lines so far */

    /* One read's worth, from an exact-size copy, the way on_read feeds. */
    char *chunk = malloc(size ? size : 1);
    FUZZ_CHECK(chunk != NULL);
    memcpy(chunk, data, size);
    c->dispatching = 1;
    jw__parser_feed(&c->parser, chunk, size, on_event, &s);
    jw__conn_stage_flush(c); /* as read_once does after each read */
    c->dispatching = 0;
    free(chunk);

    /* Only PONGs were queued in answer, one per PING. */
    FUZZ_CHECK(count_pongs(&c->out) == s.pings);
    FUZZ_CHECK(c->out.len == queued + 6 * (size_t)s.pings);
    FUZZ_CHECK(s.handled <= HANDLER_MAX);
    FUZZ_CHECK((uint64_t)s.handled <= s.msgs_for[2]);

    /* Requests: each completes at most once, with a reply or a reason. */
    uint64_t id;
    jw_status status;
    jw_msg *reply;
    int completed[3] = {0};
    while (jw_conn_request_poll(c, &id, &status, &reply) == 1) {
        FUZZ_CHECK(id == 1 || id == 2);
        FUZZ_CHECK(!completed[id]++);
        FUZZ_CHECK(status == JW_OK || status == JW_ENO_RESPONDERS);
        FUZZ_CHECK((status == JW_OK) == (reply != NULL));
        if (reply)
            read_msg(reply);
        jw_msg_free(reply);
    }

    close_conn(c);
    /* What arrived for sid 1 was either queued (and is still readable
     * after the close) or dropped by the pending limit. */
    uint64_t pulled_count = 0;
    jw_msg *m;
    while (jw_sub_next(pulled, 0, &m) == JW_OK) {
        read_msg(m);
        jw_msg_free(m);
        pulled_count++;
    }
    FUZZ_CHECK(pulled_count <= PULL_LIMIT);
    FUZZ_CHECK(pulled_count + jw_sub_dropped(pulled) == s.msgs_for[1]);
    /* Requests still open at the close completed as closed. */
    while (jw_conn_request_poll(c, &id, &status, &reply) == 1) {
        FUZZ_CHECK(!completed[id]++);
        FUZZ_CHECK(status == JW_ECONNECTION_CLOSED && reply == NULL);
    }
    FUZZ_CHECK(completed[1] == 1 && completed[2] == 1);

    jw_sub_free(pulled);
    jw_sub_free(handled);
    fuzz_conn_free(c);
    return 0;
}
