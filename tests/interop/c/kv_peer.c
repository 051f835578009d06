/*
 * jw_interop_kv_peer: jetwire's side of the Key-Value interop tests
 * (tests/conformance/test_interop_go.py), the reads and the optimistic
 * update of the tutorial's configuration store, one step per run:
 *
 *   NATS_URL=... jw_interop_kv_peer get BUCKET KEY [REVISION]
 *   NATS_URL=... jw_interop_kv_peer put BUCKET KEY VALUE
 *   NATS_URL=... jw_interop_kv_peer update BUCKET KEY REVISION VALUE
 *
 * Prints one JSON line, the same as the Go program's (tests/interop/go):
 *
 *   {"op":"get","key":K,"revision":N,"value":V}   the latest, or REVISION
 *   {"op":"put","key":K,"revision":N}
 *   {"op":"update","key":K,"revision":N}       stored at revision N
 *   {"op":"update","key":K,"conflict":true}    REVISION was not the latest
 *
 * Any other failure is reported on stderr, with exit status 1; a usage
 * error exits 2. Python and Lua peers take the same arguments and print
 * the same lines.
 */
#include <jetwire.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *server_url(void)
{
    const char *url = getenv("NATS_URL");
    return url && *url ? url : "nats://127.0.0.1:4222";
}

static int fail(const char *what, jw_status st)
{
    fprintf(stderr, "jw_interop_kv_peer: %s: %s (%s) %s\n", what,
            jw_strerror(st), jw_status_name(st), jw_last_error());
    return 1;
}

/* Print data as a JSON string: quotes, backslashes and control bytes
 * escaped, everything else (UTF-8 included) as it is. */
static void print_json_string(const char *data, size_t len)
{
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* A revision argument; 0 (after a message) when it is not one. */
static uint64_t parse_revision(const char *text)
{
    char *end;
    uint64_t revision = strtoull(text, &end, 10);
    if (!*text || *end || !revision) {
        fprintf(stderr, "jw_interop_kv_peer: not a revision: %s\n", text);
        return 0;
    }
    return revision;
}

static int get(jw_kv *kv, const char *key, const char *revision_text)
{
    jw_kv_entry *entry;
    jw_status st;
    if (revision_text) {
        uint64_t revision = parse_revision(revision_text);
        if (!revision)
            return 2;
        jw_call_opts *opts = NULL;
        st = jw_call_opts_new("get", &opts);
        if (st == JW_OK)
            st = jw_call_opts_set_int(opts, "revision", (int64_t)revision);
        if (st == JW_OK)
            st = jw_kv_get(kv, key, opts, &entry);
        jw_call_opts_free(opts);
    } else {
        st = jw_kv_get(kv, key, NULL, &entry);
    }
    if (st != JW_OK)
        return fail("get", st);
    size_t len;
    const char *value = jw_kv_entry_value(entry, &len);
    printf("{\"op\":\"get\",\"key\":");
    print_json_string(key, strlen(key));
    printf(",\"revision\":%" PRIu64 ",\"value\":", jw_kv_entry_revision(entry));
    print_json_string(value, len);
    printf("}\n");
    jw_kv_entry_free(entry);
    return 0;
}

static int put(jw_kv *kv, const char *key, const char *value)
{
    uint64_t revision;
    jw_status st = jw_kv_put(kv, key, value, strlen(value), &revision);
    if (st != JW_OK)
        return fail("put", st);
    printf("{\"op\":\"put\",\"key\":");
    print_json_string(key, strlen(key));
    printf(",\"revision\":%" PRIu64 "}\n", revision);
    return 0;
}

static int update(jw_kv *kv, const char *key, const char *revision_text,
                  const char *value)
{
    uint64_t last = parse_revision(revision_text);
    if (!last)
        return 2;
    uint64_t revision;
    jw_status st = jw_kv_update(kv, key, value, strlen(value), last,
                                &revision);
    if (st != JW_OK && st != JW_EWRONG_LAST_SEQUENCE)
        return fail("update", st);
    printf("{\"op\":\"update\",\"key\":");
    print_json_string(key, strlen(key));
    if (st == JW_EWRONG_LAST_SEQUENCE)
        printf(",\"conflict\":true}\n");
    else
        printf(",\"revision\":%" PRIu64 "}\n", revision);
    return 0;
}

int main(int argc, char **argv)
{
    int is_get = (argc == 4 || argc == 5) && strcmp(argv[1], "get") == 0;
    int is_put = argc == 5 && strcmp(argv[1], "put") == 0;
    int is_update = argc == 6 && strcmp(argv[1], "update") == 0;
    if (!is_get && !is_put && !is_update) {
        fprintf(stderr, "usage: %s get BUCKET KEY [REVISION]\n"
                        "       %s put BUCKET KEY VALUE\n"
                        "       %s update BUCKET KEY REVISION VALUE\n",
                argv[0], argv[0], argv[0]);
        return 2;
    }
    int rc = 1;
    jw_conn *nc = NULL;
    jw_js *js = NULL;
    jw_kv *kv = NULL;
    jw_status st = jw_conn_connect(server_url(), NULL, &nc);
    if (st == JW_OK)
        st = jw_js_new(nc, &js);
    if (st == JW_OK)
        st = jw_js_kv(js, argv[2], &kv);
    if (st != JW_OK)
        rc = fail("bind to the bucket", st);
    else if (is_get)
        rc = get(kv, argv[3], argc == 5 ? argv[4] : NULL);
    else if (is_put)
        rc = put(kv, argv[3], argv[4]);
    else
        rc = update(kv, argv[3], argv[4], argv[5]);
    jw_kv_free(kv);
    jw_js_free(js);
    jw_conn_free(nc);
    return rc;
}
