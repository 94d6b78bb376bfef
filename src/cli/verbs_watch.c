/* cli/verbs_watch.c: `tend checks` and `tend alerts [silence|unsilence]`, and what the
 * monitoring verbs share (verbs_metrics.c is `tend metrics`).
 *
 * Each verb is one request to the monitoring routes (routes_watch.c); --json prints the answer
 * as the daemon sent it. The exit status carries the state so cron and CI can use the verbs
 * without parsing: `checks` exits 1 while a check fails and `alerts` while an alert fires and is
 * not silenced (with or without --json). Times arrive as epoch milliseconds (alerts) or ISO 8601
 * strings (checks); both show as "3m ago". Lines are cut to the terminal's width on a terminal
 * only, so a pipe gets it all. */
#include "cli/cli_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"

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

/* "2026-11-23T12:14:48+00:00" (optionally ".123", or "Z") -> epoch ms; 0 if it is not one. */
static int64_t iso_ms(const char *s)
{
    struct tm tm = {0};
    int ms = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6)
        return 0;
    s += n;
    if (*s == '.') {
        int k = 0;
        for (s++; *s >= '0' && *s <= '9'; s++, k++)
            if (k < 3)
                ms = ms * 10 + (*s - '0');
        for (; k < 3; k++)
            ms *= 10;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t t = (int64_t)timegm(&tm) * 1000 + ms;
    int zh = 0, zm = 0;
    if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d", &zh, &zm) == 2)
        t -= (*s == '+' ? 1 : -1) * (int64_t)(zh * 60 + zm) * 60000;
    return t;
}

/* A time from the API (ms number or ISO string) as epoch ms; 0 when missing. */
static int64_t time_ms(const json_t *t)
{
    if (json_is_number(t))
        return (int64_t)json_number_value(t);
    return json_is_string(t) ? iso_ms(json_string_value(t)) : 0;
}

/* "3m ago", "in 2h", or "-" for a missing time. */
static void ago(char *dst, size_t size, int64_t ms)
{
    int64_t now = clock_wall_ms();
    char d[32];
    if (ms <= 0) {
        str_copy(dst, "-", size);
        return;
    }
    cli__human_duration(d, sizeof d, (uint64_t)(ms > now ? ms - now : now - ms));
    snprintf(dst, size, ms > now ? "in %s" : "%s ago", d);
}

/* Two units, so a 2h silence made a minute ago shows "1h59m", not "1h". */
static void span(char *dst, size_t size, uint64_t ms)
{
    uint64_t s = ms / 1000;
    if (s < 60)
        snprintf(dst, size, "%llus", (unsigned long long)s);
    else if (s < 3600)
        snprintf(dst, size, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else if (s < 86400)
        snprintf(dst, size, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60));
    else
        snprintf(dst, size, "%llud%02lluh", (unsigned long long)(s / 86400),
                 (unsigned long long)(s / 3600 % 24));
}

/* Columns of the terminal on stdout, or 0 (no limit) when it is not one. */
size_t cli__term_width(void)
{
    struct winsize ws;
    if (!isatty(STDOUT_FILENO))
        return 0;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    long n = c ? strtol(c, NULL, 10) : 0;
    return n > 20 && n < 10000 ? (size_t)n : 80;
}

/* Display columns of s[0..len), escape sequences ("\033[...m") taking none. */
static size_t visible_width(const char *s, size_t len)
{
    size_t cols = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\033')
            while (i < len && s[i] != 'm')
                i++;
        else if (((unsigned char)s[i] & 0xC0) != 0x80)
            cols++;
    }
    return cols;
}

/* Write one rendered line without trailing blanks, cut to `width` display columns (0: no
 * limit); "…" marks the cut and a cut line ends with a colour reset. */
