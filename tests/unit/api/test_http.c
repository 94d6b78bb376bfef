/* tests/unit/api/test_http.c: the api over real sockets on a real uv loop.
 *
 * The api runs on this thread's loop; each test's client runs in a second thread with plain
 * blocking sockets (receive timeout 5 s, so a broken server fails the test instead of hanging
 * it) and wakes the loop through a uv_async when done. The loop runs until a flag is set or a
 * deadline passes: no test sleeps to wait for the server. Responses are read with http_parser
 * in response mode, so chunked bodies and pipelined answers are framed exactly. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

static char sock_path[200];
static int tcp_port;
#include "http_client.h"

static uv_loop_t *loop;
static uv_async_t wake;
static uv_timer_t deadline;
static bool timed_out, client_done;
static struct api *api;
static char dir[] = "/tmp/tend-api-XXXXXX";
static char token_path[200], token[API_TOKEN_HEX + 1];

/* ---- the loop side ---- */

static void on_deadline(uv_timer_t *t)
{
    timed_out = true;
}

static bool run_until(bool *flag, uint64_t ms)
{
    timed_out = false;
    uv_timer_start(&deadline, on_deadline, ms, 0);
    while (!*flag && !timed_out)
        uv_run(loop, UV_RUN_ONCE);
    uv_timer_stop(&deadline);
    return *flag;
}

static void on_wake(uv_async_t *h)
{
    client_done = true;
}

static void *client_main(void *arg)
{
    ((void (*)(void))arg)();
    uv_async_send(&wake);
    return NULL;
}

/* Run fn in a client thread while the loop serves it. */
static void client_run(void (*fn)(void))
{
    pthread_t t;
    client_done = false;
    pthread_create(&t, NULL, client_main, (void *)fn);
    if (!run_until(&client_done, 15000))
        UNIT_FAIL("the client did not finish");
    pthread_join(t, NULL);
}

/* ---- the handlers ---- */

static void h_ping(void *ctx, struct api_req *r)
{
    api_reply(r, 200, json_pack("{s:b}", "pong", 1));
}

static void h_echo(void *ctx, struct api_req *r)
{
    json_t *body = api_req_json(r);
    api_reply(r, 200, json_pack("{s:O?, s:b}", "got", body, "unix", api_req_from_unix(r)));
}

static void h_app(void *ctx, struct api_req *r)
{
    const char *q = api_req_query(r, "x");
    api_reply(r, 200,
              json_pack("{s:s, s:s?, s:s}", "app", api_req_param(r, "app"), "x", q, "path",
                        api_req_path(r)));
}

static struct api_req *slow_req;
static uv_timer_t slow_timer;
static bool slow_replied;

static void slow_fire(uv_timer_t *t)
{
    api_reply(slow_req, 200, json_pack("{s:b}", "late", 1)); /* safe even if the client left */
    slow_req = NULL;
    slow_replied = true;
}

static void h_slow(void *ctx, struct api_req *r)
{
    slow_req = r;
    uv_timer_start(&slow_timer, slow_fire, 100, 0);
}

static struct api_req *stream_req;
static uv_timer_t stream_timer;
static int stream_sent, stream_total;
static bool stream_gone;
static atomic_int gone_seen;

static void stream_tick(uv_timer_t *t)
{
    char line[32];
    int n = snprintf(line, sizeof line, "{\"n\":%d}\n", ++stream_sent);
    api_stream_write(stream_req, line, (size_t)n);
    if (stream_sent == stream_total) {
        uv_timer_stop(&stream_timer);
        api_stream_end(stream_req);
        stream_req = NULL;
    }
}

static void stream_on_gone(void *arg)
{
    uv_timer_stop(&stream_timer);
    stream_req = NULL;
    stream_gone = true;
    atomic_store(&gone_seen, 1);
}

