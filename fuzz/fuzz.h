/* Shared by the fuzz targets: an assertion that survives NDEBUG, and a
 * growable record of what a run produced, for differential checks. */
#ifndef JW_FUZZ_H
#define JW_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken invariant is a finding: say which and abort, so that libFuzzer
 * saves the input as a crash. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

typedef struct fuzz_rec {
    unsigned char *data;
    size_t len, cap;
} fuzz_rec;

static inline void fuzz_rec_put(fuzz_rec *r, const void *p, size_t n)
{
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->len + n)
            cap *= 2;
        unsigned char *d = realloc(r->data, cap);
        FUZZ_CHECK(d != NULL);
        r->data = d;
        r->cap = cap;
    }
    if (n)
        memcpy(r->data + r->len, p, n);
    r->len += n;
}

/* A length-prefixed field, so that two records compare equal only when
 * every field does. Reading every byte also lets ASan check the view. */
static inline void fuzz_rec_field(fuzz_rec *r, const void *p, size_t n)
{
    uint64_t len = n;
    fuzz_rec_put(r, &len, sizeof(len));
    fuzz_rec_put(r, p, n);
}

static inline void fuzz_rec_u64(fuzz_rec *r, uint64_t v)
{
    fuzz_rec_put(r, &v, sizeof(v));
}

static inline int fuzz_rec_equal(const fuzz_rec *a, const fuzz_rec *b)
{
    return a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Read every byte, so that ASan checks a view it is given. */
static inline void fuzz_touch(const void *p, size_t n)
{
    volatile unsigned char sum = 0;
    for (size_t i = 0; i < n; i++)
        sum ^= ((const unsigned char *)p)[i];
    (void)sum;
}

static inline void fuzz_rec_free(fuzz_rec *r)
{
    free(r->data);
    r->data = NULL;
    r->len = r->cap = 0;
}

#endif
