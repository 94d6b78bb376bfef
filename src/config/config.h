/* config/config.h: tend.yaml (and PM2 ecosystem files) loaded into typed, immutable structs.
 *
 * cfg_load() reads and validates the whole file before anyone sees it: either every check
 * passes and a complete struct cfg comes back, or nothing does and `diag` holds every error
 * (up to 20) as "file:line:col: message". A struct cfg is an immutable, reference-counted
 * snapshot (STYLE.md 3.6): `tend up` builds a new one, compares it with the running one, then
 * swaps; instances keep the snapshot they started from through cfg_ref(). */
#ifndef TEND_CONFIG_H
#define TEND_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cron.h"

struct buf;
struct err;

/* ---- diagnostics ------------------------------------------------------------------------ */
enum cfg_severity { CFG_ERROR, CFG_WARNING };
struct cfg_msg {
    enum cfg_severity severity;
    int line, col;   /* 1-based; 0 when the message is about the whole file */
    char text[400];  /* 'unknown key "instnaces" in app "web" (did you mean "instances"?)' */
};
#define CFG_MAX_MSGS 20
struct cfg_diag {
    char file[256];  /* the path as the user typed it */
    struct cfg_msg msgs[CFG_MAX_MSGS];
    int nmsgs, nerrors, nwarnings;
    bool truncated;  /* more than CFG_MAX_MSGS were found */
};
/* Render every message, one per line: "tend.yaml:4:5: error text" / "...: warning: text". */
void cfg_diag_format(const struct cfg_diag *d, struct buf *out);

/* ---- the typed configuration -------------------------------------------------------------- */
enum cfg_restart { CFG_RESTART_ALWAYS, CFG_RESTART_ON_FAILURE, CFG_RESTART_NEVER };
enum cfg_ready { CFG_READY_STARTED, CFG_READY_NOTIFY, CFG_READY_PORT, CFG_READY_HTTP };

/* Where an environment value came from (shown by `tend describe`). */
enum cfg_env_src { CFG_ENV_DAEMON, CFG_ENV_FILE, CFG_ENV_APP, CFG_ENV_PROFILE, CFG_ENV_INSTANCE };
const char *cfg_env_src_name(enum cfg_env_src s);

struct cfg_kv {
    char *key;
    char *value;
};

struct cfg_log {
    char *dir;            /* folder for the files; default $TEND_HOME/logs */
    char *out_file;       /* default <dir>/<app>-out.log; "" = not written */
    char *err_file;       /* default <dir>/<app>-error.log */
    char *combined_file;  /* default NULL: no combined file */
    char *date_format;    /* moment-style, default NULL = ISO 8601 with offset */
    bool timestamp;       /* prefix each line with a time stamp (default true) */
    bool json;            /* write JSON lines {"time","app","instance","stream","message"} */
    bool merge_instances; /* one file for all instances (default true) or <app>-<i>-out.log */
    uint64_t max_size;    /* rotate when a file reaches this size; default 100M, 0 = never */
    bool daily;           /* rotate at local midnight (default true: seed 000 "按天切割") */
    int keep;             /* rotated files kept (default 30: seed 000 "保留 30 天") */
    bool compress;        /* gzip rotated files (default true) */
    uint64_t max_line;    /* longer lines are split (default 64K) */
    uint64_t buffer;      /* per-stream bytes queued for a slow disk before dropping (default 1M) */
};

