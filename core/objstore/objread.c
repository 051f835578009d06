/*
 * Object store reads (ADR-20, objects.md): readers, get, watch and list.
 * A reader pulls an object's chunks from an ephemeral consumer without
 * acks on the object's chunk subject, with pull requests that overlap
 * (jw_consume): the server sends the next chunks while the reader hashes
 * and copies the last ones, and what is in flight stays bounded whatever
 * the object's size (an ordered push consumer may have up to 32 MiB in
 * flight under the server's flow control). The size and digest are
 * checked at the end. Watch and list ride on an ordered consumer over the
 * meta subjects, as KV watch does.
 */
#include "objstore.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a reader's pull requests ask for at a time: a reader holds about
 * twice this (what it hands out and what is on the way); a 256 MiB object
 * read in 64 KiB pieces stays near 10 MB of RSS. */
#define OBS_READ_BYTES (8 << 20)
#define OBS_READ_BATCH_MAX 128

/* How long a reader's pull requests live (their idle heartbeats come
 * every half of it), and how long a reader waits in silence before it
 * asks the server what is left (at most; less when the caller's timeout
 * is shorter). */
enum { OBS_PULL_EXPIRES_MS = 10000, OBS_SILENCE_MS = 5000 };

/* Links are one hop (a link to a link cannot be made); a bound anyway
 * against a loop written by hand. */
enum { MAX_LINK_HOPS = 4 };

/* ---- readers ---- */

struct jw_obs_reader {
    jw_obs *obs; /* referenced: the bucket the chunks are in */
    json_t *info;
    char *info_text;
    char subject[400];
    uint64_t size, chunks;
    uint64_t got_bytes, got_chunks;
    uint64_t last_sseq, expected_cseq;
    jw_consumer *consumer;
    jw_consume *pull;
    jw_msg *batch[OBS_READ_BATCH_MAX];
    int batch_len, batch_at;
    size_t chunk_at; /* bytes of batch[batch_at] already handed out */
    int batch_max;
    EVP_MD_CTX *md;
    jw_status failed; /* sticky: the end's verdict */
    int done;
};

static void reader_stop(jw_obs_reader *r)
{
    jw_consume_free(r->pull);
    r->pull = NULL;
    if (r->consumer) {
        /* An idle consumer also goes on its own (inactive_threshold). */
        if (jw_conn_status_get(r->obs->js->conn) == JW_CONN_CONNECTED)
            jw_js_consumer_delete(r->obs->js, r->obs->stream,
                                  jw_consumer_name(r->consumer));
        jw_consumer_free(r->consumer);
        r->consumer = NULL;
    }
}

static jw_status incomplete(jw_obs_reader *r)
{
    return jw__fail(JW_EPROTOCOL,
                    "object '%s' is incomplete: %llu of %llu chunks read, "
                    "the rest are gone",
                    json_string_value(json_object_get(r->info, "name")),
                    (unsigned long long)r->got_chunks,
                    (unsigned long long)r->chunks);
}

/* A consumer, and its pull requests, for the chunks after last_sseq (at
 * the start: all). Every chunk is stored before the object's meta, so a
 * stream with fewer of them left than the object needs lost them (a purge
 * under the reader): that fails here, without a wait. */
