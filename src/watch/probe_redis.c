/* watch/probe_redis.c: `redis: redis://:secret@127.0.0.1:6379/0`: PING, then memory, clients
 * and whether anything persists the data (seed 000 wants persistence on).
 *
 * One attempt is one fresh hiredis async connection on the loop. A host name is looked up first
 * with uv_getaddrinfo, since hiredis's own connect calls getaddrinfo, which blocks. Every command
 * is queued at once and goes out in one write when the connection is up: [AUTH], PING, INFO,
 * CONFIG GET save; replies come in that order, and the last one decides. Then
 * redisAsyncDisconnect() closes it cleanly.
 *
 * Persistence: AOF is on when INFO says `aof_enabled:1`; RDB when `CONFIG GET save` lists save
 * points. CONFIG is often renamed away or denied by ACL: then RDB is guessed from INFO (a
 * background save has run since start, or runs now) and the message says "guessed". A Redis
 * without persistence is still ok (a cache may want that); it reports `persistence` 0, which an
 * alert rule can test (`redis(cache).persistence == 0`). A failing last save is named.
 *
 * The uv_poll_t is ours, not hiredis's adapters/libuv.h: in hiredis 0.14 that adapter returns on
 * a poll error without telling hiredis, and libuv reports a refused connect or a reset as exactly
 * that (POLLERR -> status UV_EBADF, handle stopped), so a stopped Redis would look like a hung one
 * until the timeout. Here an error status hands hiredis the events it asked for, and it reads the
 * real reason (SO_ERROR, the failed read): "connect 127.0.0.1:6379: Connection refused".
 *
 * Lifetime: the poll handle is embedded in the run. hiredis calls our cleanup hook whenever it
 * frees the context (after a failed connect, a lost connection, our disconnect or cancel's
 * redisAsyncFree); the hook closes the handle, and the close callback, which libuv runs later
 * from the loop when hiredis is long done with the context, releases the run. So the run (which
 * ac->data points at) outlives every hiredis callback. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "watch/probe.h"

/* Owned by its probe. */
struct rd {
    char *host;        /* address or name; NULL for a unix socket */
    char *path;        /* unix socket path, or NULL */
    char *user, *pass; /* decoded, or NULL (never shown) */
    int port;
    bool needs_lookup;
    char where[300]; /* "127.0.0.1:6379" or the socket path, for messages */
};

enum rd_cmd { RD_AUTH, RD_PING, RD_INFO, RD_CONFIG };
static const char *const cmd_names[] = {"auth", "ping", "info", "config"};

/* One attempt (the run's data). */
struct rd_run {
    redisAsyncContext *ac; /* NULL before connecting and once hiredis let go of it */
    uv_poll_t poll;        /* on ac's socket; closed by hiredis's cleanup hook */
    int events;            /* what hiredis wants: UV_READABLE | UV_WRITABLE */
    uv_getaddrinfo_t gai;
    bool is_resolving, is_polling, is_over;
    char failure[PROBE_MSG_MAX]; /* the first failure, or "" */
    bool has_info, has_config, is_rdb_saving, is_save_failing;
    double used_memory, clients;
    bool is_aof, is_rdb, rdb_guess;
};

