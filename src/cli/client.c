/* cli/client.c: the CLI's door to the daemon: HTTP/1.1 over $TEND_HOME/tend.sock, and autostart.
 *
 * Why not libcurl: linking it made every tend process map ~33 more shared libraries, and an
 * empty program with our libraries started in ~5 ms instead of ~1.7 ms, against a `tend status`
 * budget of 10 ms (DESIGN.md, "Performance targets"). The CLI only ever speaks to our own API
 * over a unix socket, so a small blocking client does: one connection per request (a unix
 * connect costs microseconds), a request line, Host, Content-Type: application/json and
 * Content-Length for a body, and `Connection: close`; the answer is framed by http_parser
 * (Content-Length, chunked for `logs --follow`, or until EOF), and a stream's NDJSON lines go to
 * the reader as each read() returns them. Nothing else of HTTP (TLS, redirects, proxies, auth,
 * TCP) is supported or needed: the daemon's TCP door is for other programs.
 *
 * The connect timeout is 2 s; there is no total timeout because stop/reload may legitimately
 * take long (Ctrl-C still ends the CLI at once: SIGINT keeps its default action, and EINTR from
 * other signals is retried). When a verb needs the daemon and the socket is missing or refuses
 * the connection, the daemon is started like PM2 does (fork, setsid, exec /proc/self/exe daemon,
 * output appended to $TEND_HOME/tend.log), then GET /v1/ping is polled every 20 ms until a 5 s
 * deadline. The failed request never reached a daemon, so sending it again is safe, POSTs too.
 *
 * Invariant: a request is sent at most once to a daemon that accepted the connection (only a
 * failed connect, reported as -ECONNREFUSED, leads to a retry). */
#include "cli/cli_int.h"

#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/afile.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

#define CONNECT_TIMEOUT_MS 2000
#define START_DEADLINE_MS 5000
#define START_POLL_MS 20
#define STREAM_LINE_MAX (1024 * 1024)
#define ANSWER_MAX (64u << 20)
#define READ_SIZE (64 * 1024)

