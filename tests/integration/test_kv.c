/* Key-Value store against a real nats-server with a temporary store: the
 * tutorial's service-config flow, create/update rules, history, TTL,
 * purge, keys, and watch with its end-of-initial-values marker. */
#include "server.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KV_SETUP(srv, nc, js, kv, config)                                      \
    jw_conn *nc = NULL;                                                        \
    jw_js *js = NULL;                                                          \
    jw_kv *kv = NULL;                                                          \
    CHECK_OK(jw_test_connect(srv, &nc));                                       \
    CHECK_OK(jw_js_new(nc, &js));                                              \
    CHECK_OK(jw_js_kv_create_or_update(js, config, &kv))

#define KV_TEARDOWN(srv, nc, js, kv)                                           \
    jw_kv_free(kv);                                                            \
    jw_js_free(js);                                                            \
    jw_conn_free(nc);                                                          \
    jw_test_server_stop(srv)

static int value_is(const jw_kv_entry *e, const char *want)
{
    size_t len = 0;
    const char *v = jw_kv_entry_value(e, &len);
    return v && len == strlen(want) && memcmp(v, want, len) == 0;
}

static int put(jw_kv *kv, const char *key, const char *value, uint64_t *rev)
{
    return jw_kv_put(kv, key, value, strlen(value), rev);
}

TEST(kv_service_config)
{
    START_SERVER(s, NULL);
    KV_SETUP(s, nc, js, kv,
             "{\"bucket\":\"service-config\",\"history\":5,"
             "\"ttl\":86400000,\"description\":\"service settings\"}");
    CHECK_STR(jw_kv_bucket(kv), "service-config");

    /* Another connection watches the key. */
    jw_conn *nc2 = NULL;
    jw_js *js2 = NULL;
    jw_kv *kv2 = NULL;
    jw_kv_watcher *w = NULL;
    CHECK_OK(jw_test_connect(s, &nc2));
    CHECK_OK(jw_js_new(nc2, &js2));
    CHECK_OK(jw_js_kv(js2, "service-config", &kv2));
    CHECK_OK(jw_kv_watch(kv2, "payment-service", NULL, &w));
    jw_kv_entry *e = NULL;
    CHECK_OK(jw_kv_watch_next(w, 5000, &e));
    CHECK(e == NULL); /* nothing stored yet: the marker at once */

    const char *cfg = "{\"timeout\":30,\"retries\":3}";
    uint64_t rev1 = 0, rev2 = 0;
    CHECK_OK(put(kv, "payment-service", cfg, &rev1));
    CHECK(rev1 > 0);
    CHECK_OK(jw_kv_get(kv, "payment-service", NULL, &e));
    CHECK(value_is(e, cfg));
    CHECK_EQ_INT(jw_kv_entry_revision(e), rev1);
    CHECK_EQ_INT(jw_kv_entry_operation(e), JW_KV_PUT);
    CHECK_STR(jw_kv_entry_key(e), "payment-service");
    CHECK_STR(jw_kv_entry_bucket(e), "service-config");
    CHECK(jw_kv_entry_created(e) > 1700000000LL * 1000000000LL);
    jw_kv_entry_free(e);

    const char *cfg2 = "{\"timeout\":60,\"retries\":5}";
    CHECK_OK(jw_kv_update(kv, "payment-service", cfg2, strlen(cfg2), rev1,
                          &rev2));
    CHECK(rev2 > rev1);
    /* A stale revision is refused. */
    CHECK_STATUS(jw_kv_update(kv, "payment-service", "x", 1, rev1, NULL),
                 JW_EWRONG_LAST_SEQUENCE);

    /* The watcher saw both writes, in order, from the other connection. */
    CHECK_OK(jw_kv_watch_next(w, 5000, &e));
    CHECK(e && value_is(e, cfg) && jw_kv_entry_revision(e) == rev1);
    jw_kv_entry_free(e);
    CHECK_OK(jw_kv_watch_next(w, 5000, &e));
    CHECK(e && value_is(e, cfg2) && jw_kv_entry_revision(e) == rev2);
    jw_kv_entry_free(e);
    CHECK_STATUS(jw_kv_watch_next(w, 200, &e), JW_ETIMEOUT);

    /* Reads by revision; keys. */
    CHECK_OK(jw_test_kv_get(kv, "payment-service", rev1, &e));
    CHECK(value_is(e, cfg));
    jw_kv_entry_free(e);
    CHECK_STATUS(jw_test_kv_get(kv, "other", rev1, &e),
                 JW_EKEY_NOT_FOUND);
    CHECK_OK(put(kv, "order-service", "{}", NULL));
    char *keys = NULL;
    CHECK_OK(jw_kv_keys(kv, NULL, &keys));
    CHECK(strstr(keys, "\"payment-service\"") && strstr(keys, "\"order-service\""));
    jw_free(keys);

    char *status = NULL;
    CHECK_OK(jw_kv_status(kv, &status));
    CHECK(strstr(status, "\"history\":5") != NULL);
    CHECK(strstr(status, "\"ttl\":86400000") != NULL);
    CHECK(strstr(status, "\"values\":3") != NULL);
    CHECK(strstr(status, "\"backing_store\":\"JetStream\"") != NULL);
    jw_free(status);
    char *names = NULL;
    CHECK_OK(jw_js_kv_names(js, &names));
    CHECK_STR(names, "[\"service-config\"]");
    jw_free(names);

    jw_kv_watcher_free(w);
    jw_kv_free(kv2);
    jw_js_free(js2);
    jw_conn_free(nc2);
    CHECK_OK(jw_js_kv_delete(js, "service-config"));
    CHECK_STATUS(jw_kv_get(kv, "payment-service", NULL, &e), JW_EBUCKET_NOT_FOUND);
    CHECK_STATUS(jw_js_kv(js, "service-config", &kv2), JW_EBUCKET_NOT_FOUND);
    KV_TEARDOWN(s, nc, js, kv);
    return 0;
}