/* ---- the URL (init) ------------------------------------------------------------------------ */
static char *decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (s[i] == '%' && i + 2 < n + 1 && sscanf(s + i + 1, "%2x", &v) == 1) {
            *o++ = (char)v;
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static int parse_url(const char *url, struct rd *k, struct err *err)
{
    if (str_starts(url, "unix:")) {
        const char *p = url + 5;
        while (p[0] == '/' && p[1] == '/')
            p++;
        if (p[0] != '/')
            return err_set(err, -TE_INVALID, "redis: \"%s\" must be unix:///path/to/redis.sock",
                           url);
        k->path = str_dup(p);
        str_copy(k->where, k->path, sizeof k->where);
        return 0;
    }
    if (str_starts(url, "rediss://"))
        return err_set(err, -TE_INVALID,
                       "redis: TLS (rediss://) is not supported; "
                       "use redis:// to a local port or a TLS tunnel");
    if (!str_starts(url, "redis://"))
        return err_set(err, -TE_INVALID, "redis: the URL must start with redis:// or unix://");
    const char *a = url + 8, *end = a + strcspn(a, "/?#"), *at = NULL;
    for (const char *q = a; q < end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(a, ':', (size_t)(at - a));
        if (colon) {
            if (colon > a)
                k->user = decode(a, (size_t)(colon - a));
            k->pass = decode(colon + 1, (size_t)(at - colon - 1));
        } else {
            k->pass = decode(a, (size_t)(at - a)); /* redis://secret@host, as redis-cli takes */
        }
        a = at + 1;
    }
    const char *hend, *pstart = NULL;
    if (*a == '[') {
        hend = memchr(a, ']', (size_t)(end - a));
        if (!hend)
            return err_set(err, -TE_INVALID, "redis: unclosed \"[\" in the host of the URL");
        k->host = str_ndup(a + 1, (size_t)(hend - a - 1));
        pstart = hend + 1 < end && hend[1] == ':' ? hend + 2 : NULL;
    } else {
        hend = memchr(a, ':', (size_t)(end - a));
        k->host = hend ? str_ndup(a, (size_t)(hend - a)) : str_ndup(a, (size_t)(end - a));
        pstart = hend ? hend + 1 : NULL;
    }
    if (!k->host[0]) {
        free(k->host);
        k->host = str_dup("127.0.0.1");
    }
    k->port = 6379;
    if (pstart) {
        char *e;
        long port = strtol(pstart, &e, 10);
        if (e != end || port < 1 || port > 65535)
            return err_set(err, -TE_INVALID,
                           "redis: the port must be a number from 1 to 65535, "
                           "not \"%.*s\"",
                           (int)(end - pstart), pstart);
        k->port = (int)port;
    }
    unsigned char buf[sizeof(struct in6_addr)];
    k->needs_lookup =
        inet_pton(AF_INET, k->host, buf) != 1 && inet_pton(AF_INET6, k->host, buf) != 1;
    str_fmt(k->where, sizeof k->where, strchr(k->host, ':') ? "[%s]:%d" : "%s:%d", k->host,
            k->port);
    return 0;
}

static void rd_fini(void *state)
{
    struct rd *k = state;
    free(k->host);
    free(k->path);
    free(k->user);
    free(k->pass);
}

static int rd_init(struct watch_probe *p, const struct probe_spec *spec, void *state,
                   struct err *err)
{
    const char *url = spec->u.redis.url;
    if (!url || !url[0])
        return err_set(err, -TE_INVALID, "redis: url is required (redis://host:port/0)");
    int rc = parse_url(url, state, err);
    if (rc < 0)
        return rc;
    probe_set_target(p, ((struct rd *)state)->where);
    return 0;
}

/* ---- ending ------------------------------------------------------------------------------- */
static void release(struct rd_run *rr)
{
    probe_run_release(probe_run_from_data(rr));
}

/* Keep the first failure ("auth: WRONGPASS ..."); reported when the last reply is in. */
static void note_failure(struct rd_run *rr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note_failure(struct rd_run *rr, const char *fmt, ...)
{
    if (rr->failure[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rr->failure, sizeof rr->failure, fmt, ap);
    va_end(ap);
}

/* "1.2 MiB": used memory as INFO's used_memory_human would say it, with a space. */
static void fmt_bytes(char *dst, size_t size, double b)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    for (; b >= 1024 && u + 1 < ARRAY_LEN(units); u++)
        b /= 1024;
    str_fmt(dst, size, b < 10 && u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static void report(struct rd_run *rr)
{
    struct probe_run *r = probe_run_from_data(rr);
    if (rr->has_info) {
        probe_run_metric(r, "used_memory", rr->used_memory);
        probe_run_metric(r, "connected_clients", rr->clients);
        probe_run_metric(r, "rdb_enabled", rr->is_rdb);
        probe_run_metric(r, "aof_enabled", rr->is_aof);
        probe_run_metric(r, "persistence", rr->is_rdb || rr->is_aof);
    }
    if (rr->failure[0] || !rr->has_info) {
        probe_run_report(r, PROBE_FAILING, "%s", rr->failure[0] ? rr->failure : "no INFO reply");
        return;
    }
    char mem[32];
    fmt_bytes(mem, sizeof mem, rr->used_memory);
    const char *what = rr->is_rdb && rr->is_aof ? "RDB and AOF"
                       : rr->is_rdb             ? "RDB"
                       : rr->is_aof             ? "AOF"
                                                : "none";
    probe_run_report(r, PROBE_OK, "PONG, %s used, %.0f client%s, persistence: %s%s%s", mem,
                     rr->clients, rr->clients == 1 ? "" : "s", what,
                     rr->rdb_guess ? " (guessed: CONFIG GET save was refused)" : "",
                     rr->is_save_failing ? " (the last save failed)" : "");
}

/* ---- replies ------------------------------------------------------------------------------- */
/* The value of "key:" in INFO text, or -1 when absent. */
static double info_num(const char *info, const char *key)
{
    size_t n = strlen(key);
    for (const char *l = info; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, key, n) == 0 && l[n] == ':')
            return strtod(l + n + 1, NULL);
    return -1;
}

static bool info_is(const char *info, const char *key, const char *value)
{
    size_t n = strlen(key), v = strlen(value);
    for (const char *l = info; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, key, n) == 0 && l[n] == ':' && strncmp(l + n + 1, value, v) == 0)
            return true;
    return false;
}

static void take_info(struct rd_run *rr, const char *info)
{
    rr->has_info = true;
    rr->used_memory = info_num(info, "used_memory");
    rr->clients = info_num(info, "connected_clients");
    rr->is_aof = info_num(info, "aof_enabled") == 1;
    rr->is_rdb_saving = info_num(info, "rdb_bgsave_in_progress") == 1 ||
                        info_num(info, "rdb_last_bgsave_time_sec") >= 0;
    rr->is_save_failing = info_is(info, "rdb_last_bgsave_status", "err") ||
                          info_is(info, "aof_last_write_status", "err");
}

static void on_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    struct rd_run *rr = ac->data;
    redisReply *reply = reply_;
    enum rd_cmd cmd = (enum rd_cmd)(uintptr_t)privdata;
    if (rr->is_over || !reply)
        return; /* a free or a lost connection: the connect or disconnect callback reports */
    struct rd *k = probe_run_state(probe_run_from_data(rr));
    if (reply->type == REDIS_REPLY_ERROR && cmd != RD_CONFIG) {
        const char *hint = str_starts(reply->str, "NOAUTH") && !k->pass
                               ? " (give the password in the URL: redis://:password@host)"
                               : "";
        note_failure(rr, "%s: %s%s", cmd_names[cmd], reply->str, hint);
    } else if (cmd == RD_PING &&
               !(reply->type == REDIS_REPLY_STATUS && str_eq(reply->str, "PONG"))) {
        note_failure(rr, "ping: unexpected answer (not PONG)");
    } else if (cmd == RD_INFO && reply->type == REDIS_REPLY_STRING) {
        take_info(rr, reply->str);
    } else if (cmd == RD_CONFIG) {
        rr->has_config = reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                         reply->element[1]->type == REDIS_REPLY_STRING;
        rr->rdb_guess = !rr->has_config; /* renamed away or denied: judge by INFO */
        rr->is_rdb = rr->has_config ? reply->element[1]->len > 0 : rr->is_rdb_saving;
        report(rr); /* the last reply: decide, then close politely */
        rr->is_over = true;
        redisAsyncDisconnect(ac);
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct rd_run *rr = ac->data;
    if (status == REDIS_OK || rr->is_over)
        return;
    struct rd *k = probe_run_state(probe_run_from_data(rr));
    rr->is_over = true; /* hiredis frees the context when this returns */
    probe_run_report(probe_run_from_data(rr), PROBE_FAILING, "connect %s: %s", k->where,
                     ac->errstr[0] ? ac->errstr : "failed");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rd_run *rr = ac->data;
    if (rr->is_over)
        return;
    struct rd *k = probe_run_state(probe_run_from_data(rr));
    rr->is_over = true;
    probe_run_report(probe_run_from_data(rr), PROBE_FAILING, "%s: connection lost: %s", k->where,
                     status != REDIS_OK && ac->errstr[0] ? ac->errstr : "closed");
}

/* ---- hiredis on the loop (see the top for why not adapters/libuv.h) ------------------------ */
static void on_poll(uv_poll_t *h, int status, int events)
{
    struct rd_run *rr = container_of(h, struct rd_run, poll);
    if (status < 0)
        events = rr->events; /* let hiredis find the error itself */
    if (rr->ac && (events & UV_READABLE))
        redisAsyncHandleRead(rr->ac);
    if (rr->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(rr->ac);
}

static void set_events(struct rd_run *rr, int events)
{
    rr->events = events;
    if (!rr->is_polling)
        return;
    int rc = events ? uv_poll_start(&rr->poll, events, on_poll) : uv_poll_stop(&rr->poll);
    assert(rc == 0); /* the handle is ours and open, its fd valid while hiredis holds it */
}

static void ev_add_read(void *arg)
{
    set_events(arg, ((struct rd_run *)arg)->events | UV_READABLE);
}

static void ev_del_read(void *arg)
{
    set_events(arg, ((struct rd_run *)arg)->events & ~UV_READABLE);
}

static void ev_add_write(void *arg)
{
    set_events(arg, ((struct rd_run *)arg)->events | UV_WRITABLE);
}

static void ev_del_write(void *arg)
{
    set_events(arg, ((struct rd_run *)arg)->events & ~UV_WRITABLE);
}

static void poll_closed(uv_handle_t *h)
{
    release(container_of((uv_poll_t *)h, struct rd_run, poll));
}

/* hiredis is freeing the context (it closes the socket right after): stop watching it now. */
static void ev_cleanup(void *arg)
{
    struct rd_run *rr = arg;
    rr->ac = NULL;
    if (!rr->is_polling)
        return; /* called twice by some hiredis versions */
    rr->is_polling = false;
    uv_close((uv_handle_t *)&rr->poll, poll_closed);
}

/* ---- connecting ---------------------------------------------------------------------------- */
/* Connect to `ip` (or the socket) and queue every command. 0, or < 0 with the message in err;
 * on failure nothing is held. */
static int connect_to(struct probe_run *r, const char *ip, struct err *err)
{
    struct rd *k = probe_run_state(r);
    struct rd_run *rr = probe_run_data(r);
    redisAsyncContext *ac =
        k->path ? redisAsyncConnectUnix(k->path) : redisAsyncConnect(ip, k->port);
    if (!ac)
        return err_set(err, -ENOMEM, "connect %s: out of memory", k->where);
    if (ac->err) {
        err_set(err, -ECONNREFUSED, "connect %s: %s", k->where, ac->errstr);
        redisAsyncFree(ac);
        return err->code;
    }
    int rc = uv_poll_init(probe_run_loop(r), &rr->poll, ac->c.fd);
    if (rc < 0) {
        redisAsyncFree(ac);
        return err_set(err, rc, "connect %s: cannot watch the socket: %s", k->where,
                       uv_strerror(rc));
    }
    rr->is_polling = true;
    ac->data = rr;
    rr->ac = ac;
    ac->ev.data = rr;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (k->pass && k->user)
        redisAsyncCommand(ac, on_reply, (void *)(uintptr_t)RD_AUTH, "AUTH %s %s", k->user, k->pass);
    else if (k->pass)
        redisAsyncCommand(ac, on_reply, (void *)(uintptr_t)RD_AUTH, "AUTH %s", k->pass);
    redisAsyncCommand(ac, on_reply, (void *)(uintptr_t)RD_PING, "PING");
    redisAsyncCommand(ac, on_reply, (void *)(uintptr_t)RD_INFO, "INFO");
    redisAsyncCommand(ac, on_reply, (void *)(uintptr_t)RD_CONFIG, "CONFIG GET save");
    return 0;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct rd_run *rr = container_of(req, struct rd_run, gai);
    struct probe_run *r = probe_run_from_data(rr);
    struct rd *k = probe_run_state(r);
    struct err err = {0};
    char ip[64];
    rr->is_resolving = false;
    if (rr->is_over) { /* cancelled meanwhile */
        uv_freeaddrinfo(res);
        release(rr);
        return;
    }
    if (status < 0 || !res) {
        probe_run_report(r, PROBE_FAILING, "connect %s: cannot resolve \"%s\": %s", k->where,
                         k->host, status < 0 ? uv_strerror(status) : "no address");
    } else {
        uv_ip_name(res->ai_addr, ip, sizeof ip);
        if (connect_to(r, ip, &err) == 0) {
            uv_freeaddrinfo(res);
            return;
        }
        probe_run_report(r, PROBE_FAILING, "%s", err.msg);
    }
    uv_freeaddrinfo(res);
    release(rr);
}

/* ---- the kind ------------------------------------------------------------------------------ */
static int rd_start(struct probe_run *r, struct err *err)
{
    struct rd *k = probe_run_state(r);
    struct rd_run *rr = probe_run_data(r);
    if (!k->needs_lookup)
        return connect_to(r, k->host, err);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(probe_run_loop(r), &rr->gai, on_resolved, k->host, NULL, &hints);
    if (rc < 0)
        return err_set(err, rc, "connect %s: cannot resolve \"%s\": %s", k->where, k->host,
                       uv_strerror(rc));
    rr->is_resolving = true;
    return 0;
}

static void rd_cancel(struct probe_run *r)
{
    struct rd_run *rr = probe_run_data(r);
    rr->is_over = true;
    if (rr->is_resolving)
        uv_cancel((uv_req_t *)&rr->gai); /* on_resolved still runs, then releases */
    else if (rr->ac)
        redisAsyncFree(rr->ac); /* -> ev_cleanup -> poll_closed -> release */
}

const struct probe_kind probe_redis = {
    .name = "redis",
    .state_size = sizeof(struct rd),
    .run_size = sizeof(struct rd_run),
    .init = rd_init,
    .fini = rd_fini,
    .start = rd_start,
    .cancel = rd_cancel,
};
