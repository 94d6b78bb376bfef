/* tests/unit/supervise/test_adopt.c: a daemon that goes away and comes back (invariant 5).
 *
 * A keeper (sup_keeper_main in a forked child) holds the pipes. The first supervisor starts an
 * app that writes a line every 20 ms, then shuts down leaving it running (as after SIGKILL,
 * state.json is all the next one has). While nobody reads, the app keeps running (no SIGPIPE:
 * the keeper holds the read ends). A second supervisor adopts it: same pid, online, an adopt
 * event, the pipes back from the keeper with the lines written meanwhile; a pid whose start
 * time does not match is not adopted. Then the app is stopped through its pidfd and the keeper
 * is told to quit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
static char home[256];
static char events[16384];
static int out_fd = -1, ndone;
static bool shut;
static pid_t keeper;

static void on_output(void *ctx, const char *app, int instance, const struct cfg_app *cfg, int o,
                      int e)
{
    if (out_fd >= 0)
        close(out_fd);
    out_fd = o;
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
}

static void down(void *arg)
{
    shut = true;
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

static bool flag(void *arg)
{
    return *(bool *)arg;
}

static bool count_at_least(void *arg)
{
    return ndone >= 1;
}

static struct sup *new_sup(void)
{
    static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
    struct sup_opts o = {.home = home, .self_exe = "/nonexistent/tend", .base_env = env};
    struct sup_hooks h = {.on_output = on_output, .on_event = on_event};
    struct err err = {0};
    struct sup *s = NULL;
    if (sup_new(&loop, &o, &h, &s, &err) < 0)
        UNIT_FAIL("sup_new: %s", err.msg);
    return s;
}

static bool sock_exists(void *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static pid_t app_pid;

TEST(start_then_leave_running)
{
    char sock[300];
    snprintf(sock, sizeof sock, "%s/keeper.sock", home);
    keeper = fork();
    if (keeper == 0)
        sup_keeper_main(sock);
    CHECK(run_until(sock_exists, sock, 2000));
    struct sup *s = new_sup();
    if (!s)
        return;
    static const char yaml[] = "apps:\n  - name: talker\n"
                               "    cmd: \"while :; do echo line; sleep 0.02; done\"\n";
    static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
    struct cfg_load_opts lo = {.home = home, .environ = env, .base_dir = "/tmp"};
    struct cfg_diag d;
    memset(&d, 0, sizeof d);
    struct cfg *c = NULL;
    struct err err = {0};
    CHECK_INT(cfg_load_mem("/tmp/tend.yaml", yaml, strlen(yaml), &lo, &c, &d), 0);
    CHECK_INT(sup_apply(s, c, NULL, false, done_cb, NULL, &err), 0);
    cfg_unref(c);
    CHECK(run_until(count_at_least, NULL, 3000));
    app_pid = sup__app_find(s, "talker")->inst[0]->pid;
    CHECK(app_pid > 0);
    sup_shutdown(s, false, down, NULL);
    CHECK(run_until(flag, &shut, 3000));
    close(out_fd); /* the logs module's copy goes with the daemon */
    out_fd = -1;
    usleep(300 * 1000); /* nobody reads now: the app must survive this */
    CHECK(kill(app_pid, 0) == 0);
}

TEST(next_daemon_adopts_and_gets_the_pipes_back)
{
    struct sup *s = new_sup();
    if (!s)
        return;
    struct sup_app *a = sup__app_find(s, "talker");
    CHECK(a != NULL);
    if (!a)
        return;
    CHECK_INT(a->inst[0]->pid, app_pid);
    CHECK_INT(a->inst[0]->m.state, SUP_ONLINE);
    CHECK(a->inst[0]->adopted);
    CHECK(strstr(events, "adopt|") != NULL);
    CHECK(out_fd >= 0);
    char buf[4096];
    struct pollfd p = {.fd = out_fd, .events = POLLIN};
    CHECK(poll(&p, 1, 2000) == 1);
    ssize_t n = read(out_fd, buf, sizeof buf - 1);
    CHECK(n > 20); /* lines written while no daemon ran were kept in the pipe */
    buf[n > 0 ? n : 0] = '\0';
    CHECK(strstr(buf, "line\nline\n") != NULL);
    /* Stopping an adopted instance: signal to its group, exit seen through the pidfd. */
    ndone = 0;
    struct err err = {0};
    CHECK_INT(sup_act(s, SUP_STOP, "talker", done_cb, NULL, &err), 0);
    CHECK(run_until(count_at_least, NULL, 3000));
    CHECK_INT(a->inst[0]->m.state, SUP_STOPPED);
    CHECK(strstr(events, "status unknown: adopted") != NULL);
    /* A shutdown that stops every app removes state.json (the next daemon resurrects the
     * saved set instead); keep a copy for the next test. */
    char path[300], saved[320];
    snprintf(path, sizeof path, "%s/state.json", home);
    snprintf(saved, sizeof saved, "%s.saved", path);
    CHECK(link(path, saved) == 0);
    shut = false;
    sup_shutdown(s, true, down, NULL);
    CHECK(run_until(flag, &shut, 3000));
    CHECK(access(path, F_OK) != 0);
}

TEST(a_reused_pid_is_not_adopted)
{
    /* state.json says talker:0 runs as our own pid with a wrong start time. */
    char path[300], saved[320], text[1024];
    snprintf(path, sizeof path, "%s/state.json", home);
    snprintf(saved, sizeof saved, "%s.saved", path);
    struct buf b = {0};
    CHECK_INT(read_file(saved, 1 << 20, &b), 0);
    json_t *j = json_loads(b.ptr, 0, NULL);
    buf_fini(&b);
    json_t *i0 = json_array_get(
        json_object_get(json_array_get(json_object_get(j, "apps"), 0), "instances"), 0);
    json_object_set_new(i0, "pid", json_integer(getpid()));
    json_object_set_new(i0, "start", json_integer(1));
    json_object_set_new(i0, "state", json_string("online"));
    char *dump = json_dumps(j, 0);
    str_copy(text, dump, sizeof text);
    free(dump);
    json_decref(j);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    struct sup *s = new_sup();
    if (!s)
        return;
    struct sup_instance *in = sup__app_find(s, "talker")->inst[0];
    CHECK(in->pid != getpid());
    CHECK(!in->adopted);
    shut = false;
    sup_shutdown(s, true, down, NULL);
    CHECK(run_until(flag, &shut, 3000));
}

int main(void)
{
    tlog_set_level(TLOG_ERROR);
    snprintf(home, sizeof home, "/tmp/tend-adopt-XXXXXX");
    if (!mkdtemp(home))
        return 1;
    uv_loop_init(&loop);
    RUN(start_then_leave_running);
    RUN(next_daemon_adopts_and_gets_the_pipes_back);
    RUN(a_reused_pid_is_not_adopted);
    sup_keeper_quit(home);
    int st;
    waitpid(keeper, &st, 0);
    if (out_fd >= 0)
        close(out_fd);
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_INT(uv_loop_close(&loop), 0);
    char cmd[300];
    const char *files[] = {"state.json", "notify.sock", "keeper.sock"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s/%s", home, files[i]);
        unlink(cmd);
    }
    rmdir(home);
    return unit_done();
}
