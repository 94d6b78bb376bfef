/* tests/unit/backup/backup_test.h: what the backup tests share.
 *
 * The module never reaps children (supervise does, in the daemon); here the watch hook keeps a
 * list of pids and a 5 ms uv timer polls them with waitpid(pid, WNOHANG), the stand-in for
 * sup_child_watch(). wait_op() runs the loop until an operation's callback has run, with a
 * deadline (no sleeps). Servers come from tests/servers/NAME.sh, started into a temp folder and
 * stopped at the end by the same script. */
#ifndef TEND_BACKUP_TEST_H
#define TEND_BACKUP_TEST_H

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "backup/backup.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

extern char **environ;

struct watch {
    pid_t pid;
    backup_child_fn *cb;
    void *arg;
};
static struct watch watches[64];
static uv_timer_t reap_timer;
static uv_loop_t *loop;

static int test_watch(void *ctx, pid_t pid, backup_child_fn *cb, void *arg)
{
    (void)ctx;
    for (size_t i = 0; i < 64; i++) {
        if (watches[i].pid == 0) {
            watches[i] = (struct watch){pid, cb, arg};
            return 0;
        }
    }
    return -1;
}

static void reap(uv_timer_t *t)
{
    (void)t;
    for (size_t i = 0; i < 64; i++) {
        int status;
        if (watches[i].pid && waitpid(watches[i].pid, &status, WNOHANG) == watches[i].pid) {
            struct watch w = watches[i];
            watches[i].pid = 0;
            w.cb(w.arg, w.pid, status);
        }
    }
}

struct done {
    bool is_done;
    int rc;
    json_t *result;
    struct err err;
};

static void on_done(void *arg, int rc, json_t *result, const struct err *err)
{
    struct done *d = arg;
    d->is_done = true;
    d->rc = rc;
    d->result = json_incref(result);
    if (err)
        d->err = *err;
}

/* Run the loop until d is done (60 s at most). */
static inline void wait_op(struct done *d)
{
    uint64_t deadline = uv_now(loop) + 60000;
    while (!d->is_done && uv_now(loop) < deadline)
        uv_run(loop, UV_RUN_ONCE);
    if (!d->is_done)
        UNIT_FAIL("operation did not finish within 60 s");
    else if (d->rc < 0)
        fprintf(stderr, "  (operation: %s)\n", d->err.msg);
}

static inline void test_loop_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    uv_timer_init(loop, &reap_timer);
    uv_timer_start(&reap_timer, reap, 5, 5);
}

/* Run argv to completion (tests may block); stdout into out when given. Returns the exit code. */
static inline int sh_run(const char *cmd, struct buf *out)
{
    char path[] = "/tmp/tend-backup-test-out-XXXXXX";
    int fd = mkstemp(path);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    pid_t pid;
    int status = -1;
    if (posix_spawn(&pid, "/bin/sh", &fa, NULL, (char *const *)argv, environ) == 0)
        waitpid(pid, &status, 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fd);
    if (out)
        read_file(path, 64 << 20, out);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The value of KEY in the script's KEY=VALUE output; static storage, one per call site. */
static inline void kv_get(const char *text, const char *key, char *dst, size_t size)
{
    size_t n = strlen(key);
    dst[0] = '\0';
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, n) == 0 && p[n] == '=') {
            size_t len = strcspn(p + n + 1, "\n");
            snprintf(dst, size, "%.*s", (int)len, p + n + 1);
            return;
        }
    }
}

/* A temp folder that the postgres user can reach (tests/servers/postgres.sh runs it as such). */
static inline void make_tmpdir(char *dir, size_t size, const char *tag)
{
    snprintf(dir, size, "/tmp/tend-%s-XXXXXX", tag);
    if (!mkdtemp(dir))
        UNIT_FAIL("mkdtemp failed");
    chmod(dir, 0711);
}

static inline struct cfg_backups *jobs_from(const char *yaml)
{
    struct cfg_backups *bs = NULL;
    struct cfg_diag diag;
    if (cfg_backups_load_mem("test.yaml", yaml, strlen(yaml), NULL, &bs, &diag) < 0) {
        struct buf b;
        buf_init(&b, 0);
        cfg_diag_format(&diag, &b);
        UNIT_FAIL("bad test config:\n%s", b.ptr ? b.ptr : "");
        buf_fini(&b);
    }
    return bs;
}

static void closed_cb(void *arg)
{
    *(bool *)arg = true;
}

static inline void close_backup(struct backup *b)
{
    bool closed = false;
    backup_close(b, closed_cb, &closed);
    uint64_t deadline = uv_now(loop) + 30000;
    while (!closed && uv_now(loop) < deadline)
        uv_run(loop, UV_RUN_ONCE);
    CHECK(closed);
}

#endif
