/* tests/unit/config/test_alert.c: `alerts:`, `notifiers:` and `access_logs:` in tend.yaml.
 *
 * The schema's own example loads with every default filled in (rules parsed by core/rule.h,
 * notifier retry and grouping defaults, the combined format written out). Each bad input gives
 * exactly the listed "tend.yaml:L:C: message" lines, rule mistakes pointing at the byte inside
 * the scalar (quoted or not); cfg_load() and cfg_watch_load_mem() both refuse it. Notifier
 * secrets (tokens in URLs, passwords, the Slack and Feishu paths) never appear in a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/rule.h"
#include "core/str.h"
#include "unit.h"

static const char *const test_env[] = {"HOME=/home/deploy",
                                       "DINGTALK_TOKEN=dt-s3cret-token",
                                       "WECOM_KEY=wk-s3cret-key",
                                       "FEISHU_HOOK=fs-s3cret-hook",
                                       "SLACK_PATH=T0/B0/sl-s3cret",
                                       "SMTP_PASSWORD=hunter2-smtp",
                                       NULL};
static const struct cfg_load_opts opts = {
    .home = "/var/lib/tend", .environ = test_env, .base_dir = "/srv/app"};

static char *run(const char *yaml, bool ok, struct cfg_watch **wp)
{
    struct cfg *c = NULL;
    struct cfg_watch *w = NULL;
    struct cfg_diag d, dw;
    struct buf b;
    buf_init(&b, 0);
    int rc = cfg_load_mem("tend.yaml", yaml, strlen(yaml), &opts, &c, &d);
    cfg_diag_format(&d, &b);
    int rcw = cfg_watch_load_mem("tend.yaml", yaml, strlen(yaml), &opts, &w, &dw);
    CHECK_INT(rc, ok ? 0 : -TE_CONFIG);
    CHECK_INT(rcw, ok ? 0 : -TE_CONFIG);
    CHECK(ok ? c && w : !c && !w && dw.nerrors > 0);
    CHECK(!b.ptr || (!strstr(b.ptr, "s3cret") && !strstr(b.ptr, "hunter2")));
    cfg_unref(c);
    if (wp)
        *wp = w;
    else
        cfg_watch_unref(w);
    return b.ptr ? buf_take(&b) : str_dup("");
}

static void expect(const char *yaml, bool ok, const char *want)
{
    char *got = run(yaml, ok, NULL);
    if (strcmp(got, want) != 0)
        UNIT_FAIL("messages differ for\n%s--- got\n%s--- expected\n%s", yaml, got, want);
    free(got);
}

/* The schema's example (watch-schema.md), with $upstream_addr in the format so the upstream
 * mapping can match. */
