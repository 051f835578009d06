/*
 * Key-Value reads made of ordered consumers (kv.md): watch and its
 * initial values, keys (all at once or one at a time), history, and
 * purge_deletes, which walks the markers.
 */
#include "kv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- watch ---- */

/* What a watcher was asked for: the "watch" options as bits. */
enum {
    W_INCLUDE_HISTORY = 1,
    W_IGNORE_DELETES = 2,
    W_META_ONLY = 4,
    W_UPDATES_ONLY = 8
};

/* The stream subjects of key filters (NULL or none: every key), as the
 * ordered consumer's filter_subject, or filter_subjects (2.10) for more
 * than one. */
static jw_status filters_json(jw_kv *kv, const char *const *keys,
                              size_t count, json_t *cfg)
{
    if (count > 1) {
        jw_status need = jw__js_require(kv->js, 21000,
                                        "several key filters");
        if (need)
            return need;
    }
    json_t *list = json_array();
    for (size_t i = 0; list && i < (count ? count : 1); i++) {
        const char *filter = count && keys && keys[i] && *keys[i] ? keys[i]
                                                                   : ">";
        char subject[KV_SUBJECT_MAX];
        jw_status st = jw__kv_check_key(filter, 1);
        if (st == JW_OK)
            st = jw__kv_subject_of(kv, filter, subject, sizeof subject);
        if (st) {
            json_decref(list);
            return st;
        }
        json_array_append_new(list, json_string(subject));
    }
    if (!list)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    if (json_array_size(list) == 1)
        json_object_set(cfg, "filter_subject", json_array_get(list, 0));
    else
        json_object_set(cfg, "filter_subjects", list);
    json_decref(list);
    return JW_OK;
}

static jw_status watch(jw_kv *kv, const char *const *keys, size_t count,
                       int flags, jw_kv_watcher **out)
{
    *out = NULL;
    if ((flags & W_INCLUDE_HISTORY) && (flags & W_UPDATES_ONLY))
        return jw__fail(JW_EINVAL,
                        "include_history and updates_only exclude each other");
    if (count && !keys)
        return jw__fail(JW_EINVAL, "keys is NULL");
    const char *policy = flags & W_UPDATES_ONLY      ? "new"
                         : flags & W_INCLUDE_HISTORY ? "all"
                                                     : "last_per_subject";
    json_t *cfg = json_pack("{ss sb}", "deliver_policy", policy,
                            "headers_only", (flags & W_META_ONLY) != 0);
    if (!cfg)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    jw_status st = filters_json(kv, keys, count, cfg);
    char *text = st ? NULL : json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    if (st)
        return st;
    if (!text)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    jw_kv_watcher *w = calloc(1, sizeof(*w));
    if (!w) {
        free(text);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    w->kv = kv;
    w->flags = flags;
    st = jw_js_ordered_consumer(kv->js, kv->stream, text, &w->oc);
    free(text);
    if (st == JW_ESTREAM_NOT_FOUND)
        st = jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                      kv->bucket);
    if (st) {
        free(w);
        return st;
    }
    atomic_fetch_add_explicit(&kv->refs, 1, memory_order_relaxed);
    w->initial = flags & W_UPDATES_ONLY ? 0 : jw__ordered_initial(w->oc);
    w->marker_due = w->initial == 0;
    *out = w;
    return JW_OK;
}

jw_status jw_kv_watch(jw_kv *kv, const char *keys, const jw_call_opts *opts,
                      jw_kv_watcher **out)
{
    return jw_kv_watch_multi(kv, keys ? &keys : NULL, keys ? 1 : 0, opts,
                             out);
}

jw_status jw_kv_watch_multi(jw_kv *kv, const char *const *keys, size_t count,
                            const jw_call_opts *opts, jw_kv_watcher **out)
{
    if (out)
        *out = NULL;
    if (!kv || !out)
        return jw__fail(JW_EINVAL, "kv and out must not be NULL");
    jw_status st = jw__call_opts_use(opts, JW__CALL_WATCH, kv->js);
    if (st)
        return st;
    static const struct {
        int option, flag;
    } bits[] = {
        {JW__WATCH_INCLUDE_HISTORY, W_INCLUDE_HISTORY},
        {JW__WATCH_IGNORE_DELETES, W_IGNORE_DELETES},
        {JW__WATCH_META_ONLY, W_META_ONLY},
        {JW__WATCH_UPDATES_ONLY, W_UPDATES_ONLY},
    };
    int flags = 0;
    for (size_t i = 0; i < sizeof bits / sizeof *bits; i++)
        if (jw__call_opts_int(opts, bits[i].option, 0))
            flags |= bits[i].flag;
    return watch(kv, keys, count, flags, out);
}

