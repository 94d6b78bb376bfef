/* config/check_alert.c: `alerts:` and `notifiers:` of tend.yaml.
 *
 * An alert's `rule:` is parsed by core/rule.h; a parse error is reported at the byte of the
 * mistake inside the YAML scalar. Its subject must then name something that exists: app(x) an
 * app, backup(x) a backup job, check(x) any entry of `checks:`, postgres(x) redis(x) cert(x)
 * file_age(x) a check of that kind (postgres and redis may omit the name when exactly one such
 * check exists). `notify:` names notifiers, with a did-you-mean. Notifiers take exactly one
 * kind key in its short form (the URL) or long form (a map), plus the keys every kind shares
 * (group_wait, retry, send_resolved). Their secrets never appear in messages: URLs are masked
 * (for Slack and Feishu the token is the end of the path), and the values of `password`,
 * `secret` and headers are never quoted. check_monitor.c decides the order of the lists and
 * keeps the results. */
#include "config/config_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rule.h"
#include "core/str.h"
#include "core/util.h"

/* Where byte `off` of a scalar is: exact for one-line scalars (one further for a quoted one:
 * the quote), the scalar's start for multi-line ones (interp.c does the same). */
void cfg__error_in(struct cfg__ck *ck, const struct cfg_node *n, size_t off, const char *fmt, ...)
{
    va_list ap;
    int col = n->is_multiline ? n->col : n->col + (int)off + (n->is_plain ? 0 : 1);
    va_start(ap, fmt);
    cfg__diag_vadd(ck->diag, CFG_ERROR, n->line, col, fmt, ap);
    va_end(ap);
}

bool cfg__want_kind(struct cfg__ck *ck, const char *key, const struct cfg_node *v, int kind,
                    const char *example)
{
    char seen[80];
    if (v->is_bad)
        return false;
    if (v->kind == (enum cfg_node_kind)kind)
        return true;
    cfg__node_describe(v, seen, sizeof seen);
    cfg__error_at(ck, v, "\"%s\"%s%s must be %s, not %s", key, ck->what[0] ? " in " : "", ck->what,
             example, seen);
    return false;
}

/* " (did you mean \"x\"?)" or "". */
const char *cfg__did_you_mean(const char *word, const char *const *words, char *dst, size_t n)
{
    const char *s = words ? str_suggest(word, words) : NULL;
    snprintf(dst, n, "%s%s%s", s ? " (did you mean \"" : "", s ? s : "", s ? "\"?)" : "");
    return dst;
}

static int get_word(struct cfg__ck *ck, const char *key, const struct cfg_node *v,
                    const char *const *words, const char *forms, int dflt)
{
    char sug[120];
    if (!cfg__want_scalar(ck, key, v, forms))
        return dflt;
    for (int i = 0; words[i]; i++)
        if (strcmp(v->str, words[i]) == 0)
            return i;
    cfg__error_at(ck, v, "\"%s\" in %s must be %s, not \"%s\"%s", key, ck->what, forms, v->str,
             cfg__did_you_mean(v->str, words, sug, sizeof sug));
    return dflt;
}