static const char schema[] =
    "apps:\n"
    "  - {name: api, cmd: node api.js, port: 3000, instances: 4}\n"
    "  - {name: web, cmd: node web.js}\n"
    "checks:\n"
    "  - {name: db, postgres: \"postgresql://tend@127.0.0.1:5432/app\"}\n"
    "  - {name: www-cert, tls: \"example.com:443\"}\n"
    "  - {name: backups, file_age: {glob: \"/data/*.dump*\", max_age: 26h}}\n"
    "backups:\n"
    "  - {name: db-daily, postgres: \"postgresql://127.0.0.1/app\", targets: [{local: /b}]}\n"
    "access_logs:\n"
    "  - path: /var/log/nginx/access.log\n"
    "    format: '$remote_addr [$time_local] \"$request\" $status $request_time "
    "$upstream_addr'\n"
    "    apps:\n"
    "      api: {upstream: 3000-3003}\n"
    "      web: {location: /}\n"
    "    windows: [5m, 1m]\n"
    "  - path: logs/other.log\n"
    "alerts:\n"
    "  - name: high-cpu\n"
    "    rule: cpu > 70% for 5m\n"
    "    severity: critical\n"
    "    notify: [ops, mail]\n"
    "    repeat: 1h\n"
    "  - rule: memory > 80% for 5m\n"
    "  - rule: disk(/data) > 85%\n"
    "  - rule: app(api).down for 1m\n"
    "    repeat: never\n"
    "  - rule: app(api).restarts > 5 in 10m\n"
    "  - rule: app(api).latency.p95 > 500ms for 5m\n"
    "  - rule: app(api).error_rate > 5% for 5m\n"
    "  - rule: check(db).failing for 1m\n"
    "  - rule: postgres(db).connections > 150\n"
    "  - rule: postgres.connections > 150\n"
    "  - rule: cert(www-cert).days_left < 14\n"
    "  - rule: file_age(backups) > 26h\n"
    "  - rule: backup(db-daily).age > 26h\n"
    "notifiers:\n"
    "  - name: ops\n"
    "    dingtalk: https://oapi.dingtalk.com/robot/send?access_token=${DINGTALK_TOKEN}\n"
    "  - name: wecom\n"
    "    wecom: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${WECOM_KEY}\n"
    "  - name: feishu\n"
    "    feishu: {url: \"https://open.feishu.cn/open-apis/bot/v2/hook/${FEISHU_HOOK}\", "
    "secret: abc}\n"
    "  - name: slack\n"
    "    slack: https://hooks.slack.com/services/${SLACK_PATH}\n"
    "  - name: hook\n"
    "    webhook: {url: \"http://127.0.0.1:9000/alerts\", format: alertmanager,"
    " headers: {X-Auth: abc}}\n"
    "    group_wait: 1m\n"
    "    retry: {max: 3, backoff: 1s, max_backoff: 10s}\n"
    "    send_resolved: false\n"
    "  - name: mail\n"
    "    email:\n"
    "      smtp: smtp://smtp.example.com:587\n"
    "      username: alerts@example.com\n"
    "      password: ${SMTP_PASSWORD}\n"
    "      from: alerts@example.com\n"
    "      to: ops@example.com\n"
    "  - name: pager\n"
    "    exec: /usr/local/bin/page-oncall\n";

