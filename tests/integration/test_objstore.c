/* The object store (ADR-20) against a real nats-server: buckets, put and
 * get of several sizes with the digest checked against the test's own
 * SHA-256, readers in small pieces, a corrupted or purged chunk, delete,
 * info and list with deleted objects, meta updates, links and watch. */
#include "server.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBS_SETUP(srv, nc, js, obs, config)                                    \
    jw_conn *nc = NULL;                                                        \
    jw_js *js = NULL;                                                          \
    jw_obs *obs = NULL;                                                        \
    CHECK_OK(jw_test_connect(srv, &nc));                                       \
    CHECK_OK(jw_js_new(nc, &js));                                              \
    CHECK_OK(jw_js_obs_create(js, config, &obs))

#define OBS_TEARDOWN(srv, nc, js, obs)                                         \
    jw_obs_free(obs);                                                          \
    jw_js_free(js);                                                            \
    jw_conn_free(nc);                                                          \
    jw_test_server_stop(srv)

/* Bytes that differ from chunk to chunk (a repeated pattern would hide a
 * chunk out of order). */
static unsigned char *pattern(size_t len, unsigned seed)
{
    unsigned char *p = malloc(len ? len : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; p && i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    return p;
}

/* "SHA-256=<base64url>" of data, as nats.go writes it. */
static void digest_of(const void *data, size_t len, char out[64])
{
    unsigned char sha[32];
    unsigned int n = 0;
    EVP_Digest(data, len, sha, &n, EVP_sha256(), NULL);
    unsigned char b64[48];
    int k = EVP_EncodeBlock(b64, sha, 32);
    for (int i = 0; i < k; i++)
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    b64[k] = 0;
    snprintf(out, 64, "SHA-256=%s", b64);
}

/* A field of a JSON document: its text (strings), number or truth as
 * text into buf; "" when missing. */
static const char *field(const char *json, const char *name, char *buf,
                         size_t size)
{
    buf[0] = 0;
    json_t *j = json_loads(json ? json : "", 0, NULL);
    json_t *v = json_object_get(j, name);
    if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, size, "%s", json_is_true(v) ? "true" : "false");
    else if (v)
        snprintf(buf, size, "<%d>", (int)json_typeof(v));
    json_decref(j);
    return buf;
}

static int64_t messages_in(jw_js *js, const char *stream)
{
    char *info = NULL;
    if (jw_js_stream_info(js, stream, &info))
        return -1;
    json_t *j = json_loads(info, 0, NULL);
    jw_free(info);
    int64_t n = json_integer_value(
        json_object_get(json_object_get(j, "state"), "messages"));
    json_decref(j);
    return n;
}

/* Put len pattern bytes as name with chunk_size (0: default), get them
 * back with jw_obs_get and compare bytes, size, chunks and digest. */
static int roundtrip(jw_obs *obs, const char *name, size_t len,
                     size_t chunk_size)
{
    unsigned char *data = pattern(len, (unsigned)len);
    CHECK(data != NULL);
    char meta[256], want[64], buf[128], *info = NULL;
    if (chunk_size)
        snprintf(meta, sizeof meta,
                 "{\"name\":\"%s\",\"options\":{\"max_chunk_size\":%zu}}",
                 name, chunk_size);
    else
        snprintf(meta, sizeof meta, "{\"name\":\"%s\"}", name);
    CHECK_OK(jw_obs_put(obs, meta, data, len, &info));
    digest_of(data, len, want);
    CHECK_STR(field(info, "digest", buf, sizeof buf), want);
    snprintf(meta, sizeof meta, "%zu", len);
    CHECK_STR(field(info, "size", buf, sizeof buf), meta);
    size_t cs = chunk_size ? chunk_size : 128 * 1024;
    snprintf(meta, sizeof meta, "%zu", (len + cs - 1) / cs);
    CHECK_STR(field(info, "chunks", buf, sizeof buf), meta);
    CHECK_STR(field(info, "bucket", buf, sizeof buf), jw_obs_bucket(obs));
    CHECK(strlen(field(info, "nuid", buf, sizeof buf)) == 22);
    jw_free(info);

    void *got = NULL;
    size_t got_len = 0;
    CHECK_OK(jw_obs_get(obs, name, &got, &got_len, &info));
    CHECK(got != NULL && got_len == len);
    CHECK(len == 0 || memcmp(got, data, len) == 0);
    CHECK_STR(field(info, "digest", buf, sizeof buf), want);
    CHECK(strlen(field(info, "mtime", buf, sizeof buf)) > 19);
    jw_free(info);
    jw_free(got);
    free(data);
    return 0;
}