bool cfg__has_name(const char *const *names, const char *name)
{
    for (size_t i = 0; names && names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* ---- notifiers: ------------------------------------------------------------------------------ */
static const char *const notifier_kinds[] = {"dingtalk", "wecom", "feishu", "slack",
                                             "webhook",  "email", "exec",   NULL};

/* The URL as it may be shown: credentials and secret parameters masked, and the part of the
 * path that is the token for Slack and Feishu (their URLs carry it there). */
static void mask_hook(enum cfg_notifier_kind k, const char *url, char *dst, size_t size)
{
    str_mask_url(dst, size, url);
    const char *mark = k == CFG_NOTIFY_SLACK    ? "/services/"
                       : k == CFG_NOTIFY_FEISHU ? "/hook/"
                                                : NULL;
    char *p = mark ? strstr(dst, mark) : NULL;
    if (p && (size_t)(p - dst) + strlen(mark) + 5 <= size)
        memcpy(p + strlen(mark), "****", 5); /* fits: checked above */
}

static void hook_url(struct cfg__ck *ck, struct cfg_notifier *nt, const char *key,
                     const struct cfg_node *v)
{
    static const char *const schemes[] = {"https", "http", NULL};
    char why[160], host[256], masked[300];
    if (!cfg__get_str(ck, key, v, &nt->u.hook.url))
        return;
    int s = cfg__url_check(v->str, schemes, false, why, sizeof why, host, sizeof host);
    mask_hook(nt->kind, v->str, masked, sizeof masked);
    if (s < 0 && !strstr(v->str, "://")) /* no scheme: a token cannot be told from a host */
        cfg__error_at(ck, v, "\"%s\" in %s %s", key, ck->what, why);
    else if (s < 0)
        cfg__error_at(ck, v, "\"%s\" in %s %s, not \"%s\"", key, ck->what, why, masked);
    else if (s == 1 && !str_starts(host, "127.") && strcmp(host, "localhost") &&
             (nt->kind != CFG_NOTIFY_WEBHOOK || strcmp(masked, v->str)))
        cfg__warn_at(ck, v, "%s sends its token in clear text over http:// to \"%s\"; use https://",
                ck->what, host);
}

static void n_hook(struct cfg__ck *ck, struct cfg_notifier *nt, const struct cfg_node *v)
{
    static const char *const keys[] = {"url", "secret", "format", "headers", NULL};
    static const char *const formats[] = {"tend", "alertmanager", NULL};
    const char *kind = notifier_kinds[nt->kind];
    const struct cfg_node *x;
    if (v->kind != CFG_NODE_MAP) {
        if (cfg__want_scalar(ck, kind, v, "a URL or a map such as {url: ...}"))
            hook_url(ck, nt, kind, v);
        return;
    }
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    if (!(x = cfg__node_get(v, "url")))
        cfg__error_at(ck, v, "\"%s\" in %s has no \"url\"", kind, ck->what);
    else
        hook_url(ck, nt, "url", x);
    bool signs = nt->kind == CFG_NOTIFY_DINGTALK || nt->kind == CFG_NOTIFY_FEISHU;
    bool web = nt->kind == CFG_NOTIFY_WEBHOOK;
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->str;
        if ((!strcmp(k, "secret") && !signs) ||
            (!web && (!strcmp(k, "format") || !strcmp(k, "headers"))))
            cfg__error_at(ck, v->keys[i], "\"%s\" is not a setting of %s notifiers (only of %s)", k,
                     kind, !strcmp(k, "secret") ? "dingtalk and feishu" : "webhook");
    }
    if (signs && (x = cfg__node_get(v, "secret")) &&
        cfg__get_str(ck, "secret", x, &nt->u.hook.secret) && !x->str[0])
        cfg__error_at(ck, x, "\"secret\" in %s is empty", ck->what);
    if (web && (x = cfg__node_get(v, "format")))
        nt->u.hook.format =
            (enum cfg_webhook_format)get_word(ck, "format", x, formats, "tend or alertmanager", 0);
    if (web && (x = cfg__node_get(v, "headers")))
        cfg__get_headers(ck, x, &nt->u.hook.headers, &nt->u.hook.nheaders);
}

static bool is_address(const char *s)
{
    const char *at = strchr(s, '@');
    return at && at > s && at[1] && !strchr(at + 1, '@') && !strpbrk(s, " \t<>,;");
}

static void email_to(struct cfg__ck *ck, struct cfg_notifier *nt, const struct cfg_node *v)
{
    size_t n = v->kind == CFG_NODE_SEQ ? v->n : 1, k = 0;
    if (v->kind == CFG_NODE_MAP || (v->kind == CFG_NODE_SEQ && !n)) {
        cfg__error_at(ck, v, "\"to\" in %s must be an address or a list of them", ck->what);
        return;
    }
    nt->u.email.to = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const struct cfg_node *x = v->kind == CFG_NODE_SEQ ? v->vals[i] : v;
        if (!cfg__want_scalar(ck, "to", x, "an address such as ops@example.com"))
            continue;
        if (!is_address(x->str))
            cfg__error_at(ck, x, "\"%s\" in \"to\" of %s is not an e-mail address", x->str, ck->what);
        nt->u.email.to[k++] = str_dup(x->str);
    }
}

