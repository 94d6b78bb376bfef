/* watch/alog_tail.c: tail one nginx access log and keep per-app request statistics.
 *
 * Tailing polls with a uv timer (every poll_ms, 250 ms by default) rather than uv_fs_event:
 * inotify watches an inode, so after logrotate renames the file it keeps reporting the old one
 * and a second watch on the folder would be needed; it fires once per nginx write (thousands a
 * second on a busy server) where one read per tick batches them; and it is silent on some file
 * systems (NFS, some overlays). A tick costs a pread() and a stat() when nothing changed.
 *
 * Each tick reads from the saved offset with pread() in 64 KiB chunks, at most 1 MiB per turn
 * of the loop (a few milliseconds of parsing); when more is waiting the timer fires again on
 * the next turn, so other handles run in between. At end of file it looks for the two kinds
 * of rotation: the file got shorter than our offset (copytruncate): read again from 0; the
 * path names another inode (rename + create, or delete + create): the old file has just been
 * read to its end, so close it and read the new one from its start. Limits: a copytruncate
 * refilled past our offset between two ticks is not seen as a truncation, and lines nginx writes
 * to the old file after we switched (before its USR1 reopen) are not read.
 *
 * Statistics: each app has counts since start and, for each distinct slot width, a hist_win
 * ring. A window W uses slots of the largest "round" width not above W/5 (1m: 10 s slots; 5m
 * and 15m share one ring of 1 min slots), so it covers W plus at most a fifth of W, and windows
 * of similar size share memory. Slot histograms are allocated on first use. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "watch/alog.h"

#define CHUNK (64 * 1024)
#define TURN_BYTES (1024 * 1024)
#define LINE_MAX_BYTES (64 * 1024) /* longer lines are counted as malformed and skipped */
#define WINDOWS_MAX 8
#define WINDOW_MIN_MS 1000ull
#define WINDOW_MAX_MS (24 * 3600 * 1000ull)

static const uint64_t default_windows[] = {60000, 300000, 900000};
static const uint64_t round_slots_ms[] = {1000,   5000,   10000,   30000,  60000,
                                          300000, 600000, 1800000, 3600000};

struct window {
    uint64_t ms;
    unsigned ring;
};

/* One app named by some route of this log. Owned by its alog. */
struct app {
    char *name;
    struct alog_totals tot;
    struct hist_win *rings; /* [a->nrings] */
};

struct upstream_route {
    size_t app;
    int lo, hi;
};

struct location_route {
    size_t app;
    char *prefix;
    size_t len;
};

/* Owned by the watch module (alog_new / alog_free). */
struct alog {
    uv_loop_t *loop;
    uv_timer_t timer;
    bool is_timer_init;
    char *path, *format;
    struct alog_format *fmt;
    uint64_t poll_ms;

    int fd; /* -1 while the file is not open */
    dev_t dev;
    ino_t ino;
    uint64_t off;
    bool is_first_open; /* the first open starts at the end of what is there */
    int last_errno;     /* of the last failed open or read, so each failure is logged once */
    struct buf partial; /* a line whose end has not been read yet */
    bool is_skipping;   /* inside a line over LINE_MAX_BYTES */
    char *chunk;

    uint64_t lines, malformed, unmatched, rotations, truncations;
    struct window win[WINDOWS_MAX];
    unsigned nwin;
    uint64_t ring_slot_ms[WINDOWS_MAX];
    unsigned ring_nslots[WINDOWS_MAX], nrings;
    struct app *apps;
    size_t napps;
    struct upstream_route *ups;
    size_t nups;
    struct location_route *locs; /* longest prefix first */
    size_t nlocs;
};

/* ---- configuration -------------------------------------------------------------------------- */

static size_t app_index(struct alog *a, const char *name)
{
    for (size_t i = 0; i < a->napps; i++)
        if (strcmp(a->apps[i].name, name) == 0)
            return i;
    a->apps = xrealloc(a->apps, (a->napps + 1) * sizeof *a->apps);
    memset(&a->apps[a->napps], 0, sizeof a->apps[0]);
    a->apps[a->napps].name = str_dup(name);
    return a->napps++;
}