int cli__home(struct cli *cli, struct err *err)
{
    if (cli->home[0])
        return 0;
    const char *env = getenv("TEND_HOME");
    char cwd[PATH_MAX];
    int rc;
    if (env && env[0] == '/') {
        rc = str_fmt(cli->home, sizeof cli->home, "%s", env);
    } else if (env && env[0]) {
        if (!getcwd(cwd, sizeof cwd))
            return err_sys(err, "cannot resolve TEND_HOME \"%s\"", env);
        rc = str_fmt(cli->home, sizeof cli->home, "%s/%s", cwd, env);
    } else {
        const char *home = getenv("HOME");
        struct passwd *pw = home && home[0] ? NULL : getpwuid(getuid());
        if (pw)
            home = pw->pw_dir;
        if (!home || !home[0])
            return err_set(err, -ENOENT, "no HOME to put ~/.tend in; set TEND_HOME");
        rc = str_fmt(cli->home, sizeof cli->home, "%s/.tend", home);
    }
    if (rc == 0)
        rc = str_fmt(cli->sock, sizeof cli->sock, "%s/tend.sock", cli->home);
    if (rc < 0 || strlen(cli->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        cli->home[0] = '\0';
        err_set(err, -ENAMETOOLONG, "the socket path under TEND_HOME is too long (limit %zu bytes)",
                sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        err_hint(err, "set TEND_HOME to a shorter folder");
        return err->code;
    }
    if (afile_mkdirs(cli->home, 0700, err) < 0) {
        cli->home[0] = '\0';
        return err->code;
    }
    return 0;
}

/* ---- one exchange ------------------------------------------------------------------------ */

static int resources(struct cli *cli, struct err *err)
{
    if (cli->is_client_ready)
        return 0;
    int rc = cli__home(cli, err);
    if (rc < 0)
        return rc;
    buf_init(&cli->resp, ANSWER_MAX);
    buf_init(&cli->partial, STREAM_LINE_MAX);
    cli->is_client_ready = true;
    return 0;
}

/* Trouble after the connection was accepted (code is -errno or -TE_*, never -ECONNREFUSED). */
static int talk_error(struct cli *cli, int code, const char *why, struct err *err)
{
    err_set(err, code == -ECONNREFUSED ? -EIO : code, "cannot talk to the daemon on %s: %s",
            cli->sock, why ? why : strerror(-code));
    err_hint(err, "if it keeps happening, see %s/tend.log", cli->home);
    return err->code;
}

/* Connect to the daemon's socket within CONNECT_TIMEOUT_MS. -ECONNREFUSED (and only then) means
 * nobody listens there: the socket is missing or refuses, so a daemon may be started. */
static int dial(struct cli *cli, int *out, struct err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    str_copy(sa.sun_path, cli->sock, sizeof sa.sun_path); /* length checked by cli__home */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_sys(err, "cannot make a socket to talk to the daemon");
    /* Not a non-blocking connect + poll(): on AF_UNIX, connect() never returns EINPROGRESS;
     * when the daemon's backlog is full it fails at once with EAGAIN, leaving nothing to poll.
     * A blocking connect waits for room in the backlog, and on Linux SO_SNDTIMEO bounds that
     * wait (unix_stream_connect() uses the send timeout), ending it with EAGAIN. */
    struct timeval tv = {CONNECT_TIMEOUT_MS / 1000, (CONNECT_TIMEOUT_MS % 1000) * 1000};
    uint64_t deadline = clock_mono_ms() + CONNECT_TIMEOUT_MS;
    int rc = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ? -errno : 0;
    while (rc == 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        rc = errno == EINTR && clock_mono_ms() < deadline ? 0 : -errno;
    if (rc == 0) {
        struct timeval none = {0, 0}; /* no timeout on the exchange itself */
        rc = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none) < 0 ? -errno : 0;
    }
    if (rc == 0) {
        *out = fd;
        return 0;
    }
    close(fd);
    if (rc == -ENOENT || rc == -ECONNREFUSED) {
        err_set(err, -ECONNREFUSED, "the daemon is not running (nothing answers on %s)", cli->sock);
        err_hint(err, "start it with tend ping, or see $TEND_HOME/tend.log if it crashed");
    } else if (rc == -EAGAIN || rc == -EINTR) {
        err_set(err, -ETIMEDOUT,
                "cannot talk to the daemon on %s: it did not accept the "
                "connection within %ds",
                cli->sock, CONNECT_TIMEOUT_MS / 1000);
        err_hint(err, "it may be stuck; see %s/tend.log", cli->home);
    } else {
        err_set(err, rc, "cannot talk to the daemon on %s: %s", cli->sock, strerror(-rc));
        if (rc == -EACCES)
            err_hint(err, "the socket belongs to another user: run tend as that user");
        else
            err_hint(err, "if it keeps happening, see %s/tend.log", cli->home);
    }
    return err->code;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL); /* a daemon gone away is EPIPE, not SIGPIPE */
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The parser's view of one exchange. */
struct answer {
    struct cli *cli;
    bool is_done; /* the whole answer arrived */
    int fail;     /* why a callback stopped the parser: -TE_TOOBIG, or -ECANCELED (reader) */
};

static int on_headers(http_parser *p)
{
    struct answer *a = p->data;
    a->cli->status = (long)p->status_code;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct answer *a = p->data;
    struct cli *cli = a->cli;
    /* An error answer to a stream is one JSON object, not lines: keep it whole. */
    if (cli->on_line && cli->status < 400) {
        if (cli__lines_feed(&cli->partial, at, len, cli->on_line, cli->line_ctx) != 0) {
            cli->stopped = true; /* the reader is done (or stdout is gone) */
            a->fail = -ECANCELED;
            return -1;
        }
        return 0;
    }
    if (buf_append(&cli->resp, at, len) < 0) {
        a->fail = -TE_TOOBIG;
        return -1;
    }
    return 0;
}

static int on_complete(http_parser *p)
{
    ((struct answer *)p->data)->is_done = true;
    http_parser_pause(p, 1); /* ignore whatever might follow */
    return 0;
}

static const http_parser_settings answer_settings = {
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete,
};

/* Read and parse the answer until it is complete (or the reader stops a stream). */
static int receive(struct cli *cli, int fd, struct err *err)
{
    http_parser p;
    struct answer a = {cli, false, 0};
    char in[READ_SIZE];
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &a;
    for (;;) {
        ssize_t n = read(fd, in, sizeof in);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return talk_error(cli, -errno, NULL, err);
        http_parser_execute(&p, &answer_settings, in, (size_t)n); /* n == 0: the end of input */
        if (a.is_done)
            return 0;
        if (a.fail == -ECANCELED)
            return err_set(err, a.fail, "the reader stopped the stream");
        if (a.fail == -TE_TOOBIG)
            return err_set(err, a.fail, "the daemon's answer is over %u MiB", ANSWER_MAX >> 20);
        if (n == 0) /* the parser calls this HPE_INVALID_EOF_STATE; say it plainly */
            return talk_error(cli, -EIO, "the connection closed before the whole answer came", err);
        enum http_errno he = HTTP_PARSER_ERRNO(&p);
        if (he != HPE_OK)
            return talk_error(cli, -EIO, http_errno_description(he), err);
    }
}

/* One exchange on a new connection. 0 with cli->status set, else a negative code with err;
 * -ECONNREFUSED: no daemon listens (nothing was sent). */
static int perform(struct cli *cli, const char *method, const char *path, const char *body,
                   struct err *err)
{
    struct buf req = {0};
    int fd = -1, rc;
    bool has_body = strcmp(method, "POST") == 0;
    buf_reset(&cli->resp);
    buf_reset(&cli->partial);
    cli->status = 0;
    if (has_body && !body)
        body = "{}";
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c <= ' ')
            return err_set(err, -TE_INVALID, "bad request path \"%s\"", path); /* our bug */
    rc = buf_printf(&req,
                    "%s %s HTTP/1.1\r\nHost: tend\r\nUser-Agent: tend-cli\r\n"
                    "Connection: close\r\n",
                    method, path);
    if (rc == 0 && has_body)
        rc = buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                        strlen(body));
    if (rc == 0)
        rc = buf_puts(&req, "\r\n");
    if (rc == 0 && has_body)
        rc = buf_puts(&req, body);
    if (rc < 0) {
        err_set(err, rc, "cannot build the request for %s", path);
        goto out;
    }
    if ((rc = dial(cli, &fd, err)) < 0)
        goto out;
    if ((rc = send_all(fd, req.ptr, req.len)) < 0) {
        rc = talk_error(cli, rc, NULL, err);
        goto out;
    }
    rc = receive(cli, fd, err);
out:
    if (fd >= 0)
        close(fd); /* also how a stopped stream ends: the daemon sees the connection go */
    buf_fini(&req);
    return rc;
}