static jw_status reader_consumer(jw_obs_reader *r)
{
    reader_stop(r);
    jw_js *js = r->obs->js;
    json_t *cfg = json_pack(
        "{ss ss ss sb si sI}", "ack_policy", "none", "filter_subject",
        r->subject, "deliver_policy", r->last_sseq ? "by_start_sequence" :
                                                     "all",
        "mem_storage", 1, "num_replicas", 1, "inactive_threshold",
        (json_int_t)(60LL * 1000000000LL / js->unit_ns));
    if (cfg && r->last_sseq)
        json_object_set_new(cfg, "opt_start_seq",
                            json_integer((json_int_t)r->last_sseq + 1));
    char *text = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
    json_decref(cfg);
    if (!text)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    uint64_t pending = 0;
    jw_status st = jw__js_consumer_create_pending(js, r->obs->stream, text,
                                                  &r->consumer, &pending);
    free(text);
    if (st == JW_ESTREAM_NOT_FOUND)
        return jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                        r->obs->bucket);
    if (st)
        return st;
    r->expected_cseq = 1;
    if (pending < r->chunks - r->got_chunks)
        return incomplete(r);
    jw_call_opts *opts = NULL;
    st = jw_call_opts_new("consume", &opts);
    if (st == JW_OK)
        st = jw_call_opts_set_int(opts, "batch", r->batch_max);
    /* Durations are read in the context's unit. */
    if (st == JW_OK)
        st = jw_call_opts_set_double(opts, "expires",
                                     OBS_PULL_EXPIRES_MS * 1e6 /
                                         (double)js->unit_ns);
    if (st == JW_OK)
        st = jw_consumer_consume(r->consumer, opts, &r->pull);
    jw_call_opts_free(opts);
    return st;
}

static void batch_clear(jw_obs_reader *r)
{
    for (int i = r->batch_at; i < r->batch_len; i++)
        jw_msg_free(r->batch[i]);
    r->batch_len = r->batch_at = 0;
    r->chunk_at = 0;
}

/* The chunks held: a gap (a chunk lost on the way, by a reconnect) starts
 * again after the last one taken. Returns 1 when the batch is usable. */
static int batch_in_order(jw_obs_reader *r)
{
    for (int i = 0; i < r->batch_len; i++) {
        jw_js_meta *meta = NULL;
        int ok = jw_msg_metadata(r->batch[i], &meta) == JW_OK &&
                 jw_js_meta_consumer_seq(meta) == r->expected_cseq + i;
        jw_js_meta_free(meta);
        if (!ok) {
            /* Keep the good ones before the gap. */
            for (int k = i; k < r->batch_len; k++)
                jw_msg_free(r->batch[k]);
            r->batch_len = i;
            return 0;
        }
    }
    return 1;
}

/* The next chunks into the batch, waiting up to timeout_ms (< 0: for
 * ever). A silence asks the server again with a new consumer, which also
 * tells whether the chunks left are still there. */
static jw_status fetch_chunks(jw_obs_reader *r, int64_t timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : jw__now_ms() + timeout_ms;
    int asked_again = 0;
    for (;;) {
        /* Half of a round at most: the next pull request goes out while
         * these are handed out (see jw_consume_next). */
        uint64_t left = r->chunks - r->got_chunks;
        int half = r->batch_max / 2;
        int want = left < (uint64_t)half ? (int)left : half;
        int64_t wait = OBS_SILENCE_MS;
        if (deadline >= 0) {
            int64_t rest = deadline - jw__now_ms();
            rest = rest < 0 ? 0 : rest;
            /* Keep half of a short wait for asking again. */
            wait = asked_again ? rest : rest / 2 < wait ? rest / 2 : wait;
        }
        int n = jw_consume_next(r->pull, r->batch, want, wait);
        if (n == JW_ECONSUMER_NOT_FOUND) {
            /* It went idle too long, or was deleted under us. */
            jw_status st = reader_consumer(r);
            if (st)
                return st;
            continue;
        }
        if (n < 0)
            return (jw_status)n;
        if (n == 0) {
            if (deadline >= 0 && asked_again)
                return jw__fail(JW_ETIMEOUT,
                                "no chunk of object '%s' came within %lld ms",
                                json_string_value(
                                    json_object_get(r->info, "name")),
                                (long long)timeout_ms);
            asked_again = 1;
            jw_status st = reader_consumer(r);
            if (st)
                return st;
            continue;
        }
        r->batch_len = n;
        r->batch_at = 0;
        r->chunk_at = 0;
        int whole = batch_in_order(r);
        if (r->batch_len > 0) {
            jw_js_meta *meta = NULL;
            if (jw_msg_metadata(r->batch[r->batch_len - 1], &meta) == JW_OK)
                r->last_sseq = jw_js_meta_stream_seq(meta);
            jw_js_meta_free(meta);
            r->expected_cseq += (uint64_t)r->batch_len;
        }
        if (!whole) {
            /* Again from after the last chunk kept. */
            jw_status st = reader_consumer(r);
            if (st)
                return st;
        }
        if (r->batch_len)
            return JW_OK;
    }
}

