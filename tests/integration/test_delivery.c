/* Handlers on jetwire's own loop run on a delivery thread per
 * subscription, or on the connection's pool of delivery_threads: a slow
 * handler drops what overflows the pending limits (counted, reported)
 * instead of stalling the socket; a handler may wait; a drain lets
 * handlers finish what came before it; thousands of pooled subscriptions
 * keep their order on a few threads. */
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

/* Start n requests to subject on qc (all at the server once this
 * returns 0). */
static int start_requests(jw_conn *qc, const char *subject, int n)
{
    for (int i = 0; i < n; i++) {
        jw_msg *m = NULL;
        uint64_t id;
        CHECK_OK(jw_msg_new(subject, NULL, "x", 1, &m));
        CHECK_OK(jw_conn_request_start(qc, m, &id));
        jw_msg_free(m);
    }
    CHECK_OK(jw_conn_flush(qc, 5000));
    return 0;
}

/* How many of qc's started requests were answered (OK) within 5 s, up
 * to n. */
static int answers(jw_conn *qc, int n)
{
    int answered = 0;
    int64_t deadline = jw_test_now_ms() + 5000;
    while (answered < n && jw_test_now_ms() < deadline) {
        uint64_t id;
        jw_status status;
        jw_msg *reply = NULL;
        if (jw_conn_request_poll(qc, &id, &status, &reply) == 1) {
            jw_msg_free(reply);
            answered += status == JW_OK;
        } else {
            jw_test_sleep_ms(2);
        }
    }
    return answered;
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
    CHECK(start_requests(qc, "drain.svc", N) == 0);
    JW_WAIT_FOR(atomic_load(&calls) > 0, 5000);
    CHECK(atomic_load(&calls) < N); /* the drain starts mid-way */

    /* The drain closes only once the handler answered what came. */
    CHECK_OK(jw_conn_drain(rc, 10000));
    CHECK_EQ_INT(atomic_load(&calls), N);
    CHECK_EQ_INT(answers(qc, N), N);

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

/* ---- the delivery_threads pool ---- */

/* A connection to s whose handler subscriptions share threads. */
static jw_status pool_conn(const jw_test_server *s, int threads,
                           jw_conn **out)
{
    jw_opts *o = NULL;
    jw_status st = jw_opts_new(&o);
    if (st == JW_OK)
        st = jw_opts_set_int(o, "delivery_threads", threads);
    if (st == JW_OK)
        st = jw_conn_connect(s->url, o, out);
    jw_opts_free(o);
    return st;
}

/* The process's threads (/proc/self/status counts them; the helper
 * scales its numbers as kB). */
static int64_t threads_now(void)
{
    return jw_test_proc_bytes("Threads") / 1024;
}

enum { POOL_SUBS = 2000, POOL_EACH = 20 };

struct order_state {
    atomic_int received;
    atomic_int out_of_order;
    atomic_int last[POOL_SUBS];
};

static void order_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    struct order_state *st = arg;
    (void)sub;
    char text[32] = {0};
    size_t len = jw_msg_data_len(msg);
    memcpy(text, jw_msg_data(msg), len < 31 ? len : 31);
    int which = atoi(text), v = atoi(strchr(text, ':') + 1);
    if (atomic_exchange(&st->last[which], v) != v - 1)
        atomic_fetch_add(&st->out_of_order, 1);
    jw_msg_free(msg);
    atomic_fetch_add(&st->received, 1);
}

/* Thousands of handler subscriptions on two threads: every message, each
 * subscription's in order, and no thread per subscription. */
