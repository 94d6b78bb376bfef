/* api/http.c: one client connection: reading, HTTP/1.1 parsing, keep-alive, closing.
 *
 * Received bytes go to `pending` and are fed to http_parser by pump(). The parser is paused at
 * the end of each message, so exactly one request per connection is being answered at a time;
 * pipelined bytes wait in `pending` (bounded: reading stops when it is full) and are parsed once
 * the answer has been queued. Reading continues while a handler works, so a client that leaves
 * is noticed at once (the request is orphaned, a stream's on_gone runs).
 *
 * Every limit is checked in the parser callbacks as bytes arrive, before they are stored: URL
 * 8 KiB (414), headers 64 KiB (431), body 1 MiB (413, already from Content-Length). A message
 * that breaks a limit or does not parse is answered once and the connection is shut down, then
 * read and discarded for a moment so the client sees the answer rather than a reset (nginx's
 * lingering close). One timer per connection bounds the time to send one complete request
 * (30 s from connect or from the last answer), so a silent or trickling client is dropped. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/tlog.h"
#include "core/util.h"

static struct api_conn *conn_of(http_parser *p)
{
    return p->data;
}

static int fail(http_parser *p, int status)
{
    conn_of(p)->fail_status = status;
    return -1;
}

static int on_message_begin(http_parser *p)
{
    struct api_conn *c = conn_of(p);
    buf_reset(&c->url);
    buf_reset(&c->body);
    buf_reset(&c->auth);
    buf_reset(&c->hname);
    buf_reset(&c->expect);
    c->hvalue = NULL;
    c->header_bytes = 0;
    c->in_value = c->hname_bad = false;
    c->fail_status = 0;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct api_conn *c = conn_of(p);
    c->header_bytes += len;
    return buf_append(&c->url, at, len) < 0 ? fail(p, 414) : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct api_conn *c = conn_of(p);
    c->header_bytes += len + 4; /* ": " and CRLF */
    if (c->header_bytes > API_MAX_HEADERS)
        return fail(p, 431);
    if (c->in_value) {
        buf_reset(&c->hname);
        c->in_value = c->hname_bad = false;
    }
    if (buf_append(&c->hname, at, len) < 0)
        c->hname_bad = true; /* longer than any header we read */
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct api_conn *c = conn_of(p);
    c->header_bytes += len;
    if (c->header_bytes > API_MAX_HEADERS)
        return fail(p, 431);
    if (!c->in_value) {
        c->in_value = true;
        c->hvalue = NULL;
        if (!c->hname_bad && c->hname.len && !strcasecmp(c->hname.ptr, "authorization"))
            c->hvalue = &c->auth;
        else if (!c->hname_bad && c->hname.len && !strcasecmp(c->hname.ptr, "expect"))
            c->hvalue = &c->expect;
        if (c->hvalue)
            buf_reset(c->hvalue);
    }
    if (c->hvalue && buf_append(c->hvalue, at, len) < 0)
        return fail(p, 431);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct api_conn *c = conn_of(p);
    if (p->content_length != ULLONG_MAX && p->content_length > API_MAX_BODY)
        return fail(p, 413);
    if (c->expect.len && !strcasecmp(c->expect.ptr, "100-continue") && p->http_minor >= 1) {
        struct buf b;
        buf_init(&b, 0);
        if (buf_puts(&b, "HTTP/1.1 100 Continue\r\n\r\n") == 0)
            api__write_take(c, &b);
        buf_fini(&b);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct api_conn *c = conn_of(p);
    return buf_append(&c->body, at, len) < 0 ? fail(p, 413) : 0;
}