static int add_route(struct alog *a, const struct alog_route *r, struct err *err)
{
    unsigned has = alog_format_has(a->fmt);
    if (!r->app || !*r->app)
        return err_set(err, -TE_INVALID, "a route has no app name");
    if (r->port_lo > 0) {
        if (r->port_hi < r->port_lo || r->port_hi > 65535)
            return err_set(err, -TE_INVALID,
                           "app \"%s\": upstream ports %d-%d are not a range "
                           "within 1-65535",
                           r->app, r->port_lo, r->port_hi);
        if (!(has & ALOG_HAS_UPSTREAM)) {
            int rc = err_set(err, -TE_INVALID,
                             "app \"%s\" is mapped by upstream port but the log format "
                             "has no $upstream_addr",
                             r->app);
            err_hint(err, "add $upstream_addr to nginx's log_format and give that string as "
                          "`format:`, or map the app by `location:`");
            return rc;
        }
        a->ups = xrealloc(a->ups, (a->nups + 1) * sizeof *a->ups);
        a->ups[a->nups++] = (struct upstream_route){app_index(a, r->app), r->port_lo, r->port_hi};
        return 0;
    }
    if (!r->location)
        return err_set(err, -TE_INVALID, "app \"%s\" has neither `upstream:` nor `location:`",
                       r->app);
    if (r->location[0] != '/')
        return err_set(err, -TE_INVALID, "app \"%s\": location \"%s\" must start with \"/\"",
                       r->app, r->location);
    if (!(has & ALOG_HAS_PATH))
        return err_set(err, -TE_INVALID,
                       "app \"%s\" is mapped by location but the log format "
                       "has no $request or $uri",
                       r->app);
    size_t len = strlen(r->location), at = 0;
    while (at < a->nlocs && a->locs[at].len >= len)
        at++;
    a->locs = xrealloc(a->locs, (a->nlocs + 1) * sizeof *a->locs);
    memmove(&a->locs[at + 1], &a->locs[at], (a->nlocs - at) * sizeof *a->locs);
    a->locs[at] = (struct location_route){app_index(a, r->app), str_dup(r->location), len};
    a->nlocs++;
    return 0;
}

static int add_window(struct alog *a, uint64_t ms, struct err *err)
{
    if (ms < WINDOW_MIN_MS || ms > WINDOW_MAX_MS)
        return err_set(err, -TE_INVALID, "window of %" PRIu64 " ms is not between 1s and 24h", ms);
    for (unsigned i = 0; i < a->nwin; i++)
        if (a->win[i].ms == ms)
            return 0;
    if (a->nwin == WINDOWS_MAX)
        return err_set(err, -TE_INVALID, "more than %d windows", WINDOWS_MAX);
    uint64_t slot = round_slots_ms[0];
    for (size_t i = 0; i < ARRAY_LEN(round_slots_ms); i++)
        if (round_slots_ms[i] <= ms / 5)
            slot = round_slots_ms[i];
    unsigned need = (unsigned)((ms + slot - 1) / slot) + 1, r = 0;
    while (r < a->nrings && a->ring_slot_ms[r] != slot)
        r++;
    if (r == a->nrings) {
        a->ring_slot_ms[r] = slot;
        a->ring_nslots[r] = 0;
        a->nrings++;
    }
    a->ring_nslots[r] = MAX(a->ring_nslots[r], need);
    a->win[a->nwin++] = (struct window){ms, r};
    return 0;
}

int alog_new(uv_loop_t *loop, const struct alog_config *cfg, struct alog **out, struct err *err)
{
    struct alog *a = xcalloc(1, sizeof *a);
    int rc = 0;
    *out = NULL;
    a->loop = loop;
    a->fd = -1;
    a->is_first_open = true;
    a->path = str_dup(cfg->path ? cfg->path : "");
    a->format = str_dup(cfg->format ? cfg->format : "combined");
    a->poll_ms = cfg->poll_ms ? cfg->poll_ms : ALOG_POLL_MS;
    buf_init(&a->partial, LINE_MAX_BYTES);
    if ((rc = alog_format_compile(a->format, &a->fmt, err)) < 0)
        goto out;
    for (size_t i = 0; i < cfg->nroutes && rc == 0; i++)
        rc = add_route(a, &cfg->routes[i], err);
    const uint64_t *w = cfg->windows_ms ? cfg->windows_ms : default_windows;
    size_t nw = cfg->windows_ms ? cfg->nwindows : ARRAY_LEN(default_windows);
    for (size_t i = 0; i < nw && rc == 0; i++)
        rc = add_window(a, w[i], err);
    if (rc < 0)
        goto out;
    uint64_t now = clock_mono_ms();
    for (size_t i = 0; i < a->napps; i++) {
        a->apps[i].rings = xcalloc(a->nrings, sizeof *a->apps[i].rings);
        for (unsigned r = 0; r < a->nrings; r++) {
            hist_win_init(&a->apps[i].rings[r], a->ring_slot_ms[r], a->ring_nslots[r]);
            hist_win_start(&a->apps[i].rings[r], now);
        }
    }
    a->chunk = xmalloc(CHUNK);
    *out = a;
    return 0;
out:
    err_prefix(err, "access log \"%s\"", a->path);
    alog_free(a);
    return rc;
}

