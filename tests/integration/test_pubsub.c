/* Core publish/subscribe: payloads, wildcards, queue groups, unsubscribe,
 * handlers, pending limits and the readable fd. */
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "server.h"

TEST(pubsub_basic)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "greet.joe", NULL, &sub));
    CHECK(sub != NULL);
    CHECK_STR(jw_sub_subject(sub), "greet.joe");
    CHECK(jw_sub_queue(sub) == NULL);
    CHECK_EQ_INT(jw_sub_is_valid(sub), 1);
    CHECK_OK(jw_conn_flush(sc, 5000));

    /* Bytes that a text-minded parser would trip over. */
    const unsigned char payload[] = {'h',  0,    '\r', '\n', 0xff,
                                     'M',  'S',  'G',  ' ',  '\r',
                                     '\n', '\r', '\n', 0x80, 'z'};
    CHECK_OK(jw_conn_publish(pc, "greet.joe", payload, sizeof payload));
    jw_msg *m = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &m));
    CHECK(m != NULL);
    CHECK_STR(jw_msg_subject(m), "greet.joe");
    CHECK(jw_msg_reply(m) == NULL);
    CHECK_EQ_INT(jw_msg_data_len(m), sizeof payload);
    CHECK(memcmp(jw_msg_data(m), payload, sizeof payload) == 0);
    CHECK_EQ_INT(jw_msg_header_count(m), 0);
    CHECK_EQ_INT(jw_msg_status_code(m), 0);
    jw_msg_free(m);

    /* With a reply subject. */
    CHECK_OK(jw_conn_publish_reply(pc, "greet.joe", "answer.here", "hi", 2));
    m = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &m));
    CHECK_STR(jw_msg_reply(m), "answer.here");
    CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), "hi");
    jw_msg_free(m);

    /* A payload far larger than a socket read, with a checkable pattern. */
    size_t big_len = 512 * 1024 + 7;
    unsigned char *big = malloc(big_len);
    CHECK(big != NULL);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (unsigned char)(i * 31 + (i >> 8));
    CHECK_OK(jw_conn_publish(pc, "greet.joe", big, big_len));
    m = NULL;
    CHECK_OK(jw_sub_next(sub, 10000, &m));
    CHECK_EQ_INT(jw_msg_data_len(m), big_len);
    CHECK(memcmp(jw_msg_data(m), big, big_len) == 0);
    jw_msg_free(m);
    free(big);

    /* Nothing else arrives; a zero timeout does not wait. */
    m = NULL;
    CHECK_STATUS(jw_sub_next(sub, 0, &m), JW_ETIMEOUT);
    CHECK_STATUS(jw_sub_next(sub, 100, &m), JW_ETIMEOUT);
    CHECK_EQ_INT(jw_sub_delivered(sub), 3);
    int64_t pm = -1, pb = -1;
    CHECK_OK(jw_sub_pending(sub, &pm, &pb));
    CHECK_EQ_INT(pm, 0);
    CHECK_EQ_INT(pb, 0);

    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

TEST(pubsub_zero_payload)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "empty", NULL, &sub));
    CHECK_OK(jw_conn_flush(sc, 5000));

    CHECK_OK(jw_conn_publish(pc, "empty", NULL, 0));
    CHECK_OK(jw_conn_publish(pc, "empty", "ignored", 0));
    jw_msg *out = NULL;
    CHECK_OK(jw_msg_new("empty", NULL, NULL, 0, &out));
    CHECK_OK(jw_conn_publish_msg(pc, out));
    jw_msg_free(out);
    /* Then a non-empty one, to prove the framing after empty payloads. */
    CHECK_OK(jw_conn_publish(pc, "empty", "after", 5));

    for (int i = 0; i < 3; i++) {
        jw_msg *m = NULL;
        CHECK_OK(jw_sub_next(sub, 5000, &m));
        CHECK_EQ_INT(jw_msg_data_len(m), 0);
        CHECK(jw_msg_data(m) != NULL);
        CHECK_STR(jw_msg_subject(m), "empty");
        jw_msg_free(m);
    }
    jw_msg *m = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &m));
    CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), "after");
    jw_msg_free(m);

    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

