/* tests/unit/watch/test_probe_pg.c: the postgres probe against a real PostgreSQL on 127.0.0.1.
 *
 * tests/servers/postgres.sh starts a throwaway cluster (trust auth for "tend") in a temp folder;
 * it is stopped by pid at the end. Cases: an ok probe counts the same client connections as
 * pg_stat_activity and follows connections we open; host names (looked up first) and unix sockets
 * work; a missing libpq says what to install; the configured query runs (a 16 MB one too, sent
 * as the socket drains) and its error is the message; a stopped server fails within one
 * interval + timeout and the same probe is ok once it is back (restarted on the same port with
 * pg_ctl, as the script would); password
 * authentication (pg_hba.conf edited for one role) fails clearly without showing the password; a
 * listener that accepts and never answers fails at the timeout while another probe on the same
 * loop keeps its rhythm. Every probe is freed before the scheduler closes, so a kind that leaks a
 * handle or a connection on cancel fails test_fini (and ASan). */
#include <sys/stat.h>

#include "probe_test.h"
#include "watch/pqx.h"

static char dir[256], pg_url[300], pg_bin[300], base_url[300];
static int pg_port;

/* Run a shell command to completion (tests may block); stdout into out when given. */
static int sh(const char *cmd, char *out, size_t size)
{
    char path[] = "/tmp/tend-pgtest-out-XXXXXX";
    int fd = mkstemp(path), status = -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    pid_t pid;
    if (posix_spawn(&pid, "/bin/sh", &fa, NULL, (char *const *)argv, environ) == 0)
        waitpid(pid, &status, 0);
    posix_spawn_file_actions_destroy(&fa);
    if (out && size) {
        ssize_t n = pread(fd, out, size - 1, 0);
        out[n > 0 ? n : 0] = '\0';
    }
    close(fd);
    unlink(path);
    uv_update_time(loop); /* RUN_UNTIL's deadlines count from uv_now(): not from before this */
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void kv_get(const char *text, const char *key, char *dst, size_t size)
{
    size_t n = strlen(key);
    dst[0] = '\0';
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, n) == 0 && p[n] == '=') {
            snprintf(dst, size, "%.*s", (int)strcspn(p + n + 1, "\n"), p + n + 1);
            return;
        }
    }
}

/* One value from psql as the superuser, as a number. */
static double psql_num(const char *sql)
{
    char cmd[1024], out[256];
    snprintf(cmd, sizeof cmd, "psql -X -A -t -q -d '%s' -c \"%s\"", pg_url, sql);
    if (sh(cmd, out, sizeof out) != 0)
        UNIT_FAIL("psql failed: %s", sql);
    return strtod(out, NULL);
}

static void psql_do(const char *sql)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "PGOPTIONS='-c client_min_messages=warning' psql -X -q -d '%s' -c \"%s\" >/dev/null",
             pg_url, sql);
    if (sh(cmd, NULL, 0) != 0)
        UNIT_FAIL("psql failed: %s", sql);
}

static struct probe_spec pg_spec(const char *url, const char *query)
{
    return (struct probe_spec){
        .name = "db", .kind = PROBE_POSTGRES, .u.postgres = {.url = url, .query = query}};
}

#define CLIENTS_SQL "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"

TEST(ok_counts_client_connections)
{
    struct probe_state st;
    struct probe_spec spec = pg_spec(pg_url, NULL);
    /* Quiet server: the probe counts itself, psql counts itself: the same number. */
    double by_psql = psql_num(CLIENTS_SQL);
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK);
    CHECK_INT(metric(&st, "connections"), by_psql);
    CHECK_INT(metric(&st, "max_connections"), psql_num("SHOW max_connections"));
    char want[64];
    snprintf(want, sizeof want, "%.0f of %.0f connections", by_psql,
             psql_num("SHOW max_connections"));
    CHECK_MSG(&st, want);
    /* Three more clients: three more connections, and the percentage follows. */
    const struct pqx *px;
    struct err err = {0};
    CHECK_INT(pqx_load(&px, &err), 0);
    PGconn *held[3];
    for (int i = 0; i < 3; i++) {
        held[i] = px->connectdb(pg_url);
        CHECK_INT(px->status(held[i]), CONNECTION_OK);
    }
    uv_update_time(loop);
    struct probe_state st2;
    CHECK(probe_once(&spec, &st2));
    CHECK_INT(st2.status, PROBE_OK);
    CHECK_INT(metric(&st2, "connections"), by_psql + 3);
    double pct = metric(&st2, "connections_pct");
    CHECK(pct > 0 &&
          (int)(pct * 1000) == (int)((by_psql + 3) * 100 / metric(&st2, "max_connections") * 1000));
    for (int i = 0; i < 3; i++)
        px->finish(held[i]);
}