static void free_all(struct alog *a)
{
    for (size_t i = 0; i < a->napps; i++) {
        for (unsigned r = 0; a->apps[i].rings && r < a->nrings; r++)
            hist_win_fini(&a->apps[i].rings[r]);
        free(a->apps[i].rings);
        free(a->apps[i].name);
    }
    for (size_t i = 0; i < a->nlocs; i++)
        free(a->locs[i].prefix);
    free(a->apps);
    free(a->ups);
    free(a->locs);
    alog_format_free(a->fmt);
    buf_fini(&a->partial);
    free(a->chunk);
    free(a->path);
    free(a->format);
    free(a);
}

static void timer_closed(uv_handle_t *h)
{
    free_all(container_of((uv_timer_t *)h, struct alog, timer));
}

void alog_free(struct alog *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    if (a->is_timer_init)
        uv_close((uv_handle_t *)&a->timer, timer_closed);
    else
        free_all(a);
}

/* ---- statistics ----------------------------------------------------------------------------- */

static unsigned status_class(int status)
{
    return status >= 100 && status < 600 ? (unsigned)(status / 100 - 1) : 5;
}

static struct app *route(struct alog *a, const struct alog_rec *r)
{
    if (r->upstream_port > 0)
        for (size_t i = 0; i < a->nups; i++)
            if (r->upstream_port >= a->ups[i].lo && r->upstream_port <= a->ups[i].hi)
                return &a->apps[a->ups[i].app];
    for (size_t i = 0; i < a->nlocs; i++)
        if (r->path.len >= a->locs[i].len &&
            memcmp(r->path.p, a->locs[i].prefix, a->locs[i].len) == 0)
            return &a->apps[a->locs[i].app];
    return NULL;
}

static void count_line(struct alog *a, const char *line, size_t len, uint64_t now)
{
    struct alog_rec r;
    if (len == 0 || (len == 1 && line[0] == '\r'))
        return;
    a->lines++;
    if (alog_parse(a->fmt, line, len, &r) < 0) {
        a->malformed++;
        return;
    }
    struct app *app = route(a, &r);
    if (!app) {
        a->unmatched++;
        return;
    }
    unsigned cls = status_class(r.status);
    int64_t lat = r.request_time_us >= 0 ? r.request_time_us : r.upstream_time_us;
    app->tot.status[cls]++;
    if (lat >= 0)
        hist_prom_add(&app->tot.latency, (uint64_t)lat);
    for (unsigned i = 0; i < a->nrings; i++)
        hist_win_add(&app->rings[i], now, lat, cls);
}

/* A line cut by rotation or truncation, or too long to keep, counts as one malformed line. */
static void drop_partial(struct alog *a)
{
    if (a->partial.len > 0 && !a->is_skipping) {
        a->lines++;
        a->malformed++;
    }
    buf_reset(&a->partial);
    a->is_skipping = false;
}

static void keep_partial(struct alog *a, const char *p, size_t n)
{
    if (a->is_skipping)
        return;
    if (buf_append(&a->partial, p, n) < 0) {
        buf_reset(&a->partial);
        a->is_skipping = true;
        a->lines++;
        a->malformed++;
    }
}

