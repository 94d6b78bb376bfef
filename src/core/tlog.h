/* core/tlog.h: tend's own log (STYLE.md section 5), not the apps' output.
 *
 * One line per call: "2026-11-23T06:30:01+08:00 warn supervise: api:2 exited ...". Lines go to
 * stderr unless tlog_set_fd() says otherwise. Repeats of the same line within a second collapse
 * into "(last message repeated N times)". Secrets never reach this log: callers mask first. */
#ifndef TEND_CORE_TLOG_H
#define TEND_CORE_TLOG_H

enum tlog_level { TLOG_ERROR, TLOG_WARN, TLOG_INFO, TLOG_DEBUG };

void tlog_set_level(enum tlog_level lvl);
void tlog_set_fd(int fd);
/* Parse "error|warn|info|debug"; -TE_INVALID if unknown. */
int tlog_level_parse(const char *s, enum tlog_level *out);

/* "error", "warn", "info", "debug". */
const char *tlog_level_name(enum tlog_level lvl);
/* Write the pending "(last message repeated N times)" line now, if any (at exit, or from a
 * periodic timer so a burst that stopped is still counted). */
void tlog_flush(void);

void tlog_log(enum tlog_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define tlog_error(mod, ...) tlog_log(TLOG_ERROR, mod, __VA_ARGS__)
#define tlog_warn(mod, ...) tlog_log(TLOG_WARN, mod, __VA_ARGS__)
#define tlog_info(mod, ...) tlog_log(TLOG_INFO, mod, __VA_ARGS__)
#define tlog_debug(mod, ...) tlog_log(TLOG_DEBUG, mod, __VA_ARGS__)

#endif