/* Pull messages until one with subject `last`; record the subjects in
 * got[] as a '|'-joined list. */
static int collect_until(jw_sub *sub, const char *last, char *got, size_t size)
{
    got[0] = '\0';
    for (int i = 0; i < 100; i++) {
        jw_msg *m = NULL;
        jw_status st = jw_sub_next(sub, 5000, &m);
        if (st != JW_OK) {
            fprintf(stderr, "%s: got %s waiting for %s after '%s'\n",
                    jw_sub_subject(sub), jw_status_name(st), last, got);
            return -1;
        }
        int done = strcmp(jw_msg_subject(m), last) == 0;
        if (!done) {
            if (got[0] != '\0')
                strncat(got, "|", size - strlen(got) - 1);
            strncat(got, jw_msg_subject(m), size - strlen(got) - 1);
        }
        jw_msg_free(m);
        if (done)
            return 0;
    }
    return -1;
}

#define CHECK_COLLECT(sub, last, expected)                                     \
    do {                                                                       \
        char got_[512];                                                        \
        CHECK(collect_until((sub), (last), got_, sizeof got_) == 0);           \
        if (strcmp(got_, (expected)) != 0) {                                   \
            fprintf(stderr, "%s:%d: sub %s got '%s', expected '%s'\n",         \
                    __FILE__, __LINE__, jw_sub_subject(sub), got_,             \
                    (expected));                                               \
            return 1;                                                          \
        }                                                                      \
    } while (0)

TEST(pubsub_wildcards)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    jw_sub *star = NULL, *tail = NULL, *mid = NULL, *all = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "foo.*", NULL, &star));
    CHECK_OK(jw_conn_subscribe(sc, "foo.>", NULL, &tail));
    CHECK_OK(jw_conn_subscribe(sc, "*.bar", NULL, &mid));
    CHECK_OK(jw_conn_subscribe(sc, ">", NULL, &all));
    CHECK_OK(jw_conn_flush(sc, 5000));

    const char *subjects[] = {"foo",       "foo.bar",     "foo.bar.baz",
                              "other.bar", "foo.baz.bar", "bar"};
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++)
        CHECK_OK(jw_conn_publish(pc, subjects[i], "x", 1));
    /* End markers: order is kept per publisher, so once a subscription sees
     * its marker it has seen everything published before. */
    CHECK_OK(jw_conn_publish(pc, "foo.zz", "end", 3));
    CHECK_OK(jw_conn_publish(pc, "zz.bar", "end", 3));

    CHECK_COLLECT(star, "foo.zz", "foo.bar");
    CHECK_COLLECT(tail, "foo.zz", "foo.bar|foo.bar.baz|foo.baz.bar");
    CHECK_COLLECT(mid, "zz.bar", "foo.bar|other.bar");
    CHECK_COLLECT(all, "zz.bar",
                  "foo|foo.bar|foo.bar.baz|other.bar|foo.baz.bar|bar|foo.zz");
    /* Nothing after the markers either. */
    jw_msg *m = NULL;
    CHECK_STATUS(jw_sub_next(star, 0, &m), JW_ETIMEOUT);
    CHECK_STATUS(jw_sub_next(tail, 0, &m), JW_ETIMEOUT);

    jw_sub_free(star);
    jw_sub_free(tail);
    jw_sub_free(mid);
    jw_sub_free(all);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

#define QUEUE_MSGS    300
#define QUEUE_MEMBERS 3

