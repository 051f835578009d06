/*
 * kv_config: the tutorial's "Using the Key-Value Store".
 *
 * Creates (or updates) the bucket service-config (history 5, entries kept
 * 24 hours), stores the payment service's configuration, reads it back,
 * updates it only if nobody changed it meanwhile (the revision), lists the
 * keys, then watches the key while a second thread changes it.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_kv_config
 */
#include <pthread.h>

#include "example.h"

static const char *const bucket_config =
    "{\"bucket\":\"service-config\","
    "\"description\":\"Service configuration store\","
    "\"ttl\":86400000,\"history\":5,\"storage\":\"file\"}";

static void config_json(char *buf, size_t size, int timeout_ms,
                        int max_retries)
{
    snprintf(buf, size,
             "{\"endpoint\":\"https://api.example.com\",\"timeout_ms\":%d,"
             "\"max_retries\":%d,\"features\":[\"caching\",\"compression\","
             "\"retry\"]}",
             timeout_ms, max_retries);
}

/* The tutorial's goroutine: a second writer, a second later. */
static void *change_later(void *arg)
{
    jw_kv *kv = arg;
    char cfg[256];
    sleep(1);
    config_json(cfg, sizeof cfg, 10000, 5);
    jw_status st = jw_kv_put(kv, "payment-service", cfg, strlen(cfg), NULL);
    if (st != JW_OK)
        report("put from the second writer", st);
    return NULL;
}

int main(void)
{
    example_name = "kv_config";
    int rc = 1;
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    jw_kv *kv = NULL;
    jw_kv_entry *entry = NULL;
    jw_kv_watcher *watcher = NULL;
    char *keys = NULL;
    char cfg[256];

    jw_status st = jw_conn_connect(server_url(), NULL, &nc);
    if (st == JW_OK)
        st = jw_js_new(nc, &js);
    if (st == JW_OK)
        st = jw_js_kv_create_or_update(js, bucket_config, &kv);
    if (st != JW_OK) {
        report("create the bucket", st);
        goto out;
    }
    printf("Created KV bucket: service-config\n");

    config_json(cfg, sizeof cfg, 5000, 3);
    uint64_t revision = 0;
    if ((st = jw_kv_put(kv, "payment-service", cfg, strlen(cfg),
                        &revision)) != JW_OK) {
        report("put", st);
        goto out;
    }
    printf("Stored config at revision: %llu\n", (unsigned long long)revision);

    if ((st = jw_kv_get(kv, "payment-service", NULL, &entry)) != JW_OK) {
        report("get", st);
        goto out;
    }
    const char *value = jw_kv_entry_value(entry, NULL);
    double timeout_ms = 0;
    char endpoint[128] = "";
    json_string(value, "endpoint", endpoint, sizeof endpoint);
    json_number(value, "timeout_ms", &timeout_ms);
    printf("Retrieved config: endpoint=%s, timeout=%.0fms\n", endpoint,
           timeout_ms);

    /* Only if the key is still at the revision just read. */
    config_json(cfg, sizeof cfg, 10000, 3);
    uint64_t newer = 0;
    st = jw_kv_update(kv, "payment-service", cfg, strlen(cfg),
                      jw_kv_entry_revision(entry), &newer);
    if (st == JW_OK)
        printf("Updated config to revision: %llu\n",
               (unsigned long long)newer);
    else
        printf("Update failed (concurrent modification?): %s\n",
               jw_last_error());

    if ((st = jw_kv_keys(kv, NULL, &keys)) != JW_OK) {
        report("keys", st);
        goto out;
    }
    printf("Keys in bucket: %s\n", keys);

    printf("Watching for configuration changes...\n");
    if ((st = jw_kv_watch(kv, "payment-service", NULL, &watcher)) != JW_OK) {
        report("watch", st);
        goto out;
    }
    pthread_t writer;
    pthread_create(&writer, NULL, change_later, kv);
    int initial_done = 0;
    for (;;) {
        jw_kv_entry *update = NULL;
        st = jw_kv_watch_next(watcher, 5000, &update);
        if (st != JW_OK) {
            report("watch", st);
            break;
        }
        if (!update) { /* the current values are all out: live from here */
            initial_done = 1;
            continue;
        }
        printf("%s: key=%s, revision=%llu\n",
               initial_done ? "Config updated" : "Current config",
               jw_kv_entry_key(update),
               (unsigned long long)jw_kv_entry_revision(update));
        jw_kv_entry_free(update);
        if (initial_done) {
            rc = 0;
            break;
        }
    }
    pthread_join(writer, NULL);

out:
    jw_free(keys);
    jw_kv_watcher_free(watcher);
    jw_kv_entry_free(entry);
    jw_kv_free(kv);
    jw_js_free(js);
    jw_conn_free(nc);
    return rc;
}