static int on_message_complete(http_parser *p)
{
    conn_of(p)->msg_done = true;
    http_parser_pause(p, 1); /* one request at a time; the rest waits in `pending` */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void parse_failed(struct api_conn *c, enum http_errno e)
{
    int status = c->fail_status ? c->fail_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
    const char *code = "bad_request", *msg = http_errno_description(e);
    char text[200];
    switch (status) {
    case 413:
        code = "body_too_large";
        msg = "the request body is larger than 1 MiB";
        break;
    case 414:
        code = "url_too_long";
        msg = "the request URL is longer than 8 KiB";
        break;
    case 431:
        code = "headers_too_large";
        msg = "the request headers are larger than 64 KiB";
        break;
    default:
        snprintf(text, sizeof text, "malformed HTTP request: %s", msg);
        msg = text;
    }
    tlog_debug("api", "answered %d to a client: %s", status, msg);
    api__reply_raw_error(c, status, code, msg, NULL);
}

/* The idle time or the lingering time is over. */
static void timer_over(uv_timer_t *t)
{
    struct api_conn *c = container_of(t, struct api_conn, timer);
    if (!c->is_draining)
        tlog_debug("api", "closed a client that sent no complete request in %llu ms",
                   (unsigned long long)c->api->idle_ms);
    api__conn_close(c);
}

static void arm_idle(struct api_conn *c)
{
    if (c->api->idle_ms)
        uv_timer_start(&c->timer, timer_over, c->api->idle_ms, 0);
}

static void pump(struct api_conn *c)
{
    if (c->is_pumping)
        return; /* a handler answered from inside dispatch: the loop below goes on */
    c->is_pumping = true;
    while (!c->is_closing && !c->is_draining && !c->req && c->pending.len > 0) {
        size_t n = http_parser_execute(&c->parser, &settings, c->pending.ptr, c->pending.len);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        buf_consume(&c->pending, MIN(n, c->pending.len));
        if (c->msg_done) {
            c->msg_done = false;
            http_parser_pause(&c->parser, 0);
            uv_timer_stop(&c->timer); /* a request being answered is not idle */
            api__dispatch(c);
        } else if (e != HPE_OK) {
            parse_failed(c, e);
        }
    }
    c->is_pumping = false;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct api_conn *c = container_of(h, struct api_conn, h.handle);
    size_t room = c->is_draining ? sizeof c->api->rbuf : API_MAX_PENDING - c->pending.len;
    *b = uv_buf_init(c->api->rbuf, (unsigned)MIN(room, sizeof c->api->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct api_conn *c = container_of(s, struct api_conn, h.stream);
    if (n == 0)
        return;
    if (n < 0) {
        if (n != UV_EOF)
            tlog_debug("api", "read from a client failed: %s", uv_strerror((int)n));
        api__conn_close(c); /* the client left (EOF even half-closed: nginx's 499 too) */
        return;
    }
    /* on_alloc never offers more than the room left, so all of it is taken. */
    size_t taken = api__conn_feed(c, b->base, (size_t)n);
    assert(taken == (size_t)n || c->is_draining || c->is_closing);
    (void)taken;
}

size_t api__conn_feed(struct api_conn *c, const char *data, size_t len)
{
    if (c->is_closing || c->is_draining)
        return 0;
    len = MIN(len, API_MAX_PENDING - c->pending.len);
    int rc = buf_append(&c->pending, data, len);
    assert(rc == 0);
    (void)rc;
    pump(c);
    if (!c->is_closing && !c->is_draining && c->pending.len >= API_MAX_PENDING) {
        uv_read_stop(&c->h.stream); /* a pipelining client waits for our answers */
        c->is_reading = false;
    }
    return len;
}

static void start_reading(struct api_conn *c)
{
    if (c->is_reading || c->is_closing)
        return;
    if (!c->is_draining && c->pending.len >= API_MAX_PENDING)
        return;
    if (uv_read_start(&c->h.stream, on_alloc, on_read) == 0)
        c->is_reading = true;
}

void api__conn_start(struct api *a, struct api_conn *c)
{
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    buf_init(&c->url, API_MAX_URL);
    buf_init(&c->body, API_MAX_BODY);
    buf_init(&c->auth, 8 * 1024);
    buf_init(&c->hname, 64);
    buf_init(&c->expect, 64);
    buf_init(&c->pending, API_MAX_PENDING);
    arm_idle(c);
    start_reading(c);
}

void api__conn_req_done(struct api_conn *c, bool keep_alive)
{
    c->req = NULL;
    if (c->is_closing || c->is_draining)
        return;
    if (!keep_alive) {
        api__conn_shutdown(c);
        return;
    }
    arm_idle(c);
    pump(c);
    start_reading(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct api_conn *c = container_of(req, struct api_conn, shutdown);
    if (c->is_closing)
        return;
    if (status < 0) {
        api__conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, timer_over, API_LINGER_MS, 0);
}

void api__conn_shutdown(struct api_conn *c)
{
    if (c->is_closing || c->is_draining)
        return;
    c->is_draining = true;
    uv_timer_stop(&c->timer);
    if (uv_shutdown(&c->shutdown, &c->h.stream, on_shutdown) < 0) {
        api__conn_close(c);
        return;
    }
    start_reading(c); /* to see EOF and discard what the client still sends */
}

void api__conn_close_gently(struct api_conn *c)
{
    if (c->req || c->unsent == 0 || c->is_closing) {
        api__conn_close(c);
        return;
    }
    api__conn_shutdown(c);
    if (!c->is_closing)
        uv_timer_start(&c->timer, timer_over, API_LINGER_MS, 0); /* even if writes are stuck */
}

static void conn_closed(uv_handle_t *h)
{
    struct api_conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    struct api *a = c->api;
    if (c->prev)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    buf_fini(&c->url);
    buf_fini(&c->body);
    buf_fini(&c->auth);
    buf_fini(&c->hname);
    buf_fini(&c->expect);
    buf_fini(&c->pending);
    free(c);
    api__conn_freed(a);
}

void api__conn_close(struct api_conn *c)
{
    if (c->is_closing)
        return;
    c->is_closing = true;
    if (c->req) {
        struct api_req *r = c->req;
        c->req = NULL;
        api__req_orphan(r);
    }
    c->h.handle.data = c;
    c->timer.data = c;
    uv_close(&c->h.handle, conn_closed);
    uv_close((uv_handle_t *)&c->timer, conn_closed);
}