TEST(kv_create_delete_purge)
{
    START_SERVER(s, NULL);
    KV_SETUP(s, nc, js, kv, "{\"bucket\":\"cdp\",\"history\":10}");
    uint64_t rev = 0;
    jw_kv_entry *e = NULL;
    CHECK_OK(jw_kv_create(kv, "k", "v1", 2, NULL, &rev));
    CHECK_STATUS(jw_kv_create(kv, "k", "v2", 2, NULL, NULL), JW_EKEY_EXISTS);
    CHECK_STATUS(jw_kv_get(kv, "missing", NULL, &e), JW_EKEY_NOT_FOUND);

    /* Delete keeps the history; reading says deleted; create works again. */
    CHECK_STATUS(jw_kv_delete(kv, "k", rev + 100), JW_EWRONG_LAST_SEQUENCE);
    CHECK_OK(jw_kv_delete(kv, "k", 0));
    CHECK_STATUS(jw_kv_get(kv, "k", NULL, &e), JW_EKEY_DELETED);
    char *keys = NULL;
    CHECK_OK(jw_kv_keys(kv, NULL, &keys));
    CHECK_STR(keys, "[]");
    jw_free(keys);
    CHECK_OK(jw_kv_create(kv, "k", "v3", 2, NULL, NULL));
    CHECK_OK(jw_kv_get(kv, "k", NULL, &e));
    CHECK(value_is(e, "v3"));
    jw_kv_entry_free(e);

    jw_kv_entry **hist = NULL;
    size_t n = 0;
    CHECK_OK(jw_kv_history(kv, "k", NULL, &hist, &n));
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(jw_kv_entry_operation(hist[0]), JW_KV_PUT);
    CHECK_EQ_INT(jw_kv_entry_operation(hist[1]), JW_KV_DEL);
    CHECK_EQ_INT(jw_kv_entry_operation(hist[2]), JW_KV_PUT);
    CHECK_EQ_INT(jw_kv_entry_delta(hist[2]), 0);
    CHECK_EQ_INT(jw_kv_entry_delta(hist[0]), 2);
    jw_kv_entries_free(hist, n);

    /* Purge leaves only its marker; create works over it. */
    CHECK_OK(jw_kv_purge(kv, "k", 0, NULL));
    CHECK_OK(jw_kv_history(kv, "k", NULL, &hist, &n));
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(jw_kv_entry_operation(hist[0]), JW_KV_PURGE);
    jw_kv_entries_free(hist, n);
    CHECK_STATUS(jw_kv_get(kv, "k", NULL, &e), JW_EKEY_DELETED);
    CHECK_OK(jw_kv_create(kv, "k", "v4", 2, NULL, NULL));
    CHECK_STATUS(jw_kv_history(kv, "never", NULL, &hist, &n),
                 JW_EKEY_NOT_FOUND);

    /* purge_deletes removes old markers (negative: all of them). */
    CHECK_OK(jw_kv_delete(kv, "gone", 0));
    CHECK_OK(jw_kv_purge_deletes(kv, -1));
    CHECK_STATUS(jw_kv_history(kv, "gone", NULL, &hist, &n),
                 JW_EKEY_NOT_FOUND);
    KV_TEARDOWN(s, nc, js, kv);
    return 0;
}