TEST(obs_buckets)
{
    START_SERVER(s, NULL);
    OBS_SETUP(s, nc, js, obs,
              "{\"bucket\":\"files\",\"description\":\"the files\","
              "\"ttl\":3600000,\"max_bytes\":100000000,"
              "\"storage\":\"memory\"}");
    CHECK_STR(jw_obs_bucket(obs), "files");
    char *json = NULL, buf[256];
    CHECK_OK(jw_obs_status(obs, &json));
    CHECK_STR(field(json, "bucket", buf, sizeof buf), "files");
    CHECK_STR(field(json, "description", buf, sizeof buf), "the files");
    CHECK_STR(field(json, "ttl", buf, sizeof buf), "3600000");
    CHECK_STR(field(json, "storage", buf, sizeof buf), "memory");
    CHECK_STR(field(json, "replicas", buf, sizeof buf), "1");
    CHECK_STR(field(json, "sealed", buf, sizeof buf), "false");
    CHECK_STR(field(json, "is_compressed", buf, sizeof buf), "false");
    CHECK_STR(field(json, "backing_store", buf, sizeof buf), "JetStream");
    CHECK_STR(field(json, "size", buf, sizeof buf), "0");
    jw_free(json);

    /* The stream is what other clients expect. */
    CHECK_OK(jw_js_stream_info(js, "OBJ_files", &json));
    CHECK(strstr(json, "\"$O.files.C.>\"") && strstr(json, "\"$O.files.M.>\""));
    CHECK(strstr(json, "\"allow_rollup_hdrs\":true"));
    CHECK(strstr(json, "\"allow_direct\":true"));
    CHECK(strstr(json, "\"discard\":\"new\""));
    jw_free(json);

    /* Bind; a missing bucket; bad names and fields. */
    jw_obs *again = NULL;
    CHECK_OK(jw_js_obs_get(js, "files", &again));
    CHECK_STR(jw_obs_bucket(again), "files");
    jw_obs_free(again);
    CHECK_STATUS(jw_js_obs_get(js, "nope", &again), JW_EBUCKET_NOT_FOUND);
    CHECK(again == NULL);
    CHECK_STATUS(jw_js_obs_get(js, "a.b", &again), JW_EINVAL);
    CHECK_STATUS(jw_js_obs_create(js, "{\"bucket\":\"a b\"}", &again),
                 JW_EINVAL);
    CHECK_STATUS(jw_js_obs_create(js, "{\"bucket\":\"x\",\"history\":2}",
                                  &again),
                 JW_EINVAL);
    CHECK_STATUS(jw_js_obs_create(js, "{\"bucket\":\"x\",\"ttl\":\"1\"}",
                                  &again),
                 JW_EINVAL);
    CHECK_STATUS(jw_js_obs_update(js, "{\"bucket\":\"nope\"}", &again),
                 JW_EBUCKET_NOT_FOUND);
    CHECK_STATUS(jw_js_obs_delete(js, "nope"), JW_EBUCKET_NOT_FOUND);

    /* compression and metadata came with 2.10. */
    SERVER_AT_LEAST(has_210, nc, "2.10.0", "bucket compression, metadata");
    const char *newer = "{\"bucket\":\"packed\",\"compression\":true,"
                        "\"metadata\":{\"owner\":\"ops\"}}";
    if (has_210) {
        CHECK_OK(jw_js_obs_create_or_update(js, newer, &again));
        CHECK_OK(jw_obs_status(again, &json));
        CHECK_STR(field(json, "is_compressed", buf, sizeof buf), "true");
        CHECK(strstr(json, "\"owner\":\"ops\""));
        jw_free(json);
        jw_obs_free(again);
    } else {
        CHECK_STATUS(jw_js_obs_create_or_update(js, newer, &again),
                     JW_ENOT_SUPPORTED);
        CHECK_OK(jw_js_obs_create(js, "{\"bucket\":\"packed\"}", &again));
        jw_obs_free(again);
    }
    CHECK_OK(jw_js_obs_update(js, "{\"bucket\":\"packed\",\"description\":"
                                  "\"d2\"}",
                              &again));
    jw_obs_free(again);

    /* Names and list, KV buckets left out. */
    jw_kv *kv = NULL;
    CHECK_OK(jw_js_kv_create(js, "{\"bucket\":\"notobj\"}", &kv));
    jw_kv_free(kv);
    CHECK_OK(jw_js_obs_names(js, &json));
    CHECK(strstr(json, "\"files\"") && strstr(json, "\"packed\"") &&
          !strstr(json, "notobj"));
    jw_free(json);
    CHECK_OK(jw_js_obs_list(js, &json));
    json_t *list = json_loads(json, 0, NULL);
    CHECK(json_array_size(list) == 2);
    CHECK(strstr(json, "\"description\":\"d2\""));
    json_decref(list);
    jw_free(json);

    /* Sealed: nothing can be written any more. */
    CHECK_OK(roundtrip(obs, "before", 10, 0));
    CHECK_OK(jw_obs_seal(obs));
    CHECK_OK(jw_obs_status(obs, &json));
    CHECK_STR(field(json, "sealed", buf, sizeof buf), "true");
    jw_free(json);
    CHECK(jw_obs_put(obs, "{\"name\":\"after\"}", "x", 1, NULL) != JW_OK);
    CHECK_STATUS(jw_obs_info(obs, "after", 1, &json), JW_EKEY_NOT_FOUND);
    CHECK(jw_obs_put(obs, "{\"name\":\"before\"}", "", 0, NULL) != JW_OK);
    void *kept = NULL;
    size_t kept_len = 0;
    CHECK_OK(jw_obs_get(obs, "before", &kept, &kept_len, NULL));
    CHECK(kept_len == 10);
    jw_free(kept);

    /* A handle whose bucket was deleted says so (a 2.9 server leaves its
     * direct get unanswered: the engine asks for the stream after). */
    CHECK_OK(jw_js_obs_get(js, "packed", &again));
    CHECK_OK(jw_js_obs_delete(js, "packed"));
    CHECK_STATUS(jw_obs_info(again, "any", 0, &json), JW_EBUCKET_NOT_FOUND);
    CHECK(json == NULL);
    jw_obs_free(again);
    CHECK_STATUS(jw_js_obs_get(js, "packed", &again), JW_EBUCKET_NOT_FOUND);
    OBS_TEARDOWN(s, nc, js, obs);
    return 0;
}

