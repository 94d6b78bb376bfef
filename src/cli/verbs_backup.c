/* cli/verbs_backup.c: `tend backup status|list|run|verify|drill|restore|sync`.
 *
 * Each sub-verb is one request to /v1/backups (routes_backup.c). `backup run` on a terminal
 * starts the run without waiting ("wait": false) and polls GET /v1/backups four times a second
 * to draw a progress line (bytes read from the source, rate, bytes stored after compression);
 * Ctrl-C ends only the CLI: the backup goes on in the daemon. Without a terminal (cron, CI,
 * --json) it waits for the answer and prints it, so the exit status says whether the backup was
 * made. Secrets never reach the CLI: the daemon masks URLs. */
#include "cli/cli_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"

static const json_t *jget(const json_t *o, const char *k)
{
    return json_object_get(o, k);
}

static uint64_t jnum(const json_t *o, const char *k)
{
    double d = json_number_value(jget(o, k));
    return d > 0 ? (uint64_t)d : 0;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(jget(o, k));
    return s ? s : "";
}

/* "3h ago", "in 5m", or "-" for a missing time. */
static void when(char *dst, size_t size, const json_t *t)
{
    int64_t ms = (int64_t)json_number_value(t), now = clock_wall_ms();
    char d[32];
    if (!json_is_number(t) || ms <= 0) {
        str_copy(dst, "-", size);
        return;
    }
    cli__human_duration(d, sizeof d, (uint64_t)(ms > now ? ms - now : now - ms));
    snprintf(dst, size, ms > now ? "in %s" : "%s ago", d);
}

static json_t *job_of(json_t *status, const char *job)
{
    size_t i;
    json_t *j;
    json_array_foreach(jget(status, "jobs"), i, j)
    {
        if (str_eq(jstr(j, "name"), job))
            return j;
    }
    return NULL;
}

/* ---- status ---------------------------------------------------------------------------------- */
static int verb_status(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    static const char *const heads[] = {"job",     "source",   "schedule",   "next run",
                                        "last ok", "last run", "last drill", "error"};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 0, 0, &a);
    if (rc != CLI_GO)
        return rc;
    if (cli__call(cli, "GET", "/v1/backups", NULL, &ans, &err) < 0) {
        json_decref(ans);
        return cli__fail(&err, "read the backup status");
    }
    if (cli__flag(&a, "json")) {
        cli__print_raw(cli);
        json_decref(ans);
        return 0;
    }
    struct cli_table t;
    cli__table_init(&t, 8, heads);
    size_t i;
    json_t *j;
    bool any_failed = false;
    json_array_foreach(jget(ans, "jobs"), i, j)
    {
        char s[64];
        size_t r = cli__table_row(&t);
        const char *error = jstr(j, "last_error");
        cli__table_set(&t, r, 0, NULL, "%s", jstr(j, "name"));
        cli__table_set(&t, r, 1, NULL, "%s", jstr(j, "source"));
        cli__table_set(&t, r, 2, NULL, "%s", *jstr(j, "schedule") ? jstr(j, "schedule") : "-");
        if (json_is_true(jget(j, "running")))
            cli__table_set(&t, r, 3, "36", "running");
        else
            when(s, sizeof s, jget(j, "next_run")), cli__table_set(&t, r, 3, NULL, "%s", s);
        when(s, sizeof s, jget(j, "last_ok"));
        cli__table_set(&t, r, 4, NULL, "%s", s);
        when(s, sizeof s, jget(j, "last_run"));
        cli__table_set(&t, r, 5, *error ? "31" : NULL, "%s", s);
        when(s, sizeof s, jget(j, "last_drill"));
        const json_t *dok = jget(j, "last_drill_ok");
        cli__table_set(&t, r, 6, json_is_false(dok) ? "31" : NULL, "%s%s", s,
                       json_is_false(dok) ? " (failed)" : "");
        cli__table_set(&t, r, 7, *error ? "31" : NULL, "%s", *error ? error : "-");
        any_failed |= *error != '\0';
    }
    if (t.nrows == 0) {
        printf("no backup jobs: add a `backups:` list to tend.yaml (docs/backups.md)\n");
    } else {
        struct buf out = {0};
        cli__table_render(&t, cli->color_out, &out);
        fputs(out.ptr ? out.ptr : "", stdout);
        buf_fini(&out);
    }
    cli__table_fini(&t);
    json_decref(ans);
    return any_failed ? 1 : 0;
}

