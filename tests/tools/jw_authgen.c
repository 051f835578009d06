/*
 * jw_authgen DIR: writes a self-contained decentralized-auth setup for
 * tests, with fresh keys each run (no nsc needed):
 *
 *   DIR/operator.jwt     the operator, self-signed
 *   DIR/server.conf      include-able: operator, MEMORY resolver, a
 *                        system account and a TEST account preloaded
 *   DIR/user.creds       a valid user of that account
 *   DIR/expired.creds    a user whose JWT expired an hour ago
 *   DIR/untrusted.creds  a user of an account the operator never signed
 *   DIR/user.nk          a bare user seed (for NKey auth: DIR/nkey.conf)
 *   DIR/nkey.conf        include-able: an authorization block admitting
 *                        user.nk's public key
 *
 * JWTs follow the nats-io/jwt v2 shape: header {"typ":"JWT","alg":
 * "ed25519-nkey"}, claims with jti/iat/iss/sub/name and a "nats" object
 * (type, version 2), signed over "header.claims" with the issuer's seed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "nkeys.h"

typedef struct key {
    char seed[JW__NKEY_SEED_LEN + 1];
    char pub[JW__NKEY_PUBLIC_LEN + 1];
} key;

static void die(const char *what)
{
    fprintf(stderr, "jw_authgen: %s\n", what);
    exit(1);
}

static void new_key(int type, key *k)
{
    uint8_t raw[32];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        die("no randomness");
    jw__nkey_encode_seed(type, raw, k->seed);
    if (jw__nkey_public_of_seed(k->seed, strlen(k->seed), k->pub))
        die("cannot derive a public key");
}

static char *b64url(const void *p, size_t n)
{
    char *out = malloc((n * 4 + 2) / 3 + 1);
    if (!out)
        die("out of memory");
    jw__base64url_encode(p, n, out);
    return out;
}

/* Sign claims (takes ownership) with the issuer's key; returns the JWT. */
static char *encode_jwt(json_t *claims, const key *issuer)
{
    json_object_set_new(claims, "iss", json_string(issuer->pub));
    json_object_set_new(claims, "iat", json_integer((json_int_t)time(NULL)));
    /* jti: base32 of SHA-512/256 over the claims without it. */
    char *plain = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    uint8_t digest[32];
    unsigned int dlen = sizeof(digest);
    if (!plain || EVP_Digest(plain, strlen(plain), digest, &dlen,
                             EVP_sha512_256(), NULL) != 1)
        die("cannot hash the claims");
    free(plain);
    char jti[64];
    jw__base32_encode(digest, dlen, jti);
    json_object_set_new(claims, "jti", json_string(jti));

    static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}";
    char *body = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    if (!body)
        die("out of memory");
    char *h64 = b64url(header, strlen(header));
    char *c64 = b64url(body, strlen(body));
    free(body);
    size_t signed_len = strlen(h64) + 1 + strlen(c64);
    char *jwt = malloc(signed_len + 1 + JW__NKEY_SIG_B64_LEN + 1);
    if (!jwt)
        die("out of memory");
    sprintf(jwt, "%s.%s", h64, c64);
    char sig[JW__NKEY_SIG_B64_LEN + 1];
    if (jw__nkey_sign(issuer->seed, strlen(issuer->seed), jwt, signed_len,
                      NULL, sig))
        die("cannot sign");
    strcat(jwt, ".");
    strcat(jwt, sig);
    free(h64);
    free(c64);
    return jwt;
}

static json_t *claims_for(const char *name, const key *subject,
                          const char *type)
{
    json_t *c = json_pack("{s:s, s:s, s:{s:s, s:i}}", "name", name, "sub",
                          subject->pub, "nats", "type", type, "version", 2);
    if (!c)
        die("out of memory");
    return c;
}

/* An account without limits; with JetStream unless it is the system
 * account (the server refuses JetStream there). */
