/* supervise/ready.c: when is a starting instance online (PM2 lesson 3)?
 *
 *   started  at once after exec;
 *   notify   sd_notify(3) "READY=1" on an abstract unix socket named by the kernel
 *            ($NOTIFY_SOCKET in the app's environment), a datagram socket with SO_PASSCRED: the kernel tells us the
 *            sender's pid, mapped to an instance through its session (the instance is a
 *            session leader, so `npm start` -> node still maps), or its parent chain;
 *   port     a TCP connect to 127.0.0.1:port succeeds (tried every 100 ms);
 *   http     a GET of ready_url answers 2xx/3xx (every 250 ms; ready_http.c).
 * The instance's state timer enforces ready_timeout (machine.c); a check never blocks the loop.
 * The notify socket is abstract (no file, no permissions) because apps may run as another user
 * who cannot enter the 0700 $TEND_HOME; a datagram counts only for the instance its sender's
 * pid belongs to, so another user's process cannot make an instance ready. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

#define PORT_RETRY_MS 100
#define HTTP_RETRY_MS 250

/* ---- notify ------------------------------------------------------------------------------ */

static bool belongs(const struct sup_instance *in, pid_t sender)
{
    struct sup_proc p = {0};
    pid_t cur = sender;
    for (int depth = 0; depth < 16 && cur > 1; depth++) {
        if (cur == in->pid)
            return true;
        if (sup__proc_read(cur, &p) < 0)
            return false;
        if (p.sid == in->pid)
            return true;
        cur = p.ppid;
    }
    return false;
}

static struct sup_instance *by_sender(struct sup *s, pid_t pid)
{
    for (struct sup_app *a = s->apps; a; a = a->next) {
        for (int i = 0; i < a->ninst; i++)
            if (a->inst[i]->pid > 0 && belongs(a->inst[i], pid))
                return a->inst[i];
        struct sup_instance *spare = sup__reload_spare(a);
        if (spare && spare->pid > 0 && belongs(spare, pid))
            return spare;
    }
    return NULL;
}

static void on_notify(uv_poll_t *h, int status, int events)
{
    struct sup *s = h->data;
    for (;;) {
        char data[1024];
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(struct ucred))];
        } cm;
        struct iovec iov = {.iov_base = data, .iov_len = sizeof data - 1};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = cm.buf,
                             .msg_controllen = sizeof cm.buf};
        ssize_t n = recvmsg(s->notify_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
            return;
        data[n] = '\0';
        pid_t pid = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred cr;
                memcpy(&cr, CMSG_DATA(c), sizeof cr);
                pid = cr.pid;
            }
        /* READY=1 as a whole line of the newline-separated assignments. */
        bool ready = strncmp(data, "READY=1", 7) == 0 && (data[7] == '\n' || !data[7]);
        if (!ready)
            ready = strstr(data, "\nREADY=1") != NULL;
        struct sup_instance *in = ready && pid > 0 ? by_sender(s, pid) : NULL;
        if (in)
            sup__inst_ready(in, true, NULL);
        else if (ready)
            tlog_debug("supervise", "READY=1 from pid %d, which is no starting instance", (int)pid);
    }
}

/* The kernel picks a unique abstract name (Linux autobind: bind with only the family), so two
 * supervisors never collide, not even one closing while the next starts in the same process;
 * NOTIFY_SOCKET carries the name in sd_notify's "@name" form. */
static int notify_bind(int fd, char *name, size_t size)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    socklen_t len = sizeof(sa_family_t);
    if (bind(fd, (struct sockaddr *)&sa, len) < 0)
        return -1;
    len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    size_t n = len - offsetof(struct sockaddr_un, sun_path); /* "\0" + name, no NUL */
    if (n < 2 || n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    name[0] = '@';
    memcpy(name + 1, sa.sun_path + 1, n - 1);
    name[n] = '\0';
    return 0;
}

int sup__ready_init(struct sup *s, struct err *err)
{
    if (!s->home)
        return 0;
    int one = 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || notify_bind(fd, s->notify_path, sizeof s->notify_path) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) {
        int rc = err_sys(err, "cannot open the notify socket");
        if (fd >= 0)
            close(fd);
        s->notify_path[0] = '\0';
        return rc;
    }
    s->notify_fd = fd;
    uv_poll_init(s->loop, &s->notify_poll, fd);
    s->notify_poll.data = s;
    s->notify_active = true;
    uv_poll_start(&s->notify_poll, UV_READABLE, on_notify);
    return 0;
}

static void notify_closed(uv_handle_t *h)
{
    struct sup *s = h->data;
    close(s->notify_fd);
    s->notify_fd = -1;
    sup__closed(h);
}

