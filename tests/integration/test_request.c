/* Request/reply: handler and pulling responders, concurrency through the
 * shared inbox, no responders, timeouts. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <poll.h>

#include "server.h"

/* Replies "re:" + request data. */
static void echo_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    atomic_int *calls = arg;
    (void)sub;
    char buf[256];
    size_t len = jw_msg_data_len(msg);
    if (len > sizeof buf - 3)
        len = sizeof buf - 3;
    memcpy(buf, "re:", 3);
    memcpy(buf + 3, jw_msg_data(msg), len);
    /* Counted before answering, so the requester sees the count. */
    if (calls != NULL)
        atomic_fetch_add(calls, 1);
    jw_msg_respond(msg, buf, len + 3);
    jw_msg_free(msg);
}

TEST(request_reply_cb)
{
    START_SERVER(s, NULL);
    jw_conn *rc = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &rc));
    CHECK_OK(jw_test_connect(s, &nc));
    atomic_int calls;
    atomic_init(&calls, 0);
    jw_sub *svc = NULL;
    CHECK_OK(
        jw_conn_subscribe_cb(rc, "svc.echo", NULL, echo_handler, &calls, &svc));
    CHECK_OK(jw_conn_flush(rc, 5000));

    for (int i = 0; i < 50; i++) {
        char req[32], want[40];
        int n = snprintf(req, sizeof req, "hello %d", i);
        snprintf(want, sizeof want, "re:%s", req);
        jw_msg *reply = NULL;
        CHECK_OK(jw_conn_request(nc, "svc.echo", req, (size_t)n, 5000, &reply));
        CHECK(reply != NULL);
        CHECK_MEM_STR(jw_msg_data(reply), jw_msg_data_len(reply), want);
        CHECK(strncmp(jw_msg_subject(reply), "_INBOX.", 7) == 0);
        jw_msg_free(reply);
    }
    CHECK_EQ_INT(atomic_load(&calls), 50);

    /* An empty request body. */
    jw_msg *reply = NULL;
    CHECK_OK(jw_conn_request(nc, "svc.echo", NULL, 0, 5000, &reply));
    CHECK_MEM_STR(jw_msg_data(reply), jw_msg_data_len(reply), "re:");
    jw_msg_free(reply);

    /* Responding to a message without a reply subject is refused. */
    jw_sub *plain = NULL;
    CHECK_OK(jw_conn_subscribe(rc, "svc.plain", NULL, &plain));
    CHECK_OK(jw_conn_flush(rc, 5000));
    CHECK_OK(jw_conn_publish(nc, "svc.plain", "x", 1));
    jw_msg *m = NULL;
    CHECK_OK(jw_sub_next(plain, 5000, &m));
    CHECK_STATUS(jw_msg_respond(m, "y", 1), JW_EINVAL);
    jw_msg_free(m);
    /* jw_conn_respond checks what jw_conn_publish does. */
    CHECK_STATUS(jw_conn_respond(NULL, "_INBOX.x", "y", 1), JW_EINVAL);
    CHECK_STATUS(jw_conn_respond(rc, NULL, "y", 1), JW_EINVALID_SUBJECT);
    CHECK_STATUS(jw_conn_respond(rc, "bad subject", "y", 1),
                 JW_EINVALID_SUBJECT);

    jw_sub_free(plain);
    jw_sub_free(svc);
    jw_conn_free(rc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

struct puller {
    jw_conn *conn;
    jw_sub *sub;
    int want;
    int answered;
    jw_status last;
};

static void *pulling_responder(void *arg)
{
    struct puller *p = arg;
    while (p->answered < p->want) {
        jw_msg *m = NULL;
        p->last = jw_sub_next(p->sub, 10000, &m);
        if (p->last != JW_OK)
            break;
        char buf[64], reply[128];
        int n = snprintf(buf, sizeof buf, "pulled:%.*s",
                         (int)jw_msg_data_len(m), (const char *)jw_msg_data(m));
        if (p->answered % 2) {
            p->last = jw_msg_respond(m, buf, (size_t)n);
            jw_msg_free(m);
        } else { /* as bindings do: keep the reply subject, not the msg */
            snprintf(reply, sizeof reply, "%s", jw_msg_reply(m));
            jw_msg_free(m);
            p->last = jw_conn_respond(p->conn, reply, buf, (size_t)n);
        }
        if (p->last != JW_OK)
            break;
        p->answered++;
    }
    return NULL;
}

TEST(request_reply_thread)
{
    START_SERVER(s, NULL);
    jw_conn *rc = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &rc));
    CHECK_OK(jw_test_connect(s, &nc));
    struct puller p = {rc, NULL, 20, 0, JW_OK};
    CHECK_OK(jw_conn_subscribe(rc, "svc.pull", NULL, &p.sub));
    CHECK_OK(jw_conn_flush(rc, 5000));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, pulling_responder, &p) == 0);

    int failed = 0;
    for (int i = 0; i < p.want && !failed; i++) {
        char req[16], want[32];
        int n = snprintf(req, sizeof req, "%d", i);
        snprintf(want, sizeof want, "pulled:%s", req);
        jw_msg *reply = NULL;
        jw_status st =
            jw_conn_request(nc, "svc.pull", req, (size_t)n, 5000, &reply);
        if (st != JW_OK) {
            fprintf(stderr, "request %d: %s [%s]\n", i, jw_status_name(st),
                    jw_last_error());
            failed = 1;
        } else if (jw_msg_data_len(reply) != strlen(want) ||
                   memcmp(jw_msg_data(reply), want, strlen(want)) != 0) {
            fprintf(stderr, "request %d: wrong reply\n", i);
            failed = 1;
        }
        jw_msg_free(reply);
    }
    if (failed)
        jw_sub_unsubscribe(p.sub); /* wakes the responder */
    pthread_join(th, NULL);
    CHECK(!failed);
    CHECK_STATUS(p.last, JW_OK);
    CHECK_EQ_INT(p.answered, p.want);

    jw_sub_free(p.sub);
    jw_conn_free(rc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

#define REQ_THREADS    4
#define REQ_PER_THREAD 50

struct requester {
    jw_conn *nc;
    int index;
    int ok;
};

static void *concurrent_requests(void *arg)
{
    struct requester *r = arg;
    for (int i = 0; i < REQ_PER_THREAD; i++) {
        char req[32], want[40];
        int n = snprintf(req, sizeof req, "t%d-%d", r->index, i);
        snprintf(want, sizeof want, "re:%s", req);
        jw_msg *reply = NULL;
        if (jw_conn_request(r->nc, "svc.echo", req, (size_t)n, 10000, &reply) !=
            JW_OK)
            continue;
        if (jw_msg_data_len(reply) == strlen(want) &&
            memcmp(jw_msg_data(reply), want, strlen(want)) == 0)
            r->ok++;
        jw_msg_free(reply);
    }
    return NULL;
}

TEST(request_concurrent)
{
    START_SERVER(s, NULL);
    jw_conn *rc = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &rc));
    CHECK_OK(jw_test_connect(s, &nc));
    jw_sub *svc = NULL;
    CHECK_OK(
        jw_conn_subscribe_cb(rc, "svc.echo", NULL, echo_handler, NULL, &svc));
    CHECK_OK(jw_conn_flush(rc, 5000));

    pthread_t th[REQ_THREADS];
    struct requester r[REQ_THREADS];
    for (int i = 0; i < REQ_THREADS; i++) {
        r[i].nc = nc;
        r[i].index = i;
        r[i].ok = 0;
        CHECK(pthread_create(&th[i], NULL, concurrent_requests, &r[i]) == 0);
    }
    for (int i = 0; i < REQ_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < REQ_THREADS; i++)
        CHECK_EQ_INT(r[i].ok, REQ_PER_THREAD);

    jw_sub_free(svc);
    jw_conn_free(rc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

TEST(request_no_responders)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));
    for (int i = 0; i < 3; i++) {
        jw_msg *reply = NULL;
        int64_t start = jw_test_now_ms();
        CHECK_STATUS(jw_conn_request(nc, "nobody.home", "x", 1, 10000, &reply),
                     JW_ENO_RESPONDERS);
        int64_t elapsed = jw_test_now_ms() - start;
        /* Answered by the server's 503, not by the timer. */
        if (elapsed >= 5000) {
            fprintf(stderr, "no responders took %lld ms\n", (long long)elapsed);
            return 1;
        }
        jw_msg_free(reply);
    }
    /* The connection is fine afterwards. */
    CHECK_EQ_INT(jw_conn_is_connected(nc), 1);
    CHECK_OK(jw_conn_flush(nc, 5000));
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

