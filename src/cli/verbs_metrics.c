/* cli/verbs_metrics.c: `tend metrics [APP] [--since DURATION] [--json]`.
 *
 * One GET /v1/metrics with a window and a number of sparkline points; the daemon averages its
 * in-memory ring (the last hour) into those points and adds last/avg/max per series. The
 * terminal form is one block for the system (cpu, memory, load, each disk, each network
 * interface that moved bytes) and one per app instance, each row "name last avg max
 * sparkline", then the access-log figures per app. Percentages share one 0-100 scale so rows
 * compare at a glance. A --since beyond the hour kept in memory reads the one-minute roll-ups
 * in tend.db instead (GET /v1/metrics/history, the same shape; `metrics: keep:` bounds it). */
#include "cli/cli_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/spark.h"
#include "core/str.h"

#define SPARK_POINTS 40
#define MEMORY_MS (3600 * 1000LL)         /* the daemon's in-memory ring (GET /v1/metrics) */
#define KEEP_MS (90 * 24 * 3600 * 1000LL) /* the most /v1/metrics/history answers */

static const json_t *jget(const json_t *o, const char *k)
{
    return json_object_get(o, k);
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(jget(o, k));
    return s ? s : "";
}

static double jnum(const json_t *o, const char *k)
{
    const json_t *v = jget(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

enum unit { U_PCT, U_NUM, U_SIZE, U_RATE, U_INT };

/* The series a person reads first, in the order shown; others follow under their own name. */
static const struct {
    const char *series, *label, *by; /* by: the label that tells rows apart ("mount") */
    enum unit unit;
} known[] = {
    {"cpu_percent", "cpu", NULL, U_PCT},
    {"memory_percent", "memory", NULL, U_PCT},
    {"load1", "load", NULL, U_NUM},
    {"disk_used_percent", "disk", "mount", U_PCT},
    {"network_receive_bytes_per_second", "in", "iface", U_RATE},
    {"network_transmit_bytes_per_second", "out", "iface", U_RATE},
    {"app_cpu_percent", "cpu", NULL, U_PCT},
    {"app_memory_bytes", "memory", NULL, U_SIZE},
    {"app_open_fds", "fds", NULL, U_INT},
    {"app_threads", "threads", NULL, U_INT},
    {"app_restarts", "restarts", NULL, U_INT},
};
/* Shown with --json only: they repeat a row above (load) or rarely matter at a glance. */
static const char *const hidden[] = {"load5", "load15", "disk_inodes_free_percent", NULL};

static void fmt_value(char *dst, size_t size, double v, enum unit u)
{
    if (isnan(v)) {
        str_copy(dst, "-", size);
        return;
    }
    switch (u) {
    case U_PCT:
        cli__human_pct(dst, size, v);
        break;
    case U_SIZE:
        cli__human_size(dst, size, v > 0 ? (uint64_t)v : 0);
        break;
    case U_RATE:
        cli__human_size(dst, size, v > 0 ? (uint64_t)v : 0);
        strncat(dst, "/s", size - strlen(dst) - 1);
        break;
    case U_INT:
        snprintf(dst, size, "%.0f", v);
        break;
    case U_NUM:
        snprintf(dst, size, "%.2f", v);
        break;
    }
}

static void add_series_row(struct cli_table *t, const json_t *s, const char *label, enum unit u)
{
    char v[32];
    size_t r = cli__table_row(t);
    double pts[SPARK_POINTS * 2];
    size_t n = 0, i;
    const json_t *p;
    json_array_foreach(jget(s, "points"), i, p)
    {
        if (n < sizeof pts / sizeof pts[0])
            pts[n++] = json_is_number(p) ? json_number_value(p) : NAN;
    }
    /* Percentages share one 0-100 scale so rows compare; an app's CPU can pass 100% (threads). */
    double max = jnum(s, "max"), hi = u == U_PCT && !(max > 100) ? 100 : NAN;
    struct buf b = {0};
    cli__spark(&b, pts, n, 0, hi);
    cli__table_set(t, r, 0, NULL, "  %s", label);
    fmt_value(v, sizeof v, jnum(s, "last"), u);
    cli__table_set(t, r, 1, NULL, "%s", v);
    fmt_value(v, sizeof v, jnum(s, "avg"), u);
    cli__table_set(t, r, 2, NULL, "%s", v);
    fmt_value(v, sizeof v, max, u);
    cli__table_set(t, r, 3, NULL, "%s", v);
    cli__table_set(t, r, 4, "36", "%s", b.ptr ? b.ptr : "");
    buf_fini(&b);
}

static bool is_hidden(const char *name)
{
    for (size_t i = 0; hidden[i]; i++)
        if (str_eq(hidden[i], name))
            return true;
    return false;
}

/* A network interface that moved no byte in the window is left out (ifb0, docker0 ...). */
static bool iface_idle(const json_t *series, const char *iface)
{
    size_t i;
    const json_t *s;
    json_array_foreach(series, i, s)
    {
        if (str_eq(jstr(jget(s, "labels"), "iface"), iface) && jnum(s, "max") > 0)
            return false;
    }
    return true;
}

/* One block of rows: the series of `list` whose "app"/"instance" labels equal the group's. */
static void add_block(struct cli_table *t, const json_t *list, const char *app, const char *inst)
{
    size_t i;
    const json_t *s;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        json_array_foreach(list, i, s)
        {
            const json_t *l = jget(s, "labels");
            if (!str_eq(jstr(s, "name"), known[k].series) || !str_eq(jstr(l, "app"), app) ||
                !str_eq(jstr(l, "instance"), inst))
                continue;
            char label[160];
            const char *by = known[k].by ? jstr(l, known[k].by) : NULL;
            if (by && str_eq(known[k].by, "iface") && iface_idle(list, by))
                continue;
            if (by && str_eq(known[k].by, "iface"))
                snprintf(label, sizeof label, "net %s %s", by, known[k].label);
            else
                snprintf(label, sizeof label, "%s%s%s", known[k].label, by ? " " : "",
                         by ? by : "");
            add_series_row(t, s, label, known[k].unit);
        }
    }
    json_array_foreach(list, i, s) /* series this CLI does not know yet: shown as they are */
    {
        const json_t *l = jget(s, "labels");
        bool is_known = is_hidden(jstr(s, "name"));
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            is_known |= str_eq(jstr(s, "name"), known[k].series);
        if (!is_known && str_eq(jstr(l, "app"), app) && str_eq(jstr(l, "instance"), inst))
            add_series_row(t, s, jstr(s, "name"), U_NUM);
    }
}

static void add_heading_row(struct cli_table *t, const char *text)
{
    size_t r = cli__table_row(t);
    cli__table_set(t, r, 0, "1", "%s", text);
}

/* One row per window of one app's access-log figures ("1m", "5m" ...). */
static void add_access_rows(struct cli_table *t, const json_t *a)
{
    size_t k;
    const json_t *w;
    json_array_foreach(jget(a, "windows"), k, w)
    {
        static const char *const q[] = {"p50", "p95", "p99"};
        const json_t *lat = jget(w, "latency_ms");
        double er = jnum(w, "error_rate");
        size_t r = cli__table_row(t);
        char e[32];
        cli__table_set(t, r, 0, NULL, "%s", k ? "" : jstr(a, "app"));
        cli__table_set(t, r, 1, NULL, "%s", jstr(w, "window"));
        cli__table_set(t, r, 2, NULL, "%.0f", jnum(w, "requests"));
        cli__table_set(t, r, 3, NULL, "%.1f/s", jnum(w, "rate"));
        cli__human_pct(e, sizeof e, isnan(er) ? 0 : er * 100); /* a fraction of 1 */
        cli__table_set(t, r, 4, er > 0.05 ? "31" : NULL, "%s", e);
        for (int c = 0; c < 3; c++)
            if (json_is_number(jget(lat, q[c])))
                cli__table_set(t, r, 5 + c, NULL, "%.0f ms", jnum(lat, q[c]));
            else
                cli__table_set(t, r, 5 + c, NULL, "-");
    }
}

static void print_access(struct cli *cli, const json_t *logs, const char *only)
{
    static const char *const heads[] = {"app",    "window", "requests", "rate",
                                        "errors", "p50",    "p95",      "p99"};
    struct cli_table t;
    size_t i, j;
    const json_t *l, *a;
    cli__table_init(&t, 8, heads);
    for (int c = 2; c < 8; c++)
        t.right[c] = true;
    json_array_foreach(logs, i, l)
    {
        json_array_foreach(jget(l, "apps"), j, a)
        {
            if (!only || str_eq(jstr(a, "app"), only))
                add_access_rows(&t, a);
        }
    }
    if (t.nrows) {
        cli__heading(cli, "requests (access logs)");
        cli__print_table(cli, &t);
    }
    cli__table_fini(&t);
}

static void print_metrics(struct cli *cli, const json_t *ans, const char *app, const char *since)
{
    char head[64];
    snprintf(head, sizeof head, "last %s", since);
    const char *const heads[] = {"", "last", "avg", "max", head};
    struct cli_table t;
    size_t i;
    const json_t *s;
    cli__table_init(&t, 5, heads);
    t.right[1] = t.right[2] = t.right[3] = true;
    if (!app) {
        add_heading_row(&t, "system");
        add_block(&t, jget(ans, "system"), "", "");
    }
    /* One block per instance, in the order the daemon lists them. */
    const json_t *apps = jget(ans, "apps");
    json_array_foreach(apps, i, s)
    {
        const json_t *l = jget(s, "labels");
        size_t j;
        const json_t *e;
        bool seen = false;
        json_array_foreach(apps, j, e)
        {
            if (j >= i)
                break;
            seen |= str_eq(jstr(jget(e, "labels"), "app"), jstr(l, "app")) &&
                    str_eq(jstr(jget(e, "labels"), "instance"), jstr(l, "instance"));
        }
        if (seen)
            continue;
        char name[300];
        snprintf(name, sizeof name, "%s%s%s", jstr(l, "app"), *jstr(l, "instance") ? ":" : "",
                 jstr(l, "instance"));
        add_heading_row(&t, name);
        add_block(&t, apps, jstr(l, "app"), jstr(l, "instance"));
    }
    cli__print_table(cli, &t);
    cli__table_fini(&t);
    print_access(cli, jget(ans, "access_logs"), app);
}

int cli__verb_metrics(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"json", 0, false}, {"since", 's', true}, {NULL, 0, false}};
    struct cli_args a;
    json_t *ans = NULL;
    struct buf url = {0};
    char ms[32], points[16];
    uint64_t since_ms = MEMORY_MS;
    int rc = cli__parse(cli, opts, argc, argv, 0, 1, &a);
    if (rc != CLI_GO)
        return rc;
    const char *since = cli__arg(&a, "since"), *app = a.npos ? a.pos[0] : NULL;
    if (since && (rc = cli__duration_arg(cli, "since", since, &since_ms)) != 0)
        return rc;
    if (since_ms > KEEP_MS)
        return cli__usage_error(cli,
                                "--since can go back at most 90d (the roll-ups kept), not "
                                "\"%s\"",
                                since);
    bool raw = cli__flag(&a, "json");
    snprintf(ms, sizeof ms, "%llu", (unsigned long long)since_ms);
    /* On a narrow terminal fewer, wider points, so the newest (rightmost) are never cut off. */
    size_t width = raw ? 0 : cli__term_width();
    int npoints = width == 0 || width >= 42 + SPARK_POINTS ? SPARK_POINTS
                  : width < 42 + 8                         ? 8
                                                           : (int)width - 42;
    snprintf(points, sizeof points, "%d", npoints);
    /* Beyond the hour in memory: the one-minute roll-ups in tend.db (same answer shape). */
    buf_puts(&url, since_ms > MEMORY_MS ? "/v1/metrics/history" : "/v1/metrics");
    cli__query_add(&url, "app", app);
    cli__query_add(&url, "since", ms);
    cli__query_add(&url, "points", points);
    rc = cli__get(cli, url.ptr, "read the metrics", raw, &ans);
    buf_fini(&url);
    if (rc != 0)
        return rc;
    if (!raw && app && json_array_size(jget(ans, "apps")) == 0) {
        fprintf(stderr,
                "tend: no metrics for app \"%s\" in the last %s\n"
                "  hint: is it running (tend status)? a new instance's first sample comes "
                "after one `metrics: interval`\n",
                app, since ? since : "1h");
        rc = 1;
    } else if (!raw) {
        print_metrics(cli, ans, app, since ? since : "1h");
    }
    json_decref(ans);
    return rc;
}
