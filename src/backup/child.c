/* backup/child.c: starting the tools (pg_dump, redis-cli, tar, age, psql, pg_restore) and the
 * small string work around them.
 *
 * posix_spawn, not uv_spawn: supervise reaps every child of the daemon (it is the subreaper),
 * and libuv would reap its own children behind supervise's back. Each tool gets its own process
 * group so a timeout or a failed partner kills it with whatever it started; stderr goes to a
 * file in the operation's scratch folder, and its last line becomes the error message. Passwords
 * never go on a command line (visible in /proc/PID/cmdline): backup__url_split() moves them to
 * the child's environment (PGPASSWORD, REDISCLI_AUTH). */
#include "backup/backup_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/str.h"
#include "core/util.h"

extern char **environ;

/* environ with `extra` ("K=V") replacing or adding entries; the array is the caller's, the
 * strings are borrowed. */
static char **merge_env(const char *const *extra)
{
    size_t n = 0, m = 0;
    while (environ[n])
        n++;
    while (extra && extra[m])
        m++;
    char **out = xcalloc(n + m + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < m && !replaced; j++) {
            size_t klen = strcspn(extra[j], "=");
            replaced = strncmp(environ[i], extra[j], klen) == 0 && environ[i][klen] == '=';
        }
        if (!replaced)
            out[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        out[k++] = (char *)extra[j];
    return out;
}

int backup__spawn(const char *const *argv, const char *const *env, int in_fd, int out_fd,
                  const char *err_path, pid_t *pid, struct err *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    char **envp = merge_env(env);
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0)
        rc = posix_spawnattr_init(&at);
    if (rc != 0) {
        free(envp);
        return err_set(err, -rc, "cannot start %s: %s", argv[0], strerror(rc));
    }
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawnattr_setpgroup(&at, 0);
    /* A daemon that ignores SIGPIPE must not pass that on: a tool writing to a closed pipe
     * should die as it would in a shell pipeline. */
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawnp(pid, argv[0], &fa, &at, (char *const *)argv, envp);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    if (rc != 0)
        return err_set(err, -rc, "cannot start %s: %s", argv[0], strerror(rc));
    return 0;
}

void backup__last_line(const char *path, char *dst, size_t size)
{
    struct buf b;
    buf_init(&b, 0);
    dst[0] = '\0';
    if (read_file(path, 1 << 20, &b) < 0 || !b.ptr) {
        buf_fini(&b);
        return;
    }
    char *end = b.ptr + b.len;
    while (end > b.ptr && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        *--end = '\0';
    char *start = end;
    while (start > b.ptr && start[-1] != '\n')
        start--;
    /* Tools print their own name first ("pg_dump: error: ..."); keep it, it says who. libpq
     * adds hint lines after the error ("\tIs the server running..."): prefer the error. */
    char *e = NULL;
    for (char *p = strstr(b.ptr, "error: "); p; p = strstr(p + 1, "error: "))
        e = p;
    if (e) {
        while (e > b.ptr && e[-1] != '\n')
            e--;
        start = e;
        start[strcspn(start, "\n")] = '\0';
    }
    while (*start == ' ' || *start == '\t')
        start++;
    str_copy(dst, start, size);
    buf_fini(&b);
}

void backup__url_split(const char *url, char **bare, char **password)
{
    *bare = NULL;
    *password = NULL;
    if (!url)
        return;
    const char *scheme = strstr(url, "://");
    const char *auth = scheme ? scheme + 3 : url;
    const char *at = strchr(auth, '@'), *slash = strchr(auth, '/');
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!at || (slash && slash < at) || !colon) {
        *bare = str_dup(url);
        return;
    }
    *password = str_ndup(colon + 1, (size_t)(at - colon - 1));
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, url, (size_t)(colon - url));
    buf_puts(&b, at);
    *bare = buf_take(&b);
}

char *backup__url_with_db(const char *url, const char *db)
{
    if (!url)
        return str_dup(db);
    const char *scheme = strstr(url, "://");
    const char *auth = scheme ? scheme + 3 : url;
    const char *path = auth + strcspn(auth, "/?");
    const char *query = path + strcspn(path, "?");
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, url, (size_t)(path - url));
    buf_printf(&b, "/%s%s", db, query);
    return buf_take(&b);
}
