/* alert/notify_exec.c: the exec kind: run a command per grouped notice, the tend JSON payload
 * on its stdin and the first alert's fields in TEND_ALERT_* variables.
 *
 * posix_spawn, never uv_spawn or waitpid: the daemon reaps every child (it is the subreaper) and
 * reports this one's exit through opts.watch_child. The child runs in its own process group, so
 * a timeout kills whatever it started too. Its stdin and its output are memfds, not pipes: the
 * payload is written before the child starts (no writer to drive from the loop, no SIGPIPE, a
 * child that never reads cannot stall us), and the last line of its output becomes the error
 * when it fails. Exit code 0 means delivered.
 *
 * Environment: TEND_NOTIFIER, TEND_ALERT_HOST, TEND_ALERT_STATUS (firing|resolved: of the
 * message), TEND_ALERT_COUNT, TEND_ALERT_FIRING, TEND_ALERT_RESOLVED, TEND_ALERT_TITLE, and of the
 * first alert TEND_ALERT_NAME, _RULE, _SEVERITY, _VALUE, _SUMMARY, _STARTED_AT, _ENDED_AT (RFC
 * 3339 UTC; empty while firing). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alert/notify_int.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

extern char **environ;

static int exec_check(const struct notify_spec *s, struct err *err)
{
    if ((s->cmd && *s->cmd) || (s->argv && s->argv[0] && *s->argv[0]))
        return 0;
    return err_set(err, -TE_CONFIG, "exec needs a command: a string for /bin/sh -c, or a list");
}

static int exec_build(const struct notifier *nf, const struct notify_msg *m, struct notify_req *req,
                      struct err *err)
{
    const struct notify_spec *s = &nf->spec;
    const struct notify_alert *a = &m->alerts[0];
    char title[512], t[40];
    size_t firing = 0;
    for (size_t i = 0; i < m->n; i++)
        firing += m->alerts[i].state == NOTIFY_FIRING;
    if (s->cmd) {
        notify__strv_push(&req->argv, "/bin/sh");
        notify__strv_push(&req->argv, "-c");
        notify__strv_push(&req->argv, s->cmd);
    } else {
        for (size_t i = 0; s->argv[i]; i++)
            notify__strv_push(&req->argv, s->argv[i]);
    }
    notify__title(nf, m, title, sizeof title);
    struct notify_strv *e = &req->env;
    notify__strv_pushf(e, "TEND_NOTIFIER=%s", s->name);
    notify__strv_pushf(e, "TEND_ALERT_HOST=%s", nf->set->host);
    notify__strv_pushf(e, "TEND_ALERT_STATUS=%s", firing ? "firing" : "resolved");
    notify__strv_pushf(e, "TEND_ALERT_COUNT=%zu", m->n);
    notify__strv_pushf(e, "TEND_ALERT_FIRING=%zu", firing);
    notify__strv_pushf(e, "TEND_ALERT_RESOLVED=%zu", m->n - firing);
    notify__strv_pushf(e, "TEND_ALERT_TITLE=%s", title);
    notify__strv_pushf(e, "TEND_ALERT_NAME=%s", a->name);
    notify__strv_pushf(e, "TEND_ALERT_RULE=%s", a->rule);
    notify__strv_pushf(e, "TEND_ALERT_SEVERITY=%s", a->severity);
    notify__strv_pushf(e, "TEND_ALERT_VALUE=%s", a->value ? a->value : "");
    notify__strv_pushf(e, "TEND_ALERT_SUMMARY=%s", a->summary ? a->summary : "");
    notify__rfc3339(a->started_ms, t, sizeof t);
    notify__strv_pushf(e, "TEND_ALERT_STARTED_AT=%s", a->started_ms ? t : "");
    notify__rfc3339(a->ended_ms, t, sizeof t);
    notify__strv_pushf(e, "TEND_ALERT_ENDED_AT=%s", a->ended_ms ? t : "");
    int rc = notify__json_body(notify__tend_json(nf, m), req, err);
    return rc < 0 ? rc : buf_putc(&req->body, '\n');
}

const struct notify_kind notify_exec = {
    .name = "exec", .is_exec = true, .check = exec_check, .build = exec_build, .judge = NULL};

/* ---- running it --------------------------------------------------------------------------- */
/* Our variables first, then the daemon's environment without stale copies of them. */
static char **child_env(const struct notify_strv *extra)
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    char **out = xcalloc(n + extra->n + 1, sizeof *out);
    for (size_t i = 0; i < extra->n; i++)
        out[k++] = extra->v[i];
    for (size_t i = 0; i < n; i++)
        if (!str_starts(environ[i], "TEND_ALERT_") && !str_starts(environ[i], "TEND_NOTIFIER="))
            out[k++] = environ[i];
    return out;
}

