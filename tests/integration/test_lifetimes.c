/* One ownership model: every handle is reference counted and a handle
 * made through another keeps it alive (consume -> consumer -> context ->
 * connection; watcher and lister -> bucket -> context), so the handles may
 * be freed in any order. Every ordered pair is freed first, the rest after,
 * and what is still held is used in between: under ASan a use after free
 * or a leak fails the run. */
#include "server.h"

#include <string.h>

enum { CONN, JS, CONSUMER, CONSUME, ORDERED, KV, WATCHER, LISTER, COUNT };

static const char *const names[COUNT] = {
    "conn", "js", "consumer", "consume", "ordered", "kv", "watcher", "lister",
};

struct handles {
    jw_conn *conn;
    jw_js *js;
    jw_consumer *consumer;
    jw_consume *consume;
    jw_ordered *ordered;
    jw_kv *kv;
    jw_kv_watcher *watcher;
    jw_kv_lister *lister;
};

static int make_all(jw_test_server *s, struct handles *h)
{
    memset(h, 0, sizeof *h);
    CHECK_OK(jw_test_connect(s, &h->conn));
    CHECK_OK(jw_js_new(h->conn, &h->js));
    CHECK_OK(jw_js_stream_create_or_update(
        h->js, "{\"name\":\"LT\",\"subjects\":[\"lt.>\"]}", NULL));
    CHECK_OK(jw_js_consumer_create_or_update(h->js, "LT",
                                             "{\"durable_name\":\"d\"}",
                                             &h->consumer));
    CHECK_OK(jw_test_consume(h->consumer, 10, 0, 0, &h->consume));
    CHECK_OK(jw_js_ordered_consumer(h->js, "LT", NULL, &h->ordered));
    CHECK_OK(jw_js_kv_create_or_update(h->js, "{\"bucket\":\"lt\"}",
                                       &h->kv));
    CHECK_OK(jw_kv_watch(h->kv, NULL, NULL, &h->watcher));
    CHECK_OK(jw_kv_list_keys(h->kv, NULL, &h->lister));
    return 0;
}

static void free_one(struct handles *h, int which)
{
    switch (which) {
    case CONN: jw_conn_free(h->conn); h->conn = NULL; break;
    case JS: jw_js_free(h->js); h->js = NULL; break;
    case CONSUMER: jw_consumer_free(h->consumer); h->consumer = NULL; break;
    case CONSUME: jw_consume_free(h->consume); h->consume = NULL; break;
    case ORDERED: jw_ordered_free(h->ordered); h->ordered = NULL; break;
    case KV: jw_kv_free(h->kv); h->kv = NULL; break;
    case WATCHER: jw_kv_watcher_free(h->watcher); h->watcher = NULL; break;
    case LISTER: jw_kv_lister_free(h->lister); h->lister = NULL; break;
    }
}

/* Each handle still held still works: it answers, or reports that its
 * connection is closed, and never touches freed memory. */
static int use_the_rest(struct handles *h)
{
    jw_msg *msgs[4];
    char *text = NULL;
    jw_status st;
    if (h->consumer) {
        CHECK_STATUS2(jw_consumer_info(h->consumer, &text), JW_OK,
                      JW_ECONNECTION_CLOSED);
        jw_free(text);
        text = NULL;
    }
    if (h->consume) {
        int n = jw_consume_next(h->consume, msgs, 4, 0);
        CHECK(n <= 0);
    }
    if (h->ordered) {
        int n = jw_ordered_next(h->ordered, msgs, 4, 0);
        CHECK(n <= 0);
    }
    if (h->kv) {
        CHECK_STATUS2(jw_kv_status(h->kv, &text), JW_OK,
                      JW_ECONNECTION_CLOSED);
        jw_free(text);
    }
    if (h->watcher) {
        jw_kv_entry *e = NULL;
        st = jw_kv_watch_next(h->watcher, 0, &e);
        CHECK(e == NULL); /* an empty bucket: the marker, or nothing */
    }
    if (h->lister) {
        const char *key = NULL;
        st = jw_kv_lister_next(h->lister, &key);
        CHECK(key == NULL);
    }
    (void)st;
    return 0;
}

TEST(handles_free_in_any_order)
{
    START_SERVER(s, NULL);
    for (int first = 0; first < COUNT; first++) {
        for (int second = 0; second < COUNT; second++) {
            if (first == second)
                continue;
            struct handles h;
            if (make_all(s, &h)) {
                fprintf(stderr, "making the handles (%s, %s)\n",
                        names[first], names[second]);
                return 1;
            }
            free_one(&h, first);
            CHECK(use_the_rest(&h) == 0);
            free_one(&h, second);
            CHECK(use_the_rest(&h) == 0);
            for (int rest = 0; rest < COUNT; rest++)
                free_one(&h, rest);
        }
    }
    jw_test_server_stop(s);
    return 0;
}
