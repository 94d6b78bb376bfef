/* config/config_watch.h: the monitoring keys of tend.yaml as typed structs (issue 3).
 *
 * `metrics:`, `checks:`, each app's `health:`, `access_logs:`, `alerts:` and `notifiers:`.
 * cfg_load() checks them with the rest of the file; the typed values are a separate
 * refcounted snapshot (struct cfg_watch) that cfg_watch_load() builds again from the same
 * source text, as cfg_backups_load() does, so struct cfg keeps its layout. Every default is
 * filled in: a reader never has to know one. Secrets (passwords and tokens in URLs, header
 * values, `password`, `secret`) are kept as written: mask them with str_mask_url()/str_mask()
 * before any output. Included by config/config.h. */
#ifndef TEND_CONFIG_WATCH_H
#define TEND_CONFIG_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct cfg_diag;
struct cfg_kv;
struct cfg_load_opts;
struct rule;

/* ---- probes: `checks:` entries and each app's `health:` -------------------------------------- */
enum cfg_check_kind {
    CFG_CHECK_HTTP,
    CFG_CHECK_TCP,
    CFG_CHECK_POSTGRES,
    CFG_CHECK_REDIS,
    CFG_CHECK_TLS,
    CFG_CHECK_DISK,
    CFG_CHECK_FILE_AGE,
    CFG_CHECK_EXEC,
    CFG_CHECK_NKINDS
};

struct cfg_status_range {
    int lo, hi; /* inclusive, 100-599 */
};

/* Owned by its struct cfg_watch. In an app's health probe every string may still hold ${PORT},
 * ${TEND_INSTANCE}, ${NODE_APP_INSTANCE} or ${TEND_APP}: fill them per instance with
 * cfg_app_expand(app, i, text) before use. Stand-alone checks never contain them. */
struct cfg_check {
    char *name;    /* `name:`; an app's probe is named "<app>:health" */
    char *app;     /* NULL for `checks:`; the app's name for its `health:` */
    int line, col; /* where the probe's map starts */
    enum cfg_check_kind kind;
    uint64_t interval_ms; /* default 30s (checks) or 10s (health); at least 1s */
    uint64_t timeout_ms;  /* default 5s (or interval/2 when that is shorter); < interval */
    int failures;         /* health: restart after this many failures in a row; default 3,
                           * 0 = never restart. 0 for checks */
    uint64_t grace_ms;    /* health: no restart decision this long after a start; default 30s */
    union {
        struct {
            char *url;                       /* http:// or https:// */
            char *method;                    /* default "GET" */
            struct cfg_status_range *status; /* default one range 200-399 */
            size_t nstatus;
            char *body;          /* substring the body must contain, or NULL */
            struct cfg_kv *json; /* dotted path -> expected value as written: a JSON string
                                  * equal to it, or a number/true/false/null written so */
            size_t njson;
            struct cfg_kv *headers; /* request headers in file order */
            size_t nheaders;
            uint64_t latency_ms; /* slower than this = failing; default 0 = no limit */
            bool tls_verify;     /* default true */
        } http;
        struct {
            char *address; /* "host:port" */
            char *send;    /* bytes sent after connecting, or NULL */
            char *expect;  /* substring the first reply must contain, or NULL */
        } tcp;
        struct {
            char *url;   /* postgresql:// or postgres:// */
            char *query; /* default "SELECT 1" */
        } postgres;
        struct {
            char *url; /* redis:// or rediss://; password in the URL */
        } redis;
        struct {
            char *host;
            int port;         /* default 443 */
            char *servername; /* SNI and name checked; default `host` */
            int days;         /* failing when the certificate expires within this many
                               * days; default 14, 0 = only when expired or invalid */
        } tls;
        struct {
            char *path;                 /* absolute */
            double max_pct;             /* failing when more is used; default 85 (the seeds) */
            double min_free_inodes_pct; /* failing below this; default 5 */
        } disk;
        struct {
            char *glob;          /* absolute pattern */
            uint64_t max_age_ms; /* required: failing when the newest match is older, or
                                  * nothing matches */
        } file_age;
        struct {
            char *cmd;   /* run by /bin/sh -c; NULL when argv is used */
            char **argv; /* NULL-terminated; NULL when cmd is used */
        } exec;          /* exit status 0 = passing */
    } u;
};

/* ---- access logs ----------------------------------------------------------------------------- */
enum cfg_access_format { CFG_ACCESS_COMBINED, CFG_ACCESS_TIMED, CFG_ACCESS_CUSTOM };

