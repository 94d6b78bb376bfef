/* watch/sysstat.c: one sample of the machine from /proc: CPU, memory, load, disks, network.
 *
 * The files are opened once and re-read with pread() at offset 0 (procfs regenerates them on
 * each read), so a sample is about a dozen syscalls and no allocation. CPU% and network rates
 * are deltas against the previous sample, so the first sample has NaN there.
 *
 * Disks: the mount list comes from /proc/self/mountinfo and is parsed again only when poll()
 * says the mount table changed (the kernel flags POLLPRI on that file). "Real" mounts are
 * the ones on a block device (not "nodev" in /proc/filesystems) plus overlay and zfs (a
 * container's root, ZFS datasets); squashfs/iso9660 (always full) and every network or FUSE
 * filesystem are skipped, because statvfs() on a dead NFS server blocks (DESIGN invariant 2).
 * A filesystem mounted at several places (bind mounts) is reported once, at its own root. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "watch/metrics.h"

struct mount_ref {
    char path[256];
    char fstype[32];
    unsigned dev_major, dev_minor;
    bool at_root; /* mountinfo's root field is "/": the filesystem itself, not a bind of a part */
};

struct net_prev {
    char name[32];
    uint64_t rx, tx;
};

/* Owned by the daemon's watch handle (watch_sys_open / watch_sys_free). */
struct watch_sys {
    int stat_fd, meminfo_fd, loadavg_fd, netdev_fd, mountinfo_fd;
    uint64_t prev_busy, prev_total; /* /proc/stat ticks of the previous sample; total 0 = none */
    uint64_t prev_net_ms;
    size_t nprev;
    struct net_prev prev[WATCH_SYS_MAX_IFACES];
    size_t nmounts;
    struct mount_ref mounts[WATCH_SYS_MAX_MOUNTS];
    struct buf nodev;   /* "\ntmpfs\nproc\n...": filesystem types without a device */
    struct buf scratch; /* mountinfo and /proc/net/dev text */
};

/* Read the whole file from offset 0 into b (reset first); 0 or -errno. */
static int pread_buf(int fd, struct buf *b)
{
    buf_reset(b);
    for (;;) {
        char chunk[4096];
        ssize_t n = pread(fd, chunk, sizeof chunk, (off_t)b->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return b->ptr ? 0 : buf_puts(b, "");
        int rc = buf_append(b, chunk, (size_t)n);
        if (rc < 0)
            return rc;
    }
}

/* The head of a small file into dst (NUL-terminated); 0 or -errno. */
static int pread_head(int fd, char *dst, size_t size)
{
    ssize_t n;
    do
        n = pread(fd, dst, size - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    dst[n] = '\0';
    return 0;
}

static bool is_nodev(const struct watch_sys *w, const char *fstype)
{
    char word[40];
    if (str_fmt(word, sizeof word, "\n%s\n", fstype) < 0)
        return true;
    return w->nodev.ptr && strstr(w->nodev.ptr, word);
}

static bool is_real_fs(const struct watch_sys *w, const char *fstype)
{
    static const char *const always[] = {"overlay", "zfs"};
    static const char *const never[] = {"squashfs", "iso9660", "udf", "fuseblk"};
    for (size_t i = 0; i < ARRAY_LEN(always); i++)
        if (strcmp(fstype, always[i]) == 0)
            return true;
    for (size_t i = 0; i < ARRAY_LEN(never); i++)
        if (strcmp(fstype, never[i]) == 0)
            return false;
    if (strchr(fstype, '.')) /* fuse.sshfs, fuse.s3fs: network behind FUSE */
        return false;
    return !is_nodev(w, fstype);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
    char *d = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *d++ = *s;
        }
    }
    *d = '\0';
}

