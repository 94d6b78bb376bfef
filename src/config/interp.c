/* config/interp.c: ${VAR} interpolation in tend.yaml values and env files.
 *
 * Forms: ${VAR}, ${VAR:-default} (used when VAR is unset or empty), ${VAR-default} (used only
 * when unset), and $$ for a literal dollar. A lone $ (as in a shell's $HOME) stays as written:
 * only the braced form is ours, so shell snippets in `cmd` mostly survive untouched. A name that
 * is not set and has no default is an error, never an empty string (a silent empty DB_HOST is
 * worse than a refusal). Keys are never interpolated.
 *
 * Per-instance variables (PORT, TEND_INSTANCE, NODE_APP_INSTANCE, TEND_APP) do not exist when
 * the file is loaded: with CFG_INTERP_KEEP_INSTANCE they are kept as written, default
 * included, and filled at each start by cfg_app_env() and cfg_app_expand(), which run this
 * same code in lenient mode over the instance's variables only. */
#include "config/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

extern char **environ;

static const char *const instance_vars[] = {"PORT", "TEND_INSTANCE", "NODE_APP_INSTANCE",
                                            "TEND_APP", NULL};

bool cfg__is_instance_var(const char *name, size_t len)
{
    for (size_t i = 0; instance_vars[i]; i++)
        if (strlen(instance_vars[i]) == len && memcmp(instance_vars[i], name, len) == 0)
            return true;
    return false;
}

const char *cfg__lookup_environ(void *ctx, const char *name, size_t len)
{
    char *const *env = ctx ? (char *const *)ctx : environ;
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
            return env[i] + len + 1;
    return NULL;
}

static bool name_char(char c, bool first)
{
    return c == '_' || isalpha((unsigned char)c) || (!first && isdigit((unsigned char)c));
}

/* One ${...} starting at s[i] (s[i] == '$', s[i+1] == '{'). Appends its value to out and
 * returns the index after '}', or (size_t)-1 with `why` filled. */
static size_t expand_one(const char *s, size_t len, size_t i, int flags, cfg__lookup_fn *lookup,
                         void *ctx, struct buf *out, char *why, size_t why_size)
{
    size_t start = i, name = i + 2, p = name;
    while (p < len && name_char(s[p], p == name))
        p++;
    size_t nlen = p - name;
    size_t close = p;
    while (close < len && s[close] != '}')
        close++;
    if (close >= len) {
        snprintf(why, why_size, "\"${\" is not closed; write ${NAME} (or $$ for a literal $)");
        return (size_t)-1;
    }
    bool has_def = false, def_if_empty = false;
    if (nlen == 0 || (p < close && s[p] != ':' && s[p] != '-') ||
        (p < close && s[p] == ':' && (p + 1 >= close || s[p + 1] != '-'))) {
        snprintf(why, why_size,
                 "\"%.*s\" is not a valid ${NAME}, ${NAME:-default} or "
                 "${NAME-default}",
                 (int)(close + 1 - start), s + start);
        return (size_t)-1;
    }
    size_t def = p;
    if (p < close) {
        has_def = true;
        def_if_empty = s[p] == ':';
        def = p + (def_if_empty ? 2 : 1);
    }
    if ((flags & CFG_INTERP_KEEP_INSTANCE) && cfg__is_instance_var(s + name, nlen)) {
        buf_append(out, s + start, close + 1 - start);
        return close + 1;
    }
    const char *v = lookup(ctx, s + name, nlen);
    if (v && !(def_if_empty && !*v)) {
        buf_puts(out, v);
    } else if (has_def) {
        buf_append(out, s + def, close - def);
    } else if (flags & CFG_INTERP_LENIENT) {
        buf_append(out, s + start, close + 1 - start);
    } else {
        snprintf(why, why_size,
                 "\"${%.*s}\" is not set; set it in the environment or give a "
                 "default: ${%.*s:-value}",
                 (int)nlen, s + name, (int)nlen, s + name);
        return (size_t)-1;
    }
    return close + 1;
}

int cfg__interp(const char *s, size_t len, int flags, cfg__lookup_fn *lookup, void *ctx, char **out,
                size_t *err_off, char *why, size_t why_size)
{
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < len;) {
        if (s[i] == '$' && i + 1 < len && s[i + 1] == '$' && !(flags & CFG_INTERP_LENIENT)) {
            buf_putc(&b, '$');
            i += 2;
        } else if (s[i] == '$' && i + 1 < len && s[i + 1] == '$') {
            buf_append(&b, "$$", 2);
            i += 2;
        } else if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            size_t next = expand_one(s, len, i, flags, lookup, ctx, &b, why, why_size);
            if (next == (size_t)-1) {
                buf_fini(&b);
                *err_off = i;
                return -TE_PARSE;
            }
            i = next;
        } else {
            buf_putc(&b, s[i++]);
        }
    }
    *out = buf_take(&b);
    return 0;
}

/* Column of byte `off` inside a scalar: exact for single-line plain scalars, one further for
 * quoted ones (the quote); multi-line scalars point at the scalar's start. */
static void where(const struct cfg_node *n, size_t off, int *line, int *col)
{
    *line = n->line;
    *col = n->col;
    if (n->is_multiline)
        return;
    *col += (int)off + (n->is_plain ? 0 : 1);
}

static void interp_node(struct cfg_node *n, const char *const *env, struct cfg_diag *diag,
                        int depth)
{
    if (!n || depth > 64)
        return;
    if (n->kind != CFG_NODE_SCALAR) {
        for (size_t i = 0; i < n->n; i++)
            interp_node(n->vals[i], env, diag, depth + 1);
        return;
    }
    if (n->is_null || !strchr(n->str, '$'))
        return;
    char why[300], *out = NULL;
    size_t off = 0;
    if (cfg__interp(n->str, strlen(n->str), CFG_INTERP_KEEP_INSTANCE, cfg__lookup_environ,
                    (void *)env, &out, &off, why, sizeof why) < 0) {
        int line, col;
        where(n, off, &line, &col);
        cfg__diag_add(diag, CFG_ERROR, line, col, "%s", why);
        n->is_bad = true;
        return;
    }
    free(n->str);
    n->str = out;
}

void cfg__interp_tree(struct cfg_node *root, const char *const *environ_, struct cfg_diag *diag)
{
    interp_node(root, environ_, diag, 0);
}