TEST(queue_group)
{
    START_SERVER(s, NULL);
    jw_conn *members[QUEUE_MEMBERS] = {0};
    jw_sub *subs[QUEUE_MEMBERS] = {0};
    for (int i = 0; i < QUEUE_MEMBERS; i++) {
        CHECK_OK(jw_test_connect(s, &members[i]));
        CHECK_OK(
            jw_conn_subscribe(members[i], "work.items", "workers", &subs[i]));
        CHECK_STR(jw_sub_queue(subs[i]), "workers");
        CHECK_OK(jw_conn_flush(members[i], 5000));
    }
    jw_conn *pc = NULL;
    CHECK_OK(jw_test_connect(s, &pc));
    for (int i = 0; i < QUEUE_MSGS; i++) {
        char text[16];
        int n = snprintf(text, sizeof text, "%d", i);
        CHECK_OK(jw_conn_publish(pc, "work.items", text, (size_t)n));
    }
    CHECK_OK(jw_conn_flush(pc, 5000));

    int seen[QUEUE_MSGS] = {0};
    int per_member[QUEUE_MEMBERS] = {0};
    int total = 0;
    int64_t deadline = jw_test_now_ms() + 20000;
    while (total < QUEUE_MSGS && jw_test_now_ms() < deadline) {
        for (int i = 0; i < QUEUE_MEMBERS; i++) {
            jw_msg *batch[64];
            int n = jw_sub_next_batch(subs[i], batch, 64, 20);
            if (n < 0) {
                CHECK_STATUS(n, JW_ETIMEOUT);
                continue;
            }
            for (int k = 0; k < n; k++) {
                char text[16] = {0};
                size_t len = jw_msg_data_len(batch[k]);
                CHECK(len > 0 && len < sizeof text);
                memcpy(text, jw_msg_data(batch[k]), len);
                int id = atoi(text);
                CHECK(id >= 0 && id < QUEUE_MSGS);
                seen[id]++;
                per_member[i]++;
                total++;
                jw_msg_free(batch[k]);
            }
        }
    }
    CHECK_EQ_INT(total, QUEUE_MSGS);
    for (int id = 0; id < QUEUE_MSGS; id++)
        CHECK_EQ_INT(seen[id], 1);
    for (int i = 0; i < QUEUE_MEMBERS; i++) {
        CHECK(per_member[i] > 0);
        jw_msg *m = NULL;
        CHECK_STATUS(jw_sub_next(subs[i], 50, &m), JW_ETIMEOUT);
    }
    for (int i = 0; i < QUEUE_MEMBERS; i++) {
        jw_sub_free(subs[i]);
        jw_conn_free(members[i]);
    }
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

TEST(unsubscribe)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    jw_sub *gone = NULL, *kept = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "unsub.x", NULL, &gone));
    CHECK_OK(jw_conn_subscribe(sc, "unsub.x", NULL, &kept));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK_OK(jw_conn_publish(pc, "unsub.x", "1", 1));
    CHECK_OK(jw_conn_flush(pc, 5000));
    CHECK_OK(jw_conn_flush(sc, 5000));

    /* Unsubscribing discards the queued message. */
    CHECK_OK(jw_sub_unsubscribe(gone));
    CHECK_EQ_INT(jw_sub_is_valid(gone), 0);
    jw_msg *m = NULL;
    CHECK_STATUS(jw_sub_next(gone, 100, &m), JW_EINVALID_SUBSCRIPTION);
    CHECK_STATUS(jw_sub_unsubscribe(gone), JW_EINVALID_SUBSCRIPTION);
    CHECK_OK(jw_conn_flush(sc, 5000));

    CHECK_OK(jw_conn_publish(pc, "unsub.x", "2", 1));
    CHECK_OK(jw_sub_next(kept, 5000, &m));
    CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), "1");
    jw_msg_free(m);
    CHECK_OK(jw_sub_next(kept, 5000, &m));
    CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), "2");
    jw_msg_free(m);
    CHECK_STATUS(jw_sub_next(gone, 0, &m), JW_EINVALID_SUBSCRIPTION);

    jw_sub_free(gone);
    jw_sub_free(kept);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

/* Handler state for handler_delivery. */
struct handler_state {
    jw_conn *conn;
    atomic_int count;
    atomic_int in_order;
    atomic_int wait_status; /* what a waiting call returned in the handler */
};

