/*
 * MessagePack for the public API, over msgpack-c.
 *
 * Packing is a thin wrapper. Unpacking first walks the input once without
 * allocating (scan below): msgpack-c allocates an array's slots as soon as
 * it reads the count, so a five-byte document announcing 2^32 elements
 * would make it ask for ~100 GB. The scan rejects any container announcing
 * more elements than bytes remain, nesting deeper than msgpack-c's own
 * stack, truncation and trailing bytes, so that msgpack-c only ever sees a
 * well-formed document and its allocations stay proportional to the input.
 */
#include "internal.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

struct jw_packer {
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
};

struct jw_unpacked {
    msgpack_unpacked result;
    /* msgpack-c points strings into the input, so the tree keeps a copy
     * of it and outlives the caller's buffer. */
    char data[];
};

/* ---- packing ---------------------------------------------------------- */

jw_status jw_packer_new(jw_packer **out)
{
    if (!out)
        return jw__fail(JW_EINVAL, "jw_packer_new: out is NULL");
    *out = NULL;
    jw_packer *p = calloc(1, sizeof(*p));
    if (!p)
        return jw__fail(JW_ENO_MEMORY, "out of memory creating a packer");
    msgpack_sbuffer_init(&p->sbuf);
    msgpack_packer_init(&p->pk, &p->sbuf, msgpack_sbuffer_write);
    *out = p;
    return JW_OK;
}

void jw_packer_free(jw_packer *p)
{
    if (!p)
        return;
    msgpack_sbuffer_destroy(&p->sbuf);
    free(p);
}

void jw_packer_reset(jw_packer *p)
{
    if (p)
        msgpack_sbuffer_clear(&p->sbuf);
}

/* msgpack-c fails only when the buffer cannot grow. A value is then cut
 * back to the previous length so the packer never holds half a value. */
static jw_status packed(jw_packer *p, size_t mark, int rc)
{
    if (rc == 0)
        return JW_OK;
    p->sbuf.size = mark;
    return jw__fail(JW_ENO_MEMORY, "out of memory packing MessagePack");
}

static jw_status null_packer(void)
{
    return jw__fail(JW_EINVAL, "packer is NULL");
}

jw_status jw_pack_nil(jw_packer *p)
{
    if (!p)
        return null_packer();
    return packed(p, p->sbuf.size, msgpack_pack_nil(&p->pk));
}

jw_status jw_pack_bool(jw_packer *p, int value)
{
    if (!p)
        return null_packer();
    size_t mark = p->sbuf.size;
    return packed(p, mark, value ? msgpack_pack_true(&p->pk)
                                 : msgpack_pack_false(&p->pk));
}

jw_status jw_pack_int(jw_packer *p, int64_t value)
{
    if (!p)
        return null_packer();
    return packed(p, p->sbuf.size, msgpack_pack_int64(&p->pk, value));
}

jw_status jw_pack_uint(jw_packer *p, uint64_t value)
{
    if (!p)
        return null_packer();
    return packed(p, p->sbuf.size, msgpack_pack_uint64(&p->pk, value));
}

jw_status jw_pack_double(jw_packer *p, double value)
{
    if (!p)
        return null_packer();
    return packed(p, p->sbuf.size, msgpack_pack_double(&p->pk, value));
}

/* Shared checks of str and bin: the format stores lengths in 32 bits, and
 * NULL bytes are fine only when there are none to read. */
static jw_status check_bytes(jw_packer *p, const void *bytes, size_t len,
                             const char *what)
{
    if (!p)
        return null_packer();
    if (!bytes && len)
        return jw__fail(JW_EINVAL, "%s: data is NULL", what);
    if (len > UINT32_MAX)
        return jw__fail(JW_EINVAL, "%s: %zu bytes exceed the 4 GiB limit",
                        what, len);
    return JW_OK;
}

jw_status jw_pack_str(jw_packer *p, const char *s, size_t len)
{
    jw_status rc = check_bytes(p, s, len, "jw_pack_str");
    if (rc)
        return rc;
    size_t mark = p->sbuf.size;
    int err = msgpack_pack_str(&p->pk, len);
    if (!err && len)
        err = msgpack_pack_str_body(&p->pk, s, len);
    return packed(p, mark, err);
}

