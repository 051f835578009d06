/* JetStream pieces that need no server: ack-subject metadata, config
 * checks and conversion (jetstream.md 1.2, 4.1, 5, 8.1). */
#include "jetwire.h"
#include "js.h"
#include "test.h"

#include <stdlib.h>

TEST(js_meta_v1)
{
    jw_js_meta *m = NULL;
    CHECK_EQ_INT(jw_js_meta_parse("$JS.ACK.ORDERS.order-processor.2.17.5."
                                  "1673352000123456789.3",
                                  &m),
                 JW_OK);
    CHECK_STR(jw_js_meta_stream(m), "ORDERS");
    CHECK_STR(jw_js_meta_consumer(m), "order-processor");
    CHECK_STR(jw_js_meta_domain(m), "");
    CHECK_EQ_INT(jw_js_meta_num_delivered(m), 2);
    CHECK_EQ_INT(jw_js_meta_stream_seq(m), 17);
    CHECK_EQ_INT(jw_js_meta_consumer_seq(m), 5);
    CHECK_EQ_INT(jw_js_meta_timestamp(m), 1673352000123456789LL);
    CHECK_EQ_INT(jw_js_meta_num_pending(m), 3);
    jw_js_meta_free(m);
    return 0;
}

TEST(js_meta_v2)
{
    jw_js_meta *m = NULL;
    CHECK_EQ_INT(jw_js_meta_parse("$JS.ACK.hub.ACCHASH.S.C.1.2.3.4.5", &m),
                 JW_OK);
    CHECK_STR(jw_js_meta_domain(m), "hub");
    CHECK_STR(jw_js_meta_stream(m), "S");
    CHECK_STR(jw_js_meta_consumer(m), "C");
    CHECK_EQ_INT(jw_js_meta_num_delivered(m), 1);
    CHECK_EQ_INT(jw_js_meta_stream_seq(m), 2);
    CHECK_EQ_INT(jw_js_meta_consumer_seq(m), 3);
    CHECK_EQ_INT(jw_js_meta_timestamp(m), 4);
    CHECK_EQ_INT(jw_js_meta_num_pending(m), 5);
    jw_js_meta_free(m);
    /* "_" is no domain; tokens after the 11th are for the future. */
    CHECK_EQ_INT(jw_js_meta_parse("$JS.ACK._.H.S.C.1.2.3.4.5.rnd.x", &m),
                 JW_OK);
    CHECK_STR(jw_js_meta_domain(m), "");
    CHECK_EQ_INT(jw_js_meta_num_pending(m), 5);
    jw_js_meta_free(m);
    return 0;
}

TEST(js_meta_rejects)
{
    static const char *const bad[] = {
        "",
        "_INBOX.abc.1",
        "$JS.ACK.S.C.1.2.3.4",          /* 8 tokens */
        "$JS.ACK.S.C.1.2.3.4.5.6",      /* 10 tokens */
        "$JS.ACK.S.C.x.2.3.4.5",        /* not a number */
        "$JS.ACK.S..1.2.3.4.5",         /* empty token */
        "$JS.ACK.S.C.1.2.3.4.99999999999999999999999",
        "$JS.ACKS.C.1.2.3.4.5.6",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jw_js_meta *m = (jw_js_meta *)1;
        CHECK_EQ_INT(jw_js_meta_parse(bad[i], &m), JW_EINVAL);
        CHECK(m == NULL);
        CHECK(strlen(jw_last_error()) > 0);
    }
    jw_js_meta *m;
    CHECK_EQ_INT(jw_js_meta_parse(NULL, &m), JW_EINVAL);
    CHECK_EQ_INT(jw_js_meta_parse("$JS.ACK.S.C.1.2.3.4.5", NULL), JW_EINVAL);
    CHECK_EQ_INT(jw_msg_metadata(NULL, &m), JW_EINVAL);
    return 0;
}

