/* core/cron.c: 5-field cron expressions and their next fire time.
 *
 * Parsing turns each field into a bit mask (cron.h's struct cron). A field that starts with '*'
 * (or '?') counts as unrestricted for the day-matching rule, as in Vixie cron and cronie: when
 * either day field is unrestricted a day must match both, otherwise either (the OR rule), so
 * "0 0 13 * 5" fires on every 13th and every Friday while "0 0 *\/2 * 1" fires on odd-numbered
 * Mondays only. "a/n" means "a-max/n". Day-of-week 7 is Sunday, like 0.
 *
 * cron_next works on local wall-clock time: it walks calendar days (skipping whole months that
 * do not match, so an impossible date costs a few hundred cheap steps, never a minute-by-minute
 * scan), and within a matching day the matching hours and minutes in order. Each wall time is
 * turned into the instants at which it occurs: none (skipped by a spring-forward change: the job
 * does not run that day), one, or two (the repeated hour of a fall-back change). Of two, a job
 * that names its hours fires at the first only, so "30 1 * * *" runs once that night; a job
 * whose hour field matches every hour ("*\/15 * * * *", "0 * * * *") fires at both, keeping its
 * real-time cadence instead of pausing for an hour. The search starts three hours of wall time
 * before `after`, because after a fall-back the wall clock reads up to that much earlier.
 *
 * The zone is applied by setting TZ and calling tzset() for the duration of the call, then
 * restoring the caller's TZ. That is process-wide state: correct because the daemon is
 * single-threaded (DESIGN "one process, one event loop"); never call cron_next from the libuv
 * thread pool. The search gives up after 8 years so that 29 February is always found. */
#include "core/cron.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"

#define SEARCH_DAYS (8 * 366)
#define FALLBACK_SLACK_MIN 180

struct field_spec {
    const char *name;
    int min, max;
    const char *const *names; /* names[i] is value min + i, or NULL */
};

static const char *const month_names[] = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL,
};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct field_spec fields[5] = {
    {"minute", 0, 59, NULL},          {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},    {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, dow_names},
};

static const struct {
    const char *name, *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* Read one value (number or name) at *p, advancing it. */
static int parse_value(const char **p, int fno, int *out, struct err *err)
{
    const struct field_spec *f = &fields[fno];
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        while (isdigit((unsigned char)*s) && v < 1000)
            v = v * 10 + (*s++ - '0');
        if (isdigit((unsigned char)*s) || v < f->min || v > f->max)
            return err_set(err, -TE_PARSE, "field %d (%s): %.*s is out of range %d-%d", fno + 1,
                           f->name, (int)strspn(*p, "0123456789"), *p, f->min, f->max);
        *out = (int)v;
        *p = s;
        return 0;
    }
    size_t n = 0;
    while (isalpha((unsigned char)s[n]))
        n++;
    for (int i = 0; f->names && n == 3 && f->names[i]; i++) {
        if (strncasecmp(s, f->names[i], 3) == 0) {
            *out = f->min + i;
            *p = s + 3;
            return 0;
        }
    }
    if (n == 0)
        return err_set(err, -TE_PARSE, "field %d (%s): expected a number at \"%s\"", fno + 1,
                       f->name, s);
    return err_set(err, -TE_PARSE, "field %d (%s): \"%.*s\" is not a %s", fno + 1, f->name, (int)n,
                   s,
                   fno == 3   ? "month name (jan-dec)"
                   : fno == 4 ? "weekday name (sun-sat)"
                              : "number");
}

