/* tests/unit/watch/test_alog.c: the access-log parser and the per-app figures built from it.
 *
 * Every supported format (combined, timed, a custom log_format with ${var}, $time_iso8601,
 * $msec, $upstream_addr), the values nginx writes that are not plain ("-", lists of upstream
 * tries, escaped quotes, garbage request lines), and lines that must count as malformed. Then
 * alog_feed() with a fake clock: routing by upstream port and by the longest location prefix,
 * status classes, error rate, percentiles and rate over a window, partial and overlong lines. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "unit.h"
#include "watch/alog.h"

#define LINE_COMBINED                                                                              \
    "203.0.113.9 - alice [23/Nov/2026:14:30:01 +0800] \"GET /api/orders?id=7 HTTP/1.1\" 200 "      \
    "1534 \"https://example.com/cart\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0\""

static struct alog_format *compile_ok(const char *spec)
{
    struct alog_format *f = NULL;
    struct err err = {0};
    int rc = alog_format_compile(spec, &f, &err);
    if (rc < 0)
        UNIT_FAIL("compile \"%s\": %s", spec, err.msg);
    return f;
}

static int parse(const struct alog_format *f, const char *line, struct alog_rec *r)
{
    return alog_parse(f, line, strlen(line), r);
}

static int slice_is(struct alog_slice s, const char *want)
{
    return s.p && s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}
#define CHECK_SLICE(s, want)                                                                       \
    do {                                                                                           \
        if (!slice_is((s), (want)))                                                                \
            UNIT_FAIL("%s == \"%.*s\", expected \"%s\"", #s, (int)(s).len,                         \
                      (s).p ? (s).p : "(null)", (want));                                           \
    } while (0)

TEST(combined)
{
    struct alog_format *f = compile_ok("combined");
    struct alog_rec r;
    CHECK_INT(parse(f, LINE_COMBINED, &r), 0);
    CHECK_SLICE(r.remote_addr, "203.0.113.9");
    CHECK_INT(r.time_s, 1795415401); /* 2026-11-23 06:30:01 UTC */
    CHECK_SLICE(r.method, "GET");
    CHECK_SLICE(r.path, "/api/orders?id=7");
    CHECK_SLICE(r.protocol, "HTTP/1.1");
    CHECK_INT(r.status, 200);
    CHECK_INT(r.bytes, 1534);
    CHECK_SLICE(r.referer, "https://example.com/cart");
    CHECK_SLICE(r.user_agent, "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0");
    CHECK_INT(r.request_time_us, -1); /* combined has no times */
    CHECK_INT(r.upstream_time_us, -1);
    CHECK_INT(r.upstream_port, 0);
    CHECK_INT(alog_format_has(f), ALOG_HAS_PATH);
    /* A final \r (a log copied from Windows) is not part of the user agent. */
    CHECK_INT(parse(f, LINE_COMBINED "\r", &r), 0);
    CHECK_SLICE(r.user_agent, "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0");
    /* The common "main" format is combined + "$http_x_forwarded_for": read as combined. */
    CHECK_INT(parse(f, LINE_COMBINED " \"198.51.100.1\"", &r), 0);
    CHECK_INT(r.status, 200);
    alog_format_free(f);
}

TEST(timed_and_upstream_lists)
{
    struct alog_format *f = compile_ok("timed");
    struct alog_rec r;
    CHECK_INT(alog_format_has(f), ALOG_HAS_PATH | ALOG_HAS_LATENCY);
    CHECK_INT(parse(f, LINE_COMBINED " 0.250 0.248", &r), 0);
    CHECK_INT(r.request_time_us, 250000);
    CHECK_INT(r.upstream_time_us, 248000);
    /* Two tries (the first upstream failed): the times add up. */
    CHECK_INT(parse(f, LINE_COMBINED " 3.012 3.000, 0.009", &r), 0);
    CHECK_INT(r.request_time_us, 3012000);
    CHECK_INT(r.upstream_time_us, 3009000);
    /* An internal redirect separates groups with " : "; "-" is a try with no time. */
    CHECK_INT(parse(f, LINE_COMBINED " 0.020 -, 0.010 : 0.005", &r), 0);
    CHECK_INT(r.upstream_time_us, 15000);
    /* Served by nginx itself: no upstream. */
    CHECK_INT(parse(f, LINE_COMBINED " 0.000 -", &r), 0);
    CHECK_INT(r.request_time_us, 0);
    CHECK_INT(r.upstream_time_us, -1);
    /* A combined line without the times does not match the timed format. */
    CHECK_INT(parse(f, LINE_COMBINED, &r), -TE_PARSE);
    CHECK_INT(parse(f, LINE_COMBINED " 0.2x0 -", &r), -TE_PARSE);
    alog_format_free(f);
}

