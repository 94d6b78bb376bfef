/* watch/probe_exec.c: `exec: "check-queue --quick"`: a command's exit code and output.
 *
 * The command starts with posix_spawn in a process group of its own (so a timeout can kill it
 * together with everything it started: `sh -c 'sleep 99 & wait'` leaves no sleeper behind),
 * stdin from /dev/null, stdout and stderr into one pipe. The daemon reaps every child itself,
 * so the exit is learnt through the owner's watch_child hook; this file never waits.
 *
 * Output: the first EXEC_OUT_MAX bytes are kept for the message; the rest is read and dropped,
 * so a chatty command never blocks on a full pipe. When the command exits, whatever is left in
 * the pipe is drained before reporting. A grandchild that keeps the pipe open after the command
 * exited does not delay the result (the report follows the exit, not the end of the pipe).
 *
 * Run lifetime: released once the exit has been seen and the poll handle is closed; on cancel
 * (the driver's timeout) the group gets SIGKILL and the run still waits for the exit report,
 * because the hook's callback points into the run. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "watch/probe.h"

#define EXEC_OUT_MAX 4096

extern char **environ;

/* Owned by its probe: argv is NULL-terminated, its strings in one allocation each. */
struct exec {
    char **argv;
    char *cwd;
    bool is_shell; /* argv is {"/bin/sh", "-c", cmd} */
};

struct exec_run {
    pid_t pid; /* also the process group */
    int fd;    /* read end of the output pipe */
    uv_poll_t poll;
    bool is_polling, is_exited, is_poll_closed;
    int status;
    size_t len;
    char out[EXEC_OUT_MAX];
};

static int exec_init(struct watch_probe *p, const struct probe_spec *spec, void *state,
                     struct err *err)
{
    const struct probe_exec_spec *e = &spec->u.exec;
    struct exec *k = state;
    size_t n = 0;
    if (e->cmd && e->cmd[0]) {
        k->argv = xcalloc(4, sizeof *k->argv);
        k->argv[0] = strdup("/bin/sh");
        k->argv[1] = strdup("-c");
        k->argv[2] = strdup(e->cmd);
        k->is_shell = true;
        n = 3;
        probe_set_target(p, e->cmd);
    } else if (e->argv && e->argv[0] && e->argv[0][0]) {
        while (e->argv[n])
            n++;
        k->argv = xcalloc(n + 1, sizeof *k->argv);
        for (size_t i = 0; i < n; i++)
            k->argv[i] = strdup(e->argv[i]);
        probe_set_target(p, e->argv[0]);
    } else {
        return err_set(err, -TE_INVALID,
                       "exec: a command is required (a string, or a list for argv)");
    }
    for (size_t i = 0; i < n; i++)
        if (!k->argv[i])
            abort();
    if (e->cwd && !(k->cwd = strdup(e->cwd)))
        abort();
    return 0;
}

static void exec_fini(void *state)
{
    struct exec *k = state;
    for (size_t i = 0; k->argv && k->argv[i]; i++)
        free(k->argv[i]);
    free(k->argv);
    free(k->cwd);
}

