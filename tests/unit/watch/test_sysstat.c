/* tests/unit/watch/test_sysstat.c: system metrics agree with the tools people check them with.
 *
 * Memory against `free`, disk against `df`, load and network against /proc and /sys read here
 * independently, CPU against our own /proc/stat delta over the same stretch (taken while this
 * process keeps a core busy, so the figure cannot be a constant), open fds against
 * /proc/self/fd. Also prints what one sample costs (the figure in the report). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"
#include "watch/metrics.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* stdout of argv[0] (searched in PATH) into out; 0 on exit status 0. */
static int run(char *const argv[], struct buf *out)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        setenv("LC_ALL", "C", 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    char chunk[4096];
    ssize_t n;
    while ((n = read(p[0], chunk, sizeof chunk)) > 0)
        buf_append(out, chunk, (size_t)n);
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && out->ptr ? 0 : -1;
}

static struct watch_sys *open_sys(void)
{
    struct watch_sys *w = NULL;
    struct err e = {0};
    if (watch_sys_open(&w, &e) < 0)
        UNIT_FAIL("watch_sys_open: %s", e.msg);
    return w;
}

static void proc_cpu(uint64_t *busy, uint64_t *total)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                     &v[4], &v[5], &v[6], &v[7]) != 8)
        UNIT_FAIL("cannot read /proc/stat");
    if (f)
        fclose(f);
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *busy = *total - v[3] - v[4];
}

TEST(cpu_agrees_with_proc_stat)
{
    struct watch_sys *w = open_sys();
    struct watch_sys_sample s;
    if (!w)
        return;
    uint64_t b0, t0, b1, t1;
    CHECK_INT(watch_sys_sample(w, 0, &s, NULL), 0);
    CHECK(isnan(s.cpu_pct)); /* needs a delta */
    proc_cpu(&b0, &t0);
    /* Keep one core busy for 300 ms: the machine's CPU% is then at least ~1/ncpu. */
    volatile uint64_t spins = 0;
    for (uint64_t end = now_ns() + 300000000ull; now_ns() < end;)
        spins = spins + 1;
    CHECK(spins > 0);
    CHECK_INT(watch_sys_sample(w, 300, &s, NULL), 0);
    proc_cpu(&b1, &t1);
    double mine = (double)(b1 - b0) * 100.0 / (double)(t1 - t0);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (!(fabs(s.cpu_pct - mine) < 5))
        UNIT_FAIL("cpu %.1f%%, /proc/stat over the same time says %.1f%%", s.cpu_pct, mine);
    if (!(s.cpu_pct >= 70.0 / (double)ncpu && s.cpu_pct <= 100))
        UNIT_FAIL("cpu %.1f%% while one of %ld cores was busy", s.cpu_pct, ncpu);
    watch_sys_free(w);
}

TEST(memory_agrees_with_free)
{
    struct watch_sys *w = open_sys();
    struct watch_sys_sample s;
    struct buf out = {0};
    char *const argv[] = {"free", "-b", NULL};
    if (!w)
        return;
    CHECK_INT(watch_sys_sample(w, 0, &s, NULL), 0);
    if (run(argv, &out) < 0) {
        UNIT_FAIL("cannot run free (procps)");
        goto out;
    }
    unsigned long long total, used, fr, shared, cache, avail;
    char *mem = strstr(out.ptr, "Mem:");
    if (!mem || sscanf(mem, "Mem: %llu %llu %llu %llu %llu %llu", &total, &used, &fr, &shared,
                       &cache, &avail) != 6) {
        UNIT_FAIL("cannot read free's output:\n%s", out.ptr);
        goto out;
    }
    CHECK_INT(s.mem_total, total);
    double theirs = (double)(total - avail) * 100.0 / (double)total;
    if (!(fabs(s.mem_pct - theirs) < 2))
        UNIT_FAIL("memory %.1f%%, free says %.1f%%", s.mem_pct, theirs);
    CHECK(s.mem_pct > 0 && s.mem_pct < 100);
out:
    buf_fini(&out);
    watch_sys_free(w);
}

