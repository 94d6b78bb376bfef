/* tests/unit/supervise/test_reload.c: readiness and the rolling reload, with real processes.
 *
 * Covers: ready: http (a python http.server per instance, GET through the curl multi on the
 * loop) and ready: notify (READY=1 on $NOTIFY_SOCKET from a child of the app's shell); reload of
 * an app with a port (stop i, start i, wait ready, then i+1: every pid changes, rc 0); reload
 * without a port (replacement first); a replacement that crashes aborts the reload and leaves
 * the old instances serving (same pids, rc -TE_STATE) even with `ready: started` (a replacement
 * must then stay up for min_uptime); a replacement that is never ready aborts after
 * ready_timeout with a ready_failed event. */
#include <errno.h>
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
static char home[256], mark[300];
static char events[64 * 1024];
static int ndone, last_rc;
static bool shut;

static void on_output(void *ctx, const char *app, int instance, const struct cfg_app *cfg, int o,
                      int e)
{
    close(o);
    close(e);
}

static void on_event(void *ctx, enum sup_evkind kind, const char *app, int instance,
                     const char *msg)
{
    size_t len = strlen(events);
    snprintf(events + len, sizeof events - len, "%s|%s\n", sup_evkind_name(kind), msg);
}

static void done_cb(void *arg, int rc, json_t *result, const struct err *err)
{
    ndone++;
    last_rc = rc;
    if (rc < 0 && getenv("TEST_VERBOSE"))
        fprintf(stderr, "done: %s\n", err ? err->msg : "?");
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

static bool done_n(void *want)
{
    return ndone >= *(int *)want;
}

static bool flag(void *arg)
{
    return *(bool *)arg;
}

static struct sup_instance *inst(const char *app, int i)
{
    struct sup_app *a = sup__app_find(sup, app);
    return a && i < a->ninst ? a->inst[i] : NULL;
}

static int act(enum sup_verb v, const char *target, uint64_t timeout_ms)
{
    struct err err = {0};
    int want = ndone + 1;
    int rc = sup_act(sup, v, target, done_cb, NULL, &err);
    if (rc < 0)
        return rc;
    if (!run_until(done_n, &want, timeout_ms))
        UNIT_FAIL("%s did not finish", target);
    return last_rc;
}

TEST(up_waits_for_http_and_notify_readiness)
{
    int port = 20000 + (getpid() % 10000) * 2;
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "apps:\n"
             "  - name: web\n    instances: 2\n    port: %d\n"
             "    cmd: \"if [ -f %s ]; then exec sleep 30; fi; exec python3 -m http.server "
             "$PORT --bind 127.0.0.1\"\n"
             "    ready: {http: \"http://127.0.0.1:${PORT}/\", timeout: 5s}\n"
             "    kill_timeout: 1s\n"
             "  - name: bg\n    instances: 2\n"
             "    cmd: \"if [ -f %s ]; then exit 1; fi; exec sleep 30\"\n"
             /* The notifying process lives on (execs sleep): a READY=1 from a process that has
              * already exited cannot be attributed (the same race as systemd's). */
             "  - name: note\n    ready: notify\n"
             "    cmd: \"python3 -c \\\"import socket,os; s=socket.socket(socket.AF_UNIX, "
             "socket.SOCK_DGRAM); a=os.environ['NOTIFY_SOCKET']; s.sendto(b'READY=1', chr(0)+a[1:] if a[0]=='@' else a); "
             "os.execvp('sleep', ['sleep', '30'])\\\"\"\n",
             port, mark, mark);
    static const char *const env[] = {"PATH=/usr/bin:/bin:/usr/local/bin", NULL};
    struct cfg_load_opts o = {.home = home, .environ = env, .base_dir = "/tmp"};
    struct cfg_diag d;
    memset(&d, 0, sizeof d);
    struct cfg *c = NULL;
    if (cfg_load_mem("/tmp/tend.yaml", yaml, strlen(yaml), &o, &c, &d) < 0) {
        struct buf b = {0};
        cfg_diag_format(&d, &b);
        UNIT_FAIL("load failed:\n%s", b.ptr ? b.ptr : "");
        buf_fini(&b);
        return;
    }
    struct err err = {0};
    int want = 1;
    CHECK_INT(sup_apply(sup, c, NULL, false, done_cb, NULL, &err), 0);
    cfg_unref(c);
    CHECK(run_until(done_n, &want, 30000));
    CHECK_INT(last_rc, 0);
    CHECK_INT(inst("web", 0)->m.state, SUP_ONLINE);
    CHECK_INT(inst("web", 1)->m.state, SUP_ONLINE);
    CHECK_INT(inst("note", 0)->m.state, SUP_ONLINE);
}

