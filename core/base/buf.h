/* A growable byte buffer, used for the outbound queues. */
#ifndef JW_BUF_H
#define JW_BUF_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct jw__buf {
    char *data;
    size_t len, cap;
} jw__buf;

/* Make room for n more bytes; 0 or -1 when memory ran out. */
static inline int jw__buf_reserve(jw__buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Append without checking room: call jw__buf_reserve first. */
static inline void jw__buf_put(jw__buf *b, const void *p, size_t n)
{
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline int jw__buf_append(jw__buf *b, const void *p, size_t n)
{
    if (jw__buf_reserve(b, n))
        return -1;
    jw__buf_put(b, p, n);
    return 0;
}

/* Write v in decimal; returns the digits written (at most 20). */
static inline size_t jw__u64_to_dec(char *out, unsigned long long v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static inline void jw__buf_free(jw__buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

#endif
