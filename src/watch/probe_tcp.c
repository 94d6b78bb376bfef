/* watch/probe_tcp.c: `tcp: 127.0.0.1:25`: connect, optionally send a line and expect a reply
 * (a banner such as "220").
 *
 * Everything is a libuv request on the loop: name resolution (uv_getaddrinfo, on the pool),
 * connect, write, read. A peer that accepts and never answers only keeps this attempt's socket
 * open until the driver's timeout cancels it; nothing else waits.
 *
 * Run lifetime: `busy` counts the callbacks still to come (the resolver request, the socket
 * handle's close); the run is released when it drops to 0. Connect, write and read callbacks
 * all come before the socket's close callback (libuv cancels them with UV_ECANCELED), so only
 * the close is counted. The first decision reports; later ones are ignored by the driver. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "watch/probe.h"

#define TCP_REPLY_MAX 4096

/* Owned by its probe. */
struct tcp {
    char *host, *port, *send, *expect;
    char *address; /* as the user wrote it, for messages */
};

struct tcp_run {
    uv_getaddrinfo_t resolve;
    uv_tcp_t sock;
    uv_connect_t connect;
    uv_write_t write;
    int busy;
    bool is_sock_open;
    size_t len;
    char reply[TCP_REPLY_MAX + 1];
};