/* ---- list ------------------------------------------------------------------------------------ */
static void add_backup_row(struct cli_table *t, const json_t *m)
{
    char s[64], size[32];
    size_t r = cli__table_row(t);
    cli__table_set(t, r, 0, NULL, "%s", jstr(m, "id"));
    cli__table_set(t, r, 1, NULL, "%s", jstr(m, "job"));
    cli__format_time(s, sizeof s, jget(m, "started"));
    cli__table_set(t, r, 2, NULL, "%s", s);
    cli__human_size(size, sizeof size, jnum(m, "size"));
    cli__table_set(t, r, 3, NULL, "%s", size);
    uint64_t raw = jnum(m, "size_raw"), packed = jnum(m, "size_compressed");
    if (raw && packed)
        cli__table_set(t, r, 4, NULL, "%.1fx", (double)raw / (double)packed);
    else
        cli__table_set(t, r, 4, NULL, "-");
    cli__table_set(t, r, 5, NULL, "%zu", json_array_size(jget(m, "targets")));
    const json_t *v = jget(m, "verified"), *d = jget(m, "drill");
    const char *vs = !v ? "-" : json_is_true(jget(v, "ok")) ? "ok" : "FAILED";
    const char *ds = !d ? "-" : json_is_true(jget(d, "ok")) ? "ok" : "FAILED";
    cli__table_set(t, r, 6, *vs == 'F' ? "31" : NULL, "%s", vs);
    cli__table_set(t, r, 7, *ds == 'F' ? "31" : NULL, "%s", ds);
}

static int verb_list(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"json", 0, false}, {"limit", 'n', true}, {NULL, 0, false}};
    static const char *const heads[] = {"id",    "job",     "time",     "size",
                                        "ratio", "targets", "verified", "drilled"};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    struct buf url = {0};
    int rc = cli__parse(cli, opts, argc, argv, 0, 1, &a);
    if (rc != CLI_GO)
        return rc;
    buf_puts(&url, "/v1/backups/list");
    cli__query_add(&url, "job", a.npos ? a.pos[0] : NULL);
    cli__query_add(&url, "limit", cli__arg(&a, "limit"));
    rc = cli__call(cli, "GET", url.ptr, NULL, &ans, &err);
    buf_fini(&url);
    if (rc < 0) {
        json_decref(ans);
        return cli__fail(&err, "list the backups");
    }
    if (cli__flag(&a, "json")) {
        cli__print_raw(cli);
    } else if (json_array_size(jget(ans, "backups")) == 0) {
        printf("no backups%s%s yet (tend backup run JOB makes one; tend backup sync reads the "
               "targets)\n", a.npos ? " of " : "", a.npos ? a.pos[0] : "");
    } else {
        struct cli_table t;
        cli__table_init(&t, 8, heads);
        size_t i;
        json_t *m;
        json_array_foreach(jget(ans, "backups"), i, m) add_backup_row(&t, m);
        struct buf out = {0};
        cli__table_render(&t, cli->color_out, &out);
        fputs(out.ptr ? out.ptr : "", stdout);
        buf_fini(&out);
        cli__table_fini(&t);
    }
    json_decref(ans);
    return 0;
}

/* ---- run --------------------------------------------------------------------------------------- */
static void print_made(const json_t *result)
{
    size_t i;
    json_t *m;
    json_array_foreach(result, i, m)
    {
        char size[32], raw[32];
        cli__human_size(size, sizeof size, jnum(m, "size"));
        cli__human_size(raw, sizeof raw, jnum(m, "size_raw"));
        printf("backup %s: %s (%s before compression), sha256 %.16s..., on %zu target%s\n",
               jstr(m, "id"), size, raw, jstr(m, "sha256"), json_array_size(jget(m, "targets")),
               json_array_size(jget(m, "targets")) == 1 ? "" : "s");
    }
}

