/* cli/client.c: the CLI's door to the daemon: HTTP/1.1 over $TEND_HOME/tend.sock, and autostart.
 *
 * One libcurl easy handle per run, made on the first request and reused, so `tend status` costs
 * one connect and one round trip. The connect timeout is 2 s; there is no total timeout because
 * stop/reload may legitimately take long (Ctrl-C still ends the CLI at once: SIGINT keeps its
 * default action). When a verb needs the daemon and the socket is missing or refuses the
 * connection, the daemon is started like PM2 does (fork, setsid, exec /proc/self/exe daemon,
 * output appended to $TEND_HOME/tend.log), then GET /v1/ping is polled every 20 ms until a 5 s
 * deadline. The failed request never reached a daemon, so sending it again is safe, POSTs too.
 *
 * Invariant: a request is sent at most once to a daemon that accepted the connection. */
#include "cli/cli_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct cli *cli = arg;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(cli->curl, CURLINFO_RESPONSE_CODE, &status);
    /* An error answer to a stream is one JSON object, not lines: keep it whole. */
    if (cli->on_line && status < 400) {
        if (cli__lines_feed(&cli->partial, p, len, cli->on_line, cli->line_ctx) != 0) {
            cli->stopped = true; /* the reader is done (or stdout is gone) */
            return 0;
        }
        return len;
    }
    return buf_append(&cli->resp, p, len) < 0 ? 0 : len;
}

static int handle(struct cli *cli, struct err *err)
{
    if (cli->curl)
        return 0;
    int rc = cli__home(cli, err);
    if (rc < 0)
        return rc;
    curl_global_init(CURL_GLOBAL_NOTHING); /* no TLS: we only speak to a unix socket */
    CURL *c = curl_easy_init();
    if (!c)
        return err_set(err, -ENOMEM, "cannot set up libcurl");
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, cli->sock);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, cli);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tend-cli");
    cli->curl = c;
    buf_init(&cli->resp, 64u << 20);
    buf_init(&cli->partial, STREAM_LINE_MAX);
    return 0;
}

/* Did the connection fail in a way that means "no daemon" (start one), not "some other trouble"? */
static bool no_daemon(struct cli *cli, CURLcode cc)
{
    if (cc != CURLE_COULDNT_CONNECT)
        return false;
    long os = 0;
    curl_easy_getinfo(cli->curl, CURLINFO_OS_ERRNO, &os);
    if (os == ENOENT || os == ECONNREFUSED)
        return true;
    return os == 0 && access(cli->sock, F_OK) < 0;
}

static int conn_error(struct cli *cli, CURLcode cc, struct err *err)
{
    long os = 0;
    curl_easy_getinfo(cli->curl, CURLINFO_OS_ERRNO, &os);
    if (cc == CURLE_COULDNT_CONNECT && no_daemon(cli, cc)) {
        err_set(err, -ECONNREFUSED, "the daemon is not running (nothing answers on %s)", cli->sock);
        err_hint(err, "start it with tend ping, or see $TEND_HOME/tend.log if it crashed");
    } else if (os) {
        err_set(err, -(int)os, "cannot talk to the daemon on %s: %s", cli->sock, strerror((int)os));
        if (os == EACCES)
            err_hint(err, "the socket belongs to another user: run tend as that user");
    } else {
        err_set(err, -EIO, "cannot talk to the daemon on %s: %s", cli->sock,
                curl_easy_strerror(cc));
        err_hint(err, "if it keeps happening, see %s/tend.log", cli->home);
    }
    return err->code;
}

/* One exchange. Returns 0 with cli->status set, or the curl code (> 0) when it failed. */
static int perform(struct cli *cli, const char *method, const char *path, const char *body)
{
    char url[1024];
    struct curl_slist *hdr = NULL;
    snprintf(url, sizeof url, "http://tend%s", path);
    buf_reset(&cli->resp);
    buf_reset(&cli->partial);
    cli->status = 0;
    curl_easy_setopt(cli->curl, CURLOPT_URL, url);
    if (strcmp(method, "POST") == 0) {
        hdr = curl_slist_append(NULL, "Content-Type: application/json");
        hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue wait for big bodies */
        curl_easy_setopt(cli->curl, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(cli->curl, CURLOPT_POSTFIELDS, body ? body : "{}");
    } else {
        curl_easy_setopt(cli->curl, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(cli->curl, CURLOPT_HTTPGET, 1L);
    }
    CURLcode cc = curl_easy_perform(cli->curl);
    curl_easy_setopt(cli->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdr);
    curl_easy_getinfo(cli->curl, CURLINFO_RESPONSE_CODE, &cli->status);
    return cc == CURLE_OK ? 0 : (int)cc;
}

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
    for (int fd = 3; fd < 1024; fd++) /* curl's sockets and the like are not the daemon's */
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
    for (;;) {
        if (perform(cli, "GET", "/v1/ping", NULL) == 0 && cli->status == 200) {
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
    int rc = handle(cli, err);
    if (rc < 0)
        return rc;
    int cc = perform(cli, method, path, body);
    if (cc && cli->autostart && no_daemon(cli, (CURLcode)cc)) {
        cli->autostart = false; /* once per run */
        cli_line_fn *fn = cli->on_line;
        cli->on_line = NULL; /* the pings are not the stream */
        rc = start_daemon(cli, err);
        cli->on_line = fn;
        if (rc < 0)
            return rc;
        cc = perform(cli, method, path, body);
    }
    return cc ? conn_error(cli, (CURLcode)cc, err) : 0;
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
    if (cli->curl)
        curl_easy_cleanup(cli->curl);
    cli->curl = NULL;
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
