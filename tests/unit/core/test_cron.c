/* tests/unit/core/test_cron.c: cron expression parsing and next-fire times.
 *
 * The table's expected epochs were computed by an independent minute-by-minute reference
 * (Python's zoneinfo) and spot-checked with `TZ=... date -d @N`; each row's comment shows the
 * local times. DST rows use Europe/Berlin (2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00)
 * and America/New_York (2026-03-08, 2026-11-01). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cron.h"
#include "core/err.h"
#include "unit.h"

struct next_case {
    const char *expr, *tz;
    time_t after, want;
};

static const struct next_case cases[] = {
    /* 2026-11-23T14:07:30+08:00 -> 2026-11-23T14:15:00+08:00 */
    {"*/15 * * * *", "Asia/Shanghai", 1795414050, 1795414500},
    /* 2026-11-23T14:15:00+08:00 -> 2026-11-23T14:30:00+08:00 */
    {"*/15 * * * *", "Asia/Shanghai", 1795414500, 1795415400},
    /* 2026-12-31T23:59:00+08:00 -> 2027-01-01T00:00:00+08:00 */
    {"*/15 * * * *", "Asia/Shanghai", 1798732740, 1798732800},
    /* 2026-11-23T02:59:59+08:00 -> 2026-11-23T03:00:00+08:00 */
    {"0 3 * * *", "Asia/Shanghai", 1795373999, 1795374000},
    /* 2026-11-23T03:00:00+08:00 -> 2026-11-24T03:00:00+08:00 */
    {"0 3 * * *", "Asia/Shanghai", 1795374000, 1795460400},
    /* 2026-11-23T03:00:00+00:00 -> 2026-11-24T03:00:00+00:00 */
    {"0 3 * * *", "UTC", 1795402800, 1795489200},
    /* 2026-11-23T05:59:00+00:00 -> 2026-11-23T06:00:00+00:00 */
    {"0 */6 * * *", "UTC", 1795413540, 1795413600},
    /* 2026-11-23T18:00:00+00:00 -> 2026-11-24T00:00:00+00:00 */
    {"0 */6 * * *", "UTC", 1795456800, 1795478400},
    /* 2026-03-01T00:00:00+00:00 -> 2028-02-29T00:00:00+00:00 */
    {"0 0 29 2 *", "UTC", 1772323200, 1835395200},
    /* 2028-02-29T00:00:00+00:00 -> 2032-02-29T00:00:00+00:00 */
    {"0 0 29 2 *", "UTC", 1835395200, 1961625600},
    /* 2026-03-28T12:00:00+01:00 -> 2026-03-30T02:30:00+02:00 */
    {"30 2 * * *", "Europe/Berlin", 1774695600, 1774830600},
    /* 2026-03-29T01:00:00+01:00 -> 2026-03-30T02:30:00+02:00 (02:30 does not exist on the 29th) */
    {"30 2 * * *", "Europe/Berlin", 1774742400, 1774830600},
    /* 2026-10-24T12:00:00+02:00 -> 2026-10-25T02:30:00+02:00 */
    {"30 2 * * *", "Europe/Berlin", 1792836000, 1792888200},
    /* 2026-10-25T02:30:00+02:00 -> 2026-10-26T02:30:00+01:00 (the second 02:30 is not a fire) */
    {"30 2 * * *", "Europe/Berlin", 1792888200, 1792978200},
    /* 2026-10-25T02:15:00+01:00 -> 2026-10-26T02:30:00+01:00 */
    {"30 2 * * *", "Europe/Berlin", 1792890900, 1792978200},
    /* 2026-11-01T01:30:00-04:00 -> 2026-11-02T01:30:00-05:00 */
    {"30 1 * * *", "America/New_York", 1793511000, 1793601000},
    /* 2026-03-07T12:00:00-05:00 -> 2026-03-09T02:30:00-04:00 */
    {"30 2 * * *", "America/New_York", 1772902800, 1773037800},
    /* 2026-11-01T01:00:00-04:00 -> 2026-11-01T01:00:00-05:00 (hourly jobs keep cadence) */
    {"0 * * * *", "America/New_York", 1793509200, 1793512800},
    /* 2026-11-01T01:00:00-05:00 -> 2026-11-01T02:00:00-05:00 */
    {"0 * * * *", "America/New_York", 1793512800, 1793516400},
    /* 2026-11-01T01:45:00-04:00 -> 2026-11-01T01:00:00-05:00 (wall clock went back) */
    {"*/15 * * * *", "America/New_York", 1793511900, 1793512800},
    /* 2026-03-08T01:30:00-05:00 -> 2026-03-08T03:00:00-04:00 */
    {"0 * * * *", "America/New_York", 1772951400, 1772953200},
    /* 2026-11-23T10:01:00+00:00 -> 2026-11-23T10:15:00+00:00 */
    {"1,15 * * * *", "UTC", 1795428060, 1795428900},
    /* 2026-11-23T10:15:00+00:00 -> 2026-11-23T11:01:00+00:00 */
    {"1,15 * * * *", "UTC", 1795428900, 1795431660},
    /* 2026-11-27T17:00:00+00:00 -> 2026-11-30T09:00:00+00:00 */
    {"0 9-17 * * 1-5", "UTC", 1795798800, 1796029200},
    /* 2026-11-23T08:59:00+00:00 -> 2026-11-23T09:00:00+00:00 */
    {"0 9-17 * * 1-5", "UTC", 1795424340, 1795424400},
    /* 2026-11-23T12:30:00+00:00 -> 2026-11-23T13:00:00+00:00 */
    {"0 9-17 * * 1-5", "UTC", 1795437000, 1795438800},
    /* 2026-11-10T00:00:00+00:00 -> 2026-11-13T00:00:00+00:00 */
    {"0 0 13 * 5", "UTC", 1794268800, 1794528000},
    /* 2026-11-13T00:00:00+00:00 -> 2026-11-20T00:00:00+00:00 */
    {"0 0 13 * 5", "UTC", 1794528000, 1795132800},
    /* 2027-08-06T00:00:00+00:00 -> 2027-08-13T00:00:00+00:00 */
    {"0 0 13 * 5", "UTC", 1817510400, 1818115200},
    /* 2026-11-23T00:00:00+00:00 -> 2027-01-04T00:00:00+00:00 */
    {"0 0 * jan mon", "UTC", 1795392000, 1799020800},
    /* 2027-01-04T00:00:00+00:00 -> 2027-01-11T00:00:00+00:00 */
    {"0 0 * jan mon", "UTC", 1799020800, 1799625600},
    /* 2026-11-23T00:00:00+00:00 -> 2026-12-07T00:00:00+00:00 (odd day AND Monday) */
    {"0 0 */2 * 1", "UTC", 1795392000, 1796601600},
    /* 2026-11-23T14:30:01+08:00 -> 2026-11-24T00:00:00+08:00 */
    {"@daily", "Asia/Shanghai", 1795415401, 1795449600},
    /* 2026-11-23T14:30:01+08:00 -> 2026-11-23T15:00:00+08:00 */
    {"@hourly", "Asia/Shanghai", 1795415401, 1795417200},
    /* 2026-11-23T14:30:01+08:00 -> 2026-11-29T00:00:00+08:00 */
    {"@weekly", "Asia/Shanghai", 1795415401, 1795881600},
    /* 2026-11-23T14:30:01+08:00 -> 2026-12-01T00:00:00+08:00 */
    {"@monthly", "Asia/Shanghai", 1795415401, 1796054400},
    /* 2026-11-23T14:30:01+08:00 -> 2027-01-01T00:00:00+08:00 */
    {"@yearly", "Asia/Shanghai", 1795415401, 1798732800},
    /* 2026-11-23T00:00:00+00:00 -> 2026-11-29T00:00:00+00:00 */
    {"0 0 * * 7", "UTC", 1795392000, 1795910400},
    /* 2026-11-23T10:46:00+00:00 -> 2026-11-23T11:05:00+00:00 */
    {"5/20 * * * *", "UTC", 1795430760, 1795431900},
    /* 2026-11-24T12:00:00+00:00 -> 2026-11-29T12:00:00+00:00 */
    {"0 12 * * sun-tue", "UTC", 1795521600, 1795953600},
};