static void h_stream(void *ctx, struct api_req *r)
{
    const char *n = api_req_query(r, "n");
    stream_total = n ? (int)strtol(n, NULL, 10) : 3;
    stream_sent = 0;
    stream_req = r;
    api_stream_begin(r, "application/x-ndjson", stream_on_gone, NULL);
    stream_tick(&stream_timer);
    if (stream_req)
        uv_timer_start(&stream_timer, stream_tick, 5, 5);
}

/* Writes 4 MiB at once to a client that does not read: it must be cut at 1 MiB unsent. */
static void h_flood(void *ctx, struct api_req *r)
{
    static char chunk[64 * 1024];
    memset(chunk, 'x', sizeof chunk);
    stream_req = r;
    api_stream_begin(r, NULL, stream_on_gone, NULL);
    for (int i = 0; i < 64 && !stream_gone; i++)
        api_stream_write(r, chunk, sizeof chunk);
}

/* ---- tests ---- */

static void c_ping(void)
{
    struct resp r;
    json_t *j = simple("GET /v1/ping HTTP/1.1\r\nHost: tend\r\n\r\n", 200, &r);
    CHECK(json_is_true(json_object_get(j, "pong")));
    CHECK(has_header(&r, "content-type: application/json\n"));
    CHECK(!has_header(&r, "connection: close"));
    json_decref(j);
    resp_fini(&r);
}

TEST(ping_200_json)
{
    client_run(c_ping);
}

static void c_params(void)
{
    json_t *j = simple("GET /v1/apps/my%20app?x=a+b%21 HTTP/1.1\r\n\r\n", 200, NULL);
    CHECK_STR(json_string_value(json_object_get(j, "app")), "my app");
    CHECK_STR(json_string_value(json_object_get(j, "x")), "a b!");
    CHECK_STR(json_string_value(json_object_get(j, "path")), "/v1/apps/my%20app");
    json_decref(j);
    j = simple("GET /v1/apps/bad%zz HTTP/1.1\r\n\r\n", 400, NULL);
    CHECK_STR(error_code(j), "bad_request");
    json_decref(j);
}

TEST(params_and_query)
{
    client_run(c_params);
}

static void c_errors(void)
{
    struct resp r;
    json_t *j = simple("GET /v1/nothing HTTP/1.1\r\n\r\n", 404, NULL);
    CHECK_STR(error_code(j), "not_found");
    CHECK(json_object_get(json_object_get(j, "error"), "message") != NULL);
    CHECK(json_is_null(json_object_get(json_object_get(j, "error"), "where")));
    json_decref(j);
    j = simple("DELETE /v1/ping HTTP/1.1\r\n\r\n", 405, &r);
    CHECK_STR(error_code(j), "method_not_allowed");
    CHECK(has_header(&r, "allow: GET\n"));
    resp_fini(&r);
    json_decref(j);
    j = simple("POST /v1/echo HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1,", 400, NULL);
    CHECK_STR(error_code(j), "bad_json");
    json_decref(j);
    j = simple("POST /v1/echo HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}", 200, NULL);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "got"), "a")), 1);
    CHECK(json_is_true(json_object_get(j, "unix")));
    json_decref(j);
    j = simple("POST /v1/echo HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 200, NULL);
    CHECK(json_is_null(json_object_get(j, "got")));
    json_decref(j);
}

TEST(errors_404_405_400_json)
{
    client_run(c_errors);
}

