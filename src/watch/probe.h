/* watch/probe.h: probes, one small interface for every kind (http, tcp, tls, disk, file_age,
 * exec, postgres, redis), all asynchronous on one uv loop.
 *
 * A probe is one configured check (a `checks:` entry, or an app instance's `health:`). The
 * driver (probe.c) owns everything common: one timer per probe, a jittered first run, runs every
 * `interval` (start to start), the timeout (enforced here even if a kind misbehaves: the attempt
 * is cancelled, reported failing "timed out after 5 s", and a late answer is ignored), latency,
 * consecutive failures, "since when", liveness (failures + grace) and the JSON export. A kind
 * (probe_<kind>.c) runs one attempt and says ok/failing with a message a person understands.
 *
 * Adding a kind is one file and one line (as backup/target.c):
 *   1. its options struct in the union of struct probe_spec below, and an enum probe_kind_id
 *      member (values only grow: they are stored);
 *   2. src/watch/probe_<kind>.c defining `const struct probe_kind probe_<kind>` (contract in
 *      the last section of this header);
 *   3. one line in the kinds[] table of probe.c; tests in tests/unit/watch/test_probe_<kind>.c.
 *
 * Threads: everything here runs on the loop thread; a kind that must block (glob, statfs) does
 * it with uv_queue_work / uv_fs_* and reports from the loop. Children (exec) are never reaped
 * here: their exit comes through the owner's watch_child hook (the daemon's sup_child_watch). */
#ifndef TEND_WATCH_PROBE_H
#define TEND_WATCH_PROBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

struct err;
struct curl_uv;
struct probe_sched; /* one per loop, owned by the daemon (watch) */
struct watch_probe; /* one configured check, owned by whoever called probe_new() */
struct probe_run;   /* one attempt, shared by probe.c and the kind until both let go */

/* ---- what a probe checks: the runtime spec (config/ adapts tend.yaml into it) ------------- */
enum probe_kind_id {
    PROBE_HTTP,
    PROBE_TCP,
    PROBE_TLS,
    PROBE_DISK,
    PROBE_FILE_AGE,
    PROBE_EXEC,
    PROBE_POSTGRES,
    PROBE_REDIS,
    PROBE_NKINDS /* stored values only grow (STYLE 11.4) */
};
struct probe_kv {
    const char *key, *value;
};
/* Inclusive: {200, 299}; a single code is {204, 204}. */
struct probe_range {
    int lo, hi;
};

/* Strings are borrowed for probe_new() only: each kind copies what it keeps. A zeroed struct
 * means the defaults written beside each field. */
struct probe_http_spec {
    const char *url;                  /* required */
    const char *method;               /* default "GET" */
    const struct probe_range *status; /* default 200-399 */
    size_t nstatus;
    const char *body;            /* substring the body must contain, or NULL */
    const struct probe_kv *json; /* "a.b" = "value": the field's text must equal value */
    size_t njson;
    const struct probe_kv *headers; /* "Authorization" = "Bearer ..." */
    size_t nheaders;
    uint32_t latency_ms;  /* slower than this = failing; 0 = no limit */
    bool skip_tls_verify; /* tls_verify: false (verification is on by default) */
};
struct probe_tcp_spec {
    const char *address; /* "host:port" or "[v6]:port"; required */
    const char *send;    /* written after connecting, or NULL */
    const char *expect;  /* the reply (banner) must contain it, or NULL */
};
struct probe_tls_spec {
    const char *host;       /* required */
    int port;               /* default 443 */
    const char *servername; /* sent as SNI; default host */
    int days;               /* failing when fewer days are left; default 14 */
};
struct probe_disk_spec {
    const char *path;           /* any path on the mount; required */
    double max_used_pct;        /* failing above; default 85 */
    double min_free_inodes_pct; /* failing below; default 5 */
};
struct probe_file_age_spec {
    const char *glob;    /* glob(3) pattern; required */
    uint64_t max_age_ms; /* the newest match must be younger; required */
};
struct probe_exec_spec {
    const char *cmd;         /* run by /bin/sh -c; or NULL and argv */
    const char *const *argv; /* NULL-terminated; argv[0] searched in PATH */
    const char *cwd;         /* default: the daemon's */
};
struct probe_postgres_spec {
    const char *url;   /* postgresql://user@host:port/db; required */
    const char *query; /* default "SELECT 1" */
};
struct probe_redis_spec {
    const char *url; /* redis://[:password@]host:port/db; required */
};

