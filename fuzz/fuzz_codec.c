/*
 * The MessagePack decoder (core/protocol/codec.c: the pre-scan, then
 * msgpack-c) on arbitrary bytes.
 *
 * jw_unpack must accept the input or reject it with JW_EINVAL, and never
 * disagree with msgpack-c: codec.c's scan promises that msgpack-c only
 * sees documents it can unpack, so an error naming msgpack-c is a finding.
 * An accepted tree is walked through every accessor (ASan checks the
 * views) and packed again with the public packer; that output must unpack,
 * and packing it once more must give the same bytes (the encoder is
 * canonical, so a second round trip is a fixed point).
 */
#include "fuzz.h"
#include "jetwire.h"

#include <stddef.h>
#include <stdint.h>

typedef struct walk_state {
    size_t values;
    int has_ext;
    int depth, max_depth;
} walk_state;

/* Visit v and pack it into pk (NULL: only visit). */
static void walk(const jw_value *v, jw_packer *pk, walk_state *st)
{
    FUZZ_CHECK(v != NULL);
    st->values++;
    size_t len;
    const char *bytes;
    switch (jw_value_type_get(v)) {
    case JW_VALUE_NIL:
        FUZZ_CHECK(jw_pack_nil(pk) == JW_OK);
        break;
    case JW_VALUE_BOOL:
        FUZZ_CHECK(jw_pack_bool(pk, jw_value_bool(v)) == JW_OK);
        break;
    case JW_VALUE_UINT:
        FUZZ_CHECK(jw_value_uint(v) <= INT64_MAX ||
                   jw_value_int(v) == 0); /* no silent wrap */
        FUZZ_CHECK(jw_pack_uint(pk, jw_value_uint(v)) == JW_OK);
        break;
    case JW_VALUE_INT:
        FUZZ_CHECK(jw_value_int(v) < 0);
        FUZZ_CHECK(jw_value_uint(v) == 0);
        FUZZ_CHECK(jw_pack_int(pk, jw_value_int(v)) == JW_OK);
        break;
    case JW_VALUE_DOUBLE:
        FUZZ_CHECK(jw_pack_double(pk, jw_value_double(v)) == JW_OK);
        break;
    case JW_VALUE_STR:
    case JW_VALUE_BIN:
    case JW_VALUE_EXT:
        bytes = jw_value_bytes(v, &len);
        FUZZ_CHECK(bytes != NULL || len == 0);
        fuzz_touch(bytes, len);
        if (jw_value_type_get(v) == JW_VALUE_STR)
            FUZZ_CHECK(jw_pack_str(pk, bytes, len) == JW_OK);
        else if (jw_value_type_get(v) == JW_VALUE_BIN)
            FUZZ_CHECK(jw_pack_bin(pk, bytes, len) == JW_OK);
        else
            st->has_ext = 1; /* the public packer writes no ext */
        break;
    case JW_VALUE_ARRAY: {
        uint32_t n = jw_value_count(v);
        FUZZ_CHECK(jw_pack_array(pk, n) == JW_OK);
        FUZZ_CHECK(++st->depth <= st->max_depth);
        for (uint32_t i = 0; i < n; i++)
            walk(jw_value_array_at(v, i), pk, st);
        FUZZ_CHECK(jw_value_array_at(v, n) == NULL);
        st->depth--;
        break;
    }
    case JW_VALUE_MAP: {
        uint32_t n = jw_value_count(v);
        FUZZ_CHECK(jw_pack_map(pk, n) == JW_OK);
        FUZZ_CHECK(++st->depth <= st->max_depth);
        for (uint32_t i = 0; i < n; i++) {
            walk(jw_value_map_key(v, i), pk, st);
            walk(jw_value_map_val(v, i), pk, st);
        }
        FUZZ_CHECK(jw_value_map_key(v, n) == NULL);
        FUZZ_CHECK(jw_value_map_val(v, n) == NULL);
        st->depth--;
        break;
    }
    default:
        FUZZ_CHECK(!"unknown value type");
    }
}

/* Unpack data, which must succeed or fail cleanly; on success pack the
 * tree again into pk. Returns 1 when accepted. */
static int decode(const void *data, size_t size, jw_packer *pk, walk_state *st)
{
    jw_unpacked *u = (jw_unpacked *)1;
    jw_status rc = jw_unpack(data, size, &u);
    if (rc != JW_OK) {
        FUZZ_CHECK(rc == JW_EINVAL);
        FUZZ_CHECK(u == NULL);
        /* The scan let through something msgpack-c refused. */
        FUZZ_CHECK(strstr(jw_last_error(), "msgpack-c") == NULL);
        return 0;
    }
    memset(st, 0, sizeof(*st));
    st->max_depth = 32;
    walk(jw_unpacked_root(u), pk, st);
    /* Every value takes at least one byte of the input. */
    FUZZ_CHECK(st->values <= size);
    jw_unpacked_free(u);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jw_packer *first, *second;
    FUZZ_CHECK(jw_packer_new(&first) == JW_OK);
    FUZZ_CHECK(jw_packer_new(&second) == JW_OK);
    walk_state st;
    if (decode(data, size, first, &st) && !st.has_ext) {
        size_t len1, len2;
        const void *out1 = jw_packer_data(first, &len1);
        /* Heap copy of exact size, so reading past it is caught. */
        void *copy = malloc(len1 ? len1 : 1);
        FUZZ_CHECK(copy != NULL);
        memcpy(copy, out1, len1);
        walk_state st2;
        FUZZ_CHECK(decode(copy, len1, second, &st2));
        FUZZ_CHECK(st2.values == st.values);
        const void *out2 = jw_packer_data(second, &len2);
        FUZZ_CHECK(len1 == len2 && memcmp(out1, out2, len1) == 0);
        free(copy);
    }
    jw_packer_free(first);
    jw_packer_free(second);
    return 0;
}
