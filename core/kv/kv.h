/*
 * The Key-Value store's internals, shared by the files of core/kv.
 */
#ifndef JW_KV_H
#define JW_KV_H

#include "js.h"

#define KV_MAX_HISTORY 64
/* A subject is $KV.<bucket>.<key>: bounded by the subject limits. */
#define KV_SUBJECT_MAX 512

struct jw_kv {
    atomic_int refs; /* the user's and each watcher's */
    jw_js *js;       /* referenced */
    char *bucket;
    char stream[300];  /* KV_<bucket> */
    char prefix[300];  /* $KV.<bucket>. (a mirror's: $KV.<origin>.) */
    size_t prefix_len;
    /* Where writes go: prefix, or for a mirror the origin's subjects
     * (behind the origin's API prefix when it is in another domain). */
    char put_prefix[600];
};

struct jw_kv_entry {
    char *bucket, *key;
    char *value;
    size_t len;
    uint64_t revision, delta;
    int64_t created_ns;
    jw_kv_op op;
};

struct jw_kv_watcher {
    jw_kv *kv; /* referenced */
    jw_ordered *oc;
    int flags;
    uint64_t initial, received;
    int marker_due, marker_sent;
};

/* A key, or with wildcards a watch/keys filter ('*' tokens, a final '>'). */
jw_status jw__kv_check_key(const char *key, int wildcards);
/* Drop a reference to the bucket (watchers hold one). */
void jw__kv_release(jw_kv *kv);
/* $KV.<bucket>.<key> into buf. */
jw_status jw__kv_subject_of(const jw_kv *kv, const char *key, char *buf,
                            size_t size);
/* The subject a write of key goes to (the origin's for a mirror). */
jw_status jw__kv_put_subject(const jw_kv *kv, const char *key, char *buf,
                             size_t size);
/* Every stored entry of key up to a revision or a time (opts), oldest
 * first, with a run of direct gets on its subject (kvbatch.c; 2.11):
 * jw_kv_history's path when it is given options. */
jw_status jw__kv_history_up_to(jw_kv *kv, const char *key,
                               const jw_call_opts *opts,
                               jw_kv_entry ***entries, size_t *count);
/* RFC 3339 with nanoseconds ("2026-11-28T14:28:38.123456789Z") to ns. */
int64_t jw__kv_parse_time(const char *s);
/* An entry of key holding m's data and its operation (put, delete, purge
 * or a limit marker); revision and time are the caller's to fill. */
jw_status jw__kv_entry_new(const jw_kv *kv, const char *key, const jw_msg *m,
                           jw_kv_entry **out);

#endif