/* "host:port" or "[v6]:port" into host and port (both copied). */
static int split_address(const char *a, char **host, char **port)
{
    const char *colon;
    size_t hlen;
    const char *h = a;
    if (a[0] == '[') {
        const char *close = strchr(a, ']');
        if (!close || close[1] != ':')
            return -TE_INVALID;
        h = a + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(a, ':');
        if (!colon)
            return -TE_INVALID;
        hlen = (size_t)(colon - a);
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (!hlen || *end || p < 1 || p > 65535)
        return -TE_INVALID;
    *host = strndup(h, hlen);
    *port = strdup(colon + 1);
    if (!*host || !*port)
        abort();
    return 0;
}

static int tcp_init(struct watch_probe *p, const struct probe_spec *spec, void *state,
                    struct err *err)
{
    const struct probe_tcp_spec *t = &spec->u.tcp;
    struct tcp *k = state;
    if (!t->address || !t->address[0])
        return err_set(err, -TE_INVALID, "tcp: address is required (host:port)");
    if (split_address(t->address, &k->host, &k->port) < 0) {
        err_set(err, -TE_INVALID, "tcp: \"%s\" is not host:port", t->address);
        err_hint(err, "write it as 127.0.0.1:25, db.internal:5432 or [::1]:25");
        return err->code;
    }
    k->address = strdup(t->address);
    k->send = t->send ? strdup(t->send) : NULL;
    k->expect = t->expect && t->expect[0] ? strdup(t->expect) : NULL;
    if (!k->address || (t->send && !k->send) || (k->expect == NULL && t->expect && t->expect[0]))
        abort();
    probe_set_target(p, t->address);
    return 0;
}

static void tcp_fini(void *state)
{
    struct tcp *k = state;
    free(k->host);
    free(k->port);
    free(k->send);
    free(k->expect);
    free(k->address);
}

static void done_one(struct tcp_run *tr)
{
    if (--tr->busy == 0)
        probe_run_release(probe_run_from_data(tr));
}

static void sock_closed(uv_handle_t *h)
{
    done_one(container_of((uv_tcp_t *)h, struct tcp_run, sock));
}

static void close_sock(struct tcp_run *tr)
{
    if (!tr->is_sock_open)
        return;
    tr->is_sock_open = false;
    uv_close((uv_handle_t *)&tr->sock, sock_closed);
}

/* "connection refused", "connection reset by peer": libuv's words, lower-cased by hand. */
static const char *why(int rc)
{
    switch (rc) {
    case UV_ECONNREFUSED:
        return "connection refused (nothing listens there?)";
    case UV_ECONNRESET:
        return "connection reset by the peer";
    case UV_ETIMEDOUT:
        return "connection timed out";
    case UV_EHOSTUNREACH:
        return "host unreachable";
    case UV_ENETUNREACH:
        return "network unreachable";
    default:
        return uv_strerror(rc);
    }
}

/* The reply as printable text for a message, at most 60 characters. */
static void printable(const struct tcp_run *tr, char *dst, size_t size)
{
    size_t j = 0;
    for (size_t i = 0; i < tr->len && i < 60 && j + 1 < size; i++) {
        char c = tr->reply[i];
        dst[j++] = (unsigned char)c < 0x20 || (unsigned char)c > 0x7e ? '.' : c;
    }
    dst[j] = '\0';
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct tcp_run *tr = container_of((uv_tcp_t *)h, struct tcp_run, sock);
    (void)hint;
    *b = uv_buf_init(tr->reply + tr->len, (unsigned)(TCP_REPLY_MAX - tr->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct tcp_run *tr = container_of((uv_tcp_t *)s, struct tcp_run, sock);
    struct probe_run *r = probe_run_from_data(tr);
    struct tcp *k = probe_run_state(r);
    char got[64];
    (void)b;
    if (n > 0) {
        tr->len += (size_t)n;
        tr->reply[tr->len] = '\0';
        if (memmem(tr->reply, tr->len, k->expect, strlen(k->expect))) {
            printable(tr, got, sizeof got);
            probe_run_report(r, PROBE_OK, "%s answered \"%s\"", k->address, got);
            close_sock(tr);
        } else if (tr->len == TCP_REPLY_MAX) {
            probe_run_report(r, PROBE_FAILING, "%s sent 4 KiB without \"%s\"", k->address,
                             k->expect);
            close_sock(tr);
        }
        return;
    }
    if (n == 0)
        return;
    printable(tr, got, sizeof got);
    if (n == UV_EOF)
        probe_run_report(r, PROBE_FAILING, "%s closed the connection without sending \"%s\"%s%s%s",
                         k->address, k->expect, tr->len ? " (it sent \"" : "", got,
                         tr->len ? "\")" : "");
    else
        probe_run_report(r, PROBE_FAILING, "reading from %s: %s", k->address, why((int)n));
    close_sock(tr);
}

static void on_write(uv_write_t *w, int status)
{
    struct tcp_run *tr = container_of(w, struct tcp_run, write);
    struct probe_run *r = probe_run_from_data(tr);
    struct tcp *k = probe_run_state(r);
    if (status == UV_ECANCELED)
        return;
    if (status < 0) {
        probe_run_report(r, PROBE_FAILING, "sending to %s: %s", k->address, why(status));
        close_sock(tr);
    } else if (!k->expect) {
        probe_run_report(r, PROBE_OK, "connected to %s and sent the request", k->address);
        close_sock(tr);
    }
}

static void on_connect(uv_connect_t *c, int status)
{
    struct tcp_run *tr = container_of(c, struct tcp_run, connect);
    struct probe_run *r = probe_run_from_data(tr);
    struct tcp *k = probe_run_state(r);
    if (status == UV_ECANCELED)
        return;
    if (status < 0) {
        probe_run_report(r, PROBE_FAILING, "cannot connect to %s: %s", k->address, why(status));
        close_sock(tr);
        return;
    }
    if (!k->send && !k->expect) {
        probe_run_report(r, PROBE_OK, "connected to %s", k->address);
        close_sock(tr);
        return;
    }
    if (k->expect)
        uv_read_start((uv_stream_t *)&tr->sock, alloc_cb, on_read);
    if (k->send) {
        uv_buf_t b = uv_buf_init(k->send, (unsigned)strlen(k->send));
        int rc = uv_write(&tr->write, (uv_stream_t *)&tr->sock, &b, 1, on_write);
        if (rc < 0) {
            probe_run_report(r, PROBE_FAILING, "sending to %s: %s", k->address, why(rc));
            close_sock(tr);
        }
    }
}

static void connect_to(struct tcp_run *tr, const struct sockaddr *sa)
{
    struct probe_run *r = probe_run_from_data(tr);
    struct tcp *k = probe_run_state(r);
    int rc = uv_tcp_init(probe_run_loop(r), &tr->sock);
    if (rc < 0) {
        probe_run_report(r, PROBE_FAILING, "cannot make a socket: %s", uv_strerror(rc));
        return;
    }
    tr->busy++;
    tr->is_sock_open = true;
    rc = uv_tcp_connect(&tr->connect, &tr->sock, sa, on_connect);
    if (rc < 0) {
        probe_run_report(r, PROBE_FAILING, "cannot connect to %s: %s", k->address, why(rc));
        close_sock(tr);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tcp_run *tr = container_of(req, struct tcp_run, resolve);
    struct probe_run *r = probe_run_from_data(tr);
    struct tcp *k = probe_run_state(r);
    if (status < 0 && status != UV_EAI_CANCELED)
        probe_run_report(r, PROBE_FAILING, "cannot resolve %s: %s", k->host, uv_strerror(status));
    else if (status == 0 && !probe_run_is_cancelled(r))
        connect_to(tr, res->ai_addr);
    uv_freeaddrinfo(res);
    done_one(tr);
}

static int tcp_start(struct probe_run *r, struct err *err)
{
    struct tcp *k = probe_run_state(r);
    struct tcp_run *tr = probe_run_data(r);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    tr->busy = 2; /* the resolver's callback, and this call (so an early close cannot release) */
    int rc = uv_getaddrinfo(probe_run_loop(r), &tr->resolve, on_resolved, k->host, k->port, &hints);
    if (rc < 0) {
        tr->busy = 0;
        return err_set(err, rc, "cannot resolve %s: %s", k->host, uv_strerror(rc));
    }
    done_one(tr);
    return 0;
}

static void tcp_cancel(struct probe_run *r)
{
    struct tcp_run *tr = probe_run_data(r);
    uv_cancel((uv_req_t *)&tr->resolve); /* fails harmlessly once the resolver has answered */
    close_sock(tr);
}

const struct probe_kind probe_tcp = {
    .name = "tcp",
    .state_size = sizeof(struct tcp),
    .run_size = sizeof(struct tcp_run),
    .init = tcp_init,
    .fini = tcp_fini,
    .start = tcp_start,
    .cancel = tcp_cancel,
};
