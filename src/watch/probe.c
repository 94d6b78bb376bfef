/* watch/probe.c: the probe driver: schedule, timeout, counting, recording (STYLE 6).
 *
 * Each probe has one uv timer doing two jobs in turn: while idle it waits for the next start
 * (start to start = interval; the first start is jittered so a hundred checks loaded together do
 * not all fire at once); while an attempt runs it waits for the deadline (timeout < interval).
 * A kind only runs attempts; whatever it does, the deadline here ends the attempt: the run is
 * marked done, the kind is told to cancel, and anything it reports later is dropped.
 *
 * Lifetimes: a probe counts references (the owner until probe_free, its timer until closed, and
 * each run until freed), so a run a kind still holds (closing its sockets, a statfs stuck on a
 * dead NFS mount) never points at freed memory. A run counts two (the driver until the attempt
 * is over for it, the kind until probe_run_release). A probe whose cancelled attempt is still
 * held refuses to start another (one stuck kind cannot pile up attempts, threads or sockets).
 *
 * Invariants: at most one undecided run per probe (p->run); on_result runs once per attempt
 * and never after probe_free; the scheduler is freed only once every probe, run and the curl
 * handle it made are released. */
#include "watch/probe.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/util.h"
#include "watch/curl_uv.h"


static const struct probe_kind *const kinds[PROBE_NKINDS] = {
    [PROBE_HTTP] = &probe_http,         [PROBE_TCP] = &probe_tcp,
    [PROBE_TLS] = &probe_tls,           [PROBE_DISK] = &probe_disk,
    [PROBE_FILE_AGE] = &probe_file_age, [PROBE_EXEC] = &probe_exec,
    [PROBE_POSTGRES] = &probe_postgres, [PROBE_REDIS] = &probe_redis,
};
static const char *const kind_names[PROBE_NKINDS] = {
    [PROBE_HTTP] = "http",         [PROBE_TCP] = "tcp",           [PROBE_TLS] = "tls",
    [PROBE_DISK] = "disk",         [PROBE_FILE_AGE] = "file_age", [PROBE_EXEC] = "exec",
    [PROBE_POSTGRES] = "postgres", [PROBE_REDIS] = "redis",
};
static const char *const status_names[] = {
    [PROBE_PENDING] = "pending", [PROBE_OK] = "ok", [PROBE_FAILING] = "failing"};

/* Owned by the daemon (watch). */
struct probe_sched {
    uv_loop_t *loop;
    struct probe_sched_opts o;
    struct curl_uv *curl; /* o.curl, or made on first use */
    bool owns_curl;
    int nlive;    /* probes not yet freed by their owner */
    int nprobes;  /* probes not yet released */
    uint64_t rng; /* xorshift state for the jitter */
    bool is_closing;
    void (*closed)(void *arg);
    void *closed_arg;
};

/* Owned by the caller of probe_new(); released when refs drops to 0. */
struct watch_probe {
    struct probe_sched *s;
    const struct probe_kind *kind;
    enum probe_kind_id kind_id;
    char *name, *target;
    uint32_t interval_ms, timeout_ms, failures, grace_ms;
    probe_result_fn *on_result;
    void *arg;
    uv_timer_t timer;
    struct probe_run *run; /* the undecided attempt, or NULL */
    int nstuck;            /* cancelled runs the kind still holds */
    int refs;
    bool is_freed;
    uint64_t next_start_ms; /* uv_now() of the next start */
    uint64_t grace_end_ms;  /* no liveness decision before this uv_now() */
    struct probe_state st;
    void *state; /* the kind's, state_size bytes */
};

/* Shared by the driver and the kind (see the top). */
struct probe_run {
    struct watch_probe *p;
    int refs;
    bool is_done; /* decided: reported, timed out or cancelled */
    bool is_cancelled;
    uint64_t start_ns; /* uv_hrtime() at start */
    struct probe_metric metrics[PROBE_MAX_METRICS];
    size_t nmetrics;
    max_align_t data[]; /* the kind's run_size bytes */
};