TEST(obs_put_get_sizes)
{
    START_SERVER(s, NULL);
    OBS_SETUP(s, nc, js, obs, "{\"bucket\":\"sizes\"}");
    const size_t chunk = 128 * 1024;
    CHECK_OK(roundtrip(obs, "empty", 0, 0));
    CHECK_OK(roundtrip(obs, "one", 1, 0));
    CHECK_OK(roundtrip(obs, "chunk", chunk, 0));
    CHECK_OK(roundtrip(obs, "chunk+1", chunk + 1, 0));
    CHECK_OK(roundtrip(obs, "five-mb", 5 * 1024 * 1024, 0));
    CHECK_OK(roundtrip(obs, "small-chunks", 100000, 1000));
    /* Names are any text: encoded in the subject. */
    CHECK_OK(roundtrip(obs, "dir/sub dir/ü.txt", 3000, 0));

    /* The digest of nothing, as every client writes it. */
    char *info = NULL, buf[128];
    CHECK_OK(jw_obs_info(obs, "empty", 0, &info));
    CHECK_STR(field(info, "digest", buf, sizeof buf),
              "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=");
    CHECK_STR(field(info, "chunks", buf, sizeof buf), "0");
    jw_free(info);

    /* Replacing an object purges its old chunks: 7 metas, the chunks of
     * the last put of "five-mb" only. */
    int64_t before = messages_in(js, "OBJ_sizes");
    CHECK_OK(roundtrip(obs, "five-mb", 3 * chunk, 0));
    CHECK_EQ_INT(messages_in(js, "OBJ_sizes"), before - 40 + 3);

    /* Bad metas. */
    CHECK_STATUS(jw_obs_put(obs, "{}", "x", 1, NULL), JW_EINVAL);
    CHECK_STATUS(jw_obs_put(obs, "{\"name\":\"\"}", "x", 1, NULL), JW_EINVAL);
    CHECK_STATUS(jw_obs_put(obs, "{\"name\":\"a\",\"size\":3}", "x", 1, NULL),
                 JW_EINVAL);
    CHECK_STATUS(jw_obs_put(obs,
                            "{\"name\":\"a\",\"options\":{\"link\":"
                            "{\"bucket\":\"b\"}}}",
                            "x", 1, NULL),
                 JW_EINVAL);
    CHECK_STATUS(jw_obs_put(obs, "{\"name\":\"a\",\"metadata\":{\"k\":1}}",
                            "x", 1, NULL),
                 JW_EINVAL);
    CHECK_STATUS(jw_obs_put(obs, "not json", "x", 1, NULL), JW_EINVAL);
    CHECK_STATUS(jw_obs_info(obs, "", 0, &info), JW_EINVAL);
    CHECK_STATUS(jw_obs_info(obs, "missing", 0, &info), JW_EKEY_NOT_FOUND);
    CHECK(info == NULL);
    OBS_TEARDOWN(s, nc, js, obs);
    return 0;
}

/* A streamed source of pattern bytes handing out odd-sized pieces, that
 * fails (returns -1) after fail_at bytes when fail_at > 0. */
typedef struct source {
    const unsigned char *data;
    size_t len, at, fail_at;
} source;

static long read_source(void *arg, void *buf, size_t cap)
{
    source *src = arg;
    if (src->fail_at && src->at >= src->fail_at)
        return -1;
    size_t n = src->len - src->at;
    n = n < cap ? n : cap;
    n = n < 7777 ? n : 7777;
    memcpy(buf, src->data + src->at, n);
    src->at += n;
    return (long)n;
}

