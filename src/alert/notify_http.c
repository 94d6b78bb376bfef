/* alert/notify_http.c: the HTTP notifier kinds: generic webhook, DingTalk, WeCom (企业微信),
 * Feishu/Lark and Slack robots. Each builds a JSON body (and, when signing, the URL or body
 * fields) and judges the reply; notify_curl.c carries the request.
 *
 * The robots answer HTTP 200 even when they refuse a message: DingTalk and WeCom say so with
 * {"errcode": non-zero, "errmsg"}, Feishu with {"code": non-zero, "msg"} (older hooks:
 * {"StatusCode", "StatusMessage"}); such a reply is a failed attempt with the service's words.
 * Slack answers "ok", or a 4xx with a short reason ("invalid_payload").
 *
 * Signing (when `secret` is set), from the services' documentation:
 *   DingTalk: sign = urlencode(base64(HMAC-SHA256(key = secret, msg = ts_ms + "\n" + secret))),
 *             sent as &timestamp=<ts_ms>&sign=<sign> on the URL.
 *   Feishu:   sign = base64(HMAC-SHA256(key = ts_s + "\n" + secret, msg = "")), sent as the body
 *             fields "timestamp" (a string, seconds) and "sign". */
#include <stdio.h>
#include <string.h>

#include "alert/notify_int.h"
#include "core/clock.h"
#include "core/cryptox.h"
#include "core/curlx.h"
#include "core/err.h"
#include "core/str.h"

/* Limits the services document for one message body's text. */
#define DINGTALK_MAX 18000
#define WECOM_MAX 4000 /* markdown content: 4096 bytes */
#define FEISHU_MAX 18000
#define SLACK_SECTION_MAX 2900 /* a section's text: 3000 characters */

static int check_url(const struct notify_spec *s, struct err *err)
{
    if (!s->url || !*s->url)
        return err_set(err, -TE_CONFIG, "needs a url");
    if (!str_starts(s->url, "http://") && !str_starts(s->url, "https://")) {
        char m[512];
        notify__mask_url(m, sizeof m, s->url);
        return err_set(err, -TE_CONFIG, "url must start with http:// or https://, not \"%s\"", m);
    }
    return 0;
}

/* base64(HMAC-SHA256(key, msg)) into dst (at least 48 bytes). */
static int hmac_b64(const char *key, size_t klen, const char *msg, size_t mlen, char *dst,
                    struct err *err)
{
    const struct cryptox *cx;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = cryptox_load(&cx, err);
    if (rc < 0)
        return rc;
    if (!cx->hmac(cx->sha256(), key, (int)klen, (const unsigned char *)msg, mlen, md, &mdlen))
        return err_set(err, -TE_STATE, "cannot compute the HMAC-SHA256 signature");
    cx->encode_block((unsigned char *)dst, md, (int)mdlen);
    return 0;
}

/* A robot's text: the title as a heading (when given), the alerts, and a last line naming tend
 * and the host, all within `limit` bytes. The last line also serves the robots' "custom keyword"
 * security setting: a keyword of "tend" matches every message. */
static void robot_text(const struct notifier *nf, const struct notify_msg *m, const char *title,
                       enum notify_style st, size_t limit, struct buf *out)
{
    char footer[300];
    snprintf(footer, sizeof footer, "\n\n-- tend on %s", nf->set->host);
    if (title)
        buf_printf(out, "### %s\n\n", title);
    size_t used = out->len + strlen(footer);
    notify__render(nf, m, st, limit > used ? limit - used : 0, out);
    buf_puts(out, footer);
}

/* ---- webhook ------------------------------------------------------------------------------ */
static int webhook_build(const struct notifier *nf, const struct notify_msg *m,
                         struct notify_req *req, struct err *err)
{
    json_t *doc = nf->spec.format == NOTIFY_FORMAT_ALERTMANAGER ? notify__am_json(nf, m)
                                                                : notify__tend_json(nf, m);
    req->url = str_dup(nf->spec.url);
    int rc = notify__json_body(doc, req, err);
    for (size_t i = 0; rc == 0 && i < nf->spec.nheaders; i++)
        notify__strv_pushf(&req->headers, "%s: %s", nf->spec.headers[i].key,
                           nf->spec.headers[i].value);
    return rc;
}