static void counting_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    struct handler_state *st = arg;
    (void)sub;
    int n = atomic_load(&st->count);
    char text[16] = {0};
    size_t len = jw_msg_data_len(msg);
    if (len < sizeof text)
        memcpy(text, jw_msg_data(msg), len);
    if (atoi(text) != n)
        atomic_store(&st->in_order, 0);
    if (n == 0) {
        /* A handler runs on its subscription's delivery thread, not the
         * loop's: it may wait. */
        atomic_store(&st->wait_status, jw_conn_flush(st->conn, 1000));
    }
    jw_msg_free(msg);
    atomic_fetch_add(&st->count, 1);
}

TEST(handler_delivery)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    struct handler_state st;
    st.conn = sc;
    atomic_init(&st.count, 0);
    atomic_init(&st.in_order, 1);
    atomic_init(&st.wait_status, 12345);
    jw_sub *sub = NULL;
    CHECK_OK(
        jw_conn_subscribe_cb(sc, "cb.x", NULL, counting_handler, &st, &sub));
    CHECK_OK(jw_conn_flush(sc, 5000));
    for (int i = 0; i < 100; i++) {
        char text[16];
        int n = snprintf(text, sizeof text, "%d", i);
        CHECK_OK(jw_conn_publish(pc, "cb.x", text, (size_t)n));
    }
    CHECK_OK(jw_conn_flush(pc, 5000));
    JW_WAIT_FOR(atomic_load(&st.count) == 100, 10000);
    CHECK_EQ_INT(atomic_load(&st.count), 100);
    CHECK_EQ_INT(atomic_load(&st.in_order), 1);
    CHECK_OK(atomic_load(&st.wait_status));
    /* A handler subscription queues nothing for pulling. */
    int64_t pm = -1, pb = -1;
    CHECK_OK(jw_sub_pending(sub, &pm, &pb));
    CHECK_EQ_INT(pm, 0);

    /* After unsubscribe the handler is not called again. */
    CHECK_OK(jw_sub_unsubscribe(sub));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK_OK(jw_conn_publish(pc, "cb.x", "100", 3));
    CHECK_OK(jw_conn_flush(pc, 5000));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK_EQ_INT(atomic_load(&st.count), 100);

    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

/* The loop queues a read's run of messages for one pulled subscription
 * under one lock hold. Runs end at another subscription's message, a
 * handler's, and any other operation: a flush returns only once everything
 * published before it is queued, each subscription in order, and the
 * pending limit still counts message by message inside a run. */
struct rising {
    atomic_int count;
    atomic_int last;
    atomic_int in_order;
};

static void rising_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    struct rising *r = arg;
    (void)sub;
    int v = atoi((const char *)jw_msg_data(msg)); /* NUL-terminated */
    if (v <= atomic_load(&r->last))
        atomic_store(&r->in_order, 0);
    atomic_store(&r->last, v);
    jw_msg_free(msg);
    atomic_fetch_add(&r->count, 1);
}