struct cfg_app {
    char *name;
    int line, col;          /* where the app was defined, for messages */
    char *cmd;              /* run by /bin/sh -c; NULL when argv is used */
    char **argv;            /* NULL-terminated; NULL when cmd is used */
    char *cwd;              /* absolute (resolved against the config file's folder) */
    int instances;          /* >= 1 */
    int port;               /* 0 = none; instance i gets PORT = port + i */
    struct cfg_kv *env;     /* `env:` in file order */
    size_t nenv;
    char *env_file;         /* absolute path or NULL; re-read at every start */
    char *profile;          /* the chosen profile name, or NULL */
    struct cfg_kv *profile_env; /* `env_<profile>:` when chosen */
    size_t nprofile_env;
    char *user;             /* run as this user (and its group) when the daemon is root */
    char *group;
    enum cfg_restart restart;
    int max_restarts;          /* default 10 */
    uint64_t restart_window_ms;/* default 60s: max_restarts within this window -> errored */
    uint64_t min_uptime_ms;    /* default 1s: a run shorter than this counts as a crash */
    uint64_t restart_delay_ms; /* default 0: base delay before a restart */
    bool backoff;              /* exponential backoff (default true) */
    uint64_t backoff_max_ms;   /* cap, default 30s */
    uint64_t errored_retry_ms; /* slow retry after errored; default 5m; 0 = never */
    int kill_signal;           /* default SIGTERM */
    uint64_t kill_timeout_ms;  /* default 5s */
    uint64_t max_memory;       /* bytes of RSS of the process tree; 0 = no limit */
    char *cron_restart;        /* the expression as written, or NULL */
    struct cron cron;
    char **watch;              /* absolute paths, NULL-terminated; NULL = no watch */
    char **watch_ignore;       /* glob patterns or folder names, NULL-terminated */
    uint64_t watch_debounce_ms;/* default 500ms */
    enum cfg_ready ready;
    int ready_port;            /* for CFG_READY_PORT; default the instance's PORT */
    char *ready_url;           /* for CFG_READY_HTTP; "${PORT}" expanded per instance */
    uint64_t ready_timeout_ms; /* default 30s */
    struct cfg_log log;
    char *fingerprint;         /* hex digest of everything that needs a restart when changed */
};

struct cfg_api {
    char *listen;  /* "127.0.0.1:9615" or NULL: no TCP door */
    bool listen_is_loopback;
};

struct cfg {
    int refs;
    char *path;          /* absolute path of the file */
    char *profile;       /* --env NAME or NULL */
    struct cfg_app **apps;
    size_t napps;
    struct cfg_api api;
    struct cfg_log log_defaults;
    char *source;        /* the YAML text this snapshot was loaded from (kept so a restarted
                          * daemon can rebuild exactly the applied config) */
};

/* ---- loading ------------------------------------------------------------------------------ */
struct cfg_load_opts {
    const char *profile;       /* --env NAME, or NULL */
    const char *home;          /* $TEND_HOME, for default log folders */
    const char *const *environ;/* for ${VAR} interpolation; NULL = the process's environ */
    const char *base_dir;      /* resolve relative paths against this folder; NULL = the
                                * config file's folder (cfg_load) or the cwd (cfg_load_mem) */
};
/* Load and validate `path` (tend.yaml, or a PM2 ecosystem .js/.json/.yaml which is converted
 * through cfg_pm2_to_yaml()). 0 and *out (refs = 1) on success, with warnings in diag;
 * -TE_CONFIG and *out = NULL when diag has errors; -errno when the file cannot be read (diag
 * says why). */
int cfg_load(const char *path, const struct cfg_load_opts *opts, struct cfg **out,
             struct cfg_diag *diag);
/* The same from bytes in memory; `name` is used in messages. */
int cfg_load_mem(const char *name, const char *text, size_t len, const struct cfg_load_opts *opts,
                 struct cfg **out, struct cfg_diag *diag);

struct cfg *cfg_ref(struct cfg *c);
void cfg_unref(struct cfg *c);   /* NULL is a no-op */
const struct cfg_app *cfg_app_find(const struct cfg *c, const char *name);
/* Would changing from a to b need a restart (fingerprints differ)? */
bool cfg_app_changed(const struct cfg_app *a, const struct cfg_app *b);
/* The app as JSON-ready text, for `describe` and `import` (tend.yaml syntax). */
int cfg_app_to_yaml(const struct cfg_app *a, struct buf *out);
/* The same with the values of secret-looking env names masked (DESIGN invariant 7): for
 * `describe` output; the unmasked form is for import and saving. */
