/* supervise/keeper_client.c: the daemon's side of the keeper (keeper.c has the protocol).
 *
 * On start the daemon connects to $TEND_HOME/keeper.sock; when nobody answers it binds the
 * socket itself (0600), starts `tend __keeper SOCK` detached in its own session with the
 * listening socket inherited as fd 3 (so connecting cannot race the keeper's start), and
 * connects. Each spawned instance's read ends are sent with PUT and dropped with DROP when it is
 * reaped. The connection is watched: if the keeper dies, a new one is started and every live
 * instance's pipes are sent again (the daemon keeps its own copy of each read end for that).
 * Sends never block the loop (MSG_DONTWAIT); only the GET at start-up waits, bounded. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

extern char **environ;

static int try_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    str_copy(sa.sun_path, path, sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int bind_listen(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    str_copy(sa.sun_path, path, sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0600) < 0 ||
        listen(fd, 8) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int start_keeper(struct sup *s, struct err *err)
{
    int lfd = bind_listen(s->keeper_path);
    if (lfd < 0)
        return err_set(err, lfd, "cannot listen on %s: %s", s->keeper_path, strerror(-lfd));
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = xcalloc(n + 2, sizeof *envp);
    memcpy(envp, environ, n * sizeof *envp);
    envp[n] = "TEND_KEEPER_FD=3";
    char *argv[] = {"tend", "__keeper", s->keeper_path, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        /* Async-signal-safe only: detach, keep the socket as fd 3, close the rest, exec. */
        setsid();
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            dup2(nul, 2);
        }
        if (dup2(lfd, 3) < 0)
            _exit(127);
        close_range(4, ~0U, 0);
        execve(s->self_exe, argv, envp);
        _exit(127);
    }
    free(envp);
    close(lfd);
    if (pid < 0)
        return err_sys(err, "cannot start the keeper: fork() failed");
    tlog_info("supervise", "started the keeper (pid %d) on %s", (int)pid, s->keeper_path);
    return 0;
}

static void on_keeper_io(uv_poll_t *h, int status, int events);

static void watch(struct sup *s)
{
    uv_poll_init(s->loop, &s->keeper_poll, s->keeper_fd);
    s->keeper_poll.data = s;
    s->keeper_active = true;
    uv_poll_start(&s->keeper_poll, UV_READABLE | UV_DISCONNECT, on_keeper_io);
}