TEST(pubsub_runs_batched)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    struct rising st;
    atomic_init(&st.count, 0);
    atomic_init(&st.last, -1);
    atomic_init(&st.in_order, 1);
    jw_sub *a = NULL, *b = NULL, *h = NULL, *lim = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "run.a", NULL, &a));
    CHECK_OK(jw_conn_subscribe(sc, "run.b", NULL, &b));
    CHECK_OK(jw_conn_subscribe_cb(sc, "run.h", NULL, rising_handler, &st,
                                  &h));
    CHECK_OK(jw_conn_subscribe(sc, "run.lim", NULL, &lim));
    CHECK_OK(jw_sub_set_pending_limits(lim, 50, 0));
    CHECK_OK(jw_conn_flush(sc, 5000));

    enum { N = 3000 };
    char text[16];
    for (int i = 0; i < N; i++) {
        int n = snprintf(text, sizeof text, "%d", i);
        /* Runs of one to three to a, then b, now and then the handler. */
        const char *subject = i % 7 < 3 ? "run.a" : i % 7 < 6 ? "run.b"
                                                               : "run.h";
        CHECK_OK(jw_conn_publish(pc, subject, text, (size_t)n));
    }
    for (int i = 0; i < 200; i++) /* one run, past the limit of 50 */
        CHECK_OK(jw_conn_publish(pc, "run.lim", "x", 1));
    CHECK_OK(jw_conn_flush(pc, 5000));
    CHECK_OK(jw_conn_flush(sc, 5000)); /* its PONG follows every message */

    int64_t pa = -1, pbm = -1, bytes = -1;
    CHECK_OK(jw_sub_pending(a, &pa, &bytes));
    CHECK_OK(jw_sub_pending(b, &pbm, &bytes));
    int want_a = 0, want_b = 0, want_h = 0;
    for (int i = 0; i < N; i++) {
        want_a += i % 7 < 3;
        want_b += i % 7 >= 3 && i % 7 < 6;
        want_h += i % 7 == 6;
    }
    CHECK_EQ_INT(pa, want_a);
    CHECK_EQ_INT(pbm, want_b);
    CHECK_EQ_INT(jw_sub_delivered(a), want_a);
    JW_WAIT_FOR(atomic_load(&st.count) == want_h, 10000);
    CHECK_EQ_INT(atomic_load(&st.in_order), 1);
    int64_t pl = -1;
    CHECK_OK(jw_sub_pending(lim, &pl, &bytes));
    CHECK_EQ_INT(pl, 50);
    CHECK_EQ_INT(jw_sub_dropped(lim), 150);
    CHECK_EQ_INT(jw_sub_delivered(lim), 200);

    /* Each subscription got its messages in publish order. */
    jw_sub *subs[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        int next = -1;
        jw_msg *m = NULL;
        while (jw_sub_next(subs[k], 0, &m) == JW_OK) {
            int v = atoi((const char *)jw_msg_data(m));
            CHECK(v > next);
            CHECK_EQ_INT(k == 0 ? v % 7 < 3 : v % 7 >= 3 && v % 7 < 6, 1);
            next = v;
            jw_msg_free(m);
        }
    }

    jw_sub_free(a);
    jw_sub_free(b);
    jw_sub_free(h);
    jw_sub_free(lim);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

TEST(auto_unsubscribe)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "auto.x", NULL, &sub));
    CHECK_OK(jw_sub_auto_unsubscribe(sub, 3));
    CHECK_OK(jw_conn_flush(sc, 5000));
    for (int i = 0; i < 10; i++) {
        char text[4];
        int n = snprintf(text, sizeof text, "%d", i);
        CHECK_OK(jw_conn_publish(pc, "auto.x", text, (size_t)n));
    }
    CHECK_OK(jw_conn_flush(pc, 5000));
    CHECK_OK(jw_conn_flush(sc, 5000));
    for (int i = 0; i < 3; i++) {
        jw_msg *m = NULL;
        CHECK_OK(jw_sub_next(sub, 5000, &m));
        char text[4];
        int n = snprintf(text, sizeof text, "%d", i);
        CHECK_EQ_INT(jw_msg_data_len(m), n);
        CHECK(memcmp(jw_msg_data(m), text, (size_t)n) == 0);
        jw_msg_free(m);
    }
    jw_msg *m = NULL;
    CHECK_STATUS(jw_sub_next(sub, 1000, &m), JW_EINVALID_SUBSCRIPTION);
    CHECK_EQ_INT(jw_sub_is_valid(sub), 0);
    CHECK_EQ_INT(jw_sub_delivered(sub), 3);
    jw_sub_free(sub);

    /* The limit counts messages already received. */
    CHECK_OK(jw_conn_subscribe(sc, "auto.y", NULL, &sub));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK_OK(jw_conn_publish(pc, "auto.y", "a", 1));
    CHECK_OK(jw_conn_publish(pc, "auto.y", "b", 1));
    CHECK_OK(jw_conn_flush(pc, 5000));
    for (int i = 0; i < 2; i++) {
        m = NULL;
        CHECK_OK(jw_sub_next(sub, 5000, &m));
        jw_msg_free(m);
    }
    CHECK_OK(jw_sub_auto_unsubscribe(sub, 3));
    CHECK_OK(jw_conn_flush(sc, 5000));
    for (int i = 0; i < 5; i++)
        CHECK_OK(jw_conn_publish(pc, "auto.y", "c", 1));
    CHECK_OK(jw_conn_flush(pc, 5000));
    m = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &m));
    CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), "c");
    jw_msg_free(m);
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK_STATUS(jw_sub_next(sub, 1000, &m), JW_EINVALID_SUBSCRIPTION);
    jw_sub_free(sub);

    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

