/* tests/unit/logs/test_line.c: the line splitter, JSON escaping and stamp parsing (line.c). */
#include <stdlib.h>

#include "core/buf.h"
#include "core/clock.h"
#include "logs/logs_int.h"
#include "unit.h"

struct lines {
    char *v[64];
    size_t len[64];
    int n;
    struct buf all; /* every piece, joined with '|' */
};

static void collect(void *arg, const char *p, size_t n)
{
    struct lines *ls = arg;
    if (ls->n < 64) {
        ls->v[ls->n] = malloc(n + 1);
        memcpy(ls->v[ls->n], p, n);
        ls->v[ls->n][n] = '\0';
        ls->len[ls->n] = n;
    }
    ls->n++;
}

static void lines_free(struct lines *ls)
{
    for (int i = 0; i < ls->n && i < 64; i++)
        free(ls->v[i]);
    memset(ls, 0, sizeof *ls);
}

static void feed(struct logs_split *s, struct lines *ls, const char *text)
{
    logs__split_feed(s, text, strlen(text), collect, ls);
}

TEST(chunks_across_boundaries)
{
    struct logs_split s;
    struct lines ls = {0};
    logs__split_init(&s, 0);
    feed(&s, &ls, "ab");
    CHECK_INT(ls.n, 0);
    feed(&s, &ls, "c\nde");
    feed(&s, &ls, "f\n\n");
    feed(&s, &ls, "g");
    CHECK_INT(ls.n, 3);
    CHECK_STR(ls.v[0], "abc");
    CHECK_STR(ls.v[1], "def");
    CHECK_STR(ls.v[2], "");
    logs__split_eof(&s, collect, &ls);
    CHECK_INT(ls.n, 4);
    CHECK_STR(ls.v[3], "g");
    logs__split_fini(&s);
    lines_free(&ls);
}

TEST(many_lines_in_one_chunk_and_empty_lines)
{
    struct logs_split s;
    struct lines ls = {0};
    logs__split_init(&s, 0);
    feed(&s, &ls, "\n\none\ntwo\n\nthree\n");
    CHECK_INT(ls.n, 6);
    CHECK_STR(ls.v[0], "");
    CHECK_STR(ls.v[2], "one");
    CHECK_STR(ls.v[4], "");
    CHECK_STR(ls.v[5], "three");
    logs__split_eof(&s, collect, &ls);
    CHECK_INT(ls.n, 6); /* nothing held: EOF adds nothing */
    logs__split_fini(&s);
    lines_free(&ls);
}

TEST(crlf_kept_in_line_stripped_for_json)
{
    struct logs_split s;
    struct lines ls = {0};
    logs__split_init(&s, 0);
    feed(&s, &ls, "dos\r");
    feed(&s, &ls, "\nunix\n");
    CHECK_INT(ls.n, 2);
    CHECK_STR(ls.v[0], "dos\r");
    CHECK_INT(logs__chomp_cr(ls.v[0], ls.len[0]), 3);
    CHECK_INT(logs__chomp_cr(ls.v[1], ls.len[1]), 4);
    logs__split_fini(&s);
    lines_free(&ls);
}

/* A 200 KiB line is cut into max_line pieces that join back into the line, however it came. */
static void long_line(size_t chunk)
{
    size_t total = 200 * 1024, max = 64 * 1024;
    char *line = malloc(total + 1);
    for (size_t i = 0; i < total; i++)
        line[i] = (char)('a' + i % 26);
    line[total] = '\n';
    struct logs_split s;
    struct lines ls = {0};
    logs__split_init(&s, max);
    for (size_t off = 0; off < total + 1; off += chunk)
        logs__split_feed(&s, line + off, MIN(chunk, total + 1 - off), collect, &ls);
    CHECK_INT(ls.n, 4);
    size_t off = 0;
    for (int i = 0; i < ls.n && i < 64; i++) {
        CHECK(ls.len[i] <= max);
        CHECK(memcmp(ls.v[i], line + off, ls.len[i]) == 0);
        off += ls.len[i];
    }
    CHECK_INT(off, total);
    CHECK_INT(ls.len[0], max);
    CHECK_INT(ls.len[3], total - 3 * max);
    logs__split_fini(&s);
    lines_free(&ls);
    free(line);
}

