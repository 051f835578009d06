/* The three loop modes: host-driven, external libevent base, one own-thread
 * loop shared by several connections. */
#include <event2/event.h>
#include <event2/thread.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "server.h"

static void loop_echo(jw_sub *sub, jw_msg *msg, void *arg)
{
    atomic_int *calls = arg;
    (void)sub;
    char buf[128];
    int n = snprintf(buf, sizeof buf, "echo:%.*s", (int)jw_msg_data_len(msg),
                     (const char *)jw_msg_data(msg));
    /* Counted before answering, so the requester sees the count. */
    if (calls != NULL)
        atomic_fetch_add(calls, 1);
    jw_msg_respond(msg, buf, (size_t)n);
    jw_msg_free(msg);
}

/* On a host's loop a handler runs on the loop's thread, where it must not
 * wait: the waiting call fails instead of blocking the host's loop. */
struct inline_state {
    jw_conn *conn;
    pthread_t loop_thread;
    atomic_int on_loop_thread;
    atomic_int wait_status;
};

static void inline_handler(jw_sub *sub, jw_msg *msg, void *arg)
{
    struct inline_state *st = arg;
    (void)sub;
    atomic_store(&st->on_loop_thread,
                 pthread_equal(pthread_self(), st->loop_thread));
    atomic_store(&st->wait_status, jw_conn_flush(st->conn, 1000));
    jw_msg_free(msg);
}

/* Subscribe, publish to self, receive; then a request to self. */
static int self_traffic(jw_conn *nc, const char *prefix)
{
    char subject[64], svc[64];
    snprintf(subject, sizeof subject, "%s.data", prefix);
    snprintf(svc, sizeof svc, "%s.svc", prefix);

    jw_sub *sub = NULL, *responder = NULL;
    CHECK_OK(jw_conn_subscribe(nc, subject, NULL, &sub));
    CHECK_OK(jw_conn_publish(nc, subject, "hello", 5));
    jw_msg *m = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &m));
    CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), "hello");
    jw_msg_free(m);

    atomic_int calls;
    atomic_init(&calls, 0);
    CHECK_OK(
        jw_conn_subscribe_cb(nc, svc, NULL, loop_echo, &calls, &responder));
    jw_msg *reply = NULL;
    CHECK_OK(jw_conn_request(nc, svc, "ping", 4, 5000, &reply));
    CHECK_MEM_STR(jw_msg_data(reply), jw_msg_data_len(reply), "echo:ping");
    jw_msg_free(reply);
    CHECK_EQ_INT(atomic_load(&calls), 1);
    CHECK_OK(jw_conn_flush(nc, 5000));
    int64_t rtt = 0;
    CHECK_OK(jw_conn_rtt(nc, &rtt));
    CHECK(rtt > 0);
    jw_sub_free(responder);
    jw_sub_free(sub);
    return 0;
}

TEST(loop_driven)
{
    START_SERVER(s, NULL);
    jw_loop *loop = NULL;
    CHECK_OK(jw_loop_new_driven(&loop));
    CHECK_OK(jw_loop_run(loop, 0));
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_loop(opts, loop));
    jw_conn *nc = NULL;
    /* Connect waits, so it runs the loop itself. */
    CHECK_OK(jw_conn_connect(s->url, opts, &nc));
    jw_opts_free(opts);
    CHECK_EQ_INT(jw_conn_is_connected(nc), 1);

    /* Blocking calls pump the loop. */
    CHECK(self_traffic(nc, "driven") == 0);

    /* Without blocking calls, jw_loop_run moves the bytes. */
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "driven.pump", NULL, &sub));
    CHECK_OK(jw_conn_publish(nc, "driven.pump", "pumped", 6));
    jw_msg *m = NULL;
    jw_status st = JW_ETIMEOUT;
    int64_t deadline = jw_test_now_ms() + 5000;
    while (jw_test_now_ms() < deadline) {
        CHECK_OK(jw_loop_run(loop, 50));
        st = jw_sub_next(sub, 0, &m);
        if (st != JW_ETIMEOUT)
            break;
    }
    CHECK_OK(st);
    CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), "pumped");
    jw_msg_free(m);

    jw_sub_free(sub);

    /* The loop is reference counted: freeing it first is allowed. */
    jw_loop_free(loop);
    CHECK_OK(jw_conn_flush(nc, 5000));
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

/* A driven loop under a host's poller (jw_loop_fd): the host polls one fd,
 * runs the loop when it is readable, and a worker thread's blocking
 * request waits for the host instead of running the loop itself. */
