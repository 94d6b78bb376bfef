/* tests/fuzz/fuzz_cron.c: cron expressions (core/cron.h): parse, then the next fire times.
 *
 * The first line is the expression; a second line, when present, is a timezone name checked with
 * cron_tz_check() and used for cron_next() when accepted (else UTC and a zone with DST). */
#include "core/cron.h"
#include "core/err.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_str(data, size);
    char *tz = strchr(text, '\n');
    struct cron c;
    struct err e = {0};
    if (tz)
        *tz++ = '\0';
    if (cron_parse(&c, text, &e) == 0) {
        const time_t start = 1700000000; /* 2023-11-14, a Tuesday */
        time_t t = cron_next(&c, start, "UTC");
        if (t != -1 && t <= start)
            abort(); /* "strictly after" */
        if (t != -1)
            (void)cron_next(&c, t, "UTC");
        if (tz && cron_tz_check(tz, &e) == 0)
            (void)cron_next(&c, start, tz);
        else
            (void)cron_next(&c, 1710050000, "America/New_York"); /* just before a DST change */
    } else if (tz) {
        (void)cron_tz_check(tz, &e);
    }
    free(text);
    return 0;
}
