/* tests/unit/api/http_client.h: a blocking HTTP client for test_http.c's client threads.
 *
 * Plain sockets with 5 s send and receive timeouts (a broken server fails a test instead of
 * hanging it); responses are framed by http_parser in response mode, paused at each message's
 * end so pipelined answers are read one at a time. Needs `sock_path` and `tcp_port` defined by
 * the including file. */
#ifndef TEND_TEST_HTTP_CLIENT_H
#define TEND_TEST_HTTP_CLIENT_H

#include <errno.h>
#include <http_parser.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/str.h"
#include "unit.h"

struct resp {
    int status;
    struct buf head; /* "name: value\n" with lower-case names */
    struct buf body;
    bool done, in_value;
};

struct cl {
    int fd;
    char in[256 * 1024];
    size_t len;
};

static int r_field(http_parser *p, const char *at, size_t n)
{
    struct resp *r = p->data;
    if (r->in_value)
        buf_putc(&r->head, '\n');
    r->in_value = false;
    for (size_t i = 0; i < n; i++)
        buf_putc(&r->head, (char)(at[i] >= 'A' && at[i] <= 'Z' ? at[i] + 32 : at[i]));
    return 0;
}

static int r_value(http_parser *p, const char *at, size_t n)
{
    struct resp *r = p->data;
    if (!r->in_value)
        buf_puts(&r->head, ": ");
    r->in_value = true;
    return buf_append(&r->head, at, n);
}

static int r_body(http_parser *p, const char *at, size_t n)
{
    return buf_append(&((struct resp *)p->data)->body, at, n);
}

static int r_headers(http_parser *p)
{
    struct resp *r = p->data;
    r->status = (int)p->status_code;
    buf_putc(&r->head, '\n');
    return 0;
}

static int r_done(http_parser *p)
{
    ((struct resp *)p->data)->done = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings rsettings = {
    .on_header_field = r_field,
    .on_header_value = r_value,
    .on_headers_complete = r_headers,
    .on_body = r_body,
    .on_message_complete = r_done,
};

static void cl_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static struct cl *cl_unix_at(const char *path)
{
    struct cl *c = calloc(1, sizeof *c);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    str_copy(sa.sun_path, path, sizeof sa.sun_path);
    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cl_timeouts(c->fd);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        UNIT_FAIL("connect %s: %s", path, strerror(errno));
    return c;
}

static struct cl *cl_unix(void)
{
    return cl_unix_at(sock_path);
}

static struct cl *cl_tcp(void)
{
    struct cl *c = calloc(1, sizeof *c);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)tcp_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    cl_timeouts(c->fd);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        UNIT_FAIL("connect 127.0.0.1:%d: %s", tcp_port, strerror(errno));
    return c;
}

static void cl_free(struct cl *c)
{
    close(c->fd);
    free(c);
}

static void cl_send(struct cl *c, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the server may close early (413, 431): the answer tells */
        s += w;
        n -= (size_t)w;
    }
}

static void cl_puts(struct cl *c, const char *s)
{
    cl_send(c, s, strlen(s));
}

/* Read one response; false on EOF/timeout before it was complete. */
static bool cl_read(struct cl *c, struct resp *r)
{
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    memset(r, 0, sizeof *r);
    p.data = r;
    for (;;) {
        if (c->len) {
            size_t n = http_parser_execute(&p, &rsettings, c->in, c->len);
            memmove(c->in, c->in + n, c->len - n);
            c->len -= n;
            if (r->done)
                return true;
            if (HTTP_PARSER_ERRNO(&p) != HPE_OK)
                return false;
        }
        ssize_t got = recv(c->fd, c->in + c->len, sizeof c->in - c->len, 0);
        if (got <= 0)
            return false;
        c->len += (size_t)got;
    }
}

static bool cl_eof(struct cl *c)
{
    char b[256];
    for (;;) {
        ssize_t got = recv(c->fd, b, sizeof b, 0);
        if (got == 0)
            return true;
        if (got < 0)
            return errno == ECONNRESET;
    }
}

static void resp_fini(struct resp *r)
{
    buf_fini(&r->head);
    buf_fini(&r->body);
}

static json_t *resp_json(struct resp *r)
{
    return r->body.len ? json_loadb(r->body.ptr, r->body.len, 0, NULL) : NULL;
}

static const char *error_code(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

static bool has_header(struct resp *r, const char *line)
{
    return r->head.ptr && strstr(r->head.ptr, line) != NULL;
}

/* Send a request on a new unix connection; expect `status`, return the JSON body. */
static json_t *simple(const char *raw, int status, struct resp *out)
{
    struct cl *c = cl_unix();
    struct resp r;
    cl_puts(c, raw);
    if (!cl_read(c, &r))
        UNIT_FAIL("no answer to %.40s", raw);
    CHECK_INT(r.status, status);
    json_t *j = resp_json(&r);
    if (out)
        *out = r;
    else
        resp_fini(&r);
    cl_free(c);
    return j;
}

#endif
