/* tests/unit/config/test_load.c: a valid tend.yaml becomes the typed struct we promise.
 *
 * Covers: every key of the schema read into its field, the defaults of a minimal app, relative
 * paths resolved against the config's folder, log defaults merged under an app's own `log:`,
 * profiles, merge keys, per-instance ${PORT} kept for later, warnings (secrets in a readable
 * file, readable env_file, public API), the instance environment with its sources, printing an
 * app back as YAML and loading that again, and fingerprints that move only when they should. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

static const char *const test_env[] = {"HOME=/home/deploy", "DB_HOST=db.internal",
                                       "SHELL=/bin/bash", NULL};
static char tmpdir[256];

static void write_text(const char *name, const char *text, mode_t mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
        UNIT_FAIL("cannot write %s", path);
    if (fd >= 0)
        close(fd);
    chmod(path, mode);
}

static struct cfg *load(const char *text, const char *profile, struct cfg_diag *d)
{
    struct cfg_load_opts o = {
        .profile = profile, .home = "/var/lib/tend", .environ = test_env, .base_dir = tmpdir};
    struct cfg *c = NULL;
    int rc = cfg_load_mem("tend.yaml", text, strlen(text), &o, &c, d);
    if (rc < 0) {
        struct buf b;
        buf_init(&b, 0);
        cfg_diag_format(d, &b);
        UNIT_FAIL("load failed (%d):\n%s", rc, b.ptr ? b.ptr : "");
        buf_fini(&b);
    }
    return c;
}

static const char full[] =
    "api:\n"
    "  listen: 127.0.0.1:9615\n"
    "logs:\n"
    "  dir: /var/log/myapp\n"
    "  keep: 14\n"
    "x-common: &common\n"
    "  kill_timeout: 8s\n"
    "apps:\n"
    "  - name: api\n"
    "    <<: *common\n"
    "    cmd: node server.js --db ${DB_HOST}\n"
    "    cwd: srv/api\n"
    "    instances: 4\n"
    "    port: 3000\n"
    "    env: {NODE_ENV: production, WORKERS: 2, DEBUG: false, URL: \"http://x:${PORT}/\"}\n"
    "    env_file: .env\n"
    "    env_production: {NODE_ENV: prod, EXTRA: yes}\n"
    "    env_staging: {NODE_ENV: staging}\n"
    "    user: root:root\n"
    "    restart: on-failure\n"
    "    max_restarts: 3\n"
    "    restart_window: 2m\n"
    "    min_uptime: 2s\n"
    "    restart_delay: 250ms\n"
    "    backoff: false\n"
    "    backoff_max: 1m\n"
    "    errored_retry: never\n"
    "    kill_signal: SIGINT\n"
    "    max_memory: 1G\n"
    "    cron_restart: \"0 3 * * *\"\n"
    "    watch: [src, /etc/api.conf]\n"
    "    watch_ignore: [node_modules, .git, logs]\n"
    "    watch_debounce: 1s\n"
    "    ready: {http: \"http://127.0.0.1:${PORT}/health\", timeout: 10s}\n"
    "    log:\n"
    "      out_file: ./logs/out.log\n"
    "      error_file: ./logs/error.log\n"
    "      combined_file: ./logs/combined.log\n"
    "      date_format: \"YYYY-MM-DD HH:mm:ss Z\"\n"
    "      timestamp: true\n"
    "      json: true\n"
    "      merge_instances: false\n"
    "      max_size: 100M\n"
    "      rotate: none\n"
    "      compress: false\n"
    "      max_line: 128K\n"
    "      buffer: 2M\n"
    "  - name: worker\n"
    "    argv: [python3, -m, worker]\n";

TEST(full_example)
{
    struct cfg_diag d;
    char want[600];
    write_text(".env", "SECRET_KEY=abc\n", 0600);
    struct cfg *c = load(full, "production", &d);
    if (!c)
        return;
    CHECK_INT(d.nwarnings, 0);
    CHECK_INT(c->napps, 2);
    CHECK(c->api.listen_is_loopback);
    CHECK_STR(c->api.listen, "127.0.0.1:9615");
    CHECK_STR(c->profile, "production");
    CHECK(c->source && strstr(c->source, "x-common"));
    const struct cfg_app *a = cfg_app_find(c, "api");
    CHECK(a != NULL);
    if (!a)
        goto out;
    CHECK_STR(a->cmd, "node server.js --db db.internal");
    CHECK(a->argv == NULL);
    snprintf(want, sizeof want, "%s/srv/api", tmpdir);
    CHECK_STR(a->cwd, want);
    CHECK_INT(a->instances, 4);
    CHECK_INT(a->port, 3000);
    CHECK_INT(a->nenv, 4);
    CHECK_STR(a->env[1].key, "WORKERS");
    CHECK_STR(a->env[1].value, "2");
    CHECK_STR(a->env[2].value, "false");
    CHECK_STR(a->env[3].value, "http://x:${PORT}/");
    snprintf(want, sizeof want, "%s/.env", tmpdir);
    CHECK_STR(a->env_file, want);
    CHECK_STR(a->profile, "production");
    CHECK_INT(a->nprofile_env, 2);
    CHECK_STR(a->profile_env[1].value, "yes");
    CHECK_STR(a->user, "root");
    CHECK_STR(a->group, "root");
    CHECK_INT(a->restart, CFG_RESTART_ON_FAILURE);
    CHECK_INT(a->max_restarts, 3);
    CHECK_INT(a->restart_window_ms, 120000);
    CHECK_INT(a->min_uptime_ms, 2000);
    CHECK_INT(a->restart_delay_ms, 250);
    CHECK(!a->backoff);
    CHECK_INT(a->backoff_max_ms, 60000);
    CHECK_INT(a->errored_retry_ms, 0);
    CHECK_INT(a->kill_signal, SIGINT);
    CHECK_INT(a->kill_timeout_ms, 8000); /* from the merge key */
    CHECK_INT(a->max_memory, 1ull << 30);
    CHECK_STR(a->cron_restart, "0 3 * * *");
    CHECK(a->cron.hour == (1u << 3) && a->cron.minute == 1);
    snprintf(want, sizeof want, "%s/src", tmpdir); /* relative to the config, like cwd */
    CHECK_STR(a->watch[0], want);
    CHECK(a->watch[0] && a->watch[1] && !a->watch[2]);
    CHECK_STR(a->watch[1], "/etc/api.conf");
    CHECK_STR(a->watch_ignore[2], "logs");
    CHECK_INT(a->watch_debounce_ms, 1000);
    CHECK_INT(a->ready, CFG_READY_HTTP);
    CHECK_STR(a->ready_url, "http://127.0.0.1:${PORT}/health");
    CHECK_INT(a->ready_timeout_ms, 10000);
    CHECK_STR(a->log.dir, "/var/log/myapp");
    snprintf(want, sizeof want, "%s/logs/out.log", tmpdir);
    CHECK_STR(a->log.out_file, want);
    snprintf(want, sizeof want, "%s/logs/error.log", tmpdir);
    CHECK_STR(a->log.err_file, want);
    CHECK_STR(a->log.date_format, "YYYY-MM-DD HH:mm:ss Z");
    CHECK(a->log.json && !a->log.merge_instances && !a->log.daily && !a->log.compress);
    CHECK_INT(a->log.keep, 14); /* from logs: */
    CHECK_INT(a->log.max_line, 128 << 10);
    CHECK_INT(a->log.buffer, 2 << 20);
    CHECK(a->fingerprint && strlen(a->fingerprint) == 16);
    const struct cfg_app *w = cfg_app_find(c, "worker");
    CHECK(w && w->argv && str_eq(w->argv[0], "python3") && str_eq(w->argv[2], "worker") &&
          !w->argv[3] && !w->cmd);