static void c_continue(void)
{
    struct cl *c = cl_unix();
    struct resp r;
    cl_puts(c, "POST /v1/echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    CHECK(cl_read(c, &r)); /* curl waits for this before sending a body */
    CHECK_INT(r.status, 100);
    resp_fini(&r);
    cl_puts(c, "[2]");
    CHECK(cl_read(c, &r));
    CHECK_INT(r.status, 200);
    CHECK(r.body.ptr && strstr(r.body.ptr, "\"got\":[2]"));
    resp_fini(&r);
    cl_free(c);
    /* HTTP/1.0 without keep-alive: answered, then closed. */
    c = cl_unix();
    cl_puts(c, "GET /v1/ping HTTP/1.0\r\n\r\n");
    CHECK(cl_read(c, &r));
    CHECK_INT(r.status, 200);
    CHECK(has_header(&r, "connection: close"));
    resp_fini(&r);
    CHECK(cl_eof(c));
    cl_free(c);
}

TEST(expect_continue_and_http10)
{
    client_run(c_continue);
}

/* A limit or a parse error: the status, then the connection closes. */
static void expect_close(struct cl *c, int status, const char *code)
{
    struct resp r;
    if (!cl_read(c, &r)) {
        UNIT_FAIL("no %d answer", status);
        return;
    }
    CHECK_INT(r.status, status);
    CHECK(has_header(&r, "connection: close"));
    json_t *j = resp_json(&r);
    CHECK_STR(error_code(j), code);
    json_decref(j);
    resp_fini(&r);
    CHECK(cl_eof(c));
}

static void c_limits(void)
{
    struct cl *c = cl_unix();
    cl_puts(c, "POST /v1/echo HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n");
    expect_close(c, 413, "body_too_large");
    cl_free(c);

    c = cl_unix(); /* chunked: no length up front, cut while receiving */
    size_t big = API_MAX_BODY + 1;
    char *body = malloc(big);
    memset(body, ' ', big);
    cl_puts(c, "POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n");
    cl_send(c, body, big);
    free(body);
    expect_close(c, 413, "body_too_large");
    cl_free(c);

    c = cl_unix();
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "GET /v1/ping HTTP/1.1\r\nX-Big: ");
    for (int i = 0; i < 70 * 1024; i++)
        buf_putc(&b, 'a');
    buf_puts(&b, "\r\n\r\n");
    cl_send(c, b.ptr, b.len);
    expect_close(c, 431, "headers_too_large");
    cl_free(c);

    c = cl_unix();
    buf_reset(&b);
    buf_puts(&b, "GET /v1/ping?");
    for (int i = 0; i < 9000; i++)
        buf_putc(&b, 'q');
    buf_puts(&b, " HTTP/1.1\r\n\r\n");
    cl_send(c, b.ptr, b.len);
    expect_close(c, 414, "url_too_long");
    cl_free(c);
    buf_fini(&b);

    c = cl_unix();
    cl_puts(c, "HELLO THERE\r\n\r\n");
    expect_close(c, 400, "bad_request");
    cl_free(c);
}

TEST(limits_413_431_414_and_malformed_400)
{
    client_run(c_limits);
}

static void c_keepalive(void)
{
    struct cl *c = cl_unix();
    struct resp r;
    for (int i = 0; i < 2; i++) {
        cl_puts(c, "GET /v1/ping HTTP/1.1\r\n\r\n");
        CHECK(cl_read(c, &r));
        CHECK_INT(r.status, 200);
        resp_fini(&r);
    }
    /* Pipelined: three requests in one write, answered in order. */
    cl_puts(c, "GET /v1/apps/a HTTP/1.1\r\n\r\nPOST /v1/echo HTTP/1.1\r\nContent-Length: 3\r\n"
               "\r\n[1]GET /v1/apps/c HTTP/1.1\r\nConnection: close\r\n\r\n");
    const char *want[] = {"{\"app\":\"a\"", "{\"got\":[1]", "{\"app\":\"c\""};
    for (int i = 0; i < 3; i++) {
        if (!cl_read(c, &r)) {
            UNIT_FAIL("pipelined answer %d missing", i);
            break;
        }
        CHECK_INT(r.status, 200);
        CHECK(r.body.ptr && strncmp(r.body.ptr, want[i], strlen(want[i])) == 0);
        resp_fini(&r);
    }
    CHECK(cl_eof(c)); /* Connection: close honoured */
    cl_free(c);
}

TEST(keep_alive_and_pipelining)
{
    client_run(c_keepalive);
}

