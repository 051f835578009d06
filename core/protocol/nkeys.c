/*
 * NKeys: base32 text with a type prefix and a CRC-16 (protocol.md 8.2),
 * ed25519 signatures through OpenSSL's EVP interface, .creds parsing
 * (protocol.md 8.3).
 *
 * Secrets (seeds, private keys) live in stack buffers or heap copies that
 * are wiped with OPENSSL_cleanse before they go, and never reach an error
 * text.
 */
#include "nkeys.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

uint16_t jw__crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    while (n--) {
        crc ^= (uint16_t)(*p++ << 8);
        for (int i = 0; i < 8; i++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

size_t jw__base32_encode(const uint8_t *p, size_t n, char *out)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return o;
}

size_t jw__base32_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v;
        char ch = s[i];
        if (ch >= 'A' && ch <= 'Z')
            v = ch - 'A';
        else if (ch >= '2' && ch <= '7')
            v = ch - '2' + 26;
        else
            return (size_t)-1;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return (size_t)-1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return o;
}

size_t jw__base64url_encode(const uint8_t *p, size_t n, char *out)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        out[o++] = a[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

static void put_crc(uint8_t *raw, size_t n)
{
    uint16_t crc = jw__crc16(raw, n);
    raw[n] = (uint8_t)(crc & 0xff);
    raw[n + 1] = (uint8_t)(crc >> 8);
}

void jw__nkey_encode_public(int type, const uint8_t raw[32], char *out)
{
    uint8_t buf[35];
    buf[0] = (uint8_t)type;
    memcpy(buf + 1, raw, 32);
    put_crc(buf, 33);
    jw__base32_encode(buf, sizeof(buf), out);
}

void jw__nkey_encode_seed(int type, const uint8_t raw[32], char *out)
{
    uint8_t buf[36];
    buf[0] = (uint8_t)(JW__NKEY_SEED | (type >> 5));
    buf[1] = (uint8_t)((type & 31) << 3);
    memcpy(buf + 2, raw, 32);
    put_crc(buf, 34);
    jw__base32_encode(buf, sizeof(buf), out);
    OPENSSL_cleanse(buf, sizeof(buf));
}

jw_status jw__nkey_decode_seed(const char *seed, size_t len, int *type,
                               uint8_t raw[32])
{
    uint8_t buf[40];
    jw_status st = JW_OK;
    size_t n = jw__base32_decode(seed, len, buf, sizeof(buf));
    if (n != 36)
        st = jw__fail(JW_EAUTH, "nkey seed is not %d base32 characters",
                      JW__NKEY_SEED_LEN);
    else if (jw__crc16(buf, 34) != (uint16_t)(buf[34] | buf[35] << 8))
        st = jw__fail(JW_EAUTH, "nkey seed has a bad checksum");
    else if ((buf[0] & 0xf8) != JW__NKEY_SEED)
        st = jw__fail(JW_EAUTH, "nkey is not a seed (does not start with S)");
    if (st == JW_OK) {
        *type = ((buf[0] & 7) << 5) | ((buf[1] & 0xf8) >> 3);
        memcpy(raw, buf + 2, 32);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return st;
}

/* The OpenSSL key of a seed. */
static jw_status key_of_seed(const char *seed, size_t len, int *type,
                             EVP_PKEY **key)
{
    uint8_t raw[32];
    jw_status st = jw__nkey_decode_seed(seed, len, type, raw);
    if (st)
        return st;
    *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32);
    OPENSSL_cleanse(raw, sizeof(raw));
    if (!*key)
        return jw__fail(JW_ENO_MEMORY, "cannot make an ed25519 key");
    return JW_OK;
}

jw_status jw__nkey_public_of_seed(const char *seed, size_t len, char *out)
{
    int type;
    EVP_PKEY *key;
    jw_status st = key_of_seed(seed, len, &type, &key);
    if (st)
        return st;
    uint8_t pub[32];
    size_t pub_len = sizeof(pub);
    if (EVP_PKEY_get_raw_public_key(key, pub, &pub_len) != 1 || pub_len != 32)
        st = jw__fail(JW_EAUTH, "cannot derive the public key of the seed");
    else
        jw__nkey_encode_public(type, pub, out);
    EVP_PKEY_free(key);
    return st;
}

jw_status jw__nkey_sign(const char *seed, size_t len, const void *data,
                        size_t data_len, uint8_t *sig, char *sig_b64)
{
    int type;
    EVP_PKEY *key;
    jw_status st = key_of_seed(seed, len, &type, &key);
    if (st)
        return st;
    uint8_t out[JW__NKEY_SIG_LEN];
    size_t out_len = sizeof(out);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
        EVP_DigestSign(md, out, &out_len, data, data_len) != 1 ||
        out_len != sizeof(out))
        st = jw__fail(JW_EAUTH, "ed25519 signing failed");
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    if (st == JW_OK) {
        if (sig)
            memcpy(sig, out, sizeof(out));
        if (sig_b64)
            jw__base64url_encode(out, sizeof(out), sig_b64);
    }
    return st;
}

