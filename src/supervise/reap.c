/* supervise/reap.c: learning that processes exited.
 *
 * One uv_signal_t for SIGCHLD; its callback loops waitpid(-1, WNOHANG) and dispatches by pid:
 * an instance's main process, a pid registered with sup_child_watch() by another module, or
 * an orphan (a grandchild reparented to us, the subreaper), which is just reaped. Because this
 * reaps every child, no other module may use uv_spawn() (libuv would never see its exit).
 *
 * Adopted instances are not our children (their parent was the previous daemon), so waitpid
 * never sees them: their exit is watched with a pidfd (pidfd_open, Linux >= 5.3) polled by the
 * loop, and their exit status is unknown. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

/* Owned by struct sup (s->watches) until its pid is reaped. */
struct sup_child_watch {
    struct sup_child_watch *next;
    pid_t pid;
    sup_child_fn *cb;
    void *arg;
};

/* Owned by its instance; freed in its close callback. */
struct sup_pidwatch {
    uv_poll_t poll;
    int fd;
    struct sup_instance *in;
};

int sup_child_watch(struct sup *s, pid_t pid, sup_child_fn *cb, void *arg)
{
    struct sup_child_watch *w = xcalloc(1, sizeof *w);
    w->pid = pid;
    w->cb = cb;
    w->arg = arg;
    w->next = s->watches;
    s->watches = w;
    return 0;
}

static struct sup_instance *find_child(struct sup *s, pid_t pid)
{
    for (struct sup_app *a = s->apps; a; a = a->next) {
        for (int i = 0; i < a->ninst; i++)
            if (a->inst[i]->pid == pid && !a->inst[i]->adopted)
                return a->inst[i];
        struct sup_instance *spare = sup__reload_spare(a);
        if (spare && spare->pid == pid)
            return spare;
    }
    return NULL;
}

static void reaped(struct sup *s, pid_t pid, int status)
{
    struct sup_instance *in = find_child(s, pid);
    if (in) {
        struct sup_exit ex = {.known = true, .code = -1, .signal = 0};
        if (WIFEXITED(status))
            ex.code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
            ex.signal = WTERMSIG(status);
        sup__inst_exited(in, &ex);
        return;
    }
    for (struct sup_child_watch **pw = &s->watches; *pw; pw = &(*pw)->next) {
        struct sup_child_watch *w = *pw;
        if (w->pid == pid) {
            *pw = w->next;
            w->cb(w->arg, pid, status);
            free(w);
            return;
        }
    }
    tlog_debug("supervise", "reaped orphan %d", (int)pid);
}

static void on_sigchld(uv_signal_t *h, int signum)
{
    struct sup *s = container_of(h, struct sup, sigchld);
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            break;
        reaped(s, pid, status);
    }
}

int sup__reap_init(struct sup *s)
{
    int rc = uv_signal_init(s->loop, &s->sigchld);
    if (rc < 0)
        return rc;
    rc = uv_signal_start(&s->sigchld, on_sigchld, SIGCHLD);
    if (rc < 0)
        return rc;
    on_sigchld(&s->sigchld, SIGCHLD); /* children that exited before we listened */
    return 0;
}

static void pidwatch_closed(uv_handle_t *h)
{
    struct sup_pidwatch *w = container_of((uv_poll_t *)h, struct sup_pidwatch, poll);
    close(w->fd);
    free(w);
}

static void on_pidfd(uv_poll_t *h, int status, int events)
{
    struct sup_pidwatch *w = container_of(h, struct sup_pidwatch, poll);
    struct sup_instance *in = w->in;
    if (!in)
        return;
    struct sup_exit ex = {.known = false, .code = -1, .signal = 0};
    sup__inst_exited(in, &ex); /* unwatches (closes w) through sup__after_exit */
}

int sup__adopt_watch(struct sup_instance *in)
{
    int fd = (int)syscall(SYS_pidfd_open, in->pid, 0);
    if (fd < 0)
        return -errno;
    struct sup_pidwatch *w = xcalloc(1, sizeof *w);
    w->fd = fd;
    w->in = in;
    int rc = uv_poll_init(in->app->s->loop, &w->poll, fd);
    if (rc < 0) {
        close(fd);
        free(w);
        return rc;
    }
    uv_poll_start(&w->poll, UV_READABLE, on_pidfd);
    in->pidw = w;
    return 0;
}

void sup__adopt_unwatch(struct sup_instance *in)
{
    struct sup_pidwatch *w = in->pidw;
    if (!w)
        return;
    in->pidw = NULL;
    w->in = NULL;
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, pidwatch_closed);
}
