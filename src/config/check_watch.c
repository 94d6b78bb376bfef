/* config/check_watch.c: probes of tend.yaml, the `checks:` list and each app's `health:`.
 *
 * Same method as check_backup.c: a check's name is read first so every message can name it,
 * then the common keys (interval, timeout, and failures/grace for health), then exactly one
 * kind key, which is read by its own function from the kinds table in its short form (a URL,
 * an address, a path) or its long form (a map). A bad value keeps its default and the check
 * goes on, so one run reports every mistake; the probe is thrown away with the snapshot.
 *
 * An app's health probe is read with the app (check_app.c calls cfg__check_health once the
 * app's port is known) and again by cfg_watch_load(). Its strings keep ${PORT} and the other
 * per-instance names as written (interp.c keeps them in the whole tree): the daemon fills them
 * per instance with cfg_app_expand(). URLs are checked here without libcurl: scheme://host
 * [:port][/path]; a secret inside a URL is never quoted back unmasked. */
#include "config/config_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/str.h"
#include "core/util.h"

static bool want_map(struct cfg__ck *ck, const char *key, const struct cfg_node *v,
                     const char *example)
{
    char seen[80];
    if (v->is_bad)
        return false;
    if (v->kind == CFG_NODE_MAP)
        return true;
    cfg__node_describe(v, seen, sizeof seen);
    cfg__error_at(ck, v, "\"%s\" in %s must be %s, not %s", key, ck->what, example, seen);
    return false;
}

