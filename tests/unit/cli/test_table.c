/* tests/unit/cli/test_table.c: human units, column layout and colours of cli/table.c. */
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "unit.h"

TEST(durations)
{
    char s[32];
    static const struct {
        uint64_t ms;
        const char *want;
    } cases[] = {
        {0, "0s"},
        {999, "0s"},
        {5000, "5s"},
        {59999, "59s"},
        {60000, "1m"},
        {3 * 60000 + 59000, "3m"},
        {3600000, "1h"},
        {2 * 3600000 + 59 * 60000, "2h"},
        {86400000, "1d"},
        {4 * 86400000ull + 5, "4d"},
        {400 * 86400000ull, "400d"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli__human_duration(s, sizeof s, cases[i].ms);
        CHECK_STR(s, cases[i].want);
    }
}

TEST(sizes)
{
    char s[32];
    static const struct {
        uint64_t bytes;
        const char *want;
    } cases[] = {
        {0, "0B"},
        {1023, "1023B"},
        {1024, "1.0K"},
        {1536, "1.5K"},
        {(uint64_t)(23.4 * 1048576) + 1, "23.4M"},
        {(uint64_t)(23.49 * 1048576), "23.4M"}, /* floored, never rounded up */
        {512ull << 20, "512M"},
        {(1ull << 30) * 3 / 2, "1.5G"},
        {(1ull << 20) - 1, "1023K"},
        {1ull << 40, "1.0T"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli__human_size(s, sizeof s, cases[i].bytes);
        CHECK_STR(s, cases[i].want);
    }
}

TEST(percentages)
{
    char s[16];
    cli__human_pct(s, sizeof s, 0);
    CHECK_STR(s, "0%");
    cli__human_pct(s, sizeof s, 0.34);
    CHECK_STR(s, "0.3%");
    cli__human_pct(s, sizeof s, 12.6);
    CHECK_STR(s, "13%");
    cli__human_pct(s, sizeof s, -1);
    CHECK_STR(s, "0%");
}

TEST(width_counts_code_points)
{
    CHECK_INT(cli__display_width("abc"), 3);
    CHECK_INT(cli__display_width("↺"), 1);
    CHECK_INT(cli__display_width(""), 0);
    CHECK_INT(cli__display_width(NULL), 0);
}

static void render(struct cli_table *t, bool color, struct buf *out)
{
    buf_reset(out);
    cli__table_render(t, color, out);
}

TEST(columns_align_without_trailing_blanks)
{
    static const char *const heads[] = {"app", "↺", "state"};
    struct cli_table t;
    struct buf out = {0};
    cli__table_init(&t, 3, heads);
    t.right[1] = true;
    size_t r = cli__table_row(&t);
    cli__table_set(&t, r, 0, NULL, "api");
    cli__table_set(&t, r, 1, NULL, "%d", 12);
    cli__table_set(&t, r, 2, "32", "online");
    r = cli__table_row(&t);
    cli__table_set(&t, r, 0, NULL, "worker-long");
    cli__table_set(&t, r, 1, NULL, "0");
    cli__table_set(&t, r, 2, "90", "stopped");
    render(&t, false, &out);
    CHECK_STR(out.ptr, "app           ↺  state\n"
                       "api          12  online\n"
                       "worker-long   0  stopped\n");
    buf_fini(&out);
    cli__table_fini(&t);
}

TEST(colour_wraps_padded_cells_only_when_asked)
{
    static const char *const heads[] = {"state", "app"};
    struct cli_table t;
    struct buf out = {0};
    cli__table_init(&t, 2, heads);
    size_t r = cli__table_row(&t);
    cli__table_set(&t, r, 0, cli__state_color("errored"), "errored");
    cli__table_set(&t, r, 1, NULL, "api");
    render(&t, true, &out);
    CHECK_STR(out.ptr, "\033[1mstate\033[0m    \033[1mapp\033[0m\n"
                       "\033[31merrored\033[0m  api\n");
    render(&t, false, &out);
    CHECK(strchr(out.ptr, '\033') == NULL);
    buf_fini(&out);
    cli__table_fini(&t);
}

TEST(many_rows_grow)
{
    static const char *const heads[] = {"n"};
    struct cli_table t;
    struct buf out = {0};
    cli__table_init(&t, 1, heads);
    for (int i = 0; i < 1000; i++)
        cli__table_set(&t, cli__table_row(&t), 0, NULL, "%d", i);
    CHECK_INT(t.nrows, 1000);
    render(&t, false, &out);
    CHECK(strstr(out.ptr, "\n999\n") != NULL);
    cli__table_set(&t, 5000, 0, NULL, "ignored"); /* out of range: no effect, no crash */
    buf_fini(&out);
    cli__table_fini(&t);
}

TEST(state_colours)
{
    CHECK_STR(cli__state_color("online"), "32");
    CHECK_STR(cli__state_color("starting"), "33");
    CHECK_STR(cli__state_color("waiting"), "33");
    CHECK_STR(cli__state_color("stopping"), "33");
    CHECK_STR(cli__state_color("errored"), "31");
    CHECK_STR(cli__state_color("stopped"), "90");
    CHECK(cli__state_color("weird") == NULL);
    CHECK(cli__state_color(NULL) == NULL);
    CHECK_STR(cli__app_color("api"), cli__app_color("api"));
}

TEST(no_colour_when_not_a_tty_or_no_color)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    FILE *f = fdopen(fds[1], "w");
    unsetenv("NO_COLOR");
    CHECK(!cli__use_color(f)); /* a pipe is not a terminal */
    fclose(f);
    close(fds[0]);
    setenv("NO_COLOR", "1", 1);
    CHECK(!cli__use_color(stdout));
    unsetenv("NO_COLOR");
}

TEST(paint)
{
    struct buf b = {0};
    cli__paint(&b, true, "32", "ok");
    CHECK_STR(b.ptr, "\033[32mok\033[0m");
    buf_reset(&b);
    cli__paint(&b, true, NULL, "ok");
    CHECK_STR(b.ptr, "ok");
    buf_reset(&b);
    cli__paint(&b, false, "32", "ok");
    CHECK_STR(b.ptr, "ok");
    buf_fini(&b);
}

TEST(times_from_the_api)
{
    char s[40];
    json_t *iso = json_string("2026-11-23T06:30:01+08:00");
    cli__format_time(s, sizeof s, iso);
    CHECK_STR(s, "2026-11-23 06:30:01");
    json_decref(iso);
    setenv("TZ", "UTC", 1);
    json_t *ms = json_integer(1795415401000LL); /* 2026-11-23T06:30:01Z */
    cli__format_time(s, sizeof s, ms);
    CHECK_STR(s, "2026-11-23 06:30:01");
    json_decref(ms);
    cli__format_time(s, sizeof s, NULL);
    CHECK_STR(s, "-");
}

int main(void)
{
    RUN(durations);
    RUN(sizes);
    RUN(percentages);
    RUN(width_counts_code_points);
    RUN(columns_align_without_trailing_blanks);
    RUN(colour_wraps_padded_cells_only_when_asked);
    RUN(many_rows_grow);
    RUN(state_colours);
    RUN(no_colour_when_not_a_tty_or_no_color);
    RUN(paint);
    RUN(times_from_the_api);
    return unit_done();
}
