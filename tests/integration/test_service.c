/* Services (the micro API): endpoints and groups, the $SRV discovery
 * answers and their statistics, error replies, hosts that run handlers
 * themselves, stopping with requests in flight, bad configurations. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

#define SVC_CONFIG                                                           \
    "{\"name\":\"users\",\"version\":\"1.2.3-beta.1+b7\","                   \
    "\"description\":\"the user service\",\"metadata\":{\"lang\":\"c\"}}"

/* Echo, or an error reply for a request that says "fail". */
static void echo(jw_endpoint *ep, jw_msg *req, void *arg)
{
    atomic_int *calls = arg;
    if (calls)
        atomic_fetch_add(calls, 1);
    const char *data = jw_msg_data(req);
    size_t len = jw_msg_data_len(req);
    if (len == 4 && memcmp(data, "fail", 4) == 0)
        jw_endpoint_respond_error(ep, req, "400", "bad input", NULL, 0);
    else
        jw_msg_respond(req, data, len);
}

static void slow_echo(jw_endpoint *ep, jw_msg *req, void *arg)
{
    (void)ep;
    (void)arg;
    usleep(20000);
    jw_msg_respond(req, jw_msg_data(req), jw_msg_data_len(req));
}

static char *stats_data(jw_endpoint *ep, void *arg)
{
    (void)arg;
    char *text = malloc(64);
    snprintf(text, 64, "{\"endpoint\":\"%s\"}", jw_endpoint_name(ep));
    return text;
}

/* Count how often needle occurs in hay. */
static int occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

