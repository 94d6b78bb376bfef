/* tests/unit/api/test_auth.c: the TCP door's token (api/auth.c, DESIGN invariant 7).
 *
 * A token matches only when the whole of it is given: a prefix, the token with bytes added,
 * one byte changed at either end, another scheme or no header at all never do. The token file
 * is created 0600 with 64 hex digits, read back the same, and refused when it is not one line.
 * SO_PEERCRED lets our own uid in. Timing is constant by construction (every byte is compared
 * once the lengths agree); a wall-clock assertion would only be flaky, so none is made here. */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "core/err.h"
#include "unit.h"

static const char tok[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static bool check(const char *authorization)
{
    return api__token_check(tok, authorization);
}

TEST(right_token_matches)
{
    char h[200];
    snprintf(h, sizeof h, "Bearer %s", tok);
    CHECK(check(h));
    snprintf(h, sizeof h, "bearer %s", tok); /* the scheme is case-insensitive (RFC 7235) */
    CHECK(check(h));
    snprintf(h, sizeof h, "Bearer   %s  ", tok);
    CHECK(check(h));
}

TEST(prefixes_and_longer_tokens_never_match)
{
    char h[200];
    for (size_t n = 0; n < sizeof tok - 1; n += 7) {
        snprintf(h, sizeof h, "Bearer %.*s", (int)n, tok);
        if (check(h))
            UNIT_FAIL("a %zu-byte prefix of the token matched", n);
    }
    snprintf(h, sizeof h, "Bearer %.*s", (int)sizeof tok - 2, tok); /* one byte short */
    CHECK(!check(h));
    snprintf(h, sizeof h, "Bearer %sx", tok); /* one byte more */
    CHECK(!check(h));
    snprintf(h, sizeof h, "Bearer %s%s", tok, tok);
    CHECK(!check(h));
}

TEST(one_byte_changed_never_matches)
{
    char given[sizeof tok], h[200];
    size_t at[] = {0, 1, 31, 62, 63};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(given, tok, sizeof tok);
        given[at[i]] = given[at[i]] == 'f' ? 'e' : 'f';
        snprintf(h, sizeof h, "Bearer %s", given);
        if (check(h))
            UNIT_FAIL("the token with byte %zu changed matched", at[i]);
    }
}

TEST(other_schemes_and_no_header_never_match)
{
    char h[200];
    CHECK(!check(NULL));
    CHECK(!check(""));
    CHECK(!check("Bearer "));
    CHECK(!check(tok)); /* no scheme */
    snprintf(h, sizeof h, "Basic %s", tok);
    CHECK(!check(h));
    snprintf(h, sizeof h, "Bearer: %s", tok);
    CHECK(!check(h));
    CHECK(!api__token_check("", "Bearer ")); /* an empty token lets nobody in */
}

TEST(token_file_created_private_and_read_back)
{
    char dir[] = "/tmp/tend-auth.XXXXXX", path[300], a[API_TOKEN_HEX + 1], b[API_TOKEN_HEX + 1];
    struct err err = {0};
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/token", dir);
    CHECK_INT(api__token_load(path, a, &err), 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_INT(strlen(a), API_TOKEN_HEX);
    CHECK(strspn(a, "0123456789abcdef") == API_TOKEN_HEX);
    CHECK_INT(api__token_load(path, b, &err), 0);
    CHECK_STR(b, a);
    char h[200];
    snprintf(h, sizeof h, "Bearer %s", a);
    CHECK(api__token_check(b, h));
    /* A file that is not one line of 32 to 64 characters is refused, not half-used. */
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("short\n", f);
        fclose(f);
    }
    CHECK(api__token_load(path, b, &err) < 0);
    CHECK(strstr(err.msg, "not one line") != NULL);
    unlink(path);
    rmdir(dir);
}

TEST(own_uid_is_a_peer)
{
    int sv[2];
    unsigned uid = 12345;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK_INT(api__peer_allowed(sv[0], &uid), 0);
    CHECK_INT(uid, geteuid());
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    RUN(right_token_matches);
    RUN(prefixes_and_longer_tokens_never_match);
    RUN(one_byte_changed_never_matches);
    RUN(other_schemes_and_no_header_never_match);
    RUN(token_file_created_private_and_read_back);
    RUN(own_uid_is_a_peer);
    return unit_done();
}
