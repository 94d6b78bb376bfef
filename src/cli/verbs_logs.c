/* cli/verbs_logs.c: logs, flush and events.
 *
 * `tend logs` reads GET /v1/logs as NDJSON, one {"time","app","instance","stream","message"} per
 * line, and prints each line as it arrives (with --follow the answer never ends; Ctrl-C ends the
 * CLI). Lines may be split across network reads: client.c joins them before they reach us. Each
 * printed line starts with "app:i " (coloured per app on a TTY) so instances stay apart when
 * merged; with --json the NDJSON is printed as received, for jq. */
#include "cli/cli_int.h"

#include <string.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"

struct log_reader {
    struct cli *cli;
    bool raw, with_time, follow;
};

static int print_line(void *arg, const char *line, size_t len)
{
    struct log_reader *lr = arg;
    json_t *o = lr->raw ? NULL : json_loadb(line, len, 0, NULL);
    if (!o) { /* --json, or a line we cannot read: pass it on untouched */
        fwrite(line, 1, len, stdout);
        fputc('\n', stdout);
    } else {
        const char *app = json_string_value(json_object_get(o, "app"));
        const char *msg = json_string_value(json_object_get(o, "message"));
        struct buf pre = {0};
        if (lr->with_time) {
            char t[40];
            cli__format_time(t, sizeof t, json_object_get(o, "time"));
            buf_printf(&pre, "%s ", t);
        }
        char label[300];
        snprintf(label, sizeof label, "%s:%lld", app ? app : "?",
                 (long long)json_integer_value(json_object_get(o, "instance")));
        cli__paint(&pre, lr->cli->color_out, cli__app_color(app), label);
        printf("%s %s\n", pre.ptr, msg ? msg : "");
        buf_fini(&pre);
        json_decref(o);
    }
    if (lr->follow && fflush(stdout) != 0)
        return -1; /* nobody reads any more */
    return ferror(stdout) ? -1 : 0;
}

static bool is_number(const char *s)
{
    return s && s[0] && strspn(s, "0123456789") == strlen(s) && strlen(s) < 10;
}

/* Add app=&instance= for an optional APP or APP:N word. Returns 0 or the usage status. */
static int add_target(struct cli *cli, struct buf *url, const struct cli_args *a)
{
    char app[256], n[16];
    int inst;
    struct err err = {0};
    if (a->npos == 0)
        return 0;
    if (cli__target_parse(a->pos[0], app, sizeof app, &inst, &err) < 0)
        return cli__usage_error(cli, "%s", err.msg);
    if (strcmp(app, "all") != 0)
        cli__query_add(url, "app", app);
    snprintf(n, sizeof n, "%d", inst);
    if (inst >= 0)
        cli__query_add(url, "instance", n);
    return 0;
}

int cli__verb_logs(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"lines", 'n', true}, {"follow", 'f', false}, {"err", 0, false}, {"out", 0, false},
        {"time", 't', false}, {"json", 0, false},     {NULL, 0, false}};
    struct cli_args a;
    struct buf url = {0};
    struct err err = {0};
    int rc = cli__parse(cli, opts, argc, argv, 0, 1, &a);
    if (rc != CLI_GO)
        return rc;
    const char *lines = cli__arg(&a, "lines") ? cli__arg(&a, "lines") : "15";
    if (!is_number(lines))
        return cli__usage_error(cli, "--lines wants a number such as 100, not \"%s\"", lines);
    struct log_reader lr = {cli, cli__flag(&a, "json"), cli__flag(&a, "time"),
                            cli__flag(&a, "follow")};
    bool only_err = cli__flag(&a, "err") && !cli__flag(&a, "out");
    bool only_out = cli__flag(&a, "out") && !cli__flag(&a, "err");
    buf_puts(&url, "/v1/logs");
    if ((rc = add_target(cli, &url, &a)) == 0) {
        cli__query_add(&url, "stream", only_err ? "err" : only_out ? "out" : "both");
        cli__query_add(&url, "lines", lines);
        cli__query_add(&url, "follow", lr.follow ? "1" : NULL);
        if (cli__stream(cli, url.ptr, print_line, &lr, &err) < 0)
            rc = cli__fail(&err, "show the logs%s%s", a.npos ? " of " : "", a.npos ? a.pos[0] : "");
    }
    buf_fini(&url);
    return rc;
}

