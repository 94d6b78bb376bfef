/* tests/unit/alert/test_notify.c: HTTP notifiers against a real receiver on 127.0.0.1
 * (tests/unit/alert/notify_receiver.py): exactly-once delivery of firing and resolved notices,
 * retries after the receiver was down, grouping, each robot's JSON shape and signature, service
 * refusals, Alertmanager's payload, isolation from a hanging receiver, the bounded queue, and
 * masked secrets in status. Mail and exec are in test_notify_mail.c. */
#include "config/config.h"
#include "core/clock.h"
#include "core/cryptox.h"
#include "notify_test.h"

#define RECEIVER "tests/unit/alert/notify_receiver.py"

static char dir[128];
static int port;

static void url(char *dst, size_t size, const char *path)
{
    snprintf(dst, size, "http://127.0.0.1:%d%s", port, path);
}

/* The receiver's records for one exact path, in arrival order. */
static json_t *records(const char *path)
{
    json_t *all = log_read(dir), *out = json_array(), *o;
    size_t i;
    json_array_foreach(all, i, o)
    {
        if (str_eq(json_string_value(json_object_get(o, "path")), path))
            json_array_append(out, o);
    }
    json_decref(all);
    return out;
}

static const char *body_str(json_t *rec, const char *key)
{
    return json_string_value(json_object_get(json_object_get(rec, "body"), key));
}

TEST(firing_and_resolved_arrive_exactly_once)
{
    char u[200];
    url(u, sizeof u, "/once");
    struct notify_spec s = spec_of("hook", NOTIFY_WEBHOOK, u);
    struct notify_set *set = set_new(&s, 1);
    struct notify_alert a = test_alert("high-cpu", NOTIFY_FIRING);
    CHECK_INT(notify_send(set, NULL, &a, 1, NULL), 0);
    CHECK(wait_stat(set, "hook", "sent", 1));
    a = test_alert("high-cpu", NOTIFY_RESOLVED);
    CHECK_INT(notify_send(set, "hook", &a, 1, NULL), 0);
    CHECK(wait_stat(set, "hook", "sent", 2));
    run_for(300); /* nothing else may arrive */
    json_t *r = records("/once");
    CHECK_INT(json_array_size(r), 2);
    json_t *f = json_array_get(r, 0), *z = json_array_get(r, 1);
    CHECK_STR(body_str(f, "status"), "firing");
    CHECK_STR(body_str(z, "status"), "resolved");
    json_t *fa = json_array_get(json_object_get(json_object_get(f, "body"), "alerts"), 0);
    CHECK_STR(json_string_value(json_object_get(fa, "name")), "high-cpu");
    CHECK_STR(json_string_value(json_object_get(fa, "rule")), "cpu > 70% for 5m");
    CHECK_STR(json_string_value(json_object_get(fa, "severity")), "critical");
    CHECK_STR(json_string_value(json_object_get(fa, "value")), "83.2%");
    CHECK_STR(json_string_value(json_object_get(json_object_get(fa, "labels"), "app")), "api");
    CHECK_STR(json_string_value(json_object_get(fa, "started_at")), "2026-05-01T01:46:40.000Z");
    CHECK(json_is_null(json_object_get(fa, "ended_at")));
    json_t *za = json_array_get(json_object_get(json_object_get(z, "body"), "alerts"), 0);
    CHECK_STR(json_string_value(json_object_get(za, "ended_at")), "2026-05-01T01:58:40.000Z");
    CHECK_STR(body_str(f, "notifier"), "hook");
    CHECK_STR(body_str(f, "host"), "web-1");
    CHECK_STR(json_string_value(json_object_get(json_object_get(f, "headers"), "content-type")),
              "application/json; charset=utf-8");
    CHECK_INT(stat_int(set, "hook", "failed"), 0);
    CHECK_INT(stat_int(set, "hook", "queued"), 0);
    json_decref(r);
    set_close(set);
}