out:
    cfg_unref(c);
}

TEST(defaults)
{
    struct cfg_diag d;
    struct cfg *c = load("apps:\n  - name: web\n    cmd: ./run\n", NULL, &d);
    if (!c)
        return;
    const struct cfg_app *a = c->apps[0];
    CHECK_STR(a->cwd, tmpdir);
    CHECK_INT(a->instances, 1);
    CHECK_INT(a->port, 0);
    CHECK_INT(a->restart, CFG_RESTART_ALWAYS);
    CHECK_INT(a->max_restarts, 10);
    CHECK_INT(a->restart_window_ms, 60000);
    CHECK_INT(a->min_uptime_ms, 1000);
    CHECK_INT(a->restart_delay_ms, 0);
    CHECK(a->backoff);
    CHECK_INT(a->backoff_max_ms, 30000);
    CHECK_INT(a->errored_retry_ms, 300000);
    CHECK_INT(a->kill_signal, SIGTERM);
    CHECK_INT(a->kill_timeout_ms, 5000);
    CHECK_INT(a->max_memory, 0);
    CHECK(a->cron_restart == NULL && a->watch == NULL && a->env_file == NULL);
    CHECK(a->profile == NULL && a->profile_env == NULL && a->user == NULL);
    CHECK_INT(a->ready, CFG_READY_STARTED);
    CHECK_INT(a->ready_timeout_ms, 30000);
    CHECK_STR(a->log.dir, "/var/lib/tend/logs");
    CHECK_STR(a->log.out_file, "/var/lib/tend/logs/web-out.log");
    CHECK_STR(a->log.err_file, "/var/lib/tend/logs/web-error.log");
    CHECK(a->log.combined_file == NULL && a->log.date_format == NULL);
    CHECK(a->log.timestamp && !a->log.json && a->log.merge_instances && a->log.daily);
    CHECK(a->log.compress);
    CHECK_INT(a->log.max_size, 100 << 20);
    CHECK_INT(a->log.keep, 30);
    CHECK_INT(a->log.max_line, 64 << 10);
    CHECK_INT(a->log.buffer, 1 << 20);
    CHECK(c->api.listen == NULL);
    CHECK_INT(c->refs, 1);
    CHECK(cfg_ref(c) == c);
    CHECK_INT(c->refs, 2);
    cfg_unref(c);
    cfg_unref(c);
    cfg_unref(NULL);
}

