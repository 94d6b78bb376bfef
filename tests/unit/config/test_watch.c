/* tests/unit/config/test_watch.c: probes in tend.yaml (`checks:`, an app's `health:`, `metrics:`).
 *
 * A good file loads and cfg_watch_load() gives every probe kind with each default filled in,
 * the app's health probe keeping ${PORT} for cfg_app_expand(). Each bad input gives exactly the
 * listed "tend.yaml:L:C: message" lines, cfg_load() returns no snapshot and cfg_watch_load_mem()
 * none either (nothing half-loaded). Warnings load, with their text checked the same way.
 * Secrets given through the environment never appear in any message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

static const char *const test_env[] = {"HOME=/home/deploy", "TOKEN=tok-s3cret-value",
                                       "PG_PASSWORD=hunter2-pg", NULL};
static const struct cfg_load_opts opts = {
    .home = "/var/lib/tend", .environ = test_env, .base_dir = "/srv/app"};

/* Load `yaml` both ways; return the formatted messages (caller frees). `ok` says whether the
 * load must succeed; either way both loaders must agree on it. */
static char *run(const char *yaml, bool ok, struct cfg **cp, struct cfg_watch **wp)
{
    struct cfg *c = NULL;
    struct cfg_watch *w = NULL;
    struct cfg_diag d, dw;
    struct buf b;
    buf_init(&b, 0);
    int rc = cfg_load_mem("tend.yaml", yaml, strlen(yaml), &opts, &c, &d);
    cfg_diag_format(&d, &b);
    int rcw = cfg_watch_load_mem("tend.yaml", yaml, strlen(yaml), &opts, &w, &dw);
    if (ok) {
        CHECK_INT(rc, 0);
        CHECK_INT(rcw, 0);
        CHECK(c != NULL && w != NULL);
    } else {
        CHECK_INT(rc, -TE_CONFIG);
        CHECK_INT(rcw, -TE_CONFIG);
        CHECK(c == NULL && w == NULL);
        CHECK(dw.nerrors > 0);
    }
    CHECK(!b.ptr || (!strstr(b.ptr, "hunter2") && !strstr(b.ptr, "s3cret")));
    if (cp)
        *cp = c;
    else
        cfg_unref(c);
    if (wp)
        *wp = w;
    else
        cfg_watch_unref(w);
    return b.ptr ? buf_take(&b) : str_dup("");
}

static void expect(const char *yaml, bool ok, const char *want)
{
    char *got = run(yaml, ok, NULL, NULL);
    if (strcmp(got, want) != 0)
        UNIT_FAIL("messages differ for\n%s--- got\n%s--- expected\n%s", yaml, got, want);
    free(got);
}

static const char good[] =
    "checks:\n"
    "  - name: api-health\n"
    "    http: http://127.0.0.1:3000/api/health\n"
    "  - name: api-deep\n"
    "    interval: 1m\n"
    "    timeout: 10s\n"
    "    http:\n"
    "      url: https://example.com/api/health\n"
    "      method: POST\n"
    "      status: [200, \"201-204\"]\n"
    "      body: '\"success\":true'\n"
    "      json: {database: connected, data: {ok: true}}\n"
    "      headers: {Authorization: \"Bearer ${TOKEN}\"}\n"
    "      latency: 500ms\n"
    "  - name: db\n"
    "    postgres: postgresql://tend:${PG_PASSWORD}@127.0.0.1:5432/app\n"
    "  - name: db2\n"
    "    postgres: {url: \"postgres://127.0.0.1/app\", query: \"SELECT count(*) FROM jobs\"}\n"
    "  - name: cache\n"
    "    redis: redis://127.0.0.1:6379/0\n"
    "  - name: www-cert\n"
    "    tls: example.com\n"
    "  - name: api-cert\n"
    "    tls: {host: api.example.com, port: 8443, servername: api.internal, days: 30}\n"
    "  - name: data-disk\n"
    "    disk: data\n"
    "  - name: root-disk\n"
    "    disk: {path: /, max: 85%, min_free_inodes: 10%}\n"
    "  - name: backups\n"
    "    file_age: {glob: \"backups/*.dump*\", max_age: 26h}\n"
    "  - name: queue\n"
    "    exec: /usr/local/bin/check-queue --quick\n"
    "  - name: queue2\n"
    "    exec: [/usr/local/bin/check-queue, --deep]\n"
    "  - name: smtp\n"
    "    tcp: {address: \"127.0.0.1:25\", send: \"EHLO x\\r\\n\", expect: \"250\"}\n"
    "  - name: fast\n"
    "    interval: 2s\n"
    "    tcp: 127.0.0.1:6379\n"
    "apps:\n"
    "  - name: api\n"
    "    cmd: node server.js\n"
    "    port: 3000\n"
    "    instances: 2\n"
    "    health:\n"
    "      http: http://127.0.0.1:${PORT}/health\n"
    "      interval: 5s\n"
    "      timeout: 2s\n"
    "      failures: 0\n"
    "      grace: 1m\n"
    "  - name: worker\n"
    "    cmd: node worker.js\n"
    "    health: {exec: \"test -f /run/worker-${TEND_INSTANCE}.ok\"}\n"
    "metrics: {interval: 10s}\n";

