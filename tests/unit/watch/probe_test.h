/* tests/unit/watch/probe_test.h: what the probe tests share.
 *
 * A loop, the child hook (the module never reaps: here a 5 ms uv timer polls the registered pids
 * with waitpid(WNOHANG), the stand-in for the daemon's sup_child_watch), peers started from
 * tests/unit/watch/peers.py (each prints PORT=<n> first and is stopped by pid), and a recorder
 * that keeps every result of a probe with the loop time it arrived, so tests assert on
 * transitions and timing. Waits run the loop with a deadline, never sleep. */
#ifndef TEND_PROBE_TEST_H
#define TEND_PROBE_TEST_H

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "core/err.h"
#include "core/util.h"
#include "unit.h"
#include "watch/probe.h"

extern char **environ;

static uv_loop_t *loop;
static struct probe_sched *sched;

struct child_watch {
    pid_t pid;
    probe_child_fn *cb;
    void *arg;
};
static struct child_watch child_watches[64];
static uv_timer_t reap_timer;

static int test_watch(void *ctx, pid_t pid, probe_child_fn *cb, void *arg)
{
    (void)ctx;
    for (size_t i = 0; i < 64; i++) {
        if (child_watches[i].pid == 0) {
            child_watches[i] = (struct child_watch){pid, cb, arg};
            return 0;
        }
    }
    return -1;
}

static void reap(uv_timer_t *t)
{
    (void)t;
    for (size_t i = 0; i < 64; i++) {
        int status;
        struct child_watch w = child_watches[i];
        if (w.pid && waitpid(w.pid, &status, WNOHANG) == w.pid) {
            child_watches[i].pid = 0;
            w.cb(w.arg, w.pid, status);
        }
    }
}

/* Every result of one probe, in order. */
#define REC_MAX 256
struct rec {
    int n, changes;
    struct probe_state st[REC_MAX]; /* copies */
    uint64_t at[REC_MAX];           /* uv_now() when it arrived */
    bool is_change[REC_MAX];
};

static void rec_cb(void *arg, struct watch_probe *p, const struct probe_state *st, bool is_change)
{
    struct rec *r = arg;
    if (getenv("VERBOSE")) /* VERBOSE=1 shows what a user would read */
        fprintf(stderr, "  [%s] %s %u ms: %s\n", probe_name(p), probe_status_name(st->status),
                st->latency_ms, st->msg);
    if (r->n < REC_MAX) {
        r->st[r->n] = *st;
        r->at[r->n] = uv_now(loop);
        r->is_change[r->n] = is_change;
    }
    r->n++;
    r->changes += is_change;
}

static inline const struct probe_state *rec_last(const struct rec *r)
{
    return r->n ? &r->st[MIN(r->n, REC_MAX) - 1] : NULL;
}

/* Run the loop until cond holds or ms pass; the condition's value. The loop's clock is brought
 * up to date first: starting peers outside the loop can take seconds on a loaded machine. */
#define RUN_UNTIL(cond, ms)                                                                        \
    ({                                                                                             \
        uv_update_time(loop);                                                                      \
        uint64_t deadline_ = uv_now(loop) + (ms);                                                  \
        while (!(cond) && uv_now(loop) < deadline_)                                                \
            uv_run(loop, UV_RUN_ONCE);                                                             \
        (cond);                                                                                    \
    })

static void pulse(uv_timer_t *t)
{
    (void)t;
}
static uv_timer_t pulse_timer; /* keeps the loop waking up while a test waits */

static inline void test_init(void)
{
    unit_cur = "setup";
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    uv_timer_init(loop, &reap_timer);
    uv_timer_start(&reap_timer, reap, 5, 5);
    uv_timer_init(loop, &pulse_timer);
    uv_timer_start(&pulse_timer, pulse, 20, 20);
    struct probe_sched_opts o = {.watch_child = test_watch};
    struct err err = {0};
    if (probe_sched_new(loop, &o, &sched, &err) < 0)
        UNIT_FAIL("probe_sched_new: %s", err.msg);
}

static void sched_closed(void *arg)
{
    *(bool *)arg = true;
}

/* Close the scheduler (every probe freed before) and the loop; leaks show under ASan. */
static inline void test_fini(void)
{
    bool closed = false;
    unit_cur = "teardown";
    probe_sched_close(sched, sched_closed, &closed);
    if (!RUN_UNTIL(closed, 10000))
        UNIT_FAIL("the scheduler did not close within 10 s");
    uv_close((uv_handle_t *)&reap_timer, NULL);
    uv_close((uv_handle_t *)&pulse_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    if (uv_loop_close(loop) != 0)
        UNIT_FAIL("handles left open on the loop");
}

/* A probe recording into r; spec defaults: interval 1 s, timeout 500 ms. */
static inline struct watch_probe *start_probe(struct probe_spec *spec, struct rec *r)
{
    struct watch_probe *p = NULL;
    struct err err = {0};
    if (!spec->name)
        spec->name = "test";
    if (!spec->interval_ms)
        spec->interval_ms = 1000;
    if (!spec->timeout_ms)
        spec->timeout_ms = 500;
    uv_update_time(loop);
    if (probe_new(sched, spec, rec_cb, r, &p, &err) < 0)
        UNIT_FAIL("probe_new: %s", err.msg);
    return p;
}

/* The first result of a fresh probe of `spec` (freed afterwards), copied into *out. */
static inline bool probe_once(struct probe_spec *spec, struct probe_state *out)
{
    static struct rec r;
    memset(&r, 0, sizeof r);
    struct watch_probe *p = start_probe(spec, &r);
    if (!p)
        return false;
    bool got = RUN_UNTIL(r.n > 0, 10000);
    if (got)
        *out = r.st[0];
    else
        UNIT_FAIL("no result within 10 s");
    probe_free(p);
    return got;
}

/* Start `python3 peers.py args...` and read its port. 0 with *pid and *port. */
static inline int peer_start(const char *mode, const char *arg, pid_t *pid, int *port)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    const char *argv[] = {"python3", "tests/unit/watch/peers.py", mode, arg, NULL};
    int rc = posix_spawnp(pid, "python3", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    char line[64] = {0};
    size_t n = 0;
    while (n + 1 < sizeof line && read(fds[0], line + n, 1) == 1 && line[n] != '\n')
        n++;
    close(fds[0]);
    if (sscanf(line, "PORT=%d", port) != 1) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
        return -1;
    }
    return 0;
}

static inline void peer_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* Does the message contain the text? A failed check prints the whole message. */
#define CHECK_MSG(st, text)                                                                        \
    do {                                                                                           \
        if (!strstr((st)->msg, (text)))                                                            \
            UNIT_FAIL("message \"%s\" lacks \"%s\"", (st)->msg, (text));                           \
    } while (0)

static inline double metric(const struct probe_state *st, const char *name)
{
    for (size_t i = 0; i < st->nmetrics; i++)
        if (strcmp(st->metrics[i].name, name) == 0)
            return st->metrics[i].value;
    return -1e9;
}

#endif
