/* watch/alog_parse.c: compile an nginx log_format string, parse access-log lines with it.
 *
 * A format compiles into a head literal and a list of ops, each "a variable, then the literal
 * that follows it". Parsing a line checks the head, then for each op finds the end of the value
 * with memchr() for the literal's first byte and memcmp() for the rest, and converts only the
 * variables tend uses (status, times, sizes, request, upstream); the others are skipped. No
 * allocation, no copy: the record points into the line. This is the hot path of access-log
 * analysis (bench/alog.sh: over a million combined lines a second on one core).
 *
 * Two nginx habits shape the scan. Values inside quotes may hold `\"` when the producer escapes
 * that way (nginx's own default escaping writes \x22, so a quote never appears there), so a quote
 * preceded by an odd number of backslashes does not end a quoted value. And $upstream_* values
 * are lists ("10.0.0.1:3000, 10.0.0.2:3000 : 10.0.0.3:3000"), so a space that is part of ", " or
 * " : " does not end them. A variable with no literal after it ends at the first other space
 * (or the line's end); whatever follows that space is ignored. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "watch/alog.h"

#define SPEC_MAX 2048 /* longest log_format string */
#define OPS_MAX 64    /* variables in one format */

static const char combined_spec[] = "$remote_addr - $remote_user [$time_local] \"$request\" "
                                    "$status $body_bytes_sent \"$http_referer\" "
                                    "\"$http_user_agent\"";
static const char timed_suffix[] = " $request_time $upstream_response_time";

enum var {
    V_SKIP,
    V_SKIP_LIST, /* other $upstream_* variables: skipped, but scanned as lists */
    V_REMOTE_ADDR,
    V_TIME_LOCAL,
    V_TIME_ISO8601,
    V_MSEC,
    V_REQUEST,
    V_METHOD,
    V_URI,
    V_PROTOCOL,
    V_STATUS,
    V_BODY_BYTES,
    V_BYTES,
    V_REQUEST_TIME,
    V_UPSTREAM_TIME,
    V_UPSTREAM_ADDR,
    V_REFERER,
    V_USER_AGENT,
    V_HOST,
};

static const struct {
    const char *name;
    enum var var;
} var_names[] = {
    {"remote_addr", V_REMOTE_ADDR},
    {"time_local", V_TIME_LOCAL},
    {"time_iso8601", V_TIME_ISO8601},
    {"msec", V_MSEC},
    {"request", V_REQUEST},
    {"request_method", V_METHOD},
    {"request_uri", V_URI},
    {"uri", V_URI},
    {"document_uri", V_URI},
    {"server_protocol", V_PROTOCOL},
    {"status", V_STATUS},
    {"body_bytes_sent", V_BODY_BYTES},
    {"bytes_sent", V_BYTES},
    {"request_time", V_REQUEST_TIME},
    {"upstream_response_time", V_UPSTREAM_TIME},
    {"upstream_addr", V_UPSTREAM_ADDR},
    {"http_referer", V_REFERER},
    {"http_user_agent", V_USER_AGENT},
    {"host", V_HOST},
    {"http_host", V_HOST},
    {"server_name", V_HOST},
};

struct op {
    uint8_t var;
    bool is_quoted; /* between a literal ending in '"' and one starting with '"' */
    bool is_list;
    uint16_t lit_off, lit_len; /* the literal after the value, in f->text; 0 = the last op */
};

struct alog_format {
    unsigned has;
    unsigned nops;
    uint16_t head_len; /* the literal before the first variable: text[0, head_len) */
    struct op op[OPS_MAX];
    char text[SPEC_MAX]; /* the literals, back to back */
};

static enum var var_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < ARRAY_LEN(var_names); i++)
        if (strlen(var_names[i].name) == len && memcmp(var_names[i].name, name, len) == 0)
            return var_names[i].var;
    if (len > 9 && memcmp(name, "upstream_", 9) == 0)
        return V_SKIP_LIST;
    return V_SKIP;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static unsigned var_has(enum var v)
{
    switch (v) {
    case V_REQUEST:
    case V_URI:
        return ALOG_HAS_PATH;
    case V_UPSTREAM_ADDR:
        return ALOG_HAS_UPSTREAM;
    case V_REQUEST_TIME:
    case V_UPSTREAM_TIME:
        return ALOG_HAS_LATENCY;
    default:
        return 0;
    }
}

/* Read "$name" or "${name}" at s[0] == '$'; *len gets the bytes used, 0 when malformed. */
static enum var read_var(const char *s, size_t *len, const char **name, size_t *name_len)
{
    size_t i = 1, start = 1;
    if (s[1] == '{')
        start = i = 2;
    while (is_name_char(s[i]))
        i++;
    *name = s + start;
    *name_len = i - start;
    if (i == start || (start == 2 && s[i] != '}')) {
        *len = 0;
        return V_SKIP;
    }
    *len = start == 2 ? i + 1 : i;
    return var_lookup(s + start, i - start);
}

