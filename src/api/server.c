/* api/server.c: the api handle and its two doors (DESIGN "One API, two doors").
 *
 * The unix door is bound with umask 0177 so the socket is 0600 from its first instant (a later
 * chmod would leave a window). A socket file left by a dead daemon is replaced only when a
 * connect() to it is refused; if something answers, another daemon owns it and api_new fails
 * naming that daemon's pid (SO_PEERCRED on our probe connection). The TCP door can be moved
 * while running: the new address is bound before the old one is closed, so a failed move
 * leaves the old door serving. Accepted clients past API_MAX_CONNS are closed at once; unix
 * peers that are neither our uid nor root (SO_PEERCRED) get a 403, then the connection closes.
 * Invariant: the api is freed only after every door, connection and timer has reached its close
 * callback (STYLE 3.4), and `done` runs once. */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"

static void maybe_done(struct api *a)
{
    if (!a->is_closing || a->handles_open > 0 || a->nconns > 0)
        return;
    void (*done)(void *) = a->done;
    void *arg = a->done_arg;
    api__routes_fini(&a->routes);
    explicit_bzero(a->token, sizeof a->token);
    free(a);
    if (done)
        done(arg);
}

void api__conn_freed(struct api *a)
{
    a->nconns--;
    maybe_done(a);
}

static void door_closed(uv_handle_t *h)
{
    struct api_door *d = container_of(h, struct api_door, h.handle);
    struct api *a = d->api;
    free(d->addr);
    free(d);
    a->handles_open--;
    maybe_done(a);
}

static void door_close(struct api_door *d)
{
    if (!d)
        return;
    if (d->is_unix && unlink(d->addr) < 0 && errno != ENOENT)
        tlog_warn("api", "cannot remove %s: %s", d->addr, strerror(errno));
    uv_close(&d->h.handle, door_closed);
}

struct api_conn *api__conn_new(struct api *a, bool is_unix)
{
    struct api_conn *c = xcalloc(1, sizeof *c);
    c->api = a;
    c->is_unix = is_unix;
    if (is_unix)
        uv_pipe_init(a->loop, &c->h.pipe, 0);
    else
        uv_tcp_init(a->loop, &c->h.tcp);
    uv_timer_init(a->loop, &c->timer);
    c->handles_open = 2;
    c->next = a->conns;
    if (a->conns)
        a->conns->prev = c;
    a->conns = c;
    a->nconns++;
    return c;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct api_door *d = container_of(server, struct api_door, h.stream);
    struct api *a = d->api;
    if (status < 0) {
        tlog_warn("api", "cannot accept on %s: %s", d->addr, uv_strerror(status));
        return;
    }
    struct api_conn *c = api__conn_new(a, d->is_unix);
    int rc = uv_accept(server, &c->h.stream);
    if (rc < 0) {
        tlog_warn("api", "cannot accept on %s: %s", d->addr, uv_strerror(rc));
        api__conn_close(c);
        return;
    }
    if (a->nconns > API_MAX_CONNS) {
        tlog_warn("api", "%zu connections open on the api; refusing more", a->nconns - 1);
        api__conn_close(c);
        return;
    }
    uv_os_fd_t fd;
    unsigned uid = 0;
    if (d->is_unix && (uv_fileno(&c->h.handle, &fd) < 0 || api__peer_allowed(fd, &uid) < 0)) {
        char msg[160];
        if (geteuid() == 0)
            snprintf(msg, sizeof msg, "uid %u may not use this daemon (only root may)", uid);
        else
            snprintf(msg, sizeof msg, "uid %u may not use this daemon (only uid %u and root may)",
                     uid, (unsigned)geteuid());
        tlog_warn("api", "refused a client on %s: %s", d->addr, msg);
        /* Answer 403 rather than hang up, so the client says why (nginx's lingering close). */
        api__conn_start(a, c);
        api__reply_raw_error(c, 403, "forbidden", msg, NULL);
        return;
    }
    if (!d->is_unix)
        uv_tcp_nodelay(&c->h.tcp, 1); /* answers are one write each: do not wait for acks */
    api__conn_start(a, c);
}

/* Is a live daemon answering on `path`? Stale sockets are removed; 0 means the path is free. */
static int unix_prepare(const char *path, struct err *err)
{
    struct stat st;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (str_copy(sa.sun_path, path, sizeof sa.sun_path) >= sizeof sa.sun_path)
        return err_set(err, -ENAMETOOLONG, "the socket path %s is longer than %zu bytes", path,
                       sizeof sa.sun_path - 1);
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : err_sys(err, "cannot inspect %s", path);
    if (!S_ISSOCK(st.st_mode)) {
        int rc = err_set(err, -EEXIST, "%s exists and is not a socket", path);
        err_hint(err, "move it away; tend keeps its socket there");
        return rc;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_sys(err, "cannot create a socket");
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
        struct ucred cred = {0};
        socklen_t len = sizeof cred;
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
        close(fd);
        rc = err_set(err, -EADDRINUSE, "another tend daemon is running (pid %d) on %s",
                     (int)cred.pid, path);
        err_hint(err, "stop it with \"tend kill\", or use another TEND_HOME");
        return rc;
    }
    int saved = errno;
    close(fd);
    if (saved != ECONNREFUSED) {
        errno = saved;
        return err_sys(err, "cannot check the socket %s", path);
    }
    if (unlink(path) < 0 && errno != ENOENT)
        return err_sys(err, "cannot remove the stale socket %s", path);
    tlog_info("api", "replaced the stale socket %s (no daemon answered on it)", path);
    return 0;
}

