/* Handlers on jetwire's own loop run on a delivery thread per
 * subscription: a slow handler drops what overflows the pending limits
 * (counted, reported) instead of stalling the socket; a handler may wait;
 * a drain lets handlers finish what came before it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct slow_state {
    atomic_int received;
    atomic_int last; /* the last number seen */
    atomic_int in_order;
};

static void slow_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    struct slow_state *st = arg;
    (void)sub;
    char text[16] = {0};
    size_t len = jw_msg_data_len(msg);
    memcpy(text, jw_msg_data(msg), len < 15 ? len : 15);
    int v = atoi(text);
    if (v <= atomic_load(&st->last))
        atomic_store(&st->in_order, 0);
    atomic_store(&st->last, v);
    jw_msg_free(msg);
    jw_test_sleep_ms(1); /* the work */
    atomic_fetch_add(&st->received, 1);
}

static int publish_numbers(jw_conn *pc, const char *subject, int from, int to)
{
    for (int i = from; i < to; i++) {
        char text[16];
        int n = snprintf(text, sizeof text, "%d", i);
        CHECK_OK(jw_conn_publish(pc, subject, text, (size_t)n));
    }
    CHECK_OK(jw_conn_flush(pc, 5000));
    return 0;
}

TEST(handler_slow_consumer)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    struct slow_state st;
    atomic_init(&st.received, 0);
    atomic_init(&st.last, -1);
    atomic_init(&st.in_order, 1);
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe_cb(sc, "slow.h", NULL, slow_handler, &st,
                                  &sub));
    CHECK_OK(jw_sub_set_pending_limits(sub, 20, 0));
    CHECK_OK(jw_conn_flush(sc, 5000));

    /* 500 at once to a handler that takes 1 ms each: most overflow. */
    CHECK(publish_numbers(pc, "slow.h", 0, 500) == 0);
    JW_WAIT_FOR(atomic_load(&st.received) + (int)jw_sub_dropped(sub) == 500,
                10000);
    int received = atomic_load(&st.received);
    CHECK_EQ_INT(received + (int)jw_sub_dropped(sub), 500);
    CHECK(jw_sub_dropped(sub) > 0);
    CHECK_EQ_INT(atomic_load(&st.in_order), 1);
    jw_event *ev = NULL;
    CHECK_OK(jw_conn_next_event(sc, 2000, &ev));
    CHECK_EQ_INT(jw_event_kind_get(ev), JW_EVENT_ERROR);
    CHECK_STATUS(jw_event_status(ev), JW_ESLOW_CONSUMER);
    CHECK(jw_event_sub(ev) == sub);
    jw_event_free(ev);

    /* Delivery goes on after the burst. */
    CHECK(publish_numbers(pc, "slow.h", 500, 510) == 0);
    JW_WAIT_FOR(atomic_load(&st.received) == received + 10, 5000);
    CHECK_EQ_INT(atomic_load(&st.received), received + 10);
    CHECK_EQ_INT(atomic_load(&st.last), 509);
    CHECK_EQ_INT(atomic_load(&st.in_order), 1);

    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

/* A responder that takes 2 ms per request. */
static void slow_echo(jw_sub *sub, jw_msg *msg, void *arg)
{
    atomic_int *calls = arg;
    (void)sub;
    atomic_fetch_add(calls, 1);
    jw_test_sleep_ms(2);
    jw_msg_respond(msg, jw_msg_data(msg), jw_msg_data_len(msg));
    jw_msg_free(msg);
}

