/* cli/verbs_apps.c: up, and the imperative verbs start/stop/restart/reload/delete.
 *
 * `tend up` sends the daemon the config file's absolute path; the daemon loads and checks it
 * whole (DESIGN invariant 1) and answers with a plan. A PM2 ecosystem file is converted here
 * first (ecosystem.config.js needs `node`, which the user's shell has and the daemon's
 * environment may not) and its YAML travels in the request. The imperative verbs take several
 * targets and act on them in the order given; one failing does not stop the next, and the exit
 * status says whether all succeeded. Targets are checked before any request is sent, so a typo
 * in the third target does not leave the first two half done. */
#include "cli/cli_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"

#define CONFIG_MAX (8u << 20)

/* The default config file: the first of these that exists (PM2 users keep their file). */
static const char *default_file(void)
{
    static const char *const names[] = {"tend.yaml", "ecosystem.config.js", "ecosystem.config.cjs",
                                        "ecosystem.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (access(names[i], F_OK) == 0)
            return names[i];
    return NULL;
}

/* Absolute without resolving symlinks: a file under releases/current must stay under it. */
static int absolute(const char *path, char *dst, size_t size, struct err *err)
{
    char cwd[PATH_MAX];
    if (path[0] == '/')
        return str_fmt(dst, size, "%s", path) < 0 ? err_set(err, -ENAMETOOLONG, "path too long")
                                                  : 0;
    if (!getcwd(cwd, sizeof cwd))
        return err_sys(err, "cannot find the current folder");
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    if (str_fmt(dst, size, "%s/%s", cwd, path) < 0)
        return err_set(err, -ENAMETOOLONG, "path too long");
    return 0;
}

static void print_diag(const struct cfg_diag *d)
{
    struct buf out = {0};
    cfg_diag_format(d, &out);
    if (out.len)
        fwrite(out.ptr, 1, out.len, stderr);
    buf_fini(&out);
}

static int config_errors(const char *file, int n)
{
    fprintf(stderr, "tend: %s has %d error%s; nothing was changed, running apps are untouched\n",
            file, n, n == 1 ? "" : "s");
    return 1;
}

/* Convert a PM2 file here; on success body gets "yaml". Returns 0, or the exit status. */
static int add_pm2_yaml(const char *file, const char *abs, json_t *body)
{
    struct cfg_diag diag = {0};
    struct buf yaml = {0};
    str_copy(diag.file, file, sizeof diag.file);
    int rc = cfg_pm2_to_yaml(abs, &yaml, &diag);
    print_diag(&diag);
    if (rc < 0 || diag.nerrors) {
        if (!diag.nerrors) {
            struct err err = {0};
            err_set(&err, rc, "%s", err_str(rc));
            buf_fini(&yaml);
            return cli__fail(&err, "convert %s", file);
        }
        buf_fini(&yaml);
        return config_errors(file, diag.nerrors);
    }
    json_object_set_new(body, "yaml", json_stringn(yaml.ptr ? yaml.ptr : "", yaml.len));
    buf_fini(&yaml);
    return 0;
}

static json_t *only_list(const char *only)
{
    json_t *a = json_array();
    while (*only) {
        size_t n = strcspn(only, ",");
        if (n)
            json_array_append_new(a, json_stringn(only, n));
        only += n + (only[n] == ',');
    }
    return a;
}

/* Build the /v1/up request for `file`. Returns 0, or the exit status on failure. */
static int up_body(const char *file, const struct cli_args *a, json_t *body)
{
    char abs[PATH_MAX];
    struct err err = {0};
    struct buf text = {0};
    int rc = absolute(file, abs, sizeof abs, &err);
    if (rc == 0 && (rc = read_file(abs, CONFIG_MAX, &text)) < 0)
        err_set(&err, rc, "%s", err_str(rc));
    if (rc < 0) {
        buf_fini(&text);
        if (rc == -ENOENT)
            err_hint(&err, "give the config file as tend up FILE");
        return cli__fail(&err, "read %s", file);
    }
    json_object_set_new(body, "file", json_string(abs));
    if (cfg_is_pm2_file(abs, text.ptr ? text.ptr : ""))
        rc = add_pm2_yaml(file, abs, body);
    buf_fini(&text);
    if (cli__arg(a, "env"))
        json_object_set_new(body, "env", json_string(cli__arg(a, "env")));
    if (cli__arg(a, "only"))
        json_object_set_new(body, "only", only_list(cli__arg(a, "only")));
    json_object_set_new(body, "dry_run", json_boolean(cli__flag(a, "dry-run")));
    return rc;
}

/* The daemon names the file by its absolute path; show it as the user typed it (STYLE 4). */
static void print_as_typed(const char *line, const char *abs, const char *typed)
{
    size_t n = abs ? strlen(abs) : 0;
    if (n && strncmp(line, abs, n) == 0 && line[n] == ':')
        fprintf(stderr, "%s%s\n", typed, line + n);
    else
        fprintf(stderr, "%s\n", line);
}

/* 422 config_invalid: every message, then what happened to the running system. */
static int up_invalid(const char *file, const char *abs, const json_t *ans, const struct err *err)
{
    const json_t *where = json_object_get(json_object_get(ans, "error"), "where");
    size_t i;
    const json_t *w;
    int n = 0;
    json_array_foreach(where, i, w)
    {
        const char *s = json_string_value(w);
        if (!s)
            continue;
        print_as_typed(s, abs, file);
        n += strstr(s, ": warning: ") == NULL;
    }
    if (n == 0) { /* no list came: the message is the one error */
        fprintf(stderr, "%s\n", err->msg);
        n = 1;
    }
    return config_errors(file, n);
}

int cli__verb_up(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"env", 'e', true},
                                          {"only", 0, true},
                                          {"dry-run", 'n', false},
                                          {"json", 0, false},
                                          {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    json_t *ans = NULL, *body = json_object();
    int rc = cli__parse(cli, opts, argc, argv, 0, 1, &a);
    const char *file = a.npos ? a.pos[0] : default_file();
    if (rc == CLI_GO && !file) {
        err_set(&err, -ENOENT, "no tend.yaml (or ecosystem.config.js, ecosystem.json) here");
        err_hint(&err, "write a tend.yaml, or give the file: tend up path/to/tend.yaml");
        rc = cli__fail(&err, "find a config file");
    }
    if (rc == CLI_GO && (rc = up_body(file, &a, body)) == 0)
        rc = CLI_GO;
    if (rc != CLI_GO)
        goto out;
    rc = cli__call(cli, "POST", "/v1/up", body, &ans, &err);
    if (rc == -TE_CONFIG)
        rc = up_invalid(file, json_string_value(json_object_get(body, "file")), ans, &err);
    else if (rc < 0)
        rc = cli__fail(&err, "apply %s", file);
    else if (cli__flag(&a, "json"))
        cli__print_raw(cli);
    else
        rc = cli__print_plan(cli, ans, cli__flag(&a, "dry-run"),
                             json_string_value(json_object_get(body, "file")), file);
out:
    json_decref(body);
    json_decref(ans);
    return rc;
}

int cli__print_plan(struct cli *cli, json_t *ans, bool dry_run, const char *abs,
                    const char *typed)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(ans, "warnings"), i, x)
    {
        if (json_is_string(x))
            print_as_typed(json_string_value(x), abs, typed);
    }
    const json_t *plan = json_object_get(ans, "plan");
    const json_t *sched = json_object_get(ans, "scheduled");
    json_int_t nchecks = json_integer_value(json_object_get(sched, "checks"));
    const json_t *jobs = json_object_get(sched, "backups");
    if (json_array_size(plan) == 0)
        printf(nchecks || json_array_size(jobs) ? "  no app changes\n" : "  nothing to do\n");
    json_array_foreach(plan, i, x)
    {
        const char *app = json_string_value(json_object_get(x, "app"));
        const char *act = json_string_value(json_object_get(x, "action"));
        const char *why = json_string_value(json_object_get(x, "reason"));
        printf("  %-8s %s", act ? act : "?", app ? app : "?");
        if (why && why[0])
            printf(" (%s)", why);
        putchar('\n');
    }
    if (dry_run) {
        printf("dry run: nothing was changed\n");
        return 0;
    }
    if (nchecks)
        printf("  checks   %lld running (tend checks)\n", (long long)nchecks);
    json_array_foreach(jobs, i, x)
    {
        int64_t next = json_integer_value(json_object_get(x, "next_run"));
        char in[32] = "on demand (no schedule)";
        if (next > 0) {
            int64_t now = clock_wall_ms();
            char d[24];
            cli__human_duration(d, sizeof d, (uint64_t)(next > now ? next - now : 0));
            snprintf(in, sizeof in, "next in %s", d);
        }
        const char *name = json_string_value(json_object_get(x, "name"));
        printf("  backup   %s: %s\n", name ? name : "?", in);
    }
    if (json_array_size(plan) == 0 && (nchecks || json_array_size(jobs)))
        return 0; /* only checks or backups changed: no app table to show */
    putchar('\n');
    return cli__show_status(cli, NULL);
}

