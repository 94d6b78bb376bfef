/* tests/unit/config/test_units.c: durations, sizes, percents and signals as users write them.
 *
 * Each parser takes the whole string or nothing: trailing junk, signs, spaces and unknown
 * units are errors, so a typo is reported instead of read as something else. */
#include <signal.h>
#include <stdint.h>

#include "config/config.h"
#include "core/err.h"
#include "unit.h"

static uint64_t dur(const char *s)
{
    uint64_t ms = 12345;
    int rc = cfg_parse_duration(s, &ms);
    if (rc != 0)
        UNIT_FAIL("duration \"%s\" refused (%d)", s, rc);
    return ms;
}

static uint64_t size(const char *s)
{
    uint64_t b = 12345;
    int rc = cfg_parse_size(s, &b);
    if (rc != 0)
        UNIT_FAIL("size \"%s\" refused (%d)", s, rc);
    return b;
}

TEST(durations)
{
    CHECK_INT(dur("5s"), 5000);
    CHECK_INT(dur("2m"), 120000);
    CHECK_INT(dur("1h30m"), 5400000);
    CHECK_INT(dur("250ms"), 250);
    CHECK_INT(dur("1d"), 86400000);
    CHECK_INT(dur("1w"), 604800000);
    CHECK_INT(dur("30"), 30000); /* a bare number is seconds */
    CHECK_INT(dur("0"), 0);
    CHECK_INT(dur("1.5s"), 1500);
    CHECK_INT(dur("1m5s"), 65000);
    CHECK_INT(dur("2h0m1s500ms"), 7201500);
    CHECK_INT(dur("5S"), 5000);
}

TEST(bad_durations)
{
    const char *bad[] = {"",     "s",    "-1s", "5 s", "soon", "5x",
                         "5sec", "1h30", "5s ", ".s",  "1e3s", "99999999999999999999d"};
    uint64_t ms = 7;
    CHECK_INT(cfg_parse_duration(NULL, &ms), -TE_PARSE);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (cfg_parse_duration(bad[i], &ms) != -TE_PARSE)
            UNIT_FAIL("duration \"%s\" accepted as %llu", bad[i], (unsigned long long)ms);
    }
    CHECK_INT(ms, 7); /* untouched on failure */
}

TEST(sizes)
{
    CHECK_INT(size("512K"), 512 * 1024);
    CHECK_INT(size("1G"), 1ull << 30);
    CHECK_INT(size("1.5G"), 3ull << 29);
    CHECK_INT(size("100MB"), 100ull << 20);
    CHECK_INT(size("100M"), 100ull << 20);
    CHECK_INT(size("64KiB"), 64 << 10);
    CHECK_INT(size("2048"), 2048);
    CHECK_INT(size("2048B"), 2048);
    CHECK_INT(size("1t"), 1ull << 40);
    CHECK_INT(size("0"), 0);
    CHECK_INT(size("512m"), 512ull << 20);
}

TEST(bad_sizes)
{
    const char *bad[] = {"",       "lots", "G",   "1GG", "-1G",         "1 G",
                         "100 MB", "1Q",   "1.G", "1e9", "99999999999T"};
    uint64_t b = 7;
    CHECK_INT(cfg_parse_size(NULL, &b), -TE_PARSE);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (cfg_parse_size(bad[i], &b) != -TE_PARSE)
            UNIT_FAIL("size \"%s\" accepted as %llu", bad[i], (unsigned long long)b);
    CHECK_INT(b, 7);
}

TEST(percents)
{
    double p = 0;
    CHECK_INT(cfg_parse_percent("70%", &p), 0);
    CHECK(p == 70.0);
    CHECK_INT(cfg_parse_percent("12.5%", &p), 0);
    CHECK(p == 12.5);
    CHECK_INT(cfg_parse_percent("0%", &p), 0);
    CHECK(p == 0.0);
    const char *bad[] = {"70", "%", "70 %", "-5%", "70%%", "seventy%", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (cfg_parse_percent(bad[i], &p) != -TE_PARSE)
            UNIT_FAIL("percent \"%s\" accepted", bad[i]);
}

TEST(signals)
{
    int s = 0;
    CHECK_INT(cfg_parse_signal("SIGTERM", &s), 0);
    CHECK_INT(s, SIGTERM);
    CHECK_INT(cfg_parse_signal("TERM", &s), 0);
    CHECK_INT(s, SIGTERM);
    CHECK_INT(cfg_parse_signal("15", &s), 0);
    CHECK_INT(s, 15);
    CHECK_INT(cfg_parse_signal("sigint", &s), 0);
    CHECK_INT(s, SIGINT);
    CHECK_INT(cfg_parse_signal("SIGUSR2", &s), 0);
    CHECK_INT(s, SIGUSR2);
    CHECK_INT(cfg_parse_signal("HUP", &s), 0);
    CHECK_INT(s, SIGHUP);
    const char *bad[] = {"", "SIG", "SIGTREM", "0", "65", "-9", "9x", "KILLME", "SIG TERM"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (cfg_parse_signal(bad[i], &s) != -TE_PARSE)
            UNIT_FAIL("signal \"%s\" accepted as %d", bad[i], s);
    CHECK_STR(cfg_signal_name(SIGTERM), "SIGTERM");
    CHECK_STR(cfg_signal_name(SIGKILL), "SIGKILL");
    CHECK_STR(cfg_signal_name(SIGINT), "SIGINT");
    CHECK_STR(cfg_signal_name(0), "unknown");
}

int main(void)
{
    RUN(durations);
    RUN(bad_durations);
    RUN(sizes);
    RUN(bad_sizes);
    RUN(percents);
    RUN(signals);
    return unit_done();
}