TEST(retried_after_the_receiver_was_down)
{
    char d[128], u[200];
    make_tmpdir(d, sizeof d, "notify-down");
    int p = free_port();
    snprintf(u, sizeof u, "http://127.0.0.1:%d/late", p);
    struct notify_spec s = spec_of("late", NOTIFY_WEBHOOK, u);
    s.retry.max = 50;
    struct notify_set *set = set_new(&s, 1);
    struct notify_alert a = test_alert("api-down", NOTIFY_FIRING);
    notify_send(set, NULL, &a, 1, NULL);
    CHECK(wait_stat(set, "late", "failed", 2)); /* refused, then refused again after a backoff */
    CHECK_INT(stat_int(set, "late", "sent"), 0);
    CHECK_INT(stat_int(set, "late", "queued"), 1);
    pid_t pid;
    CHECK_INT(server_start(RECEIVER, d, p, NULL, &pid), p);
    CHECK(wait_stat(set, "late", "sent", 1));
    run_for(200);
    CHECK_INT(log_count(d), 1);
    CHECK_INT(stat_int(set, "late", "queued"), 0);
    set_close(set);
    server_stop(pid);
}

TEST(retried_after_http_500_with_the_same_message)
{
    char u[200];
    url(u, sizeof u, "/fail/2/x");
    struct notify_spec s = spec_of("flaky", NOTIFY_WEBHOOK, u);
    struct notify_set *set = set_new(&s, 1);
    struct notify_alert a = test_alert("high-cpu", NOTIFY_FIRING);
    notify_send(set, NULL, &a, 1, NULL);
    CHECK(wait_stat(set, "flaky", "sent", 1));
    CHECK_INT(stat_int(set, "flaky", "failed"), 2);
    json_t *r = records("/fail/2/x");
    CHECK_INT(json_array_size(r), 3);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(r, 0), "status")), 500);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(r, 2), "status")), 200);
    CHECK(json_equal(json_object_get(json_array_get(r, 0), "body"),
                     json_object_get(json_array_get(r, 2), "body")));
    json_decref(r);
    set_close(set);
}

TEST(alerts_firing_together_are_grouped)
{
    char u[200];
    url(u, sizeof u, "/group");
    struct notify_spec s = spec_of("grp", NOTIFY_WEBHOOK, u);
    s.group_wait_ms = 300;
    struct notify_set *set = set_new(&s, 1);
    const char *names[] = {"high-cpu", "high-memory", "disk-data"};
    for (int i = 0; i < 3; i++) {
        struct notify_alert a = test_alert(names[i], NOTIFY_FIRING);
        notify_send(set, NULL, &a, 1, NULL);
        run_for(50); /* separate evaluations, within group_wait */
    }
    CHECK_INT(stat_int(set, "grp", "pending"), 3);
    CHECK(wait_stat(set, "grp", "sent", 1));
    run_for(200);
    json_t *r = records("/group");
    CHECK_INT(json_array_size(r), 1);
    json_t *body = json_object_get(json_array_get(r, 0), "body");
    CHECK_INT(json_array_size(json_object_get(body, "alerts")), 3);
    CHECK_INT(json_integer_value(json_object_get(body, "firing")), 3);
    CHECK_STR(json_string_value(json_object_get(body, "title")),
              "[FIRING:3] high-cpu, high-memory, disk-data (web-1)");
    json_decref(r);
    set_close(set);
}

/* base64(HMAC-SHA256(key, msg)) as the test computes it. */
static void b64_hmac(const char *key, const char *msg, char *out)
{
    const struct cryptox *cx;
    unsigned char md[64];
    unsigned int n = 0;
    CHECK_INT(cryptox_load(&cx, NULL), 0);
    cx->hmac(cx->sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), md, &n);
    cx->encode_block((unsigned char *)out, md, (int)n);
}

/* Value of `key` in a query string, %-decoded. */
static void query_get(const char *q, const char *key, char *dst, size_t size)
{
    size_t k = strlen(key), o = 0;
    dst[0] = '\0';
    for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, key, k) || p[k] != '=')
            continue;
        for (const char *c = p + k + 1; *c && *c != '&' && o + 1 < size; c++) {
            if (*c == '%' && c[1] && c[2]) {
                char hex[3] = {c[1], c[2], 0};
                dst[o++] = (char)strtol(hex, NULL, 16);
                c += 2;
            } else {
                dst[o++] = *c;
            }
        }
        dst[o] = '\0';
        return;
    }
}