/* The end: size and digest against the info. */
static jw_status finish(jw_obs_reader *r)
{
    r->done = 1;
    const char *name = json_string_value(json_object_get(r->info, "name"));
    unsigned char sha[32];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(r->md, sha, &len) != 1)
        return r->failed = jw__fail(JW_EIO, "SHA-256 failed");
    if (r->got_bytes != r->size)
        return r->failed = jw__fail(
                   JW_EPROTOCOL, "object '%s' has %llu bytes, its info says "
                                 "%llu",
                   name, (unsigned long long)r->got_bytes,
                   (unsigned long long)r->size);
    const char *digest =
        json_string_value(json_object_get(r->info, "digest"));
    if ((digest || r->size) && !jw__obs_digest_matches(digest, sha))
        return r->failed = jw__fail(JW_EPROTOCOL,
                                    "object '%s': digest mismatch (the "
                                    "bytes read are not the bytes stored)",
                                    name);
    return JW_OK;
}

jw_status jw_obs_reader_read(jw_obs_reader *r, void *buf, size_t cap,
                             int64_t timeout_ms, size_t *got)
{
    if (got)
        *got = 0;
    if (!r || !got || (cap && !buf))
        return jw__fail(JW_EINVAL, "reader, buf and got must not be NULL");
    if (r->failed)
        return jw__fail(r->failed, "the object's read failed before");
    unsigned char *out = buf;
    while (*got < cap) {
        if (r->batch_at == r->batch_len) {
            batch_clear(r);
            /* Hand out what is here before the end's verdict or a
             * wait. */
            if (r->done || *got)
                break;
            if (r->got_chunks == r->chunks) {
                jw_status st = finish(r);
                if (st)
                    return st;
                break;
            }
            jw_status st = fetch_chunks(r, timeout_ms);
            if (st) {
                if (st != JW_ETIMEOUT)
                    r->failed = st;
                return st;
            }
        }
        jw_msg *m = r->batch[r->batch_at];
        const unsigned char *data = jw_msg_data(m);
        size_t len = jw_msg_data_len(m);
        if (r->chunk_at == 0) {
            EVP_DigestUpdate(r->md, data, len);
            r->got_bytes += len;
        }
        size_t n = len - r->chunk_at;
        if (n > cap - *got)
            n = cap - *got;
        memcpy(out + *got, data + r->chunk_at, n);
        *got += n;
        r->chunk_at += n;
        if (r->chunk_at == len) {
            jw_msg_free(m);
            r->batch[r->batch_at++] = NULL;
            r->chunk_at = 0;
            r->got_chunks++;
        }
    }
    return JW_OK;
}

/* The info of name in obs, following object links (into their bucket:
 * *where is a new reference on it). */
