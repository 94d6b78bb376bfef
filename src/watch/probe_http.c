/* watch/probe_http.c: `http: URL`: one request through libcurl's multi interface on the loop
 * (watch/curl_uv.h), judged on status, latency, a body substring and JSON fields.
 *
 * Order of judgement, first failure wins, so the message names the most basic problem: the
 * transfer (refused, TLS, DNS), the status ("HTTP 503 from ... (expected 200-399)"), the
 * latency ("slow: 812 ms > 500 ms"), the body substring, then each JSON field ("database is
 * \"disconnected\", not \"connected\""). TLS verification is on unless `tls_verify: false`.
 *
 * The body is kept only when a body or JSON check needs it, up to HTTP_BODY_MAX; a larger body
 * fails such a check instead of growing without bound. The run owns its easy handle and header
 * list; cancel removes the handle from the multi and frees both at once, so a run is released
 * synchronously in every path (curl never calls back for a removed handle). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/curlx.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "watch/curl_uv.h"
#include "watch/probe.h"

#define HTTP_BODY_MAX (1 << 20)

/* Owned by its probe: copies of the spec's strings. */
struct http {
    char *url, *method, *body;
    char *shown; /* the URL as messages and the target show it: credentials masked */
    struct probe_range *status;
    size_t nstatus;
    char **json_keys, **json_values;
    size_t njson;
    char **headers; /* "Name: value" */
    size_t nheaders;
    uint32_t latency_ms;
    bool skip_tls_verify;
};

struct http_run {
    struct curl_uv *cu;
    CURL *easy;
    struct curl_slist *hdrs;
    struct buf body;
    bool is_body_too_big;
    char error[CURL_ERROR_SIZE];
};

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static int http_init(struct watch_probe *p, const struct probe_spec *spec, void *state,
                     struct err *err)
{
    const struct probe_http_spec *h = &spec->u.http;
    struct http *k = state;
    char masked[1024];
    if (!h->url || !h->url[0])
        return err_set(err, -TE_INVALID, "http: url is required");
    str_mask_url(masked, sizeof masked, h->url);
    if (strncmp(h->url, "http://", 7) != 0 && strncmp(h->url, "https://", 8) != 0) {
        err_set(err, -TE_INVALID, "http: \"%s\" is not an http:// or https:// URL", masked);
        err_hint(err, "write it as http://127.0.0.1:3000/health");
        return err->code;
    }
    for (size_t i = 0; i < h->nstatus; i++) {
        const struct probe_range *s = &h->status[i];
        if (s->lo < 100 || s->hi > 599 || s->lo > s->hi)
            return err_set(err, -TE_INVALID, "http: status %d-%d is not a range of HTTP codes",
                           s->lo, s->hi);
    }
    k->url = xstrdup(h->url);
    k->shown = xstrdup(masked);
    k->method = xstrdup(h->method && h->method[0] ? h->method : "GET");
    k->body = h->body && h->body[0] ? xstrdup(h->body) : NULL;
    k->nstatus = h->nstatus ? h->nstatus : 1;
    k->status = xcalloc(k->nstatus, sizeof *k->status);
    if (h->nstatus)
        memcpy(k->status, h->status, h->nstatus * sizeof *h->status);
    else
        k->status[0] = (struct probe_range){200, 399};
    k->njson = h->njson;
    k->json_keys = xcalloc(h->njson + 1, sizeof *k->json_keys);
    k->json_values = xcalloc(h->njson + 1, sizeof *k->json_values);
    for (size_t i = 0; i < h->njson; i++) {
        k->json_keys[i] = xstrdup(h->json[i].key);
        k->json_values[i] = xstrdup(h->json[i].value ? h->json[i].value : "null");
    }
    k->nheaders = h->nheaders;
    k->headers = xcalloc(h->nheaders + 1, sizeof *k->headers);
    for (size_t i = 0; i < h->nheaders; i++) {
        struct buf b;
        buf_init(&b, 0);
        if (buf_printf(&b, "%s: %s", h->headers[i].key, h->headers[i].value) < 0)
            abort();
        k->headers[i] = buf_take(&b);
    }
    k->latency_ms = h->latency_ms;
    k->skip_tls_verify = h->skip_tls_verify;
    probe_set_target(p, k->shown);
    return 0;
}

static void http_fini(void *state)
{
    struct http *k = state;
    free(k->url);
    free(k->shown);
    free(k->method);
    free(k->body);
    free(k->status);
    for (size_t i = 0; i < k->njson; i++) {
        free(k->json_keys[i]);
        free(k->json_values[i]);
    }
    free(k->json_keys);
    free(k->json_values);
    for (size_t i = 0; i < k->nheaders; i++)
        free(k->headers[i]);
    free(k->headers);
}

