/* tests/fuzz/fuzz_alog.c: nginx access-log lines (watch/alog_parse.c) and the statistics fed
 * from them (watch/alog_tail.c alog_feed).
 *
 * The first byte picks the mode: the `combined` format, `timed`, a log_format string taken from
 * the input's first line (the rest are lines to parse), or whole text fed to a struct alog (its
 * next byte picks combined, timed or a format with $upstream_addr, which gets a port route too),
 * as the tailer feeds what it read. Each line is parsed from an exact-size copy so
 * ASan sees any read past it, and every slice must point inside its line. */
#include "core/err.h"
#include "fuzz.h"
#include "watch/alog.h"

static void check_slice(const struct alog_slice *s, const char *line, size_t len)
{
    if (s->p && (s->p < line || s->p + s->len > line + len))
        abort();
}

static void parse_lines(const struct alog_format *f, const uint8_t *p, size_t n)
{
    struct alog_rec r;
    while (n > 0) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;
        char *line = malloc(len ? len : 1);
        if (!line)
            abort();
        memcpy(line, p, len);
        if (alog_parse(f, line, len, &r) == 0) {
            const struct alog_slice *s[] = {&r.remote_addr, &r.request,  &r.method,
                                            &r.path,        &r.protocol, &r.referer,
                                            &r.user_agent,  &r.host,     &r.upstream_addr};
            for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
                check_slice(s[i], line, len);
            if (r.status < 100 || r.status > 999)
                abort();
        }
        free(line);
        if (!nl)
            break;
        n -= len + 1;
        p = nl + 1;
    }
}

/* A format with $upstream_addr for the port route (combined + upstream and times). */
static const char upstream_spec[] =
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
    "\"$http_referer\" \"$http_user_agent\" $upstream_addr $request_time "
    "$upstream_response_time";

static void feed(unsigned how, const uint8_t *p, size_t n)
{
    static const struct alog_route routes[] = {
        {.app = "web", .location = "/"},
        {.app = "api", .port_lo = 3000, .port_hi = 3003},
    };
    const char *spec = how == 0 ? "combined" : how == 1 ? "timed" : upstream_spec;
    static const uint64_t windows[] = {60000, 300000};
    const struct alog_config cfg = {.path = "/tmp/tend-fuzz-access.log",
                                    .format = spec,
                                    .routes = routes,
                                    .nroutes = how == 2 ? 2 : 1,
                                    .windows_ms = windows,
                                    .nwindows = 2};
    struct alog *a = NULL;
    struct err e = {0};
    struct alog_window w;
    if (alog_new(NULL, &cfg, &a, &e) < 0)
        abort(); /* each format serves the routes it is given */
    /* In two parts, so a line split between reads is joined as the tailer's would be. */
    size_t half = n / 2;
    alog_feed(a, (const char *)p, half);
    alog_feed(a, (const char *)p + half, n - half);
    (void)alog_app_window(a, "api", 60000, &w);
    (void)alog_app_window(a, "web", 300000, &w);
    for (size_t i = 0; i < alog_app_count(a); i++)
        (void)alog_app_totals(a, i);
    json_decref(alog_json(a));
    alog_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct alog_format *f = NULL;
    struct err e = {0};
    if (size < 1)
        return 0;
    unsigned mode = data[0] & 3;
    data++, size--;
    if (mode == 3) {
        feed(size ? data[0] % 3 : 0, data, size);
        return 0;
    }
    if (mode == 2) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t len = nl ? (size_t)(nl - data) : size;
        char *spec = fuzz_str(data, len);
        int rc = alog_format_compile(spec, &f, &e);
        free(spec);
        if (rc < 0)
            return 0;
        (void)alog_format_has(f);
        data += nl ? len + 1 : len;
        size -= nl ? len + 1 : len;
    } else if (alog_format_compile(mode ? "timed" : "combined", &f, &e) < 0) {
        abort();
    }
    parse_lines(f, data, size);
    alog_format_free(f);
    return 0;
}
