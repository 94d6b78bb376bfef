/* tests/unit/watch/test_probe_exec.c: exec probes running real commands.
 *
 * Exit codes and output become the message; a late command is killed with its whole process
 * group (the sleeping grandchild it started is gone too); a command that leaves a background
 * child holding the output pipe still reports as soon as it exits; output past 4 KiB is read
 * and dropped, never blocking the command. The child hook is the test's (probe_test.h). */
#include <errno.h>

#include "probe_test.h"

static char dir[64];

static struct probe_spec sh_spec(const char *cmd)
{
    struct probe_spec s = {.kind = PROBE_EXEC, .interval_ms = 5000, .timeout_ms = 3000};
    s.u.exec.cmd = cmd;
    return s;
}

/* Gone, or a zombie waiting for init: either way it no longer runs. */
static bool is_dead(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    bool dead = false;
    if (fgets(buf, sizeof buf, f)) {
        char *paren = strrchr(buf, ')');
        dead = paren && (paren[2] == 'Z' || paren[2] == 'X');
    }
    fclose(f);
    return dead;
}

TEST(exit_codes_and_output)
{
    struct probe_state st;
    struct probe_spec s = sh_spec("echo hello; exit 0");
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK_STR(st.msg, "exited 0: hello");
    }
    s = sh_spec("echo 'queue depth 4211' >&2; echo 'limit 1000'; exit 3");
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_STR(st.msg, "exited with code 3: queue depth 4211 / limit 1000");
        CHECK_INT((int)metric(&st, "exit_code"), 3);
    }
    s = sh_spec("kill -TERM $$");
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "killed by signal 15");
    }
}

TEST(argv_form)
{
    struct probe_state st;
    const char *argv[] = {"printf", "a\\nb\\n", NULL};
    struct probe_spec s = {.kind = PROBE_EXEC, .interval_ms = 5000, .timeout_ms = 3000};
    s.u.exec.argv = argv;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK_STR(st.msg, "exited 0: a / b");
    }
    const char *missing[] = {"/no/such/check", NULL};
    s.u.exec.argv = missing;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_STR(st.msg, "cannot run \"/no/such/check\": no such file or directory");
    }
    s.u.exec.argv = argv;
    s.u.exec.cwd = "/";
    const char *pwd[] = {"pwd", NULL};
    s.u.exec.argv = pwd;
    if (probe_once(&s, &st))
        CHECK_STR(st.msg, "exited 0: /");
}

/* The command starts a sleeping grandchild and waits: at the timeout both die. */
TEST(timeout_kills_the_group)
{
    char cmd[256], pidfile[128];
    snprintf(pidfile, sizeof pidfile, "%s/grandchild.pid", dir);
    snprintf(cmd, sizeof cmd, "sleep 60 & echo $! > %s; wait", pidfile);
    struct probe_spec s = sh_spec(cmd);
    s.timeout_ms = 300;
    s.interval_ms = 10000;
    struct rec r = {0};
    uint64_t t0 = (uv_update_time(loop), uv_now(loop));
    struct watch_probe *p = start_probe(&s, &r);
    CHECK(RUN_UNTIL(r.n >= 1, 5000));
    if (r.n >= 1) {
        CHECK_INT(r.st[0].status, PROBE_FAILING);
        CHECK_MSG(&r.st[0],
                  "wait\" was still running after 300 ms (timeout); killed with its process group");
        CHECK(r.at[0] - t0 < 600);
    }
    FILE *f = fopen(pidfile, "r");
    int pid = 0;
    if (!f || fscanf(f, "%d", &pid) != 1)
        UNIT_FAIL("the command did not write %s", pidfile);
    if (f)
        fclose(f);
    if (pid > 0 && !RUN_UNTIL(is_dead(pid), 3000)) {
        UNIT_FAIL("grandchild %d still runs after the timeout", pid);
        kill(pid, SIGKILL);
    }
    probe_free(p);
    RUN_UNTIL(false, 50); /* let the leader's exit reach the (freed) probe's run */
    unlink(pidfile);
}

/* A background child keeps the pipe open; the result follows the command's exit anyway. */
TEST(background_child_does_not_delay)
{
    struct probe_state st;
    struct probe_spec s = sh_spec("sleep 5 & echo $!");
    s.timeout_ms = 3000;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK(st.latency_ms < 1000);
        int pid = atoi(st.msg + strlen("exited 0: "));
        if (pid > 0)
            kill(pid, SIGKILL);
    }
}

TEST(chatty_output_is_bounded)
{
    struct probe_state st;
    struct probe_spec s = sh_spec("head -c 300000 /dev/zero | tr '\\0' x; echo; echo end");
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK_MSG(&st, "exited 0: xxxxxxxx");
        CHECK(strlen(st.msg) < PROBE_MSG_MAX);
    }
}

int main(void)
{
    test_init();
    snprintf(dir, sizeof dir, "/tmp/tend-probe-exec-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(exit_codes_and_output);
    RUN(argv_form);
    RUN(timeout_kills_the_group);
    RUN(background_child_does_not_delay);
    RUN(chatty_output_is_bounded);
    rmdir(dir);
    test_fini();
    return unit_done();
}
