/* tests/fuzz/fuzz_http.c: the API's request handling (api/http.c, request.c, route.c, reply.c)
 * without a listening socket: bytes go in through api__conn_feed() (what on_read does), the real
 * parser, limits, token check, router, query and JSON body decoding and replies run, and answers
 * are written to one end of a socketpair nobody reads.
 *
 * The first byte chooses: bit 0 the unix door (no token needed) or TCP, bit 1 whether the client
 * leaves before delayed answers are given (orphaned requests and streams), bits 2-7 the size of
 * the pieces the rest is fed in (1..64 bytes, or all at once), as a client's writes arrive. The
 * small route table has an immediate answer, path parameters, a JSON echo, a text reply, a
 * stream, and a delayed answer and a delayed stream the harness finishes afterwards. */
#include <assert.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/str.h"
#include "fuzz.h"

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static uv_loop_t loop;
static struct api *api;
static struct api_req *later; /* a request answered after the input was fed */
static bool later_is_stream;

static void h_status(void *ctx, struct api_req *r)
{
    const char *lines = api_req_query(r, "lines"), *app = api_req_query(r, "app");
    api_reply(
        r, 200,
        json_pack("{s:s?, s:s?, s:b}", "lines", lines, "app", app, "unix", api_req_from_unix(r)));
}

static void h_app(void *ctx, struct api_req *r)
{
    const char *name = api_req_param(r, "name");
    if (!name || strcmp(name, "missing") == 0) {
        api_reply_error(r, 404, NULL, "no such app", "see tend status");
        return;
    }
    api_reply(r, 200,
              json_pack("{s:s, s:s, s:s}", "name", name, "method", api_req_method(r), "path",
                        api_req_path(r)));
}

static void h_verb(void *ctx, struct api_req *r)
{
    json_t *body = api_req_json(r);
    if (api_req_param(r, "verb")[0] == 'x') {
        struct err e;
        err_set(&e, -TE_INVALID, "cannot %s %s", api_req_param(r, "verb"),
                api_req_param(r, "target"));
        api_reply_err(r, 422, &e);
        return;
    }
    api_reply(r, 200, body ? json_deep_copy(body) : json_null());
}

static void h_metrics(void *ctx, struct api_req *r)
{
    static const char page[] = "# TYPE tend_up gauge\ntend_up 1\n";
    api_reply_text(r, 200, "text/plain; version=0.0.4", page, sizeof page - 1);
}

static void h_logs(void *ctx, struct api_req *r)
{
    const char *n = api_req_query(r, "lines");
    api_stream_begin(r, NULL, NULL, NULL);
    for (int i = 0; i < 3; i++)
        api_stream_write(r, "{\"line\":\"x\"}\n", 13);
    if (n)
        api_stream_write(r, n, strlen(n));
    api_stream_end(r);
}

static void on_gone(void *arg)
{
    assert(later && later_is_stream);
    later = NULL; /* freed by the api after this returns */
}

static void h_later(void *ctx, struct api_req *r)
{
    assert(!later); /* one request at a time per connection */
    later = r;
    later_is_stream = ctx != NULL;
    if (later_is_stream) {
        api_stream_begin(r, "application/x-ndjson", on_gone, NULL);
        api_stream_write(r, "{}\n", 3);
    }
}

static void finish_later(void)
{
    struct api_req *r = later;
    if (!r)
        return;
    later = NULL;
    if (later_is_stream) {
        api_stream_write(r, "{\"end\":true}\n", 13);
        api_stream_end(r);
    } else {
        api_reply(r, 202, json_pack("{s:b}", "done", 1));
    }
}

static void setup(void)
{
    struct api_opts opts = {0};
    struct err e;
    if (uv_loop_init(&loop) < 0 || api_new(&loop, &opts, &api, &e) < 0)
        abort();
    str_copy(api->token, TOKEN, sizeof api->token);
    api->has_token = true;
    api_route_public(api, "GET", "/v1/status", h_status, NULL);
    api_route(api, "GET", "/v1/apps/:name", h_app, NULL);
    api_route(api, "DELETE", "/v1/apps/:name", h_app, NULL);
    api_route(api, "POST", "/v1/apps/:target/:verb", h_verb, NULL);
    api_route(api, "GET", "/metrics", h_metrics, NULL);
    api_route(api, "GET", "/v1/logs/:app", h_logs, NULL);
    api_route(api, "POST", "/v1/later", h_later, NULL);
    api_route(api, "GET", "/v1/follow/:app", h_later, api);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!api)
        setup();
    if (size < 1)
        return 0;
    int sv[2];
    unsigned flags = data[0];
    size_t piece = flags >> 2 ? flags >> 2 : size;
    data++, size--;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    struct api_conn *c = api__conn_new(api, true);
    if (uv_pipe_open(&c->h.pipe, sv[0]) < 0)
        abort();
    c->is_unix = flags & 1; /* the TCP door's rules (token) on the same kind of stream */
    api__conn_start(api, c);

    size_t off = 0;
    while (off < size) {
        size_t n = api__conn_feed(c, (const char *)data + off, MIN(piece, size - off));
        if (n > 0) {
            off += n;
            continue;
        }
        if (c->is_closing || c->is_draining || !later)
            break;
        finish_later(); /* `pending` is full behind a delayed answer: give it */
    }
    if (flags & 2)
        api__conn_close(c); /* the client leaves: a delayed answer is dropped, a stream gone */
    /* An answer may let a pipelined delayed request start. A stream whose client left is not
     * ended: its on_gone runs from the loop below. */
    for (int i = 0; later && !(later_is_stream && c->is_closing) && i < 100000; i++)
        finish_later();
    if (!c->is_closing)
        api__conn_close(c);
    close(sv[1]);
    for (int i = 0; (api->nconns > 0 || later) && i < 100; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    if (api->nconns > 0 || later)
        abort(); /* a connection or a request was never freed */
    return 0;
}
