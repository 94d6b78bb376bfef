/* logs/rotate.c: what a writer's job does in the thread pool, and the gzip queue.
 *
 * Naming scheme. The current file keeps its name (api-out.log). A rotated file is named after
 * the day of the lines it holds and a number counting that day's rotations from 1:
 *     api-out.log  ->  api-out.2026-11-22.1.log  ->  (gzip)  api-out.2026-11-22.1.log.gz
 * (a name without ".log" gets the suffix appended: app.txt -> app.txt.2026-11-22.1). Rotated
 * names never change afterwards, so compression can run beside new rotations without racing a
 * rename, and names sort by (day, number) = age. `keep` counts rotated files (a .log and its
 * .gz are one); after each rotation the oldest beyond `keep` are deleted (keep 0: rotation
 * discards). Rotated files still uncompressed (say, the daemon stopped mid-gzip) are queued
 * again at the next rotation.
 *
 * The job (logs__job_run) owns the writer's fd, size and day while it runs: it opens the file
 * (folders 0750, file 0640, O_APPEND|O_CLOEXEC), truncates it for `tend flush`, and writes
 * the batch, rotating between two lines when the next line would take the file past max_size
 * or when the day changed (daily). A write that fails part-way is cut back (ftruncate) to the
 * size before it, so a file never ends in half a line. A file deleted under us (st_nlink 0) is
 * opened again. Compression runs one file at a time (the pool has 4 threads, which writes need
 * more): deflate into name.gz.tmp, fsync, rename to name.gz, unlink name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/afile.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "logs/logs_int.h"

int logs__local_day(int64_t wall_ms)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return 0;
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* Split a path into folder, stem and extension (".log" or ""). */
struct pparts {
    char dir[PATH_MAX];
    char stem[256];
    const char *ext;
};

static int path_parts(const char *path, struct pparts *pp)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dlen = slash ? (size_t)(slash - path) : 1;
    if (dlen >= sizeof pp->dir || strlen(base) >= sizeof pp->stem)
        return -ENAMETOOLONG;
    memcpy(pp->dir, slash ? path : ".", dlen);
    pp->dir[dlen ? dlen : 1] = '\0';
    if (slash == path)
        str_copy(pp->dir, "/", sizeof pp->dir);
    size_t blen = strlen(base);
    pp->ext = blen > 4 && str_ends(base, ".log") ? ".log" : "";
    memcpy(pp->stem, base, blen - strlen(pp->ext));
    pp->stem[blen - strlen(pp->ext)] = '\0';
    return 0;
}

int logs__rotated_name(const char *path, int day, int n, char *dst, size_t size)
{
    struct pparts pp;
    int rc = path_parts(path, &pp);
    if (rc < 0)
        return rc;
    return str_fmt(dst, size, "%s/%s.%04d-%02d-%02d.%d%s", pp.dir, pp.stem, day / 10000,
                   day / 100 % 100, day % 100, n, pp.ext);
}

/* One rotated file found in the folder. */
struct rentry {
    int day, n;
    bool has_log, has_gz;
};

/* Parse "<stem>.YYYY-MM-DD.N<ext>[.gz]"; 0 or -1. */
static int parse_rotated(const struct pparts *pp, const char *name, struct rentry *e)
{
    size_t sl = strlen(pp->stem);
    int y, m, d, n, used = 0;
    if (strncmp(name, pp->stem, sl) != 0 || name[sl] != '.')
        return -1;
    if (sscanf(name + sl, ".%4d-%2d-%2d.%d%n", &y, &m, &d, &n, &used) != 4 || n < 1)
        return -1;
    const char *rest = name + sl + used;
    size_t el = strlen(pp->ext);
    if (strncmp(rest, pp->ext, el) != 0)
        return -1;
    rest += el;
    *e = (struct rentry){.day = y * 10000 + m * 100 + d, .n = n};
    if (*rest == '\0')
        e->has_log = true;
    else if (strcmp(rest, ".gz") == 0)
        e->has_gz = true;
    else
        return -1; /* .gz.tmp and anything else are not rotated files */
    return 0;
}