/* "tend start server.js" is PM2's habit; tend runs what tend.yaml names. */
static int looks_like_file(struct cli *cli, const char *word)
{
    if (!strchr(word, '/') && !str_ends(word, ".js") && !str_ends(word, ".py") &&
        !str_ends(word, ".sh"))
        return 0;
    if (access(word, F_OK) < 0)
        return 0;
    cli__usage_error(cli, "\"%s\" is a file, not an app", word);
    fprintf(stderr, "  hint: name it in tend.yaml (apps: {NAME: {cmd: ...}}) and run tend up\n");
    return 2;
}

static const char *past(const char *verb)
{
    static const char *const map[][2] = {{"start", "started"},
                                         {"stop", "stopped"},
                                         {"restart", "restarted"},
                                         {"reload", "reloaded"},
                                         {"delete", "deleted"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], verb) == 0)
            return map[i][1];
    return verb;
}

static void print_results(struct cli *cli, const char *verb, const char *target, const json_t *ans)
{
    const json_t *results = json_object_get(ans, "results"), *r;
    size_t i;
    if (json_array_size(results) == 0)
        printf("%s %s: no instances\n", verb, target);
    json_array_foreach(results, i, r)
    {
        const char *app = json_string_value(json_object_get(r, "app"));
        const char *state = json_string_value(json_object_get(r, "state"));
        json_int_t in = json_integer_value(json_object_get(r, "instance"));
        json_int_t pid = json_integer_value(json_object_get(r, "pid"));
        struct buf st = {0};
        cli__paint(&st, cli->color_out, cli__state_color(state), state ? state : "?");
        printf("%s %s:%lld (%s", past(verb), app ? app : target, (long long)in, st.ptr);
        if (pid > 0)
            printf(", pid %lld", (long long)pid);
        printf(")\n");
        buf_fini(&st);
    }
}

