/* tests/unit/alert/notify_test.h: what the notifier tests share.
 *
 * Receivers are real servers on 127.0.0.1 started by the test (notify_receiver.py for HTTP,
 * notify_smtp.py for SMTP), each logging one JSON line per request into a temp folder, and
 * stopped by pid. The module never reaps; test_watch() keeps the exec children's pids and a 5 ms
 * timer polls them with waitpid(pid, WNOHANG), the stand-in for sup_child_watch(). Waits run the
 * loop until a condition holds, with a deadline; a 10 ms tick keeps the loop turning. */
#ifndef TEND_NOTIFY_TEST_H
#define TEND_NOTIFY_TEST_H

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "alert/notify_int.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

extern char **environ;

static uv_loop_t *loop;
static uv_timer_t reap_timer, tick_timer;

struct watch {
    pid_t pid;
    notify_child_fn *cb;
    void *arg;
};
static struct watch watches[32];

static int test_watch(void *ctx, pid_t pid, notify_child_fn *cb, void *arg)
{
    (void)ctx;
    for (size_t i = 0; i < 32; i++) {
        if (!watches[i].pid) {
            watches[i] = (struct watch){pid, cb, arg};
            return 0;
        }
    }
    return -1;
}

static void reap(uv_timer_t *t)
{
    (void)t;
    for (size_t i = 0; i < 32; i++) {
        int status;
        if (watches[i].pid && waitpid(watches[i].pid, &status, WNOHANG) == watches[i].pid) {
            struct watch w = watches[i];
            watches[i].pid = 0;
            w.cb(w.arg, w.pid, status);
        }
    }
}

static void tick(uv_timer_t *t)
{
    (void)t;
}

static inline void test_loop_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* Loopback only: a proxy from the environment must not see the test's requests. */
    const char *proxies[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                             "all_proxy",  "ALL_PROXY",  NULL};
    for (size_t i = 0; proxies[i]; i++)
        unsetenv(proxies[i]);
    loop = uv_default_loop();
    uv_timer_init(loop, &reap_timer);
    uv_timer_start(&reap_timer, reap, 5, 5);
    uv_timer_init(loop, &tick_timer);
    uv_timer_start(&tick_timer, tick, 10, 10);
    uv_unref((uv_handle_t *)&reap_timer);
    uv_unref((uv_handle_t *)&tick_timer);
}

typedef bool cond_fn(void *arg);

/* Run the loop until cond(arg) holds or ms pass; whether it held. */
static inline bool run_until(cond_fn *cond, void *arg, uint64_t ms)
{
    uv_update_time(loop);
    uint64_t deadline = uv_now(loop) + ms;
    while (!cond(arg) && uv_now(loop) < deadline) {
        uv_ref((uv_handle_t *)&tick_timer);
        uv_run(loop, UV_RUN_ONCE);
        uv_unref((uv_handle_t *)&tick_timer);
    }
    return cond(arg);
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

/* Let the loop run for ms (to see that nothing more arrives). */
static inline void run_for(uint64_t ms)
{
    run_until(never, NULL, ms);
}

/* A field of notifier `name` in notify_set_status(). */
static inline long long stat_int(struct notify_set *set, const char *name, const char *key)
{
    json_t *st = notify_set_status(set), *o;
    size_t i;
    long long v = -1;
    json_array_foreach(st, i, o)
    {
        if (str_eq(json_string_value(json_object_get(o, "name")), name)) {
            json_t *f = json_object_get(o, key);
            v = json_is_true(f) ? 1 : json_is_integer(f) ? json_integer_value(f) : 0;
        }
    }
    json_decref(st);
    return v;
}

struct stat_wait {
    struct notify_set *set;
    const char *name, *key;
    long long at_least;
};

static bool stat_reached(void *arg)
{
    struct stat_wait *w = arg;
    return stat_int(w->set, w->name, w->key) >= w->at_least;
}

/* Run the loop until status field `key` of `name` is >= n (10 s at most). */
static inline bool wait_stat(struct notify_set *set, const char *name, const char *key, long long n)
{
    struct stat_wait w = {set, name, key, n};
    return run_until(stat_reached, &w, 10000);
}

static char tmpdirs[16][128];
static size_t ntmpdirs;

/* A fresh folder under /tmp, removed by tmpdirs_remove() at the end of the run. */
static inline void make_tmpdir(char *dir, size_t size, const char *tag)
{
    snprintf(dir, size, "/tmp/tend-%s-XXXXXX", tag);
    if (!mkdtemp(dir))
        UNIT_FAIL("mkdtemp failed");
    else if (ntmpdirs < 16)
        str_copy(tmpdirs[ntmpdirs++], dir, sizeof tmpdirs[0]);
}

static inline void tmpdirs_remove(void)
{
    for (size_t i = 0; i < ntmpdirs; i++) {
        const char *argv[] = {"rm", "-rf", tmpdirs[i], NULL};
        pid_t pid;
        int status;
        if (posix_spawnp(&pid, "rm", NULL, NULL, (char *const *)argv, environ) == 0)
            waitpid(pid, &status, 0);
    }
}

static inline void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Start `script` (python3) logging into dir/log; its port when listening (5 s at most), or -1.
 * `port` 0 lets the kernel choose; `extra`: more arguments, NULL-terminated, or NULL. */
static inline int server_start(const char *script, const char *dir, int port,
                               const char *const *extra, pid_t *pid)
{
    char log[300], pf[300], ports[16];
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(pf, sizeof pf, "%s/port", dir);
    snprintf(ports, sizeof ports, "%d", port);
    unlink(pf);
    const char *argv[12] = {"python3", script, "--log", log, "--port-file", pf};
    size_t n = 6;
    if (port) {
        argv[n++] = "--port";
        argv[n++] = ports;
    }
    for (size_t i = 0; extra && extra[i] && n < 11; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    if (posix_spawnp(pid, "python3", NULL, NULL, (char *const *)argv, environ) != 0)
        return -1;
    for (int i = 0; i < 500; i++) {
        struct buf b;
        buf_init(&b, 0);
        if (read_file(pf, 64, &b) == 0 && b.len) {
            int p = (int)strtol(b.ptr, NULL, 10);
            buf_fini(&b);
            return p;
        }
        buf_fini(&b);
        msleep(10);
    }
    return -1;
}

static inline void server_stop(pid_t pid)
{
    int status;
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
}

/* A free loopback port nobody listens on (bound, then released). */
static inline int free_port(void)
{
    uv_tcp_t t;
    struct sockaddr_in a;
    struct sockaddr_storage got;
    int len = sizeof got;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &t);
    uv_tcp_bind(&t, (struct sockaddr *)&a, 0);
    uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len);
    int port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return port;
}

