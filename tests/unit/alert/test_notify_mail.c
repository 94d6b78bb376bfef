/* tests/unit/alert/test_notify_mail.c: email over SMTP to a real receiver on 127.0.0.1
 * (tests/unit/alert/notify_smtp.py, plain and with STARTTLS), the exec notifier (payload on stdin,
 * TEND_ALERT_* variables, failure text, timeout), and the masking rules themselves. */
#include "notify_test.h"

#define SMTP "tests/unit/alert/notify_smtp.py"

/* Run a shell command to completion (tests may block); its exit code. */
static int sh(const char *cmd)
{
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    pid_t pid;
    int status = -1;
    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, (char *const *)argv, environ) == 0)
        waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static struct notify_spec mail_spec(const char *name, const char *smtp)
{
    static const char *const to[] = {"ops@example.com", "dba@example.com"};
    struct notify_spec s = spec_of(name, NOTIFY_EMAIL, NULL);
    s.email.smtp = smtp;
    s.email.from = "alerts@example.com";
    s.email.to = to;
    s.email.nto = 2;
    return s;
}

TEST(email_reaches_an_smtp_receiver)
{
    char d[128], u[100];
    pid_t pid;
    make_tmpdir(d, sizeof d, "notify-smtp");
    int p = server_start(SMTP, d, 0, NULL, &pid);
    CHECK(p > 0);
    snprintf(u, sizeof u, "smtp://127.0.0.1:%d", p);
    struct notify_spec s = mail_spec("mail", u);
    s.email.starttls = false;
    struct notify_set *set = set_new(&s, 1);
    struct notify_alert a[2] = {test_alert("high-cpu", NOTIFY_FIRING),
                                test_alert("磁盘-data", NOTIFY_FIRING)};
    notify_send(set, NULL, a, 2, NULL);
    CHECK(wait_stat(set, "mail", "sent", 1));
    json_t *log = log_read(d), *m = json_array_get(log, 0);
    CHECK_INT(json_array_size(log), 1);
    CHECK_STR(json_string_value(json_object_get(m, "from")), "alerts@example.com");
    json_t *to = json_object_get(m, "to");
    CHECK_INT(json_array_size(to), 2);
    CHECK_STR(json_string_value(json_array_get(to, 1)), "dba@example.com");
    const char *data = json_string_value(json_object_get(m, "data")) ?: "";
    CHECK(strstr(data, "\r\nDate: ") || str_starts(data, "Date: "));
    CHECK(strstr(data, "\r\nMessage-ID: <tend."));
    CHECK(strstr(data, "\r\nTo: ops@example.com, dba@example.com\r\n"));
    CHECK(strstr(data, "\r\nSubject: =?UTF-8?B?")); /* the title has 磁盘: encoded-words */
    CHECK(strstr(data, "Content-Type: text/plain; charset=UTF-8"));
    CHECK(strstr(data, "FIRING 磁盘-data (critical)")); /* 8bit UTF-8 body */
    CHECK(strstr(data, "rule: cpu > 70% for 5m, value: 83.2%"));
    CHECK(!json_is_true(json_object_get(m, "tls")));
    json_decref(log);
    set_close(set);
    server_stop(pid);
}

TEST(email_uses_starttls_and_auth)
{
    char d[128], u[100], cmd[600], cert[200], key[200];
    pid_t pid;
    make_tmpdir(d, sizeof d, "notify-tls");
    snprintf(cert, sizeof cert, "%s/cert.pem", d);
    snprintf(key, sizeof key, "%s/key.pem", d);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s -out %s -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    if (sh(cmd) != 0) {
        UNIT_FAIL("cannot make a test certificate with openssl");
        return;
    }
    const char *extra[] = {"--cert", cert, "--key", key, NULL};
    int p = server_start(SMTP, d, 0, extra, &pid);
    CHECK(p > 0);
    snprintf(u, sizeof u, "smtp://127.0.0.1:%d", p);
    struct notify_spec s = mail_spec("tls", u);
    s.ca_file = cert;
    s.email.username = "alerts@example.com";
    s.email.password = "smtp-pass-secret";
    struct notify_set *set = set_new(&s, 1);
    struct notify_alert a = test_alert("high-cpu", NOTIFY_RESOLVED);
    notify_send(set, NULL, &a, 1, NULL);
    CHECK(wait_stat(set, "tls", "sent", 1));
    json_t *log = log_read(d), *m = json_array_get(log, 0);
    CHECK(json_is_true(json_object_get(m, "tls")));
    CHECK_STR(json_string_value(json_object_get(m, "user")), "alerts@example.com");
    CHECK(strstr(json_string_value(json_object_get(m, "data")) ?: "",
                 "Subject: [RESOLVED:1] high-cpu (web-1)"));
    json_decref(log);
    set_close(set);
    server_stop(pid);
}

