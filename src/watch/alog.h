/* watch/alog.h: nginx access logs: parse lines, tail the file, per-app request statistics.
 *
 * A format (`combined`, `timed`, or any nginx log_format string) compiles once into a field
 * program; alog_parse() then splits a line into slices of that line and numbers, without
 * allocating. A struct alog tails one file on the uv loop (rotation by rename or copytruncate
 * included), maps each request to an app (upstream port range, else longest location prefix)
 * and keeps per app: counts by status class since start (for Prometheus), a latency
 * histogram with Prometheus buckets, and sliding windows (tend.yaml `windows:`, default 1m 5m
 * 15m) with request rate, status classes, error rate (5xx / all) and p50/p95/p99 latency.
 * Lines that do not match the format are counted as malformed, never fatal.
 *
 * Latency is $request_time when the format has it, else $upstream_response_time (summed over
 * the tries nginx lists); without either an app has counts and no percentiles. */
#ifndef TEND_WATCH_ALOG_H
#define TEND_WATCH_ALOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "watch/hist.h"

struct err;

/* ---- parsing (alog_parse.c) ----------------------------------------------------------------- */

struct alog_slice {
    const char *p; /* into the parsed line; NULL when the format lacks the field */
    size_t len;
};

/* One parsed line. Slices are raw bytes of the line (nginx's \xXX escapes left as they are);
 * a "-" value stays "-" in a slice and is -1 in a number. */
struct alog_rec {
    struct alog_slice remote_addr, request, method, path, protocol, referer, user_agent, host,
        upstream_addr;
    int64_t time_s;           /* $time_local, $time_iso8601 or $msec as Unix time; -1 if absent */
    int status;               /* 100..999 (always present: a format must have $status) */
    int64_t bytes;            /* $body_bytes_sent, else $bytes_sent; -1 if absent or "-" */
    int64_t request_time_us;  /* $request_time; -1 if absent or "-" */
    int64_t upstream_time_us; /* $upstream_response_time summed over its list; -1 if none */
    int upstream_port;        /* port of the last address of $upstream_addr; 0 if none */
};

/* What a compiled format can give (alog_format_has). */
enum {
    ALOG_HAS_PATH = 1,     /* $request, $request_uri, $uri or $document_uri */
    ALOG_HAS_UPSTREAM = 2, /* $upstream_addr */
    ALOG_HAS_LATENCY = 4,  /* $request_time or $upstream_response_time */
};

struct alog_format;

/* Compile `spec`: "combined", "timed" (combined + " $request_time $upstream_response_time"), or
 * a log_format string ("$remote_addr [$time_local] \"$request\" $status ..."; ${name} works).
 * Unknown variables are accepted and skipped. Fails with -TE_INVALID and a message in err when
 * there is no $status, two variables touch ("$a$b": nothing to split them by), a $ has no name,
 * or the string is too long. *out is the caller's, to alog_format_free(). */
int alog_format_compile(const char *spec, struct alog_format **out, struct err *err);
void alog_format_free(struct alog_format *f);
unsigned alog_format_has(const struct alog_format *f);

/* Parse one line (without its '\n'; a final '\r' is ignored): 0, or -TE_PARSE when it does not
 * match (then *r holds garbage). Extra fields after the format's last one, separated by a space,
 * are ignored (so "combined" reads the common "main" format with $http_x_forwarded_for). */
int alog_parse(const struct alog_format *f, const char *line, size_t len, struct alog_rec *r);

/* ---- tailing and statistics (alog_tail.c) --------------------------------------------------- */

#define ALOG_POLL_MS 250 /* default interval between looks at the file */

/* One tend.yaml `apps:` entry: requests whose upstream port is in [port_lo, port_hi] (when
 * port_lo > 0), else whose path starts with `location` (when not NULL), belong to `app`. */
struct alog_route {
    const char *app;
    int port_lo, port_hi;
    const char *location;
};

/* One tend.yaml `access_logs:` entry; borrowed by alog_new() (it copies what it keeps). */
struct alog_config {
    const char *path;
    const char *format; /* NULL: combined */
    const struct alog_route *routes;
    size_t nroutes;
    const uint64_t *windows_ms; /* NULL: 1m, 5m, 15m */
    size_t nwindows;
    uint64_t poll_ms; /* 0: ALOG_POLL_MS */
};

struct alog; /* one access log being tailed; owned by the watch module */

/* Check the config and build the statistics. Fails (-TE_INVALID, err says why) on a bad format,
 * a route the format cannot serve (upstream without $upstream_addr, location without a path),
 * a bad port range or window. Nothing is opened until alog_start(). loop may be NULL for an
 * alog fed only through alog_feed() (tests, benchmarks). */
int alog_new(uv_loop_t *loop, const struct alog_config *cfg, struct alog **out, struct err *err);
/* Start tailing: the file's current content is skipped (reading starts at its end); a file that
 * does not exist yet, or that replaces it later, is read from its start. Polls every poll_ms
 * with a uv timer, reading at most 1 MiB per turn of the loop. 0 or -errno from uv. */
int alog_start(struct alog *a);
/* Stop and free. With a loop, the memory goes in the timer's close callback, so the loop must
 * run once more; a NULL is a no-op. */
void alog_free(struct alog *a);
/* Read what the file has now (what the timer does); for tests. Returns 1 when more is waiting
 * than one turn reads, else 0. */
int alog_poll(struct alog *a);
/* Feed bytes as if read from the file: whole lines are counted, a partial last line waits for
 * the rest. Uses clock_mono_ms() as the time of these requests. */
void alog_feed(struct alog *a, const char *data, size_t len);

/* Figures of one app over one configured window (the last window_ms, see hist_win_sum). */
struct alog_window {
    uint64_t window_ms, covered_ms;
    uint64_t requests;
    uint64_t status[6]; /* [0] 1xx .. [4] 5xx, [5] anything else */
    double rate;        /* requests per second over covered_ms */
    double error_rate;  /* 5xx / requests; 0 with no requests */
    uint64_t latency_count;
    uint64_t p50_us, p95_us, p99_us; /* 0 when latency_count is 0 */
    uint64_t avg_us;                 /* exact mean of the samples; 0 when there are none */
};
/* 0, or -TE_NOTFOUND when the app has no route in this log or window_ms is not configured. */
int alog_app_window(struct alog *a, const char *app, uint64_t window_ms, struct alog_window *out);

/* Since start, for Prometheus counters (tend_http_requests_total{app,class}) and histograms
 * (tend_http_request_duration_seconds_bucket{app,le}). */
struct alog_totals {
    uint64_t status[6]; /* as in struct alog_window */
    struct hist_prom latency;
};
size_t alog_app_count(const struct alog *a);
const char *alog_app_name(const struct alog *a, size_t i); /* borrowed */
const struct alog_totals *alog_app_totals(const struct alog *a, size_t i);

/* Snapshot: {"path", "format", "lines", "malformed", "unmatched", "rotations", "truncations",
 * "apps": [{"app", "requests", "status": {"1xx".."5xx", "other"}, "windows": [{"window": "1m",
 * "covered_s", "requests", "rate", "status", "error_rate", "latency_ms": {"p50", "p95",
 * "p99"} or null}]}]}. New reference, the caller's. */
json_t *alog_json(struct alog *a);

#endif
