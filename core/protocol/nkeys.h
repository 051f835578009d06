/*
 * NKeys (protocol.md 8): the text encoding of ed25519 keys NATS uses for
 * authentication, signing the server's nonce, and reading .creds files.
 * The signature itself is OpenSSL's ed25519.
 */
#ifndef JW_NKEYS_H
#define JW_NKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "jetwire.h"

/* Type prefixes: the first base32 character of an encoded key. */
#define JW__NKEY_SEED     (18 << 3) /* 'S' */
#define JW__NKEY_OPERATOR (14 << 3) /* 'O' */
#define JW__NKEY_ACCOUNT  0         /* 'A' */
#define JW__NKEY_USER     (20 << 3) /* 'U' */

/* Encoded lengths, without the terminating NUL. */
#define JW__NKEY_PUBLIC_LEN 56
#define JW__NKEY_SEED_LEN   58
/* An ed25519 signature, and its unpadded base64url text. */
#define JW__NKEY_SIG_LEN     64
#define JW__NKEY_SIG_B64_LEN 86

/* CRC-16/XMODEM, as NKeys append it (little-endian). */
uint16_t jw__crc16(const uint8_t *p, size_t n);

/* RFC 4648 base32 without padding: out holds (n * 8 + 4) / 5 + 1 bytes;
 * returns the text length. */
size_t jw__base32_encode(const uint8_t *p, size_t n, char *out);
/* Decode; returns the byte count, or (size_t)-1 on a bad character or an
 * input that does not fit in cap bytes. */
size_t jw__base32_decode(const char *s, size_t len, uint8_t *out, size_t cap);

/* Unpadded base64url (Go's RawURLEncoding): out holds (n * 4 + 2) / 3 + 1
 * bytes; returns the text length. */
size_t jw__base64url_encode(const uint8_t *p, size_t n, char *out);

/* Encode the 32 raw bytes of a key as a public key of type `type`, or as
 * a seed of that type. out holds JW__NKEY_PUBLIC_LEN + 1 (resp.
 * JW__NKEY_SEED_LEN + 1) bytes. */
void jw__nkey_encode_public(int type, const uint8_t raw[32], char *out);
void jw__nkey_encode_seed(int type, const uint8_t raw[32], char *out);

/* Decode a seed: its type and its 32 bytes. JW_EAUTH with the reason
 * (never the seed itself) when it is not a well-formed seed. */
jw_status jw__nkey_decode_seed(const char *seed, size_t len, int *type,
                               uint8_t raw[32]);

/* The public key of a seed, encoded (out: JW__NKEY_PUBLIC_LEN + 1). */
jw_status jw__nkey_public_of_seed(const char *seed, size_t len, char *out);

/* Sign data with a seed; sig_b64 (JW__NKEY_SIG_B64_LEN + 1 bytes) gets the
 * unpadded base64url signature, sig (may be NULL) the raw 64 bytes. */
jw_status jw__nkey_sign(const char *seed, size_t len, const void *data,
                        size_t data_len, uint8_t *sig, char *sig_b64);

/* A .creds file's text: the first fenced block is the user JWT, the second
 * the seed (or, with one block, a line starting SU/SA/SO). On success the
 * two are NUL-terminated copies the caller frees (wipe the seed first:
 * jw__wipe_free). */
jw_status jw__creds_parse(const char *text, size_t len, char **jwt,
                          char **seed);

/* Overwrite a secret string before freeing it. NULL is fine. */
void jw__wipe_free(char *secret);

#endif
