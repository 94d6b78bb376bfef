/* supervise/ready_http.c: `ready: http`, a GET through libcurl's multi interface on our loop.
 *
 * libcurl is reached through core/curlx.h's table, loaded on the first http readiness check (a
 * daemon whose apps never use `ready: http` never maps it); if it cannot be loaded, that check
 * fails with the loader's message, and tend.log says what to install.
 *
 * The standard libuv integration (curl's docs/examples/multi-uv.c): curl tells us which
 * sockets to watch (CURLMOPT_SOCKETFUNCTION -> one uv_poll_t each) and when to call it back
 * (CURLMOPT_TIMERFUNCTION -> one uv_timer_t); we drive it with curl_multi_socket_action().
 * Never curl_easy_perform(), which would block the loop. One multi handle serves every
 * instance; a readiness check owns at most one easy handle at a time, and keeps its
 * struct sup_ready alive (closing count) until that handle is removed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/curlx.h"
#include "core/err.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

/* Owned by struct sup (s->http). */
struct sup_http {
    struct sup *s;
    const struct curlx *cx; /* libcurl, loaded by the first check */
    CURLM *multi;
    uv_timer_t timer;
    bool closing;
};

/* One per socket curl asked us to watch; freed in its close callback. */
struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct sup_http *h;
};

static void finish(struct sup_ready *r, struct sup_http *h)
{
    CURL *e = r->easy;
    r->easy = NULL;
    h->cx->multi_remove_handle(h->multi, e);
    h->cx->easy_cleanup(e);
    if (--r->closing == 0)
        free(r);
}

static void check_done(struct sup_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = h->cx->multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct sup_ready *r = NULL;
        long code = 0;
        CURLcode res = m->data.result;
        h->cx->easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        h->cx->easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        struct sup_instance *in = r->in;
        finish(r, h);
        if (in && res == CURLE_OK && code >= 200 && code < 400)
            sup__inst_ready(in, true, NULL);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock_ctx *c = p->data;
    /* libuv reports a socket error (a reset peer: EPOLLERR) as UV_EBADF with no events. Told
     * CURL_CSELECT_ERR, curl fails with "select/poll returned error"; told the socket is ready,
     * it reads or writes and names the real error ("Connection reset by peer"). */
    int flags = status < 0 ? CURL_CSELECT_IN | CURL_CSELECT_OUT : 0, running;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    struct sup_http *h = c->h;
    h->cx->multi_socket_action(h->multi, c->fd, flags, &running);
    check_done(h);
}

static void sock_closed(uv_handle_t *hd)
{
    free(hd->data);
}

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct sup_http *h = userp;
    struct sock_ctx *c = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            uv_poll_stop(&c->poll);
            uv_close((uv_handle_t *)&c->poll, sock_closed);
            h->cx->multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    if (!c) {
        c = xcalloc(1, sizeof *c);
        c->fd = fd;
        c->h = h;
        uv_poll_init_socket(h->s->loop, &c->poll, fd);
        c->poll.data = c;
        h->cx->multi_assign(h->multi, fd, c);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&c->poll, ev, on_poll);
    return 0;
}

static void on_timeout(uv_timer_t *t)
{
    struct sup_http *h = t->data;
    int running;
    h->cx->multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct sup_http *h = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else
        uv_timer_start(&h->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* The shared multi handle, made (and libcurl loaded) by the first check. NULL with err if not. */
static struct sup_http *http_get(struct sup *s, struct err *err)
{
    if (s->http)
        return s->http;
    const struct curlx *cx;
    if (curlx_load(&cx, err) < 0)
        return NULL;
    struct sup_http *h = xcalloc(1, sizeof *h);
    h->s = s;
    h->cx = cx;
    h->multi = cx->multi_init();
    if (!h->multi) {
        free(h);
        err_set(err, -ENOMEM, "cannot set up a libcurl multi handle");
        return NULL;
    }
    cx->multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    cx->multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    cx->multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    cx->multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    uv_timer_init(s->loop, &h->timer);
    h->timer.data = h;
    s->http = h;
    return h;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    return size * n;
}

int sup__http_start(struct sup_ready *r)
{
    struct err err = {0};
    struct sup_http *h = http_get(r->in->app->s, &err);
    if (!h && err.code == -TE_NOTFOUND) {
        /* No libcurl: retrying cannot help, so fail the check now with the loader's reason
         * (ready.c would only say "cannot start the readiness request"). */
        tlog_error("supervise", "%s: ready: http: %s; %s", r->in->label, err.msg, err.hint);
        sup__inst_ready(r->in, false, err.msg);
        return 0;
    }
    CURL *e = h ? h->cx->easy_init() : NULL;
    if (!e)
        return -1;
    h->cx->easy_setopt(e, CURLOPT_URL, r->url);
    h->cx->easy_setopt(e, CURLOPT_PRIVATE, r);
    h->cx->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    h->cx->easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
    h->cx->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    h->cx->easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    h->cx->easy_setopt(e, CURLOPT_USERAGENT, "tend-ready");
    if (h->cx->multi_add_handle(h->multi, e) != CURLM_OK) {
        h->cx->easy_cleanup(e);
        return -1;
    }
    r->easy = e;
    r->closing++;
    return 0;
}

void sup__http_cancel_ready(struct sup_ready *r)
{
    if (r->easy && r->in && r->in->app->s->http)
        finish(r, r->in->app->s->http);
}

static void http_closed(uv_handle_t *hd)
{
    struct sup_http *h = hd->data;
    struct sup *s = h->s;
    h->cx->multi_cleanup(h->multi);
    free(h);
    sup__close_done(s);
}

void sup__http_close(struct sup *s)
{
    struct sup_http *h = s->http;
    if (!h)
        return;
    s->http = NULL;
    sup__close_handle((uv_handle_t *)&h->timer, &s->closing, http_closed);
}