static jw_status resolve(jw_obs *obs, const char *name, json_t **info,
                         jw_obs **where)
{
    *info = NULL;
    *where = NULL;
    jw__obs_ref(obs);
    jw_obs *at = obs;
    json_t *j = NULL;
    jw_status st = JW_OK;
    char *target = strdup(name ? name : "");
    if (!name || !target)
        st = name ? jw__fail(JW_ENO_MEMORY, "out of memory")
                  : jw__fail(JW_EINVAL, "object name is empty");
    for (int hop = 0; st == JW_OK; hop++) {
        st = jw__obs_info(at, target, 0, &j);
        const json_t *link = st ? NULL : jw__obs_link(j);
        if (!link)
            break;
        const char *bucket =
            json_string_value(json_object_get(link, "bucket"));
        const char *to = json_string_value(json_object_get(link, "name"));
        if (!to || !*to) {
            st = jw__fail(JW_EINVAL, "'%s' is a link to the bucket '%s', "
                                     "not to an object",
                          target, bucket ? bucket : "?");
            break;
        }
        if (hop == MAX_LINK_HOPS) {
            st = jw__fail(JW_EINVAL, "'%s': too many links", name);
            break;
        }
        char *next = strdup(to);
        jw_obs *there = NULL;
        if (!bucket || strcmp(bucket, at->bucket) == 0) {
            there = at;
            jw__obs_ref(at);
        } else {
            st = jw_js_obs_get(at->js, bucket, &there);
        }
        json_decref(j);
        j = NULL;
        free(target);
        target = next;
        jw__obs_release(at);
        at = there;
        if (st == JW_OK && !target)
            st = jw__fail(JW_ENO_MEMORY, "out of memory");
        if (st)
            break;
    }
    free(target);
    if (st) {
        json_decref(j);
        if (at)
            jw__obs_release(at);
        return st;
    }
    *info = j;
    *where = at;
    return JW_OK;
}

