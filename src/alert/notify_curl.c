/* alert/notify_curl.c: HTTP and SMTP deliveries through libcurl's multi interface on the loop.
 *
 * The libuv integration is curl's docs/examples/multi-uv.c, as in supervise/ready_http.c: curl
 * names the sockets to watch (CURLMOPT_SOCKETFUNCTION -> one uv_poll_t each) and when to call it
 * back (CURLMOPT_TIMERFUNCTION -> one uv_timer_t); curl_multi_socket_action() drives it. Never
 * curl_easy_perform(), which would block the loop. (A shared driver in core/ would serve this,
 * readiness and the probes alike; until one exists each module has its own, see the report.)
 *
 * One multi handle per notify_set, made with libcurl's loading on the first delivery. Every
 * attempt has its own easy handle and a hard timeout (CURLOPT_TIMEOUT_MS), so a receiver that
 * accepts and never answers holds only its own notifier. SMTP: CURLOPT_MAIL_FROM/MAIL_RCPT and
 * an upload of the prepared RFC 5322 message; smtp:// with starttls requires STARTTLS
 * (CURLUSESSL_ALL: a server without it fails the attempt rather than see the password). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alert/notify_int.h"
#include "core/curlx.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

/* Owned by the set (set->curl); counts as one of its refs until its timer is closed. */
struct notify_curl {
    struct notify_set *set;
    const struct curlx *cx;
    CURLM *multi;
    uv_timer_t timer;
};

/* One per socket curl asked us to watch; one set ref each until its close callback. */
struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct notify_curl *c;
    struct notify_set *set; /* c may be gone when the close callback runs (multi_cleanup) */
};

/* Take the easy handle out of the multi and free curl's parts of the attempt. */
static void release(struct notify_curl *c, struct notify_attempt *a)
{
    if (!a->easy)
        return;
    c->cx->multi_remove_handle(c->multi, a->easy);
    c->cx->easy_cleanup(a->easy);
    a->easy = NULL;
    c->cx->slist_free_all(a->hdrs);
    c->cx->slist_free_all(a->rcpt);
    a->hdrs = a->rcpt = NULL;
}

static void finished(struct notify_curl *c, CURL *e, CURLcode res)
{
    struct notify_attempt *a = NULL;
    long code = 0;
    char why[1024] = "";
    int rc = 0;
    c->cx->easy_getinfo(e, CURLINFO_PRIVATE, (char **)&a);
    c->cx->easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    const struct notifier *nf = a->nf;
    const char *reply = a->reply.ptr ? a->reply.ptr : "";
    if (res != CURLE_OK) {
        snprintf(why, sizeof why, "cannot deliver to %s: %s", nf->target,
                 a->errbuf[0] ? a->errbuf : c->cx->easy_strerror(res));
        rc = -TE_STATE;
    } else if (a->req.mail_from) {
        rc = 0; /* libcurl checked every SMTP reply */
    } else if (nf->kind->judge) {
        rc = nf->kind->judge(code, reply, why, sizeof why);
    } else if (code < 200 || code > 299) {
        snprintf(why, sizeof why, "HTTP %ld from %s: %.200s", code, nf->target, reply);
        rc = -TE_STATE;
    }
    release(c, a);
    notify__attempt_done(a, rc, why);
}

