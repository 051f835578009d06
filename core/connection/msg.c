/* Messages: received ones live in one allocation; built ones own their
 * parts. Headers are parsed on first access. */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

jw_msg *jw__msg_from_event(const jw__proto_event *ev, jw_conn *conn)
{
    size_t size = sizeof(jw_msg) + ev->subject_len + 1 +
                  (ev->reply ? ev->reply_len + 1 : 0) + ev->hdr_len +
                  ev->data_len + 1;
    jw_msg *m = malloc(size);
    if (!m)
        return NULL;
    memset(m, 0, sizeof(*m));
    m->kind = JW__MSG_RECEIVED;
    m->memory = jw__heap_size(size);
    char *p = (char *)(m + 1);
    memcpy(p, ev->subject, ev->subject_len);
    p[ev->subject_len] = 0;
    m->subject = p;
    p += ev->subject_len + 1;
    if (ev->reply) {
        memcpy(p, ev->reply, ev->reply_len);
        p[ev->reply_len] = 0;
        m->reply = p;
        p += ev->reply_len + 1;
        /* Only a message that can be answered needs its connection. */
        m->conn = conn;
        jw__conn_ref(conn);
    }
    if (ev->hdr_len) {
        memcpy(p, ev->hdr, ev->hdr_len);
        m->hdr = p;
        m->hdr_len = ev->hdr_len;
        p += ev->hdr_len;
    }
    if (ev->data_len)
        memcpy(p, ev->data, ev->data_len);
    p[ev->data_len] = 0; /* a terminator beyond the data, for convenience */
    m->data = p;
    m->data_len = ev->data_len;
    return m;
}