TEST(next_fire_table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct next_case *k = &cases[i];
        struct cron c;
        struct err e = {0};
        int rc = cron_parse(&c, k->expr, &e);
        if (rc != 0) {
            UNIT_FAIL("row %zu: cron_parse(\"%s\") failed: %s", i, k->expr, e.msg);
            continue;
        }
        time_t got = cron_next(&c, k->after, k->tz);
        if (got != k->want)
            UNIT_FAIL("row %zu: \"%s\" in %s after %lld: got %lld, want %lld", i, k->expr, k->tz,
                      (long long)k->after, (long long)got, (long long)k->want);
    }
}

/* Following cron_next from fire to fire reproduces whole schedules, DST days included. */
static int count_fires(const char *expr, const char *tz, time_t from, time_t to)
{
    struct cron c;
    if (cron_parse(&c, expr, NULL) != 0)
        return -1;
    int n = 0;
    for (time_t t = cron_next(&c, from, tz); t >= 0 && t < to; t = cron_next(&c, t, tz))
        n++;
    return n;
}

TEST(dst_days_fire_counts)
{
    /* Berlin, spring-forward day 2026-03-29 (00:00 CET = 1774738800, a 23-hour day). */
    CHECK_INT(count_fires("30 2 * * *", "Europe/Berlin", 1774738800 - 1, 1774738800 + 23 * 3600),
              0);
    CHECK_INT(count_fires("0 * * * *", "Europe/Berlin", 1774738800 - 1, 1774738800 + 23 * 3600),
              23);
    /* Berlin, fall-back day 2026-10-25 (00:00 CEST = 1792879200, a 25-hour day). */
    CHECK_INT(count_fires("30 2 * * *", "Europe/Berlin", 1792879200 - 1, 1792879200 + 25 * 3600),
              1);
    CHECK_INT(count_fires("0 * * * *", "Europe/Berlin", 1792879200 - 1, 1792879200 + 25 * 3600),
              25);
    CHECK_INT(count_fires("*/15 * * * *", "Europe/Berlin", 1792879200 - 1, 1792879200 + 25 * 3600),
              100);
    CHECK_INT(count_fires("* 2 * * *", "Europe/Berlin", 1792879200 - 1, 1792879200 + 25 * 3600),
              60);
    /* An ordinary week in UTC: 5 days x 9 hours. */
    CHECK_INT(count_fires("0 9-17 * * 1-5", "UTC", 1795392000 - 1, 1795392000 + 7 * 86400), 45);
}