/* Take events until an ERROR one arrives (others are skipped). */
static jw_status next_error_event(jw_conn *nc, int64_t timeout_ms,
                                  jw_event **out)
{
    int64_t deadline = jw_test_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - jw_test_now_ms();
        jw_event *ev = NULL;
        jw_status st = jw_conn_next_event(nc, left > 0 ? left : 0, &ev);
        if (st != JW_OK)
            return st;
        if (jw_event_kind_get(ev) == JW_EVENT_ERROR) {
            *out = ev;
            return JW_OK;
        }
        jw_event_free(ev);
    }
}

TEST(slow_consumer)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "slow.x", NULL, &sub));
    CHECK_OK(jw_sub_set_pending_limits(sub, 10, 1024 * 1024));
    CHECK_OK(jw_conn_flush(sc, 5000));
    for (int i = 0; i < 1000; i++) {
        char text[16];
        int n = snprintf(text, sizeof text, "%d", i);
        CHECK_OK(jw_conn_publish(pc, "slow.x", text, (size_t)n));
    }
    CHECK_OK(jw_conn_flush(pc, 5000));
    /* The PONG comes after every delivery the server sent before it. */
    CHECK_OK(jw_conn_flush(sc, 5000));

    uint64_t dropped = jw_sub_dropped(sub);
    int64_t pending = -1, pending_bytes = -1;
    CHECK_OK(jw_sub_pending(sub, &pending, &pending_bytes));
    CHECK(dropped > 0);
    CHECK(pending <= 10);
    CHECK(pending > 0);
    CHECK_EQ_INT((int64_t)dropped + pending, 1000);

    jw_event *ev = NULL;
    CHECK_OK(next_error_event(sc, 5000, &ev));
    CHECK_STATUS(jw_event_status(ev), JW_ESLOW_CONSUMER);
    CHECK(jw_event_sub(ev) == sub);
    CHECK(jw_event_text(ev) != NULL);
    jw_event_free(ev);
    /* Once per episode. */
    ev = NULL;
    CHECK_STATUS(next_error_event(sc, 200, &ev), JW_ETIMEOUT);

    /* What was kept are the oldest messages, in order. */
    for (int i = 0; i < pending; i++) {
        jw_msg *m = NULL;
        CHECK_OK(jw_sub_next(sub, 1000, &m));
        char text[16];
        int n = snprintf(text, sizeof text, "%d", i);
        CHECK_EQ_INT(jw_msg_data_len(m), n);
        CHECK(memcmp(jw_msg_data(m), text, (size_t)n) == 0);
        jw_msg_free(m);
    }

    /* After catching up, a new overflow is a new episode. */
    for (int i = 0; i < 100; i++)
        CHECK_OK(jw_conn_publish(pc, "slow.x", "again", 5));
    CHECK_OK(jw_conn_flush(pc, 5000));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK(jw_sub_dropped(sub) > dropped);
    ev = NULL;
    CHECK_OK(next_error_event(sc, 5000, &ev));
    CHECK_STATUS(jw_event_status(ev), JW_ESLOW_CONSUMER);
    CHECK(jw_event_sub(ev) == sub);
    jw_event_free(ev);

    /* The connection itself is unharmed. */
    CHECK_EQ_INT(jw_conn_is_connected(sc), 1);
    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