TEST(email_refuses_a_server_without_starttls)
{
    char d[128], u[100];
    pid_t pid;
    make_tmpdir(d, sizeof d, "notify-notls");
    int p = server_start(SMTP, d, 0, NULL, &pid); /* no --cert: does not offer STARTTLS */
    snprintf(u, sizeof u, "smtp://127.0.0.1:%d", p);
    struct notify_spec s = mail_spec("strict", u);
    s.email.username = "alerts@example.com";
    s.email.password = "never-in-clear";
    s.retry.max = 0;
    struct notify_set *set = set_new(&s, 1);
    struct notify_alert a = test_alert("high-cpu", NOTIFY_FIRING);
    notify_send(set, NULL, &a, 1, NULL);
    CHECK(wait_stat(set, "strict", "gave_up", 1));
    CHECK_INT(stat_int(set, "strict", "sent"), 0);
    CHECK_INT(log_count(d), 0);
    json_t *st = notify_set_status(set);
    char *text = json_dumps(st, 0);
    CHECK(text && !strstr(text, "never-in-clear"));
    free(text);
    json_decref(st);
    set_close(set);
    server_stop(pid);
}

TEST(exec_gets_the_json_on_stdin_and_env)
{
    char d[128], cmd[400], path[200];
    make_tmpdir(d, sizeof d, "notify-exec");
    snprintf(cmd, sizeof cmd,
             "cat > %s/in.json && printf '%%s|%%s|%%s' \"$TEND_ALERT_NAME\" "
             "\"$TEND_ALERT_STATUS\" \"$TEND_ALERT_COUNT\" > %s/env",
             d, d);
    struct notify_spec s = spec_of("pager", NOTIFY_EXEC, NULL);
    s.cmd = cmd;
    struct notify_set *set = set_new(&s, 1);
    struct notify_alert a[2] = {test_alert("high-cpu", NOTIFY_FIRING),
                                test_alert("disk-data", NOTIFY_RESOLVED)};
    notify_send(set, NULL, a, 2, NULL);
    CHECK(wait_stat(set, "pager", "sent", 1));
    struct buf b;
    buf_init(&b, 0);
    snprintf(path, sizeof path, "%s/in.json", d);
    CHECK_INT(read_file(path, 1 << 20, &b), 0);
    json_t *doc = json_loads(b.ptr ? b.ptr : "", 0, NULL);
    CHECK_STR(json_string_value(json_object_get(doc, "status")), "firing");
    CHECK_INT(json_array_size(json_object_get(doc, "alerts")), 2);
    CHECK_STR(json_string_value(json_object_get(doc, "notifier")), "pager");
    json_decref(doc);
    buf_reset(&b);
    snprintf(path, sizeof path, "%s/env", d);
    CHECK_INT(read_file(path, 1 << 20, &b), 0);
    CHECK_STR(b.ptr, "high-cpu|firing|2");
    buf_fini(&b);
    set_close(set);
}

TEST(exec_failure_and_timeout_are_reported)
{
    const char *argv[] = {"/bin/sh", "-c", "echo first; echo 'page-oncall: no route' >&2; exit 3",
                          NULL};
    struct notify_spec s[2] = {spec_of("bad", NOTIFY_EXEC, NULL),
                               spec_of("slow", NOTIFY_EXEC, NULL)};
    s[0].argv = argv;
    s[0].retry.max = 0;
    s[1].cmd = "sleep 30";
    s[1].timeout_ms = 300;
    s[1].retry.max = 0;
    struct notify_set *set = set_new(s, 2);
    struct notify_alert a = test_alert("high-cpu", NOTIFY_FIRING);
    uint64_t t0 = uv_now(loop);
    notify_send(set, NULL, &a, 1, NULL);
    CHECK(wait_stat(set, "bad", "gave_up", 1));
    CHECK(wait_stat(set, "slow", "gave_up", 1));
    CHECK(uv_now(loop) - t0 < 5000);
    json_t *st = notify_set_status(set);
    const char *e0 = json_string_value(json_object_get(json_array_get(st, 0), "last_error"));
    const char *e1 = json_string_value(json_object_get(json_array_get(st, 1), "last_error"));
    CHECK(e0 && strstr(e0, "exited with code 3: page-oncall: no route"));
    CHECK(e1 && strstr(e1, "\"sleep 30\" timed out"));
    json_decref(st);
    set_close(set);
}

