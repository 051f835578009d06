/*
 * Counters (ADR-49, nats-server 2.12): a stream with allow_msg_counter
 * keeps, as the last message of each subject, the subject's total
 * ({"val":"<decimal>"}) after adding the message's Nats-Incr. Totals and
 * deltas are decimal text of any length: the server counts with big
 * integers, and so the engine never turns them into C numbers.
 */
#include "js.h"

#include <stdlib.h>
#include <string.h>

#define V(a, b, c) ((a) * 10000 + (b) * 100 + (c))

/* A delta's length past which it is refused here rather than by the
 * header code (values of up to 4095 bytes). */
#define MAX_DELTA_LEN 4000

/* ^[+-]?[0-9]+$ */
static int is_decimal(const char *text, int sign_ok)
{
    if (sign_ok && (*text == '+' || *text == '-'))
        text++;
    else if (*text == '-')
        text++;
    if (!*text)
        return 0;
    for (; *text; text++)
        if (*text < '0' || *text > '9')
            return 0;
    return 1;
}

jw_status jw_js_counter_add(jw_js *js, const char *subject, const char *delta,
                            const jw_call_opts *opts, char **value)
{
    if (value)
        *value = NULL;
    if (!js || !subject || !delta)
        return jw__fail(JW_EINVAL, "js, subject and delta must not be NULL");
    if (!is_decimal(delta, 1))
        return jw__fail(JW_EINVAL, "counter delta '%s' is not a whole "
                                   "decimal number ([+-]digits)",
                        delta);
    size_t len = strlen(delta);
    if (len > MAX_DELTA_LEN)
        return jw__fail(JW_EINVAL, "counter delta has %zu characters, more "
                                   "than %d",
                        len, MAX_DELTA_LEN);
    jw_status st = jw__js_require(js, V(2, 12, 0), "counters");
    if (st)
        return st;
    /* The header always carries a sign, as ADR-49 writes it. */
    char *incr = malloc(len + 2);
    if (!incr)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    if (*delta == '+' || *delta == '-')
        memcpy(incr, delta, len + 1);
    else {
        incr[0] = '+';
        memcpy(incr + 1, delta, len + 1);
    }
    jw_msg *m = NULL;
    jw_js_pub_ack *ack = NULL;
    st = jw_msg_new(subject, NULL, NULL, 0, &m);
    if (st == JW_OK)
        st = jw_msg_header_set(m, "Nats-Incr", incr);
    free(incr);
    if (st == JW_OK)
        st = jw_js_publish_msg(js, m, opts, &ack);
    jw_msg_free(m);
    if (st)
        return st;
    const char *total = jw_js_pub_ack_value(ack);
    if (!total)
        st = jw__fail(JW_EPROTOCOL, "the PubAck of counter '%s' has no value "
                                    "(stream '%s' stored the message as an "
                                    "ordinary one)",
                      subject, jw_js_pub_ack_stream(ack));
    else if (value && !(*value = strdup(total)))
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    jw_js_pub_ack_free(ack);
    return st;
}

jw_status jw_js_counter_entry(const jw_msg *msg, char **entry_json)
{
    if (entry_json)
        *entry_json = NULL;
    if (!msg || !entry_json)
        return jw__fail(JW_EINVAL, "msg and entry_json must not be NULL");
    const char *subject = jw_msg_subject(msg);
    json_t *body = json_loadb(jw_msg_data(msg), jw_msg_data_len(msg), 0,
                              NULL);
    const char *val = json_string_value(json_object_get(body, "val"));
    if (!val || !is_decimal(val, 0)) {
        json_decref(body);
        return jw__fail(JW_EINVAL, "the message on '%s' is not a counter's "
                                   "(no {\"val\":\"<decimal>\"} body)",
                        subject ? subject : "");
    }
    json_t *entry = json_object();
    json_object_set_new(entry, "subject", json_string(subject ? subject : ""));
    json_object_set_new(entry, "val", json_string(val));
    json_decref(body);
    jw_status st = JW_OK;
    const char *incr = NULL;
    if (jw_msg_header_get(msg, "Nats-Incr", 0, &incr) == JW_OK) {
        /* One spelling however it was written: "5" for "+5" (a client's
         * Nats-Incr has a sign, a sourced one the server wrote has not). */
        json_object_set_new(entry, "incr",
                            json_string(incr + (incr[0] == '+')));
    }
    const char *sources = NULL;
    if (jw_msg_header_get(msg, "Nats-Counter-Sources", 0, &sources) ==
        JW_OK) {
        /* {"<stream>":{"<subject>":"<val>"}} */
        json_t *doc = json_loads(sources, 0, NULL);
        int good = json_is_object(doc);
        const char *stream, *subj;
        json_t *subjects, *v;
        json_object_foreach(doc, stream, subjects)
        {
            if (!json_is_object(subjects))
                good = 0;
            json_object_foreach(subjects, subj, v)
            {
                if (!json_is_string(v) || !is_decimal(json_string_value(v), 0))
                    good = 0;
            }
        }
        if (good)
            json_object_set_new(entry, "sources", doc);
        else {
            json_decref(doc);
            st = jw__fail(JW_EPROTOCOL, "the counter on '%s' has a bad "
                                        "Nats-Counter-Sources header",
                          subject ? subject : "");
        }
    }
    if (st == JW_OK) {
        *entry_json = json_dumps(entry, JSON_COMPACT);
        if (!*entry_json)
            st = jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    json_decref(entry);
    return st;
}

jw_status jw_js_counter_get(jw_js *js, const char *stream, const char *subject,
                            char **entry_json)
{
    if (entry_json)
        *entry_json = NULL;
    if (!js || !stream || !subject || !entry_json)
        return jw__fail(JW_EINVAL, "js, stream, subject and entry_json must "
                                   "not be NULL");
    jw_status st = jw__js_require(js, V(2, 12, 0), "counters");
    if (st)
        return st;
    jw_msg *m = NULL;
    st = jw_js_stream_get_last_msg(js, stream, subject, &m);
    if (st == JW_EJETSTREAM && jw_js_last_err_code() == 10037) {
        /* No message: the counter was never added to (or was purged). */
        jw__fail(JW_EKEY_NOT_FOUND, "no counter '%s' in stream '%s'",
                 subject, stream);
        jw__js_set_err_code(10037);
        return JW_EKEY_NOT_FOUND;
    }
    if (st)
        return st;
    st = jw_js_counter_entry(m, entry_json);
    jw_msg_free(m);
    return st;
}