TEST(obs_stream_put_and_reader)
{
    START_SERVER(s, NULL);
    OBS_SETUP(s, nc, js, obs, "{\"bucket\":\"stream\"}");
    const size_t len = 3 * 1024 * 1024 + 17;
    unsigned char *data = pattern(len, 7);
    source src = {data, len, 0, 0};
    char *info = NULL, buf[128], want[64];
    CHECK_OK(jw_obs_put_stream(obs,
                               "{\"name\":\"big\",\"description\":\"d\","
                               "\"options\":{\"max_chunk_size\":65536}}",
                               read_source, &src, &info));
    digest_of(data, len, want);
    CHECK_STR(field(info, "digest", buf, sizeof buf), want);
    CHECK_STR(field(info, "chunks", buf, sizeof buf), "49");
    CHECK_STR(field(info, "description", buf, sizeof buf), "d");
    jw_free(info);

    /* Read in small pieces, the end once. */
    jw_obs_reader *r = NULL;
    CHECK_OK(jw_obs_open(obs, "big", &r));
    CHECK(strstr(jw_obs_reader_info(r), "\"name\":\"big\""));
    unsigned char *back = malloc(len);
    size_t at = 0, got = 0;
    for (;;) {
        CHECK_OK(jw_obs_reader_read(r, back + at, at + 1000 <= len ? 1000
                                                                    : len - at,
                                    5000, &got));
        if (got == 0)
            break;
        at += got;
        CHECK(at <= len);
    }
    CHECK(at == len && memcmp(back, data, len) == 0);
    CHECK_OK(jw_obs_reader_read(r, back, 10, 5000, &got));
    CHECK(got == 0);
    jw_obs_reader_free(r);

    /* A reader of a zero-length object ends at once. */
    CHECK_OK(jw_obs_put(obs, "{\"name\":\"nil\"}", NULL, 0, NULL));
    CHECK_OK(jw_obs_open(obs, "nil", &r));
    CHECK_OK(jw_obs_reader_read(r, back, 10, 5000, &got));
    CHECK(got == 0);
    jw_obs_reader_free(r);

    /* A source that fails half-way: no object, no chunks left. */
    int64_t before = messages_in(js, "OBJ_stream");
    source bad = {data, len, 0, len / 2};
    CHECK_STATUS(jw_obs_put_stream(obs, "{\"name\":\"broken\"}", read_source,
                                   &bad, &info),
                 JW_EIO);
    CHECK(info == NULL);
    CHECK_STATUS(jw_obs_info(obs, "broken", 1, &info), JW_EKEY_NOT_FOUND);
    CHECK_EQ_INT(messages_in(js, "OBJ_stream"), before);
    /* A failed replacement keeps the old object whole. */
    bad.at = 0;
    CHECK_STATUS(jw_obs_put_stream(obs, "{\"name\":\"big\"}", read_source,
                                   &bad, NULL),
                 JW_EIO);
    void *whole = NULL;
    size_t whole_len = 0;
    CHECK_OK(jw_obs_get(obs, "big", &whole, &whole_len, NULL));
    CHECK(whole_len == len && memcmp(whole, data, len) == 0);
    jw_free(whole);
    free(back);
    free(data);
    OBS_TEARDOWN(s, nc, js, obs);
    return 0;
}

/* Bytes generated as they are asked for, never held: position i is the
 * low byte of i * 2654435761 (chunks differ, and the reader checks each
 * byte without a copy of the object). */
static long counting_source(void *arg, void *buf, size_t cap)
{
    size_t *at = arg, left = (size_t)256 << 20;
    left -= *at;
    size_t n = left < cap ? left : cap;
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((*at + i) * 2654435761u);
    *at += n;
    return (long)n;
}

/* 256 MiB streamed in and out: the process's peak RSS grows by less than
 * 32 MiB (issue 22, point 3). Under a sanitizer the resident set says
 * nothing of the engine (server.h): there the object still goes in and
 * out whole, without the bound. */
TEST(obs_256_mib_bounded_memory)
{
    START_SERVER(s, NULL);
    OBS_SETUP(s, nc, js, obs, "{\"bucket\":\"large\",\"storage\":\"file\"}");
    int peak_known = jw_test_reset_peak_rss() == 0;
    int64_t before = jw_test_proc_bytes("VmRSS");
    size_t at = 0;
    char *info = NULL, buf[64];
    CHECK_OK(jw_obs_put_stream(obs, "{\"name\":\"weights.bin\"}",
                               counting_source, &at, &info));
    CHECK_STR(field(info, "size", buf, sizeof buf), "268435456");
    jw_free(info);
    jw_obs_reader *r = NULL;
    CHECK_OK(jw_obs_open(obs, "weights.bin", &r));
    static unsigned char piece[64 * 1024];
    size_t pos = 0, got = 0, wrong = 0;
    do {
        CHECK_OK(jw_obs_reader_read(r, piece, sizeof piece, 10000, &got));
        for (size_t i = 0; i < got; i++)
            wrong += piece[i] != (unsigned char)((pos + i) * 2654435761u);
        pos += got;
    } while (got);
    jw_obs_reader_free(r);
    CHECK(pos == (size_t)256 << 20 && wrong == 0);
    int64_t peak = jw_test_proc_bytes("VmHWM");
    fprintf(stderr, "obs 256 MiB: RSS %lld kB before, peak %lld kB\n",
            (long long)before / 1024, (long long)peak / 1024);
    if (!JW_TEST_SANITIZED) {
        CHECK(peak_known && before > 0 && peak > 0);
        CHECK(peak - before < 32 * 1024 * 1024);
    }
    OBS_TEARDOWN(s, nc, js, obs);
    return 0;
}

