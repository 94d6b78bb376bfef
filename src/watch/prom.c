/* watch/prom.c: the Prometheus text format 0.0.4 writer (prom.h).
 *
 * Everything is validated before a line is written, so an invalid call leaves no half line;
 * the first error sticks (p->rc) and later calls do nothing. Escaping follows the format's
 * definition: in label values backslash, double quote and newline become \\ \" \n; in HELP
 * text only backslash and newline are escaped. Numbers are printed with the fewest digits that
 * read back to the same double (%.15g, else %.17g), integers without an exponent up to 1e15.
 * The unit test feeds the output to a real parser (python3-prometheus-client). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "watch/prom.h"

static const char *const type_name[] = {
    [WATCH_PROM_GAUGE] = "gauge",
    [WATCH_PROM_COUNTER] = "counter",
    [WATCH_PROM_HISTOGRAM] = "histogram",
};

static bool name_char(char c, bool first, bool colon_ok)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

bool watch_prom_name_ok(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *c = name; *c; c++)
        if (!name_char(*c, c == name, true))
            return false;
    return true;
}

bool watch_prom_label_ok(const char *name)
{
    if (!name || !*name || str_starts(name, "__"))
        return false;
    for (const char *c = name; *c; c++)
        if (!name_char(*c, c == name, false))
            return false;
    return true;
}

void watch_prom_value(char *dst, size_t size, double v)
{
    if (isnan(v))
        snprintf(dst, size, "NaN");
    else if (isinf(v))
        snprintf(dst, size, v > 0 ? "+Inf" : "-Inf");
    else {
        snprintf(dst, size, "%.15g", v);
        if (strtod(dst, NULL) != v)
            snprintf(dst, size, "%.17g", v);
    }
}

void watch_prom_init(struct watch_prom *p, struct buf *out)
{
    *p = (struct watch_prom){.out = out};
    buf_init(&p->seen, 0);
}

int watch_prom_finish(struct watch_prom *p)
{
    buf_fini(&p->seen);
    return p->rc;
}

static int fail(struct watch_prom *p, int rc)
{
    if (p->rc == 0)
        p->rc = rc;
    return p->rc;
}

/* Escape `s` into the output; label values also escape the double quote. */
static int put_escaped(struct buf *b, const char *s, bool quote)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        if (*s == '\\')
            rc = buf_puts(b, "\\\\");
        else if (*s == '\n')
            rc = buf_puts(b, "\\n");
        else if (*s == '"' && quote)
            rc = buf_puts(b, "\\\"");
        else
            rc = buf_putc(b, *s);
    }
    return rc;
}

int watch_prom_family(struct watch_prom *p, const char *name, enum watch_prom_type type,
                      const char *help)
{
    if (p->rc)
        return p->rc;
    if (!watch_prom_name_ok(name) || strlen(name) >= sizeof p->family - 8 ||
        (unsigned)type > WATCH_PROM_HISTOGRAM)
        return fail(p, -TE_INVALID);
    size_t len = strlen(name);
    for (const char *at = p->seen.ptr; at && (at = strstr(at, name)); at++)
        if (at[-1] == '\n' && at[len] == '\n')
            return fail(p, -TE_INVALID); /* a second TYPE line is rejected by scrapers */
    struct buf *b = p->out;
    int rc = p->seen.len ? 0 : buf_putc(&p->seen, '\n');
    if (rc == 0)
        rc = buf_printf(&p->seen, "%s\n", name);
    if (rc == 0)
        rc = buf_printf(b, "# HELP %s ", name);
    if (rc == 0)
        rc = put_escaped(b, help ? help : "", false);
    if (rc == 0)
        rc = buf_printf(b, "\n# TYPE %s %s\n", name, type_name[type]);
    if (rc < 0)
        return fail(p, rc);
    str_copy(p->family, name, sizeof p->family);
    p->type = type;
    return 0;
}

static bool labels_ok(const struct watch_label *labels, size_t n, bool is_histogram)
{
    for (size_t i = 0; i < n; i++) {
        if (!watch_prom_label_ok(labels[i].name) || !labels[i].value)
            return false;
        if (is_histogram && strcmp(labels[i].name, "le") == 0)
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i].name, labels[j].name) == 0)
                return false;
    }
    return true;
}

/* name{labels[,le="x"]} value\n */
static int put_sample(struct buf *b, const char *name, const char *suffix,
                      const struct watch_label *labels, size_t n, const char *le, double value)
{
    char num[32];
    int rc = buf_printf(b, "%s%s", name, suffix);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = buf_printf(b, "%c%s=\"", i ? ',' : '{', labels[i].name);
        if (rc == 0)
            rc = put_escaped(b, labels[i].value, true);
        if (rc == 0)
            rc = buf_putc(b, '"');
    }
    if (rc == 0 && le)
        rc = buf_printf(b, "%sle=\"%s\"", n ? "," : "{", le);
    if (rc == 0 && (n || le))
        rc = buf_putc(b, '}');
    watch_prom_value(num, sizeof num, value);
    if (rc == 0)
        rc = buf_printf(b, " %s\n", num);
    return rc;
}

