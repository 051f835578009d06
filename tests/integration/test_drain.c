/* Drain: nothing in flight is lost, queued messages stay readable. */
#include <stdlib.h>

#include "server.h"

/* Pull `count` messages whose payload is the decimal sequence 0..count-1,
 * in order. Returns 0 or prints what went wrong. */
static int pull_sequence(jw_sub *sub, int count, int64_t timeout_ms)
{
    int next = 0;
    int64_t deadline = jw_test_now_ms() + timeout_ms;
    jw_msg *batch[256];
    while (next < count) {
        int64_t left = deadline - jw_test_now_ms();
        if (left <= 0) {
            fprintf(stderr, "pull_sequence: timed out at %d of %d\n", next,
                    count);
            return -1;
        }
        int n = jw_sub_next_batch(sub, batch, 256, left);
        if (n < 0) {
            fprintf(stderr, "pull_sequence: %s at %d of %d [%s]\n",
                    jw_status_name(n), next, count, jw_last_error());
            return -1;
        }
        for (int k = 0; k < n; k++) {
            char text[16] = {0};
            size_t len = jw_msg_data_len(batch[k]);
            if (len < sizeof text)
                memcpy(text, jw_msg_data(batch[k]), len);
            int got = atoi(text);
            jw_msg_free(batch[k]);
            if (got != next) {
                fprintf(stderr, "pull_sequence: got %d, expected %d\n", got,
                        next);
                for (int j = k + 1; j < n; j++)
                    jw_msg_free(batch[j]);
                return -1;
            }
            next++;
        }
    }
    return 0;
}

static jw_status publish_sequence(jw_conn *pc, const char *subject, int count)
{
    for (int i = 0; i < count; i++) {
        char text[16];
        int n = snprintf(text, sizeof text, "%d", i);
        jw_status st = jw_conn_publish(pc, subject, text, (size_t)n);
        if (st != JW_OK)
            return st;
    }
    return JW_OK;
}

TEST(drain_publisher)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *pc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    CHECK_OK(jw_test_connect(s, &pc));
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "drain.pub", NULL, &sub));
    CHECK_OK(jw_conn_flush(sc, 5000));

    /* No flush: drain must write what is still queued. */
    CHECK_OK(publish_sequence(pc, "drain.pub", 10000));
    CHECK_OK(jw_conn_drain(pc, 30000));
    CHECK_EQ_INT(jw_conn_status_get(pc), JW_CONN_CLOSED);
    CHECK_STATUS(jw_conn_publish(pc, "drain.pub", "x", 1),
                 JW_ECONNECTION_CLOSED);

    CHECK(pull_sequence(sub, 10000, 30000) == 0);
    CHECK_EQ_INT(jw_sub_dropped(sub), 0);
    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

/* A close writes what is queued when the socket takes it at once: a few
 * publishes (the last acks of a worker) made just before it arrive. */
TEST(close_writes_queued)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "close.pub", NULL, &sub));
    CHECK_OK(jw_conn_flush(sc, 5000));
    for (int round = 0; round < 20; round++) {
        jw_conn *pc = NULL;
        CHECK_OK(jw_test_connect(s, &pc));
        CHECK_OK(publish_sequence(pc, "close.pub", 100));
        jw_conn_free(pc); /* closes at once, no flush, no drain */
        CHECK(pull_sequence(sub, 100, 5000) == 0);
    }
    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_test_server_stop(s);
    return 0;
}

TEST(drain_subscriber)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *pc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    CHECK_OK(jw_test_connect(s, &pc));
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "drain.sub", NULL, &sub));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK_OK(publish_sequence(pc, "drain.sub", 1000));
    CHECK_OK(jw_conn_flush(pc, 5000));
    CHECK_OK(jw_conn_flush(sc, 5000));
    int64_t pm = 0, pb = 0;
    CHECK_OK(jw_sub_pending(sub, &pm, &pb));
    CHECK_EQ_INT(pm, 1000);

    CHECK_OK(jw_conn_drain(sc, 10000));
    CHECK_EQ_INT(jw_conn_status_get(sc), JW_CONN_CLOSED);
    /* Published after the drain: must not arrive. */
    CHECK_OK(jw_conn_publish(pc, "drain.sub", "late", 4));
    CHECK_OK(jw_conn_flush(pc, 5000));

    CHECK(pull_sequence(sub, 1000, 10000) == 0);
    jw_msg *m = NULL;
    CHECK_STATUS2(jw_sub_next(sub, 1000, &m), JW_ECONNECTION_CLOSED,
                  JW_EINVALID_SUBSCRIPTION);
    jw_sub *again = NULL;
    CHECK_STATUS(jw_conn_subscribe(sc, "drain.sub", NULL, &again),
                 JW_ECONNECTION_CLOSED);

    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

TEST(sub_drain)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *pc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    CHECK_OK(jw_test_connect(s, &pc));
    jw_sub *sub = NULL, *other = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "sdrain.x", NULL, &sub));
    CHECK_OK(jw_conn_subscribe(sc, "sdrain.x", NULL, &other));
    CHECK_OK(jw_conn_flush(sc, 5000));
    CHECK_OK(publish_sequence(pc, "sdrain.x", 100));
    CHECK_OK(jw_conn_flush(pc, 5000));
    CHECK_OK(jw_conn_flush(sc, 5000));

    CHECK_OK(jw_sub_drain(sub));
    CHECK_OK(jw_conn_flush(sc, 5000));
    /* After the drain reached the server, new messages go to `other`
     * only. */
    CHECK_OK(jw_conn_publish(pc, "sdrain.x", "100", 3));
    CHECK_OK(jw_conn_flush(pc, 5000));
    CHECK(pull_sequence(sub, 100, 10000) == 0);
    jw_msg *m = NULL;
    CHECK_STATUS(jw_sub_next(sub, 1000, &m), JW_EINVALID_SUBSCRIPTION);
    CHECK_EQ_INT(jw_sub_is_valid(sub), 0);

    CHECK(pull_sequence(other, 101, 10000) == 0);
    CHECK_EQ_INT(jw_conn_is_connected(sc), 1);
    jw_sub_free(sub);
    jw_sub_free(other);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}