struct cfg_access_app {
    char *app;            /* an app of `apps:` */
    int port_lo, port_hi; /* `upstream: 3000-3003` (or one port); 0 = not by upstream */
    char *location;       /* `location: /api` prefix, or NULL */
};

struct cfg_access_log {
    char *path; /* absolute */
    int line, col;
    enum cfg_access_format format;
    char *log_format; /* the nginx log_format text, also for combined and timed */
    struct cfg_access_app *apps;
    size_t napps;
    uint64_t *windows_ms; /* ascending; default 1m, 5m, 15m */
    size_t nwindows;
};

/* ---- alerts and notifiers -------------------------------------------------------------------- */
enum cfg_alert_severity { CFG_ALERT_INFO, CFG_ALERT_WARNING, CFG_ALERT_CRITICAL };

struct cfg_alert {
    char *name; /* default: the rule text */
    int line, col;
    char *rule_text;                  /* as written */
    struct rule *rule;                /* parsed (core/rule.h); owned */
    enum cfg_alert_severity severity; /* default warning */
    char **notify;                    /* notifier names, NULL-terminated; NULL = every notifier */
    uint64_t repeat_ms;               /* re-notify while firing; default 4h, 0 = never */
};

enum cfg_notifier_kind {
    CFG_NOTIFY_DINGTALK,
    CFG_NOTIFY_WECOM,
    CFG_NOTIFY_FEISHU,
    CFG_NOTIFY_SLACK,
    CFG_NOTIFY_WEBHOOK,
    CFG_NOTIFY_EMAIL,
    CFG_NOTIFY_EXEC,
    CFG_NOTIFY_NKINDS
};
enum cfg_webhook_format { CFG_WEBHOOK_TEND, CFG_WEBHOOK_ALERTMANAGER };

struct cfg_notifier {
    char *name;
    int line, col;
    enum cfg_notifier_kind kind;
    uint64_t group_wait_ms;        /* alerts firing within this window go out together; 30s */
    int retry_max;                 /* attempts after the first; default 10 */
    uint64_t retry_backoff_ms;     /* first retry delay, doubled each time; default 5s */
    uint64_t retry_max_backoff_ms; /* cap; default 5m */
    bool send_resolved;            /* also notify when an alert resolves; default true */
    union {
        struct {
            char *url;                      /* https:// (dingtalk wecom feishu slack webhook) */
            char *secret;                   /* dingtalk, feishu: signing secret, or NULL */
            enum cfg_webhook_format format; /* webhook only; default tend */
            struct cfg_kv *headers;         /* webhook only */
            size_t nheaders;
        } hook;
        struct {
            char *smtp;                /* smtp://host[:port] or smtps://host[:port] */
            bool starttls;             /* default true for smtp://; always false for smtps:// */
            char *username, *password; /* both or neither */
            char *from;                /* required */
            char **to;                 /* required, NULL-terminated, at least one */
        } email;
        struct {
            char *cmd; /* /bin/sh -c; payload JSON on stdin, TEND_ALERT_* env */
            char **argv;
        } exec;
    } u;
};

/* ---- the snapshot ---------------------------------------------------------------------------- */
struct cfg_watch {
    int refs;
    struct {
        uint64_t interval_ms; /* /proc sampling; default 5s, at least 1s */
        uint64_t keep_ms;     /* one-minute roll-ups kept; default 30d, at least 1h */
    } metrics;
    struct cfg_check **checks; /* `checks:` in file order, then each app's health in app order */
    size_t nchecks;
    struct cfg_access_log **access_logs;
    size_t naccess_logs;
    struct cfg_alert **alerts;
    size_t nalerts;
    struct cfg_notifier **notifiers;
    size_t nnotifiers;
};

/* The monitoring config of snapshot `c`, checked again from c->source with the options that
 * loaded it. 0 and *out (refs = 1; lists may be empty); -TE_CONFIG with diag filled and
 * *out = NULL: never a half-loaded snapshot. */
int cfg_watch_load(const struct cfg *c, const struct cfg_load_opts *opts, struct cfg_watch **out,
                   struct cfg_diag *diag);
/* The same from YAML text (tests, `tend check`). */
int cfg_watch_load_mem(const char *name, const char *text, size_t len,
                       const struct cfg_load_opts *opts, struct cfg_watch **out,
                       struct cfg_diag *diag);
