/* tests/unit/watch/test_probe_http.c: http probes against a real HTTP server on 127.0.0.1.
 *
 * peers.py serves /health (whose status the test switches with /set), /json, /status/<code>,
 * /sleep/<ms> and /hang. Each case states what a user would see: the status and message,
 * transitions with "since", JSON field matches, status lists and ranges, the latency limit, and
 * a hung server reported failing within interval + timeout. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "probe_test.h"

static pid_t peer;
static int port;
static char base[64];

static const char *url(const char *path)
{
    static char u[8][128];
    static int i;
    i = (i + 1) % 8;
    snprintf(u[i], sizeof u[i], "%s%s", base, path);
    return u[i];
}

static struct probe_spec http_spec(const char *path)
{
    struct probe_spec s = {.kind = PROBE_HTTP};
    s.u.http.url = url(path);
    return s;
}

/* Switch /health's status with a blocking request (the test may block; probes run in the loop
 * only while the test runs it). */
static void set_health(int code)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[128], reply[256];
    int n = snprintf(req, sizeof req, "GET /set?code=%d HTTP/1.0\r\n\r\n", code);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        write(fd, req, (size_t)n) != n || read(fd, reply, sizeof reply) <= 0)
        UNIT_FAIL("cannot switch /health to %d", code);
    if (fd >= 0)
        close(fd);
}

TEST(ok_and_failing_status)
{
    struct probe_state st;
    struct probe_spec s = http_spec("/json");
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK_MSG(&st, "HTTP 200 from http://127.0.0.1:");
        CHECK_INT((int)metric(&st, "status"), 200);
    }
    s = http_spec("/status/503");
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "HTTP 503 from");
        CHECK_MSG(&st, "(expected 200-399)");
    }
    s = http_spec("/status/404");
    if (probe_once(&s, &st))
        CHECK_INT(st.status, PROBE_FAILING);
}

TEST(status_list_and_ranges)
{
    struct probe_state st;
    struct probe_range want[] = {{200, 200}, {204, 204}, {500, 502}};
    struct probe_spec s = http_spec("/status/204");
    s.u.http.status = want;
    s.u.http.nstatus = 3;
    if (probe_once(&s, &st))
        CHECK_INT(st.status, PROBE_OK);
    s.u.http.url = url("/status/501"); /* inside 500-502: the user said so */
    if (probe_once(&s, &st))
        CHECK_INT(st.status, PROBE_OK);
    s.u.http.url = url("/status/302"); /* in the default range, not in this list */
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "HTTP 302");
        CHECK_MSG(&st, "(expected 200, 204, 500-502)");
    }
}

TEST(json_fields)
{
    struct probe_state st;
    struct probe_kv ok[] = {
        {"database", "connected"}, {"success", "true"}, {"pool.size", "10"}, {"list.1", "two"}};
    struct probe_spec s = http_spec("/json");
    s.u.http.json = ok;
    s.u.http.njson = 4;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        if (st.status != PROBE_OK)
            fprintf(stderr, "  (%s)\n", st.msg);
    }
    struct probe_kv bad[] = {{"database", "connected"}, {"pool.size", "20"}};
    s.u.http.json = bad;
    s.u.http.njson = 2;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "pool.size is \"10\", not \"20\"");
    }
    struct probe_kv missing[] = {{"cache.state", "warm"}};
    s.u.http.json = missing;
    s.u.http.njson = 1;
    if (probe_once(&s, &st))
        CHECK_MSG(&st, "the JSON has no cache.state");
    s = http_spec("/status/200"); /* empty body */
    s.u.http.json = ok;
    s.u.http.njson = 1;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "the body is not JSON");
    }
}

TEST(body_substring_and_headers)
{
    struct probe_state st;
    struct probe_spec s = http_spec("/json");
    s.u.http.body = "\"success\": true";
    if (probe_once(&s, &st))
        CHECK_INT(st.status, PROBE_OK);
    s.u.http.body = "\"success\":false";
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "the body does not contain \"success\":false");
    }
    struct probe_kv h[] = {{"Authorization", "Bearer sesame"}};
    s = http_spec("/header");
    if (probe_once(&s, &st))
        CHECK_INT(st.status, PROBE_FAILING); /* 401 without the header */
    s.u.http.headers = h;
    s.u.http.nheaders = 1;
    if (probe_once(&s, &st))
        CHECK_INT(st.status, PROBE_OK);
    s = http_spec("/post");
    s.u.http.method = "POST";
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK_MSG(&st, "HTTP 201");
    }
}

TEST(latency_threshold)
{
    struct probe_state st;
    struct probe_spec s = http_spec("/sleep/300");
    s.u.http.latency_ms = 100;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "slow: ");
        CHECK_MSG(&st, " ms > 100 ms (HTTP 200 from");
        CHECK(st.latency_ms >= 300);
    }
    s.u.http.latency_ms = 2000;
    s.timeout_ms = 3000;
    s.interval_ms = 5000;
    if (probe_once(&s, &st))
        CHECK_INT(st.status, PROBE_OK);
}