struct probe_spec {
    const char *name; /* "api-health", or the owner's label "api:2 health"; required */
    enum probe_kind_id kind;
    uint32_t interval_ms; /* default 30 s (min 100 ms) */
    uint32_t timeout_ms;  /* default 5 s; must be shorter than interval */
    uint32_t failures;    /* liveness: a restart is due after this many in a row; 0 = never */
    uint32_t grace_ms;    /* no liveness decision this long after probe_reset() */
    union {
        struct probe_http_spec http;
        struct probe_tcp_spec tcp;
        struct probe_tls_spec tls;
        struct probe_disk_spec disk;
        struct probe_file_age_spec file_age;
        struct probe_exec_spec exec;
        struct probe_postgres_spec postgres;
        struct probe_redis_spec redis;
    } u;
};

/* ---- what a probe found -------------------------------------------------------------------- */
enum probe_status { PROBE_PENDING, PROBE_OK, PROBE_FAILING }; /* PENDING: no result yet */
#define PROBE_MSG_MAX 256
#define PROBE_MAX_METRICS 6
struct probe_metric {
    const char *name; /* a string literal: "days_left", "used_pct", "connections" */
    double value;
};
/* Owned by its probe; read it through probe_state(). */
struct probe_state {
    enum probe_status status;
    int64_t since_wall_ms;         /* when the current status began (0 while pending) */
    int64_t last_wall_ms;          /* when the last result came (0 = none yet) */
    uint32_t latency_ms;           /* of the last attempt */
    uint32_t consecutive_failures; /* 0 after an ok */
    uint64_t runs, failed_runs;
    bool is_liveness_due;    /* failures > 0, reached, and the grace period is over */
    char msg[PROBE_MSG_MAX]; /* "HTTP 503 from http://127.0.0.1:3000/health (12 ms)" */
    struct probe_metric metrics[PROBE_MAX_METRICS];
    size_t nmetrics;
};

/* ---- the scheduler (one per loop) ------------------------------------------------------- */
typedef void probe_child_fn(void *arg, pid_t pid, int status);
/* Report the exit of `pid` to cb(arg, ...) later, from the loop: 0, or < 0 if it cannot. The
 * same shape as backup_watch_fn: the daemon passes sup_child_watch(). */
typedef int probe_watch_fn(void *ctx, pid_t pid, probe_child_fn *cb, void *arg);

#define PROBE_JITTER_MS 10000 /* what the daemon passes as jitter_ms */
struct probe_sched_opts {
    probe_watch_fn *watch_child; /* required for exec probes (else they fail with a message) */
    void *watch_ctx;
    struct curl_uv *curl; /* a shared multi handle (borrowed), or NULL: made on first use */
    uint32_t jitter_ms;   /* first run at a random moment in [0, min(jitter, interval)) */
};
/* 0 with *out, or < 0 with err. opts copied. */
int probe_sched_new(uv_loop_t *loop, const struct probe_sched_opts *opts, struct probe_sched **out,
                    struct err *err);
/* Every probe must have been freed. Calls closed(arg) from the loop once every attempt,
 * handle and the curl multi (if made here) is released, then frees the scheduler. */
void probe_sched_close(struct probe_sched *s, void (*closed)(void *arg), void *arg);

/* ---- probes ---------------------------------------------------------------------------- */
/* Called from the loop after every attempt. `is_change`: the status differs from the previous
 * one (pending -> ok counts). `st` is borrowed for the call. The callback may free the probe. */
typedef void probe_result_fn(void *arg, struct watch_probe *p, const struct probe_state *st,
                             bool is_change);

/* Check the spec (the kind validates its options: "check \"api\": http: url is required"),
 * copy what is kept, and schedule the probe (first run jittered). 0 with *out, or < 0 (-TE_INVALID
 * mostly) with err; on_result may be NULL. */
int probe_new(struct probe_sched *s, const struct probe_spec *spec, probe_result_fn *on_result,
              void *arg, struct watch_probe **out, struct err *err);
/* Stop: a running attempt is cancelled, on_result is never called again. NULL is a no-op. The
 * memory is released later from the loop (probe_sched_close waits for it). */
void probe_free(struct watch_probe *p);
/* Start an attempt now unless one is running (readiness, `tend checks --run`); the next one
 * follows `interval` later. */
