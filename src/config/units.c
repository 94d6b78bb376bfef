/* config/units.c: the units users write in tend.yaml: durations, sizes, percents, signals.
 *
 * Every parser accepts the whole string or nothing (no trailing junk, no sign, no overflow),
 * so "5 s", "-1s" and "10x" are errors the checker can quote back. Sizes are binary (K = 1024)
 * because that is what PM2's max_memory_restart and logrotate users mean by "1G". */
#include "config/config.h"

#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/util.h"

/* Read an unsigned decimal with an optional fraction at *p; false if there are no digits. */
static bool read_number(const char **p, double *out)
{
    const char *s = *p;
    double v = 0;
    bool digits = false;
    while (isdigit((unsigned char)*s)) {
        v = v * 10 + (*s++ - '0');
        digits = true;
    }
    if (*s == '.' && isdigit((unsigned char)s[1])) {
        double scale = 0.1;
        for (s++; isdigit((unsigned char)*s); s++, scale /= 10)
            v += (*s - '0') * scale;
        digits = true;
    }
    if (!digits)
        return false;
    *p = s;
    *out = v;
    return true;
}

struct unit {
    const char *name;
    double factor;
};

/* Longest names first so "ms" is not read as "m" followed by "s". */
static const struct unit duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {"w", 604800000},
};

static const struct unit *match_unit(const char *s, const struct unit *u, size_t n, size_t *len)
{
    const struct unit *best = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(u[i].name);
        if (strncasecmp(s, u[i].name, l) == 0 && (!best || l > *len)) {
            best = &u[i];
            *len = l;
        }
    }
    return best;
}

int cfg_parse_duration(const char *s, uint64_t *ms)
{
    double total = 0, v;
    const char *p = s;
    if (!s || !*s)
        return -TE_PARSE;
    if (read_number(&p, &v) && *p == '\0') {
        total = v * 1000; /* a bare number is seconds */
    } else {
        p = s;
        while (*p) {
            size_t len = 0;
            if (!read_number(&p, &v))
                return -TE_PARSE;
            const struct unit *u = match_unit(p, duration_units, ARRAY_LEN(duration_units), &len);
            if (!u)
                return -TE_PARSE;
            total += v * u->factor;
            p += len;
        }
    }
    if (!(total < 1.8e19))
        return -TE_PARSE;
    *ms = (uint64_t)llround(total);
    return 0;
}

static const struct unit size_units[] = {
    {"b", 1},
    {"k", 1024.0},
    {"kb", 1024.0},
    {"kib", 1024.0},
    {"m", 1024.0 * 1024},
    {"mb", 1024.0 * 1024},
    {"mib", 1024.0 * 1024},
    {"g", 1024.0 * 1024 * 1024},
    {"gb", 1024.0 * 1024 * 1024},
    {"gib", 1024.0 * 1024 * 1024},
    {"t", 1024.0 * 1024 * 1024 * 1024},
    {"tb", 1024.0 * 1024 * 1024 * 1024},
    {"tib", 1024.0 * 1024 * 1024 * 1024},
};

int cfg_parse_size(const char *s, uint64_t *bytes)
{
    double v;
    size_t len = 0;
    const char *p = s;
    if (!s || !read_number(&p, &v))
        return -TE_PARSE;
    double factor = 1;
    if (*p) {
        const struct unit *u = match_unit(p, size_units, ARRAY_LEN(size_units), &len);
        if (!u || p[len] != '\0')
            return -TE_PARSE;
        factor = u->factor;
    }
    double total = v * factor;
    if (!(total < 1.8e19))
        return -TE_PARSE;
    *bytes = (uint64_t)llround(total);
    return 0;
}

int cfg_parse_percent(const char *s, double *pct)
{
    double v;
    const char *p = s;
    if (!s || !read_number(&p, &v) || strcmp(p, "%") != 0)
        return -TE_PARSE;
    *pct = v;
    return 0;
}

static const struct {
    int sig;
    const char *name;
} signals[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGKILL, "SIGKILL"},
    {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}, {SIGTERM, "SIGTERM"}, {SIGALRM, "SIGALRM"},
    {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"}, {SIGWINCH, "SIGWINCH"},
    {SIGPIPE, "SIGPIPE"}, {SIGABRT, "SIGABRT"}, {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},
    {SIGPWR, "SIGPWR"},   {SIGXCPU, "SIGXCPU"},
};

int cfg_parse_signal(const char *s, int *sig)
{
    if (!s || !*s)
        return -TE_PARSE;
    if (isdigit((unsigned char)*s)) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || v < 1 || v > 64)
            return -TE_PARSE;
        *sig = (int)v;
        return 0;
    }
    const char *bare = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
    for (size_t i = 0; i < ARRAY_LEN(signals); i++) {
        if (strcasecmp(bare, signals[i].name + 3) == 0) {
            *sig = signals[i].sig;
            return 0;
        }
    }
    return -TE_PARSE;
}

const char *cfg_signal_name(int sig)
{
    for (size_t i = 0; i < ARRAY_LEN(signals); i++)
        if (signals[i].sig == sig)
            return signals[i].name;
    return "unknown";
}
