/* cli/verbs_status.c: status, describe and env: what is running and how it was set up.
 *
 * Each is one GET. With --json the answer is printed as the daemon sent it; otherwise as tables.
 * The status table has one row per instance; the "dropped" column (log bytes lost because the
 * disk could not keep up, DESIGN invariant 3) appears only when some instance dropped bytes, so
 * the usual table stays narrow. Environment values arrive already masked by the daemon
 * (DESIGN invariant 7); the CLI never sees a secret it could leak. */
#include "cli/cli_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"

static const json_t *jget(const json_t *o, const char *k)
{
    return json_object_get(o, k);
}

static uint64_t jnum(const json_t *o, const char *k)
{
    const json_t *v = jget(o, k);
    double d = json_number_value(v);
    return d > 0 ? (uint64_t)d : 0;
}

static bool any_dropped(const json_t *apps)
{
    size_t i, j;
    const json_t *app, *in;
    json_array_foreach(apps, i, app)
    {
        json_array_foreach(jget(app, "instances"), j, in)
        {
            if (jnum(in, "log_dropped_bytes") > 0)
                return true;
        }
    }
    return false;
}

static bool is_running(const char *state)
{
    return state && (strcmp(state, "online") == 0 || strcmp(state, "starting") == 0 ||
                     strcmp(state, "stopping") == 0);
}

static void add_instance(struct cli_table *t, const char *name, const json_t *in, bool dropped)
{
    char s[32];
    size_t r = cli__table_row(t);
    const char *state = json_string_value(jget(in, "state"));
    bool running = is_running(state);
    cli__table_set(t, r, 0, NULL, "%s", name);
    cli__table_set(t, r, 1, NULL, "%llu", (unsigned long long)jnum(in, "instance"));
    if (jnum(in, "pid"))
        cli__table_set(t, r, 2, NULL, "%llu", (unsigned long long)jnum(in, "pid"));
    else
        cli__table_set(t, r, 2, NULL, "-");
    cli__table_set(t, r, 3, cli__state_color(state), "%s", state ? state : "?");
    cli__human_duration(s, sizeof s, jnum(in, "uptime_ms"));
    cli__table_set(t, r, 4, NULL, "%s", running ? s : "-");
    cli__table_set(t, r, 5, NULL, "%llu", (unsigned long long)jnum(in, "restarts"));
    cli__human_pct(s, sizeof s, json_number_value(jget(in, "cpu_pct")));
    cli__table_set(t, r, 6, NULL, "%s", running ? s : "-");
    cli__human_size(s, sizeof s, jnum(in, "memory"));
    cli__table_set(t, r, 7, NULL, "%s", running && jnum(in, "memory") ? s : "-");
    if (jnum(in, "port"))
        cli__table_set(t, r, 8, NULL, "%llu", (unsigned long long)jnum(in, "port"));
    else
        cli__table_set(t, r, 8, NULL, "-");
    if (dropped) {
        cli__human_size(s, sizeof s, jnum(in, "log_dropped_bytes"));
        cli__table_set(t, r, 9, jnum(in, "log_dropped_bytes") ? "31" : NULL, "%s",
                       jnum(in, "log_dropped_bytes") ? s : "-");
    }
}

static void print_instances(struct cli *cli, const json_t *apps)
{
    static const char *const heads[] = {"app", "id",  "pid", "state", "uptime",
                                        "↺",   "cpu", "mem", "port",  "dropped"};
    bool dropped = any_dropped(apps);
    struct cli_table t;
    struct buf out = {0};
    cli__table_init(&t, dropped ? 10 : 9, heads);
    for (int c = 1; c < t.ncols; c++)
        t.right[c] = c != 3;
    size_t i, j;
    const json_t *app, *in;
    json_array_foreach(apps, i, app)
    {
        const char *name = json_string_value(jget(app, "name"));
        json_array_foreach(jget(app, "instances"), j, in)
        {
            add_instance(&t, name ? name : "?", in, dropped);
        }
    }
    cli__table_render(&t, cli->color_out, &out);
    if (out.len)
        fwrite(out.ptr, 1, out.len, stdout);
    buf_fini(&out);
    cli__table_fini(&t);
}

void cli__print_status(struct cli *cli, const json_t *apps)
{
    if (json_array_size(apps) == 0) {
        printf("no apps running; start some with tend up\n");
        return;
    }
    print_instances(cli, apps);
}

static int get_status(struct cli *cli, const char *app, bool raw)
{
    struct buf url = {0};
    struct err err = {0};
    json_t *a = NULL;
    buf_puts(&url, "/v1/status");
    cli__query_add(&url, "app", app);
    int rc = cli__call(cli, "GET", url.ptr, NULL, &a, &err);
    buf_fini(&url);
    if (rc < 0) {
        json_decref(a);
        return cli__fail(&err, "show the status%s%s", app ? " of " : "", app ? app : "");
    }
    if (raw)
        cli__print_raw(cli);
    else
        cli__print_status(cli, jget(a, "apps"));
    json_decref(a);
    return 0;
}

