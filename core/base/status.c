/* The status table, the per-thread detail text of the last failure, the
 * clocks, and the seconds the bindings take. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

const char *jw_status_name(int status)
{
    switch (status) {
#define JW__STATUS_NAME(suffix, value, name, text)                          \
    case value:                                                             \
        return name;
        JW_STATUS_MAP(JW__STATUS_NAME)
#undef JW__STATUS_NAME
    }
    return "UNKNOWN";
}

const char *jw_strerror(int status)
{
    switch (status) {
#define JW__STATUS_TEXT(suffix, value, name, text)                          \
    case value:                                                             \
        return text;
        JW_STATUS_MAP(JW__STATUS_TEXT)
#undef JW__STATUS_TEXT
    }
    return "unknown status";
}

static _Thread_local char last_error[512];

const char *jw_last_error(void)
{
    return last_error;
}

int jw__fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return status;
}

const char *jw_version(void)
{
    return JW_VERSION_STRING;
}

int jw_version_number(void)
{
    return JW_VERSION_NUMBER;
}

int64_t jw__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t jw__now_ms(void)
{
    return jw__now_us() / 1000;
}

int64_t jw__wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void jw__time_text(int64_t ns, char *buf, size_t size)
{
    time_t secs = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, frac);
}

int64_t jw_seconds_to_ms(const char *what, double seconds)
{
    if (!what)
        what = "timeout";
    if (isnan(seconds))
        return jw__fail(JW_EINVAL, "%s is not a number (NaN)", what);
    if (seconds < 0)
        return jw__fail(JW_EINVAL, "%s must not be negative", what);
    if (isinf(seconds))
        return -1;
    if (seconds > (double)JW_SECONDS_MAX)
        return jw__fail(JW_EINVAL, "%s must be at most %lld s (100 years)",
                        what, (long long)JW_SECONDS_MAX);
    return (int64_t)(seconds * 1000.0 + 0.5); /* >= 0: truncation rounds */
}
