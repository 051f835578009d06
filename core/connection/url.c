/* Server URLs: "nats://user:pass@host:port", "tls://token@host", "host:4222",
 * "[::1]:4222", and comma-separated lists of them. */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_range(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

void jw__url_clear(jw__url *u)
{
    free(u->host);
    free(u->user);
    free(u->password);
    free(u->token);
    memset(u, 0, sizeof(*u));
}

jw_status jw__url_parse(const char *text, size_t len, jw__url *out)
{
    memset(out, 0, sizeof(*out));
    const char *p = text, *end = text + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (p == end)
        return jw__fail(JW_EINVAL, "empty server URL");

    const char *sep = NULL;
    for (const char *q = p; q + 2 < end; q++)
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
            sep = q;
            break;
        }
    if (sep) {
        size_t n = (size_t)(sep - p);
        if (n == 4 && !strncmp(p, "nats", 4))
            out->tls = 0;
        else if (n == 3 && !strncmp(p, "tls", 3))
            out->tls = 1;
        else
            return jw__fail(JW_EINVAL, "unsupported URL scheme '%.*s'",
                            (int)n, p);
        p = sep + 3;
    }

    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            out->user = dup_range(p, (size_t)(colon - p));
            out->password = dup_range(colon + 1, (size_t)(at - colon - 1));
        } else {
            out->token = dup_range(p, (size_t)(at - p));
        }
        p = at + 1;
    }

    const char *host = p, *host_end;
    if (p < end && *p == '[') {
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (!host_end)
            goto bad;
        p = host_end + 1;
    } else {
        host_end = memchr(p, ':', (size_t)(end - p));
        if (!host_end)
            host_end = end;
        const char *slash = memchr(p, '/', (size_t)(host_end - p));
        if (slash)
            host_end = slash;
        p = host_end;
    }
    if (host_end == host)
        goto bad;
    out->port = 4222;
    if (p < end && *p == ':') {
        long port = 0;
        const char *q = p + 1;
        if (q == end)
            goto bad;
        for (; q < end && *q != '/'; q++) {
            if (*q < '0' || *q > '9' || (port = port * 10 + *q - '0') > 65535)
                goto bad;
        }
        if (port == 0)
            goto bad;
        out->port = (int)port;
    }
    out->host = dup_range(host, (size_t)(host_end - host));
    if (!out->host) {
        jw__url_clear(out);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    return JW_OK;
bad:
    jw__url_clear(out);
    return jw__fail(JW_EINVAL, "invalid server URL '%.*s'", (int)len, text);
}

jw_status jw__urls_parse(const char *list, jw__url **out, int *count)
{
    if (!list || !*list)
        list = "nats://127.0.0.1:4222";
    int n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    jw__url *urls = calloc((size_t)n, sizeof(*urls));
    if (!urls)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    int used = 0;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        jw_status st = jw__url_parse(p, len, &urls[used]);
        if (st) {
            for (int i = 0; i < used; i++)
                jw__url_clear(&urls[i]);
            free(urls);
            return st;
        }
        used++;
        if (!comma)
            break;
        p = comma + 1;
    }
    *out = urls;
    *count = used;
    return JW_OK;
}

void jw__url_format(const jw__url *u, char *buf, size_t size)
{
    int v6 = strchr(u->host, ':') != NULL;
    snprintf(buf, size, "%s://%s%s%s:%d", u->tls ? "tls" : "nats",
             v6 ? "[" : "", u->host, v6 ? "]" : "", u->port);
}
