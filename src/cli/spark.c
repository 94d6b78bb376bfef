/* cli/spark.c: a row of doubles as a sparkline, one of eight block characters per value.
 *
 * Level k of 0..7 is U+2581 + k, three UTF-8 bytes E2 96 81+k. The bar for v is
 * round((v - lo) / (hi - lo) * 7), so lo and hi themselves get the lowest and the highest
 * bar and a line of percentages compares across apps when the caller fixes 0..100. The whole
 * line is built first and appended once, so the buffer never holds half a sparkline. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "cli/spark.h"

int cli__spark(struct buf *out, const double *values, size_t n, double lo, double hi)
{
    double min = NAN, max = NAN;
    for (size_t i = 0; i < n; i++)
        if (!isnan(values[i])) {
            min = isnan(min) || values[i] < min ? values[i] : min;
            max = isnan(max) || values[i] > max ? values[i] : max;
        }
    if (isnan(lo))
        lo = min;
    if (isnan(hi))
        hi = max;
    char *line = malloc(n * 3 + 1);
    if (!line)
        return -ENOMEM;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        double v = values[i];
        int level;
        if (isnan(v)) {
            line[len++] = ' ';
            continue;
        }
        if (!(hi > lo)) /* flat (or inverted) scale: nothing to compare against */
            level = v == 0 ? 0 : 3;
        else {
            double x = (v - lo) / (hi - lo) * 7.0;
            level = x <= 0 ? 0 : x >= 7 ? 7 : (int)lround(x);
        }
        line[len++] = (char)0xE2;
        line[len++] = (char)0x96;
        line[len++] = (char)(0x81 + level);
    }
    int rc = buf_append(out, line, len);
    free(line);
    return rc;
}