TEST(custom_format)
{
    /* ${var}, variables tend skips ($remote_user, $http_x_real_ip, $upstream_status lists),
     * $upstream_addr lists in the middle of the line, $time_iso8601. */
    struct alog_format *f = compile_ok(
        "${remote_addr} $remote_user [$time_iso8601] \"$request\" $status ${body_bytes_sent} "
        "\"$http_x_real_ip\" rt=$request_time ua=\"$upstream_addr\" us=$upstream_status "
        "urt=$upstream_response_time host=$host");
    struct alog_rec r;
    CHECK_INT(alog_format_has(f), ALOG_HAS_PATH | ALOG_HAS_UPSTREAM | ALOG_HAS_LATENCY);
    CHECK_INT(parse(f,
                    "10.0.0.7 - [2026-11-23T14:30:01+08:00] \"POST /api/pay HTTP/2.0\" 502 157 "
                    "\"-\" rt=1.503 ua=\"127.0.0.1:3000, 127.0.0.1:3002\" us=502, 502 "
                    "urt=1.000, 0.501 host=shop.example.com",
                    &r),
              0);
    CHECK_INT(r.time_s, 1795415401);
    CHECK_SLICE(r.method, "POST");
    CHECK_SLICE(r.path, "/api/pay");
    CHECK_INT(r.status, 502);
    CHECK_INT(r.bytes, 157);
    CHECK_INT(r.request_time_us, 1503000);
    CHECK_INT(r.upstream_time_us, 1501000);
    CHECK_SLICE(r.upstream_addr, "127.0.0.1:3002"); /* the try that answered */
    CHECK_INT(r.upstream_port, 3002);
    CHECK_SLICE(r.host, "shop.example.com");
    /* Not proxied; a unix socket upstream has no port. */
    CHECK_INT(parse(f,
                    "10.0.0.7 - [2026-11-23T14:30:01+08:00] \"GET / HTTP/1.1\" 200 5 \"-\" "
                    "rt=0.000 ua=\"-\" us=- urt=- host=a",
                    &r),
              0);
    CHECK_INT(r.upstream_port, 0);
    CHECK(r.upstream_addr.p == NULL);
    CHECK_INT(parse(f,
                    "10.0.0.7 - [2026-11-23T14:30:01+08:00] \"GET / HTTP/1.1\" 200 5 \"-\" "
                    "rt=0.001 ua=\"unix:/run/app.sock\" us=200 urt=0.001 host=a",
                    &r),
              0);
    CHECK_INT(r.upstream_port, 0);
    alog_format_free(f);

    /* $msec and $uri; a format that starts with a literal. */
    f = compile_ok("t=$msec $uri $status $upstream_response_time");
    CHECK_INT(parse(f, "t=1795415401.123 /health 204 0.004", &r), 0);
    CHECK_INT(r.time_s, 1795415401);
    CHECK_SLICE(r.path, "/health");
    CHECK_INT(r.status, 204);
    CHECK_INT(r.upstream_time_us, 4000);
    CHECK_INT(parse(f, "x=1795415401.123 /health 204 0.004", &r), -TE_PARSE);
    alog_format_free(f);
}

