/* tests/unit/watch/test_probe_redis.c: the redis probe against a real redis-server on 127.0.0.1.
 *
 * tests/servers/redis.sh starts one without persistence (save "", appendonly no) in a temp
 * folder; it is stopped by pid at the end. Cases: PONG with the used memory and the client count
 * INFO gives (and follows clients we add); persistence none, RDB (save "900 1"), AOF, both, as
 * CONFIG SET changes it; a user whose ACL denies CONFIG gets a guess that says so, and an RDB
 * guess once a background save has run; requirepass: wrong and missing passwords fail clearly
 * without showing the password; a stopped server fails within one interval + timeout and the
 * same probe is ok once it is back on its port; a listener that accepts and never answers fails
 * at the timeout while another probe keeps its rhythm; a probe freed mid-attempt lets go of
 * everything (test_fini closes the scheduler and the loop; ASan sees leaks). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "core/str.h"
#include "probe_test.h"

static char dir[256], url[300];
static int port;

/* Run a shell command to completion (tests may block); stdout into out when given. */
static int sh(const char *cmd, char *out, size_t size)
{
    char path[] = "/tmp/tend-redistest-out-XXXXXX";
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

/* redis-cli as the default user (with the password while one is set). */
static void cli(const char *args)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "redis-cli -p %d %s >/dev/null 2>&1", port, args);
    if (sh(cmd, NULL, 0) != 0)
        UNIT_FAIL("redis-cli %s failed", args);
}

/* A number from INFO, as redis-cli sees it. */
static double info_num(const char *key)
{
    char cmd[300], out[64];
    snprintf(cmd, sizeof cmd, "redis-cli -p %d info | tr -d '\\r' | sed -n 's/^%s://p'", port, key);
    sh(cmd, out, sizeof out);
    return out[0] ? strtod(out, NULL) : -1;
}

static struct probe_spec redis_spec(const char *u)
{
    return (struct probe_spec){.name = "cache", .kind = PROBE_REDIS, .u.redis = {.url = u}};
}

static int tcp_connect(int p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

TEST(ok_reports_memory_and_clients)
{
    struct probe_spec spec = redis_spec(url);
    struct probe_state st;
    double clients = info_num("connected_clients"); /* redis-cli itself: like the probe */
    double mem = info_num("used_memory");
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK);
    CHECK_INT(metric(&st, "connected_clients"), clients);
    CHECK(metric(&st, "used_memory") > mem * 0.8 && metric(&st, "used_memory") < mem * 1.25);
    CHECK_INT(metric(&st, "persistence"), 0);
    CHECK_INT(metric(&st, "rdb_enabled"), 0);
    CHECK_INT(metric(&st, "aof_enabled"), 0);
    char want[64];
    snprintf(want, sizeof want, "%.0f client%s, persistence: none", clients,
             clients == 1 ? "" : "s");
    CHECK_MSG(&st, "PONG, ");
    CHECK_MSG(&st, "iB used, "); /* "944 KiB", "1.2 MiB" */
    CHECK_MSG(&st, want);
    int held[3];
    for (int i = 0; i < 3; i++)
        CHECK((held[i] = tcp_connect(port)) >= 0);
    CHECK(probe_once(&spec, &st));
    CHECK_INT(metric(&st, "connected_clients"), clients + 3);
    snprintf(want, sizeof want, "%.0f clients", clients + 3);
    CHECK_MSG(&st, want);
    for (int i = 0; i < 3; i++)
        close(held[i]);
}

TEST(persistence_rdb_aof_none)
{
    struct probe_spec spec = redis_spec(url);
    struct probe_state st;
    cli("config set save '900 1'");
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK);
    CHECK_INT(metric(&st, "rdb_enabled"), 1);
    CHECK_INT(metric(&st, "aof_enabled"), 0);
    CHECK_INT(metric(&st, "persistence"), 1);
    CHECK(str_ends(st.msg, "persistence: RDB"));
    cli("config set appendonly yes");
    CHECK(probe_once(&spec, &st));
    CHECK_INT(metric(&st, "aof_enabled"), 1);
    CHECK(str_ends(st.msg, "persistence: RDB and AOF"));
    cli("config set save ''");
    CHECK(probe_once(&spec, &st));
    CHECK_INT(metric(&st, "rdb_enabled"), 0);
    CHECK_INT(metric(&st, "persistence"), 1);
    CHECK(str_ends(st.msg, "persistence: AOF"));
    cli("config set appendonly no");
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK); /* a cache without persistence is not failing */
    CHECK_INT(metric(&st, "persistence"), 0);
    CHECK(str_ends(st.msg, "persistence: none"));
}

