/*
 * KV reads over direct get batches (ADR-31, nats-server 2.11): the latest
 * values of many keys in a few requests (multi_last), as of now or as of
 * a revision or a time, and a key's history up to a revision or a time.
 * kv.md "Many keys at once" and "History up to a point".
 */
#include "kv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Literal keys per multi_last request: far below the server's 1024
 * subjects and, at the longest subjects, well inside a 1 MiB payload. A
 * filter with wildcards goes alone, since it may match many. */
enum { KEYS_PER_REQUEST = 256, HISTORY_BATCH = 256 };

typedef struct list {
    jw_kv_entry **items;
    size_t count, cap;
} list;

static jw_status list_add(list *l, jw_kv_entry *e)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        jw_kv_entry **items = realloc(l->items, cap * sizeof(*items));
        if (!items) {
            jw_kv_entry_free(e);
            return jw__fail(JW_ENO_MEMORY, "out of memory");
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->count++] = e;
    return JW_OK;
}

/* The entry a stored message of the bucket holds. */
static jw_status entry_of(const jw_kv *kv, const jw_msg *m, jw_kv_entry **out)
{
    const char *subject = jw_msg_subject(m);
    if (strncmp(subject, kv->prefix, kv->prefix_len) != 0)
        return jw__fail(JW_EPROTOCOL, "direct get reply for '%s' is not in "
                                      "bucket '%s'",
                        subject, kv->bucket);
    jw_kv_entry *e = NULL;
    jw_status st = jw__kv_entry_new(kv, subject + kv->prefix_len, m, &e);
    if (st)
        return st;
    const char *hdr = NULL;
    if (jw_msg_header_get(m, "Nats-Sequence", 0, &hdr) == JW_OK && hdr)
        e->revision = strtoull(hdr, NULL, 10);
    if (jw_msg_header_get(m, "Nats-Time-Stamp", 0, &hdr) == JW_OK)
        e->created_ns = jw__kv_parse_time(hdr);
    *out = e;
    return JW_OK;
}

/* What one batch request asks; 0 / NULL: not set. */
typedef struct ask {
    const char *const *subjects;
    size_t count;
    const char *next_by_subject;
    uint64_t seq, batch, up_to_seq;
    const char *up_to_time;
} ask;

/* What the batch said at its end. */
typedef struct eob {
    uint64_t num_pending, last_seq, up_to_seq;
} eob;

/* Called with each entry (owned by the callee); returns 1 to read on, 0
 * to stop, or a negative jw_status. */
typedef int (*entry_fn)(jw_kv_entry *e, void *arg);

static jw_status direct_opts(const ask *a, jw_call_opts **out)
{
    jw_call_opts *o = NULL;
    jw_status st = jw_call_opts_new("direct_get", &o);
    if (st == JW_OK && a->next_by_subject)
        st = jw_call_opts_set_str(o, "next_by_subject", a->next_by_subject);
    if (st == JW_OK && a->seq)
        st = jw_call_opts_set_int(o, "seq", (int64_t)a->seq);
    if (st == JW_OK && a->batch)
        st = jw_call_opts_set_int(o, "batch", (int64_t)a->batch);
    if (st == JW_OK && a->up_to_seq)
        st = jw_call_opts_set_int(o, "up_to_seq", (int64_t)a->up_to_seq);
    if (st == JW_OK && a->up_to_time)
        st = jw_call_opts_set_str(o, "up_to_time", a->up_to_time);
    if (st) {
        jw_call_opts_free(o);
        return st;
    }
    *out = o;
    return JW_OK;
}

