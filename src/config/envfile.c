/* config/envfile.c: dotenv files, and the environment an instance starts with.
 *
 * The dotenv dialect is the common one (dotenv, docker compose, systemd's EnvironmentFile):
 * KEY=value, optional `export `, spaces around `=`, # comments on their own line or after a
 * space, single quotes literal, double quotes with \n \t \r \" \\ \$ escapes, both may span
 * lines. ${VAR} expands in unquoted and double-quoted values from the file's earlier keys, then
 * from the daemon's environment; an unknown name without a default is an error, as in
 * tend.yaml. Every bad line is reported with its line:col, not only the first.
 *
 * cfg_app_env() builds the instance environment from scratch at every start (DESIGN, PM2
 * lesson 5): nothing is remembered between starts, so a removed key is gone. */
#include "config/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

#define ENVFILE_MAX (4u << 20)

bool cfg__env_name_ok(const char *s)
{
    if (!s || !(*s == '_' || isalpha((unsigned char)*s)))
        return false;
    for (s++; *s; s++)
        if (!(*s == '_' || isalnum((unsigned char)*s)))
            return false;
    return true;
}

void cfg_kv_free(struct cfg_kv *kv, size_t n)
{
    for (size_t i = 0; kv && i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

/* ---- dotenv parsing ---------------------------------------------------------------------- */
struct envp {
    const char *s;
    size_t len, pos;
    int line, col; /* of s[pos] */
    struct cfg_kv *kv;
    size_t n;
    const char *const *environ;
    struct cfg_diag *diag;
};

static char peek(const struct envp *p)
{
    return p->pos < p->len ? p->s[p->pos] : '\0';
}

static void adv(struct envp *p)
{
    if (p->pos >= p->len)
        return;
    if (p->s[p->pos++] == '\n') {
        p->line++;
        p->col = 1;
    } else {
        p->col++;
    }
}

static void skip_blanks(struct envp *p)
{
    while (peek(p) == ' ' || peek(p) == '\t')
        adv(p);
}

static void skip_line(struct envp *p)
{
    while (p->pos < p->len && peek(p) != '\n')
        adv(p);
    adv(p);
}

static const char *lookup_file(void *ctx, const char *name, size_t len)
{
    const struct envp *p = ctx;
    for (size_t i = p->n; i-- > 0;)
        if (strlen(p->kv[i].key) == len && memcmp(p->kv[i].key, name, len) == 0)
            return p->kv[i].value;
    return cfg__lookup_environ((void *)p->environ, name, len);
}

static void set_kv(struct envp *p, char *key, char *value)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->kv[i].key, key) == 0) { /* a later line wins, in the first's place */
            free(key);
            free(p->kv[i].value);
            p->kv[i].value = value;
            return;
        }
    }
    p->kv = xrealloc(p->kv, (p->n + 1) * sizeof *p->kv);
    p->kv[p->n].key = key;
    p->kv[p->n++].value = value;
}

/* Read a quoted value; p is at the opening quote. Escapes in "..." become their byte, and \$
 * becomes $$ so interpolation yields a literal $. false on an unclosed quote. */
static bool read_quoted(struct envp *p, struct buf *raw)
{
    char q = peek(p);
    adv(p);
    while (p->pos < p->len && peek(p) != q) {
        char c = peek(p);
        if (q == '"' && c == '\\' && p->pos + 1 < p->len) {
            adv(p);
            c = peek(p);
            const char *rep = c == 'n'   ? "\n"
                              : c == 't' ? "\t"
                              : c == 'r' ? "\r"
                              : c == '$' ? "$$"
                                         : NULL;
            if (rep)
                buf_puts(raw, rep);
            else if (c == '"' || c == '\\')
                buf_putc(raw, c);
            else {
                buf_putc(raw, '\\');
                buf_putc(raw, c);
            }
        } else {
            buf_putc(raw, c);
        }
        adv(p);
    }
    if (p->pos >= p->len)
        return false;
    adv(p); /* the closing quote */
    return true;
}

/* Unquoted: up to the end of the line or a " #" comment, trailing blanks dropped. */
static void read_bare(struct envp *p, struct buf *raw)
{
    while (p->pos < p->len && peek(p) != '\n' && peek(p) != '\r') {
        if ((peek(p) == ' ' || peek(p) == '\t') && p->pos + 1 < p->len) {
            size_t k = p->pos;
            while (k < p->len && (p->s[k] == ' ' || p->s[k] == '\t'))
                k++;
            if (k >= p->len || p->s[k] == '#' || p->s[k] == '\n' || p->s[k] == '\r')
                break;
        }
        buf_putc(raw, peek(p));
        adv(p);
    }
}

static void envp_error(struct envp *p, int line, int col, const char *fmt, const char *arg)
{
    cfg__diag_add(p->diag, CFG_ERROR, line, col, fmt, arg);
}