TEST(load_agrees_with_proc_loadavg)
{
    struct watch_sys *w = open_sys();
    struct watch_sys_sample s;
    double l1 = -1, l5 = -1, l15 = -1;
    if (!w)
        return;
    CHECK_INT(watch_sys_sample(w, 0, &s, NULL), 0);
    FILE *f = fopen("/proc/loadavg", "r");
    CHECK(f && fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3);
    if (f)
        fclose(f);
    /* The kernel updates it every 5 s: equal, or one update apart. */
    CHECK(fabs(s.load1 - l1) < 0.5);
    CHECK(fabs(s.load5 - l5) < 0.2);
    CHECK(fabs(s.load15 - l15) < 0.1);
    watch_sys_free(w);
}

static const struct watch_sys_mount *mount_at(const struct watch_sys_sample *s, const char *path)
{
    for (size_t i = 0; i < s->nmounts; i++)
        if (strcmp(s->mounts[i].path, path) == 0)
            return &s->mounts[i];
    return NULL;
}

TEST(disks_agree_with_df_and_skip_pseudo_filesystems)
{
    struct watch_sys *w = open_sys();
    struct watch_sys_sample s;
    struct buf out = {0};
    char *const argv[] = {"df", "-P", "-B1", "/", NULL};
    if (!w)
        return;
    CHECK_INT(watch_sys_sample(w, 0, &s, NULL), 0);
    CHECK(s.nmounts >= 1);
    for (size_t i = 0; i < s.nmounts; i++) {
        const char *t = s.mounts[i].fstype;
        if (!strcmp(t, "proc") || !strcmp(t, "sysfs") || !strcmp(t, "tmpfs") ||
            !strcmp(t, "devtmpfs") || !strcmp(t, "cgroup2") || !strcmp(t, "devpts"))
            UNIT_FAIL("pseudo filesystem %s at %s listed as a disk", t, s.mounts[i].path);
        for (size_t j = 0; j < i; j++)
            if (strcmp(s.mounts[i].path, s.mounts[j].path) == 0)
                UNIT_FAIL("%s listed twice", s.mounts[i].path);
    }
    CHECK(mount_at(&s, "/proc") == NULL);
    const struct watch_sys_mount *root = mount_at(&s, "/");
    if (!root) {
        UNIT_FAIL("/ is not among the disks (%zu listed)", s.nmounts);
        goto out;
    }
    unsigned long long size, used, avail;
    char *line = out.ptr;
    if (run(argv, &out) < 0 || !(line = strchr(out.ptr, '\n')) ||
        sscanf(line, "%*s %llu %llu %llu", &size, &used, &avail) != 3) {
        UNIT_FAIL("cannot run or read df");
        goto out;
    }
    CHECK_INT(root->size, size);
    double theirs = (double)used * 100.0 / (double)(used + avail);
    if (!(fabs(root->used_pct - theirs) < 1))
        UNIT_FAIL("/ is %.2f%% used, df says %.2f%%", root->used_pct, theirs);
    CHECK(root->inodes_free_pct > 0 && root->inodes_free_pct <= 100);
out:
    buf_fini(&out);
    watch_sys_free(w);
}

static unsigned long long sys_counter(const char *iface, const char *what)
{
    char path[256];
    unsigned long long v = 0;
    str_fmt(path, sizeof path, "/sys/class/net/%s/statistics/%s", iface, what);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%llu", &v) != 1)
        UNIT_FAIL("cannot read %s", path);
    if (f)
        fclose(f);
    return v;
}

