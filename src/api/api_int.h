/* api/api_int.h: declarations shared by the api module's own files (not for other modules).
 *
 * Objects and owners:
 *   struct api       the module handle, owned by the daemon; freed in the last close callback.
 *   struct api_door  one listening handle (the unix socket or a TCP address), owned by its api.
 *   struct api_conn  one accepted client, owned by its api (list `conns`); it embeds its stream
 *                    and idle timer and is freed when both are closed (STYLE 3.4).
 *   struct api_req   one request, owned by the connection until dispatched, then by the handler
 *                    until it answers. When the client leaves first, the request is "orphaned"
 *                    (conn = NULL): answers to it are dropped and the answer call frees it. */
#ifndef TEND_API_INT_H
#define TEND_API_INT_H

#include <http_parser.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "core/buf.h"
/* sys/param.h (included by uv.h) defines MIN and MAX unguarded; use core/util.h's. */
#undef MIN
#undef MAX
#include "core/util.h"

#define API_MAX_URL (8 * 1024)
#define API_MAX_HEADERS (64 * 1024)
#define API_MAX_BODY (1024 * 1024)
#define API_MAX_UNSENT (1024 * 1024) /* a slower streaming client is disconnected */
#define API_MAX_PENDING (128 * 1024) /* pipelined bytes held while a request is answered */
#define API_MAX_CONNS 256
#define API_IDLE_MS 30000  /* to send one complete request, from connect or the last answer */
#define API_LINGER_MS 2000 /* reading and discarding after a "close" answer (nginx's linger) */
#define API_TOKEN_HEX 64

/* ---- routes (route.c) ---- */
struct api_param {
    char *name;
    char *value;
};

struct api_params {
    struct api_param *v;
    size_t n;
};

struct api_route_entry {
    char method[8];
    char **segs; /* pattern split on '/'; ":name" is a parameter */
    size_t nsegs;
    api_handler_fn *fn;
    void *ctx;
    bool is_public;
};

struct api_routes {
    struct api_route_entry *v;
    size_t n;
};

enum api_match { API_MATCH_NONE, API_MATCH_OK, API_MATCH_METHOD };

void api__routes_add(struct api_routes *t, const char *method, const char *pattern,
                     api_handler_fn *fn, void *ctx, bool is_public);
void api__routes_fini(struct api_routes *t);
/* Match method and path (raw, still percent-encoded). OK: *out is the route and params holds
 * its decoded parameters. METHOD: the path matched only other methods; `allow` lists them
 * ("GET, POST"). Returns -TE_PARSE for a path with bad percent-encoding. */
int api__routes_match(const struct api_routes *t, const char *method, const char *path,
                      const struct api_route_entry **out, struct api_params *params, char *allow,
                      size_t allow_size, enum api_match *match);
/* Parse "a=1&b=x%20y" into params (decoded; '+' is a space). -TE_PARSE on bad encoding. */
int api__query_parse(const char *query, size_t len, struct api_params *out);
const char *api__params_get(const struct api_params *p, const char *name);
void api__params_fini(struct api_params *p);
/* Percent-decode src[0..len) into a new string; `plus` turns '+' into ' '. -TE_PARSE on a bad
 * escape or an encoded NUL. */
int api__pct_decode(const char *src, size_t len, bool plus, char **out);

/* ---- auth (auth.c) ---- */
/* Read the token file, or create it (0600, 32 random bytes as hex) when missing. */
int api__token_load(const char *path, char token[API_TOKEN_HEX + 1], struct err *err);
/* Does an Authorization header value carry the token? Constant time in the token's bytes. */
bool api__token_check(const char *token, const char *authorization);
/* 0 if the connected unix-socket peer is our uid or root; -TE_AUTH otherwise. */
int api__peer_allowed(int fd, unsigned *uid_out);

/* ---- connections, requests (server.c, http.c, reply.c) ---- */
struct api_door {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } h;
    struct api *api;
    bool is_unix;
    char *addr; /* "127.0.0.1:9615" or the socket path */
};