jw_status jw_pack_bin(jw_packer *p, const void *data, size_t len)
{
    jw_status rc = check_bytes(p, data, len, "jw_pack_bin");
    if (rc)
        return rc;
    size_t mark = p->sbuf.size;
    int err = msgpack_pack_bin(&p->pk, len);
    if (!err && len)
        err = msgpack_pack_bin_body(&p->pk, data, len);
    return packed(p, mark, err);
}

jw_status jw_pack_array(jw_packer *p, uint32_t count)
{
    if (!p)
        return null_packer();
    return packed(p, p->sbuf.size, msgpack_pack_array(&p->pk, count));
}

jw_status jw_pack_map(jw_packer *p, uint32_t count)
{
    if (!p)
        return null_packer();
    return packed(p, p->sbuf.size, msgpack_pack_map(&p->pk, count));
}

const void *jw_packer_data(const jw_packer *p, size_t *len)
{
    if (len)
        *len = p ? p->sbuf.size : 0;
    if (!p)
        return NULL;
    /* An empty packer has no buffer yet; "" keeps memcpy callers safe. */
    return p->sbuf.data ? p->sbuf.data : "";
}

/* ---- the pre-scan ----------------------------------------------------- */

/* msgpack-c's unpacker keeps open containers on a fixed stack of
 * MSGPACK_EMBED_STACK_SIZE (32, in its private unpack_define.h) and fails
 * as if out of memory past it; the scan refuses such input first so that
 * a real allocation failure stays distinguishable. */
#define MAX_DEPTH 32

/* How the type bytes 0xc0..0xdf encode a value: the fixed header bytes
 * (the type byte, an ext's type, a number's bytes), how many big-endian
 * length bytes follow the type byte, a fixed payload size, and what the
 * length counts. */
enum { SCALAR, BYTES, ARRAY, MAP, INVALID };
static const struct {
    unsigned char fixed, len_bytes, body, kind;
} types[32] = {
    {1, 0, 0, SCALAR}, {0, 0, 0, INVALID},                  /* nil, 0xc1 */
    {1, 0, 0, SCALAR}, {1, 0, 0, SCALAR},                   /* false, true */
    {1, 1, 0, BYTES},  {1, 2, 0, BYTES},  {1, 4, 0, BYTES}, /* bin */
    {2, 1, 0, BYTES},  {2, 2, 0, BYTES},  {2, 4, 0, BYTES}, /* ext + type */
    {5, 0, 0, SCALAR}, {9, 0, 0, SCALAR},                   /* float */
    {2, 0, 0, SCALAR}, {3, 0, 0, SCALAR}, {5, 0, 0, SCALAR}, /* uint */
    {9, 0, 0, SCALAR},
    {2, 0, 0, SCALAR}, {3, 0, 0, SCALAR}, {5, 0, 0, SCALAR}, /* int */
    {9, 0, 0, SCALAR},
    {2, 0, 1, SCALAR}, {2, 0, 2, SCALAR}, {2, 0, 4, SCALAR}, /* fixext */
    {2, 0, 8, SCALAR}, {2, 0, 16, SCALAR},
    {1, 1, 0, BYTES},  {1, 2, 0, BYTES},  {1, 4, 0, BYTES}, /* str */
    {1, 2, 0, ARRAY},  {1, 4, 0, ARRAY},                    /* array */
    {1, 2, 0, MAP},    {1, 4, 0, MAP},                      /* map */
};

/* One value's encoding: header bytes, payload bytes, and for containers
 * the number of values inside (a map's counts keys and values). */
typedef struct item {
    size_t head, body;
    uint64_t children;
    int container;
} item;

/* Decode the value starting at data[0], of which avail bytes are present.
 * Returns NULL, or why it is malformed. */