/* One mountinfo line: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw". */
static bool parse_mount_line(char *line, struct mount_ref *m)
{
    char *field[6] = {0}, *save = NULL, *tok = strtok_r(line, " ", &save);
    int nf = 0;
    while (tok && nf < 6) {
        field[nf++] = tok;
        tok = strtok_r(NULL, " ", &save);
    }
    while (tok && strcmp(tok, "-") != 0) /* optional fields end at "-" */
        tok = strtok_r(NULL, " ", &save);
    char *fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
    if (nf < 6 || !fstype || sscanf(field[2], "%u:%u", &m->dev_major, &m->dev_minor) != 2)
        return false;
    unescape(field[4]);
    if (str_copy(m->path, field[4], sizeof m->path) >= sizeof m->path ||
        str_copy(m->fstype, fstype, sizeof m->fstype) >= sizeof m->fstype)
        return false;
    m->at_root = strcmp(field[3], "/") == 0;
    return true;
}

static void add_mount(struct watch_sys *w, const struct mount_ref *m)
{
    struct stat st;
    for (size_t i = 0; i < w->nmounts; i++) {
        struct mount_ref *o = &w->mounts[i];
        if (o->dev_major == m->dev_major && o->dev_minor == m->dev_minor) {
            if (!o->at_root && m->at_root)
                *o = *m; /* the filesystem's own mount beats a bind of a part of it */
            return;
        }
    }
    /* A bind-mounted file (a container's /etc/hosts) is not a place anyone calls a disk. */
    if (w->nmounts < WATCH_SYS_MAX_MOUNTS && stat(m->path, &st) == 0 && S_ISDIR(st.st_mode))
        w->mounts[w->nmounts++] = *m;
}

static int read_mounts(struct watch_sys *w)
{
    int rc = pread_buf(w->mountinfo_fd, &w->scratch);
    if (rc < 0)
        return rc;
    w->nmounts = 0;
    char *save = NULL;
    for (char *line = strtok_r(w->scratch.ptr, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        struct mount_ref m;
        if (parse_mount_line(line, &m) && is_real_fs(w, m.fstype))
            add_mount(w, &m);
    }
    return 0;
}

static bool mounts_changed(const struct watch_sys *w)
{
    struct pollfd p = {.fd = w->mountinfo_fd, .events = POLLPRI};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLPRI | POLLERR));
}

/* "nodev\tproc\n\text4\n" -> "\nproc\n" (only the device-less ones, each between newlines). */
static int read_nodev(struct watch_sys *w)
{
    struct buf text = {0};
    int rc = read_file("/proc/filesystems", 1 << 16, &text);
    if (rc == 0)
        rc = buf_putc(&w->nodev, '\n');
    char *save = NULL;
    for (char *line = rc == 0 ? strtok_r(text.ptr, "\n", &save) : NULL; line && rc == 0;
         line = strtok_r(NULL, "\n", &save)) {
        char kind[16], name[32];
        if (sscanf(line, "%15s %31s", kind, name) == 2 && strcmp(kind, "nodev") == 0)
            rc = buf_printf(&w->nodev, "%s\n", name);
    }
    buf_fini(&text);
    return rc;
}

int watch_sys_open(struct watch_sys **out, struct err *err)
{
    static const struct {
        size_t offset;
        const char *path;
    } files[] = {
        {offsetof(struct watch_sys, stat_fd), "/proc/stat"},
        {offsetof(struct watch_sys, meminfo_fd), "/proc/meminfo"},
        {offsetof(struct watch_sys, loadavg_fd), "/proc/loadavg"},
        {offsetof(struct watch_sys, netdev_fd), "/proc/net/dev"},
        {offsetof(struct watch_sys, mountinfo_fd), "/proc/self/mountinfo"},
    };
    struct watch_sys *w = xcalloc(1, sizeof *w);
    int rc = 0;
    for (size_t i = 0; i < ARRAY_LEN(files); i++)
        *(int *)((char *)w + files[i].offset) = -1;
    for (size_t i = 0; i < ARRAY_LEN(files); i++) {
        int fd = open(files[i].path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            rc = err_sys(err, "cannot open %s for system metrics", files[i].path);
            goto out;
        }
        *(int *)((char *)w + files[i].offset) = fd;
    }
    buf_init(&w->scratch, 1 << 20);
    rc = read_nodev(w);
    if (rc == 0)
        rc = read_mounts(w);
    if (rc < 0) {
        err_set(err, rc, "cannot read the mount table for disk metrics: %s", err_str(rc));
        goto out;
    }
    *out = w;
    return 0;
out:
    watch_sys_free(w);
    return rc;
}