static int compile(const char *spec, struct alog_format *f, struct err *err)
{
    size_t used = 0;
    const char *s = spec;
    bool has_status = false;
    for (;;) {
        /* The literal up to the next '$' (or the end). */
        const char *d = strchr(s, '$');
        size_t n = d ? (size_t)(d - s) : strlen(s);
        if (used + n > sizeof f->text)
            return err_set(err, -TE_INVALID, "log format is longer than %d bytes", SPEC_MAX);
        memcpy(f->text + used, s, n);
        if (f->nops == 0) {
            f->head_len = (uint16_t)n;
        } else {
            struct op *prev = &f->op[f->nops - 1];
            prev->lit_off = (uint16_t)used;
            prev->lit_len = (uint16_t)n;
            if (n == 0 && d) {
                const char *name;
                size_t nl, l;
                read_var(d, &l, &name, &nl);
                return err_set(err, -TE_INVALID,
                               "log format has two variables with nothing between them (before "
                               "\"$%.*s\"): tend cannot tell where one ends",
                               (int)nl, name);
            }
        }
        used += n;
        if (!d)
            break;
        if (f->nops == OPS_MAX)
            return err_set(err, -TE_INVALID, "log format has more than %d variables", OPS_MAX);
        size_t len, name_len;
        const char *name;
        enum var v = read_var(d, &len, &name, &name_len);
        if (len == 0)
            return err_set(err, -TE_INVALID,
                           "log format has a \"$\" without a variable name at byte %zu",
                           (size_t)(d - spec) + 1);
        struct op *o = &f->op[f->nops++];
        o->var = (uint8_t)v;
        o->is_list = v == V_SKIP_LIST || v == V_UPSTREAM_TIME || v == V_UPSTREAM_ADDR;
        /* Quoted when the literal before ends with '"' (checked again once the next is known). */
        o->is_quoted = used > 0 && f->text[used - 1] == '"';
        f->has |= var_has(v);
        has_status |= v == V_STATUS;
        s = d + len;
    }
    for (unsigned i = 0; i < f->nops; i++) {
        struct op *o = &f->op[i];
        o->is_quoted = o->is_quoted && o->lit_len > 0 && f->text[o->lit_off] == '"';
    }
    if (!has_status)
        return err_set(err, -TE_INVALID,
                       "log format has no $status: tend needs it to count requests and errors");
    return 0;
}

int alog_format_compile(const char *spec, struct alog_format **out, struct err *err)
{
    char buf[sizeof combined_spec + sizeof timed_suffix];
    *out = NULL;
    if (!spec || strcmp(spec, "combined") == 0) {
        spec = combined_spec;
    } else if (strcmp(spec, "timed") == 0) {
        memcpy(buf, combined_spec, sizeof combined_spec - 1);
        memcpy(buf + sizeof combined_spec - 1, timed_suffix, sizeof timed_suffix);
        spec = buf;
    }
    struct alog_format *f = xcalloc(1, sizeof *f);
    int rc = compile(spec, f, err);
    if (rc < 0) {
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void alog_format_free(struct alog_format *f)
{
    free(f);
}

unsigned alog_format_has(const struct alog_format *f)
{
    return f->has;
}

/* ---- values --------------------------------------------------------------------------------- */

static bool is_dash(const char *p, size_t n)
{
    return n == 1 && p[0] == '-';
}

/* Digits only, at most 18 of them: 0 and *v, or -1. */
static int parse_uint(const char *p, size_t n, int64_t *v)
{
    int64_t x = 0;
    if (n == 0 || n > 18)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9)
            return -1;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

/* "12.345" seconds (fraction optional, extra digits past microseconds dropped) to microseconds:
 * bytes used, or 0 when p does not start with a number. */
static size_t parse_secs(const char *p, size_t n, int64_t *us)
{
    size_t i = 0;
    int64_t s = 0, frac = 0, scale = 1000000;
    while (i < n && (unsigned)(p[i] - '0') <= 9 && i < 12)
        s = s * 10 + (p[i++] - '0');
    if (i == 0)
        return 0;
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && (unsigned)(p[i] - '0') <= 9) {
            if (scale > 1) {
                scale /= 10;
                frac += (p[i] - '0') * scale;
            }
            i++;
        }
    }
    *us = s * 1000000 + frac;
    return i;
}

/* Length of the list separator (", " or " : ") at p, else 0. */
static size_t list_sep(const char *p, const char *end)
{
    if (end - p >= 2 && p[0] == ',' && p[1] == ' ')
        return 2;
    if (end - p >= 3 && p[0] == ' ' && p[1] == ':' && p[2] == ' ')
        return 3;
    return 0;
}

