/* Memory: a flooded subscription's pending bytes limit bounds what the
 * process holds, measured by its resident set. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define SANITIZED JW_TEST_SANITIZED

#define MIB (1024LL * 1024)

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

/*
 * A subscriber that reads nothing while a second connection publishes a
 * million 128-byte messages as fast as it can. The engine's loop keeps
 * reading and drops what is past the subscription's 32 MiB: the process
 * must then hold the limit and a small constant more, not the limit times
 * the per-message overhead the old accounting left out (a 128-byte message
 * takes a 272-byte allocation, so counting payloads alone let the queue
 * hold about 68 MiB). The constant, 16 MiB, covers what is not the queue:
 * the publisher's two outbound buffers (max_pending_out is 1 MiB here),
 * the subscriber's 256 KiB read buffer and one read's staged messages, the
 * malloc arena of the loop thread, page tables and libc's buffers.
 */
TEST(pending_limit_bounds_rss)
{
    const int64_t limit = 32 * MIB;
    const int64_t slack = 16 * MIB;
    const int count = SANITIZED ? 300000 : 1000000;
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *pc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_int(opts, "max_pending_out", 1 * MIB));
    CHECK_OK(jw_conn_connect(s->url, opts, &pc));
    jw_opts_free(opts);

    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "rss.flood", NULL, &sub));
    CHECK_OK(jw_sub_set_pending_limits(sub, 100 * 1000 * 1000, limit));
    CHECK_OK(jw_conn_flush(sc, 5000));

    char payload[128];
    memset(payload, 'r', sizeof payload);
    /* Warm the publishing path (its buffers reach their size) first. */
    for (int i = 0; i < 1000; i++)
        CHECK_OK(jw_conn_publish(pc, "rss.warm", payload, sizeof payload));
    CHECK_OK(jw_conn_flush(pc, 5000));

    int peak_ok = jw_test_reset_peak_rss() == 0;
    int64_t before = jw_test_proc_bytes("VmRSS");
    CHECK(before > 0);

    for (int i = 0; i < count; i++)
        CHECK_OK(jw_conn_publish(pc, "rss.flood", payload, sizeof payload));
    CHECK_OK(jw_conn_flush(pc, 30000));
    /* The PONG comes after every message the server sent before it. */
    CHECK_OK(jw_conn_flush(sc, 30000));

    int64_t after = jw_test_proc_bytes("VmRSS");
    int64_t peak = peak_ok ? jw_test_proc_bytes("VmHWM") : after;
    CHECK(after > 0 && peak > 0);
    int64_t msgs = -1, bytes = -1;
    CHECK_OK(jw_sub_pending(sub, &msgs, &bytes));
    uint64_t dropped = jw_sub_dropped(sub);
    fprintf(stderr,
            "flood of %d x 128 B, limit %lld MiB: kept %lld (%lld bytes "
            "counted), dropped %llu; RSS %+.1f MiB now, %+.1f MiB at the "
            "peak%s\n",
            count, (long long)(limit / MIB), (long long)msgs,
            (long long)bytes, (unsigned long long)dropped,
            (double)(after - before) / MIB, (double)(peak - before) / MIB,
            peak_ok ? "" : " (no VmHWM reset: the current RSS)");

    /* Every message was either kept or dropped and counted. */
    CHECK(dropped > 0);
    CHECK(msgs > 0);
    CHECK(bytes <= limit);
    CHECK_EQ_INT((int64_t)dropped + msgs, count);
    jw_event *ev = NULL;
    CHECK_OK(next_error_event(sc, 5000, &ev));
    CHECK_STATUS(jw_event_status(ev), JW_ESLOW_CONSUMER);
    jw_event_free(ev);

    if (SANITIZED)
        fprintf(stderr, "RSS bound not checked: built with a sanitizer, "
                        "whose quarantine and shadow memory inflate it\n");
    else
        CHECK(peak - before <= limit + slack);
    /* What a message counts covers more than its payload. */
    CHECK(bytes > msgs * (int64_t)sizeof payload);

    /* The kept messages are readable, oldest first. */
    jw_msg *m = NULL;
    CHECK_OK(jw_sub_next(sub, 1000, &m));
    CHECK_EQ_INT(jw_msg_data_len(m), sizeof payload);
    jw_msg_free(m);

    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

/* The handler of pending_limit_bounds_handler: its first call returns
 * once `open` is 1, the others once it is 2. */
struct gated {
    atomic_int calls;
    atomic_int open;
};

static void gated_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    struct gated *g = arg;
    (void)sub;
    int need = atomic_fetch_add(&g->calls, 1) == 0 ? 1 : 2;
    while (atomic_load(&g->open) < need)
        jw_test_sleep_ms(2);
    jw_msg_free(msg);
}

/* Publish count messages of size bytes and wait until the subscriber's
 * connection has seen them all (its PONG follows them). */
static jw_status flood(jw_conn *pc, jw_conn *sc, const char *subject,
                       const void *payload, size_t size, int count)
{
    for (int i = 0; i < count; i++) {
        jw_status st = jw_conn_publish(pc, subject, payload, size);
        if (st)
            return st;
    }
    jw_status st = jw_conn_flush(pc, 30000);
    return st ? st : jw_conn_flush(sc, 30000);
}

/*
 * A handler subscription's delivery thread takes messages off the queue in
 * batches, which the pending limits no longer see: a batch must count
 * little. The handler blocks on a first message while the queue fills to
 * its 16 MiB limit with 256 KiB messages; let go, the thread takes its
 * next batch from the full queue (which used to be up to 64 messages: all
 * of it) and the handler blocks on that batch's first; the queue fills
 * again. The process must then hold the limit and a small constant, not
 * the limit twice. The constant, 8 MiB: the message the handler holds,
 * the publisher's buffers (1 MiB max_pending_out and one message), the
 * read buffer and the parser's buffer for a payload split across reads,
 * one read's staged messages, and the allocator's slack.
 */