jw_status jw_obs_open(jw_obs *obs, const char *name, jw_obs_reader **out)
{
    if (out)
        *out = NULL;
    if (!obs || !out)
        return jw__fail(JW_EINVAL, "obs and out must not be NULL");
    json_t *info = NULL;
    jw_obs *where = NULL;
    jw_status st = resolve(obs, name, &info, &where);
    if (st)
        return st;
    jw_obs_reader *r = calloc(1, sizeof(*r));
    if (!r) {
        json_decref(info);
        jw__obs_release(where);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    r->obs = where;
    r->info = info;
    json_int_t size = json_integer_value(json_object_get(info, "size"));
    json_int_t chunks = json_integer_value(json_object_get(info, "chunks"));
    json_int_t chunk_size = json_integer_value(json_object_get(
        json_object_get(info, "options"), "max_chunk_size"));
    r->size = size > 0 ? (uint64_t)size : 0;
    r->chunks = chunks > 0 ? (uint64_t)chunks : 0;
    /* About OBS_READ_BYTES a fetch, 2 to OBS_READ_BATCH_MAX chunks. */
    r->batch_max = chunk_size > 0 ? (int)(OBS_READ_BYTES / chunk_size) : 8;
    r->batch_max = r->batch_max < 2                    ? 2
                   : r->batch_max > OBS_READ_BATCH_MAX ? OBS_READ_BATCH_MAX
                                                       : r->batch_max;
    const char *nuid = json_string_value(json_object_get(info, "nuid"));
    snprintf(r->subject, sizeof r->subject, "$O.%s.C.%s", where->bucket,
             nuid ? nuid : "");
    r->md = EVP_MD_CTX_new();
    if (!r->md || EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1)
        st = jw__fail(JW_ENO_MEMORY, "SHA-256 is not available");
    if (st == JW_OK && !(r->info_text = json_dumps(info, JSON_COMPACT)))
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    if (st == JW_OK && r->chunks && !nuid)
        st = jw__fail(JW_EPROTOCOL, "object '%s' has no nuid", name);
    if (st == JW_OK && r->chunks)
        st = reader_consumer(r);
    if (st) {
        jw_obs_reader_free(r);
        return st;
    }
    *out = r;
    return JW_OK;
}

const char *jw_obs_reader_info(const jw_obs_reader *r)
{
    return r ? r->info_text : NULL;
}

void jw_obs_reader_free(jw_obs_reader *r)
{
    if (!r)
        return;
    batch_clear(r);
    reader_stop(r);
    EVP_MD_CTX_free(r->md);
    json_decref(r->info);
    free(r->info_text);
    jw__obs_release(r->obs);
    free(r);
}

jw_status jw_obs_get(jw_obs *obs, const char *name, void **data, size_t *len,
                     char **info_json)
{
    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (info_json)
        *info_json = NULL;
    if (!obs || !data || !len)
        return jw__fail(JW_EINVAL, "obs, data and len must not be NULL");
    jw_obs_reader *r = NULL;
    jw_status st = jw_obs_open(obs, name, &r);
    if (st)
        return st;
    if (r->size > (uint64_t)SIZE_MAX - 1) {
        jw_obs_reader_free(r);
        return jw__fail(JW_ENO_MEMORY, "object is too large for memory");
    }
    size_t size = (size_t)r->size;
    unsigned char *buf = malloc(size + 1);
    size_t at = 0;
    if (!buf)
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    while (st == JW_OK) {
        size_t got = 0;
        /* One byte of room more than the size: a longer object shows. */
        st = jw_obs_reader_read(r, buf + at, size + 1 - at,
                                obs->js->timeout_ms, &got);
        if (st == JW_OK && got == 0)
            break;
        at += got;
        if (st == JW_OK && at > size)
            st = jw__fail(JW_EPROTOCOL, "object '%s' is longer than its "
                                        "info says",
                          name);
    }
    if (st == JW_OK && info_json)
        st = jw__obs_info_out(r->info, info_json);
    jw_obs_reader_free(r);
    if (st) {
        free(buf);
        if (info_json) {
            jw_free(*info_json);
            *info_json = NULL;
        }
        return st;
    }
    buf[at] = 0;
    *data = buf;
    *len = at;
    return JW_OK;
}

/* ---- watch and list ---- */

enum { W_INCLUDE_HISTORY = 1, W_IGNORE_DELETES = 2, W_UPDATES_ONLY = 4 };

struct jw_obs_watcher {
    jw_obs *obs; /* referenced */
    jw_ordered *oc;
    int flags;
    uint64_t initial, received;
    int marker_due, marker_sent;
};

static jw_status watch(jw_obs *obs, int flags, jw_obs_watcher **out)
{
    *out = NULL;
    if ((flags & W_INCLUDE_HISTORY) && (flags & W_UPDATES_ONLY))
        return jw__fail(JW_EINVAL,
                        "include_history and updates_only exclude each other");
    const char *policy = flags & W_UPDATES_ONLY      ? "new"
                         : flags & W_INCLUDE_HISTORY ? "all"
                                                     : "last_per_subject";
    char filter[300];
    snprintf(filter, sizeof filter, "$O.%s.M.>", obs->bucket);
    json_t *cfg = json_pack("{ss ss}", "deliver_policy", policy,
                            "filter_subject", filter);
    char *text = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
    json_decref(cfg);
    if (!text)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    jw_obs_watcher *w = calloc(1, sizeof(*w));
    if (!w) {
        free(text);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    w->flags = flags;
    jw_status st = jw_js_ordered_consumer(obs->js, obs->stream, text, &w->oc);
    free(text);
    if (st == JW_ESTREAM_NOT_FOUND)
        st = jw__fail(JW_EBUCKET_NOT_FOUND, "bucket '%s' not found",
                      obs->bucket);
    if (st) {
        free(w);
        return st;
    }
    w->obs = obs;
    jw__obs_ref(obs);
    w->initial = flags & W_UPDATES_ONLY ? 0 : jw__ordered_initial(w->oc);
    w->marker_due = w->initial == 0;
    *out = w;
    return JW_OK;
}

jw_status jw_obs_watch(jw_obs *obs, const jw_call_opts *opts,
                       jw_obs_watcher **out)
{
    if (out)
        *out = NULL;
    if (!obs || !out)
        return jw__fail(JW_EINVAL, "obs and out must not be NULL");
    jw_status st = jw__call_opts_use(opts, JW__CALL_WATCH, obs->js);
    if (st)
        return st;
    if (jw__call_opts_has(opts, JW__WATCH_META_ONLY))
        return jw__fail(JW_EINVAL, "meta_only is for KV watches: an object "
                                   "watch gives infos only");
    int flags = 0;
    if (jw__call_opts_int(opts, JW__WATCH_INCLUDE_HISTORY, 0))
        flags |= W_INCLUDE_HISTORY;
    if (jw__call_opts_int(opts, JW__WATCH_IGNORE_DELETES, 0))
        flags |= W_IGNORE_DELETES;
    if (jw__call_opts_int(opts, JW__WATCH_UPDATES_ONLY, 0))
        flags |= W_UPDATES_ONLY;
    return watch(obs, flags, out);
}

/* The info of a delivered meta message (NULL for one that is not). */
static json_t *info_of(const jw_msg *m, const jw_js_meta *meta)
{
    json_t *j = json_loadb(jw_msg_data(m), jw_msg_data_len(m), 0, NULL);
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "name"))) {
        json_decref(j);
        return NULL;
    }
    char when[64];
    jw__time_text(jw_js_meta_timestamp(meta), when, sizeof when);
    json_object_set_new(j, "mtime", json_string(when));
    return j;
}

