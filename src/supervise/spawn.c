/* supervise/spawn.c: starting an instance's process with our own vfork() + execve().
 *
 * Not uv_spawn: libuv reaps only the pids it spawned, but the daemon is a child subreaper and
 * must reap orphaned grandchildren too, so reap.c owns SIGCHLD and waitpid(-1). Everything the
 * child needs (argv, environment, PATH candidates, groups) is prepared in the parent: after
 * fork() in a process with threads (libuv's pool) the child may only make async-signal-safe
 * calls, so it never allocates. The child: resets signals, setsid() (its own session and process
 * group, pgid = pid), /dev/null on stdin, the pipes on stdout and stderr, chdir, drops
 * privileges (setgroups, setgid, setuid: in that order, each checked), marks every other fd
 * close-on-exec, then execve(). A failure before exec is reported through a CLOEXEC pipe as
 * (stage, errno), so "exec "nodee": No such file or directory" reaches the user. The parent
 * waits on that pipe until exec succeeds or fails, as libuv does.
 *
 * vfork(), not fork(): fork() copied the daemon's page tables and then paid a copy-on-write
 * fault for every page the loop touched afterwards; profiled, that was most of the time to
 * start 100 apps (~6 ms each). With vfork() the child borrows the parent's memory until exec,
 * so it must not return from child_run(), must not allocate, and changes credentials with raw
 * syscalls (glibc's setuid() would signal the parent's threads, whose list it shares). All
 * signals are blocked around vfork() so no handler of the daemon runs in the child; the child
 * resets every disposition before unblocking. */
#include <errno.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

enum stage {
    ST_SIGNALS = 1,
    ST_SETSID,
    ST_STDIO,
    ST_CHDIR,
    ST_SETGROUPS,
    ST_SETGID,
    ST_SETUID,
    ST_EXEC
};

struct report {
    int stage;
    int err;
};

struct plan {
    char **envp; /* heap "K=V" strings */
    size_t nenv;
    char *sh_argv[4];
    char *const *argv;
    char **xargv; /* argv with ${PORT}, ${TEND_INSTANCE}... filled for this instance (heap) */
    char **paths; /* candidates for argv[0] (heap) */
    size_t npaths;
    const char *cwd;
    bool drop;
    uid_t uid;
    gid_t gid;
    gid_t groups[256];
    int ngroups;
};

static void plan_fini(struct plan *p)
{
    for (size_t i = 0; p->xargv && p->xargv[i]; i++)
        free(p->xargv[i]);
    free(p->xargv);
    for (size_t i = 0; i < p->nenv; i++)
        free(p->envp[i]);
    free(p->envp);
    for (size_t i = 0; i < p->npaths; i++)
        free(p->paths[i]);
    free(p->paths);
}

static int plan_env(struct plan *p, struct sup_instance *in, struct err *err)
{
    struct sup *s = in->app->s;
    struct cfg_envvar *vars = NULL;
    size_t n = 0;
    int rc = cfg_app_env(in->ca, in->index, (const char *const *)s->base_env, &vars, &n, err);
    if (rc < 0)
        return rc;
    p->envp = xcalloc(n + 2, sizeof *p->envp);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(vars[i].key) + strlen(vars[i].value) + 2;
        p->envp[p->nenv] = xmalloc(len);
        snprintf(p->envp[p->nenv++], len, "%s=%s", vars[i].key, vars[i].value);
    }
    cfg_envvar_free(vars, n);
    if (in->ca->ready == CFG_READY_NOTIFY && s->notify_path[0]) {
        size_t len = strlen(s->notify_path) + sizeof "NOTIFY_SOCKET=";
        p->envp[p->nenv] = xmalloc(len);
        snprintf(p->envp[p->nenv++], len, "NOTIFY_SOCKET=%s", s->notify_path);
    }
    return 0;
}

static const char *env_get(const struct plan *p, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < p->nenv; i++)
        if (strncmp(p->envp[i], key, kl) == 0 && p->envp[i][kl] == '=')
            return p->envp[i] + kl + 1;
    return NULL;
}