/* A source that kills the server once it has given kill_at bytes (the
 * connection is lost in the middle of the put) and goes on giving. */
typedef struct killing_source {
    source src;
    size_t kill_at;
    jw_test_server *server;
    int killed;
} killing_source;

static long read_then_kill(void *arg, void *buf, size_t cap)
{
    killing_source *k = arg;
    if (!k->killed && k->src.at >= k->kill_at) {
        k->killed = 1;
        if (jw_test_server_kill(k->server) != 0)
            return -1;
    }
    return read_source(&k->src, buf, cap);
}

/* Issue 22, point 4: the connection lost in the middle of a put leaves no
 * object (the meta goes last), whatever chunks were stored; the same put
 * again, once the connection is back, stores the object whole. */
TEST(obs_put_connection_lost)
{
    START_SERVER(s, NULL);
    jw_opts *o = NULL;
    CHECK_OK(jw_opts_new(&o));
    CHECK_OK(jw_opts_set_int(o, "reconnect_time_wait", 50));
    CHECK_OK(jw_opts_set_int(o, "max_reconnect_attempts", -1));
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    jw_obs *obs = NULL;
    CHECK_OK(jw_conn_connect(s->url, o, &nc));
    CHECK_OK(jw_js_new(nc, &js));
    CHECK_OK(jw_js_set_int(js, "timeout", 1000));
    CHECK_OK(jw_js_obs_create(js, "{\"bucket\":\"lost\",\"storage\":"
                                  "\"file\"}",
                              &obs));
    const size_t len = 4 * 1024 * 1024;
    unsigned char *data = pattern(len, 11);
    killing_source k = {{data, len, 0, 0}, len / 2, s, 0};
    char *info = NULL;
    jw_status st = jw_obs_put_stream(obs, "{\"name\":\"doc\",\"options\":"
                                          "{\"max_chunk_size\":65536}}",
                                     read_then_kill, &k, &info);
    CHECK(k.killed);
    CHECK(st != JW_OK && info == NULL);
    fprintf(stderr, "put with the server gone: %s (%s)\n",
            jw_status_name(st), jw_last_error());

    CHECK(jw_test_server_revive(s) == 0);
    JW_WAIT_FOR(jw_conn_status_get(nc) == JW_CONN_CONNECTED, 10000);
    CHECK_EQ_INT(jw_conn_status_get(nc), JW_CONN_CONNECTED);
    /* Nothing visible: not the object, not in the list. */
    CHECK_STATUS(jw_obs_info(obs, "doc", 1, &info), JW_EKEY_NOT_FOUND);
    char *list = NULL;
    CHECK_OK(jw_obs_list(obs, 1, &list));
    CHECK_STR(list, "[]");
    jw_free(list);

    /* Again: whole, byte for byte. */
    source again = {data, len, 0, 0};
    CHECK_OK(jw_obs_put_stream(obs, "{\"name\":\"doc\",\"options\":"
                                    "{\"max_chunk_size\":65536}}",
                               read_source, &again, NULL));
    void *back = NULL;
    size_t back_len = 0;
    CHECK_OK(jw_obs_get(obs, "doc", &back, &back_len, NULL));
    CHECK(back_len == len && memcmp(back, data, len) == 0);
    jw_free(back);
    free(data);
    jw_opts_free(o);
    OBS_TEARDOWN(s, nc, js, obs);
    return 0;
}

