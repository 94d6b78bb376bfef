/* alert/notify_int.h: what the notifier files share (notify.c is the driver; the kinds live in
 * notify_http.c, notify_email.c and notify_exec.c; the transports in notify_curl.c and
 * notify_exec.c; payloads in notify_payload.c; masking in notify_mask.c).
 *
 * Lifetimes: a struct notifier is owned by its set and freed in the last close callback of its
 * two timers; a struct notify_attempt is owned by its notifier while a delivery is in flight and
 * is detached (nf = NULL) when the notifier goes away before the delivery ends (an exec child
 * must still be reported). The set counts everything not yet freed in `refs` and is freed by the
 * last notify__unref() after notify_set_close(). */
#ifndef TEND_ALERT_NOTIFY_INT_H
#define TEND_ALERT_NOTIFY_INT_H

#include <curl/curl.h>

#include "alert/notify.h"
#include "core/buf.h"

struct notify_curl;

/* A growable NULL-terminated vector of owned strings. A zeroed one is empty. */
struct notify_strv {
    char **v;
    size_t n, cap;
};
void notify__strv_push(struct notify_strv *sv, const char *s); /* copies s */
void notify__strv_pushf(struct notify_strv *sv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void notify__strv_free(struct notify_strv *sv);

/* One grouped message, queued on its notifier. Owned by the notifier's queue. */
struct notify_msg {
    struct notify_msg *next;
    struct notify_alert *alerts; /* deep copies (notify__alert_copy) */
    size_t n;
    uint64_t seq;       /* per set, increasing: Message-ID, groupKey */
    int64_t created_ms; /* wall clock */
    unsigned attempts;  /* made so far */
};

/* What a kind builds for one attempt; the transport carries it out. Owned by the attempt. */
struct notify_req {
    char *url;                  /* curl: http(s):// or smtp(s):// */
    struct buf body;            /* curl: POST body or RFC 5322 mail; exec: stdin */
    struct notify_strv headers; /* curl http: "Name: value" */
    char *mail_from;            /* curl smtp: "<a@b>" */
    struct notify_strv rcpt;    /* curl smtp: "<a@b>" */
    struct notify_strv argv;    /* exec */
    struct notify_strv env;     /* exec: "TEND_ALERT_X=..." added to the environment */
};

struct notifier;

/* One delivery in flight. */
struct notify_attempt {
    struct notify_set *set;
    struct notifier *nf; /* NULL once detached */
    struct notify_req req;
    /* curl */
    CURL *easy;
    struct curl_slist *hdrs, *rcpt;
    struct buf reply;
    size_t upload_off;
    char errbuf[CURL_ERROR_SIZE];
    /* exec */
    pid_t pid;
    int out_fd;
    uv_timer_t timer;
    bool is_timed_out;
    int rc; /* exec: result kept until the timer is closed */
    char why[400];
};

/* Each kind: how to check a spec, build a request and judge a reply (section 6 of STYLE). */
struct notify_kind {
    const char *name;
    bool is_exec; /* carried out by notify_exec.c; otherwise by libcurl */
    /* Configure time: required keys and URL schemes. 0 or -TE_CONFIG with err. */
    int (*check)(const struct notify_spec *s, struct err *err);
    /* Fill req for message m. 0 or < 0 with err (the attempt then fails and is retried). */
    int (*build)(const struct notifier *nf, const struct notify_msg *m, struct notify_req *req,
                 struct err *err);
    /* After an HTTP transfer: 0 = delivered, or < 0 with why. NULL: any 2xx is delivered. */
    int (*judge)(long code, const char *reply, char *why, size_t size);
};
extern const struct notify_kind notify_webhook, notify_dingtalk, notify_wecom, notify_feishu,
    notify_slack, notify_email, notify_exec;

/* Owned by its set (list). */
struct notifier {
    struct notify_set *set;
    struct notifier *next;
    struct notify_spec spec; /* deep copy (notify__spec_copy) */
    struct notify_strv spec_mem;
    const struct notify_kind *kind;
    char target[512];             /* masked URL, SMTP URL or command, for status and logs */
    struct notify_strv secrets;   /* exact strings scrubbed from every message */
    struct notify_alert *pending; /* waiting for group_wait */
    size_t npending, pending_cap;
    uv_timer_t group_timer, retry_timer;
    struct notify_msg *head, *tail;
    size_t queued;
    struct notify_attempt *attempt; /* in flight (for head), or NULL */
    unsigned fail_streak;           /* consecutive failed attempts: drives the backoff */
    uint64_t retry_due_mono;        /* when the retry timer fires; 0 if not armed */
    uint64_t sent, failed, gave_up, dropped;
    int64_t last_ok_ms, last_error_ms;
    char last_error[400];
    int closing; /* timers still to close once removed */
    bool is_removed;
};

struct notify_set {
    uv_loop_t *loop;
    struct notify_opts opts;
    char host[256];
    struct notifier *list;
    struct notify_curl *curl; /* made on the first curl delivery */
    uv_timer_t close_timer;   /* never started: its close callback makes closing asynchronous */
    uint64_t rng, seq;
    unsigned refs; /* notifiers, detached attempts, the curl driver: all must go before free */
    bool is_closing;
    void (*closed)(void *arg);
    void *closed_arg;
};

/* ---- notify.c ---- */
/* A transport ends an attempt: rc 0 delivered, or < 0 with why (unmasked; masked here). Frees a
 * (after its transport released everything) and moves the notifier's queue on. */
void notify__attempt_done(struct notify_attempt *a, int rc, const char *why);
void notify__attempt_free(struct notify_attempt *a);
void notify__unref(struct notify_set *set);
void notify__alert_copy(struct notify_alert *dst, const struct notify_alert *src);
void notify__alert_fini(struct notify_alert *a);

/* ---- notify_curl.c: libcurl multi on the set's loop ---- */
int notify__curl_start(struct notify_attempt *a, struct err *err);
void notify__curl_cancel(struct notify_attempt *a); /* frees nothing of a but curl's parts */
void notify__curl_close(struct notify_set *set);

/* ---- notify_exec.c ---- */
int notify__exec_start(struct notify_attempt *a, struct err *err);
void notify__exec_cancel(struct notify_attempt *a); /* kills the group; a stays until reaped */

/* ---- notify_payload.c ---- */
enum notify_style { NOTIFY_STYLE_MARKDOWN, NOTIFY_STYLE_SLACK, NOTIFY_STYLE_PLAIN };
/* tend's own JSON payload and Alertmanager's webhook v4 payload; the caller owns them. */
json_t *notify__tend_json(const struct notifier *nf, const struct notify_msg *m);
json_t *notify__am_json(const struct notifier *nf, const struct notify_msg *m);
/* "[FIRING:2] high-cpu, disk (web-1)" */
void notify__title(const struct notifier *nf, const struct notify_msg *m, char *dst, size_t size);
/* Append the message for people, one paragraph per alert, adding at most `max` bytes: whole
 * alerts only, then a "... and N more alerts" line. */
void notify__render(const struct notifier *nf, const struct notify_msg *m, enum notify_style st,
                    size_t max, struct buf *out);
/* RFC 3339 UTC with milliseconds: "2026-05-01T02:03:04.567Z". */
void notify__rfc3339(int64_t ms, char *dst, size_t size);
/* Cut a partial UTF-8 sequence off the end of s (after a byte-count truncation). */
void notify__utf8_trim(char *s);
/* json_dumps into req->body plus the JSON content type header. */
int notify__json_body(json_t *doc, struct notify_req *req, struct err *err);

/* ---- notify_mask.c ---- */
/* str_mask_url() plus the secrets it does not know: the path tails of Slack
 * (/services/...), Feishu/Lark (/bot/v2/hook/...) and other hook URLs. */
void notify__mask_url(char *dst, size_t size, const char *url);
/* Collect the exact secret strings of a spec (query tokens, hook paths, signing secret, SMTP
 * password, secret-looking header values) for notify__scrub(). */
void notify__spec_secrets(const struct notify_spec *s, struct notify_strv *out);
/* Copy text, masking every URL in it and every string of `secrets`. */
void notify__scrub(const struct notify_strv *secrets, const char *text, char *dst, size_t size);

#endif