static int rentry_cmp(const void *a, const void *b)
{
    const struct rentry *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* The rotated files of `path`, sorted oldest first, a .log and its .gz merged. */
static int scan_rotated(const struct pparts *pp, struct rentry **out, size_t *nout)
{
    DIR *d = opendir(pp->dir);
    if (!d)
        return -errno;
    struct rentry *v = NULL, e;
    size_t n = 0, cap = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (parse_rotated(pp, de->d_name, &e) < 0)
            continue;
        if (n == cap)
            v = xrealloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
        v[n++] = e;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, rentry_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && v[k - 1].day == v[i].day && v[k - 1].n == v[i].n) {
            v[k - 1].has_log |= v[i].has_log;
            v[k - 1].has_gz |= v[i].has_gz;
        } else {
            v[k++] = v[i];
        }
    }
    *out = v;
    *nout = k;
    return 0;
}

static void unlink_entry(const char *path, const struct rentry *e)
{
    char name[PATH_MAX], gz[PATH_MAX + 4];
    if (logs__rotated_name(path, e->day, e->n, name, sizeof name) < 0)
        return;
    unlink(name);
    if (str_fmt(gz, sizeof gz, "%s.gz", name) == 0)
        unlink(gz);
}

/* Delete the oldest beyond keep; list uncompressed ones for gzip into w->job_gz. */
static void retention(struct logs_writer *w, const struct pparts *pp)
{
    struct rentry *v = NULL;
    size_t n = 0, ngz = 0;
    if (scan_rotated(pp, &v, &n) < 0)
        return;
    while (w->job_gz && w->job_gz[ngz]) /* an earlier rotation in this job listed some */
        ngz++;
    size_t drop = n > (size_t)w->keep ? n - (size_t)w->keep : 0;
    for (size_t i = 0; i < drop; i++)
        unlink_entry(w->path, &v[i]);
    for (size_t i = drop; i < n && w->compress; i++) {
        char name[PATH_MAX];
        /* A .log beside its .gz is a gzip between its rename and its unlink, or one cut short
         * by a crash: never unlink it here (the running gzip would then delete its .gz);
         * queueing it again is harmless (the queue skips the running one). */
        if (!v[i].has_log || logs__rotated_name(w->path, v[i].day, v[i].n, name, sizeof name) < 0)
            continue;
        bool listed = false;
        for (size_t j = 0; j < ngz; j++)
            listed |= strcmp(w->job_gz[j], name) == 0;
        if (listed)
            continue;
        w->job_gz = xrealloc(w->job_gz, (ngz + 2) * sizeof *w->job_gz);
        w->job_gz[ngz++] = str_dup(name);
        w->job_gz[ngz] = NULL;
    }
    free(v);
}

static int open_file(struct logs_writer *w)
{
    struct pparts pp;
    struct stat st;
    int rc = path_parts(w->path, &pp);
    if (rc == 0)
        rc = afile_mkdirs(pp.dir, 0750, NULL);
    if (rc == 0) {
        w->fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        rc = w->fd < 0 || fstat(w->fd, &st) < 0 ? -errno : 0;
    }
    if (rc < 0) {
        if (w->fd >= 0)
            close(w->fd);
        w->fd = -1;
        w->job_err = rc;
        str_copy(w->job_errop, "open", sizeof w->job_errop);
        return rc;
    }
    w->size = (uint64_t)st.st_size;
    /* A file left from an earlier day is rotated under that day's name at the first batch. */
    w->day = st.st_size ? logs__local_day((int64_t)st.st_mtime * 1000)
                        : logs__local_day(w->job_wall_ms);
    return 0;
}