void probe_run_now(struct watch_probe *p);
/* The instance behind the probe (re)started: consecutive failures back to 0, and the grace
 * period starts now. The status and its "since" stay. */
void probe_reset(struct watch_probe *p);

const struct probe_state *probe_state(const struct watch_probe *p);
const char *probe_name(const struct watch_probe *p);
enum probe_kind_id probe_kind(const struct watch_probe *p);
/* {"name","kind","target","status","since","last","latency_ms","consecutive_failures","runs",
 *  "failed_runs","message","metrics":{..},"interval_ms","timeout_ms"}; times ISO 8601 or null.
 * A new reference (the caller decrefs). */
json_t *probe_to_json(const struct watch_probe *p);

const char *probe_status_name(enum probe_status s); /* "pending", "ok", "failing" */
const char *probe_kind_name(enum probe_kind_id k);  /* "http", ..., "file_age", ... */
/* "http" -> PROBE_HTTP; -TE_NOTFOUND for an unknown word. */
int probe_kind_parse(const char *name, enum probe_kind_id *out);

/* ---- the kind interface (for probe_<kind>.c only) --------------------------------------- */
/* An attempt: start() either returns < 0 with err (the attempt is reported failing with that
 * message; the kind holds nothing) or returns 0 and then, from the loop (or from inside start()
 * itself), calls probe_run_report() at most once and probe_run_release() exactly once, when it
 * holds no resource of the attempt any more (after its handles' close callbacks). cancel() is
 * called at most once, only before a report (timeout, probe_free): the kind stops its work and
 * releases; a report after cancel is ignored. The run (and the probe's state) stays valid until
 * the kind's release. */
struct probe_kind {
    const char *name;  /* the word in tend.yaml: "http" */
    size_t state_size; /* per-probe private state, zeroed, freed with the probe */
    size_t run_size;   /* per-attempt private data, zeroed, freed with the run */
    /* Validate spec->u.<kind> and copy what is kept into state (spec is borrowed); set the
     * target shown by `tend checks` with probe_set_target(). err: "http: url is required". */
    int (*init)(struct watch_probe *p, const struct probe_spec *spec, void *state, struct err *err);
    void (*fini)(void *state); /* free what init copied; may be NULL */
    int (*start)(struct probe_run *run, struct err *err);
    void (*cancel)(struct probe_run *run);
    /* Optional: the timeout message, a format taking the target and the timeout as two %s;
     * default "no answer from %s within %s (timeout)". */
    const char *late;
};
extern const struct probe_kind probe_http, probe_tcp, probe_tls, probe_disk, probe_file_age,
    probe_exec, probe_postgres, probe_redis;

void probe_set_target(struct watch_probe *p, const char *target); /* "127.0.0.1:5432" (copied) */
void *probe_run_state(struct probe_run *r);                       /* the probe's kind state */
void *probe_run_data(struct probe_run *r);         /* this attempt's run_size bytes */
struct probe_run *probe_run_from_data(void *data); /* back from probe_run_data() */
uv_loop_t *probe_run_loop(struct probe_run *r);
const char *probe_run_name(struct probe_run *r);    /* the probe's name, for messages */
uint32_t probe_run_timeout_ms(struct probe_run *r); /* a backstop to give libraries */
bool probe_run_is_cancelled(struct probe_run *r);
/* The loop's libcurl multi (libcurl loaded on first use): 0 with *out, or < 0 with err. */
int probe_run_curl(struct probe_run *r, struct curl_uv **out, struct err *err);
/* The owner's watch_child hook: 0, or < 0 (no hook, or it refused). */
int probe_run_watch_child(struct probe_run *r, pid_t pid, probe_child_fn *cb, void *arg);
/* Attach a number to the coming report ("days_left", 41); at most PROBE_MAX_METRICS. */
void probe_run_metric(struct probe_run *r, const char *name, double value);
/* The attempt's answer: PROBE_OK or PROBE_FAILING and one sentence without the probe's name
 * ("HTTP 503 from ..."). Latency is measured by the driver from start() to this call. */
void probe_run_report(struct probe_run *r, enum probe_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void probe_run_release(struct probe_run *r);

/* Tests: probe_new() with `kind` instead of the table's (kinds that misbehave on purpose). The
 * probe's kind name is still spec->kind's. */
int probe__new_kind(struct probe_sched *s, const struct probe_spec *spec,
                    const struct probe_kind *kind, probe_result_fn *on_result, void *arg,
                    struct watch_probe **out, struct err *err);

#endif