TEST(closing_kills_a_running_exec)
{
    char d[128], cmd[300], path[200];
    make_tmpdir(d, sizeof d, "notify-kill");
    snprintf(cmd, sizeof cmd, "echo $$ > %s/pid; exec sleep 30", d);
    struct notify_spec s = spec_of("long", NOTIFY_EXEC, NULL);
    s.cmd = cmd;
    struct notify_set *set = set_new(&s, 1);
    struct notify_alert a = test_alert("high-cpu", NOTIFY_FIRING);
    notify_send(set, NULL, &a, 1, NULL);
    CHECK(wait_stat(set, "long", "in_flight", 1));
    snprintf(path, sizeof path, "%s/pid", d);
    struct stat sb;
    for (int i = 0; i < 300 && stat(path, &sb) != 0; i++)
        msleep(10);
    set_close(set); /* returns only after the child was reported */
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(read_file(path, 64, &b), 0);
    CHECK(b.ptr && kill((pid_t)strtol(b.ptr, NULL, 10), 0) < 0);
    buf_fini(&b);
}

TEST(masking_covers_tokens_hook_paths_and_free_text)
{
    char out[512];
    notify__mask_url(out, sizeof out, "https://oapi.dingtalk.com/robot/send?access_token=abc123");
    CHECK_STR(out, "https://oapi.dingtalk.com/robot/send?access_token=****");
    notify__mask_url(out, sizeof out,
                     "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx");
    CHECK_STR(out, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=****");
    notify__mask_url(out, sizeof out, "https://hooks.slack.com/services/T00/B00/XXXXXXXX");
    CHECK_STR(out, "https://hooks.slack.com/services/****");
    notify__mask_url(out, sizeof out, "https://open.feishu.cn/open-apis/bot/v2/hook/6a1b-22cd");
    CHECK_STR(out, "https://open.feishu.cn/open-apis/bot/v2/hook/****");
    notify__mask_url(out, sizeof out,
                     "https://open.larksuite.com/open-apis/bot/v2/hook/x1y2z3?a=1");
    CHECK_STR(out, "https://open.larksuite.com/open-apis/bot/v2/hook/****?a=1");
    notify__mask_url(out, sizeof out, "smtp://user:pa55word@mail.example.com:587");
    CHECK_STR(out, "smtp://user:****@mail.example.com:587");
    notify__mask_url(out, sizeof out, "http://127.0.0.1:9000/alerts");
    CHECK_STR(out, "http://127.0.0.1:9000/alerts");

    struct notify_strv sec = {0};
    struct notify_label h[] = {{"Authorization", "Bearer tok-hdr-77"}, {"X-Team", "ops"}};
    struct notify_spec s = spec_of("x", NOTIFY_WEBHOOK,
                                   "https://hooks.slack.com/services/T1/B1/slackpath?token=qtok99");
    s.secret = "SECsign-me";
    s.headers = h;
    s.nheaders = 2;
    notify__spec_secrets(&s, &sec);
    notify__scrub(&sec,
                  "refused https://hooks.slack.com/services/T1/B1/slackpath?token=qtok99: echo "
                  "T1/B1/slackpath qtok99 SECsign-me tok-hdr-77 ops",
                  out, sizeof out);
    CHECK_STR(out, "refused https://hooks.slack.com/services/****?token=****: echo **** **** "
                   "**** **** ops");
    notify__strv_free(&sec);
}

int main(void)
{
    test_loop_init();
    RUN(email_reaches_an_smtp_receiver);
    RUN(email_uses_starttls_and_auth);
    RUN(email_refuses_a_server_without_starttls);
    RUN(exec_gets_the_json_on_stdin_and_env);
    RUN(exec_failure_and_timeout_are_reported);
    RUN(closing_kills_a_running_exec);
    RUN(masking_covers_tokens_hook_paths_and_free_text);
    tmpdirs_remove();
    return unit_done();
}
