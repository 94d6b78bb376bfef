/* tests/unit/watch/test_probe_disk.c: disk probes on a real mount.
 *
 * Used % must agree with `df -P` (which rounds up) within one point, a limit below the current
 * use fails with both numbers, a missing path fails saying so. */
#include "probe_test.h"

static char dir[64];

/* df's Use% of `path`, or -1. */
static int df_used_pct(const char *path)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    const char *argv[] = {"df", "-P", path, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "df", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    char out[1024] = {0};
    size_t n = 0;
    ssize_t got;
    while (rc == 0 && n + 1 < sizeof out && (got = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)got;
    close(fds[0]);
    if (rc == 0)
        waitpid(pid, NULL, 0);
    /* "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 100 42 58 42% /\n" */
    char *line = strchr(out, '\n'), *pct = line ? strchr(line, '%') : NULL;
    if (!pct)
        return -1;
    while (pct > line && pct[-1] >= '0' && pct[-1] <= '9')
        pct--;
    return atoi(pct);
}

TEST(disk_agrees_with_df)
{
    struct probe_state st;
    struct probe_spec s = {.kind = PROBE_DISK};
    s.u.disk.path = dir;
    s.u.disk.max_used_pct = 100;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        double ours = metric(&st, "used_pct");
        int df = df_used_pct(dir);
        if (df < 0 || ours < df - 1 || ours > df + 1)
            UNIT_FAIL("used %.2f%%, df says %d%%", ours, df);
        CHECK(metric(&st, "free_bytes") > 0);
        CHECK_MSG(&st, "% full, ");
        CHECK_MSG(&st, " free");
        fprintf(stderr, "  (%s; df says %d%%)\n", st.msg, df);
    }
}

TEST(disk_over_limit_and_missing)
{
    struct probe_state st;
    struct probe_spec s = {.kind = PROBE_DISK};
    s.u.disk.path = dir;
    s.u.disk.max_used_pct = 0.001; /* any real mount is fuller than that */
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "% full (more than 0.001%); ");
    }
    s.u.disk.path = "/no/such/mount";
    s.u.disk.max_used_pct = 0;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_STR(st.msg, "cannot read the usage of /no/such/mount: no such file or directory");
    }
}

int main(void)
{
    test_init();
    snprintf(dir, sizeof dir, "/tmp/tend-probe-disk-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(disk_agrees_with_df);
    RUN(disk_over_limit_and_missing);
    rmdir(dir);
    test_fini();
    return unit_done();
}
