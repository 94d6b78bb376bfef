/* core/err.c: filling struct err and naming error codes.
 *
 * A struct err carries one sentence for a person plus an optional hint; codes are negative
 * (-errno or -TE_*). Every function accepts a NULL err and then only returns the code, so a
 * caller that does not need the text passes NULL. Messages are truncated, never overflowed:
 * err_prefix builds the new text in a scratch copy before replacing the old one. */
#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/str.h"

/* Append `a` then `b` to the string in dst, truncating. (snprintf with "%s" here trips gcc's
 * -Wformat-truncation, which cannot see that truncation is intended.) */
static void append(char *dst, size_t size, const char *a, const char *b)
{
    size_t len = strlen(dst);
    len += str_copy(dst + len, a, size - len);
    if (len < size)
        str_copy(dst + len, b, size - len);
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    e->hint[0] = '\0';
    return code;
}

int err_sys(struct err *e, const char *fmt, ...)
{
    int code = errno ? -errno : -EIO;
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    append(e->msg, sizeof e->msg, ": ", strerror(-code));
    e->code = code;
    e->hint[0] = '\0';
    return code;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    if (!e)
        return 0;
    char old[sizeof e->msg];
    str_copy(old, e->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof e->msg && old[0])
        append(e->msg, sizeof e->msg, ": ", old);
    return e->code;
}

void err_hint(struct err *e, const char *fmt, ...)
{
    if (!e)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->hint, sizeof e->hint, fmt, ap);
    va_end(ap);
}

void err_clear(struct err *e)
{
    if (!e)
        return;
    e->code = 0;
    e->msg[0] = '\0';
    e->hint[0] = '\0';
}

/* Indexed by code - TE_BASE. The names are an API (the JSON "code" field): never rename one. */
static const char *const te_names[] = {
    [TE_TOOBIG - TE_BASE] = "too_big",    [TE_PARSE - TE_BASE] = "parse_error",
    [TE_INVALID - TE_BASE] = "invalid",   [TE_NOTFOUND - TE_BASE] = "not_found",
    [TE_STATE - TE_BASE] = "bad_state",   [TE_TIMEOUT - TE_BASE] = "timeout",
    [TE_AUTH - TE_BASE] = "unauthorized", [TE_CONFIG - TE_BASE] = "config_invalid",
};

static const char *const te_texts[] = {
    [TE_TOOBIG - TE_BASE] = "too big",
    [TE_PARSE - TE_BASE] = "parse error",
    [TE_INVALID - TE_BASE] = "invalid value",
    [TE_NOTFOUND - TE_BASE] = "not found",
    [TE_STATE - TE_BASE] = "not possible in the current state",
    [TE_TIMEOUT - TE_BASE] = "timed out",
    [TE_AUTH - TE_BASE] = "not authorized",
    [TE_CONFIG - TE_BASE] = "the configuration has errors",
};

/* The errno codes a program is likely to meet; others get "system_error". Lower-case so the
 * whole "code" vocabulary of the API is snake_case. */
static const struct {
    int code;
    const char *name;
} errno_names[] = {
    {EPERM, "eperm"},
    {ENOENT, "enoent"},
    {ESRCH, "esrch"},
    {EINTR, "eintr"},
    {EIO, "eio"},
    {ENXIO, "enxio"},
    {E2BIG, "e2big"},
    {ENOEXEC, "enoexec"},
    {EBADF, "ebadf"},
    {ECHILD, "echild"},
    {EAGAIN, "eagain"},
    {ENOMEM, "enomem"},
    {EACCES, "eacces"},
    {EFAULT, "efault"},
    {EBUSY, "ebusy"},
    {EEXIST, "eexist"},
    {EXDEV, "exdev"},
    {ENODEV, "enodev"},
    {ENOTDIR, "enotdir"},
    {EISDIR, "eisdir"},
    {EINVAL, "einval"},
    {ENFILE, "enfile"},
    {EMFILE, "emfile"},
    {ETXTBSY, "etxtbsy"},
    {EFBIG, "efbig"},
    {ENOSPC, "enospc"},
    {ESPIPE, "espipe"},
    {EROFS, "erofs"},
    {EMLINK, "emlink"},
    {EPIPE, "epipe"},
    {EDOM, "edom"},
    {ERANGE, "erange"},
    {EDEADLK, "edeadlk"},
    {ENAMETOOLONG, "enametoolong"},
    {ENOSYS, "enosys"},
    {ENOTEMPTY, "enotempty"},
    {ELOOP, "eloop"},
    {ENOTSUP, "enotsup"},
    {EADDRINUSE, "eaddrinuse"},
    {EADDRNOTAVAIL, "eaddrnotavail"},
    {ENETDOWN, "enetdown"},
    {ENETUNREACH, "enetunreach"},
    {ECONNABORTED, "econnaborted"},
    {ECONNRESET, "econnreset"},
    {ENOBUFS, "enobufs"},
    {EISCONN, "eisconn"},
    {ENOTCONN, "enotconn"},
    {ETIMEDOUT, "etimedout"},
    {ECONNREFUSED, "econnrefused"},
    {EHOSTUNREACH, "ehostunreach"},
    {EALREADY, "ealready"},
    {EINPROGRESS, "einprogress"},
    {ECANCELED, "ecanceled"},
    {EDQUOT, "edquot"},
    {EPROTO, "eproto"},
    {EOVERFLOW, "eoverflow"},
    {EILSEQ, "eilseq"},
};

const char *err_name(int code)
{
    if (code == 0)
        return "ok";
    int c = code < 0 ? -code : code;
    if (c > TE_BASE && c <= TE_CONFIG)
        return te_names[c - TE_BASE];
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
        if (errno_names[i].code == c)
            return errno_names[i].name;
    return "system_error";
}

const char *err_str(int code)
{
    if (code == 0)
        return "success";
    int c = code < 0 ? -code : code;
    if (c > TE_BASE && c <= TE_CONFIG)
        return te_texts[c - TE_BASE];
    if (c >= TE_BASE)
        return "unknown error";
    return strerror(c);
}
