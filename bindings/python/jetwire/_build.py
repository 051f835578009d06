"""cffi builder (API mode): compiles the engine's C sources into the
extension module jetwire._jetwire, so the package needs no installed
libjetwire, only the system libraries the engine links (libevent, msgpack-c,
jansson, OpenSSL)."""
import glob
import os

from cffi import FFI  # type: ignore[import-untyped]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

CDEF = """
typedef int jw_status;
typedef struct jw_opts jw_opts;
typedef struct jw_conn jw_conn;
typedef struct jw_sub jw_sub;
typedef struct jw_msg jw_msg;
typedef struct jw_event jw_event;
typedef struct jw_packer jw_packer;
typedef struct jw_value jw_value;
typedef struct jw_unpacked jw_unpacked;

const char *jw_version(void);
const char *jw_status_name(int status);
const char *jw_strerror(int status);
const char *jw_last_error(void);

int jw_opts_new(jw_opts **out);
void jw_opts_free(jw_opts *opts);
int jw_opts_set_str(jw_opts *opts, const char *name, const char *value);
int jw_opts_set_int(jw_opts *opts, const char *name, int64_t value);
int jw_opts_set_bool(jw_opts *opts, const char *name, int value);

int jw_conn_connect(const char *servers, const jw_opts *opts, jw_conn **out);
int jw_conn_publish_reply(jw_conn *conn, const char *subject,
                          const char *reply, const void *data, size_t len);
int jw_conn_publish_msg(jw_conn *conn, const jw_msg *msg);
int jw_conn_request(jw_conn *conn, const char *subject, const void *data,
                    size_t len, int64_t timeout_ms, jw_msg **reply);
int jw_conn_request_msg(jw_conn *conn, const jw_msg *msg, int64_t timeout_ms,
                        jw_msg **reply);
int jw_conn_request_start(jw_conn *conn, const jw_msg *msg, uint64_t *id);
int jw_conn_request_poll(jw_conn *conn, uint64_t *id, jw_status *status,
                         jw_msg **reply);
int jw_conn_request_cancel(jw_conn *conn, uint64_t id);
int jw_conn_flush(jw_conn *conn, int64_t timeout_ms);
int jw_conn_rtt(jw_conn *conn, int64_t *rtt_us);
int jw_conn_drain(jw_conn *conn, int64_t timeout_ms);
int jw_conn_close(jw_conn *conn);
void jw_conn_free(jw_conn *conn);
int jw_conn_status_get(const jw_conn *conn);
int jw_conn_connected_url(jw_conn *conn, char *buf, size_t size);
int jw_conn_servers(jw_conn *conn, char *buf, size_t size);
int jw_conn_discovered_servers(jw_conn *conn, char *buf, size_t size);
int jw_conn_server_info(jw_conn *conn, char *buf, size_t size);
int64_t jw_conn_max_payload(const jw_conn *conn);
uint64_t jw_conn_stat(const jw_conn *conn, int which);
int jw_conn_new_inbox(jw_conn *conn, char *buf, size_t size);
int jw_conn_fd(const jw_conn *conn);
void jw_conn_fd_reset(jw_conn *conn);
int jw_conn_next_event(jw_conn *conn, int64_t timeout_ms, jw_event **ev);
int jw_event_kind_get(const jw_event *ev);
int jw_event_status(const jw_event *ev);
const char *jw_event_text(const jw_event *ev);
jw_sub *jw_event_sub(const jw_event *ev);
void jw_event_free(jw_event *ev);

int jw_conn_subscribe(jw_conn *conn, const char *subject, const char *queue,
                      jw_sub **out);
int jw_sub_next_batch(jw_sub *sub, jw_msg **msgs, int max, int64_t timeout_ms);
int jw_sub_unsubscribe(jw_sub *sub);
int jw_sub_auto_unsubscribe(jw_sub *sub, uint64_t max);
int jw_sub_drain(jw_sub *sub);
int jw_sub_set_pending_limits(jw_sub *sub, int64_t msgs, int64_t bytes);
int jw_sub_pending(jw_sub *sub, int64_t *msgs, int64_t *bytes);
uint64_t jw_sub_dropped(const jw_sub *sub);
uint64_t jw_sub_delivered(const jw_sub *sub);
int jw_sub_is_valid(const jw_sub *sub);
void jw_sub_free(jw_sub *sub);

int jw_msg_new(const char *subject, const char *reply, const void *data,
               size_t len, jw_msg **out);
int jw_msg_header_add(jw_msg *msg, const char *name, const char *value);
void jw_msg_free(jw_msg *msg);
int jw_msg_header_count(const jw_msg *msg);
int jw_msg_header_at(const jw_msg *msg, int i, const char **name,
                     const char **value);
int jw_msg_status_code(const jw_msg *msg);

int jw_subject_is_valid(const char *subject);

int jw_packer_new(jw_packer **out);
void jw_packer_free(jw_packer *p);
int jw_pack_nil(jw_packer *p);
int jw_pack_bool(jw_packer *p, int value);
int jw_pack_int(jw_packer *p, int64_t value);
int jw_pack_uint(jw_packer *p, uint64_t value);
int jw_pack_double(jw_packer *p, double value);
int jw_pack_str(jw_packer *p, const char *s, size_t len);
int jw_pack_bin(jw_packer *p, const void *data, size_t len);
int jw_pack_array(jw_packer *p, uint32_t count);
int jw_pack_map(jw_packer *p, uint32_t count);
const void *jw_packer_data(const jw_packer *p, size_t *len);
int jw_unpack(const void *data, size_t len, jw_unpacked **out);
const jw_value *jw_unpacked_root(const jw_unpacked *u);
void jw_unpacked_free(jw_unpacked *u);
int jw_value_type_get(const jw_value *v);
int jw_value_bool(const jw_value *v);
int64_t jw_value_int(const jw_value *v);
uint64_t jw_value_uint(const jw_value *v);
double jw_value_double(const jw_value *v);
const char *jw_value_bytes(const jw_value *v, size_t *len);
uint32_t jw_value_count(const jw_value *v);
const jw_value *jw_value_array_at(const jw_value *v, uint32_t i);
const jw_value *jw_value_map_key(const jw_value *v, uint32_t i);
const jw_value *jw_value_map_val(const jw_value *v, uint32_t i);

typedef struct jw_js jw_js;
typedef struct jw_js_pub_opts jw_js_pub_opts;
typedef struct jw_js_pub_ack jw_js_pub_ack;
typedef struct jw_consumer jw_consumer;
typedef struct jw_js_meta jw_js_meta;
typedef struct jw_consume jw_consume;
void jw_free(void *p);
int jw_js_last_err_code(void);
int jw_js_new(jw_conn *conn, jw_js **out);
int jw_js_config_fields(const char *kind, char **fields_json);
int jw_js_set_str(jw_js *js, const char *name, const char *value);
int jw_js_set_int(jw_js *js, const char *name, int64_t value);
void jw_js_free(jw_js *js);
int jw_js_account_info(jw_js *js, char **json);
int jw_js_stream_create(jw_js *js, const char *config_json, char **info_json);
int jw_js_stream_update(jw_js *js, const char *config_json, char **info_json);
int jw_js_stream_create_or_update(jw_js *js, const char *config_json,
                                  char **info_json);
int jw_js_stream_info(jw_js *js, const char *stream, char **info_json);
int jw_js_stream_delete(jw_js *js, const char *stream);
int jw_js_stream_purge(jw_js *js, const char *stream, const char *filter,
                       uint64_t seq, uint64_t keep, uint64_t *purged);
int jw_js_stream_names(jw_js *js, const char *subject, char **names_json);
int jw_js_stream_list(jw_js *js, const char *subject, char **infos_json);
int jw_js_stream_get_msg(jw_js *js, const char *stream, uint64_t seq,
                         jw_msg **msg);
int jw_js_stream_get_last_msg(jw_js *js, const char *stream,
                              const char *subject, jw_msg **msg);
int jw_js_stream_delete_msg(jw_js *js, const char *stream, uint64_t seq,
                            int erase);
int jw_js_pub_opts_new(jw_js_pub_opts **out);
int jw_js_pub_opts_set_str(jw_js_pub_opts *o, const char *name,
                           const char *value);
int jw_js_pub_opts_set_uint(jw_js_pub_opts *o, const char *name,
                            uint64_t value);
int jw_js_pub_opts_set_int(jw_js_pub_opts *o, const char *name,
                           int64_t value);
void jw_js_pub_opts_free(jw_js_pub_opts *o);
int jw_js_publish(jw_js *js, const char *subject, const void *data,
                  size_t len, const jw_js_pub_opts *opts,
                  jw_js_pub_ack **ack);
int jw_js_publish_msg(jw_js *js, const jw_msg *msg, const jw_js_pub_opts *opts,
                      jw_js_pub_ack **ack);
int jw_js_publish_start(jw_js *js, const jw_msg *msg,
                        const jw_js_pub_opts *opts, uint64_t *id);
int jw_js_pub_ack_parse(const jw_msg *reply, jw_js_pub_ack **ack);
const char *jw_js_pub_ack_stream(const jw_js_pub_ack *ack);
const char *jw_js_pub_ack_domain(const jw_js_pub_ack *ack);
uint64_t jw_js_pub_ack_seq(const jw_js_pub_ack *ack);
int jw_js_pub_ack_duplicate(const jw_js_pub_ack *ack);
void jw_js_pub_ack_free(jw_js_pub_ack *ack);
int jw_js_publish_async(jw_js *js, const jw_msg *msg,
                        const jw_js_pub_opts *opts, uint64_t *id);
int jw_js_publish_async_poll(jw_js *js, uint64_t *id, jw_status *status,
                             jw_js_pub_ack **ack);
int jw_js_publish_async_complete(jw_js *js, int64_t timeout_ms);
int64_t jw_js_publish_async_pending(jw_js *js);
int jw_js_consumer_create(jw_js *js, const char *stream,
                          const char *config_json, jw_consumer **out);
int jw_js_consumer_update(jw_js *js, const char *stream,
                          const char *config_json, jw_consumer **out);
int jw_js_consumer_create_or_update(jw_js *js, const char *stream,
                                    const char *config_json,
                                    jw_consumer **out);
int jw_js_consumer_get(jw_js *js, const char *stream, const char *name,
                       jw_consumer **out);
int jw_js_consumer_info(jw_js *js, const char *stream, const char *name,
                        char **info_json);
int jw_js_consumer_delete(jw_js *js, const char *stream, const char *name);
int jw_js_consumer_names(jw_js *js, const char *stream, char **names_json);
int jw_js_consumer_list(jw_js *js, const char *stream, char **infos_json);
const char *jw_consumer_name(const jw_consumer *c);
const char *jw_consumer_stream(const jw_consumer *c);
int jw_consumer_info(jw_consumer *c, char **info_json);
void jw_consumer_free(jw_consumer *c);
int jw_consumer_fetch(jw_consumer *c, jw_msg **msgs, int batch,
                      int64_t timeout_ms, int64_t max_bytes, int no_wait);
int jw_consumer_consume(jw_consumer *c, int batch, int64_t max_bytes,
                        int64_t expires_ms, jw_consume **out);
int jw_consume_next(jw_consume *cc, jw_msg **msgs, int max,
                    int64_t timeout_ms);
int jw_consume_stop(jw_consume *cc);
void jw_consume_free(jw_consume *cc);
typedef struct jw_ordered jw_ordered;
int jw_js_ordered_consumer(jw_js *js, const char *stream,
                           const char *config_json, jw_ordered **out);
int jw_ordered_next(jw_ordered *oc, jw_msg **msgs, int max,
                    int64_t timeout_ms);
void jw_ordered_free(jw_ordered *oc);
int jw_msg_ack(jw_msg *msg);
int jw_msg_ack_sync(jw_msg *msg, int64_t timeout_ms);
int jw_msg_nak(jw_msg *msg);
int jw_msg_nak_delay(jw_msg *msg, int64_t delay_ms);
int jw_msg_term(jw_msg *msg);
int jw_msg_in_progress(jw_msg *msg);
int jw_js_meta_parse(const char *reply, jw_js_meta **out);
const char *jw_js_meta_stream(const jw_js_meta *m);
const char *jw_js_meta_consumer(const jw_js_meta *m);
const char *jw_js_meta_domain(const jw_js_meta *m);
uint64_t jw_js_meta_num_delivered(const jw_js_meta *m);
uint64_t jw_js_meta_stream_seq(const jw_js_meta *m);
uint64_t jw_js_meta_consumer_seq(const jw_js_meta *m);
int64_t jw_js_meta_timestamp(const jw_js_meta *m);
uint64_t jw_js_meta_num_pending(const jw_js_meta *m);
void jw_js_meta_free(jw_js_meta *m);

typedef struct jw_kv jw_kv;
typedef struct jw_kv_entry jw_kv_entry;
typedef struct jw_kv_watcher jw_kv_watcher;
int jw_js_kv_create(jw_js *js, const char *config_json, jw_kv **out);
int jw_js_kv_update(jw_js *js, const char *config_json, jw_kv **out);
int jw_js_kv_create_or_update(jw_js *js, const char *config_json,
                              jw_kv **out);
int jw_js_kv(jw_js *js, const char *bucket, jw_kv **out);
int jw_js_kv_delete(jw_js *js, const char *bucket);
int jw_js_kv_names(jw_js *js, char **names_json);
void jw_kv_free(jw_kv *kv);
const char *jw_kv_bucket(const jw_kv *kv);
int jw_kv_status(jw_kv *kv, char **status_json);
int jw_kv_put(jw_kv *kv, const char *key, const void *value, size_t len,
              uint64_t *revision);
int jw_kv_create(jw_kv *kv, const char *key, const void *value, size_t len,
                 uint64_t *revision);
int jw_kv_update(jw_kv *kv, const char *key, const void *value, size_t len,
                 uint64_t last, uint64_t *revision);
int jw_kv_delete(jw_kv *kv, const char *key, uint64_t last);
int jw_kv_purge(jw_kv *kv, const char *key, uint64_t last);
int jw_kv_purge_deletes(jw_kv *kv, int64_t older_than_ms);
int jw_kv_get(jw_kv *kv, const char *key, jw_kv_entry **out);
int jw_kv_get_revision(jw_kv *kv, const char *key, uint64_t revision,
                       jw_kv_entry **out);
int jw_kv_keys(jw_kv *kv, const char *filter, char **keys_json);
typedef struct jw_kv_lister jw_kv_lister;
int jw_kv_list_keys(jw_kv *kv, const char *filter, jw_kv_lister **out);
int jw_kv_lister_next(jw_kv_lister *l, const char **key);
void jw_kv_lister_free(jw_kv_lister *l);
static const int JW_ENO_RESPONDERS;
static const int JW_ETIMEOUT;
int jw_kv_get_start(jw_kv *kv, const char *key, uint64_t revision,
                    uint64_t *id);
int jw_kv_get_result(jw_kv *kv, const char *key, int status,
                     const jw_msg *reply, jw_kv_entry **out);
int jw_kv_put_start(jw_kv *kv, const char *key, const void *value,
                    size_t len, uint64_t last, uint64_t *id);
int jw_kv_put_result(jw_kv *kv, int status, const jw_msg *reply,
                     uint64_t *revision);
int jw_kv_history(jw_kv *kv, const char *key, jw_kv_entry ***entries,
                  size_t *count);
void jw_kv_entries_free(jw_kv_entry **entries, size_t count);
const char *jw_kv_entry_bucket(const jw_kv_entry *e);
const char *jw_kv_entry_key(const jw_kv_entry *e);
const void *jw_kv_entry_value(const jw_kv_entry *e, size_t *len);
uint64_t jw_kv_entry_revision(const jw_kv_entry *e);
uint64_t jw_kv_entry_delta(const jw_kv_entry *e);
int64_t jw_kv_entry_created(const jw_kv_entry *e);
int jw_kv_entry_operation(const jw_kv_entry *e);
void jw_kv_entry_free(jw_kv_entry *e);
int jw_kv_watch(jw_kv *kv, const char *keys, int flags, jw_kv_watcher **out);
int jw_kv_watch_next(jw_kv_watcher *w, int64_t timeout_ms,
                     jw_kv_entry **entry);
void jw_kv_watcher_free(jw_kv_watcher *w);

/* Defined by the binding (below). */
void jwpy_free(jw_msg **msgs, int n);
long long jwpy_flatten(jw_msg **msgs, int n, int64_t *meta, char *buf,
                       size_t cap);
int jw_conn_respond(jw_conn *conn, const char *reply, const void *data,
                    size_t len);
int jwpy_request_start(jw_conn *conn, const char *subject, const char *data,
                       size_t len, uint64_t *id);
int jwpy_watch_take(jw_kv_watcher *w, int64_t timeout_ms, int max,
                    jw_kv_entry **held, int64_t *meta, char *buf, size_t cap,
                    size_t *used, int *status);
int jw_conn_publish(jw_conn *conn, const char *subject, const void *data,
                    size_t len);
"""