TEST(good_file_typed)
{
    struct cfg *c = NULL;
    struct cfg_watch *w = NULL, *w2 = NULL;
    struct cfg_diag d;
    char *msgs = run(good, true, &c, &w);
    CHECK_STR(msgs, "");
    free(msgs);
    if (!c || !w)
        goto out;
    /* cfg_watch_load() from the loaded snapshot gives the same as from text. */
    CHECK_INT(cfg_watch_load(c, &opts, &w2, &d), 0);
    CHECK(w2 && w2->nchecks == w->nchecks);
    CHECK_INT(w->nchecks, 16);
    CHECK_INT(w->metrics.interval_ms, 10000);
    CHECK_INT(w->metrics.keep_ms, 30ull * 86400000);
    const struct cfg_check *k = cfg_watch_check(w, "api-health");
    CHECK(k && k->kind == CFG_CHECK_HTTP && !k->app);
    if (k) {
        CHECK_STR(k->u.http.url, "http://127.0.0.1:3000/api/health");
        CHECK_STR(k->u.http.method, "GET");
        CHECK(k->u.http.nstatus == 1 && k->u.http.status[0].lo == 200 &&
              k->u.http.status[0].hi == 399);
        CHECK(k->u.http.tls_verify && !k->u.http.latency_ms && !k->u.http.body);
        CHECK(k->interval_ms == 30000 && k->timeout_ms == 5000 && k->failures == 0);
    }
    k = cfg_watch_check(w, "api-deep");
    CHECK(k && k->kind == CFG_CHECK_HTTP);
    if (k) {
        CHECK(k->interval_ms == 60000 && k->timeout_ms == 10000);
        CHECK_STR(k->u.http.method, "POST");
        CHECK(k->u.http.nstatus == 2 && k->u.http.status[0].lo == 200 &&
              k->u.http.status[0].hi == 200 && k->u.http.status[1].lo == 201 &&
              k->u.http.status[1].hi == 204);
        CHECK_STR(k->u.http.body, "\"success\":true");
        CHECK(k->u.http.njson == 2);
        if (k->u.http.njson == 2) {
            CHECK_STR(k->u.http.json[0].key, "database");
            CHECK_STR(k->u.http.json[0].value, "connected");
            CHECK_STR(k->u.http.json[1].key, "data.ok");
            CHECK_STR(k->u.http.json[1].value, "true");
        }
        CHECK(k->u.http.nheaders == 1 &&
              str_eq(k->u.http.headers[0].value, "Bearer tok-s3cret-value"));
        CHECK_INT(k->u.http.latency_ms, 500);
    }
    k = cfg_watch_check(w, "db");
    CHECK(k && k->kind == CFG_CHECK_POSTGRES &&
          str_eq(k->u.postgres.url, "postgresql://tend:hunter2-pg@127.0.0.1:5432/app") &&
          str_eq(k->u.postgres.query, "SELECT 1"));
    k = cfg_watch_check(w, "db2");
    CHECK(k && str_eq(k->u.postgres.query, "SELECT count(*) FROM jobs"));
    k = cfg_watch_check(w, "cache");
    CHECK(k && k->kind == CFG_CHECK_REDIS && str_eq(k->u.redis.url, "redis://127.0.0.1:6379/0"));
    k = cfg_watch_check(w, "www-cert");
    CHECK(k && k->kind == CFG_CHECK_TLS && str_eq(k->u.tls.host, "example.com") &&
          k->u.tls.port == 443 && str_eq(k->u.tls.servername, "example.com") &&
          k->u.tls.days == 14);
    k = cfg_watch_check(w, "api-cert");
    CHECK(k && k->u.tls.port == 8443 && str_eq(k->u.tls.servername, "api.internal") &&
          k->u.tls.days == 30);
    k = cfg_watch_check(w, "data-disk");
    CHECK(k && k->kind == CFG_CHECK_DISK && str_eq(k->u.disk.path, "/srv/app/data") &&
          k->u.disk.max_pct == 85 && k->u.disk.min_free_inodes_pct == 5);
    k = cfg_watch_check(w, "root-disk");
    CHECK(k && str_eq(k->u.disk.path, "/") && k->u.disk.max_pct == 85 &&
          k->u.disk.min_free_inodes_pct == 10);
    k = cfg_watch_check(w, "backups");
    CHECK(k && k->kind == CFG_CHECK_FILE_AGE &&
          str_eq(k->u.file_age.glob, "/srv/app/backups/*.dump*") &&
          k->u.file_age.max_age_ms == 26ull * 3600000);
    k = cfg_watch_check(w, "queue");
    CHECK(k && k->kind == CFG_CHECK_EXEC &&
          str_eq(k->u.exec.cmd, "/usr/local/bin/check-queue --quick") && !k->u.exec.argv);
    k = cfg_watch_check(w, "queue2");
    CHECK(k && !k->u.exec.cmd && k->u.exec.argv && str_eq(k->u.exec.argv[1], "--deep") &&
          !k->u.exec.argv[2]);
    k = cfg_watch_check(w, "smtp");
    CHECK(k && k->kind == CFG_CHECK_TCP && str_eq(k->u.tcp.address, "127.0.0.1:25") &&
          str_eq(k->u.tcp.send, "EHLO x\r\n") && str_eq(k->u.tcp.expect, "250"));
    k = cfg_watch_check(w, "fast"); /* no timeout written: half the interval, not 5s */
    CHECK(k && k->interval_ms == 2000 && k->timeout_ms == 1000 && !k->u.tcp.send);
    CHECK(cfg_watch_check(w, "api:health") == NULL); /* health probes are not `checks:` */
    k = cfg_watch_health(w, "api");
    CHECK(k && k->kind == CFG_CHECK_HTTP && str_eq(k->app, "api") && str_eq(k->name, "api:health"));
    if (k) {
        CHECK_STR(k->u.http.url, "http://127.0.0.1:${PORT}/health");
        char *url = cfg_app_expand(cfg_app_find(c, "api"), 1, k->u.http.url);
        CHECK_STR(url, "http://127.0.0.1:3001/health");
        free(url);
        CHECK(k->interval_ms == 5000 && k->timeout_ms == 2000 && k->failures == 0 &&
              k->grace_ms == 60000);
    }
    k = cfg_watch_health(w, "worker"); /* health defaults */
    CHECK(k && k->kind == CFG_CHECK_EXEC &&
          str_eq(k->u.exec.cmd, "test -f /run/worker-${TEND_INSTANCE}.ok"));
    CHECK(k && k->interval_ms == 10000 && k->timeout_ms == 5000 && k->failures == 3 &&
          k->grace_ms == 30000);
    CHECK_STR(cfg_check_kind_name(CFG_CHECK_FILE_AGE), "file_age");
    CHECK_STR(cfg_check_kind_name(CFG_CHECK_NKINDS), "?");
    CHECK(cfg_watch_ref(w) == w);
    cfg_watch_unref(w);
out:
    cfg_watch_unref(w2);
    cfg_watch_unref(w);
    cfg_watch_unref(NULL);
    cfg_unref(c);
}