static void put_line(const char *s, size_t len, size_t width, bool color)
{
    while (len && s[len - 1] == ' ')
        len--;
    if (!width || visible_width(s, len) <= width) {
        fwrite(s, 1, len, stdout);
        fputc('\n', stdout);
        return;
    }
    size_t cols = 0, i = 0;
    for (; i < len && cols < width - 1; i++) {
        if (s[i] == '\033') {
            while (i < len && s[i] != 'm')
                i++;
            continue;
        }
        /* count a character at its first byte, then copy its continuation bytes too */
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            cols++;
        while (i + 1 < len && ((unsigned char)s[i + 1] & 0xC0) == 0x80)
            i++;
    }
    fwrite(s, 1, i, stdout);
    fputs(color ? "…\033[0m\n" : "…\n", stdout);
}

void cli__print_table(struct cli *cli, const struct cli_table *t)
{
    struct buf out = {0};
    size_t width = cli__term_width();
    cli__table_render(t, cli->color_out, &out);
    for (const char *p = out.ptr; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        put_line(p, len, width, cli->color_out);
        p += len + (nl != NULL);
    }
    buf_fini(&out);
}

void cli__heading(struct cli *cli, const char *text)
{
    struct buf b = {0};
    cli__paint(&b, cli->color_out, "1", text);
    printf("\n%s\n", b.ptr ? b.ptr : "");
    buf_fini(&b);
}

/* GET path into *ans; on --json print it as is. Returns 0, or the failure's exit status. */
int cli__get(struct cli *cli, const char *path, const char *what, bool raw, json_t **ans)
{
    struct err err = {0};
    if (cli__call(cli, "GET", path, NULL, ans, &err) < 0) {
        json_decref(*ans);
        *ans = NULL;
        return cli__fail(&err, "%s", what);
    }
    if (raw)
        cli__print_raw(cli);
    return 0;
}

/* A duration flag: 0 with *ms, else the usage error's exit status (2). */
int cli__duration_arg(struct cli *cli, const char *flag, const char *s, uint64_t *ms)
{
    if (cfg_parse_duration(s, ms) < 0)
        return cli__usage_error(cli, "--%s wants a duration such as 90s, 30m or 2h, not \"%s\"",
                                flag, s);
    if (*ms < 1000)
        return cli__usage_error(cli, "--%s must be at least 1s, not \"%s\"", flag, s);
    return 0;
}

/* ---- checks ---------------------------------------------------------------------------------- */
static const char *status_color(const char *status)
{
    return str_eq(status, "ok") ? "32" : str_eq(status, "failing") ? "31" : "33";
}

int cli__verb_checks(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    static const char *const heads[] = {"check", "kind",    "target", "status",
                                        "since", "latency", "message"};
    struct cli_args a;
    json_t *ans = NULL, *c;
    size_t i, failing = 0;
    int rc = cli__parse(cli, opts, argc, argv, 0, 0, &a);
    if (rc != CLI_GO)
        return rc;
    bool raw = cli__flag(&a, "json");
    if ((rc = cli__get(cli, "/v1/checks", "read the checks", raw, &ans)) != 0)
        return rc;
    json_array_foreach(jget(ans, "checks"), i, c) failing += str_eq(jstr(c, "status"), "failing");
    if (raw) {
    } else if (json_array_size(jget(ans, "checks")) == 0) {
        printf("no checks: add `checks:` to tend.yaml, or `health:` to an app "
               "(docs/configuration-monitoring.md)\n");
    } else {
        struct cli_table t;
        cli__table_init(&t, 7, heads);
        t.right[5] = true;
        json_array_foreach(jget(ans, "checks"), i, c)
        {
            char s[64];
            const char *st = jstr(c, "status");
            bool pending = !str_eq(st, "ok") && !str_eq(st, "failing");
            size_t r = cli__table_row(&t);
            cli__table_set(&t, r, 0, NULL, "%s", jstr(c, "name"));
            cli__table_set(&t, r, 1, NULL, "%s", jstr(c, "kind"));
            cli__table_set(&t, r, 2, NULL, "%s", jstr(c, "target"));
            cli__table_set(&t, r, 3, status_color(st), "%s", *st ? st : "?");
            ago(s, sizeof s, pending ? 0 : time_ms(jget(c, "since")));
            cli__table_set(&t, r, 4, NULL, "%s", s);
            if (pending || isnan(jnum(c, "latency_ms")))
                cli__table_set(&t, r, 5, NULL, "-");
            else
                cli__table_set(&t, r, 5, NULL, "%.0f ms", jnum(c, "latency_ms"));
            cli__table_set(&t, r, 6, str_eq(st, "failing") ? "31" : NULL, "%s",
                           *jstr(c, "message") ? jstr(c, "message") : "-");
        }
        cli__print_table(cli, &t);
        cli__table_fini(&t);
        if (failing)
            fprintf(stderr, "tend: %zu check%s failing\n", failing, failing == 1 ? " is" : "s are");
    }
    json_decref(ans);
    return failing ? 1 : 0;
}