static void n_email(struct cfg__ck *ck, struct cfg_notifier *nt, const struct cfg_node *v)
{
    static const char *const keys[] = {"smtp", "starttls", "username", "password",
                                       "from", "to",       NULL};
    static const char *const schemes[] = {"smtp", "smtps", NULL};
    const struct cfg_node *x, *tls = NULL;
    char why[160], host[256] = "", masked[300];
    int s = -1;
    if (v->kind != CFG_NODE_MAP) { /* smtp://user:password@... written inline: never quoted */
        if (!v->is_bad)
            cfg__error_at(ck, v,
                     "\"email\" in %s must be a map such as {smtp: smtp://..., from: ..., "
                     "to: ...}, not %s",
                     ck->what, v->kind == CFG_NODE_SEQ ? "a list" : "text");
        return;
    }
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    if (!(x = cfg__node_get(v, "smtp")))
        cfg__error_at(ck, v,
                 "\"email\" in %s has no \"smtp\"; add one, e.g. smtp: "
                 "smtp://smtp.example.com:587",
                 ck->what);
    else if (cfg__get_str(ck, "smtp", x, &nt->u.email.smtp) &&
             (s = cfg__url_check(x->str, schemes, false, why, sizeof why, host, sizeof host)) < 0) {
        str_mask_url(masked, sizeof masked, x->str);
        cfg__error_at(ck, x, "\"smtp\" in %s %s%s%s%s", ck->what, why,
                 strstr(x->str, "://") ? ", not \"" : "", strstr(x->str, "://") ? masked : "",
                 strstr(x->str, "://") ? "\"" : "");
    }
    nt->u.email.starttls = s != 1;
    if ((tls = cfg__node_get(v, "starttls")) &&
        cfg__get_bool(ck, "starttls", tls, &nt->u.email.starttls) && s == 1 && nt->u.email.starttls)
        cfg__error_at(ck, tls,
                 "\"starttls\" in %s cannot be used with smtps:// (already TLS); use "
                 "smtp:// on port 587 for STARTTLS",
                 ck->what);
    if ((x = cfg__node_get(v, "username")))
        cfg__get_str(ck, "username", x, &nt->u.email.username);
    if ((x = cfg__node_get(v, "password")))
        cfg__get_str(ck, "password", x, &nt->u.email.password);
    if (!nt->u.email.username != !nt->u.email.password)
        cfg__error_at(ck, v, "\"email\" in %s needs both \"username\" and \"password\", or neither",
                 ck->what);
    if (s == 0 && !nt->u.email.starttls && nt->u.email.password && !str_starts(host, "127.") &&
        strcmp(host, "localhost"))
        cfg__warn_at(ck, tls,
                "%s sends its SMTP password in clear text (starttls: false); use "
                "starttls: true or smtps://",
                ck->what);
    if (!(x = cfg__node_get(v, "from")))
        cfg__error_at(ck, v, "\"email\" in %s has no \"from\" address", ck->what);
    else if (cfg__get_str(ck, "from", x, &nt->u.email.from) && !is_address(x->str))
        cfg__error_at(ck, x, "\"from\" in %s is not an e-mail address: \"%s\"", ck->what, x->str);
    if (!(x = cfg__node_get(v, "to")))
        cfg__error_at(ck, v, "\"email\" in %s has no \"to\"; add e.g. to: [ops@example.com]", ck->what);
    else
        email_to(ck, nt, x);
}

static void notifier_common(struct cfg__ck *ck, struct cfg_notifier *nt, const struct cfg_node *m)
{
    static const char *const keys[] = {"max", "backoff", "max_backoff", NULL};
    const struct cfg_node *x, *r = cfg__node_get(m, "retry");
    if ((x = cfg__node_get(m, "group_wait")))
        cfg__get_duration(ck, "group_wait", x, &nt->group_wait_ms);
    if ((x = cfg__node_get(m, "send_resolved")))
        cfg__get_bool(ck, "send_resolved", x, &nt->send_resolved);
    if (!r || !cfg__want_kind(ck, "retry", r, CFG_NODE_MAP, "a map such as {max: 10, backoff: 5s}"))
        return;
    cfg__check_keys(ck, r, keys, NULL, ck->what);
    if ((x = cfg__node_get(r, "max")))
        cfg__get_int(ck, "max", x, 0, 1000, &nt->retry_max);
    if ((x = cfg__node_get(r, "backoff")) &&
        cfg__get_duration(ck, "backoff", x, &nt->retry_backoff_ms) && !nt->retry_backoff_ms)
        cfg__error_at(ck, x, "\"backoff\" in %s must be more than 0", ck->what);
    if ((x = cfg__node_get(r, "max_backoff")) &&
        cfg__get_duration(ck, "max_backoff", x, &nt->retry_max_backoff_ms) &&
        nt->retry_max_backoff_ms < nt->retry_backoff_ms)
        cfg__error_at(ck, x, "\"max_backoff\" in %s must not be below \"backoff\"", ck->what);
}