int cli__show_status(struct cli *cli, const char *app)
{
    return get_status(cli, app, false);
}

int cli__verb_status(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    int rc = cli__parse(cli, opts, argc, argv, 0, 1, &a);
    if (rc != CLI_GO)
        return rc;
    return get_status(cli, a.npos ? a.pos[0] : NULL, cli__flag(&a, "json"));
}

/* Print a JSON object's members as "  key  value" lines (strings bare, the rest as JSON). */
static void print_members(const json_t *o, int indent)
{
    const char *k;
    const json_t *v;
    size_t w = 0;
    json_object_foreach((json_t *)o, k, v)
    {
        w = strlen(k) > w ? strlen(k) : w;
    }
    json_object_foreach((json_t *)o, k, v)
    {
        if (json_is_null(v))
            continue;
        if (json_is_string(v)) {
            printf("%*s%-*s  %s\n", indent, "", (int)w, k, json_string_value(v));
        } else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            printf("%*s%-*s  %s\n", indent, "", (int)w, k, s ? s : "?");
            free(s);
        }
    }
}

static void print_env(struct cli *cli, const json_t *env)
{
    static const char *const heads[] = {"key", "value", "source"};
    struct cli_table t;
    struct buf out = {0};
    size_t i;
    const json_t *e;
    cli__table_init(&t, 3, heads);
    json_array_foreach(env, i, e)
    {
        size_t r = cli__table_row(&t);
        const char *k = json_string_value(jget(e, "key"));
        const char *v = json_string_value(jget(e, "value"));
        const char *src = json_string_value(jget(e, "source"));
        cli__table_set(&t, r, 0, NULL, "%s", k ? k : "?");
        cli__table_set(&t, r, 1, NULL, "%s", v ? v : "");
        cli__table_set(&t, r, 2, "90", "%s", src ? src : "");
    }
    cli__table_render(&t, cli->color_out, &out);
    if (out.len)
        fwrite(out.ptr, 1, out.len, stdout);
    buf_fini(&out);
    cli__table_fini(&t);
}

static void print_describe(struct cli *cli, const json_t *a)
{
    const char *name = json_string_value(jget(a, "name"));
    json_t *apps = json_array();
    json_array_append(apps, (json_t *)a); /* the status table wants {"name","instances"} */
    printf("%s\n\ninstances:\n", name ? name : "?");
    print_instances(cli, apps);
    json_decref(apps);
    if (json_object_size(jget(a, "config"))) {
        printf("\nconfig:\n");
        print_members(jget(a, "config"), 2);
    }
    if (json_object_size(jget(a, "logs"))) {
        printf("\nlog files:\n");
        print_members(jget(a, "logs"), 2);
    }
    if (json_array_size(jget(a, "env"))) {
        printf("\nenvironment (instance 0):\n");
        print_env(cli, jget(a, "env"));
    }
}

/* GET a path under /v1/apps/APP; prints the failure as "cannot <what> APP". */
static int get_app(struct cli *cli, const char *what, const char *app, const char *suffix,
                   const char *query_key, const char *query_val, json_t **a)
{
    struct buf url = {0};
    struct err err = {0};
    buf_puts(&url, "/v1/apps/");
    cli__url_escape(&url, app);
    buf_puts(&url, suffix);
    cli__query_add(&url, query_key, query_val);
    int rc = cli__call(cli, "GET", url.ptr, NULL, a, &err);
    buf_fini(&url);
    if (rc < 0) {
        json_decref(*a);
        *a = NULL;
        return cli__fail(&err, "%s %s", what, app);
    }
    return 0;
}

int cli__verb_describe(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"json", 0, false}, {NULL, 0, false}};
    struct cli_args a;
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 1, 1, &a);
    if (rc != CLI_GO)
        return rc;
    if ((rc = get_app(cli, "describe", a.pos[0], "", NULL, NULL, &ans)) != 0)
        return rc;
    if (cli__flag(&a, "json"))
        cli__print_raw(cli);
    else
        print_describe(cli, ans);
    json_decref(ans);
    return 0;
}

int cli__verb_env(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {
        {"json", 0, false}, {"instance", 'i', true}, {NULL, 0, false}};
    struct cli_args a;
    json_t *ans = NULL;
    int rc = cli__parse(cli, opts, argc, argv, 1, 1, &a);
    if (rc != CLI_GO)
        return rc;
    const char *inst = cli__arg(&a, "instance");
    if (inst && (!inst[0] || strspn(inst, "0123456789") != strlen(inst)))
        return cli__usage_error(cli, "--instance wants a number such as 0, not \"%s\"", inst);
    if ((rc = get_app(cli, "show the environment of", a.pos[0], "/env", "instance", inst, &ans)))
        return rc;
    if (cli__flag(&a, "json")) {
        cli__print_raw(cli);
    } else {
        const char *app = json_string_value(jget(ans, "app"));
        printf("%s:%llu\n", app ? app : a.pos[0], (unsigned long long)jnum(ans, "instance"));
        print_env(cli, jget(ans, "env"));
    }
    json_decref(ans);
    return 0;
}
