/* alert/notify_mask.c: keeping notifier secrets out of status, logs, events and errors.
 *
 * Two layers, because either alone leaks. URLs are masked by shape: core's str_mask_url() hides
 * user:password and secret query parameters (DingTalk's access_token, WeCom's key), and this
 * file adds the hook URLs whose secret is the path itself (Slack /services/T../B../xxx,
 * Feishu/Lark /bot/v2/hook/<token>, Discord-style /api/webhooks/.., Mattermost /hooks/..). Then
 * every exact secret string of the notifier (those tokens, signing secrets, SMTP passwords,
 * Authorization header values) is replaced wherever it appears, so a receiver that echoes a
 * token in its error text, or a curl message quoting a host, cannot carry it out. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alert/notify_int.h"
#include "core/buf.h"
#include "core/str.h"

#define MASK "****"

/* Path prefixes after which the rest of the path is a secret. */
static const char *const path_markers[] = {
    "/services/",     /* Slack incoming webhooks */
    "/bot/v2/hook/",  /* Feishu and Lark custom bots */
    "/api/webhooks/", /* Discord-style */
    "/hooks/",        /* Mattermost, generic */
    NULL,
};

/* The secret span of url's path, if any: [*start, *start + *len). */
static bool path_secret(const char *url, size_t *start, size_t *len)
{
    const char *s = strstr(url, "://");
    const char *path = s ? s + 3 + strcspn(s + 3, "/?#") : url;
    size_t plen = strcspn(path, "?#");
    for (size_t i = 0; path_markers[i]; i++) {
        size_t mlen = strlen(path_markers[i]);
        const char *m = memmem(path, plen, path_markers[i], mlen);
        if (m && (size_t)(m + mlen - path) < plen) {
            *start = (size_t)(m + mlen - url);
            *len = plen - (size_t)(m + mlen - path);
            return true;
        }
    }
    return false;
}

void notify__mask_url(char *dst, size_t size, const char *url)
{
    size_t start, len;
    if (!url) {
        str_copy(dst, "", size);
        return;
    }
    if (!path_secret(url, &start, &len)) {
        str_mask_url(dst, size, url);
        return;
    }
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, url, start);
    buf_puts(&b, MASK);
    buf_puts(&b, url + start + len);
    str_mask_url(dst, size, b.ptr);
    buf_fini(&b);
}

static bool is_secret_query(const char *name, size_t n)
{
    char key[128];
    if (n == 0 || n >= sizeof key)
        return false;
    memcpy(key, name, n);
    key[n] = '\0';
    return str_is_secret_name(key) || strcasecmp(key, "sign") == 0 ||
           strcasecmp(key, "signature") == 0 || strcasecmp(key, "sig") == 0;
}

static void push_n(struct notify_strv *out, const char *p, size_t n)
{
    if (n < 4) /* too short to replace safely in free text; the URL shape still masks it */
        return;
    char *c = str_ndup(p, n);
    notify__strv_push(out, c);
    free(c);
}

static void url_secrets(const char *url, struct notify_strv *out)
{
    size_t start, len;
    if (!url)
        return;
    if (path_secret(url, &start, &len))
        push_n(out, url + start, len);
    const char *s = strstr(url, "://");
    if (s) {
        const char *auth = s + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = memrchr(auth, '@', alen);
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon)
            push_n(out, colon + 1, (size_t)(at - colon - 1));
    }
    const char *q = strchr(url, '?');
    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        size_t plen = strcspn(p, "&#");
        const char *eq = memchr(p, '=', plen);
        if (eq && is_secret_query(p, (size_t)(eq - p)))
            push_n(out, eq + 1, plen - (size_t)(eq - p) - 1);
        p += plen;
        if (*p != '&')
            break;
        p++;
    }
}

void notify__spec_secrets(const struct notify_spec *s, struct notify_strv *out)
{
    url_secrets(s->url, out);
    url_secrets(s->email.smtp, out);
    if (s->secret)
        push_n(out, s->secret, strlen(s->secret));
    if (s->email.password)
        push_n(out, s->email.password, strlen(s->email.password));
    for (size_t i = 0; i < s->nheaders; i++) {
        const char *k = s->headers[i].key, *v = s->headers[i].value;
        if (!k || !v)
            continue;
        if (!str_is_secret_name(k) && strcasecmp(k, "Authorization") != 0 &&
            strcasecmp(k, "Proxy-Authorization") != 0 && strcasecmp(k, "Cookie") != 0)
            continue;
        push_n(out, v, strlen(v));
        const char *sp = strrchr(v, ' '); /* "Bearer xyz": the credential alone too */
        if (sp)
            push_n(out, sp + 1, strlen(sp + 1));
    }
}

static bool is_url_end(char c)
{
    return c == '\0' || isspace((unsigned char)c) || strchr("\"'<>()[]{}`", c);
}

void notify__scrub(const struct notify_strv *secrets, const char *text, char *dst, size_t size)
{
    struct buf a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    /* 1. URLs by shape. */
    const char *p = text ? text : "";
    for (const char *s; (s = strstr(p, "://"));) {
        const char *start = s;
        while (start > p && (isalnum((unsigned char)start[-1]) || strchr("+.-", start[-1])))
            start--;
        const char *end = s + 3;
        while (!is_url_end(*end))
            end++;
        while (end > s + 3 && strchr(":;,.!?", end[-1]))
            end--; /* "... to http://h/x?key=k: refused": the colon is the sentence's */
        buf_append(&a, p, (size_t)(start - p));
        char *url = str_ndup(start, (size_t)(end - start));
        char masked[2048];
        notify__mask_url(masked, sizeof masked, url);
        buf_puts(&a, masked);
        free(url);
        p = end;
    }
    buf_puts(&a, p);
    /* 2. Exact secrets, longest first would be nicer; any order masks every byte of each. */
    for (size_t i = 0; secrets && i < secrets->n; i++) {
        const char *sec = secrets->v[i];
        size_t n = strlen(sec);
        buf_reset(&b);
        const char *q = a.ptr ? a.ptr : "";
        for (const char *hit; (hit = strstr(q, sec));) {
            buf_append(&b, q, (size_t)(hit - q));
            buf_puts(&b, MASK);
            q = hit + n;
        }
        buf_puts(&b, q);
        struct buf t = a;
        a = b;
        b = t;
    }
    str_copy(dst, a.ptr ? a.ptr : "", size);
    notify__utf8_trim(dst);
    buf_fini(&a);
    buf_fini(&b);
}