TEST(kv_history_limit_and_ttl)
{
    START_SERVER(s, NULL);
    KV_SETUP(s, nc, js, kv, "{\"bucket\":\"hist\",\"history\":3}");
    for (int i = 0; i < 7; i++) {
        char v[8];
        snprintf(v, sizeof v, "v%d", i);
        CHECK_OK(put(kv, "k", v, NULL));
    }
    jw_kv_entry **hist = NULL;
    size_t n = 0;
    CHECK_OK(jw_kv_history(kv, "k", NULL, &hist, &n));
    CHECK_EQ_INT(n, 3);
    CHECK(value_is(hist[0], "v4") && value_is(hist[2], "v6"));
    jw_kv_entries_free(hist, n);

    jw_kv *short_lived = NULL;
    CHECK_OK(jw_js_kv_create(js, "{\"bucket\":\"ttl\",\"ttl\":1000}",
                             &short_lived));
    CHECK_OK(put(short_lived, "k", "soon gone", NULL));
    jw_kv_entry *e = NULL;
    CHECK_OK(jw_kv_get(short_lived, "k", NULL, &e));
    jw_kv_entry_free(e);
    jw_test_sleep_ms(2500);
    CHECK_STATUS(jw_kv_get(short_lived, "k", NULL, &e), JW_EKEY_NOT_FOUND);
    jw_kv_free(short_lived);
    KV_TEARDOWN(s, nc, js, kv);
    return 0;
}

TEST(kv_bad_names_and_config)
{
    START_SERVER(s, NULL);
    KV_SETUP(s, nc, js, kv, "{\"bucket\":\"names\"}");
    jw_kv *other = NULL;
    static const char *const bad_configs[] = {
        "{\"bucket\":\"a.b\"}",          "{\"bucket\":\"\"}",
        "{\"bucket\":\"x\",\"history\":65}", "{\"bucket\":\"x\",\"history\":0}",
        "{\"bucket\":\"x\",\"colour\":1}",   "{\"bucket\":\"x\",\"ttl\":-1}",
        "not json",                          "{}",
    };
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        CHECK_STATUS(jw_js_kv_create(js, bad_configs[i], &other), JW_EINVAL);
        CHECK(other == NULL);
    }
    static const char *const bad_keys[] = {"", ".a", "a.", "a..b", "a b",
                                           "a*",  ">",  "ключ", "a:b"};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        CHECK_STATUS(put(kv, bad_keys[i], "v", NULL), JW_EINVAL);
        jw_kv_entry *e = NULL;
        CHECK_STATUS(jw_kv_get(kv, bad_keys[i], NULL, &e), JW_EINVAL);
    }
    CHECK_OK(put(kv, "a-b_c/d=e.f", "v", NULL));
    jw_kv_watcher *w = NULL;
    CHECK_STATUS(jw_kv_watch(kv, "a.>.b", NULL, &w), JW_EINVAL);
    CHECK_OK(jw_kv_watch(kv, "a-b_c/d=e.*", NULL, &w));
    jw_kv_watcher_free(w);
    CHECK_STATUS(jw_js_kv(js, "nope", &other), JW_EBUCKET_NOT_FOUND);
    KV_TEARDOWN(s, nc, js, kv);
    return 0;
}