TEST(robot_payloads_have_the_shapes_the_services_require)
{
    char ud[200], uw[200], uf[200], us[200];
    url(ud, sizeof ud, "/robot/send?access_token=dt-token-123");
    url(uw, sizeof uw, "/cgi-bin/webhook/send?key=wecom-key-456");
    url(uf, sizeof uf, "/open-apis/bot/v2/hook/feishu-hook-789");
    url(us, sizeof us, "/services/T000/B000/slacksecret");
    struct notify_spec s[4] = {
        spec_of("ding", NOTIFY_DINGTALK, ud), spec_of("wecom", NOTIFY_WECOM, uw),
        spec_of("feishu", NOTIFY_FEISHU, uf), spec_of("slack", NOTIFY_SLACK, us)};
    s[0].secret = "SECdingsecret";
    s[2].secret = "feishusecret";
    struct notify_set *set = set_new(s, 4);
    struct notify_alert a[2] = {test_alert("high-cpu", NOTIFY_FIRING),
                                test_alert("磁盘", NOTIFY_RESOLVED)};
    notify_send(set, NULL, a, 2, NULL);
    for (int i = 0; i < 4; i++)
        CHECK(wait_stat(set, s[i].name, "sent", 1));

    json_t *r = records("/robot/send"), *rec = json_array_get(r, 0),
           *b = json_object_get(rec, "body");
    CHECK_INT(json_array_size(r), 1);
    CHECK_STR(body_str(rec, "msgtype"), "markdown");
    const char *title = json_string_value(json_object_get(json_object_get(b, "markdown"), "title"));
    const char *text = json_string_value(json_object_get(json_object_get(b, "markdown"), "text"));
    CHECK(title && strstr(title, "[FIRING:1, RESOLVED:1]"));
    CHECK(text && strstr(text, "high-cpu") && strstr(text, "磁盘") && strstr(text, "`cpu > 70%"));
    char ts[32], sign[128], want[128], tosign[128];
    const char *q = json_string_value(json_object_get(rec, "query"));
    query_get(q, "timestamp", ts, sizeof ts);
    query_get(q, "sign", sign, sizeof sign);
    CHECK(strstr(q, "access_token=dt-token-123&timestamp="));
    snprintf(tosign, sizeof tosign, "%s\n%s", ts, "SECdingsecret");
    b64_hmac("SECdingsecret", tosign, want);
    CHECK_STR(sign, want);
    long long skew = atoll(ts) - (long long)clock_wall_ms();
    CHECK(skew <= 0 && skew > -60000); /* milliseconds, and recent */
    json_decref(r);

    r = records("/cgi-bin/webhook/send");
    rec = json_array_get(r, 0);
    CHECK_STR(body_str(rec, "msgtype"), "markdown");
    text = json_string_value(
        json_object_get(json_object_get(json_object_get(rec, "body"), "markdown"), "content"));
    CHECK(text && strlen(text) <= 4096 && strstr(text, "high-cpu"));
    json_decref(r);

    r = records("/open-apis/bot/v2/hook/feishu-hook-789");
    rec = json_array_get(r, 0);
    b = json_object_get(rec, "body");
    CHECK_STR(body_str(rec, "msg_type"), "post");
    json_t *zh = json_object_get(json_object_get(json_object_get(b, "content"), "post"), "zh_cn");
    CHECK(json_string_value(json_object_get(zh, "title")) != NULL);
    json_t *para = json_array_get(json_object_get(zh, "content"), 0);
    CHECK_STR(json_string_value(json_object_get(json_array_get(para, 0), "tag")), "text");
    snprintf(tosign, sizeof tosign, "%s\n%s", body_str(rec, "timestamp"), "feishusecret");
    b64_hmac(tosign, "", want);
    CHECK_STR(body_str(rec, "sign"), want);
    skew = atoll(body_str(rec, "timestamp") ?: "0") - (long long)clock_wall_ms() / 1000;
    CHECK(skew <= 0 && skew > -60); /* seconds */
    json_decref(r);

    r = records("/services/T000/B000/slacksecret");
    rec = json_array_get(r, 0);
    b = json_object_get(rec, "body");
    json_t *blocks = json_object_get(b, "blocks");
    CHECK(body_str(rec, "text") != NULL);
    CHECK_STR(json_string_value(json_object_get(json_array_get(blocks, 0), "type")), "header");
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_array_get(blocks, 0), "text"), "type")),
              "plain_text");
    json_t *sec = json_object_get(json_array_get(blocks, 1), "text");
    CHECK_STR(json_string_value(json_object_get(sec, "type")), "mrkdwn");
    CHECK(strstr(json_string_value(json_object_get(sec, "text")) ?: "", "*FIRING high-cpu*"));
    json_decref(r);
    set_close(set);
}

