/*
 * Connection getters: status, connected URL, the server's INFO and
 * version, limits, statistics.
 */
#include "engine.h"

#include <stdio.h>
#include <string.h>

jw_conn_status jw_conn_status_get(const jw_conn *c)
{
    if (!c)
        return JW_CONN_CLOSED;
    jw_conn *m = (jw_conn *)c;
    pthread_mutex_lock(&m->mu);
    jw_conn_status s = m->status;
    pthread_mutex_unlock(&m->mu);
    return s;
}

int jw_conn_is_connected(const jw_conn *c)
{
    return jw_conn_status_get(c) == JW_CONN_CONNECTED;
}

enum text_field { CONNECTED_URL, SERVER_INFO, SERVER_VERSION };

/* Copy one of the texts the loop thread rewrites when an INFO comes (a
 * current server sends a second one right after the first PONG): the
 * pointer is read under the lock too, never before it. */
static jw_status copy_out(jw_conn *c, enum text_field which, char *buf,
                          size_t size)
{
    if (!c || !buf || !size)
        return jw__fail(JW_EINVAL, "conn and buf must not be NULL");
    pthread_mutex_lock(&c->mu);
    const char *text = which == SERVER_INFO      ? c->info_json
                       : which == SERVER_VERSION ? c->version
                       : c->status == JW_CONN_CONNECTED ? c->url
                                                        : "";
    snprintf(buf, size, "%s", text ? text : "");
    pthread_mutex_unlock(&c->mu);
    return JW_OK;
}

jw_status jw_conn_connected_url(jw_conn *c, char *buf, size_t size)
{
    return copy_out(c, CONNECTED_URL, buf, size);
}

jw_status jw_conn_server_info(jw_conn *c, char *buf, size_t size)
{
    return copy_out(c, SERVER_INFO, buf, size);
}

jw_status jw_conn_server_version(jw_conn *c, char *buf, size_t size)
{
    return copy_out(c, SERVER_VERSION, buf, size);
}

int64_t jw_conn_max_payload(const jw_conn *c)
{
    if (!c)
        return 0;
    jw_conn *m = (jw_conn *)c;
    pthread_mutex_lock(&m->mu);
    int64_t max = m->max_payload;
    pthread_mutex_unlock(&m->mu);
    return max;
}

int jw_conn_jetstream_enabled(const jw_conn *c)
{
    if (!c)
        return 0;
    jw_conn *m = (jw_conn *)c;
    pthread_mutex_lock(&m->mu);
    int enabled = m->jetstream;
    pthread_mutex_unlock(&m->mu);
    return enabled;
}

uint64_t jw_conn_stat(const jw_conn *c, jw_stat which)
{
    if (!c)
        return 0;
    uint64_t value = 0;
    jw_conn *m = (jw_conn *)c;
    pthread_mutex_lock(&m->mu);
    if (which == JW_STAT_OUT_MSGS)
        value = m->out_msgs;
    else if (which == JW_STAT_OUT_BYTES)
        value = m->out_bytes;
    pthread_mutex_unlock(&m->mu);
    switch (which) {
    case JW_STAT_IN_MSGS:
        return atomic_load(&c->in_msgs);
    case JW_STAT_IN_BYTES:
        return atomic_load(&c->in_bytes);
    case JW_STAT_OUT_MSGS:
    case JW_STAT_OUT_BYTES:
        return value;
    case JW_STAT_RECONNECTS:
        return atomic_load(&c->reconnects);
    }
    return 0;
}
