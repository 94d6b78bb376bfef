/* config/config_int.h: what the config module's own files share (not for other modules).
 *
 * Loading is three passes over one tree of nodes: load.c turns YAML into struct cfg_node (every
 * node keeps the 1-based line:col where it was written), interp.c expands ${VAR} in every
 * scalar value in place, check.c and check_app.c walk the tree into a struct cfg and report
 * every problem into a struct cfg_diag. snapshot.c owns the finished struct cfg (free,
 * fingerprint, printing back as YAML). Messages go through cfg__diag_add() so the 20-message
 * cap and the error/warning counts live in one place. */
#ifndef TEND_CONFIG_INT_H
#define TEND_CONFIG_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* ---- the node tree (load.c) ------------------------------------------------------------- */
enum cfg_node_kind { CFG_NODE_SCALAR, CFG_NODE_MAP, CFG_NODE_SEQ };

/* Owned by its parent node; the root is owned by whoever called cfg__yaml_parse(). */
struct cfg_node {
    enum cfg_node_kind kind;
    int line, col;          /* 1-based, where the node starts */
    char *str;              /* SCALAR: the text, NUL-terminated (after interpolation) */
    bool is_plain;          /* SCALAR written without quotes */
    bool is_null;           /* SCALAR that is YAML null: empty, ~, null */
    bool is_bad;            /* interpolation failed here: already reported, skip silently */
    bool is_multiline;      /* SCALAR spanning lines: columns inside it are not exact */
    struct cfg_node **keys; /* MAP: key scalars, in file order */
    struct cfg_node **vals; /* MAP: values; SEQ: items */
    size_t n;
};
/* Parse YAML text into a tree. NULL root with 0 for an empty document (only comments or
 * blanks); -TE_PARSE with the syntax error in diag. */
int cfg__yaml_parse(const char *text, size_t len, struct cfg_node **root, struct cfg_diag *diag);
void cfg__node_free(struct cfg_node *n);
/* The value of `key` in MAP `map`, or NULL. */
const struct cfg_node *cfg__node_get(const struct cfg_node *map, const char *key);
/* "a list", "a map", or the scalar quoted ("\"lots\""), for "must be X, not Y" messages. */
void cfg__node_describe(const struct cfg_node *n, char *dst, size_t size);

/* ---- diagnostics (diag.c) ------------------------------------------------------------------ */
void cfg__diag_init(struct cfg_diag *d, const char *file);
void cfg__diag_add(struct cfg_diag *d, enum cfg_severity sev, int line, int col, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));
void cfg__diag_vadd(struct cfg_diag *d, enum cfg_severity sev, int line, int col, const char *fmt,
                    va_list ap);
/* Order messages by position (line 0 first), keeping the order of equal positions. */
void cfg__diag_sort(struct cfg_diag *d);
/* Parse `text` and run fn(ck, root, arg) with a fresh check context (root is a map): how the
 * sections that are snapshots of their own (backups, monitoring) are loaded again from a
 * config's source. 0, or -TE_CONFIG when diag has errors. `_of` takes the source, name and
 * folder of snapshot c; `_mem` resolves relative paths against opts->base_dir or the cwd. */
struct cfg__ck;
struct cfg_node;
typedef void cfg__section_fn(struct cfg__ck *ck, struct cfg_node *root, void *arg);
int cfg__load_section(const char *name, const char *text, size_t len, const char *base_dir,
                      const struct cfg_load_opts *opts, cfg__section_fn *fn, void *arg,
                      struct cfg_diag *diag);
int cfg__load_section_of(const struct cfg *c, const struct cfg_load_opts *opts,
                         cfg__section_fn *fn, void *arg, struct cfg_diag *diag);
int cfg__load_section_mem(const char *name, const char *text, size_t len,
                          const struct cfg_load_opts *opts, cfg__section_fn *fn, void *arg,
                          struct cfg_diag *diag);