void jw__wipe_free(char *secret)
{
    if (secret) {
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret);
    }
}

/* .creds parsing ----------------------------------------------------------
 * A block is a fence line (three or more dashes, then anything), one
 * content line of [A-Za-z0-9_.=-], and a closing fence line. */

typedef struct line {
    const char *p;
    size_t n;
} line;

/* The next line of [*pos, end), without its CR LF or LF; 0 at the end. */
static int next_line(const char **pos, const char *end, line *out)
{
    if (*pos >= end)
        return 0;
    const char *p = *pos;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    *pos = nl ? nl + 1 : end;
    /* Trim surrounding blanks and a CR. */
    while (p < stop && (*p == ' ' || *p == '\t'))
        p++;
    while (stop > p && (stop[-1] == '\r' || stop[-1] == ' ' ||
                        stop[-1] == '\t'))
        stop--;
    out->p = p;
    out->n = (size_t)(stop - p);
    return 1;
}

static int is_fence(const line *l)
{
    return l->n >= 3 && l->p[0] == '-' && l->p[1] == '-' && l->p[2] == '-';
}

static int is_token(const line *l)
{
    if (l->n == 0)
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        char c = l->p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
              c == '='))
            return 0;
    }
    return 1;
}

static char *copy_line(const line *l)
{
    char *s = malloc(l->n + 1);
    if (s) {
        memcpy(s, l->p, l->n);
        s[l->n] = '\0';
    }
    return s;
}

jw_status jw__creds_parse(const char *text, size_t len, char **jwt,
                          char **seed)
{
    const char *pos = text, *end = text + len;
    line blocks[2];
    int found = 0;
    line prev2 = {0}, prev1 = {0}, cur;
    int have = 0;
    /* Slide a window of three lines looking for fence/token/fence. */
    while (found < 2 && next_line(&pos, end, &cur)) {
        if (have >= 2 && is_fence(&prev2) && is_token(&prev1) &&
            is_fence(&cur)) {
            blocks[found++] = prev1;
            have = 0;
            continue;
        }
        prev2 = prev1;
        prev1 = cur;
        have++;
    }
    if (found == 1) {
        /* One block: the seed is a bare line starting SU, SA or SO. */
        pos = text;
        while (next_line(&pos, end, &cur)) {
            if (cur.p != blocks[0].p && cur.n >= 2 && cur.p[0] == 'S' &&
                (cur.p[1] == 'U' || cur.p[1] == 'A' || cur.p[1] == 'O') &&
                is_token(&cur)) {
                blocks[found++] = cur;
                break;
            }
        }
    }
    if (found < 2)
        return jw__fail(JW_EAUTH, "credentials hold no %s",
                        found ? "nkey seed" : "user JWT");
    *jwt = copy_line(&blocks[0]);
    *seed = copy_line(&blocks[1]);
    if (!*jwt || !*seed) {
        free(*jwt);
        jw__wipe_free(*seed);
        *jwt = *seed = NULL;
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    }
    return JW_OK;
}