typedef struct writer {
    jw_kv *kv;
    int count;
    jw_status st;
} writer;

static void *write_keys(void *arg)
{
    writer *wr = arg;
    for (int i = 0; i < wr->count && wr->st == JW_OK; i++) {
        char key[32];
        snprintf(key, sizeof key, "live.%d", i);
        wr->st = jw_kv_put(wr->kv, key, "x", 1, NULL);
    }
    return NULL;
}

/* A watcher freed while its server is gone does not wait out the
 * context's timeout for the answer to the clean-up it sends (its
 * consumer's delete): a program shutting down after losing the server
 * would stall that long for each watcher. */
TEST(kv_watcher_free_without_server)
{
    START_SERVER(s, NULL);
    KV_SETUP(s, nc, js, kv, "{\"bucket\":\"gone\"}");
    CHECK_OK(jw_js_set_int(js, "timeout", 20000));
    CHECK_OK(put(kv, "k", "v", NULL));
    jw_kv_watcher *w = NULL;
    CHECK_OK(jw_kv_watch(kv, NULL, NULL, &w));
    jw_kv_entry *e = NULL;
    CHECK_OK(jw_kv_watch_next(w, 5000, &e));
    jw_kv_entry_free(e);
    jw_test_server_stop(s);
    int64_t start = jw_test_now_ms();
    while (jw_conn_status_get(nc) == JW_CONN_CONNECTED &&
           jw_test_now_ms() - start < 5000)
        jw_test_sleep_ms(10);
    start = jw_test_now_ms();
    jw_kv_watcher_free(w);
    CHECK(jw_test_now_ms() - start < 10000); /* not the 20 s timeout */
    jw_kv_free(kv);
    jw_js_free(js);
    jw_conn_free(nc);
    return 0;
}

