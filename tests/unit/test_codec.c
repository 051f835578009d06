/* MessagePack packing and unpacking through the public API. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "jetwire.h"
#include "test.h"

/* Unpack a heap copy of exactly len bytes, so ASan sees any over-read. */
static int unpack_exact(const void *data, size_t len, jw_unpacked **out)
{
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy)
        return JW_ENO_MEMORY;
    if (len)
        memcpy(copy, data, len);
    int rc = jw_unpack(copy, len, out);
    free(copy);
    return rc;
}

#define UNPACK_BYTES(u, ...)                                                \
    do {                                                                    \
        static const unsigned char bytes_[] = {__VA_ARGS__};                \
        CHECK_EQ_INT(unpack_exact(bytes_, sizeof(bytes_), &(u)), 0);        \
    } while (0)

#define REJECT_BYTES(...)                                                   \
    do {                                                                    \
        static const unsigned char bytes_[] = {__VA_ARGS__};                \
        jw_unpacked *u_ = (jw_unpacked *)1;                                 \
        CHECK_EQ_INT(unpack_exact(bytes_, sizeof(bytes_), &u_), JW_EINVAL); \
        CHECK(u_ == NULL);                                                  \
    } while (0)

TEST(codec_int_edges)
{
    static const struct {
        int64_t value;
        size_t size; /* encoded bytes */
    } ints[] = {
        {0, 1}, {1, 1}, {127, 1}, {128, 2}, {255, 2}, {256, 3},
        {65535, 3}, {65536, 5}, {4294967295LL, 5}, {4294967296LL, 9},
        {INT64_MAX, 9}, {-1, 1}, {-32, 1}, {-33, 2}, {-128, 2}, {-129, 3},
        {-32768, 3}, {-32769, 5}, {INT32_MIN, 5}, {INT64_MIN, 9},
    };
    jw_packer *p;
    CHECK_EQ_INT(jw_packer_new(&p), 0);
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        int64_t want = ints[i].value;
        jw_packer_reset(p);
        CHECK_EQ_INT(jw_pack_int(p, want), 0);
        size_t len;
        const void *data = jw_packer_data(p, &len);
        CHECK_EQ_INT(len, ints[i].size);
        jw_unpacked *u;
        CHECK_EQ_INT(unpack_exact(data, len, &u), 0);
        const jw_value *v = jw_unpacked_root(u);
        CHECK_EQ_INT(jw_value_type_get(v),
                     want < 0 ? JW_VALUE_INT : JW_VALUE_UINT);
        CHECK_EQ_INT(jw_value_int(v), want);
        if (want >= 0)
            CHECK(jw_value_uint(v) == (uint64_t)want);
        else
            CHECK(jw_value_uint(v) == 0); /* no negative fits a uint */
        CHECK(jw_value_double(v) == 0);
        jw_unpacked_free(u);
    }
    jw_packer_free(p);
    return 0;
}

TEST(codec_uint_edges)
{
    static const uint64_t uints[] = {
        0, 127, 128, 255, 256, 65535, 65536, 4294967295ULL, 4294967296ULL,
        (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX,
    };
    jw_packer *p;
    CHECK_EQ_INT(jw_packer_new(&p), 0);
    for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
        jw_packer_reset(p);
        CHECK_EQ_INT(jw_pack_uint(p, uints[i]), 0);
        size_t len;
        const void *data = jw_packer_data(p, &len);
        jw_unpacked *u;
        CHECK_EQ_INT(unpack_exact(data, len, &u), 0);
        const jw_value *v = jw_unpacked_root(u);
        CHECK_EQ_INT(jw_value_type_get(v), JW_VALUE_UINT);
        CHECK(jw_value_uint(v) == uints[i]);
        /* Past INT64_MAX the value does not fit the signed getter. */
        if (uints[i] > (uint64_t)INT64_MAX)
            CHECK_EQ_INT(jw_value_int(v), 0);
        else
            CHECK_EQ_INT(jw_value_int(v), (int64_t)uints[i]);
        jw_unpacked_free(u);
    }
    jw_packer_free(p);
    return 0;
}