static char *account_jwt(const char *name, const key *acct, const key *op,
                         int jetstream)
{
    json_t *c = claims_for(name, acct, "account");
    json_t *limits = json_pack(
        "{s:i, s:i, s:i, s:i, s:i, s:b, s:i, s:i}", "subs", -1, "data", -1,
        "payload", -1, "imports", -1, "exports", -1, "wildcards", 1, "conn",
        -1, "leaf", -1);
    if (jetstream) {
        json_object_set_new(limits, "mem_storage", json_integer(-1));
        json_object_set_new(limits, "disk_storage", json_integer(-1));
        json_object_set_new(limits, "streams", json_integer(-1));
        json_object_set_new(limits, "consumer", json_integer(-1));
    }
    json_object_set_new(json_object_get(c, "nats"), "limits", limits);
    return encode_jwt(c, op);
}

static char *user_jwt(const key *user, const key *acct, long long exp)
{
    json_t *c = claims_for("test-user", user, "user");
    json_t *nats = json_object_get(c, "nats");
    json_object_set_new(nats, "pub", json_object());
    json_object_set_new(nats, "sub", json_object());
    json_object_set_new(nats, "subs", json_integer(-1));
    json_object_set_new(nats, "data", json_integer(-1));
    json_object_set_new(nats, "payload", json_integer(-1));
    if (exp)
        json_object_set_new(c, "exp", json_integer(exp));
    return encode_jwt(c, acct);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "jw_authgen: %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

static void write_creds(const char *dir, const char *name, const char *jwt,
                        const key *user)
{
    char *text = malloc(strlen(jwt) + 1024);
    if (!text)
        die("out of memory");
    sprintf(text,
            "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n"
            "\n"
            "************************* IMPORTANT *************************\n"
            "NKEY Seed printed below can be used to sign and prove identity.\n"
            "NKEYs are sensitive and should be treated as secrets.\n"
            "\n"
            "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n"
            "\n"
            "*************************************************************\n",
            jwt, user->seed);
    write_file(dir, name, text);
    free(text);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: jw_authgen DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    key op, sys, acct, stranger, user, user_exp, user_stranger, bare;
    new_key(JW__NKEY_OPERATOR, &op);
    new_key(JW__NKEY_ACCOUNT, &sys);
    new_key(JW__NKEY_ACCOUNT, &acct);
    new_key(JW__NKEY_ACCOUNT, &stranger);
    new_key(JW__NKEY_USER, &user);
    new_key(JW__NKEY_USER, &user_exp);
    new_key(JW__NKEY_USER, &user_stranger);
    new_key(JW__NKEY_USER, &bare);

    char *op_jwt = encode_jwt(claims_for("jetwire-test", &op, "operator"),
                              &op);
    char *sys_jwt = account_jwt("SYS", &sys, &op, 0);
    char *acct_jwt = account_jwt("TEST", &acct, &op, 1);
    char *u_jwt = user_jwt(&user, &acct, 0);
    char *e_jwt = user_jwt(&user_exp, &acct, (long long)time(NULL) - 3600);
    char *s_jwt = user_jwt(&user_stranger, &stranger, 0);

    write_file(dir, "operator.jwt", op_jwt);
    char conf[8192];
    snprintf(conf, sizeof(conf),
             "operator: \"%s/operator.jwt\"\n"
             "system_account: %s\n"
             "resolver: MEMORY\n"
             "resolver_preload: {\n  %s: \"%s\"\n  %s: \"%s\"\n}\n",
             dir, sys.pub, sys.pub, sys_jwt, acct.pub, acct_jwt);
    write_file(dir, "server.conf", conf);
    write_creds(dir, "user.creds", u_jwt, &user);
    write_creds(dir, "expired.creds", e_jwt, &user_exp);
    write_creds(dir, "untrusted.creds", s_jwt, &user_stranger);
    char seed_line[JW__NKEY_SEED_LEN + 2];
    snprintf(seed_line, sizeof(seed_line), "%s\n", bare.seed);
    write_file(dir, "user.nk", seed_line);
    snprintf(conf, sizeof(conf),
             "authorization {\n  users = [ { nkey: %s } ]\n}\n", bare.pub);
    write_file(dir, "nkey.conf", conf);

    free(op_jwt);
    free(sys_jwt);
    free(acct_jwt);
    free(u_jwt);
    free(e_jwt);
    free(s_jwt);
    return 0;
}
