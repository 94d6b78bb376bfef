/* alert/notify.c: the notifier driver: configuration, grouping, the per-notifier queue, retries
 * with backoff, and status. What differs per kind lives in the kind files (notify_int.h).
 *
 * Life of a notice: notify_send() copies the alerts into each target notifier's `pending` list
 * and arms its group timer (group_wait). When it fires, the pending alerts become one message at
 * the tail of the notifier's queue. A notifier delivers its head message, one attempt at a time,
 * so messages arrive in order and each exactly once per successful attempt. A failed attempt
 * arms the retry timer: backoff * 2^(consecutive failures - 1), capped at max_backoff, with
 * "equal jitter" (half fixed, half random) so notifiers that failed together do not retry in
 * lockstep. After retry.max retries the head message is given up; while a receiver is down the
 * queue holds at most queue_max messages and the oldest one not in flight is dropped.
 *
 * Invariants: at most one attempt per notifier; the retry timer is armed only when an attempt
 * failed and nothing is in flight; every text kept or logged has gone through notify__scrub(). */
#include "alert/notify_int.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_EXEC_TIMEOUT_MS 30000

static const struct notify_kind *const kinds[NOTIFY_NKINDS] = {
    [NOTIFY_WEBHOOK] = &notify_webhook, [NOTIFY_DINGTALK] = &notify_dingtalk,
    [NOTIFY_WECOM] = &notify_wecom,     [NOTIFY_FEISHU] = &notify_feishu,
    [NOTIFY_SLACK] = &notify_slack,     [NOTIFY_EMAIL] = &notify_email,
    [NOTIFY_EXEC] = &notify_exec,
};

static const char *const event_name[NOTIFY_NEVENTS] = {
    [NOTIFY_EV_SENT] = "sent",
    [NOTIFY_EV_FAILED] = "failed",
    [NOTIFY_EV_GAVE_UP] = "gave_up",
    [NOTIFY_EV_DROPPED] = "dropped",
};

const char *notify_kind_name(enum notify_kind_id k)
{
    return k < NOTIFY_NKINDS ? kinds[k]->name : "?";
}

int notify_kind_parse(const char *word, enum notify_kind_id *out)
{
    for (int k = 0; k < NOTIFY_NKINDS; k++) {
        if (str_eq(word, kinds[k]->name)) {
            *out = (enum notify_kind_id)k;
            return 0;
        }
    }
    return -TE_NOTFOUND;
}

const char *notify_event_name(enum notify_event_kind k)
{
    return k < NOTIFY_NEVENTS ? event_name[k] : "?";
}

void notify_spec_init(struct notify_spec *s)
{
    memset(s, 0, sizeof *s);
    s->email.starttls = true;
    s->group_wait_ms = 30000;
    s->retry.max = 10;
    s->retry.backoff_ms = 5000;
    s->retry.max_backoff_ms = 300000;
    s->send_resolved = true;
    s->queue_max = 100;
}

