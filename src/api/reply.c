/* api/reply.c: answers: JSON replies, error bodies, chunked streams, and the writes under them.
 *
 * Each answer is built in one struct buf and handed to uv_write without a copy; the connection
 * counts bytes queued and not yet written (`unsent`). A stream whose client reads slower than
 * we write is cut once 1 MiB is unsent, so a stalled `logs --follow` never grows memory without
 * bound. Every reply is application/json with Content-Length (streams: chunked, or close-
 * delimited for HTTP/1.0 clients). Answering an orphaned request (its client left) drops the
 * answer and frees the request; that is how a delayed answer stays safe. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/tlog.h"
#include "core/util.h"

struct wreq {
    uv_write_t req;
    struct api_conn *conn;
    char *data;
    size_t len;
};

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = container_of(req, struct wreq, req);
    struct api_conn *c = w->conn;
    c->unsent -= w->len;
    free(w->data);
    free(w);
    if (status < 0 && status != UV_ECANCELED) {
        tlog_debug("api", "write to a client failed: %s", uv_strerror(status));
        api__conn_close(c);
    }
}

void api__write_take(struct api_conn *c, struct buf *b)
{
    if (c->is_closing || b->len == 0) {
        buf_fini(b);
        return;
    }
    struct wreq *w = xcalloc(1, sizeof *w);
    w->conn = c;
    w->len = b->len;
    w->data = buf_take(b);
    uv_buf_t ub = uv_buf_init(w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, &c->h.stream, &ub, 1, on_written);
    if (rc < 0) {
        free(w->data);
        free(w);
        api__conn_close(c);
        return;
    }
    c->unsent += w->len;
}

json_t *api__error_json(const char *code, const char *message, const char *hint)
{
    return json_pack("{s:{s:s, s:s, s:o, s:n}}", "error", "code", code ? code : "error", "message",
                     message ? message : "", "hint",
                     hint && hint[0] ? json_string(hint) : json_null(), "where");
}

static const char *default_code(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 409:
        return "conflict";
    case 422:
        return "invalid";
    case 503:
        return "unavailable";
    default:
        return status >= 500 ? "internal" : "error";
    }
}

/* The status line and the headers every answer has. */
static int put_head(struct buf *b, int status, bool keep_alive, bool is_http10)
{
    const char *conn = !keep_alive ? "Connection: close\r\n"
                       : is_http10 ? "Connection: keep-alive\r\n"
                                   : "";
    return buf_printf(b, "HTTP/1.1 %d %s\r\n%sCache-Control: no-store\r\n", status,
                      http_status_str((enum http_status)status), conn);
}