/* An error or warning at node n's position, into the check's diagnostics (check*.c). */
struct cfg__ck;
struct cfg_node;
void cfg__error_at(struct cfg__ck *ck, const struct cfg_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cfg__warn_at(struct cfg__ck *ck, const struct cfg_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- interpolation (interp.c) ---------------------------------------------------------------- */
/* Returns the value of `name` (len bytes, not NUL-terminated), or NULL when unset. */
typedef const char *cfg__lookup_fn(void *ctx, const char *name, size_t len);
enum {
    CFG_INTERP_KEEP_INSTANCE = 1, /* leave ${PORT} ${TEND_INSTANCE} ... as written */
    CFG_INTERP_LENIENT = 2,       /* unknown ${VAR} and $$ stay as written, never an error */
};
/* Expand ${VAR}, ${VAR:-default} (unset or empty), ${VAR-default} (unset) and $$ (a literal $)
 * in s[0..len). 0 and *out (caller frees); or -TE_PARSE with *err_off = byte offset of the
 * offending "${" and `why` filled ("\"${DB_HOST}\" is not set; ..."). */
int cfg__interp(const char *s, size_t len, int flags, cfg__lookup_fn *lookup, void *ctx, char **out,
                size_t *err_off, char *why, size_t why_size);
/* The per-instance names kept by CFG_INTERP_KEEP_INSTANCE. */
bool cfg__is_instance_var(const char *name, size_t len);
/* Look a name up in a NULL-terminated "K=V" array (ctx is the array; NULL = environ). */
const char *cfg__lookup_environ(void *ctx, const char *name, size_t len);
/* Interpolate every scalar value (not keys) of the tree from `environ`; errors into diag. */
void cfg__interp_tree(struct cfg_node *root, const char *const *environ, struct cfg_diag *diag);

/* ---- env files (envfile.c) ---------------------------------------------------------------------
 */
/* cfg_envfile_parse with ${VAR} resolved from earlier keys of the file, then `environ`. */
int cfg__envfile_parse_env(const char *name, const char *text, size_t len,
                           const char *const *environ, struct cfg_kv **out, size_t *n,
                           struct cfg_diag *diag);
bool cfg__env_name_ok(const char *s);

/* ---- checking (check.c, check_app.c) ------------------------------------------------------------
 */
/* Shared state of one check run. */
struct cfg__ck {
    struct cfg_diag *diag;
    const struct cfg_load_opts *opts;
    const char *const *environ;
    char base_dir[4096];
    char home[4096];
    char file_name[256]; /* the config's name as typed, for messages about it */
    unsigned file_mode;  /* 0 when unknown (cfg_load_mem): no "readable by others" warnings */
    struct cfg *cfg;
    char what[128]; /* "app \"web\"" or "app #2": who the current keys belong to */
};
int cfg__check(struct cfg__ck *ck, const struct cfg_node *root);
struct cfg_app *cfg__check_app(struct cfg__ck *ck, const struct cfg_node *map, size_t index);
/* Log keys of `map` over `log` (a copy of the defaults); `ctx` names the map in messages. */
void cfg__check_log(struct cfg__ck *ck, const struct cfg_node *map, struct cfg_log *log,
                    const char *ctx);
void cfg__log_defaults(struct cfg_log *log);

/* Scalar helpers: each reports its own error at the node and returns false. */
bool cfg__want_scalar(struct cfg__ck *ck, const char *key, const struct cfg_node *v,
                      const char *what);
bool cfg__get_str(struct cfg__ck *ck, const char *key, const struct cfg_node *v, char **out);
bool cfg__get_bool(struct cfg__ck *ck, const char *key, const struct cfg_node *v, bool *out);
bool cfg__get_int(struct cfg__ck *ck, const char *key, const struct cfg_node *v, long min, long max,
                  int *out);
bool cfg__get_duration(struct cfg__ck *ck, const char *key, const struct cfg_node *v, uint64_t *ms);
bool cfg__get_size(struct cfg__ck *ck, const char *key, const struct cfg_node *v, uint64_t *bytes);
bool cfg__get_path(struct cfg__ck *ck, const char *key, const struct cfg_node *v, char **out);
/* Report keys of `map` that are not in `known` (NULL-terminated), with did-you-mean; also
 * keys written twice. `accept` may admit extra keys (env_<profile>). */
void cfg__check_keys(struct cfg__ck *ck, const struct cfg_node *map, const char *const *known,
                     bool (*accept)(const char *key), const char *ctx);
/* Is key i of `map` the first with its name? A repeated key is an error (cfg__check_keys says
 * so); loops that apply each key skip the repeats, so a setter never runs twice on one struct
 * (which leaked the first value, and overflowed the targets of a backup: fuzz_config). */
bool cfg__key_is_first(const struct cfg_node *map, size_t i);
/* Absolute path: `p` as is, ~/ from HOME, or joined to base_dir; "." and ".." folded. */
char *cfg__abs_path(const struct cfg__ck *ck, const char *p);

/* ---- the snapshot (snapshot.c)
 * -------------------------------------------------------------------- */
void cfg__app_free(struct cfg_app *a);
void cfg__log_fini(struct cfg_log *l);
void cfg__log_copy(struct cfg_log *dst, const struct cfg_log *src);
void cfg__free(struct cfg *c);
/* Fill a->fingerprint from the fields that need a restart when changed. */
void cfg__app_fingerprint(struct cfg_app *a);
char **cfg__strv_dup(char *const *v);
void cfg__strv_free(char **v);

#endif
