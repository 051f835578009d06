/*
 * requester: the tutorial's "Client (Requester)".
 *
 * Asks the user service on user.get for user-1, user-2 and an unknown user,
 * waiting up to two seconds for each reply, and prints what it learns.
 * A timeout or "no responders" (nobody subscribed to user.get) is an error.
 *
 *   NATS_URL=nats://127.0.0.1:4222 ./example_requester
 */
#include "example.h"

/* One request/reply round trip. Returns 0 on success. */
static int get_user(jw_conn *nc, const char *user_id)
{
    char request[128];
    int len =
        snprintf(request, sizeof request, "{\"user_id\":\"%s\"}", user_id);

    jw_msg *reply = NULL;
    jw_status st =
        jw_conn_request(nc, "user.get", request, (size_t)len, 2000, &reply);
    if (st == JW_ETIMEOUT) {
        report("request", st);
        fprintf(stderr, "Request timed out - is the user service busy?\n");
        return 1;
    }
    if (st == JW_ENO_RESPONDERS) {
        /* The server says at once that nobody listens: no need to wait. */
        report("request", st);
        fprintf(stderr, "No user service on 'user.get' - "
                        "start example_responder first\n");
        return 1;
    }
    if (st != JW_OK) {
        report("request", st);
        return 1;
    }

    char json[512], name[64], email[64];
    snprintf(json, sizeof json, "%.*s", (int)jw_msg_data_len(reply),
             (const char *)jw_msg_data(reply));
    jw_msg_free(reply);

    if (!json_true(json, "found")) {
        printf("User not found: %s\n", user_id);
    } else if (json_string(json, "name", name, sizeof name) &&
               json_string(json, "email", email, sizeof email)) {
        printf("User found: %s <%s>\n", name, email);
    } else {
        fprintf(stderr, "requester: unexpected reply: %s\n", json);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    example_name = "requester";
    if (argc > 1) {
        fprintf(stderr, "usage: %s\n", argv[0]);
        return 2;
    }

    int rc = 1;
    jw_conn *nc = NULL;
    jw_status st = jw_conn_connect(server_url(), NULL, &nc);
    if (st != JW_OK) {
        report("connect", st);
        goto out;
    }

    static const char *const ids[] = {"user-1", "user-2", "user-42"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (get_user(nc, ids[i]) != 0)
            goto out;
    rc = 0;
out:
    jw_conn_free(nc);
    return rc;
}
