/* config/pm2_cmd.c: the command of one PM2 app, from script, interpreter and args.
 *
 * PM2 picks an interpreter from the script's extension (node for .js, bash for .sh, ...), runs
 * a name found in PATH ("npm") or a binary file directly, and uses node for any other file.
 * tend prefers argv (no shell between it and the app, so signals reach the app): a string of
 * args is split as /bin/sh would split plain words and quotes; only when it holds shell syntax
 * ($VAR, pipes, globs, redirections) does the whole command become a `cmd:` line for
 * /bin/sh -c, with every other word quoted so the line means the same. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/pm2_int.h"
#include "core/buf.h"
#include "core/str.h"

/* A scalar as the text JavaScript would give it ("3000", "true", "1.5"); false for others. */
bool cfg__pm2_scalar_text(const json_t *v, char *dst, size_t size)
{
    if (json_is_string(v))
        snprintf(dst, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(dst, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(dst, size, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_real(v)) {
        /* the shortest form that reads back as the same double, as JavaScript prints it */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(dst, size, "%.*g", prec, json_real_value(v));
            if (strtod(dst, NULL) == json_real_value(v))
                break;
        }
    } else
        return false;
    return true;
}


/* ---- words --------------------------------------------------------------------------------- */
/* A growing list of words; `raw` collects parts only a shell can read (args "a | b"). */
struct words {
    char **v;
    size_t n, cap;
    struct buf raw;
};

static void words_add(struct words *w, const char *s, size_t len)
{
    if (w->n + 1 >= w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        char **v = realloc(w->v, cap * sizeof *v);
        if (!v)
            abort(); /* tiny lists; as str_dup does on out-of-memory */
        w->v = v;
        w->cap = cap;
    }
    w->v[w->n++] = str_ndup(s, len);
    w->v[w->n] = NULL;
}

static void sh_word(struct buf *b, const char *s);

/* Add a word; once shell text has been collected, words join the shell text, quoted, so the
 * command keeps its order. */
static void words_push(struct words *w, const char *s)
{
    if (w->raw.len) {
        buf_putc(&w->raw, ' ');
        sh_word(&w->raw, s);
    } else {
        words_add(w, s, strlen(s));
    }
}

static void words_free(struct words *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
    buf_fini(&w->raw);
}

/* Split `s` as /bin/sh would when it holds only words and quotes. 0 when done; 1 when it uses
 * shell syntax (expansions, pipes, redirections, globs) that only a shell can give meaning to. */
static int split_shell(const char *s, struct words *w)
{
    struct buf cur;
    int rc = 0;
    buf_init(&cur, 0);
    for (const char *p = s; rc == 0;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        if (*p == '#' || *p == '~')
            rc = 1;
        buf_reset(&cur);
        buf_puts(&cur, "");
        while (rc == 0 && *p && !strchr(" \t\n", *p)) {
            if (*p == '\'') {
                const char *e = strchr(p + 1, '\'');
                if (!e) {
                    rc = 1;
                    break;
                }
                buf_append(&cur, p + 1, (size_t)(e - p - 1));
                p = e + 1;
            } else if (*p == '"') {
                for (p++; *p && *p != '"' && rc == 0; p++) {
                    if (*p == '$' || *p == '`')
                        rc = 1;
                    else if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
                        buf_putc(&cur, *++p);
                    else
                        buf_putc(&cur, *p);
                }
                if (*p != '"')
                    rc = 1;
                else
                    p++;
            } else if (*p == '\\' && p[1] && p[1] != '\n') {
                buf_putc(&cur, p[1]);
                p += 2;
            } else if (strchr("|&;<>()$`*?[]{}\\!", *p)) {
                rc = 1;
            } else {
                buf_putc(&cur, *p++);
            }
        }
        if (rc == 0)
            words_add(w, cur.ptr, cur.len);
    }
    buf_fini(&cur);
    return rc;
}

/* Append a PM2 args-like value (a string or a list) to w. -1 on a wrong type. */
static int add_args(const json_t *app, const char *key, struct words *w)
{
    const json_t *v = json_object_get(app, key), *e;
    char tmp[256];
    size_t i;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        struct words t = {0};
        if (split_shell(json_string_value(v), &t) == 0) {
            for (i = 0; i < t.n; i++)
                words_push(w, t.v[i]);
        } else {
            buf_printf(&w->raw, " %s", json_string_value(v));
        }
        words_free(&t);
        return 0;
    }
    if (!json_is_array(v))
        return -1;
    json_array_foreach(v, i, e) {
        if (!cfg__pm2_scalar_text(e, tmp, sizeof tmp))
            return -1;
        words_push(w, tmp);
    }
    return 0;
}

