/* alert/notify.h: notifiers, the ways a firing or resolved alert reaches a person.
 *
 * One struct notify_set per daemon, on the daemon's uv loop. notify_set_configure() takes the
 * `notifiers:` of a config snapshot; notify_send() hands it alerts and returns at once. Alerts
 * for one notifier that arrive within its group_wait become one message (one HTTP request, one
 * mail, one exec), queued per notifier in order and delivered asynchronously: libcurl's multi
 * interface on the loop (webhook, DingTalk, WeCom, Feishu/Lark, Slack, email over SMTP) or a
 * child process (exec). A failed delivery is retried with exponential backoff and jitter; while
 * a receiver is down its queue is bounded (the oldest message is dropped and counted). A slow or
 * dead receiver delays only its own notifier, never another one nor the loop.
 *
 * Secrets (DingTalk access_token, WeCom key, the Slack and Feishu hook paths, signing secrets,
 * SMTP passwords, header values) are masked in everything that leaves the module: status JSON,
 * tend.log lines, events and errors.
 *
 * Children: exec notifiers start their command with posix_spawn in a new process group; this
 * module never reaps. The daemon passes a watch_child hook (sup_child_watch()), a test its own. */
#ifndef TEND_ALERT_NOTIFY_H
#define TEND_ALERT_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct err;
struct notify_set;

/* ---- what is notified (borrowed for the call; copied) ------------------------------------- */
enum notify_state { NOTIFY_FIRING, NOTIFY_RESOLVED };

struct notify_label {
    const char *key;
    const char *value;
};

struct notify_alert {
    const char *name;     /* rule name: "high-cpu" (the rule text when the rule has no name) */
    const char *rule;     /* "cpu > 70% for 5m" */
    const char *severity; /* "info" | "warning" | "critical" */
    enum notify_state state;
    const char *value;   /* the value seen, as text: "83.2%" (may be NULL) */
    const char *summary; /* one line for people: "cpu 83.2% > 70% for 5m" (may be NULL) */
    const struct notify_label *labels; /* extra labels: {app: api}, {path: /data} ... */
    size_t nlabels;
    int64_t started_ms; /* wall clock, epoch ms: when it started firing */
    int64_t ended_ms;   /* wall clock, epoch ms: when it resolved; 0 while firing */
};

/* ---- configuration ------------------------------------------------------------------------- */
enum notify_kind_id {
    NOTIFY_WEBHOOK,
    NOTIFY_DINGTALK,
    NOTIFY_WECOM,
    NOTIFY_FEISHU,
    NOTIFY_SLACK,
    NOTIFY_EMAIL,
    NOTIFY_EXEC,
    NOTIFY_NKINDS
};
/* The word in tend.yaml: "webhook", "dingtalk", "wecom", "feishu", "slack", "email", "exec". */
const char *notify_kind_name(enum notify_kind_id k);
/* Its inverse: 0, or -TE_NOTFOUND. */
int notify_kind_parse(const char *word, enum notify_kind_id *out);

enum notify_format { NOTIFY_FORMAT_TEND, NOTIFY_FORMAT_ALERTMANAGER }; /* webhook `format:` */

/* Everything borrowed; notify_set_configure() copies it. Start from notify_spec_init(). */
struct notify_spec {
    const char *name;
    enum notify_kind_id kind;
    const char *url;                    /* webhook, dingtalk, wecom, feishu, slack */
    const char *secret;                 /* dingtalk, feishu: signing secret (optional) */
    enum notify_format format;          /* webhook */
    const struct notify_label *headers; /* webhook: extra HTTP headers */
    size_t nheaders;
    const char *ca_file; /* optional CA bundle for TLS (self-signed receivers); default system */
    struct {
        const char *smtp; /* smtp://host:587 (STARTTLS) or smtps://host:465 (implicit TLS) */
        bool starttls;    /* require STARTTLS on smtp:// (default true) */
        const char *username, *password, *from;
        const char *const *to;
        size_t nto;
    } email;
    const char *const *argv; /* exec: argv (NULL-terminated) ... */
    const char *cmd;         /* ... or a command for /bin/sh -c */
    uint64_t timeout_ms;     /* one delivery attempt (default 10 s; exec 30 s) */
    uint64_t group_wait_ms;  /* grouping window (default 30 s; 0 = next loop turn) */
    struct {
        unsigned max;            /* attempts after the first (default 10) */
        uint64_t backoff_ms;     /* first delay (default 5 s), doubled per attempt */
        uint64_t max_backoff_ms; /* ceiling (default 5 m) */
    } retry;
    bool send_resolved; /* default true */
    unsigned queue_max; /* messages kept per notifier while it cannot deliver (default 100) */
};
/* Zero *s and set the defaults above. */
void notify_spec_init(struct notify_spec *s);