TEST(tz_is_restored)
{
    struct cron c;
    CHECK_INT(cron_parse(&c, "0 3 * * *", NULL), 0);
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    cron_next(&c, 1795392000, "America/New_York");
    CHECK_STR(getenv("TZ"), "Asia/Tokyo");
    unsetenv("TZ");
    tzset();
    cron_next(&c, 1795392000, "Europe/Berlin");
    CHECK(getenv("TZ") == NULL);
    /* NULL and "" mean the process's zone. */
    setenv("TZ", "UTC", 1);
    tzset();
    CHECK_INT(cron_next(&c, 1795392000, NULL), 1795402800);
    CHECK_INT(cron_next(&c, 1795392000, ""), 1795402800);
    unsetenv("TZ");
    tzset();
}

TEST(impossible_dates)
{
    struct cron c;
    CHECK_INT(cron_parse(&c, "0 0 30 2 *", NULL), 0);
    CHECK_INT(cron_next(&c, 1795392000, "UTC"), -1);
    CHECK_INT(cron_parse(&c, "0 0 31 4,6,9,11 *", NULL), 0);
    CHECK_INT(cron_next(&c, 1795392000, "UTC"), -1);
    /* 30 February OR a Monday: the OR rule still finds Mondays in February. */
    CHECK_INT(cron_parse(&c, "0 0 30 2 mon", NULL), 0);
    CHECK_INT(cron_next(&c, 1795392000, "UTC"), 1801440000); /* 2027-02-01, a Monday */
}

TEST(parse_masks)
{
    struct cron c;
    CHECK_INT(cron_parse(&c, "*/15 * * * *", NULL), 0);
    CHECK(c.minute == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
    CHECK(c.hour == 0xffffffu);
    CHECK(c.dom == 0xfffffffeu);
    CHECK(c.month == 0x1ffe);
    CHECK(c.dow == 0x7f);
    CHECK(c.dom_star && c.dow_star);

    CHECK_INT(cron_parse(&c, "  1,15   2-4/2\t13 JAN-Mar sun,7 ", NULL), 0);
    CHECK(c.minute == ((1ull << 1) | (1ull << 15)));
    CHECK(c.hour == ((1u << 2) | (1u << 4)));
    CHECK(c.dom == 1u << 13);
    CHECK(c.month == ((1u << 1) | (1u << 2) | (1u << 3)));
    CHECK(c.dow == 1u);
    CHECK(!c.dom_star && !c.dow_star);

    CHECK_INT(cron_parse(&c, "0 0 * * 5-7", NULL), 0);
    CHECK(c.dow == ((1u << 5) | (1u << 6) | 1u));
    CHECK_INT(cron_parse(&c, "0 0 */2 * 1", NULL), 0);
    CHECK(c.dom_star); /* Vixie: a field starting with '*' is unrestricted for the OR rule */
    CHECK_INT(cron_parse(&c, "0 0 ? * mon", NULL), 0);
    CHECK(c.dom_star && c.dom == 0xfffffffeu);
}

TEST(macros)
{
    static const char *const pairs[][2] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"}, {" @DAILY ", "0 0 * * *"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        struct cron a, b;
        CHECK_INT(cron_parse(&a, pairs[i][0], NULL), 0);
        CHECK_INT(cron_parse(&b, pairs[i][1], NULL), 0);
        if (memcmp(&a, &b, sizeof a) != 0)
            UNIT_FAIL("%s differs from %s", pairs[i][0], pairs[i][1]);
    }
}

