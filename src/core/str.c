/* core/str.c: small string helpers that the C library lacks or gets wrong.
 *
 * Formatting never truncates silently (str_fmt fails instead), copying always terminates
 * (str_copy is strlcpy). The secret helpers implement DESIGN invariant 7: a name "looks secret"
 * when one of its '_'/'-'/'.'-separated parts, or its end, is a secret word (DB_PASS,
 * API_KEY, ACCESS_KEY_ID, GITHUB_TOKEN, MYSECRET); str_mask shows at most two characters and
 * only of long values, so the mask never gives a short secret away. */
#include "core/str.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

int str_fmt(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= size)
        return -ENAMETOOLONG;
    return 0;
}

size_t str_copy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

char *str_dup(const char *s)
{
    return s ? str_ndup(s, strlen(s)) : NULL;
}

char *str_ndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool str_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ends(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* Levenshtein distance with two rows; words here are config keys, so short. */
size_t str_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *prev = xmalloc((lb + 1) * sizeof *prev);
    size_t *cur = xmalloc((lb + 1) * sizeof *cur);
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j - 1] + cost;
            best = MIN(best, prev[j] + 1);
            best = MIN(best, cur[j - 1] + 1);
            cur[j] = best;
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    size_t d = prev[lb];
    free(prev);
    free(cur);
    return d;
}

const char *str_suggest(const char *word, const char *const *words)
{
    size_t limit = strlen(word) / 3;
    if (limit < 2)
        limit = 2;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; words[i]; i++) {
        size_t d = str_distance(word, words[i]);
        if (d < best_d) {
            best = words[i];
            best_d = d;
        }
    }
    return best;
}

static const char *const secret_words[] = {
    "PASSWORD",    "PASSWD",     "PASS", "PWD",    "SECRET",     "TOKEN", "KEY",
    "CREDENTIALS", "CREDENTIAL", "AUTH", "APIKEY", "PASSPHRASE", "DSN",   NULL,
};

/* The words that also count as a suffix glued to another word (MYSECRET, GITHUBTOKEN). Short
 * words (KEY, PASS, PWD, AUTH) are excluded: MONKEY, BYPASS, CWD-like names are not secrets. */
static const char *const secret_suffixes[] = {
    "PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "PASSPHRASE", "CREDENTIALS", NULL,
};

static bool word_eq_ci(const char *p, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

bool str_is_secret_name(const char *name)
{
    if (!name || !*name)
        return false;
    /* PWD is the shell's working directory, the one common exception to the rule below. */
    if (strcasecmp(name, "PWD") == 0 || strcasecmp(name, "OLDPWD") == 0)
        return false;
    const char *p = name;
    while (*p) {
        size_t n = strcspn(p, "_-.");
        for (size_t i = 0; n && secret_words[i]; i++)
            if (word_eq_ci(p, n, secret_words[i]))
                return true;
        p += n;
        if (*p)
            p++;
    }
    size_t len = strlen(name);
    for (size_t i = 0; secret_suffixes[i]; i++) {
        size_t lw = strlen(secret_suffixes[i]);
        if (len >= lw && strcasecmp(name + len - lw, secret_suffixes[i]) == 0)
            return true;
    }
    return false;
}

void str_mask(char *dst, size_t size, const char *value)
{
    char shown[3] = "";
    if (value && strlen(value) >= 12) {
        shown[0] = value[0];
        shown[1] = value[1];
    }
    /* "%s****" cannot fail to format; truncation to `size` is acceptable for a mask. */
    snprintf(dst, size, "%s****", shown);
}

/* Query parameter names whose values are masked in URLs (compared case-insensitively). */
static bool is_secret_param(const char *p, size_t n)
{
    static const char *const names[] = {
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "key",
        "api_key",
        "apikey",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "pass",
        "pwd",
        "sign",
        "signature",
        "sig",
        "auth",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "accesskeyid",
        "credential",
        NULL,
    };
    for (size_t i = 0; names[i]; i++)
        if (word_eq_ci(p, n, names[i]))
            return true;
    char name[128];
    if (n >= sizeof name)
        return false;
    memcpy(name, p, n);
    name[n] = '\0';
    return str_is_secret_name(name);
}

/* Append n bytes of s into dst[*pos..size-1], truncating; dst stays NUL-terminated. */
static void put(char *dst, size_t size, size_t *pos, const char *s, size_t n)
{
    if (*pos + 1 >= size)
        return;
    size_t room = size - 1 - *pos;
    if (n > room)
        n = room;
    memcpy(dst + *pos, s, n);
    *pos += n;
    dst[*pos] = '\0';
}

void str_mask_url(char *dst, size_t size, const char *url)
{
    size_t pos = 0;
    if (!size)
        return;
    dst[0] = '\0';
    const char *p = url;
    const char *scheme = strstr(url, "://");
    if (scheme) {
        const char *auth = scheme + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = memrchr(auth, '@', alen);
        put(dst, size, &pos, url, (size_t)(auth - url));
        p = auth;
        if (at) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            if (colon) {
                put(dst, size, &pos, auth, (size_t)(colon - auth) + 1);
                put(dst, size, &pos, "****", 4);
                p = at;
            }
        }
    }
    const char *q = strchr(p, '?');
    if (!q) {
        put(dst, size, &pos, p, strlen(p));
        return;
    }
    put(dst, size, &pos, p, (size_t)(q - p) + 1);
    p = q + 1;
    while (*p) {
        size_t plen = strcspn(p, "&#");
        const char *eq = memchr(p, '=', plen);
        if (eq && is_secret_param(p, (size_t)(eq - p))) {
            put(dst, size, &pos, p, (size_t)(eq - p) + 1);
            put(dst, size, &pos, "****", 4);
        } else {
            put(dst, size, &pos, p, plen);
        }
        p += plen;
        if (*p == '#') {
            put(dst, size, &pos, p, strlen(p));
            return;
        }
        if (*p) {
            put(dst, size, &pos, p, 1);
            p++;
        }
    }
}

int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int read_file(const char *path, size_t max, struct buf *out)
{
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char chunk[8192];
    size_t total = 0;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break;
        total += (size_t)r;
        if (max && total > max) {
            rc = -TE_TOOBIG;
            goto out;
        }
        rc = buf_append(out, chunk, (size_t)r);
        if (rc < 0)
            goto out;
    }
    if (!out->ptr)
        rc = buf_append(out, "", 0); /* an empty file still yields a NUL-terminated "" */
out:
    close(fd);
    return rc;
}
