/* Direct get batches (ADR-31, nats-server 2.11) and the KV reads built on
 * them (get_many, history up to a point), against a real nats-server; on
 * an older one, NOT_SUPPORTED naming the version. */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STREAM_S                                                               \
    "{\"name\":\"S\",\"subjects\":[\"s.>\"],\"allow_direct\":true}"

#define JS_SETUP(srv, nc, js)                                                  \
    jw_conn *nc = NULL;                                                        \
    jw_js *js = NULL;                                                          \
    CHECK_OK(jw_test_connect(srv, &nc));                                       \
    CHECK_OK(jw_js_new(nc, &js))

static jw_call_opts *opts_of(const char *call, const char *name,
                             int64_t value, const char *name2,
                             int64_t value2)
{
    jw_call_opts *o = jw_test_opts_int(call, name, value);
    if (o && name2 && jw_call_opts_set_int(o, name2, value2) != JW_OK) {
        jw_call_opts_free(o);
        return NULL;
    }
    return o;
}

static uint64_t seq_of(const jw_msg *m)
{
    const char *v = NULL;
    jw_msg_header_get(m, "Nats-Sequence", 0, &v);
    return v ? strtoull(v, NULL, 10) : 0;
}

/* Read a whole batch into seqs[] (room for max); the count, or -1 on a
 * failure (its status in *st). */
static int read_all(jw_direct_batch *b, uint64_t *seqs, int max,
                    jw_status *st)
{
    int n = 0;
    for (;;) {
        jw_msg *m = NULL;
        *st = jw_direct_batch_next(b, 5000, &m);
        if (*st)
            return -1;
        if (!m)
            return n;
        if (n < max)
            seqs[n] = seq_of(m);
        n++;
        jw_msg_free(m);
    }
}

/* A batch with opts (freed here): its sequences into seqs, the count. */
static int batch_seqs(jw_js *js, const char *stream, const char *const *multi,
                      size_t count, jw_call_opts *opts, uint64_t *seqs,
                      int max, jw_direct_batch **keep)
{
    jw_direct_batch *b = NULL;
    jw_status st = jw_js_direct_get_batch(js, stream, multi, count, opts, &b);
    jw_call_opts_free(opts);
    if (st) {
        fprintf(stderr, "direct_get_batch: %s [%s]\n", jw_status_name(st),
                jw_last_error());
        return -1;
    }
    int n = read_all(b, seqs, max, &st);
    if (n < 0)
        fprintf(stderr, "direct_batch_next: %s [%s]\n", jw_status_name(st),
                jw_last_error());
    if (keep)
        *keep = b;
    else
        jw_direct_batch_free(b);
    return n;
}