TEST(request_timeout)
{
    START_SERVER(s, NULL);
    jw_conn *rc = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &rc));
    CHECK_OK(jw_test_connect(s, &nc));
    /* A subscriber that never answers: the server has a responder, so the
     * request must run into its timeout. */
    jw_sub *mute = NULL;
    CHECK_OK(jw_conn_subscribe(rc, "svc.mute", NULL, &mute));
    CHECK_OK(jw_conn_flush(rc, 5000));
    jw_msg *reply = NULL;
    CHECK_STATUS(jw_conn_request(nc, "svc.mute", "x", 1, 300, &reply),
                 JW_ETIMEOUT);
    jw_msg_free(reply);

    /* The request did reach the subscriber. */
    jw_msg *m = NULL;
    CHECK_OK(jw_sub_next(mute, 5000, &m));
    CHECK(jw_msg_reply(m) != NULL);
    /* A late answer to a timed-out request goes nowhere and harms nothing. */
    CHECK_OK(jw_msg_respond(m, "late", 4));
    jw_msg_free(m);

    /* The next request works and gets its own answer, not the late one. */
    jw_sub *svc = NULL;
    CHECK_OK(
        jw_conn_subscribe_cb(rc, "svc.echo", NULL, echo_handler, NULL, &svc));
    CHECK_OK(jw_conn_flush(rc, 5000));
    reply = NULL;
    CHECK_OK(jw_conn_request(nc, "svc.echo", "again", 5, 5000, &reply));
    CHECK_MEM_STR(jw_msg_data(reply), jw_msg_data_len(reply), "re:again");
    jw_msg_free(reply);

    jw_sub_free(mute);
    jw_sub_free(svc);
    jw_conn_free(rc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

/* jw_wait_check_set: the thread's check runs while a wait goes on, ends
 * it with JW_EINTERRUPTED when it says so, and takes nothing away. */
typedef struct check_state {
    int calls;
    int stop_at;  /* the call that says stop (0: never) */
    jw_conn *nc;  /* when set, the check itself waits on it */
    jw_status inner;
} check_state;

static int count_check(void *arg)
{
    check_state *cs = arg;
    cs->calls++;
    if (cs->nc)
        cs->inner = jw_conn_flush(cs->nc, 5000); /* a wait of its own */
    return cs->stop_at && cs->calls >= cs->stop_at;
}

TEST(wait_check)
{
    START_SERVER(s, NULL);
    jw_conn *rc = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &rc));
    CHECK_OK(jw_test_connect(s, &nc));
    jw_sub *mute = NULL, *svc = NULL;
    CHECK_OK(jw_conn_subscribe(rc, "svc.mute", NULL, &mute));
    CHECK_OK(
        jw_conn_subscribe_cb(rc, "svc.echo", NULL, echo_handler, NULL, &svc));
    CHECK_OK(jw_conn_flush(rc, 5000));

    check_state cs = {0, 3, NULL, JW_OK};
    CHECK_STATUS(jw_wait_check_set(count_check, &cs, 0), JW_EINVAL);
    CHECK_OK(jw_wait_check_set(count_check, &cs, 20));

    /* A request nobody answers ends at the third check, long before its
     * timeout would end it. */
    jw_msg *reply = NULL;
    CHECK_STATUS(jw_conn_request(nc, "svc.mute", "x", 1, 60000, &reply),
                 JW_EINTERRUPTED);
    CHECK(reply == NULL);
    CHECK_EQ_INT(cs.calls, 3);
    CHECK(strstr(jw_last_error(), "interrupted") != NULL);
    CHECK_STR(jw_status_name(JW_EINTERRUPTED), "INTERRUPTED");
    jw_msg *m = NULL;
    CHECK_OK(jw_sub_next(mute, 5000, &m)); /* it did go out */
    jw_msg_free(m);

    /* A check that says go on leaves the timeout to end the wait; one
     * that waits itself is not called again from inside. */
    cs = (check_state){0, 0, nc, JW_OK};
    CHECK_STATUS(jw_conn_request(nc, "svc.mute", "x", 1, 200, &reply),
                 JW_ETIMEOUT);
    CHECK(cs.calls >= 1);
    CHECK_OK(cs.inner);
    CHECK_OK(jw_sub_next(mute, 5000, &m));
    jw_msg_free(m);

    /* An answer within the interval never calls the check. */
    CHECK_OK(jw_wait_check_set(count_check, &cs, 10000));
    cs = (check_state){0, 1, NULL, JW_OK};
    CHECK_OK(jw_conn_request(nc, "svc.echo", "hi", 2, 5000, &reply));
    jw_msg_free(reply);
    CHECK_EQ_INT(cs.calls, 0);

    /* An interrupted jw_sub_next takes nothing: the message published
     * after it is the next one read. */
    CHECK_OK(jw_wait_check_set(count_check, &cs, 20));
    cs = (check_state){0, 2, NULL, JW_OK};
    CHECK_STATUS(jw_sub_next(mute, -1, &m), JW_EINTERRUPTED);
    CHECK(m == NULL);
    CHECK_OK(jw_conn_publish(nc, "svc.mute", "after", 5));
    CHECK_OK(jw_sub_next(mute, 5000, &m));
    CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), "after");
    jw_msg_free(m);

    /* The setting is the thread's: removed, waits run to their end. */
    CHECK_OK(jw_wait_check_set(NULL, NULL, 0));
    cs = (check_state){0, 1, NULL, JW_OK};
    CHECK_STATUS(jw_sub_next(mute, 100, &m), JW_ETIMEOUT);
    CHECK_EQ_INT(cs.calls, 0);

    jw_sub_free(mute);
    jw_sub_free(svc);
    jw_conn_free(rc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

/* The pull-style request API for event loops: completions arrive through
 * the readable fd, in any order, and a cancelled request never completes. */
static void async_echo_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    (void)sub;
    (void)arg;
    jw_msg_respond(msg, jw_msg_data(msg), jw_msg_data_len(msg));
    jw_msg_free(msg);
}