TEST(empty_file_defaults)
{
    struct cfg_watch *w = NULL;
    struct cfg_diag d;
    static const char y[] = "apps: []\n";
    CHECK_INT(cfg_watch_load_mem("tend.yaml", y, strlen(y), &opts, &w, &d), 0);
    CHECK(w && w->nchecks == 0 && w->nalerts == 0 && w->nnotifiers == 0 && w->naccess_logs == 0);
    CHECK(w && w->metrics.interval_ms == 5000 && w->metrics.keep_ms == 30ull * 86400000);
    cfg_watch_unref(w);
}

TEST(bad_checks)
{
    expect(
        "checks:\n"
        "  - name: db\n"
        "    postgres: mysql://tend@127.0.0.1/app\n"
        "  - name: db\n"
        "    redis: redis://127.0.0.1:6379\n"
        "  - http: http://127.0.0.1/\n"
        "  - name: both\n"
        "    http: http://127.0.0.1/\n"
        "    tcp: 127.0.0.1:80\n"
        "  - name: none\n"
        "    intervl: 5s\n"
        "  - name: bad name!\n"
        "    tcp: 127.0.0.1:80\n",
        false,
        "tend.yaml:3:15: \"postgres\" in check \"db\" must start with postgresql:// or "
        "postgres://, not \"mysql://tend@127.0.0.1/app\"\n"
        "tend.yaml:4:11: check name \"db\" is already used by the check at line 2; names must "
        "be unique\n"
        "tend.yaml:6:5: check #3 has no \"name\"; add one, e.g. name: api-health\n"
        "tend.yaml:9:10: check \"both\" has both \"http\" and \"tcp\"; a probe tests one thing "
        "(add another check)\n"
        "tend.yaml:10:5: check \"none\" needs one probe: http, tcp, postgres, redis, tls, disk, "
        "file_age or exec\n"
        "tend.yaml:11:5: unknown key \"intervl\" in check \"none\" (did you mean \"interval\"?)\n"
        "tend.yaml:12:11: check name \"bad name!\" must be 1 to 64 letters, digits, \"_\" or "
        "\"-\"\n");
}