TEST(codec_int_encodings)
{
    /* Every integer encoding decodes, whatever width the sender chose. */
    jw_unpacked *u;
    UNPACK_BYTES(u, 0xd0, 0x05); /* int8 holding a positive value */
    CHECK_EQ_INT(jw_value_type_get(jw_unpacked_root(u)), JW_VALUE_UINT);
    CHECK_EQ_INT(jw_value_int(jw_unpacked_root(u)), 5);
    jw_unpacked_free(u);
    UNPACK_BYTES(u, 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe);
    CHECK_EQ_INT(jw_value_type_get(jw_unpacked_root(u)), JW_VALUE_INT);
    CHECK_EQ_INT(jw_value_int(jw_unpacked_root(u)), -2);
    jw_unpacked_free(u);
    UNPACK_BYTES(u, 0xcf, 0, 0, 0, 0, 0, 0, 0x01, 0x00);
    CHECK(jw_value_uint(jw_unpacked_root(u)) == 256);
    jw_unpacked_free(u);
    UNPACK_BYTES(u, 0xcd, 0x12, 0x34);
    CHECK(jw_value_uint(jw_unpacked_root(u)) == 0x1234);
    jw_unpacked_free(u);
    return 0;
}

/* Pack one double and read it back. */
static int double_round_trip(double in, double *out, int *type)
{
    jw_packer *p;
    jw_unpacked *u;
    size_t len;
    if (jw_packer_new(&p) || jw_pack_double(p, in))
        return 1;
    const void *data = jw_packer_data(p, &len);
    int rc = unpack_exact(data, len, &u);
    jw_packer_free(p);
    if (rc)
        return rc;
    *out = jw_value_double(jw_unpacked_root(u));
    *type = jw_value_type_get(jw_unpacked_root(u));
    jw_unpacked_free(u);
    return 0;
}

TEST(codec_doubles)
{
    static const double values[] = {
        0.5, 0.0, 1e300, -1e300, 3.141592653589793, 5e-324, -2.5,
    };
    double got;
    int type;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        CHECK_EQ_INT(double_round_trip(values[i], &got, &type), 0);
        CHECK_EQ_INT(type, JW_VALUE_DOUBLE);
        CHECK(memcmp(&got, &values[i], sizeof(got)) == 0);
    }
    CHECK_EQ_INT(double_round_trip(-0.0, &got, &type), 0);
    CHECK(got == 0.0 && signbit(got));
    CHECK_EQ_INT(double_round_trip(NAN, &got, &type), 0);
    CHECK(isnan(got));
    CHECK_EQ_INT(double_round_trip(INFINITY, &got, &type), 0);
    CHECK(isinf(got) && got > 0);
    CHECK_EQ_INT(double_round_trip(-INFINITY, &got, &type), 0);
    CHECK(isinf(got) && got < 0);

    /* A float32 from another sender arrives widened. */
    jw_unpacked *u;
    UNPACK_BYTES(u, 0xca, 0x3f, 0x40, 0x00, 0x00); /* 0.75f */
    CHECK_EQ_INT(jw_value_type_get(jw_unpacked_root(u)), JW_VALUE_DOUBLE);
    CHECK(jw_value_double(jw_unpacked_root(u)) == 0.75);
    CHECK_EQ_INT(jw_value_int(jw_unpacked_root(u)), 0);
    jw_unpacked_free(u);
    return 0;
}

