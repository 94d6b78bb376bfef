/* api/route.c: route patterns, path parameters, query strings and percent-decoding.
 *
 * A pattern is split on '/' once, at registration; ":name" segments match any one non-empty
 * path segment. A request path is split on '/' before decoding, so "%2F" inside a segment is a
 * slash in the parameter's value and never a separator. Routes are tried in registration order;
 * when a path matches only under other methods the caller answers 405 with their list. Decoding
 * refuses malformed escapes and encoded NUL bytes: they answer 400, never a truncated string. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

#define MAX_SEGS 32

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int api__pct_decode(const char *src, size_t len, bool plus, char **out)
{
    char *dst = xmalloc(len + 1);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            int hi = i + 2 < len ? hexval(src[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(src[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(dst);
                return -TE_PARSE;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        } else if (c == '\0') {
            free(dst);
            return -TE_PARSE;
        }
        dst[j++] = c;
    }
    dst[j] = '\0';
    *out = dst;
    return 0;
}

/* Split `s` (length len) on '/' into at most MAX_SEGS pieces, skipping the leading slash.
 * "/" gives zero segments; "/a//b" gives "a", "", "b" (an empty segment matches nothing). */
static int split(const char *s, size_t len, const char *seg[], size_t seglen[], size_t *n)
{
    size_t i = 0, k = 0;
    if (len > 0 && s[0] == '/')
        i = 1;
    if (i >= len) {
        *n = 0;
        return 0;
    }
    for (;;) {
        const char *slash = memchr(s + i, '/', len - i);
        size_t end = slash ? (size_t)(slash - s) : len;
        if (k == MAX_SEGS)
            return -TE_TOOBIG;
        seg[k] = s + i;
        seglen[k++] = end - i;
        if (!slash)
            break;
        i = end + 1;
    }
    *n = k;
    return 0;
}

void api__routes_add(struct api_routes *t, const char *method, const char *pattern,
                     api_handler_fn *fn, void *ctx, bool is_public)
{
    const char *seg[MAX_SEGS];
    size_t seglen[MAX_SEGS], n = 0;
    int rc = split(pattern, strlen(pattern), seg, seglen, &n);
    /* Patterns and methods are our own constants, never input: a bad one is a bug. */
    assert(rc == 0 && strlen(method) < sizeof t->v[0].method);
    t->v = xrealloc(t->v, (t->n + 1) * sizeof *t->v);
    struct api_route_entry *e = &t->v[t->n++];
    memset(e, 0, sizeof *e);
    str_copy(e->method, method, sizeof e->method);
    e->segs = n ? xcalloc(n, sizeof *e->segs) : NULL;
    e->nsegs = n;
    for (size_t i = 0; i < n; i++)
        e->segs[i] = str_ndup(seg[i], seglen[i]);
    e->fn = fn;
    e->ctx = ctx;
    e->is_public = is_public;
}

void api__routes_fini(struct api_routes *t)
{
    for (size_t i = 0; i < t->n; i++) {
        for (size_t k = 0; k < t->v[i].nsegs; k++)
            free(t->v[i].segs[k]);
        free(t->v[i].segs);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

static void params_add(struct api_params *p, char *name, char *value)
{
    p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
    p->v[p->n].name = name;
    p->v[p->n].value = value;
    p->n++;
}

void api__params_fini(struct api_params *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].value);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

const char *api__params_get(const struct api_params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return p->v[i].value;
    return NULL;
}

/* Does route e match the split path? Literal segments compare raw bytes (our patterns hold
 * no escapes); parameter segments must be non-empty. */
static bool seg_match(const struct api_route_entry *e, const char *seg[], const size_t seglen[],
                      size_t n)
{
    if (e->nsegs != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *p = e->segs[i];
        if (p[0] == ':') {
            if (seglen[i] == 0)
                return false;
        } else if (strlen(p) != seglen[i] || memcmp(p, seg[i], seglen[i]) != 0) {
            return false;
        }
    }
    return true;
}

static int bind_params(const struct api_route_entry *e, const char *seg[], const size_t seglen[],
                       struct api_params *out)
{
    for (size_t i = 0; i < e->nsegs; i++) {
        if (e->segs[i][0] != ':')
            continue;
        char *value;
        int rc = api__pct_decode(seg[i], seglen[i], false, &value);
        if (rc < 0) {
            api__params_fini(out);
            return rc;
        }
        params_add(out, str_dup(e->segs[i] + 1), value);
    }
    return 0;
}

static void allow_add(char *allow, size_t size, const char *method)
{
    size_t len = strlen(allow);
    if (strstr(allow, method))
        return;
    str_copy(allow + len, len ? ", " : "", size - len);
    len = strlen(allow);
    str_copy(allow + len, method, size - len);
}

int api__routes_match(const struct api_routes *t, const char *method, const char *path,
                      const struct api_route_entry **out, struct api_params *params, char *allow,
                      size_t allow_size, enum api_match *match)
{
    const char *seg[MAX_SEGS];
    size_t seglen[MAX_SEGS], n = 0;
    *match = API_MATCH_NONE;
    *out = NULL;
    allow[0] = '\0';
    if (split(path, strlen(path), seg, seglen, &n) < 0)
        return 0; /* deeper than any route: not found */
    for (size_t i = 0; i < t->n; i++) {
        const struct api_route_entry *e = &t->v[i];
        if (!seg_match(e, seg, seglen, n))
            continue;
        if (strcmp(e->method, method) != 0) {
            allow_add(allow, allow_size, e->method);
            *match = API_MATCH_METHOD;
            continue;
        }
        int rc = bind_params(e, seg, seglen, params);
        if (rc < 0)
            return rc;
        *out = e;
        *match = API_MATCH_OK;
        return 0;
    }
    return 0;
}

int api__query_parse(const char *query, size_t len, struct api_params *out)
{
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(query + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - query) : len;
        const char *eq = memchr(query + i, '=', end - i);
        size_t name_end = eq ? (size_t)(eq - query) : end;
        char *name = NULL, *value = NULL;
        if (name_end > i) {
            int rc = api__pct_decode(query + i, name_end - i, true, &name);
            if (rc == 0)
                rc = eq ? api__pct_decode(eq + 1, end - name_end - 1, true, &value)
                        : api__pct_decode("", 0, true, &value);
            if (rc < 0) {
                free(name);
                api__params_fini(out);
                return rc;
            }
            params_add(out, name, value);
        }
        i = end + 1;
    }
    return 0;
}