TEST(watch_true_and_app_log_paths)
{
    struct cfg_diag d;
    struct cfg *c = load("logs:\n  out_file: /var/log/${TEND_APP}/out.log\n"
                         "apps:\n  - name: dev\n    cmd: npm run dev\n    watch: true\n"
                         "    instances: max\n",
                         NULL, &d);
    if (!c)
        return;
    const struct cfg_app *a = c->apps[0];
    CHECK(a->watch && str_eq(a->watch[0], tmpdir) && !a->watch[1]);
    CHECK(a->watch_ignore && str_eq(a->watch_ignore[0], "node_modules"));
    CHECK_STR(a->log.out_file, "/var/log/dev/out.log");
    CHECK(a->instances >= 1 && a->instances == (int)sysconf(_SC_NPROCESSORS_ONLN));
    cfg_unref(c);
}

TEST(warnings_for_readable_secrets)
{
    char path[512];
    struct cfg *c = NULL;
    struct cfg_diag d;
    struct cfg_load_opts o = {.environ = test_env, .home = "/h"};
    write_text("shared.env", "A=1\n", 0644);
    write_text("tend.yaml",
               "api: {listen: 0.0.0.0:9615}\napps:\n  - name: api\n    cmd: x\n"
               "    env_file: shared.env\n    env:\n      DB_PASSWORD: hunter2\n",
               0644);
    snprintf(path, sizeof path, "%s/tend.yaml", tmpdir);
    CHECK_INT(cfg_load(path, &o, &c, &d), 0);
    CHECK_INT(d.nerrors, 0);
    CHECK_INT(d.nwarnings, 3);
    struct buf b;
    buf_init(&b, 0);
    cfg_diag_format(&d, &b);
    CHECK(b.ptr && strstr(b.ptr, ":1:15: warning: the API listens on \"0.0.0.0:9615\""));
    CHECK(b.ptr && strstr(b.ptr, ":5:15: warning: env_file \"") &&
          strstr(b.ptr, "shared.env\" is readable by other users (mode 0644)"));
    CHECK(b.ptr && strstr(b.ptr, ":7:7: warning: \"DB_PASSWORD\" looks like a secret"));
    CHECK(c && c->path && c->path[0] == '/' && !c->api.listen_is_loopback);
    buf_fini(&b);
    cfg_unref(c);
    /* The same file, private: no secret warning. */
    chmod(path, 0600);
    CHECK_INT(cfg_load(path, &o, &c, &d), 0);
    CHECK_INT(d.nwarnings, 2);
    cfg_unref(c);
}

