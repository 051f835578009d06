/*
 * The credential fields of CONNECT for NKey and JWT (decentralized) auth
 * (protocol.md 8): `nkey` or `jwt`, and `sig`, the signature of the
 * server's nonce.
 *
 * The seed file and the .creds file are read at every handshake, as other
 * clients do, so a rotated file is picked up by the next reconnect. Their
 * contents are wiped once the signature is made; no error text names
 * anything read from them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "engine.h"
#include "nkeys.h"

/* Credential files are small; anything larger is not one. */
#define MAX_CREDS_FILE (64 * 1024)

/* Read a whole file into a NUL-terminated buffer (wipe it after use). */
static jw_status read_secret_file(const char *what, const char *path,
                                  char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return jw__fail(JW_EAUTH, "cannot read the %s file '%s': %s", what,
                        path, strerror(errno));
    char *buf = malloc(MAX_CREDS_FILE + 1);
    if (!buf) {
        fclose(f);
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    size_t n = fread(buf, 1, MAX_CREDS_FILE + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err || n > MAX_CREDS_FILE) {
        OPENSSL_cleanse(buf, n);
        free(buf);
        return jw__fail(JW_EAUTH, "the %s file '%s' is %s", what, path,
                        err ? "unreadable" : "too large");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return JW_OK;
}

static void wipe_free_n(char *p, size_t n)
{
    if (p) {
        OPENSSL_cleanse(p, n);
        free(p);
    }
}

/* The seed in a seed file: its first line that starts with 'S'. */
static jw_status seed_of_file(const char *path, char **seed)
{
    char *text;
    size_t len;
    jw_status st = read_secret_file("nkeys seed", path, &text, &len);
    if (st)
        return st;
    *seed = NULL;
    for (char *line = text; line < text + len;) {
        char *end = line + strcspn(line, "\r\n");
        while (line < end && (*line == ' ' || *line == '\t'))
            line++;
        char *stop = end;
        while (stop > line && (stop[-1] == ' ' || stop[-1] == '\t'))
            stop--;
        if (stop > line && *line == 'S') {
            *seed = strndup(line, (size_t)(stop - line));
            if (!*seed)
                st = jw__fail(JW_ENO_MEMORY, "out of memory");
            break;
        }
        line = end + (*end != '\0');
    }
    wipe_free_n(text, len);
    if (st == JW_OK && !*seed)
        st = jw__fail(JW_EAUTH, "the nkeys seed file '%s' holds no seed",
                      path);
    return st;
}

jw_status jw__auth_connect_fields(const jw_opts *o, const char *nonce,
                                  json_t *connect)
{
    char *seed = NULL, *jwt = NULL;
    jw_status st = JW_OK;
    if (o->user_credentials) {
        char *text;
        size_t len;
        st = read_secret_file("credentials", o->user_credentials, &text,
                              &len);
        if (st)
            return st;
        st = jw__creds_parse(text, len, &jwt, &seed);
        wipe_free_n(text, len);
        if (st) {
            char why[128];
            snprintf(why, sizeof(why), "%s", jw_last_error());
            return jw__fail(st, "credentials file '%s': %s",
                            o->user_credentials, why);
        }
    } else if (o->nkeys_seed) {
        st = seed_of_file(o->nkeys_seed, &seed);
        if (st)
            return st;
    } else {
        return JW_OK;
    }

    char pub[JW__NKEY_PUBLIC_LEN + 1];
    char sig[JW__NKEY_SIG_B64_LEN + 1];
    if (jwt)
        st = json_object_set_new(connect, "jwt", json_string(jwt))
                 ? jw__fail(JW_ENO_MEMORY, "out of memory")
                 : JW_OK;
    else if ((st = jw__nkey_public_of_seed(seed, strlen(seed), pub)) == JW_OK)
        st = json_object_set_new(connect, "nkey", json_string(pub))
                 ? jw__fail(JW_ENO_MEMORY, "out of memory")
                 : JW_OK;
    /* The nonce is signed as the text it is in INFO, not decoded. */
    if (st == JW_OK && nonce &&
        (st = jw__nkey_sign(seed, strlen(seed), nonce, strlen(nonce), NULL,
                            sig)) == JW_OK)
        st = json_object_set_new(connect, "sig", json_string(sig))
                 ? jw__fail(JW_ENO_MEMORY, "out of memory")
                 : JW_OK;
    free(jwt);
    jw__wipe_free(seed);
    return st;
}