static long long int_field(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* A context as the configuration calls see it: the server's version and
 * the duration unit (ns per unit). */
static jw_js *ctx(int version, int64_t unit_ns)
{
    static jw_js js;
    memset(&js, 0, sizeof js);
    js.version = version;
    js.unit_ns = unit_ns;
    /* The API level the version brings, as if learned (no connection). */
    atomic_init(&js.api_level, jw__js_level_of_version(version));
    return &js;
}

#define MS 1000000LL
#define S 1000000000LL

TEST(js_config_durations)
{
    json_t *cfg = NULL;
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(20910, MS), JW__JS_STREAM,
                                       "{\"name\":\"S\",\"max_age\":86400000,"
                                       "\"duplicate_window\":1.5,"
                                       "\"max_msgs\":10}",
                                       &cfg),
                 JW_OK);
    CHECK_EQ_INT(int_field(cfg, "max_age"), 86400000000000LL);
    CHECK_EQ_INT(int_field(cfg, "duplicate_window"), 1500000LL);
    CHECK_EQ_INT(int_field(cfg, "max_msgs"), 10);
    json_decref(cfg);
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(20910, MS), JW__JS_CONSUMER,
                                       "{\"durable_name\":\"d\",\"ack_wait\":"
                                       "30000,\"backoff\":[1000,2000]}",
                                       &cfg),
                 JW_OK);
    CHECK_EQ_INT(int_field(cfg, "ack_wait"), 30000000000LL);
    json_t *b = json_object_get(cfg, "backoff");
    CHECK_EQ_INT(json_integer_value(json_array_get(b, 1)), 2000000000LL);
    json_decref(cfg);
    return 0;
}

/* The bindings' unit: seconds, with fractions; nested durations too. */
TEST(js_config_seconds)
{
    json_t *cfg = NULL;
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21500, S), JW__JS_STREAM,
                                       "{\"name\":\"S\",\"max_age\":1.5,"
                                       "\"subject_delete_marker_ttl\":60,"
                                       "\"consumer_limits\":{"
                                       "\"inactive_threshold\":0.25}}",
                                       &cfg),
                 JW_OK);
    CHECK_EQ_INT(int_field(cfg, "max_age"), 1500000000LL);
    CHECK_EQ_INT(int_field(cfg, "subject_delete_marker_ttl"), 60 * S);
    CHECK_EQ_INT(int_field(json_object_get(cfg, "consumer_limits"),
                           "inactive_threshold"),
                 250000000LL);
    /* Back to the user: whole seconds stay integers. */
    jw__js_config_from_wire(ctx(21500, S), JW__JS_STREAM, cfg);
    CHECK(json_real_value(json_object_get(cfg, "max_age")) == 1.5);
    CHECK_EQ_INT(int_field(cfg, "subject_delete_marker_ttl"), 60);
    CHECK(json_real_value(json_object_get(
              json_object_get(cfg, "consumer_limits"),
              "inactive_threshold")) == 0.25);
    json_decref(cfg);
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21500, S), JW__JS_CONSUMER,
                                       "{\"priority_timeout\":30}", &cfg),
                 JW_OK);
    CHECK_EQ_INT(int_field(cfg, "priority_timeout"), 30 * S);
    json_decref(cfg);
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21500, S), JW__JS_STREAM,
                                       "{\"name\":\"S\",\"max_age\":-0.5}",
                                       &cfg),
                 JW_EINVAL);
    CHECK(strstr(jw_last_error(), "seconds") != NULL);
    return 0;
}

/* The other spellings of fields, and the values of enumerations. */
TEST(js_config_aliases_and_values)
{
    json_t *cfg = NULL;
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(20910, MS), JW__JS_CONSUMER,
                                       "{\"durable\":\"x\","
                                       "\"replicas\":1}",
                                       &cfg),
                 JW_OK);
    CHECK_STR(json_string_value(json_object_get(cfg, "durable_name")), "x");
    CHECK_EQ_INT(int_field(cfg, "num_replicas"), 1);
    CHECK(json_object_get(cfg, "durable") == NULL);
    CHECK(json_object_get(cfg, "replicas") == NULL);
    json_decref(cfg);
    cfg = (json_t *)1;
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21500, MS), JW__JS_STREAM,
                                       "{\"replicas\":1,"
                                       "\"num_replicas\":3}",
                                       &cfg),
                 JW_EINVAL);
    CHECK(cfg == NULL);
    CHECK(strstr(jw_last_error(), "both 'replicas' and 'num_replicas'"));
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21500, MS), JW__JS_STREAM,
                                       "{\"retention\":\"limit\"}", &cfg),
                 JW_EINVAL);
    CHECK(strstr(jw_last_error(), "'retention' must be one of \"limits\", "
                                  "\"interest\", \"workqueue\", not "
                                  "\"limit\""));
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21500, MS), JW__JS_STREAM,
                                       "{\"retention\":\"workqueue\"}",
                                       &cfg),
                 JW_OK);
    json_decref(cfg);
    /* A KV bucket calls it replicas: no alias there. */
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21500, MS), JW__JS_KV,
                                       "{\"bucket\":\"b\","
                                       "\"num_replicas\":1}",
                                       &cfg),
                 JW_EINVAL);
    return 0;
}