TEST(slow_consumer_bytes)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "slowb.x", NULL, &sub));
    /* No message-count limit, 10 KiB of bytes. */
    CHECK_OK(jw_sub_set_pending_limits(sub, -1, 10 * 1024));
    CHECK_OK(jw_conn_flush(sc, 5000));
    char chunk[1024];
    memset(chunk, 'b', sizeof chunk);
    for (int i = 0; i < 100; i++)
        CHECK_OK(jw_conn_publish(pc, "slowb.x", chunk, sizeof chunk));
    CHECK_OK(jw_conn_flush(pc, 5000));
    CHECK_OK(jw_conn_flush(sc, 5000));
    int64_t pm = -1, pb = -1;
    CHECK_OK(jw_sub_pending(sub, &pm, &pb));
    CHECK(pb <= 10 * 1024);
    CHECK(pm > 0);
    int64_t lm = 0, lb = 0;
    CHECK_OK(jw_sub_pending_limits(sub, &lm, &lb));
    CHECK(lm == -1 && lb == 10 * 1024);
    CHECK(jw_sub_dropped(sub) > 0);
    CHECK_EQ_INT((int64_t)jw_sub_dropped(sub) + pm, 100);
    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

static int fd_readable(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    return r > 0 && (p.revents & POLLIN) != 0;
}

/* Empty the connection's event queue (without waiting). */
static void drop_events(jw_conn *nc)
{
    jw_event *ev = NULL;
    while (jw_conn_next_event(nc, 0, &ev) == JW_OK) {
        jw_event_free(ev);
        ev = NULL;
    }
}

TEST(fd_readable)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    int fd = jw_conn_fd(sc);
    CHECK(fd >= 0);
    CHECK_EQ_INT(jw_conn_fd(sc), fd);
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "fd.x", NULL, &sub));
    CHECK_OK(jw_conn_flush(sc, 5000));

    /* Start quiet: reset, then pull whatever is there. */
    jw_conn_fd_reset(sc);
    drop_events(sc);
    CHECK(!fd_readable(fd, 0));

    for (int round = 0; round < 3; round++) {
        /* Two messages: one transition, one signal. Both flushes make sure
         * both are queued before the fd is looked at. */
        CHECK_OK(jw_conn_publish(pc, "fd.x", "one", 3));
        CHECK_OK(jw_conn_publish(pc, "fd.x", "two", 3));
        CHECK_OK(jw_conn_flush(pc, 5000));
        CHECK_OK(jw_conn_flush(sc, 5000));
        CHECK(fd_readable(fd, 5000));
        jw_conn_fd_reset(sc);
        jw_msg *batch[8];
        int n = jw_sub_next_batch(sub, batch, 8, 0);
        CHECK_EQ_INT(n, 2);
        CHECK_MEM_STR(jw_msg_data(batch[0]), jw_msg_data_len(batch[0]), "one");
        CHECK_MEM_STR(jw_msg_data(batch[1]), jw_msg_data_len(batch[1]), "two");
        jw_msg_free(batch[0]);
        jw_msg_free(batch[1]);
        CHECK_STATUS(jw_sub_next_batch(sub, batch, 8, 0), JW_ETIMEOUT);
        drop_events(sc);
        /* Quiet until the next message. */
        CHECK(!fd_readable(fd, 100));
    }

    /* An event (slow consumer) signals too. */
    CHECK_OK(jw_sub_set_pending_limits(sub, 1, -1));
    for (int i = 0; i < 5; i++)
        CHECK_OK(jw_conn_publish(pc, "fd.x", "x", 1));
    CHECK_OK(jw_conn_flush(pc, 5000));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK(fd_readable(fd, 5000));
    jw_conn_fd_reset(sc);
    jw_event *ev = NULL;
    CHECK_OK(next_error_event(sc, 0, &ev));
    CHECK_STATUS(jw_event_status(ev), JW_ESLOW_CONSUMER);
    jw_event_free(ev);

    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

static void drop_msg(jw_sub *sub, jw_msg *msg, void *arg)
{
    (void)sub;
    (void)arg;
    jw_msg_free(msg);
}

/* Publish text to subject and wait until sc has it (both flushed). */
static int publish_seen(jw_conn *pc, jw_conn *sc, const char *subject,
                        const char *text)
{
    CHECK_OK(jw_conn_publish(pc, subject, text, strlen(text)));
    CHECK_OK(jw_conn_flush(pc, 5000));
    CHECK_OK(jw_conn_flush(sc, 5000));
    return 0;
}

