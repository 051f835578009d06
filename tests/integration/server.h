/*
 * Integration test harness: a real nats-server per test, on a free loopback
 * port, with a temporary JetStream store, started and stopped by the test.
 *
 * A test that fails returns early through CHECK and cannot stop its server,
 * so every started server is also recorded and stopped at exit; the server
 * is killed by the kernel if the test process dies (PR_SET_PDEATHSIG).
 */
#ifndef JW_TEST_SERVER_H
#define JW_TEST_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jetwire.h"
#include "test.h"

typedef struct jw_test_server {
    pid_t pid;
    int port;
    char url[64];  /* nats://127.0.0.1:PORT */
    char dir[512]; /* temporary root: store/ and server.log inside */
    char store_dir[600];
    char log_path[600];
    char args[512]; /* extra_args, kept for a restart */
    int no_jetstream; /* cluster nodes run without -js */
    int route_port;   /* cluster nodes: where routes connect */
} jw_test_server;

/* Start nats-server -a 127.0.0.1 -p PORT -js -sd DIR plus extra_args (split
 * on spaces; NULL for none) and wait until it answers with INFO. NULL when
 * it could not be started (the reason is printed to stderr). */
jw_test_server *jw_test_server_start(const char *extra_args);

/* Stop the server (SIGTERM, as above) and start it again on the same port
 * with the same store and extra_args. 0 on success. */
int jw_test_server_restart(jw_test_server *s, const char *extra_args);

/* SIGTERM, wait (SIGKILL after 3 s), remove the temporary directory and
 * free. Accepts NULL. */
void jw_test_server_stop(jw_test_server *s);

/* Kill the process (SIGKILL, as a crash would) and keep port and store;
 * then start it again on the same port. Both return 0 or -1. */
int jw_test_server_kill(jw_test_server *s);
int jw_test_server_revive(jw_test_server *s);

/* Start n (at most 5) servers on loopback routed into one cluster, without
 * JetStream. Each has a config file (client port, server_name, cluster
 * listen port and routes to the others) in its temporary directory. Waits
 * until every node announces the others in its INFO. 0 and out[0..n-1]
 * filled, or -1 (nothing left running). Stop each with
 * jw_test_server_stop. */
int jw_test_cluster_start(int n, jw_test_server **out);

/* Add node n to the cluster nodes[0..n) (nodes has room for it), routed to
 * the others, and wait until every node sees it. 0 or -1. */
int jw_test_cluster_grow(jw_test_server **nodes, int n);

/* The nats-server the tests start: $JW_NATS_SERVER when set (the one
 * variable every harness reads: scripts/servers.sh builds 2.15.3 into
 * .tools/bin/nats-server), else nats-server on PATH, else Debian's
 * /usr/sbin/nats-server (2.9.10, the oldest supported). */
const char *jw_test_server_binary(void);

/* That binary's version ("2.15.3"), from `<binary> --version`, run once
 * per process; "" when it cannot be told. */
const char *jw_test_server_version(void);

/* Compare dotted versions ("2.10.0" < "2.15.3"; missing parts are 0):
 * <0, 0 or >0. */
int jw_test_version_cmp(const char *a, const char *b);

/* For a test whose expectations differ by server version: 1 when the
 * server nc is connected to (its INFO version) is at least `min`, 0 when
 * older. Prints which branch runs ("version branch: <what>: server 2.15.3
 * >= 2.10.0") to stderr, so a test log always says which one it took.
 * A connection that reports no version fails the check (returns -1). */
int jw_test_server_at_least(jw_conn *nc, const char *min, const char *what);

/* CHECK-style: declare int var = jw_test_server_at_least(...) or fail. */
#define SERVER_AT_LEAST(var, nc, min, what)                                    \
    int var = jw_test_server_at_least((nc), (min), (what));                    \
    CHECK(var >= 0)

/* Print the server's log to stderr (for diagnosing a failure). */
void jw_test_server_dump_log(const jw_test_server *s);

/* Raw TCP helpers, for checks that do not go through jetwire. */
int jw_test_raw_connect(int port); /* fd, or -1 */
/* Read one line ending in "\r\n" (stripped) within timeout_ms. Returns its
 * length or -1. Reads one byte at a time: for handshakes only. */
int jw_test_raw_read_line(int fd, char *buf, size_t size, int timeout_ms);
int jw_test_raw_write(int fd, const char *text);

/* Monotonic milliseconds, and a sleep for polling loops (never used to
 * assert timing). */
int64_t jw_test_now_ms(void);