struct api_req;

struct api_conn {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } h;
    uv_timer_t timer; /* idle, then linger */
    uv_shutdown_t shutdown;
    struct api *api;
    struct api_conn *prev, *next;
    http_parser parser;
    bool is_unix;
    int handles_open;
    bool is_closing, is_draining, is_pumping, is_reading;
    /* the message being parsed */
    struct buf url, body, auth, hname, expect;
    struct buf *hvalue; /* where the current header's value goes (auth, expect) or NULL */
    size_t header_bytes;
    bool in_value, hname_bad, msg_done;
    int fail_status;     /* set by a parser callback that rejected the message */
    struct buf pending;  /* received bytes not yet parsed */
    struct api_req *req; /* the request being answered, or NULL */
    size_t unsent;       /* bytes queued in uv_write and not yet written */
};

struct api_req {
    struct api_conn *conn; /* NULL once the client is gone (orphaned) */
    uv_loop_t *loop;
    uv_timer_t gone_timer; /* initialised only to run on_gone later for an orphan's stream */
    char method[16];
    char *path;
    struct api_params params, query;
    json_t *json;
    bool is_unix, keep_alive, is_http10;
    bool is_streaming, is_chunked, is_ended, has_timer;
    void (*on_gone)(void *arg);
    void *gone_arg;
};

struct api {
    uv_loop_t *loop;
    struct api_door *unix_door, *tcp_door;
    struct api_routes routes;
    struct api_conn *conns;
    size_t nconns;
    char token[API_TOKEN_HEX + 1];
    bool has_token;
    uint64_t idle_ms;
    int handles_open;
    bool is_closing;
    void (*done)(void *arg);
    void *done_arg;
    char rbuf[64 * 1024]; /* read buffer shared by all connections: reads are consumed at once */
};

/* server.c */
/* A new connection of `a` with its stream (a pipe when is_unix, else TCP) and timer initialised
 * but not open: the caller accepts into it (or opens an fd on it), then api__conn_start(). */
struct api_conn *api__conn_new(struct api *a, bool is_unix);
/* A connection was freed: maybe finish api_close(). */
void api__conn_freed(struct api *a);
/* http.c */
void api__conn_start(struct api *a, struct api_conn *c);
/* Received bytes: queue at most the room left in `pending` and parse (answering what completes).
 * Returns how many were taken; 0 once the connection is closing or draining. on_read's path,
 * also the fuzz harness's way in (tests/fuzz/fuzz_http.c) without a socket read. */
size_t api__conn_feed(struct api_conn *c, const char *data, size_t len);
void api__conn_close(struct api_conn *c);
/* The current request has been answered (and freed): go on with the next one or close. */
void api__conn_req_done(struct api_conn *c, bool keep_alive);
void api__conn_shutdown(struct api_conn *c);
/* For api_close: a connection with an answer still being written is shut down (the answer to
 * `tend kill` must arrive), bounded by API_LINGER_MS; any other is closed now. */
void api__conn_close_gently(struct api_conn *c);
/* reply.c */
/* Queue the bytes of b on the connection (taken: b is left empty); a failure closes it. */
void api__write_take(struct api_conn *c, struct buf *b);
/* Start the request the parser just completed: route, check, run the handler or answer. */
void api__dispatch(struct api_conn *c);
/* Answer outside any request (parse errors): status + error JSON, then close. */
void api__reply_raw_error(struct api_conn *c, int status, const char *code, const char *msg,
                          const char *extra_headers);
/* Answer on a request with extra header lines ("Allow: GET\r\n"). */
void api__reply_with(struct api_req *r, int status, json_t *body, const char *extra_headers);
json_t *api__error_json(const char *code, const char *message, const char *hint);
void api__req_free(struct api_req *r);
/* The client left: orphan the request (and schedule on_gone if streaming). */
void api__req_orphan(struct api_req *r);
/* A stream was begun on an orphan: schedule its on_gone. */
void api__req_stream_orphaned(struct api_req *r);

#endif