static void c_slow(void)
{
    struct cl *c = cl_unix();
    struct resp r;
    cl_puts(c, "GET /v1/slow HTTP/1.1\r\n\r\n");
    CHECK(cl_read(c, &r));
    CHECK_INT(r.status, 200);
    CHECK(r.body.ptr && strstr(r.body.ptr, "\"late\":true"));
    resp_fini(&r);
    cl_puts(c, "GET /v1/ping HTTP/1.1\r\n\r\n"); /* the connection is still usable */
    CHECK(cl_read(c, &r));
    CHECK_INT(r.status, 200);
    resp_fini(&r);
    cl_free(c);
}

TEST(delayed_reply)
{
    slow_replied = false;
    client_run(c_slow);
    CHECK(slow_replied);
}

static void c_slow_gone(void)
{
    struct cl *c = cl_unix();
    cl_puts(c, "GET /v1/slow HTTP/1.1\r\n\r\n");
    cl_free(c); /* leave before the answer */
}

TEST(delayed_reply_after_client_left)
{
    slow_replied = false;
    client_run(c_slow_gone);
    CHECK(run_until(&slow_replied, 3000));
    bool no_conns = false;
    for (int i = 0; i < 100 && !no_conns; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        no_conns = api->nconns == 0;
    }
    CHECK(no_conns);
}

