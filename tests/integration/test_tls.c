/* TLS on a real nats-server with certificates made for the test
 * (tests/tools/make_certs.sh). The conformance suite covers the cases in
 * every language; these run the same code paths under the sanitizers. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "server.h"

typedef struct tls_fixture {
    char dir[64];
    char conf[128];
    jw_test_server *server;
} tls_fixture;

static int tls_setup(tls_fixture *f, int verify)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/jw-tls-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "bash %s/tests/tools/make_certs.sh %s",
             JW_SOURCE_DIR, f->dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(f->conf, sizeof f->conf, "%s/tls.conf", f->dir);
    FILE *out = fopen(f->conf, "w");
    if (!out)
        return -1;
    fprintf(out,
            "tls {\n  cert_file: \"%s/server.pem\"\n"
            "  key_file: \"%s/server-key.pem\"\n  ca_file: \"%s/ca.pem\"\n"
            "  verify: %s\n  timeout: 2\n}\n",
            f->dir, f->dir, f->dir, verify ? "true" : "false");
    fclose(out);
    char args[160];
    snprintf(args, sizeof args, "-c %s", f->conf);
    f->server = jw_test_server_start(args);
    return f->server ? 0 : -1;
}

static void tls_teardown(tls_fixture *f)
{
    jw_test_server_stop(f->server);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
}

static jw_status connect_with(tls_fixture *f, const char *url_scheme,
                              const char *ca, const char *cert,
                              const char *key, jw_conn **nc)
{
    char path[3][128], url[96];
    jw_opts *opts = NULL;
    jw_status st = jw_opts_new(&opts);
    const char *names[3] = {"tls_ca_file", "tls_cert_file", "tls_key_file"};
    const char *files[3] = {ca, cert, key};
    for (int i = 0; st == JW_OK && i < 3; i++) {
        if (!files[i])
            continue;
        snprintf(path[i], sizeof path[i], "%s/%s", f->dir, files[i]);
        st = jw_opts_set_str(opts, names[i], path[i]);
    }
    snprintf(url, sizeof url, "%s://127.0.0.1:%d", url_scheme,
             f->server->port);
    if (st == JW_OK)
        st = jw_conn_connect(url, opts, nc);
    jw_opts_free(opts);
    return st;
}

/* Many messages, some larger than a TLS record, both ways. */
static int exchange(jw_conn *nc)
{
    static char big[100000];
    memset(big, 'z', sizeof big);
    jw_sub *sub = NULL;
    if (jw_conn_subscribe(nc, "tls.x", NULL, &sub))
        return -1;
    int ok = 1;
    for (int i = 0; ok && i < 200; i++)
        ok = jw_conn_publish(nc, "tls.x", big, i % 2 ? sizeof big : 10) ==
             JW_OK;
    for (int i = 0; ok && i < 200; i++) {
        jw_msg *m = NULL;
        ok = jw_sub_next(sub, 5000, &m) == JW_OK &&
             jw_msg_data_len(m) == (i % 2 ? sizeof big : 10);
        jw_msg_free(m);
    }
    jw_sub_free(sub);
    return ok ? 0 : -1;
}

TEST(tls_round_trip)
{
    tls_fixture f;
    CHECK(tls_setup(&f, 1) == 0);
    jw_conn *nc = NULL;
    CHECK_OK(connect_with(&f, "tls", "ca.pem", "client.pem", "client-key.pem",
                          &nc));
    CHECK(exchange(nc) == 0);
    char url[128];
    CHECK_OK(jw_conn_connected_url(nc, url, sizeof url));
    CHECK(strncmp(url, "tls://", 6) == 0);
    CHECK_OK(jw_conn_drain(nc, 5000));
    jw_conn_free(nc);
    tls_teardown(&f);
    return 0;
}