TEST(reload_with_port_replaces_every_instance)
{
    pid_t p0 = inst("web", 0)->pid, p1 = inst("web", 1)->pid;
    CHECK_INT(act(SUP_RELOAD, "web", 30000), 0);
    CHECK(inst("web", 0)->pid != p0 && inst("web", 0)->pid > 0);
    CHECK(inst("web", 1)->pid != p1 && inst("web", 1)->pid > 0);
    CHECK_INT(inst("web", 1)->m.state, SUP_ONLINE);
    CHECK(strstr(events, "reload of web finished") != NULL);
}

TEST(reload_without_port_starts_the_replacement_first)
{
    pid_t p0 = inst("bg", 0)->pid, p1 = inst("bg", 1)->pid;
    CHECK_INT(act(SUP_RELOAD, "bg", 5000), 0);
    CHECK(inst("bg", 0)->pid != p0 && inst("bg", 1)->pid != p1);
    CHECK_STR(inst("bg", 0)->label, "bg:0");
}

TEST(a_crashing_replacement_aborts_and_the_old_ones_keep_serving)
{
    FILE *f = fopen(mark, "w");
    if (f)
        fclose(f);
    pid_t p0 = inst("bg", 0)->pid, p1 = inst("bg", 1)->pid;
    CHECK_INT(act(SUP_RELOAD, "bg", 5000), -TE_STATE);
    CHECK_INT(inst("bg", 0)->pid, p0);
    CHECK_INT(inst("bg", 1)->pid, p1);
    CHECK_INT(inst("bg", 0)->m.state, SUP_ONLINE);
    CHECK(strstr(events, "reload of bg aborted") != NULL);
}

static bool web0_online(void *arg)
{
    return inst("web", 0) && inst("web", 0)->m.state == SUP_ONLINE;
}

TEST(a_replacement_never_ready_aborts_after_ready_timeout)
{
    pid_t p1 = inst("web", 1)->pid;
    CHECK_INT(act(SUP_RELOAD, "web", 30000), -TE_STATE);
    CHECK(strstr(events, "ready_failed|") != NULL);
    CHECK_INT(inst("web", 1)->pid, p1); /* never reached */
    /* Instance 0 was brought back from its old snapshot and is supervised again (here the
     * old snapshot runs the same command, so it waits to retry until the marker goes). */
    CHECK(inst("web", 0)->m.state != SUP_STOPPED);
    unlink(mark);
    const char *want[] = {"web", "online"};
    CHECK(run_until(web0_online, want, 8000));
}

static void down(void *arg)
{
    shut = true;
}

int main(void)
{
    tlog_set_level(TLOG_ERROR);
    snprintf(home, sizeof home, "/tmp/tend-reload-XXXXXX");
    if (!mkdtemp(home))
        return 1;
    snprintf(mark, sizeof mark, "%s/MARK", home);
    uv_loop_init(&loop);
    /* The system python first: a pyenv shim alone takes a second to start. */
    static const char *const base_env[] = {"PATH=/usr/bin:/bin:/usr/local/bin", NULL};
    struct sup_opts o = {.home = home, .self_exe = NULL, .base_env = base_env};
    struct sup_hooks h = {.on_output = on_output, .on_event = on_event};
    struct err err = {0};
    if (sup_new(&loop, &o, &h, &sup, &err) < 0)
        return 1;
    RUN(up_waits_for_http_and_notify_readiness);
    RUN(reload_with_port_replaces_every_instance);
    RUN(reload_without_port_starts_the_replacement_first);
    RUN(a_crashing_replacement_aborts_and_the_old_ones_keep_serving);
    RUN(a_replacement_never_ready_aborts_after_ready_timeout);
    sup_shutdown(sup, true, down, NULL);
    run_until(flag, &shut, 5000);
    CHECK(shut);
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_INT(uv_loop_close(&loop), 0);
    char p[300];
    snprintf(p, sizeof p, "%s/state.json", home);
    unlink(p);
    rmdir(home);
    return unit_done();
}