const struct notify_kind notify_webhook = {
    .name = "webhook", .check = check_url, .build = webhook_build, .judge = NULL};

/* ---- DingTalk ----------------------------------------------------------------------------- */
static int dingtalk_build(const struct notifier *nf, const struct notify_msg *m,
                          struct notify_req *req, struct err *err)
{
    char title[512];
    struct buf text;
    buf_init(&text, 0);
    notify__title(nf, m, title, sizeof title);
    robot_text(nf, m, title, NOTIFY_STYLE_MARKDOWN, DINGTALK_MAX, &text);
    json_t *doc = json_pack("{s:s, s:{s:s, s:s}}", "msgtype", "markdown", "markdown", "title",
                            title, "text", text.ptr);
    buf_fini(&text);
    if (!nf->spec.secret) {
        req->url = str_dup(nf->spec.url);
        return notify__json_body(doc, req, err);
    }
    const struct curlx *cx;
    char ts[32], sig[64];
    struct buf tosign;
    int rc = curlx_load(&cx, err);
    if (rc < 0) {
        json_decref(doc);
        return rc;
    }
    snprintf(ts, sizeof ts, "%lld", (long long)clock_wall_ms());
    buf_init(&tosign, 0);
    buf_printf(&tosign, "%s\n%s", ts, nf->spec.secret);
    rc = hmac_b64(nf->spec.secret, strlen(nf->spec.secret), tosign.ptr, tosign.len, sig, err);
    buf_fini(&tosign);
    if (rc < 0) {
        json_decref(doc);
        return rc;
    }
    char *esc = cx->easy_escape(NULL, sig, 0);
    struct buf url;
    buf_init(&url, 0);
    buf_printf(&url, "%s%stimestamp=%s&sign=%s", nf->spec.url,
               strchr(nf->spec.url, '?') ? "&" : "?", ts, esc ? esc : "");
    cx->free(esc);
    req->url = buf_take(&url);
    return notify__json_body(doc, req, err);
}

/* DingTalk and WeCom: {"errcode": 0, "errmsg": "ok"} on success. */
static int judge_errcode(const char *service, long code, const char *reply, char *why, size_t size)
{
    json_t *doc = json_loads(reply ? reply : "", 0, NULL);
    json_t *ec = json_object_get(doc, "errcode");
    int rc = 0;
    if (code < 200 || code > 299) {
        snprintf(why, size, "%s answered HTTP %ld: %.200s", service, code, reply ? reply : "");
        rc = -TE_STATE;
    } else if (!json_is_integer(ec)) {
        snprintf(why, size, "%s answered without an errcode: %.200s", service, reply ? reply : "");
        rc = -TE_PARSE;
    } else if (json_integer_value(ec) != 0) {
        snprintf(why, size, "%s refused the message: errcode %lld: %.200s", service,
                 (long long)json_integer_value(ec),
                 json_string_value(json_object_get(doc, "errmsg")) ?: "");
        rc = -TE_STATE;
    }
    json_decref(doc);
    return rc;
}

static int dingtalk_judge(long code, const char *reply, char *why, size_t size)
{
    return judge_errcode("DingTalk", code, reply, why, size);
}

const struct notify_kind notify_dingtalk = {
    .name = "dingtalk", .check = check_url, .build = dingtalk_build, .judge = dingtalk_judge};

/* ---- WeCom -------------------------------------------------------------------------------- */
static int wecom_build(const struct notifier *nf, const struct notify_msg *m,
                       struct notify_req *req, struct err *err)
{
    char title[512];
    struct buf text;
    buf_init(&text, 0);
    notify__title(nf, m, title, sizeof title);
    robot_text(nf, m, title, NOTIFY_STYLE_MARKDOWN, WECOM_MAX, &text);
    json_t *doc =
        json_pack("{s:s, s:{s:s}}", "msgtype", "markdown", "markdown", "content", text.ptr);
    buf_fini(&text);
    req->url = str_dup(nf->spec.url);
    return notify__json_body(doc, req, err);
}

static int wecom_judge(long code, const char *reply, char *why, size_t size)
{
    return judge_errcode("WeCom", code, reply, why, size);
}