TEST(service_endpoints_and_discovery)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    CHECK_OK(jw_test_connect(s, &nc));
    jw_service *svc = NULL;
    CHECK_OK(jw_service_new(sc, SVC_CONFIG, &svc));
    CHECK(strlen(jw_service_id(svc)) == 22);
    CHECK_STR(jw_service_name(svc), "users");
    CHECK_STR(jw_service_version(svc), "1.2.3-beta.1+b7");
    atomic_int calls;
    atomic_init(&calls, 0);
    jw_endpoint *get = NULL, *add = NULL, *solo = NULL;
    CHECK_OK(jw_service_add_endpoint(
        svc, NULL, "{\"name\":\"get\",\"metadata\":{\"kind\":\"read\"}}",
        echo, &calls, &get));
    CHECK_STR(jw_endpoint_subject(get), "get");
    CHECK_STR(jw_endpoint_queue_group(get), "q");
    CHECK(jw_endpoint_service(get) == svc);
    CHECK(jw_endpoint_sub(get) == NULL); /* the engine runs its handler */
    /* Groups: prefixes join, queue groups inherit unless set or disabled. */
    jw_service_group *g = NULL, *inner = NULL;
    CHECK_OK(jw_service_add_group(
        svc, NULL, "{\"name\":\"users.v1\",\"queue_group\":\"workers\"}", &g));
    CHECK_OK(jw_service_add_group(svc, g, "{\"name\":\"admin\"}", &inner));
    CHECK_OK(jw_service_add_endpoint(
        svc, inner, "{\"name\":\"add\",\"subject\":\"add.*\"}", echo, NULL,
        &add));
    CHECK_STR(jw_endpoint_subject(add), "users.v1.admin.add.*");
    CHECK_STR(jw_endpoint_queue_group(add), "workers");
    CHECK_OK(jw_service_add_endpoint(
        svc, g, "{\"name\":\"solo\",\"queue_group_disabled\":true}", echo,
        NULL, &solo));
    CHECK(jw_endpoint_queue_group(solo) == NULL);
    CHECK_OK(jw_conn_flush(sc, 5000));

    for (int i = 0; i < 10; i++) {
        jw_msg *reply = NULL;
        CHECK_OK(jw_conn_request(nc, "get", "hi", 2, 5000, &reply));
        CHECK_MEM_STR(jw_msg_data(reply), jw_msg_data_len(reply), "hi");
        jw_msg_free(reply);
    }
    jw_msg *reply = NULL;
    CHECK_OK(jw_conn_request(nc, "users.v1.admin.add.x", "fail", 4, 5000,
                             &reply));
    const char *v = NULL;
    CHECK_OK(jw_msg_header_get(reply, "Nats-Service-Error", 0, &v));
    CHECK_STR(v, "bad input");
    CHECK_OK(jw_msg_header_get(reply, "Nats-Service-Error-Code", 0, &v));
    CHECK_STR(v, "400");
    CHECK_EQ_INT(jw_msg_data_len(reply), 0);
    jw_msg_free(reply);
    CHECK_EQ_INT(atomic_load(&calls), 10);

    /* Discovery at every level: all, by name, by name and id. */
    char *json = NULL;
    CHECK_OK(jw_service_discover(nc, JW_SERVICE_PING, NULL, NULL, 1000, 0,
                                 &json));
    CHECK_EQ_INT(occurrences(json, "io.nats.micro.v1.ping_response"), 1);
    CHECK(strstr(json, jw_service_id(svc)) != NULL);
    CHECK(strstr(json, "\"metadata\":{\"lang\":\"c\"}") != NULL);
    jw_free(json);
    CHECK_OK(jw_service_discover(nc, JW_SERVICE_INFO, "users",
                                 jw_service_id(svc), 1000, 1, &json));
    CHECK_EQ_INT(occurrences(json, "io.nats.micro.v1.info_response"), 1);
    CHECK(strstr(json, "\"description\":\"the user service\"") != NULL);
    CHECK(strstr(json, "\"subject\":\"users.v1.admin.add.*\"") != NULL);
    CHECK(strstr(json, "\"queue_group\":\"workers\"") != NULL);
    CHECK(strstr(json, "\"metadata\":{\"kind\":\"read\"}") != NULL);
    jw_free(json);
    CHECK_OK(jw_service_discover(nc, JW_SERVICE_PING, "nobody", NULL, 1000,
                                 0, &json));
    CHECK_STR(json, "[]");
    jw_free(json);

    /* STATS: counts, the last error, handler time, custom data. */
    CHECK_OK(jw_endpoint_set_stats_data(get, "{\"cache\":3}"));
    CHECK_OK(jw_service_discover(nc, JW_SERVICE_STATS, "users", NULL, 1000,
                                 0, &json));
    CHECK(strstr(json, "\"started\":\"20") != NULL);
    CHECK(strstr(json, "\"num_requests\":10,\"num_errors\":0") != NULL);
    CHECK(strstr(json, "\"num_requests\":1,\"num_errors\":1,"
                       "\"last_error\":\"400:bad input\"") != NULL);
    CHECK(strstr(json, "\"data\":{\"cache\":3}") != NULL);
    CHECK(strstr(json, "\"processing_time\":0,") == NULL ||
          occurrences(json, "\"processing_time\":0,") == 1); /* solo: 0 */
    jw_free(json);
    CHECK_OK(jw_endpoint_set_stats_data(get, "42")); /* a bare scalar */
    CHECK_OK(jw_service_stats(svc, &json));
    CHECK(strstr(json, "\"data\":42") != NULL);
    jw_free(json);
    CHECK_OK(jw_service_set_stats_handler(svc, stats_data, NULL));
    CHECK_OK(jw_service_stats(svc, &json));
    CHECK(strstr(json, "\"data\":{\"endpoint\":\"solo\"}") != NULL);
    CHECK(strstr(json, "\"data\":{\"endpoint\":\"get\"}") != NULL);
    jw_free(json);
    CHECK_OK(jw_service_reset(svc));
    CHECK_OK(jw_service_stats(svc, &json));
    CHECK_EQ_INT(occurrences(json, "\"num_requests\":0,\"num_errors\":0,"
                                   "\"last_error\":\"\""), 3);
    jw_free(json);
    CHECK_OK(jw_service_info(svc, &json));
    CHECK_EQ_INT(occurrences(json, "\"name\":"), 4);
    jw_free(json);

    /* Stopped: discovery and endpoints are gone. */
    CHECK_EQ_INT(jw_service_stopped(svc), 0);
    CHECK_OK(jw_service_stop(svc));
    CHECK_OK(jw_service_wait(svc, 5000));
    CHECK_EQ_INT(jw_service_stopped(svc), 1);
    CHECK_OK(jw_service_stop(svc));
    CHECK_STATUS(jw_conn_request(nc, "get", "x", 1, 2000, &reply),
                 JW_ENO_RESPONDERS);
    CHECK_OK(jw_service_discover(nc, JW_SERVICE_PING, NULL, NULL, 500, 0,
                                 &json));
    CHECK_STR(json, "[]");
    jw_free(json);
    CHECK_STATUS(jw_service_add_endpoint(svc, NULL, "{\"name\":\"late\"}",
                                         echo, NULL, NULL),
                 JW_EINVALID_SUBSCRIPTION);
    jw_service_free(svc);
    jw_conn_free(sc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

/* Two instances of one service share the work through the queue group;
 * both answer discovery; max_responses stops early. */
TEST(service_instances_share_work)
{
    START_SERVER(s, NULL);
    jw_conn *a = NULL, *b = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &a));
    CHECK_OK(jw_test_connect(s, &b));
    CHECK_OK(jw_test_connect(s, &nc));
    jw_service *sa = NULL, *sb = NULL;
    CHECK_OK(jw_service_new(a, SVC_CONFIG, &sa));
    CHECK_OK(jw_service_new(b, SVC_CONFIG, &sb));
    CHECK(strcmp(jw_service_id(sa), jw_service_id(sb)) != 0);
    atomic_int ca, cb;
    atomic_init(&ca, 0);
    atomic_init(&cb, 0);
    CHECK_OK(jw_service_add_endpoint(sa, NULL, "{\"name\":\"get\"}", echo,
                                     &ca, NULL));
    CHECK_OK(jw_service_add_endpoint(sb, NULL, "{\"name\":\"get\"}", echo,
                                     &cb, NULL));
    CHECK_OK(jw_conn_flush(a, 5000));
    CHECK_OK(jw_conn_flush(b, 5000));
    for (int i = 0; i < 200; i++) {
        jw_msg *reply = NULL;
        CHECK_OK(jw_conn_request(nc, "get", "x", 1, 5000, &reply));
        jw_msg_free(reply);
    }
    CHECK_EQ_INT(atomic_load(&ca) + atomic_load(&cb), 200);
    CHECK(atomic_load(&ca) > 0 && atomic_load(&cb) > 0);
    char *json = NULL;
    CHECK_OK(jw_service_discover(nc, JW_SERVICE_PING, "users", NULL, 1000, 0,
                                 &json));
    CHECK_EQ_INT(occurrences(json, "ping_response"), 2);
    jw_free(json);
    CHECK_OK(jw_service_discover(nc, JW_SERVICE_STATS, NULL, NULL, 5000, 1,
                                 &json));
    CHECK_EQ_INT(occurrences(json, "stats_response"), 1);
    jw_free(json);
    jw_service_free(sa);
    jw_service_free(sb);
    jw_conn_free(a);
    jw_conn_free(b);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