TEST(bad_http)
{
    expect("checks:\n"
           "  - name: a\n"
           "    http: {url: \"http://example.com:99999/\", status: [200, \"300-200\", 700],"
           " method: GTE}\n"
           "  - name: b\n"
           "    http: {status: 200, latency: 0s, tls_verify: maybe, json: {a: [1]}}\n"
           "  - name: c\n"
           "    http: example.com/health\n"
           "  - name: d\n"
           "    http: {url: \"https://[::1/\", headers: {\"Bad Header\": x, X-Token: [a]}}\n",
           false,
           "tend.yaml:3:17: \"http\" in check \"a\" has a bad port \"99999\" (1 to 65535), not"
           " \"http://example.com:99999/\"\n"
           "tend.yaml:3:60: \"status\" in check \"a\" must be codes from 100 to 599 or ranges such "
           "as \"200-299\" (low first), not \"300-200\"\n"
           "tend.yaml:3:71: \"status\" in check \"a\" must be codes from 100 to 599 or ranges such "
           "as \"200-299\" (low first), not \"700\"\n"
           "tend.yaml:3:85: \"method\" in check \"a\" must be GET, HEAD, POST, PUT, DELETE, PATCH "
           "or OPTIONS, not \"GTE\" (did you mean \"GET\"?)\n"
           "tend.yaml:5:11: \"http\" in check \"b\" has no \"url\"; add one, e.g. url: "
           "http://127.0.0.1:3000/health\n"
           "tend.yaml:5:34: \"latency\" in check \"b\" must be more than 0\n"
           "tend.yaml:5:50: \"tls_verify\" must be true or false, not \"maybe\"\n"
           "tend.yaml:5:67: \"a\" must be a value to compare with, not a list\n"
           "tend.yaml:7:11: \"http\" in check \"c\" must start with http:// or https://\n"
           "tend.yaml:9:17: \"http\" in check \"d\" has a bad [IPv6] address, not "
           "\"https://[::1/\"\n"
           "tend.yaml:9:44: \"Bad Header\" in check \"d\" is not a valid HTTP header name\n"
           "tend.yaml:9:70: header \"X-Token\" in check \"d\" must be one line of text\n");
}