/* $upstream_response_time: "0.012", "-", "0.050, 0.012 : 0.003": the sum of the numbers, -1
 * when none. */
static int parse_time_list(const char *p, size_t n, int64_t *us)
{
    const char *end = p + n;
    int64_t sum = -1;
    while (p < end) {
        int64_t v;
        size_t k;
        if (*p == '-') {
            k = 1;
        } else if ((k = parse_secs(p, (size_t)(end - p), &v)) > 0) {
            sum = (sum < 0 ? 0 : sum) + v;
        } else {
            return -1;
        }
        p += k;
        if (p == end)
            break;
        if ((k = list_sep(p, end)) == 0)
            return -1;
        p += k;
    }
    *us = sum;
    return 0;
}

/* $upstream_addr: the last address (the one that answered); its port after the last ':'. */
static void parse_upstream_addr(struct alog_rec *r, const char *p, size_t n)
{
    const char *last = p, *end = p + n;
    for (const char *q = p; q < end; q++) {
        size_t k = list_sep(q, end);
        if (k) {
            q += k - 1;
            last = q + 1;
        }
    }
    r->upstream_addr.p = last;
    r->upstream_addr.len = (size_t)(end - last);
    const char *colon = memrchr(last, ':', (size_t)(end - last));
    int64_t port;
    if (colon && parse_uint(colon + 1, (size_t)(end - colon - 1), &port) == 0 && port <= 65535)
        r->upstream_port = (int)port;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int num2(const char *p)
{
    unsigned a = (unsigned)(p[0] - '0'), b = (unsigned)(p[1] - '0');
    return a > 9 || b > 9 ? -1 : (int)(a * 10 + b);
}

static int month_of(const char *p)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (p[0] == names[3 * i] && p[1] == names[3 * i + 1] && p[2] == names[3 * i + 2])
            return i + 1;
    return -1;
}