static void feed_at(struct alog *a, const char *p, size_t n, uint64_t now)
{
    const char *end = p + n;
    if (a->partial.len > 0 || a->is_skipping) {
        const char *nl = memchr(p, '\n', n);
        if (!nl) {
            keep_partial(a, p, n);
            return;
        }
        keep_partial(a, p, (size_t)(nl - p));
        if (!a->is_skipping)
            count_line(a, a->partial.ptr, a->partial.len, now);
        buf_reset(&a->partial);
        a->is_skipping = false;
        p = nl + 1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            keep_partial(a, p, (size_t)(end - p));
            return;
        }
        count_line(a, p, (size_t)(nl - p), now);
        p = nl + 1;
    }
}

void alog_feed(struct alog *a, const char *data, size_t len)
{
    feed_at(a, data, len, clock_mono_ms());
}

static const struct app *find_app(const struct alog *a, const char *name)
{
    for (size_t i = 0; i < a->napps; i++)
        if (strcmp(a->apps[i].name, name) == 0)
            return &a->apps[i];
    return NULL;
}

static void window_of(const struct app *app, const struct window *w, uint64_t now,
                      struct alog_window *out)
{
    struct hist_win_sum s;
    hist_win_sum(&app->rings[w->ring], now, w->ms, &s);
    memset(out, 0, sizeof *out);
    out->window_ms = w->ms;
    out->covered_ms = s.covered_ms;
    for (unsigned c = 0; c < 6; c++) {
        out->status[c] = s.c[c];
        out->requests += s.c[c];
    }
    if (s.covered_ms > 0)
        out->rate = (double)out->requests * 1000.0 / (double)s.covered_ms;
    if (out->requests > 0)
        out->error_rate = (double)out->status[4] / (double)out->requests;
    out->latency_count = s.h.count;
    out->p50_us = hist_percentile(&s.h, 0.50);
    out->p95_us = hist_percentile(&s.h, 0.95);
    out->p99_us = hist_percentile(&s.h, 0.99);
    out->avg_us = s.h.count ? s.h.sum_us / s.h.count : 0;
}

int alog_app_window(struct alog *a, const char *app, uint64_t window_ms, struct alog_window *out)
{
    const struct app *p = find_app(a, app);
    for (unsigned i = 0; p && i < a->nwin; i++) {
        if (a->win[i].ms == window_ms) {
            window_of(p, &a->win[i], clock_mono_ms(), out);
            return 0;
        }
    }
    return -TE_NOTFOUND;
}

size_t alog_app_count(const struct alog *a)
{
    return a->napps;
}

const char *alog_app_name(const struct alog *a, size_t i)
{
    return i < a->napps ? a->apps[i].name : NULL;
}