const struct notify_kind notify_wecom = {
    .name = "wecom", .check = check_url, .build = wecom_build, .judge = wecom_judge};

/* ---- Feishu / Lark ------------------------------------------------------------------------ */
/* A "post" (rich text) message: a title and one paragraph per line. */
static int feishu_build(const struct notifier *nf, const struct notify_msg *m,
                        struct notify_req *req, struct err *err)
{
    char title[512];
    struct buf text;
    buf_init(&text, 0);
    notify__title(nf, m, title, sizeof title);
    robot_text(nf, m, NULL, NOTIFY_STYLE_PLAIN, FEISHU_MAX, &text);
    json_t *lines = json_array();
    for (char *p = text.ptr, *nl; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        json_array_append_new(lines, json_pack("[{s:s, s:s}]", "tag", "text", "text", p));
        if (!nl)
            break;
    }
    buf_fini(&text);
    json_t *doc = json_pack("{s:s, s:{s:{s:{s:s, s:o}}}}", "msg_type", "post", "content", "post",
                            "zh_cn", "title", title, "content", lines);
    req->url = str_dup(nf->spec.url);
    if (nf->spec.secret) {
        char ts[32], sig[64];
        struct buf key;
        buf_init(&key, 0);
        snprintf(ts, sizeof ts, "%lld", (long long)(clock_wall_ms() / 1000));
        buf_printf(&key, "%s\n%s", ts, nf->spec.secret);
        int rc = hmac_b64(key.ptr, key.len, "", 0, sig, err);
        buf_fini(&key);
        if (rc < 0) {
            json_decref(doc);
            return rc;
        }
        json_object_set_new(doc, "timestamp", json_string(ts));
        json_object_set_new(doc, "sign", json_string(sig));
    }
    return notify__json_body(doc, req, err);
}

static int feishu_judge(long code, const char *reply, char *why, size_t size)
{
    json_t *doc = json_loads(reply ? reply : "", 0, NULL);
    json_t *c = json_object_get(doc, "code");
    const char *msg = json_string_value(json_object_get(doc, "msg"));
    if (!c) {
        c = json_object_get(doc, "StatusCode");
        msg = json_string_value(json_object_get(doc, "StatusMessage"));
    }
    int rc = 0;
    if (code < 200 || code > 299) {
        snprintf(why, size, "Feishu answered HTTP %ld: %.200s", code, reply ? reply : "");
        rc = -TE_STATE;
    } else if (!json_is_integer(c)) {
        snprintf(why, size, "Feishu answered without a code: %.200s", reply ? reply : "");
        rc = -TE_PARSE;
    } else if (json_integer_value(c) != 0) {
        snprintf(why, size, "Feishu refused the message: code %lld: %.200s",
                 (long long)json_integer_value(c), msg ? msg : "");
        rc = -TE_STATE;
    }
    json_decref(doc);
    return rc;
}

const struct notify_kind notify_feishu = {
    .name = "feishu", .check = check_url, .build = feishu_build, .judge = feishu_judge};

/* ---- Slack -------------------------------------------------------------------------------- */
/* Block Kit: a header block with the title, one mrkdwn section with the alerts; `text` is the
 * fallback shown in notifications. */
static int slack_build(const struct notifier *nf, const struct notify_msg *m,
                       struct notify_req *req, struct err *err)
{
    char title[512], header[151];
    struct buf text;
    buf_init(&text, 0);
    notify__title(nf, m, title, sizeof title);
    str_copy(header, title, sizeof header); /* header text: 150 characters at most */
    notify__utf8_trim(header);
    notify__render(nf, m, NOTIFY_STYLE_SLACK, SLACK_SECTION_MAX, &text);
    json_t *doc =
        json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}]}", "text", title, "blocks",
                  "type", "header", "text", "type", "plain_text", "text", header, "type", "section",
                  "text", "type", "mrkdwn", "text", text.ptr ? text.ptr : "");
    buf_fini(&text);
    req->url = str_dup(nf->spec.url);
    return notify__json_body(doc, req, err);
}

const struct notify_kind notify_slack = {
    .name = "slack", .check = check_url, .build = slack_build, .judge = NULL};