TEST(bad_other_kinds)
{
    expect("checks:\n"
           "  - name: t\n"
           "    tls: {host: \"example.com:443\", days: -1}\n"
           "  - name: t2\n"
           "    tls: example.com:http\n"
           "  - name: d\n"
           "    disk: {path: /data, max: 120%, min_free_inodes: 5}\n"
           "  - name: f\n"
           "    file_age: {glob: \"/x/*\"}\n"
           "  - name: f2\n"
           "    file_age: /x/*\n"
           "  - name: e\n"
           "    exec: \"\"\n"
           "  - name: tc\n"
           "    tcp: {address: localhost}\n"
           "  - name: r\n"
           "    redis: {uri: redis://127.0.0.1}\n",
           false,
           "tend.yaml:3:17: \"host\" in check \"t\" must be a host name such as example.com, not "
           "\"example.com:443\"\n"
           "tend.yaml:3:42: \"days\" must be a whole number from 0 to 3650, not \"-1\"\n"
           "tend.yaml:5:10: \"tls\" in check \"t2\" must be host:port such as 127.0.0.1:443, not "
           "\"example.com:http\"\n"
           "tend.yaml:7:30: \"max\" in check \"d\" must be a percentage from 0% to 100% such as "
           "85%, not \"120%\"\n"
           "tend.yaml:7:53: \"min_free_inodes\" in check \"d\" must be a percentage from 0% to "
           "100% such as 85%, not \"5\"\n"
           "tend.yaml:9:15: \"file_age\" in check \"f\" has no \"max_age\"; add one, e.g. max_age: "
           "26h\n"
           "tend.yaml:11:15: \"file_age\" in check \"f2\" must be a map such as {glob: "
           "\"/backups/*.dump\", max_age: 26h}, not \"/x/*\"\n"
           "tend.yaml:13:11: \"exec\" in check \"e\" is empty; write the command to run\n"
           "tend.yaml:15:20: \"address\" in check \"tc\" must be host:port such as 127.0.0.1:25, "
           "not \"localhost\"\n"
           "tend.yaml:17:12: \"redis\" in check \"r\" has no \"url\"\n"
           "tend.yaml:17:13: unknown key \"uri\" in check \"r\" (did you mean \"url\"?)\n");
}

TEST(timing)
{
    expect("checks:\n"
           "  - name: a\n"
           "    tcp: 127.0.0.1:80\n"
           "    interval: 10s\n"
           "    timeout: 10s\n"
           "  - name: b\n"
           "    tcp: 127.0.0.1:80\n"
           "    interval: 500ms\n"
           "  - name: c\n"
           "    tcp: 127.0.0.1:80\n"
           "    timeout: 0s\n",
           false,
           "tend.yaml:5:14: \"timeout\" (10s) in check \"a\" must be shorter than \"interval\" "
           "(10s)\n"
           "tend.yaml:8:15: \"interval\" in check \"b\" must be at least 1s, not \"500ms\"\n"
           "tend.yaml:11:14: \"timeout\" in check \"c\" must be more than 0\n");
}

TEST(health)
{
    expect("apps:\n"
           "  - name: api\n"
           "    cmd: node server.js\n"
           "    health:\n"
           "      http: http://127.0.0.1:${PORT}/health\n"
           "      name: api\n"
           "      failures: -1\n"
           "  - name: web\n"
           "    cmd: node web.js\n"
           "    port: 4000\n"
           "    health: {tcp: \"127.0.0.1:${PORT}\", timeout: 20s}\n"
           "  - name: job\n"
           "    cmd: node job.js\n"
           "    health: http://127.0.0.1:3000/\n",
           false,
           "tend.yaml:5:13: the health probe of app \"api\" uses ${PORT}, but the app has no "
           "\"port\"; add one (e.g. port: 3000) or write the port\n"
           "tend.yaml:6:7: unknown key \"name\" in the health probe of app \"api\"\n"
           "tend.yaml:7:17: \"failures\" must be a whole number from 0 to 1000, not \"-1\"\n"
           "tend.yaml:11:49: \"timeout\" (20s) in the health probe of app \"web\" must be shorter "
           "than \"interval\" (10s)\n"
           "tend.yaml:14:13: \"health\" of app \"job\" must be a map such as {http: "
           "\"http://127.0.0.1:${PORT}/health\"}, not \"http://127.0.0.1:3000/\"\n");
}

