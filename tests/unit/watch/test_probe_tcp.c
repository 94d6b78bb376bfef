/* tests/unit/watch/test_probe_tcp.c: tcp probes against real listeners on 127.0.0.1.
 *
 * peers.py runs one listener per behaviour: a banner, one that accepts and never answers, one
 * that sends its banner a byte every 50 ms, one that resets, one that closes at once. Beyond
 * each message, the case that matters most for the daemon: a probe stuck on a silent peer does
 * not delay another probe's results by a single interval (DESIGN invariant 2). */
#include "probe_test.h"

enum { BANNER, SILENT, SLOW, RESET, CLOSE, NPEERS };
static const char *const modes[NPEERS] = {"banner", "silent", "slow", "reset", "close"};
static pid_t pids[NPEERS];
static int ports[NPEERS];

static const char *addr(int which)
{
    static char a[8][32];
    static int i;
    i = (i + 1) % 8;
    snprintf(a[i], sizeof a[i], "127.0.0.1:%d", ports[which]);
    return a[i];
}

static struct probe_spec tcp_spec(int which)
{
    struct probe_spec s = {.kind = PROBE_TCP};
    s.u.tcp.address = addr(which);
    return s;
}

TEST(connect_and_banner)
{
    struct probe_state st;
    struct probe_spec s = tcp_spec(BANNER);
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK_MSG(&st, "connected to 127.0.0.1:");
    }
    s.u.tcp.expect = "220";
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK_MSG(&st, "answered \"220 tend-test ready..\"");
    }
    s.u.tcp.send = "QUIT\r\n";
    if (probe_once(&s, &st))
        CHECK_INT(st.status, PROBE_OK);
    s.u.tcp.expect = "+OK";
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "closed the connection without sending \"+OK\" (it sent \"220 tend-test");
    }
}

/* A banner that trickles in a byte at a time still matches, as long as it is within timeout. */
TEST(slow_banner)
{
    struct probe_state st;
    struct probe_spec s = tcp_spec(SLOW);
    s.u.tcp.expect = "banner";
    s.timeout_ms = 3000;
    s.interval_ms = 5000;
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_OK);
        CHECK(st.latency_ms >= 10 * 50);
    }
    s.timeout_ms = 200; /* the banner takes ~850 ms */
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "within 200 ms (timeout)");
    }
}

TEST(reset_refused_closed)
{
    struct probe_state st;
    struct probe_spec s = tcp_spec(RESET);
    s.u.tcp.expect = "220";
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "connection reset by the peer");
    }
    s = tcp_spec(CLOSE);
    s.u.tcp.expect = "220";
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "closed the connection without sending \"220\"");
    }
    s = (struct probe_spec){.kind = PROBE_TCP};
    s.u.tcp.address = "127.0.0.1:1";
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_STR(st.msg,
                  "cannot connect to 127.0.0.1:1: connection refused (nothing listens there?)");
    }
    s.u.tcp.address = "no-such-host.invalid:25";
    if (probe_once(&s, &st)) {
        CHECK_INT(st.status, PROBE_FAILING);
        CHECK_MSG(&st, "cannot resolve no-such-host.invalid");
    }
}

TEST(bad_address)
{
    struct watch_probe *p = NULL;
    struct err err = {0};
    struct probe_spec s = {.name = "smtp", .kind = PROBE_TCP};
    s.u.tcp.address = "127.0.0.1";
    CHECK(probe_new(sched, &s, NULL, NULL, &p, &err) < 0);
    CHECK_STR(err.msg, "check \"smtp\": tcp: \"127.0.0.1\" is not host:port");
    s.u.tcp.address = "[::1]:25";
    CHECK(probe_new(sched, &s, NULL, NULL, &p, &err) == 0);
    probe_free(p);
}

/* The silent peer's probe times out every time; the banner probe beside it keeps its rhythm:
 * each of its results comes one interval (100 ms) after the previous, never held up by the
 * other's 1.5 s of waiting. Same for an http-less silent peer with expect. */
TEST(silent_peer_delays_nothing)
{
    struct rec silent = {0}, fast = {0};
    struct probe_spec s1 = tcp_spec(SILENT);
    s1.name = "silent";
    s1.u.tcp.expect = "220";
    s1.interval_ms = 2000;
    s1.timeout_ms = 1500;
    struct probe_spec s2 = tcp_spec(BANNER);
    s2.name = "fast";
    s2.u.tcp.expect = "220";
    s2.interval_ms = 100;
    s2.timeout_ms = 90;
    struct watch_probe *p1 = start_probe(&s1, &silent);
    struct watch_probe *p2 = start_probe(&s2, &fast);
    uint64_t t0 = uv_now(loop);
    CHECK(RUN_UNTIL(silent.n >= 2, 6000));
    uint64_t worst = 0;
    int n = MIN(fast.n, REC_MAX);
    for (int i = 1; i < n; i++)
        worst = MAX(worst, fast.at[i] - fast.at[i - 1]);
    CHECK(n >= 25);      /* ~35 in 3.5 s */
    CHECK(worst <= 160); /* interval 100 ms; a blocked loop would show 1500 */
    for (int i = 0; i < n; i++)
        if (fast.st[i].status != PROBE_OK)
            UNIT_FAIL("fast probe result %d: %s", i, fast.st[i].msg);
    CHECK_INT(silent.st[0].status, PROBE_FAILING);
    CHECK_MSG(&silent.st[0], "within 1.5 s (timeout)");
    CHECK(silent.at[0] - t0 <= 2000 + 1500 + 100);
    fprintf(stderr, "  (fast probe: %d results, worst gap %llu ms while the silent one hung)\n", n,
            (unsigned long long)worst);
    probe_free(p1);
    probe_free(p2);
}

int main(void)
{
    test_init();
    for (int i = 0; i < NPEERS; i++) {
        if (peer_start("tcp", modes[i], &pids[i], &ports[i]) < 0) {
            fprintf(stderr, "cannot start tests/unit/watch/peers.py tcp %s\n", modes[i]);
            return 1;
        }
    }
    RUN(connect_and_banner);
    RUN(slow_banner);
    RUN(reset_refused_closed);
    RUN(bad_address);
    RUN(silent_peer_delays_nothing);
    for (int i = 0; i < NPEERS; i++)
        peer_stop(pids[i]);
    test_fini();
    return unit_done();
}