/* ---- starting the daemon ---------------------------------------------------------------- */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* The child's side of the start: a session of its own, no terminal, output to tend.log. */
static void exec_daemon(const struct cli *cli, const char *exe, const char *log)
{
    setsid();
    int in = open("/dev/null", O_RDONLY);
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(127);
    for (int fd = 3; fd < 1024; fd++) /* the CLI's descriptors are not the daemon's */
        close(fd);
    if (chdir("/") < 0)
        _exit(127);
    setenv("TEND_HOME", cli->home, 1); /* the daemon must use the home this CLI resolved */
    signal(SIGPIPE, SIG_DFL);
    execl(exe, "tend", "daemon", (char *)NULL);
    dprintf(2, "tend: cannot start the daemon: exec %s: %s\n", exe, strerror(errno));
    _exit(127);
}

static int start_failed(struct cli *cli, struct err *err, const char *fmt, const char *arg)
{
    err_set(err, CLI_ERR_START, fmt, arg);
    err_hint(err, "read %s/tend.log", cli->home);
    return err->code;
}

/* Wait for the daemon we forked to answer a ping; it may also die first. */
static int wait_started(struct cli *cli, pid_t pid, struct err *err)
{
    uint64_t deadline = clock_mono_ms() + START_DEADLINE_MS;
    char why[64];
    struct err ignored = {0};
    for (;;) {
        if (perform(cli, "GET", "/v1/ping", NULL, &ignored) == 0 && cli->status == 200) {
            json_t *a = json_loadb(cli->resp.ptr, cli->resp.len, 0, NULL);
            json_int_t p = json_integer_value(json_object_get(a, "pid"));
            fprintf(stderr, "tend: started the daemon (pid %lld)\n", (long long)(p ? p : pid));
            json_decref(a);
            return 0;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            snprintf(why, sizeof why, WIFEXITED(st) ? "exit status %d" : "signal %d",
                     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            return start_failed(cli, err, "it exited at once (%s)", why);
        }
        if (clock_mono_ms() >= deadline)
            return start_failed(cli, err, "it did not answer on %s within 5s", cli->sock);
        sleep_ms(START_POLL_MS);
    }
}

static int start_daemon(struct cli *cli, struct err *err)
{
    char exe[PATH_MAX], log[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0) {
        err_sys(err, "cannot find the tend binary (/proc/self/exe)");
        err->code = CLI_ERR_START;
        return err->code;
    }
    exe[n] = '\0';
    snprintf(log, sizeof log, "%s/tend.log", cli->home);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        err_sys(err, "fork");
        err->code = CLI_ERR_START;
        return err->code;
    }
    if (pid == 0)
        exec_daemon(cli, exe, log);
    return wait_started(cli, pid, err);
}