/* Poll the job's status until its run ends, drawing a progress line on stderr. */
static int follow_run(struct cli *cli, const char *job, int64_t asked_ms)
{
    struct err err = {0};
    uint64_t t0 = clock_mono_ms();
    bool drawn = false;
    for (;;) {
        json_t *ans = NULL;
        if (cli__call(cli, "GET", "/v1/backups", NULL, &ans, &err) < 0) {
            json_decref(ans);
            return cli__fail(&err, "follow the backup");
        }
        json_t *j = job_of(ans, job);
        if (!j) {
            json_decref(ans);
            fprintf(stderr, "%stend: backup job \"%s\" is gone from the config\n",
                    drawn ? "\n" : "", job);
            return 1;
        }
        if (!json_is_true(jget(j, "running"))) {
            if (drawn)
                fputs("\r\033[K", stderr);
            const char *error = jstr(j, "last_error");
            bool ok = (int64_t)jnum(j, "last_ok") >= asked_ms && !*error;
            if (ok)
                printf("backup %s done: %s\n", job, jstr(j, "last_id"));
            else
                fprintf(stderr, "tend: backup %s failed: %s\n", job,
                        *error ? error : "see tend events");
            json_decref(ans);
            return ok ? 0 : 1;
        }
        const json_t *p = jget(j, "progress");
        char bytes[32], stored[32], rate[32];
        double secs = (double)(clock_mono_ms() - t0) / 1000.0;
        cli__human_size(bytes, sizeof bytes, jnum(p, "bytes"));
        cli__human_size(stored, sizeof stored, jnum(p, "stored"));
        cli__human_size(rate, sizeof rate, secs > 0.5 ? (uint64_t)(jnum(p, "bytes") / secs) : 0);
        fprintf(stderr, "\r\033[Kbackup %s: %s read, %s/s, %s stored, %.0fs", job, bytes, rate,
                stored, secs);
        fflush(stderr);
        drawn = true;
        json_decref(ans);
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int verb_run(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    struct buf url = {0};
    int rc = cli__parse(cli, opts, argc, argv, 1, 1, &a);
    if (rc != CLI_GO)
        return rc;
    bool progress = !cli__flag(&a, "json") && isatty(STDERR_FILENO);
    int64_t asked = clock_wall_ms();
    buf_puts(&url, "/v1/backups/");
    cli__url_escape(&url, a.pos[0]);
    buf_puts(&url, "/run");
    json_t *body = json_pack("{s:b}", "wait", !progress);
    rc = cli__call(cli, "POST", url.ptr, body, &ans, &err);
    json_decref(body);
    buf_fini(&url);
    if (rc < 0) {
        json_decref(ans);
        return cli__fail(&err, "back up %s", a.pos[0]);
    }
    if (progress)
        rc = follow_run(cli, a.pos[0], asked);
    else if (cli__flag(&a, "json"))
        cli__print_raw(cli);
    else
        print_made(jget(ans, "result"));
    json_decref(ans);
    return rc < 0 ? 1 : rc;
}

/* ---- verify, drill, restore, sync ------------------------------------------------------------- */
static int post(struct cli *cli, const char *job, const char *verb, json_t *body, json_t **ans,
                struct err *err)
{
    struct buf url = {0};
    buf_puts(&url, "/v1/backups/");
    if (job) {
        cli__url_escape(&url, job);
        buf_puts(&url, "/");
    }
    buf_puts(&url, verb);
    int rc = cli__call(cli, "POST", url.ptr, body, ans, err);
    buf_fini(&url);
    json_decref(body);
    if (rc < 0) { /* an API error comes with its whole answer: only err is used */
        json_decref(*ans);
        *ans = NULL;
    }
    return rc;
}

static int verb_verify(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 1, 2, &a);
    if (rc != CLI_GO)
        return rc;
    json_t *body = json_object();
    if (a.npos > 1)
        json_object_set_new(body, "id", json_string(a.pos[1]));
    if (post(cli, a.pos[0], "verify", body, &ans, &err) < 0)
        return cli__fail(&err, "verify %s", a.npos > 1 ? a.pos[1] : a.pos[0]);
    const json_t *r = jget(ans, "result");
    if (cli__flag(&a, "json"))
        cli__print_raw(cli);
    else
        printf("backup %s is intact: %llu bytes, sha256 %s, checked on %llu target%s\n",
               jstr(r, "id"), (unsigned long long)jnum(r, "size"), jstr(r, "sha256"),
               (unsigned long long)jnum(r, "targets"), jnum(r, "targets") == 1 ? "" : "s");
    json_decref(ans);
    return 0;
}

static int verb_drill(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 1, 1, &a);
    if (rc != CLI_GO)
        return rc;
    if (post(cli, a.pos[0], "drill", json_object(), &ans, &err) < 0)
        return cli__fail(&err, "run a restore drill of %s", a.pos[0]);
    const json_t *r = jget(ans, "result");
    if (cli__flag(&a, "json"))
        cli__print_raw(cli);
    else
        printf("drill passed: backup %s restored into %s in %llu ms; %s = %s; scratch database "
               "dropped\n",
               jstr(r, "id"), jstr(r, "database"), (unsigned long long)jnum(r, "ms"),
               jstr(r, "query"), jstr(r, "answer"));
    json_decref(ans);
    return 0;
}