/* A field no table knows: refused by a server that would ignore it,
 * passed unchanged to one that refuses unknown fields itself. */
TEST(js_config_unknown_field)
{
    json_t *cfg = (json_t *)1;
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(20910, MS), JW__JS_STREAM,
                                       "{\"name\":\"S\",\"rollup_hdrs\":true}",
                                       &cfg),
                 JW_EINVAL);
    CHECK(cfg == NULL);
    CHECK(strstr(jw_last_error(), "rollup_hdrs") != NULL);
    CHECK(strstr(jw_last_error(), "2.9.10") != NULL);
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21000, MS), JW__JS_CONSUMER,
                                       "{\"durable_nam\":\"x\"}", &cfg),
                 JW_EINVAL);
    CHECK(strstr(jw_last_error(), "'durable_nam'") != NULL);
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21100, MS), JW__JS_STREAM,
                                       "{\"name\":\"S\",\"future_field\":"
                                       "{\"x\":1},\"max_age\":1}",
                                       &cfg),
                 JW_OK);
    CHECK_EQ_INT(int_field(json_object_get(cfg, "future_field"), "x"), 1);
    CHECK_EQ_INT(int_field(cfg, "max_age"), MS);
    json_decref(cfg);
    /* A bucket's configuration is ours: refused whatever the server. */
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21500, MS), JW__JS_KV,
                                       "{\"bucket\":\"b\",\"historie\":2}",
                                       &cfg),
                 JW_EINVAL);
    CHECK(strstr(jw_last_error(), "historie") != NULL);
    return 0;
}

TEST(js_config_newer_field)
{
    json_t *cfg = NULL;
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(20910, MS), JW__JS_CONSUMER,
                                       "{\"filter_subjects\":[\"a\",\"b\"]}",
                                       &cfg),
                 JW_ENOT_SUPPORTED);
    CHECK(strstr(jw_last_error(), "2.10.0") != NULL);
    CHECK(strstr(jw_last_error(), "2.9.10") != NULL);
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(20910, MS), JW__JS_STREAM,
                                       "{\"name\":\"S\",\"compression\":"
                                       "\"s2\"}",
                                       &cfg),
                 JW_ENOT_SUPPORTED);
    /* A newer server knows it. */
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21000, MS), JW__JS_STREAM,
                                       "{\"name\":\"S\",\"compression\":"
                                       "\"s2\"}",
                                       &cfg),
                 JW_OK);
    json_decref(cfg);
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21100, S), JW__JS_STREAM,
                                       "{\"name\":\"S\",\"allow_atomic\":"
                                       "true}",
                                       &cfg),
                 JW_ENOT_SUPPORTED);
    CHECK(strstr(jw_last_error(), "2.12.0") != NULL);
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(21000, S), JW__JS_KV,
                                       "{\"bucket\":\"b\","
                                       "\"limit_marker_ttl\":5}",
                                       &cfg),
                 JW_ENOT_SUPPORTED);
    CHECK(strstr(jw_last_error(), "limit_marker_ttl") != NULL);
    return 0;
}