TEST(handler_drain_answers_in_flight)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, rc, qc);
    atomic_int calls;
    atomic_init(&calls, 0);
    jw_sub *svc = NULL;
    CHECK_OK(jw_conn_subscribe_cb(rc, "drain.svc", NULL, slow_echo, &calls,
                                  &svc));
    CHECK_OK(jw_conn_flush(rc, 5000));

    enum { N = 100 };
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        jw_msg *m = NULL;
        CHECK_OK(jw_msg_new("drain.svc", NULL, "x", 1, &m));
        CHECK_OK(jw_conn_request_start(qc, m, &ids[i]));
        jw_msg_free(m);
    }
    CHECK_OK(jw_conn_flush(qc, 5000)); /* all of them reached the server */
    JW_WAIT_FOR(atomic_load(&calls) > 0, 5000);
    CHECK(atomic_load(&calls) < N); /* the drain starts mid-way */

    /* The drain closes only once the handler answered what came. */
    CHECK_OK(jw_conn_drain(rc, 10000));
    CHECK_EQ_INT(atomic_load(&calls), N);
    int answered = 0;
    int64_t deadline = jw_test_now_ms() + 5000;
    while (answered < N && jw_test_now_ms() < deadline) {
        uint64_t id;
        jw_status status;
        jw_msg *reply = NULL;
        if (jw_conn_request_poll(qc, &id, &status, &reply) == 1) {
            CHECK_OK(status);
            jw_msg_free(reply);
            answered++;
        } else {
            jw_test_sleep_ms(2);
        }
    }
    CHECK_EQ_INT(answered, N);

    jw_sub_free(svc);
    jw_conn_free(rc);
    jw_conn_free(qc);
    jw_test_server_stop(s);
    return 0;
}

/* "front" asks "back" on the same connection before it answers. */
static void back_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    (void)sub;
    (void)arg;
    char out[64];
    int n = snprintf(out, sizeof out, "back(%.*s)", (int)jw_msg_data_len(msg),
                     (const char *)jw_msg_data(msg));
    jw_msg_respond(msg, out, (size_t)n);
    jw_msg_free(msg);
}

static void front_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    jw_conn *nc = arg;
    (void)sub;
    jw_msg *inner = NULL;
    char out[96];
    int n;
    jw_status st = jw_conn_request(nc, "back", jw_msg_data(msg),
                                   jw_msg_data_len(msg), 5000, &inner);
    if (st == JW_OK)
        n = snprintf(out, sizeof out, "front(%.*s)",
                     (int)jw_msg_data_len(inner),
                     (const char *)jw_msg_data(inner));
    else
        n = snprintf(out, sizeof out, "failed: %s", jw_status_name(st));
    jw_msg_free(inner);
    jw_msg_respond(msg, out, (size_t)n);
    jw_msg_free(msg);
}

TEST(handler_may_request)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, nc, qc);
    jw_sub *front = NULL, *back = NULL;
    CHECK_OK(jw_conn_subscribe_cb(nc, "front", NULL, front_handler, nc,
                                  &front));
    CHECK_OK(jw_conn_subscribe_cb(nc, "back", NULL, back_handler, NULL,
                                  &back));
    CHECK_OK(jw_conn_flush(nc, 5000));
    for (int i = 0; i < 20; i++) {
        jw_msg *reply = NULL;
        CHECK_OK(jw_conn_request(qc, "front", "x", 1, 5000, &reply));
        CHECK_MEM_STR(jw_msg_data(reply), jw_msg_data_len(reply),
                      "front(back(x))");
        jw_msg_free(reply);
    }
    jw_sub_free(front);
    jw_sub_free(back);
    jw_conn_free(nc);
    jw_conn_free(qc);
    jw_test_server_stop(s);
    return 0;
}

/* A handler that tries to drain its own connection, then frees its own
 * subscription. */
struct self_state {
    jw_conn *conn;
    atomic_int calls;
    atomic_int drain_status;
};

static void self_freeing(jw_sub *sub, jw_msg *msg, void *arg)
{
    struct self_state *st = arg;
    jw_msg_free(msg);
    if (atomic_fetch_add(&st->calls, 1) > 0)
        return;
    atomic_store(&st->drain_status, jw_conn_drain(st->conn, 1000));
    jw_sub_free(sub);
}

TEST(handler_frees_itself)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    struct self_state st;
    st.conn = sc;
    atomic_init(&st.calls, 0);
    atomic_init(&st.drain_status, 12345);
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe_cb(sc, "self.h", NULL, self_freeing, &st,
                                  &sub));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK(publish_numbers(pc, "self.h", 0, 50) == 0);
    JW_WAIT_FOR(atomic_load(&st.drain_status) != 12345, 5000);
    /* The drain would wait for the handler asking for it. */
    CHECK_STATUS(atomic_load(&st.drain_status), JW_EINVAL);
    CHECK_OK(jw_conn_flush(sc, 5000));
    jw_test_sleep_ms(50);
    CHECK_EQ_INT(atomic_load(&st.calls), 1);
    CHECK_EQ_INT(jw_conn_status_get(sc), JW_CONN_CONNECTED);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}