TEST(a_long_wecom_message_stays_within_its_limit)
{
    char u[200];
    url(u, sizeof u, "/wecom-long?key=k-long");
    struct notify_spec s = spec_of("wl", NOTIFY_WECOM, u);
    struct notify_set *set = set_new(&s, 1);
    struct notify_alert a[60];
    char names[60][32];
    for (int i = 0; i < 60; i++) {
        snprintf(names[i], sizeof names[i], "rule-%02d-磁盘", i);
        a[i] = test_alert(names[i], NOTIFY_FIRING);
    }
    notify_send(set, NULL, a, 60, NULL);
    CHECK(wait_stat(set, "wl", "sent", 1));
    json_t *r = records("/wecom-long");
    const char *text = json_string_value(json_object_get(
        json_object_get(json_object_get(json_array_get(r, 0), "body"), "markdown"), "content"));
    CHECK(text && strlen(text) <= 4096 && strlen(text) > 3000);
    CHECK(text && strstr(text, "rule-00-磁盘") && strstr(text, "more alerts"));
    CHECK(text && str_ends(text, "-- tend on web-1"));
    json_decref(r);
    set_close(set);
}

TEST(robot_refusals_fail_with_the_services_words)
{
    char ud[200], uf[200];
    url(ud, sizeof ud, "/errcode?access_token=dt-refused-token");
    url(uf, sizeof uf, "/badcode");
    struct notify_spec s[2] = {spec_of("ding", NOTIFY_DINGTALK, ud),
                               spec_of("feishu", NOTIFY_FEISHU, uf)};
    s[0].retry.max = 1;
    s[1].retry.max = 0;
    struct notify_set *set = set_new(s, 2);
    struct notify_alert a = test_alert("high-cpu", NOTIFY_FIRING);
    notify_send(set, NULL, &a, 1, NULL);
    CHECK(wait_stat(set, "ding", "gave_up", 1));
    CHECK(wait_stat(set, "feishu", "gave_up", 1));
    CHECK_INT(stat_int(set, "ding", "failed"), 2); /* first attempt + retry.max */
    CHECK_INT(stat_int(set, "feishu", "failed"), 1);
    CHECK_INT(stat_int(set, "ding", "sent"), 0);
    CHECK_INT(stat_int(set, "ding", "queued"), 0);
    json_t *st = notify_set_status(set);
    const char *e0 = json_string_value(json_object_get(json_array_get(st, 0), "last_error"));
    const char *e1 = json_string_value(json_object_get(json_array_get(st, 1), "last_error"));
    CHECK(e0 && strstr(e0, "310000") && strstr(e0, "sign not match"));
    CHECK(e1 && strstr(e1, "19021") && strstr(e1, "sign match fail"));
    json_decref(st);
    set_close(set);
}

