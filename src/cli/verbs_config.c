/* cli/verbs_config.c: `config check` and `import`, which work on files alone, without a daemon.
 *
 * `config check` runs the same loader the daemon runs (cfg_load), so a file it calls valid is a
 * file `tend up` accepts; PM2 ecosystem files go through the same conversion. Diagnostics go to
 * stderr as "file:line:col: ..." (STYLE.md 4) and the verdict is the last line. `import` prints
 * the converted tend.yaml on stdout so it can be redirected into a file, warnings on stderr. */
#include "cli/cli_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/err.h"
#include "core/str.h"

static void print_diag(const struct cfg_diag *d)
{
    struct buf out = {0};
    cfg_diag_format(d, &out);
    if (out.len)
        fwrite(out.ptr, 1, out.len, stderr);
    buf_fini(&out);
}

static const char *default_file(void)
{
    static const char *const names[] = {"tend.yaml", "ecosystem.config.js", "ecosystem.config.cjs",
                                        "ecosystem.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (access(names[i], F_OK) == 0)
            return names[i];
    return "tend.yaml"; /* and let the loader say it is missing */
}

static int check(const char *file, const char *profile)
{
    struct cfg_diag diag = {0};
    struct cfg *cfg = NULL;
    struct cfg_load_opts o = {.profile = profile, .home = getenv("TEND_HOME")};
    str_copy(diag.file, file, sizeof diag.file);
    int rc = cfg_load(file, &o, &cfg, &diag);
    if (rc == 0 || rc == -TE_CONFIG)
        print_diag(&diag);
    if (rc == 0) {
        printf("tend: %s is valid (%zu app%s", file, cfg->napps, cfg->napps == 1 ? "" : "s");
        if (diag.nwarnings)
            printf(", %d warning%s", diag.nwarnings, diag.nwarnings == 1 ? "" : "s");
        printf(")\n");
        cfg_unref(cfg);
        return 0;
    }
    if (rc == -TE_CONFIG) {
        fprintf(stderr, "tend: %s has %d error%s%s\n", file, diag.nerrors,
                diag.nerrors == 1 ? "" : "s", diag.truncated ? " (only the first shown)" : "");
        return 1;
    }
    struct err err = {0};
    err_set(&err, rc, "%s", err_str(rc));
    if (rc == -ENOENT)
        err_hint(&err, "give the file: tend config check path/to/tend.yaml");
    return cli__fail(&err, "check %s", file);
}

int cli__verb_config(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"env", 'e', true}, {NULL, 0, false}};
    static const char *const subs[] = {"check", NULL};
    struct cli_args a;
    int rc = cli__parse(cli, opts, argc, argv, 0, 2, &a);
    if (rc != CLI_GO)
        return rc;
    if (a.npos == 0)
        return cli__usage_error(cli, "config needs a command: check");
    if (strcmp(a.pos[0], "check") != 0) {
        const char *guess = str_suggest(a.pos[0], subs);
        if (guess)
            return cli__usage_error(cli, "unknown config command \"%s\" (did you mean \"%s\"?)",
                                    a.pos[0], guess);
        return cli__usage_error(cli, "unknown config command \"%s\"", a.pos[0]);
    }
    return check(a.npos > 1 ? a.pos[1] : default_file(), cli__arg(&a, "env"));
}

int cli__verb_import(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{NULL, 0, false}};
    struct cli_args a;
    struct cfg_diag diag = {0};
    struct buf yaml = {0};
    int rc = cli__parse(cli, opts, argc, argv, 1, 1, &a);
    if (rc != CLI_GO)
        return rc;
    const char *file = a.pos[0];
    str_copy(diag.file, file, sizeof diag.file);
    rc = cfg_pm2_to_yaml(file, &yaml, &diag);
    print_diag(&diag);
    if (rc == 0 && !diag.nerrors) {
        if (yaml.len)
            fwrite(yaml.ptr, 1, yaml.len, stdout);
        if (diag.nwarnings)
            fprintf(stderr, "tend: converted %s with %d warning%s\n", file, diag.nwarnings,
                    diag.nwarnings == 1 ? "" : "s");
    } else if (diag.nerrors) {
        fprintf(stderr, "tend: %s has %d error%s; nothing was written\n", file, diag.nerrors,
                diag.nerrors == 1 ? "" : "s");
        rc = 1;
    } else {
        struct err err = {0};
        err_set(&err, rc, "%s", err_str(rc));
        rc = cli__fail(&err, "import %s", file);
    }
    buf_fini(&yaml);
    return rc < 0 ? 1 : rc;
}