jw_status jw_kv_watch_next(jw_kv_watcher *w, int64_t timeout_ms,
                           jw_kv_entry **entry)
{
    if (entry)
        *entry = NULL;
    if (!w || !entry)
        return jw__fail(JW_EINVAL, "watcher and entry must not be NULL");
    if (!w->oc)
        return jw__fail(JW_EINVAL, "watcher was stopped");
    int64_t deadline = timeout_ms < 0 ? -1 : jw__now_ms() + timeout_ms;
    for (;;) {
        /* A closed connection ends the watch, the marker included, as
         * every other call reports it. */
        if (w->marker_due && !w->marker_sent &&
            jw_conn_status_get(w->kv->js->conn) == JW_CONN_CLOSED)
            return jw__fail(JW_ECONNECTION_CLOSED, "connection is closed");
        if (w->marker_due && !w->marker_sent) {
            w->marker_sent = 1;
            return JW_OK; /* *entry NULL: the initial values are all out */
        }
        int64_t left = deadline < 0 ? -1 : deadline - jw__now_ms();
        if (deadline >= 0 && left < 0)
            left = 0;
        jw_msg *m = NULL;
        int n = jw_ordered_next(w->oc, &m, 1, left);
        if (n < 0)
            return (jw_status)n;
        if (n == 0)
            return jw__fail(JW_ETIMEOUT, "no update within %lld ms",
                            (long long)timeout_ms);
        jw_js_meta *meta = NULL;
        jw_status st = jw_msg_metadata(m, &meta);
        const char *subject = jw_msg_subject(m);
        jw_kv_entry *e = NULL;
        if (st == JW_OK && strncmp(subject, w->kv->prefix,
                                   w->kv->prefix_len) == 0)
            st = jw__kv_entry_new(w->kv, subject + w->kv->prefix_len, m, &e);
        if (st == JW_OK && e) {
            e->revision = jw_js_meta_stream_seq(meta);
            e->created_ns = jw_js_meta_timestamp(meta);
            e->delta = jw_js_meta_num_pending(meta);
        }
        jw_js_meta_free(meta);
        jw_msg_free(m);
        if (st) {
            jw_kv_entry_free(e);
            return st;
        }
        if (!w->marker_sent) {
            w->received++;
            if ((e && e->delta == 0) || w->received >= w->initial)
                w->marker_due = 1;
        }
        if (!e || ((w->flags & W_IGNORE_DELETES) && e->op != JW_KV_PUT)) {
            jw_kv_entry_free(e);
            continue;
        }
        *entry = e;
        return JW_OK;
    }
}

void jw_kv_watcher_free(jw_kv_watcher *w)
{
    if (!w)
        return;
    jw_ordered_free(w->oc);
    jw__kv_release(w->kv);
    free(w);
}

/* Everything up to the end-of-initial-values marker, through a watcher;
 * each entry goes to fn. */
static jw_status initial_entries(jw_kv *kv, const char *const *keys,
                                 size_t count, int flags,
                                 void (*fn)(jw_kv_entry *, void *), void *arg)
{
    jw_kv_watcher *w = NULL;
    jw_status st = watch(kv, keys, count, flags, &w);
    while (st == JW_OK) {
        jw_kv_entry *e = NULL;
        st = jw_kv_watch_next(w, kv->js->timeout_ms, &e);
        if (st == JW_OK && !e)
            break;
        if (st == JW_OK)
            fn(e, arg);
    }
    jw_kv_watcher_free(w);
    return st;
}

static void add_key(jw_kv_entry *e, void *arg)
{
    json_array_append_new((json_t *)arg, json_string(e->key));
    jw_kv_entry_free(e);
}

jw_status jw_kv_keys(jw_kv *kv, const char *filter, char **keys_json)
{
    return jw_kv_keys_multi(kv, filter ? &filter : NULL, filter ? 1 : 0,
                            keys_json);
}

jw_status jw_kv_keys_multi(jw_kv *kv, const char *const *filters,
                           size_t count, char **keys_json)
{
    if (keys_json)
        *keys_json = NULL;
    if (!kv || !keys_json)
        return jw__fail(JW_EINVAL, "kv and keys_json must not be NULL");
    json_t *keys = json_array();
    jw_status st = initial_entries(kv, filters, count,
                                   W_IGNORE_DELETES | W_META_ONLY, add_key,
                                   keys);
    if (st == JW_OK && !(*keys_json = json_dumps(keys, JSON_COMPACT)))
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    json_decref(keys);
    return st;
}

/* ---- the streaming key lister: the keys watch, one at a time ---- */

struct jw_kv_lister {
    jw_kv_watcher *w;
    int64_t timeout_ms;
    jw_kv_entry *current; /* whose key the caller holds */
    int done;
};

jw_status jw_kv_list_keys(jw_kv *kv, const char *filter, jw_kv_lister **out)
{
    return jw_kv_list_keys_multi(kv, filter ? &filter : NULL, filter ? 1 : 0,
                                 out);
}