TEST(config_denied_is_a_guess_that_says_so)
{
    char u[300];
    cli("acl setuser watcher on '>pw-of-watcher' '~*' '&*' +@all -config");
    snprintf(u, sizeof u, "redis://watcher:pw-of-watcher@127.0.0.1:%d/0", port);
    struct probe_spec spec = redis_spec(u);
    struct probe_state st;
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK);
    CHECK_MSG(&st, "persistence: none (guessed: CONFIG GET save was refused)");
    /* A background save has run since the start: RDB is in use, probably. */
    cli("bgsave");
    char cmd[300];
    snprintf(cmd, sizeof cmd,
             "for i in $(seq 100); do redis-cli -p %d info persistence | grep -q "
             "'rdb_bgsave_in_progress:0' && exit 0; sleep 0.05; done; exit 1",
             port);
    CHECK_INT(sh(cmd, NULL, 0), 0);
    CHECK(probe_once(&spec, &st));
    CHECK_INT(metric(&st, "rdb_enabled"), 1);
    CHECK_MSG(&st, "persistence: RDB (guessed: CONFIG GET save was refused)");
    cli("acl deluser watcher");
}

TEST(passwords)
{
    char u[300];
    struct probe_state st;
    cli("config set requirepass right-pw");
    snprintf(u, sizeof u, "redis://:wrong-pw@127.0.0.1:%d/0", port);
    struct probe_spec spec = redis_spec(u);
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_FAILING);
    CHECK_MSG(&st, "auth: WRONGPASS invalid username-password pair");
    CHECK(strstr(st.msg, "wrong-pw") == NULL);
    spec = redis_spec(url);
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_FAILING);
    CHECK_MSG(&st, "ping: NOAUTH Authentication required");
    CHECK_MSG(&st, "give the password in the URL");
    snprintf(u, sizeof u, "redis://:right-pw@127.0.0.1:%d/0", port);
    spec = redis_spec(u);
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK);
    cli("-a right-pw --no-auth-warning config set requirepass ''");
}

TEST(urls)
{
    char u[300];
    struct probe_state st;
    snprintf(u, sizeof u, "redis://localhost:%d", port); /* looked up with uv_getaddrinfo */
    struct probe_spec spec = redis_spec(u);
    CHECK(probe_once(&spec, &st));
    CHECK_INT(st.status, PROBE_OK);
    struct watch_probe *p = NULL;
    struct err err = {0};
    struct rec r = {0};
    spec = redis_spec("rediss://:s3cret@127.0.0.1:6380");
    CHECK(probe_new(sched, &spec, rec_cb, &r, &p, &err) < 0);
    CHECK(strstr(err.msg, "TLS (rediss://) is not supported") != NULL);
    spec = redis_spec("redis://:s3cret@127.0.0.1:63x");
    CHECK(probe_new(sched, &spec, rec_cb, &r, &p, &err) < 0);
    CHECK(strstr(err.msg, "port must be a number from 1 to 65535, not \"63x\"") != NULL);
    CHECK(strstr(err.msg, "s3cret") == NULL);
}

static int start_again(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "redis-server --port %d --bind 127.0.0.1 --dir %s/redis --save '' --appendonly no "
             "--daemonize yes --pidfile %s/redis/redis.pid --logfile %s/redis/redis.log && "
             "for i in $(seq 100); do redis-cli -p %d ping 2>/dev/null | grep -q PONG && exit 0; "
             "sleep 0.05; done; exit 1",
             port, dir, dir, dir, port);
    return sh(cmd, NULL, 0);
}