TEST(instance_vars_only_in_health)
{
    expect("checks:\n"
           "  - name: a\n"
           "    http: http://127.0.0.1:${PORT}/\n"
           "  - name: b\n"
           "    exec: \"echo ${TEND_INSTANCE}\"\n"
           "metrics: {interval: \"${NODE_APP_INSTANCE}\"}\n",
           false,
           "tend.yaml:3:28: \"${PORT}\" is set per instance of an app; only an app's \"health:\" "
           "can use it\n"
           "tend.yaml:5:17: \"${TEND_INSTANCE}\" is set per instance of an app; only an app's "
           "\"health:\" can use it\n"
           "tend.yaml:6:21: \"interval\" must be a duration such as 5s, 2m or 1h30m, not "
           "\"${NODE_APP_INSTANCE}\"\n"
           "tend.yaml:6:22: \"${NODE_APP_INSTANCE}\" is set per instance of an app; only an "
           "app's \"health:\" can use it\n");
}

TEST(warnings)
{
    expect("apps:\n"
           "  - name: api\n"
           "    cmd: node server.js\n"
           "    port: 3000\n"
           "    health: {http: \"http://127.0.0.1:${PORT}/\", failures: 1}\n"
           "checks:\n"
           "  - name: remote\n"
           "    http:\n"
           "      url: http://10.0.0.5/health\n"
           "      headers: {Authorization: \"Bearer ${TOKEN}\"}\n"
           "  - name: local\n"
           "    http: {url: \"http://127.0.0.1/\", headers: {X-Api-Key: \"${TOKEN}\"}}\n"
           "  - name: selfsigned\n"
           "    http: {url: \"https://10.0.0.5/\", tls_verify: false, latency: 10s}\n",
           true,
           "tend.yaml:5:59: warning: the health probe of app \"api\" restarts the app after a "
           "single failed probe (failures: 1); one slow answer restarts it, 3 is safer\n"
           "tend.yaml:9:12: warning: check \"remote\" sends a credential (header "
           "\"Authorization\") in clear text over http:// to \"10.0.0.5\"; use https://\n"
           "tend.yaml:14:50: warning: check \"selfsigned\" does not verify TLS certificates "
           "(tls_verify: false): an expired or forged certificate goes unnoticed\n"
           "tend.yaml:14:66: warning: \"latency\" in check \"selfsigned\" is not below its "
           "timeout, so a slow answer fails as a timeout first; lower it\n");
}

TEST(secrets_masked)
{
    expect("checks:\n"
           "  - name: db\n"
           "    postgres: postgres://tend:${PG_PASSWORD}@db:99999/app\n"
           "  - name: db2\n"
           "    postgres: tend:${PG_PASSWORD}@db/app\n"
           "  - name: h\n"
           "    http: {url: \"http://h/\", headers: {Authorization: {a: b}}}\n",
           false,
           "tend.yaml:3:15: \"postgres\" in check \"db\" has a bad port \"99999\" (1 to 65535), not"
           " \"postgres://tend:****@db:99999/app\"\n"
           "tend.yaml:5:15: \"postgres\" in check \"db2\" must start with postgresql:// or "
           "postgres://\n"
           "tend.yaml:7:55: header \"Authorization\" in check \"h\" must be one line of text\n");
}

int main(void)
{
    RUN(good_file_typed);
    RUN(empty_file_defaults);
    RUN(bad_checks);
    RUN(bad_http);
    RUN(bad_other_kinds);
    RUN(timing);
    RUN(health);
    RUN(instance_vars_only_in_health);
    RUN(warnings);
    RUN(secrets_masked);
    return unit_done();
}