TEST(host_name_and_unix_socket)
{
    char url[300];
    snprintf(url, sizeof url, "postgresql://tend@localhost:%d/postgres", pg_port);
    struct probe_spec spec = pg_spec(url, NULL);
    struct probe_state st;
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK);
    CHECK(metric(&st, "connections") >= 1);
    /* A unix socket needs no lookup either: postgres.sh puts it in the cluster's folder. */
    snprintf(url, sizeof url, "postgresql://tend@/postgres?host=%s/pg&port=%d", dir, pg_port);
    spec = pg_spec(url, NULL);
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK);
}

TEST(missing_libpq_says_what_to_install)
{
    struct pqx px;
    struct err err = {0};
    CHECK_INT(pqx__open("libpq-not-here.so.5", &px, &err), -TE_NOTFOUND);
    CHECK(strstr(err.msg, "cannot load libpq-not-here.so.5") != NULL);
    CHECK_STR(err.hint, "install libpq5 (apt-get install libpq5)");
    const struct pqx *a = NULL, *b = NULL;
    CHECK_INT(pqx_load(&a, &err), 0);
    CHECK_INT(pqx_load(&b, &err), 0);
    CHECK(a == b && a->libVersion() >= 100000);
}

TEST(configured_query_runs_and_its_error_is_the_message)
{
    struct probe_state st;
    struct probe_spec spec = pg_spec(pg_url, "SELECT * FROM nope");
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_FAILING);
    CHECK_STR(st.msg, "query: ERROR: relation \"nope\" does not exist");
    CHECK(metric(&st, "connections") >= 1); /* the metrics statement ran before */
    psql_do("CREATE TABLE IF NOT EXISTS pgtest_t (x int); INSERT INTO pgtest_t VALUES (1)");
    spec = pg_spec(pg_url, "SELECT x FROM pgtest_t; SELECT 2");
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK);
    CHECK_MSG(&st, "query ok, ");
    /* 16 MB of query text cannot go out in one write: the rest is sent as the socket drains
     * (PQflush returns 1 a few times here). */
    size_t big = 16 << 20;
    char *q = malloc(big + 64);
    int n = snprintf(q, big + 64, "SELECT 1 /* ");
    memset(q + n, 'x', big);
    strcpy(q + n + big, " */");
    spec = pg_spec(pg_url, q);
    spec.timeout_ms = 5000;
    spec.interval_ms = 10000;
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK);
    free(q);
}

TEST(bad_url_is_refused_without_its_password)
{
    struct probe_spec spec = pg_spec("postgresql://tend:s3cret@127.0.0.1:5432/x?nosuch=1", NULL);
    struct watch_probe *p = NULL;
    struct err err = {0};
    struct rec r = {0};
    CHECK(probe_new(sched, &spec, rec_cb, &r, &p, &err) < 0);
    CHECK(strstr(err.msg, "postgres: invalid connection URL") != NULL);
    CHECK(strstr(err.msg, "s3cret") == NULL);
    spec = pg_spec("postgresql://tend:s3cret@127.0.0.1:notaport/x", NULL);
    CHECK(probe_new(sched, &spec, rec_cb, &r, &p, &err) < 0);
    CHECK(strstr(err.msg, "postgres: the port must be a number, not \"notaport\"") != NULL);
    spec = pg_spec("postgresql://tend@db1.invalid,db2.invalid/x", NULL);
    CHECK(probe_new(sched, &spec, rec_cb, &r, &p, &err) < 0);
    CHECK(strstr(err.msg, "IP addresses") != NULL);
}

