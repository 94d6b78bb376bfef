/* tests/unit/cli/test_client.c: the NDJSON line splitter of cli/client.c (lines split across
 * network reads must come out whole; over-long lines come out in bounded pieces). */
#include "cli/cli_int.h"
#include "unit.h"

struct seen {
    char lines[16][64];
    int n;
    int stop_after; /* return non-zero once this many lines were seen (0 = never) */
};

static int collect(void *arg, const char *line, size_t len)
{
    struct seen *s = arg;
    if (s->n < 16)
        snprintf(s->lines[s->n], sizeof s->lines[0], "%.*s", (int)len, line);
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? 1 : 0;
}

TEST(lines_split_across_reads)
{
    struct buf partial;
    struct seen s = {0};
    buf_init(&partial, 1024);
    const char *chunks[] = {"{\"a\":", "1}\n{\"b\"", ":2}\n", "{\"c\":3}\r\n{\"d\"", ":4}"};
    for (size_t i = 0; i < 5; i++)
        CHECK_INT(cli__lines_feed(&partial, chunks[i], strlen(chunks[i]), collect, &s), 0);
    CHECK_INT(s.n, 3);
    CHECK_STR(s.lines[0], "{\"a\":1}");
    CHECK_STR(s.lines[1], "{\"b\":2}");
    CHECK_STR(s.lines[2], "{\"c\":3}"); /* \r dropped */
    CHECK_INT(cli__lines_flush(&partial, collect, &s), 0);
    CHECK_INT(s.n, 4);
    CHECK_STR(s.lines[3], "{\"d\":4}");
    buf_fini(&partial);
}

TEST(many_lines_in_one_read_and_blank_lines)
{
    struct buf partial;
    struct seen s = {0};
    buf_init(&partial, 1024);
    const char *data = "one\n\ntwo\nthree\n";
    CHECK_INT(cli__lines_feed(&partial, data, strlen(data), collect, &s), 0);
    CHECK_INT(s.n, 3); /* the blank line carries nothing and is skipped */
    CHECK_STR(s.lines[2], "three");
    CHECK_INT(partial.len, 0);
    buf_fini(&partial);
}

TEST(long_line_comes_out_in_pieces)
{
    struct buf partial;
    struct seen s = {0};
    buf_init(&partial, 4);
    const char *data = "abcdefghij\nxy\n";
    CHECK_INT(cli__lines_feed(&partial, data, strlen(data), collect, &s), 0);
    CHECK_INT(s.n, 4);
    CHECK_STR(s.lines[0], "abcd");
    CHECK_STR(s.lines[1], "efgh");
    CHECK_STR(s.lines[2], "ij");
    CHECK_STR(s.lines[3], "xy");
    buf_fini(&partial);
}

TEST(reader_stops_the_stream)
{
    struct buf partial;
    struct seen s = {.stop_after = 2};
    buf_init(&partial, 1024);
    const char *data = "1\n2\n3\n";
    CHECK_INT(cli__lines_feed(&partial, data, strlen(data), collect, &s), 1);
    CHECK_INT(s.n, 2);
    buf_fini(&partial);
}

int main(void)
{
    RUN(lines_split_across_reads);
    RUN(many_lines_in_one_read_and_blank_lines);
    RUN(long_line_comes_out_in_pieces);
    RUN(reader_stops_the_stream);
    return unit_done();
}