/* Move the current file aside and start a new one. A failed rename keeps writing on. */
static void rotate(struct logs_writer *w)
{
    struct pparts pp;
    struct rentry *v = NULL;
    size_t n = 0;
    char name[PATH_MAX];
    int next = 1, rc = path_parts(w->path, &pp);
    if (rc == 0 && (rc = scan_rotated(&pp, &v, &n)) == 0) {
        for (size_t i = 0; i < n; i++)
            if (v[i].day == w->day && v[i].n >= next)
                next = v[i].n + 1;
        free(v);
    }
    if (rc == 0)
        rc = logs__rotated_name(w->path, w->day, next, name, sizeof name);
    if (rc == 0 && rename(w->path, name) < 0)
        rc = -errno;
    if (rc < 0) {
        w->job_warn = rc;
        return;
    }
    close(w->fd);
    w->fd = -1;
    if (open_file(w) < 0)
        return;
    w->day = logs__local_day(w->job_wall_ms);
    retention(w, &pp);
}

/* Write p[0..n) whole or not at all (cut back a partial write). */
static int write_whole(struct logs_writer *w, const char *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(w->fd, p + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int rc = k < 0 ? -errno : -EIO;
            if (done && ftruncate(w->fd, (off_t)w->size) < 0)
                tlog_warn("logs", "cannot cut back %s after a failed write", w->path);
            return rc;
        }
        done += (size_t)k;
    }
    w->size += n;
    return 0;
}

/* How much of the batch from `off` goes into the current file before a rotation: whole lines
 * up to max_size, or (0) rotate first; a file always takes at least one line. */
static size_t next_piece(const struct logs_writer *w, size_t off)
{
    const char *p = w->inflight.ptr + off;
    size_t left = w->inflight.len - off;
    if (!w->max_size || w->size + left <= w->max_size)
        return left;
    size_t room = w->size < w->max_size ? (size_t)(w->max_size - w->size) : 0;
    const char *nl = room ? memrchr(p, '\n', MIN(room, left)) : NULL;
    if (nl)
        return (size_t)(nl - p) + 1;
    if (w->size > 0)
        return 0;
    nl = memchr(p, '\n', left);
    return nl ? (size_t)(nl - p) + 1 : left;
}

static void write_batch(struct logs_writer *w)
{
    struct stat st;
    if (fstat(w->fd, &st) == 0) {
        if (st.st_nlink == 0) { /* deleted under us: start a new file */
            close(w->fd);
            w->fd = -1;
            if (open_file(w) < 0)
                return;
        } else {
            w->size = (uint64_t)st.st_size; /* someone else may have truncated it */
        }
    }
    int today = logs__local_day(w->job_wall_ms);
    if (w->daily && w->size > 0 && today != w->day)
        rotate(w);
    w->day = today;
    for (size_t off = 0; off < w->inflight.len && w->fd >= 0;) {
        size_t n = next_piece(w, off);
        if (n == 0) {
            int before = w->job_warn;
            rotate(w);
            if (w->job_warn != before || w->size > 0)
                n = w->inflight.len - off; /* cannot rotate: write on rather than lose */
            else
                continue;
        }
        int rc = write_whole(w, w->inflight.ptr + off, n);
        if (rc < 0) {
            w->job_err = rc;
            str_copy(w->job_errop, "write", sizeof w->job_errop);
            return;
        }
        off += n;
        w->job_written = off;
    }
}

void logs__job_run(struct logs_writer *w)
{
    bool work = w->inflight.len || w->job_truncate;
    if (w->fd < 0 && work && open_file(w) < 0)
        return;
    if (w->job_truncate && ftruncate(w->fd, 0) == 0)
        w->size = 0;
    if (w->inflight.len)
        write_batch(w);
    if (w->job_close && w->fd >= 0) {
        if (close(w->fd) < 0 && !w->job_err)
            w->job_warn = -errno;
        w->fd = -1;
    }
}

/* ---- gzip, one file at a time ---------------------------------------------------------------- */

struct logs_gz {
    uv_work_t work;
    struct logs *l;
    char *path;
    int err;
    struct logs_gz *next;
};