/* The receiver's log: one JSON object per request, as an array (caller frees). */
static inline json_t *log_read(const char *dir)
{
    char path[300];
    struct buf b;
    json_t *arr = json_array();
    snprintf(path, sizeof path, "%s/log", dir);
    buf_init(&b, 0);
    if (read_file(path, 16 << 20, &b) == 0 && b.ptr) {
        for (char *p = b.ptr, *nl; *p; p = nl + 1) {
            nl = strchr(p, '\n');
            if (!nl)
                break;
            *nl = '\0';
            json_t *o = json_loads(p, 0, NULL);
            if (o)
                json_array_append_new(arr, o);
        }
    }
    buf_fini(&b);
    return arr;
}

static inline size_t log_count(const char *dir)
{
    json_t *a = log_read(dir);
    size_t n = json_array_size(a);
    json_decref(a);
    return n;
}

static inline struct notify_set *set_new(const struct notify_spec *specs, size_t n)
{
    struct notify_set *set = NULL;
    struct err err = {0};
    struct notify_opts o = {.watch_child = test_watch, .host = "web-1"};
    CHECK_INT(notify_set_new(loop, &o, &set, &err), 0);
    if (notify_set_configure(set, specs, n, &err) < 0)
        UNIT_FAIL("configure: %s", err.msg);
    return set;
}

static void closed_cb(void *arg)
{
    *(bool *)arg = true;
}

static bool flag_set(void *arg)
{
    return *(bool *)arg;
}

static inline void set_close(struct notify_set *set)
{
    bool closed = false;
    notify_set_close(set, closed_cb, &closed);
    if (!run_until(flag_set, &closed, 10000))
        UNIT_FAIL("the notifier set did not close within 10 s");
}

static const struct notify_label test_labels[] = {{"app", "api"}};

/* A firing alert (state may be changed by the caller). */
static inline struct notify_alert test_alert(const char *name, enum notify_state state)
{
    return (struct notify_alert){
        .name = name,
        .rule = "cpu > 70% for 5m",
        .severity = "critical",
        .state = state,
        .value = "83.2%",
        .summary = "cpu 83.2% > 70% for 5m",
        .labels = test_labels,
        .nlabels = 1,
        .started_ms = 1777600000000LL,
        .ended_ms = state == NOTIFY_RESOLVED ? 1777600720000LL : 0,
    };
}

static inline struct notify_spec spec_of(const char *name, enum notify_kind_id kind,
                                         const char *url)
{
    struct notify_spec s;
    notify_spec_init(&s);
    s.name = name;
    s.kind = kind;
    s.url = url;
    s.group_wait_ms = 0;
    s.retry.backoff_ms = 50;
    s.retry.max_backoff_ms = 200;
    s.timeout_ms = 5000;
    return s;
}

#endif