struct host_worker {
    jw_conn *conn;
    jw_loop *loop;
    jw_status st, run_st;
    int fd;
    char reply[64];
    atomic_int done;
};

static void *host_worker_main(void *arg)
{
    struct host_worker *w = arg;
    /* The poller's thread runs the loop; this one may not. */
    w->run_st = jw_loop_run(w->loop, 0);
    w->fd = jw_loop_fd(w->loop);
    jw_msg *reply = NULL;
    w->st = jw_conn_request(w->conn, "host.echo", "hi", 2, 5000, &reply);
    if (w->st == JW_OK)
        snprintf(w->reply, sizeof w->reply, "%.*s",
                 (int)jw_msg_data_len(reply), (const char *)jw_msg_data(reply));
    jw_msg_free(reply);
    atomic_store(&w->done, 1);
    return NULL;
}

/* Poll the loop's fd up to ms, then run it once if it was readable or a
 * timer is due; 1 when it ran. */
static int host_step(jw_loop *loop, int fd, int ms)
{
    int64_t t = jw_loop_timeout_ms(loop);
    if (t >= 0 && t < ms)
        ms = (int)t;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int ready = poll(&p, 1, ms);
    if (ready < 0)
        return 0;
    jw_loop_run(loop, 0);
    return ready > 0 || t == 0;
}

TEST(loop_host_polled)
{
    START_SERVER(s, NULL);
    jw_loop *loop = NULL;
    CHECK_OK(jw_loop_new_driven(&loop));
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_loop(opts, loop));
    jw_conn *nc = NULL, *peer = NULL;
    CHECK_OK(jw_conn_connect(s->url, opts, &nc));
    jw_opts_free(opts);
    CHECK_OK(jw_test_connect(s, &peer));
    atomic_int calls;
    atomic_init(&calls, 0);
    jw_sub *svc = NULL;
    CHECK_OK(jw_conn_subscribe_cb(peer, "host.echo", NULL, loop_echo, &calls,
                                  &svc));
    CHECK_OK(jw_conn_flush(peer, 5000));

    int fd = jw_loop_fd(loop);
    CHECK(fd >= 0);
    CHECK_EQ_INT(jw_loop_fd(loop), fd); /* asked again: the same */

    /* A message from another connection makes the fd readable; one run
     * takes it off the socket. */
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "host.in", NULL, &sub));
    for (int i = 0; i < 20; i++)
        host_step(loop, fd, 10); /* the SUB goes out */
    CHECK_OK(jw_conn_publish(peer, "host.in", "from peer", 9));
    CHECK_OK(jw_conn_flush(peer, 5000));
    jw_msg *m = NULL;
    jw_status st = JW_ETIMEOUT;
    for (int i = 0; i < 500 && st == JW_ETIMEOUT; i++) {
        host_step(loop, fd, 10);
        st = jw_sub_next(sub, 0, &m);
    }
    CHECK_OK(st);
    CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), "from peer");
    jw_msg_free(m);
    /* The keep-alive PING is a timer: once the connection is open, the
     * loop says when it is due (ping_interval, 2 minutes, at most; the
     * expiry comes in wall-clock time, so allow for a little skew). */
    int64_t t = jw_loop_timeout_ms(loop);
    CHECK(t >= 0 && t <= 121000);

    /* Only the poller runs the loop; a worker's request waits for it. */
    struct host_worker w = {.conn = nc, .loop = loop};
    atomic_init(&w.done, 0);
    pthread_t worker;
    CHECK(pthread_create(&worker, NULL, host_worker_main, &w) == 0);
    int64_t deadline = jw_test_now_ms() + 5000;
    while (!atomic_load(&w.done) && jw_test_now_ms() < deadline)
        host_step(loop, fd, 10);
    pthread_join(worker, NULL);
    CHECK_OK(w.st);
    CHECK_STR(w.reply, "echo:hi");
    CHECK_STATUS(w.run_st, JW_EINVAL);
    CHECK_EQ_INT(w.fd, JW_EINVAL);

    jw_sub_free(sub);
    jw_loop_free(loop);
    jw_conn_free(nc);
    jw_sub_free(svc);
    jw_conn_free(peer);
    jw_test_server_stop(s);
    return 0;
}

TEST(loop_run_wrong_mode)
{
    jw_loop *loop = NULL;
    CHECK_OK(jw_loop_new(&loop));
    CHECK_STATUS(jw_loop_run(loop, 0), JW_EINVAL);
    jw_loop_free(loop);
    return 0;
}

struct base_thread {
    struct event_base *base;
    int rc;
};