/* Turn a non-2xx answer into err (message, hint) and a code. */
static int api_error(struct cli *cli, json_t *answer, struct err *err)
{
    json_t *e = json_object_get(answer, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *hint = json_string_value(json_object_get(e, "hint"));
    int code = cli->status == 404   ? -TE_NOTFOUND
               : cli->status == 409 ? -TE_STATE
               : cli->status == 422 ? -TE_CONFIG
                                    : -TE_INVALID;
    if (msg)
        err_set(err, code, "%s", msg);
    else
        err_set(err, code, "the daemon answered HTTP %ld", cli->status);
    if (hint && hint[0])
        err_hint(err, "%s", hint);
    return code;
}

static int exchange(struct cli *cli, const char *method, const char *path, const char *body,
                    struct err *err)
{
    int rc = resources(cli, err);
    if (rc < 0)
        return rc;
    rc = perform(cli, method, path, body, err);
    if (rc == -ECONNREFUSED && cli->autostart) {
        cli->autostart = false; /* once per run */
        cli_line_fn *fn = cli->on_line;
        cli->on_line = NULL; /* the pings are not the stream */
        err_clear(err);
        rc = start_daemon(cli, err);
        cli->on_line = fn;
        if (rc < 0)
            return rc;
        rc = perform(cli, method, path, body, err);
    }
    return rc;
}

int cli__call(struct cli *cli, const char *method, const char *path, json_t *body, json_t **answer,
              struct err *err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    *answer = NULL;
    int rc = exchange(cli, method, path, text, err);
    free(text);
    if (rc < 0)
        return rc;
    json_error_t je;
    json_t *a = cli->resp.len ? json_loadb(cli->resp.ptr, cli->resp.len, 0, &je) : NULL;
    if (cli->status >= 200 && cli->status < 300) {
        *answer = a;
        return 0;
    }
    rc = api_error(cli, a, err);
    *answer = a;
    return rc;
}

int cli__stream(struct cli *cli, const char *path, cli_line_fn *fn, void *ctx, struct err *err)
{
    cli->on_line = fn;
    cli->line_ctx = ctx;
    cli->stopped = false;
    int rc = exchange(cli, "GET", path, NULL, err);
    cli->on_line = NULL;
    if (rc < 0 && cli->stopped) { /* the reader stopped the transfer on purpose */
        err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (cli->status >= 300) {
        json_t *a = json_loadb(cli->resp.ptr, cli->resp.len, 0, NULL);
        rc = api_error(cli, a, err);
        json_decref(a);
        return rc;
    }
    cli__lines_flush(&cli->partial, fn, ctx);
    return 0;
}

void cli__print_raw(const struct cli *cli)
{
    if (cli->resp.len)
        fwrite(cli->resp.ptr, 1, cli->resp.len, stdout);
    if (!cli->resp.len || cli->resp.ptr[cli->resp.len - 1] != '\n')
        fputc('\n', stdout);
}

bool cli__daemon_answers(struct cli *cli)
{
    struct err err = {0};
    bool was = cli->autostart;
    cli->autostart = false;
    int rc = exchange(cli, "GET", "/v1/ping", NULL, &err);
    cli->autostart = was;
    return rc == 0 && cli->status == 200;
}

void cli__client_fini(struct cli *cli)
{
    cli->is_client_ready = false;
    buf_fini(&cli->resp);
    buf_fini(&cli->partial);
}

int cli__lines_feed(struct buf *partial, const char *data, size_t n, cli_line_fn *fn, void *ctx)
{
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n, off = 0;
        int rc;
        while (off < take) {
            /* Over the ceiling: hand on what we have as one piece, then go on. */
            size_t room = partial->max ? partial->max - partial->len : take - off;
            if (room == 0) {
                if ((rc = cli__lines_flush(partial, fn, ctx)) != 0)
                    return rc;
                continue;
            }
            size_t k = MIN(room, take - off);
            if (buf_append(partial, data + off, k) < 0)
                return -ENOMEM;
            off += k;
        }
        if (!nl)
            return 0;
        if ((rc = cli__lines_flush(partial, fn, ctx)) != 0)
            return rc;
        data = nl + 1;
        n -= take + 1;
    }
    return 0;
}

int cli__lines_flush(struct buf *partial, cli_line_fn *fn, void *ctx)
{
    if (!partial->len)
        return 0;
    size_t len = partial->len;
    if (partial->ptr[len - 1] == '\r')
        len--;
    int rc = fn(ctx, partial->ptr, len);
    buf_reset(partial);
    return rc;
}