static int pg_ctl(const char *verb)
{
    char cmd[2400];
    snprintf(cmd, sizeof cmd,
             "%s %s/pg_ctl -D %s/pg/data -l %s/pg/server.log -w -t 30 -o '-p %d -k %s/pg -c "
             "listen_addresses=127.0.0.1 -c fsync=off' %s >/dev/null 2>&1",
             getuid() == 0 ? "runuser -u postgres --" : "", pg_bin, dir, dir, pg_port, dir, verb);
    return sh(cmd, NULL, 0);
}

TEST(stopped_server_fails_in_time_and_recovers)
{
    /* A new max_connections shows after the restart: the metric is read, not assumed. */
    psql_do("ALTER SYSTEM SET max_connections = 37");
    struct rec r = {0};
    struct probe_spec spec = pg_spec(pg_url, NULL);
    spec.interval_ms = 1000;
    spec.timeout_ms = 500;
    struct watch_probe *p = start_probe(&spec, &r);
    CHECK(RUN_UNTIL(r.n >= 1, 5000) && rec_last(&r)->status == PROBE_OK);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "tests/servers/postgres.sh stop %s/pg", dir);
    CHECK_INT(sh(cmd, NULL, 0), 0);
    uv_update_time(loop);
    uint64_t stopped = uv_now(loop);
    CHECK(RUN_UNTIL(rec_last(&r)->status == PROBE_FAILING, 5000));
    uint64_t took = r.at[r.n - 1] - stopped;
    if (took > 1000 + 500 + 100)
        UNIT_FAIL("failing reported %llu ms after the stop (interval 1 s + timeout 500 ms)",
                  (unsigned long long)took);
    char want[100];
    snprintf(want, sizeof want, "connect 127.0.0.1:%d: Connection refused", pg_port);
    CHECK_STR(rec_last(&r)->msg, want);
    CHECK_INT(pg_ctl("start"), 0);
    CHECK(RUN_UNTIL(rec_last(&r)->status == PROBE_OK, 5000));
    CHECK_INT(metric(rec_last(&r), "max_connections"), 37);
    CHECK_MSG(rec_last(&r), "of 37 connections");
    probe_free(p);
}

TEST(password_authentication)
{
    char hba[600], cmd[1200], url[300];
    psql_do("DROP ROLE IF EXISTS pw; CREATE ROLE pw LOGIN PASSWORD 'right-one'");
    /* scram for the role "pw" from loopback, ahead of the trust lines. */
    snprintf(hba, sizeof hba, "%s/pg/data/pg_hba.conf", dir);
    snprintf(cmd, sizeof cmd,
             "sed -i '1i host all pw 127.0.0.1/32 scram-sha-256' %s && psql -X -q -d '%s' -c "
             "'SELECT pg_reload_conf()' >/dev/null",
             hba, pg_url);
    CHECK_INT(sh(cmd, NULL, 0), 0);
    struct probe_state st;
    snprintf(url, sizeof url, "postgresql://pw:wrong-one@127.0.0.1:%d/postgres", pg_port);
    struct probe_spec spec = pg_spec(url, NULL);
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_FAILING);
    char want[200];
    snprintf(want, sizeof want,
             "connect 127.0.0.1:%d: FATAL: password authentication failed for user \"pw\"",
             pg_port);
    CHECK_STR(st.msg, want);
    CHECK(strstr(st.msg, "wrong-one") == NULL);
    snprintf(url, sizeof url, "postgresql://pw@127.0.0.1:%d/postgres", pg_port);
    spec = pg_spec(url, NULL);
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_FAILING);
    CHECK_MSG(&st, "the server wants a password");
    snprintf(url, sizeof url, "postgresql://pw:right-one@127.0.0.1:%d/postgres", pg_port);
    spec = pg_spec(url, NULL);
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK);
}