TEST(pool_many_subscriptions)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *pc = NULL;
    CHECK_OK(pool_conn(s, 2, &sc));
    CHECK_OK(jw_test_connect(s, &pc));
    int64_t before = threads_now();
    struct order_state *st = calloc(1, sizeof(*st));
    CHECK(st != NULL);
    for (int i = 0; i < POOL_SUBS; i++)
        atomic_init(&st->last[i], -1);
    jw_sub **subs = calloc(POOL_SUBS, sizeof(*subs));
    CHECK(subs != NULL);
    char subject[32], text[32];
    for (int i = 0; i < POOL_SUBS; i++) {
        snprintf(subject, sizeof subject, "pool.%d", i);
        CHECK_OK(jw_conn_subscribe_cb(sc, subject, NULL, order_handler, st,
                                      &subs[i]));
    }
    CHECK_OK(jw_conn_flush(sc, 5000));
    /* The pool's two threads, not one per subscription. */
    CHECK(before > 0 && threads_now() - before == 2);
    for (int k = 0; k < POOL_EACH; k++) {
        for (int i = 0; i < POOL_SUBS; i++) {
            snprintf(subject, sizeof subject, "pool.%d", i);
            int n = snprintf(text, sizeof text, "%d:%d", i, k);
            CHECK_OK(jw_conn_publish(pc, subject, text, (size_t)n));
        }
    }
    CHECK_OK(jw_conn_flush(pc, 10000));
    JW_WAIT_FOR(atomic_load(&st->received) == POOL_SUBS * POOL_EACH, 20000);
    CHECK_EQ_INT(atomic_load(&st->received), POOL_SUBS * POOL_EACH);
    CHECK_EQ_INT(atomic_load(&st->out_of_order), 0);
    for (int i = 0; i < POOL_SUBS; i++) {
        CHECK_EQ_INT(atomic_load(&st->last[i]), POOL_EACH - 1);
        CHECK_EQ_INT(jw_sub_dropped(subs[i]), 0);
    }
    for (int i = 0; i < POOL_SUBS; i++)
        jw_sub_free(subs[i]);
    free(subs);
    free(st);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

struct gate_state {
    atomic_int open;
    atomic_int blocked_calls, other_calls;
};

static void blocking_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    struct gate_state *st = arg;
    (void)sub;
    jw_msg_free(msg);
    atomic_fetch_add(&st->blocked_calls, 1);
    while (!atomic_load(&st->open))
        jw_test_sleep_ms(1);
}

static void counting_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    struct gate_state *st = arg;
    (void)sub;
    jw_msg_free(msg);
    atomic_fetch_add(&st->other_calls, 1);
}

/* A handler that blocks holds one of the threads; the others go on. */
TEST(pool_blocked_handler_holds_one_thread)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *pc = NULL;
    CHECK_OK(pool_conn(s, 2, &sc));
    CHECK_OK(jw_test_connect(s, &pc));
    struct gate_state st;
    atomic_init(&st.open, 0);
    atomic_init(&st.blocked_calls, 0);
    atomic_init(&st.other_calls, 0);
    jw_sub *stuck = NULL, *other = NULL;
    CHECK_OK(jw_conn_subscribe_cb(sc, "gate.stuck", NULL, blocking_handler,
                                  &st, &stuck));
    CHECK_OK(jw_conn_subscribe_cb(sc, "gate.other", NULL, counting_handler,
                                  &st, &other));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK(publish_numbers(pc, "gate.stuck", 0, 5) == 0);
    JW_WAIT_FOR(atomic_load(&st.blocked_calls) == 1, 5000);
    CHECK(publish_numbers(pc, "gate.other", 0, 100) == 0);
    JW_WAIT_FOR(atomic_load(&st.other_calls) == 100, 5000);
    CHECK_EQ_INT(atomic_load(&st.other_calls), 100);
    CHECK_EQ_INT(atomic_load(&st.blocked_calls), 1); /* still in the first */
    atomic_store(&st.open, 1);
    JW_WAIT_FOR(atomic_load(&st.blocked_calls) == 5, 5000);
    CHECK_EQ_INT(atomic_load(&st.blocked_calls), 5);
    jw_sub_free(stuck);
    jw_sub_free(other);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

/* A pooled handler may ask another pooled handler of its connection (with
 * a second thread to run it); a drain lets them answer what came. */