const struct alog_totals *alog_app_totals(const struct alog *a, size_t i)
{
    return i < a->napps ? &a->apps[i].tot : NULL;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void window_label(char *dst, size_t size, uint64_t ms)
{
    if (ms % 3600000 == 0)
        snprintf(dst, size, "%" PRIu64 "h", ms / 3600000);
    else if (ms % 60000 == 0)
        snprintf(dst, size, "%" PRIu64 "m", ms / 60000);
    else if (ms % 1000 == 0)
        snprintf(dst, size, "%" PRIu64 "s", ms / 1000);
    else
        snprintf(dst, size, "%" PRIu64 "ms", ms);
}

static json_t *status_json(const uint64_t st[6])
{
    return json_pack("{sIsIsIsIsIsI}", "1xx", (json_int_t)st[0], "2xx", (json_int_t)st[1], "3xx",
                     (json_int_t)st[2], "4xx", (json_int_t)st[3], "5xx", (json_int_t)st[4], "other",
                     (json_int_t)st[5]);
}

static json_t *window_json(const struct app *app, const struct window *win, uint64_t now)
{
    struct alog_window w;
    char label[32];
    window_of(app, win, now, &w);
    window_label(label, sizeof label, w.window_ms);
    json_t *lat = w.latency_count == 0
                      ? json_null()
                      : json_pack("{sfsfsf}", "p50", (double)w.p50_us / 1000.0, "p95",
                                  (double)w.p95_us / 1000.0, "p99", (double)w.p99_us / 1000.0);
    return json_pack("{sssfsIsfsosfso}", "window", label, "covered_s",
                     (double)w.covered_ms / 1000.0, "requests", (json_int_t)w.requests, "rate",
                     w.rate, "status", status_json(w.status), "error_rate", w.error_rate,
                     "latency_ms", lat);
}

json_t *alog_json(struct alog *a)
{
    uint64_t now = clock_mono_ms();
    json_t *apps = json_array();
    for (size_t i = 0; i < a->napps; i++) {
        const struct app *app = &a->apps[i];
        uint64_t total = 0;
        for (unsigned c = 0; c < 6; c++)
            total += app->tot.status[c];
        json_t *wins = json_array();
        for (unsigned k = 0; k < a->nwin; k++)
            json_array_append_new(wins, window_json(app, &a->win[k], now));
        json_array_append_new(apps, json_pack("{sssIsoso}", "app", app->name, "requests",
                                              (json_int_t)total, "status",
                                              status_json(app->tot.status), "windows", wins));
    }
    return json_pack("{sssssIsIsIsIsIso}", "path", a->path, "format", a->format, "lines",
                     (json_int_t)a->lines, "malformed", (json_int_t)a->malformed, "unmatched",
                     (json_int_t)a->unmatched, "rotations", (json_int_t)a->rotations, "truncations",
                     (json_int_t)a->truncations, "apps", apps);
}

/* ---- the file ------------------------------------------------------------------------------- */

static void log_failure(struct alog *a, int e, const char *what)
{
    if (e == a->last_errno)
        return;
    a->last_errno = e;
    if (e == ENOENT)
        tlog_info("watch", "access log %s does not exist (yet); looking again every %" PRIu64 " ms",
                  a->path, a->poll_ms);
    else
        tlog_warn("watch", "cannot %s access log %s: %s; trying again every %" PRIu64 " ms", what,
                  a->path, strerror(e), a->poll_ms);
}

/* Open the path; at its end on the very first open, else at its start (a new file). */
static int open_file(struct alog *a)
{
    struct stat st;
    int fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        log_failure(a, e, "open");
        if (e == ENOENT)
            a->is_first_open = false; /* once it exists, it is new: read from its start */
        return -e;
    }
    if (a->last_errno)
        tlog_info("watch", "reading access log %s", a->path);
    a->last_errno = 0;
    a->fd = fd;
    a->dev = st.st_dev;
    a->ino = st.st_ino;
    a->off = a->is_first_open ? (uint64_t)st.st_size : 0;
    a->is_first_open = false;
    return 0;
}

/* At end of file: 1 when the file was truncated or replaced (read again), else 0. */
static int rotated(struct alog *a)
{
    struct stat st;
    if (fstat(a->fd, &st) == 0 && (uint64_t)st.st_size < a->off) {
        tlog_info("watch", "access log %s was truncated; reading it again from its start", a->path);
        a->truncations++;
        drop_partial(a);
        a->off = 0;
        return 1;
    }
    if (stat(a->path, &st) < 0 || (st.st_ino == a->ino && st.st_dev == a->dev))
        return 0; /* renamed and not created again yet: nothing to switch to */
    tlog_info("watch", "access log %s was replaced (rotated); reading the new file", a->path);
    a->rotations++;
    drop_partial(a);
    close(a->fd);
    a->fd = -1;
    return open_file(a) == 0;
}

int alog_poll(struct alog *a)
{
    size_t budget = TURN_BYTES;
    int switches = 0;
    if (a->fd < 0 && open_file(a) < 0)
        return 0;
    while (budget > 0) {
        ssize_t n = pread(a->fd, a->chunk, MIN((size_t)CHUNK, budget), (off_t)a->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            log_failure(a, errno, "read");
            return 0;
        }
        if (n > 0) {
            a->off += (uint64_t)n;
            budget -= (size_t)n;
            feed_at(a, a->chunk, (size_t)n, clock_mono_ms());
            continue;
        }
        /* At the end: stop, unless the file was truncated or replaced (a few times at most). */
        if (switches++ == 4 || !rotated(a))
            return 0;
    }
    return 1;
}

static void tick(uv_timer_t *t)
{
    struct alog *a = container_of(t, struct alog, timer);
    int more = alog_poll(a);
    uv_timer_start(t, tick, more ? 0 : a->poll_ms, 0);
}

int alog_start(struct alog *a)
{
    int rc;
    assert(a->loop && !a->is_timer_init);
    if ((rc = uv_timer_init(a->loop, &a->timer)) < 0)
        return rc;
    a->is_timer_init = true;
    (void)open_file(a); /* failures are logged; the timer tries again */
    return uv_timer_start(&a->timer, tick, a->poll_ms, 0);
}