TEST(obs_corrupt_and_purged_chunks)
{
    START_SERVER(s, NULL);
    OBS_SETUP(s, nc, js, obs, "{\"bucket\":\"bad\"}");
    const size_t len = 5000;
    unsigned char *data = pattern(len, 3);
    char *info = NULL, nuid[64], subject[128];
    CHECK_OK(jw_obs_put(obs,
                        "{\"name\":\"doc\",\"options\":{\"max_chunk_size\":"
                        "1000}}",
                        data, len, &info));
    field(info, "nuid", nuid, sizeof nuid);
    jw_free(info);
    snprintf(subject, sizeof subject, "$O.bad.C.%s", nuid);

    /* Replace the chunks by others of the same sizes, one byte changed. */
    uint64_t purged = 0;
    CHECK_OK(jw_js_stream_purge(js, "OBJ_bad", subject, 0, 0, &purged));
    CHECK_EQ_INT(purged, 5);
    data[2500] ^= 1;
    for (size_t i = 0; i < len; i += 1000)
        CHECK_OK(jw_js_publish(js, subject, data + i, 1000, NULL, NULL));
    void *got = NULL;
    size_t got_len = 0;
    CHECK_STATUS(jw_obs_get(obs, "doc", &got, &got_len, &info),
                 JW_EPROTOCOL);
    CHECK(strstr(jw_last_error(), "digest"));
    CHECK(got == NULL && info == NULL);
    /* A reader hands out the bytes, then fails at the end, and stays
     * failed. */
    jw_obs_reader *r = NULL;
    unsigned char buf[8192];
    size_t n = 0, total = 0;
    CHECK_OK(jw_obs_open(obs, "doc", &r));
    jw_status st;
    while ((st = jw_obs_reader_read(r, buf, sizeof buf, 5000, &n)) == JW_OK &&
           n)
        total += n;
    CHECK_STATUS(st, JW_EPROTOCOL);
    CHECK(total == len);
    CHECK_STATUS(jw_obs_reader_read(r, buf, sizeof buf, 5000, &n),
                 JW_EPROTOCOL);
    jw_obs_reader_free(r);

    /* Chunks gone (purged under the object): a clear failure, not a
     * hang. */
    CHECK_OK(jw_js_stream_purge(js, "OBJ_bad", subject, 0, 0, NULL));
    CHECK_STATUS(jw_obs_get(obs, "doc", &got, &got_len, NULL), JW_EPROTOCOL);
    CHECK(strstr(jw_last_error(), "incomplete"));
    free(data);
    OBS_TEARDOWN(s, nc, js, obs);
    return 0;
}

TEST(obs_delete_info_list)
{
    START_SERVER(s, NULL);
    OBS_SETUP(s, nc, js, obs, "{\"bucket\":\"lst\"}");
    char *json = NULL, buf[128];
    CHECK_OK(jw_obs_list(obs, 0, &json));
    CHECK_STR(json, "[]");
    jw_free(json);
    CHECK_OK(roundtrip(obs, "a", 300000, 0));
    CHECK_OK(roundtrip(obs, "b", 10, 0));
    CHECK_OK(roundtrip(obs, "c", 0, 0));
    CHECK_OK(jw_obs_delete(obs, "a"));
    /* 3 metas and b's chunk: a's chunks were purged. */
    CHECK_EQ_INT(messages_in(js, "OBJ_lst"), 4);
    CHECK_STATUS(jw_obs_info(obs, "a", 0, &json), JW_EKEY_NOT_FOUND);
    void *data = NULL;
    size_t len = 0;
    CHECK_STATUS(jw_obs_get(obs, "a", &data, &len, NULL), JW_EKEY_NOT_FOUND);
    CHECK_OK(jw_obs_info(obs, "a", 1, &json));
    CHECK_STR(field(json, "deleted", buf, sizeof buf), "true");
    CHECK_STR(field(json, "size", buf, sizeof buf), "0");
    CHECK_STR(field(json, "digest", buf, sizeof buf), "");
    jw_free(json);
    /* Again: harmless; a name never used: not found. */
    CHECK_OK(jw_obs_delete(obs, "a"));
    CHECK_STATUS(jw_obs_delete(obs, "never"), JW_EKEY_NOT_FOUND);

    CHECK_OK(jw_obs_list(obs, 0, &json));
    json_t *list = json_loads(json, 0, NULL);
    CHECK(json_array_size(list) == 2);
    CHECK(!strstr(json, "\"name\":\"a\""));
    json_decref(list);
    jw_free(json);
    CHECK_OK(jw_obs_list(obs, 1, &json));
    list = json_loads(json, 0, NULL);
    CHECK(json_array_size(list) == 3);
    CHECK(strstr(json, "\"deleted\":true"));
    json_decref(list);
    jw_free(json);
    /* A deleted name can be used again. */
    CHECK_OK(roundtrip(obs, "a", 5, 0));
    OBS_TEARDOWN(s, nc, js, obs);
    return 0;
}