/* Parse one field (a NUL-terminated word) into a mask; *star says it starts with '*' or '?'. */
static int parse_field(const char *word, int fno, uint64_t *mask, bool *star, struct err *err)
{
    const struct field_spec *f = &fields[fno];
    const char *p = word;
    *mask = 0;
    *star = word[0] == '*' || word[0] == '?';
    for (;;) {
        int lo, hi, step = 1, rc;
        bool range = false;
        if (*p == '*' || *p == '?') {
            lo = f->min;
            hi = f->max;
            range = true;
            p++;
        } else {
            if ((rc = parse_value(&p, fno, &lo, err)) < 0)
                return rc;
            hi = lo;
            if (*p == '-') {
                p++;
                if ((rc = parse_value(&p, fno, &hi, err)) < 0)
                    return rc;
                if (hi < lo)
                    return err_set(err, -TE_PARSE, "field %d (%s): range %d-%d goes backwards",
                                   fno + 1, f->name, lo, hi);
                range = true;
            }
        }
        if (*p == '/') {
            p++;
            long v = 0;
            const char *digits = p;
            while (isdigit((unsigned char)*p) && v < 1000)
                v = v * 10 + (*p++ - '0');
            if (p == digits || v < 1 || v > f->max)
                return err_set(err, -TE_PARSE, "field %d (%s): step must be a number 1-%d", fno + 1,
                               f->name, f->max);
            step = (int)v;
            if (!range)
                hi = f->max; /* "5/15" means "5-max/15" */
        }
        for (int v = lo; v <= hi; v += step)
            *mask |= (uint64_t)1 << v;
        if (*p == '\0')
            break;
        if (*p != ',' || p[1] == '\0')
            return err_set(err, -TE_PARSE, "field %d (%s): unexpected \"%s\" in \"%s\"", fno + 1,
                           f->name, p, word);
        p++;
    }
    return 0;
}

