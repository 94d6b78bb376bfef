/* config/load.c: from a file (or bytes) to a checked struct cfg, and the YAML reader under it.
 *
 * libyaml's document API builds its own node graph; we copy it into struct cfg_node, which
 * keeps what the checks need and nothing else: the text, whether it was quoted (so `port: "80"`
 * and `port: 80` both work but a plain `~` means null), and the 1-based line:col of every key
 * and value. Aliases are copied, not shared, so interpolation and freeing never meet the same
 * node twice; a depth and a node-count limit stop alias bombs and self-referencing anchors. The
 * YAML 1.1 merge key (`<<: *defaults`) is honoured because hand-written configs use it to share
 * settings between apps; keys written in the map itself win over merged ones.
 *
 * cfg_load() reads the file, converts PM2 ecosystem files through cfg_pm2_to_yaml(), then
 * shares load_text() with cfg_load_mem(): parse, interpolate, check, and either hand out a
 * complete snapshot or nothing. */
#include "config/config_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

#define CFG_FILE_MAX (4u << 20)
#define MAX_DEPTH 64
#define MAX_NODES 200000

extern char **environ;

/* ---- the node tree ------------------------------------------------------------------------- */
void cfg__node_free(struct cfg_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            cfg__node_free(n->keys[i]);
        cfg__node_free(n->vals[i]);
    }
    free(n->keys);
    free(n->vals);
    free(n->str);
    free(n);
}

const struct cfg_node *cfg__node_get(const struct cfg_node *map, const char *key)
{
    if (!map || map->kind != CFG_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->str, key) == 0)
            return map->vals[i];
    return NULL;
}

void cfg__node_describe(const struct cfg_node *n, char *dst, size_t size)
{
    if (n->kind == CFG_NODE_MAP)
        str_copy(dst, "a map", size);
    else if (n->kind == CFG_NODE_SEQ)
        str_copy(dst, "a list", size);
    else if (n->is_null)
        str_copy(dst, "empty", size);
    else
        snprintf(dst, size, "\"%.60s%s\"", n->str, strlen(n->str) > 60 ? "..." : "");
}

struct conv {
    yaml_document_t *doc;
    size_t count;
    bool too_big;
    struct cfg_diag *diag;
};

static struct cfg_node *convert(struct conv *cv, yaml_node_t *yn, int depth);

