/*
 * The server pool: the URLs a connection may use, in the order it tries
 * them. It starts with the servers given to jw_conn_connect and the
 * `servers` option, shuffled unless no_randomize is set, and grows with the
 * `connect_urls` every INFO announces (unless ignore_discovered_servers).
 * The reconnect loop in conn.c walks it round by round and drops a server
 * once it failed max_reconnect_attempts times in a row.
 */
#include "engine.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t jw__pool_random(jw_conn *c)
{
    /* xorshift64*: jitter and shuffling need spread, not secrecy. */
    uint64_t x = c->random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->random_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int find(const jw_conn *c, const char *host, size_t host_len, int port)
{
    for (int i = 0; i < c->server_count; i++) {
        const jw__url *u = &c->servers[i];
        if (u->port == port && strlen(u->host) == host_len &&
            !memcmp(u->host, host, host_len))
            return i;
    }
    return -1;
}

/* Take ownership of *u unless it is already in the pool. */
static jw_status add(jw_conn *c, jw__url *u)
{
    if (find(c, u->host, strlen(u->host), u->port) >= 0) {
        jw__url_clear(u);
        return JW_OK;
    }
    if (c->server_count == c->server_cap) {
        int cap = c->server_cap ? c->server_cap * 2 : 4;
        jw__url *grown = realloc(c->servers, (size_t)cap * sizeof(*grown));
        if (!grown) {
            jw__url_clear(u);
            return jw__fail(JW_ENO_MEMORY, "out of memory");
        }
        c->servers = grown;
        c->server_cap = cap;
    }
    c->servers[c->server_count++] = *u;
    return JW_OK;
}

/* Fisher-Yates over servers[from..count). */
static void shuffle(jw_conn *c, int from)
{
    for (int i = c->server_count - 1; i > from; i--) {
        int j = from + (int)(jw__pool_random(c) % (uint64_t)(i - from + 1));
        jw__url tmp = c->servers[i];
        c->servers[i] = c->servers[j];
        c->servers[j] = tmp;
    }
}

static jw_status add_list(jw_conn *c, const char *list)
{
    jw__url *urls = NULL;
    int count = 0;
    jw_status st = jw__urls_parse(list, &urls, &count);
    for (int i = 0; i < count; i++)
        if (st == JW_OK)
            st = add(c, &urls[i]);
        else
            jw__url_clear(&urls[i]);
    free(urls);
    return st;
}

jw_status jw__pool_init(jw_conn *c, const char *servers)
{
    if (getentropy(&c->random_state, sizeof(c->random_state)) ||
        !c->random_state)
        c->random_state = (uint64_t)jw__now_us() | 1;
    int given = servers && *servers;
    int in_opts = c->opts.servers && *c->opts.servers;
    jw_status st = JW_OK;
    if (given || !in_opts)
        st = add_list(c, servers); /* NULL: the default URL */
    if (st == JW_OK && in_opts)
        st = add_list(c, c->opts.servers);
    if (st == JW_OK && !c->opts.no_randomize)
        shuffle(c, 0);
    return st;
}

void jw__pool_free(jw_conn *c)
{
    for (int i = 0; i < c->server_count; i++)
        jw__url_clear(&c->servers[i]);
    free(c->servers);
    c->servers = NULL;
    c->server_count = c->server_cap = 0;
}

int jw__pool_merge(jw_conn *c, const void *connect_urls)
{
    const json_t *list = connect_urls;
    if (c->opts.ignore_discovered_servers || !json_is_array(list))
        return 0;
    int before = c->server_count;
    int tls = c->servers[c->server_index].tls;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        if (!json_is_string(item))
            continue;
        jw__url u;
        const char *text = json_string_value(item);
        /* Entries are "host:port" without a scheme; ours decides it. */
        if (jw__url_parse(text, strlen(text), &u))
            continue;
        u.tls = u.tls || tls;
        u.implicit = 1;
        add(c, &u);
    }
    /* Newcomers are shuffled among themselves, after the known ones, so
     * clients given the same seed spread over the cluster. */
    if (!c->opts.no_randomize)
        shuffle(c, before);
    return c->server_count - before;
}

void jw__pool_remove(jw_conn *c, int i)
{
    jw__url_clear(&c->servers[i]);
    memmove(&c->servers[i], &c->servers[i + 1],
            (size_t)(c->server_count - i - 1) * sizeof(c->servers[0]));
    c->server_count--;
    if (c->server_index >= i)
        c->server_index--; /* may be -1: the next pick is then 0 */
}

static jw_status list_servers(jw_conn *c, int implicit_only, char *buf,
                              size_t size)
{
    if (!c || !buf || !size)
        return jw__fail(JW_EINVAL, "conn and buf must not be NULL");
    size_t used = 0;
    jw_status st = JW_OK;
    buf[0] = 0;
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < c->server_count; i++) {
        if (implicit_only && !c->servers[i].implicit)
            continue;
        char one[300];
        jw__url_format(&c->servers[i], one, sizeof(one));
        size_t n = strlen(one) + (used ? 1 : 0);
        if (used + n + 1 > size) {
            st = jw__fail(JW_EINVAL,
                          "buffer of %zu bytes too small for the "
                          "server list",
                          size);
            break;
        }
        snprintf(buf + used, size - used, "%s%s", used ? "," : "", one);
        used += n;
    }
    pthread_mutex_unlock(&c->mu);
    return st;
}

jw_status jw_conn_servers(jw_conn *c, char *buf, size_t size)
{
    return list_servers(c, 0, buf, size);
}

jw_status jw_conn_discovered_servers(jw_conn *c, char *buf, size_t size)
{
    return list_servers(c, 1, buf, size);
}