static int deflate_fd(int in, int out, z_stream *z, unsigned char *ib, unsigned char *ob,
                      size_t bs)
{
    int flush = Z_NO_FLUSH, zrc = Z_OK;
    while (flush != Z_FINISH) {
        ssize_t k = read(in, ib, bs);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        flush = k == 0 ? Z_FINISH : Z_NO_FLUSH;
        z->next_in = ib;
        z->avail_in = (uInt)k;
        do {
            z->next_out = ob;
            z->avail_out = (uInt)bs;
            zrc = deflate(z, flush);
            if (zrc == Z_STREAM_ERROR)
                return -EIO;
            int rc = write_all(out, ob, bs - z->avail_out);
            if (rc < 0)
                return rc;
        } while (z->avail_out == 0);
    }
    return zrc == Z_STREAM_END ? 0 : -EIO;
}

static int gzip_file(const char *src)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    size_t bs = 128 * 1024;
    int in = -1, out = -1, rc = str_fmt(tmp, sizeof tmp, "%s.gz.tmp", src);
    if (rc == 0)
        rc = str_fmt(dst, sizeof dst, "%s.gz", src);
    if (rc < 0)
        return rc;
    unsigned char *ib = malloc(bs), *ob = malloc(bs);
    z_stream z = {0};
    bool zinit = false;
    in = open(src, O_RDONLY | O_CLOEXEC);
    out = in < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (in < 0 || out < 0 || !ib || !ob) {
        rc = !ib || !ob ? -ENOMEM : -errno;
        goto out;
    }
    zinit = deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    rc = zinit ? deflate_fd(in, out, &z, ib, ob, bs) : -ENOMEM;
    if (rc == 0 && fsync(out) < 0)
        rc = -errno;
    if (close(out) < 0 && rc == 0)
        rc = -errno;
    out = -1;
    if (rc == 0 && rename(tmp, dst) < 0)
        rc = -errno;
    if (rc == 0 && unlink(src) < 0) {
        rc = -errno;
        if (rc == -ENOENT) /* retention deleted it meanwhile: so goes its .gz */
            unlink(dst);
    }
out:
    if (zinit)
        deflateEnd(&z);
    if (out >= 0)
        close(out);
    if (in >= 0)
        close(in);
    if (rc < 0 && rc != -ENOENT)
        unlink(tmp);
    free(ib);
    free(ob);
    return rc == -ENOENT ? 0 : rc; /* deleted meanwhile (retention): nothing to do */
}

static void gz_next(struct logs *l);

static void gz_work(uv_work_t *req)
{
    struct logs_gz *g = req->data;
    g->err = gzip_file(g->path);
}

static void gz_after(uv_work_t *req, int status)
{
    struct logs_gz *g = req->data;
    struct logs *l = g->l;
    if (g->err < 0 || status < 0)
        tlog_warn("logs", "cannot compress %s: %s; it stays uncompressed", g->path,
                  err_str(g->err < 0 ? g->err : status));
    l->gz_head = g->next;
    if (!l->gz_head)
        l->gz_tail = NULL;
    l->gz_busy = false;
    free(g->path);
    free(g);
    gz_next(l);
    logs__maybe_done(l);
}

static void gz_next(struct logs *l)
{
    if (l->gz_busy || !l->gz_head || l->closing)
        return;
    l->gz_busy = true;
    if (uv_queue_work(l->loop, &l->gz_head->work, gz_work, gz_after) < 0)
        l->gz_busy = false;
}

void logs__gz_enqueue(struct logs *l, const char *path)
{
    for (struct logs_gz *g = l->gz_head; g; g = g->next)
        if (strcmp(g->path, path) == 0)
            return;
    struct logs_gz *g = xcalloc(1, sizeof *g);
    g->l = l;
    g->path = str_dup(path);
    g->work.data = g;
    if (l->gz_tail)
        l->gz_tail->next = g;
    else
        l->gz_head = g;
    l->gz_tail = g;
    gz_next(l);
}

/* Closing: forget what has not started (the next rotation queues it again). */
void logs__gz_clear(struct logs *l)
{
    struct logs_gz **pp = l->gz_busy ? &l->gz_head->next : &l->gz_head;
    while (*pp) {
        struct logs_gz *g = *pp;
        *pp = g->next;
        free(g->path);
        free(g);
    }
    l->gz_tail = l->gz_busy ? l->gz_head : NULL;
}
