/* The status table and jw_seconds_to_ms, the one rule by which the
 * bindings turn the seconds of their APIs into the engine's ms. */
#include <math.h>
#include <string.h>

#include "jetwire.h"
#include "test.h"

TEST(status_names_and_texts)
{
    CHECK_STR(jw_status_name(JW_OK), "OK");
    CHECK_STR(jw_status_name(JW_EINTERRUPTED), "INTERRUPTED");
    CHECK_STR(jw_strerror(JW_EINTERRUPTED), "interrupted while waiting");
    CHECK_STR(jw_status_name(-1000), "UNKNOWN");
    return 0;
}

TEST(seconds_to_ms)
{
    CHECK_EQ_INT(jw_seconds_to_ms("timeout", 0), 0);
    CHECK_EQ_INT(jw_seconds_to_ms("timeout", 0.0004), 0); /* below half */
    CHECK_EQ_INT(jw_seconds_to_ms("timeout", 0.0005), 1);
    CHECK_EQ_INT(jw_seconds_to_ms("timeout", 0.2), 200);
    CHECK_EQ_INT(jw_seconds_to_ms("timeout", 1.1), 1100);
    CHECK_EQ_INT(jw_seconds_to_ms("timeout", 2.0), 2000);
    CHECK_EQ_INT(jw_seconds_to_ms("timeout", (double)JW_SECONDS_MAX),
                 (int64_t)JW_SECONDS_MAX * 1000);
    CHECK_EQ_INT(jw_seconds_to_ms("timeout", INFINITY), -1); /* forever */

    CHECK_EQ_INT(jw_seconds_to_ms("delay", -0.001), JW_EINVAL);
    CHECK_STR(jw_last_error(), "delay must not be negative");
    CHECK_EQ_INT(jw_seconds_to_ms("timeout", -INFINITY), JW_EINVAL);
    CHECK_EQ_INT(jw_seconds_to_ms("timeout", NAN), JW_EINVAL);
    CHECK_STR(jw_last_error(), "timeout is not a number (NaN)");
    CHECK_EQ_INT(jw_seconds_to_ms(NULL, 1e300), JW_EINVAL);
    CHECK_STR(jw_last_error(),
              "timeout must be at most 3153600000 s (100 years)");
    return 0;
}