TEST(direct_batch_runs_and_multi_last)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    CHECK_OK(jw_js_stream_create(js, STREAM_S, NULL));
    /* s.a, s.b, s.c, s.a, ...: sequences 1..9 */
    for (int i = 0; i < 9; i++) {
        char subject[16];
        snprintf(subject, sizeof subject, "s.%c", "abc"[i % 3]);
        CHECK_OK(jw_js_publish(js, subject, "v", 1, NULL, NULL));
    }
    SERVER_AT_LEAST(batches, nc, "2.11.0", "direct get batches");
    jw_direct_batch *b = NULL;
    if (!batches) {
        jw_call_opts *o = jw_test_opts_int("direct_get", "seq", 1);
        CHECK_STATUS(jw_js_direct_get_batch(js, "S", NULL, 0, o, &b),
                     JW_ENOT_SUPPORTED);
        CHECK(strstr(jw_last_error(), "2.11.0") != NULL);
        CHECK(b == NULL);
        jw_call_opts_free(o);
        const char *multi[] = {"s.>"};
        CHECK_STATUS(jw_js_direct_get_batch(js, "S", multi, 1, NULL, &b),
                     JW_ENOT_SUPPORTED);
        /* An option of 2.11 on its own says so too. */
        o = jw_test_opts_int("direct_get", "batch", 5);
        CHECK_STATUS(jw_js_direct_get_batch(js, "S", NULL, 0, o, &b),
                     JW_ENOT_SUPPORTED);
        jw_call_opts_free(o);
        jw_js_free(js);
        jw_conn_free(nc);
        jw_test_server_stop(srv);
        return 0;
    }
    uint64_t seqs[16];
    /* A run from a sequence: batch messages, then the end, with what is
     * left to read. */
    CHECK_EQ_INT(batch_seqs(js, "S", NULL, 0,
                            opts_of("direct_get", "seq", 2, "batch", 3),
                            seqs, 16, &b),
                 3);
    CHECK(seqs[0] == 2 && seqs[1] == 3 && seqs[2] == 4);
    CHECK_EQ_INT(jw_direct_batch_num_pending(b), 5);
    CHECK_EQ_INT(jw_direct_batch_last_seq(b), 4);
    CHECK_EQ_INT(jw_direct_batch_up_to_seq(b), 0);
    jw_msg *m = (jw_msg *)1;
    CHECK_OK(jw_direct_batch_next(b, 0, &m)); /* the end, again */
    CHECK(m == NULL);
    jw_direct_batch_free(b);
    /* Without batch: one message, still ended like a batch. */
    CHECK_EQ_INT(batch_seqs(js, "S", NULL, 0,
                            jw_test_opts_int("direct_get", "seq", 5), seqs,
                            16, NULL),
                 1);
    CHECK_EQ_INT(seqs[0], 5);
    /* One subject; the message keeps its stored subject and headers. */
    jw_call_opts *o = jw_test_opts_int("direct_get", "batch", 100);
    CHECK_OK(jw_call_opts_set_str(o, "next_by_subject", "s.b"));
    CHECK_OK(jw_js_direct_get_batch(js, "S", NULL, 0, o, &b));
    jw_call_opts_free(o);
    CHECK_OK(jw_direct_batch_next(b, 5000, &m));
    CHECK(m != NULL);
    CHECK_STR(jw_msg_subject(m), "s.b");
    const char *h = NULL;
    CHECK_OK(jw_msg_header_get(m, "Nats-Stream", 0, &h));
    CHECK_STR(h, "S");
    CHECK_OK(jw_msg_header_get(m, "Nats-Num-Pending", 0, &h));
    CHECK_STR(h, "2");
    CHECK_OK(jw_msg_header_get(m, "Nats-Time-Stamp", 0, &h));
    CHECK(jw_msg_reply(m) == NULL);
    jw_msg_free(m);
    CHECK_EQ_INT(read_all(b, seqs, 16, &(jw_status){0}), 2);
    CHECK(seqs[0] == 5 && seqs[1] == 8);
    jw_direct_batch_free(b);
    /* Nothing there: an empty batch. */
    CHECK_EQ_INT(batch_seqs(js, "S", NULL, 0,
                            opts_of("direct_get", "seq", 100, "batch", 5),
                            seqs, 16, NULL),
                 0);
    /* max_bytes: the message that crosses it still comes. */
    CHECK_EQ_INT(batch_seqs(js, "S", NULL, 0,
                            opts_of("direct_get", "seq", 1, "max_bytes", 1),
                            seqs, 16, &b),
                 1);
    CHECK(jw_direct_batch_num_pending(b) == 8);
    jw_direct_batch_free(b);

    /* multi_last: the last of each subject, in stream order, and the
     * sequence the answer was read at. */
    const char *all[] = {"s.>"};
    CHECK_EQ_INT(batch_seqs(js, "S", all, 1, NULL, seqs, 16, &b), 3);
    CHECK(seqs[0] == 7 && seqs[1] == 8 && seqs[2] == 9);
    CHECK_EQ_INT(jw_direct_batch_up_to_seq(b), 9);
    jw_direct_batch_free(b);
    const char *some[] = {"s.a", "s.zz"};
    CHECK_EQ_INT(batch_seqs(js, "S", some, 2, NULL, seqs, 16, NULL), 1);
    CHECK_EQ_INT(seqs[0], 7);
    /* As of a sequence; and batch cuts it. */
    CHECK_EQ_INT(batch_seqs(js, "S", all, 1,
                            jw_test_opts_int("direct_get", "up_to_seq", 5),
                            seqs, 16, NULL),
                 3);
    CHECK(seqs[0] == 3 && seqs[1] == 4 && seqs[2] == 5);
    CHECK_EQ_INT(batch_seqs(js, "S", all, 1,
                            jw_test_opts_int("direct_get", "batch", 2), seqs,
                            16, &b),
                 2);
    CHECK_EQ_INT(jw_direct_batch_num_pending(b), 1);
    jw_direct_batch_free(b);
    /* As of a time: the message stored at that very time is left out. */
    jw_msg *stored = NULL;
    CHECK_OK(jw_js_stream_get_msg(js, "S", 5, &stored));
    const char *t5 = NULL;
    CHECK_OK(jw_msg_header_get(stored, "Nats-Time-Stamp", 0, &t5));
    o = NULL;
    CHECK_OK(jw_call_opts_new("direct_get", &o));
    CHECK_OK(jw_call_opts_set_str(o, "up_to_time", t5));
    CHECK_EQ_INT(batch_seqs(js, "S", all, 1, o, seqs, 16, NULL), 3);
    CHECK(seqs[0] == 2 && seqs[1] == 3 && seqs[2] == 4);
    /* start_time: from the first message at or after it. */
    o = jw_test_opts_int("direct_get", "batch", 100);
    CHECK_OK(jw_call_opts_set_str(o, "start_time", t5));
    CHECK_EQ_INT(batch_seqs(js, "S", NULL, 0, o, seqs, 16, NULL), 5);
    CHECK_EQ_INT(seqs[0], 5);
    jw_msg_free(stored);
    /* Before the first message: nothing. */
    CHECK_OK(jw_call_opts_new("direct_get", &o));
    CHECK_OK(jw_call_opts_set_str(o, "up_to_time", "2001-01-01T00:00:00Z"));
    CHECK_EQ_INT(batch_seqs(js, "S", all, 1, o, seqs, 16, NULL), 0);

    /* Requests the server would refuse or misread, refused before. */
    CHECK_STATUS(jw_js_direct_get_batch(js, "S", NULL, 0, NULL, &b),
                 JW_EINVAL);
    o = jw_test_opts_int("direct_get", "up_to_seq", 3);
    CHECK_OK(jw_call_opts_set_int(o, "seq", 1));
    CHECK_STATUS(jw_js_direct_get_batch(js, "S", NULL, 0, o, &b), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "multi_last") != NULL);
    jw_call_opts_free(o);
    o = jw_test_opts_int("direct_get", "seq", 1);
    CHECK_OK(jw_call_opts_set_str(o, "start_time", "2026-01-01T00:00:00Z"));
    CHECK_STATUS(jw_js_direct_get_batch(js, "S", NULL, 0, o, &b), JW_EINVAL);
    jw_call_opts_free(o);
    CHECK_OK(jw_call_opts_new("direct_get", &o));
    CHECK_OK(jw_call_opts_set_str(o, "up_to_time", "yesterday"));
    CHECK_STATUS(jw_js_direct_get_batch(js, "S", all, 1, o, &b), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "RFC 3339") != NULL);
    CHECK_OK(jw_call_opts_set_str(o, "up_to_time", "2026-02-30T00:00:00Z"));
    CHECK_STATUS(jw_js_direct_get_batch(js, "S", all, 1, o, &b), JW_EINVAL);
    CHECK_OK(jw_call_opts_set_str(o, "up_to_time",
                                  "2026-02-01T01:00:00.5+01:00"));
    CHECK_OK(jw_call_opts_set_int(o, "up_to_seq", 3));
    CHECK_STATUS(jw_js_direct_get_batch(js, "S", all, 1, o, &b), JW_EINVAL);
    jw_call_opts_free(o);
    const char *bad[] = {"s..a"};
    CHECK_STATUS(jw_js_direct_get_batch(js, "S", bad, 1, NULL, &b),
                 JW_EINVALID_SUBJECT);
    CHECK_STATUS(jw_js_direct_get_batch(js, "S", NULL, 2, NULL, &b),
                 JW_EINVAL);
    CHECK_STATUS(jw_js_direct_get_batch(js, "a.b", all, 1, NULL, &b),
                 JW_EINVAL);
    o = jw_test_opts_int("fetch", "batch", 1);
    CHECK_STATUS(jw_js_direct_get_batch(js, "S", all, 1, o, &b), JW_EINVAL);
    jw_call_opts_free(o);
    CHECK(b == NULL);

    /* A stream without allow_direct, and none at all: the batch fails at
     * its first read, and says the same on every later one. */
    CHECK_OK(jw_js_stream_create(js, "{\"name\":\"ND\",\"subjects\":[\"nd\"]}",
                                 NULL));
    CHECK_OK(jw_js_direct_get_batch(js, "ND", all, 1, NULL, &b));
    CHECK_STATUS(jw_direct_batch_next(b, 5000, &m), JW_EJETSTREAM);
    CHECK(strstr(jw_last_error(), "allow_direct") != NULL);
    CHECK_STATUS(jw_direct_batch_next(b, 5000, &m), JW_EJETSTREAM);
    CHECK(strstr(jw_last_error(), "allow_direct") != NULL);
    jw_direct_batch_free(b);
    CHECK_OK(jw_js_direct_get_batch(js, "NOPE", all, 1, NULL, &b));
    CHECK_STATUS(jw_direct_batch_next(b, 5000, &m), JW_ESTREAM_NOT_FOUND);
    jw_direct_batch_free(b);

    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