static struct api_door *door_new(struct api *a, bool is_unix, const char *addr)
{
    struct api_door *d = xcalloc(1, sizeof *d);
    d->api = a;
    d->is_unix = is_unix;
    d->addr = str_dup(addr);
    if (is_unix)
        uv_pipe_init(a->loop, &d->h.pipe, 0);
    else
        uv_tcp_init(a->loop, &d->h.tcp);
    a->handles_open++;
    return d;
}

static int unix_open(struct api *a, const char *path, struct err *err)
{
    int rc = unix_prepare(path, err);
    if (rc < 0)
        return rc;
    struct api_door *d = door_new(a, true, path);
    /* umask is process-wide; this runs once at startup on the loop thread, before any worker
     * creates files, and it is the only way to have the socket 0600 from creation. */
    mode_t old = umask(0177);
    rc = uv_pipe_bind(&d->h.pipe, path);
    umask(old);
    if (rc == 0)
        rc = uv_listen(&d->h.stream, 128, on_connection);
    if (rc < 0) {
        err_set(err, rc, "cannot listen on %s: %s", path, uv_strerror(rc));
        if (rc == UV_EADDRINUSE)
            d->is_unix = false; /* the path is someone else's socket: do not unlink it */
        door_close(d);
        return rc;
    }
    a->unix_door = d;
    return 0;
}

int api_new(uv_loop_t *loop, const struct api_opts *opts, struct api **out, struct err *err)
{
    struct api *a = xcalloc(1, sizeof *a);
    a->loop = loop;
    a->idle_ms = API_IDLE_MS;
    int rc = 0;
    if (opts->token_path) {
        rc = api__token_load(opts->token_path, a->token, err);
        if (rc < 0) {
            free(a);
            return rc;
        }
        a->has_token = true;
    }
    if (opts->sock_path) {
        rc = unix_open(a, opts->sock_path, err);
        if (rc < 0) {
            api_close(a, NULL, NULL); /* frees `a` from the close callbacks */
            return rc;
        }
        tlog_info("api", "listening on %s", opts->sock_path);
    }
    *out = a;
    return 0;
}

/* "127.0.0.1:9615", "[::1]:9615", "localhost:9615", ":9615" (loopback). No DNS: it blocks. */
static int parse_hostport(const char *s, struct sockaddr_storage *ss, bool *is_loopback)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || colon[1] == '\0')
        return -TE_PARSE;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return -TE_PARSE;
    size_t hlen = (size_t)(colon - s);
    if (hlen >= sizeof host)
        return -TE_PARSE;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        if (uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)ss) < 0)
            return -TE_PARSE;
        *is_loopback = strcmp(host + 1, "::1") == 0;
        return 0;
    }
    if (hlen == 0 || strcmp(host, "localhost") == 0)
        str_copy(host, "127.0.0.1", sizeof host);
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) < 0)
        return -TE_PARSE;
    *is_loopback = str_starts(host, "127.");
    return 0;
}

bool api_is_loopback(const char *hostport)
{
    struct sockaddr_storage ss;
    bool is_loopback = false;
    return hostport && parse_hostport(hostport, &ss, &is_loopback) == 0 && is_loopback;
}

int api_listen_tcp(struct api *a, const char *hostport, struct err *err)
{
    if (!hostport) {
        door_close(a->tcp_door);
        a->tcp_door = NULL;
        return 0;
    }
    if (a->tcp_door && strcmp(a->tcp_door->addr, hostport) == 0)
        return 0;
    if (!a->has_token)
        return err_set(err, -TE_AUTH, "cannot listen on %s: the api has no token file", hostport);
    struct sockaddr_storage ss;
    bool is_loopback = false;
    if (parse_hostport(hostport, &ss, &is_loopback) < 0) {
        int rc = err_set(err, -TE_INVALID, "\"%s\" is not an address and port", hostport);
        err_hint(err, "write it as 127.0.0.1:9615 or [::1]:9615");
        return rc;
    }
    struct api_door *d = door_new(a, false, hostport);
    int rc = uv_tcp_bind(&d->h.tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen(&d->h.stream, 128, on_connection);
    if (rc < 0) {
        door_close(d);
        return err_set(err, rc, "cannot listen on %s: %s", hostport, uv_strerror(rc));
    }
    door_close(a->tcp_door);
    a->tcp_door = d;
    if (!is_loopback)
        tlog_warn("api",
                  "listening on %s, which is not loopback: anyone who can reach it and "
                  "has the token controls tend",
                  hostport);
    else
        tlog_info("api", "listening on %s", hostport);
    return 0;
}

void api_set_idle_timeout(struct api *a, uint64_t ms)
{
    a->idle_ms = ms;
}

void api_close(struct api *a, void (*done)(void *arg), void *arg)
{
    assert(!a->is_closing);
    a->is_closing = true;
    a->done = done;
    a->done_arg = arg;
    door_close(a->unix_door);
    door_close(a->tcp_door);
    a->unix_door = a->tcp_door = NULL;
    for (struct api_conn *c = a->conns; c; c = c->next)
        api__conn_close_gently(c);
    /* Everything may already be closed (an api with no doors): finish from the loop anyway,
     * never before api_close returns (a callback is called later, STYLE 4). */
    if (a->handles_open == 0 && a->nconns == 0) {
        struct api_door *d = door_new(a, false, "");
        door_close(d);
    }
}

void api_route(struct api *a, const char *method, const char *pattern, api_handler_fn *fn,
               void *ctx)
{
    api__routes_add(&a->routes, method, pattern, fn, ctx, false);
}

void api_route_public(struct api *a, const char *method, const char *pattern, api_handler_fn *fn,
                      void *ctx)
{
    api__routes_add(&a->routes, method, pattern, fn, ctx, true);
}
