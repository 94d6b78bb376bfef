/* watch/probe_file_age.c: `file_age: {glob, max_age}`: the newest file matching a pattern is
 * younger than a limit (is last night's backup there?).
 *
 * glob(3) and stat(2) run on libuv's thread pool, never on the loop: a large folder or a slow
 * mount must not stall the daemon. The work is bounded: GLOB_NOSORT (no sorting of a huge
 * listing) and at most FILE_AGE_MAX_STAT matches are stat()ed; past that the probe says so. Only
 * regular files count (a folder that matches is not a backup). The thread reads only the
 * probe's immutable state and writes only its run's data. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/util.h"
#include "watch/probe.h"

#define FILE_AGE_MAX_STAT 10000

/* Owned by its probe. */
struct file_age {
    char *glob;
    uint64_t max_age_ms;
};

struct file_age_run {
    uv_work_t work;
    int glob_rc;       /* glob()'s return */
    int glob_errno;    /* why a folder could not be read, if glob said GLOB_ABORTED */
    size_t nmatches;   /* regular files seen */
    bool is_truncated; /* more than FILE_AGE_MAX_STAT matches */
    int64_t newest_ms; /* its mtime */
    char newest[PATH_MAX];
};

static int file_age_init(struct watch_probe *p, const struct probe_spec *spec, void *state,
                         struct err *err)
{
    const struct probe_file_age_spec *f = &spec->u.file_age;
    struct file_age *k = state;
    if (!f->glob || !f->glob[0])
        return err_set(err, -TE_INVALID, "file_age: glob is required (\"/backups/*.dump*\")");
    if (!f->max_age_ms)
        return err_set(err, -TE_INVALID, "file_age: max_age is required (such as 26h)");
    k->glob = strdup(f->glob);
    if (!k->glob)
        abort();
    k->max_age_ms = f->max_age_ms;
    probe_set_target(p, f->glob);
    return 0;
}

static void file_age_fini(void *state)
{
    free(((struct file_age *)state)->glob);
}

/* "45 s", "12 min", "3 h 12 min", "2 d 4 h": ages as people read them. */
static void fmt_age(char *dst, size_t size, uint64_t ms)
{
    uint64_t s = ms / 1000, m = s / 60, h = m / 60, d = h / 24;
    if (s < 60)
        snprintf(dst, size, "%llu s", (unsigned long long)s);
    else if (m < 60)
        snprintf(dst, size, "%llu min", (unsigned long long)m);
    else if (h < 48)
        snprintf(dst, size, m % 60 ? "%llu h %llu min" : "%llu h", (unsigned long long)h,
                 (unsigned long long)(m % 60));
    else
        snprintf(dst, size, h % 24 ? "%llu d %llu h" : "%llu d", (unsigned long long)d,
                 (unsigned long long)(h % 24));
}

static int glob_error(const char *path, int e)
{
    (void)path;
    (void)e;
    return 0; /* an unreadable folder among many: keep looking; GLOB_ABORTED only if none */
}

/* On a pool thread. */
static void work(uv_work_t *w)
{
    struct file_age_run *fr = container_of(w, struct file_age_run, work);
    struct file_age *k = probe_run_state(probe_run_from_data(fr));
    glob_t g;
    errno = 0;
    fr->glob_rc = glob(k->glob, GLOB_NOSORT, glob_error, &g);
    fr->glob_errno = errno;
    if (fr->glob_rc != 0) {
        if (fr->glob_rc != GLOB_NOMATCH)
            globfree(&g);
        return;
    }
    size_t n = MIN(g.gl_pathc, (size_t)FILE_AGE_MAX_STAT);
    fr->is_truncated = g.gl_pathc > n;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(g.gl_pathv[i], &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        int64_t ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (!fr->nmatches++ || ms > fr->newest_ms) {
            fr->newest_ms = ms;
            snprintf(fr->newest, sizeof fr->newest, "%s", g.gl_pathv[i]);
        }
    }
    globfree(&g);
}

static void after_work(uv_work_t *w, int status)
{
    struct file_age_run *fr = container_of(w, struct file_age_run, work);
    struct probe_run *r = probe_run_from_data(fr);
    struct file_age *k = probe_run_state(r);
    char lim[32], age[32];
    fmt_age(lim, sizeof lim, k->max_age_ms);
    if (status < 0) {
        probe_run_report(r, PROBE_FAILING, "cannot look for %s: %s", k->glob, uv_strerror(status));
    } else if (fr->glob_rc == GLOB_NOSPACE) {
        probe_run_report(r, PROBE_FAILING, "cannot look for %s: out of memory", k->glob);
    } else if (fr->glob_rc != 0 && fr->glob_rc != GLOB_NOMATCH) {
        probe_run_report(r, PROBE_FAILING, "cannot read the folders of %s: %s", k->glob,
                         fr->glob_errno ? strerror(fr->glob_errno) : "read error");
    } else if (fr->nmatches == 0) {
        probe_run_metric(r, "files", 0);
        probe_run_report(r, PROBE_FAILING, "no file matches %s", k->glob);
    } else {
        int64_t now = clock_wall_ms();
        uint64_t age_ms = now > fr->newest_ms ? (uint64_t)(now - fr->newest_ms) : 0;
        fmt_age(age, sizeof age, age_ms);
        const char *base = strrchr(fr->newest, '/') ? strrchr(fr->newest, '/') + 1 : fr->newest;
        probe_run_metric(r, "age_s", (double)age_ms / 1000);
        probe_run_metric(r, "files", (double)fr->nmatches);
        const char *more = fr->is_truncated ? " (only the first 10000 matches were looked at)" : "";
        if (age_ms > k->max_age_ms)
            probe_run_report(r, PROBE_FAILING, "the newest file, %s, is %s old (more than %s)%s",
                             base, age, lim, more);
        else
            probe_run_report(r, PROBE_OK, "the newest of %zu files, %s, is %s old (limit %s)%s",
                             fr->nmatches, base, age, lim, more);
    }
    probe_run_release(r);
}

static int file_age_start(struct probe_run *r, struct err *err)
{
    struct file_age_run *fr = probe_run_data(r);
    int rc = uv_queue_work(probe_run_loop(r), &fr->work, work, after_work);
    if (rc < 0)
        return err_set(err, rc, "cannot queue the file search: %s", uv_strerror(rc));
    return 0;
}

static void file_age_cancel(struct probe_run *r)
{
    struct file_age_run *fr = probe_run_data(r);
    uv_cancel((uv_req_t *)&fr->work); /* after_work still runs and releases */
}

const struct probe_kind probe_file_age = {
    .name = "file_age",
    .state_size = sizeof(struct file_age),
    .run_size = sizeof(struct file_age_run),
    .init = file_age_init,
    .fini = file_age_fini,
    .start = file_age_start,
    .cancel = file_age_cancel,
};
