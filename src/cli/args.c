/* cli/args.c: flags, targets and URL pieces, as pure functions (tests/unit/cli/test_args.c).
 *
 * Each verb declares its options in a small table; flags may come before, between or after the
 * positional words (`tend logs api -f` and `tend logs -f api` are the same), take their value as
 * `--lines 5` or `--lines=5`, and `--` ends the flags. An unknown flag is a usage error with a
 * did-you-mean taken from the verb's own table. Nothing here prints: callers do. */
#include "cli/cli_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"

static int find_long(const struct cli_opt *opts, const char *name, size_t len)
{
    for (int i = 0; opts[i].name; i++)
        if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0)
            return i;
    return -1;
}

static int find_short(const struct cli_opt *opts, char c)
{
    for (int i = 0; opts[i].name; i++)
        if (opts[i].short_name == c)
            return i;
    return -1;
}

static int unknown_flag(const struct cli_opt *opts, const char *word, struct err *err)
{
    const char *words[CLI_MAX_OPTS + 1];
    char flag[64], name[64];
    int n = 0;
    for (; opts[n].name && n < CLI_MAX_OPTS; n++)
        words[n] = opts[n].name;
    words[n] = NULL;
    str_copy(flag, word, sizeof flag);
    char *eq = strchr(flag, '=');
    if (eq)
        *eq = '\0';
    str_copy(name, flag + strspn(flag, "-"), sizeof name);
    const char *guess = name[0] ? str_suggest(name, words) : NULL;
    if (guess)
        return err_set(err, -TE_INVALID, "unknown flag \"%s\" (did you mean \"--%s\"?)", flag,
                       guess);
    return err_set(err, -TE_INVALID, "unknown flag \"%s\"", flag);
}

/* Take option i's value from "=v", or from the next word. */
static int take_value(struct cli_args *a, int i, const char *word, const char *eq, int argc,
                      char **argv, int *k, struct err *err)
{
    const struct cli_opt *o = &a->opts[i];
    if (!o->has_value) {
        if (eq)
            return err_set(err, -TE_INVALID, "flag \"--%s\" takes no value", o->name);
        a->value[i] = "";
        return 0;
    }
    if (eq) {
        a->value[i] = eq + 1;
        return 0;
    }
    if (*k + 1 >= argc)
        return err_set(err, -TE_INVALID, "flag \"%s\" needs a value", word);
    a->value[i] = argv[++*k];
    return 0;
}

static int add_pos(struct cli_args *a, const char *w, struct err *err)
{
    if (a->npos >= CLI_MAX_POS)
        return err_set(err, -TE_INVALID, "too many arguments (at most %d)", CLI_MAX_POS);
    a->pos[a->npos++] = w;
    return 0;
}

int cli__args_parse(struct cli_args *a, const struct cli_opt *opts, int argc, char **argv,
                    struct err *err)
{
    memset(a, 0, sizeof *a);
    a->opts = opts;
    bool only_pos = false;
    for (int k = 0; k < argc; k++) {
        const char *w = argv[k];
        int rc = 0, i;
        if (only_pos || w[0] != '-' || w[1] == '\0') {
            rc = add_pos(a, w, err);
        } else if (strcmp(w, "--") == 0) {
            only_pos = true;
        } else if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
            return 1;
        } else if (w[1] == '-') {
            const char *eq = strchr(w, '=');
            size_t len = eq ? (size_t)(eq - w - 2) : strlen(w + 2);
            if ((i = find_long(opts, w + 2, len)) < 0)
                return unknown_flag(opts, w, err);
            rc = take_value(a, i, w, eq, argc, argv, &k, err);
        } else {
            if (w[2] != '\0' || (i = find_short(opts, w[1])) < 0)
                return unknown_flag(opts, w, err);
            rc = take_value(a, i, w, NULL, argc, argv, &k, err);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

const char *cli__arg(const struct cli_args *a, const char *name)
{
    int i = find_long(a->opts, name, strlen(name));
    return i < 0 ? NULL : a->value[i];
}

bool cli__flag(const struct cli_args *a, const char *name)
{
    return cli__arg(a, name) != NULL;
}

/* App names as tend.yaml allows them: letters, digits, "-", "_", ".". */
static bool name_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
            return false;
    return true;
}

int cli__target_parse(const char *s, char *app, size_t size, int *instance, struct err *err)
{
    const char *colon = strchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    *instance = -1;
    if (!name_ok(s, n))
        return err_set(err, -TE_INVALID,
                       "\"%s\" is not an app: use a name from tend.yaml, NAME:N or all", s);
    if (n + 1 > size)
        return err_set(err, -TE_INVALID, "app name \"%s\" is too long", s);
    memcpy(app, s, n);
    app[n] = '\0';
    if (!colon)
        return 0;
    char *end;
    errno = 0;
    long i = strtol(colon + 1, &end, 10);
    if (!isdigit((unsigned char)colon[1]) || *end || errno || i > 100000)
        return err_set(err, -TE_INVALID,
                       "\"%s\" is not an instance: write NAME:N with N a number such as %s:0", s,
                       app);
    if (strcmp(app, "all") == 0)
        return err_set(err, -TE_INVALID, "\"%s\": all takes no instance number", s);
    *instance = (int)i;
    return 0;
}

int cli__url_escape(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int rc;
        if (isalnum(c) || strchr("-._~:", c))
            rc = buf_putc(out, (char)c);
        else
            rc = buf_printf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cli__query_add(struct buf *url, const char *key, const char *value)
{
    if (!value)
        return 0;
    int rc = buf_printf(url, "%c%s=", url->ptr && strchr(url->ptr, '?') ? '&' : '?', key);
    return rc < 0 ? rc : cli__url_escape(url, value);
}

/* ---- sub-commands ---------------------------------------------------------------------------- */
int cli__run_sub(struct cli *cli, const struct cli_sub *subs, size_t n, int argc, char **argv)
{
    for (size_t i = 0; argc > 1 && i < n; i++) {
        if (strcmp(argv[1], subs[i].name) != 0)
            continue;
        const struct cli_verb *prev = cli->verb;
        struct cli_verb sub = *prev;
        char name[64];
        snprintf(name, sizeof name, "%s %s", prev->name, subs[i].name);
        sub.name = name;
        sub.usage = subs[i].usage;
        cli->verb = &sub;
        int rc = subs[i].fn(cli, argc - 1, argv + 1);
        cli->verb = prev;
        return rc;
    }
    return CLI_GO;
}

int cli__unknown_sub(struct cli *cli, const struct cli_sub *subs, size_t n, const char *word)
{
    const char *names[16] = {0};
    for (size_t i = 0; i < n && i + 1 < sizeof names / sizeof names[0]; i++)
        names[i] = subs[i].name;
    const char *near = str_suggest(word, names);
    if (near)
        return cli__usage_error(cli, "unknown %s command \"%s\" (did you mean \"%s\"?)",
                                cli->verb->name, word, near);
    return cli__usage_error(cli, "unknown %s command \"%s\"", cli->verb->name, word);
}
