/* watch/probe_pg.c: `postgres: postgresql://tend@127.0.0.1:5432/app`: connect, run a query, and
 * report how many connections are in use against max_connections (seed: alert above 150 of 200).
 *
 * One attempt is one fresh connection, driven without ever blocking the loop:
 *   resolve  a host name is looked up with uv_getaddrinfo (libpq's own lookup is a blocking
 *            getaddrinfo) and handed to libpq as `hostaddr`, `host` kept for TLS and messages;
 *   connect  PQconnectStartParams, then PQconnectPoll each time a uv_poll_t on PQsocket() says
 *            the socket is ready. libpq may switch sockets while connecting (next address, SSL
 *            refused then plain): a new socket can even reuse the old number, which libuv cannot
 *            tell apart, so the poll handle is closed and made anew after every step;
 *   query    one simple-protocol round trip (PQsendQuery in non-blocking mode) carrying the
 *            metrics statement first and then the configured query ("SELECT 1" by default); the
 *            metrics come back even when the user's query fails;
 *   finish   the poll handle is closed, then PQfinish() (non-blocking: at most a 5-byte
 *            Terminate message into an empty socket buffer), and the run is released from the
 *            last close callback.
 * A hung server (SYN unanswered, or accepted and silent) costs one socket until the driver's
 * timeout cancels the attempt; cancel() takes the same `finish` path from any phase.
 *
 * The configured query shares the round trip, so it runs inside the implicit transaction of a
 * multi-statement simple query: a statement that refuses transaction blocks (VACUUM, CREATE
 * DATABASE) fails there; a check's query is a SELECT anyway.
 *
 * Connections counted are client backends (`backend_type = 'client backend'`): those are what
 * max_connections limits, background workers are not (PostgreSQL 10+). The probe's own
 * connection is one of them. The URL may hold a password: it is never put in a message (libpq's
 * messages name host, port and user only; parse errors are masked). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "watch/pqx.h"
#include "watch/probe.h"

#define PG_MAX_OPTS 40 /* libpq 15 knows 35 connection options */
#define PG_METRICS_SQL                                                                             \
    "SELECT count(*) FILTER (WHERE backend_type = 'client backend'), "                             \
    "current_setting('max_connections')::int FROM pg_stat_activity;\n"

/* Owned by its probe: the parsed URL, as keyword/value pairs for PQconnectStartParams. */
struct pg {
    char *keys[PG_MAX_OPTS + 3], *vals[PG_MAX_OPTS + 3]; /* NULL-terminated */
    int hostaddr_at; /* index of the "hostaddr" pair filled after a lookup, or -1 */
    char *lookup;    /* the host name to resolve first, or NULL (address, socket, several) */
    char *sql;       /* PG_METRICS_SQL + the configured query */
    bool is_custom;  /* a query was configured */
    char where[300]; /* "127.0.0.1:5432" or "/var/run/postgresql:5432", for messages */
};

enum pg_phase { PG_RESOLVING, PG_CONNECTING, PG_QUERYING, PG_OVER };

/* One poll handle per socket step (see the top); freed in its close callback. */
struct pg_poll {
    uv_poll_t h;
    struct pg_run *pr;
};

/* One attempt (the run's data). */
struct pg_run {
    const struct pqx *px;
    enum pg_phase phase;
    uv_getaddrinfo_t gai;
    struct pg_poll *poll; /* the live poll handle, or NULL */
    int npending;         /* lookup + poll handles not yet called back */
    PGconn *conn;
    char addr[64];    /* the looked-up address, when there was a lookup */
    bool is_flushing; /* the query is not all sent yet (PQflush said 1) */
    int nresults;
    bool has_metrics;
    double connections, max_connections;
    char failure[PROBE_MSG_MAX]; /* the first query error, or "" */
};

/* ---- parsing the URL (init) ---------------------------------------------------------------- */
static void pg_fini(void *state)
{
    struct pg *k = state;
    for (int i = 0; k->keys[i]; i++) {
        free(k->keys[i]);
        free(k->vals[i]);
    }
    free(k->lookup);
    free(k->sql);
}