TEST(silent_peer_times_out_without_delaying_others)
{
    pid_t peer = 0;
    int port = 0;
    if (peer_start("tcp", "silent", &peer, &port) < 0) {
        UNIT_FAIL("cannot start peers.py tcp silent");
        return;
    }
    char url[200];
    snprintf(url, sizeof url, "postgresql://tend@127.0.0.1:%d/postgres", port);
    struct rec hung = {0}, good = {0};
    struct probe_spec hs = pg_spec(url, NULL), gs = pg_spec(pg_url, NULL);
    hs.interval_ms = 700;
    hs.timeout_ms = 500;
    gs.interval_ms = 300;
    gs.timeout_ms = 250; /* a backend fork on a busy 2-core box can take 150 ms */
    struct watch_probe *hp = start_probe(&hs, &hung), *gp = start_probe(&gs, &good);
    CHECK(RUN_UNTIL(hung.n >= 3, 5000));
    for (int i = 0; i < MIN(hung.n, REC_MAX); i++) {
        CHECK_INT(hung.st[i].status, PROBE_FAILING);
        CHECK_MSG(&hung.st[i], "within 500 ms (timeout)");
    }
    /* The good probe kept its 300 ms rhythm the whole time, and stayed ok. */
    CHECK(good.n >= 5);
    for (int i = 1; i < MIN(good.n, REC_MAX); i++) {
        if (good.st[i].status != PROBE_OK)
            UNIT_FAIL("good probe result %d: %s", i, good.st[i].msg);
        if (good.at[i] - good.at[i - 1] > 300 + 100)
            UNIT_FAIL("good probe: %llu ms between results %d and %d",
                      (unsigned long long)(good.at[i] - good.at[i - 1]), i - 1, i);
    }
    probe_free(hp); /* probably mid-attempt: cancel must let go of everything */
    probe_free(gp);
    peer_stop(peer);
}

TEST(free_mid_attempt_releases)
{
    pid_t peer = 0;
    int port = 0;
    if (peer_start("tcp", "silent", &peer, &port) < 0) {
        UNIT_FAIL("cannot start peers.py tcp silent");
        return;
    }
    char url[200];
    snprintf(url, sizeof url, "postgresql://tend@127.0.0.1:%d/postgres", port);
    struct rec r = {0};
    struct probe_spec spec = pg_spec(url, NULL);
    spec.timeout_ms = 5000;
    spec.interval_ms = 10000;
    struct watch_probe *p = start_probe(&spec, &r);
    RUN_UNTIL(false, 100);
    probe_free(p); /* the scheduler close in test_fini waits for the kind's release */
    CHECK_INT(r.n, 0);
    peer_stop(peer);
}

static bool start_server(void)
{
    char cmd[600], out[2048];
    snprintf(cmd, sizeof cmd, "tests/servers/postgres.sh start %s/pg", dir);
    if (sh(cmd, out, sizeof out) != 0)
        return false;
    kv_get(out, "PG_URL", pg_url, sizeof pg_url);
    kv_get(out, "PG_BIN", pg_bin, sizeof pg_bin);
    char port[16];
    kv_get(out, "PGPORT", port, sizeof port);
    pg_port = (int)strtol(port, NULL, 10);
    snprintf(base_url, sizeof base_url, "postgresql://tend@127.0.0.1:%d", pg_port);
    return pg_url[0] && pg_bin[0] && pg_port > 0;
}

int main(void)
{
    char cmd[600];
    snprintf(dir, sizeof dir, "/tmp/tend-pgprobe-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    chmod(dir, 0711); /* postgres.sh runs the server as user postgres */
    test_init();
    if (start_server()) {
        RUN(ok_counts_client_connections);
        RUN(host_name_and_unix_socket);
        RUN(missing_libpq_says_what_to_install);
        RUN(configured_query_runs_and_its_error_is_the_message);
        RUN(bad_url_is_refused_without_its_password);
        RUN(stopped_server_fails_in_time_and_recovers);
        RUN(password_authentication);
        RUN(silent_peer_times_out_without_delaying_others);
        RUN(free_mid_attempt_releases);
    } else {
        unit_cur = "start_server";
        UNIT_FAIL("cannot start PostgreSQL (tests/servers/postgres.sh; run scripts/deps.sh)");
        unit_failed++;
    }
    snprintf(cmd, sizeof cmd, "tests/servers/postgres.sh stop %s/pg; rm -rf %s", dir, dir);
    sh(cmd, NULL, 0);
    test_fini();
    return unit_done();
}