TEST(js_config_bad_values)
{
    static const char *const bad[] = {
        "not json",
        "[1,2]",
        "{\"name\":\"S\",\"max_age\":-1}",
        "{\"name\":\"S\",\"max_age\":\"1h\"}",
        "{\"name\":\"S\",\"max_age\":9223372036854775807}",
        "{\"name\":\"S\",\"subjects\":\"orders.>\"}",
        "{\"name\":\"S\",\"subjects\":[1]}",
        "{\"name\":\"S\",\"max_msgs\":1.5}",
        "{\"name\":\"S\",\"no_ack\":1}",
        "{\"name\":\"S\",\"name\":\"T\"}",
        "{\"name\":\"S\",\"consumer_limits\":{\"inactive_threshold\":\"x\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *cfg = NULL;
        CHECK_EQ_INT(jw__js_config_to_wire(ctx(21500, MS), JW__JS_STREAM,
                                           bad[i], &cfg),
                     JW_EINVAL);
        CHECK(cfg == NULL);
    }
    json_t *cfg;
    CHECK_EQ_INT(jw__js_config_to_wire(ctx(20910, MS), JW__JS_STREAM, NULL,
                                       &cfg),
                 JW_EINVAL);
    CHECK(strstr(jw_last_error(), "NULL") != NULL);
    return 0;
}

TEST(js_config_from_wire)
{
    json_t *info = json_loads("{\"config\":{\"name\":\"S\",\"max_age\":"
                              "2500000,\"duplicate_window\":120000000000},"
                              "\"type\":\"x\"}",
                              0, NULL);
    CHECK(info != NULL);
    char *out = NULL;
    CHECK_EQ_INT(jw__js_info_out(ctx(20910, MS), JW__JS_STREAM, info, &out),
                 JW_OK);
    json_decref(info);
    CHECK(strstr(out, "\"duplicate_window\":120000") != NULL);
    CHECK(strstr(out, "\"duplicate_window\":120000000000") == NULL);
    CHECK(strstr(out, "\"max_age\":2.5") != NULL);
    CHECK(strstr(out, "\"type\"") == NULL);
    jw_free(out);
    return 0;
}

/* The table as the ABI gives it: every duration field is typed so. */
TEST(js_config_fields_table)
{
    char *text = NULL;
    CHECK_EQ_INT(jw_js_config_fields("stream", &text), JW_OK);
    json_t *list = json_loads(text, 0, NULL);
    jw_free(text);
    CHECK(json_is_array(list));
    int durations = 0, found_marker = 0;
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *type = json_string_value(json_object_get(f, "type"));
        durations += strcmp(type, "duration") == 0;
        if (strcmp(name, "subject_delete_marker_ttl") == 0) {
            found_marker = 1;
            CHECK_STR(type, "duration");
            CHECK_STR(json_string_value(json_object_get(f, "since")),
                      "2.11.0");
        }
        if (strcmp(name, "name") == 0)
            CHECK(json_is_null(json_object_get(f, "since")));
    }
    CHECK(found_marker);
    CHECK_EQ_INT(durations, 3); /* max_age, duplicate_window, marker ttl */
    json_decref(list);
    CHECK_EQ_INT(jw_js_config_fields("bucket", &text), JW_OK);
    CHECK(strstr(text, "\"limit_marker_ttl\"") != NULL);
    jw_free(text);
    CHECK_EQ_INT(jw_js_config_fields("consumer", &text), JW_OK);
    CHECK(strstr(text, "\"priority_timeout\"") != NULL);
    jw_free(text);
    CHECK_EQ_INT(jw_js_config_fields("streams", &text), JW_EINVAL);
    CHECK(text == NULL);
    CHECK_EQ_INT(jw_js_config_fields(NULL, &text), JW_EINVAL);
    return 0;
}

TEST(js_version_parse)
{
    CHECK_EQ_INT(jw__js_version_parse("2.9.10"), 20910);
    CHECK_EQ_INT(jw__js_version_parse("2.10.0-beta.1"), 21000);
    CHECK_EQ_INT(jw__js_version_parse(""), 0);
    CHECK_EQ_INT(jw__js_version_parse(NULL), 0);
    char buf[16];
    jw__js_version_text(21100, buf, sizeof buf);
    CHECK_STR(buf, "2.11.0");
    return 0;
}