/* execvp's search, done here so the child only calls execve; PATH is the instance's own. */
static void plan_paths(struct plan *p, const char *file)
{
    if (strchr(file, '/')) {
        p->paths = xcalloc(1, sizeof *p->paths);
        p->paths[p->npaths++] = str_dup(file);
        return;
    }
    const char *path = env_get(p, "PATH");
    if (!path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    size_t cap = 1;
    for (const char *c = path; *c; c++)
        cap += *c == ':';
    p->paths = xcalloc(cap, sizeof *p->paths);
    for (const char *c = path;;) {
        const char *end = strchr(c, ':');
        size_t dl = end ? (size_t)(end - c) : strlen(c);
        size_t len = dl + strlen(file) + 2;
        char *cand = xmalloc(len);
        if (dl == 0)
            snprintf(cand, len, "%s", file); /* an empty element is the current folder */
        else
            snprintf(cand, len, "%.*s/%s", (int)dl, c, file);
        p->paths[p->npaths++] = cand;
        if (!end)
            break;
        c = end + 1;
    }
}

static int plan_user(struct plan *p, const struct cfg_app *ca, struct err *err)
{
    if (!ca->user || geteuid() != 0) {
        if (ca->user)
            tlog_debug("supervise", "%s: user \"%s\" ignored: the daemon is not root", ca->name,
                       ca->user);
        return 0;
    }
    char buf[4096];
    struct passwd pw, *pwp = NULL;
    if (getpwnam_r(ca->user, &pw, buf, sizeof buf, &pwp) != 0 || !pwp)
        return err_set(err, -TE_NOTFOUND, "unknown user \"%s\"", ca->user);
    p->drop = true;
    p->uid = pw.pw_uid;
    p->gid = pw.pw_gid;
    if (ca->group) {
        char gbuf[4096];
        struct group gr, *grp = NULL;
        if (getgrnam_r(ca->group, &gr, gbuf, sizeof gbuf, &grp) != 0 || !grp)
            return err_set(err, -TE_NOTFOUND, "unknown group \"%s\"", ca->group);
        p->gid = gr.gr_gid;
    }
    p->ngroups = (int)ARRAY_LEN(p->groups);
    if (getgrouplist(ca->user, p->gid, p->groups, &p->ngroups) < 0)
        p->ngroups = (int)ARRAY_LEN(p->groups); /* more than 256 groups: keep the first ones */
    return 0;
}

static int plan_build(struct plan *p, struct sup_instance *in, struct err *err)
{
    const struct cfg_app *ca = in->ca;
    int rc = plan_env(p, in, err);
    if (rc < 0)
        return rc;
    if (ca->cmd) {
        p->sh_argv[0] = "/bin/sh";
        p->sh_argv[1] = "-c";
        p->sh_argv[2] = ca->cmd;
        p->argv = p->sh_argv;
    } else if (ca->argv && ca->argv[0]) {
        /* `argv` never passes through a shell, so tend fills the instance's variables itself
         * (a `cmd` gets them from the shell, from the environment). */
        size_t n = 0;
        while (ca->argv[n])
            n++;
        p->xargv = xcalloc(n + 1, sizeof *p->xargv);
        for (size_t i = 0; i < n; i++)
            p->xargv[i] = cfg_app_expand(ca, in->index, ca->argv[i]);
        p->argv = p->xargv;
    } else {
        return err_set(err, -TE_INVALID, "app has neither cmd nor argv");
    }
    plan_paths(p, p->argv[0]);
    p->cwd = ca->cwd;
    return plan_user(p, ca, err);
}

_Noreturn static void child_fail(int fd, int stage)
{
    struct report r = {stage, errno};
    ssize_t w = write(fd, &r, sizeof r);
    (void)w;
    _exit(127);
}

/* After vfork(): async-signal-safe calls only, no allocation, never returns. */
_Noreturn static void child_run(const struct plan *p, int out_w, int err_w, int rep_w)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &sa, NULL); /* SIGKILL/SIGSTOP and RT signals glibc owns fail: fine */
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        child_fail(rep_w, ST_SIGNALS);
    if (setsid() < 0)
        child_fail(rep_w, ST_SETSID);
    int nul = open("/dev/null", O_RDONLY);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
        child_fail(rep_w, ST_STDIO);
    if (p->cwd && chdir(p->cwd) < 0)
        child_fail(rep_w, ST_CHDIR);
    if (p->drop) {
        if (syscall(SYS_setgroups, (size_t)p->ngroups, p->groups) < 0)
            child_fail(rep_w, ST_SETGROUPS);
        if (syscall(SYS_setgid, p->gid) < 0)
            child_fail(rep_w, ST_SETGID);
        if (syscall(SYS_setuid, p->uid) < 0)
            child_fail(rep_w, ST_SETUID);
    }
    /* Everything above 2 closes at exec (the report pipe too, which tells the parent "ok"). */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = 3; fd < 65536; fd++)
            if (fd != rep_w)
                close(fd);
    int saved = ENOENT;
    for (size_t i = 0; i < p->npaths; i++) {
        execve(p->paths[i], p->argv, p->envp);
        if (errno != ENOENT && errno != ENOTDIR && errno != EACCES) {
            saved = errno;
            break;
        }
        if (errno == EACCES || saved == ENOENT)
            saved = errno == ENOTDIR ? ENOENT : errno;
    }
    errno = saved;
    child_fail(rep_w, ST_EXEC);
}