/* 5,000 messages in one batch, read as they come; the batch outlives its
 * context handle; a closed connection ends a batch cleanly. */
TEST(direct_batch_large_and_closed)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(batches, nc, "2.11.0", "direct get batches");
    if (!batches) {
        jw_js_free(js);
        jw_conn_free(nc);
        jw_test_server_stop(srv);
        return 0;
    }
    CHECK_OK(jw_js_stream_create(js, STREAM_S, NULL));
    enum { N = 5000 };
    for (int i = 0; i < N; i++) {
        char data[16];
        snprintf(data, sizeof data, "%d", i + 1);
        jw_msg *m = NULL;
        CHECK_OK(jw_msg_new("s.x", NULL, data, strlen(data), &m));
        CHECK_OK(jw_js_publish_async(js, m, NULL, NULL));
        jw_msg_free(m);
    }
    CHECK_OK(jw_js_publish_async_complete(js, 30000));
    jw_direct_batch *b = NULL;
    jw_call_opts *o = opts_of("direct_get", "seq", 1, "batch", N);
    CHECK_OK(jw_js_direct_get_batch(js, "S", NULL, 0, o, &b));
    jw_call_opts_free(o);
    jw_js_free(js); /* the batch keeps the context */
    int n = 0;
    for (;;) {
        jw_msg *m = NULL;
        CHECK_OK(jw_direct_batch_next(b, 5000, &m));
        if (!m)
            break;
        char want[16];
        snprintf(want, sizeof want, "%d", n + 1);
        CHECK_MEM_STR(jw_msg_data(m), jw_msg_data_len(m), want);
        jw_msg_free(m);
        n++;
    }
    CHECK_EQ_INT(n, N);
    CHECK_EQ_INT(jw_direct_batch_num_pending(b), 0);
    CHECK_EQ_INT(jw_direct_batch_last_seq(b), N);
    jw_direct_batch_free(b);

    /* The connection closes under a batch: what arrived may be read, then
     * the end or CONNECTION_CLOSED, never a hang. */
    CHECK_OK(jw_js_new(nc, &js));
    o = opts_of("direct_get", "seq", 1, "batch", N);
    CHECK_OK(jw_js_direct_get_batch(js, "S", NULL, 0, o, &b));
    jw_conn_close(nc);
    jw_status st;
    int got = read_all(b, NULL, 0, &st);
    CHECK(got == N || (got < 0 && st == JW_ECONNECTION_CLOSED));
    jw_direct_batch_free(b);
    CHECK_STATUS(jw_js_direct_get_batch(js, "S", NULL, 0, o, &b),
                 JW_ECONNECTION_CLOSED);
    jw_call_opts_free(o);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