TEST(codec_nil_bool)
{
    jw_unpacked *u;
    UNPACK_BYTES(u, 0xc0);
    CHECK_EQ_INT(jw_value_type_get(jw_unpacked_root(u)), JW_VALUE_NIL);
    CHECK_EQ_INT(jw_value_bool(jw_unpacked_root(u)), 0);
    jw_unpacked_free(u);

    jw_packer *p;
    CHECK_EQ_INT(jw_packer_new(&p), 0);
    CHECK_EQ_INT(jw_pack_array(p, 4), 0);
    CHECK_EQ_INT(jw_pack_nil(p), 0);
    CHECK_EQ_INT(jw_pack_bool(p, 1), 0);
    CHECK_EQ_INT(jw_pack_bool(p, 0), 0);
    CHECK_EQ_INT(jw_pack_bool(p, 42), 0); /* any non-zero is true */
    size_t len;
    const unsigned char *data = jw_packer_data(p, &len);
    CHECK_EQ_INT(len, 5);
    CHECK(memcmp(data, "\x94\xc0\xc3\xc2\xc3", 5) == 0);
    CHECK_EQ_INT(unpack_exact(data, len, &u), 0);
    const jw_value *root = jw_unpacked_root(u);
    CHECK_EQ_INT(jw_value_type_get(jw_value_array_at(root, 0)), JW_VALUE_NIL);
    CHECK_EQ_INT(jw_value_type_get(jw_value_array_at(root, 1)),
                 JW_VALUE_BOOL);
    CHECK_EQ_INT(jw_value_bool(jw_value_array_at(root, 1)), 1);
    CHECK_EQ_INT(jw_value_bool(jw_value_array_at(root, 2)), 0);
    CHECK_EQ_INT(jw_value_bool(jw_value_array_at(root, 3)), 1);
    CHECK_EQ_INT(jw_value_uint(jw_value_array_at(root, 1)), 0);
    jw_unpacked_free(u);
    jw_packer_free(p);
    return 0;
}

TEST(codec_str_bin)
{
    static const char binary[] = {'a', '\0', 'b', '\0', '\xff'};
    char long_str[40];
    memset(long_str, 's', sizeof(long_str));
    jw_packer *p;
    CHECK_EQ_INT(jw_packer_new(&p), 0);
    CHECK_EQ_INT(jw_pack_array(p, 6), 0);
    CHECK_EQ_INT(jw_pack_str(p, "héllo", 6), 0);
    CHECK_EQ_INT(jw_pack_bin(p, binary, sizeof(binary)), 0);
    CHECK_EQ_INT(jw_pack_str(p, binary, sizeof(binary)), 0);
    CHECK_EQ_INT(jw_pack_str(p, NULL, 0), 0);
    CHECK_EQ_INT(jw_pack_bin(p, NULL, 0), 0);
    CHECK_EQ_INT(jw_pack_str(p, long_str, sizeof(long_str)), 0);
    size_t len;
    const unsigned char *data = jw_packer_data(p, &len);
    /* A 40-byte string is str8 (0xd9), never the bin family. */
    CHECK_EQ_INT(data[len - 42], 0xd9);

    jw_unpacked *u;
    CHECK_EQ_INT(unpack_exact(data, len, &u), 0);
    const jw_value *root = jw_unpacked_root(u);
    CHECK_EQ_INT(jw_value_count(root), 6);
    static const jw_value_type types[] = {
        JW_VALUE_STR, JW_VALUE_BIN, JW_VALUE_STR,
        JW_VALUE_STR, JW_VALUE_BIN, JW_VALUE_STR,
    };
    for (uint32_t i = 0; i < 6; i++)
        CHECK_EQ_INT(jw_value_type_get(jw_value_array_at(root, i)), types[i]);
    size_t n = 99;
    const char *bytes = jw_value_bytes(jw_value_array_at(root, 0), &n);
    CHECK_MEM_STR(bytes, n, "héllo");
    bytes = jw_value_bytes(jw_value_array_at(root, 1), &n);
    CHECK(n == sizeof(binary) && memcmp(bytes, binary, n) == 0);
    bytes = jw_value_bytes(jw_value_array_at(root, 2), &n);
    CHECK(n == sizeof(binary) && memcmp(bytes, binary, n) == 0);
    /* Empty values are values: a pointer and a zero length. */
    bytes = jw_value_bytes(jw_value_array_at(root, 3), &n);
    CHECK(bytes != NULL && n == 0);
    bytes = jw_value_bytes(jw_value_array_at(root, 4), &n);
    CHECK(bytes != NULL && n == 0);
    bytes = jw_value_bytes(jw_value_array_at(root, 5), &n);
    CHECK(n == sizeof(long_str) && memcmp(bytes, long_str, n) == 0);
    CHECK(jw_value_bytes(jw_value_array_at(root, 0), NULL) != NULL);
    jw_unpacked_free(u);
    jw_packer_free(p);
    return 0;
}

