/* cli/cli.c: the verb table and the dispatcher.
 *
 * cli_main() finds the verb, decides whether it may start the daemon (needs_daemon) and whether
 * colours are on, then hands the words to the verb's handler. Nothing else happens at start-up:
 * no config is loaded and no connection is made until a verb asks, so `tend status` is one
 * connect and one request (DESIGN: < 10 ms with 100 apps). Usage errors exit 2, failures 1. */
#include "cli/cli.h"

#include <stdarg.h>
#include <string.h>

#include "cli/cli_int.h"
#include "core/err.h"
#include "core/str.h"

static cli_verb_fn verb_help;

static const struct cli_verb verbs[] = {
    {"up", cli__verb_up, true, "up [FILE] [--env NAME] [--only APP[,APP]] [--dry-run] [--json]",
     "start, restart and stop apps so that they match tend.yaml"},
    {"start", cli__verb_action, true, "start TARGET... [--json]", "start apps (APP, APP:N or all)"},
    {"stop", cli__verb_action, true, "stop TARGET... [--json]", "stop apps"},
    {"restart", cli__verb_action, true, "restart TARGET... [--json]", "stop, then start apps"},
    {"reload", cli__verb_action, true, "reload TARGET... [--json]",
     "replace instances one by one, each ready before the next (no downtime)"},
    {"delete", cli__verb_action, true, "delete TARGET... [--json]",
     "stop apps and forget them until the next tend up"},
    {"status", cli__verb_status, true, "status [APP] [--json]", "show apps and their instances"},
    {"describe", cli__verb_describe, true, "describe APP [--json]",
     "show one app: config, instances, log files, environment"},
    {"env", cli__verb_env, true, "env APP [--instance N] [--json]",
     "show an instance's environment and where each value came from"},
    {"logs", cli__verb_logs, true,
     "logs [APP[:N]] [--lines N] [--follow|-f] [--err|--out] [--time] [--json]",
     "show the last lines of the apps' output, and follow it"},
    {"flush", cli__verb_flush, true, "flush [APP]", "empty the apps' log files"},
    {"events", cli__verb_events, true, "events [APP] [--since DURATION] [--limit N] [--json]",
     "show what happened: starts, exits, restarts, reloads"},
    {"backup", cli__verb_backup, true,
     "backup status|list|run|verify|drill|restore|sync ...",
     "back up databases and files; verify, drill and restore backups"},
    {"checks", cli__verb_checks, true, "checks [--json]",
     "show health checks: last result, since when, latency (exit 1 while one fails)"},
    {"metrics", cli__verb_metrics, true, "metrics [APP] [--since DURATION] [--json]",
     "show CPU, memory, disks, network and apps over time (default 1h), with sparklines"},
    {"alerts", cli__verb_alerts, true,
     "alerts [--json] | alerts silence RULE --for DURATION | alerts unsilence RULE",
     "show alerts, silences and the last day's changes (exit 1 while one fires)"},
    {"save", cli__verb_save, true, "save [--force] [--json]",
     "remember the running apps for tend resurrect and reboots"},
    {"resurrect", cli__verb_resurrect, true, "resurrect [--json]", "bring back the saved apps"},
    {"ping", cli__verb_ping, true, "ping [--json]", "check the daemon answers (starts it if not)"},
    {"kill", cli__verb_kill, false, "kill", "stop every app, then the daemon"},
    {"version", cli__verb_version, false, "version [--json]",
     "print the version of tend and of the running daemon"},
    {"config", cli__verb_config, false, "config check [FILE] [--env NAME]",
     "check a config file without touching anything that runs"},
    {"import", cli__verb_import, false, "import FILE",
     "convert a PM2 ecosystem file to tend.yaml (printed on stdout)"},
    {"help", verb_help, false, "help [COMMAND]", "show this help, or one command's"},
};

const struct cli_verb *cli__verb_find(const char *name)
{
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    return NULL;
}

const char *cli__verb_suggest(const char *name)
{
    const char *words[sizeof verbs / sizeof verbs[0] + 1];
    size_t n = 0;
    for (; n < sizeof verbs / sizeof verbs[0]; n++)
        words[n] = verbs[n].name;
    words[n] = NULL;
    return str_suggest(name, words);
}

