/* watch/probe_tls.c: `tls: example.com:443`: days until the server's certificate expires
 * (Let's Encrypt certificates last 90 days; renewal that silently stopped shows up here weeks
 * before browsers complain).
 *
 * Why libcurl and not libssl: the handshake must run on the loop without blocking, with DNS,
 * SNI, connect timeouts and proxies handled; curl's multi interface (watch/curl_uv.h, already
 * loaded for http probes) does all of that, while libssl would need a second dlopen table
 * (libssl.so.3 beside core/cryptox.h's libcrypto) and a hand-written non-blocking handshake
 * state machine on uv_poll. CURLOPT_CONNECT_ONLY stops after the TLS handshake, so no HTTP is
 * spoken and any TLS port works (IMAPS, SMTPS, a TLS database port); CURLOPT_CERTINFO hands
 * back the chain with each certificate's "Expire date". Verification is off for this probe on
 * purpose: an expired or self-signed certificate must still be read and reported as such
 * ("expired 3 days ago"); whether the chain is trusted is what an https http probe checks.
 *
 * "Expire date" is printed by the TLS backend: OpenSSL's ASN1_TIME_print ("Mar  4 12:00:00 2026
 * GMT") or curl's own x509 code for GnuTLS and others ("2026-03-04 12:00:00 GMT"); both parse. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/curlx.h"
#include "core/err.h"
#include "watch/curl_uv.h"
#include "watch/probe.h"

/* Owned by its probe. */
struct tls {
    char *url;        /* https://servername:port/ */
    char *connect_to; /* "servername:port:host:port" when they differ, else NULL */
    char *label;      /* host:port for messages */
    int days;
};

struct tls_run {
    struct curl_uv *cu;
    CURL *easy;
    struct curl_slist *connect_to;
    char error[CURL_ERROR_SIZE];
};

/* "[::1]" for IPv6 literals in URLs and connect-to strings. */
static const char *bracket(const char *host, char *dst, size_t size)
{
    if (strchr(host, ':'))
        snprintf(dst, size, "[%s]", host);
    else
        snprintf(dst, size, "%s", host);
    return dst;
}

static char *fmt_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_dup(const char *fmt, ...)
{
    struct buf b;
    va_list ap;
    buf_init(&b, 0);
    va_start(ap, fmt);
    int rc = buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc < 0)
        abort(); /* small control strings only, as xmalloc */
    return buf_take(&b);
}

static int tls_init(struct watch_probe *p, const struct probe_spec *spec, void *state,
                    struct err *err)
{
    const struct probe_tls_spec *t = &spec->u.tls;
    struct tls *k = state;
    if (!t->host || !t->host[0])
        return err_set(err, -TE_INVALID, "tls: host is required (example.com:443)");
    int port = t->port ? t->port : 443;
    if (port < 1 || port > 65535)
        return err_set(err, -TE_INVALID, "tls: port %d is not between 1 and 65535", port);
    if (t->days < 0)
        return err_set(err, -TE_INVALID, "tls: days must not be negative");
    const char *sni = t->servername && t->servername[0] ? t->servername : t->host;
    char h[300], s[300];
    bracket(t->host, h, sizeof h);
    bracket(sni, s, sizeof s);
    k->url = fmt_dup("https://%s:%d/", s, port);
    k->connect_to = strcmp(sni, t->host) ? fmt_dup("%s:%d:%s:%d", s, port, h, port) : NULL;
    k->label = fmt_dup("%s:%d", h, port);
    k->days = t->days ? t->days : 14;
    probe_set_target(p, k->label);
    return 0;
}

static void tls_fini(void *state)
{
    struct tls *k = state;
    free(k->url);
    free(k->connect_to);
    free(k->label);
}

static void finish(struct tls_run *tr)
{
    const struct curlx *cx = curl_uv_api(tr->cu);
    cx->easy_cleanup(tr->easy);
    if (tr->connect_to)
        cx->slist_free_all(tr->connect_to);
    probe_run_release(probe_run_from_data(tr));
}