void sup__ready_close(struct sup *s)
{
    if (!s->notify_active)
        return;
    s->notify_active = false;
    sup__close_handle((uv_handle_t *)&s->notify_poll, &s->closing, notify_closed);
}

/* ---- port and the check's lifetime ------------------------------------------------------- */

int sup__inst_port(const struct sup_instance *in)
{
    if (in->ca->ready_port)
        return in->ca->ready_port;
    return in->ca->port ? in->ca->port + in->index : 0;
}

static void ready_closed(uv_handle_t *h)
{
    struct sup_ready *r = h->data;
    if (--r->closing == 0)
        free(r);
}

static void tcp_closed(uv_handle_t *h)
{
    struct sup_ready *r = h->data;
    r->tcp_open = false;
    ready_closed(h);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct sup_ready *r = req->data;
    uv_close((uv_handle_t *)&r->tcp, tcp_closed);
    if (status == 0 && r->in)
        sup__inst_ready(r->in, true, NULL);
}

static void on_port_tick(uv_timer_t *t)
{
    struct sup_ready *r = t->data;
    struct sockaddr_in sa;
    if (!r->in || r->tcp_open)
        return;
    uv_ip4_addr("127.0.0.1", r->port, &sa);
    uv_tcp_init(r->in->app->s->loop, &r->tcp);
    r->tcp.data = r;
    r->req.data = r;
    r->tcp_open = true;
    r->closing++; /* the attempt keeps r alive until its handle is closed */
    if (uv_tcp_connect(&r->req, &r->tcp, (struct sockaddr *)&sa, on_connect) < 0) {
        uv_close((uv_handle_t *)&r->tcp, tcp_closed);
    }
}

static void on_http_tick(uv_timer_t *t)
{
    struct sup_ready *r = t->data;
    if (r->in && !r->easy && sup__http_start(r) < 0)
        sup__inst_ready(r->in, false, "cannot start the readiness request");
}

bool sup__ready_start(struct sup_instance *in)
{
    const struct cfg_app *ca = in->ca;
    struct sup *s = in->app->s;
    sup__ready_cancel(in);
    if (ca->ready == CFG_READY_STARTED)
        return true;
    if (ca->ready == CFG_READY_NOTIFY)
        return !s->notify_active; /* no socket: cannot wait for what cannot arrive */
    int port = sup__inst_port(in);
    char url[512];
    if (ca->ready == CFG_READY_PORT && port <= 0) {
        tlog_warn("supervise", "%s: ready: port without a port; treating it as started", in->label);
        return true;
    }
    if (ca->ready == CFG_READY_HTTP &&
        (!ca->ready_url || sup__expand_url(ca->ready_url, port, in->index, url, sizeof url) < 0)) {
        tlog_warn("supervise", "%s: ready_url is missing or too long; treating it as started",
                  in->label);
        return true;
    }
    struct sup_ready *r = xcalloc(1, sizeof *r);
    r->in = in;
    r->port = port;
    r->closing = 1;
    uv_timer_init(s->loop, &r->timer);
    r->timer.data = r;
    in->ready = r;
    if (ca->ready == CFG_READY_PORT) {
        uv_timer_start(&r->timer, on_port_tick, PORT_RETRY_MS, PORT_RETRY_MS);
    } else {
        str_copy(r->url, url, sizeof r->url);
        uv_timer_start(&r->timer, on_http_tick, 0, HTTP_RETRY_MS);
    }
    return false;
}

void sup__ready_cancel(struct sup_instance *in)
{
    struct sup_ready *r = in->ready;
    if (!r)
        return;
    in->ready = NULL;
    sup__http_cancel_ready(r);
    r->in = NULL;
    uv_close((uv_handle_t *)&r->timer, ready_closed);
    /* An attempt in flight finishes (or fails) and closes its own handle. */
}

int sup__expand_url(const char *tmpl, int port, int index, char *dst, size_t size)
{
    size_t o = 0;
    for (const char *c = tmpl; *c;) {
        char val[32] = "";
        size_t skip = 0;
        if (str_starts(c, "${PORT}")) {
            snprintf(val, sizeof val, "%d", port);
            skip = 7;
        } else if (str_starts(c, "${TEND_INSTANCE}")) {
            snprintf(val, sizeof val, "%d", index);
            skip = 16;
        }
        size_t len = skip ? strlen(val) : 1;
        if (o + len >= size)
            return -ENAMETOOLONG;
        memcpy(dst + o, skip ? val : c, len);
        o += len;
        c += skip ? skip : 1;
    }
    dst[o] = '\0';
    return 0;
}