static void check_error(const char *expr, const char *want_msg)
{
    struct cron c;
    struct err e = {0};
    int rc = cron_parse(&c, expr, &e);
    if (rc != -TE_PARSE)
        UNIT_FAIL("cron_parse(\"%s\") returned %d, expected -TE_PARSE", expr, rc);
    if (strcmp(e.msg, want_msg) != 0)
        UNIT_FAIL("cron_parse(\"%s\"): \"%s\", expected \"%s\"", expr, e.msg, want_msg);
}

TEST(parse_errors)
{
    check_error("61 * * * *", "field 1 (minute): 61 is out of range 0-59");
    check_error("0 24 * * *", "field 2 (hour): 24 is out of range 0-23");
    check_error("0 0 0 * *", "field 3 (day-of-month): 0 is out of range 1-31");
    check_error("0 0 * 13 *", "field 4 (month): 13 is out of range 1-12");
    check_error("0 0 * * 8", "field 5 (day-of-week): 8 is out of range 0-7");
    check_error("99999999999 * * * *", "field 1 (minute): 99999999999 is out of range 0-59");
    check_error("* * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 3");
    check_error("* * * * * *",
                "expected 5 fields (minute hour day-of-month month day-of-week), got more than 5");
    check_error("", "expected 5 fields (minute hour day-of-month month day-of-week), got 0");
    check_error("0 0 * foo *", "field 4 (month): \"foo\" is not a month name (jan-dec)");
    check_error("0 0 * * funday",
                "field 5 (day-of-week): \"funday\" is not a weekday name (sun-sat)");
    check_error("0 0 mon * *", "field 3 (day-of-month): \"mon\" is not a number");
    check_error("0 17-9 * * *", "field 2 (hour): range 17-9 goes backwards");
    check_error("*/0 * * * *", "field 1 (minute): step must be a number 1-59");
    check_error("*/ * * * *", "field 1 (minute): step must be a number 1-59");
    check_error("1,,2 * * * *", "field 1 (minute): expected a number at \",2\"");
    check_error("1, * * * *", "field 1 (minute): unexpected \",\" in \"1,\"");
    check_error("1-2-3 * * * *", "field 1 (minute): unexpected \"-3\" in \"1-2-3\"");
    check_error("@reboot", "unknown schedule \"@reboot\"");

    struct cron c;
    struct err e = {0};
    cron_parse(&c, "* * *", &e);
    CHECK(strstr(e.hint, "0 3 * * *") != NULL);
    CHECK_INT(cron_parse(&c, "61 * * * *", NULL), -TE_PARSE); /* NULL err is fine */
}

TEST(tz_check)
{
    struct err e = {0};
    CHECK_INT(cron_tz_check(NULL, NULL), 0);
    CHECK_INT(cron_tz_check("", NULL), 0);
    CHECK_INT(cron_tz_check("UTC", NULL), 0);
    CHECK_INT(cron_tz_check("Europe/Berlin", NULL), 0);
    CHECK_INT(cron_tz_check("Mars/Olympus_Mons", &e), -TE_INVALID);
    CHECK_STR(e.msg, "unknown timezone \"Mars/Olympus_Mons\"");
    CHECK_INT(cron_tz_check("../../etc/passwd", NULL), -TE_INVALID);
    CHECK_INT(cron_tz_check("Europe", NULL), -TE_INVALID); /* a folder, not a zone */
}

/* The search is by day, not by minute: a schedule that never fires answers quickly. */
TEST(search_is_fast)
{
    struct cron c;
    CHECK_INT(cron_parse(&c, "0 0 30 2 *", NULL), 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 100; i++)
        cron_next(&c, 1795392000 + i * 86400, "Europe/Berlin");
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    if (ms > 2000)
        UNIT_FAIL("100 impossible searches took %.0f ms", ms);
}

int main(void)
{
    RUN(next_fire_table);
    RUN(dst_days_fire_counts);
    RUN(tz_is_restored);
    RUN(impossible_dates);
    RUN(parse_masks);
    RUN(macros);
    RUN(parse_errors);
    RUN(tz_check);
    RUN(search_is_fast);
    return unit_done();
}