TEST(schema_example_typed)
{
    struct cfg_watch *w = NULL;
    char *msgs = run(schema, true, &w);
    CHECK_STR(msgs, "");
    free(msgs);
    if (!w)
        return;
    CHECK_INT(w->nalerts, 13);
    CHECK_INT(w->nnotifiers, 7);
    CHECK_INT(w->naccess_logs, 2);
    if (w->nalerts == 13) {
        const struct cfg_alert *a = w->alerts[0];
        CHECK_STR(a->name, "high-cpu");
        CHECK_STR(a->rule_text, "cpu > 70% for 5m");
        CHECK(a->rule && rule_subject(a->rule) == RULE_CPU && rule_for_ms(a->rule) == 300000);
        CHECK_INT(a->severity, CFG_ALERT_CRITICAL);
        CHECK(a->notify && str_eq(a->notify[0], "ops") && str_eq(a->notify[1], "mail") &&
              !a->notify[2]);
        CHECK_INT(a->repeat_ms, 3600000);
        a = w->alerts[1]; /* defaults */
        CHECK_STR(a->name, "memory > 80% for 5m");
        CHECK(a->severity == CFG_ALERT_WARNING && !a->notify && a->repeat_ms == 4 * 3600000);
        CHECK_INT(w->alerts[3]->repeat_ms, 0);
        CHECK(w->alerts[12]->rule && rule_subject(w->alerts[12]->rule) == RULE_BACKUP &&
              str_eq(rule_arg(w->alerts[12]->rule), "db-daily"));
    }
    const struct cfg_notifier *n = cfg_watch_notifier(w, "ops");
    CHECK(
        n && n->kind == CFG_NOTIFY_DINGTALK && !n->u.hook.secret &&
        str_eq(n->u.hook.url, "https://oapi.dingtalk.com/robot/send?access_token=dt-s3cret-token"));
    CHECK(n && n->group_wait_ms == 30000 && n->retry_max == 10 && n->retry_backoff_ms == 5000 &&
          n->retry_max_backoff_ms == 300000 && n->send_resolved);
    n = cfg_watch_notifier(w, "feishu");
    CHECK(n && n->kind == CFG_NOTIFY_FEISHU && str_eq(n->u.hook.secret, "abc"));
    n = cfg_watch_notifier(w, "slack");
    CHECK(n && n->kind == CFG_NOTIFY_SLACK &&
          str_eq(n->u.hook.url, "https://hooks.slack.com/services/T0/B0/sl-s3cret"));
    n = cfg_watch_notifier(w, "hook");
    CHECK(n && n->kind == CFG_NOTIFY_WEBHOOK && n->u.hook.format == CFG_WEBHOOK_ALERTMANAGER &&
          n->u.hook.nheaders == 1 && str_eq(n->u.hook.headers[0].key, "X-Auth"));
    CHECK(n && n->group_wait_ms == 60000 && n->retry_max == 3 && n->retry_backoff_ms == 1000 &&
          n->retry_max_backoff_ms == 10000 && !n->send_resolved);
    n = cfg_watch_notifier(w, "mail");
    CHECK(n && n->kind == CFG_NOTIFY_EMAIL && n->u.email.starttls &&
          str_eq(n->u.email.smtp, "smtp://smtp.example.com:587") &&
          str_eq(n->u.email.password, "hunter2-smtp") &&
          str_eq(n->u.email.from, "alerts@example.com") && n->u.email.to &&
          str_eq(n->u.email.to[0], "ops@example.com") && !n->u.email.to[1]);
    n = cfg_watch_notifier(w, "pager");
    CHECK(n && n->kind == CFG_NOTIFY_EXEC && str_eq(n->u.exec.cmd, "/usr/local/bin/page-oncall"));
    CHECK(cfg_watch_notifier(w, "nope") == NULL);
    if (w->naccess_logs == 2) {
        const struct cfg_access_log *l = w->access_logs[0];
        CHECK_STR(l->path, "/var/log/nginx/access.log");
        CHECK_INT(l->format, CFG_ACCESS_CUSTOM);
        CHECK(l->napps == 2 && str_eq(l->apps[0].app, "api") && l->apps[0].port_lo == 3000 &&
              l->apps[0].port_hi == 3003 && !l->apps[0].location);
        CHECK(l->napps == 2 && str_eq(l->apps[1].location, "/") && !l->apps[1].port_hi);
        CHECK(l->nwindows == 2 && l->windows_ms[0] == 60000 && l->windows_ms[1] == 300000);
        l = w->access_logs[1]; /* defaults */
        CHECK_STR(l->path, "/srv/app/logs/other.log");
        CHECK_INT(l->format, CFG_ACCESS_COMBINED);
        CHECK_STR(l->log_format, "$remote_addr - $remote_user [$time_local] \"$request\" $status "
                                 "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"");
        CHECK(l->nwindows == 3 && l->windows_ms[2] == 900000 && !l->napps);
    }
    CHECK_STR(cfg_alert_severity_name(CFG_ALERT_INFO), "info");
    CHECK_STR(cfg_notifier_kind_name(CFG_NOTIFY_WECOM), "wecom");
    CHECK_STR(cfg_access_format_name(CFG_ACCESS_TIMED), "timed");
    cfg_watch_unref(w);
}

TEST(rule_errors)
{
    expect("notifiers: [{name: ops, exec: x}]\n"
           "alerts:\n"
           "  - rule: cpuu > 70%\n"
           "  - rule: \"cpu > 70 for 5m\"\n"
           "  - name: x\n"
           "    rule: 'memory > 80% fr 5m'\n"
           "  - severity: info\n"
           "  - rule: [cpu]\n",
           false,
           "tend.yaml:3:11: alert #1: unknown metric \"cpuu\" (did you mean \"cpu\"?)\n"
           "tend.yaml:4:18: alert #2: cpu is a percentage: write it as 70%, not \"70\"\n"
           "tend.yaml:6:25: alert \"x\": unexpected \"fr\" after the rule (expected \"for "
           "DURATION\" or "
           "the end; one condition per rule)\n"
           "tend.yaml:7:5: alert #4 has no \"rule\"; add one, e.g. rule: cpu > 70% for 5m\n"
           "tend.yaml:8:11: \"rule\" must be a string, not a list\n");
}

TEST(rule_references)
{
    expect("apps: [{name: api, cmd: x}]\n"
           "backups: [{name: db-daily, files: [/d], targets: [{local: /b}]}]\n"
           "checks:\n"
           "  - {name: db, postgres: \"postgres://127.0.0.1/x\"}\n"
           "  - {name: web, http: \"http://127.0.0.1/\"}\n"
           "  - {name: db2, postgres: \"postgres://127.0.0.1/y\"}\n"
           "notifiers: [{name: ops, exec: x}]\n"
           "alerts:\n"
           "  - rule: check(dbb).failing for 1m\n"
           "  - rule: postgres(web).connections > 150\n"
           "  - rule: app(apii).down\n"
           "  - rule: backup(db-dayly).age > 26h\n"
           "  - rule: cert(nope).days_left < 14\n"
           "  - rule: postgres.connections > 100\n"
           "  - rule: redis(db).clients > 10\n"
           "  - rule: file_age(web) > 1h\n",
           false,
           "tend.yaml:9:17: alert #1: no check named \"dbb\" in \"checks\" (did you mean "
           "\"db\"?)\n"
           "tend.yaml:10:20: alert #2: check \"web\" is not a postgres check; postgres() needs "
           "one with \"postgres:\"\n"
           "tend.yaml:11:15: alert #3: no app named \"apii\" in \"apps\" (did you mean \"api\"?)\n"
           "tend.yaml:12:18: alert #4: no backup job named \"db-dayly\" in \"backups\" (did you "
           "mean \"db-daily\"?)\n"
           "tend.yaml:13:16: alert #5: no tls check named \"nope\" in \"checks\"\n"
           "tend.yaml:14:11: alert #6: \"postgres\" without a name needs exactly one postgres "
           "check, and there are 2; write postgres(NAME)\n"
           "tend.yaml:15:17: alert #7: check \"db\" is not a redis check; redis() needs one with "
           "\"redis:\"\n"
           "tend.yaml:16:20: alert #8: check \"web\" is not a file_age check; file_age() needs "
           "one with \"file_age:\"\n");
}

TEST(alert_keys)
{
    expect("notifiers: [{name: ops, exec: x}, {name: mail, exec: y}]\n"
           "alerts:\n"
           "  - rule: cpu > 70%\n"
           "    notify: [opz, mail]\n"
           "    severity: urgent\n"
           "    repeat: 10s\n"
           "    notfy: ops\n"
           "  - rule: cpu > 70%\n"
           "  - name: \"\"\n"
           "    rule: load > 4\n",
           false,
           "tend.yaml:4:14: alert #1 notifies \"opz\", which is not in \"notifiers\" (did you mean "
           "\"ops\"?)\n"
           "tend.yaml:5:15: \"severity\" in alert #1 must be info, warning or critical, not "
           "\"urgent\"\n"
           "tend.yaml:6:13: \"repeat\" in alert #1 must be at least 1m (or never), not \"10s\"\n"
           "tend.yaml:7:5: unknown key \"notfy\" in alert #1 (did you mean \"notify\"?)\n"
           "tend.yaml:8:11: alert \"cpu > 70%\" is already used by the alert at line 3; names "
           "must be unique\n"
           "tend.yaml:9:11: alert name must be 1 to 128 characters on one line\n");
}

TEST(notifier_errors)
{
    expect("notifiers:\n"
           "  - name: m\n"
           "    email: {smtp: \"smtps://mail.example.com\", starttls: true, username: u, from: x,"
           " to: []}\n"
           "  - name: w\n"
           "    webhook: {url: \"ftp://u:${SMTP_PASSWORD}@example.com/?token=abc\", format: prom,"
           " secret: x}\n"
           "  - name: f\n"
           "    feishu: \"https://open.feishu.cn/open-apis/bot/v2/hook/${FEISHU_HOOK} x\"\n"
           "  - name: s\n"
           "    slack: \"${SLACK_PATH}\"\n"
           "  - name: r\n"
           "    exec: []\n"
           "    retry: {max: 3, backoff: 10s, max_backoff: 1s}\n"
           "  - name: r\n"
           "    slack: https://hooks.slack.com/x\n"
           "    wecom: https://qyapi.weixin.qq.com/x\n"
           "  - name: none\n"
           "  - https://hooks.slack.com/services/${SLACK_PATH}\n"
           "  - name: e\n"
           "    email: \"smtp://u:${SMTP_PASSWORD}@mail\"\n",
           false,
           "tend.yaml:3:12: \"email\" in notifier \"m\" needs both \"username\" and \"password\", "
           "or neither\n"
           "tend.yaml:3:57: \"starttls\" in notifier \"m\" cannot be used with smtps:// (already "
           "TLS); use smtp:// on port 587 for STARTTLS\n"
           "tend.yaml:3:82: \"from\" in notifier \"m\" is not an e-mail address: \"x\"\n"
           "tend.yaml:3:89: \"to\" in notifier \"m\" must be an address or a list of them\n"
           "tend.yaml:5:20: \"url\" in notifier \"w\" must start with https:// or http://, not "
           "\"ftp://u:****@example.com/?token=****\"\n"
           "tend.yaml:5:79: \"format\" in notifier \"w\" must be tend or alertmanager, not "
           "\"prom\"\n"
           "tend.yaml:5:85: \"secret\" is not a setting of webhook notifiers (only of dingtalk "
           "and feishu)\n"
           "tend.yaml:7:13: \"feishu\" in notifier \"f\" must not contain spaces (write %20), not "
           "\"https://open.feishu.cn/open-apis/bot/v2/hook/****\"\n"
           "tend.yaml:9:12: \"slack\" in notifier \"s\" must start with https:// or http://\n"
           "tend.yaml:11:11: \"exec\" in notifier \"r\" is empty; the first item is the program to "
           "run\n"
           "tend.yaml:12:48: \"max_backoff\" in notifier \"r\" must not be below \"backoff\"\n"
           "tend.yaml:13:11: notifier name \"r\" is already used by the notifier at line 10; "
           "names must be unique\n"
           "tend.yaml:15:12: notifier \"r\" has both \"slack\" and \"wecom\"; one kind per "
           "notifier\n"
           "tend.yaml:16:5: notifier \"none\" needs one of dingtalk, wecom, feishu, slack, "
           "webhook, email or exec\n"
           "tend.yaml:17:5: each notifier must be a map (- name: ops, slack: URL), not text\n"
           "tend.yaml:19:12: \"email\" in notifier \"e\" must be a map such as {smtp: smtp://..., "
           "from: ..., to: ...}, not text\n");
}

TEST(access_log_errors)
{
    expect("apps: [{name: api, cmd: x}]\n"
           "access_logs:\n"
           "  - path: /var/log/a.log\n"
           "    format: '$remote_addr $ $request_time'\n"
           "    apps: {apii: {upstream: 3000-2000}, api: {location: api, upstream: 1}}\n"
           "    windows: [1m, 1m, 5s]\n"
           "  - path: /var/log/a.log\n"
           "    format: combind\n"
           "  - format: '$remote_addr $request_time'\n"
           "metrics: {interval: 500ms, keep: 10m, x: 1}\n",
           false,
           "tend.yaml:4:27: \"format\" in access log \"/var/log/a.log\" has a \"$\" that starts no "
           "variable; write $name as in nginx's log_format (lower-case letters, digits, _)\n"
           "tend.yaml:5:12: access log \"/var/log/a.log\" maps requests to app \"apii\", which is "
           "not in \"apps\" (did you mean \"api\"?)\n"
           "tend.yaml:5:29: \"upstream\" in access log \"/var/log/a.log\" must be a port or a "
           "range such as 3000-3003, not \"3000-2000\"\n"
           "tend.yaml:5:46: app \"api\" in access log \"/var/log/a.log\" needs exactly one of "
           "\"upstream\" (ports) or \"location\" (a path prefix)\n"
           "tend.yaml:5:57: \"location\" in access log \"/var/log/a.log\" must be a path prefix "
           "starting with /, not \"api\"\n"
           "tend.yaml:6:19: \"1m\" is listed twice in \"windows\" of access log "
           "\"/var/log/a.log\"\n"
           "tend.yaml:6:23: each of \"windows\" in access log \"/var/log/a.log\" must be between "
           "10s and 24h, not \"5s\"\n"
           "tend.yaml:7:11: access log \"/var/log/a.log\" is already listed at line 3; list each "
           "file once\n"
           "tend.yaml:8:13: \"format\" in access log \"/var/log/a.log\" must be combined, timed or "
           "an nginx log_format string with $variables, not \"combind\" (did you mean "
           "\"combined\"?)\n"
           "tend.yaml:9:5: access log #3 has no \"path\"; add one, e.g. path: "
           "/var/log/nginx/access.log\n"
           "tend.yaml:9:13: \"format\" in access log #3 has no $status; tend needs it to count "
           "errors\n"
           "tend.yaml:10:21: \"interval\" in \"metrics\" must be at least 1s, not \"500ms\"\n"
           "tend.yaml:10:34: \"keep\" in \"metrics\" must be at least 1h, not \"10m\"\n"
           "tend.yaml:10:39: unknown key \"x\" in \"metrics\"\n");
}

TEST(access_log_without_needed_variable)
{
    /* An error, not a warning: the daemon could not follow the log at all. */
    expect("apps: [{name: api, cmd: x}]\n"
           "access_logs:\n"
           "  - path: /var/log/a.log\n"
           "    apps: {api: {upstream: 3000}}\n",
           false,
           "tend.yaml:4:17: access log \"/var/log/a.log\" maps app \"api\" by upstream port, but "
           "its format has no $upstream_addr; no request could match (add $upstream_addr to "
           "nginx's log_format and to `format:` here)\n");
}

TEST(warnings)
{
    expect("apps: [{name: api, cmd: x}]\n"
           "access_logs:\n"
           "  - path: /var/log/a.log\n"
           "    apps: {api: {location: /}}\n"
           "alerts:\n"
           "  - rule: app(api).latency.p95 > 500ms\n"
           "notifiers:\n"
           "  - name: s\n"
           "    slack: http://hooks.slack.com/services/${SLACK_PATH}\n"
           "  - name: m\n"
           "    email: {smtp: \"smtp://mail.example.com\", starttls: false, username: u,"
           " password: \"${SMTP_PASSWORD}\", from: a@b.c, to: [x@y.z]}\n",
           true,
           "tend.yaml:9:12: warning: notifier \"s\" sends its token in clear text over http:// "
           "to \"hooks.slack.com\"; use https://\n"
           "tend.yaml:11:56: warning: notifier \"m\" sends its SMTP password in clear text "
           "(starttls: false); use starttls: true or smtps://\n");
    expect("apps: [{name: api, cmd: x}]\n"
           "alerts:\n"
           "  - rule: app(api).error_rate > 5% for 5m\n",
           true,
           "tend.yaml:3:3: warning: there are alerts but no \"notifiers\", so they only show in "
           "\"tend alerts\"; add one, e.g. a webhook\n"
           "tend.yaml:3:11: warning: alert #1 watches error_rate of app \"api\", which comes from "
           "access logs, but no \"access_logs\" entry maps requests to it; it will never fire\n");
}

int main(void)
{
    RUN(schema_example_typed);
    RUN(rule_errors);
    RUN(rule_references);
    RUN(alert_keys);
    RUN(notifier_errors);
    RUN(access_log_errors);
    RUN(access_log_without_needed_variable);
    RUN(warnings);
    return unit_done();
}