/* One batch of the bucket's stream, each message to fn as an entry. */
static jw_status run(jw_kv *kv, const ask *a, entry_fn fn, void *arg,
                     eob *end)
{
    memset(end, 0, sizeof *end);
    jw_call_opts *o = NULL;
    jw_direct_batch *b = NULL;
    jw_status st = direct_opts(a, &o);
    if (st == JW_OK)
        st = jw_js_direct_get_batch(kv->js, kv->stream, a->subjects,
                                    a->count, o, &b);
    jw_call_opts_free(o);
    int more = 1;
    while (st == JW_OK && more) {
        jw_msg *m = NULL;
        st = jw_direct_batch_next(b, kv->js->timeout_ms, &m);
        if (st || !m)
            break;
        jw_kv_entry *e = NULL;
        st = entry_of(kv, m, &e);
        jw_msg_free(m);
        if (st)
            break;
        int r = fn(e, arg);
        if (r < 0)
            st = r;
        more = r > 0;
    }
    if (st == JW_OK && more) {
        end->num_pending = jw_direct_batch_num_pending(b);
        end->last_seq = jw_direct_batch_last_seq(b);
        end->up_to_seq = jw_direct_batch_up_to_seq(b);
    }
    jw_direct_batch_free(b);
    if (st == JW_ESTREAM_NOT_FOUND)
        return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                        kv->bucket);
    return st;
}

/* The bounds of get_many and history: a revision, or a time (checked
 * here, sent as given or compared in ns). */
static jw_status bounds(jw_kv *kv, const jw_call_opts *opts, int call,
                        uint64_t *revision, const char **time,
                        int64_t *time_ns)
{
    jw_status st = jw__call_opts_use(opts, call, kv->js);
    if (st)
        return st;
    *revision = (uint64_t)jw__call_opts_int(opts, JW__UP_TO_REVISION, 0);
    *time = jw__call_opts_str(opts, JW__UP_TO_TIME);
    *time_ns = 0;
    const char *name = call == JW__CALL_HISTORY ? "history" : "get_many";
    if (*revision && *time)
        return jw__fail(JW_EINVAL, "%s options up_to_revision and "
                                   "up_to_time exclude each other",
                        name);
    if (*time) {
        char what[64];
        snprintf(what, sizeof what, "%s option 'up_to_time'", name);
        st = jw__js_parse_time(*time, what, time_ns);
    }
    return st;
}

/* ---- many keys ---- */

static int keep_live(jw_kv_entry *e, void *arg)
{
    if (e->op != JW_KV_PUT) {
        jw_kv_entry_free(e); /* deleted, purged, or gone by a limit */
        return 1;
    }
    jw_status st = list_add(arg, e);
    return st ? st : 1;
}

static int by_revision(const void *a, const void *b)
{
    uint64_t x = (*(jw_kv_entry *const *)a)->revision;
    uint64_t y = (*(jw_kv_entry *const *)b)->revision;
    return x < y ? -1 : x > y;
}

/* The latest entries of count filters, page after page. The first answer
 * says which stream sequence it was read at; every later request reads
 * at that same point, so that the entries are one consistent view. */
static jw_status get_filters(jw_kv *kv, const char *const *subjects,
                             size_t count, uint64_t *at, const char *time,
                             list *out)
{
    uint64_t from = 0;
    for (;;) {
        ask a = {.subjects = subjects,
                 .count = count,
                 .seq = from,
                 .up_to_seq = *at,
                 .up_to_time = *at ? NULL : time};
        eob end;
        jw_status st = run(kv, &a, keep_live, out, &end);
        if (st)
            return st;
        if (!*at && end.up_to_seq)
            *at = end.up_to_seq;
        if (!end.num_pending || !end.last_seq)
            return JW_OK;
        from = end.last_seq + 1; /* cut by max_bytes: the rest */
    }
}

