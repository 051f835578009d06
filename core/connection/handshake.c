/*
 * What client and server tell each other when a socket opens: the
 * server's INFO (taken in whenever it comes, as servers send it again when
 * the cluster changes) and the client's CONNECT. The state machine that
 * decides when each happens is conn.c's; this file only reads and writes
 * the JSON.
 */
#include "engine.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

jw_status jw__conn_hello(jw_conn *c, jw__buf *out)
{
    const jw__url *u = &c->servers[c->server_index];
    json_t *o = json_pack(
        "{s:b, s:b, s:b, s:s, s:s, s:i, s:b, s:b, s:b}", "verbose",
        c->opts.verbose, "pedantic", c->opts.pedantic, "tls_required",
        c->tls != NULL, "lang", c->opts.lang ? c->opts.lang : "c",
        "version",
        c->opts.lang_version ? c->opts.lang_version : JW_VERSION_STRING,
        "protocol", 1, "echo", !c->opts.no_echo, "headers", 1,
        "no_responders", 1);
    if (!o)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    if (c->opts.name)
        json_object_set_new(o, "name", json_string(c->opts.name));
    /* Credentials in the URL win over the options'. */
    const char *user = u->user ? u->user : c->opts.user;
    const char *pass = u->user ? u->password : c->opts.password;
    const char *token = u->token ? u->token : c->opts.token;
    if (user)
        json_object_set_new(o, "user", json_string(user));
    if (pass)
        json_object_set_new(o, "pass", json_string(pass));
    if (token)
        json_object_set_new(o, "auth_token", json_string(token));
    jw_status st =
        jw__auth_connect_fields(&c->opts, c->nonce[0] ? c->nonce : NULL, o);
    if (st) {
        json_decref(o);
        return st;
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    /* The PING's PONG tells that the server took the CONNECT. */
    if (!text || jw__buf_append(out, "CONNECT ", 8) ||
        jw__buf_append(out, text, strlen(text)) ||
        jw__buf_append(out, "\r\nPING\r\n", 8)) {
        free(text);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    free(text);
    return JW_OK;
}

int jw__conn_take_info(jw_conn *c, const char *text, size_t len)
{
    json_error_t err;
    json_t *info = json_loadb(text, len, 0, &err);
    if (!info || !json_is_object(info)) {
        json_decref(info);
        return -1;
    }
    char *copy = strndup(text, len);
    pthread_mutex_lock(&c->mu);
    if (copy) {
        free(c->info_json);
        c->info_json = copy;
    }
    json_t *v = json_object_get(info, "max_payload");
    /* A negative limit is no limit we can honour: jw_conn_max_payload
     * promises 0 when unknown (found by fuzz/fuzz_info.c). */
    if (json_is_integer(v))
        c->max_payload = json_integer_value(v) > 0 ? json_integer_value(v) : 0;
    c->jetstream = json_is_true(json_object_get(info, "jetstream"));
    c->tls_required = json_is_true(json_object_get(info, "tls_required"));
    c->tls_available = json_is_true(json_object_get(info, "tls_available"));
    c->headers = json_is_true(json_object_get(info, "headers"));
    v = json_object_get(info, "version");
    if (json_is_string(v))
        snprintf(c->version, sizeof(c->version), "%s", json_string_value(v));
    v = json_object_get(info, "nonce");
    c->nonce[0] = '\0';
    if (json_is_string(v) && json_string_length(v) < sizeof(c->nonce))
        memcpy(c->nonce, json_string_value(v), json_string_length(v) + 1);
    int added = jw__pool_merge(c, json_object_get(info, "connect_urls"));
    pthread_mutex_unlock(&c->mu);
    int ldm = json_is_true(json_object_get(info, "ldm"));
    json_decref(info);
    /* Like nats.go, servers found while making the first connection are
     * taken in silently; later ones are announced. */
    if (added && c->ever_connected)
        jw__conn_emit(c, JW_EVENT_DISCOVERED_SERVERS, JW_OK, NULL,
                      "%d new server%s in the pool", added,
                      added == 1 ? "" : "s");
    if (ldm && c->phase == JW__PHASE_OPEN) {
        jw__conn_emit(c, JW_EVENT_LAME_DUCK, JW_OK, NULL,
                      "server entered lame duck mode");
        c->lame_duck_move = 1; /* acted on once the read is processed */
    }
    return 0;
}