TEST(kv_watch_marker_under_writes)
{
    START_SERVER(s, NULL);
    KV_SETUP(s, nc, js, kv, "{\"bucket\":\"busy\"}");
    for (int i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof key, "init.%d", i);
        CHECK_OK(put(kv, key, "y", NULL));
    }
    CHECK_OK(jw_kv_delete(kv, "init.0", 0));
    /* A second connection writes 1,000 keys while the watch starts. */
    jw_conn *nc2 = NULL;
    jw_js *js2 = NULL;
    jw_kv *kv2 = NULL;
    CHECK_OK(jw_test_connect(s, &nc2));
    CHECK_OK(jw_js_new(nc2, &js2));
    CHECK_OK(jw_js_kv(js2, "busy", &kv2));
    writer wr = {kv2, 1000, JW_OK};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, write_keys, &wr) == 0);
    jw_kv_watcher *w = NULL;
    CHECK_OK(jw_kv_watch(kv, NULL, NULL, &w));
    int markers = 0, before = 0, after = 0, deletes = 0;
    for (;;) {
        jw_kv_entry *e = NULL;
        jw_status st = jw_kv_watch_next(w, 3000, &e);
        if (st == JW_ETIMEOUT)
            break;
        CHECK_OK(st);
        if (!e) {
            markers++;
            continue;
        }
        if (markers == 0)
            before++;
        else
            after++;
        deletes += jw_kv_entry_operation(e) == JW_KV_DEL;
        jw_kv_entry_free(e);
    }
    pthread_join(t, NULL);
    CHECK_OK(wr.st);
    CHECK_EQ_INT(markers, 1);
    CHECK(before >= 200);        /* every initial key, the deleted one too */
    CHECK_EQ_INT(deletes, 1);
    CHECK_EQ_INT(before + after, 1200);
    jw_kv_watcher_free(w);

    /* ignore_deletes and updates_only. */
    jw_call_opts *wo = jw_test_opts_true("watch", "ignore_deletes");
    CHECK(wo != NULL);
    CHECK_OK(jw_kv_watch(kv, "init.*", wo, &w));
    jw_call_opts_free(wo);
    int n = 0;
    for (jw_kv_entry *e = NULL;;) {
        CHECK_OK(jw_kv_watch_next(w, 3000, &e));
        if (!e)
            break;
        n++;
        jw_kv_entry_free(e);
    }
    CHECK_EQ_INT(n, 199);
    jw_kv_watcher_free(w);
    wo = jw_test_opts_true("watch", "updates_only");
    CHECK(wo != NULL);
    /* Options of another call are refused. */
    CHECK_STATUS(jw_kv_get(kv, "fresh", wo, &(jw_kv_entry *){NULL}),
                 JW_EINVAL);
    CHECK_OK(jw_kv_watch(kv, NULL, wo, &w));
    /* include_history with updates_only cannot be. */
    jw_kv_watcher *bad = NULL;
    CHECK_OK(jw_call_opts_set_bool(wo, "include_history", 1));
    CHECK_STATUS(jw_kv_watch(kv, NULL, wo, &bad), JW_EINVAL);
    CHECK(bad == NULL);
    jw_call_opts_free(wo);
    jw_kv_entry *e = NULL;
    CHECK_OK(jw_kv_watch_next(w, 3000, &e));
    CHECK(e == NULL);
    CHECK_OK(put(kv, "fresh", "z", NULL));
    CHECK_OK(jw_kv_watch_next(w, 3000, &e));
    CHECK(e && strcmp(jw_kv_entry_key(e), "fresh") == 0);
    jw_kv_entry_free(e);
    jw_kv_watcher_free(w);

    jw_kv_free(kv2);
    jw_js_free(js2);
    jw_conn_free(nc2);
    KV_TEARDOWN(s, nc, js, kv);
    return 0;
}

TEST(kv_ten_thousand_keys)
{
    START_SERVER(s, NULL);
    KV_SETUP(s, nc, js, kv, "{\"bucket\":\"many\",\"storage\":\"memory\"}");
    for (int i = 0; i < 10000; i++) {
        char key[32];
        snprintf(key, sizeof key, "k.%05d", i);
        CHECK_OK(put(kv, key, "v", NULL));
    }
    char *keys = NULL;
    CHECK_OK(jw_kv_keys(kv, NULL, &keys));
    int count = 0;
    for (const char *p = keys; (p = strstr(p, "\"k.")); p++)
        count++;
    CHECK_EQ_INT(count, 10000);
    CHECK(strstr(keys, "\"k.09999\"") != NULL);
    jw_free(keys);
    /* The streaming lister gives the same keys, one at a time. */
    jw_kv_lister *lister = NULL;
    CHECK_OK(jw_kv_list_keys(kv, NULL, &lister));
    static char seen[10000];
    memset(seen, 0, sizeof seen);
    int listed = 0;
    for (;;) {
        const char *key = NULL;
        CHECK_OK(jw_kv_lister_next(lister, &key));
        if (!key)
            break;
        int n = atoi(key + 2);
        CHECK(strncmp(key, "k.", 2) == 0 && n >= 0 && n < 10000 && !seen[n]);
        seen[n] = 1;
        listed++;
    }
    CHECK_EQ_INT(listed, 10000);
    const char *after = "x";
    CHECK_OK(jw_kv_lister_next(lister, &after)); /* the end stays the end */
    CHECK(after == NULL);
    jw_kv_lister_free(lister);
    /* A filter, and a deleted key left out. */
    CHECK_OK(jw_kv_delete(kv, "k.00001", 0));
    CHECK_STATUS(jw_kv_list_keys(kv, "k.0000*", &lister), JW_EINVAL);
    CHECK(lister == NULL);
    CHECK_OK(jw_kv_list_keys(kv, "k.>", &lister));
    listed = 0;
    for (const char *key = ""; key;) {
        CHECK_OK(jw_kv_lister_next(lister, &key));
        CHECK(!key || strcmp(key, "k.00001") != 0);
        listed += key != NULL;
    }
    CHECK_EQ_INT(listed, 9999);
    jw_kv_lister_free(lister);
    jw_kv_lister_free(NULL);
    CHECK_STATUS(jw_kv_keys(kv, "k.0000*", &keys), JW_EINVAL);
    CHECK_OK(jw_kv_keys(kv, "k.*", &keys));
    CHECK(strstr(keys, "\"k.00000\"") != NULL);
    jw_free(keys);
    KV_TEARDOWN(s, nc, js, kv);
    return 0;
}