TEST(alertmanager_payload_is_webhook_v4)
{
    char u[200];
    url(u, sizeof u, "/am");
    struct notify_spec s = spec_of("am", NOTIFY_WEBHOOK, u);
    struct notify_label h[] = {{"X-Scope", "tend-test"}};
    s.format = NOTIFY_FORMAT_ALERTMANAGER;
    s.headers = h;
    s.nheaders = 1;
    struct notify_set *set = set_new(&s, 1);
    struct notify_alert a[2] = {test_alert("high-cpu", NOTIFY_FIRING),
                                test_alert("disk-data", NOTIFY_RESOLVED)};
    notify_send(set, NULL, a, 2, NULL);
    CHECK(wait_stat(set, "am", "sent", 1));
    json_t *r = records("/am"), *rec = json_array_get(r, 0), *b = json_object_get(rec, "body");
    CHECK_STR(json_string_value(json_object_get(json_object_get(rec, "headers"), "x-scope")),
              "tend-test");
    CHECK_STR(body_str(rec, "version"), "4");
    CHECK_STR(body_str(rec, "status"), "firing");
    CHECK_STR(body_str(rec, "receiver"), "am");
    CHECK_STR(body_str(rec, "groupKey"), "{}:{notifier=\"am\"}");
    CHECK(json_is_object(json_object_get(b, "groupLabels")));
    json_t *common = json_object_get(b, "commonLabels");
    CHECK_STR(json_string_value(json_object_get(common, "app")), "api");
    CHECK(json_object_get(common, "alertname") == NULL); /* differs between the two */
    json_t *al = json_object_get(b, "alerts"), *a0 = json_array_get(al, 0),
           *a1 = json_array_get(al, 1);
    CHECK_INT(json_array_size(al), 2);
    CHECK_STR(json_string_value(json_object_get(json_object_get(a0, "labels"), "alertname")),
              "high-cpu");
    CHECK_STR(json_string_value(json_object_get(json_object_get(a0, "annotations"), "summary")),
              "cpu 83.2% > 70% for 5m");
    CHECK_STR(json_string_value(json_object_get(a0, "startsAt")), "2026-05-01T01:46:40.000Z");
    CHECK_STR(json_string_value(json_object_get(a0, "endsAt")), "0001-01-01T00:00:00Z");
    CHECK_STR(json_string_value(json_object_get(a1, "status")), "resolved");
    CHECK_STR(json_string_value(json_object_get(a1, "endsAt")), "2026-05-01T01:58:40.000Z");
    CHECK_INT(strlen(json_string_value(json_object_get(a1, "fingerprint")) ?: ""), 16);
    json_decref(r);
    set_close(set);
}

static bool hang_recorded(void *path)
{
    json_t *r = records(path);
    bool ok = json_array_size(r) == 1;
    json_decref(r);
    return ok;
}

TEST(a_hanging_receiver_does_not_delay_another_notifier)
{
    char uh[200], uo[200];
    url(uh, sizeof uh, "/hang");
    url(uo, sizeof uo, "/fast");
    struct notify_spec s[2] = {spec_of("slow", NOTIFY_WEBHOOK, uh),
                               spec_of("fast", NOTIFY_WEBHOOK, uo)};
    s[0].timeout_ms = 20000;
    struct notify_set *set = set_new(s, 2);
    struct notify_alert a = test_alert("high-cpu", NOTIFY_FIRING);
    uint64_t t0 = uv_now(loop);
    notify_send(set, NULL, &a, 1, NULL);
    CHECK(wait_stat(set, "fast", "sent", 1));
    CHECK(uv_now(loop) - t0 < 2000);
    CHECK_INT(stat_int(set, "slow", "in_flight"), 1);
    CHECK_INT(stat_int(set, "slow", "sent"), 0);
    /* It did reach the receiver, which holds it (the receiver may record it after "fast" was
     * answered: the two requests race). */
    CHECK(run_until(hang_recorded, (void *)"/hang", 10000));
    set_close(set); /* cancels the hanging request */
}