TEST(network_agrees_with_sysfs_and_skips_lo)
{
    struct watch_sys *w = open_sys();
    struct watch_sys_sample s;
    if (!w)
        return;
    CHECK_INT(watch_sys_sample(w, 1000, &s, NULL), 0);
    for (size_t i = 0; i < s.nifaces; i++) {
        const struct watch_sys_iface *f = &s.ifaces[i];
        CHECK(strcmp(f->name, "lo") != 0);
        CHECK(isnan(f->rx_bps));
        /* Read after the sample: equal or a little ahead (traffic in between). */
        unsigned long long rx = sys_counter(f->name, "rx_bytes");
        unsigned long long tx = sys_counter(f->name, "tx_bytes");
        if (rx < f->rx_bytes || rx - f->rx_bytes > (1u << 24) || tx < f->tx_bytes ||
            tx - f->tx_bytes > (1u << 24))
            UNIT_FAIL("%s: rx %llu tx %llu, /sys says %llu %llu", f->name,
                      (unsigned long long)f->rx_bytes, (unsigned long long)f->tx_bytes, rx, tx);
    }
    CHECK_INT(watch_sys_sample(w, 3000, &s, NULL), 0);
    for (size_t i = 0; i < s.nifaces; i++)
        CHECK(s.ifaces[i].rx_bps >= 0 && s.ifaces[i].tx_bps >= 0);
    watch_sys_free(w);
}

TEST(samples_land_in_series)
{
    struct watch_sys *w = open_sys();
    struct watch_sys_sample s;
    struct watch_series_set *set = watch_series_new(5000, 0);
    const int64_t t = 1795435200000LL;
    if (!w)
        return;
    CHECK_INT(watch_sys_sample(w, 0, &s, NULL), 0);
    watch_sys_put(set, &s, t);
    CHECK(watch_series_find(set, "cpu_percent") == NULL); /* no delta yet: no series */
    CHECK_INT(watch_sys_sample(w, 5000, &s, NULL), 0);
    watch_sys_put(set, &s, t + 5000);
    double v = -1;
    struct watch_series *cpu = watch_series_find(set, "cpu_percent");
    if (isnan(s.cpu_pct)) /* no tick passed between the two samples */
        CHECK(cpu == NULL);
    else
        CHECK(cpu && watch_series_last(cpu, &v, NULL) && fabs(v - s.cpu_pct) < 1e-3);
    struct watch_series *mem = watch_series_find(set, "memory_percent");
    struct watch_stats st;
    if (mem) {
        watch_series_stats(set, mem, t + 5000, 60000, &st);
        CHECK_INT(st.n, 2);
    } else
        UNIT_FAIL("no memory_percent series");
    CHECK(watch_series_find(set, "disk_used_percent{mount=\"/\"}") != NULL);
    CHECK(watch_series_find(set, "load1") != NULL);
    for (size_t i = 0; i < s.nifaces; i++) {
        char key[128];
        str_fmt(key, sizeof key, "network_receive_bytes_per_second{iface=\"%s\"}",
                s.ifaces[i].name);
        CHECK(watch_series_find(set, key) != NULL);
    }
    watch_series_free(set);
    watch_sys_free(w);
}

/* Not a check: the cost of one sample, for the report (and for anyone changing this file). */
TEST(cost_of_one_sample)
{
    struct watch_sys *w = open_sys();
    struct watch_sys_sample s;
    struct rusage r0, r1;
    enum { N = 2000 };
    if (!w)
        return;
    getrusage(RUSAGE_SELF, &r0);
    uint64_t t0 = now_ns();
    for (int i = 0; i < N; i++)
        CHECK_INT(watch_sys_sample(w, (uint64_t)i * 5000, &s, NULL), 0);
    uint64_t wall = now_ns() - t0;
    getrusage(RUSAGE_SELF, &r1);
    double user_us = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1e6 +
                     (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec);
    double sys_us = (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e6 +
                    (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
    printf("one system sample: %.1f us wall (user %.1f us, system %.1f us); %zu disks, %zu "
           "interfaces; at 5 s: %.4f%% of a core\n",
           (double)wall / N / 1000.0, user_us / N, sys_us / N, s.nmounts, s.nifaces,
           (double)wall / N / 1e9 / 5.0 * 100.0);
    watch_sys_free(w);
}

int main(void)
{
    RUN(cpu_agrees_with_proc_stat);
    RUN(memory_agrees_with_free);
    RUN(load_agrees_with_proc_loadavg);
    RUN(disks_agree_with_df_and_skip_pseudo_filesystems);
    RUN(network_agrees_with_sysfs_and_skips_lo);
    RUN(samples_land_in_series);
    RUN(cost_of_one_sample);
    return unit_done();
}