struct cfg_watch *cfg_watch_ref(struct cfg_watch *w);
void cfg_watch_unref(struct cfg_watch *w); /* NULL is a no-op */
/* A stand-alone check by name, an app's health probe, a notifier; NULL when none. */
const struct cfg_check *cfg_watch_check(const struct cfg_watch *w, const char *name);
const struct cfg_check *cfg_watch_health(const struct cfg_watch *w, const char *app);
const struct cfg_notifier *cfg_watch_notifier(const struct cfg_watch *w, const char *name);
/* "http" ... "exec"; "info" "warning" "critical"; "dingtalk" ... "exec"; "combined" ... */
const char *cfg_check_kind_name(enum cfg_check_kind k);
const char *cfg_alert_severity_name(enum cfg_alert_severity s);
const char *cfg_notifier_kind_name(enum cfg_notifier_kind k);
const char *cfg_access_format_name(enum cfg_access_format f);

#endif /* TEND_CONFIG_WATCH_H */

/* ---- inside the config module only ------------------------------------------------------------
 * Seen only after config_int.h (which defines TEND_CONFIG_INT_H before it includes config.h):
 * what check_watch.c, check_alert.c, check_monitor.c, check.c and check_app.c share, written
 * once so the compiler checks every caller. Belongs in config_int.h; kept here so this change
 * touches no shared header. */
#if defined(TEND_CONFIG_INT_H) && !defined(TEND_CONFIG_WATCH_INT)
#define TEND_CONFIG_WATCH_INT
struct cfg__ck;
struct cfg_node;
/* check_watch.c: probes, and helpers the notifiers use too. */
/* `url` against `schemes` ("http", "https", NULL): the scheme's index, or -1 with `why`
 * ("must start with http:// or https://"); `host` gets the host. `instance_ok` admits ${PORT}
 * as the port. Never quotes the URL (it may hold a secret). */
int cfg__url_check(const char *url, const char *const *schemes, bool instance_ok, char *why,
                   size_t why_size, char *host, size_t host_size);
/* A command: a string (for /bin/sh -c) into *cmd, or a list into *argv. */
bool cfg__get_cmd(struct cfg__ck *ck, const char *key, const struct cfg_node *v, char **cmd,
                  char ***argv);
/* `headers:` map; values are never quoted in messages. */
void cfg__get_headers(struct cfg__ck *ck, const struct cfg_node *v, struct cfg_kv **out, size_t *n);
void cfg__fmt_ms(uint64_t ms, char *dst, size_t size); /* 30000 -> "30s" */
/* An app's `health:` (ck->what names the app); `port` is the app's port, 0 when it has none,
 * -1 when unknown. NULL when `v` is not a map (reported). */
struct cfg_check *cfg__check_health(struct cfg__ck *ck, const char *app, int port,
                                    const struct cfg_node *v);
void cfg__check_checks(struct cfg__ck *ck, const struct cfg_node *list, struct cfg_watch *w);
void cfg__check_free(struct cfg_check *c);
/* check_alert.c: alerts and notifiers. */
struct cfg__alert_refs {
    const char *const *apps, *const *backups; /* names, NULL-terminated */
    const struct cfg_watch *w;                /* checks and notifiers read so far */
    const struct cfg_node *access_logs;       /* the `access_logs:` list or NULL */
};
struct cfg_notifier *cfg__check_notifier(struct cfg__ck *ck, const struct cfg_node *map,
                                         size_t index);
void cfg__notifier_free(struct cfg_notifier *nt);
struct cfg_alert *cfg__check_alert(struct cfg__ck *ck, const struct cfg_node *map, size_t index,
                                   const struct cfg__alert_refs *refs);
void cfg__alert_free(struct cfg_alert *a);
/* An error at byte `off` of scalar `n` (the column is exact for one-line scalars). */
void cfg__error_in(struct cfg__ck *ck, const struct cfg_node *n, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Is `v` of `kind`? Otherwise reports '"key" in <what> must be <example>, not ...'. */
bool cfg__want_kind(struct cfg__ck *ck, const char *key, const struct cfg_node *v, int kind,
                    const char *example);
/* " (did you mean \"x\"?)" from `words` (NULL-terminated; NULL = none), or "". */
const char *cfg__did_you_mean(const char *word, const char *const *words, char *dst, size_t n);
bool cfg__has_name(const char *const *names, const char *name);
/* check_monitor.c: metrics, access_logs, and the order of it all. `out` NULL: check only. */
void cfg__check_watch(struct cfg__ck *ck, const struct cfg_node *root, struct cfg_watch *out);
#endif