TEST(a_full_queue_drops_the_oldest_and_counts)
{
    char u[200];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/nobody?access_token=queue-secret", free_port());
    struct notify_spec s = spec_of("q", NOTIFY_DINGTALK, u);
    s.queue_max = 3;
    s.retry.backoff_ms = s.retry.max_backoff_ms = 60000;
    struct notify_set *set = set_new(&s, 1);
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "alert-%d", i);
        struct notify_alert a = test_alert(name, NOTIFY_FIRING);
        notify_send(set, NULL, &a, 1, NULL);
        CHECK(wait_stat(set, "q", "failed", 1)); /* the first attempt failed: retrying later */
        run_for(20);                             /* group timer: one message per send */
    }
    CHECK_INT(stat_int(set, "q", "queued"), 3);
    CHECK_INT(stat_int(set, "q", "dropped"), 2);
    CHECK_INT(stat_int(set, "q", "failed"), 1);
    CHECK(stat_int(set, "q", "next_retry_in_ms") > 1000);
    set_close(set);
}

TEST(secrets_are_masked_in_status)
{
    char u[4][200];
    int p = free_port();
    snprintf(u[0], 200, "http://127.0.0.1:%d/robot/send?access_token=tok-ding-secret", p);
    snprintf(u[1], 200, "http://127.0.0.1:%d/cgi-bin/webhook/send?key=tok-wecom-secret", p);
    snprintf(u[2], 200, "http://127.0.0.1:%d/open-apis/bot/v2/hook/tok-feishu-secret", p);
    snprintf(u[3], 200, "http://127.0.0.1:%d/services/T1/B2/tok-slack-secret", p);
    struct notify_spec s[4] = {
        spec_of("ding", NOTIFY_DINGTALK, u[0]), spec_of("wecom", NOTIFY_WECOM, u[1]),
        spec_of("feishu", NOTIFY_FEISHU, u[2]), spec_of("slack", NOTIFY_SLACK, u[3])};
    s[0].secret = "SECsigning-secret";
    struct notify_set *set = set_new(s, 4);
    struct notify_alert a = test_alert("high-cpu", NOTIFY_FIRING);
    notify_send(set, NULL, &a, 1, NULL);
    for (int i = 0; i < 4; i++)
        CHECK(wait_stat(set, s[i].name, "failed", 1));
    json_t *st = notify_set_status(set);
    char *text = json_dumps(st, 0);
    CHECK(text && !strstr(text, "tok-") && !strstr(text, "signing-secret"));
    CHECK(text && strstr(text, "access_token=****") && strstr(text, "key=****") &&
          strstr(text, "/hook/****") && strstr(text, "/services/****"));
    const char *e = json_string_value(json_object_get(json_array_get(st, 0), "last_error"));
    CHECK(e && strstr(e, "cannot deliver to http://127.0.0.1:"));
    free(text);
    json_decref(st);
    set_close(set);
}

TEST(configure_checks_every_spec_and_keeps_state)
{
    char u[200];
    url(u, sizeof u, "/keep");
    struct notify_spec s[2] = {spec_of("a", NOTIFY_WEBHOOK, u), spec_of("a", NOTIFY_SLACK, u)};
    struct notify_set *set = set_new(s, 1);
    struct err err = {0};
    CHECK(notify_set_configure(set, s, 2, &err) < 0);
    CHECK(strstr(err.msg, "\"a\" is defined twice"));
    struct notify_spec bad = spec_of("b", NOTIFY_WEBHOOK, "ftp://x/?token=abcdef");
    CHECK(notify_set_configure(set, &bad, 1, &err) < 0);
    CHECK(strstr(err.msg, "notifier \"b\"") && strstr(err.msg, "http://") &&
          !strstr(err.msg, "abcdef"));
    struct notify_alert al = test_alert("high-cpu", NOTIFY_FIRING);
    notify_send(set, "a", &al, 1, NULL);
    CHECK(wait_stat(set, "a", "sent", 1));
    struct notify_spec again = spec_of("a", NOTIFY_WEBHOOK, u);
    again.send_resolved = false;
    CHECK_INT(notify_set_configure(set, &again, 1, &err), 0);
    CHECK_INT(stat_int(set, "a", "sent"), 1); /* same name and kind: counters kept */
    al = test_alert("high-cpu", NOTIFY_RESOLVED);
    notify_send(set, NULL, &al, 1, NULL);
    CHECK_INT(stat_int(set, "a", "pending"), 0); /* send_resolved: false */
    CHECK(notify_send(set, "nope", &al, 1, &err) == -TE_NOTFOUND);
    set_close(set);
}