int cli__verb_flush(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct buf url = {0};
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 0, 1, &a);
    if (rc != CLI_GO)
        return rc;
    const char *app = a.npos && strcmp(a.pos[0], "all") != 0 ? a.pos[0] : NULL;
    buf_puts(&url, "/v1/flush");
    cli__query_add(&url, "app", app);
    rc = cli__call(cli, "POST", url.ptr, NULL, &ans, &err);
    buf_fini(&url);
    if (rc < 0)
        rc = cli__fail(&err, "flush the logs%s%s", app ? " of " : "", app ? app : "");
    else if (cli__flag(&a, "json"))
        cli__print_raw(cli);
    else
        printf("flushed the logs of %s\n", app ? app : "every app");
    json_decref(ans);
    return rc < 0 ? 1 : rc;
}

static void print_events(struct cli *cli, const json_t *events)
{
    static const char *const heads[] = {"time", "app", "kind", "message"};
    struct cli_table t;
    struct buf out = {0};
    size_t i;
    const json_t *e;
    cli__table_init(&t, 4, heads);
    json_array_foreach(events, i, e)
    {
        char when[40];
        size_t r = cli__table_row(&t);
        const char *app = json_string_value(json_object_get(e, "app"));
        const json_t *in = json_object_get(e, "instance");
        const char *kind = json_string_value(json_object_get(e, "kind"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        cli__format_time(when, sizeof when, json_object_get(e, "time"));
        cli__table_set(&t, r, 0, "90", "%s", when);
        if (json_is_integer(in) && json_integer_value(in) >= 0)
            cli__table_set(&t, r, 1, NULL, "%s:%lld", app ? app : "-",
                           (long long)json_integer_value(in));
        else
            cli__table_set(&t, r, 1, NULL, "%s", app ? app : "-");
        cli__table_set(&t, r, 2, NULL, "%s", kind ? kind : "?");
        cli__table_set(&t, r, 3, NULL, "%s", msg ? msg : "");
    }
    cli__table_render(&t, cli->color_out, &out);
    fwrite(out.ptr, 1, out.len, stdout);
    buf_fini(&out);
    cli__table_fini(&t);
}

/* Build /v1/events?app=&since=&limit=. Returns 0 or the usage status. */
static int events_url(struct cli *cli, const struct cli_args *a, struct buf *url)
{
    const char *since = cli__arg(a, "since"), *limit = cli__arg(a, "limit");
    char ms[32];
    uint64_t d;
    if (since && cfg_parse_duration(since, &d) < 0)
        return cli__usage_error(cli, "--since wants a duration such as 30m, 1h or 2d, not \"%s\"",
                                since);
    if (limit && !is_number(limit))
        return cli__usage_error(cli, "--limit wants a number such as 50, not \"%s\"", limit);
    buf_puts(url, "/v1/events");
    cli__query_add(url, "app", a->npos ? a->pos[0] : NULL);
    if (since) {
        snprintf(ms, sizeof ms, "%lld", (long long)(clock_wall_ms() - (int64_t)d));
        cli__query_add(url, "since", ms);
    }
    cli__query_add(url, "limit", limit);
    return 0;
}

int cli__verb_events(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"since", 's', true}, {"limit", 'l', true}, {"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct buf url = {0};
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 0, 1, &a);
    if (rc != CLI_GO || (rc = events_url(cli, &a, &url)) != 0) {
        buf_fini(&url);
        return rc;
    }
    rc = cli__call(cli, "GET", url.ptr, NULL, &ans, &err);
    buf_fini(&url);
    if (rc < 0)
        rc = cli__fail(&err, "show the events%s%s", a.npos ? " of " : "", a.npos ? a.pos[0] : "");
    else if (cli__flag(&a, "json"))
        cli__print_raw(cli);
    else if (json_array_size(json_object_get(ans, "events")) == 0)
        printf("no events%s%s\n", cli__arg(&a, "since") ? " in the last " : "",
               cli__arg(&a, "since") ? cli__arg(&a, "since") : "");
    else
        print_events(cli, json_object_get(ans, "events"));
    json_decref(ans);
    return rc;
}