/* The value part of one line; p is just after '=' and blanks. */
static void parse_value(struct envp *p, char *key)
{
    struct buf raw;
    buf_init(&raw, 0);
    int vline = p->line, vcol = p->col;
    char q = peek(p);
    bool quoted = q == '"' || q == '\'';
    if (quoted && !read_quoted(p, &raw)) {
        envp_error(p, vline, vcol, "the quote that starts %s's value is never closed", key);
        goto fail;
    }
    if (!quoted)
        read_bare(p, &raw);
    skip_blanks(p);
    if (quoted && peek(p) != '\0' && peek(p) != '\n' && peek(p) != '\r' && peek(p) != '#') {
        envp_error(p, p->line, p->col, "unexpected text after the closing quote of %s", key);
        goto fail;
    }
    char *value = NULL, why[300];
    size_t off = 0;
    if (q == '\'') {
        value = buf_take(&raw);
    } else if (cfg__interp(raw.ptr ? raw.ptr : "", raw.len, CFG_INTERP_KEEP_INSTANCE, lookup_file,
                           p, &value, &off, why, sizeof why) < 0) {
        cfg__diag_add(p->diag, CFG_ERROR, vline, vcol + (int)off + (quoted ? 1 : 0), "%s", why);
        goto fail;
    }
    buf_fini(&raw);
    set_kv(p, key, value);
    skip_line(p);
    return;
fail:
    buf_fini(&raw);
    free(key);
    skip_line(p);
}

static void parse_line(struct envp *p)
{
    skip_blanks(p);
    if (peek(p) == '#' || peek(p) == '\n' || peek(p) == '\r' || peek(p) == '\0') {
        skip_line(p);
        return;
    }
    if (p->len - p->pos > 7 && strncmp(p->s + p->pos, "export", 6) == 0 &&
        (p->s[p->pos + 6] == ' ' || p->s[p->pos + 6] == '\t')) {
        for (int i = 0; i < 6; i++)
            adv(p);
        skip_blanks(p);
    }
    int kline = p->line, kcol = p->col;
    size_t k0 = p->pos;
    while (p->pos < p->len && strchr(" \t=\n\r", peek(p)) == NULL)
        adv(p);
    char *key = str_ndup(p->s + k0, p->pos - k0);
    skip_blanks(p);
    if (peek(p) != '=') {
        size_t end = k0;
        while (end < p->len && p->s[end] != '\n' && p->s[end] != '\r' && end - k0 < 60)
            end++;
        free(key);
        key = str_ndup(p->s + k0, end - k0);
        envp_error(p, kline, kcol, "expected NAME=value, not \"%s\"", key);
        free(key);
        skip_line(p);
        return;
    }
    if (!cfg__env_name_ok(key)) {
        envp_error(p, kline, kcol,
                   "\"%s\" is not a valid variable name (letters, digits and _, not starting "
                   "with a digit)",
                   key);
        free(key);
        skip_line(p);
        return;
    }
    adv(p);
    skip_blanks(p);
    parse_value(p, key);
}

int cfg__envfile_parse_env(const char *name, const char *text, size_t len,
                           const char *const *environ_, struct cfg_kv **out, size_t *n,
                           struct cfg_diag *diag)
{
    struct envp p = {.s = text, .len = len, .line = 1, .col = 1, .environ = environ_, .diag = diag};
    cfg__diag_init(diag, name);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3; /* a UTF-8 byte order mark, as Windows editors write */
    while (p.pos < p.len)
        parse_line(&p);
    *out = NULL;
    *n = 0;
    if (diag->nerrors) {
        cfg_kv_free(p.kv, p.n);
        return -TE_PARSE;
    }
    *out = p.kv;
    *n = p.n;
    return 0;
}

int cfg_envfile_parse(const char *name, const char *text, size_t len, struct cfg_kv **out,
                      size_t *n, struct cfg_diag *diag)
{
    return cfg__envfile_parse_env(name, text, len, NULL, out, n, diag);
}

/* ---- the instance environment --------------------------------------------------------------- */
const char *cfg_env_src_name(enum cfg_env_src s)
{
    static const char *const names[] = {
        [CFG_ENV_DAEMON] = "daemon",   [CFG_ENV_FILE] = "env_file",     [CFG_ENV_APP] = "env",
        [CFG_ENV_PROFILE] = "profile", [CFG_ENV_INSTANCE] = "instance",
    };
    return (unsigned)s < ARRAY_LEN(names) ? names[s] : "unknown";
}

