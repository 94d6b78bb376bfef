/* tests/unit/logs/logs_test.h: helpers shared by the logs module's tests: a scratch folder, a
 * loop run until a condition holds (with a real-time deadline, never a sleep), an app config,
 * and reading a log file back whether or not it was gzipped. */
#ifndef TEND_LOGS_TEST_H
#define TEND_LOGS_TEST_H

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <zlib.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/str.h"
#include "logs/logs.h"

static inline char *scratch_dir(void)
{
    char tmpl[] = "/tmp/tend-logs-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static inline void scratch_remove(char *dir)
{
    if (dir)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static bool deadline_hit;
static void deadline_cb(uv_timer_t *t)
{
    (void)t;
    deadline_hit = true;
}

/* Run the loop until cond(arg) holds or timeout_ms of real time pass; returns cond(arg). */
static inline bool run_until(uv_loop_t *loop, bool (*cond)(void *), void *arg, uint64_t timeout_ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    deadline_hit = false;
    uv_timer_start(&t, deadline_cb, timeout_ms, 0);
    while (!cond(arg) && !deadline_hit)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return cond(arg);
}

static inline struct cfg_app test_app(const char *name, const char *dir)
{
    struct cfg_app a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.instances = 1;
    a.log.dir = (char *)dir;
    a.log.timestamp = true;
    a.log.merge_instances = true;
    a.log.keep = 30;
    a.log.compress = true;
    return a;
}

/* The whole content of a file, gunzipped when its name ends in .gz; 0 or -1. */
static inline int read_back(const char *path, struct buf *out)
{
    gzFile g = gzopen(path, "rb"); /* reads plain files as they are, too */
    if (!g)
        return -1;
    char chunk[64 * 1024];
    int n;
    while ((n = gzread(g, chunk, sizeof chunk)) > 0)
        buf_append(out, chunk, (size_t)n);
    int rc = n < 0 ? -1 : 0;
    gzclose(g);
    return rc;
}

static inline size_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

#endif
