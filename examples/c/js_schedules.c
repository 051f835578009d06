/*
 * js_schedules: messages the stream publishes later (ADR-51, nats-server
 * 2.12), and a consumer reset (nats-server 2.14).
 *
 * A reminder is scheduled one second ahead, a heartbeat every second;
 * the heartbeat is stopped by purging its schedule's subject. The
 * consumer that read them is then reset to the reminder's sequence and
 * reads it again, without being deleted.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_js_schedules
 */
#include "example.h"

static const char *const stream_config =
    "{\"name\":\"REMINDERS\",\"subjects\":[\"reminders.>\","
    "\"schedules.>\"],\"storage\":\"memory\",\"allow_msg_schedules\":true}";

static jw_consumer *cons;

static jw_status print_one(jw_msg *msg)
{
    jw_js_meta *meta = NULL;
    jw_status st = jw_msg_metadata(msg, &meta);
    if (st != JW_OK)
        return st;
    printf("  %s #%llu: %.*s\n", jw_msg_subject(msg),
           (unsigned long long)jw_js_meta_stream_seq(meta),
           (int)jw_msg_data_len(msg), (const char *)jw_msg_data(msg));
    jw_js_meta_free(meta);
    return jw_msg_ack(msg);
}

/* Publish a schedule: body to be published to target as options say. */
static jw_status schedule(jw_js *js, const char *subject, const char *body,
                          const char *option, const char *text, int64_t ms)
{
    jw_call_opts *o = NULL;
    jw_status st = jw_call_opts_new("publish", &o);
    if (st == JW_OK)
        st = text ? jw_call_opts_set_str(o, option, text)
                  : jw_call_opts_set_int(o, option, ms);
    if (st == JW_OK)
        st = jw_call_opts_set_str(o, "schedule_target", "reminders.due");
    if (st == JW_OK)
        st = jw_js_publish(js, subject, body, strlen(body), o, NULL);
    jw_call_opts_free(o);
    return st;
}

int main(void)
{
    example_name = "js_schedules";
    int rc = 1;
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    char *info = NULL;

    if (!connect_jetstream(NULL, &nc, &js))
        goto out;
    jw_js_stream_delete(js, "REMINDERS");
    jw_status st = jw_js_stream_create(js, stream_config, NULL);
    if (st == JW_OK)
        st = jw_js_consumer_create(js, "REMINDERS",
                                   "{\"durable_name\":\"reader\","
                                   "\"filter_subject\":\"reminders.>\"}",
                                   &cons);
    if (st != JW_OK) {
        report("create stream and consumer", st);
        goto out;
    }

    /* In one second: "@at <RFC 3339 time>", UTC. */
    char when[32];
    time_t at = time(NULL) + 1;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&at));
    if ((st = schedule(js, "schedules.call", "call the bank", "schedule_at",
                       when, 0)) != JW_OK) {
        report("schedule at", st);
        goto out;
    }
    printf("Reminder scheduled at %s\n", when);
    if (fetch_each(cons, 1, 5000, print_one) != 1)
        goto out;

    /* Every second (a duration: milliseconds in C), until purged. */
    if ((st = schedule(js, "schedules.heartbeat", "still here",
                       "schedule_every", NULL, 1000)) != JW_OK) {
        report("schedule every", st);
        goto out;
    }
    printf("Heartbeat every second:\n");
    for (int got = 0; got < 2;) {
        int n = fetch_each(cons, 2 - got, 5000, print_one);
        if (n <= 0)
            goto out;
        got += n;
    }
    uint64_t purged = 0;
    if ((st = jw_js_stream_purge(js, "REMINDERS", "schedules.heartbeat", 0,
                                 0, &purged)) != JW_OK) {
        report("purge", st);
        goto out;
    }
    printf("Heartbeat stopped (its schedule purged)\n");

    /* Reset (2.14): read from the first reminder again, same consumer. */
    st = jw_js_consumer_reset(js, "REMINDERS", "reader", 1, &info);
    if (st == JW_ENOT_SUPPORTED) {
        printf("Consumer reset: %s\n", jw_last_error());
    } else if (st != JW_OK) {
        report("consumer reset", st);
        goto out;
    } else {
        printf("Consumer reset to sequence 1, reading again:\n");
        if (fetch_each(cons, 1, 5000, print_one) != 1)
            goto out;
    }
    rc = 0;
out:
    jw_free(info);
    jw_consumer_free(cons);
    jw_js_free(js);
    jw_conn_free(nc);
    return rc;
}