static const char *decode(const unsigned char *data, size_t avail, item *it)
{
    unsigned char c = data[0];
    memset(it, 0, sizeof(*it));
    it->head = 1;
    if (c <= 0x7f || c >= 0xe0) /* fixints */
        return NULL;
    if (c <= 0x9f) { /* fixmap, fixarray */
        it->container = 1;
        it->children = c <= 0x8f ? 2u * (c & 0x0f) : (c & 0x0f);
        return NULL;
    }
    if (c <= 0xbf) { /* fixstr */
        it->body = c & 0x1f;
        return NULL;
    }
    unsigned kind = types[c - 0xc0].kind;
    size_t len_bytes = types[c - 0xc0].len_bytes;
    if (kind == INVALID)
        return "invalid type byte 0xc1";
    it->head = types[c - 0xc0].fixed + len_bytes;
    it->body = types[c - 0xc0].body;
    if (avail < it->head)
        return "truncated value";
    uint64_t n = 0;
    for (size_t i = 0; i < len_bytes; i++)
        n = n << 8 | data[1 + i]; /* an ext's type byte comes after */
    if (kind == BYTES)
        it->body = (size_t)n;
    it->container = kind == ARRAY || kind == MAP;
    it->children = kind == MAP ? 2 * n : n;
    return NULL;
}

static int malformed(const char *why, size_t at)
{
    return jw__fail(JW_EINVAL, "malformed MessagePack: %s at byte %zu", why,
                    at);
}

/* Check that data holds exactly one complete value that msgpack-c can
 * unpack without recursing or allocating past what the input justifies. */
static int scan(const unsigned char *data, size_t len)
{
    uint64_t due[MAX_DEPTH]; /* values left per container */
    int depth = 0;
    size_t pos = 0;
    for (;;) {
        if (pos >= len)
            return malformed("truncated input", pos);
        item it;
        const char *why = decode(data + pos, len - pos, &it);
        if (why)
            return malformed(why, pos);
        if (len - pos - it.head < it.body)
            return malformed("truncated value", pos);
        size_t start = pos;
        pos += it.head + it.body;

        if (it.container) {
            /* Even an empty container needs a free slot in msgpack-c. */
            if (depth == MAX_DEPTH)
                return malformed("nesting too deep", start);
            /* Every element takes at least one byte. */
            if (it.children > len - pos)
                return malformed("container longer than the input", start);
            if (it.children) {
                due[depth++] = it.children;
                continue;
            }
        }
        /* A value is complete: close every container it completes. */
        while (depth > 0 && --due[depth - 1] == 0)
            depth--;
        if (depth == 0)
            break;
    }
    if (pos != len)
        return malformed("trailing bytes", pos);
    return 0;
}

/* ---- unpacking -------------------------------------------------------- */

jw_status jw_unpack(const void *data, size_t len, jw_unpacked **out)
{
    if (!out)
        return jw__fail(JW_EINVAL, "jw_unpack: out is NULL");
    *out = NULL;
    if (!data && len)
        return jw__fail(JW_EINVAL, "jw_unpack: data is NULL");
    int rc = scan(data, len);
    if (rc)
        return rc;

    jw_unpacked *u = malloc(sizeof(*u) + len);
    if (!u)
        return jw__fail(JW_ENO_MEMORY, "out of memory unpacking");
    memcpy(u->data, data, len);
    msgpack_unpacked_init(&u->result);
    size_t off = 0;
    msgpack_unpack_return ret =
        msgpack_unpack_next(&u->result, u->data, len, &off);
    if (ret == MSGPACK_UNPACK_SUCCESS && off == len) {
        *out = u;
        return JW_OK;
    }
    msgpack_unpacked_destroy(&u->result);
    free(u);
    /* The scan accepted the input, so only memory can have run out. */
    if (ret == MSGPACK_UNPACK_NOMEM_ERROR)
        return jw__fail(JW_ENO_MEMORY, "out of memory unpacking");
    return jw__fail(JW_EINVAL, "malformed MessagePack (msgpack-c: %d)",
                    (int)ret);
}

const jw_value *jw_unpacked_root(const jw_unpacked *u)
{
    return u ? (const jw_value *)&u->result.data : NULL;
}

void jw_unpacked_free(jw_unpacked *u)
{
    if (!u)
        return;
    msgpack_unpacked_destroy(&u->result);
    free(u);
}

/* ---- accessors -------------------------------------------------------- */

static const msgpack_object *obj(const jw_value *v)
{
    return (const msgpack_object *)v;
}