/* A host that runs handlers itself: it takes requests from the
 * endpoint's subscription and brackets each with begin and end (or
 * fail, which answers 500). */
TEST(service_host_runs_handlers)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    CHECK_OK(jw_test_connect(s, &nc));
    jw_service *svc = NULL;
    CHECK_OK(jw_service_new(sc, "{\"name\":\"orders\",\"version\":\"0.1.0\"}",
                            &svc));
    jw_endpoint *ep = NULL;
    CHECK_OK(jw_service_add_endpoint(svc, NULL, "{\"name\":\"place\"}", NULL,
                                     NULL, &ep));
    jw_sub *sub = jw_endpoint_sub(ep);
    CHECK(sub != NULL);
    CHECK_OK(jw_conn_flush(sc, 5000));
    uint64_t ids[3];
    const char *bodies[3] = {"one", "boom", "two"};
    for (int i = 0; i < 3; i++) {
        jw_msg *m = NULL;
        CHECK_OK(jw_msg_new("place", NULL, bodies[i], strlen(bodies[i]), &m));
        CHECK_OK(jw_conn_request_start(nc, m, &ids[i]));
        jw_msg_free(m);
    }
    for (int i = 0; i < 3; i++) {
        jw_msg *req = NULL;
        CHECK_OK(jw_sub_next(sub, 5000, &req));
        int64_t begun = jw_endpoint_begin(ep);
        CHECK(begun != 0);
        usleep(2000);
        if (jw_msg_data_len(req) == 4) {
            CHECK_OK(jw_endpoint_fail(ep, req, begun, "it blew\nup"));
        } else {
            CHECK_OK(jw_msg_respond(req, "ok", 2));
            jw_endpoint_end(ep, begun);
        }
        jw_msg_free(req);
    }
    int seen = 0, errors = 0;
    int64_t deadline = 0;
    while (seen < 3 && deadline++ < 500) {
        uint64_t id;
        jw_status st;
        jw_msg *reply = NULL;
        if (jw_conn_request_poll(nc, &id, &st, &reply) != 1) {
            usleep(10000);
            continue;
        }
        CHECK_OK(st);
        const char *code = NULL;
        if (jw_msg_header_get(reply, "Nats-Service-Error-Code", 0, &code) ==
            JW_OK) {
            CHECK_STR(code, "500");
            CHECK(id == ids[1]);
            errors++;
        }
        jw_msg_free(reply);
        seen++;
    }
    CHECK_EQ_INT(seen, 3);
    CHECK_EQ_INT(errors, 1);
    char *json = NULL;
    CHECK_OK(jw_service_stats(svc, &json));
    CHECK(strstr(json, "\"num_requests\":3,\"num_errors\":1,"
                       "\"last_error\":\"500:it blew up\"") != NULL);
    CHECK(strstr(json, "\"processing_time\":0,") == NULL);
    jw_free(json);

    /* Stopped with a request taken and not ended: not stopped yet. */
    jw_msg *m = NULL;
    uint64_t last;
    CHECK_OK(jw_msg_new("place", NULL, "late", 4, &m));
    CHECK_OK(jw_conn_request_start(nc, m, &last));
    jw_msg_free(m);
    jw_msg *req = NULL;
    CHECK_OK(jw_sub_next(sub, 5000, &req));
    int64_t begun = jw_endpoint_begin(ep);
    CHECK_OK(jw_service_stop(svc));
    CHECK_STATUS(jw_service_wait(svc, 300), JW_ETIMEOUT);
    CHECK_EQ_INT(jw_service_stopped(svc), -1);
    jw_msg_respond(req, "ok", 2);
    jw_endpoint_end(ep, begun);
    jw_msg_free(req);
    CHECK_OK(jw_service_wait(svc, 5000));
    jw_service_free(svc);
    jw_conn_free(sc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

/* Stop drains: requests already sent are answered, none is lost. */
TEST(service_stop_drains)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    CHECK_OK(jw_test_connect(s, &nc));
    jw_service *svc = NULL;
    CHECK_OK(jw_service_new(sc, "{\"name\":\"slow\",\"version\":\"1.0.0\"}",
                            &svc));
    CHECK_OK(jw_service_add_endpoint(svc, NULL, "{\"name\":\"work\"}",
                                     slow_echo, NULL, NULL));
    CHECK_OK(jw_conn_flush(sc, 5000));
    enum { N = 20 };
    for (int i = 0; i < N; i++) {
        jw_msg *m = NULL;
        uint64_t id;
        CHECK_OK(jw_msg_new("work", NULL, "x", 1, &m));
        CHECK_OK(jw_conn_request_start(nc, m, &id));
        jw_msg_free(m);
    }
    CHECK_OK(jw_conn_flush(nc, 5000));
    usleep(50000); /* on the service's side by now */
    CHECK_OK(jw_service_stop(svc));
    CHECK_OK(jw_service_wait(svc, 10000));
    int answered = 0;
    for (int tries = 0; answered < N && tries < 500; tries++) {
        uint64_t id;
        jw_status st;
        jw_msg *reply = NULL;
        if (jw_conn_request_poll(nc, &id, &st, &reply) == 1) {
            CHECK_OK(st);
            jw_msg_free(reply);
            answered++;
        } else {
            usleep(10000);
        }
    }
    CHECK_EQ_INT(answered, N);
    char *json = NULL;
    CHECK_OK(jw_service_stats(svc, &json));
    CHECK(strstr(json, "\"num_requests\":20,") != NULL);
    jw_free(json);
    jw_service_free(svc);
    jw_conn_free(sc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

TEST(service_bad_config)
{
    START_SERVER(s, NULL);
    jw_conn *nc = NULL;
    CHECK_OK(jw_test_connect(s, &nc));
    jw_service *svc = NULL;
    const char *bad[] = {
        "not json",
        "[1]",
        "{\"version\":\"1.0.0\"}",
        "{\"name\":\"a b\",\"version\":\"1.0.0\"}",
        "{\"name\":\"a.b\",\"version\":\"1.0.0\"}",
        "{\"name\":\"a\"}",
        "{\"name\":\"a\",\"version\":\"1.0\"}",
        "{\"name\":\"a\",\"version\":\"01.0.0\"}",
        "{\"name\":\"a\",\"version\":\"1.0.0-01\"}",
        "{\"name\":\"a\",\"version\":\"1.0.0-\"}",
        "{\"name\":\"a\",\"version\":\"1.0.0+\"}",
        "{\"name\":\"a\",\"version\":\"v1.0.0\"}",
        "{\"name\":\"a\",\"version\":\"1.0.0\",\"color\":\"red\"}",
        "{\"name\":\"a\",\"version\":\"1.0.0\",\"metadata\":{\"n\":1}}",
        "{\"name\":\"a\",\"version\":\"1.0.0\",\"description\":7}",
        "{\"name\":\"a\",\"version\":\"1.0.0\",\"queue_group\":\"a b\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        jw_status st = jw_service_new(nc, bad[i], &svc);
        if (st != JW_EINVAL)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK_STATUS(st, JW_EINVAL);
        CHECK(svc == NULL);
        CHECK(strlen(jw_last_error()) > 0);
    }
    CHECK_STATUS(jw_service_new(NULL, SVC_CONFIG, &svc), JW_EINVAL);
    CHECK_STATUS(jw_service_new(nc, SVC_CONFIG, NULL), JW_EINVAL);
    CHECK_OK(jw_service_new(
        nc, "{\"name\":\"a\",\"version\":\"10.20.30-rc.1.x-y+build.5\"}",
        &svc));
    jw_endpoint *ep = NULL;
    const char *bad_ep[] = {
        "{}",
        "{\"name\":\"a.b\"}",
        "{\"name\":\"x\",\"subject\":\"a..b\"}",
        "{\"name\":\"x\",\"subject\":\"a.>.b\"}",
        "{\"name\":\"x\",\"pending_msgs_limit\":\"9\"}",
        "{\"name\":\"x\",\"queue_group_disabled\":\"yes\"}",
        "{\"name\":\"x\",\"group\":\"y\"}",
    };
    for (size_t i = 0; i < sizeof bad_ep / sizeof *bad_ep; i++) {
        jw_status st = jw_service_add_endpoint(svc, NULL, bad_ep[i], echo,
                                               NULL, &ep);
        if (st != JW_EINVAL && st != JW_EINVALID_SUBJECT)
            fprintf(stderr, "accepted: %s\n", bad_ep[i]);
        CHECK_STATUS2(st, JW_EINVAL, JW_EINVALID_SUBJECT);
        CHECK(ep == NULL);
    }
    jw_service_group *g = NULL;
    CHECK_STATUS(jw_service_add_group(svc, NULL, "{\"name\":\"a..b\"}", &g),
                 JW_EINVAL);
    CHECK_STATUS(jw_service_add_group(svc, NULL, "{\"nom\":\"a\"}", &g),
                 JW_EINVAL);
    CHECK_OK(jw_service_add_endpoint(svc, NULL, "{\"name\":\"x\"}", echo,
                                     NULL, &ep));
    CHECK_STATUS(jw_endpoint_respond_error(ep, NULL, "1", "d", NULL, 0),
                 JW_EINVAL);
    CHECK_STATUS(jw_endpoint_set_stats_data(ep, "{nope"), JW_EINVAL);
    char *json = NULL;
    CHECK_STATUS(jw_service_discover(nc, (jw_service_verb)7, NULL, NULL, 10,
                                     0, &json),
                 JW_EINVAL);
    CHECK_STATUS(jw_service_discover(nc, JW_SERVICE_PING, NULL, "id", 10, 0,
                                     &json),
                 JW_EINVAL);
    CHECK_STATUS(jw_service_wait(svc, 10), JW_EINVAL); /* not stopped */
    jw_service_free(svc);
    /* A closed connection. */
    jw_conn_close(nc);
    CHECK_STATUS(jw_service_new(nc, SVC_CONFIG, &svc),
                 JW_ECONNECTION_CLOSED);
    CHECK_STATUS(jw_service_discover(nc, JW_SERVICE_PING, NULL, NULL, 10, 0,
                                     &json),
                 JW_ECONNECTION_CLOSED);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}

/* The connection closes with requests queued: they can no longer be
 * answered, and stopping does not wait for them. */
TEST(service_stop_after_close)
{
    START_SERVER(s, NULL);
    jw_conn *sc = NULL, *nc = NULL;
    CHECK_OK(jw_test_connect(s, &sc));
    CHECK_OK(jw_test_connect(s, &nc));
    jw_service *svc = NULL;
    CHECK_OK(jw_service_new(sc, "{\"name\":\"slow\",\"version\":\"1.0.0\"}",
                            &svc));
    jw_endpoint *pulled = NULL;
    CHECK_OK(jw_service_add_endpoint(svc, NULL, "{\"name\":\"work\"}",
                                     slow_echo, NULL, NULL));
    CHECK_OK(jw_service_add_endpoint(svc, NULL, "{\"name\":\"pulled\"}",
                                     NULL, NULL, &pulled));
    CHECK_OK(jw_conn_flush(sc, 5000));
    for (int i = 0; i < 40; i++) {
        jw_msg *m = NULL;
        uint64_t id;
        CHECK_OK(jw_msg_new(i % 2 ? "work" : "pulled", NULL, "x", 1, &m));
        CHECK_OK(jw_conn_request_start(nc, m, &id));
        jw_msg_free(m);
    }
    CHECK_OK(jw_conn_flush(nc, 5000));
    int64_t queued = 0;
    for (int tries = 0; tries < 200 && queued < 20; tries++) {
        CHECK_OK(jw_sub_pending(jw_endpoint_sub(pulled), &queued, NULL));
        usleep(5000);
    }
    CHECK_EQ_INT(queued, 20);
    jw_conn_close(sc);
    CHECK_OK(jw_service_stop(svc));
    CHECK_OK(jw_service_wait(svc, 2000));
    CHECK_EQ_INT(jw_service_stopped(svc), 1);
    jw_service_free(svc);
    jw_conn_free(sc);
    jw_conn_free(nc);
    jw_test_server_stop(s);
    return 0;
}