TEST(js_name_check)
{
    CHECK_EQ_INT(jw__js_check_name("stream", "ORDERS"), JW_OK);
    CHECK_EQ_INT(jw__js_check_name("stream", "order-processor_1"), JW_OK);
    static const char *const bad[] = {"", "a.b", "a*", "a>", "a b", "a/b",
                                      "a\\b", "a\tb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(jw__js_check_name("stream", bad[i]), JW_EINVAL);
    CHECK_EQ_INT(jw__js_check_name("stream", NULL), JW_EINVAL);
    return 0;
}

TEST(js_ack_not_jetstream)
{
    jw_msg *m = NULL;
    CHECK_EQ_INT(jw_msg_new("orders.new", "_INBOX.x.1", "a", 1, &m), JW_OK);
    CHECK_EQ_INT(jw_msg_ack(m), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "not a JetStream message") != NULL);
    CHECK_EQ_INT(jw_msg_nak(m), JW_EINVAL);
    CHECK_EQ_INT(jw_msg_term(m), JW_EINVAL);
    CHECK_EQ_INT(jw_msg_in_progress(m), JW_EINVAL);
    CHECK_EQ_INT(jw_msg_nak_delay(m, 10), JW_EINVAL);
    CHECK_EQ_INT(jw_msg_ack_sync(m, 100), JW_EINVAL);
    jw_js_meta *meta;
    CHECK_EQ_INT(jw_msg_metadata(m, &meta), JW_EINVAL);
    jw_msg_free(m);
    CHECK_EQ_INT(jw_msg_ack(NULL), JW_EINVAL);
    return 0;
}

TEST(js_require_version)
{
    jw_js js;
    memset(&js, 0, sizeof js);
    js.version = 20910;
    CHECK_EQ_INT(jw__js_require(&js, 20900, "direct get"), JW_OK);
    CHECK_EQ_INT(jw__js_require(&js, 21000, "consumer create actions"),
                 JW_ENOT_SUPPORTED);
    CHECK(strstr(jw_last_error(), "needs nats-server 2.10.0") != NULL);
    CHECK(strstr(jw_last_error(), "2.9.10") != NULL);
    js.version = 0; /* unknown: let the server decide */
    CHECK_EQ_INT(jw__js_require(&js, 21000, "x"), JW_OK);
    return 0;
}

/* The API level of a server version (ADR-44), and what a configuration
 * needs: its newest field in use, the unused ones (false, 0) not
 * counted. */
TEST(js_api_levels)
{
    CHECK_EQ_INT(jw__js_level_of_version(20910), 0);
    CHECK_EQ_INT(jw__js_level_of_version(21000), 0);
    CHECK_EQ_INT(jw__js_level_of_version(21100), 1);
    CHECK_EQ_INT(jw__js_level_of_version(21207), 2);
    CHECK_EQ_INT(jw__js_level_of_version(21400), 4);
    CHECK_EQ_INT(jw__js_level_of_version(21503), 5);
    json_t *cfg = json_loads("{\"name\":\"S\",\"allow_msg_ttl\":false,"
                             "\"subject_delete_marker_ttl\":0}",
                             0, NULL);
    CHECK_EQ_INT(jw__js_config_level(JW__JS_STREAM, cfg), 0);
    json_object_set_new(cfg, "allow_msg_ttl", json_true());
    CHECK_EQ_INT(jw__js_config_level(JW__JS_STREAM, cfg), 1);
    json_object_set_new(cfg, "allow_batched", json_true());
    CHECK_EQ_INT(jw__js_config_level(JW__JS_STREAM, cfg), 4);
    json_decref(cfg);
    /* A server whose version knows a field but whose JetStream API level
     * does not (a leaf node before an older hub): refused. */
    jw_js *js = ctx(21503, S);
    atomic_store(&js->api_level, 0);
    cfg = NULL;
    CHECK_EQ_INT(jw__js_config_to_wire(js, JW__JS_STREAM,
                                       "{\"name\":\"S\",\"allow_msg_ttl\":"
                                       "true}",
                                       &cfg),
                 JW_ENOT_SUPPORTED);
    CHECK(strstr(jw_last_error(), "API level 1") != NULL);
    CHECK(cfg == NULL);
    return 0;
}
