/* supervise/keeper.c: `tend __keeper SOCK`, the process that holds the apps' pipes.
 *
 * DESIGN invariant 5 asks that apps neither die nor get SIGPIPE while the daemon is down. Of
 * the known ways (systemd's fd store, a holder per instance, reopening /proc/PID/fd/N) tend
 * uses one small holder for all instances: a second copy of each pipe's read end lives in this
 * process, so the pipe keeps a reader; when the daemon is gone an app's writes just block once
 * the pipe buffer (64 KiB by default) is full, and the next daemon gets the read ends back and
 * resumes capturing. Cost: one process with a poll() loop, no libuv, two fds per instance and
 * a few bytes per entry (its RSS is mostly the shared pages of the tend binary).
 *
 * Wire format (SOCK_SEQPACKET, so each message keeps its boundaries, fds by SCM_RIGHTS):
 *   daemon -> keeper  "PUT app:i:pid" + 2 fds | "DROP app:i:pid" | "GET" | "QUIT"
 *   keeper -> daemon  "FD app:i:pid" + 2 fds (one per entry, after GET), then "END"
 * The keeper exits on QUIT (sent by `tend kill`) or when it holds nothing and no daemon has
 * been connected for a minute. It is started by the daemon detached in its own session, so it
 * does not die with the daemon. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/str.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

#define MAX_CLIENTS 8
#define IDLE_EXIT_S 60

int sup__keeper_send(int fd, const char *text, int out_fd, int err_fd, int flags)
{
    struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(2 * sizeof(int))];
    } cm;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (out_fd >= 0 && err_fd >= 0) {
        memset(&cm, 0, sizeof cm);
        msg.msg_control = cm.buf;
        msg.msg_controllen = sizeof cm.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(2 * sizeof(int));
        int fds[2] = {out_fd, err_fd};
        memcpy(CMSG_DATA(c), fds, sizeof fds);
    }
    ssize_t n;
    do
        n = sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

int sup__keeper_recv(int fd, char *text, size_t size, int fds[2], int *nfds)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(2 * sizeof(int))];
    } cm;
    struct iovec iov = {.iov_base = text, .iov_len = size - 1};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf};
    ssize_t n;
    do
        n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    *nfds = 0;
    if (n < 0)
        return -errno;
    text[n] = '\0';
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int got[2] = {-1, -1};
        memcpy(got, CMSG_DATA(c), MIN(k, 2) * sizeof(int));
        for (size_t i = 0; i < MIN(k, 2); i++)
            fds[(*nfds)++] = got[i];
    }
    return n == 0 ? -EPIPE : 0;
}

/* ---- the keeper process ----------------------------------------------------------------- */

struct entry {
    char key[200];
    int out, err;
};

struct keeper {
    struct entry *e;
    size_t n;
    struct pollfd pfd[1 + MAX_CLIENTS];
    int nclients;
    time_t last_client;
    const char *path;
    ino_t ino;
};

static void drop(struct keeper *k, const char *key)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->e[i].key, key) == 0) {
            close(k->e[i].out);
            close(k->e[i].err);
            k->e[i] = k->e[--k->n];
            return;
        }
}

_Noreturn static void quit(struct keeper *k)
{
    struct stat st;
    if (stat(k->path, &st) == 0 && st.st_ino == k->ino)
        unlink(k->path); /* only our own socket, not one a newer keeper bound */
    _exit(0);
}

/* Entries of processes that died while no daemon ran are never dropped by a daemon: forget
 * them here (the key ends with the pid), so an idle keeper can exit. */
static void forget_dead(struct keeper *k)
{
    for (size_t i = 0; i < k->n;) {
        const char *colon = strrchr(k->e[i].key, ':');
        long pid = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
            drop(k, k->e[i].key); /* moves the last entry here: look at i again */
        else
            i++;
    }
}

static void handle(struct keeper *k, int fd, const char *msg, int fds[2], int nfds)
{
    if (strncmp(msg, "PUT ", 4) == 0 && nfds == 2) {
        drop(k, msg + 4); /* a re-sent entry replaces the old one */
        k->e = xrealloc(k->e, (k->n + 1) * sizeof *k->e);
        str_copy(k->e[k->n].key, msg + 4, sizeof k->e[k->n].key);
        k->e[k->n].out = fds[0];
        k->e[k->n].err = fds[1];
        k->n++;
        return;
    }
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    if (strncmp(msg, "DROP ", 5) == 0) {
        drop(k, msg + 5);
    } else if (strcmp(msg, "GET") == 0) {
        char line[SUP_KEEPER_MAX_MSG];
        for (size_t i = 0; i < k->n; i++) {
            snprintf(line, sizeof line, "FD %s", k->e[i].key);
            sup__keeper_send(fd, line, k->e[i].out, k->e[i].err, 0);
        }
        sup__keeper_send(fd, "END", -1, -1, 0);
    } else if (strcmp(msg, "QUIT") == 0) {
        quit(k);
    }
}

static void client_io(struct keeper *k, int ci)
{
    char msg[SUP_KEEPER_MAX_MSG];
    int fds[2], nfds;
    int fd = k->pfd[ci].fd;
    if (sup__keeper_recv(fd, msg, sizeof msg, fds, &nfds) < 0) {
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        close(fd);
        k->pfd[ci] = k->pfd[k->nclients--];
        k->last_client = time(NULL);
        return;
    }
    handle(k, fd, msg, fds, nfds);
}

static int listen_socket(const char *path, ino_t *ino)
{
    const char *inherited = getenv("TEND_KEEPER_FD");
    int fd = inherited ? (int)strtol(inherited, NULL, 10) : -1;
    if (fd < 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (str_copy(sa.sun_path, path, sizeof sa.sun_path) >= sizeof sa.sun_path)
            return -ENAMETOOLONG;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        unlink(path);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0600) < 0 ||
            listen(fd, 8) < 0)
            return -errno;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    struct stat st;
    *ino = stat(path, &st) == 0 ? st.st_ino : 0;
    return fd;
}

int sup_keeper_main(const char *sock_path)
{
    struct keeper k = {.path = sock_path, .last_client = time(NULL)};
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    if (chdir("/") < 0)
        _exit(1);
    int lfd = listen_socket(sock_path, &k.ino);
    if (lfd < 0)
        _exit(1);
    k.pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
    for (;;) {
        int n = poll(k.pfd, (nfds_t)(1 + k.nclients), 10000);
        if (n < 0 && errno != EINTR)
            _exit(1);
        if (k.pfd[0].revents & POLLIN) {
            int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0 && k.nclients < MAX_CLIENTS)
                k.pfd[1 + k.nclients++] = (struct pollfd){.fd = c, .events = POLLIN};
            else if (c >= 0)
                close(c);
        }
        for (int i = k.nclients; i >= 1; i--)
            if (k.pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                client_io(&k, i);
        if (n == 0 && k.nclients == 0)
            forget_dead(&k);
        if (k.n == 0 && k.nclients == 0 && time(NULL) - k.last_client > IDLE_EXIT_S)
            quit(&k);
    }
}