jw_status jw_kv_get_many(jw_kv *kv, const char *const *keys, size_t count,
                         const jw_call_opts *opts, jw_kv_entry ***entries,
                         size_t *n)
{
    if (entries)
        *entries = NULL;
    if (n)
        *n = 0;
    if (!kv || !entries || !n || (count && !keys))
        return jw__fail(JW_EINVAL, "kv, entries and n must not be NULL, nor "
                                   "keys with a count");
    if (jw_conn_status_get(kv->js->conn) == JW_CONN_CLOSED)
        return jw__fail(JW_ECONNECTION_CLOSED, "connection is closed");
    uint64_t at;
    const char *time;
    int64_t time_ns;
    jw_status st = bounds(kv, opts, JW__CALL_GET_MANY, &at, &time, &time_ns);
    if (st == JW_OK)
        st = jw__js_require(kv->js, 21100, "kv get_many");
    for (size_t i = 0; st == JW_OK && i < count; i++)
        st = jw__kv_check_key(keys[i], 1);
    if (st)
        return st;
    size_t total = count ? count : 1;
    char **subjects = calloc(total, sizeof(*subjects));
    if (!subjects)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    for (size_t i = 0; st == JW_OK && i < total; i++) {
        char buf[KV_SUBJECT_MAX];
        st = jw__kv_subject_of(kv, count ? keys[i] : ">", buf, sizeof buf);
        if (st == JW_OK && !(subjects[i] = strdup(buf)))
            st = jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    /* Literal keys in groups, each wildcard filter on its own. */
    list l = {0};
    const char *group[KEYS_PER_REQUEST];
    size_t grouped = 0;
    for (size_t i = 0; st == JW_OK && i <= total; i++) {
        int wild = i < total && strpbrk(subjects[i], "*>") != NULL;
        if (i < total && !wild)
            group[grouped++] = subjects[i];
        if (grouped && (i == total || grouped == KEYS_PER_REQUEST)) {
            st = get_filters(kv, group, grouped, &at, time, &l);
            grouped = 0;
        }
        if (st == JW_OK && wild)
            st = get_filters(kv, (const char *const *)&subjects[i], 1, &at,
                             time, &l);
    }
    for (size_t i = 0; i < total; i++)
        free(subjects[i]);
    free(subjects);
    if (st) {
        jw_kv_entries_free(l.items, l.count);
        return st;
    }
    /* Overlapping filters give a key twice: once is enough. */
    if (l.count > 1)
        qsort(l.items, l.count, sizeof(*l.items), by_revision);
    size_t kept = 0;
    for (size_t i = 0; i < l.count; i++) {
        if (kept && l.items[kept - 1]->revision == l.items[i]->revision)
            jw_kv_entry_free(l.items[i]);
        else
            l.items[kept++] = l.items[i];
    }
    *entries = l.items;
    *n = kept;
    return JW_OK;
}

/* ---- history up to a point ---- */

typedef struct history_walk {
    list entries;
    uint64_t up_to_revision;
    int64_t up_to_ns;
    int past; /* an entry beyond the bound came: stop */
} history_walk;

static int keep_until(jw_kv_entry *e, void *arg)
{
    history_walk *w = arg;
    if ((w->up_to_revision && e->revision > w->up_to_revision) ||
        (w->up_to_ns && e->created_ns >= w->up_to_ns)) {
        jw_kv_entry_free(e);
        w->past = 1;
        return 0;
    }
    jw_status st = list_add(&w->entries, e);
    return st ? st : 1;
}

/* The server's up_to_* serve multi_last only: the bound is applied here. */
jw_status jw__kv_history_up_to(jw_kv *kv, const char *key,
                               const jw_call_opts *opts,
                               jw_kv_entry ***entries, size_t *count)
{
    history_walk w = {0};
    const char *time;
    jw_status st = bounds(kv, opts, JW__CALL_HISTORY, &w.up_to_revision,
                          &time, &w.up_to_ns);
    if (st == JW_OK)
        st = jw__js_require(kv->js, 21100, "kv history up to a revision or "
                                           "time");
    char subject[KV_SUBJECT_MAX];
    if (st == JW_OK)
        st = jw__kv_subject_of(kv, key, subject, sizeof subject);
    uint64_t from = 1;
    while (st == JW_OK) {
        ask a = {.next_by_subject = subject,
                 .seq = from,
                 .batch = HISTORY_BATCH};
        eob end;
        st = run(kv, &a, keep_until, &w, &end);
        if (st || w.past || !end.num_pending || !end.last_seq)
            break;
        from = end.last_seq + 1;
    }
    if (st == JW_OK && w.entries.count == 0)
        st = jw__fail(JW_EKEY_NOT_FOUND, "key '%s' not found%s", key,
                      w.up_to_revision || w.up_to_ns ? " at that point"
                                                     : "");
    if (st) {
        jw_kv_entries_free(w.entries.items, w.entries.count);
        return st;
    }
    /* delta: how many newer entries of the key the answer holds. */
    for (size_t i = 0; i < w.entries.count; i++)
        w.entries.items[i]->delta = w.entries.count - 1 - i;
    *entries = w.entries.items;
    *count = w.entries.count;
    return JW_OK;
}