/* Build a complete JSON answer in b; the text is owned by the caller. */
static int build(struct buf *b, int status, const char *text, bool keep_alive, bool is_http10,
                 const char *extra)
{
    size_t len = strlen(text);
    int rc = put_head(b, status, keep_alive, is_http10);
    if (rc == 0)
        rc = buf_printf(b, "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                        len + 1, extra ? extra : "");
    if (rc == 0)
        rc = buf_append(b, text, len);
    if (rc == 0)
        rc = buf_putc(b, '\n');
    return rc;
}

void api__reply_raw_error(struct api_conn *c, int status, const char *code, const char *msg,
                          const char *extra)
{
    json_t *j = api__error_json(code, msg, NULL);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    struct buf b;
    buf_init(&b, 0);
    if (text && build(&b, status, text, false, false, extra) == 0)
        api__write_take(c, &b);
    buf_fini(&b);
    free(text);
    api__conn_shutdown(c);
}

void api__reply_with(struct api_req *r, int status, json_t *body, const char *extra)
{
    assert(!r->is_streaming && !r->is_ended);
    struct api_conn *c = r->conn;
    bool keep_alive = r->keep_alive, is_http10 = r->is_http10;
    char *text = NULL;
    if (c)
        text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
    json_decref(body);
    api__req_free(r);
    if (!c)
        return; /* the client left before the answer: drop it */
    struct buf b;
    buf_init(&b, 0);
    int rc = text ? build(&b, status, text, keep_alive, is_http10, extra) : -1;
    free(text);
    if (rc < 0) {
        tlog_error("api", "cannot encode an answer (status %d); closing the connection", status);
        buf_fini(&b);
        api__conn_close(c);
        return;
    }
    api__write_take(c, &b);
    api__conn_req_done(c, keep_alive);
}

void api_reply(struct api_req *r, int status, json_t *body)
{
    api__reply_with(r, status, body, NULL);
}

void api_reply_text(struct api_req *r, int status, const char *content_type, const char *data,
                    size_t len)
{
    assert(!r->is_streaming && !r->is_ended);
    struct api_conn *c = r->conn;
    bool keep_alive = r->keep_alive, is_http10 = r->is_http10;
    api__req_free(r);
    if (!c)
        return;
    struct buf b;
    buf_init(&b, 0);
    int rc = put_head(&b, status, keep_alive, is_http10);
    if (rc == 0)
        rc = buf_printf(&b, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", content_type,
                        len);
    if (rc == 0)
        rc = buf_append(&b, data, len);
    if (rc < 0) {
        buf_fini(&b);
        api__conn_close(c);
        return;
    }
    api__write_take(c, &b);
    api__conn_req_done(c, keep_alive);
}

void api_reply_error(struct api_req *r, int status, const char *code_name, const char *message,
                     const char *hint)
{
    api__reply_with(r, status,
                    api__error_json(code_name ? code_name : default_code(status), message, hint),
                    NULL);
}

void api_reply_err(struct api_req *r, int status, const struct err *e)
{
    api__reply_with(r, status, api__error_json(err_name(e->code), e->msg, e->hint), NULL);
}

void api_stream_begin(struct api_req *r, const char *content_type, void (*on_gone)(void *arg),
                      void *arg)
{
    assert(!r->is_streaming && !r->is_ended);
    r->is_streaming = true;
    r->on_gone = on_gone;
    r->gone_arg = arg;
    struct api_conn *c = r->conn;
    if (!c) {
        api__req_stream_orphaned(r);
        return;
    }
    /* HTTP/1.0 has no chunked encoding: the end of the stream is the end of the connection. */
    r->is_chunked = !r->is_http10;
    if (!r->is_chunked)
        r->keep_alive = false;
    struct buf b;
    buf_init(&b, 0);
    int rc = put_head(&b, 200, r->keep_alive, r->is_http10);
    if (rc == 0)
        rc = buf_printf(&b, "Content-Type: %s\r\n%s\r\n",
                        content_type ? content_type : "application/x-ndjson",
                        r->is_chunked ? "Transfer-Encoding: chunked\r\n" : "");
    if (rc < 0) {
        buf_fini(&b);
        api__conn_close(c); /* schedules on_gone */
        return;
    }
    api__write_take(c, &b);
}

void api_stream_write(struct api_req *r, const char *data, size_t len)
{
    assert(r->is_streaming && !r->is_ended);
    struct api_conn *c = r->conn;
    if (!c || len == 0)
        return; /* a zero-length chunk would end the stream */
    if (c->unsent + len > API_MAX_UNSENT) {
        tlog_warn("api", "a streaming client is too slow (%zu bytes unsent); disconnecting it",
                  c->unsent);
        api__conn_close(c); /* on_gone runs later, from the loop */
        return;
    }
    struct buf b;
    buf_init(&b, 0);
    int rc = r->is_chunked ? buf_printf(&b, "%zx\r\n", len) : 0;
    if (rc == 0)
        rc = buf_append(&b, data, len);
    if (rc == 0 && r->is_chunked)
        rc = buf_puts(&b, "\r\n");
    if (rc < 0) {
        buf_fini(&b);
        api__conn_close(c);
        return;
    }
    api__write_take(c, &b);
}

size_t api_stream_unsent(const struct api_req *r)
{
    return r->conn ? r->conn->unsent : 0;
}

void api_stream_cut(struct api_req *r, const char *why)
{
    if (!r->conn || r->conn->is_closing)
        return;
    tlog_warn("api", "%s; disconnecting it", why);
    api__conn_close(r->conn); /* on_gone runs later, from the loop */
}

void api_stream_end(struct api_req *r)
{
    assert(r->is_streaming && !r->is_ended);
    struct api_conn *c = r->conn;
    bool keep_alive = r->keep_alive, is_chunked = r->is_chunked;
    api__req_free(r);
    if (!c)
        return;
    if (is_chunked) {
        struct buf b;
        buf_init(&b, 0);
        if (buf_puts(&b, "0\r\n\r\n") == 0)
            api__write_take(c, &b);
        buf_fini(&b);
    }
    api__conn_req_done(c, keep_alive);
}