jw_status jw_kv_list_keys_multi(jw_kv *kv, const char *const *filters,
                                size_t count, jw_kv_lister **out)
{
    if (out)
        *out = NULL;
    if (!kv || !out)
        return jw__fail(JW_EINVAL, "kv and out must not be NULL");
    jw_kv_lister *l = calloc(1, sizeof(*l));
    if (!l)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    jw_status st =
        watch(kv, filters, count, W_IGNORE_DELETES | W_META_ONLY, &l->w);
    if (st) {
        free(l);
        return st;
    }
    l->timeout_ms = kv->js->timeout_ms;
    *out = l;
    return JW_OK;
}

jw_status jw_kv_lister_next(jw_kv_lister *l, const char **key)
{
    if (key)
        *key = NULL;
    if (!l || !key)
        return jw__fail(JW_EINVAL, "lister and key must not be NULL");
    jw_kv_entry_free(l->current);
    l->current = NULL;
    if (l->done)
        return JW_OK;
    jw_kv_entry *e = NULL;
    jw_status st = jw_kv_watch_next(l->w, l->timeout_ms, &e);
    if (st == JW_ETIMEOUT)
        return jw__fail(st, "no key listed within %lld ms",
                        (long long)l->timeout_ms);
    if (st)
        return st;
    if (!e) {
        l->done = 1; /* the end of the initial values: every key seen */
        return JW_OK;
    }
    l->current = e;
    *key = e->key;
    return JW_OK;
}

void jw_kv_lister_free(jw_kv_lister *l)
{
    if (!l)
        return;
    jw_kv_entry_free(l->current);
    jw_kv_watcher_free(l->w);
    free(l);
}

typedef struct entry_list {
    jw_kv_entry **items;
    size_t count, cap;
    int failed;
} entry_list;

static void add_entry(jw_kv_entry *e, void *arg)
{
    entry_list *l = arg;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        jw_kv_entry **items = realloc(l->items, cap * sizeof(*items));
        if (!items) {
            l->failed = 1;
            jw_kv_entry_free(e);
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = e;
}

void jw_kv_entries_free(jw_kv_entry **entries, size_t count)
{
    for (size_t i = 0; entries && i < count; i++)
        jw_kv_entry_free(entries[i]);
    free(entries);
}

jw_status jw_kv_history(jw_kv *kv, const char *key, const jw_call_opts *opts,
                        jw_kv_entry ***entries, size_t *count)
{
    if (entries)
        *entries = NULL;
    if (count)
        *count = 0;
    if (!kv || !entries || !count)
        return jw__fail(JW_EINVAL, "kv, entries and count must not be NULL");
    jw_status st = jw__kv_check_key(key, 0);
    if (st)
        return st;
    /* Bounds need direct get batches; without them the ordered consumer
     * serves every server. */
    if (jw__call_opts_has(opts, JW__UP_TO_REVISION) ||
        jw__call_opts_has(opts, JW__UP_TO_TIME))
        return jw__kv_history_up_to(kv, key, opts, entries, count);
    if ((st = jw__call_opts_use(opts, JW__CALL_HISTORY, kv->js)))
        return st;
    entry_list l = {0};
    st = initial_entries(kv, &key, 1, W_INCLUDE_HISTORY, add_entry, &l);
    if (st == JW_OK && l.failed)
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    if (st == JW_OK && l.count == 0)
        st = jw__fail(JW_EKEY_NOT_FOUND, "key '%s' not found", key);
    if (st) {
        jw_kv_entries_free(l.items, l.count);
        return st;
    }
    *entries = l.items;
    *count = l.count;
    return JW_OK;
}

jw_status jw_kv_purge_deletes(jw_kv *kv, int64_t older_than_ms)
{
    if (!kv)
        return jw__fail(JW_EINVAL, "kv is NULL");
    entry_list l = {0};
    jw_status st = initial_entries(kv, NULL, 0, 0, add_entry, &l);
    if (st == JW_OK && l.failed)
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    /* Young markers stay (keep 1) so a watcher briefly away still sees
     * the delete; 0 means the default of 30 minutes, negative: none stay. */
    int64_t threshold = older_than_ms == 0 ? 30 * 60 * 1000 : older_than_ms;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
    for (size_t i = 0; st == JW_OK && i < l.count; i++) {
        jw_kv_entry *e = l.items[i];
        if (e->op == JW_KV_PUT)
            continue;
        char subject[KV_SUBJECT_MAX];
        jw__kv_subject_of(kv, e->key, subject, sizeof subject);
        int young = threshold > 0 &&
                    now_ns - e->created_ns < threshold * 1000000LL;
        uint64_t purged = 0;
        st = jw_js_stream_purge(kv->js, kv->stream, subject, 0,
                                young ? 1 : 0, &purged);
    }
    jw_kv_entries_free(l.items, l.count);
    return st;
}