TEST(codec_ext)
{
    jw_unpacked *u;
    UNPACK_BYTES(u, 0xd4, 0x05, 0xaa); /* fixext1, type 5 */
    const jw_value *v = jw_unpacked_root(u);
    CHECK_EQ_INT(jw_value_type_get(v), JW_VALUE_EXT);
    CHECK_EQ_INT(jw_value_ext_type(v), 5);
    size_t n;
    const char *bytes = jw_value_bytes(v, &n);
    CHECK(n == 1 && (unsigned char)bytes[0] == 0xaa);
    jw_unpacked_free(u);
    UNPACK_BYTES(u, 0xc7, 0x02, 0xff, 0x01, 0x02); /* ext8, type -1 */
    v = jw_unpacked_root(u);
    CHECK_EQ_INT(jw_value_ext_type(v), -1);
    bytes = jw_value_bytes(v, &n);
    CHECK(n == 2 && bytes[0] == 1 && bytes[1] == 2);
    jw_unpacked_free(u);
    UNPACK_BYTES(u, 0xc7, 0x00, 0x07); /* empty ext8 */
    CHECK_EQ_INT(jw_value_ext_type(jw_unpacked_root(u)), 7);
    jw_unpacked_free(u);
    return 0;
}

/* {"a": [1, -2, "x", {"b": nil}], "bin": <00 01>, "t": true, "e": [],
 *  "m": {}, "f": 0.5} */
static int pack_nested(jw_packer *p)
{
    return jw_pack_map(p, 6) || jw_pack_str(p, "a", 1) ||
           jw_pack_array(p, 4) || jw_pack_int(p, 1) || jw_pack_int(p, -2) ||
           jw_pack_str(p, "x", 1) || jw_pack_map(p, 1) ||
           jw_pack_str(p, "b", 1) || jw_pack_nil(p) ||
           jw_pack_str(p, "bin", 3) || jw_pack_bin(p, "\0\1", 2) ||
           jw_pack_str(p, "t", 1) || jw_pack_bool(p, 1) ||
           jw_pack_str(p, "e", 1) || jw_pack_array(p, 0) ||
           jw_pack_str(p, "m", 1) || jw_pack_map(p, 0) ||
           jw_pack_str(p, "f", 1) || jw_pack_double(p, 0.5);
}