/* The last non-empty line of the child's output, at most `size` bytes. */
static void last_line(int fd, char *dst, size_t size)
{
    char tail[1024];
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof tail - 1 ? end - (off_t)sizeof tail + 1 : 0;
    ssize_t n = pread(fd, tail, sizeof tail - 1, from);
    dst[0] = '\0';
    if (n <= 0)
        return;
    tail[n] = '\0';
    while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r' || tail[n - 1] == ' '))
        tail[--n] = '\0';
    char *nl = strrchr(tail, '\n');
    str_copy(dst, nl ? nl + 1 : tail, size);
}

static void timer_closed(uv_handle_t *h)
{
    struct notify_attempt *a = container_of((uv_timer_t *)h, struct notify_attempt, timer);
    notify__attempt_done(a, a->rc, a->why);
}

static void exited(void *arg, pid_t pid, int status)
{
    struct notify_attempt *a = arg;
    char line[300];
    const char *cmd = a->req.argv.n == 3 && str_eq(a->req.argv.v[0], "/bin/sh") ? a->req.argv.v[2]
                                                                                : a->req.argv.v[0];
    a->pid = 0;
    last_line(a->out_fd, line, sizeof line);
    close(a->out_fd);
    a->out_fd = -1;
    a->rc = -TE_STATE;
    if (a->is_timed_out)
        snprintf(a->why, sizeof a->why, "exec \"%s\" timed out; killed its process group", cmd);
    else if (WIFSIGNALED(status))
        snprintf(a->why, sizeof a->why, "exec \"%s\" was killed by signal %d", cmd,
                 WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        snprintf(a->why, sizeof a->why, "exec \"%s\" exited with code %d%s%s", cmd,
                 WEXITSTATUS(status), line[0] ? ": " : "", line);
    else
        a->rc = 0;
    uv_close((uv_handle_t *)&a->timer, timer_closed);
}

static void on_timeout(uv_timer_t *t)
{
    struct notify_attempt *a = container_of(t, struct notify_attempt, timer);
    if (a->pid > 0) {
        a->is_timed_out = true;
        kill(-a->pid, SIGKILL);
    }
}

static int memfd_with(const char *name, const struct buf *b, struct err *err)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "cannot create a memfd for the exec notifier");
    if ((b && b->len && write_all(fd, b->ptr, b->len) < 0) || lseek(fd, 0, SEEK_SET) < 0) {
        close(fd);
        return err_sys(err, "cannot write the payload for the exec notifier");
    }
    return fd;
}

int notify__exec_start(struct notify_attempt *a, struct err *err)
{
    struct notify_set *set = a->set;
    int in_fd = memfd_with("tend-notify-in", &a->req.body, err);
    if (in_fd < 0)
        return in_fd;
    int out_fd = memfd_with("tend-notify-out", NULL, err);
    if (out_fd < 0) {
        close(in_fd);
        return out_fd;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE); /* the daemon ignores it; a shell pipeline must not */
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    char **envp = child_env(&a->req.env);
    pid_t pid;
    int rc = posix_spawnp(&pid, a->req.argv.v[0], &fa, &at, a->req.argv.v, envp);
    free(envp);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    close(in_fd);
    if (rc != 0) {
        close(out_fd);
        return err_set(err, -rc, "cannot start exec \"%s\": %s", a->req.argv.v[0], strerror(rc));
    }
    if (set->opts.watch_child(set->opts.watch_ctx, pid, exited, a) < 0) {
        kill(-pid, SIGKILL); /* the daemon still reaps it */
        close(out_fd);
        return err_set(err, -TE_STATE, "cannot watch exec \"%s\" (pid %ld)", a->req.argv.v[0],
                       (long)pid);
    }
    a->pid = pid;
    a->out_fd = out_fd;
    uv_timer_init(set->loop, &a->timer);
    uv_timer_start(&a->timer, on_timeout, a->nf->spec.timeout_ms, 0);
    return 0;
}

void notify__exec_cancel(struct notify_attempt *a)
{
    if (a->pid > 0)
        kill(-a->pid, SIGKILL);
}