static int verb_restore(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"to", 0, true}, {"yes", 'y', false}, {"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 1, 2, &a);
    if (rc != CLI_GO)
        return rc;
    const char *to = cli__arg(&a, "to");
    if (!to || !*to)
        return cli__usage_error(cli, "restore needs --to: a postgres URL, a file or a folder");
    char cwd[2048], abs[4096];
    if (to[0] != '/' && !strstr(to, "://") && getcwd(cwd, sizeof cwd) &&
        str_fmt(abs, sizeof abs, "%s/%s", cwd, to) == 0)
        to = abs; /* the daemon's cwd is not ours */
    json_t *body = json_pack("{s:s, s:b}", "to", to, "yes", cli__flag(&a, "yes"));
    if (a.npos > 1)
        json_object_set_new(body, "id", json_string(a.pos[1]));
    if (post(cli, a.pos[0], "restore", body, &ans, &err) < 0) {
        if (err.code == -TE_STATE && !cli__flag(&a, "yes") && !err.hint[0])
            err_hint(&err, "add --yes to overwrite it");
        return cli__fail(&err, "restore %s", a.npos > 1 ? a.pos[1] : a.pos[0]);
    }
    if (cli__flag(&a, "json"))
        cli__print_raw(cli);
    else
        printf("restored %s to %s\n", jstr(jget(ans, "result"), "id"), to);
    json_decref(ans);
    return 0;
}

static int verb_sync(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 0, 1, &a);
    if (rc != CLI_GO)
        return rc;
    json_t *body = json_object();
    if (a.npos)
        json_object_set_new(body, "job", json_string(a.pos[0]));
    if (post(cli, NULL, "sync", body, &ans, &err) < 0)
        return cli__fail(&err, "read the backups on the targets");
    if (cli__flag(&a, "json"))
        cli__print_raw(cli);
    else
        printf("catalog rebuilt from the targets: %llu backup%s\n",
               (unsigned long long)jnum(ans, "backups"), jnum(ans, "backups") == 1 ? "" : "s");
    json_decref(ans);
    return 0;
}

/* ---- dispatch ---------------------------------------------------------------------------------- */
static const struct cli_sub subs[] = {
    {"status", verb_status, "backup status [--json]"},
    {"list", verb_list, "backup list [JOB] [--limit N] [--json]"},
    {"run", verb_run, "backup run JOB [--json]"},
    {"verify", verb_verify, "backup verify JOB [ID] [--json]"},
    {"drill", verb_drill, "backup drill JOB [--json]"},
    {"restore", verb_restore, "backup restore JOB [ID] --to URL|PATH [--yes] [--json]"},
    {"sync", verb_sync, "backup sync [JOB] [--json]"},
};

int cli__verb_backup(struct cli *cli, int argc, char **argv)
{
    size_t n = sizeof subs / sizeof subs[0];
    int rc = cli__run_sub(cli, subs, n, argc, argv);
    if (rc != CLI_GO)
        return rc;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage:\n");
        for (size_t i = 0; i < n; i++)
            fprintf(f, "  tend %s\n", subs[i].usage);
        return argc < 2 ? 2 : 0;
    }
    return cli__unknown_sub(cli, subs, n, argv[1]);
}