TEST(stopped_server_fails_in_time_and_recovers)
{
    struct rec r = {0};
    struct probe_spec spec = redis_spec(url);
    struct watch_probe *p = start_probe(&spec, &r); /* interval 1 s, timeout 500 ms */
    CHECK(RUN_UNTIL(r.n >= 1, 5000) && rec_last(&r)->status == PROBE_OK);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "tests/servers/redis.sh stop %s/redis", dir);
    CHECK_INT(sh(cmd, NULL, 0), 0);
    uint64_t stopped = uv_now(loop);
    CHECK(RUN_UNTIL(rec_last(&r)->status == PROBE_FAILING, 5000));
    uint64_t took = r.at[MIN(r.n, REC_MAX) - 1] - stopped;
    if (took > 1000 + 500 + 100)
        UNIT_FAIL("failing reported %llu ms after the stop (interval 1 s + timeout 500 ms)",
                  (unsigned long long)took);
    char want[100];
    snprintf(want, sizeof want, "connect 127.0.0.1:%d: Connection refused", port);
    CHECK_MSG(rec_last(&r), want);
    CHECK_INT(start_again(), 0);
    CHECK(RUN_UNTIL(rec_last(&r)->status == PROBE_OK, 5000));
    CHECK_MSG(rec_last(&r), "PONG, ");
    probe_free(p);
}

TEST(silent_peer_times_out_without_delaying_others)
{
    pid_t peer = 0;
    int pport = 0;
    if (peer_start("tcp", "silent", &peer, &pport) < 0) {
        UNIT_FAIL("cannot start peers.py tcp silent");
        return;
    }
    char u[200];
    snprintf(u, sizeof u, "redis://:pw@127.0.0.1:%d/0", pport);
    struct rec hung = {0}, good = {0};
    struct probe_spec hs = redis_spec(u), gs = redis_spec(url);
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
    CHECK(good.n >= 5);
    for (int i = 1; i < MIN(good.n, REC_MAX); i++) {
        if (good.st[i].status != PROBE_OK)
            UNIT_FAIL("good probe result %d: %s", i, good.st[i].msg);
        if (good.at[i] - good.at[i - 1] > 300 + 100)
            UNIT_FAIL("good probe: %llu ms between results %d and %d",
                      (unsigned long long)(good.at[i] - good.at[i - 1]), i - 1, i);
    }
    probe_free(hp);
    probe_free(gp);
    peer_stop(peer);
}

TEST(free_mid_attempt_releases)
{
    pid_t peer = 0;
    int pport = 0;
    if (peer_start("tcp", "silent", &peer, &pport) < 0) {
        UNIT_FAIL("cannot start peers.py tcp silent");
        return;
    }
    char u[200];
    snprintf(u, sizeof u, "redis://127.0.0.1:%d/0", pport);
    struct rec r = {0};
    struct probe_spec spec = redis_spec(u);
    spec.timeout_ms = 5000;
    spec.interval_ms = 10000;
    struct watch_probe *p = start_probe(&spec, &r);
    RUN_UNTIL(false, 100);
    probe_free(p); /* the scheduler close in test_fini waits for the kind's release */
    CHECK_INT(r.n, 0);
    peer_stop(peer);
}

int main(void)
{
    char cmd[600], out[1024], ports[16];
    snprintf(dir, sizeof dir, "/tmp/tend-redisprobe-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    test_init();
    snprintf(cmd, sizeof cmd, "tests/servers/redis.sh start %s/redis", dir);
    if (sh(cmd, out, sizeof out) == 0) {
        for (char *l = out; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
            if (sscanf(l, "REDIS_PORT=%15s", ports) == 1)
                port = (int)strtol(ports, NULL, 10);
        }
        snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", port);
    }
    if (port > 0) {
        RUN(ok_reports_memory_and_clients);
        RUN(persistence_rdb_aof_none);
        RUN(config_denied_is_a_guess_that_says_so);
        RUN(passwords);
        RUN(urls);
        RUN(stopped_server_fails_in_time_and_recovers);
        RUN(silent_peer_times_out_without_delaying_others);
        RUN(free_mid_attempt_releases);
    } else {
        unit_cur = "start_server";
        UNIT_FAIL("cannot start redis-server (tests/servers/redis.sh; run scripts/deps.sh)");
        unit_failed++;
    }
    snprintf(cmd, sizeof cmd, "tests/servers/redis.sh stop %s/redis; rm -rf %s", dir, dir);
    sh(cmd, NULL, 0);
    test_fini();
    return unit_done();
}