TEST(app_env_sources)
{
    struct cfg_diag d;
    struct cfg_envvar *v = NULL;
    size_t n = 0;
    struct err e = {0};
    const char *base[] = {"PATH=/usr/bin", "NODE_ENV=development", "LANG=C", NULL};
    write_text("app.env", "FROM_FILE=1\nNODE_ENV=file\nLINK=\"http://h:${PORT}/x\"\n", 0600);
    struct cfg *c = load("apps:\n  - name: api\n    cmd: x\n    port: 3000\n    instances: 4\n"
                         "    env_file: app.env\n    env: {FROM_FILE: 2, A: a}\n"
                         "    env_production: {A: prod}\n",
                         "production", &d);
    if (!c)
        return;
    CHECK_INT(cfg_app_env(c->apps[0], 2, base, &v, &n, &e), 0);
    const char *want[][3] = {
        {"PATH", "/usr/bin", "daemon"},
        {"NODE_ENV", "file", "env_file"},
        {"LANG", "C", "daemon"},
        {"FROM_FILE", "2", "env"},
        {"LINK", "http://h:3002/x", "env_file"},
        {"A", "prod", "profile"},
        {"PORT", "3002", "instance"},
        {"NODE_APP_INSTANCE", "2", "instance"},
        {"TEND_INSTANCE", "2", "instance"},
        {"TEND_APP", "api", "instance"},
    };
    CHECK_INT(n, 10);
    for (size_t i = 0; i < n && i < 10; i++) {
        CHECK_STR(v[i].key, want[i][0]);
        CHECK_STR(v[i].value, want[i][1]);
        CHECK_STR(cfg_env_src_name(v[i].src), want[i][2]);
    }
    cfg_envvar_free(v, n);
    char *url = cfg_app_expand(c->apps[0], 1, "http://127.0.0.1:${PORT}/h?i=${TEND_INSTANCE}");
    CHECK_STR(url, "http://127.0.0.1:3001/h?i=1");
    free(url);
    /* The env file is re-read at every start: a removed key is gone. */
    write_text("app.env", "NODE_ENV=file2\n", 0600);
    CHECK_INT(cfg_app_env(c->apps[0], 0, base, &v, &n, &e), 0);
    bool has_link = false;
    for (size_t i = 0; i < n; i++)
        has_link |= str_eq(v[i].key, "LINK");
    CHECK(!has_link);
    cfg_envvar_free(v, n);
    /* A missing env file at start is an error that names it. */
    write_text("app.env", "BROKEN\n", 0600);
    CHECK_INT(cfg_app_env(c->apps[0], 0, base, &v, &n, &e), -TE_PARSE);
    CHECK(strstr(e.msg, "app.env:1:1: expected NAME=value") != NULL);
    CHECK(v == NULL && n == 0);
    cfg_unref(c);
}

TEST(no_port_no_PORT)
{
    struct cfg_diag d;
    struct cfg_envvar *v = NULL;
    size_t n = 0;
    struct cfg *c = load("apps:\n  - name: w\n    cmd: x\n", NULL, &d);
    if (!c)
        return;
    CHECK_INT(cfg_app_env(c->apps[0], 0, NULL, &v, &n, NULL), 0);
    CHECK_INT(n, 3);
    for (size_t i = 0; i < n; i++)
        CHECK(!str_eq(v[i].key, "PORT"));
    cfg_envvar_free(v, n);
    cfg_unref(c);
}

TEST(to_yaml_round_trip)
{
    struct cfg_diag d;
    struct buf y, y2;
    buf_init(&y, 0);
    buf_init(&y2, 0);
    write_text(".env", "K=v\n", 0600);
    struct cfg *c = load(full, "production", &d);
    if (!c)
        return;
    buf_puts(&y, "apps:\n");
    for (size_t i = 0; i < c->napps; i++)
        CHECK_INT(cfg_app_to_yaml(c->apps[i], &y), 0);
    CHECK(strstr(y.ptr, "- name: api\n  cmd: node server.js --db db.internal\n"));
    CHECK(strstr(y.ptr, "  instances: 4\n  port: 3000\n"));
    CHECK(strstr(y.ptr, "    URL: \"http://x:$${PORT}/\"\n") ||
          strstr(y.ptr, "    URL: http://x:$${PORT}/\n"));
    CHECK(strstr(y.ptr, "  max_memory: 1G\n"));
    CHECK(strstr(y.ptr, "  restart_window: 2m\n"));
    CHECK(strstr(y.ptr, "  errored_retry: never\n"));
    struct cfg *c2 = load(y.ptr, "production", &d);
    CHECK(c2 != NULL);
    for (size_t i = 0; c2 && i < c->napps; i++) {
        CHECK_STR(c2->apps[i]->fingerprint, c->apps[i]->fingerprint);
        CHECK(!cfg_app_changed(c->apps[i], c2->apps[i]));
        buf_puts(&y2, ""); /* printing again gives the same text */
        cfg_app_to_yaml(c2->apps[i], &y2);
    }
    CHECK(c2 && y2.ptr && strcmp(y.ptr + 6, y2.ptr) == 0);
    cfg_unref(c2);
    cfg_unref(c);
    buf_fini(&y);
    buf_fini(&y2);
}