/* Pull sub until empty; how many there were. */
static int pull_all(jw_sub *sub)
{
    int total = 0;
    jw_msg *batch[16];
    int n;
    while ((n = jw_sub_next_batch(sub, batch, 16, 0)) > 0) {
        for (int i = 0; i < n; i++)
            jw_msg_free(batch[i]);
        total += n;
    }
    return total;
}

/* jw_sub_set_tag and jw_conn_ready: which subscriptions have messages,
 * in the order they got them, each once until taken, without looking at
 * the others. */
TEST(ready_tags)
{
    START_SERVER(s, NULL);
    TWO_CONNS(s, sc, pc);
    jw_sub *a = NULL, *b = NULL, *c = NULL, *plain = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "rt.a", NULL, &a));
    CHECK_OK(jw_conn_subscribe(sc, "rt.b", NULL, &b));
    CHECK_OK(jw_conn_subscribe(sc, "rt.c", NULL, &c));
    CHECK_OK(jw_conn_subscribe(sc, "rt.plain", NULL, &plain));
    CHECK_OK(jw_sub_set_tag(a, 101));
    CHECK_OK(jw_sub_set_tag(b, 102));
    CHECK_OK(jw_sub_set_tag(c, 103));
    CHECK_OK(jw_conn_flush(sc, 5000));
    uint64_t tags[8];
    CHECK_EQ_INT(jw_conn_ready(sc, tags, 8), 0);

    /* b, then a twice, then the untagged one: b and a, once each. */
    CHECK(publish_seen(pc, sc, "rt.b", "1") == 0);
    CHECK(publish_seen(pc, sc, "rt.a", "2") == 0);
    CHECK(publish_seen(pc, sc, "rt.a", "3") == 0);
    CHECK(publish_seen(pc, sc, "rt.plain", "4") == 0);
    CHECK_EQ_INT(jw_conn_ready(sc, tags, 1), 1);
    CHECK(tags[0] == 102);
    CHECK_EQ_INT(jw_conn_ready(sc, tags, 8), 1);
    CHECK(tags[0] == 101);
    CHECK_EQ_INT(jw_conn_ready(sc, tags, 8), 0);

    /* Still holding messages, a is not listed again for more; once
     * emptied, the next message lists it. */
    CHECK(publish_seen(pc, sc, "rt.a", "5") == 0);
    CHECK_EQ_INT(jw_conn_ready(sc, tags, 8), 0);
    CHECK_EQ_INT(pull_all(a), 3);
    CHECK_EQ_INT(pull_all(b), 1);
    CHECK(publish_seen(pc, sc, "rt.a", "6") == 0);
    CHECK_EQ_INT(jw_conn_ready(sc, tags, 8), 1);
    CHECK(tags[0] == 101);
    CHECK_EQ_INT(pull_all(a), 1);

    /* A tag set on a subscription with messages lists it at once. */
    CHECK_EQ_INT(pull_all(plain), 1);
    CHECK(publish_seen(pc, sc, "rt.plain", "7") == 0);
    CHECK_OK(jw_sub_set_tag(plain, 104));
    CHECK_EQ_INT(jw_conn_ready(sc, tags, 8), 1);
    CHECK(tags[0] == 104);

    /* Tag 0 takes it off the list; a freed one leaves it. */
    CHECK(publish_seen(pc, sc, "rt.c", "8") == 0);
    CHECK_OK(jw_sub_set_tag(c, 0));
    CHECK(publish_seen(pc, sc, "rt.b", "9") == 0);
    jw_sub_free(b);
    CHECK_EQ_INT(jw_conn_ready(sc, tags, 8), 0);

    /* Handlers deliver themselves: no tag for them. */
    jw_sub *h = NULL;
    CHECK_OK(jw_conn_subscribe_cb(sc, "rt.h", NULL, drop_msg, NULL, &h));
    CHECK_STATUS(jw_sub_set_tag(h, 1), JW_EINVAL);
    jw_sub_free(h);
    jw_sub_free(a);
    jw_sub_free(c);
    jw_sub_free(plain);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}