static void on_timer(uv_timer_t *t);

const char *probe_status_name(enum probe_status s)
{
    return (unsigned)s < ARRAY_LEN(status_names) ? status_names[s] : "unknown";
}

const char *probe_kind_name(enum probe_kind_id k)
{
    return (unsigned)k < PROBE_NKINDS ? kind_names[k] : "unknown";
}

int probe_kind_parse(const char *name, enum probe_kind_id *out)
{
    for (int k = 0; k < PROBE_NKINDS; k++) {
        if (strcmp(kind_names[k], name) == 0) {
            *out = (enum probe_kind_id)k;
            return 0;
        }
    }
    return -TE_NOTFOUND;
}

/* "500 ms", "5 s", "2.5 s", "3 min": durations as people write them. */
static void fmt_ms(char *dst, size_t size, uint64_t ms)
{
    if (ms < 1000)
        snprintf(dst, size, "%llu ms", (unsigned long long)ms);
    else if (ms % 60000 == 0)
        snprintf(dst, size, "%llu min", (unsigned long long)(ms / 60000));
    else if (ms % 1000 == 0)
        snprintf(dst, size, "%llu s", (unsigned long long)(ms / 1000));
    else
        snprintf(dst, size, "%.1f s", (double)ms / 1000);
}

/* ---- the scheduler ------------------------------------------------------------------------ */
int probe_sched_new(uv_loop_t *loop, const struct probe_sched_opts *opts, struct probe_sched **out,
                    struct err *err)
{
    (void)err;
    struct probe_sched *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    if (opts)
        s->o = *opts;
    s->curl = s->o.curl;
    s->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)s;
    if (!s->rng)
        s->rng = 0x9e3779b97f4a7c15ULL;
    *out = s;
    return 0;
}

static void sched_finish(void *arg)
{
    struct probe_sched *s = arg;
    void (*closed)(void *) = s->closed;
    void *closed_arg = s->closed_arg;
    free(s);
    if (closed)
        closed(closed_arg);
}

static void sched_maybe_closed(struct probe_sched *s)
{
    if (!s->is_closing || s->nprobes > 0)
        return;
    if (s->owns_curl && s->curl) {
        struct curl_uv *cu = s->curl;
        s->curl = NULL;
        curl_uv_close(cu, sched_finish, s);
        return;
    }
    sched_finish(s);
}

void probe_sched_close(struct probe_sched *s, void (*closed)(void *arg), void *arg)
{
    assert(s->nlive == 0); /* the owner frees its probes first */
    s->is_closing = true;
    s->closed = closed;
    s->closed_arg = arg;
    sched_maybe_closed(s);
}