TEST(codec_nested_round_trip)
{
    jw_packer *p;
    CHECK_EQ_INT(jw_packer_new(&p), 0);
    CHECK_EQ_INT(pack_nested(p), 0);
    size_t len, n;
    const void *data = jw_packer_data(p, &len);
    /* The tree must outlive the input: unpack from a scratch copy. */
    unsigned char *scratch = malloc(len);
    CHECK(scratch != NULL);
    memcpy(scratch, data, len);
    jw_unpacked *u;
    CHECK_EQ_INT(jw_unpack(scratch, len, &u), 0);
    memset(scratch, 0xc1, len);
    free(scratch);

    const jw_value *root = jw_unpacked_root(u);
    CHECK_EQ_INT(jw_value_type_get(root), JW_VALUE_MAP);
    CHECK_EQ_INT(jw_value_count(root), 6);
    static const char *const keys[] = {"a", "bin", "t", "e", "m", "f"};
    for (uint32_t i = 0; i < 6; i++) {
        const char *k = jw_value_bytes(jw_value_map_key(root, i), &n);
        CHECK_MEM_STR(k, n, keys[i]);
    }
    const jw_value *a = jw_value_map_val(root, 0);
    CHECK_EQ_INT(jw_value_type_get(a), JW_VALUE_ARRAY);
    CHECK_EQ_INT(jw_value_count(a), 4);
    CHECK_EQ_INT(jw_value_uint(jw_value_array_at(a, 0)), 1);
    CHECK_EQ_INT(jw_value_int(jw_value_array_at(a, 1)), -2);
    const char *x = jw_value_bytes(jw_value_array_at(a, 2), &n);
    CHECK_MEM_STR(x, n, "x");
    const jw_value *inner = jw_value_array_at(a, 3);
    CHECK_EQ_INT(jw_value_count(inner), 1);
    CHECK_EQ_INT(jw_value_type_get(jw_value_map_val(inner, 0)),
                 JW_VALUE_NIL);
    CHECK(jw_value_array_at(a, 4) == NULL);
    const char *bin = jw_value_bytes(jw_value_map_val(root, 1), &n);
    CHECK(n == 2 && bin[0] == 0 && bin[1] == 1);
    CHECK_EQ_INT(jw_value_bool(jw_value_map_val(root, 2)), 1);
    CHECK_EQ_INT(jw_value_type_get(jw_value_map_val(root, 3)),
                 JW_VALUE_ARRAY);
    CHECK_EQ_INT(jw_value_count(jw_value_map_val(root, 3)), 0);
    CHECK_EQ_INT(jw_value_type_get(jw_value_map_val(root, 4)), JW_VALUE_MAP);
    CHECK_EQ_INT(jw_value_count(jw_value_map_val(root, 4)), 0);
    CHECK(jw_value_double(jw_value_map_val(root, 5)) == 0.5);
    CHECK(jw_value_map_key(root, 6) == NULL);
    CHECK(jw_value_map_val(root, 6) == NULL);
    jw_unpacked_free(u);
    jw_packer_free(p);
    return 0;
}

TEST(codec_truncated_every_byte)
{
    jw_packer *p;
    CHECK_EQ_INT(jw_packer_new(&p), 0);
    CHECK_EQ_INT(pack_nested(p), 0);
    size_t len;
    const void *data = jw_packer_data(p, &len);
    for (size_t cut = 0; cut < len; cut++) {
        jw_unpacked *u = (jw_unpacked *)1;
        CHECK_EQ_INT(unpack_exact(data, cut, &u), JW_EINVAL);
        CHECK(u == NULL);
        CHECK(strstr(jw_last_error(), "MessagePack") != NULL);
    }
    jw_unpacked *u;
    CHECK_EQ_INT(unpack_exact(data, len, &u), 0);
    jw_unpacked_free(u);
    jw_packer_free(p);
    return 0;
}

TEST(codec_trailing_bytes)
{
    REJECT_BYTES(0xc0, 0xc0);
    REJECT_BYTES(0x01, 0x00);
    REJECT_BYTES(0x91, 0x01, 0x02);
    REJECT_BYTES(0x80, 0xc0);
    CHECK(strstr(jw_last_error(), "trailing") != NULL);
    return 0;
}

TEST(codec_bad_bytes)
{
    REJECT_BYTES(0xc1);
    CHECK(strstr(jw_last_error(), "0xc1") != NULL);
    REJECT_BYTES(0x92, 0x01, 0xc1);
    REJECT_BYTES(0x81, 0xc1, 0x01);
    jw_unpacked *u = (jw_unpacked *)1;
    CHECK_EQ_INT(jw_unpack(NULL, 0, &u), JW_EINVAL); /* empty input */
    CHECK(u == NULL);
    CHECK_EQ_INT(jw_unpack("", 0, &u), JW_EINVAL);
    CHECK_EQ_INT(jw_unpack(NULL, 5, &u), JW_EINVAL);
    CHECK_EQ_INT(jw_unpack("\xc0", 1, NULL), JW_EINVAL);
    return 0;
}