jw_status jw_msg_new(const char *subject, const char *reply, const void *data,
                     size_t len, jw_msg **out)
{
    if (!out)
        return jw__fail(JW_EINVAL, "out is NULL");
    *out = NULL;
    if (!subject)
        return jw__fail(JW_EINVALID_SUBJECT, "subject is NULL");
    if (len && !data)
        return jw__fail(JW_EINVAL, "data is NULL but len is %zu", len);
    jw_msg *m = calloc(1, sizeof(*m));
    char *s = strdup(subject);
    char *r = reply ? strdup(reply) : NULL;
    char *d = malloc(len + 1);
    if (!m || !s || (reply && !r) || !d) {
        free(m);
        free(s);
        free(r);
        free(d);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    if (len)
        memcpy(d, data, len);
    d[len] = 0;
    m->kind = JW__MSG_BUILT;
    m->subject = s;
    m->reply = r;
    m->data = d;
    m->data_len = len;
    *out = m;
    return JW_OK;
}

static void drop_index(jw_msg *m)
{
    free(m->index);
    m->index = NULL;
}

void jw_msg_free(jw_msg *m)
{
    if (!m)
        return;
    drop_index(m);
    if (m->kind == JW__MSG_BUILT) {
        free((char *)m->subject);
        free((char *)m->reply);
        free((char *)m->data);
        jw__hdr_free(&m->build);
    }
    jw_conn *conn = m->conn;
    free(m);
    if (conn)
        jw__conn_release(conn);
}

static jw_status check_built(jw_msg *m, const char *name, const char *value)
{
    if (!m || !name || !value)
        return jw__fail(JW_EINVAL, "msg, name and value must not be NULL");
    if (m->kind != JW__MSG_BUILT)
        return jw__fail(JW_EINVAL, "a received message is read-only");
    return JW_OK;
}

jw_status jw_msg_header_add(jw_msg *m, const char *name, const char *value)
{
    jw_status st = check_built(m, name, value);
    if (st)
        return st;
    drop_index(m);
    return jw__hdr_add(&m->build, name, value);
}

jw_status jw_msg_header_set(jw_msg *m, const char *name, const char *value)
{
    jw_status st = check_built(m, name, value);
    if (st)
        return st;
    drop_index(m);
    jw__hdr_remove(&m->build, name);
    return jw__hdr_add(&m->build, name, value);
}

const char *jw_msg_headers_raw(const jw_msg *m, size_t *len)
{
    size_t n = 0;
    const char *block = NULL;
    if (m && m->kind == JW__MSG_RECEIVED && m->hdr_len) {
        block = m->hdr;
        n = m->hdr_len;
    } else if (m && m->kind == JW__MSG_BUILT && m->build.len) {
        /* The builder leaves room for the closing blank line. */
        jw__hdr_builder *b = (jw__hdr_builder *)&m->build;
        if (b->cap < b->len + 2) {
            char *grown = realloc(b->buf, b->len + 2);
            if (!grown)
                goto done;
            b->buf = grown;
            b->cap = b->len + 2;
        }
        memcpy(b->buf + b->len, "\r\n", 2);
        block = b->buf;
        n = b->len + 2;
    }
done:
    if (len)
        *len = n;
    return block;
}

/* Build the header index: names and values copied NUL-terminated into one
 * allocation after the pointer arrays. */
static jw__hdr_index *index_of(const jw_msg *cm)
{
    jw_msg *m = (jw_msg *)cm;
    if (m->index)
        return m->index;
    size_t len;
    const char *block = jw_msg_headers_raw(m, &len);
    jw__hdr_line line;
    size_t pos = 0, bytes = 0;
    int count = 0;
    if (block)
        while (jw__hdr_next(block, len, &pos, &line) == 1) {
            count++;
            bytes += line.name_len + line.value_len + 2;
        }
    size_t arrays = 2 * (size_t)count * sizeof(char *);
    jw__hdr_index *ix = malloc(sizeof(*ix) + arrays + bytes);
    if (!ix)
        return NULL;
    ix->count = count;
    ix->names = (const char **)(ix + 1);
    ix->values = ix->names + count;
    char *p = (char *)(ix->values + count);
    pos = 0;
    for (int i = 0; i < count; i++) {
        jw__hdr_next(block, len, &pos, &line);
        memcpy(p, line.name, line.name_len);
        p[line.name_len] = 0;
        ix->names[i] = p;
        p += line.name_len + 1;
        memcpy(p, line.value, line.value_len);
        p[line.value_len] = 0;
        ix->values[i] = p;
        p += line.value_len + 1;
    }
    m->index = ix;
    return ix;
}

jw_status jw_msg_header_get(const jw_msg *m, const char *name, int idx,
                            const char **value)
{
    if (value)
        *value = NULL;
    if (!m || !name || !value || idx < 0)
        return jw__fail(JW_EINVAL, "msg, name and value must be set");
    jw__hdr_index *ix = index_of(m);
    if (!ix)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    for (int i = 0; i < ix->count; i++)
        if (strcmp(ix->names[i], name) == 0 && idx-- == 0) {
            *value = ix->values[i];
            return JW_OK;
        }
    return jw__fail(JW_EINVAL, "no header '%s'", name);
}

int jw_msg_header_count(const jw_msg *m)
{
    jw__hdr_index *ix = m ? index_of(m) : NULL;
    return ix ? ix->count : 0;
}

jw_status jw_msg_header_at(const jw_msg *m, int i, const char **name,
                           const char **value)
{
    if (!m || !name || !value)
        return jw__fail(JW_EINVAL, "msg, name and value must be set");
    jw__hdr_index *ix = index_of(m);
    if (!ix || i < 0 || i >= ix->count)
        return jw__fail(JW_EINVAL, "no header line %d", i);
    *name = ix->names[i];
    *value = ix->values[i];
    return JW_OK;
}

int jw_msg_status_code(const jw_msg *m)
{
    size_t len;
    const char *block = jw_msg_headers_raw(m, &len);
    int status = 0;
    const char *desc;
    size_t desc_len;
    if (block && jw__hdr_status(block, len, &status, &desc, &desc_len))
        return 0;
    return status;
}

const char *jw_msg_subject(const jw_msg *m)
{
    return m ? m->subject : NULL;
}

const char *jw_msg_reply(const jw_msg *m)
{
    return m ? m->reply : NULL;
}

const void *jw_msg_data(const jw_msg *m)
{
    return m ? (const void *)m->data : (const void *)"";
}

size_t jw_msg_data_len(const jw_msg *m)
{
    return m ? m->data_len : 0;
}

jw_status jw_msg_respond(const jw_msg *m, const void *data, size_t len)
{
    if (!m)
        return jw__fail(JW_EINVAL, "msg is NULL");
    if (!m->reply || !m->conn)
        return jw__fail(JW_EINVAL, "message has no reply subject");
    return jw__conn_publish(m->conn, m->reply, NULL, NULL, 0, data, len, 1);
}

jw_status jw_conn_publish_msg(jw_conn *c, const jw_msg *m)
{
    if (!m)
        return jw__fail(JW_EINVAL, "msg is NULL");
    size_t hdr_len;
    const char *hdr = jw_msg_headers_raw(m, &hdr_len);
    return jw__conn_publish(c, m->subject, m->reply, hdr, hdr_len, m->data,
                            m->data_len, 0);
}