TEST(odd_values)
{
    struct alog_format *f = compile_ok("combined");
    struct alog_rec r;
    /* "-" everywhere it can be; an escaped quote inside a quoted value (producers that escape
     * with a backslash), an escaped backslash right before the closing quote. */
    CHECK_INT(parse(f,
                    "::1 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.0\" 304 - \"-\" "
                    "\"say \\\"hi\\\" to \\\\\"",
                    &r),
              0);
    CHECK_SLICE(r.remote_addr, "::1");
    CHECK_INT(r.time_s, 1767225600);
    CHECK_INT(r.bytes, -1);
    CHECK_SLICE(r.referer, "-");
    CHECK_SLICE(r.user_agent, "say \\\"hi\\\" to \\\\");
    /* nginx's own escaping (\x22) and a TLS handshake sent to a plain port: the request line
     * has no spaces, the line still counts, with no method or path. */
    CHECK_INT(parse(f,
                    "198.51.100.4 - - [01/Jan/2026:00:00:00 +0000] \"\\x16\\x03\\x01\\x02\" 400 "
                    "157 \"-\" \"\\x22x\\x22\"",
                    &r),
              0);
    CHECK_INT(r.status, 400);
    CHECK_INT(r.method.len, 0);
    CHECK_INT(r.path.len, 0);
    CHECK_SLICE(r.request, "\\x16\\x03\\x01\\x02");
    /* An empty request line (client closed before sending one). */
    CHECK_INT(parse(f, "198.51.100.4 - - [01/Jan/2026:00:00:00 +0000] \"\" 400 0 \"-\" \"-\"", &r),
              0);
    CHECK_INT(r.status, 400);
    /* HTTP/0.9 style: no protocol. */
    CHECK_INT(parse(f, "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET /x\" 200 1 \"-\" \"-\"", &r),
              0);
    CHECK_SLICE(r.path, "/x");
    CHECK_INT(r.protocol.len, 0);
    alog_format_free(f);
}

TEST(malformed_lines)
{
    static const char *const bad[] = {
        "",
        "garbage",
        /* cut in the middle (a torn write) */
        "203.0.113.9 - - [23/Nov/2026:14:30:01 +0800] \"GET /api/orders HTTP/1.1\" 20",
        /* status not three digits */
        "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 2x0 1 \"-\" \"-\"",
        "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 20 1 \"-\" \"-\"",
        /* a time that is not one */
        "1.2.3.4 - - [01/Foo/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
        "1.2.3.4 - - [yesterday] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
        /* size not a number */
        "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1k \"-\" \"-\"",
        /* the closing quote is escaped: the value never ends */
        "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\\\"",
        /* another format altogether (Apache common without the user fields) */
        "1.2.3.4 [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1",
        /* junk glued to the end without a space */
        LINE_COMBINED "x",
    };
    struct alog_format *f = compile_ok("combined");
    struct alog_rec r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse(f, bad[i], &r) != -TE_PARSE)
            UNIT_FAIL("line %zu parsed: \"%s\"", i, bad[i]);
    alog_format_free(f);
}