TEST(masked_yaml)
{
    struct cfg_diag d;
    struct buf y;
    buf_init(&y, 0);
    struct cfg *c =
        load("apps:\n  - name: a\n    cmd: x\n    env: {API_TOKEN: supersecret}\n", NULL, &d);
    if (!c)
        return;
    cfg_app_to_yaml_masked(c->apps[0], &y);
    CHECK(y.ptr && !strstr(y.ptr, "supersecret") && strstr(y.ptr, "API_TOKEN:"));
    buf_reset(&y);
    cfg_app_to_yaml(c->apps[0], &y);
    CHECK(y.ptr && strstr(y.ptr, "API_TOKEN: supersecret"));
    buf_fini(&y);
    cfg_unref(c);
}

TEST(fingerprint_moves_with_restart_fields)
{
    struct cfg_diag d;
    const char *base = "apps:\n  - name: a\n    cmd: x\n";
    const char *same[] = {"    max_memory: 1G\n", "    restart: never\n",
                          "    cron_restart: \"@daily\"\n", "    instances: 2\n"};
    const char *changed[] = {"    cwd: /tmp\n",        "    env: {A: 1}\n",
                             "    kill_timeout: 9s\n", "    port: 4000\n",
                             "    log: {keep: 3}\n",
                             "    ready: notify\n",    "    env_production: {A: 1}\n"};
    char text[300];
    struct cfg *c0 = load(base, "production", &d);
    if (!c0)
        return;
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        snprintf(text, sizeof text, "%s%s", base, same[i]);
        struct cfg *c = load(text, "production", &d);
        CHECK(c && !cfg_app_changed(c0->apps[0], c->apps[0]));
        cfg_unref(c);
    }
    for (size_t i = 0; i < sizeof changed / sizeof *changed; i++) {
        snprintf(text, sizeof text, "%s%s", base, changed[i]);
        struct cfg *c = load(text, "production", &d);
        if (c && !cfg_app_changed(c0->apps[0], c->apps[0]))
            UNIT_FAIL("fingerprint did not change for %s", changed[i]);
        cfg_unref(c);
    }
    cfg_unref(c0);
}

TEST(profile_unused_warns)
{
    struct cfg_diag d;
    struct cfg *c =
        load("apps:\n  - name: a\n    cmd: x\n    env_production: {A: 1}\n", "staging", &d);
    CHECK(c != NULL);
    CHECK_INT(d.nwarnings, 1);
    CHECK(strstr(d.msgs[0].text, "profile \"staging\" was chosen but no app has") != NULL);
    CHECK(c && c->apps[0]->profile_env == NULL);
    cfg_unref(c);
}

/* A bare port and ":PORT" both mean loopback, as the api binds them: no warning. */
TEST(listen_without_host_is_loopback)
{
    static const char *const forms[] = {"9615", "\":9615\"", "localhost:9615", "127.0.0.1:9615"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char text[200];
        struct cfg_diag d;
        snprintf(text, sizeof text, "api: {listen: %s}\napps:\n  - name: a\n    cmd: x\n",
                 forms[i]);
        struct cfg *c = load(text, NULL, &d);
        if (!c)
            continue;
        if (!c->api.listen_is_loopback || d.nwarnings != 0)
            UNIT_FAIL("listen: %s is not treated as loopback (%d warnings)", forms[i], d.nwarnings);
        CHECK(str_starts(c->api.listen, i == 2 ? "localhost:" : "127.0.0.1:"));
        cfg_unref(c);
    }
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tend-test-load-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    char p[512];
    snprintf(p, sizeof p, "%s/srv", tmpdir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/srv/api", tmpdir);
    mkdir(p, 0700);
    RUN(full_example);
    RUN(defaults);
    RUN(watch_true_and_app_log_paths);
    RUN(warnings_for_readable_secrets);
    RUN(app_env_sources);
    RUN(no_port_no_PORT);
    RUN(to_yaml_round_trip);
    RUN(masked_yaml);
    RUN(fingerprint_moves_with_restart_fields);
    RUN(profile_unused_warns);
    RUN(listen_without_host_is_loopback);
    const char *files[] = {".env", "shared.env", "tend.yaml", "app.env"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/srv/api", tmpdir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/srv", tmpdir);
    rmdir(p);
    rmdir(tmpdir);
    return unit_done();
}