TEST(long_line_split_at_max_line)
{
    long_line(256 * 1024); /* whole in one chunk */
    long_line(4096);       /* through the held partial line */
    long_line(1);
}

TEST(split_never_cuts_a_utf8_character)
{
    struct logs_split s;
    struct lines ls = {0};
    logs__split_init(&s, 5);
    feed(&s, &ls, "abcd\xC3\xA9xyz\n");
    CHECK_INT(ls.n, 2);
    CHECK_STR(ls.v[0], "abcd");
    CHECK_STR(ls.v[1], "\xC3\xA9xyz");
    lines_free(&ls);
    feed(&s, &ls, "ab");
    feed(&s, &ls, "cd\xC3");
    feed(&s, &ls, "\xA9xyz\n"); /* the same, through the held part */
    CHECK_INT(ls.n, 2);
    CHECK_STR(ls.v[0], "abcd");
    CHECK_STR(ls.v[1], "\xC3\xA9xyz");
    logs__split_fini(&s);
    lines_free(&ls);
}

TEST(partial_line_at_eof_is_flushed)
{
    struct logs_split s;
    struct lines ls = {0};
    logs__split_init(&s, 0);
    feed(&s, &ls, "done\nhalf a li");
    feed(&s, &ls, "ne");
    logs__split_eof(&s, collect, &ls);
    CHECK_INT(ls.n, 2);
    CHECK_STR(ls.v[1], "half a line");
    logs__split_fini(&s);
    lines_free(&ls);
}

TEST(json_escape)
{
    struct buf b;
    buf_init(&b, 0);
    const char in[] = "say \"hi\"\\ \t\x01 caf\xC3\xA9 bad\xFF end";
    logs__json_escape(&b, in, sizeof in - 1);
    CHECK_STR(b.ptr, "say \\\"hi\\\"\\\\ \\t\\u0001 caf\xC3\xA9 bad\\ufffd end");
    buf_fini(&b);
    json_t *s = logs__json_string("ok\xFFok", 5);
    CHECK_STR(json_string_value(s), "ok\xEF\xBF\xBDok");
    json_decref(s);
}

TEST(stamp_parse_round_trip)
{
    int64_t ms = 1795400000123, got = 0;
    char text[96];
    size_t n = clock_iso8601(text, sizeof text, ms, 1), used = 0;
    CHECK_INT(logs__stamp_parse(NULL, text, n, &got, &used), 0);
    CHECK_INT(got, ms);
    CHECK_INT(used, n);
    n = clock_format(text, sizeof text, "YYYY-MM-DD HH:mm:ss", ms);
    CHECK_INT(logs__stamp_parse("YYYY-MM-DD HH:mm:ss", text, n, &got, &used), 0);
    CHECK_INT(got, ms - 123);
    n = clock_format(text, sizeof text, "[at] YYYY/M/D H:m:s.SSS ZZ", ms);
    CHECK_INT(logs__stamp_parse("[at] YYYY/M/D H:m:s.SSS ZZ", text, n, &got, &used), 0);
    CHECK_INT(got, ms);
    CHECK(logs__stamp_parse(NULL, "not a time: x", 13, &got, &used) < 0);
}

int main(void)
{
    RUN(chunks_across_boundaries);
    RUN(many_lines_in_one_chunk_and_empty_lines);
    RUN(crlf_kept_in_line_stripped_for_json);
    RUN(long_line_split_at_max_line);
    RUN(split_never_cuts_a_utf8_character);
    RUN(partial_line_at_eof_is_flushed);
    RUN(json_escape);
    RUN(stamp_parse_round_trip);
    return unit_done();
}
