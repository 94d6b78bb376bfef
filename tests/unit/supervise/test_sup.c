/* tests/unit/supervise/test_sup.c: the supervisor with a real loop and real /bin/sh apps.
 *
 * Covers: `up` starts every app and reports them online; a crashing app restarts with backoff
 * and goes errored after max_restarts; an exec failure reaches the user as
 * 'exec "name": No such file or directory' and is an event; an app that ignores SIGTERM gets
 * SIGKILL after kill_timeout (and an event); a grandchild that escaped into its own session is
 * killed with its instance; status JSON; state.json written; shutdown stops everything and
 * closes every handle. Waits poll with a deadline (STYLE.md 9), never a bare sleep. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "supervise/supervise_int.h"
#include "unit.h"

static uv_loop_t loop;
static struct sup *sup;
static char home[256];
static char events[64 * 1024];
static int ndone, last_rc;
static json_t *last_result;
static bool shut;

static void on_output(void *ctx, const char *app, int instance, const struct cfg_app *cfg,
                      int out_fd, int err_fd)
{
    close(out_fd);
    close(err_fd);
}

static void on_event(void *ctx, enum sup_evkind kind, const char *app, int instance,
                     const char *msg)
{
    size_t len = strlen(events);
    snprintf(events + len, sizeof events - len, "%s|%s:%d|%s\n", sup_evkind_name(kind), app,
             instance, msg);
}

static void done_cb(void *arg, int rc, json_t *result, const struct err *err)
{
    ndone++;
    last_rc = rc;
    json_decref(last_result);
    last_result = json_incref(result);
}

static void tick(uv_timer_t *t)
{
}

static bool run_until(bool (*cond)(void *), void *arg, uint64_t timeout_ms)
{
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    uv_timer_start(&t, tick, 10, 10);
    uint64_t end = clock_mono_ms() + timeout_ms;
    bool ok;
    while (!(ok = cond(arg)) && clock_mono_ms() < end)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return ok;
}

static bool ops_done(void *want)
{
    return ndone >= *(int *)want;
}

static struct sup_instance *inst(const char *app, int i)
{
    struct sup_app *a = sup__app_find(sup, app);
    return a && i < a->ninst ? a->inst[i] : NULL;
}

static bool state_is(void *arg)
{
    const char *const *w = arg; /* {app, state} */
    struct sup_instance *in = inst(w[0], 0);
    return in && str_eq(sup_state_name(in->m.state), w[1]);
}

static const char yaml[] =
    "apps:\n"
    "  - name: ok\n    cmd: sleep 30\n"
    "  - name: crasher\n    cmd: exit 3\n    max_restarts: 2\n    backoff_max: 200ms\n"
    "    errored_retry: never\n"
    "  - name: stubborn\n    cmd: \"trap '' TERM; while :; do sleep 0.05; done\"\n"
    "    kill_timeout: 300ms\n"
    "  - name: missing\n    argv: [nodee-missing-binary]\n    restart: never\n"
    "  - name: tree\n    cmd: \"setsid sleep 61 & wait\"\n";

static struct cfg *load(void)
{
    static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
    struct cfg_load_opts o = {.home = home, .environ = env, .base_dir = "/tmp"};
    struct cfg_diag d;
    memset(&d, 0, sizeof d);
    struct cfg *c = NULL;
    if (cfg_load_mem("/tmp/tend.yaml", yaml, strlen(yaml), &o, &c, &d) < 0) {
        struct buf b = {0};
        cfg_diag_format(&d, &b);
        UNIT_FAIL("load failed:\n%s", b.ptr ? b.ptr : "");
        buf_fini(&b);
    }
    return c;
}

TEST(up_starts_and_reports)
{
    struct err err = {0};
    struct cfg *c = load();
    if (!c)
        return;
    int want = 1;
    CHECK_INT(sup_apply(sup, c, NULL, false, done_cb, NULL, &err), 0);
    CHECK_INT(ndone, 0); /* never called back inside the call */
    cfg_unref(c);
    CHECK(run_until(ops_done, &want, 5000));
    json_t *res = json_object_get(last_result, "results");
    CHECK(json_array_size(res) == 5);
    CHECK(json_array_size(json_object_get(last_result, "plan")) == 5);
    CHECK_INT(inst("ok", 0)->m.state, SUP_ONLINE);
    CHECK(inst("ok", 0)->pid > 0);
    CHECK(sup__pid_matches(inst("ok", 0)->pid, inst("ok", 0)->start_ticks));
    CHECK(sup_config(sup) != NULL);
}

TEST(exec_failure_is_an_event_with_the_reason)
{
    const char *w[] = {"missing", "stopped"};
    CHECK(run_until(state_is, w, 2000));
    CHECK(strstr(events, "exec \"nodee-missing-binary\": No such file or directory") != NULL);
    CHECK(strstr(inst("missing", 0)->last_error, "nodee-missing-binary") != NULL);
}

TEST(crash_loop_goes_errored)
{
    const char *w[] = {"crasher", "errored"};
    CHECK(run_until(state_is, w, 5000));
    CHECK(strstr(events, "restart|crasher:0") != NULL);
    CHECK(strstr(events, "errored|crasher:0") != NULL);
    json_t *st = sup_status_json(sup, "crasher");
    json_t *i0 = json_array_get(
        json_object_get(json_array_get(json_object_get(st, "apps"), 0), "instances"), 0);
    CHECK_STR(json_string_value(json_object_get(i0, "state")), "errored");
    CHECK_INT(json_integer_value(json_object_get(i0, "exit_code")), 3);
    CHECK_INT(json_integer_value(json_object_get(i0, "restarts")), 2);
    json_decref(st);
}

