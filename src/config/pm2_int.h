/* config/pm2_int.h: what the PM2 import files (pm2.c, pm2_json.c, pm2_map.c, pm2_cmd.c) share.
 *
 * The import works in two steps: an ecosystem file becomes a jansson tree (through `node`, the
 * lenient JSON parser in pm2_json.c, or libyaml), then pm2_map.c writes tend.yaml text from the
 * tree. Positions: node's output has none, so the lenient parser and the YAML reader record where
 * each object key was written in a struct pm2_pos; when node evaluated a .json file, the lenient
 * parse of the same text (if it succeeded) still gives the positions for warnings. */
#ifndef TEND_CONFIG_PM2_INT_H
#define TEND_CONFIG_PM2_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct buf;

/* Where one key of one object was written. key "" is the object's own opening brace. */
struct pm2_posent {
    const json_t *obj; /* borrowed from the tree the table was built with */
    char *key;         /* owned */
    int line, col;
};
/* A zeroed struct is an empty table. Owned by whoever parsed the tree it points into. */
struct pm2_pos {
    struct pm2_posent *v;
    size_t n, cap;
    json_t *root; /* the tree the entries point into (a reference is held), or NULL */
};
void cfg__pm2_pos_add(struct pm2_pos *p, const json_t *obj, const char *key, int line, int col);
/* Position of `key` in `obj`, or 0/0 when unknown. */
void cfg__pm2_pos_find(const struct pm2_pos *p, const json_t *obj, const char *key, int *line,
                       int *col);
void cfg__pm2_pos_fini(struct pm2_pos *p);

/* Append one message to diag (file:line:col rendering is cfg_diag_format's job). */
void cfg__pm2_diag(struct cfg_diag *d, enum cfg_severity sev, int line, int col, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

/* Parse text the way PM2's eval of a .json file would, without node: JSON plus // and block
 * comments, unquoted keys, single-quoted strings, trailing commas, and values of the form
 * `process.env.NAME`, `process.env.NAME || 'default'` (also `??` and `+` concatenation) resolved
 * from `env` (NULL-terminated "K=V"; NULL = the process's environ). 0 and *out (a new reference)
 * on success, with key positions in `pos` when it is non-NULL; -TE_PARSE with a line:col error in
 * diag otherwise. */
int cfg__pm2_json_parse(const char *text, size_t len, const char *const *env, json_t **out,
                        struct pm2_pos *pos, struct cfg_diag *diag);

/* Write tend.yaml text for the ecosystem tree `root` ({apps: [...]} or [...]). `path` is the
 * ecosystem file (its base name goes in the header comment; its folder is where scripts are
 * looked for). Errors and warnings go to diag; returns 0 or -TE_CONFIG
 * (yaml then holds nothing useful). `pos` may be NULL. */
int cfg__pm2_map(const char *path, const json_t *root, const struct pm2_pos *pos,
                 struct buf *yaml, struct cfg_diag *diag);

/* The command of one PM2 app (pm2_cmd.c). Owned by the caller; cfg__pm2_cmd_fini() frees. */
struct pm2_cmd {
    char **argv;  /* the words, NULL-terminated (also when `shell` is set) */
    size_t argc;
    char *shell;  /* the /bin/sh -c line when args use shell syntax; else NULL */
};
/* 0; -1 with *bad_key naming the key whose value has the wrong type; -2 when "script" is
 * missing. `dir` is the ecosystem file's folder (to tell a script file from a PATH name). */
int cfg__pm2_command(const json_t *app, const char *dir, struct pm2_cmd *out,
                     const char **bad_key);
void cfg__pm2_cmd_fini(struct pm2_cmd *c);
/* A JSON scalar as the text JavaScript gives it ("3000", "true", "1.5"); false otherwise. */
bool cfg__pm2_scalar_text(const json_t *v, char *dst, size_t size);

/* How cfg__pm2_convert() may read the file; the zeroed struct is what cfg_pm2_to_yaml() uses. */
struct pm2_opts {
    bool no_node;            /* never run node: .json through the lenient parser (tests) */
    const char *const *env;  /* environment for process.env without node; NULL = environ */
    int node_timeout_ms;     /* 0 = 10 s */
};
int cfg__pm2_convert(const char *path, const struct pm2_opts *o, struct buf *yaml,
                     struct cfg_diag *diag);

#endif