jw_value_type jw_value_type_get(const jw_value *v)
{
    static const jw_value_type map[] = {
        [MSGPACK_OBJECT_NIL] = JW_VALUE_NIL,
        [MSGPACK_OBJECT_BOOLEAN] = JW_VALUE_BOOL,
        [MSGPACK_OBJECT_POSITIVE_INTEGER] = JW_VALUE_UINT,
        [MSGPACK_OBJECT_NEGATIVE_INTEGER] = JW_VALUE_INT,
        [MSGPACK_OBJECT_FLOAT32] = JW_VALUE_DOUBLE,
        [MSGPACK_OBJECT_FLOAT64] = JW_VALUE_DOUBLE,
        [MSGPACK_OBJECT_STR] = JW_VALUE_STR,
        [MSGPACK_OBJECT_BIN] = JW_VALUE_BIN,
        [MSGPACK_OBJECT_ARRAY] = JW_VALUE_ARRAY,
        [MSGPACK_OBJECT_MAP] = JW_VALUE_MAP,
        [MSGPACK_OBJECT_EXT] = JW_VALUE_EXT,
    };
    if (!v || (size_t)obj(v)->type >= sizeof(map) / sizeof(map[0]))
        return JW_VALUE_NIL;
    return map[obj(v)->type];
}

int jw_value_bool(const jw_value *v)
{
    return v && obj(v)->type == MSGPACK_OBJECT_BOOLEAN && obj(v)->via.boolean;
}

/* The encoder picks the sign class, not the caller (jw_pack_int(5) arrives
 * as UINT), so both integer getters accept any integer that fits. */
int64_t jw_value_int(const jw_value *v)
{
    if (!v)
        return 0;
    if (obj(v)->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return obj(v)->via.i64;
    if (obj(v)->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        obj(v)->via.u64 <= INT64_MAX)
        return (int64_t)obj(v)->via.u64;
    return 0;
}

uint64_t jw_value_uint(const jw_value *v)
{
    if (!v || obj(v)->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return 0;
    return obj(v)->via.u64;
}

double jw_value_double(const jw_value *v)
{
    if (!v || (obj(v)->type != MSGPACK_OBJECT_FLOAT32 &&
               obj(v)->type != MSGPACK_OBJECT_FLOAT64))
        return 0;
    return obj(v)->via.f64; /* msgpack-c widens float32 already */
}

const char *jw_value_bytes(const jw_value *v, size_t *len)
{
    const char *ptr = NULL;
    size_t size = 0;
    if (!v) {
        /* falls through to the empty answer */
    } else if (obj(v)->type == MSGPACK_OBJECT_STR) {
        ptr = obj(v)->via.str.ptr;
        size = obj(v)->via.str.size;
    } else if (obj(v)->type == MSGPACK_OBJECT_BIN) {
        ptr = obj(v)->via.bin.ptr;
        size = obj(v)->via.bin.size;
    } else if (obj(v)->type == MSGPACK_OBJECT_EXT) {
        ptr = obj(v)->via.ext.ptr;
        size = obj(v)->via.ext.size;
    }
    if (len)
        *len = ptr ? size : 0;
    return ptr;
}

int8_t jw_value_ext_type(const jw_value *v)
{
    if (!v || obj(v)->type != MSGPACK_OBJECT_EXT)
        return 0;
    return obj(v)->via.ext.type;
}

uint32_t jw_value_count(const jw_value *v)
{
    if (v && obj(v)->type == MSGPACK_OBJECT_ARRAY)
        return obj(v)->via.array.size;
    if (v && obj(v)->type == MSGPACK_OBJECT_MAP)
        return obj(v)->via.map.size;
    return 0;
}

const jw_value *jw_value_array_at(const jw_value *v, uint32_t i)
{
    if (!v || obj(v)->type != MSGPACK_OBJECT_ARRAY ||
        i >= obj(v)->via.array.size)
        return NULL;
    return (const jw_value *)&obj(v)->via.array.ptr[i];
}

const jw_value *jw_value_map_key(const jw_value *v, uint32_t i)
{
    if (!v || obj(v)->type != MSGPACK_OBJECT_MAP || i >= obj(v)->via.map.size)
        return NULL;
    return (const jw_value *)&obj(v)->via.map.ptr[i].key;
}

const jw_value *jw_value_map_val(const jw_value *v, uint32_t i)
{
    if (!v || obj(v)->type != MSGPACK_OBJECT_MAP || i >= obj(v)->via.map.size)
        return NULL;
    return (const jw_value *)&obj(v)->via.map.ptr[i].val;
}