TEST(request_async)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));
    jw_sub *svc = NULL, *silent = NULL;
    CHECK_OK(jw_conn_subscribe_cb(nc, "async.echo", NULL, async_echo_handler, NULL,
                                  &svc));
    CHECK_OK(jw_conn_subscribe(nc, "async.silent", NULL, &silent));
    CHECK_OK(jw_conn_flush(nc, 5000));

    jw_msg *echo = NULL, *nobody = NULL, *quiet = NULL;
    CHECK_OK(jw_msg_new("async.echo", NULL, "hi", 2, &echo));
    CHECK_OK(jw_msg_new("async.nobody", NULL, "", 0, &nobody));
    CHECK_OK(jw_msg_new("async.silent", NULL, "", 0, &quiet));
    uint64_t id_echo = 0, id_nobody = 0, id_quiet = 0;
    CHECK_OK(jw_conn_request_start(nc, echo, &id_echo));
    CHECK_OK(jw_conn_request_start(nc, nobody, &id_nobody));
    CHECK_OK(jw_conn_request_start(nc, quiet, &id_quiet));
    CHECK(id_echo && id_nobody && id_quiet && id_echo != id_nobody);

    int got_echo = 0, got_nobody = 0;
    int64_t deadline = jw_test_now_ms() + 5000;
    while ((!got_echo || !got_nobody) && jw_test_now_ms() < deadline) {
        struct pollfd pfd = {jw_conn_fd(nc), POLLIN, 0};
        poll(&pfd, 1, 100);
        jw_conn_fd_reset(nc);
        uint64_t id;
        jw_status status;
        jw_msg *reply;
        while (jw_conn_request_poll(nc, &id, &status, &reply) == 1) {
            if (id == id_echo) {
                CHECK_OK(status);
                CHECK_MEM_STR(jw_msg_data(reply), jw_msg_data_len(reply),
                              "hi");
                got_echo = 1;
            } else {
                CHECK(id == id_nobody);
                CHECK_STATUS(status, JW_ENO_RESPONDERS);
                CHECK(reply == NULL);
                got_nobody = 1;
            }
            jw_msg_free(reply);
        }
    }
    CHECK(got_echo && got_nobody);
    CHECK_OK(jw_conn_request_cancel(nc, id_quiet));
    CHECK_STATUS(jw_conn_request_cancel(nc, id_quiet), JW_EINVAL);

    /* Requests still pending when the connection closes complete with the
     * closed status. */
    uint64_t id_late = 0;
    CHECK_OK(jw_conn_request_start(nc, quiet, &id_late));
    CHECK_OK(jw_conn_close(nc));
    uint64_t id;
    jw_status status;
    jw_msg *reply;
    CHECK_EQ_INT(jw_conn_request_poll(nc, &id, &status, &reply), 1);
    CHECK(id == id_late);
    CHECK_STATUS(status, JW_ECONNECTION_CLOSED);
    CHECK_EQ_INT(jw_conn_request_poll(nc, &id, &status, &reply), 0);

    jw_msg_free(echo);
    jw_msg_free(nobody);
    jw_msg_free(quiet);
    jw_sub_free(svc);
    jw_sub_free(silent);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