TEST(notifiers_from_tend_yaml)
{
    char yaml[1200];
    snprintf(yaml, sizeof yaml,
             "apps:\n"
             "  - name: api\n"
             "    script: /bin/true\n"
             "notifiers:\n"
             "  - name: ops\n"
             "    dingtalk: {url: \"http://127.0.0.1:%d/yaml-ding?access_token=yaml-token\", "
             "secret: SECyaml}\n"
             "    group_wait: 0s\n"
             "  - name: hook\n"
             "    webhook: {url: \"http://127.0.0.1:%d/yaml-am\", format: alertmanager, "
             "headers: {X-Team: ops}}\n"
             "    group_wait: 0s\n"
             "    send_resolved: false\n",
             port, port);
    struct cfg_watch *w = NULL;
    struct cfg_diag diag;
    if (cfg_watch_load_mem("tend.yaml", yaml, strlen(yaml), NULL, &w, &diag) < 0) {
        struct buf b;
        buf_init(&b, 0);
        cfg_diag_format(&diag, &b);
        UNIT_FAIL("bad test config:\n%s", b.ptr ? b.ptr : "");
        buf_fini(&b);
        return;
    }
    struct notify_set *set = set_new(NULL, 0);
    struct err err = {0};
    CHECK_INT(notify_set_configure_cfg(set, w, &err), 0);
    cfg_watch_unref(w);
    struct notify_alert a[2] = {test_alert("high-cpu", NOTIFY_FIRING),
                                test_alert("disk-data", NOTIFY_RESOLVED)};
    notify_send(set, NULL, a, 2, NULL);
    CHECK(wait_stat(set, "ops", "sent", 1));
    CHECK(wait_stat(set, "hook", "sent", 1));
    json_t *r = records("/yaml-ding"), *rec = json_array_get(r, 0);
    CHECK(strstr(json_string_value(json_object_get(rec, "query")) ?: "", "&sign="));
    json_decref(r);
    r = records("/yaml-am");
    rec = json_array_get(r, 0);
    CHECK_STR(body_str(rec, "version"), "4");
    CHECK_INT(json_array_size(json_object_get(json_object_get(rec, "body"), "alerts")), 1);
    CHECK_STR(json_string_value(json_object_get(json_object_get(rec, "headers"), "x-team")), "ops");
    json_decref(r);
    json_t *st = notify_set_status(set);
    char *text = json_dumps(st, 0);
    CHECK(text && !strstr(text, "yaml-token") && strstr(text, "\"kind\": \"dingtalk\""));
    free(text);
    json_decref(st);
    set_close(set);
}

int main(void)
{
    pid_t pid;
    test_loop_init();
    make_tmpdir(dir, sizeof dir, "notify");
    port = server_start(RECEIVER, dir, 0, NULL, &pid);
    if (port <= 0) {
        UNIT_FAIL("cannot start %s", RECEIVER);
        return unit_done();
    }
    RUN(firing_and_resolved_arrive_exactly_once);
    RUN(retried_after_the_receiver_was_down);
    RUN(retried_after_http_500_with_the_same_message);
    RUN(alerts_firing_together_are_grouped);
    RUN(robot_payloads_have_the_shapes_the_services_require);
    RUN(a_long_wecom_message_stays_within_its_limit);
    RUN(robot_refusals_fail_with_the_services_words);
    RUN(alertmanager_payload_is_webhook_v4);
    RUN(a_hanging_receiver_does_not_delay_another_notifier);
    RUN(a_full_queue_drops_the_oldest_and_counts);
    RUN(secrets_are_masked_in_status);
    RUN(configure_checks_every_spec_and_keeps_state);
    RUN(notifiers_from_tend_yaml);
    server_stop(pid);
    tmpdirs_remove();
    return unit_done();
}