TEST(codec_huge_lengths)
{
    /* Each announces far more than the input holds; none may allocate
     * according to the announcement. */
    REJECT_BYTES(0xdd, 0xff, 0xff, 0xff, 0xff);             /* array32 */
    CHECK(strstr(jw_last_error(), "container") != NULL);
    REJECT_BYTES(0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0);
    REJECT_BYTES(0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0); /* map32 */
    REJECT_BYTES(0xdc, 0xff, 0xff, 0xc0);                   /* array16 */
    REJECT_BYTES(0xde, 0x00, 0x01, 0xc0);                   /* map, 1 val */
    REJECT_BYTES(0xdb, 0xff, 0xff, 0xff, 0xff, 'a');        /* str32 */
    REJECT_BYTES(0xc6, 0xff, 0xff, 0xff, 0xff, 'a');        /* bin32 */
    REJECT_BYTES(0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 'a');  /* ext32 */
    REJECT_BYTES(0xd9, 0x05, 'a', 'b');                     /* str8 */
    REJECT_BYTES(0xc5, 0x00);                               /* cut length */
    REJECT_BYTES(0xd8, 0x01, 0x00);                         /* fixext16 */
    REJECT_BYTES(0xcb, 0x00, 0x00);                         /* float64 */
    REJECT_BYTES(0x91, 0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc0); /* nested */
    return 0;
}

/* n arrays nested in one another around an empty one. */
static int nested_arrays(int n, jw_unpacked **u)
{
    unsigned char bytes[64];
    for (int i = 0; i < n - 1; i++)
        bytes[i] = 0x91;
    bytes[n - 1] = 0x90;
    return unpack_exact(bytes, (size_t)n, u);
}

TEST(codec_nesting_limit)
{
    /* msgpack-c keeps open containers on a 32-slot stack. */
    jw_unpacked *u;
    CHECK_EQ_INT(nested_arrays(32, &u), 0);
    const jw_value *v = jw_unpacked_root(u);
    for (int i = 0; i < 31; i++)
        v = jw_value_array_at(v, 0);
    CHECK_EQ_INT(jw_value_type_get(v), JW_VALUE_ARRAY);
    CHECK_EQ_INT(jw_value_count(v), 0);
    jw_unpacked_free(u);
    CHECK_EQ_INT(nested_arrays(33, &u), JW_EINVAL);
    CHECK(strstr(jw_last_error(), "deep") != NULL);
    CHECK_EQ_INT(nested_arrays(60, &u), JW_EINVAL);
    return 0;
}

TEST(codec_mutations_agree)
{
    /* Corrupt one byte of a valid document at a time: each result must be
     * a clean accept or a rejection by our scan, never a disagreement with
     * msgpack-c or a crash. */
    jw_packer *p;
    CHECK_EQ_INT(jw_packer_new(&p), 0);
    CHECK_EQ_INT(pack_nested(p), 0);
    size_t len;
    const unsigned char *data = jw_packer_data(p, &len);
    unsigned char *doc = malloc(len);
    CHECK(doc != NULL);
    for (size_t at = 0; at < len; at++) {
        for (int b = 0; b < 256; b++) {
            memcpy(doc, data, len);
            doc[at] = (unsigned char)b;
            jw_unpacked *u;
            int rc = unpack_exact(doc, len, &u);
            CHECK(rc == 0 || rc == JW_EINVAL);
            if (rc == 0)
                jw_unpacked_free(u);
            else
                CHECK(strstr(jw_last_error(), "msgpack-c") == NULL);
        }
    }
    free(doc);
    jw_packer_free(p);
    return 0;
}

TEST(codec_random_agree)
{
    /* Short random documents reach the rarer encodings (ext, 16/32-bit
     * lengths, deep nesting) that single-byte mutations miss. */
    uint32_t seed = 12345;
    unsigned char doc[24];
    for (int round = 0; round < 200000; round++) {
        size_t len = 1 + round % sizeof(doc);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned char b = (unsigned char)(seed >> 16);
            /* Mostly small values so lengths can fit the document. */
            doc[i] = (seed >> 28) < 6 ? (unsigned char)(b & 0x03) : b;
        }
        jw_unpacked *u;
        int rc = unpack_exact(doc, len, &u);
        CHECK(rc == 0 || rc == JW_EINVAL);
        if (rc == 0)
            jw_unpacked_free(u);
        else
            CHECK(strstr(jw_last_error(), "msgpack-c") == NULL);
    }
    return 0;
}