/* Replies go to _INBOX.<token>.<id>: an id written with a leading zero or
 * one that would wrap past 2^64 names no request, so it cannot complete
 * one. */
TEST(request_reply_id_strict)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));
    jw_sub *svc = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "strict.svc", NULL, &svc));
    CHECK_OK(jw_conn_flush(nc, 5000));
    jw_msg *req = NULL, *got = NULL;
    CHECK_OK(jw_msg_new("strict.svc", NULL, "", 0, &req));
    uint64_t id = 0;
    CHECK_OK(jw_conn_request_start(nc, req, &id));
    CHECK_OK(jw_sub_next(svc, 5000, &got));
    const char *reply = jw_msg_reply(got);
    const char *dot = strrchr(reply, '.');
    CHECK(dot != NULL);
    char prefix[128], bad[192];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(dot + 1 - reply), reply);
    /* The same id with a leading zero, and id + 2^64 (20 digits). */
    snprintf(bad, sizeof bad, "%s0%s", prefix, dot + 1);
    CHECK_OK(jw_conn_publish(nc, bad, "zero", 4));
    char wrapped[192];
    /* 18446744073709551616 + id, written out by hand for small ids. */
    CHECK(id < 384);
    snprintf(wrapped, sizeof wrapped, "%s18446744073709551%03llu", prefix,
             616ULL + (unsigned long long)id);
    CHECK_OK(jw_conn_publish(nc, wrapped, "wrap", 4));
    CHECK_OK(jw_conn_flush(nc, 5000));
    uint64_t done_id = 0;
    jw_status status = JW_OK;
    jw_msg *r = NULL;
    CHECK_EQ_INT(jw_conn_request_poll(nc, &done_id, &status, &r), 0);
    /* The real reply completes it. */
    CHECK_OK(jw_msg_respond(got, "real", 4));
    CHECK_OK(jw_conn_flush(nc, 5000));
    int64_t deadline = jw_test_now_ms() + 5000;
    int n = 0;
    while ((n = jw_conn_request_poll(nc, &done_id, &status, &r)) == 0 &&
           jw_test_now_ms() < deadline)
        jw_test_sleep_ms(5);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(done_id, id);
    CHECK_OK(status);
    CHECK_MEM_STR(jw_msg_data(r), jw_msg_data_len(r), "real");
    jw_msg_free(r);
    jw_msg_free(got);
    jw_msg_free(req);
    jw_sub_free(svc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

/* Requests leave from the caller's thread while the loop has nothing in
 * flight, the rest of a short send from the loop. With the server stopped,
 * the first requests fill the socket from the callers' threads until one
 * goes out only in part; whatever the split, every request must arrive
 * whole and each reply match its request. */
#define PRESSURE_THREADS 2
#define PRESSURE_REQUESTS 200
#define PRESSURE_SIZE (40 * 1024)

static void echo_all(jw_sub *sub, jw_msg *msg, void *arg)
{
    (void)sub;
    (void)arg;
    jw_msg_respond(msg, jw_msg_data(msg), jw_msg_data_len(msg));
    jw_msg_free(msg);
}

static char pressure_byte(int request, size_t k)
{
    return (char)('a' + (request * 7 + (int)(k % 1000)) % 26);
}

struct pressure {
    jw_conn *nc;
    int first; /* request numbers first .. first + PRESSURE_REQUESTS - 1 */
    uint64_t *ids;
    int started;
};

static void *pressure_start(void *arg)
{
    struct pressure *p = arg;
    char *data = malloc(PRESSURE_SIZE);
    jw_msg *m = NULL;
    for (int i = 0; data && i < PRESSURE_REQUESTS; i++) {
        for (size_t k = 0; k < PRESSURE_SIZE; k++)
            data[k] = pressure_byte(p->first + i, k);
        if (jw_msg_new("svc.all", NULL, data, PRESSURE_SIZE, &m) ||
            jw_conn_request_start(p->nc, m, &p->ids[p->first + i]))
            break;
        jw_msg_free(m);
        m = NULL;
        p->started++;
    }
    jw_msg_free(m);
    free(data);
    return NULL;
}

TEST(request_direct_send_under_pressure)
{
    enum { TOTAL = PRESSURE_THREADS * PRESSURE_REQUESTS };
    START_SERVER(s, NULL);
    jw_conn *rc = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &rc));
    CHECK_OK(jw_test_connect(s, &nc));
    jw_sub *svc = NULL;
    CHECK_OK(jw_conn_subscribe_cb(rc, "svc.all", NULL, echo_all, NULL, &svc));
    CHECK_OK(jw_conn_flush(rc, 5000));
    CHECK_OK(jw_conn_flush(nc, 5000));

    static uint64_t ids[TOTAL];
    static int done[TOTAL];
    pthread_t th[PRESSURE_THREADS];
    struct pressure p[PRESSURE_THREADS];
    CHECK(kill(s->pid, SIGSTOP) == 0);
    for (int i = 0; i < PRESSURE_THREADS; i++) {
        p[i] = (struct pressure){nc, i * PRESSURE_REQUESTS, ids, 0};
        CHECK(pthread_create(&th[i], NULL, pressure_start, &p[i]) == 0);
    }
    for (int i = 0; i < PRESSURE_THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK(kill(s->pid, SIGCONT) == 0);
    for (int i = 0; i < PRESSURE_THREADS; i++)
        CHECK_EQ_INT(p[i].started, PRESSURE_REQUESTS);

    int replies = 0, intact = 0;
    int64_t deadline = jw_test_now_ms() + 30000;
    while (replies < TOTAL && jw_test_now_ms() < deadline) {
        struct pollfd pfd = {jw_conn_fd(nc), POLLIN, 0};
        poll(&pfd, 1, 100);
        jw_conn_fd_reset(nc);
        uint64_t id;
        jw_status status;
        jw_msg *reply;
        while (jw_conn_request_poll(nc, &id, &status, &reply) == 1) {
            int r = 0;
            while (r < TOTAL && ids[r] != id)
                r++;
            CHECK(r < TOTAL && !done[r]);
            CHECK_OK(status);
            done[r] = 1;
            replies++;
            const char *got = jw_msg_data(reply);
            size_t k = 0;
            if (jw_msg_data_len(reply) == PRESSURE_SIZE)
                while (k < PRESSURE_SIZE && got[k] == pressure_byte(r, k))
                    k++;
            intact += k == PRESSURE_SIZE;
            jw_msg_free(reply);
        }
    }
    CHECK_EQ_INT(replies, TOTAL);
    CHECK_EQ_INT(intact, TOTAL);
    CHECK_EQ_INT(jw_conn_status_get(nc), JW_CONN_CONNECTED);
    CHECK_EQ_INT(jw_conn_stat(nc, JW_STAT_RECONNECTS), 0);

    jw_sub_free(svc);
    jw_conn_free(rc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}
