/* Helpers shared by every file of the engine. Not part of the API. */
#ifndef JW_INTERNAL_H
#define JW_INTERNAL_H

#include "jetwire.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Record the detail text of a failure for jw_last_error() on this thread and
 * return status, so that failures read `return jw__fail(JW_EINVAL, "...")`. */
int jw__fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Monotonic clock in milliseconds and microseconds. */
int64_t jw__now_ms(void);
int64_t jw__now_us(void);
/* Wall-clock nanoseconds since the Unix epoch. */
int64_t jw__wall_ns(void);
/* ns since the epoch as NATS servers write times: RFC 3339, UTC, with
 * nanoseconds ("2026-05-01T12:00:00.000000000Z"). */
void jw__time_text(int64_t ns, char *buf, size_t size);

#define JW_UNUSED(x) ((void)(x))

#endif
