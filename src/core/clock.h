/* core/clock.h: the one source of time, so tests can drive `for: 5m` without waiting.
 *
 * Monotonic milliseconds for durations, wall time only for display and cron (STYLE.md 10).
 * A test may install a fake clock; production code never does. */
#ifndef TEND_CORE_CLOCK_H
#define TEND_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

uint64_t clock_mono_ms(void); /* monotonic, arbitrary origin */
int64_t clock_wall_ms(void);  /* Unix epoch milliseconds */

/* Tests: freeze both clocks at the given values (mono, wall); clock_fake_advance moves both. */
void clock_fake_set(uint64_t mono_ms, int64_t wall_ms);
void clock_fake_advance(uint64_t ms);
void clock_fake_off(void);

/* ISO 8601 with offset in local time: "2026-11-23T06:30:01+08:00" (ms = 0) or with ".123". */
size_t clock_iso8601(char *dst, size_t size, int64_t wall_ms, int with_ms);

/* Format with a PM2/moment-style pattern: YYYY MM DD HH mm ss SSS Z (+08:00) ZZ (+0800);
 * other characters copied; text in [brackets] copied literally. Returns bytes written
 * (excluding NUL), truncated to size-1. Local time. */
size_t clock_format(char *dst, size_t size, const char *pattern, int64_t wall_ms);
/* Is the pattern well formed (only known tokens; brackets closed)? */
int clock_format_check(const char *pattern);

#endif