/* ok -> failing -> ok: is_change only on the switches; "since" moves only then. */
TEST(transitions_and_since)
{
    struct rec r = {0};
    set_health(200);
    struct probe_spec s = http_spec("/health");
    s.interval_ms = 200;
    s.timeout_ms = 150;
    struct watch_probe *p = start_probe(&s, &r);
    CHECK(RUN_UNTIL(r.n >= 2, 5000));
    int64_t since_ok = probe_state(p)->since_wall_ms;
    CHECK_INT(probe_state(p)->status, PROBE_OK);
    CHECK(r.is_change[0] && !r.is_change[1]);
    set_health(503);
    CHECK(RUN_UNTIL(probe_state(p)->consecutive_failures >= 2, 5000));
    CHECK_INT(probe_state(p)->status, PROBE_FAILING);
    CHECK(probe_state(p)->since_wall_ms > since_ok);
    CHECK_MSG(probe_state(p), "HTTP 503");
    set_health(200);
    CHECK(RUN_UNTIL(probe_state(p)->status == PROBE_OK, 5000));
    CHECK_INT(probe_state(p)->consecutive_failures, 0);
    CHECK_INT(r.changes, 3); /* pending->ok, ok->failing, failing->ok */
    json_t *j = probe_to_json(p);
    CHECK_STR(json_string_value(json_object_get(j, "status")), "ok");
    CHECK_STR(json_string_value(json_object_get(j, "kind")), "http");
    CHECK_STR(json_string_value(json_object_get(j, "target")), url("/health"));
    CHECK(json_is_string(json_object_get(j, "since")));
    CHECK(json_integer_value(json_object_get(j, "failed_runs")) >= 2);
    json_decref(j);
    probe_free(p);
}

/* A server that never answers: failing "no answer within 300 ms" within interval + timeout. */
TEST(hung_server_times_out)
{
    struct rec r = {0};
    struct probe_spec s = http_spec("/hang");
    s.interval_ms = 1000;
    s.timeout_ms = 300;
    uint64_t t0 = uv_now(loop);
    struct watch_probe *p = start_probe(&s, &r);
    CHECK(RUN_UNTIL(r.n >= 2, 5000));
    if (r.n >= 2) {
        CHECK_INT(r.st[0].status, PROBE_FAILING);
        CHECK_MSG(&r.st[0], "/hang within 300 ms (timeout)");
        CHECK(r.at[0] - t0 <= 1000 + 300 + 100);
        CHECK(r.at[1] - r.at[0] >= 900 && r.at[1] - r.at[0] <= 1200); /* start to start */
    }
    probe_free(p);
}

TEST(refused_and_bad_config)
{
    struct probe_state st;
    struct probe_spec s = {.kind = PROBE_HTTP};
    s.u.http.url = "http://127.0.0.1:1/health";
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "GET http://127.0.0.1:1/health failed: ");
        CHECK_MSG(&st, "refused");
    }
    struct watch_probe *p = NULL;
    struct err err = {0};
    s.name = "api";
    s.u.http.url = "ftp://x/";
    CHECK(probe_new(sched, &s, NULL, NULL, &p, &err) < 0);
    CHECK_STR(err.msg, "check \"api\": http: \"ftp://x/\" is not an http:// or https:// URL");
    s.u.http.url = "http://x/";
    s.interval_ms = 5000;
    s.timeout_ms = 5000;
    CHECK(probe_new(sched, &s, NULL, NULL, &p, &err) < 0);
    CHECK_STR(err.msg, "check \"api\": timeout 5 s must be shorter than interval 5 s");
}

/* Credentials in the URL reach the server but never the message or the target (invariant 7). */
TEST(credentials_masked_in_messages)
{
    struct probe_state st;
    char u[160];
    snprintf(u, sizeof u, "http://mon:pw-Secret123@127.0.0.1:%d/status/503?token=tok-Secret456",
             port);
    struct probe_spec s = {.kind = PROBE_HTTP};
    s.u.http.url = u;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "HTTP 503 from http://mon:****@127.0.0.1:");
        CHECK(!strstr(st.msg, "Secret123") && !strstr(st.msg, "Secret456"));
    }
    s.u.http.url = "http://mon:pw-Secret123@127.0.0.1:1/x?token=tok-Secret456";
    if (probe_once(&s, &st)) {
        CHECK_MSG(&st, "failed: ");
        CHECK(!strstr(st.msg, "Secret123") && !strstr(st.msg, "Secret456"));
    }
    struct rec r = {0};
    s.interval_ms = 1000;
    s.timeout_ms = 500;
    struct watch_probe *p = start_probe(&s, &r);
    json_t *j = probe_to_json(p);
    const char *target = json_string_value(json_object_get(j, "target"));
    CHECK(target && strstr(target, "127.0.0.1:1/x") && !strstr(target, "Secret"));
    json_decref(j);
    probe_free(p);
}

int main(void)
{
    test_init();
    if (peer_start("http", NULL, &peer, &port) < 0) {
        fprintf(stderr, "cannot start tests/unit/watch/peers.py http\n");
        return 1;
    }
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    RUN(ok_and_failing_status);
    RUN(status_list_and_ranges);
    RUN(json_fields);
    RUN(body_substring_and_headers);
    RUN(latency_threshold);
    RUN(transitions_and_since);
    RUN(hung_server_times_out);
    RUN(refused_and_bad_config);
    RUN(credentials_masked_in_messages);
    peer_stop(peer);
    test_fini();
    return unit_done();
}