TEST(codec_null_args)
{
    jw_packer *p = NULL;
    CHECK_EQ_INT(jw_packer_new(NULL), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_nil(NULL), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_bool(NULL, 1), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_int(NULL, 1), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_uint(NULL, 1), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_double(NULL, 1), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_str(NULL, "a", 1), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_bin(NULL, "a", 1), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_array(NULL, 1), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_map(NULL, 1), JW_EINVAL);
    size_t len = 7;
    CHECK(jw_packer_data(NULL, &len) == NULL && len == 0);
    jw_packer_free(NULL);
    jw_packer_reset(NULL);

    CHECK_EQ_INT(jw_packer_new(&p), 0);
    CHECK(jw_packer_data(p, &len) != NULL && len == 0);
    CHECK(jw_packer_data(p, NULL) != NULL);
    CHECK_EQ_INT(jw_pack_str(p, NULL, 1), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_bin(p, NULL, 1), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_str(p, "a", (size_t)UINT32_MAX + 1), JW_EINVAL);
    CHECK_EQ_INT(jw_pack_bin(p, "a", (size_t)UINT32_MAX + 1), JW_EINVAL);
    jw_packer_data(p, &len);
    CHECK_EQ_INT(len, 0); /* failures add nothing */
    CHECK_EQ_INT(jw_pack_int(p, 1), 0);
    jw_packer_reset(p);
    jw_packer_data(p, &len);
    CHECK_EQ_INT(len, 0);
    jw_packer_free(p);

    jw_unpacked_free(NULL);
    CHECK(jw_unpacked_root(NULL) == NULL);
    CHECK_EQ_INT(jw_value_type_get(NULL), JW_VALUE_NIL);
    CHECK_EQ_INT(jw_value_bool(NULL), 0);
    CHECK_EQ_INT(jw_value_int(NULL), 0);
    CHECK(jw_value_uint(NULL) == 0);
    CHECK(jw_value_double(NULL) == 0);
    len = 7;
    CHECK(jw_value_bytes(NULL, &len) == NULL && len == 0);
    CHECK(jw_value_bytes(NULL, NULL) == NULL);
    CHECK_EQ_INT(jw_value_ext_type(NULL), 0);
    CHECK_EQ_INT(jw_value_count(NULL), 0);
    CHECK(jw_value_array_at(NULL, 0) == NULL);
    CHECK(jw_value_map_key(NULL, 0) == NULL);
    CHECK(jw_value_map_val(NULL, 0) == NULL);
    return 0;
}

TEST(codec_type_mismatch)
{
    jw_unpacked *u;
    UNPACK_BYTES(u, 0x92, 0xa1, 'x', 0x81, 0x01, 0x02); /* ["x", {1: 2}] */
    const jw_value *root = jw_unpacked_root(u);
    const jw_value *s = jw_value_array_at(root, 0);
    const jw_value *m = jw_value_array_at(root, 1);
    size_t len = 7;
    CHECK(jw_value_bytes(root, &len) == NULL && len == 0);
    CHECK(jw_value_bytes(m, &len) == NULL && len == 0);
    CHECK_EQ_INT(jw_value_count(s), 0);
    CHECK(jw_value_array_at(s, 0) == NULL);
    CHECK(jw_value_array_at(m, 0) == NULL); /* a map is not an array */
    CHECK(jw_value_map_key(root, 0) == NULL);
    CHECK_EQ_INT(jw_value_int(s), 0);
    CHECK_EQ_INT(jw_value_bool(s), 0);
    CHECK(jw_value_double(s) == 0);
    CHECK_EQ_INT(jw_value_ext_type(s), 0);
    CHECK_EQ_INT(jw_value_uint(jw_value_map_key(m, 0)), 1);
    CHECK_EQ_INT(jw_value_uint(jw_value_map_val(m, 0)), 2);
    jw_unpacked_free(u);
    return 0;
}