static void c_stream(void)
{
    struct cl *c = cl_unix();
    struct resp r;
    cl_puts(c, "GET /v1/stream?n=5 HTTP/1.1\r\n\r\n");
    CHECK(cl_read(c, &r));
    CHECK_INT(r.status, 200);
    CHECK(has_header(&r, "transfer-encoding: chunked"));
    CHECK(has_header(&r, "content-type: application/x-ndjson"));
    CHECK_STR(r.body.ptr, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n");
    resp_fini(&r);
    cl_puts(c, "GET /v1/ping HTTP/1.1\r\n\r\n");
    CHECK(cl_read(c, &r));
    CHECK_INT(r.status, 200);
    resp_fini(&r);
    cl_free(c);
}

TEST(chunked_stream)
{
    stream_gone = false;
    client_run(c_stream);
    CHECK(!stream_gone);
}

static void c_stream_gone(void)
{
    struct cl *c = cl_unix();
    cl_puts(c, "GET /v1/stream?n=1000000 HTTP/1.1\r\n\r\n");
    char b[512];
    ssize_t got = recv(c->fd, b, sizeof b - 1, 0);
    CHECK(got > 0);
    cl_free(c);
}

TEST(client_leaving_calls_on_gone)
{
    stream_gone = false;
    client_run(c_stream_gone);
    CHECK(run_until(&stream_gone, 3000));
}

static void c_flood(void)
{
    struct cl *c = cl_unix();
    cl_puts(c, "GET /v1/flood HTTP/1.1\r\n\r\n");
    for (int i = 0; i < 500 && !atomic_load(&gone_seen); i++)
        usleep(10 * 1000); /* not reading, on purpose; polls the server's verdict */
    CHECK(atomic_load(&gone_seen));
    cl_free(c);
}

TEST(slow_stream_client_is_cut)
{
    stream_gone = false;
    atomic_store(&gone_seen, 0);
    client_run(c_flood);
    CHECK(stream_gone);
}

static void c_tcp(void)
{
    struct resp r;
    struct cl *c = cl_tcp();
    cl_puts(c, "GET /v1/ping HTTP/1.1\r\n\r\n"); /* /v1/ping is not public in this test */
    CHECK(cl_read(c, &r));
    CHECK_INT(r.status, 401);
    CHECK(has_header(&r, "www-authenticate: Bearer"));
    resp_fini(&r);
    cl_puts(c, "GET /v1/nothing HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n");
    CHECK(cl_read(c, &r));
    CHECK_INT(r.status, 401); /* not 404: no route is revealed without the token */
    resp_fini(&r);
    char req[300];
    snprintf(req, sizeof req,
             "POST /v1/echo HTTP/1.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Length: 2\r\n\r\n{}",
             token);
    cl_puts(c, req);
    CHECK(cl_read(c, &r));
    CHECK_INT(r.status, 200);
    CHECK(r.body.ptr && strstr(r.body.ptr, "\"unix\":false"));
    resp_fini(&r);
    cl_puts(c, "GET /v1/version HTTP/1.1\r\n\r\n"); /* public */
    CHECK(cl_read(c, &r));
    CHECK_INT(r.status, 200);
    resp_fini(&r);
    cl_free(c);
}

TEST(tcp_door_needs_token)
{
    struct err e = {0};
    CHECK(strlen(token) == API_TOKEN_HEX);
    if (api_listen_tcp(api, "127.0.0.1:0", &e) == 0)
        UNIT_FAIL("port 0 accepted");
    char addr[64];
    /* Find a free port: bind to 0, read it, release it. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    bind(s, (struct sockaddr *)&sa, sizeof sa);
    getsockname(s, (struct sockaddr *)&sa, &len);
    tcp_port = ntohs(sa.sin_port);
    close(s);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", tcp_port);
    if (api_listen_tcp(api, addr, &e) < 0) {
        UNIT_FAIL("listen: %s", e.msg);
        return;
    }
    client_run(c_tcp);
    CHECK_INT(api_listen_tcp(api, NULL, &e), 0);
}

TEST(token_file_and_socket_mode)
{
    struct stat st;
    CHECK(stat(token_path, &st) == 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK(stat(sock_path, &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK_INT(st.st_mode & 0777, 0600);
    for (size_t i = 0; i < API_TOKEN_HEX; i++)
        CHECK(strchr("0123456789abcdef", token[i]) != NULL);
}

static void c_idle(void)
{
    struct cl *c = cl_unix();
    cl_puts(c, "GET /v1/pi"); /* never completed */
    CHECK(cl_eof(c));
    cl_free(c);
    c = cl_unix(); /* sends nothing at all */
    CHECK(cl_eof(c));
    cl_free(c);
}

TEST(idle_client_is_closed)
{
    api_set_idle_timeout(api, 200);
    client_run(c_idle);
    api_set_idle_timeout(api, API_IDLE_MS);
}

TEST(second_daemon_refused)
{
    struct api *other = NULL;
    struct err e = {0};
    struct api_opts o = {.sock_path = sock_path};
    CHECK(api_new(loop, &o, &other, &e) < 0);
    char want[64];
    snprintf(want, sizeof want, "another tend daemon is running (pid %d)", (int)getpid());
    CHECK(strstr(e.msg, want) != NULL);
    struct stat st;
    CHECK(stat(sock_path, &st) == 0); /* the live daemon's socket is untouched */
    for (int i = 0; i < 20; i++)
        uv_run(loop, UV_RUN_NOWAIT); /* let the refused api's handles close */
}

static int done_calls;
static bool closed;

static void on_closed(void *arg)
{
    done_calls++;
    closed = true;
}

TEST(stale_socket_replaced_and_close)
{
    char stale[220];
    snprintf(stale, sizeof stale, "%s/stale.sock", dir);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    str_copy(sa.sun_path, stale, sizeof sa.sun_path);
    CHECK(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
    close(s); /* the file stays; nothing listens: a dead daemon's socket */
    struct api *a2 = NULL;
    struct err e = {0};
    struct api_opts o = {.sock_path = stale};
    CHECK_INT(api_new(loop, &o, &a2, &e), 0);
    if (!a2)
        return;
    closed = false;
    done_calls = 0;
    api_close(a2, on_closed, NULL);
    CHECK(!closed); /* never from inside api_close */
    CHECK(run_until(&closed, 2000));
    CHECK_INT(done_calls, 1);
    CHECK(access(stale, F_OK) < 0); /* removed on close */

    char notsock[220];
    snprintf(notsock, sizeof notsock, "%s/plain", dir);
    FILE *f = fopen(notsock, "w");
    fclose(f);
    o.sock_path = notsock;
    CHECK(api_new(loop, &o, &a2, &e) < 0);
    CHECK(strstr(e.msg, "is not a socket") != NULL);
    unlink(notsock);
}

static struct api *bye_api;
static char bye_path[220];
static bool bye_closed;

static void bye_done(void *arg)
{
    bye_closed = true;
}

/* Answer 2 MiB, more than a socket buffer holds, then close the api at once (`tend kill`). */
static void h_bye(void *ctx, struct api_req *r)
{
    size_t n = 2 * 1024 * 1024;
    char *big = malloc(n);
    memset(big, 'z', n);
    api_reply(r, 200, json_pack("{s:s%}", "big", big, n));
    free(big);
    api_close(bye_api, bye_done, NULL);
}

static void c_bye(void)
{
    struct cl *c = cl_unix_at(bye_path);
    struct resp r;
    cl_puts(c, "GET /bye HTTP/1.1\r\n\r\n");
    CHECK(cl_read(c, &r));
    CHECK_INT(r.status, 200);
    CHECK(r.body.len > 2 * 1024 * 1024);
    resp_fini(&r);
    cl_free(c);
}

TEST(close_delivers_answers_being_written)
{
    struct err e = {0};
    snprintf(bye_path, sizeof bye_path, "%s/bye.sock", dir);
    struct api_opts o = {.sock_path = bye_path};
    if (api_new(loop, &o, &bye_api, &e) < 0) {
        UNIT_FAIL("api_new: %s", e.msg);
        return;
    }
    api_route(bye_api, "GET", "/bye", h_bye, NULL);
    bye_closed = false;
    client_run(c_bye);
    CHECK(run_until(&bye_closed, 5000));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    if (!mkdtemp(dir))
        return 1;
    snprintf(sock_path, sizeof sock_path, "%s/tend.sock", dir);
    snprintf(token_path, sizeof token_path, "%s/token", dir);
    uv_async_init(loop, &wake, on_wake);
    uv_timer_init(loop, &deadline);
    uv_timer_init(loop, &slow_timer);
    uv_timer_init(loop, &stream_timer);
    struct err e = {0};
    struct api_opts o = {.sock_path = sock_path, .token_path = token_path};
    if (api_new(loop, &o, &api, &e) < 0) {
        fprintf(stderr, "api_new: %s\n", e.msg);
        return 1;
    }
    str_copy(token, api->token, sizeof token);
    api_route(api, "GET", "/v1/ping", h_ping, NULL);
    api_route_public(api, "GET", "/v1/version", h_ping, NULL);
    api_route(api, "POST", "/v1/echo", h_echo, NULL);
    api_route(api, "GET", "/v1/apps/:app", h_app, NULL);
    api_route(api, "GET", "/v1/slow", h_slow, NULL);
    api_route(api, "GET", "/v1/stream", h_stream, NULL);
    api_route(api, "GET", "/v1/flood", h_flood, NULL);

    RUN(token_file_and_socket_mode);
    RUN(ping_200_json);
    RUN(params_and_query);
    RUN(errors_404_405_400_json);
    RUN(expect_continue_and_http10);
    RUN(limits_413_431_414_and_malformed_400);
    RUN(keep_alive_and_pipelining);
    RUN(delayed_reply);
    RUN(delayed_reply_after_client_left);
    RUN(chunked_stream);
    RUN(client_leaving_calls_on_gone);
    RUN(slow_stream_client_is_cut);
    RUN(tcp_door_needs_token);
    RUN(idle_client_is_closed);
    RUN(second_daemon_refused);
    RUN(stale_socket_replaced_and_close);
    RUN(close_delivers_answers_being_written);

    closed = false;
    api_close(api, on_closed, NULL);
    run_until(&closed, 5000);
    uv_close((uv_handle_t *)&wake, NULL);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_close((uv_handle_t *)&slow_timer, NULL);
    uv_close((uv_handle_t *)&stream_timer, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    unlink(token_path);
    rmdir(dir);
    return unit_done();
}