int cfg_app_to_yaml_masked(const struct cfg_app *a, struct buf *out);

/* ---- units (units.c) ----------------------------------------------------------------------- */
/* "5s" "2m" "1h30m" "250ms" "1d"; a bare number is seconds. -TE_PARSE on anything else. */
int cfg_parse_duration(const char *s, uint64_t *ms);
/* "512K" "1G" "1.5G" "100MB" "2048"; K = 1024. -TE_PARSE on anything else. */
int cfg_parse_size(const char *s, uint64_t *bytes);
/* "70%" -> 70.0; -TE_PARSE otherwise. */
int cfg_parse_percent(const char *s, double *pct);
/* "SIGTERM" "TERM" "15" -> 15; -TE_PARSE otherwise. */
int cfg_parse_signal(const char *s, int *sig);
const char *cfg_signal_name(int sig);   /* "SIGTERM" */

/* ---- environment (envfile.c) ---------------------------------------------------------------- */
/* Parse dotenv text: KEY=value, export KEY=value, quotes ('...' literal, "..." with \n escapes
 * and ${VAR}), # comments, blank lines. Errors as "file:line:col: ..." into diag. */
int cfg_envfile_parse(const char *name, const char *text, size_t len, struct cfg_kv **out,
                      size_t *n, struct cfg_diag *diag);
void cfg_kv_free(struct cfg_kv *kv, size_t n);

/* One resolved variable with its origin. */
struct cfg_envvar {
    char *key;
    char *value;
    enum cfg_env_src src;
};
/* The environment instance `i` of `app` starts with, recomputed at every start (PM2 lesson 5):
 * the daemon's base environment (`base`, NULL-terminated "K=V"), then env_file (re-read now),
 * env, the profile, then PORT, NODE_APP_INSTANCE, TEND_INSTANCE, TEND_APP. Later wins; a removed
 * key is gone. -errno/-TE_PARSE with err when env_file cannot be read or parsed. */
int cfg_app_env(const struct cfg_app *app, int i, const char *const *base, struct cfg_envvar **out,
                size_t *n, struct err *err);
void cfg_envvar_free(struct cfg_envvar *v, size_t n);
/* `text` with ${PORT} ${TEND_INSTANCE} ${NODE_APP_INSTANCE} ${TEND_APP} (kept as written when
 * the file was loaded) filled in for instance `i`; other text unchanged. For ready_url and
 * argv. Returns a string the caller frees; NULL for NULL. */
char *cfg_app_expand(const struct cfg_app *app, int i, const char *text);

/* ---- PM2 ecosystem import (pm2.c) ------------------------------------------------------------ */
/* Is this file name a PM2 ecosystem file (*.config.js, *.config.cjs, ecosystem*.json/.yaml/.yml,
 * or a .yaml whose apps use `script`)? */
bool cfg_is_pm2_file(const char *path, const char *text);
/* Convert an ecosystem file to tend.yaml text. .js/.cjs are evaluated with `node` (diag says so
 * when node is missing); .json is accepted as PM2 does (comments, unquoted keys, trailing
 * commas, process.env.X || 'y'). Every PM2 attribute that tend ignores is named in a warning.
 * `profile` selects env_<profile> into the output's env. */
int cfg_pm2_to_yaml(const char *path, struct buf *yaml, struct cfg_diag *diag);

/* ---- backups (check_backup.c) ---------------------------------------------------------------
 * `backups:` in tend.yaml, one struct cfg_backup per job. cfg_load() checks them with the rest
 * of the file; the typed jobs are a separate refcounted snapshot (struct cfg_backups) built from
 * the same text by cfg_backups_load(), so struct cfg and its free function stay as they are. */