static int act(struct cli *cli, const char *verb, const char *target, bool raw)
{
    struct buf url = {0};
    struct err err = {0};
    json_t *ans = NULL;
    buf_puts(&url, "/v1/apps/");
    cli__url_escape(&url, target);
    buf_printf(&url, "/%s", verb);
    int rc = cli__call(cli, "POST", url.ptr, NULL, &ans, &err);
    buf_fini(&url);
    if (rc < 0)
        rc = cli__fail(&err, "%s %s", verb, target);
    else if (raw)
        cli__print_raw(cli);
    else
        print_results(cli, verb, target, ans);
    json_decref(ans);
    return rc;
}

int cli__verb_action(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    struct err err = {0};
    char app[256];
    int inst, rc = cli__parse(cli, opts, argc, argv, 1, -1, &a);
    if (rc != CLI_GO)
        return rc;
    for (int i = 0; i < a.npos; i++) {
        if ((rc = looks_like_file(cli, a.pos[i])) != 0)
            return rc;
        if (cli__target_parse(a.pos[i], app, sizeof app, &inst, &err) < 0)
            return cli__usage_error(cli, "%s", err.msg);
    }
    int status = 0;
    for (int i = 0; i < a.npos; i++)
        if (act(cli, cli->verb->name, a.pos[i], cli__flag(&a, "json")) != 0)
            status = 1;
    return status;
}
