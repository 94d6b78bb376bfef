/* cli/spark.h: sparklines (▁▂▃▄▅▆▇█) for `tend metrics` (pure; test_spark.c).
 *
 * It lives in cli/ because only the terminal draws them: the daemon sends numbers
 * (GET /v1/metrics?points=N) and the CLI turns them into bars. */
#ifndef TEND_CLI_SPARK_H
#define TEND_CLI_SPARK_H

#include <stddef.h>

#include "core/buf.h"

/* Append one UTF-8 bar per value (3 bytes each; a NaN is a space: a gap in the data). The
 * scale runs from lo (▁) to hi (█); pass NAN for either to take it from the values, e.g.
 * 0 and NAN for "from zero to the highest", or 0 and 100 for a percentage. Values outside
 * the scale are clamped. When the scale is flat (every value equal) the bars sit at ▁ for
 * zero and ▄ for anything else. 0, or -TE_TOOBIG/-ENOMEM from the buffer (unchanged then). */
int cli__spark(struct buf *out, const double *values, size_t n, double lo, double hi);

#endif