static int report_error(const struct plan *p, const struct report *r, struct err *err)
{
    errno = r->err;
    switch (r->stage) {
    case ST_EXEC:
        return err_sys(err, "exec \"%s\"", p->argv[0]);
    case ST_CHDIR:
        return err_sys(err, "cannot change to folder \"%s\"", p->cwd);
    case ST_SETGROUPS:
    case ST_SETGID:
    case ST_SETUID:
        return err_sys(err, "cannot switch to user %u group %u", (unsigned)p->uid,
                       (unsigned)p->gid);
    default:
        return err_sys(err, "cannot set up the process (step %d)", r->stage);
    }
}

static void close_pair(int fds[2])
{
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
}

/* Wait for exec to succeed (EOF) or fail (a report). */
static int wait_exec(pid_t pid, int rep_r, const struct plan *p, struct err *err)
{
    struct report r;
    ssize_t n;
    do
        n = read(rep_r, &r, sizeof r);
    while (n < 0 && errno == EINTR);
    if (n == 0)
        return 0;
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof r)
        return err_set(err, -EIO, "lost track of the new process during exec");
    return report_error(p, &r, err);
}

static void hand_over(struct sup_instance *in, int out_r, int err_r)
{
    struct sup *s = in->app->s;
    fcntl(out_r, F_SETFL, fcntl(out_r, F_GETFL) | O_NONBLOCK);
    fcntl(err_r, F_SETFL, fcntl(err_r, F_GETFL) | O_NONBLOCK);
    in->hold_out = out_r;
    in->hold_err = err_r;
    sup__keeper_put(s, in);
    if (!s->hooks.on_output)
        return;
    int o = fcntl(out_r, F_DUPFD_CLOEXEC, 3), e = fcntl(err_r, F_DUPFD_CLOEXEC, 3);
    if (o < 0 || e < 0) {
        tlog_error("supervise", "%s: cannot duplicate output pipes: %s", in->label,
                   strerror(errno));
        if (o >= 0)
            close(o);
        if (e >= 0)
            close(e);
        return;
    }
    s->hooks.on_output(s->hooks.ctx, in->app->name, in->index, in->ca, o, e);
}

int sup__spawn(struct sup_instance *in, struct err *err)
{
    struct plan p;
    memset(&p, 0, sizeof p);
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, rep[2] = {-1, -1};
    int rc = plan_build(&p, in, err);
    if (rc < 0)
        goto out;
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
        rc = err_sys(err, "cannot create pipes");
        goto out;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = vfork();
    if (pid == 0)
        child_run(&p, outp[1], errp[1], rep[1]);
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        errno = fork_errno;
        rc = err_sys(err, "vfork() failed");
        goto out;
    }
    close(outp[1]);
    close(errp[1]);
    close(rep[1]);
    outp[1] = errp[1] = rep[1] = -1;
    rc = wait_exec(pid, rep[0], &p, err);
    if (rc < 0)
        goto out;
    in->pid = pid;
    struct sup_proc pr;
    in->start_ticks = sup__proc_read(pid, &pr) == 0 ? pr.start : 0;
    in->started_wall_ms = clock_wall_ms();
    in->adopted = false;
    in->last_ticks = 0;
    in->cpu_pct = 0;
    in->rss = 0;
    hand_over(in, outp[0], errp[0]);
    outp[0] = errp[0] = -1;
out:
    close_pair(outp);
    close_pair(errp);
    close_pair(rep);
    plan_fini(&p);
    return rc;
}

void sup__after_exit(struct sup_instance *in)
{
    struct sup *s = in->app->s;
    sup__keeper_drop(s, in);
    sup__adopt_unwatch(in);
    if (in->hold_out >= 0)
        close(in->hold_out);
    if (in->hold_err >= 0)
        close(in->hold_err);
    in->hold_out = in->hold_err = -1;
    /* Whatever is left of the instance (its group, descendants that moved to their own session
     * and were seen by the last sample or stop) is killed, so the next start finds its port
     * free (PM2 lesson 2). The group id cannot be reused while a member is alive. */
    if (in->pid > 0 && kill(-in->pid, SIGKILL) == 0)
        tlog_info("supervise", "%s: killed what was left of process group %d", in->label,
                  (int)in->pid);
    sup__tree_kill(in, SIGKILL);
    in->ntree = 0;
    in->pid = 0;
    in->start_ticks = 0;
}
