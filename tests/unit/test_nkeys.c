/* NKeys encoding, signing and .creds parsing (protocol.md 8). */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "jetwire.h"
#include "nkeys.h"
#include "test.h"

/* protocol.md 8.2's vector: seed bytes 0..31, type user. */
static const char vec_seed[] =
    "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y";
static const char vec_public[] =
    "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK";
static const char vec_nonce[] = "cXcbPW3c3ZmNkw";
static const char vec_sig[] = "yeNzZg63Wvw5ijQnMS0ojD4I6iPN599QFhlPfFQpUAv-"
                              "EASN8PT12xf2rzmQtCGSdMsNDvEHkojYPwbs9E6TDQ";

TEST(nkeys_crc16_check_value)
{
    CHECK_EQ_INT(jw__crc16((const uint8_t *)"123456789", 9), 0x31C3);
    CHECK_EQ_INT(jw__crc16(NULL, 0), 0);
    return 0;
}

TEST(nkeys_base32_round_trip)
{
    uint8_t in[37], out[37];
    char text[64];
    for (size_t n = 0; n <= sizeof(in); n++) {
        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)(i * 37 + n);
        size_t len = jw__base32_encode(in, n, text);
        CHECK_EQ_INT(len, (n * 8 + 4) / 5);
        CHECK_EQ_INT(jw__base32_decode(text, len, out, sizeof(out)), n);
        CHECK(memcmp(in, out, n) == 0);
    }
    CHECK_EQ_INT(jw__base32_encode((const uint8_t *)"f", 1, text), 2);
    CHECK_STR(text, "MY");
    CHECK_EQ_INT(jw__base32_decode("MY1", 3, out, sizeof(out)), (size_t)-1);
    CHECK_EQ_INT(jw__base32_decode("my", 2, out, sizeof(out)), (size_t)-1);
    CHECK_EQ_INT(jw__base32_decode("MZXW6", 5, out, 2), (size_t)-1);
    return 0;
}

TEST(nkeys_spec_vector)
{
    uint8_t raw[32];
    char text[JW__NKEY_SEED_LEN + 1];
    for (int i = 0; i < 32; i++)
        raw[i] = (uint8_t)i;
    jw__nkey_encode_seed(JW__NKEY_USER, raw, text);
    CHECK_STR(text, vec_seed);

    int type = -1;
    uint8_t back[32];
    CHECK_EQ_INT(jw__nkey_decode_seed(vec_seed, strlen(vec_seed), &type, back),
                 JW_OK);
    CHECK_EQ_INT(type, JW__NKEY_USER);
    CHECK(memcmp(raw, back, 32) == 0);

    char pub[JW__NKEY_PUBLIC_LEN + 1];
    CHECK_EQ_INT(jw__nkey_public_of_seed(vec_seed, strlen(vec_seed), pub),
                 JW_OK);
    CHECK_STR(pub, vec_public);

    char sig[JW__NKEY_SIG_B64_LEN + 1];
    CHECK_EQ_INT(jw__nkey_sign(vec_seed, strlen(vec_seed), vec_nonce,
                               strlen(vec_nonce), NULL, sig),
                 JW_OK);
    CHECK_STR(sig, vec_sig);
    return 0;
}

TEST(nkeys_seed_rejected)
{
    int type;
    uint8_t raw[32];
    char bad[sizeof(vec_seed)];
    memcpy(bad, vec_seed, sizeof(bad));
    bad[20] = bad[20] == 'A' ? 'B' : 'A'; /* checksum no longer matches */
    CHECK_EQ_INT(jw__nkey_decode_seed(bad, strlen(bad), &type, raw), JW_EAUTH);
    CHECK(strstr(jw_last_error(), "checksum") != NULL);
    /* The error never repeats the secret. */
    CHECK(strstr(jw_last_error(), bad) == NULL);
    CHECK_EQ_INT(jw__nkey_decode_seed(vec_public, strlen(vec_public), &type,
                                      raw),
                 JW_EAUTH);
    CHECK_EQ_INT(jw__nkey_decode_seed("SUAA", 4, &type, raw), JW_EAUTH);
    CHECK_EQ_INT(jw__nkey_decode_seed("", 0, &type, raw), JW_EAUTH);
    char pub[JW__NKEY_PUBLIC_LEN + 1];
    CHECK_EQ_INT(jw__nkey_public_of_seed("not a seed", 10, pub), JW_EAUTH);
    char sig[JW__NKEY_SIG_B64_LEN + 1];
    CHECK_EQ_INT(jw__nkey_sign(bad, strlen(bad), "x", 1, NULL, sig), JW_EAUTH);
    return 0;
}