/* Free what the run holds and let it go. */
static void finish(struct http_run *hr)
{
    const struct curlx *cx = curl_uv_api(hr->cu);
    cx->easy_cleanup(hr->easy);
    if (hr->hdrs)
        cx->slist_free_all(hr->hdrs);
    buf_fini(&hr->body);
    probe_run_release(probe_run_from_data(hr));
}

static size_t on_body(char *ptr, size_t size, size_t n, void *arg)
{
    struct http_run *hr = arg;
    struct http *k = probe_run_state(probe_run_from_data(hr));
    if ((k->body || k->njson) && !hr->is_body_too_big && buf_append(&hr->body, ptr, size * n) < 0)
        hr->is_body_too_big = true; /* keep reading: the status still counts */
    return size * n;
}

/* "200", "200-299, 304": the accepted codes for a message. */
static void fmt_status(const struct http *k, char *dst, size_t size)
{
    size_t j = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < k->nstatus && j < size; i++) {
        const struct probe_range *s = &k->status[i];
        int n = s->lo == s->hi
                    ? snprintf(dst + j, size - j, "%s%d", i ? ", " : "", s->lo)
                    : snprintf(dst + j, size - j, "%s%d-%d", i ? ", " : "", s->lo, s->hi);
        j += n > 0 ? (size_t)n : 0;
    }
}