void watch_sys_free(struct watch_sys *w)
{
    if (!w)
        return;
    int fds[] = {w->stat_fd, w->meminfo_fd, w->loadavg_fd, w->netdev_fd, w->mountinfo_fd};
    for (size_t i = 0; i < ARRAY_LEN(fds); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    buf_fini(&w->nodev);
    buf_fini(&w->scratch);
    free(w);
}

static int sample_cpu(struct watch_sys *w, struct watch_sys_sample *out, struct err *err)
{
    char text[512];
    unsigned long long v[8] = {0};
    int rc = pread_head(w->stat_fd, text, sizeof text);
    if (rc < 0)
        return err_set(err, rc, "cannot read /proc/stat: %s", err_str(rc));
    if (sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) < 4)
        return err_set(err, -TE_PARSE, "cannot read /proc/stat: no \"cpu\" line");
    /* user nice system idle iowait irq softirq steal; guest time is already inside user. */
    uint64_t total = 0, idle = v[3] + v[4];
    for (int i = 0; i < 8; i++)
        total += v[i];
    out->cpu_pct = NAN;
    if (w->prev_total && total > w->prev_total && total - idle >= w->prev_busy)
        out->cpu_pct =
            (double)(total - idle - w->prev_busy) * 100.0 / (double)(total - w->prev_total);
    w->prev_busy = total - idle;
    w->prev_total = total;
    return 0;
}

static int sample_memory(struct watch_sys *w, struct watch_sys_sample *out, struct err *err)
{
    char text[1024];
    unsigned long long total = 0, avail = 0, free_kb = 0;
    bool has_avail = false;
    int rc = pread_head(w->meminfo_fd, text, sizeof text);
    if (rc < 0)
        return err_set(err, rc, "cannot read /proc/meminfo: %s", err_str(rc));
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (sscanf(line, "MemTotal: %llu", &total) == 1 ||
            sscanf(line, "MemFree: %llu", &free_kb) == 1)
            continue;
        if (sscanf(line, "MemAvailable: %llu", &avail) == 1) {
            has_avail = true;
            break;
        }
    }
    if (!total)
        return err_set(err, -TE_PARSE, "cannot read /proc/meminfo: no MemTotal");
    if (!has_avail) /* kernels before 3.14: an underestimate, but never a false alarm of 0 */
        avail = free_kb;
    out->mem_total = total * 1024;
    out->mem_available = avail * 1024;
    out->mem_pct = (double)(total - MIN(avail, total)) * 100.0 / (double)total;
    return 0;
}

static void sample_load(struct watch_sys *w, struct watch_sys_sample *out)
{
    char text[128];
    out->load1 = out->load5 = out->load15 = NAN;
    if (pread_head(w->loadavg_fd, text, sizeof text) == 0)
        sscanf(text, "%lf %lf %lf", &out->load1, &out->load5, &out->load15);
}

static void sample_disks(struct watch_sys *w, struct watch_sys_sample *out)
{
    if (mounts_changed(w))
        read_mounts(w); /* on failure the old list stays: better than none */
    out->nmounts = 0;
    for (size_t i = 0; i < w->nmounts; i++) {
        struct statvfs vf;
        if (statvfs(w->mounts[i].path, &vf) < 0 || vf.f_blocks == 0)
            continue;
        struct watch_sys_mount *m = &out->mounts[out->nmounts++];
        str_copy(m->path, w->mounts[i].path, sizeof m->path);
        str_copy(m->fstype, w->mounts[i].fstype, sizeof m->fstype);
        uint64_t used = (uint64_t)(vf.f_blocks - vf.f_bfree) * vf.f_frsize;
        m->avail = (uint64_t)vf.f_bavail * vf.f_frsize;
        m->size = (uint64_t)vf.f_blocks * vf.f_frsize;
        /* df's Use%: reserved blocks count as neither used nor available. */
        m->used_pct = used + m->avail ? (double)used * 100.0 / (double)(used + m->avail) : 0;
        m->inodes_free_pct = vf.f_files ? (double)vf.f_ffree * 100.0 / (double)vf.f_files : NAN;
    }
}

