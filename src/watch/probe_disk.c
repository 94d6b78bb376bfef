/* watch/probe_disk.c: `disk: /data`: used space and free inodes of the mount holding a path.
 *
 * statfs runs on libuv's thread pool (uv_fs_statfs), never on the loop: statfs on a dead NFS
 * mount can hang for minutes. Such a call cannot be interrupted; the driver's timeout reports
 * it, and the run is released when the thread finally returns (the driver starts no second
 * attempt meanwhile, so a dead mount holds one pool thread, not one per interval).
 *
 * "Used" is computed as df does: used = blocks - free, and the percentage is of what a normal
 * user can have (used + available), so the root-reserved blocks count as unavailable and the
 * number matches `df`'s Use% column. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "watch/probe.h"

/* Owned by its probe. */
struct disk {
    char *path;
    double max_used_pct, min_free_inodes_pct;
};

struct disk_run {
    uv_fs_t req;
};

static int disk_init(struct watch_probe *p, const struct probe_spec *spec, void *state,
                     struct err *err)
{
    const struct probe_disk_spec *d = &spec->u.disk;
    struct disk *k = state;
    if (!d->path || !d->path[0])
        return err_set(err, -TE_INVALID, "disk: path is required (any path on the mount)");
    if (d->max_used_pct < 0 || d->max_used_pct > 100 || d->min_free_inodes_pct < 0 ||
        d->min_free_inodes_pct > 100)
        return err_set(err, -TE_INVALID,
                       "disk: max and min_free_inodes must be between 0%% and 100%%");
    k->path = strdup(d->path);
    if (!k->path)
        abort();
    k->max_used_pct = d->max_used_pct > 0 ? d->max_used_pct : 85;
    k->min_free_inodes_pct = d->min_free_inodes_pct > 0 ? d->min_free_inodes_pct : 5;
    probe_set_target(p, d->path);
    return 0;
}

static void disk_fini(void *state)
{
    free(((struct disk *)state)->path);
}

/* "512 MiB", "8.1 GiB": free space as df -h would say it. */
static void fmt_bytes(char *dst, size_t size, double b)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    size_t u = 0;
    while (b >= 1024 && u + 1 < ARRAY_LEN(units)) {
        b /= 1024;
        u++;
    }
    snprintf(dst, size, b < 10 && u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static void on_statfs(uv_fs_t *req)
{
    struct disk_run *dr = container_of(req, struct disk_run, req);
    struct probe_run *r = probe_run_from_data(dr);
    struct disk *k = probe_run_state(r);
    if (req->result < 0) {
        probe_run_report(r, PROBE_FAILING, "cannot read the usage of %s: %s", k->path,
                         uv_strerror((int)req->result));
        goto out;
    }
    const uv_statfs_t *f = req->ptr;
    double bsize = (double)f->f_bsize;
    double used = (double)(f->f_blocks - f->f_bfree), avail = (double)f->f_bavail;
    double used_pct = used + avail > 0 ? used * 100 / (used + avail) : 0;
    double free_bytes = avail * bsize;
    bool has_inodes = f->f_files > 0; /* btrfs and some FUSE mounts report none */
    double inodes_pct = has_inodes ? (double)f->f_ffree * 100 / (double)f->f_files : 100;
    char freeb[32];
    fmt_bytes(freeb, sizeof freeb, free_bytes);
    probe_run_metric(r, "used_pct", used_pct);
    probe_run_metric(r, "free_bytes", free_bytes);
    if (has_inodes)
        probe_run_metric(r, "free_inodes_pct", inodes_pct);
    if (used_pct > k->max_used_pct)
        probe_run_report(r, PROBE_FAILING, "%s is %.1f%% full (more than %g%%); %s free", k->path,
                         used_pct, k->max_used_pct, freeb);
    else if (inodes_pct < k->min_free_inodes_pct)
        probe_run_report(r, PROBE_FAILING,
                         "%s has %.1f%% of its inodes free (less than %g%%): too many files",
                         k->path, inodes_pct, k->min_free_inodes_pct);
    else
        probe_run_report(r, PROBE_OK, "%s is %.1f%% full, %s free, %.0f%% of inodes free", k->path,
                         used_pct, freeb, inodes_pct);
out:
    uv_fs_req_cleanup(req);
    probe_run_release(r);
}

static int disk_start(struct probe_run *r, struct err *err)
{
    struct disk *k = probe_run_state(r);
    struct disk_run *dr = probe_run_data(r);
    int rc = uv_fs_statfs(probe_run_loop(r), &dr->req, k->path, on_statfs);
    if (rc < 0)
        return err_set(err, rc, "cannot read the usage of %s: %s", k->path, uv_strerror(rc));
    return 0;
}

static void disk_cancel(struct probe_run *r)
{
    struct disk_run *dr = probe_run_data(r);
    uv_cancel((uv_req_t *)&dr->req); /* on_statfs still runs (UV_ECANCELED) and releases */
}

const struct probe_kind probe_disk = {
    .name = "disk",
    .state_size = sizeof(struct disk),
    .run_size = sizeof(struct disk_run),
    .init = disk_init,
    .fini = disk_fini,
    .start = disk_start,
    .cancel = disk_cancel,
};
