/* api/api.h: the HTTP/1.1 + JSON API and its two doors (DESIGN "One API, two doors").
 *
 * The unix-socket door ($TEND_HOME/tend.sock, mode 0600, peer uid checked) needs no token; the
 * TCP door (api.listen in tend.yaml, loopback by default) needs `Authorization: Bearer TOKEN`,
 * compared in constant time. Requests are parsed with http_parser on the daemon's uv loop;
 * headers and bodies are bounded (64 KiB headers, 1 MiB body: 413/431 past them), idle clients
 * are dropped after a timeout. Routes are registered by the daemon; a handler answers now or
 * later (the request stays valid until answered or the client goes away). Errors go out as
 * {"error":{"code","message","hint","where"}} (STYLE.md 4). */
#ifndef TEND_API_H
#define TEND_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct err;
struct api;
struct api_req;

/* A handler owns the request until it calls api_reply*() or api_stream_end() exactly once. */
typedef void api_handler_fn(void *ctx, struct api_req *req);

struct api_opts {
    const char *sock_path;  /* unix socket; created 0600, a stale one is replaced */
    const char *token_path; /* token file (created 0600 with 32 random bytes hex if missing) */
};

int api_new(uv_loop_t *loop, const struct api_opts *opts, struct api **out, struct err *err);
/* Open, move or close the TCP door ("127.0.0.1:9615"; NULL closes it). Logs a warning when the
 * address is not loopback. */
int api_listen_tcp(struct api *a, const char *hostport, struct err *err);
/* Is `hostport` a valid address on the loopback interface (127.0.0.0/8, ::1, localhost, ":PORT")?
 * false for other and unparsable addresses. */
bool api_is_loopback(const char *hostport);
/* Close a connection that has not sent one complete request within `ms` (default 30 s; also
 * the keep-alive idle time between requests). Tests shorten it. */
void api_set_idle_timeout(struct api *a, uint64_t ms);
/* Close every door and connection; `done` once everything is closed. */
void api_close(struct api *a, void (*done)(void *arg), void *arg);

/* Register a route: method "GET"/"POST"/"DELETE", pattern like "/v1/apps/:target/:verb"
 * (":name" matches one path segment). Routes are tried in registration order. */
void api_route(struct api *a, const char *method, const char *pattern, api_handler_fn *fn,
               void *ctx);
/* Handler for the door's public paths that need no token (e.g. none yet): mark a route open. */
void api_route_public(struct api *a, const char *method, const char *pattern, api_handler_fn *fn,
                      void *ctx);

/* ---- reading a request ---- */
const char *api_req_method(const struct api_req *r);
const char *api_req_path(const struct api_req *r);
/* A ":name" path parameter, percent-decoded; NULL if absent. */
const char *api_req_param(const struct api_req *r, const char *name);
/* A query-string value, percent-decoded; NULL if absent. */
const char *api_req_query(const struct api_req *r, const char *name);
/* The body parsed as JSON (borrowed; NULL if empty). A body that is not JSON was already
 * answered 400 before the handler ran. */
json_t *api_req_json(const struct api_req *r);
bool api_req_from_unix(const struct api_req *r);

/* ---- answering ---- */
/* Send status + JSON body (steals the reference to body). */
void api_reply(struct api_req *r, int status, json_t *body);
/* Send an error: {"error":{"code":err_name(code) or `code_name`,"message","hint"}}. */
void api_reply_error(struct api_req *r, int status, const char *code_name, const char *message,
                     const char *hint);
void api_reply_err(struct api_req *r, int status, const struct err *e);
/* Send status + a body that is not JSON (the Prometheus text page), copied. */
void api_reply_text(struct api_req *r, int status, const char *content_type, const char *data,
                    size_t len);

/* Streaming (logs --follow): chunked NDJSON. `on_gone` runs once if the client disconnects
 * before api_stream_end(); after it the request must not be used. A slow client whose unsent
 * data passes 1 MiB is disconnected (never unbounded memory). */
void api_stream_begin(struct api_req *r, const char *content_type, void (*on_gone)(void *arg),
                      void *arg);
void api_stream_write(struct api_req *r, const char *data, size_t len);
void api_stream_end(struct api_req *r);
/* Bytes written to the stream's client and not yet taken by it (0 once it is gone): a producer
 * that can drop (logs --follow) skips while this is high instead of being cut at 1 MiB. */
size_t api_stream_unsent(const struct api_req *r);
/* Disconnect a stream's client now (logged with `why`); on_gone runs later, from the loop. */
void api_stream_cut(struct api_req *r, const char *why);

#endif