TEST(pool_drain_and_requests)
{
    START_SERVER(s, NULL);
    jw_conn *rc = NULL, *qc = NULL;
    CHECK_OK(pool_conn(s, 2, &rc));
    CHECK_OK(jw_test_connect(s, &qc));
    jw_sub *front = NULL, *back = NULL, *svc = NULL;
    CHECK_OK(jw_conn_subscribe_cb(rc, "front", NULL, front_handler, rc,
                                  &front));
    CHECK_OK(jw_conn_subscribe_cb(rc, "back", NULL, back_handler, NULL,
                                  &back));
    atomic_int calls;
    atomic_init(&calls, 0);
    CHECK_OK(jw_conn_subscribe_cb(rc, "drain.svc", NULL, slow_echo, &calls,
                                  &svc));
    CHECK_OK(jw_conn_flush(rc, 5000));
    for (int i = 0; i < 20; i++) {
        jw_msg *reply = NULL;
        CHECK_OK(jw_conn_request(qc, "front", "x", 1, 5000, &reply));
        CHECK_MEM_STR(jw_msg_data(reply), jw_msg_data_len(reply),
                      "front(back(x))");
        jw_msg_free(reply);
    }

    enum { N = 50 };
    CHECK(start_requests(qc, "drain.svc", N) == 0);
    JW_WAIT_FOR(atomic_load(&calls) > 0, 5000);
    CHECK(atomic_load(&calls) < N);
    CHECK_OK(jw_conn_drain(rc, 10000));
    CHECK_EQ_INT(atomic_load(&calls), N);
    CHECK_EQ_INT(answers(qc, N), N);
    jw_sub_free(front);
    jw_sub_free(back);
    jw_sub_free(svc);
    jw_conn_free(rc);
    jw_conn_free(qc);
    jw_test_server_stop(s);
    return 0;
}

/* Freed from its own handler, from another thread while messages flow,
 * and with messages queued: no handler runs after jw_sub_free returns,
 * and nothing leaks (ASan). */
TEST(pool_free_while_delivering)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *pc = NULL;
    CHECK_OK(pool_conn(s, 2, &sc));
    CHECK_OK(jw_test_connect(s, &pc));
    struct self_state self;
    self.conn = sc;
    atomic_init(&self.calls, 0);
    atomic_init(&self.drain_status, 12345);
    jw_sub *own = NULL;
    CHECK_OK(jw_conn_subscribe_cb(sc, "self.p", NULL, self_freeing, &self,
                                  &own));
    struct slow_state slow;
    atomic_init(&slow.received, 0);
    atomic_init(&slow.last, -1);
    atomic_init(&slow.in_order, 1);
    jw_sub *busy = NULL;
    CHECK_OK(jw_conn_subscribe_cb(sc, "busy.p", NULL, slow_handler, &slow,
                                  &busy));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK(publish_numbers(pc, "self.p", 0, 20) == 0);
    CHECK(publish_numbers(pc, "busy.p", 0, 200) == 0);
    JW_WAIT_FOR(atomic_load(&self.drain_status) != 12345, 5000);
    CHECK_STATUS(atomic_load(&self.drain_status), JW_EINVAL);
    JW_WAIT_FOR(atomic_load(&slow.received) >= 10, 5000);
    jw_sub_free(busy); /* mid-way: the rest of its queue is dropped */
    int after = atomic_load(&slow.received);
    jw_test_sleep_ms(50);
    CHECK_EQ_INT(atomic_load(&slow.received), after);
    CHECK(after < 200);
    CHECK_EQ_INT(atomic_load(&slow.in_order), 1);
    CHECK_EQ_INT(atomic_load(&self.calls), 1);
    CHECK_EQ_INT(jw_conn_status_get(sc), JW_CONN_CONNECTED);
    /* A subscription with queued messages goes with its connection. */
    jw_sub *left = NULL;
    CHECK_OK(jw_conn_subscribe_cb(sc, "busy.q", NULL, slow_handler, &slow,
                                  &left));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK(publish_numbers(pc, "busy.q", 1000, 1100) == 0);
    jw_conn_free(sc);
    jw_sub_free(left);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}
