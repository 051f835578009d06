/*
 * Publishing: checks on the calling thread (subject, max_payload,
 * back-pressure), then the PUB/HPUB frame appended to the connection's
 * `out` under its lock; the loop writes it (conn.c), or, for a frame a
 * round trip waits on, the calling thread when the loop is idle
 * (jw__conn_send_now).
 */
#include "engine.h"
#include "subject.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Larger backlogs are the loop's: a caller would copy and block on them. */
#define JW__DIRECT_MAX (64 * 1024)

void jw__conn_send_now(jw_conn *c)
{
    if (!c->direct_ok || c->wbuf_busy || c->out.len > JW__DIRECT_MAX) {
        jw__conn_schedule_write(c);
        return;
    }
    ssize_t n;
    do
        n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        /* A full socket or an error: the loop writes and sees the error. */
        jw__conn_schedule_write(c);
        return;
    }
    c->out_pings = 0;
    if (c->out_waiters) /* publishers held back by max_pending_out */
        pthread_cond_broadcast(&c->cond);
    if ((size_t)n == c->out.len) {
        c->out.len = 0;
        return;
    }
    /* The rest of a frame must never open the next socket's stream: it
     * becomes the loop's, as if its own write had been cut short (wbuf is
     * empty while wbuf_busy is 0, and close_socket drops it). */
    jw__buf tmp = c->wbuf;
    c->wbuf = c->out;
    c->out = tmp;
    c->wpos = (size_t)n;
    c->wbuf_busy = 1;
    jw__conn_schedule_write(c);
}

jw_status jw__conn_queue_pub(jw_conn *c, const char *subject,
                             size_t subject_len, const char *reply,
                             size_t reply_len, const char *hdr,
                             size_t hdr_len, const void *data, size_t len,
                             int now)
{
    size_t need = subject_len + reply_len + hdr_len + len + 64;
    /* While there is no socket the buffer is bounded by reconnect_buf_size:
     * past it the publish fails and what is buffered stays. */
    if (c->status == JW_CONN_RECONNECTING &&
        (c->opts.reconnect_buf_size <= 0 ||
         c->out.len + need > (uint64_t)c->opts.reconnect_buf_size))
        return jw__fail(JW_ENOT_CONNECTED,
                        "reconnecting and the reconnect buffer is full "
                        "(%zu of %lld bytes used, reconnect_buf_size)",
                        c->out.len, (long long)c->opts.reconnect_buf_size);
    if (jw__buf_reserve(&c->out, need))
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    jw__buf *b = &c->out;
    char *p = b->data + b->len;
    if (hdr_len) {
        memcpy(p, "HPUB ", 5);
        p += 5;
    } else {
        memcpy(p, "PUB ", 4);
        p += 4;
    }
    memcpy(p, subject, subject_len);
    p += subject_len;
    *p++ = ' ';
    if (reply_len) {
        memcpy(p, reply, reply_len);
        p += reply_len;
        *p++ = ' ';
    }
    if (hdr_len) {
        p += jw__u64_to_dec(p, hdr_len);
        *p++ = ' ';
    }
    p += jw__u64_to_dec(p, hdr_len + len);
    *p++ = '\r';
    *p++ = '\n';
    if (hdr_len) {
        memcpy(p, hdr, hdr_len);
        p += hdr_len;
    }
    if (len) {
        memcpy(p, data, len);
        p += len;
    }
    *p++ = '\r';
    *p++ = '\n';
    b->len = (size_t)(p - b->data);
    c->out_msgs++;
    c->out_bytes += hdr_len + len;
    if (now == JW__SEND_NOW)
        jw__conn_send_now(c);
    else if (now == JW__SEND_LAZY)
        jw__conn_schedule_lazy(c);
    else
        jw__conn_schedule_write(c);
    return JW_OK;
}

jw_status jw__conn_publish(jw_conn *c, const char *subject, const char *reply,
                           const char *hdr, size_t hdr_len, const void *data,
                           size_t len, int now)
{
    if (!c)
        return jw__fail(JW_EINVAL, "conn is NULL");
    if (!subject)
        return jw__fail(JW_EINVALID_SUBJECT, "subject is NULL");
    if (len && !data)
        return jw__fail(JW_EINVAL, "data is NULL but len is %zu", len);
    size_t subject_len = strlen(subject);
    size_t reply_len = reply ? strlen(reply) : 0;
    jw_status st = jw__subject_check(subject, subject_len, 0);
    if (st)
        return st;
    if (reply_len && (st = jw__subject_check(reply, reply_len, 0)))
        return st;
    pthread_mutex_lock(&c->mu);
    st = jw__conn_check_open(c, 1);
    if (st == JW_OK && c->max_payload > 0 &&
        hdr_len + len > (uint64_t)c->max_payload)
        st = jw__fail(JW_EMAX_PAYLOAD,
                      "message of %zu bytes exceeds the server's "
                      "max_payload of %lld",
                      hdr_len + len, (long long)c->max_payload);
    /* Back-pressure: past max_pending_out the publisher waits for the
     * socket, so memory stays bounded. The loop thread never waits. */
    while (st == JW_OK && c->status != JW_CONN_RECONNECTING &&
           c->out.len >= (size_t)c->opts.max_pending_out &&
           !jw__loop_in_callback()) {
        c->out_waiters++;
        jw__loop_wait(c->loop, &c->cond, &c->mu, jw__deadline(100));
        c->out_waiters--;
        st = jw__conn_check_open(c, 1);
    }
    if (st == JW_OK)
        st = jw__conn_queue_pub(c, subject, subject_len, reply, reply_len,
                                hdr, hdr_len, data, len, now);
    pthread_mutex_unlock(&c->mu);
    return st;
}

jw_status jw_conn_publish(jw_conn *c, const char *subject, const void *data,
                          size_t len)
{
    return jw__conn_publish(c, subject, NULL, NULL, 0, data, len, 0);
}

jw_status jw_conn_respond(jw_conn *c, const char *reply, const void *data,
                          size_t len)
{
    return jw__conn_publish(c, reply, NULL, NULL, 0, data, len, 1);
}

jw_status jw_conn_publish_reply(jw_conn *c, const char *subject,
                                const char *reply, const void *data,
                                size_t len)
{
    return jw__conn_publish(c, subject, reply, NULL, 0, data, len, 0);
}
