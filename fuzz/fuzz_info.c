/*
 * The engine's JSON decoding: the server's INFO (core/connection/
 * handshake.c, through jansson), and the -ERR text classification of the
 * connection's protocol handler (conn.c).
 *
 * Both need a connection, which takes a socket to reach, so they are
 * called on a connection built by hand (fuzz_conn.h; the handler is a
 * static function of conn.c).
 *
 * The input is one INFO's JSON text. It is framed as "INFO <input>\r\n"
 * and read by the real parser, so that the text is what the connection
 * would get, then processed twice, as a server's first INFO and as a later
 * update, and then as the text of a -ERR. What the user can read afterwards
 * must be sane: max_payload never negative (the API says 0 when unknown),
 * the stored INFO is the text itself when it was a JSON object, the version
 * a C string, a lame-duck event exactly when INFO said "ldm": true.
 */
#include "fuzz_conn.h"

#include <jansson.h>

static int count_events(const jw_conn *c, jw_event_kind kind)
{
    int n = 0;
    for (const jw_event *ev = c->ev_head; ev; ev = ev->next)
        n += jw_event_kind_get(ev) == kind;
    return n;
}

/* What jansson says the text means, independently of the engine. */
static void expect(const char *text, size_t len, int *is_object, int *ldm)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    *is_object = json_is_object(o);
    *ldm = *is_object && json_is_true(json_object_get(o, "ldm"));
    json_decref(o);
}

static void check_info(jw_conn *c, const char *text, size_t len, int is_object)
{
    FUZZ_CHECK(jw_conn_max_payload(c) >= 0);
    FUZZ_CHECK(c->jetstream == 0 || c->jetstream == 1);
    FUZZ_CHECK(c->headers == 0 || c->headers == 1);
    FUZZ_CHECK(memchr(c->version, '\0', sizeof(c->version)) != NULL);

    char *info = malloc(len + 1);
    FUZZ_CHECK(info != NULL);
    FUZZ_CHECK(jw_conn_server_info(c, info, len + 1) == JW_OK);
    if (is_object)
        FUZZ_CHECK(strlen(info) == len && memcmp(info, text, len) == 0);
    else
        FUZZ_CHECK(info[0] == '\0');
    free(info);
    char version[sizeof(c->version)];
    FUZZ_CHECK(jw_conn_server_version(c, version, sizeof(version)) == JW_OK);
}

/* The first INFO of the stream, processed as the connection would. */
static int on_event(void *arg, const jw__proto_event *pev)
{
    jw_conn *c = arg;
    if (pev->op != JW__OP_INFO)
        return 1;
    const char *text = pev->text;
    size_t size = pev->text_len;
    int is_object, ldm;
    expect(text, size, &is_object, &ldm);

    jw__conn_take_info(c, text, size);
    check_info(c, text, size, is_object);
    FUZZ_CHECK(count_events(c, JW_EVENT_LAME_DUCK) == ldm);
    jw__conn_take_info(c, text, size); /* a later update replaces the first */
    check_info(c, text, size, is_object);
    FUZZ_CHECK(count_events(c, JW_EVENT_LAME_DUCK) == 2 * ldm);

    /* The same text as a -ERR: classified, never read past its end. */
    jw__proto_event ev = {0};
    ev.op = JW__OP_ERR;
    ev.text = text;
    ev.text_len = size;
    int before = c->ev_count;
    int rc = on_proto(c, &ev);
    FUZZ_CHECK(rc == 1 || c->ev_count == before + 1);
    if (rc)
        FUZZ_CHECK(stop_status != JW_OK);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Framed as the server sends it and read by the real parser, so the
     * text is what the connection would get (no control characters). */
    char *line = malloc(size + 7);
    FUZZ_CHECK(line != NULL);
    memcpy(line, "INFO ", 5);
    memcpy(line + 5, data, size);
    memcpy(line + 5 + size, "\r\n", 2);
    jw__parser parser;
    jw__parser_init(&parser, 0, 0);
    jw_conn *c = fuzz_conn_new();
    jw__parser_feed(&parser, line, size + 7, on_event, c);
    fuzz_conn_free(c);
    jw__parser_free(&parser);
    free(line);
    return 0;
}
