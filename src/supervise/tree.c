/* supervise/tree.c: reading /proc, and the process tree of an instance.
 *
 * An instance's tree is its session and process group (pgid = sid = its pid, from setsid) plus
 * every descendant, which catches children that called setsid() themselves (daemonising
 * helpers, `npm start` wrappers). Sampling reads /proc once per tick for all instances
 * (sup__proc_scan, sorted by pid so parent lookups are a binary search) and remembers each
 * tree with start times; stop and exit kill what is left of it. A pid is only signalled when
 * its /proc start time still matches, so a reused pid is never hit (DESIGN invariant 5). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "supervise/supervise_int.h"

static int parse_stat(const char *text, struct sup_proc *p)
{
    const char *rp = strrchr(text, ')');
    if (!rp)
        return -EINVAL;
    char state;
    int ppid, pgid, sid;
    unsigned long ut, st;
    unsigned long long start;
    long rss, threads;
    int n = sscanf(rp + 1,
                   " %c %d %d %d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld %*d"
                   " %llu %*u %ld",
                   &state, &ppid, &pgid, &sid, &ut, &st, &threads, &start, &rss);
    if (n != 9)
        return -EINVAL;
    p->threads = threads > 0 ? (uint32_t)threads : 0;
    p->ppid = ppid;
    p->pgid = pgid;
    p->sid = sid;
    p->ticks = (uint64_t)ut + st;
    p->start = start;
    p->rss_pages = rss > 0 ? (uint64_t)rss : 0;
    return 0;
}

int sup__proc_read(pid_t pid, struct sup_proc *p)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int e = errno;
    close(fd);
    if (n <= 0)
        return n < 0 ? -e : -ENOENT;
    buf[n] = '\0';
    p->pid = pid;
    return parse_stat(buf, p);
}

int sup__proc_fds(pid_t pid)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    /* Since Linux 6.2 the directory's size is its number of entries: one syscall. */
    if (stat(path, &st) < 0)
        return -errno;
    if (st.st_size > 0)
        return st.st_size > INT32_MAX ? INT32_MAX : (int)st.st_size;
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

bool sup__pid_matches(pid_t pid, unsigned long long start_ticks)
{
    struct sup_proc p;
    return pid > 0 && sup__proc_read(pid, &p) == 0 && p.start == start_ticks;
}

static int by_pid(const void *a, const void *b)
{
    const struct sup_proc *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

int sup__proc_scan(struct sup_proc **out, size_t *n)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -errno;
    size_t cap = 256, len = 0;
    struct sup_proc *all = xmalloc(cap * sizeof *all);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        if (len == cap)
            all = xrealloc(all, (cap *= 2) * sizeof *all);
        if (sup__proc_read((pid_t)strtol(de->d_name, NULL, 10), &all[len]) == 0)
            len++;
    }
    closedir(d);
    qsort(all, len, sizeof *all, by_pid);
    *out = all;
    *n = len;
    return 0;
}

static long find(const struct sup_proc *all, size_t n, pid_t pid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (all[mid].pid == pid)
            return (long)mid;
        if (all[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

size_t sup__proc_tree(const struct sup_proc *all, size_t n, pid_t root, bool *is_member)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        is_member[i] = all[i].pid == root || all[i].sid == root || all[i].pgid == root;
        count += is_member[i];
    }
    if (!count)
        return 0;
    /* Descendants: repeat until nothing joins (depth of the deepest escaped branch). */
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < n; i++) {
            if (is_member[i])
                continue;
            long pi = find(all, n, all[i].ppid);
            if (pi >= 0 && is_member[pi]) {
                is_member[i] = true;
                count++;
                grew = true;
            }
        }
    }
    return count;
}

void sup__tree_remember(struct sup_instance *in, const struct sup_proc *all, size_t n,
                        const bool *is_member)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += is_member[i];
    in->tree = xrealloc(in->tree, (count ? count : 1) * sizeof *in->tree);
    in->tree_start = xrealloc(in->tree_start, (count ? count : 1) * sizeof *in->tree_start);
    in->ntree = 0;
    for (size_t i = 0; i < n; i++)
        if (is_member[i]) {
            in->tree[in->ntree] = all[i].pid;
            in->tree_start[in->ntree++] = all[i].start;
        }
}

void sup__tree_snapshot(struct sup_instance *in)
{
    struct sup_proc *all = NULL;
    size_t n = 0;
    if (in->pid <= 0 || sup__proc_scan(&all, &n) < 0)
        return;
    bool *member = xcalloc(n ? n : 1, sizeof *member);
    sup__proc_tree(all, n, in->pid, member);
    sup__tree_remember(in, all, n, member);
    free(member);
    free(all);
}

void sup__tree_kill(struct sup_instance *in, int sig)
{
    for (size_t i = 0; i < in->ntree; i++)
        if (sup__pid_matches(in->tree[i], in->tree_start[i]))
            kill(in->tree[i], sig);
}