TEST(pending_limit_bounds_handler)
{
    const int64_t limit = 16 * MIB;
    const int64_t slack = 8 * MIB;
    const size_t size = 256 * 1024;
    const int count = 2 * (int)(limit / (int64_t)size); /* twice the limit */
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *pc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_int(opts, "max_pending_out", 1 * MIB));
    CHECK_OK(jw_conn_connect(s->url, opts, &pc));
    jw_opts_free(opts);

    struct gated g;
    atomic_init(&g.calls, 0);
    atomic_init(&g.open, 0);
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe_cb(sc, "rss.handler", NULL, gated_handler, &g,
                                  &sub));
    CHECK_OK(jw_sub_set_pending_limits(sub, 1000 * 1000, limit));
    CHECK_OK(jw_conn_flush(sc, 5000));
    char *payload = malloc(size);
    CHECK(payload != NULL);
    memset(payload, 'h', size);
    /* Warm up: the buffers a message this size needs reach their size. */
    CHECK_OK(flood(pc, sc, "rss.warm", payload, size, 8));

    int peak_ok = jw_test_reset_peak_rss() == 0;
    int64_t before = jw_test_proc_bytes("VmRSS");
    CHECK(before > 0);

    /* One message alone: the handler holds it, a batch of one. */
    CHECK_OK(flood(pc, sc, "rss.handler", payload, size, 1));
    JW_WAIT_FOR(atomic_load(&g.calls) == 1, 5000);
    CHECK_EQ_INT(atomic_load(&g.calls), 1);
    CHECK_OK(flood(pc, sc, "rss.handler", payload, size, count));
    CHECK(jw_sub_dropped(sub) > 0); /* the queue is full */
    int64_t queued_first = -1;
    CHECK_OK(jw_sub_pending(sub, &queued_first, NULL));

    /* The next batch comes from the full queue. */
    atomic_store(&g.open, 1);
    JW_WAIT_FOR(atomic_load(&g.calls) == 2, 5000);
    CHECK_EQ_INT(atomic_load(&g.calls), 2);
    int64_t left = -1;
    CHECK_OK(jw_sub_pending(sub, &left, NULL));

    uint64_t dropped_first = jw_sub_dropped(sub);
    CHECK_OK(flood(pc, sc, "rss.handler", payload, size, count));
    CHECK(jw_sub_dropped(sub) > dropped_first); /* full again */
    int64_t msgs = -1, bytes = -1;
    CHECK_OK(jw_sub_pending(sub, &msgs, &bytes));
    CHECK(bytes <= limit);

    int64_t after = jw_test_proc_bytes("VmRSS");
    int64_t peak = peak_ok ? jw_test_proc_bytes("VmHWM") : after;
    CHECK(after > 0 && peak > 0);
    fprintf(stderr,
            "handler held, 2 x %d x 256 KiB, limit %lld MiB: queued %lld, "
            "a batch left %lld of %lld, dropped %llu; RSS %+.1f MiB now, "
            "%+.1f MiB at the peak\n",
            count, (long long)(limit / MIB), (long long)msgs,
            (long long)left, (long long)queued_first,
            (unsigned long long)jw_sub_dropped(sub),
            (double)(after - before) / MIB, (double)(peak - before) / MIB);
    if (SANITIZED)
        fprintf(stderr, "RSS bound not checked: built with a sanitizer\n");
    else
        CHECK(peak - before <= limit + slack);
    /* That batch was one message: the rest stayed queued, counted. */
    CHECK_EQ_INT(left, queued_first - 1);

    /* Let the handler go: it gets everything that was kept. */
    atomic_store(&g.open, 2);
    int64_t expect = 1 + 2 * (int64_t)count - (int64_t)jw_sub_dropped(sub);
    JW_WAIT_FOR(atomic_load(&g.calls) == expect, 10000);
    CHECK_EQ_INT(atomic_load(&g.calls), expect);

    jw_sub_free(sub);
    free(payload);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

/* jw_sub_batch_size: the batch a binding takes counts about 1 MiB at the
 * queue's average (JW_SUB_BATCH_BYTES), whatever the room it has. */
TEST(sub_batch_size)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "batch.size", NULL, &sub));
    CHECK_OK(jw_conn_flush(nc, 5000));
    CHECK_EQ_INT(jw_sub_batch_size(sub, 256), 256); /* empty queue */
    CHECK_EQ_INT(jw_sub_batch_size(sub, 0), 0);
    static char big[300 * 1024];
    for (int i = 0; i < 10; i++)
        CHECK_OK(jw_conn_publish(nc, "batch.size", big, sizeof big));
    for (int i = 0; i < 100; i++)
        CHECK_OK(jw_conn_publish(nc, "batch.size", "s", 1));
    CHECK_OK(jw_conn_flush(nc, 5000));
    int64_t msgs = 0, bytes = 0;
    for (int i = 0; i < 500 && msgs < 110; i++) {
        CHECK_OK(jw_sub_pending(sub, &msgs, &bytes));
        if (msgs < 110)
            jw_test_sleep_ms(10);
    }
    CHECK_EQ_INT(msgs, 110);
    /* 110 messages of about 28 KiB on average: 37 fit in 1 MiB. */
    int n = jw_sub_batch_size(sub, 256);
    CHECK_EQ_INT(n, (int)((int64_t)JW_SUB_BATCH_BYTES * msgs / bytes));
    CHECK(n > 30 && n < 40);
    CHECK_EQ_INT(jw_sub_batch_size(sub, 5), 5); /* never more than max */
    jw_sub_free(sub);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}
