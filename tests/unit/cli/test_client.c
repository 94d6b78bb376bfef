/* tests/unit/cli/test_client.c: cli/client.c: the NDJSON line splitter (lines split across
 * network reads must come out whole; over-long lines come out in bounded pieces) and the HTTP
 * client against a scripted server on $TEND_HOME/tend.sock (a forked child that answers each
 * connection with the next canned answer, written in pieces so framing crosses reads). */
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

struct seen {
    char lines[16][64];
    int n;
    int stop_after; /* return non-zero once this many lines were seen (0 = never) */
};

static int collect(void *arg, const char *line, size_t len)
{
    struct seen *s = arg;
    if (s->n < 16)
        snprintf(s->lines[s->n], sizeof s->lines[0], "%.*s", (int)len, line);
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? 1 : 0;
}

TEST(lines_split_across_reads)
{
    struct buf partial;
    struct seen s = {0};
    buf_init(&partial, 1024);
    const char *chunks[] = {"{\"a\":", "1}\n{\"b\"", ":2}\n", "{\"c\":3}\r\n{\"d\"", ":4}"};
    for (size_t i = 0; i < 5; i++)
        CHECK_INT(cli__lines_feed(&partial, chunks[i], strlen(chunks[i]), collect, &s), 0);
    CHECK_INT(s.n, 3);
    CHECK_STR(s.lines[0], "{\"a\":1}");
    CHECK_STR(s.lines[1], "{\"b\":2}");
    CHECK_STR(s.lines[2], "{\"c\":3}"); /* \r dropped */
    CHECK_INT(cli__lines_flush(&partial, collect, &s), 0);
    CHECK_INT(s.n, 4);
    CHECK_STR(s.lines[3], "{\"d\":4}");
    buf_fini(&partial);
}

TEST(many_lines_in_one_read_and_blank_lines)
{
    struct buf partial;
    struct seen s = {0};
    buf_init(&partial, 1024);
    const char *data = "one\n\ntwo\nthree\n";
    CHECK_INT(cli__lines_feed(&partial, data, strlen(data), collect, &s), 0);
    CHECK_INT(s.n, 3); /* the blank line carries nothing and is skipped */
    CHECK_STR(s.lines[2], "three");
    CHECK_INT(partial.len, 0);
    buf_fini(&partial);
}

TEST(long_line_comes_out_in_pieces)
{
    struct buf partial;
    struct seen s = {0};
    buf_init(&partial, 4);
    const char *data = "abcdefghij\nxy\n";
    CHECK_INT(cli__lines_feed(&partial, data, strlen(data), collect, &s), 0);
    CHECK_INT(s.n, 4);
    CHECK_STR(s.lines[0], "abcd");
    CHECK_STR(s.lines[1], "efgh");
    CHECK_STR(s.lines[2], "ij");
    CHECK_STR(s.lines[3], "xy");
    buf_fini(&partial);
}

TEST(reader_stops_the_stream)
{
    struct buf partial;
    struct seen s = {.stop_after = 2};
    buf_init(&partial, 1024);
    const char *data = "1\n2\n3\n";
    CHECK_INT(cli__lines_feed(&partial, data, strlen(data), collect, &s), 1);
    CHECK_INT(s.n, 2);
    buf_fini(&partial);
}

/* ---- the HTTP client ---------------------------------------------------------------------- */

static char home[64];

/* Serve `n` connections: read one request (headers, then Content-Length bytes), check that it
 * starts with want[i] and has a JSON body when it is a POST, then write answer[i] in pieces of
 * 7 bytes and close. A request that does not match gets a 400, which the test notices. */
static pid_t serve(const char *const *want, const char *const *answer, int n)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    str_fmt(sa.sun_path, sizeof sa.sun_path, "%s/tend.sock", home);
    unlink(sa.sun_path);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 8) < 0)
        return -1;
    pid_t pid = fork();
    if (pid != 0) {
        close(ls);
        return pid;
    }
    for (int i = 0; i < n; i++) {
        int c = accept(ls, NULL, NULL);
        char req[4096] = "";
        size_t len = 0;
        char *end = NULL;
        while (len < sizeof req - 1 && !(end = strstr(req, "\r\n\r\n"))) {
            ssize_t k = read(c, req + len, sizeof req - 1 - len);
            if (k <= 0)
                _exit(1);
            len += (size_t)k;
            req[len] = '\0';
        }
        const char *cl = strstr(req, "Content-Length: ");
        size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
        while (end && len < (size_t)(end + 4 - req) + body) {
            ssize_t k = read(c, req + len, sizeof req - 1 - len);
            if (k <= 0)
                _exit(1);
            len += (size_t)k;
        }
        bool ok = strncmp(req, want[i], strlen(want[i])) == 0 && strstr(req, "Host: tend\r\n") &&
                  (strncmp(req, "POST", 4) != 0 ||
                   (strstr(req, "Content-Type: application/json\r\n") && body > 0));
        const char *a = ok ? answer[i] : "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}";
        for (size_t off = 0, alen = strlen(a); off < alen; off += 7) {
            if (write(c, a + off, alen - off < 7 ? alen - off : 7) < 0)
                break;
            usleep(1000); /* let the client see each piece on its own (not needed to pass) */
        }
        close(c);
    }
    _exit(0);
}