jw_status jw_obs_watcher_next(jw_obs_watcher *w, int64_t timeout_ms,
                              char **info_json)
{
    if (info_json)
        *info_json = NULL;
    if (!w || !info_json)
        return jw__fail(JW_EINVAL, "watcher and info_json must not be NULL");
    int64_t deadline = timeout_ms < 0 ? -1 : jw__now_ms() + timeout_ms;
    for (;;) {
        if (w->marker_due && !w->marker_sent &&
            jw_conn_status_get(w->obs->js->conn) == JW_CONN_CLOSED)
            return jw__fail(JW_ECONNECTION_CLOSED, "connection is closed");
        if (w->marker_due && !w->marker_sent) {
            w->marker_sent = 1;
            return JW_OK; /* NULL: the initial infos are all out */
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
        json_t *info = st ? NULL : info_of(m, meta);
        uint64_t pending = st ? 0 : jw_js_meta_num_pending(meta);
        jw_js_meta_free(meta);
        jw_msg_free(m);
        if (st) {
            json_decref(info);
            return st;
        }
        if (!w->marker_sent) {
            w->received++;
            if (pending == 0 || w->received >= w->initial)
                w->marker_due = 1;
        }
        if (!info || ((w->flags & W_IGNORE_DELETES) &&
                      json_is_true(json_object_get(info, "deleted")))) {
            json_decref(info);
            continue;
        }
        st = jw__obs_info_out(info, info_json);
        json_decref(info);
        return st;
    }
}

void jw_obs_watcher_free(jw_obs_watcher *w)
{
    if (!w)
        return;
    jw_ordered_free(w->oc);
    jw__obs_release(w->obs);
    free(w);
}

jw_status jw_obs_list(jw_obs *obs, int show_deleted, char **list_json)
{
    if (list_json)
        *list_json = NULL;
    if (!obs || !list_json)
        return jw__fail(JW_EINVAL, "obs and list_json must not be NULL");
    jw_obs_watcher *w = NULL;
    jw_status st = watch(obs, show_deleted ? 0 : W_IGNORE_DELETES, &w);
    json_t *list = json_array();
    while (st == JW_OK) {
        char *text = NULL;
        st = jw_obs_watcher_next(w, obs->js->timeout_ms, &text);
        if (st == JW_OK && !text)
            break;
        if (st == JW_OK)
            json_array_append_new(list, json_loads(text, 0, NULL));
        jw_free(text);
    }
    jw_obs_watcher_free(w);
    if (st == JW_OK && !(*list_json = json_dumps(list, JSON_COMPACT)))
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    json_decref(list);
    return st;
}