TEST(tls_failures)
{
    tls_fixture f;
    CHECK(tls_setup(&f, 1) == 0);
    jw_conn *nc = NULL;
    /* No client certificate for a server that verifies clients. */
    CHECK_STATUS(connect_with(&f, "nats", "ca.pem", NULL, NULL, &nc),
                 JW_ETLS);
    /* A CA that did not sign the server's certificate. */
    CHECK_STATUS(connect_with(&f, "nats", "rogue-ca.pem", "client.pem",
                              "client-key.pem", &nc),
                 JW_ETLS);
    CHECK(strstr(jw_last_error(), "certificate verify failed") != NULL);
    /* Files that do not load fail before any connection. */
    CHECK_STATUS(connect_with(&f, "nats", "missing.pem", NULL, NULL, &nc),
                 JW_ETLS);
    CHECK(strstr(jw_last_error(), "missing.pem") != NULL);
    CHECK_STATUS(connect_with(&f, "nats", "ca.pem", "client.pem",
                              "server-key.pem", &nc),
                 JW_ETLS);
    CHECK(nc == NULL);
    tls_teardown(&f);
    return 0;
}

/* A TLS connection survives a restart: the new socket does the TLS
 * handshake and CONNECT again, then gets its subscription back. */
TEST(tls_reconnect)
{
    tls_fixture f;
    CHECK(tls_setup(&f, 1) == 0);
    char path[3][128], url[96];
    const char *names[3] = {"tls_ca_file", "tls_cert_file", "tls_key_file"};
    const char *files[3] = {"ca.pem", "client.pem", "client-key.pem"};
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    for (int i = 0; i < 3; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", f.dir, files[i]);
        CHECK_OK(jw_opts_set_str(opts, names[i], path[i]));
    }
    CHECK_OK(jw_opts_set_int(opts, "reconnect_time_wait", 100));
    CHECK_OK(jw_opts_set_int(opts, "reconnect_jitter_tls", 10));
    snprintf(url, sizeof url, "tls://127.0.0.1:%d", f.server->port);
    jw_conn *nc = NULL;
    CHECK_OK(jw_conn_connect(url, opts, &nc));
    jw_sub *sub = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "tls.again", NULL, &sub));
    CHECK_OK(jw_conn_flush(nc, 5000));

    CHECK(jw_test_server_kill(f.server) == 0);
    jw_event *ev = NULL;
    CHECK_OK(jw_conn_next_event(nc, 5000, &ev));
    CHECK_EQ_INT(jw_event_kind_get(ev), JW_EVENT_DISCONNECTED);
    jw_event_free(ev);
    CHECK_OK(jw_conn_publish(nc, "tls.again", "buffered", 8));
    CHECK(jw_test_server_revive(f.server) == 0);
    CHECK_OK(jw_conn_next_event(nc, 10000, &ev));
    CHECK_EQ_INT(jw_event_kind_get(ev), JW_EVENT_RECONNECTED);
    jw_event_free(ev);
    jw_msg *m = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &m));
    CHECK_MEM_STR((const char *)jw_msg_data(m), jw_msg_data_len(m),
                  "buffered");
    jw_msg_free(m);
    char now[128];
    CHECK_OK(jw_conn_connected_url(nc, now, sizeof now));
    CHECK(strncmp(now, "tls://", 6) == 0);

    jw_sub_free(sub);
    jw_conn_free(nc);
    jw_opts_free(opts);
    tls_teardown(&f);
    return 0;
}

/* A server that vanishes while big publishes are in flight: the write that
 * meets the reset must fail as an I/O error, not raise SIGPIPE (this test
 * process leaves SIGPIPE at its default, which kills). */
TEST(tls_peer_gone_mid_write)
{
    static char big[256 * 1024];
    tls_fixture f;
    CHECK(tls_setup(&f, 0) == 0);
    jw_opts *opts = NULL;
    CHECK_OK(jw_opts_new(&opts));
    CHECK_OK(jw_opts_set_bool(opts, "tls_insecure_skip_verify", 1));
    CHECK_OK(jw_opts_set_bool(opts, "allow_reconnect", 0));
    char url[96];
    snprintf(url, sizeof url, "tls://127.0.0.1:%d", f.server->port);
    jw_conn *nc = NULL;
    CHECK_OK(jw_conn_connect(url, opts, &nc));
    jw_opts_free(opts);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20; i++)
            (void)jw_conn_publish(nc, "tls.gone", big, 800 * 1024 / 4);
    }
    CHECK(jw_test_server_kill(f.server) == 0);
    jw_status st = JW_OK;
    for (int i = 0; i < 2000 && st == JW_OK; i++)
        st = jw_conn_publish(nc, "tls.gone", big, sizeof big / 2);
    CHECK(st != JW_OK);
    jw_conn_free(nc);
    tls_teardown(&f);
    return 0;
}