/* ---- small helpers ---------------------------------------------------------------------- */
static void strv_take(struct notify_strv *sv, char *s)
{
    if (sv->n + 2 > sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 8;
        sv->v = xrealloc(sv->v, sv->cap * sizeof *sv->v);
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

void notify__strv_push(struct notify_strv *sv, const char *s)
{
    strv_take(sv, str_dup(s ? s : ""));
}

void notify__strv_pushf(struct notify_strv *sv, const char *fmt, ...)
{
    struct buf b;
    va_list ap;
    buf_init(&b, 0);
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    strv_take(sv, b.ptr ? buf_take(&b) : str_dup(""));
}

void notify__strv_free(struct notify_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof *sv);
}

/* A copy of s kept in mem (freed with it). */
static const char *keep(struct notify_strv *mem, const char *s)
{
    if (!s)
        return NULL;
    char *c = str_dup(s);
    strv_take(mem, c);
    return c;
}

static void spec_copy(struct notify_spec *dst, struct notify_strv *mem,
                      const struct notify_spec *src)
{
    *dst = *src;
    dst->name = keep(mem, src->name);
    dst->url = keep(mem, src->url);
    dst->secret = keep(mem, src->secret);
    dst->ca_file = keep(mem, src->ca_file);
    dst->email.smtp = keep(mem, src->email.smtp);
    dst->email.username = keep(mem, src->email.username);
    dst->email.password = keep(mem, src->email.password);
    dst->email.from = keep(mem, src->email.from);
    dst->cmd = keep(mem, src->cmd);
    struct notify_label *h = xcalloc(src->nheaders + 1, sizeof *h);
    strv_take(mem, (char *)h);
    for (size_t i = 0; i < src->nheaders; i++)
        h[i] =
            (struct notify_label){keep(mem, src->headers[i].key), keep(mem, src->headers[i].value)};
    dst->headers = h;
    const char **to = xcalloc(src->email.nto + 1, sizeof *to);
    strv_take(mem, (char *)to);
    for (size_t i = 0; i < src->email.nto; i++)
        to[i] = keep(mem, src->email.to[i]);
    dst->email.to = to;
    dst->argv = NULL;
    if (src->argv) {
        size_t n = 0;
        while (src->argv[n])
            n++;
        const char **av = xcalloc(n + 1, sizeof *av);
        strv_take(mem, (char *)av);
        for (size_t i = 0; i < n; i++)
            av[i] = keep(mem, src->argv[i]);
        dst->argv = av;
    }
    if (!dst->timeout_ms)
        dst->timeout_ms = src->kind == NOTIFY_EXEC ? DEFAULT_EXEC_TIMEOUT_MS : DEFAULT_TIMEOUT_MS;
    if (!dst->queue_max)
        dst->queue_max = 1;
    if (!dst->retry.max_backoff_ms || dst->retry.max_backoff_ms < dst->retry.backoff_ms)
        dst->retry.max_backoff_ms = dst->retry.backoff_ms;
}

void notify__alert_copy(struct notify_alert *dst, const struct notify_alert *src)
{
    *dst = *src;
    dst->name = str_dup(src->name ? src->name : src->rule);
    dst->rule = str_dup(src->rule ? src->rule : src->name);
    dst->severity = str_dup(src->severity ? src->severity : "warning");
    dst->value = str_dup(src->value);
    dst->summary = str_dup(src->summary);
    struct notify_label *l = src->nlabels ? xcalloc(src->nlabels, sizeof *l) : NULL;
    for (size_t i = 0; i < src->nlabels; i++)
        l[i] = (struct notify_label){str_dup(src->labels[i].key ? src->labels[i].key : ""),
                                     str_dup(src->labels[i].value ? src->labels[i].value : "")};
    dst->labels = l;
}

void notify__alert_fini(struct notify_alert *a)
{
    free((char *)a->name);
    free((char *)a->rule);
    free((char *)a->severity);
    free((char *)a->value);
    free((char *)a->summary);
    for (size_t i = 0; i < a->nlabels; i++) {
        free((char *)a->labels[i].key);
        free((char *)a->labels[i].value);
    }
    free((struct notify_label *)a->labels);
}

static void msg_free(struct notify_msg *m)
{
    for (size_t i = 0; i < m->n; i++)
        notify__alert_fini(&m->alerts[i]);
    free(m->alerts);
    free(m);
}

/* xorshift64*: jitter only, no need for more. */
static uint64_t rng_next(struct notify_set *set)
{
    uint64_t x = set->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    set->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void emit(struct notifier *nf, enum notify_event_kind k, const char *msg)
{
    struct notify_set *set = nf->set;
    if (set->opts.on_event)
        set->opts.on_event(set->opts.event_ctx, k, nf->spec.name, msg);
}

/* ---- the queue ---------------------------------------------------------------------------- */
static void kick(struct notifier *nf);

static void pop_head(struct notifier *nf)
{
    struct notify_msg *m = nf->head;
    nf->head = m->next;
    if (!nf->head)
        nf->tail = NULL;
    nf->queued--;
    msg_free(m);
}

static void push_msg(struct notifier *nf, struct notify_msg *m)
{
    if (nf->queued >= nf->spec.queue_max) {
        /* Drop the oldest message that is not being delivered right now. */
        struct notify_msg **pp = nf->attempt ? &nf->head->next : &nf->head;
        if (*pp) {
            struct notify_msg *old = *pp;
            *pp = old->next;
            if (nf->tail == old)
                nf->tail = nf->attempt ? nf->head : NULL;
            nf->queued--;
            nf->dropped++;
            char line[300];
            snprintf(line, sizeof line, "queue full (%u messages): dropped the oldest (%zu alerts)",
                     nf->spec.queue_max, old->n);
            tlog_warn("alert", "notifier %s: %s", nf->spec.name, line);
            emit(nf, NOTIFY_EV_DROPPED, line);
            msg_free(old);
        }
    }
    if (nf->tail)
        nf->tail->next = m;
    else
        nf->head = m;
    nf->tail = m;
    nf->queued++;
}

static void on_group(uv_timer_t *t)
{
    struct notifier *nf = container_of(t, struct notifier, group_timer);
    if (!nf->npending)
        return;
    struct notify_msg *m = xcalloc(1, sizeof *m);
    m->alerts = nf->pending;
    m->n = nf->npending;
    m->seq = ++nf->set->seq;
    m->created_ms = clock_wall_ms();
    nf->pending = NULL;
    nf->npending = nf->pending_cap = 0;
    push_msg(nf, m);
    kick(nf);
}

static void on_retry(uv_timer_t *t)
{
    struct notifier *nf = container_of(t, struct notifier, retry_timer);
    nf->retry_due_mono = 0;
    kick(nf);
}

static void fail_attempt(struct notifier *nf, const char *why_raw)
{
    struct notify_msg *m = nf->head;
    char why[400], line[600];
    notify__scrub(&nf->secrets, why_raw, why, sizeof why);
    nf->failed++;
    nf->fail_streak++;
    nf->last_error_ms = clock_wall_ms();
    str_copy(nf->last_error, why, sizeof nf->last_error);
    if (m->attempts > nf->spec.retry.max) {
        nf->gave_up++;
        snprintf(line, sizeof line, "%s; gave up after %u attempt%s (%zu alert%s lost)", why,
                 m->attempts, m->attempts == 1 ? "" : "s", m->n, m->n == 1 ? "" : "s");
        tlog_error("alert", "notifier %s: %s", nf->spec.name, line);
        emit(nf, NOTIFY_EV_GAVE_UP, line);
        pop_head(nf);
        /* The next message gets its first attempt now, through the timer (no recursion). */
        nf->retry_due_mono = uv_now(nf->set->loop);
        uv_timer_start(&nf->retry_timer, on_retry, 0, 0);
        return;
    }
    uint64_t delay = nf->spec.retry.backoff_ms;
    for (unsigned i = 1; i < nf->fail_streak && delay < nf->spec.retry.max_backoff_ms; i++)
        delay *= 2;
    delay = MIN(delay, nf->spec.retry.max_backoff_ms);
    delay = delay / 2 + (delay > 1 ? rng_next(nf->set) % (delay - delay / 2) : 0);
    if (delay < 1000)
        snprintf(line, sizeof line, "%s; retry %u/%u in %llums", why, m->attempts,
                 nf->spec.retry.max, (unsigned long long)delay);
    else
        snprintf(line, sizeof line, "%s; retry %u/%u in %.1fs", why, m->attempts,
                 nf->spec.retry.max, (double)delay / 1000.0);
    tlog_warn("alert", "notifier %s: %s", nf->spec.name, line);
    emit(nf, NOTIFY_EV_FAILED, line);
    nf->retry_due_mono = uv_now(nf->set->loop) + delay;
    uv_timer_start(&nf->retry_timer, on_retry, delay, 0);
}

void notify__attempt_free(struct notify_attempt *a)
{
    struct notify_req *r = &a->req;
    free(r->url);
    buf_fini(&r->body);
    notify__strv_free(&r->headers);
    free(r->mail_from);
    notify__strv_free(&r->rcpt);
    notify__strv_free(&r->argv);
    notify__strv_free(&r->env);
    buf_fini(&a->reply);
    struct notify_set *set = a->set;
    bool was_detached = !a->nf;
    free(a);
    if (was_detached)
        notify__unref(set);
}

void notify__attempt_done(struct notify_attempt *a, int rc, const char *why)
{
    struct notifier *nf = a->nf;
    char reason[1024];
    str_copy(reason, why && *why ? why : "delivery failed", sizeof reason); /* why may be in a */
    if (nf)
        nf->attempt = NULL;
    notify__attempt_free(a);
    if (!nf)
        return;
    if (rc < 0) {
        fail_attempt(nf, reason);
        return;
    }
    char line[600];
    snprintf(line, sizeof line, "delivered %zu alert%s to %s", nf->head->n,
             nf->head->n == 1 ? "" : "s", nf->target);
    tlog_info("alert", "notifier %s: %s", nf->spec.name, line);
    emit(nf, NOTIFY_EV_SENT, line);
    nf->sent++;
    nf->fail_streak = 0;
    nf->last_ok_ms = clock_wall_ms();
    pop_head(nf);
    kick(nf);
}

/* Start delivering the head message if nothing is in flight and no retry is pending. */
static void kick(struct notifier *nf)
{
    if (nf->attempt || !nf->head || uv_is_active((uv_handle_t *)&nf->retry_timer) ||
        nf->is_removed || nf->set->is_closing)
        return;
    struct err err = {0};
    struct notify_attempt *a = xcalloc(1, sizeof *a);
    a->set = nf->set;
    a->nf = nf;
    a->out_fd = -1;
    buf_init(&a->req.body, 0);
    buf_init(&a->reply, 64 << 10);
    nf->head->attempts++;
    int rc = nf->kind->build(nf, nf->head, &a->req, &err);
    if (rc == 0) {
        nf->attempt = a;
        rc = nf->kind->is_exec ? notify__exec_start(a, &err) : notify__curl_start(a, &err);
        if (rc == 0)
            return;
        nf->attempt = NULL;
    }
    notify__attempt_free(a); /* still attached: the transport kept nothing */
    fail_attempt(nf, err.msg[0] ? err.msg : "cannot start the delivery");
}

/* ---- notifiers ---------------------------------------------------------------------------- */
static void nf_closed(uv_handle_t *h)
{
    struct notifier *nf = h->data;
    if (--nf->closing)
        return;
    struct notify_set *set = nf->set;
    while (nf->head)
        pop_head(nf);
    for (size_t i = 0; i < nf->npending; i++)
        notify__alert_fini(&nf->pending[i]);
    free(nf->pending);
    notify__strv_free(&nf->spec_mem);
    notify__strv_free(&nf->secrets);
    free(nf);
    notify__unref(set);
}

/* Cancel the delivery in flight (an exec child stays until reported) and close the timers. */
static void nf_remove(struct notifier *nf)
{
    nf->is_removed = true;
    struct notify_attempt *a = nf->attempt;
    if (a) {
        nf->attempt = NULL;
        a->nf = NULL;
        nf->set->refs++;
        if (nf->kind->is_exec) {
            notify__exec_cancel(a);
        } else {
            notify__curl_cancel(a);
            notify__attempt_free(a);
        }
    }
    nf->closing = 2;
    uv_close((uv_handle_t *)&nf->group_timer, nf_closed);
    uv_close((uv_handle_t *)&nf->retry_timer, nf_closed);
}

static void nf_set_spec(struct notifier *nf, const struct notify_spec *s)
{
    struct notify_strv old = nf->spec_mem;
    memset(&nf->spec_mem, 0, sizeof nf->spec_mem);
    spec_copy(&nf->spec, &nf->spec_mem, s);
    notify__strv_free(&old);
    nf->kind = kinds[s->kind];
    notify__strv_free(&nf->secrets);
    notify__spec_secrets(&nf->spec, &nf->secrets);
    const char *t = nf->spec.url;
    if (s->kind == NOTIFY_EMAIL)
        t = nf->spec.email.smtp;
    else if (s->kind == NOTIFY_EXEC)
        t = nf->spec.cmd ? nf->spec.cmd : nf->spec.argv[0];
    notify__scrub(&nf->secrets, t, nf->target, sizeof nf->target);
}

static struct notifier *nf_new(struct notify_set *set, const struct notify_spec *s)
{
    struct notifier *nf = xcalloc(1, sizeof *nf);
    nf->set = set;
    nf_set_spec(nf, s);
    uv_timer_init(set->loop, &nf->group_timer);
    uv_timer_init(set->loop, &nf->retry_timer);
    nf->group_timer.data = nf;
    nf->retry_timer.data = nf;
    set->refs++;
    return nf;
}

static struct notifier *nf_find(const struct notify_set *set, const char *name)
{
    for (struct notifier *nf = set->list; nf; nf = nf->next)
        if (str_eq(nf->spec.name, name))
            return nf;
    return NULL;
}

/* ---- the set ------------------------------------------------------------------------------ */
int notify_set_new(uv_loop_t *loop, const struct notify_opts *opts, struct notify_set **out,
                   struct err *err)
{
    struct notify_set *set = xcalloc(1, sizeof *set);
    set->loop = loop;
    if (opts)
        set->opts = *opts;
    if (opts && opts->host)
        str_copy(set->host, opts->host, sizeof set->host);
    else if (gethostname(set->host, sizeof set->host - 1) < 0)
        str_copy(set->host, "localhost", sizeof set->host);
    set->opts.host = set->host;
    uv_timer_init(loop, &set->close_timer);
    set->refs = 1; /* the close timer: its close callback runs the last unref, from the loop */
    set->rng = (((uint64_t)clock_wall_ms() * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)getpid()) | 1;
    *out = set;
    return 0;
}

static int check_spec(const struct notify_set *set, const struct notify_spec *specs, size_t i,
                      struct err *err)
{
    const struct notify_spec *s = &specs[i];
    if (!s->name || !*s->name)
        return err_set(err, -TE_CONFIG, "notifier %zu has no name", i + 1);
    for (size_t j = 0; j < i; j++)
        if (str_eq(specs[j].name, s->name))
            return err_set(err, -TE_CONFIG, "notifier \"%s\" is defined twice", s->name);
    if (s->kind >= NOTIFY_NKINDS)
        return err_set(err, -TE_CONFIG, "notifier \"%s\" has no kind", s->name);
    if (kinds[s->kind]->is_exec && !set->opts.watch_child)
        return err_set(err, -TE_CONFIG, "notifier \"%s\": exec needs a child watcher", s->name);
    int rc = kinds[s->kind]->check(s, err);
    if (rc < 0)
        err_prefix(err, "notifier \"%s\"", s->name);
    return rc;
}

int notify_set_configure(struct notify_set *set, const struct notify_spec *specs, size_t n,
                         struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = check_spec(set, specs, i, err);
        if (rc < 0)
            return rc;
    }
    struct notifier *keepers = NULL, **tailp = &keepers;
    for (size_t i = 0; i < n; i++) {
        struct notifier **pp = &set->list, *nf;
        while ((nf = *pp) &&
               !(str_eq(nf->spec.name, specs[i].name) && nf->spec.kind == specs[i].kind))
            pp = &nf->next;
        if (nf) {
            *pp = nf->next;
            nf_set_spec(nf, &specs[i]);
        } else {
            nf = nf_new(set, &specs[i]);
        }
        nf->next = NULL;
        *tailp = nf;
        tailp = &nf->next;
    }
    for (struct notifier *nf = set->list, *next; nf; nf = next) {
        next = nf->next;
        nf_remove(nf);
    }
    set->list = keepers;
    return 0;
}

void notify__unref(struct notify_set *set)
{
    assert(set->refs > 0);
    if (--set->refs || !set->is_closing)
        return;
    void (*cb)(void *) = set->closed;
    void *arg = set->closed_arg;
    free(set);
    if (cb)
        cb(arg);
}

static void set_timer_closed(uv_handle_t *h)
{
    notify__unref(container_of((uv_timer_t *)h, struct notify_set, close_timer));
}

void notify_set_close(struct notify_set *set, void (*closed)(void *arg), void *arg)
{
    set->is_closing = true;
    set->closed = closed;
    set->closed_arg = arg;
    for (struct notifier *nf = set->list, *next; nf; nf = next) {
        next = nf->next;
        nf_remove(nf);
    }
    set->list = NULL;
    notify__curl_close(set);
    uv_close((uv_handle_t *)&set->close_timer, set_timer_closed);
}

int notify_send(struct notify_set *set, const char *name, const struct notify_alert *alerts,
                size_t n, struct err *err)
{
    for (size_t i = 0; i < n; i++)
        if (!alerts[i].name && !alerts[i].rule)
            return err_set(err, -TE_INVALID, "alert %zu has neither name nor rule", i + 1);
    if (name && !nf_find(set, name))
        return err_set(err, -TE_NOTFOUND, "no notifier named \"%s\"", name);
    for (struct notifier *nf = set->list; nf; nf = nf->next) {
        if (name && !str_eq(nf->spec.name, name))
            continue;
        size_t added = 0;
        for (size_t i = 0; i < n; i++) {
            if (alerts[i].state == NOTIFY_RESOLVED && !nf->spec.send_resolved)
                continue;
            if (nf->npending == nf->pending_cap) {
                nf->pending_cap = nf->pending_cap ? nf->pending_cap * 2 : 8;
                nf->pending = xrealloc(nf->pending, nf->pending_cap * sizeof *nf->pending);
            }
            notify__alert_copy(&nf->pending[nf->npending++], &alerts[i]);
            added++;
        }
        if (added && !uv_is_active((uv_handle_t *)&nf->group_timer))
            uv_timer_start(&nf->group_timer, on_group, nf->spec.group_wait_ms, 0);
    }
    return 0;
}

/* ---- status ------------------------------------------------------------------------------- */
static json_t *ms_or_null(int64_t ms)
{
    return ms ? json_integer(ms) : json_null();
}

json_t *notify_set_status(const struct notify_set *set)
{
    json_t *arr = json_array();
    uint64_t now = uv_now(set->loop);
    for (const struct notifier *nf = set->list; nf; nf = nf->next) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(nf->spec.name));
        json_object_set_new(o, "kind", json_string(nf->kind->name));
        json_object_set_new(o, "target", json_string(nf->target));
        json_object_set_new(o, "queued", json_integer((json_int_t)nf->queued));
        json_object_set_new(o, "pending", json_integer((json_int_t)nf->npending));
        json_object_set_new(o, "in_flight", json_boolean(nf->attempt != NULL));
        json_object_set_new(o, "attempt", json_integer(nf->head ? nf->head->attempts : 0));
        json_object_set_new(o, "sent", json_integer((json_int_t)nf->sent));
        json_object_set_new(o, "failed", json_integer((json_int_t)nf->failed));
        json_object_set_new(o, "gave_up", json_integer((json_int_t)nf->gave_up));
        json_object_set_new(o, "dropped", json_integer((json_int_t)nf->dropped));
        json_object_set_new(o, "last_ok", ms_or_null(nf->last_ok_ms));
        json_object_set_new(o, "last_error_at", ms_or_null(nf->last_error_ms));
        json_object_set_new(o, "last_error",
                            nf->last_error[0] ? json_string(nf->last_error) : json_null());
        json_t *retry = json_null();
        if (uv_is_active((const uv_handle_t *)&nf->retry_timer))
            retry =
                json_integer(nf->retry_due_mono > now ? (json_int_t)(nf->retry_due_mono - now) : 0);
        json_object_set_new(o, "next_retry_in_ms", retry);
        json_array_append_new(arr, o);
    }
    return arr;
}