/* Memory of this process, for the tests that bound it: a field of
 * /proc/self/status in bytes ("VmRSS", "VmHWM"; -1 when missing), and
 * VmHWM started again from the current resident set (0, or -1 on a kernel
 * without clear_refs 5). Sanitizers keep freed memory in quarantine and
 * add shadow memory, so under them (JW_TEST_SANITIZED) the resident set
 * no longer says what the engine holds. */
int64_t jw_test_proc_bytes(const char *field);
int jw_test_reset_peak_rss(void);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define JW_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||    \
    __has_feature(memory_sanitizer)
#define JW_TEST_SANITIZED 1
#endif
#endif
#ifndef JW_TEST_SANITIZED
#define JW_TEST_SANITIZED 0
#endif
void jw_test_sleep_ms(int ms);

/* jw_conn_connect(s->url, NULL, out). */
jw_status jw_test_connect(const jw_test_server *s, jw_conn **out);

/* Wait (polling the connection's fd, up to 5 s) for the completion of the
 * started request `id`: its status, and its reply in *reply (the caller's;
 * NULL unless JW_OK). JW_ETIMEOUT when none came. */
jw_status jw_test_completion(jw_conn *nc, uint64_t id, jw_msg **reply);

/* The tests' short forms of the calls that take call options: a fetch of
 * up to max messages waiting timeout_ms (0 with no_wait: the context's
 * timeout), with max_bytes (0: no cap); a continuous consume of batch
 * (max_bytes, expires_ms: 0 for the defaults); a KV get of a revision (0:
 * the latest). Each makes its jw_call_opts, calls, and frees them. */
int jw_test_fetch(jw_consumer *c, jw_msg **msgs, int max, int64_t timeout_ms,
                  int64_t max_bytes, int no_wait);
jw_status jw_test_consume(jw_consumer *c, int batch, int64_t max_bytes,
                          int64_t expires_ms, jw_consume **out);
jw_status jw_test_kv_get(jw_kv *kv, const char *key, uint64_t revision,
                         jw_kv_entry **out);
/* jw_call_opts for call with one option set (an integer or, with value
 * NULL for a bool, true): NULL when making them failed. */
jw_call_opts *jw_test_opts_int(const char *call, const char *name,
                               int64_t value);
jw_call_opts *jw_test_opts_true(const char *call, const char *name);

/* Fail the test unless expr evaluates to the status `expected`; prints the
 * names of both and jw_last_error(). */
#define CHECK_STATUS(expr, expected)                                           \
    do {                                                                       \
        int jw_s_ = (int)(expr);                                               \
        int jw_e_ = (int)(expected);                                           \
        if (jw_s_ != jw_e_) {                                                  \
            fprintf(stderr, "%s:%d: %s: expected %s, got %s (%d) [%s]\n",      \
                    __FILE__, __LINE__, #expr, jw_status_name(jw_e_),          \
                    jw_status_name(jw_s_), jw_s_, jw_last_error());            \
            return 1;                                                          \
        }                                                                      \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS((expr), JW_OK)

/* Fail unless expr is one of two statuses. */
#define CHECK_STATUS2(expr, e1, e2)                                            \
    do {                                                                       \
        int jw_s_ = (int)(expr);                                               \
        if (jw_s_ != (int)(e1) && jw_s_ != (int)(e2)) {                        \
            fprintf(stderr,                                                    \
                    "%s:%d: %s: expected %s or %s, got %s (%d) "               \
                    "[%s]\n",                                                  \
                    __FILE__, __LINE__, #expr, jw_status_name(e1),             \
                    jw_status_name(e2), jw_status_name(jw_s_), jw_s_,          \
                    jw_last_error());                                          \
            return 1;                                                          \
        }                                                                      \
    } while (0)

/* Poll cond every 2 ms until it holds or ms milliseconds have passed; the
 * caller CHECKs cond afterwards. */
#define JW_WAIT_FOR(cond, ms)                                                  \
    do {                                                                       \
        int64_t jw_dl_ = jw_test_now_ms() + (ms);                              \
        while (!(cond) && jw_test_now_ms() < jw_dl_)                           \
            jw_test_sleep_ms(2);                                               \
    } while (0)

/* Start a server into `var` or fail the test. */
#define START_SERVER(var, extra)                                               \
    jw_test_server *var = jw_test_server_start(extra);                         \
    CHECK(var != NULL)

/* Two connections to server s, declared as sc and pc, or fail the test. */
#define TWO_CONNS(s, sc, pc)                                                   \
    jw_conn *sc = NULL, *pc = NULL;                                            \
    CHECK_OK(jw_test_connect((s), &sc));                                       \
    CHECK_OK(jw_test_connect((s), &pc))

#endif
