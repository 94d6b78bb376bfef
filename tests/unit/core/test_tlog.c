/* tests/unit/core/test_tlog.c: tend's own log lines, levels and the collapsing of repeats.
 *
 * Lines go to a temporary file; time comes from the fake clock in UTC, so every line is exact. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "unit.h"

#define T_MS 1795415401000LL /* 2026-11-23T06:30:01Z */

static int log_fd = -1;

/* Everything logged since the last call. */
static char *drain(void)
{
    static char text[8192];
    struct buf b = {0};
    lseek(log_fd, 0, SEEK_SET);
    char chunk[1024];
    ssize_t n;
    while ((n = read(log_fd, chunk, sizeof chunk)) > 0)
        buf_append(&b, chunk, (size_t)n);
    str_copy(text, b.ptr ? b.ptr : "", sizeof text);
    buf_fini(&b);
    if (ftruncate(log_fd, 0) != 0)
        UNIT_FAIL("ftruncate");
    lseek(log_fd, 0, SEEK_SET);
    return text;
}

TEST(line_format)
{
    tlog_info("supervise", "api:%d exited with code %d; restart 4/10 in 2s", 2, 1);
    tlog_warn("watch", "probe \"%s\" failed", "db");
    tlog_error(NULL, "no module");
    CHECK_STR(drain(), "2026-11-23T06:30:01+00:00 info supervise: api:2 exited with code 1; "
                       "restart 4/10 in 2s\n"
                       "2026-11-23T06:30:01+00:00 warn watch: probe \"db\" failed\n"
                       "2026-11-23T06:30:01+00:00 error tend: no module\n");
}

TEST(levels)
{
    tlog_debug("core", "hidden by default");
    CHECK_STR(drain(), "");
    tlog_set_level(TLOG_DEBUG);
    tlog_debug("core", "shown");
    CHECK_STR(drain(), "2026-11-23T06:30:01+00:00 debug core: shown\n");
    tlog_set_level(TLOG_ERROR);
    tlog_warn("core", "hidden");
    tlog_info("core", "hidden");
    tlog_error("core", "shown");
    CHECK_STR(drain(), "2026-11-23T06:30:01+00:00 error core: shown\n");
    tlog_set_level(TLOG_INFO);

    enum tlog_level l = TLOG_INFO;
    CHECK_INT(tlog_level_parse("debug", &l), 0);
    CHECK_INT(l, TLOG_DEBUG);
    CHECK_INT(tlog_level_parse("WARN", &l), 0);
    CHECK_INT(l, TLOG_WARN);
    CHECK_INT(tlog_level_parse("warning", &l), 0);
    CHECK_INT(tlog_level_parse("error", &l), 0);
    CHECK_INT(l, TLOG_ERROR);
    CHECK_INT(tlog_level_parse("loud", &l), -TE_INVALID);
    CHECK_INT(tlog_level_parse(NULL, &l), -TE_INVALID);
    CHECK_STR(tlog_level_name(TLOG_WARN), "warn");
}

TEST(one_call_one_line)
{
    tlog_warn("logs", "child wrote \"%s\"", "evil\n2026-01-01T00:00:00+00:00 error x: forged");
    CHECK_STR(drain(), "2026-11-23T06:30:01+00:00 warn logs: child wrote \"evil "
                       "2026-01-01T00:00:00+00:00 error x: forged\"\n");
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tlog_info("core", "%s", big);
    const char *out = drain();
    CHECK(strlen(out) < 2200);
    CHECK(out[strlen(out) - 1] == '\n');
    CHECK(strchr(out, '\n') == out + strlen(out) - 1);
}

TEST(repeats_collapse)
{
    clock_fake_advance(5000);
    for (int i = 0; i < 5; i++) {
        tlog_warn("watch", "api:health failed");
        clock_fake_advance(100);
    }
    tlog_info("watch", "api:health ok");
    CHECK_STR(drain(), "2026-11-23T06:30:06+00:00 warn watch: api:health failed\n"
                       "2026-11-23T06:30:06+00:00 warn watch: (last message repeated 4 times)\n"
                       "2026-11-23T06:30:06+00:00 info watch: api:health ok\n");

    /* Same text, other module or level: not a repeat. */
    clock_fake_advance(5000);
    tlog_info("a", "same");
    tlog_info("b", "same");
    tlog_warn("b", "same");
    CHECK_STR(drain(), "2026-11-23T06:30:11+00:00 info a: same\n"
                       "2026-11-23T06:30:11+00:00 info b: same\n"
                       "2026-11-23T06:30:11+00:00 warn b: same\n");

    /* After the second is over the line is written again, the count first. */
    clock_fake_advance(5000);
    tlog_info("core", "tick");
    clock_fake_advance(500);
    tlog_info("core", "tick");
    tlog_info("core", "tick");
    clock_fake_advance(600);
    tlog_info("core", "tick");
    CHECK_STR(drain(), "2026-11-23T06:30:16+00:00 info core: tick\n"
                       "2026-11-23T06:30:17+00:00 info core: (last message repeated 2 times)\n"
                       "2026-11-23T06:30:17+00:00 info core: tick\n");

    /* tlog_flush writes a pending count; with none pending it writes nothing. */
    clock_fake_advance(5000);
    tlog_info("core", "burst");
    tlog_info("core", "burst");
    tlog_flush();
    tlog_flush();
    CHECK_STR(drain(), "2026-11-23T06:30:22+00:00 info core: burst\n"
                       "2026-11-23T06:30:22+00:00 info core: (last message repeated 1 time)\n");
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    clock_fake_set(0, T_MS);
    char path[] = "/tmp/tend-test-tlog-XXXXXX";
    log_fd = mkstemp(path);
    if (log_fd < 0)
        return 1;
    unlink(path);
    tlog_set_fd(log_fd);
    RUN(line_format);
    RUN(levels);
    RUN(one_call_one_line);
    RUN(repeats_collapse);
    close(log_fd);
    return unit_done();
}