static void *run_base(void *arg)
{
    struct base_thread *bt = arg;
    bt->rc = event_base_loop(bt->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

TEST(loop_external_base)
{
    START_SERVER(s, NULL);
    CHECK(evthread_use_pthreads() == 0);
    struct base_thread bt = {event_base_new(), 0};
    CHECK(bt.base != NULL);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, run_base, &bt) == 0);

    jw_loop *loop = NULL;
    CHECK_OK(jw_loop_new_from_base(bt.base, &loop));
    CHECK_STATUS(jw_loop_run(loop, 0), JW_EINVAL);
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_loop(opts, loop));
    jw_conn *a = NULL, *b = NULL;
    CHECK_OK(jw_conn_connect(s->url, opts, &a));
    CHECK_OK(jw_conn_connect(s->url, opts, &b));
    jw_opts_free(opts);

    CHECK(self_traffic(a, "ext.a") == 0);

    /* Across the two connections on the host's base. */
    atomic_int calls;
    atomic_init(&calls, 0);
    jw_sub *svc = NULL;
    CHECK_OK(jw_conn_subscribe_cb(b, "ext.svc", NULL, loop_echo, &calls, &svc));
    CHECK_OK(jw_conn_flush(b, 5000));
    for (int i = 0; i < 20; i++) {
        jw_msg *reply = NULL;
        CHECK_OK(jw_conn_request(a, "ext.svc", "x", 1, 5000, &reply));
        CHECK_MEM_STR(jw_msg_data(reply), jw_msg_data_len(reply), "echo:x");
        jw_msg_free(reply);
    }
    CHECK_EQ_INT(atomic_load(&calls), 20);
    jw_sub_free(svc);

    struct inline_state st;
    st.conn = b;
    st.loop_thread = th;
    atomic_init(&st.on_loop_thread, -1);
    atomic_init(&st.wait_status, 12345);
    jw_sub *h = NULL;
    CHECK_OK(jw_conn_subscribe_cb(b, "ext.inline", NULL, inline_handler, &st,
                                  &h));
    CHECK_OK(jw_conn_flush(b, 5000));
    CHECK_OK(jw_conn_publish(a, "ext.inline", "x", 1));
    JW_WAIT_FOR(atomic_load(&st.wait_status) != 12345, 5000);
    CHECK_STATUS(atomic_load(&st.wait_status), JW_EINVAL);
    CHECK_EQ_INT(atomic_load(&st.on_loop_thread), 1);
    jw_sub_free(h);

    jw_conn_free(a);
    jw_conn_free(b);
    jw_loop_free(loop);
    /* The base still belongs to the host and still runs. */
    CHECK(event_base_loopbreak(bt.base) == 0);
    pthread_join(th, NULL);
    CHECK(bt.rc >= 0);
    event_base_free(bt.base);
    jw_test_server_stop(s);
    return 0;
}

TEST(loop_shared)
{
    START_SERVER(s, NULL);
    jw_loop *loop = NULL;
    CHECK_OK(jw_loop_new(&loop));
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_loop(opts, loop));
    jw_conn *a = NULL, *b = NULL;
    CHECK_OK(jw_conn_connect(s->url, opts, &a));
    CHECK_OK(jw_conn_connect(s->url, opts, &b));
    jw_opts_free(opts);
    /* Connections keep the loop alive. */
    jw_loop_free(loop);

    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(a, "shared.x", NULL, &sub));
    CHECK_OK(jw_conn_flush(a, 5000));
    for (int i = 0; i < 100; i++)
        CHECK_OK(jw_conn_publish(b, "shared.x", "m", 1));
    for (int i = 0; i < 100; i++) {
        jw_msg *m = NULL;
        CHECK_OK(jw_sub_next(sub, 5000, &m));
        jw_msg_free(m);
    }

    atomic_int calls;
    atomic_init(&calls, 0);
    jw_sub *svc = NULL;
    CHECK_OK(
        jw_conn_subscribe_cb(b, "shared.svc", NULL, loop_echo, &calls, &svc));
    CHECK_OK(jw_conn_flush(b, 5000));
    jw_msg *reply = NULL;
    CHECK_OK(jw_conn_request(a, "shared.svc", "q", 1, 5000, &reply));
    CHECK_MEM_STR(jw_msg_data(reply), jw_msg_data_len(reply), "echo:q");
    jw_msg_free(reply);
    jw_sub_free(svc);

    /* Closing one connection leaves the other working on the same loop. */
    jw_conn_free(b);
    CHECK(self_traffic(a, "shared.after") == 0);
    jw_sub_free(sub);
    jw_conn_free(a);
    jw_test_server_stop(s);
    return 0;
}