/* ---- alerts ---------------------------------------------------------------------------------- */
static int state_rank(const char *state)
{
    static const char *const order[] = {"firing", "pending", "resolved", "inactive"};
    for (int i = 0; i < 4; i++)
        if (str_eq(state, order[i]))
            return i;
    return 4;
}

static bool is_silenced(const json_t *al)
{
    return time_ms(jget(al, "silenced_until")) > clock_wall_ms();
}

static int by_state(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int d = state_rank(jstr(a, "state")) - state_rank(jstr(b, "state"));
    return d ? d : (int)is_silenced(a) - (int)is_silenced(b);
}

static void print_rules(struct cli *cli, const json_t *alerts)
{
    static const char *const heads[] = {"alert", "severity", "state", "since", "now"};
    size_t n = json_array_size(alerts), i;
    const json_t **v = calloc(n ? n : 1, sizeof *v);
    struct cli_table t;
    if (!v)
        return;
    for (i = 0; i < n; i++)
        v[i] = json_array_get(alerts, i);
    qsort(v, n, sizeof *v, by_state); /* firing first, then pending, then the rest */
    cli__table_init(&t, 5, heads);
    for (i = 0; i < n; i++) {
        char s[64];
        const char *st = jstr(v[i], "state");
        bool quiet = is_silenced(v[i]), hot = state_rank(st) <= 1;
        size_t r = cli__table_row(&t);
        cli__table_set(&t, r, 0, NULL, "%s", jstr(v[i], "name"));
        cli__table_set(&t, r, 1, str_eq(jstr(v[i], "severity"), "critical") ? "1" : NULL, "%s",
                       jstr(v[i], "severity"));
        cli__table_set(&t, r, 2,
                       quiet                   ? "90"
                       : str_eq(st, "firing")  ? "31"
                       : str_eq(st, "pending") ? "33"
                                               : NULL,
                       "%s%s", st, quiet ? " (silenced)" : "");
        ago(s, sizeof s, hot ? time_ms(jget(v[i], "since")) : 0);
        cli__table_set(&t, r, 3, NULL, "%s", s);
        cli__table_set(&t, r, 4, hot && !quiet ? NULL : "90", "%s", jstr(v[i], "summary"));
    }
    cli__print_table(cli, &t);
    cli__table_fini(&t);
    free(v);
}

static void print_silences(struct cli *cli, const json_t *silences)
{
    static const char *const heads[] = {"pattern", "until", "left"};
    struct cli_table t;
    size_t i;
    const json_t *s;
    if (json_array_size(silences) == 0)
        return;
    cli__table_init(&t, 3, heads);
    json_array_foreach(silences, i, s)
    {
        char when[64], in[64];
        size_t r = cli__table_row(&t);
        cli__format_time(when, sizeof when, jget(s, "until"));
        int64_t left = time_ms(jget(s, "until")) - clock_wall_ms();
        span(in, sizeof in, left > 0 ? (uint64_t)left : 0);
        cli__table_set(&t, r, 0, NULL, "%s", jstr(s, "pattern"));
        cli__table_set(&t, r, 1, NULL, "%s", when);
        cli__table_set(&t, r, 2, NULL, "%s", in);
    }
    cli__heading(cli, "silences");
    cli__print_table(cli, &t);
    cli__table_fini(&t);
}