void cfg__notifier_free(struct cfg_notifier *nt)
{
    if (!nt)
        return;
    free(nt->name);
    if (nt->kind == CFG_NOTIFY_EMAIL) {
        char *s[] = {nt->u.email.smtp, nt->u.email.username, nt->u.email.password,
                     nt->u.email.from};
        for (size_t i = 0; i < ARRAY_LEN(s); i++)
            free(s[i]);
        cfg__strv_free(nt->u.email.to);
    } else if (nt->kind == CFG_NOTIFY_EXEC) {
        free(nt->u.exec.cmd);
        cfg__strv_free(nt->u.exec.argv);
    } else {
        free(nt->u.hook.url);
        free(nt->u.hook.secret);
        cfg_kv_free(nt->u.hook.headers, nt->u.hook.nheaders);
    }
    free(nt);
}

static bool plain_name(struct cfg__ck *ck, const char *what, const struct cfg_node *map,
                       size_t index, char **out)
{
    const struct cfg_node *v = cfg__node_get(map, "name");
    snprintf(ck->what, sizeof ck->what, "%s #%zu", what, index);
    if (!v) {
        cfg__error_at(ck, map, "%s #%zu has no \"name\"; add one, e.g. name: ops", what, index);
        return false;
    }
    if (!cfg__get_str(ck, "name", v, out))
        return false;
    size_t n = strlen(*out);
    if (!n || n > 64 ||
        strspn(*out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_-") != n) {
        cfg__error_at(ck, v, "%s name \"%s\" must be 1 to 64 letters, digits, \"_\" or \"-\"", what,
                 *out);
        return false;
    }
    snprintf(ck->what, sizeof ck->what, "%s \"%s\"", what, *out);
    return true;
}

struct cfg_notifier *cfg__check_notifier(struct cfg__ck *ck, const struct cfg_node *map,
                                         size_t index)
{
    static const char *const keys[] = {"name",  "dingtalk",   "wecom",         "feishu",
                                       "slack", "webhook",    "email",         "exec",
                                       "retry", "group_wait", "send_resolved", NULL};
    if (map->kind != CFG_NODE_MAP) { /* a scalar here may be a webhook URL: never quoted */
        if (!map->is_bad)
            cfg__error_at(ck, map, "each notifier must be a map (- name: ops, slack: URL), not %s",
                     map->kind == CFG_NODE_SEQ ? "a list" : "text");
        return NULL;
    }
    struct cfg_notifier *nt = xcalloc(1, sizeof *nt);
    nt->line = map->line;
    nt->col = map->col;
    nt->kind = CFG_NOTIFY_WEBHOOK;
    nt->group_wait_ms = 30000;
    nt->retry_max = 10;
    nt->retry_backoff_ms = 5000;
    nt->retry_max_backoff_ms = 300000;
    nt->send_resolved = true;
    bool named = plain_name(ck, "notifier", map, index, &nt->name);
    cfg__check_keys(ck, map, keys, NULL, ck->what);
    const struct cfg_node *kind = NULL;
    for (size_t j = 0; j < map->n; j++) { /* in file order: the second one is the mistake */
        for (int i = 0; notifier_kinds[i]; i++) {
            if (strcmp(map->keys[j]->str, notifier_kinds[i]) != 0)
                continue;
            if (kind)
                cfg__error_at(ck, map->vals[j], "%s has both \"%s\" and \"%s\"; one kind per notifier",
                         ck->what, notifier_kinds[nt->kind], notifier_kinds[i]);
            else
                nt->kind = (enum cfg_notifier_kind)i;
            kind = kind ? kind : map->vals[j];
        }
    }
    if (!kind)
        cfg__error_at(ck, map, "%s needs one of dingtalk, wecom, feishu, slack, webhook, email or exec",
                 ck->what);
    else if (nt->kind == CFG_NOTIFY_EMAIL)
        n_email(ck, nt, kind);
    else if (nt->kind == CFG_NOTIFY_EXEC)
        cfg__get_cmd(ck, "exec", kind, &nt->u.exec.cmd, &nt->u.exec.argv);
    else
        n_hook(ck, nt, kind);
    notifier_common(ck, nt, map);
    if (named)
        return nt;
    cfg__notifier_free(nt);
    return NULL;
}

/* ---- alerts:
 * --------------------------------------------------------------------------------- */
static void rule_refs(struct cfg__ck *ck, const struct cfg_node *v, const struct rule *r,
                      const struct cfg__alert_refs *refs)
{
    /* The kind a subject needs; 0 (http) means "no lookup": no subject needs an http check. */
    static const enum cfg_check_kind kind_of[RULE_NSUBJECTS] = {
        [RULE_POSTGRES] = CFG_CHECK_POSTGRES,
        [RULE_REDIS] = CFG_CHECK_REDIS,
        [RULE_CERT] = CFG_CHECK_TLS,
        [RULE_FILE_AGE] = CFG_CHECK_FILE_AGE};
    enum rule_subject s = rule_subject(r);
    const char *arg = rule_arg(r), *fn = rule_subject_name(s), *paren = strchr(v->str, '(');
    size_t off = paren ? (size_t)(paren + 1 - v->str) : 0;
    const char *names[256] = {0};
    size_t n = 0, any = 0;
    char sug[120];
    if (s == RULE_APP || s == RULE_BACKUP) {
        const char *const *l = s == RULE_APP ? refs->apps : refs->backups;
        if (arg && !cfg__has_name(l, arg))
            cfg__error_in(ck, v, off, "%s: no %s named \"%s\" in \"%s\"%s", ck->what,
                          s == RULE_APP ? "app" : "backup job", arg,
                          s == RULE_APP ? "apps" : "backups",
                          cfg__did_you_mean(arg, l, sug, sizeof sug));
        return;
    }
    if (s != RULE_CHECK && !kind_of[s])
        return; /* cpu, memory, load, disk(PATH): nothing to look up */
    for (size_t i = 0; i < refs->w->nchecks && n < ARRAY_LEN(names) - 1; i++) {
        const struct cfg_check *c = refs->w->checks[i];
        if (c->app)
            continue;
        any += arg && !strcmp(c->name, arg);
        if (s == RULE_CHECK || c->kind == kind_of[s])
            names[n++] = c->name;
    }
    if (!arg && n != 1)
        cfg__error_at(ck, v,
                 "%s: \"%s\" without a name needs exactly one %s check, and there are "
                 "%zu; write %s(NAME)",
                 ck->what, fn, fn, n, fn);
    else if (arg && !cfg__has_name(names, arg) && any)
        cfg__error_in(ck, v, off, "%s: check \"%s\" is not a %s check; %s() needs one with \"%s:\"",
                      ck->what, arg, s == RULE_CERT ? "tls" : fn, fn, s == RULE_CERT ? "tls" : fn);
    else if (arg && !cfg__has_name(names, arg))
        cfg__error_in(ck, v, off, "%s: no %s%scheck named \"%s\" in \"checks\"%s", ck->what,
                      s == RULE_CHECK ? "" : (s == RULE_CERT ? "tls" : fn),
                      s == RULE_CHECK ? "" : " ", arg,
                      cfg__did_you_mean(arg, names, sug, sizeof sug));
}

/* App latency, error rate and request rate come only from access logs. */
static void rule_needs_logs(struct cfg__ck *ck, const struct cfg_node *v, const struct rule *r,
                            const struct cfg__alert_refs *refs)
{
    enum rule_field f = rule_field(r);
    const char *arg = rule_arg(r);
    if (rule_subject(r) != RULE_APP || !arg ||
        !(f == RULE_FIELD_ERROR_RATE || f == RULE_FIELD_RPS ||
          (f >= RULE_FIELD_LATENCY_P50 && f <= RULE_FIELD_LATENCY_AVG)))
        return;
    const struct cfg_node *l = refs->access_logs;
    for (size_t i = 0; l && l->kind == CFG_NODE_SEQ && i < l->n; i++)
        if (cfg__node_get(cfg__node_get(l->vals[i], "apps"), arg))
            return;
    cfg__warn_at(ck, v,
            "%s watches %s of app \"%s\", which comes from access logs, but no "
            "\"access_logs\" entry maps requests to it; it will never fire",
            ck->what, rule_field_path(r), arg);
}

void cfg__alert_free(struct cfg_alert *a)
{
    if (!a)
        return;
    free(a->name);
    free(a->rule_text);
    rule_free(a->rule);
    cfg__strv_free(a->notify);
    free(a);
}

static void alert_notify(struct cfg__ck *ck, struct cfg_alert *a, const struct cfg_node *v,
                         const struct cfg_watch *w)
{
    const char *names[256] = {0};
    char sug[120];
    size_t n = v->kind == CFG_NODE_SEQ ? v->n : 1, k = 0;
    if (v->kind == CFG_NODE_MAP) {
        cfg__want_kind(ck, "notify", v, CFG_NODE_SEQ, "a notifier name or a list of them");
        return;
    }
    for (size_t i = 0; i < w->nnotifiers && i < ARRAY_LEN(names) - 1; i++)
        names[i] = w->notifiers[i]->name;
    a->notify = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const struct cfg_node *x = v->kind == CFG_NODE_SEQ ? v->vals[i] : v;
        if (!cfg__want_scalar(ck, "notify", x, "a notifier name"))
            continue;
        if (!cfg__has_name(names, x->str))
            cfg__error_at(ck, x, "%s notifies \"%s\", which is not in \"notifiers\"%s", ck->what, x->str,
                     cfg__did_you_mean(x->str, names, sug, sizeof sug));
        a->notify[k++] = str_dup(x->str);
    }
}