static void print_usage(FILE *f)
{
    fprintf(f, "usage: tend COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\nTARGET is an app name, APP:N for one instance, or all.\n"
               "Run tend help COMMAND for its flags; docs/cli.md has the details.\n"
               "Environment: TEND_HOME (default ~/.tend), NO_COLOR.\n");
}

static int verb_help(struct cli *cli, int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stdout);
        return 0;
    }
    const struct cli_verb *v = cli__verb_find(argv[1]);
    if (!v) {
        const char *guess = cli__verb_suggest(argv[1]);
        fprintf(stderr, "tend: unknown command \"%s\"", argv[1]);
        if (guess)
            fprintf(stderr, " (did you mean \"%s\"?)", guess);
        fputc('\n', stderr);
        return 2;
    }
    printf("usage: tend %s\n%s\n", v->usage, v->summary);
    return 0;
}

int cli__usage_error(struct cli *cli, const char *fmt, ...)
{
    va_list ap;
    fputs("tend: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (cli->verb)
        fprintf(stderr, "  usage: tend %s\n", cli->verb->usage);
    return 2;
}

int cli__fail(const struct err *err, const char *fmt, ...)
{
    va_list ap;
    fputs("tend: cannot ", stderr);
    if (err->code == CLI_ERR_START) {
        fputs("start the daemon", stderr);
    } else {
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, ": %s\n", err->msg[0] ? err->msg : err_str(err->code));
    if (err->hint[0])
        fprintf(stderr, "  hint: %s\n", err->hint);
    return 1;
}

/* The first required word of a verb's usage ("TARGET..." in "stop TARGET... [--json]"). */
static const char *missing_word(const struct cli_verb *v, char *word, size_t size)
{
    /* The first word after the verb's name, which may be two words ("backup run"). */
    size_t len = strlen(v->name);
    const char *p = strncmp(v->usage, v->name, len) == 0 && v->usage[len] == ' '
                        ? v->usage + len
                        : strchr(v->usage, ' ');
    size_t n = p ? strcspn(p + 1, " ") : 0;
    if (!p || p[1] == '[' || n >= size)
        return "an argument";
    memcpy(word, p + 1, n);
    word[n] = '\0';
    return word;
}

int cli__parse(struct cli *cli, const struct cli_opt *opts, int argc, char **argv, int min_pos,
               int max_pos, struct cli_args *a)
{
    struct err err = {0};
    char word[64];
    int rc = cli__args_parse(a, opts, argc - 1, argv + 1, &err);
    if (rc == 1) {
        printf("usage: tend %s\n%s\n", cli->verb->usage, cli->verb->summary);
        return 0;
    }
    if (rc < 0)
        return cli__usage_error(cli, "%s", err.msg);
    if (a->npos < min_pos)
        return cli__usage_error(cli, "%s needs %s", cli->verb->name,
                                missing_word(cli->verb, word, sizeof word));
    if (max_pos >= 0 && a->npos > max_pos)
        return cli__usage_error(cli, "unexpected argument \"%s\"", a->pos[max_pos]);
    return CLI_GO;
}

static int unknown_verb(const char *word)
{
    const char *guess = cli__verb_suggest(word);
    if (word[0] == '-')
        fprintf(stderr, "tend: unknown flag \"%s\"\n", word);
    else if (guess)
        fprintf(stderr, "tend: unknown command \"%s\" (did you mean \"%s\"?)\n", word, guess);
    else
        fprintf(stderr, "tend: unknown command \"%s\"\n", word);
    fprintf(stderr, "  hint: run tend help for the list of commands\n");
    return 2;
}

int cli_main(int argc, char **argv)
{
    struct cli cli = {0};
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *word = argv[1];
    if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0)
        word = "help";
    else if (strcmp(word, "--version") == 0 || strcmp(word, "-V") == 0)
        word = "version";
    const struct cli_verb *v = cli__verb_find(word);
    if (!v)
        return unknown_verb(word);
    cli.verb = v;
    cli.autostart = v->needs_daemon;
    cli.color_out = cli__use_color(stdout);
    cli.color_err = cli__use_color(stderr);
    int rc = v->fn(&cli, argc - 1, argv + 1);
    cli__client_fini(&cli);
    if (fflush(stdout) != 0 && rc == 0)
        rc = 1; /* stdout is a full disk or a closed pipe: say the command did not finish */
    return rc;
}