/* Write a reply with a header block to subject over a raw connection. */
static int raw_hpub(int fd, const char *subject, const char *hdr,
                    const char *data)
{
    char buf[1024];
    size_t hl = strlen(hdr), dl = strlen(data);
    snprintf(buf, sizeof buf, "HPUB %s %zu %zu\r\n%s%s\r\n", subject, hl,
             hl + dl, hdr, data);
    return jw_test_raw_write(fd, buf);
}

/* A server's answers the real one gives only in rare cases (lost
 * replies, too many subjects, an old server behind the API, silence),
 * played by a responder of the test's own on a private API prefix. */
TEST(direct_batch_odd_answers)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(batches, nc, "2.11.0", "direct get batches");
    if (!batches) {
        jw_js_free(js);
        jw_conn_free(nc);
        jw_test_server_stop(srv);
        return 0;
    }
    CHECK_OK(jw_js_set_str(js, "prefix", "FAKE.API"));
    jw_sub *api = NULL;
    CHECK_OK(jw_conn_subscribe(nc, "FAKE.API.DIRECT.GET.S", NULL, &api));
    CHECK_OK(jw_conn_flush(nc, 5000));
    int fd = jw_test_raw_connect(srv->port);
    CHECK(fd >= 0);
    char line[4096];
    CHECK(jw_test_raw_read_line(fd, line, sizeof line, 5000) > 0); /* INFO */
    CHECK(jw_test_raw_write(fd, "CONNECT {\"headers\":true,\"verbose\":"
                                "false}\r\nPING\r\n") == 0);
    CHECK(jw_test_raw_read_line(fd, line, sizeof line, 5000) > 0);
    CHECK_STR(line, "PONG");

    const char *all[] = {"s.>"};
    const char *m1 = "NATS/1.0\r\nNats-Stream: S\r\nNats-Subject: s.a\r\n"
                     "Nats-Sequence: 1\r\nNats-Num-Pending: 2\r\n"
                     "Nats-Last-Sequence: 0\r\n\r\n";
    const char *m3 = "NATS/1.0\r\nNats-Stream: S\r\nNats-Subject: s.c\r\n"
                     "Nats-Sequence: 3\r\nNats-Num-Pending: 0\r\n"
                     "Nats-Last-Sequence: 2\r\n\r\n";
    struct {
        const char *hdr1, *hdr2;
        int msgs;
        jw_status end;
    } cases[] = {
        /* Silence first (a timeout keeps the batch), then a good answer. */
        {m1, "NATS/1.0 204 EOB\r\nNats-Num-Pending: 0\r\n"
             "Nats-Last-Sequence: 1\r\nNats-UpTo-Sequence: 9\r\n\r\n",
         1, JW_OK},
        /* The reply of sequence 2 never came. */
        {m1, m3, 1, JW_ESLOW_CONSUMER},
        /* The tail went missing: the EOB names a later last message. */
        {m1, "NATS/1.0 204 EOB\r\nNats-Num-Pending: 0\r\n"
             "Nats-Last-Sequence: 3\r\n\r\n",
         1, JW_ESLOW_CONSUMER},
        /* A server before 2.11 answers one message and ignores batch. */
        {"NATS/1.0\r\nNats-Stream: S\r\nNats-Subject: s.a\r\n"
         "Nats-Sequence: 1\r\n\r\n",
         NULL, 0, JW_ENOT_SUPPORTED},
        {"NATS/1.0 413 Too Many Results\r\n\r\n", NULL, 0, JW_EJETSTREAM},
        {"NATS/1.0 408 Bad Request\r\n\r\n", NULL, 0, JW_EJETSTREAM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jw_direct_batch *b = NULL;
        CHECK_OK(jw_js_direct_get_batch(js, "S", all, 1, NULL, &b));
        jw_msg *req = NULL, *m = NULL;
        CHECK_OK(jw_sub_next(api, 5000, &req));
        CHECK(strstr(jw_msg_data(req), "\"multi_last\":[\"s.>\"]") != NULL);
        if (i == 0) {
            CHECK_STATUS(jw_direct_batch_next(b, 50, &m), JW_ETIMEOUT);
            CHECK(m == NULL);
        }
        CHECK(raw_hpub(fd, jw_msg_reply(req), cases[i].hdr1, "x") == 0);
        if (cases[i].hdr2)
            CHECK(raw_hpub(fd, jw_msg_reply(req), cases[i].hdr2, "") == 0);
        jw_msg_free(req);
        int n = 0;
        jw_status st;
        for (;;) {
            st = jw_direct_batch_next(b, 5000, &m);
            if (st || !m)
                break;
            jw_msg_free(m);
            n++;
        }
        if (st != cases[i].end || n != cases[i].msgs)
            fprintf(stderr, "case %zu: %d messages, %s [%s]\n", i, n,
                    jw_status_name(st), jw_last_error());
        CHECK_EQ_INT(n, cases[i].msgs);
        CHECK_STATUS(st, cases[i].end);
        if (i == 0)
            CHECK_EQ_INT(jw_direct_batch_up_to_seq(b), 9);
        jw_direct_batch_free(b);
    }
    close(fd);
    jw_sub_free(api);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

/* ---- KV ---- */

static int entry_is(const jw_kv_entry *e, const char *key, const char *value)
{
    size_t len = 0;
    const char *v = jw_kv_entry_value(e, &len);
    return strcmp(jw_kv_entry_key(e), key) == 0 && len == strlen(value) &&
           memcmp(v, value, len) == 0;
}

TEST(kv_get_many_and_history_up_to)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    jw_kv *kv = NULL;
    CHECK_OK(jw_js_kv_create(js, "{\"bucket\":\"users\",\"history\":10}",
                             &kv));
    uint64_t r1, r2, r3, r4, r5;
    CHECK_OK(jw_kv_put(kv, "1234.name", "Bob", 3, &r1));
    CHECK_OK(jw_kv_put(kv, "1234.surname", "Smith", 5, &r2));
    CHECK_OK(jw_kv_put(kv, "1234.address", "1 Main Street", 13, &r3));
    CHECK_OK(jw_kv_put(kv, "1234.address", "10 Oak Lane", 11, &r4));
    CHECK_OK(jw_kv_put(kv, "9.gone", "x", 1, NULL));
    CHECK_OK(jw_kv_delete(kv, "9.gone", 0));
    CHECK_OK(jw_kv_put(kv, "9.purged", "x", 1, NULL));
    CHECK_OK(jw_kv_purge(kv, "9.purged", 0, NULL));
    CHECK_OK(jw_kv_put(kv, "1234.name", "Robert", 6, &r5));
    jw_kv_entry **e = NULL;
    size_t n = 0;
    const char *keys[] = {"1234.>", "9.gone", "9.purged", "never"};
    jw_call_opts *o = NULL;
    SERVER_AT_LEAST(batches, nc, "2.11.0", "kv get_many / history up to");
    if (!batches) {
        CHECK_STATUS(jw_kv_get_many(kv, keys, 4, NULL, &e, &n),
                     JW_ENOT_SUPPORTED);
        CHECK(strstr(jw_last_error(), "2.11.0") != NULL);
        CHECK(e == NULL && n == 0);
        o = jw_test_opts_int("history", "up_to_revision", r3);
        CHECK_STATUS(jw_kv_history(kv, "1234.address", o, &e, &n),
                     JW_ENOT_SUPPORTED);
        jw_call_opts_free(o);
        /* Without options, history is the ordered consumer's, as ever. */
        CHECK_OK(jw_kv_history(kv, "1234.address", NULL, &e, &n));
        CHECK_EQ_INT(n, 2);
        jw_kv_entries_free(e, n);
        jw_kv_free(kv);
        jw_js_free(js);
        jw_conn_free(nc);
        jw_test_server_stop(srv);
        return 0;
    }
    /* The latest live values, in revision order; markers left out. */
    CHECK_OK(jw_kv_get_many(kv, keys, 4, NULL, &e, &n));
    CHECK_EQ_INT(n, 3);
    CHECK(entry_is(e[0], "1234.surname", "Smith"));
    CHECK(entry_is(e[1], "1234.address", "10 Oak Lane"));
    CHECK(entry_is(e[2], "1234.name", "Robert"));
    CHECK_EQ_INT(jw_kv_entry_revision(e[2]), r5);
    CHECK(jw_kv_entry_created(e[2]) > 0);
    CHECK_STR(jw_kv_entry_bucket(e[0]), "users");
    jw_kv_entries_free(e, n);
    /* As of a revision (ADR-31's example): the old address. */
    o = jw_test_opts_int("get_many", "up_to_revision", r3);
    CHECK_OK(jw_kv_get_many(kv, keys, 1, o, &e, &n));
    jw_call_opts_free(o);
    CHECK_EQ_INT(n, 3);
    CHECK(entry_is(e[0], "1234.name", "Bob"));
    CHECK(entry_is(e[2], "1234.address", "1 Main Street"));
    jw_kv_entries_free(e, n);
    /* Every key (NULL), and overlapping filters give each key once. */
    CHECK_OK(jw_kv_get_many(kv, NULL, 0, NULL, &e, &n));
    CHECK_EQ_INT(n, 3);
    jw_kv_entries_free(e, n);
    const char *overlap[] = {"1234.name", "1234.*", "1234.name"};
    CHECK_OK(jw_kv_get_many(kv, overlap, 3, NULL, &e, &n));
    CHECK_EQ_INT(n, 3);
    jw_kv_entries_free(e, n);
    const char *none[] = {"nobody"};
    CHECK_OK(jw_kv_get_many(kv, none, 1, NULL, &e, &n));
    CHECK_EQ_INT(n, 0);
    jw_kv_entries_free(e, n);
    const char *badkey[] = {"a..b"};
    CHECK_STATUS(jw_kv_get_many(kv, badkey, 1, NULL, &e, &n), JW_EINVAL);
    o = jw_test_opts_int("get_many", "up_to_revision", 1);
    CHECK_OK(jw_call_opts_set_str(o, "up_to_time", "2026-01-01T00:00:00Z"));
    CHECK_STATUS(jw_kv_get_many(kv, keys, 1, o, &e, &n), JW_EINVAL);
    jw_call_opts_free(o);

    /* As of a time: the entry stored at that time is not in yet. */
    jw_kv_entry *at4 = NULL;
    CHECK_OK(jw_test_kv_get(kv, "1234.address", r4, &at4));
    char t4[64];
    CHECK(jw_kv_entry_created(at4) > 0);
    {
        /* The server's own text of r4's time. */
        jw_msg *stored = NULL;
        const char *ts = NULL;
        CHECK_OK(jw_js_stream_get_msg(js, "KV_users", r4, &stored));
        CHECK_OK(jw_msg_header_get(stored, "Nats-Time-Stamp", 0, &ts));
        snprintf(t4, sizeof t4, "%s", ts);
        jw_msg_free(stored);
    }
    jw_kv_entry_free(at4);
    CHECK_OK(jw_call_opts_new("get_many", &o));
    CHECK_OK(jw_call_opts_set_str(o, "up_to_time", t4));
    CHECK_OK(jw_kv_get_many(kv, keys, 1, o, &e, &n));
    jw_call_opts_free(o);
    CHECK_EQ_INT(n, 3);
    CHECK(entry_is(e[2], "1234.address", "1 Main Street"));
    jw_kv_entries_free(e, n);

    /* History up to a revision or a time. */
    o = jw_test_opts_int("history", "up_to_revision", r3);
    CHECK_OK(jw_kv_history(kv, "1234.address", o, &e, &n));
    jw_call_opts_free(o);
    CHECK_EQ_INT(n, 1);
    CHECK(entry_is(e[0], "1234.address", "1 Main Street"));
    CHECK_EQ_INT(jw_kv_entry_delta(e[0]), 0);
    jw_kv_entries_free(e, n);
    o = jw_test_opts_int("history", "up_to_revision", r5);
    CHECK_OK(jw_kv_history(kv, "1234.name", o, &e, &n));
    jw_call_opts_free(o);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(jw_kv_entry_delta(e[0]), 1);
    jw_kv_entries_free(e, n);
    CHECK_OK(jw_call_opts_new("history", &o));
    CHECK_OK(jw_call_opts_set_str(o, "up_to_time", t4));
    CHECK_OK(jw_kv_history(kv, "1234.address", o, &e, &n));
    CHECK_EQ_INT(n, 1);
    jw_kv_entries_free(e, n);
    CHECK_STATUS(jw_kv_history(kv, "never", o, &e, &n), JW_EKEY_NOT_FOUND);
    jw_call_opts_free(o);
    o = jw_test_opts_int("history", "up_to_revision", r1);
    CHECK_STATUS(jw_kv_history(kv, "1234.address", o, &e, &n),
                 JW_EKEY_NOT_FOUND);
    /* Markers are history too. */
    CHECK_OK(jw_call_opts_set_int(o, "up_to_revision", r5));
    CHECK_OK(jw_kv_history(kv, "9.gone", o, &e, &n));
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(jw_kv_entry_operation(e[1]), JW_KV_DEL);
    jw_kv_entries_free(e, n);
    jw_call_opts_free(o);
    /* Empty options: the ordered consumer, as without. */
    CHECK_OK(jw_call_opts_new("history", &o));
    CHECK_OK(jw_kv_history(kv, "1234.address", o, &e, &n));
    CHECK_EQ_INT(n, 2);
    jw_kv_entries_free(e, n);
    jw_call_opts_free(o);
    /* A bucket that went away. */
    CHECK_OK(jw_js_kv_delete(js, "users"));
    CHECK_STATUS(jw_kv_get_many(kv, keys, 1, NULL, &e, &n),
                 JW_EBUCKET_NOT_FOUND);
    jw_kv_free(kv);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}