/* The text of a JSON value as YAML would have written it: strings bare, true, 12, null. */
static void json_text(const json_t *v, char *dst, size_t size)
{
    if (json_is_string(v))
        snprintf(dst, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(dst, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(dst, size, "%g", json_real_value(v));
    else if (json_is_true(v) || json_is_false(v))
        snprintf(dst, size, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_null(v))
        snprintf(dst, size, "null");
    else
        snprintf(dst, size, "%s", json_is_object(v) ? "an object" : "a list");
}

/* Follow "a.b.0.c" through objects (and lists by index). NULL when a step is missing. */
static const json_t *json_walk(const json_t *v, const char *path)
{
    char step[256];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        snprintf(step, sizeof step, "%.*s", (int)MIN(n, sizeof step - 1), path);
        path += n + (path[n] == '.');
        if (json_is_object(v)) {
            v = json_object_get(v, step);
        } else if (json_is_array(v)) {
            char *end;
            long i = strtol(step, &end, 10);
            v = *end || i < 0 ? NULL : json_array_get(v, (size_t)i);
        } else {
            v = NULL;
        }
    }
    return v;
}

/* Does the value match what the user wrote? Numbers compare as numbers (1.0 == 1). */
static bool json_matches(const json_t *v, const char *want, char *got, size_t size)
{
    json_text(v, got, size);
    if (json_is_number(v)) {
        char *end;
        double w = strtod(want, &end);
        return !*end && end != want && w == json_number_value(v);
    }
    return strcmp(got, want) == 0;
}

/* The checks after the transfer; reports once. */
static void judge(struct probe_run *r, struct http_run *hr, long code, uint32_t ms)
{
    struct http *k = probe_run_state(r);
    char want[128], got[128];
    bool is_status_ok = false;
    for (size_t i = 0; i < k->nstatus; i++)
        is_status_ok |= code >= k->status[i].lo && code <= k->status[i].hi;
    probe_run_metric(r, "status", (double)code);
    if (!is_status_ok) {
        fmt_status(k, want, sizeof want);
        probe_run_report(r, PROBE_FAILING, "HTTP %ld from %s (expected %s)", code, k->shown, want);
        return;
    }
    if (k->latency_ms && ms > k->latency_ms) {
        probe_run_report(r, PROBE_FAILING, "slow: %u ms > %u ms (HTTP %ld from %s)", ms,
                         k->latency_ms, code, k->shown);
        return;
    }
    if ((k->body || k->njson) && hr->is_body_too_big) {
        probe_run_report(r, PROBE_FAILING, "HTTP %ld from %s, but the body is over 1 MiB", code,
                         k->shown);
        return;
    }
    const char *body = hr->body.ptr ? hr->body.ptr : "";
    if (k->body && !memmem(body, hr->body.len, k->body, strlen(k->body))) {
        probe_run_report(r, PROBE_FAILING, "HTTP %ld from %s, but the body does not contain %s",
                         code, k->shown, k->body);
        return;
    }
    if (k->njson) {
        json_error_t je;
        json_t *doc = json_loadb(body, hr->body.len, 0, &je);
        if (!doc) {
            probe_run_report(r, PROBE_FAILING, "HTTP %ld from %s, but the body is not JSON (%s)",
                             code, k->shown, je.text);
            return;
        }
        for (size_t i = 0; i < k->njson; i++) {
            const json_t *v = json_walk(doc, k->json_keys[i]);
            if (!v) {
                probe_run_report(r, PROBE_FAILING, "HTTP %ld from %s, but the JSON has no %s", code,
                                 k->shown, k->json_keys[i]);
                json_decref(doc);
                return;
            }
            if (!json_matches(v, k->json_values[i], got, sizeof got)) {
                probe_run_report(r, PROBE_FAILING, "%s is \"%s\", not \"%s\" (HTTP %ld from %s)",
                                 k->json_keys[i], got, k->json_values[i], code, k->shown);
                json_decref(doc);
                return;
            }
        }
        json_decref(doc);
    }
    probe_run_report(r, PROBE_OK, "HTTP %ld from %s in %u ms", code, k->shown, ms);
}

static void on_done(void *arg, CURL *easy, CURLcode res)
{
    struct http_run *hr = arg;
    struct probe_run *r = probe_run_from_data(hr);
    struct http *k = probe_run_state(r);
    const struct curlx *cx = curl_uv_api(hr->cu);
    if (res != CURLE_OK) {
        long os_errno = 0; /* "Couldn't connect to server" alone does not say refused or not */
        cx->easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
        char why[64] = "";
        if (os_errno)
            snprintf(why, sizeof why, " (%s)", strerror((int)os_errno));
        for (char *c = why; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        probe_run_report(r, PROBE_FAILING, "%s %s failed: %s%s", k->method, k->shown,
                         hr->error[0] ? hr->error : cx->easy_strerror(res), why);
    } else {
        long code = 0;
        curl_off_t us = 0;
        cx->easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        cx->easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &us);
        judge(r, hr, code, (uint32_t)(us / 1000));
    }
    finish(hr);
}

static int http_start(struct probe_run *r, struct err *err)
{
    struct http *k = probe_run_state(r);
    struct http_run *hr = probe_run_data(r);
    int rc = probe_run_curl(r, &hr->cu, err);
    if (rc < 0)
        return rc;
    const struct curlx *cx = curl_uv_api(hr->cu);
    CURL *e = hr->easy = cx->easy_init();
    if (!e)
        return err_set(err, -ENOMEM, "cannot make a libcurl handle");
    buf_init(&hr->body, HTTP_BODY_MAX);
    for (size_t i = 0; i < k->nheaders; i++) {
        struct curl_slist *l = cx->slist_append(hr->hdrs, k->headers[i]);
        if (l)
            hr->hdrs = l;
    }
    cx->easy_setopt(e, CURLOPT_URL, k->url);
    cx->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    cx->easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)probe_run_timeout_ms(r) + 1000); /* backstop */
    cx->easy_setopt(e, CURLOPT_ERRORBUFFER, hr->error);
    cx->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    cx->easy_setopt(e, CURLOPT_WRITEDATA, hr);
    cx->easy_setopt(e, CURLOPT_USERAGENT, "tend-probe");
    cx->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (hr->hdrs)
        cx->easy_setopt(e, CURLOPT_HTTPHEADER, hr->hdrs);
    if (strcmp(k->method, "HEAD") == 0)
        cx->easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(k->method, "GET") != 0)
        cx->easy_setopt(e, CURLOPT_CUSTOMREQUEST, k->method);
    if (k->skip_tls_verify) {
        cx->easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        cx->easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    rc = curl_uv_add(hr->cu, e, on_done, hr);
    if (rc < 0) {
        cx->easy_cleanup(e);
        if (hr->hdrs)
            cx->slist_free_all(hr->hdrs);
        buf_fini(&hr->body);
        return err_set(err, rc, "cannot start the request to %s", k->shown);
    }
    return 0;
}

static void http_cancel(struct probe_run *r)
{
    struct http_run *hr = probe_run_data(r);
    curl_uv_remove(hr->cu, hr->easy);
    finish(hr);
}

const struct probe_kind probe_http = {
    .name = "http",
    .state_size = sizeof(struct http),
    .run_size = sizeof(struct http_run),
    .init = http_init,
    .fini = http_fini,
    .start = http_start,
    .cancel = http_cancel,
};