static void check_done(struct notify_curl *c)
{
    CURLMsg *m;
    int left;
    while ((m = c->cx->multi_info_read(c->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            finished(c, m->easy_handle, m->data.result);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock_ctx *s = p->data;
    struct notify_curl *c = s->c;
    /* libuv reports a socket error (a reset peer: EPOLLERR) as UV_EBADF with no events. Told
     * CURL_CSELECT_ERR, curl fails with "select/poll returned error"; told the socket is ready,
     * it reads or writes and names the real error ("Connection reset by peer"). */
    int flags = status < 0 ? CURL_CSELECT_IN | CURL_CSELECT_OUT : 0, running;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    c->cx->multi_socket_action(c->multi, s->fd, flags, &running);
    check_done(c);
}

static void sock_closed(uv_handle_t *h)
{
    struct sock_ctx *s = h->data;
    struct notify_set *set = s->set;
    free(s);
    notify__unref(set);
}

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct notify_curl *c = userp;
    struct sock_ctx *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, sock_closed);
            c->cx->multi_assign(c->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = xcalloc(1, sizeof *s);
        s->fd = fd;
        s->c = c;
        s->set = c->set;
        if (uv_poll_init_socket(c->set->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        c->set->refs++;
        c->cx->multi_assign(c->multi, fd, s);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_timeout(uv_timer_t *t)
{
    struct notify_curl *c = t->data;
    int running;
    c->cx->multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct notify_curl *c = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

static struct notify_curl *driver(struct notify_set *set, struct err *err)
{
    const struct curlx *cx;
    if (set->curl)
        return set->curl;
    if (curlx_load(&cx, err) < 0)
        return NULL;
    struct notify_curl *c = xcalloc(1, sizeof *c);
    c->set = set;
    c->cx = cx;
    c->multi = cx->multi_init();
    if (!c->multi) {
        free(c);
        err_set(err, -ENOMEM, "cannot set up a libcurl multi handle");
        return NULL;
    }
    cx->multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    cx->multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    cx->multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    cx->multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    uv_timer_init(set->loop, &c->timer);
    c->timer.data = c;
    set->refs++;
    set->curl = c;
    return c;
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    struct notify_attempt *a = arg;
    buf_append(&a->reply, p, size * n); /* past the ceiling the rest is not needed */
    return size * n;
}

static size_t on_read(char *dst, size_t size, size_t n, void *arg)
{
    struct notify_attempt *a = arg;
    size_t left = a->req.body.len - a->upload_off, k = MIN(left, size * n);
    memcpy(dst, a->req.body.ptr + a->upload_off, k);
    a->upload_off += k;
    return k;
}

static struct curl_slist *slist(const struct curlx *cx, const struct notify_strv *sv)
{
    struct curl_slist *l = NULL;
    for (size_t i = 0; i < sv->n; i++)
        l = cx->slist_append(l, sv->v[i]);
    return l;
}

int notify__curl_start(struct notify_attempt *a, struct err *err)
{
    struct notify_curl *c = driver(a->set, err);
    if (!c)
        return err->code ? err->code : -TE_STATE;
    const struct curlx *cx = c->cx;
    const struct notify_spec *sp = &a->nf->spec;
    CURL *e = cx->easy_init();
    if (!e)
        return err_set(err, -ENOMEM, "cannot set up a libcurl handle");
    cx->easy_setopt(e, CURLOPT_URL, a->req.url);
    cx->easy_setopt(e, CURLOPT_PRIVATE, a);
    cx->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    cx->easy_setopt(e, CURLOPT_ERRORBUFFER, a->errbuf);
    cx->easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)sp->timeout_ms);
    cx->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)MIN(sp->timeout_ms, 5000));
    cx->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    cx->easy_setopt(e, CURLOPT_WRITEDATA, a);
    if (sp->ca_file)
        cx->easy_setopt(e, CURLOPT_CAINFO, sp->ca_file);
    if (a->req.mail_from) {
        a->rcpt = slist(cx, &a->req.rcpt);
        cx->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        cx->easy_setopt(e, CURLOPT_MAIL_FROM, a->req.mail_from);
        cx->easy_setopt(e, CURLOPT_MAIL_RCPT, a->rcpt);
        cx->easy_setopt(e, CURLOPT_UPLOAD, 1L);
        cx->easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        cx->easy_setopt(e, CURLOPT_READDATA, a);
        cx->easy_setopt(e, CURLOPT_INFILESIZE, (long)a->req.body.len);
        if (str_starts(a->req.url, "smtp://") && sp->email.starttls)
            cx->easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
        if (sp->email.username)
            cx->easy_setopt(e, CURLOPT_USERNAME, sp->email.username);
        if (sp->email.password)
            cx->easy_setopt(e, CURLOPT_PASSWORD, sp->email.password);
    } else {
        notify__strv_push(&a->req.headers, "Expect:"); /* no 100-continue round trip */
        a->hdrs = slist(cx, &a->req.headers);
        cx->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        cx->easy_setopt(e, CURLOPT_HTTPHEADER, a->hdrs);
        cx->easy_setopt(e, CURLOPT_POSTFIELDS, a->req.body.ptr ? a->req.body.ptr : "");
        cx->easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)a->req.body.len);
        cx->easy_setopt(e, CURLOPT_USERAGENT, "tend-notify");
    }
    a->easy = e;
    if (cx->multi_add_handle(c->multi, e) != CURLM_OK) {
        release(c, a);
        return err_set(err, -TE_STATE, "cannot add the delivery to libcurl");
    }
    return 0;
}

void notify__curl_cancel(struct notify_attempt *a)
{
    if (a->set->curl)
        release(a->set->curl, a);
}

static void driver_closed(uv_handle_t *h)
{
    struct notify_curl *c = h->data;
    struct notify_set *set = c->set;
    c->cx->multi_cleanup(c->multi);
    free(c);
    notify__unref(set);
}

void notify__curl_close(struct notify_set *set)
{
    struct notify_curl *c = set->curl;
    if (!c)
        return;
    set->curl = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, driver_closed);
}
