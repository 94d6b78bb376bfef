/* core/clock.c: the one source of time, and formatting of wall time for people.
 *
 * Production reads CLOCK_MONOTONIC for durations and CLOCK_REALTIME for display and cron. A
 * unit test may freeze both with clock_fake_set() and move them with clock_fake_advance(), so
 * a rule `for: 5m` is tested without waiting five minutes. The fake is process-wide state on
 * purpose (the daemon is single-threaded and only tests install it).
 *
 * clock_format() implements the subset of moment.js patterns that PM2 users write in
 * `log_date_format`: YYYY YY MM M DD D HH H mm m ss s SSS Z ZZ, and [literal text]. Tokens
 * are matched longest first ("MM" before "M"); any other character is copied as is. Local time
 * comes from localtime_r, so the process's TZ decides the zone. */
#include "core/clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool fake_on;
static uint64_t fake_mono_ms;
static int64_t fake_wall_ms;

uint64_t clock_mono_ms(void)
{
    if (fake_on)
        return fake_mono_ms;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t clock_wall_ms(void)
{
    if (fake_on)
        return fake_wall_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_fake_set(uint64_t mono_ms, int64_t wall_ms)
{
    fake_on = true;
    fake_mono_ms = mono_ms;
    fake_wall_ms = wall_ms;
}

void clock_fake_advance(uint64_t ms)
{
    fake_mono_ms += ms;
    fake_wall_ms += (int64_t)ms;
}

void clock_fake_off(void)
{
    fake_on = false;
}

/* Split epoch milliseconds into local broken-down time and the millisecond part, flooring so
 * that instants before 1970 still get 0..999 ms. */
static void split(int64_t wall_ms, struct tm *tm, int *ms)
{
    int64_t sec = wall_ms / 1000, rem = wall_ms % 1000;
    if (rem < 0) {
        rem += 1000;
        sec--;
    }
    time_t t = (time_t)sec;
    if (!localtime_r(&t, tm))
        memset(tm, 0, sizeof *tm);
    *ms = (int)rem;
}

/* "+08:00" (colon) or "+0800". */
static void offset(char *dst, size_t size, long gmtoff, bool colon)
{
    char sign = gmtoff < 0 ? '-' : '+';
    long a = gmtoff < 0 ? -gmtoff : gmtoff;
    int h = (int)(a / 3600 % 100), m = (int)(a / 60 % 60); /* real offsets are under 26h */
    snprintf(dst, size, colon ? "%c%02d:%02d" : "%c%02d%02d", sign, h, m);
}

size_t clock_iso8601(char *dst, size_t size, int64_t wall_ms, int with_ms)
{
    struct tm tm;
    int ms;
    split(wall_ms, &tm, &ms);
    char off[16], frac[8] = "";
    offset(off, sizeof off, tm.tm_gmtoff, true);
    if (with_ms)
        snprintf(frac, sizeof frac, ".%03d", ms);
    int n = snprintf(dst, size, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac, off);
    if (n < 0 || !size)
        return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

/* Tokens, longest first within each letter so the first match is the right one. */
static const char *const tokens[] = {
    "YYYY", "YY", "MM", "M", "DD", "D", "HH", "H", "mm", "m", "ss", "s", "SSS", "ZZ", "Z", NULL,
};

static const char *match_token(const char *p)
{
    for (size_t i = 0; tokens[i]; i++)
        if (strncmp(p, tokens[i], strlen(tokens[i])) == 0)
            return tokens[i];
    return NULL;
}

/* Text for one token; `out` holds at least 24 bytes. */
static void render(char *out, size_t size, const char *tok, const struct tm *tm, int ms)
{
    int v = 0, width = 2;
    switch (tok[0]) {
    case 'Y':
        v = tok[1] && tok[2] ? tm->tm_year + 1900 : (tm->tm_year + 1900) % 100;
        width = tok[1] && tok[2] ? 4 : 2;
        break;
    case 'M':
        v = tm->tm_mon + 1;
        break;
    case 'D':
        v = tm->tm_mday;
        break;
    case 'H':
        v = tm->tm_hour;
        break;
    case 'm':
        v = tm->tm_min;
        break;
    case 's':
        v = tm->tm_sec;
        break;
    case 'S':
        v = ms;
        width = 3;
        break;
    case 'Z':
        offset(out, size, tm->tm_gmtoff, tok[1] == '\0');
        return;
    }
    if (tok[0] != 'Y' && tok[0] != 'S' && tok[1] == '\0')
        width = 1; /* single-letter forms are unpadded: M D H m s */
    snprintf(out, size, "%0*d", width, v);
}

size_t clock_format(char *dst, size_t size, const char *pattern, int64_t wall_ms)
{
    struct tm tm;
    int ms;
    split(wall_ms, &tm, &ms);
    size_t pos = 0;
    if (!size)
        return 0;
    dst[0] = '\0';
    for (const char *p = pattern; *p;) {
        char piece[24];
        const char *text = piece;
        size_t n;
        const char *tok;
        if (*p == '[') {
            const char *end = strchr(p + 1, ']');
            text = p + 1;
            n = end ? (size_t)(end - text) : strlen(text);
            p = end ? end + 1 : text + n;
        } else if ((tok = match_token(p))) {
            render(piece, sizeof piece, tok, &tm, ms);
            n = strlen(piece);
            p += strlen(tok);
        } else {
            text = p;
            n = 1;
            p++;
        }
        if (pos + n >= size)
            n = size - 1 - pos;
        memcpy(dst + pos, text, n);
        pos += n;
        dst[pos] = '\0';
    }
    return pos;
}

int clock_format_check(const char *pattern)
{
    for (const char *p = pattern; *p;) {
        const char *tok;
        if (*p == '[') {
            const char *end = strchr(p + 1, ']');
            if (!end)
                return 0;
            p = end + 1;
        } else if ((tok = match_token(p))) {
            p += strlen(tok);
        } else if (((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) && *p != 'T') {
            /* A letter moment.js would read as a token we do not support (A, dddd, Do, X):
             * rejecting it beats printing it literally. 'T' is the ISO separator. */
            return 0;
        } else {
            p++;
        }
    }
    return 1;
}