TEST(obs_update_meta)
{
    START_SERVER(s, NULL);
    OBS_SETUP(s, nc, js, obs, "{\"bucket\":\"meta\"}");
    CHECK_OK(jw_obs_put(obs,
                        "{\"name\":\"old\",\"description\":\"first\","
                        "\"headers\":{\"X-A\":\"1\"}}",
                        "hello", 5, NULL));
    CHECK_OK(jw_obs_put(obs, "{\"name\":\"taken\"}", "x", 1, NULL));
    CHECK_OK(jw_obs_update_meta(obs, "old",
                                "{\"name\":\"new\",\"description\":\"second\","
                                "\"headers\":{\"X-B\":[\"2\",\"3\"]},"
                                "\"metadata\":{\"k\":\"v\"}}"));
    char *json = NULL, buf[128];
    CHECK_STATUS(jw_obs_info(obs, "old", 1, &json), JW_EKEY_NOT_FOUND);
    CHECK_OK(jw_obs_info(obs, "new", 0, &json));
    CHECK_STR(field(json, "description", buf, sizeof buf), "second");
    CHECK(strstr(json, "\"X-B\":[\"2\",\"3\"]") && !strstr(json, "X-A"));
    CHECK(strstr(json, "\"metadata\":{\"k\":\"v\"}"));
    CHECK_STR(field(json, "size", buf, sizeof buf), "5");
    jw_free(json);
    void *data = NULL;
    size_t len = 0;
    CHECK_OK(jw_obs_get(obs, "new", &data, &len, NULL));
    CHECK(len == 5 && memcmp(data, "hello", 5) == 0);
    jw_free(data);
    /* Same name, new description; a field left out is removed. */
    CHECK_OK(jw_obs_update_meta(obs, "new", "{\"description\":\"third\"}"));
    CHECK_OK(jw_obs_info(obs, "new", 0, &json));
    CHECK_STR(field(json, "description", buf, sizeof buf), "third");
    CHECK(!strstr(json, "X-B") && !strstr(json, "metadata"));
    jw_free(json);
    CHECK_STATUS(jw_obs_update_meta(obs, "new", "{\"name\":\"taken\"}"),
                 JW_EKEY_EXISTS);
    CHECK_STATUS(jw_obs_update_meta(obs, "ghost", "{\"name\":\"x\"}"),
                 JW_EKEY_NOT_FOUND);
    CHECK_STATUS(jw_obs_update_meta(obs, "new",
                                    "{\"options\":{\"max_chunk_size\":5}}"),
                 JW_EINVAL);
    /* Renaming onto a deleted object is allowed. */
    CHECK_OK(jw_obs_delete(obs, "taken"));
    CHECK_OK(jw_obs_update_meta(obs, "new", "{\"name\":\"taken\"}"));
    CHECK_OK(jw_obs_get(obs, "taken", &data, &len, NULL));
    CHECK(len == 5);
    jw_free(data);
    OBS_TEARDOWN(s, nc, js, obs);
    return 0;
}

TEST(obs_links)
{
    START_SERVER(s, NULL);
    OBS_SETUP(s, nc, js, obs, "{\"bucket\":\"src\"}");
    jw_obs *other = NULL;
    CHECK_OK(jw_js_obs_create(js, "{\"bucket\":\"other\"}", &other));
    unsigned char *data = pattern(200000, 9);
    CHECK_OK(jw_obs_put(obs, "{\"name\":\"target\"}", data, 200000, NULL));
    CHECK_OK(jw_obs_put(other, "{\"name\":\"there\"}", "far", 3, NULL));
    CHECK_OK(jw_obs_put(obs, "{\"name\":\"live\"}", "x", 1, NULL));

    char *json = NULL, buf[128];
    CHECK_OK(jw_obs_add_link(obs, "ln", obs, "target", &json));
    CHECK(strstr(json, "\"link\":{\"bucket\":\"src\",\"name\":\"target\"}"));
    jw_free(json);
    void *got = NULL;
    size_t len = 0;
    CHECK_OK(jw_obs_get(obs, "ln", &got, &len, &json));
    CHECK(len == 200000 && memcmp(got, data, len) == 0);
    CHECK_STR(field(json, "name", buf, sizeof buf), "target");
    jw_free(json);
    jw_free(got);

    /* To another bucket. */
    CHECK_OK(jw_obs_add_link(obs, "far", other, "there", NULL));
    CHECK_OK(jw_obs_get(obs, "far", &got, &len, NULL));
    CHECK(len == 3 && memcmp(got, "far", 3) == 0);
    jw_free(got);

    /* A link over a link is fine; over a live object, to a link or to
     * nothing is not. */
    CHECK_OK(jw_obs_add_link(obs, "ln", other, "there", NULL));
    CHECK_STATUS(jw_obs_add_link(obs, "live", obs, "target", NULL),
                 JW_EKEY_EXISTS);
    CHECK_STATUS(jw_obs_add_link(obs, "l2", obs, "ln", NULL), JW_EINVAL);
    CHECK_STATUS(jw_obs_add_link(obs, "l3", obs, "ghost", NULL),
                 JW_EKEY_NOT_FOUND);
    /* Over a deleted object is fine. */
    CHECK_OK(jw_obs_delete(obs, "live"));
    CHECK_OK(jw_obs_add_link(obs, "live", obs, "target", NULL));

    /* A bucket link is kept and listed, not read. */
    CHECK_OK(jw_obs_add_bucket_link(obs, "dir", other, &json));
    CHECK(strstr(json, "\"link\":{\"bucket\":\"other\"}"));
    jw_free(json);
    CHECK_STATUS(jw_obs_get(obs, "dir", &got, &len, NULL), JW_EINVAL);
    CHECK_STATUS(jw_obs_add_bucket_link(obs, "target", other, NULL),
                 JW_EKEY_EXISTS);
    /* A link whose target was deleted reads as not found. */
    CHECK_OK(jw_obs_delete(other, "there"));
    CHECK_STATUS(jw_obs_get(obs, "far", &got, &len, NULL), JW_EKEY_NOT_FOUND);
    free(data);
    jw_obs_free(other);
    OBS_TEARDOWN(s, nc, js, obs);
    return 0;
}

