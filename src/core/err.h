/* core/err.h: error codes and the one-sentence error a person reads.
 *
 * Functions that can fail return 0 or a negative code: -errno or -TE_*. When a person will read
 * the failure, the callee also fills a struct err (STYLE.md section 4); callers add context with
 * err_prefix(). err functions accept a NULL err and then only return the code. */
#ifndef TEND_CORE_ERR_H
#define TEND_CORE_ERR_H

enum {
    TE_BASE = 10000,
    TE_TOOBIG,   /* a bounded buffer or input is over its limit */
    TE_PARSE,    /* input does not parse */
    TE_INVALID,  /* input parses but is not acceptable */
    TE_NOTFOUND, /* no such app, instance, file, route */
    TE_STATE,    /* not possible in the current state */
    TE_TIMEOUT,
    TE_AUTH,
    TE_CONFIG, /* the configuration has errors */
};

struct err {
    int code;       /* negative: -errno or -TE_* ; 0 = no error */
    char msg[512];  /* one sentence, lower-case start, no final period */
    char hint[256]; /* what to do, or empty */
};

/* Fill err with a formatted message; returns `code` (negative) for `return err_set(...)`. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like err_set with code -errno and ": strerror(errno)" appended. */
int err_sys(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepend context: "cannot start api:2" + ": " + old message. Returns e->code. */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set the hint ("run tend up"). */
void err_hint(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(struct err *e);
/* Stable name for programs ("ENOENT", "TE_PARSE" -> "parse_error"); never NULL. */
const char *err_name(int code);
/* Text for a code alone (strerror for errno codes). */
const char *err_str(int code);

#endif
