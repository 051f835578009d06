/* Volume: a million messages in order, concurrent publishers. */
#include <pthread.h>
#include <stdlib.h>

#include "server.h"

#define MILLION  1000000
#define MSG_SIZE 16

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

struct publisher {
    jw_conn *nc;
    const char *subject;
    uint64_t tag; /* goes into bytes 8..15 */
    int count;
    jw_status status;
};

static void *publish_run(void *arg)
{
    struct publisher *p = arg;
    unsigned char payload[MSG_SIZE];
    put_u64(payload + 8, p->tag);
    p->status = JW_OK;
    for (int i = 0; i < p->count; i++) {
        put_u64(payload, (uint64_t)i);
        jw_status st =
            jw_conn_publish(p->nc, p->subject, payload, sizeof payload);
        if (st != JW_OK) {
            p->status = st;
            return NULL;
        }
    }
    p->status = jw_conn_flush(p->nc, 30000);
    return NULL;
}

TEST(million_messages)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *pc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    CHECK_OK(jw_test_connect(s, &pc));
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "bulk.million", NULL, &sub));
    CHECK_OK(jw_sub_set_pending_limits(sub, 2 * MILLION, 1024LL * 1024 * 1024));
    CHECK_OK(jw_conn_flush(sc, 5000));

    struct publisher p = {pc, "bulk.million", 0xfeedULL, MILLION, JW_OK};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, publish_run, &p) == 0);

    static jw_msg *batch[1024];
    uint64_t next = 0;
    int bad = 0;
    int64_t last_progress = jw_test_now_ms();
    while (next < MILLION && !bad) {
        int n = jw_sub_next_batch(sub, batch, 1024, 5000);
        if (n < 0) {
            if (n == JW_ETIMEOUT && jw_test_now_ms() - last_progress < 30000)
                continue;
            fprintf(stderr, "next_batch: %s at %llu [%s]\n", jw_status_name(n),
                    (unsigned long long)next, jw_last_error());
            bad = 1;
            break;
        }
        last_progress = jw_test_now_ms();
        for (int k = 0; k < n; k++) {
            const unsigned char *d = jw_msg_data(batch[k]);
            if (!bad && (jw_msg_data_len(batch[k]) != MSG_SIZE ||
                         get_u64(d) != next || get_u64(d + 8) != 0xfeed)) {
                fprintf(stderr, "message %llu: len %zu seq %llu\n",
                        (unsigned long long)next, jw_msg_data_len(batch[k]),
                        jw_msg_data_len(batch[k]) >= 8
                            ? (unsigned long long)get_u64(d)
                            : 0ULL);
                bad = 1;
            }
            jw_msg_free(batch[k]);
            next++;
        }
    }
    pthread_join(th, NULL);
    CHECK_STATUS(p.status, JW_OK);
    CHECK(!bad);
    CHECK_EQ_INT(next, MILLION);
    CHECK_EQ_INT(jw_sub_dropped(sub), 0);
    jw_msg *m = NULL;
    CHECK_STATUS(jw_sub_next(sub, 100, &m), JW_ETIMEOUT);
    CHECK(jw_conn_stat(sc, JW_STAT_IN_MSGS) >= MILLION);
    CHECK(jw_conn_stat(pc, JW_STAT_OUT_MSGS) >= MILLION);

    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}

#define PUB_THREADS 4
#define PER_THREAD  10000

TEST(concurrent_publishers)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *pc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    CHECK_OK(jw_test_connect(s, &pc));
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(sc, "bulk.conc", NULL, &sub));
    CHECK_OK(jw_conn_flush(sc, 5000));

    /* Four threads share one publishing connection. */
    pthread_t th[PUB_THREADS];
    struct publisher p[PUB_THREADS];
    for (int i = 0; i < PUB_THREADS; i++) {
        p[i] =
            (struct publisher){pc, "bulk.conc", (uint64_t)i, PER_THREAD, JW_OK};
        CHECK(pthread_create(&th[i], NULL, publish_run, &p[i]) == 0);
    }

    uint64_t next[PUB_THREADS] = {0};
    int total = 0, bad = 0;
    int64_t deadline = jw_test_now_ms() + 45000;
    jw_msg *batch[512];
    while (total < PUB_THREADS * PER_THREAD && !bad &&
           jw_test_now_ms() < deadline) {
        int n = jw_sub_next_batch(sub, batch, 512, 1000);
        if (n < 0) {
            if (n != JW_ETIMEOUT) {
                fprintf(stderr, "next_batch: %s\n", jw_status_name(n));
                bad = 1;
            }
            continue;
        }
        for (int k = 0; k < n; k++) {
            const unsigned char *d = jw_msg_data(batch[k]);
            if (jw_msg_data_len(batch[k]) != MSG_SIZE) {
                bad = 1;
            } else {
                uint64_t tag = get_u64(d + 8), seq = get_u64(d);
                /* Each thread's messages keep that thread's order. */
                if (tag >= PUB_THREADS || seq != next[tag]) {
                    fprintf(stderr, "tag %llu seq %llu unexpected\n",
                            (unsigned long long)tag, (unsigned long long)seq);
                    bad = 1;
                } else {
                    next[tag]++;
                }
            }
            jw_msg_free(batch[k]);
            total++;
        }
    }
    for (int i = 0; i < PUB_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < PUB_THREADS; i++)
        CHECK_STATUS(p[i].status, JW_OK);
    CHECK(!bad);
    for (int i = 0; i < PUB_THREADS; i++)
        CHECK_EQ_INT(next[i], PER_THREAD);
    CHECK_EQ_INT(total, PUB_THREADS * PER_THREAD);
    CHECK_EQ_INT(jw_conn_stat(pc, JW_STAT_OUT_MSGS), PUB_THREADS * PER_THREAD);

    jw_sub_free(sub);
    jw_conn_free(sc);
    jw_conn_free(pc);
    jw_test_server_stop(s);
    return 0;
}