static double rate(uint64_t now, uint64_t before, uint64_t ms)
{
    return ms && now >= before ? (double)(now - before) * 1000.0 / (double)ms : NAN;
}

static void sample_net(struct watch_sys *w, uint64_t now_ms, struct watch_sys_sample *out)
{
    out->nifaces = 0;
    if (pread_buf(w->netdev_fd, &w->scratch) < 0)
        return;
    uint64_t dt = w->nprev && now_ms > w->prev_net_ms ? now_ms - w->prev_net_ms : 0;
    char *save = NULL;
    for (char *line = strtok_r(w->scratch.ptr, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(line, ':');
        unsigned long long rx, tx;
        /* "  eth0: rx_bytes packets errs drop fifo frame compressed multicast tx_bytes ..." */
        if (!colon || sscanf(colon + 1, "%llu %*u %*u %*u %*u %*u %*u %*u %llu", &rx, &tx) != 2)
            continue;
        *colon = '\0';
        while (isspace((unsigned char)*line))
            line++;
        if (strcmp(line, "lo") == 0 || out->nifaces == WATCH_SYS_MAX_IFACES)
            continue;
        struct watch_sys_iface *f = &out->ifaces[out->nifaces++];
        str_copy(f->name, line, sizeof f->name);
        f->rx_bytes = rx;
        f->tx_bytes = tx;
        f->rx_bps = f->tx_bps = NAN;
        for (size_t i = 0; i < w->nprev; i++)
            if (strcmp(w->prev[i].name, f->name) == 0) {
                f->rx_bps = rate(rx, w->prev[i].rx, dt);
                f->tx_bps = rate(tx, w->prev[i].tx, dt);
            }
    }
    w->nprev = out->nifaces;
    for (size_t i = 0; i < out->nifaces; i++) {
        str_copy(w->prev[i].name, out->ifaces[i].name, sizeof w->prev[i].name);
        w->prev[i].rx = out->ifaces[i].rx_bytes;
        w->prev[i].tx = out->ifaces[i].tx_bytes;
    }
    w->prev_net_ms = now_ms;
}

int watch_sys_sample(struct watch_sys *w, uint64_t now_ms, struct watch_sys_sample *out,
                     struct err *err)
{
    int rc = sample_cpu(w, out, err);
    if (rc == 0)
        rc = sample_memory(w, out, err);
    if (rc < 0)
        return rc;
    sample_load(w, out);
    sample_disks(w, out);
    sample_net(w, now_ms, out);
    return 0;
}

static void put(struct watch_series_set *set, const char *name, const char *label,
                const char *value, int64_t now_ms, double v)
{
    const struct watch_label l = {label, value};
    if (isnan(v)) /* not even created: a series that never had a value is noise on /metrics */
        return;
    watch_series_put(set, watch_series_get(set, name, &l, label ? 1 : 0), now_ms, v);
}

void watch_sys_put(struct watch_series_set *set, const struct watch_sys_sample *smp, int64_t now_ms)
{
    put(set, WATCH_CPU, NULL, NULL, now_ms, smp->cpu_pct);
    put(set, WATCH_MEMORY, NULL, NULL, now_ms, smp->mem_pct);
    put(set, WATCH_LOAD1, NULL, NULL, now_ms, smp->load1);
    put(set, WATCH_LOAD5, NULL, NULL, now_ms, smp->load5);
    put(set, WATCH_LOAD15, NULL, NULL, now_ms, smp->load15);
    for (size_t i = 0; i < smp->nmounts; i++) {
        const struct watch_sys_mount *m = &smp->mounts[i];
        put(set, WATCH_DISK, "mount", m->path, now_ms, m->used_pct);
        put(set, WATCH_INODES, "mount", m->path, now_ms, m->inodes_free_pct);
    }
    for (size_t i = 0; i < smp->nifaces; i++) {
        const struct watch_sys_iface *f = &smp->ifaces[i];
        put(set, WATCH_NET_RX, "iface", f->name, now_ms, f->rx_bps);
        put(set, WATCH_NET_TX, "iface", f->name, now_ms, f->tx_bps);
    }
}