#define RECENT_SHOWN 10

struct change {
    const json_t *e;
    int64_t time;
    size_t index;
};

static int by_time(const void *x, const void *y)
{
    const struct change *a = x, *b = y;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The newest RECENT_SHOWN changes, oldest first (read down like a log). */
static void print_recent(struct cli *cli, const json_t *recent)
{
    static const char *const heads[] = {"time", "alert", "change", "summary"};
    struct cli_table t;
    size_t n = json_array_size(recent), i;
    struct change *v = calloc(n ? n : 1, sizeof *v);
    if (n == 0 || !v) {
        free(v);
        return;
    }
    for (i = 0; i < n; i++)
        v[i] = (struct change){json_array_get(recent, i),
                               time_ms(jget(json_array_get(recent, i), "time")), i};
    qsort(v, n, sizeof *v, by_time);
    cli__table_init(&t, 4, heads);
    for (i = n > RECENT_SHOWN ? n - RECENT_SHOWN : 0; i < n; i++) {
        char when[64];
        const json_t *e = v[i].e;
        const char *st = jstr(e, "state");
        size_t r = cli__table_row(&t);
        cli__format_time(when, sizeof when, jget(e, "time"));
        cli__table_set(&t, r, 0, NULL, "%s", when);
        cli__table_set(&t, r, 1, NULL, "%s", jstr(e, "name"));
        cli__table_set(&t, r, 2, str_eq(st, "firing") ? "31" : NULL, "%s → %s%s",
                       *jstr(e, "from") ? jstr(e, "from") : "?", st,
                       json_is_true(jget(e, "silenced")) ? " (silenced)" : "");
        cli__table_set(&t, r, 3, NULL, "%s", jstr(e, "summary"));
    }
    cli__heading(cli, "last 24 hours");
    if (n > RECENT_SHOWN)
        printf("(%zu older: tend alerts --json)\n", n - RECENT_SHOWN);
    cli__print_table(cli, &t);
    cli__table_fini(&t);
    free(v);
}

static void print_notifiers(struct cli *cli, const json_t *notifiers)
{
    static const char *const heads[] = {"notifier", "kind",   "target",    "sent",
                                        "queued",   "failed", "last error"};
    struct cli_table t;
    size_t i;
    const json_t *nf;
    if (json_array_size(notifiers) == 0)
        return;
    cli__table_init(&t, 7, heads);
    t.right[3] = t.right[4] = t.right[5] = true;
    json_array_foreach(notifiers, i, nf)
    {
        char when[64];
        size_t r = cli__table_row(&t);
        double failed = jnum(nf, "failed") + jnum(nf, "gave_up");
        cli__table_set(&t, r, 0, NULL, "%s", jstr(nf, "name"));
        cli__table_set(&t, r, 1, NULL, "%s", jstr(nf, "kind"));
        cli__table_set(&t, r, 2, NULL, "%s", jstr(nf, "target"));
        cli__table_set(&t, r, 3, NULL, "%.0f", jnum(nf, "sent"));
        cli__table_set(&t, r, 4, NULL, "%.0f", jnum(nf, "queued") + jnum(nf, "pending"));
        cli__table_set(&t, r, 5, failed > 0 ? "31" : NULL, "%.0f", failed);
        ago(when, sizeof when, time_ms(jget(nf, "last_error_at")));
        if (*jstr(nf, "last_error"))
            cli__table_set(&t, r, 6, "31", "%s: %s", when, jstr(nf, "last_error"));
        else
            cli__table_set(&t, r, 6, NULL, "-");
    }
    cli__heading(cli, "notifiers");
    cli__print_table(cli, &t);
    cli__table_fini(&t);
}

static int alerts_show(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    json_t *ans = NULL, *al;
    size_t i, firing = 0;
    int rc = cli__parse(cli, opts, argc, argv, 0, 0, &a);
    if (rc != CLI_GO)
        return rc;
    bool raw = cli__flag(&a, "json");
    if ((rc = cli__get(cli, "/v1/alerts", "read the alerts", raw, &ans)) != 0)
        return rc;
    json_array_foreach(jget(ans, "alerts"), i, al)
    {
        firing += str_eq(jstr(al, "state"), "firing") && !is_silenced(al);
    }
    if (raw) {
    } else if (json_array_size(jget(ans, "alerts")) == 0) {
        printf("no alert rules: add `alerts:` to tend.yaml "
               "(docs/configuration-monitoring.md#alerts)\n");
    } else {
        print_rules(cli, jget(ans, "alerts"));
        print_silences(cli, jget(ans, "silences"));
        print_recent(cli, jget(ans, "recent"));
        print_notifiers(cli, jget(ans, "notifiers"));
        if (firing)
            fprintf(stderr, "tend: %zu alert%s firing\n", firing, firing == 1 ? " is" : "s are");
    }
    json_decref(ans);
    return firing ? 1 : 0;
}

static int alerts_silence(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"for", 0, true}, {"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    uint64_t for_ms;
    int rc = cli__parse(cli, opts, argc, argv, 1, 1, &a);
    if (rc != CLI_GO)
        return rc;
    const char *dur = cli__arg(&a, "for");
    if (!dur)
        return cli__usage_error(cli, "silence needs --for: how long, such as 30m or 2h");
    if ((rc = cli__duration_arg(cli, "for", dur, &for_ms)) != 0)
        return rc;
    json_t *body = json_pack("{s:s, s:I}", "pattern", a.pos[0], "for_ms", (json_int_t)for_ms);
    rc = cli__call(cli, "POST", "/v1/alerts/silence", body, &ans, &err);
    json_decref(body);
    if (rc < 0) {
        json_decref(ans);
        return cli__fail(&err, "silence \"%s\"", a.pos[0]);
    }
    if (cli__flag(&a, "json")) {
        cli__print_raw(cli);
    } else {
        char until[64];
        double n = jnum(ans, "matches");
        cli__format_time(until, sizeof until, jget(ans, "until"));
        printf("silenced \"%s\" until %s (%s): %.0f rule%s\n", a.pos[0], until, dur,
               isnan(n) ? 0 : n, n == 1 ? "" : "s");
        if (!(n > 0))
            fprintf(stderr,
                    "tend: warning: \"%s\" matches no rule now; it will silence rules "
                    "added under that name later\n  hint: tend alerts lists the rules; "
                    "a glob such as \"api-*\" matches several\n",
                    a.pos[0]);
    }
    json_decref(ans);
    return 0;
}

static int alerts_unsilence(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 1, 1, &a);
    if (rc != CLI_GO)
        return rc;
    json_t *body = json_pack("{s:s}", "pattern", a.pos[0]);
    rc = cli__call(cli, "POST", "/v1/alerts/unsilence", body, &ans, &err);
    json_decref(body);
    if (rc < 0) {
        json_decref(ans);
        if (!err.hint[0])
            err_hint(&err, "tend alerts lists the silences");
        return cli__fail(&err, "unsilence \"%s\"", a.pos[0]);
    }
    if (cli__flag(&a, "json"))
        cli__print_raw(cli);
    else
        printf("unsilenced \"%s\"\n", a.pos[0]);
    json_decref(ans);
    return 0;
}

static const struct cli_sub alert_subs[] = {
    {"silence", alerts_silence, "alerts silence RULE --for DURATION [--json]"},
    {"unsilence", alerts_unsilence, "alerts unsilence RULE [--json]"},
};

int cli__verb_alerts(struct cli *cli, int argc, char **argv)
{
    size_t n = sizeof alert_subs / sizeof alert_subs[0];
    int rc = cli__run_sub(cli, alert_subs, n, argc, argv);
    if (rc != CLI_GO)
        return rc;
    if (argc > 1 && argv[1][0] != '-')
        return cli__unknown_sub(cli, alert_subs, n, argv[1]);
    return alerts_show(cli, argc, argv);
}
