/* tests/unit/cli/test_spark.c: sparklines as exact UTF-8 text (what the terminal shows). */
#include <errno.h>
#include <math.h>

#include "cli/spark.h"
#include "core/buf.h"
#include "core/err.h"
#include "unit.h"

static void spark_is(const double *v, size_t n, double lo, double hi, const char *want)
{
    struct buf b = {0};
    CHECK_INT(cli__spark(&b, v, n, lo, hi), 0);
    CHECK_STR(b.ptr ? b.ptr : "", want);
    buf_fini(&b);
}

TEST(every_level_in_order)
{
    const double v[] = {0, 1, 2, 3, 4, 5, 6, 7};
    spark_is(v, 8, 0, 7, "▁▂▃▄▅▆▇█");
    spark_is(v, 8, NAN, NAN, "▁▂▃▄▅▆▇█"); /* auto scale: the same */
}

TEST(fixed_scale_for_percentages)
{
    const double v[] = {0, 50, 100, 5};
    spark_is(v, 4, 0, 100, "▁▅█▁"); /* 50% rounds to level 4 of 0..7 (3.5 -> 4) */
    const double low[] = {3, 4, 5};
    spark_is(low, 3, 0, 100, "▁▁▁");   /* a quiet CPU does not fill the box */
    spark_is(low, 3, NAN, NAN, "▁▅█"); /* unless the scale comes from the data */
}

TEST(gaps_and_clamping)
{
    const double v[] = {10, NAN, 20, NAN, -5, 500};
    spark_is(v, 6, 0, 100, "▂ ▂ ▁█");
    const double none[] = {NAN, NAN};
    spark_is(none, 2, NAN, NAN, "  ");
}

TEST(flat_lines)
{
    const double zero[] = {0, 0, 0};
    spark_is(zero, 3, NAN, NAN, "▁▁▁");
    const double busy[] = {42, 42};
    spark_is(busy, 2, NAN, NAN, "▄▄");
}

TEST(full_buffer_is_left_unchanged)
{
    struct buf b;
    buf_init(&b, 8);
    CHECK_INT(buf_puts(&b, "cpu "), 0);
    const double v[] = {1, 2, 3};
    CHECK_INT(cli__spark(&b, v, 3, 0, 3), -TE_TOOBIG);
    CHECK_STR(b.ptr, "cpu ");
    buf_fini(&b);
}

int main(void)
{
    RUN(every_level_in_order);
    RUN(fixed_scale_for_percentages);
    RUN(gaps_and_clamping);
    RUN(flat_lines);
    RUN(full_buffer_is_left_unchanged);
    return unit_done();
}