static bool scalar_is_null(const yaml_node_t *yn)
{
    const char *v = (const char *)yn->data.scalar.value;
    if (yn->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

static void push(struct cfg_node *n, struct cfg_node *k, struct cfg_node *v)
{
    n->vals = xrealloc(n->vals, (n->n + 1) * sizeof *n->vals);
    if (n->kind == CFG_NODE_MAP) {
        n->keys = xrealloc(n->keys, (n->n + 1) * sizeof *n->keys);
        n->keys[n->n] = k;
    }
    n->vals[n->n++] = v;
}

/* Copy the keys of `src` (a map) that `dst` lacks: the merge key's rule. */
static void merge_into(struct cfg_node *dst, const struct cfg_node *src, struct conv *cv, int depth)
{
    (void)cv;
    (void)depth;
    for (size_t i = 0; src && src->kind == CFG_NODE_MAP && i < src->n; i++) {
        if (cfg__node_get(dst, src->keys[i]->str))
            continue;
        struct cfg_node *k = xcalloc(1, sizeof *k), *v;
        *k = *src->keys[i];
        k->str = str_dup(src->keys[i]->str);
        k->keys = k->vals = NULL;
        k->n = 0;
        v = src->vals[i];
        push(dst, k, v);
        src->vals[i] = NULL; /* moved: the merged-from copy is freed without it */
    }
}

static void convert_map(struct conv *cv, yaml_node_t *yn, struct cfg_node *n, int depth)
{
    struct cfg_node *merges[16];
    size_t nmerges = 0;
    for (yaml_node_pair_t *p = yn->data.mapping.pairs.start; p < yn->data.mapping.pairs.top; p++) {
        struct cfg_node *k = convert(cv, yaml_document_get_node(cv->doc, p->key), depth + 1);
        struct cfg_node *v = convert(cv, yaml_document_get_node(cv->doc, p->value), depth + 1);
        if (k && k->kind != CFG_NODE_SCALAR) {
            cfg__diag_add(cv->diag, CFG_ERROR, k->line, k->col,
                          "a key must be a plain word, not %s",
                          k->kind == CFG_NODE_MAP ? "a map" : "a list");
            cfg__node_free(k);
            k = NULL;
        }
        if (!k || !v) {
            cfg__node_free(k);
            cfg__node_free(v);
            continue;
        }
        if (k->is_plain && strcmp(k->str, "<<") == 0 && nmerges < ARRAY_LEN(merges)) {
            cfg__node_free(k);
            merges[nmerges++] = v;
            continue;
        }
        push(n, k, v);
    }
    for (size_t i = 0; i < nmerges; i++) {
        struct cfg_node *m = merges[i];
        if (m->kind == CFG_NODE_SEQ)
            for (size_t j = 0; j < m->n; j++)
                merge_into(n, m->vals[j], cv, depth);
        else
            merge_into(n, m, cv, depth);
        cfg__node_free(m);
    }
}

static struct cfg_node *convert(struct conv *cv, yaml_node_t *yn, int depth)
{
    if (!yn || depth > MAX_DEPTH || ++cv->count > MAX_NODES) {
        if (yn && !cv->too_big)
            cfg__diag_add(cv->diag, CFG_ERROR, (int)yn->start_mark.line + 1,
                          (int)yn->start_mark.column + 1,
                          "the document is too large or nested too deeply, or an alias (*name) "
                          "refers to itself");
        cv->too_big = true;
        return NULL;
    }
    struct cfg_node *n = xcalloc(1, sizeof *n);
    n->line = (int)yn->start_mark.line + 1;
    n->col = (int)yn->start_mark.column + 1;
    if (yn->type == YAML_SCALAR_NODE) {
        n->kind = CFG_NODE_SCALAR;
        n->str = str_ndup((const char *)yn->data.scalar.value, yn->data.scalar.length);
        n->is_plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->is_null = scalar_is_null(yn);
        n->is_multiline = yn->end_mark.line != yn->start_mark.line;
    } else if (yn->type == YAML_SEQUENCE_NODE) {
        n->kind = CFG_NODE_SEQ;
        for (yaml_node_item_t *it = yn->data.sequence.items.start; it < yn->data.sequence.items.top;
             it++) {
            struct cfg_node *v = convert(cv, yaml_document_get_node(cv->doc, *it), depth + 1);
            if (v)
                push(n, NULL, v);
        }
    } else {
        n->kind = CFG_NODE_MAP;
        convert_map(cv, yn, n, depth);
    }
    return n;
}

/* libyaml's problem, with a hint for the classic mistake: a tab used for indentation. */
static void syntax_error(const yaml_parser_t *p, const char *text, size_t len,
                         struct cfg_diag *diag)
{
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    const char *problem = p->problem ? p->problem : "cannot be read";
    const char *hint = "";
    if (p->problem_mark.index < len && text[p->problem_mark.index] == '\t')
        hint = "; YAML indents with spaces, not tabs";
    if (p->error == YAML_READER_ERROR) {
        cfg__diag_add(diag, CFG_ERROR, 0, 0, "not valid UTF-8 text (%s at byte %zu)", problem,
                      p->problem_offset);
    } else if (p->context) {
        cfg__diag_add(diag, CFG_ERROR, line, col, "YAML syntax: %s (%s at line %d)%s", problem,
                      p->context, (int)p->context_mark.line + 1, hint);
    } else {
        cfg__diag_add(diag, CFG_ERROR, line, col, "YAML syntax: %s%s", problem, hint);
    }
}

int cfg__yaml_parse(const char *text, size_t len, struct cfg_node **root, struct cfg_diag *diag)
{
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    int rc = 0;
    *root = NULL;
    if (!yaml_parser_initialize(&parser))
        return -ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        syntax_error(&parser, text, len, diag);
        yaml_parser_delete(&parser);
        return -TE_PARSE;
    }
    struct conv cv = {.doc = &doc, .diag = diag};
    yaml_node_t *top = yaml_document_get_root_node(&doc);
    if (top)
        *root = convert(&cv, top, 0);
    if (cv.too_big)
        rc = -TE_PARSE;
    else if (!yaml_parser_load(&parser, &extra)) {
        syntax_error(&parser, text, len, diag);
        rc = -TE_PARSE;
    } else {
        if (yaml_document_get_root_node(&extra)) {
            cfg__diag_add(diag, CFG_ERROR, (int)extra.start_mark.line + 1,
                          (int)extra.start_mark.column + 1,
                          "a second YAML document starts here; tend.yaml holds one (remove "
                          "the \"---\" line)");
            rc = -TE_PARSE;
        }
        yaml_document_delete(&extra);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc < 0) {
        cfg__node_free(*root);
        *root = NULL;
    }
    return rc;
}

/* ---- loading ------------------------------------------------------------------------------------
 */
static void abs_from_cwd(const char *p, char *dst, size_t size)
{
    char cwd[PATH_MAX];
    if (p[0] == '/' || !getcwd(cwd, sizeof cwd) ||
        str_fmt(dst, size, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, p) < 0)
        str_copy(dst, p, size);
}

static void pick_home(struct cfg__ck *ck)
{
    const char *h = ck->opts->home;
    if (!h)
        h = cfg__lookup_environ((void *)ck->environ, "TEND_HOME", 9);
    if (h && *h) {
        str_copy(ck->home, h, sizeof ck->home);
        return;
    }
    h = cfg__lookup_environ((void *)ck->environ, "HOME", 4);
    snprintf(ck->home, sizeof ck->home, "%s/.tend", h && *h ? h : "/var/lib/tend");
}

/* Parse, interpolate and check `text`; the caller has set up diag and ck's paths. */
static int load_text(struct cfg__ck *ck, const char *text, size_t len, const char *abs_path,
                     struct cfg **out)
{
    struct cfg_node *root = NULL;
    struct cfg_diag *diag = ck->diag;
    int rc = cfg__yaml_parse(text, len, &root, diag);
    if (rc == 0 && (!root || (root->kind == CFG_NODE_SCALAR && root->is_null))) {
        cfg__diag_add(diag, CFG_ERROR, 0, 0,
                      "the file is empty; it needs at least an \"apps:\" list (see "
                      "docs/configuration.md)");
    } else if (rc == 0 && root->kind != CFG_NODE_MAP) {
        char what[80];
        cfg__node_describe(root, what, sizeof what);
        cfg__diag_add(diag, CFG_ERROR, root->line, root->col,
                      "the top level must be a map of sections such as \"apps:\", not %s", what);
    } else if (rc == 0) {
        cfg__interp_tree(root, ck->environ, diag);
        ck->cfg = xcalloc(1, sizeof *ck->cfg);
        ck->cfg->refs = 1;
        cfg__check(ck, root);
    }
    cfg__node_free(root);
    cfg__diag_sort(diag);
    if (diag->nerrors) {
        cfg__free(ck->cfg);
        return -TE_CONFIG;
    }
    ck->cfg->path = str_dup(abs_path);
    ck->cfg->profile = str_dup(ck->opts->profile);
    ck->cfg->source = str_ndup(text, len);
    *out = ck->cfg;
    return 0;
}

static void ck_init(struct cfg__ck *ck, const struct cfg_load_opts *opts,
                    const struct cfg_load_opts *dflt, struct cfg_diag *diag, const char *name)
{
    memset(ck, 0, sizeof *ck);
    ck->opts = opts ? opts : dflt;
    ck->environ = ck->opts->environ ? ck->opts->environ : (const char *const *)environ;
    ck->diag = diag;
    str_copy(ck->file_name, name, sizeof ck->file_name);
    pick_home(ck);
}

int cfg_load_mem(const char *name, const char *text, size_t len, const struct cfg_load_opts *opts,
                 struct cfg **out, struct cfg_diag *diag)
{
    static const struct cfg_load_opts none;
    struct cfg__ck *ck = xmalloc(sizeof *ck);
    char abs[PATH_MAX];
    *out = NULL;
    cfg__diag_init(diag, name);
    ck_init(ck, opts, &none, diag, name);
    abs_from_cwd(ck->opts->base_dir ? ck->opts->base_dir : ".", ck->base_dir, sizeof ck->base_dir);
    abs_from_cwd(name, abs, sizeof abs);
    int rc = load_text(ck, text, len, abs, out);
    free(ck);
    return rc;
}

int cfg_load(const char *path, const struct cfg_load_opts *opts, struct cfg **out,
             struct cfg_diag *diag)
{
    static const struct cfg_load_opts none;
    struct cfg__ck *ck = xmalloc(sizeof *ck);
    struct buf text, yaml;
    char abs[PATH_MAX];
    struct stat st;
    *out = NULL;
    buf_init(&text, 0);
    buf_init(&yaml, 0);
    cfg__diag_init(diag, path);
    ck_init(ck, opts, &none, diag, path);
    int rc = read_file(path, CFG_FILE_MAX, &text);
    if (rc < 0) {
        cfg__diag_add(diag, CFG_ERROR, 0, 0, "cannot read %s: %s", path,
                      rc == -TE_TOOBIG ? "larger than 4 MiB" : err_str(rc));
        goto out;
    }
    if (!realpath(path, abs))
        abs_from_cwd(path, abs, sizeof abs);
    if (ck->opts->base_dir) {
        abs_from_cwd(ck->opts->base_dir, ck->base_dir, sizeof ck->base_dir);
    } else {
        str_copy(ck->base_dir, abs, sizeof ck->base_dir);
        char *slash = strrchr(ck->base_dir, '/');
        slash[slash == ck->base_dir ? 1 : 0] = '\0';
    }
    if (stat(path, &st) == 0)
        ck->file_mode = (unsigned)st.st_mode & 07777;
    if (cfg_is_pm2_file(path, text.ptr ? text.ptr : "")) {
        rc = cfg_pm2_to_yaml(path, &yaml, diag);
        if (!diag->file[0])
            str_copy(diag->file, path, sizeof diag->file);
        if (rc < 0 || diag->nerrors) {
            rc = -TE_CONFIG;
            goto out;
        }
        rc = load_text(ck, yaml.ptr ? yaml.ptr : "", yaml.len, abs, out);
    } else {
        rc = load_text(ck, text.ptr, text.len, abs, out);
    }
out:
    buf_fini(&yaml);
    buf_fini(&text);
    free(ck);
    return rc;
}

/* ---- sections loaded again as their own snapshots (backups, monitoring) -------------------- */
int cfg__load_section(const char *name, const char *text, size_t len, const char *base_dir,
                      const struct cfg_load_opts *opts, cfg__section_fn *fn, void *arg,
                      struct cfg_diag *diag)
{
    static const struct cfg_load_opts none;
    struct cfg_node *root = NULL;
    struct cfg__ck *ck = xcalloc(1, sizeof *ck);
    cfg__diag_init(diag, name);
    ck->opts = opts ? opts : &none;
    ck->environ = ck->opts->environ ? ck->opts->environ : (const char *const *)environ;
    ck->diag = diag;
    str_copy(ck->file_name, name, sizeof ck->file_name);
    str_copy(ck->base_dir, base_dir, sizeof ck->base_dir);
    int rc = cfg__yaml_parse(text, len, &root, diag);
    if (rc == 0 && root && root->kind == CFG_NODE_MAP)
        fn(ck, root, arg);
    cfg__node_free(root);
    cfg__diag_sort(diag);
    free(ck);
    return rc < 0 || diag->nerrors ? -TE_CONFIG : 0;
}

int cfg__load_section_of(const struct cfg *c, const struct cfg_load_opts *opts,
                         cfg__section_fn *fn, void *arg, struct cfg_diag *diag)
{
    char dir[PATH_MAX];
    if (opts && opts->base_dir) {
        str_copy(dir, opts->base_dir, sizeof dir);
    } else {
        str_copy(dir, c->path ? c->path : "/", sizeof dir);
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[slash == dir ? 1 : 0] = '\0';
    }
    const char *src = c->source ? c->source : "";
    return cfg__load_section(c->path ? c->path : "tend.yaml", src, strlen(src), dir, opts, fn,
                             arg, diag);
}

int cfg__load_section_mem(const char *name, const char *text, size_t len,
                          const struct cfg_load_opts *opts, cfg__section_fn *fn, void *arg,
                          struct cfg_diag *diag)
{
    char cwd[PATH_MAX];
    const char *dir = opts && opts->base_dir ? opts->base_dir : getcwd(cwd, sizeof cwd);
    return cfg__load_section(name, text, len, dir ? dir : "/", opts, fn, arg, diag);
}