/* Gets and writes for other event loops: start, completion, result. */
TEST(kv_started_requests)
{
    START_SERVER(s, NULL);
    KV_SETUP(s, nc, js, kv, "{\"bucket\":\"started\",\"history\":3}");
    uint64_t id = 0, r1 = 0, r2 = 0;
    jw_msg *reply = NULL;
    CHECK_OK(jw_kv_put_start(kv, "k", "one", 3, 0, &id));
    jw_status st = jw_test_completion(nc, id, &reply);
    CHECK_OK(jw_kv_put_result(kv, st, reply, &r1));
    jw_msg_free(reply);
    CHECK_OK(jw_kv_put_start(kv, "k", "two", 3, r1, &id)); /* an update */
    st = jw_test_completion(nc, id, &reply);
    CHECK_OK(jw_kv_put_result(kv, st, reply, &r2));
    jw_msg_free(reply);
    CHECK(r2 > r1);
    CHECK_OK(jw_kv_put_start(kv, "k", "stale", 5, r1, &id));
    st = jw_test_completion(nc, id, &reply);
    CHECK_STATUS(jw_kv_put_result(kv, st, reply, &r2),
                 JW_EWRONG_LAST_SEQUENCE);
    jw_msg_free(reply);
    jw_kv_entry *e = NULL;
    jw_call_opts *go = jw_test_opts_int("get", "revision", (int64_t)r1);
    CHECK(go != NULL);
    CHECK_OK(jw_kv_get_start(kv, "k", go, &id));
    jw_call_opts_free(go);
    st = jw_test_completion(nc, id, &reply);
    CHECK_OK(jw_kv_get_result(kv, "k", st, reply, &e));
    jw_msg_free(reply);
    CHECK(value_is(e, "one") && jw_kv_entry_revision(e) == r1);
    jw_kv_entry_free(e);
    CHECK_OK(jw_kv_get_start(kv, "nope", NULL, &id));
    st = jw_test_completion(nc, id, &reply);
    CHECK_STATUS(jw_kv_get_result(kv, "nope", st, reply, &e),
                 JW_EKEY_NOT_FOUND);
    CHECK(e == NULL);
    jw_msg_free(reply);
    CHECK_STATUS(jw_kv_get_start(kv, "bad key", NULL, &id), JW_EINVAL);
    /* The statuses a completion may carry instead of a reply. */
    CHECK_STATUS(jw_kv_put_result(kv, JW_ENO_RESPONDERS, NULL, &r2),
                 JW_EBUCKET_NOT_FOUND);
    CHECK_STATUS(jw_kv_get_result(kv, "k", JW_ENO_RESPONDERS, NULL, &e),
                 JW_EBUCKET_NOT_FOUND);
    CHECK_OK(jw_js_kv_delete(js, "started"));
    CHECK_STATUS(jw_kv_get_result(kv, "k", JW_ETIMEOUT, NULL, &e),
                 JW_EBUCKET_NOT_FOUND);
    KV_TEARDOWN(s, nc, js, kv);
    return 0;
}