TEST(format_errors)
{
    static const struct {
        const char *spec, *msg;
    } rows[] = {
        {"$remote_addr [$time_local] \"$request\"", "no $status"},
        {"$remote_addr $status$body_bytes_sent",
         "nothing between them (before \"$body_bytes_sent\")"},
        {"$remote_addr $ $status", "without a variable name"},
        {"${status $remote_addr", "without a variable name"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct alog_format *f = (struct alog_format *)1;
        struct err err = {0};
        CHECK_INT(alog_format_compile(rows[i].spec, &f, &err), -TE_INVALID);
        CHECK(f == NULL);
        if (!strstr(err.msg, rows[i].msg))
            UNIT_FAIL("\"%s\": message \"%s\" lacks \"%s\"", rows[i].spec, err.msg, rows[i].msg);
    }
}

#define FEED(a, s) alog_feed((a), (s), strlen(s))

/* ---- figures -------------------------------------------------------------------------------- */

static void feed_req(struct alog *a, const char *path, int status, const char *rt,
                     const char *upstream)
{
    char line[512];
    snprintf(line, sizeof line,
             "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET %s HTTP/1.1\" %d 1 \"-\" \"-\" "
             "%s %s\n",
             path, status, rt, upstream);
    alog_feed(a, line, strlen(line));
}

TEST(routes_and_windows)
{
    static const struct alog_route routes[] = {
        {.app = "api", .location = "/api/"},
        {.app = "web", .location = "/"},
        {.app = "admin", .location = "/api/admin/"},
    };
    static const uint64_t windows[] = {60000, 300000};
    struct alog_config cfg = {
        .format = "timed", .routes = routes, .nroutes = 3, .windows_ms = windows, .nwindows = 2};
    struct alog *a;
    struct err err = {0};
    clock_fake_set(5000000, 1795415401000);
    CHECK_INT(alog_new(NULL, &cfg, &a, &err), 0);
    /* api: 100 requests 10..1000 ms, 5 of them 5xx; admin (longest prefix): 2; web: 1. */
    char rt[16];
    for (int i = 1; i <= 100; i++) {
        snprintf(rt, sizeof rt, "%d.%03d", i * 10 / 1000, i * 10 % 1000);
        feed_req(a, "/api/orders", i % 20 == 0 ? 503 : i % 10 == 0 ? 404 : 200, rt, rt);
    }
    feed_req(a, "/api/admin/users", 200, "0.001", "0.001");
    feed_req(a, "/api/admin/users", 302, "0.001", "-");
    feed_req(a, "/index.html", 200, "0.000", "-");
    FEED(a, "not a log line\n");
    clock_fake_advance(30000);
    struct alog_window w;
    CHECK_INT(alog_app_window(a, "api", 60000, &w), 0);
    CHECK_INT(w.requests, 100);
    CHECK_INT(w.status[1], 90);
    CHECK_INT(w.status[3], 5);
    CHECK_INT(w.status[4], 5);
    CHECK(w.error_rate > 0.0499 && w.error_rate < 0.0501);
    CHECK_INT(w.covered_ms, 30000);
    CHECK(w.rate > 3.33 && w.rate < 3.34); /* 100 in 30 s */
    CHECK_INT(w.latency_count, 100);
    /* Exact: p50 = 500 ms, p95 = 950 ms, p99 = 990 ms. */
    CHECK(w.p50_us >= 500000 * (1 - HIST_REL_ERR) && w.p50_us <= 500000 * (1 + HIST_REL_ERR));
    CHECK(w.p95_us >= 950000 * (1 - HIST_REL_ERR) && w.p95_us <= 950000 * (1 + HIST_REL_ERR));
    CHECK(w.p99_us >= 990000 * (1 - HIST_REL_ERR) && w.p99_us <= 990000 * (1 + HIST_REL_ERR));
    CHECK_INT(w.avg_us, 505000); /* the mean is exact (a sum), not a bucket's estimate */
    CHECK_INT(alog_app_window(a, "admin", 60000, &w), 0);
    CHECK_INT(w.requests, 2);
    CHECK_INT(w.status[2], 1);
    CHECK_INT(alog_app_window(a, "web", 300000, &w), 0);
    CHECK_INT(w.requests, 1);
    CHECK_INT(alog_app_window(a, "web", 900000, &w), -TE_NOTFOUND); /* not configured */
    CHECK_INT(alog_app_window(a, "nope", 60000, &w), -TE_NOTFOUND);

    /* Two minutes later the 1m window is empty, the 5m one still holds everything. */
    clock_fake_advance(120000);
    CHECK_INT(alog_app_window(a, "api", 60000, &w), 0);
    CHECK_INT(w.requests, 0);
    CHECK_INT(w.latency_count, 0);
    CHECK_INT(w.p99_us, 0);
    CHECK(w.error_rate == 0);
    CHECK_INT(alog_app_window(a, "api", 300000, &w), 0);
    CHECK_INT(w.requests, 100);

    /* Totals since start, for Prometheus. */
    CHECK_INT(alog_app_count(a), 3);
    CHECK_STR(alog_app_name(a, 0), "api");
    const struct alog_totals *t = alog_app_totals(a, 0);
    CHECK_INT(t->status[4], 5);
    CHECK_INT(t->latency.count, 100);
    CHECK_INT(t->latency.le[4], 10); /* <= 100 ms: 10, 20, ..., 100 */

    json_t *j = alog_json(a);
    CHECK_INT(json_integer_value(json_object_get(j, "lines")), 104);
    CHECK_INT(json_integer_value(json_object_get(j, "malformed")), 1);
    CHECK_INT(json_integer_value(json_object_get(j, "unmatched")), 0);
    json_t *api = json_array_get(json_object_get(j, "apps"), 0);
    CHECK_STR(json_string_value(json_object_get(api, "app")), "api");
    CHECK_INT(json_integer_value(json_object_get(api, "requests")), 100);
    json_t *w5 = json_array_get(json_object_get(api, "windows"), 1);
    CHECK_STR(json_string_value(json_object_get(w5, "window")), "5m");
    CHECK(json_real_value(json_object_get(json_object_get(w5, "latency_ms"), "p50")) > 490);
    json_t *w1 = json_array_get(json_object_get(api, "windows"), 0);
    CHECK(json_is_null(json_object_get(w1, "latency_ms")));
    json_decref(j);
    alog_free(a);
    clock_fake_off();
}

TEST(upstream_routes_and_partial_lines)
{
    static const struct alog_route routes[] = {
        {.app = "api", .port_lo = 3000, .port_hi = 3003},
        {.app = "web", .location = "/"},
    };
    struct alog_config cfg = {.format = "$remote_addr \"$request\" $status $upstream_addr",
                              .routes = routes,
                              .nroutes = 2};
    struct alog *a;
    struct err err = {0};
    CHECK_INT(alog_new(NULL, &cfg, &a, &err), 0);
    /* A line arriving in three pieces counts once, when complete. */
    FEED(a, "1.1.1.1 \"GET /x HTTP/1.1\" 2");
    FEED(a, "00 127.0.0.1:");
    struct alog_window w;
    alog_app_window(a, "api", 60000, &w);
    CHECK_INT(w.requests, 0);
    FEED(a, "3003\n1.1.1.1 \"GET /y HTTP/1.1\" 200 127.0.0.1:3004\n");
    alog_app_window(a, "api", 60000, &w);
    CHECK_INT(w.requests, 1);
    alog_app_window(a, "web", 60000, &w);
    CHECK_INT(w.requests, 1); /* port 3004 is not api's: falls back to the location */
    /* A line longer than 64 KiB is one malformed line; the next one counts normally. */
    size_t n = 70000;
    char *big = malloc(n);
    memset(big, 'x', n);
    alog_feed(a, big, n);
    alog_feed(a, big, n);
    FEED(a, "\n1.1.1.1 \"GET /z HTTP/1.1\" 500 -\n\n");
    free(big);
    json_t *j = alog_json(a);
    CHECK_INT(json_integer_value(json_object_get(j, "lines")), 4);
    CHECK_INT(json_integer_value(json_object_get(j, "malformed")), 1);
    json_decref(j);
    alog_app_window(a, "web", 60000, &w);
    CHECK_INT(w.requests, 2);
    CHECK_INT(w.status[4], 1);
    CHECK_INT(w.latency_count, 0); /* this format has no times */
    alog_free(a);
}

TEST(config_errors)
{
    struct alog_route up = {.app = "api", .port_lo = 3000, .port_hi = 3003};
    struct alog_config cfg = {
        .path = "/var/log/nginx/access.log", .format = "combined", .routes = &up, .nroutes = 1};
    struct alog *a = NULL;
    struct err err = {0};
    CHECK_INT(alog_new(NULL, &cfg, &a, &err), -TE_INVALID);
    CHECK(a == NULL);
    CHECK_STR(err.msg, "access log \"/var/log/nginx/access.log\": app \"api\" is mapped by "
                       "upstream port but the log format has no $upstream_addr");
    CHECK(strstr(err.hint, "$upstream_addr") != NULL);
    struct alog_route loc = {.app = "web", .location = "api"};
    cfg.routes = &loc;
    CHECK_INT(alog_new(NULL, &cfg, &a, &err), -TE_INVALID);
    CHECK(strstr(err.msg, "must start with \"/\"") != NULL);
    struct alog_route range = {.app = "api", .port_lo = 3005, .port_hi = 3001};
    cfg.routes = &range;
    cfg.format = "$status $upstream_addr";
    CHECK_INT(alog_new(NULL, &cfg, &a, &err), -TE_INVALID);
    CHECK(strstr(err.msg, "3005-3001") != NULL);
    uint64_t bad_window = 500;
    cfg.nroutes = 0;
    cfg.windows_ms = &bad_window;
    cfg.nwindows = 1;
    CHECK_INT(alog_new(NULL, &cfg, &a, &err), -TE_INVALID);
    CHECK(strstr(err.msg, "500 ms") != NULL);
    cfg.format = "$status$request_time";
    CHECK_INT(alog_new(NULL, &cfg, &a, &err), -TE_INVALID);
}

int main(void)
{
    RUN(combined);
    RUN(timed_and_upstream_lists);
    RUN(custom_format);
    RUN(odd_values);
    RUN(malformed_lines);
    RUN(format_errors);
    RUN(routes_and_windows);
    RUN(upstream_routes_and_partial_lines);
    RUN(config_errors);
    return unit_done();
}
