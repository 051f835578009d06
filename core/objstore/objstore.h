/*
 * The object store's internals (ADR-20), shared by objstore.c (buckets,
 * put, info, delete, meta, links) and objread.c (get, readers, watch,
 * list).
 */
#ifndef JW_OBJSTORE_H
#define JW_OBJSTORE_H

#include "js.h"

#define OBS_DEFAULT_CHUNK (128 * 1024)
#define OBS_NAME_MAX 1024

struct jw_obs {
    atomic_int refs; /* the user's and each reader's and watcher's */
    jw_js *js;       /* referenced */
    char *bucket;
    char stream[300]; /* OBJ_<bucket> */
};

/* A bucket name: letters, digits, '_' and '-'. */
jw_status jw__obs_check_bucket(const char *bucket);
/* A new handle on bucket (no server call). */
jw_status jw__obs_new(jw_js *js, const char *bucket, jw_obs **out);
/* Take or drop a reference to the bucket. */
void jw__obs_ref(jw_obs *obs);
void jw__obs_release(jw_obs *obs);
/* $O.<bucket>.M.<base64url(name)> (malloc'd), or NULL for a bad name
 * (jw_last_error set). */
char *jw__obs_meta_subject(const jw_obs *obs, const char *name);
/* The stored info of name (a new object, "mtime" set from the server's
 * time). A deleted object is JW_EKEY_NOT_FOUND unless show_deleted. */
jw_status jw__obs_info(jw_obs *obs, const char *name, int show_deleted,
                       json_t **info);
/* The link an info holds (NULL: not a link). */
const json_t *jw__obs_link(const json_t *info);
/* Standard base64 with the URL alphabet and padding, as nats.go writes
 * names and digests (malloc'd). */
char *jw__obs_b64url(const unsigned char *data, size_t len);
/* The digest text of an info against a SHA-256 (32 bytes): 1 when they
 * match. */
int jw__obs_digest_matches(const char *digest, const unsigned char *sha);
/* Dump info for the user (jw_free), or JW_ENO_MEMORY. */
jw_status jw__obs_info_out(const json_t *info, char **out);

#endif
