/* tests/unit/core/test_clock.c: the fake clock and wall-time formatting (PM2 date patterns).
 *
 * 1795415401123 ms is 2026-11-23T06:30:01.123Z, which is 14:30:01.123 in Asia/Shanghai. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "unit.h"

#define T_MS 1795415401123LL

static void use_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

TEST(real_clocks_move)
{
    clock_fake_off();
    uint64_t a = clock_mono_ms();
    int64_t w = clock_wall_ms();
    CHECK(w > 1700000000000LL); /* after 2023 */
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    CHECK(clock_mono_ms() >= a + 4);
}

TEST(fake_clock)
{
    clock_fake_set(1000, T_MS);
    CHECK_INT(clock_mono_ms(), 1000);
    CHECK_INT(clock_wall_ms(), T_MS);
    clock_fake_advance(5 * 60 * 1000);
    CHECK_INT(clock_mono_ms(), 301000);
    CHECK_INT(clock_wall_ms(), T_MS + 300000);
    clock_fake_off();
    CHECK(clock_wall_ms() != T_MS + 300000);
}

TEST(iso8601)
{
    char s[64];
    use_tz("Asia/Shanghai");
    CHECK_INT(clock_iso8601(s, sizeof s, T_MS, 0), 25);
    CHECK_STR(s, "2026-11-23T14:30:01+08:00");
    clock_iso8601(s, sizeof s, T_MS, 1);
    CHECK_STR(s, "2026-11-23T14:30:01.123+08:00");
    use_tz("America/New_York");
    clock_iso8601(s, sizeof s, T_MS, 0);
    CHECK_STR(s, "2026-11-23T01:30:01-05:00");
    use_tz("Asia/Kolkata");
    clock_iso8601(s, sizeof s, T_MS, 0);
    CHECK_STR(s, "2026-11-23T12:00:01+05:30");
    use_tz("UTC");
    clock_iso8601(s, sizeof s, T_MS, 0);
    CHECK_STR(s, "2026-11-23T06:30:01+00:00");
    clock_iso8601(s, sizeof s, -1, 1); /* before 1970: milliseconds still count up */
    CHECK_STR(s, "1969-12-31T23:59:59.999+00:00");
    CHECK_INT(clock_iso8601(s, 11, T_MS, 0), 10);
    CHECK_STR(s, "2026-11-23");
}

TEST(format_tokens)
{
    char s[128];
    use_tz("Asia/Shanghai");
    CHECK_INT(clock_format(s, sizeof s, "YYYY-MM-DD HH:mm:ss Z", T_MS), 26);
    CHECK_STR(s, "2026-11-23 14:30:01 +08:00");
    clock_format(s, sizeof s, "YY/M/D H:m:s.SSS ZZ", T_MS);
    CHECK_STR(s, "26/11/23 14:30:1.123 +0800");
    clock_format(s, sizeof s, "YYYY-MM-DDTHH:mm:ss", T_MS);
    CHECK_STR(s, "2026-11-23T14:30:01");
    clock_format(s, sizeof s, "[Today is] DD [at] HH[h]", T_MS);
    CHECK_STR(s, "Today is 23 at 14h");
    /* 2026-03-05 04:05:06.007 +08:00: single-letter tokens are unpadded. */
    int64_t early = 1772654706007LL;
    clock_format(s, sizeof s, "M D H m s|MM DD HH mm ss SSS", early);
    CHECK_STR(s, "3 5 4 5 6|03 05 04 05 06 007");
    use_tz("America/New_York");
    clock_format(s, sizeof s, "HH:mm Z ZZ", T_MS);
    CHECK_STR(s, "01:30 -05:00 -0500");
    CHECK_INT(clock_format(s, 5, "YYYY-MM-DD", T_MS), 4);
    CHECK_STR(s, "2026");
    clock_format(s, sizeof s, "[unclosed", T_MS);
    CHECK_STR(s, "unclosed");
}

TEST(format_check)
{
    CHECK(clock_format_check("YYYY-MM-DD HH:mm:ss Z"));
    CHECK(clock_format_check("YYYY-MM-DDTHH:mm:ss.SSSZZ"));
    CHECK(clock_format_check("[at] HH:mm"));
    CHECK(clock_format_check(""));
    CHECK(!clock_format_check("YYYY [unclosed"));
    CHECK(!clock_format_check("dddd HH:mm"));
    CHECK(!clock_format_check("hh:mm A"));
}

int main(void)
{
    RUN(real_clocks_move);
    RUN(fake_clock);
    RUN(iso8601);
    RUN(format_tokens);
    RUN(format_check);
    return unit_done();
}