/* "Mar  4 12:00:00 2026 GMT" or "2026-03-04 12:00:00 GMT" -> seconds since the epoch. */
static int parse_expiry(const char *s, time_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm = {0};
    char mon[4] = {0};
    if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) == 6) {
        tm.tm_mon -= 1;
    } else if (sscanf(s, "%3s %d %d:%d:%d %d", mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                      &tm.tm_sec, &tm.tm_year) == 6) {
        const char *m = strstr(months, mon);
        if (!m || (m - months) % 3)
            return -TE_PARSE;
        tm.tm_mon = (int)((m - months) / 3);
    } else {
        return -TE_PARSE;
    }
    tm.tm_year -= 1900;
    *out = timegm(&tm);
    return 0;
}

/* The leaf certificate's "Expire date", or NULL. */
static const char *leaf_expiry(const struct curl_certinfo *ci)
{
    if (!ci || ci->num_of_certs < 1)
        return NULL;
    for (const struct curl_slist *l = ci->certinfo[0]; l; l = l->next)
        if (strncmp(l->data, "Expire date:", 12) == 0)
            return l->data + 12;
    return NULL;
}

static void on_done(void *arg, CURL *easy, CURLcode res)
{
    struct tls_run *tr = arg;
    struct probe_run *r = probe_run_from_data(tr);
    struct tls *k = probe_run_state(r);
    const struct curlx *cx = curl_uv_api(tr->cu);
    struct curl_certinfo *ci = NULL;
    const char *exp = NULL;
    time_t t;
    if (res != CURLE_OK) {
        probe_run_report(r, PROBE_FAILING, "TLS handshake with %s failed: %s", k->label,
                         tr->error[0] ? tr->error : cx->easy_strerror(res));
    } else if (cx->easy_getinfo(easy, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
               !(exp = leaf_expiry(ci))) {
        probe_run_report(r, PROBE_FAILING, "%s sent no certificate this libcurl can read",
                         k->label);
    } else if (parse_expiry(exp, &t) < 0) {
        probe_run_report(r, PROBE_FAILING, "cannot read the expiry date \"%s\" of %s's certificate",
                         exp, k->label);
    } else {
        double days = ((double)t * 1000 - (double)clock_wall_ms()) / 86400000.0;
        char date[32];
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
        probe_run_metric(r, "days_left", days);
        if (days < 0)
            probe_run_report(r, PROBE_FAILING, "the certificate of %s expired %.0f days ago (%s)",
                             k->label, -days, date);
        else if (days < k->days)
            probe_run_report(r, PROBE_FAILING,
                             "the certificate of %s expires in %.1f days (%s), fewer than %d",
                             k->label, days, date, k->days);
        else
            probe_run_report(r, PROBE_OK, "the certificate of %s expires in %.0f days (%s)",
                             k->label, days, date);
    }
    finish(tr);
}

static int tls_start(struct probe_run *r, struct err *err)
{
    struct tls *k = probe_run_state(r);
    struct tls_run *tr = probe_run_data(r);
    int rc = probe_run_curl(r, &tr->cu, err);
    if (rc < 0)
        return rc;
    const struct curlx *cx = curl_uv_api(tr->cu);
    CURL *e = tr->easy = cx->easy_init();
    if (!e)
        return err_set(err, -ENOMEM, "cannot make a libcurl handle");
    if (k->connect_to)
        tr->connect_to = cx->slist_append(NULL, k->connect_to);
    cx->easy_setopt(e, CURLOPT_URL, k->url);
    cx->easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    cx->easy_setopt(e, CURLOPT_CERTINFO, 1L);
    cx->easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    cx->easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    cx->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    cx->easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)probe_run_timeout_ms(r) + 1000);
    cx->easy_setopt(e, CURLOPT_ERRORBUFFER, tr->error);
    if (tr->connect_to)
        cx->easy_setopt(e, CURLOPT_CONNECT_TO, tr->connect_to);
    rc = curl_uv_add(tr->cu, e, on_done, tr);
    if (rc < 0) {
        cx->easy_cleanup(e);
        if (tr->connect_to)
            cx->slist_free_all(tr->connect_to);
        return err_set(err, rc, "cannot start the TLS handshake with %s", k->label);
    }
    return 0;
}

static void tls_cancel(struct probe_run *r)
{
    struct tls_run *tr = probe_run_data(r);
    curl_uv_remove(tr->cu, tr->easy);
    finish(tr);
}

const struct probe_kind probe_tls = {
    .name = "tls",
    .state_size = sizeof(struct tls),
    .run_size = sizeof(struct tls_run),
    .init = tls_init,
    .fini = tls_fini,
    .start = tls_start,
    .cancel = tls_cancel,
};