/* Read what is there now; keep the first EXEC_OUT_MAX bytes. Returns false at EOF or error. */
static bool drain(struct exec_run *er)
{
    char tmp[4096];
    for (int i = 0; i < 64; i++) { /* bounded: at most 256 KiB per wake-up */
        ssize_t n = read(er->fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN;
        if (n == 0)
            return false;
        size_t keep = MIN((size_t)n, sizeof er->out - er->len);
        memcpy(er->out + er->len, tmp, keep);
        er->len += keep;
    }
    return true;
}

static void maybe_release(struct exec_run *er)
{
    if (er->is_exited && er->is_poll_closed)
        probe_run_release(probe_run_from_data(er));
}

static void poll_closed(uv_handle_t *h)
{
    struct exec_run *er = container_of((uv_poll_t *)h, struct exec_run, poll);
    close(er->fd);
    er->fd = -1;
    er->is_poll_closed = true;
    maybe_release(er);
}

static void stop_polling(struct exec_run *er)
{
    if (!er->is_polling)
        return;
    er->is_polling = false;
    uv_poll_stop(&er->poll);
    uv_close((uv_handle_t *)&er->poll, poll_closed);
}

static void on_output(uv_poll_t *h, int status, int events)
{
    struct exec_run *er = container_of(h, struct exec_run, poll);
    (void)events;
    if (status < 0 || !drain(er))
        uv_poll_stop(&er->poll); /* EOF: the handle stays until the exit is reported */
}

/* The output as one line for the message: newlines become " / ", trailing space dropped. */
static void one_line(const struct exec_run *er, char *dst, size_t size)
{
    size_t j = 0, len = er->len;
    while (len && (er->out[len - 1] == '\n' || er->out[len - 1] == ' ' ||
                   er->out[len - 1] == '\r' || er->out[len - 1] == '\t'))
        len--;
    for (size_t i = 0; i < len && j + 4 < size; i++) {
        char c = er->out[i];
        if (c == '\n') {
            memcpy(dst + j, " / ", 3);
            j += 3;
        } else if (c != '\r') {
            dst[j++] = (unsigned char)c < 0x20 ? ' ' : c;
        }
    }
    dst[j] = '\0';
}

static void on_exit_status(void *arg, pid_t pid, int status)
{
    struct exec_run *er = arg;
    struct probe_run *r = probe_run_from_data(er);
    (void)pid;
    er->is_exited = true;
    er->status = status;
    if (er->is_polling)
        drain(er);
    stop_polling(er);
    if (!probe_run_is_cancelled(r)) {
        char out[PROBE_MSG_MAX];
        one_line(er, out, sizeof out);
        const char *sep = out[0] ? ": " : "";
        if (WIFEXITED(status)) {
            int code = WEXITSTATUS(status);
            probe_run_metric(r, "exit_code", code);
            if (code == 0)
                probe_run_report(r, PROBE_OK, "exited 0%s%s", sep, out);
            else
                probe_run_report(r, PROBE_FAILING, "exited with code %d%s%s", code, sep, out);
        } else {
            int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
            probe_run_report(r, PROBE_FAILING, "killed by signal %d (%s)%s%s", sig, strsignal(sig),
                             sep, out);
        }
    }
    maybe_release(er);
}

static int spawn(const struct exec *k, int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    sigemptyset(&none);
    sigfillset(&dfl);
    sigdelset(&dfl, SIGKILL);
    sigdelset(&dfl, SIGSTOP);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    int rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    if (!rc && k->cwd)
        rc = posix_spawn_file_actions_addchdir_np(&fa, k->cwd);
    rc = rc ? rc
            : posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF);
    rc = rc ? rc : posix_spawnattr_setpgroup(&at, 0);
    rc = rc ? rc : posix_spawnattr_setsigmask(&at, &none);
    rc = rc ? rc : posix_spawnattr_setsigdefault(&at, &dfl);
    if (!rc)
        rc = k->is_shell ? posix_spawn(pid, k->argv[0], &fa, &at, k->argv, environ)
                         : posix_spawnp(pid, k->argv[0], &fa, &at, k->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return -rc;
}

static int exec_start(struct probe_run *r, struct err *err)
{
    struct exec *k = probe_run_state(r);
    struct exec_run *er = probe_run_data(r);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return err_sys(err, "cannot make a pipe for the command");
    int rc = spawn(k, fds[1], &er->pid);
    close(fds[1]);
    if (rc < 0) {
        close(fds[0]);
        return err_set(err, rc, "cannot run \"%s\": %s", k->is_shell ? k->argv[2] : k->argv[0],
                       uv_strerror(rc));
    }
    if (probe_run_watch_child(r, er->pid, on_exit_status, er) < 0) {
        kill(-er->pid, SIGKILL); /* nobody would tell us it ended: do not let it run alone */
        close(fds[0]);
        return err_set(err, -TE_STATE, "cannot watch the command's process (no child hook)");
    }
    er->fd = fds[0];
    if (fcntl(er->fd, F_SETFL, O_NONBLOCK) < 0 ||
        uv_poll_init(probe_run_loop(r), &er->poll, er->fd) < 0) {
        er->is_poll_closed = true; /* no output, but the exit still comes and releases */
        close(er->fd);
        er->fd = -1;
        return 0;
    }
    er->is_polling = true;
    uv_poll_start(&er->poll, UV_READABLE, on_output);
    return 0;
}

static void exec_cancel(struct probe_run *r)
{
    struct exec_run *er = probe_run_data(r);
    /* Not yet reported as exited, so the leader is unreaped and the group id cannot have been
     * reused: killing -pid reaches exactly the command and what it started. */
    if (!er->is_exited)
        kill(-er->pid, SIGKILL);
    stop_polling(er);
}

const struct probe_kind probe_exec = {
    .name = "exec",
    .state_size = sizeof(struct exec),
    .run_size = sizeof(struct exec_run),
    .init = exec_init,
    .fini = exec_fini,
    .start = exec_start,
    .cancel = exec_cancel,
    .late = "\"%s\" was still running after %s (timeout); killed with its process group",
};