/* Is `path` a binary (ELF or NUL bytes in its first 512 bytes)? PM2 runs those directly. */
static bool is_binary_file(const char *path)
{
    unsigned char head[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    return n > 0 && memchr(head, 0, (size_t)n) != NULL;
}

/* The interpreter PM2 would choose for `script` when the app names none; NULL = run it. */
static const char *default_interpreter(const char *dir, const char *script, const char *cwd)
{
    static const char *const ext[][2] = {
        {".js", "node"}, {".mjs", "node"}, {".cjs", "node"}, {".sh", "bash"},
        {".py", "python3"}, {".rb", "ruby"}, {".php", "php"}, {".pl", "perl"},
    };
    char path[4096];
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (str_ends(script, ext[i][0]))
            return ext[i][1];
    if (script[0] == '/')
        snprintf(path, sizeof path, "%s", script);
    else if (cwd && cwd[0] == '/')
        snprintf(path, sizeof path, "%s/%s", cwd, script);
    else
        snprintf(path, sizeof path, "%s/%s/%s", dir, cwd ? cwd : ".", script);
    if (access(path, F_OK) == 0)
        return is_binary_file(path) ? NULL : "node"; /* PM2's default interpreter is node */
    /* Not a file: PM2 looks a bare name up in PATH ("npm") and runs it directly. */
    return strchr(script, '/') ? "node" : NULL;
}

/* Quote one word for /bin/sh when it needs it. */
static void sh_word(struct buf *b, const char *s)
{
    if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-") ==
                  strlen(s)) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '\'');
    for (; *s; s++)
        if (*s == '\'')
            buf_puts(b, "'\\''");
        else
            buf_putc(b, *s);
    buf_putc(b, '\'');
}

/* The command line for /bin/sh -c: the words quoted, then the shell text as written. */
static char *shell_line(const struct words *w)
{
    struct buf cmd;
    buf_init(&cmd, 0);
    for (size_t i = 0; i < w->n; i++) {
        sh_word(&cmd, w->v[i]);
        buf_putc(&cmd, ' ');
    }
    buf_append(&cmd, w->raw.ptr + 1, w->raw.len - 1); /* raw starts with a space */
    return buf_take(&cmd);
}

static int str_key(const json_t *app, const char *key, const char **out, const char **bad_key)
{
    const json_t *v = json_object_get(app, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return *bad_key = key, -1;
    *out = json_string_value(v);
    return 0;
}

int cfg__pm2_command(const json_t *app, const char *dir, struct pm2_cmd *out,
                     const char **bad_key)
{
    const char *script, *interp, *cwd, *bad = NULL;
    struct words w = {0};
    *out = (struct pm2_cmd){0};
    if (str_key(app, "script", &script, bad_key) < 0 ||
        str_key(app, "interpreter", &interp, bad_key) < 0 ||
        str_key(app, "cwd", &cwd, bad_key) < 0)
        return -1;
    if (!script)
        return -2;
    if (!interp && !json_object_get(app, "args") && strpbrk(script, " \t")) {
        /* "npm run start" as the script: a command line */
        if (add_args(app, "script", &w) < 0)
            bad = "script";
    } else {
        if (!interp)
            interp = default_interpreter(dir, script, cwd);
        if (interp && strcmp(interp, "none") != 0) {
            const char *ia = json_object_get(app, "interpreter_args") ? "interpreter_args"
                                                                       : "node_args";
            words_push(&w, interp);
            if (add_args(app, ia, &w) < 0)
                bad = ia;
        }
        words_push(&w, script);
        if (!bad && add_args(app, "args", &w) < 0)
            bad = "args";
    }
    if (bad) {
        words_free(&w);
        *bad_key = bad;
        return -1;
    }
    if (w.raw.len)
        out->shell = shell_line(&w);
    out->argv = w.v;
    out->argc = w.n;
    w.v = NULL;
    w.n = 0;
    words_free(&w);
    return 0;
}

void cfg__pm2_cmd_fini(struct pm2_cmd *c)
{
    for (size_t i = 0; i < c->argc; i++)
        free(c->argv[i]);
    free(c->argv);
    free(c->shell);
    *c = (struct pm2_cmd){0};
}