static void add_opt(struct pg *k, int *n, const char *key, const char *val)
{
    k->keys[*n] = str_dup(key);
    k->vals[*n] = str_dup(val);
    (*n)++;
}

static bool is_address(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int pg_init(struct watch_probe *p, const struct probe_spec *spec, void *state,
                   struct err *err)
{
    const struct probe_postgres_spec *s = &spec->u.postgres;
    struct pg *k = state;
    const struct pqx *px;
    if (!s->url || !s->url[0])
        return err_set(err, -TE_INVALID,
                       "postgres: url is required "
                       "(postgresql://user@host:port/database)");
    int rc = pqx_load(&px, err);
    if (rc < 0)
        return err_prefix(err, "postgres");
    char *why = NULL;
    PQconninfoOption *opts = px->conninfoParse(s->url, &why);
    if (!opts) {
        char masked[300];
        str_mask_url(masked, sizeof masked, s->url);
        rc = err_set(err, -TE_INVALID, "postgres: invalid connection URL \"%s\": %.*s", masked,
                     why ? (int)strcspn(why, "\n") : 13, why ? why : "out of memory");
        px->freemem(why);
        return rc;
    }
    int n = 0;
    const char *host = NULL, *hostaddr = NULL, *port = NULL;
    bool has_app_name = false;
    for (PQconninfoOption *o = opts; o->keyword && n < PG_MAX_OPTS; o++) {
        if (!o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
        else if (strcmp(o->keyword, "application_name") == 0)
            has_app_name = true;
        add_opt(k, &n, o->keyword, o->val);
    }
    /* Seen in pg_stat_activity: whose connection this is. */
    if (!has_app_name)
        add_opt(k, &n, "application_name", "tend check");
    if (port && (!port[0] || port[strspn(port, "0123456789,")])) {
        rc = err_set(err, -TE_INVALID, "postgres: the port must be a number, not \"%s\"", port);
        goto out;
    }
    k->hostaddr_at = -1;
    bool is_socket = !host || !host[0] || host[0] == '/' || host[0] == '@';
    if (host && strchr(host, ',') && !hostaddr) {
        for (const char *h = host; *h; h += strcspn(h, ","), h += *h == ',') {
            char one[256];
            str_fmt(one, sizeof one, "%.*s", (int)strcspn(h, ","), h);
            if (one[0] && one[0] != '/' && !is_address(one)) {
                rc = err_set(err, -TE_INVALID,
                             "postgres: several hosts must be given as IP addresses (\"%s\" "
                             "would need a blocking name lookup)",
                             one);
                goto out;
            }
        }
    } else if (!is_socket && !hostaddr && !is_address(host)) {
        k->lookup = str_dup(host);
        k->hostaddr_at = n;
        add_opt(k, &n, "hostaddr", "");
    }
    const char *shown = !is_socket ? host : hostaddr ? hostaddr : host && host[0] ? host : NULL;
    str_fmt(k->where, sizeof k->where, "%s:%s", shown ? shown : "local socket",
            port ? port : "5432");
    probe_set_target(p, k->where);
    const char *q = s->query && s->query[0] ? s->query : "SELECT 1";
    k->is_custom = s->query && s->query[0] && strcasecmp(s->query, "SELECT 1") != 0;
    k->sql = xmalloc(strlen(PG_METRICS_SQL) + strlen(q) + 1);
    memcpy(k->sql, PG_METRICS_SQL, strlen(PG_METRICS_SQL));
    memcpy(k->sql + strlen(PG_METRICS_SQL), q, strlen(q) + 1);
    rc = 0;
out:
    px->conninfoFree(opts);
    return rc;
}

/* ---- ending an attempt ---------------------------------------------------------------------- */
static void maybe_release(struct pg_run *pr)
{
    if (pr->phase == PG_OVER && pr->npending == 0)
        probe_run_release(probe_run_from_data(pr));
}

static void poll_closed(uv_handle_t *h)
{
    struct pg_poll *pp = container_of((uv_poll_t *)h, struct pg_poll, h);
    struct pg_run *pr = pp->pr;
    free(pp);
    pr->npending--;
    maybe_release(pr);
}

static void drop_poll(struct pg_run *pr)
{
    if (!pr->poll)
        return;
    uv_close((uv_handle_t *)&pr->poll->h, poll_closed); /* stops watching the fd at once */
    pr->poll = NULL;
}

/* Let go of everything: the poll first (libuv must stop watching before the socket closes),
 * then the connection. Idempotent; the run is released once every callback has come. */
static void finish(struct pg_run *pr)
{
    if (pr->phase == PG_OVER)
        return;
    if (pr->phase == PG_RESOLVING)
        uv_cancel((uv_req_t *)&pr->gai); /* on_resolved still runs, with UV_ECANCELED */
    pr->phase = PG_OVER;
    drop_poll(pr);
    if (pr->conn)
        pr->px->finish(pr->conn);
    pr->conn = NULL;
    maybe_release(pr);
}

static void fail(struct pg_run *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct pg_run *pr, const char *fmt, ...)
{
    char msg[PROBE_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    probe_run_report(probe_run_from_data(pr), PROBE_FAILING, "%s", msg);
    finish(pr);
}

/* libpq's connection error, made one line: its first line without the "connection to server at
 * ..., port N failed: " preamble (we say where ourselves), "FATAL:  " with one space. */
static void conn_error(struct pg_run *pr, char *dst, size_t size)
{
    const char *m = pr->conn ? pr->px->errorMessage(pr->conn) : "out of memory";
    const char *f = strstr(m, " failed: ");
    if (str_starts(m, "connection to server") && f)
        m = f + strlen(" failed: ");
    else if (str_starts(m, "could not connect to server: "))
        m = m + strlen("could not connect to server: ");
    size_t len = strcspn(m, "\n");
    if (str_starts(m, "fe_sendauth: no password supplied")) {
        str_copy(dst, "the server wants a password (give it in the URL)", size);
        return;
    }
    const char *sp = strstr(m, ":  ");
    if (sp && (size_t)(sp - m) < len && sp - m < 8) /* "FATAL:  x" -> "FATAL: x" */
        str_fmt(dst, size, "%.*s: %.*s", (int)(sp - m), m, (int)(len - (size_t)(sp - m) - 3),
                sp + 3);
    else
        str_fmt(dst, size, "%.*s", (int)len, m);
}

/* ---- connecting --------------------------------------------------------------------------- */
static void on_poll(uv_poll_t *h, int status, int events);

/* Watch the connection's socket for `events` with a new poll handle (connect) or the same one. */
static void watch(struct pg_run *pr, int events, bool is_new)
{
    struct pg *k = probe_run_state(probe_run_from_data(pr));
    if (is_new || !pr->poll) {
        drop_poll(pr);
        int fd = pr->px->socket(pr->conn);
        if (fd < 0) {
            fail(pr, "connect %s: libpq has no socket", k->where);
            return;
        }
        struct pg_poll *pp = xcalloc(1, sizeof *pp);
        pp->pr = pr;
        int rc = uv_poll_init(probe_run_loop(probe_run_from_data(pr)), &pp->h, fd);
        if (rc < 0) {
            free(pp);
            fail(pr, "connect %s: cannot watch the socket: %s", k->where, uv_strerror(rc));
            return;
        }
        pr->poll = pp;
        pr->npending++;
    }
    int rc = uv_poll_start(&pr->poll->h, events, on_poll);
    if (rc < 0)
        fail(pr, "%s %s: cannot watch the socket: %s",
             pr->phase == PG_QUERYING ? "query on" : "connect", k->where, uv_strerror(rc));
}

static void send_query(struct pg_run *pr);

static void connect_step(struct pg_run *pr, PostgresPollingStatusType ps)
{
    struct pg *k = probe_run_state(probe_run_from_data(pr));
    char why[PROBE_MSG_MAX];
    switch (ps) {
    case PGRES_POLLING_READING:
        watch(pr, UV_READABLE, true);
        return;
    case PGRES_POLLING_WRITING:
        watch(pr, UV_WRITABLE, true);
        return;
    case PGRES_POLLING_OK:
        send_query(pr);
        return;
    default:
        conn_error(pr, why, sizeof why);
        fail(pr, "connect %s: %s", k->where, why);
        return;
    }
}

static void connect_begin(struct pg_run *pr)
{
    struct pg *k = probe_run_state(probe_run_from_data(pr));
    if (k->hostaddr_at >= 0) { /* the vals array is the probe's: point it here for this call */
        char *saved = k->vals[k->hostaddr_at];
        k->vals[k->hostaddr_at] = pr->addr;
        pr->conn = pr->px->connectStartParams((const char *const *)k->keys,
                                              (const char *const *)k->vals, 0);
        k->vals[k->hostaddr_at] = saved;
    } else {
        pr->conn = pr->px->connectStartParams((const char *const *)k->keys,
                                              (const char *const *)k->vals, 0);
    }
    pr->phase = PG_CONNECTING;
    if (pr->conn && pr->px->status(pr->conn) != CONNECTION_BAD)
        connect_step(pr, PGRES_POLLING_WRITING); /* libpq's documented first step */
    else
        connect_step(pr, PGRES_POLLING_FAILED);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct pg_run *pr = container_of(req, struct pg_run, gai);
    struct pg *k = probe_run_state(probe_run_from_data(pr));
    pr->npending--;
    if (pr->phase == PG_OVER) { /* cancelled meanwhile */
        uv_freeaddrinfo(res);
        maybe_release(pr);
        return;
    }
    if (status < 0 || !res) {
        fail(pr, "connect %s: cannot resolve \"%s\": %s", k->where, k->lookup,
             status < 0 ? uv_strerror(status) : "no address");
    } else {
        uv_ip_name(res->ai_addr, pr->addr, sizeof pr->addr);
        connect_begin(pr);
    }
    uv_freeaddrinfo(res);
}

/* ---- querying ------------------------------------------------------------------------------ */
static void send_query(struct pg_run *pr)
{
    struct pg *k = probe_run_state(probe_run_from_data(pr));
    char why[PROBE_MSG_MAX];
    pr->phase = PG_QUERYING;
    if (pr->px->setnonblocking(pr->conn, 1) != 0 || !pr->px->sendQuery(pr->conn, k->sql)) {
        conn_error(pr, why, sizeof why);
        fail(pr, "query on %s: %s", k->where, why);
        return;
    }
    int rc = pr->px->flush(pr->conn); /* 1: more to send when the socket is writable */
    if (rc < 0) {
        conn_error(pr, why, sizeof why);
        fail(pr, "query on %s: %s", k->where, why);
        return;
    }
    pr->is_flushing = rc == 1;
    watch(pr, rc ? UV_READABLE | UV_WRITABLE : UV_READABLE, true);
}

/* One result of the round trip: the metrics row first, then the configured query's. */
static void take_result(struct pg_run *pr, PGresult *res)
{
    const struct pqx *px = pr->px;
    ExecStatusType es = px->resultStatus(res);
    int i = pr->nresults++;
    if (es == PGRES_FATAL_ERROR || es == PGRES_BAD_RESPONSE) {
        if (!pr->failure[0]) {
            const char *sev = px->resultErrorField(res, PG_DIAG_SEVERITY);
            const char *text = px->resultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            str_fmt(pr->failure, sizeof pr->failure, "query: %s: %s", sev ? sev : "ERROR",
                    text ? text : "the server answered with an error");
        }
    } else if (es == PGRES_COPY_IN || es == PGRES_COPY_OUT || es == PGRES_COPY_BOTH) {
        if (!pr->failure[0])
            str_copy(pr->failure, "query: COPY cannot be used in a check", sizeof pr->failure);
    } else if (i == 0 && es == PGRES_TUPLES_OK && px->ntuples(res) == 1 && px->nfields(res) == 2) {
        pr->connections = strtod(px->getvalue(res, 0, 0), NULL);
        pr->max_connections = strtod(px->getvalue(res, 0, 1), NULL);
        pr->has_metrics = true;
    }
}

static void done(struct pg_run *pr)
{
    struct probe_run *r = probe_run_from_data(pr);
    struct pg *k = probe_run_state(r);
    double pct = pr->max_connections > 0 ? pr->connections * 100 / pr->max_connections : 0;
    if (pr->has_metrics) {
        probe_run_metric(r, "connections", pr->connections);
        probe_run_metric(r, "max_connections", pr->max_connections);
        probe_run_metric(r, "connections_pct", pct);
    }
    if (pr->failure[0])
        probe_run_report(r, PROBE_FAILING, "%s", pr->failure);
    else if (pr->has_metrics)
        probe_run_report(r, PROBE_OK, "%s%.0f of %.0f connections (%.0f%%)",
                         k->is_custom ? "query ok, " : "", pr->connections, pr->max_connections,
                         pct);
    else
        probe_run_report(r, PROBE_OK, "query ok on %s", k->where);
    finish(pr);
}

static void query_ready(struct pg_run *pr, int events, int status)
{
    const struct pqx *px = pr->px;
    struct pg *k = probe_run_state(probe_run_from_data(pr));
    char why[PROBE_MSG_MAX];
    if (pr->is_flushing && (events & UV_WRITABLE)) {
        int rc = px->flush(pr->conn);
        if (rc < 0)
            goto lost;
        pr->is_flushing = rc == 1;
    }
    if ((events & UV_READABLE) && !px->consumeInput(pr->conn))
        goto lost;
    while (!px->isBusy(pr->conn)) {
        PGresult *res = px->getResult(pr->conn);
        if (!res) {
            done(pr);
            return;
        }
        take_result(pr, res);
        px->clear(res);
        if (pr->nresults > 0 && str_starts(pr->failure, "query: COPY")) {
            done(pr); /* a COPY never ends by itself; PQfinish aborts it */
            return;
        }
    }
    if (status < 0) { /* libpq saw nothing wrong, but the socket did: do not spin on it */
        fail(pr, "query on %s: %s", k->where, uv_strerror(status));
        return;
    }
    watch(pr, pr->is_flushing ? UV_READABLE | UV_WRITABLE : UV_READABLE, false);
    return;
lost:
    conn_error(pr, why, sizeof why);
    fail(pr, "query on %s: %s", k->where, why);
}

/* libuv reports a socket error (POLLERR: a refused connect, a reset) as status UV_EBADF and stops
 * the handle; libpq then reads the real reason (SO_ERROR, the failed recv) when asked to go on. */
static void on_poll(uv_poll_t *h, int status, int events)
{
    struct pg_run *pr = container_of(h, struct pg_poll, h)->pr;
    if (status < 0)
        events = UV_READABLE | UV_WRITABLE;
    if (pr->phase == PG_CONNECTING)
        connect_step(pr, pr->px->connectPoll(pr->conn));
    else if (pr->phase == PG_QUERYING)
        query_ready(pr, events, status);
}

/* ---- the kind ------------------------------------------------------------------------------ */
static int pg_start(struct probe_run *r, struct err *err)
{
    struct pg *k = probe_run_state(r);
    struct pg_run *pr = probe_run_data(r);
    int rc = pqx_load(&pr->px, err); /* loaded by init already: cannot fail here */
    if (rc < 0)
        return rc;
    if (!k->lookup) {
        connect_begin(pr);
        return 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    pr->phase = PG_RESOLVING;
    rc = uv_getaddrinfo(probe_run_loop(r), &pr->gai, on_resolved, k->lookup, NULL, &hints);
    if (rc < 0)
        return err_set(err, rc, "connect %s: cannot resolve \"%s\": %s", k->where, k->lookup,
                       uv_strerror(rc));
    pr->npending++;
    return 0;
}

static void pg_cancel(struct probe_run *r)
{
    finish(probe_run_data(r));
}

const struct probe_kind probe_postgres = {
    .name = "postgres",
    .state_size = sizeof(struct pg),
    .run_size = sizeof(struct pg_run),
    .init = pg_init,
    .fini = pg_fini,
    .start = pg_start,
    .cancel = pg_cancel,
};
