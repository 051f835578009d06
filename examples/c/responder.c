/*
 * responder: the tutorial's "Service (Responder)".
 *
 * A user service on user.get. A request is {"user_id":"user-1"}; the reply
 * is the user from a small in-memory table,
 *   {"user_id":"user-1","name":"Alice Smith","email":"...","found":true}
 * or {"user_id":"...","found":false} for an unknown id. Runs until it has
 * answered COUNT requests (when given) or until SIGINT/SIGTERM, then drains.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_responder [COUNT]
 *
 * It is a service of the NATS micro API: "users" 1.0.0 with one endpoint,
 * "get", on user.get in the queue group "q", so that `nats micro list`,
 * `nats micro stats users` and every client's discovery see it and its
 * statistics. A request that is not {"user_id":"..."} gets an error reply
 * (headers Nats-Service-Error and Nats-Service-Error-Code 400), which the
 * statistics count. The handler runs on the endpoint's delivery thread and
 * answers with jw_msg_respond; it may wait (ask another service, say).
 */
#include "example.h"

#include <stdatomic.h>

struct user {
    const char *id, *name, *email;
};

/* The simulated user database. */
static const struct user users[] = {
    {"user-1", "Alice Smith", "alice@example.com"},
    {"user-2", "Bob Johnson", "bob@example.com"},
};

static atomic_long answered;

static const struct user *find_user(const char *id)
{
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
        if (strcmp(users[i].id, id) == 0)
            return &users[i];
    return NULL;
}

/* One request. msg is the engine's until the handler returns. */
static void on_request(jw_endpoint *ep, jw_msg *msg, void *arg)
{
    (void)arg;
    char request[256], user_id[64], reply[256];
    jw_status st;

    snprintf(request, sizeof request, "%.*s", (int)jw_msg_data_len(msg),
             (const char *)jw_msg_data(msg));
    if (!json_string(request, "user_id", user_id, sizeof user_id)) {
        printf("Invalid request: %s\n", request);
        st = jw_endpoint_respond_error(ep, msg, "400",
                                       "expected {\"user_id\":\"...\"}",
                                       NULL, 0);
        snprintf(reply, sizeof reply, "error 400");
    } else {
        printf("Received request for user: %s\n", user_id);
        const struct user *u = find_user(user_id);
        int len;
        if (u)
            len = snprintf(reply, sizeof reply,
                           "{\"user_id\":\"%s\",\"name\":\"%s\","
                           "\"email\":\"%s\",\"found\":true}",
                           u->id, u->name, u->email);
        else
            len = snprintf(reply, sizeof reply,
                           "{\"user_id\":\"%s\",\"found\":false}", user_id);
        /* The reply goes to the request's reply subject (its inbox). */
        st = jw_msg_respond(msg, reply, (size_t)len);
    }
    if (st != JW_OK)
        report("respond", st);
    else
        printf("Sent response: %s\n", reply);
    atomic_fetch_add(&answered, 1);
}

int main(int argc, char **argv)
{
    example_name = "responder";
    long limit = 0;
    if (!count_arg(argc, argv, 1, "[COUNT]", &limit))
        return 2;
    start_until_stopped();

    int rc = 1;
    jw_conn *nc = NULL;
    jw_service *svc = NULL;

    jw_status st = jw_conn_connect(server_url(), NULL, &nc);
    if (st != JW_OK) {
        report("connect", st);
        goto out;
    }
    st = jw_service_new(nc,
                        "{\"name\":\"users\",\"version\":\"1.0.0\","
                        "\"description\":\"the tutorial's user service\"}",
                        &svc);
    if (st == JW_OK)
        st = jw_service_add_endpoint(
            svc, NULL, "{\"name\":\"get\",\"subject\":\"user.get\"}",
            on_request, NULL, NULL);
    if (st != JW_OK) {
        report("service", st);
        goto out;
    }
    st = jw_conn_flush(nc, 2000); /* the server knows us from now on */
    if (st != JW_OK) {
        report("flush", st);
        goto out;
    }
    printf("User service listening on 'user.get'... (service id %s)\n",
           jw_service_id(svc));

    wait_until_stopped(&answered, limit);

    /* Stop the service (its requests in flight are answered), then drain
     * the connection: what is still queued is written before it closes. */
    st = jw_service_stop(svc);
    if (st == JW_OK)
        st = jw_service_wait(svc, 5000);
    if (st == JW_OK)
        st = jw_conn_drain(nc, 5000);
    if (st != JW_OK) {
        report("drain", st);
        goto out;
    }
    printf("User service stopped after %ld request(s)\n",
           atomic_load(&answered));
    rc = 0;
out:
    jw_service_free(svc);
    jw_conn_free(nc);
    return rc;
}
