/* api/auth.c: who may talk to the API (DESIGN invariant 7).
 *
 * The unix door trusts the kernel: the socket is 0600 and SO_PEERCRED must name our uid or
 * root. The TCP door needs `Authorization: Bearer TOKEN`; the token is 32 bytes from
 * getrandom() written as 64 hex digits to $TEND_HOME/token (0600, atomically), and compared
 * with a loop whose time does not depend on where the first difference is (OpenSSL's
 * CRYPTO_memcmp), so response timing leaks nothing about the token. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "core/afile.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"

static int token_create(const char *path, char token[API_TOKEN_HEX + 1], struct err *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[API_TOKEN_HEX / 2];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_sys(err, "cannot create the api token: getrandom() failed");
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        token[2 * i] = hex[raw[i] >> 4];
        token[2 * i + 1] = hex[raw[i] & 15];
    }
    token[API_TOKEN_HEX] = '\0';
    char line[API_TOKEN_HEX + 2];
    memcpy(line, token, API_TOKEN_HEX);
    line[API_TOKEN_HEX] = '\n';
    int rc = afile_write(path, line, API_TOKEN_HEX + 1, 0600, err);
    explicit_bzero(raw, sizeof raw);
    explicit_bzero(line, sizeof line);
    if (rc < 0)
        return err_prefix(err, "cannot create the api token");
    tlog_info("api", "created the api token in %s", path);
    return 0;
}

int api__token_load(const char *path, char token[API_TOKEN_HEX + 1], struct err *err)
{
    struct buf b;
    buf_init(&b, 4096);
    int rc = read_file(path, 4096, &b);
    if (rc == -ENOENT) {
        buf_fini(&b);
        return token_create(path, token, err);
    }
    if (rc < 0) {
        buf_fini(&b);
        return err_set(err, rc, "cannot read the api token %s: %s", path, err_str(rc));
    }
    size_t len = b.len;
    while (len > 0 && strchr(" \t\r\n", b.ptr[len - 1]))
        len--;
    if (len < 32 || len > API_TOKEN_HEX || memchr(b.ptr, '\n', len) || memchr(b.ptr, ' ', len)) {
        explicit_bzero(b.ptr, b.len);
        buf_fini(&b);
        rc = err_set(err, -TE_INVALID,
                     "the api token in %s is not one line of 32 to 64 "
                     "characters",
                     path);
        err_hint(err, "delete %s and restart the daemon to create a new one", path);
        return rc;
    }
    memcpy(token, b.ptr, len);
    token[len] = '\0';
    explicit_bzero(b.ptr, b.len);
    buf_fini(&b);
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        tlog_warn("api", "%s is readable by other users (mode %03o); run chmod 600 %s", path,
                  (unsigned)(st.st_mode & 0777), path);
    return 0;
}

/* Compare a and b (both of length n) in time that depends only on n. */
static int ct_diff(const unsigned char *a, const unsigned char *b, size_t n)
{
    volatile unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= a[i] ^ b[i];
    return acc;
}

bool api__token_check(const char *token, const char *authorization)
{
    static const char scheme[] = "Bearer ";
    size_t tlen = strlen(token);
    if (!authorization || tlen == 0 || strncasecmp(authorization, scheme, sizeof scheme - 1))
        return false;
    const char *given = authorization + sizeof scheme - 1;
    while (*given == ' ')
        given++;
    size_t glen = strlen(given);
    while (glen > 0 && given[glen - 1] == ' ')
        glen--;
    /* The length of the token is not a secret (it is always 64 here); compare the bytes only
     * when lengths agree, and then always all of them. */
    if (glen != tlen)
        return false;
    return ct_diff((const unsigned char *)given, (const unsigned char *)token, tlen) == 0;
}

int api__peer_allowed(int fd, unsigned *uid_out)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return -errno;
    *uid_out = cred.uid;
    if (cred.uid == 0 || cred.uid == geteuid())
        return 0;
    return -TE_AUTH;
}