/* ---- shared helpers -------------------------------------------------------------------------- */
void cfg__fmt_ms(uint64_t ms, char *dst, size_t size)
{
    static const struct {
        uint64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (ms && ms % units[i].ms == 0) {
            snprintf(dst, size, "%llu%s", (unsigned long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    }
    snprintf(dst, size, "%llums", (unsigned long long)ms);
}

static bool is_instance_ref(const char *s, size_t n)
{
    if (n < 4 || s[0] != '$' || s[1] != '{' || s[n - 1] != '}')
        return false;
    size_t name = strcspn(s + 2, ":-}");
    return cfg__is_instance_var(s + 2, name);
}

int cfg__url_check(const char *url, const char *const *schemes, bool instance_ok, char *why,
                   size_t why_size, char *host, size_t host_size)
{
    const char *sep = strstr(url, "://");
    int idx = -1;
    for (int i = 0; sep && schemes[i]; i++)
        if (strlen(schemes[i]) == (size_t)(sep - url) && !strncasecmp(url, schemes[i], sep - url))
            idx = i;
    if (idx < 0) {
        snprintf(why, why_size, "must start with %s://%s%s%s", schemes[0], schemes[1] ? " or " : "",
                 schemes[1] ? schemes[1] : "", schemes[1] ? "://" : "");
        return -1;
    }
    if (strpbrk(url, " \t\r\n")) {
        snprintf(why, why_size, "must not contain spaces (write %%20)");
        return -1;
    }
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', alen);
    const char *hp = at ? at + 1 : auth, *end = auth + alen, *colon = NULL;
    if (*hp == '[') {
        const char *rb = memchr(hp, ']', (size_t)(end - hp));
        colon = rb && rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
        if (!rb || (rb + 1 < end && !colon)) {
            snprintf(why, why_size, "has a bad [IPv6] address");
            return -1;
        }
    } else {
        /* ${PORT:-3000} holds a colon of its own: search for the port's colon outside ${}. */
        const char *dollar = memchr(hp, '$', (size_t)(end - hp));
        colon = memchr(hp, ':', (size_t)((dollar ? dollar : end) - hp));
    }
    size_t hlen = (size_t)((colon ? colon : end) - hp);
    if (hlen == 0) {
        snprintf(why, why_size, "has no host (scheme://host[:port]/path)");
        return -1;
    }
    if (colon) {
        const char *port = colon + 1;
        size_t plen = (size_t)(end - port);
        char *e = NULL;
        long p = strtol(port, &e, 10);
        bool ok = plen && e == end && p >= 1 && p <= 65535 && port[0] != '+' && port[0] != '-';
        if (!ok && !(instance_ok && is_instance_ref(port, plen))) {
            snprintf(why, why_size, "has a bad port \"%.*s\" (1 to 65535)", (int)MIN(plen, 20),
                     port);
            return -1;
        }
    }
    if (host)
        snprintf(host, host_size, "%.*s", (int)hlen, hp);
    return idx;
}

bool cfg__get_cmd(struct cfg__ck *ck, const char *key, const struct cfg_node *v, char **cmd,
                  char ***argv)
{
    if (v->is_bad)
        return false;
    if (v->kind == CFG_NODE_SEQ) {
        char **l = xcalloc(v->n + 1, sizeof *l);
        size_t n = 0;
        for (size_t i = 0; i < v->n; i++)
            if (cfg__want_scalar(ck, key, v->vals[i], "a string"))
                l[n++] = str_dup(v->vals[i]->str);
        *argv = l;
        if (!v->n)
            cfg__error_at(ck, v, "\"%s\" in %s is empty; the first item is the program to run", key,
                     ck->what);
        return n == v->n && n > 0;
    }
    if (!cfg__want_scalar(ck, key, v, "a command or a list such as [prog, arg]"))
        return false;
    if (!v->str[0]) {
        cfg__error_at(ck, v, "\"%s\" in %s is empty; write the command to run", key, ck->what);
        return false;
    }
    *cmd = str_dup(v->str);
    return true;
}

void cfg__get_headers(struct cfg__ck *ck, const struct cfg_node *v, struct cfg_kv **out, size_t *n)
{
    static const char *const tchar = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "abcdefghijklmnopqrstuvwxyz";
    if (!want_map(ck, "headers", v, "a map such as {Authorization: \"Bearer ${TOKEN}\"}"))
        return;
    *out = xcalloc(v->n + 1, sizeof **out);
    for (size_t i = 0; i < v->n; i++) {
        const struct cfg_node *k = v->keys[i], *x = v->vals[i];
        if (!k->str[0] || strspn(k->str, tchar) != strlen(k->str)) {
            cfg__error_at(ck, k, "\"%s\" in %s is not a valid HTTP header name", k->str, ck->what);
            continue;
        }
        /* Header values are often secrets: a wrong type is described, the value never shown. */
        if (x->is_bad)
            continue;
        if (x->kind != CFG_NODE_SCALAR || x->is_null || strpbrk(x->str, "\r\n")) {
            cfg__error_at(ck, x, "header \"%s\" in %s must be one line of text", k->str, ck->what);
            continue;
        }
        (*out)[*n].key = str_dup(k->str);
        (*out)[(*n)++].value = str_dup(x->str);
    }
}

/* ---- probe kinds ----------------------------------------------------------------------------- */
static bool is_loopback(const char *host)
{
    return str_starts(host, "127.") || !strcasecmp(host, "localhost") || !strcmp(host, "[::1]");
}

static bool check_url(struct cfg__ck *ck, const char *key, const struct cfg_node *v,
                      const char *const *schemes, char **url, int *scheme, char *host,
                      size_t host_size)
{
    char why[160], masked[300];
    if (!cfg__get_str(ck, key, v, url))
        return false;
    /* ${PORT} is accepted as a port everywhere: outside health probes it is reported once, by
     * check_monitor.c, for every key at once. */
    int s = cfg__url_check(*url, schemes, true, why, sizeof why, host, host_size);
    if (s < 0) {
        /* Without a scheme the masking cannot tell a password from a host: show nothing. */
        str_mask_url(masked, sizeof masked, *url);
        cfg__error_at(ck, v, "\"%s\" in %s %s%s%s%s", key, ck->what, why,
                 strstr(*url, "://") ? ", not \"" : "", strstr(*url, "://") ? masked : "",
                 strstr(*url, "://") ? "\"" : "");
        return false;
    }
    if (scheme)
        *scheme = s;
    return true;
}

static void http_status(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *v)
{
    size_t n = v->kind == CFG_NODE_SEQ ? v->n : 1;
    if (v->kind == CFG_NODE_MAP || (v->kind == CFG_NODE_SEQ && !v->n)) {
        cfg__error_at(ck, v, "\"status\" in %s must be a code, a range \"200-299\" or a list of them",
                 ck->what);
        return;
    }
    free(c->u.http.status);
    c->u.http.status = xcalloc(n, sizeof *c->u.http.status);
    c->u.http.nstatus = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cfg_node *x = v->kind == CFG_NODE_SEQ ? v->vals[i] : v;
        if (!cfg__want_scalar(ck, "status", x, "a code or a range such as \"200-299\""))
            continue;
        char *e1 = NULL, *e2 = NULL;
        long lo = strtol(x->str, &e1, 10), hi = lo;
        if (*e1 == '-')
            hi = strtol(e1 + 1, &e2, 10);
        bool ok = e1 != x->str && (*e1 == '\0' || (*e1 == '-' && e2 != e1 + 1 && *e2 == '\0'));
        if (!ok || lo < 100 || hi > 599 || lo > hi) {
            cfg__error_at(ck, x,
                     "\"status\" in %s must be codes from 100 to 599 or ranges such as "
                     "\"200-299\" (low first), not \"%s\"",
                     ck->what, x->str);
            continue;
        }
        c->u.http.status[c->u.http.nstatus++] = (struct cfg_status_range){(int)lo, (int)hi};
    }
}

/* `json: {a: {b: 1}}` and `json: {a.b: 1}` are the same: nested maps become dotted paths. */
static void http_json(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *v,
                      const char *prefix, int depth)
{
    if (!want_map(ck, "json", v, "a map of field: value, such as {status: ok}") || depth > 8)
        return;
    c->u.http.json = xrealloc(c->u.http.json, (c->u.http.njson + v->n + 1) * sizeof(struct cfg_kv));
    for (size_t i = 0; i < v->n; i++) {
        const struct cfg_node *k = v->keys[i], *x = v->vals[i];
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", k->str);
        if (x->kind == CFG_NODE_MAP) {
            http_json(ck, c, x, path, depth + 1);
            c->u.http.json =
                xrealloc(c->u.http.json, (c->u.http.njson + v->n + 1) * sizeof(struct cfg_kv));
            continue;
        }
        if (x->is_bad || !cfg__want_scalar(ck, path, x, "a value to compare with"))
            continue;
        c->u.http.json[c->u.http.njson].key = str_dup(path);
        c->u.http.json[c->u.http.njson++].value = str_dup(x->str);
    }
}

static bool is_credential_header(const char *name)
{
    return !strcasecmp(name, "Authorization") || !strcasecmp(name, "Proxy-Authorization") ||
           !strcasecmp(name, "Cookie") || str_is_secret_name(name);
}

static void http_warnings(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *at,
                          int scheme, const char *host)
{
    const char *cred = NULL;
    char masked[300];
    for (size_t i = 0; i < c->u.http.nheaders && !cred; i++)
        if (is_credential_header(c->u.http.headers[i].key))
            cred = c->u.http.headers[i].key;
    str_mask_url(masked, sizeof masked, c->u.http.url);
    if (!cred && strcmp(masked, c->u.http.url) != 0)
        cred = "in the URL";
    if (scheme == 0 && cred && !is_loopback(host))
        cfg__warn_at(ck, at,
                "%s sends a credential (%s%s%s) in clear text over http:// to \"%s\"; use "
                "https://",
                ck->what, strcmp(cred, "in the URL") ? "header \"" : "", cred,
                strcmp(cred, "in the URL") ? "\"" : "", host);
}

static void k_http(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *v)
{
    static const char *const keys[] = {"url",     "method",  "status",     "body", "json",
                                       "headers", "latency", "tls_verify", NULL};
    static const char *const methods[] = {"GET",    "HEAD",  "POST",    "PUT",
                                          "DELETE", "PATCH", "OPTIONS", NULL};
    static const char *const schemes[] = {"http", "https", NULL};
    const struct cfg_node *x, *url = v;
    char host[256] = "";
    int scheme = -1;
    if (v->kind == CFG_NODE_MAP) {
        cfg__check_keys(ck, v, keys, NULL, ck->what);
        if (!(url = cfg__node_get(v, "url")))
            cfg__error_at(ck, v,
                     "\"http\" in %s has no \"url\"; add one, e.g. url: "
                     "http://127.0.0.1:3000/health",
                     ck->what);
    }
    if (url && !check_url(ck, "http", url, schemes, &c->u.http.url, &scheme, host, sizeof host))
        scheme = -1;
    if (v->kind != CFG_NODE_MAP)
        return;
    if ((x = cfg__node_get(v, "method")) && cfg__get_str(ck, "method", x, &c->u.http.method)) {
        const char *sug = str_suggest(x->str, methods);
        bool ok = false;
        for (size_t i = 0; methods[i] && !ok; i++)
            ok = strcmp(methods[i], x->str) == 0;
        if (!ok)
            cfg__error_at(ck, x,
                     "\"method\" in %s must be GET, HEAD, POST, PUT, DELETE, PATCH or "
                     "OPTIONS, not \"%s\"%s%s%s",
                     ck->what, x->str, sug ? " (did you mean \"" : "", sug ? sug : "",
                     sug ? "\"?)" : "");
    }
    if ((x = cfg__node_get(v, "status")))
        http_status(ck, c, x);
    if ((x = cfg__node_get(v, "body")))
        cfg__get_str(ck, "body", x, &c->u.http.body);
    if ((x = cfg__node_get(v, "json")))
        http_json(ck, c, x, "", 0);
    if ((x = cfg__node_get(v, "headers")))
        cfg__get_headers(ck, x, &c->u.http.headers, &c->u.http.nheaders);
    if ((x = cfg__node_get(v, "latency")) &&
        cfg__get_duration(ck, "latency", x, &c->u.http.latency_ms) && !c->u.http.latency_ms)
        cfg__error_at(ck, x, "\"latency\" in %s must be more than 0", ck->what);
    if ((x = cfg__node_get(v, "tls_verify")) &&
        cfg__get_bool(ck, "tls_verify", x, &c->u.http.tls_verify) && !c->u.http.tls_verify)
        cfg__warn_at(ck, x,
                "%s does not verify TLS certificates (tls_verify: false): an expired or "
                "forged certificate goes unnoticed",
                ck->what);
    if (scheme >= 0)
        http_warnings(ck, c, url, scheme, host);
}

/* "host:port" (or "[v6]:port"); `dflt_port` > 0 makes the port optional. */
static bool host_port(struct cfg__ck *ck, const char *key, const struct cfg_node *v, int dflt_port,
                      char **host, int *port)
{
    char url[600], why[160], h[256];
    if (!cfg__want_scalar(ck, key, v, "an address such as 127.0.0.1:5432"))
        return false;
    snprintf(url, sizeof url, "x://%s", v->str);
    const char *rb = v->str[0] == '[' ? strchr(v->str, ']') : NULL;
    const char *colon = strchr(rb ? rb : v->str, ':'); /* a host has none outside [v6] */
    char *end = NULL;
    long p = colon ? strtol(colon + 1, &end, 10) : dflt_port;
    if (strpbrk(v->str, "/?#@") ||
        cfg__url_check(url, (const char *const[]){"x", NULL}, true, why, sizeof why, h, sizeof h) <
            0 ||
        (!colon && dflt_port <= 0) || (port && colon && *end)) {
        cfg__error_at(ck, v, "\"%s\" in %s must be host:port such as 127.0.0.1:%d, not \"%s\"", key,
                 ck->what, dflt_port > 0 ? dflt_port : 25, v->str);
        return false;
    }
    if (host) {
        free(*host);
        *host = str_dup(h);
    }
    if (port) /* a ${PORT} port fails above: the tls probe keeps a number */
        *port = (int)p;
    return true;
}

static void k_tcp(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *v)
{
    static const char *const keys[] = {"address", "send", "expect", NULL};
    const struct cfg_node *a = v, *x;
    if (v->kind == CFG_NODE_MAP) {
        cfg__check_keys(ck, v, keys, NULL, ck->what);
        if (!(a = cfg__node_get(v, "address")))
            cfg__error_at(ck, v,
                     "\"tcp\" in %s has no \"address\"; add one, e.g. address: "
                     "127.0.0.1:25",
                     ck->what);
        if ((x = cfg__node_get(v, "send")))
            cfg__get_str(ck, "send", x, &c->u.tcp.send);
        if ((x = cfg__node_get(v, "expect")))
            cfg__get_str(ck, "expect", x, &c->u.tcp.expect);
    }
    if (a && host_port(ck, a == v ? "tcp" : "address", a, 0, NULL, NULL))
        c->u.tcp.address = str_dup(a->str);
}

static void k_postgres(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *v)
{
    static const char *const keys[] = {"url", "query", NULL};
    static const char *const schemes[] = {"postgresql", "postgres", NULL};
    const struct cfg_node *u = v, *x;
    if (v->kind == CFG_NODE_MAP) {
        cfg__check_keys(ck, v, keys, NULL, ck->what);
        if (!(u = cfg__node_get(v, "url")))
            cfg__error_at(ck, v, "\"postgres\" in %s has no \"url\"", ck->what);
        if ((x = cfg__node_get(v, "query")) && cfg__get_str(ck, "query", x, &c->u.postgres.query) &&
            !x->str[0])
            cfg__error_at(ck, x, "\"query\" in %s is empty", ck->what);
    }
    if (u)
        check_url(ck, u == v ? "postgres" : "url", u, schemes, &c->u.postgres.url, NULL, NULL, 0);
    if (!c->u.postgres.query)
        c->u.postgres.query = str_dup("SELECT 1");
}

static void k_redis(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *v)
{
    static const char *const keys[] = {"url", NULL};
    static const char *const schemes[] = {"redis", "rediss", NULL};
    const struct cfg_node *u = v;
    if (v->kind == CFG_NODE_MAP) {
        cfg__check_keys(ck, v, keys, NULL, ck->what);
        if (!(u = cfg__node_get(v, "url")))
            cfg__error_at(ck, v, "\"redis\" in %s has no \"url\"", ck->what);
    }
    if (u)
        check_url(ck, u == v ? "redis" : "url", u, schemes, &c->u.redis.url, NULL, NULL, 0);
}

static void k_tls(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *v)
{
    static const char *const keys[] = {"host", "port", "servername", "days", NULL};
    const struct cfg_node *x;
    c->u.tls.port = 443;
    c->u.tls.days = 14;
    if (v->kind != CFG_NODE_MAP) {
        host_port(ck, "tls", v, 443, &c->u.tls.host, &c->u.tls.port);
    } else {
        cfg__check_keys(ck, v, keys, NULL, ck->what);
        if (!(x = cfg__node_get(v, "host")))
            cfg__error_at(ck, v, "\"tls\" in %s has no \"host\"; add one, e.g. host: example.com",
                     ck->what);
        else if (cfg__get_str(ck, "host", x, &c->u.tls.host) &&
                 (!x->str[0] || strpbrk(x->str, ":/ ")))
            cfg__error_at(ck, x, "\"host\" in %s must be a host name such as example.com, not \"%s\"",
                     ck->what, x->str);
        if ((x = cfg__node_get(v, "port")))
            cfg__get_int(ck, "port", x, 1, 65535, &c->u.tls.port);
        if ((x = cfg__node_get(v, "servername")))
            cfg__get_str(ck, "servername", x, &c->u.tls.servername);
        if ((x = cfg__node_get(v, "days")))
            cfg__get_int(ck, "days", x, 0, 3650, &c->u.tls.days);
    }
    if (!c->u.tls.servername && c->u.tls.host)
        c->u.tls.servername = str_dup(c->u.tls.host);
}

static bool get_pct(struct cfg__ck *ck, const char *key, const struct cfg_node *v, double *out)
{
    if (!cfg__want_scalar(ck, key, v, "a percentage such as 85%"))
        return false;
    if (cfg_parse_percent(v->str, out) == 0 && *out <= 100)
        return true;
    cfg__error_at(ck, v, "\"%s\" in %s must be a percentage from 0%% to 100%% such as 85%%, not \"%s\"",
             key, ck->what, v->str);
    return false;
}

static void k_disk(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *v)
{
    static const char *const keys[] = {"path", "max", "min_free_inodes", NULL};
    const struct cfg_node *p = v, *x;
    c->u.disk.max_pct = 85; /* the seeds: disk > 85% is an alert */
    c->u.disk.min_free_inodes_pct = 5;
    if (v->kind == CFG_NODE_MAP) {
        cfg__check_keys(ck, v, keys, NULL, ck->what);
        if (!(p = cfg__node_get(v, "path")))
            cfg__error_at(ck, v, "\"disk\" in %s has no \"path\"; add one, e.g. path: /data", ck->what);
        if ((x = cfg__node_get(v, "max")))
            get_pct(ck, "max", x, &c->u.disk.max_pct);
        if ((x = cfg__node_get(v, "min_free_inodes")))
            get_pct(ck, "min_free_inodes", x, &c->u.disk.min_free_inodes_pct);
    }
    if (p && cfg__get_path(ck, p == v ? "disk" : "path", p, &c->u.disk.path) && !p->str[0])
        cfg__error_at(ck, p, "the disk path in %s is empty; write a folder such as /data", ck->what);
}

static void k_file_age(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *v)
{
    static const char *const keys[] = {"glob", "max_age", NULL};
    const struct cfg_node *x;
    if (!want_map(ck, "file_age", v, "a map such as {glob: \"/backups/*.dump\", max_age: 26h}"))
        return;
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    if (!(x = cfg__node_get(v, "glob")))
        cfg__error_at(ck, v, "\"file_age\" in %s has no \"glob\"", ck->what);
    else if (cfg__get_path(ck, "glob", x, &c->u.file_age.glob) && !x->str[0])
        cfg__error_at(ck, x, "\"glob\" in %s is empty", ck->what);
    if (!(x = cfg__node_get(v, "max_age")))
        cfg__error_at(ck, v, "\"file_age\" in %s has no \"max_age\"; add one, e.g. max_age: 26h",
                 ck->what);
    else if (cfg__get_duration(ck, "max_age", x, &c->u.file_age.max_age_ms) &&
             !c->u.file_age.max_age_ms)
        cfg__error_at(ck, x, "\"max_age\" in %s must be more than 0", ck->what);
}

static void k_exec(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *v)
{
    cfg__get_cmd(ck, "exec", v, &c->u.exec.cmd, &c->u.exec.argv);
}

typedef void kind_fn(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *v);
static kind_fn *const kind_fns[CFG_CHECK_NKINDS] = {
    [CFG_CHECK_HTTP] = k_http,         [CFG_CHECK_TCP] = k_tcp,   [CFG_CHECK_POSTGRES] = k_postgres,
    [CFG_CHECK_REDIS] = k_redis,       [CFG_CHECK_TLS] = k_tls,   [CFG_CHECK_DISK] = k_disk,
    [CFG_CHECK_FILE_AGE] = k_file_age, [CFG_CHECK_EXEC] = k_exec,
};

/* ---- one probe ------------------------------------------------------------------------------- */
void cfg__check_free(struct cfg_check *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->app);
    switch (c->kind) {
    case CFG_CHECK_HTTP:
        free(c->u.http.url);
        free(c->u.http.method);
        free(c->u.http.status);
        free(c->u.http.body);
        cfg_kv_free(c->u.http.json, c->u.http.njson);
        cfg_kv_free(c->u.http.headers, c->u.http.nheaders);
        break;
    case CFG_CHECK_TCP:
        free(c->u.tcp.address);
        free(c->u.tcp.send);
        free(c->u.tcp.expect);
        break;
    case CFG_CHECK_POSTGRES:
        free(c->u.postgres.url);
        free(c->u.postgres.query);
        break;
    case CFG_CHECK_REDIS:
        free(c->u.redis.url);
        break;
    case CFG_CHECK_TLS:
        free(c->u.tls.host);
        free(c->u.tls.servername);
        break;
    case CFG_CHECK_DISK:
        free(c->u.disk.path);
        break;
    case CFG_CHECK_FILE_AGE:
        free(c->u.file_age.glob);
        break;
    case CFG_CHECK_EXEC:
    case CFG_CHECK_NKINDS:
        free(c->u.exec.cmd);
        cfg__strv_free(c->u.exec.argv);
        break;
    }
    free(c);
}

static void check_timing(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *map)
{
    const struct cfg_node *iv = cfg__node_get(map, "interval"), *to = cfg__node_get(map, "timeout");
    const struct cfg_node *x;
    char a[32], b[32];
    if (iv && cfg__get_duration(ck, "interval", iv, &c->interval_ms) && c->interval_ms < 1000) {
        cfg__error_at(ck, iv, "\"interval\" in %s must be at least 1s, not \"%s\"", ck->what, iv->str);
        iv = NULL;
    }
    if (!to)
        c->timeout_ms = MIN(c->timeout_ms, c->interval_ms / 2);
    else if (cfg__get_duration(ck, "timeout", to, &c->timeout_ms) && !c->timeout_ms)
        cfg__error_at(ck, to, "\"timeout\" in %s must be more than 0", ck->what);
    else if (!to->is_bad && to->kind == CFG_NODE_SCALAR && c->timeout_ms >= c->interval_ms) {
        cfg__fmt_ms(c->timeout_ms, a, sizeof a);
        cfg__fmt_ms(c->interval_ms, b, sizeof b);
        cfg__error_at(ck, to, "\"timeout\" (%s) in %s must be shorter than \"interval\" (%s)", a,
                 ck->what, b);
    }
    if (c->kind == CFG_CHECK_HTTP && c->u.http.latency_ms &&
        c->u.http.latency_ms >= c->timeout_ms &&
        (x = cfg__node_get(cfg__node_get(map, "http"), "latency")))
        cfg__warn_at(ck, x,
                "\"latency\" in %s is not below its timeout, so a slow answer fails as a "
                "timeout first; lower it",
                ck->what);
    if (!c->app)
        return;
    if ((x = cfg__node_get(map, "failures")) &&
        cfg__get_int(ck, "failures", x, 0, 1000, &c->failures) && c->failures == 1)
        cfg__warn_at(ck, x,
                "%s restarts the app after a single failed probe (failures: 1); one slow "
                "answer restarts it, 3 is safer",
                ck->what);
    if ((x = cfg__node_get(map, "grace")))
        cfg__get_duration(ck, "grace", x, &c->grace_ms);
}

static const char *const kinds[] = {"http", "tcp",      "postgres", "redis", "tls",
                                    "disk", "file_age", "exec",     NULL};

const char *cfg_check_kind_name(enum cfg_check_kind k)
{
    return (unsigned)k < CFG_CHECK_NKINDS ? kinds[k] : "?";
}

static struct cfg_check *check_probe(struct cfg__ck *ck, const struct cfg_node *map,
                                     struct cfg_check *c)
{
    static const char *const check_keys[] = {"name",  "http",     "tcp",     "postgres",
                                             "redis", "tls",      "disk",    "file_age",
                                             "exec",  "interval", "timeout", NULL};
    static const char *const health_keys[] = {
        "http", "tcp",      "postgres", "redis",    "tls",   "disk", "file_age",
        "exec", "interval", "timeout",  "failures", "grace", NULL};
    const struct cfg_node *kind = NULL;
    int nkinds = 0;
    cfg__check_keys(ck, map, c->app ? health_keys : check_keys, NULL, ck->what);
    for (size_t j = 0; j < map->n; j++) { /* in file order: the second one is the mistake */
        for (int i = 0; kinds[i]; i++) {
            if (strcmp(map->keys[j]->str, kinds[i]) != 0)
                continue;
            if (nkinds++ == 0) {
                kind = map->vals[j];
                c->kind = (enum cfg_check_kind)i;
            } else {
                cfg__error_at(ck, map->vals[j],
                         "%s has both \"%s\" and \"%s\"; a probe tests one thing (add another "
                         "check)",
                         ck->what, kinds[c->kind], kinds[i]);
            }
        }
    }
    if (kind) {
        if (c->kind == CFG_CHECK_HTTP) {
            c->u.http.tls_verify = true;
            c->u.http.method = str_dup("GET");
        }
        kind_fns[c->kind](ck, c, kind);
        if (c->kind == CFG_CHECK_HTTP && !c->u.http.nstatus) {
            free(c->u.http.status);
            c->u.http.status = xcalloc(1, sizeof *c->u.http.status);
            c->u.http.status[c->u.http.nstatus++] = (struct cfg_status_range){200, 399};
        }
    } else {
        cfg__error_at(ck, map,
                 "%s needs one probe: http, tcp, postgres, redis, tls, disk, file_age "
                 "or exec",
                 ck->what);
        c->kind = CFG_CHECK_EXEC; /* nothing allocated: frees as an empty exec */
    }
    check_timing(ck, c, map);
    return c;
}

static bool check_name(struct cfg__ck *ck, struct cfg_check *c, const struct cfg_node *map,
                       size_t index)
{
    const struct cfg_node *v = cfg__node_get(map, "name");
    snprintf(ck->what, sizeof ck->what, "check #%zu", index);
    if (!v) {
        cfg__error_at(ck, map, "check #%zu has no \"name\"; add one, e.g. name: api-health", index);
        return false;
    }
    if (!cfg__get_str(ck, "name", v, &c->name))
        return false;
    size_t n = strlen(c->name);
    if (n == 0 || n > 64 ||
        strspn(c->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
        cfg__error_at(ck, v, "check name \"%s\" must be 1 to 64 letters, digits, \"_\" or \"-\"",
                 c->name);
        return false;
    }
    snprintf(ck->what, sizeof ck->what, "check \"%s\"", c->name);
    return true;
}

static struct cfg_check *check_new(const struct cfg_node *map, uint64_t interval_ms)
{
    struct cfg_check *c = xcalloc(1, sizeof *c);
    c->line = map->line;
    c->col = map->col;
    c->interval_ms = interval_ms;
    c->timeout_ms = 5000;
    return c;
}

/* The first scalar under `n` that uses ${PORT}, or NULL. */
static const struct cfg_node *mentions_port(const struct cfg_node *n, int depth)
{
    if (n->kind == CFG_NODE_SCALAR)
        return !n->is_null && strstr(n->str, "${PORT}") ? n : NULL; /* ${PORT:-x} is fine */
    for (size_t i = 0; i < n->n && depth < 16; i++) {
        const struct cfg_node *x = mentions_port(n->vals[i], depth + 1);
        if (x)
            return x;
    }
    return NULL;
}

/* `port` is the app's port: 0 when it has none (then ${PORT} is an error), -1 when unknown. */
struct cfg_check *cfg__check_health(struct cfg__ck *ck, const char *app, int port,
                                    const struct cfg_node *v)
{
    char seen[80], saved[sizeof ck->what];
    if (v->is_bad || (v->kind == CFG_NODE_SCALAR && v->is_null))
        return NULL;
    if (v->kind != CFG_NODE_MAP) {
        cfg__node_describe(v, seen, sizeof seen);
        cfg__error_at(ck, v,
                 "\"health\" of %s must be a map such as {http: "
                 "\"http://127.0.0.1:${PORT}/health\"}, not %s",
                 ck->what, seen);
        return NULL;
    }
    memcpy(saved, ck->what, sizeof saved);
    struct cfg_check *c = check_new(v, 10000);
    c->app = str_dup(app ? app : "?");
    c->failures = 3;
    c->grace_ms = 30000;
    snprintf(ck->what, sizeof ck->what, "the health probe of %s", saved);
    check_probe(ck, v, c);
    const struct cfg_node *at = port == 0 ? mentions_port(v, 0) : NULL;
    if (at)
        cfg__error_at(ck, at,
                 "the health probe of %s uses ${PORT}, but the app has no \"port\"; "
                 "add one (e.g. port: 3000) or write the port",
                 saved);
    memcpy(ck->what, saved, sizeof saved);
    char name[128];
    snprintf(name, sizeof name, "%s:health", c->app);
    c->name = str_dup(name);
    return c;
}

void cfg__check_checks(struct cfg__ck *ck, const struct cfg_node *list, struct cfg_watch *w)
{
    char seen[80];
    if (list->is_bad || (list->kind == CFG_NODE_SCALAR && list->is_null))
        return;
    if (list->kind != CFG_NODE_SEQ) {
        cfg__node_describe(list, seen, sizeof seen);
        cfg__error_at(ck, list, "\"checks\" must be a list of probes (- name: db), not %s", seen);
        return;
    }
    w->checks = xrealloc(w->checks, (w->nchecks + list->n + 1) * sizeof *w->checks);
    for (size_t i = 0; i < list->n; i++) {
        const struct cfg_node *map = list->vals[i];
        if (map->kind != CFG_NODE_MAP) {
            cfg__node_describe(map, seen, sizeof seen);
            if (!map->is_bad)
                cfg__error_at(ck, map, "each check must be a map (name:, http:, ...), not %s", seen);
            continue;
        }
        struct cfg_check *c = check_new(map, 30000);
        bool named = check_name(ck, c, map, i + 1);
        check_probe(ck, map, c);
        for (size_t j = 0; named && j < w->nchecks; j++) {
            if (w->checks[j]->app || strcmp(w->checks[j]->name, c->name) != 0)
                continue;
            cfg__error_at(ck, cfg__node_get(map, "name"),
                     "check name \"%s\" is already used by the "
                     "check at line %d; names must be unique",
                     c->name, w->checks[j]->line);
            break;
        }
        if (named)
            w->checks[w->nchecks++] = c;
        else
            cfg__check_free(c);
    }
}