void cfg_envvar_free(struct cfg_envvar *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

struct envset {
    struct cfg_envvar *v;
    size_t n;
};

static void envset_put(struct envset *e, const char *key, size_t klen, const char *value,
                       enum cfg_env_src src)
{
    for (size_t i = 0; i < e->n; i++) {
        if (strlen(e->v[i].key) == klen && memcmp(e->v[i].key, key, klen) == 0) {
            free(e->v[i].value);
            e->v[i].value = str_dup(value);
            e->v[i].src = src;
            return;
        }
    }
    e->v = xrealloc(e->v, (e->n + 1) * sizeof *e->v);
    e->v[e->n++] = (struct cfg_envvar){str_ndup(key, klen), str_dup(value), src};
}

/* The per-instance variables, as "K=V" strings in `store` with pointers in `vars`. */
struct instvars {
    char store[4][300];
    const char *vars[5];
};

static void instvars_init(struct instvars *iv, const struct cfg_app *app, int i)
{
    int k = 0;
    if (app->port > 0)
        snprintf(iv->store[k++], sizeof iv->store[0], "PORT=%d", app->port + i);
    snprintf(iv->store[k++], sizeof iv->store[0], "NODE_APP_INSTANCE=%d", i);
    snprintf(iv->store[k++], sizeof iv->store[0], "TEND_INSTANCE=%d", i);
    snprintf(iv->store[k++], sizeof iv->store[0], "TEND_APP=%s", app->name ? app->name : "");
    for (int j = 0; j < k; j++)
        iv->vars[j] = iv->store[j];
    iv->vars[k] = NULL;
}

static char *expand_instance(const struct instvars *iv, const char *text)
{
    char *out = NULL, why[8];
    size_t off;
    if (cfg__interp(text, strlen(text), CFG_INTERP_LENIENT, cfg__lookup_environ, (void *)iv->vars,
                    &out, &off, why, sizeof why) < 0)
        return str_dup(text); /* lenient mode fails only on a malformed ${, kept as written */
    return out;
}

char *cfg_app_expand(const struct cfg_app *app, int i, const char *text)
{
    struct instvars iv;
    if (!text)
        return NULL;
    instvars_init(&iv, app, i);
    return expand_instance(&iv, text);
}

static int read_env_file(const char *path, const char *const *base, struct envset *e,
                         struct err *err)
{
    struct buf text;
    struct cfg_kv *kv = NULL;
    size_t n = 0;
    struct cfg_diag *diag = xmalloc(sizeof *diag);
    buf_init(&text, 0);
    int rc = read_file(path, ENVFILE_MAX, &text);
    if (rc < 0) {
        err_set(err, rc, "cannot read env_file %s: %s", path, err_str(rc));
        goto out;
    }
    rc = cfg__envfile_parse_env(path, text.ptr, text.len, base, &kv, &n, diag);
    if (rc < 0) {
        const struct cfg_msg *m = &diag->msgs[0];
        err_set(err, rc, "%s:%d:%d: %s", path, m->line, m->col, m->text);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        envset_put(e, kv[i].key, strlen(kv[i].key), kv[i].value, CFG_ENV_FILE);
out:
    cfg_kv_free(kv, n);
    buf_fini(&text);
    free(diag);
    return rc;
}

int cfg_app_env(const struct cfg_app *app, int i, const char *const *base, struct cfg_envvar **out,
                size_t *n, struct err *err)
{
    struct envset e = {0};
    struct instvars iv;
    *out = NULL;
    *n = 0;
    for (size_t k = 0; base && base[k]; k++) {
        const char *eq = strchr(base[k], '=');
        if (eq && eq != base[k])
            envset_put(&e, base[k], (size_t)(eq - base[k]), eq + 1, CFG_ENV_DAEMON);
    }
    if (app->env_file) {
        int rc = read_env_file(app->env_file, base, &e, err);
        if (rc < 0) {
            cfg_envvar_free(e.v, e.n);
            return rc;
        }
    }
    for (size_t k = 0; k < app->nenv; k++)
        envset_put(&e, app->env[k].key, strlen(app->env[k].key), app->env[k].value, CFG_ENV_APP);
    for (size_t k = 0; k < app->nprofile_env; k++)
        envset_put(&e, app->profile_env[k].key, strlen(app->profile_env[k].key),
                   app->profile_env[k].value, CFG_ENV_PROFILE);
    instvars_init(&iv, app, i);
    /* Values from tend's own sources may name ${PORT} and friends; the daemon's may not. */
    for (size_t k = 0; k < e.n; k++) {
        if (e.v[k].src == CFG_ENV_DAEMON || !strstr(e.v[k].value, "${"))
            continue;
        char *v = expand_instance(&iv, e.v[k].value);
        free(e.v[k].value);
        e.v[k].value = v;
    }
    for (size_t k = 0; iv.vars[k]; k++) {
        const char *eq = strchr(iv.vars[k], '=');
        envset_put(&e, iv.vars[k], (size_t)(eq - iv.vars[k]), eq + 1, CFG_ENV_INSTANCE);
    }
    *out = e.v;
    *n = e.n;
    return 0;
}