/* Fields checked for range, then seconds since the epoch; -1 when out of range. */
static int64_t civil_time(int y, int mon, int d, int h, int mi, int s, int tz_sign, int tz_h,
                          int tz_m)
{
    if (y < 0 || mon < 1 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
        s > 60 || tz_h < 0 || tz_m < 0)
        return -1;
    int64_t t = days_from_civil(y, (unsigned)mon, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    return t - tz_sign * (tz_h * 3600 + tz_m * 60);
}

/* "10/Oct/2000:13:55:36 -0700" */
static int64_t parse_time_local(const char *p, size_t n)
{
    if (n != 26 || p[2] != '/' || p[6] != '/' || p[11] != ':' || p[14] != ':' || p[17] != ':' ||
        p[20] != ' ' || (p[21] != '+' && p[21] != '-'))
        return -1;
    int y = num2(p + 7) * 100 + num2(p + 9);
    if (num2(p + 7) < 0 || num2(p + 9) < 0)
        return -1;
    return civil_time(y, month_of(p + 3), num2(p), num2(p + 12), num2(p + 15), num2(p + 18),
                      p[21] == '-' ? -1 : 1, num2(p + 22), num2(p + 24));
}

/* "2000-10-10T13:55:36-07:00" */
static int64_t parse_time_iso(const char *p, size_t n)
{
    if (n != 25 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':' ||
        (p[19] != '+' && p[19] != '-') || p[22] != ':')
        return -1;
    int y = num2(p) * 100 + num2(p + 2);
    if (num2(p) < 0 || num2(p + 2) < 0)
        return -1;
    return civil_time(y, num2(p + 5), num2(p + 8), num2(p + 11), num2(p + 14), num2(p + 17),
                      p[19] == '-' ? -1 : 1, num2(p + 20), num2(p + 23));
}

/* "GET /path?q HTTP/1.1": method, path, protocol. A request line without spaces (garbage
 * sent to the port, "-") leaves method and path empty: the line still counts. Both slices are
 * set whole (pointer and length): a $request_method or $request_uri earlier in the format may
 * have set them from other bytes of the line (fuzz_alog found a path slice that mixed the
 * pointer of one with the length of the other). */
static void split_request(struct alog_rec *r, const char *p, size_t n)
{
    r->request.p = p;
    r->request.len = n;
    const char *end = p + n, *sp = memchr(p, ' ', n);
    if (!sp) {
        r->method = (struct alog_slice){p, 0};
        if (!r->path.p) /* $request_uri / $uri, when present, win */
            r->path = (struct alog_slice){p, 0};
        return;
    }
    r->method.p = p;
    r->method.len = (size_t)(sp - p);
    const char *path = sp + 1, *last = memrchr(path, ' ', (size_t)(end - path));
    if (last && end - last > 5 && memcmp(last + 1, "HTTP/", 5) == 0) {
        r->protocol.p = last + 1;
        r->protocol.len = (size_t)(end - last - 1);
        end = last;
    }
    if (!r->path.p) { /* $request_uri / $uri, when present, win */
        r->path.p = path;
        r->path.len = (size_t)(end - path);
    }
}

/* ---- the scan ------------------------------------------------------------------------------- */

/* Is the quote at q escaped (an odd number of backslashes before it, after `from`)? */
static bool is_escaped(const char *from, const char *q)
{
    size_t k = 0;
    while (q - k > from && q[-(ptrdiff_t)k - 1] == '\\')
        k++;
    return k & 1;
}

/* Where the value starting at p ends: the start of the op's literal, or of the first space
 * (the line's end) for the last op. NULL when the literal is not there. */
static const char *value_end(const struct alog_format *f, const struct op *o, const char *p,
                             const char *end)
{
    const char *lit = f->text + o->lit_off;
    size_t lit_len = o->lit_len;
    char c = lit_len ? lit[0] : ' ';
    for (const char *q = p;; q++) {
        q = memchr(q, c, (size_t)(end - q));
        if (!q)
            return lit_len ? NULL : end;
        if (o->is_quoted && is_escaped(p, q))
            continue;
        if (o->is_list && c == ' ' &&
            ((q > p && q[-1] == ',') || list_sep(q, end) ||
             (q - p >= 2 && q[-1] == ':' && q[-2] == ' ')))
            continue;
        if (lit_len <= 1 || ((size_t)(end - q) >= lit_len && memcmp(q, lit, lit_len) == 0))
            return q;
    }
}

static int convert(struct alog_rec *r, enum var v, const char *p, size_t n)
{
    int64_t x;
    switch (v) {
    case V_SKIP:
    case V_SKIP_LIST:
        return 0;
    case V_STATUS:
        if (n != 3 || parse_uint(p, n, &x) < 0 || x < 100)
            return -1;
        r->status = (int)x;
        return 0;
    case V_REMOTE_ADDR:
        r->remote_addr.p = p;
        r->remote_addr.len = n;
        return 0;
    case V_TIME_LOCAL:
        return (r->time_s = parse_time_local(p, n)) < 0 ? -1 : 0;
    case V_TIME_ISO8601:
        return (r->time_s = parse_time_iso(p, n)) < 0 ? -1 : 0;
    case V_MSEC:
        if (parse_secs(p, n, &x) != n || n == 0)
            return -1;
        r->time_s = x / 1000000;
        return 0;
    case V_REQUEST:
        split_request(r, p, n);
        return 0;
    case V_METHOD:
        r->method.p = p;
        r->method.len = n;
        return 0;
    case V_URI:
        r->path.p = p;
        r->path.len = n;
        return 0;
    case V_PROTOCOL:
        r->protocol.p = p;
        r->protocol.len = n;
        return 0;
    case V_BODY_BYTES:
    case V_BYTES:
        if (is_dash(p, n))
            return 0;
        if (parse_uint(p, n, &x) < 0)
            return -1;
        if (v == V_BODY_BYTES || r->bytes < 0)
            r->bytes = x;
        return 0;
    case V_REQUEST_TIME:
        if (is_dash(p, n))
            return 0;
        if (parse_secs(p, n, &x) != n)
            return -1;
        r->request_time_us = x;
        return 0;
    case V_UPSTREAM_TIME:
        return parse_time_list(p, n, &r->upstream_time_us);
    case V_UPSTREAM_ADDR:
        if (!is_dash(p, n))
            parse_upstream_addr(r, p, n);
        return 0;
    case V_REFERER:
        r->referer.p = p;
        r->referer.len = n;
        return 0;
    case V_USER_AGENT:
        r->user_agent.p = p;
        r->user_agent.len = n;
        return 0;
    case V_HOST:
        r->host.p = p;
        r->host.len = n;
        return 0;
    }
    return 0;
}

int alog_parse(const struct alog_format *f, const char *line, size_t len, struct alog_rec *r)
{
    static const struct alog_rec empty = {
        .time_s = -1, .bytes = -1, .request_time_us = -1, .upstream_time_us = -1};
    *r = empty;
    const char *p = line, *end = line + len;
    if (len && end[-1] == '\r')
        end--;
    if ((size_t)(end - p) < f->head_len || memcmp(p, f->text, f->head_len) != 0)
        return -TE_PARSE;
    p += f->head_len;
    for (unsigned i = 0; i < f->nops; i++) {
        const struct op *o = &f->op[i];
        const char *q = value_end(f, o, p, end);
        if (!q || convert(r, (enum var)o->var, p, (size_t)(q - p)) < 0)
            return -TE_PARSE;
        p = q + o->lit_len;
    }
    /* Extra fields after the format's own are ignored, but only after a space. */
    if (p != end && *p != ' ')
        return -TE_PARSE;
    return r->status ? 0 : -TE_PARSE;
}
