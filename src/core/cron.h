/* core/cron.h: 5-field cron expressions and their next fire time.
 *
 * Fields: minute hour day-of-month month day-of-week, each `*`, numbers, ranges `a-b`, steps
 * `*\/n` and `a-b/n`, lists `a,b`; month and weekday names (jan, mon); 7 = Sunday. Macros
 * @yearly @annually @monthly @weekly @daily @midnight @hourly. When both day fields are
 * restricted a day matches if either matches (Vixie cron's OR rule). Times are computed in the
 * given IANA timezone (NULL or "" = the process's local zone), across DST changes: a time that
 * does not exist that day is skipped, a repeated hour fires once (at its first occurrence) unless
 * the hour field matches every hour ("*\/15 * * * *", "0 * * * *"): such jobs keep their
 * real-time cadence through the repeated hour. Not thread-safe: cron_next sets TZ for the
 * duration of the call (the daemon is single-threaded). */
#ifndef TEND_CORE_CRON_H
#define TEND_CORE_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct err;

struct cron {
    uint64_t minute; /* bit i = minute i */
    uint32_t hour;
    uint32_t dom;   /* bits 1..31 */
    uint16_t month; /* bits 1..12 */
    uint8_t dow;    /* bits 0..6, Sunday = 0 */
    bool dom_star, dow_star;
};

/* Parse; on error fills err with what is wrong and at which field ("field 2 (hour): 25 is out
 * of range 0-23"), returns -TE_PARSE. */
int cron_parse(struct cron *c, const char *expr, struct err *err);
/* The first fire time strictly after `after` (Unix seconds) in timezone tz; -1 if none within
 * 8 years (an impossible date such as 30 February; 8 so that 29 February is always found). */
time_t cron_next(const struct cron *c, time_t after, const char *tz);
/* Is tz a timezone cron_next knows (NULL, "", "UTC" or a file under $TZDIR or
 * /usr/share/zoneinfo)? 0, or -TE_INVALID with a message and hint: glibc silently treats an
 * unknown TZ as UTC, so config validation must call this. */
int cron_tz_check(const char *tz, struct err *err);

#endif