/* The next watched info's name (or "<end>" for the marker) into buf. */
static jw_status next_name(jw_obs_watcher *w, char *buf, size_t size,
                           int *deleted)
{
    char *json = NULL, flag[16];
    jw_status st = jw_obs_watcher_next(w, 5000, &json);
    if (st)
        return st;
    if (!json) {
        snprintf(buf, size, "<end>");
        return JW_OK;
    }
    field(json, "name", buf, size);
    if (deleted)
        *deleted = strcmp(field(json, "deleted", flag, sizeof flag),
                          "true") == 0;
    jw_free(json);
    return JW_OK;
}

TEST(obs_watch)
{
    START_SERVER(s, NULL);
    OBS_SETUP(s, nc, js, obs, "{\"bucket\":\"wat\"}");
    char name[64];
    int deleted = 0;
    jw_obs_watcher *w = NULL;
    CHECK_OK(jw_obs_watch(obs, NULL, &w));
    CHECK_OK(next_name(w, name, sizeof name, NULL));
    CHECK_STR(name, "<end>");
    CHECK_OK(jw_obs_put(obs, "{\"name\":\"a\"}", "1", 1, NULL));
    CHECK_OK(next_name(w, name, sizeof name, &deleted));
    CHECK_STR(name, "a");
    CHECK(!deleted);
    CHECK_OK(jw_obs_delete(obs, "a"));
    CHECK_OK(next_name(w, name, sizeof name, &deleted));
    CHECK_STR(name, "a");
    CHECK(deleted);
    jw_obs_watcher_free(w);

    CHECK_OK(jw_obs_put(obs, "{\"name\":\"b\"}", "2", 1, NULL));
    CHECK_OK(jw_obs_put(obs, "{\"name\":\"b\"}", "3", 1, NULL));
    /* The latest of each, then the marker; deletes left out on request. */
    jw_call_opts *opts = jw_test_opts_true("watch", "ignore_deletes");
    CHECK(opts != NULL);
    CHECK_OK(jw_obs_watch(obs, opts, &w));
    jw_call_opts_free(opts);
    CHECK_OK(next_name(w, name, sizeof name, NULL));
    CHECK_STR(name, "b");
    CHECK_OK(next_name(w, name, sizeof name, NULL));
    CHECK_STR(name, "<end>");
    CHECK_OK(jw_obs_delete(obs, "b"));
    CHECK_OK(jw_obs_put(obs, "{\"name\":\"c\"}", "4", 1, NULL));
    CHECK_OK(next_name(w, name, sizeof name, NULL));
    CHECK_STR(name, "c");
    jw_obs_watcher_free(w);

    /* Every stored meta with include_history (the rollup keeps one per
     * name: a, b, c); none with updates_only. */
    opts = jw_test_opts_true("watch", "include_history");
    CHECK_OK(jw_obs_watch(obs, opts, &w));
    jw_call_opts_free(opts);
    int count = 0;
    for (;;) {
        CHECK_OK(next_name(w, name, sizeof name, NULL));
        if (strcmp(name, "<end>") == 0)
            break;
        count++;
    }
    CHECK_EQ_INT(count, 3);
    jw_obs_watcher_free(w);
    opts = jw_test_opts_true("watch", "updates_only");
    CHECK_OK(jw_obs_watch(obs, opts, &w));
    jw_call_opts_free(opts);
    CHECK_OK(next_name(w, name, sizeof name, NULL));
    CHECK_STR(name, "<end>");
    char *json = NULL;
    CHECK_STATUS(jw_obs_watcher_next(w, 100, &json), JW_ETIMEOUT);
    CHECK_OK(jw_obs_put(obs, "{\"name\":\"d\"}", "5", 1, NULL));
    CHECK_OK(next_name(w, name, sizeof name, NULL));
    CHECK_STR(name, "d");
    jw_obs_watcher_free(w);

    opts = jw_test_opts_true("watch", "meta_only");
    CHECK_STATUS(jw_obs_watch(obs, opts, &w), JW_EINVAL);
    jw_call_opts_free(opts);
    CHECK(w == NULL);
    OBS_TEARDOWN(s, nc, js, obs);
    return 0;
}