static void alert_rule(struct cfg__ck *ck, struct cfg_alert *a, const struct cfg_node *v,
                       const struct cfg__alert_refs *refs)
{
    struct rule_error e = {0};
    if (!cfg__get_str(ck, "rule", v, &a->rule_text))
        return;
    if (rule_parse(v->str, &a->rule, &e) < 0) {
        cfg__error_in(ck, v, MIN(e.offset, strlen(v->str)), "%s: %s", ck->what, e.message);
        return;
    }
    rule_refs(ck, v, a->rule, refs);
    rule_needs_logs(ck, v, a->rule, refs);
}

struct cfg_alert *cfg__check_alert(struct cfg__ck *ck, const struct cfg_node *map, size_t index,
                                   const struct cfg__alert_refs *refs)
{
    static const char *const keys[] = {"name", "rule", "severity", "notify", "repeat", NULL};
    static const char *const severities[] = {"info", "warning", "critical", NULL};
    const struct cfg_node *x, *name = cfg__node_get(map, "name");
    snprintf(ck->what, sizeof ck->what, "alert #%zu", index);
    if (!cfg__want_kind(ck, "alerts", map, CFG_NODE_MAP,
                        "a list of maps (- rule: cpu > 70%% for 5m)"))
        return NULL;
    struct cfg_alert *a = xcalloc(1, sizeof *a);
    a->line = map->line;
    a->col = map->col;
    a->severity = CFG_ALERT_WARNING;
    a->repeat_ms = 4 * 3600000;
    if (name && cfg__get_str(ck, "name", name, &a->name)) {
        if (!name->str[0] || strlen(name->str) > 128 || strpbrk(name->str, "\r\n\t"))
            cfg__error_at(ck, name, "alert name must be 1 to 128 characters on one line");
        snprintf(ck->what, sizeof ck->what, "alert \"%.100s\"", name->str);
    }
    cfg__check_keys(ck, map, keys, NULL, ck->what);
    if (!(x = cfg__node_get(map, "rule")))
        cfg__error_at(ck, map, "%s has no \"rule\"; add one, e.g. rule: cpu > 70%% for 5m", ck->what);
    else
        alert_rule(ck, a, x, refs);
    if (!a->name && a->rule_text) /* with no rule the alert has no name: already an error */
        a->name = str_dup(a->rule_text);
    if ((x = cfg__node_get(map, "severity")))
        a->severity = (enum cfg_alert_severity)get_word(ck, "severity", x, severities,
                                                        "info, warning or critical", 1);
    if ((x = cfg__node_get(map, "notify")))
        alert_notify(ck, a, x, refs->w);
    if ((x = cfg__node_get(map, "repeat")) && x->kind == CFG_NODE_SCALAR && !x->is_null &&
        !strcmp(x->str, "never"))
        a->repeat_ms = 0;
    else if (x && cfg__get_duration(ck, "repeat", x, &a->repeat_ms) && a->repeat_ms &&
             a->repeat_ms < 60000)
        cfg__error_at(ck, x, "\"repeat\" in %s must be at least 1m (or never), not \"%s\"", ck->what,
                 x->str);
    return a;
}

/* ---- names
 * ----------------------------------------------------------------------------------- */
const char *cfg_alert_severity_name(enum cfg_alert_severity s)
{
    static const char *const n[] = {"info", "warning", "critical"};
    return (unsigned)s < ARRAY_LEN(n) ? n[s] : "?";
}

const char *cfg_notifier_kind_name(enum cfg_notifier_kind k)
{
    return (unsigned)k < CFG_NOTIFY_NKINDS ? notifier_kinds[k] : "?";
}