enum cfg_backup_source { CFG_BACKUP_POSTGRES, CFG_BACKUP_REDIS, CFG_BACKUP_FILES };
enum cfg_pg_format { CFG_PG_CUSTOM, CFG_PG_PLAIN, CFG_PG_DIRECTORY };
enum cfg_compress { CFG_COMPRESS_ZSTD, CFG_COMPRESS_GZIP, CFG_COMPRESS_NONE };
enum cfg_target_kind { CFG_TARGET_LOCAL, CFG_TARGET_S3 };

struct cfg_backup_keep {     /* all 0 = keep everything */
    int last, hourly, daily, weekly, monthly;
    uint64_t max_age_ms;
};

struct cfg_backup_target {
    enum cfg_target_kind kind;
    int line, col;
    char *path;              /* local: absolute folder */
    char *endpoint, *bucket, *prefix, *region; /* s3 */
    char *access_key_id, *secret_access_key, *credentials_file;
};

/* Owned by its struct cfg_backups. Secrets (the password in `url`, secret_access_key) are kept
 * as written: mask them with str_mask_url()/str_mask() before any output. */
struct cfg_backup {
    char *name;
    int line, col;
    enum cfg_backup_source source;
    char *url;                 /* postgres, redis; NULL = libpq environment (postgres) */
    char **databases;          /* postgres: NULL-terminated, NULL = the database in `url` */
    bool all_databases;        /* postgres: `databases: all` */
    enum cfg_pg_format format; /* default custom */
    char **paths, **exclude;   /* files: absolute paths, tar --exclude patterns */
    char *schedule;            /* as written, or NULL: runs only when asked */
    struct cron cron;
    char *timezone;            /* IANA name or NULL (local) */
    struct cfg_backup_keep keep;
    struct cfg_backup_target *targets;
    size_t ntargets;
    enum cfg_compress compress; /* default zstd */
    int level;                  /* default 3 (zstd) or 6 (gzip) */
    char **recipients;          /* age recipients, NULL-terminated; NULL = not encrypted */
    char *identity;             /* age identity file for verify: restore, drill and restore */
    uint64_t timeout_ms;        /* default 6h */
    char *before, *after;       /* /bin/sh -c commands, or NULL */
    bool verify_restore;        /* `verify: restore`: drill after every successful run */
    char *drill_schedule;       /* `drill: {schedule}` as written, or NULL */
    struct cron drill_cron;
    char *drill_query;          /* NULL = count of user tables */
};

struct cfg_backups {
    int refs;
    struct cfg_backup **jobs;
    size_t n;
};
/* The backup jobs of snapshot `c`, checked again from c->source with the same options that
 * loaded it (so ${VAR} and relative paths resolve the same way). 0 and *out (refs = 1, n may be
 * 0); -TE_CONFIG with diag filled. */
int cfg_backups_load(const struct cfg *c, const struct cfg_load_opts *opts,
                     struct cfg_backups **out, struct cfg_diag *diag);
/* The same from YAML text (tests, `tend check`). */
int cfg_backups_load_mem(const char *name, const char *text, size_t len,
                         const struct cfg_load_opts *opts, struct cfg_backups **out,
                         struct cfg_diag *diag);
struct cfg_backups *cfg_backups_ref(struct cfg_backups *b);
void cfg_backups_unref(struct cfg_backups *b); /* NULL is a no-op */
const struct cfg_backup *cfg_backups_find(const struct cfg_backups *b, const char *name);
/* "postgres", "redis", "files"; "custom"...; "zstd"...; "local", "s3". */
const char *cfg_backup_source_name(enum cfg_backup_source s);
const char *cfg_pg_format_name(enum cfg_pg_format f);
const char *cfg_compress_name(enum cfg_compress c);
const char *cfg_target_kind_name(enum cfg_target_kind k);

#include "config/config_watch.h" /* metrics, checks, health, access_logs, alerts, notifiers */

#endif
