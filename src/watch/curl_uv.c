/* watch/curl_uv.c: libcurl's multi interface on a libuv loop (why and how: curl_uv.h).
 *
 * Written once here so probes, notifiers and readiness do not each carry a copy of the same
 * glue (supervise/ready_http.c is the older copy). Each transfer gets a small record, reached
 * through CURLOPT_PRIVATE, holding its callback; the records form a list so close() can check
 * nothing is left. Sockets get one uv_poll_t each, made when curl first names the socket and
 * closed when curl says CURL_POLL_REMOVE.
 *
 * Invariants: a record lives exactly as long as its easy handle is in the multi; a done callback
 * runs after the handle is removed, so it may clean the handle up or add new ones; cu is freed
 * only when its timer and every poll handle have been closed (`nopen` counts them). */
#include "watch/curl_uv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/curlx.h"
#include "core/err.h"
#include "core/util.h"

/* One per transfer in the multi; owned by cu. */
struct xfer {
    struct xfer *next;
    CURL *easy;
    curl_uv_done_fn *done;
    void *arg;
};

/* One per socket curl asked us to watch; freed in its close callback. */
struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct curl_uv *cu;
};

/* Owned by whoever called curl_uv_new(). */
struct curl_uv {
    uv_loop_t *loop;
    const struct curlx *cx;
    CURLM *multi;
    uv_timer_t timer;
    struct xfer *xfers;
    int nopen; /* uv handles not yet closed (timer + polls) */
    bool is_closing;
    void (*closed)(void *arg);
    void *closed_arg;
};

static void handle_closed(uv_handle_t *h);

static struct xfer **find(struct curl_uv *cu, CURL *easy)
{
    struct xfer **px = &cu->xfers;
    while (*px && (*px)->easy != easy)
        px = &(*px)->next;
    return px;
}

/* Hand every finished transfer to its owner. */
static void check_done(struct curl_uv *cu)
{
    CURLMsg *m;
    int left;
    while ((m = cu->cx->multi_info_read(cu->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode res = m->data.result;
        struct xfer **px = find(cu, easy), *x = *px;
        cu->cx->multi_remove_handle(cu->multi, easy); /* m is invalid from here */
        if (!x)
            continue;
        *px = x->next;
        curl_uv_done_fn *done = x->done;
        void *arg = x->arg;
        free(x);
        done(arg, easy, res);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock *s = container_of(p, struct sock, poll);
    struct curl_uv *cu = s->cu;
    /* libuv reports a socket error (a reset peer: EPOLLERR) as UV_EBADF with no events. Told
     * CURL_CSELECT_ERR, curl fails with "select/poll returned error"; told the socket is ready,
     * it reads or writes and names the real error ("Connection reset by peer"). */
    int flags = status < 0 ? CURL_CSELECT_IN | CURL_CSELECT_OUT : 0, running;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    cu->cx->multi_socket_action(cu->multi, s->fd, flags, &running);
    check_done(cu);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct curl_uv *cu = userp;
    struct sock *s = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, handle_closed);
            cu->cx->multi_assign(cu->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = xcalloc(1, sizeof *s);
        s->fd = fd;
        s->cu = cu;
        if (uv_poll_init_socket(cu->loop, &s->poll, fd) < 0) {
            free(s);
            return -1; /* curl fails that transfer */
        }
        cu->nopen++;
        cu->cx->multi_assign(cu->multi, fd, s);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    struct curl_uv *cu = container_of(t, struct curl_uv, timer);
    int running;
    cu->cx->multi_socket_action(cu->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(cu);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct curl_uv *cu = userp;
    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&cu->timer);
    else /* 0 means "at once": from the loop, never from inside curl (multi-uv.c does the same) */
        uv_timer_start(&cu->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

int curl_uv_new(uv_loop_t *loop, struct curl_uv **out, struct err *err)
{
    const struct curlx *cx;
    int rc = curlx_load(&cx, err);
    if (rc < 0)
        return rc;
    CURLM *multi = cx->multi_init();
    if (!multi)
        return err_set(err, -ENOMEM, "cannot set up a libcurl multi handle");
    struct curl_uv *cu = xcalloc(1, sizeof *cu);
    cu->loop = loop;
    cu->cx = cx;
    cu->multi = multi;
    cx->multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    cx->multi_setopt(multi, CURLMOPT_SOCKETDATA, cu);
    cx->multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    cx->multi_setopt(multi, CURLMOPT_TIMERDATA, cu);
    uv_timer_init(loop, &cu->timer);
    cu->nopen = 1;
    *out = cu;
    return 0;
}

const struct curlx *curl_uv_api(const struct curl_uv *cu)
{
    return cu->cx;
}

int curl_uv_add(struct curl_uv *cu, CURL *easy, curl_uv_done_fn *done, void *arg)
{
    if (cu->is_closing)
        return -TE_STATE;
    struct xfer *x = xcalloc(1, sizeof *x);
    x->easy = easy;
    x->done = done;
    x->arg = arg;
    cu->cx->easy_setopt(easy, CURLOPT_PRIVATE, x);
    if (cu->cx->multi_add_handle(cu->multi, easy) != CURLM_OK) {
        free(x);
        return -TE_STATE;
    }
    x->next = cu->xfers;
    cu->xfers = x;
    return 0;
}

void curl_uv_remove(struct curl_uv *cu, CURL *easy)
{
    struct xfer **px = find(cu, easy), *x = *px;
    if (!x)
        return;
    *px = x->next;
    free(x);
    cu->cx->multi_remove_handle(cu->multi, easy);
}

static void handle_closed(uv_handle_t *h)
{
    struct curl_uv *cu;
    if (h->type == UV_POLL) {
        struct sock *s = container_of((uv_poll_t *)h, struct sock, poll);
        cu = s->cu;
        free(s);
    } else {
        cu = container_of((uv_timer_t *)h, struct curl_uv, timer);
    }
    if (--cu->nopen > 0 || !cu->is_closing)
        return;
    void (*closed)(void *) = cu->closed;
    void *arg = cu->closed_arg;
    free(cu);
    if (closed)
        closed(arg);
}

void curl_uv_close(struct curl_uv *cu, void (*closed)(void *arg), void *arg)
{
    while (cu->xfers) /* a caller bug, but leaving them would leak: abandon them */
        curl_uv_remove(cu, cu->xfers->easy);
    cu->is_closing = true;
    cu->closed = closed;
    cu->closed_arg = arg;
    /* multi_cleanup closes the cached connections and says CURL_POLL_REMOVE for each socket
     * still watched, which closes their polls; the timer goes last. */
    cu->cx->multi_cleanup(cu->multi);
    cu->multi = NULL;
    uv_timer_stop(&cu->timer);
    uv_close((uv_handle_t *)&cu->timer, handle_closed);
}