TEST(nkeys_sign_verifies)
{
    /* Verify with OpenSSL against the public key the seed encodes. */
    uint8_t sig[JW__NKEY_SIG_LEN];
    const char data[] = "a nonce of some length";
    CHECK_EQ_INT(jw__nkey_sign(vec_seed, strlen(vec_seed), data,
                               sizeof(data) - 1, sig, NULL),
                 JW_OK);
    uint8_t pub_raw[40];
    CHECK_EQ_INT(jw__base32_decode(vec_public, strlen(vec_public), pub_raw,
                                   sizeof(pub_raw)),
                 35);
    EVP_PKEY *key =
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub_raw + 1, 32);
    CHECK(key != NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestVerify(md, sig, sizeof(sig), (const uint8_t *)data,
                              sizeof(data) - 1) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    CHECK(ok);
    return 0;
}

static const char creds_text[] =
    "-----BEGIN NATS USER JWT-----\n"
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVIn0.c2ln\n"
    "------END NATS USER JWT------\n"
    "\n"
    "************************* IMPORTANT *************************\n"
    "NKEY Seed printed below can be used to sign and prove identity.\n"
    "NKEYs are sensitive and should be treated as secrets.\n"
    "\n"
    "-----BEGIN USER NKEY SEED-----\n"
    "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y\n"
    "------END USER NKEY SEED------\n"
    "\n"
    "*************************************************************\n";

TEST(nkeys_creds_standard)
{
    char *jwt = NULL, *seed = NULL;
    CHECK_EQ_INT(jw__creds_parse(creds_text, strlen(creds_text), &jwt, &seed),
                 JW_OK);
    CHECK_STR(jwt, "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ."
                   "eyJzdWIiOiJVIn0.c2ln");
    CHECK_STR(seed, vec_seed);
    free(jwt);
    jw__wipe_free(seed);
    return 0;
}

TEST(nkeys_creds_crlf_and_one_block)
{
    const char crlf[] = "---- BEGIN ----\r\n  JWT.A.B  \r\n---- END ----\r\n"
                        "---\r\nSUSEED\r\n---\r\n";
    char *jwt = NULL, *seed = NULL;
    CHECK_EQ_INT(jw__creds_parse(crlf, strlen(crlf), &jwt, &seed), JW_OK);
    CHECK_STR(jwt, "JWT.A.B");
    CHECK_STR(seed, "SUSEED");
    free(jwt);
    jw__wipe_free(seed);

    const char one[] = "-----BEGIN NATS USER JWT-----\nJ.W.T\n-----END-----\n"
                       "\n   SUABC   \n";
    CHECK_EQ_INT(jw__creds_parse(one, strlen(one), &jwt, &seed), JW_OK);
    CHECK_STR(jwt, "J.W.T");
    CHECK_STR(seed, "SUABC");
    free(jwt);
    jw__wipe_free(seed);
    return 0;
}

TEST(nkeys_creds_missing_parts)
{
    char *jwt = NULL, *seed = NULL;
    CHECK_EQ_INT(jw__creds_parse("", 0, &jwt, &seed), JW_EAUTH);
    CHECK(strstr(jw_last_error(), "JWT") != NULL);
    const char only_jwt[] = "-----\nJ.W.T\n-----\n";
    CHECK_EQ_INT(jw__creds_parse(only_jwt, strlen(only_jwt), &jwt, &seed),
                 JW_EAUTH);
    CHECK(strstr(jw_last_error(), "seed") != NULL);
    /* A content line with a space is not a token: no block. */
    const char spaced[] = "-----\nJ W T\n-----\n-----\nSUA\n-----\n";
    CHECK_EQ_INT(jw__creds_parse(spaced, strlen(spaced), &jwt, &seed),
                 JW_EAUTH);
    CHECK(jwt == NULL && seed == NULL);
    return 0;
}
