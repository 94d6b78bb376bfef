/* core/tlog.c: tend's own log (STYLE.md section 5).
 *
 * Each call writes one whole line with a single write(2), so lines from the daemon and its
 * helpers never interleave mid-line: "2026-11-23T06:30:01+08:00 warn supervise: text". Newlines
 * and other control characters in the text become spaces: one call is one line, and a value
 * from outside cannot forge a second line. Lines are cut at 2 KiB.
 *
 * Repeats collapse (never a line per passing probe): a call whose level, module and text equal
 * the last line written within the last second is only counted. The count is written as
 * "(last message repeated N times)" before the next different line, when the same line comes
 * back after the second is over, or on tlog_flush(). The second is measured on clock_mono_ms(),
 * so tests drive it with the fake clock. State is file-static: the daemon is single-threaded. */
#include "core/tlog.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"

#define LINE_MAX_BYTES 2048
#define REPEAT_WINDOW_MS 1000

static const char *const level_name[] = {
    [TLOG_ERROR] = "error",
    [TLOG_WARN] = "warn",
    [TLOG_INFO] = "info",
    [TLOG_DEBUG] = "debug",
};

static enum tlog_level cur_level = TLOG_INFO;
static int out_fd = 2;

/* The last line written (without its timestamp), when, and how many repeats were swallowed. */
static char last_text[LINE_MAX_BYTES];
static enum tlog_level last_level;
static char last_module[64];
static uint64_t last_mono_ms;
static unsigned long repeats;

void tlog_set_level(enum tlog_level lvl)
{
    cur_level = lvl;
}

void tlog_set_fd(int fd)
{
    tlog_flush();
    out_fd = fd;
}

int tlog_level_parse(const char *s, enum tlog_level *out)
{
    for (int i = TLOG_ERROR; i <= TLOG_DEBUG; i++) {
        if (s && strcasecmp(s, level_name[i]) == 0) {
            *out = (enum tlog_level)i;
            return 0;
        }
    }
    if (s && strcasecmp(s, "warning") == 0) {
        *out = TLOG_WARN;
        return 0;
    }
    return -TE_INVALID;
}

const char *tlog_level_name(enum tlog_level lvl)
{
    return lvl <= TLOG_DEBUG ? level_name[lvl] : "unknown";
}

static void emit(enum tlog_level lvl, const char *module, const char *text)
{
    char line[LINE_MAX_BYTES + 128];
    size_t n = clock_iso8601(line, sizeof line, clock_wall_ms(), 0);
    int m = snprintf(line + n, sizeof line - n, " %s %s: %s", level_name[lvl], module, text);
    if (m < 0)
        return;
    n += (size_t)m < sizeof line - n ? (size_t)m : sizeof line - n - 1;
    line[n++] = '\n';
    /* Nowhere to report a failure to write the log itself; the daemon carries on. */
    (void)write_all(out_fd, line, n);
}

static void flush_repeats(void)
{
    if (!repeats)
        return;
    char text[64];
    snprintf(text, sizeof text, "(last message repeated %lu time%s)", repeats,
             repeats == 1 ? "" : "s");
    repeats = 0;
    emit(last_level, last_module, text);
}

void tlog_flush(void)
{
    flush_repeats();
}

void tlog_log(enum tlog_level lvl, const char *module, const char *fmt, ...)
{
    if (lvl > cur_level || lvl > TLOG_DEBUG)
        return;
    char text[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    for (char *c = text; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    if (!module)
        module = "tend";

    uint64_t now = clock_mono_ms();
    bool same =
        lvl == last_level && strcmp(module, last_module) == 0 && strcmp(text, last_text) == 0;
    if (same && now - last_mono_ms < REPEAT_WINDOW_MS) {
        repeats++;
        return;
    }
    flush_repeats();
    emit(lvl, module, text);
    last_level = lvl;
    str_copy(last_module, module, sizeof last_module);
    str_copy(last_text, text, sizeof last_text);
    last_mono_ms = now;
}