static uint64_t sched_random(struct probe_sched *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

/* ---- references ---------------------------------------------------------------------------- */
static void probe_unref(struct watch_probe *p)
{
    assert(p->refs > 0);
    if (--p->refs > 0)
        return;
    struct probe_sched *s = p->s;
    if (p->kind->fini)
        p->kind->fini(p->state);
    free(p->state);
    free(p->name);
    free(p->target);
    free(p);
    s->nprobes--;
    sched_maybe_closed(s);
}

static void run_unref(struct probe_run *r)
{
    assert(r->refs > 0);
    if (--r->refs > 0)
        return;
    struct watch_probe *p = r->p;
    if (r->is_cancelled)
        p->nstuck--;
    free(r);
    probe_unref(p);
}

static void timer_closed(uv_handle_t *h)
{
    probe_unref(container_of((uv_timer_t *)h, struct watch_probe, timer));
}

/* ---- recording ----------------------------------------------------------------------------- */
static void arm_next_start(struct watch_probe *p)
{
    if (p->is_freed)
        return;
    uint64_t now = uv_now(p->s->loop);
    uint64_t wait = p->next_start_ms > now ? p->next_start_ms - now : 0;
    uv_timer_start(&p->timer, on_timer, wait, 0);
}

/* The one place a result lands: counts, "since", liveness, then the owner's callback. */
static void record(struct watch_probe *p, enum probe_status status, uint32_t latency_ms,
                   const struct probe_metric *metrics, size_t nmetrics, const char *msg)
{
    struct probe_state *st = &p->st;
    bool is_change = st->status != status;
    int64_t now = clock_wall_ms();
    if (is_change)
        st->since_wall_ms = now;
    st->status = status;
    st->last_wall_ms = now;
    st->latency_ms = latency_ms;
    st->runs++;
    if (status == PROBE_FAILING) {
        st->failed_runs++;
        st->consecutive_failures++;
    } else {
        st->consecutive_failures = 0;
    }
    st->is_liveness_due = p->failures > 0 && st->consecutive_failures >= p->failures &&
                          uv_now(p->s->loop) >= p->grace_end_ms;
    snprintf(st->msg, sizeof st->msg, "%s", msg);
    st->nmetrics = nmetrics;
    if (nmetrics)
        memcpy(st->metrics, metrics, nmetrics * sizeof *metrics);
    arm_next_start(p);
    if (p->on_result && !p->is_freed)
        p->on_result(p->arg, p, st, is_change);
}

/* The driver lets go of an attempt: it is decided, and p may start another. */
static void decide(struct probe_run *r)
{
    r->is_done = true;
    if (r->p->run == r)
        r->p->run = NULL;
}

static uint32_t latency_of(const struct probe_run *r)
{
    uint64_t ms = (uv_hrtime() - r->start_ns) / 1000000;
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* ---- attempts ------------------------------------------------------------------------------ */
static void start_attempt(struct watch_probe *p)
{
    uint64_t now = uv_now(p->s->loop);
    p->next_start_ms = now + p->interval_ms;
    if (p->nstuck > 0) {
        /* A kind that ignores cancel must not get a second attempt in parallel. */
        char t[32];
        fmt_ms(t, sizeof t, p->timeout_ms);
        char msg[PROBE_MSG_MAX];
        snprintf(msg, sizeof msg,
                 "the previous attempt is still stuck after timing out (%s); not starting another",
                 t);
        record(p, PROBE_FAILING, 0, NULL, 0, msg);
        return;
    }
    struct probe_run *r = xcalloc(1, sizeof *r + p->kind->run_size);
    r->p = p;
    r->refs = 3; /* the driver's until decided, the kind's until released, and this call's */
    r->start_ns = uv_hrtime();
    p->refs++;
    p->run = r;
    uv_timer_start(&p->timer, on_timer, p->timeout_ms, 0);
    struct err err = {0};
    int rc = p->kind->start(r, &err);
    if (rc < 0) {
        r->refs--; /* the kind holds nothing */
        if (!r->is_done) {
            decide(r);
            record(p, PROBE_FAILING, latency_of(r), NULL, 0, err.msg[0] ? err.msg : err_str(rc));
            run_unref(r);
        }
    }
    /* else the kind may already have reported (and released) from inside start() */
    run_unref(r);
}

static void time_out(struct watch_probe *p)
{
    struct probe_run *r = p->run;
    decide(r);
    r->is_cancelled = true;
    p->nstuck++;
    p->kind->cancel(r);
    char t[32], msg[PROBE_MSG_MAX];
    fmt_ms(t, sizeof t, p->timeout_ms);
    const char *late = p->kind->late ? p->kind->late : "no answer from %s within %s (timeout)";
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* the kinds' constant tables only */
    snprintf(msg, sizeof msg, late, p->target ? p->target : p->name, t);
#pragma GCC diagnostic pop
    record(p, PROBE_FAILING, latency_of(r), NULL, 0, msg);
    run_unref(r);
}

static void on_timer(uv_timer_t *t)
{
    struct watch_probe *p = container_of(t, struct watch_probe, timer);
    if (p->run)
        time_out(p);
    else
        start_attempt(p);
}

/* ---- probes -------------------------------------------------------------------------------- */
int probe_new(struct probe_sched *s, const struct probe_spec *spec, probe_result_fn *on_result,
              void *arg, struct watch_probe **out, struct err *err)
{
    const char *name = spec->name && spec->name[0] ? spec->name : "(unnamed)";
    if ((unsigned)spec->kind >= PROBE_NKINDS)
        return err_set(err, -TE_INVALID, "check \"%s\": unknown probe kind %d", name, spec->kind);
    if (!kinds[spec->kind])
        return err_set(err, -TE_INVALID, "check \"%s\": %s probes are not built into this tend",
                       name, kind_names[spec->kind]);
    return probe__new_kind(s, spec, kinds[spec->kind], on_result, arg, out, err);
}

int probe__new_kind(struct probe_sched *s, const struct probe_spec *spec,
                    const struct probe_kind *kind, probe_result_fn *on_result, void *arg,
                    struct watch_probe **out, struct err *err)
{
    const char *name = spec->name && spec->name[0] ? spec->name : NULL;
    if (!name)
        return err_set(err, -TE_INVALID, "a check needs a name");
    uint32_t interval = spec->interval_ms ? spec->interval_ms : 30000;
    uint32_t timeout = spec->timeout_ms ? spec->timeout_ms : MIN(5000, interval / 2);
    if (interval < 100)
        return err_set(err, -TE_INVALID,
                       "check \"%s\": interval %u ms is too short (100 ms at least)", name,
                       interval);
    if (timeout >= interval) {
        char ti[32], iv[32];
        fmt_ms(ti, sizeof ti, timeout);
        fmt_ms(iv, sizeof iv, interval);
        err_set(err, -TE_INVALID, "check \"%s\": timeout %s must be shorter than interval %s", name,
                ti, iv);
        err_hint(err, "lower timeout or raise interval");
        return err->code;
    }
    struct watch_probe *p = xcalloc(1, sizeof *p);
    p->s = s;
    p->kind = kind;
    p->kind_id = spec->kind;
    p->name = strdup(name);
    p->interval_ms = interval;
    p->timeout_ms = timeout;
    p->failures = spec->failures;
    p->grace_ms = spec->grace_ms;
    p->on_result = on_result;
    p->arg = arg;
    p->state = xcalloc(1, kind->state_size ? kind->state_size : 1);
    if (!p->name)
        abort(); /* as xmalloc does: control structures only */
    int rc = kind->init(p, spec, p->state, err);
    if (rc < 0) {
        err_prefix(err, "check \"%s\"", name);
        if (kind->fini)
            kind->fini(p->state);
        free(p->state);
        free(p->name);
        free(p->target);
        free(p);
        return rc;
    }
    p->refs = 2; /* the owner's and the timer's */
    s->nlive++;
    s->nprobes++;
    uv_timer_init(s->loop, &p->timer);
    uint64_t now = uv_now(s->loop);
    uint32_t jitter = MIN(s->o.jitter_ms, interval);
    p->next_start_ms = now + (jitter ? sched_random(s) % jitter : 0);
    p->grace_end_ms = now + p->grace_ms;
    arm_next_start(p);
    *out = p;
    return 0;
}

void probe_free(struct watch_probe *p)
{
    if (!p || p->is_freed)
        return;
    p->is_freed = true;
    p->s->nlive--;
    struct probe_run *r = p->run;
    if (r) {
        decide(r);
        r->is_cancelled = true;
        p->nstuck++;
        p->kind->cancel(r);
        run_unref(r);
    }
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, timer_closed);
    probe_unref(p);
}

void probe_run_now(struct watch_probe *p)
{
    if (p->is_freed || p->run)
        return;
    uv_timer_stop(&p->timer);
    start_attempt(p);
}

void probe_reset(struct watch_probe *p)
{
    p->st.consecutive_failures = 0;
    p->st.is_liveness_due = false;
    p->grace_end_ms = uv_now(p->s->loop) + p->grace_ms;
}

const struct probe_state *probe_state(const struct watch_probe *p)
{
    return &p->st;
}

const char *probe_name(const struct watch_probe *p)
{
    return p->name;
}

enum probe_kind_id probe_kind(const struct watch_probe *p)
{
    return p->kind_id;
}

static json_t *time_json(int64_t wall_ms)
{
    if (!wall_ms)
        return json_null();
    char t[64];
    clock_iso8601(t, sizeof t, wall_ms, 0);
    return json_string(t);
}

json_t *probe_to_json(const struct watch_probe *p)
{
    const struct probe_state *st = &p->st;
    json_t *metrics = json_object();
    for (size_t i = 0; i < st->nmetrics; i++)
        json_object_set_new(metrics, st->metrics[i].name, json_real(st->metrics[i].value));
    return json_pack("{s:s, s:s, s:s?, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:s, s:o, s:I, s:I}",
                     "name", p->name, "kind", probe_kind_name(p->kind_id), "target", p->target,
                     "status", probe_status_name(st->status), "since", time_json(st->since_wall_ms),
                     "last", time_json(st->last_wall_ms), "latency_ms", (json_int_t)st->latency_ms,
                     "consecutive_failures", (json_int_t)st->consecutive_failures, "runs",
                     (json_int_t)st->runs, "failed_runs", (json_int_t)st->failed_runs, "message",
                     st->msg, "metrics", metrics, "interval_ms", (json_int_t)p->interval_ms,
                     "timeout_ms", (json_int_t)p->timeout_ms);
}

/* ---- the kind interface -------------------------------------------------------------------- */
void probe_set_target(struct watch_probe *p, const char *target)
{
    free(p->target);
    p->target = target ? strdup(target) : NULL;
}

void *probe_run_state(struct probe_run *r)
{
    return r->p->state;
}

void *probe_run_data(struct probe_run *r)
{
    return r->data;
}

struct probe_run *probe_run_from_data(void *data)
{
    return container_of((max_align_t *)data, struct probe_run, data[0]);
}

uv_loop_t *probe_run_loop(struct probe_run *r)
{
    return r->p->s->loop;
}

const char *probe_run_name(struct probe_run *r)
{
    return r->p->name;
}

uint32_t probe_run_timeout_ms(struct probe_run *r)
{
    return r->p->timeout_ms;
}

bool probe_run_is_cancelled(struct probe_run *r)
{
    return r->is_cancelled;
}

int probe_run_curl(struct probe_run *r, struct curl_uv **out, struct err *err)
{
    struct probe_sched *s = r->p->s;
    if (!s->curl) {
        int rc = curl_uv_new(s->loop, &s->curl, err);
        if (rc < 0)
            return rc;
        s->owns_curl = true;
    }
    *out = s->curl;
    return 0;
}

int probe_run_watch_child(struct probe_run *r, pid_t pid, probe_child_fn *cb, void *arg)
{
    struct probe_sched *s = r->p->s;
    if (!s->o.watch_child)
        return -TE_STATE;
    return s->o.watch_child(s->o.watch_ctx, pid, cb, arg);
}

void probe_run_metric(struct probe_run *r, const char *name, double value)
{
    for (size_t i = 0; i < r->nmetrics; i++) {
        if (strcmp(r->metrics[i].name, name) == 0) {
            r->metrics[i].value = value;
            return;
        }
    }
    if (r->nmetrics < PROBE_MAX_METRICS)
        r->metrics[r->nmetrics++] = (struct probe_metric){name, value};
}

void probe_run_report(struct probe_run *r, enum probe_status st, const char *fmt, ...)
{
    if (r->is_done)
        return; /* late: the timeout (or probe_free) decided already */
    char msg[PROBE_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct watch_probe *p = r->p;
    decide(r);
    record(p, st == PROBE_OK ? PROBE_OK : PROBE_FAILING, latency_of(r), r->metrics, r->nmetrics,
           msg);
    run_unref(r);
}

void probe_run_release(struct probe_run *r)
{
    run_unref(r);
}
