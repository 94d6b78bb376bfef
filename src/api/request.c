/* api/request.c: turning a parsed message into a request, checking it, running its handler.
 *
 * Checks happen in a fixed order, each answering before the handler can run: URL and query
 * syntax (400), the token on the TCP door (401, before routing, so an unauthenticated client
 * learns nothing about which routes exist; public routes excepted), route (404) and method
 * (405 with Allow), then the body as JSON (400). A request is owned by its connection until
 * dispatched, then by the handler until it answers; if the client leaves first the request is
 * orphaned (conn = NULL) and survives until the handler's answer, which is dropped. A stream on
 * an orphan gets its on_gone from a zero timer on the loop, never from inside an api call. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

static void req_release(struct api_req *r)
{
    free(r->path);
    api__params_fini(&r->params);
    api__params_fini(&r->query);
    json_decref(r->json);
    free(r);
}

static void gone_timer_closed(uv_handle_t *h)
{
    req_release(container_of((uv_timer_t *)h, struct api_req, gone_timer));
}

void api__req_free(struct api_req *r)
{
    if (!r)
        return;
    r->is_ended = true;
    if (!r->has_timer) {
        req_release(r);
        return;
    }
    if (!uv_is_closing((uv_handle_t *)&r->gone_timer))
        uv_close((uv_handle_t *)&r->gone_timer, gone_timer_closed);
}

static void gone_fire(uv_timer_t *t)
{
    struct api_req *r = container_of(t, struct api_req, gone_timer);
    if (!r->is_ended && r->on_gone)
        r->on_gone(r->gone_arg);
    api__req_free(r); /* "after it the request must not be used" */
}

/* Run on_gone from the loop soon: the caller may be in the middle of api_stream_write(). */
static void gone_schedule(struct api_req *r)
{
    if (r->has_timer || !r->on_gone)
        return; /* without on_gone the handler learns nothing; its api_stream_end frees */
    uv_timer_init(r->loop, &r->gone_timer);
    r->has_timer = true;
    uv_timer_start(&r->gone_timer, gone_fire, 0, 0);
}

void api__req_orphan(struct api_req *r)
{
    r->conn = NULL;
    if (r->is_streaming)
        gone_schedule(r);
}

void api__req_stream_orphaned(struct api_req *r)
{
    gone_schedule(r);
}

/* Fill path and query from the URL; -TE_PARSE when it is not an origin-form path. */
static int req_parse_url(struct api_req *r, const struct buf *url)
{
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (url->len == 0 || http_parser_parse_url(url->ptr, url->len, 0, &u) != 0)
        return -TE_PARSE;
    if (!(u.field_set & (1 << UF_PATH)) || (u.field_set & (1 << UF_HOST)))
        return -TE_PARSE;
    r->path = str_ndup(url->ptr + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
    if (r->path[0] != '/')
        return -TE_PARSE;
    if (u.field_set & (1 << UF_QUERY))
        return api__query_parse(url->ptr + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len,
                                &r->query);
    return 0;
}

static struct api_req *req_new(struct api_conn *c)
{
    struct api_req *r = xcalloc(1, sizeof *r);
    r->conn = c;
    r->loop = c->api->loop;
    r->is_unix = c->is_unix;
    str_copy(r->method, http_method_str((enum http_method)c->parser.method), sizeof r->method);
    r->keep_alive = http_should_keep_alive(&c->parser) != 0;
    r->is_http10 = c->parser.http_major == 1 && c->parser.http_minor == 0;
    return r;
}

/* The checks before the handler; returns the route to run, or NULL after answering. */
static const struct api_route_entry *req_check(struct api_conn *c, struct api_req *r)
{
    const struct api_route_entry *route = NULL;
    enum api_match match = API_MATCH_NONE;
    char allow[64], extra[96];
    if (req_parse_url(r, &c->url) < 0 ||
        api__routes_match(&c->api->routes, r->method, r->path, &route, &r->params, allow,
                          sizeof allow, &match) < 0) {
        api_reply_error(r, 400, "bad_request", "the request URL is not valid", NULL);
        return NULL;
    }
    if (!c->is_unix && !(route && route->is_public) &&
        !api__token_check(c->api->token, c->auth.len ? c->auth.ptr : NULL)) {
        api__reply_with(r, 401,
                        api__error_json("unauthorized", "a valid bearer token is required",
                                        "send Authorization: Bearer <the token in "
                                        "$TEND_HOME/token>"),
                        "WWW-Authenticate: Bearer realm=\"tend\"\r\n");
        return NULL;
    }
    if (match == API_MATCH_METHOD) {
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        api__reply_with(r, 405,
                        api__error_json("method_not_allowed",
                                        "this path does not "
                                        "accept this method",
                                        NULL),
                        extra);
        return NULL;
    }
    if (!route) {
        api_reply_error(r, 404, "not_found", "no such API path", "see docs/api.md");
        return NULL;
    }
    return route;
}

void api__dispatch(struct api_conn *c)
{
    struct api_req *r = req_new(c);
    c->req = r;
    const struct api_route_entry *route = req_check(c, r);
    if (!route)
        return;
    if (c->body.len > 0) {
        json_error_t je;
        r->json = json_loadb(c->body.ptr, c->body.len, 0, &je);
        buf_fini(&c->body); /* do not keep up to 1 MiB per idle keep-alive connection */
        buf_init(&c->body, API_MAX_BODY);
        if (!r->json) {
            char msg[300];
            snprintf(msg, sizeof msg, "the request body is not JSON: %s at line %d column %d",
                     je.text, je.line, je.column);
            api_reply_error(r, 400, "bad_json", msg, NULL);
            return;
        }
    }
    route->fn(route->ctx, r);
}

const char *api_req_method(const struct api_req *r)
{
    return r->method;
}

const char *api_req_path(const struct api_req *r)
{
    return r->path;
}

const char *api_req_param(const struct api_req *r, const char *name)
{
    return api__params_get(&r->params, name);
}

const char *api_req_query(const struct api_req *r, const char *name)
{
    return api__params_get(&r->query, name);
}

json_t *api_req_json(const struct api_req *r)
{
    return r->json;
}

bool api_req_from_unix(const struct api_req *r)
{
    return r->is_unix;
}