SOURCE = r"""
#include "jetwire.h"
#include <string.h>

/* jw_conn_request_start for a request without headers: the message is
 * made and freed here, not by three calls from Python. */
static int jwpy_request_start(jw_conn *conn, const char *subject,
                              const char *data, size_t len, uint64_t *id)
{
    jw_msg *msg = NULL;
    int st = jw_msg_new(subject, NULL, data, len, &msg);
    if (st == JW_OK)
        st = jw_conn_request_start(conn, msg, id);
    jw_msg_free(msg);
    return st;
}

/* A batch as two flat arrays Python converts in one step each: the
 * subject, reply and data bytes of the messages one after the other in buf,
 * and per message JWPY_META integers in meta, the offsets in buf where
 * each part ends (it begins where the one before ended): subject end,
 * reply end (-1: no reply), data end, and 1 when the message has headers
 * (Python asks for them and the status then), else 0. A subject equal to
 * the previous message's is not copied again: its end is -1 and Python
 * keeps the string it made for that one. Few integers, most of them
 * offsets: each costs Python an object. Returns the bytes used, or minus
 * the bytes needed when cap is too small (nothing is written then). */
#define JWPY_META 4

static long long jwpy_flatten(jw_msg **msgs, int n, int64_t *meta, char *buf,
                              size_t cap)
{
    size_t need = 0;
    for (int i = 0; i < n; i++) {
        const char *reply = jw_msg_reply(msgs[i]);
        need += strlen(jw_msg_subject(msgs[i])) + (reply ? strlen(reply) : 0)
                + jw_msg_data_len(msgs[i]);
    }
    if (need > cap)
        return -(long long)need;
    size_t pos = 0;
    const char *last = NULL;
    for (int i = 0; i < n; i++, meta += JWPY_META) {
        const char *subject = jw_msg_subject(msgs[i]);
        const char *reply = jw_msg_reply(msgs[i]);
        size_t dl = jw_msg_data_len(msgs[i]);
        meta[0] = -1;
        if (!last || strcmp(subject, last) != 0) {
            size_t sl = strlen(subject);
            memcpy(buf + pos, subject, sl);
            pos += sl;
            meta[0] = (int64_t)pos;
            last = subject;
        }
        meta[1] = -1;
        if (reply) {
            size_t rl = strlen(reply);
            memcpy(buf + pos, reply, rl);
            pos += rl;
            meta[1] = (int64_t)pos;
        }
        if (dl) {
            memcpy(buf + pos, jw_msg_data(msgs[i]), dl);
            pos += dl;
        }
        meta[2] = (int64_t)pos;
        meta[3] = jw_msg_headers_raw(msgs[i], NULL) != NULL;
    }
    return (long long)pos;
}

/* Up to max watch items in one call, flat as in jwpy_flatten: per item six
 * integers in meta (key length, or -1 for the end-of-initial-values
 * marker; value length; revision; created; delta; operation) and each key
 * and value one after the other in buf (*used bytes). Only the first item
 * may wait (timeout_ms). An entry too large for what is left of buf waits
 * in *held for the next call; when it is first, the count is 0 and *used
 * says how many bytes it needs. *status is JW_OK, JW_ETIMEOUT when nothing
 * came, or the error that ended the batch (after the items returned). */
static int jwpy_watch_take(jw_kv_watcher *w, int64_t timeout_ms, int max,
                           jw_kv_entry **held, int64_t *meta, char *buf,
                           size_t cap, size_t *used, int *status)
{
    int n = 0;
    size_t pos = 0;
    *status = JW_OK;
    while (n < max) {
        jw_kv_entry *e = *held;
        *held = NULL;
        if (!e) {
            int st = jw_kv_watch_next(w, n ? 0 : timeout_ms, &e);
            if (st) {
                if (!(st == JW_ETIMEOUT && n))
                    *status = st;
                break;
            }
        }
        int64_t *m = meta + 6 * n;
        if (!e) {
            m[0] = -1;
            m[1] = m[2] = m[3] = m[4] = m[5] = 0;
            n++;
            continue;
        }
        const char *key = jw_kv_entry_key(e);
        size_t kl = strlen(key), vl = 0;
        const void *value = jw_kv_entry_value(e, &vl);
        if (kl + vl > cap - pos) {
            *held = e;
            if (!n)
                pos = kl + vl;
            break;
        }
        memcpy(buf + pos, key, kl);
        if (vl)
            memcpy(buf + pos + kl, value, vl);
        pos += kl + vl;
        m[0] = (int64_t)kl;
        m[1] = (int64_t)vl;
        m[2] = (int64_t)jw_kv_entry_revision(e);
        m[3] = jw_kv_entry_created(e);
        m[4] = (int64_t)jw_kv_entry_delta(e);
        m[5] = jw_kv_entry_operation(e);
        jw_kv_entry_free(e);
        n++;
    }
    *used = pos;
    return n;
}

static void jwpy_free(jw_msg **msgs, int n)
{
    for (int i = 0; i < n; i++)
        jw_msg_free(msgs[i]);
}
"""


def _sources() -> list:  # type: ignore[type-arg]
    sources = sorted(glob.glob(os.path.join(ROOT, "core", "*.c")))
    if not sources:
        raise RuntimeError("engine sources not found under %s" % ROOT)
    # setuptools wants paths relative to setup.py's folder (the cwd).
    return [os.path.relpath(s, ROOT) for s in sources]


ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "jetwire._jetwire",
    SOURCE,
    sources=_sources(),
    include_dirs=[os.path.join(ROOT, "include"), os.path.join(ROOT, "core")],
    define_macros=[("_GNU_SOURCE", None), ("JW_BUILDING_LIBRARY", None)],
    extra_compile_args=["-std=c11", "-O2", "-fvisibility=hidden"],
    libraries=["event_core", "event_pthreads", "msgpackc", "jansson", "ssl",
               "crypto", "pthread"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