TEST(sigterm_ignored_gets_sigkill_after_kill_timeout)
{
    struct err err = {0};
    int want = ndone + 1;
    uint64_t t0 = clock_mono_ms();
    CHECK_INT(sup_act(sup, SUP_STOP, "stubborn", done_cb, NULL, &err), 0);
    CHECK(run_until(ops_done, &want, 3000));
    CHECK(clock_mono_ms() - t0 >= 290);
    CHECK_INT(last_rc, 0);
    CHECK_INT(inst("stubborn", 0)->m.state, SUP_STOPPED);
    CHECK(strstr(events, "kill|stubborn:0") != NULL);
}

static pid_t escaped_pid(pid_t shell)
{
    struct sup_proc *all = NULL;
    size_t n = 0;
    pid_t found = 0;
    if (sup__proc_scan(&all, &n) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (all[i].ppid == shell && all[i].sid == all[i].pid)
            found = all[i].pid;
    free(all);
    return found;
}

static bool gone(void *arg)
{
    pid_t pid = *(pid_t *)arg;
    return kill(pid, 0) < 0 && errno == ESRCH;
}

static bool escaped(void *arg)
{
    return escaped_pid(inst("tree", 0)->pid) != 0;
}

TEST(stop_kills_a_grandchild_that_left_the_group)
{
    struct err err = {0};
    CHECK(run_until(escaped, NULL, 2000));
    pid_t child = escaped_pid(inst("tree", 0)->pid);
    CHECK(child > 0);
    int want = ndone + 1;
    CHECK_INT(sup_act(sup, SUP_STOP, "tree:0", done_cb, NULL, &err), 0);
    CHECK(run_until(ops_done, &want, 3000));
    CHECK(child > 0 && run_until(gone, &child, 2000));
}

TEST(targets_and_state_file)
{
    struct err err = {0};
    CHECK_INT(sup_act(sup, SUP_RESTART, "nope", done_cb, NULL, &err), -TE_NOTFOUND);
    CHECK(strstr(err.msg, "nope") != NULL);
    CHECK_INT(sup_act(sup, SUP_STOP, "ok:7", done_cb, NULL, &err), -TE_NOTFOUND);
    CHECK_INT(sup_act(sup, SUP_DELETE, "ok:0", done_cb, NULL, &err), -TE_INVALID);
    int want = ndone + 1;
    pid_t before = inst("ok", 0)->pid;
    CHECK_INT(sup_act(sup, SUP_RESTART, "ok", done_cb, NULL, &err), 0);
    CHECK(run_until(ops_done, &want, 3000));
    CHECK_INT(last_rc, 0);
    CHECK(inst("ok", 0)->pid != before && inst("ok", 0)->pid > 0);
    CHECK_INT(inst("ok", 0)->m.restarts, 1);
    char path[512];
    struct buf b = {0};
    snprintf(path, sizeof path, "%s/state.json", home);
    run_until(ops_done, &want, 200); /* let the thread-pool write land */
    CHECK_INT(read_file(path, 1 << 20, &b), 0);
    CHECK(b.ptr && strstr(b.ptr, "\"crasher\"") != NULL);
    buf_fini(&b);
    CHECK_INT(sup_save(sup, false, &err), 0);
}

static void down(void *arg)
{
    shut = true;
}

static bool is_shut(void *arg)
{
    return shut;
}

TEST(shutdown_stops_everything)
{
    pid_t ok = inst("ok", 0)->pid;
    sup_shutdown(sup, true, down, NULL);
    CHECK(run_until(is_shut, NULL, 5000));
    CHECK(run_until(gone, &ok, 1000));
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_INT(uv_loop_close(&loop), 0);
}

int main(void)
{
    tlog_set_level(TLOG_WARN);
    snprintf(home, sizeof home, "/tmp/tend-sup-XXXXXX");
    if (!mkdtemp(home))
        return 1;
    uv_loop_init(&loop);
    static const char *const base_env[] = {"PATH=/usr/bin:/bin", NULL};
    struct sup_opts o = {.home = home, .self_exe = NULL, .base_env = base_env};
    struct sup_hooks h = {.on_output = on_output, .on_event = on_event};
    struct err err = {0};
    if (sup_new(&loop, &o, &h, &sup, &err) < 0) {
        fprintf(stderr, "sup_new: %s\n", err.msg);
        return 1;
    }
    RUN(up_starts_and_reports);
    RUN(exec_failure_is_an_event_with_the_reason);
    RUN(crash_loop_goes_errored);
    RUN(sigterm_ignored_gets_sigkill_after_kill_timeout);
    RUN(stop_kills_a_grandchild_that_left_the_group);
    RUN(targets_and_state_file);
    RUN(shutdown_stops_everything);
    json_decref(last_result);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "%s/state.json", home);
    unlink(cmd);
    snprintf(cmd, sizeof cmd, "%s/dump.json", home);
    unlink(cmd);
    rmdir(home);
    return unit_done();
}