int sup__keeper_connect(struct sup *s, struct err *err)
{
    if (str_fmt(s->keeper_path, sizeof s->keeper_path, "%s/keeper.sock", s->home) < 0 ||
        strlen(s->keeper_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return err_set(err, -ENAMETOOLONG, "keeper socket path too long under %s", s->home);
    int fd = try_connect(s->keeper_path);
    if (fd < 0) {
        int rc = start_keeper(s, err);
        if (rc < 0)
            return rc;
        fd = try_connect(s->keeper_path);
        if (fd < 0)
            return err_set(err, fd, "cannot connect to the keeper: %s", strerror(-fd));
    }
    s->keeper_fd = fd;
    watch(s);
    return 0;
}

static void keeper_closed(uv_handle_t *h)
{
    struct sup *s = h->data;
    if (s->keeper_fd >= 0 && !s->keeper_active) {
        close(s->keeper_fd);
        s->keeper_fd = -1;
    }
    if (s->shutting_down) {
        sup__closed(h);
        return;
    }
    /* The keeper went away while we run: start another and give it every live instance. */
    struct err err = {0};
    if (s->keeper_restarts++ > 20 || sup__keeper_connect(s, &err) < 0) {
        tlog_error("supervise",
                   "the keeper is gone and cannot be restarted%s%s; app output "
                   "will be lost if the daemon stops",
                   err.msg[0] ? ": " : "", err.msg);
        return;
    }
    for (struct sup_app *a = s->apps; a; a = a->next)
        for (int i = 0; i < a->ninst; i++)
            if (sup__inst_live(a->inst[i]))
                sup__keeper_put(s, a->inst[i]);
}

static void lost(struct sup *s)
{
    if (!s->keeper_active || s->shutting_down)
        return;
    tlog_warn("supervise", "lost the connection to the keeper");
    s->keeper_active = false;
    uv_close((uv_handle_t *)&s->keeper_poll, keeper_closed);
}

static void on_keeper_io(uv_poll_t *h, int status, int events)
{
    struct sup *s = h->data;
    char msg[SUP_KEEPER_MAX_MSG];
    int fds[2], nfds;
    if (status < 0 || (events & UV_DISCONNECT) ||
        sup__keeper_recv(s->keeper_fd, msg, sizeof msg, fds, &nfds) < 0) {
        lost(s);
        return;
    }
    for (int i = 0; i < nfds; i++)
        close(fds[i]); /* nothing is expected unasked */
}

void sup__keeper_close(struct sup *s)
{
    if (!s->keeper_active) {
        if (s->keeper_fd >= 0)
            close(s->keeper_fd);
        s->keeper_fd = -1;
        return;
    }
    s->keeper_active = false;
    s->keeper_poll.data = s;
    sup__close_handle((uv_handle_t *)&s->keeper_poll, &s->closing, keeper_closed);
}

static void key_of(const struct sup_instance *in, char *dst, size_t size)
{
    snprintf(dst, size, "%s:%d:%d", in->app->name, in->index, (int)in->pid);
}

void sup__keeper_put(struct sup *s, struct sup_instance *in)
{
    char msg[SUP_KEEPER_MAX_MSG] = "PUT ";
    if (s->keeper_fd < 0 || in->hold_out < 0 || in->hold_err < 0)
        return;
    key_of(in, msg + 4, sizeof msg - 4);
    int rc = sup__keeper_send(s->keeper_fd, msg, in->hold_out, in->hold_err, MSG_DONTWAIT);
    if (rc < 0)
        tlog_warn("supervise", "%s: cannot hand its pipes to the keeper: %s", in->label,
                  strerror(-rc));
}

void sup__keeper_drop_key(struct sup *s, const char *key)
{
    char msg[SUP_KEEPER_MAX_MSG];
    if (s->keeper_fd < 0)
        return;
    snprintf(msg, sizeof msg, "DROP %s", key);
    sup__keeper_send(s->keeper_fd, msg, -1, -1, MSG_DONTWAIT);
}

void sup__keeper_drop(struct sup *s, struct sup_instance *in)
{
    char key[200];
    if (in->pid <= 0)
        return;
    key_of(in, key, sizeof key);
    sup__keeper_drop_key(s, key);
}

int sup__keeper_get_all(struct sup *s,
                        void (*cb)(void *arg, const char *key, int out_fd, int err_fd), void *arg)
{
    int rc = sup__keeper_send(s->keeper_fd, "GET", -1, -1, 0);
    while (rc == 0) {
        struct pollfd p = {.fd = s->keeper_fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            return -ETIMEDOUT; /* start-up only: bounded, before the loop serves anyone */
        char msg[SUP_KEEPER_MAX_MSG];
        int fds[2], nfds;
        rc = sup__keeper_recv(s->keeper_fd, msg, sizeof msg, fds, &nfds);
        if (rc < 0)
            break;
        if (strcmp(msg, "END") == 0)
            return 0;
        if (strncmp(msg, "FD ", 3) == 0 && nfds == 2) {
            cb(arg, msg + 3, fds[0], fds[1]);
            continue;
        }
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
    }
    return rc;
}

int sup_keeper_quit(const char *home)
{
    char path[256];
    if (str_fmt(path, sizeof path, "%s/keeper.sock", home) < 0)
        return -ENAMETOOLONG;
    int fd = try_connect(path);
    if (fd < 0)
        return fd == -ENOENT || fd == -ECONNREFUSED ? 0 : fd;
    int rc = sup__keeper_send(fd, "QUIT", -1, -1, 0);
    close(fd);
    return rc;
}