int cron_parse(struct cron *c, const char *expr, struct err *err)
{
    char copy[256];
    memset(c, 0, sizeof *c);
    while (isspace((unsigned char)*expr))
        expr++;
    if (expr[0] == '@') {
        size_t n = strcspn(expr, " \t\r\n");
        if (expr[n + strspn(expr + n, " \t\r\n")] == '\0') {
            for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
                if (strlen(macros[i].name) == n && strncasecmp(expr, macros[i].name, n) == 0)
                    return cron_parse(c, macros[i].expr, err);
        }
        int rc = err_set(err, -TE_PARSE, "unknown schedule \"%.*s\"", (int)n, expr);
        err_hint(err, "use @yearly, @monthly, @weekly, @daily, @hourly or 5 fields such as "
                      "\"0 3 * * *\"");
        return rc;
    }
    if (str_copy(copy, expr, sizeof copy) >= sizeof copy)
        return err_set(err, -TE_PARSE, "cron expression is too long");

    char *words[6];
    int nw = 0;
    for (char *p = copy; *p && nw < 6;) {
        while (isspace((unsigned char)*p))
            *p++ = '\0';
        if (!*p)
            break;
        words[nw++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
    }
    if (nw != 5) {
        int rc = err_set(err, -TE_PARSE,
                         "expected 5 fields (minute hour day-of-month month "
                         "day-of-week), got %s%d",
                         nw > 5 ? "more than " : "", nw > 5 ? 5 : nw);
        err_hint(err, "for example \"0 3 * * *\" runs at 03:00 every day");
        return rc;
    }

    uint64_t m[5];
    bool star[5];
    for (int i = 0; i < 5; i++) {
        int rc = parse_field(words[i], i, &m[i], &star[i], err);
        if (rc < 0)
            return rc;
    }
    if (m[4] & (1u << 7))
        m[4] = (m[4] | 1u) & ~(uint64_t)(1u << 7);
    c->minute = m[0];
    c->hour = (uint32_t)m[1];
    c->dom = (uint32_t)m[2];
    c->month = (uint16_t)m[3];
    c->dow = (uint8_t)m[4];
    c->dom_star = star[2];
    c->dow_star = star[4];
    return 0;
}

int cron_tz_check(const char *tz, struct err *err)
{
    if (!tz || !*tz || strcmp(tz, "UTC") == 0)
        return 0;
    const char *dir = getenv("TZDIR");
    char path[PATH_MAX];
    struct stat st;
    bool ok =
        tz[0] != '/' && !strstr(tz, "..") &&
        str_fmt(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz) == 0 &&
        stat(path, &st) == 0 && S_ISREG(st.st_mode);
    if (ok)
        return 0;
    int rc = err_set(err, -TE_INVALID, "unknown timezone \"%s\"", tz);
    err_hint(err, "use an IANA name such as \"Europe/Berlin\", \"Asia/Shanghai\" or \"UTC\"");
    return rc;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static long gmtoff_at(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    return localtime_r(&tt, &tm) ? tm.tm_gmtoff : 0;
}

/* The instants (ascending) at which local wall time `wall` (seconds since 1970 as if UTC)
 * occurs: 0 in a spring-forward gap, 2 in a fall-back overlap, else 1. The offsets a day
 * either side are the only candidates: zones change offset at most once in such a span. */
static int instants(int64_t wall, int64_t out[2])
{
    long off[2] = {gmtoff_at(wall - 86400), gmtoff_at(wall + 86400)};
    int n = 0;
    for (int i = 0; i < 2; i++) {
        if (i == 1 && off[1] == off[0])
            break;
        int64_t t = wall - off[i];
        if (gmtoff_at(t) == off[i])
            out[n++] = t;
    }
    if (n == 2 && out[1] < out[0]) {
        int64_t tmp = out[0];
        out[0] = out[1];
        out[1] = tmp;
    }
    return n;
}

static bool day_matches(const struct cron *c, int mday, int wday)
{
    bool dom = c->dom >> mday & 1, dow = c->dow >> wday & 1;
    if (c->dom_star || c->dow_star)
        return dom && dow;
    return dom || dow;
}

/* The earliest fire time > after among the wall times of one day from minute `first_min`;
 * with `exhaustive` false the first one found is returned (walls and instants ascend together
 * when no offset change is near). -1 if none. */
static int64_t scan_day(const struct cron *c, int64_t day, int first_min, int64_t after,
                        bool exhaustive)
{
    bool every_hour = (c->hour & 0xffffffu) == 0xffffffu;
    int64_t best = -1;
    for (int h = first_min / 60; h < 24; h++) {
        if (!(c->hour >> h & 1))
            continue;
        for (int mi = h == first_min / 60 ? first_min % 60 : 0; mi < 60; mi++) {
            if (!(c->minute >> mi & 1))
                continue;
            int64_t at[2];
            int n = instants(day * 86400 + h * 3600 + mi * 60, at);
            if (n == 2 && !every_hour)
                n = 1; /* a repeated wall time fires once, at its first occurrence */
            for (int i = 0; i < n; i++)
                if (at[i] > after && (best < 0 || at[i] < best))
                    best = at[i];
            if (best >= 0 && !exhaustive)
                return best;
        }
    }
    return best;
}

static int64_t next_local(const struct cron *c, int64_t after)
{
    int64_t wall_min = floor_div(after + gmtoff_at(after), 60) - FALLBACK_SLACK_MIN;
    int64_t day = floor_div(wall_min, 1440), last_day = day + SEARCH_DAYS;
    int first_min = (int)(wall_min - day * 1440);
    while (day <= last_day) {
        int64_t y;
        int m, d;
        civil_from_days(day, &y, &m, &d);
        if (!(c->month >> m & 1)) {
            day = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
            first_min = 0;
            continue;
        }
        int wday = (int)((day % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
        if (day_matches(c, d, wday)) {
            bool near_change = gmtoff_at(day * 86400 - 86400) != gmtoff_at(day * 86400 + 172800);
            int64_t t = scan_day(c, day, first_min, after, near_change);
            if (t >= 0)
                return t;
        }
        day++;
        first_min = 0;
    }
    return -1;
}

time_t cron_next(const struct cron *c, time_t after, const char *tz)
{
    char *saved = NULL;
    bool switch_tz = tz && *tz;
    if (switch_tz) {
        saved = str_dup(getenv("TZ"));
        setenv("TZ", tz, 1);
        tzset();
    }
    int64_t t = next_local(c, (int64_t)after);
    if (switch_tz) {
        if (saved)
            setenv("TZ", saved, 1);
        else
            unsetenv("TZ");
        tzset();
        free(saved);
    }
    return (time_t)t;
}