static int served(pid_t pid)
{
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(call_sends_json_and_reads_a_sized_answer)
{
    const char *want[] = {"POST /v1/apps/web/restart HTTP/1.1\r\n", "GET /v1/status HTTP/1.1\r\n"};
    const char *answer[] = {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
        "{\"done\":1}\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"apps\":[]}\n"};
    pid_t pid = serve(want, answer, 2);
    struct cli cli = {0};
    struct err err = {0};
    json_t *body = json_pack("{s:b}", "force", 1), *a = NULL;
    CHECK_INT(cli__call(&cli, "POST", "/v1/apps/web/restart", body, &a, &err), 0);
    CHECK_INT(cli.status, 200);
    CHECK_INT(json_integer_value(json_object_get(a, "done")), 1);
    json_decref(a);
    CHECK_INT(cli__call(&cli, "GET", "/v1/status", NULL, &a, &err), 0);
    CHECK(json_is_array(json_object_get(a, "apps")));
    json_decref(a);
    json_decref(body);
    cli__client_fini(&cli);
    CHECK_INT(served(pid), 0);
}

static int collect(void *arg, const char *line, size_t len);

TEST(stream_delivers_chunked_lines_whole)
{
    const char *want[] = {"GET /v1/logs?follow=1 HTTP/1.1\r\n"};
    const char *answer[] = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "d\r\n{\"line\":1}\n{\"\r\n"
                            "a\r\nline\":22}\n\r\n"
                            "8\r\n{\"end\":3\r\n"
                            "0\r\n\r\n"};
    pid_t pid = serve(want, answer, 1);
    struct cli cli = {0};
    struct err err = {0};
    struct seen s = {0};
    CHECK_INT(cli__stream(&cli, "/v1/logs?follow=1", collect, &s, &err), 0);
    CHECK_INT(s.n, 3);
    CHECK_STR(s.lines[0], "{\"line\":1}");
    CHECK_STR(s.lines[1], "{\"line\":22}");
    CHECK_STR(s.lines[2], "{\"end\":3"); /* the last line without "\n" comes at the end */
    cli__client_fini(&cli);
    CHECK_INT(served(pid), 0);
}

TEST(api_errors_and_broken_answers)
{
    const char *want[] = {"GET /v1/apps/nope HTTP/1.1\r\n", "GET /v1/status HTTP/1.1\r\n"};
    const char *answer[] = {"HTTP/1.1 404 Not Found\r\nContent-Length: 70\r\n\r\n"
                            "{\"error\":{\"code\":\"not_found\",\"message\":\"no app named nope\","
                            "\"hint\":\"\"}}",
                            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"cut\":"};
    pid_t pid = serve(want, answer, 2);
    struct cli cli = {0};
    struct err err = {0};
    json_t *a = NULL;
    CHECK_INT(cli__call(&cli, "GET", "/v1/apps/nope", NULL, &a, &err), -TE_NOTFOUND);
    CHECK_STR(err.msg, "no app named nope");
    json_decref(a);
    CHECK_INT(cli__call(&cli, "GET", "/v1/status", NULL, &a, &err), -EIO);
    CHECK(strstr(err.msg, "closed before the whole answer") != NULL);
    json_decref(a);
    cli__client_fini(&cli);
    CHECK_INT(served(pid), 0);
}

TEST(no_daemon_is_econnrefused_without_autostart)
{
    char sock[128];
    str_fmt(sock, sizeof sock, "%s/tend.sock", home);
    unlink(sock);
    struct cli cli = {0};
    struct err err = {0};
    json_t *a = NULL;
    CHECK_INT(cli__call(&cli, "GET", "/v1/ping", NULL, &a, &err), -ECONNREFUSED);
    CHECK(strstr(err.msg, "the daemon is not running") != NULL);
    CHECK(!cli__daemon_answers(&cli));
    cli__client_fini(&cli);
}

int main(void)
{
    RUN(lines_split_across_reads);
    RUN(many_lines_in_one_read_and_blank_lines);
    RUN(long_line_comes_out_in_pieces);
    RUN(reader_stops_the_stream);

    str_copy(home, "/tmp/tend-client-XXXXXX", sizeof home);
    if (!mkdtemp(home) || setenv("TEND_HOME", home, 1) < 0) {
        perror("mkdtemp");
        return 1;
    }
    RUN(call_sends_json_and_reads_a_sized_answer);
    RUN(stream_delivers_chunked_lines_whole);
    RUN(api_errors_and_broken_answers);
    RUN(no_daemon_is_econnrefused_without_autostart);
    char sock[128];
    str_fmt(sock, sizeof sock, "%s/tend.sock", home);
    unlink(sock);
    rmdir(home);
    return unit_done();
}