/* get_many over 1,000 keys: in several requests, one consistent view. */
TEST(kv_get_many_thousand_keys)
{
    START_SERVER(srv, NULL);
    JS_SETUP(srv, nc, js);
    SERVER_AT_LEAST(batches, nc, "2.11.0", "kv get_many");
    if (!batches) {
        jw_js_free(js);
        jw_conn_free(nc);
        jw_test_server_stop(srv);
        return 0;
    }
    jw_kv *kv = NULL;
    CHECK_OK(jw_js_kv_create(js, "{\"bucket\":\"many\"}", &kv));
    enum { N = 1000 };
    static char names[N][16];
    const char *keys[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "k%04d", i);
        keys[i] = names[i];
        CHECK_OK(jw_kv_put(kv, names[i], names[i], strlen(names[i]), NULL));
    }
    jw_kv_entry **e = NULL;
    size_t n = 0;
    CHECK_OK(jw_kv_get_many(kv, keys, N, NULL, &e, &n));
    CHECK_EQ_INT(n, N);
    for (size_t i = 0; i < n; i++)
        CHECK(entry_is(e[i], names[i], names[i]));
    jw_kv_entries_free(e, n);
    jw_kv_free(kv);
    jw_js_free(js);
    jw_conn_free(nc);
    jw_test_server_stop(srv);
    return 0;
}