/* ---- wiring -------------------------------------------------------------------------------- */
typedef void notify_child_fn(void *arg, pid_t pid, int status);
/* Report the exit of `pid` to cb(arg, ...) later: 0, or < 0 if it cannot (the attempt then
 * fails and the child's group is killed). The daemon passes sup_child_watch(). */
typedef int notify_watch_fn(void *ctx, pid_t pid, notify_child_fn *cb, void *arg);

enum notify_event_kind {
    NOTIFY_EV_SENT,    /* a message was delivered */
    NOTIFY_EV_FAILED,  /* an attempt failed; it will be retried */
    NOTIFY_EV_GAVE_UP, /* retries exhausted; the message is discarded */
    NOTIFY_EV_DROPPED, /* the queue was full; its oldest message was discarded */
    NOTIFY_NEVENTS     /* stored values only grow */
};
const char *notify_event_name(enum notify_event_kind k); /* "sent", "failed", ... */
/* message: one line, secrets masked ("ops: HTTP 500 from https://x/?access_token=****"). */
typedef void notify_event_fn(void *ctx, enum notify_event_kind k, const char *notifier,
                             const char *message);

struct notify_opts {
    notify_watch_fn *watch_child; /* required when an exec notifier is configured */
    void *watch_ctx;
    notify_event_fn *on_event; /* may be NULL */
    void *event_ctx;
    const char *host; /* shown in messages; default gethostname() */
};

/* ---- the handle ---------------------------------------------------------------------------- */
/* Create the set on `loop` (opts copied). libcurl is loaded on the first HTTP or mail delivery. */
int notify_set_new(uv_loop_t *loop, const struct notify_opts *opts, struct notify_set **out,
                   struct err *err);
/* Replace the notifiers. Every spec is checked first (unique names, required keys, URL schemes);
 * on error nothing changes. A notifier whose name and kind stay keeps its queue, its counters and
 * its delivery in flight (the new spec applies from the next attempt); others are cancelled. */
int notify_set_configure(struct notify_set *set, const struct notify_spec *specs, size_t n,
                         struct err *err);
/* The same from a config snapshot's `notifiers:` (config/config_watch.h; NULL = none); keys the
 * YAML lacks keep notify_spec_init()'s defaults. */
struct cfg_watch;
int notify_set_configure_cfg(struct notify_set *set, const struct cfg_watch *w, struct err *err);
/* Cancel deliveries (queued messages are lost), kill exec children, then call closed(arg) from the
 * loop once every handle is closed and every child reported, and free the set. */
void notify_set_close(struct notify_set *set, void (*closed)(void *arg), void *arg);

/* ---- sending ------------------------------------------------------------------------------- */
/* Queue `alerts` for notifier `name` (NULL = every notifier); never blocks. Resolved alerts are
 * skipped for notifiers with send_resolved false. 0, or -TE_NOTFOUND (unknown name), or
 * -TE_INVALID (an alert without name or rule). */
int notify_send(struct notify_set *set, const char *name, const struct notify_alert *alerts,
                size_t n, struct err *err);

/* ---- visibility ---------------------------------------------------------------------------- */
/* [{"name", "kind", "target" (URL, SMTP URL or command; masked), "queued", "pending" (alerts
 * waiting for group_wait), "in_flight", "attempt", "sent", "failed" (attempts), "gave_up",
 * "dropped", "last_ok", "last_error_at" (epoch ms or null), "last_error" (masked or null),
 * "next_retry_in_ms" (or null)}]. The caller owns the result. */
json_t *notify_set_status(const struct notify_set *set);

#endif