int watch_prom_sample(struct watch_prom *p, const struct watch_label *labels, size_t nlabels,
                      double value)
{
    if (p->rc)
        return p->rc;
    if (!p->family[0] || p->type == WATCH_PROM_HISTOGRAM || !labels_ok(labels, nlabels, false))
        return fail(p, -TE_INVALID);
    int rc = put_sample(p->out, p->family, "", labels, nlabels, NULL, value);
    return rc < 0 ? fail(p, rc) : 0;
}

int watch_prom_histogram(struct watch_prom *p, const struct watch_label *labels, size_t nlabels,
                         const double *bounds, const uint64_t *counts, size_t nbounds, double sum)
{
    if (p->rc)
        return p->rc;
    if (!p->family[0] || p->type != WATCH_PROM_HISTOGRAM || !labels_ok(labels, nlabels, true))
        return fail(p, -TE_INVALID);
    for (size_t i = 0; i < nbounds; i++)
        if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
            return fail(p, -TE_INVALID);
    uint64_t cumulative = 0;
    char le[32];
    int rc = 0;
    for (size_t i = 0; i < nbounds && rc == 0; i++) {
        cumulative += counts[i];
        watch_prom_value(le, sizeof le, bounds[i]);
        rc = put_sample(p->out, p->family, "_bucket", labels, nlabels, le, (double)cumulative);
    }
    cumulative += counts[nbounds];
    if (rc == 0)
        rc = put_sample(p->out, p->family, "_bucket", labels, nlabels, "+Inf", (double)cumulative);
    if (rc == 0)
        rc = put_sample(p->out, p->family, "_sum", labels, nlabels, NULL, sum);
    if (rc == 0)
        rc = put_sample(p->out, p->family, "_count", labels, nlabels, NULL, (double)cumulative);
    return rc < 0 ? fail(p, rc) : 0;
}

/* HELP of each series name; the order is the page's. */
static const struct {
    const char *name, *help;
} series_help[] = {
    {WATCH_CPU, "CPU use of the machine, percent of all cores"},
    {WATCH_MEMORY, "Memory in use (MemTotal - MemAvailable), percent"},
    {WATCH_LOAD1, "Load average over 1 minute"},
    {WATCH_LOAD5, "Load average over 5 minutes"},
    {WATCH_LOAD15, "Load average over 15 minutes"},
    {WATCH_DISK, "Disk space used, percent (as df shows it)"},
    {WATCH_INODES, "Inodes free, percent"},
    {WATCH_NET_RX, "Bytes received per second"},
    {WATCH_NET_TX, "Bytes sent per second"},
    {WATCH_APP_CPU, "CPU use of an instance's process tree, percent of one core"},
    {WATCH_APP_MEMORY, "Resident memory of an instance's process tree, bytes"},
    {WATCH_APP_FDS, "Open file descriptors of an instance's process tree"},
    {WATCH_APP_THREADS, "Threads of an instance's process tree"},
    {WATCH_APP_RESTARTS, "Restarts of an instance since its app was started"},
};

struct series_out {
    struct watch_prom *p;
    size_t row;
    int64_t now_ms, max_age_ms;
    bool started;
};

static void series_sample(void *arg, const struct watch_series *s)
{
    struct series_out *o = arg;
    const struct watch_label *labels;
    double v;
    int64_t at;
    if (strcmp(watch_series_name(s), series_help[o->row].name) != 0 ||
        !watch_series_last(s, &v, &at) || at + o->max_age_ms < o->now_ms)
        return;
    if (!o->started) {
        char name[128];
        snprintf(name, sizeof name, "tend_%s", series_help[o->row].name);
        watch_prom_family(o->p, name, WATCH_PROM_GAUGE, series_help[o->row].help);
        o->started = true;
    }
    size_t n = watch_series_labels(s, &labels);
    watch_prom_sample(o->p, labels, n, v);
}

int watch_prom_series(struct watch_prom *p, const struct watch_series_set *set, int64_t now_ms,
                      int64_t max_age_ms)
{
    for (size_t i = 0; i < sizeof series_help / sizeof series_help[0]; i++) {
        struct series_out o = {.p = p, .row = i, .now_ms = now_ms, .max_age_ms = max_age_ms};
        watch_series_each(set, series_sample, &o);
    }
    return p->rc;
}
