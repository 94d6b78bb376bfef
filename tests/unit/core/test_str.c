/* tests/unit/core/test_str.c: string helpers, secret detection and masking (invariant 7). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

TEST(fmt_and_copy)
{
    char s[8];
    CHECK_INT(str_fmt(s, sizeof s, "%s-%d", "ab", 12), 0);
    CHECK_STR(s, "ab-12");
    CHECK_INT(str_fmt(s, sizeof s, "%s", "12345678"), -ENAMETOOLONG);
    CHECK_INT(str_copy(s, "hello world", sizeof s), 11);
    CHECK_STR(s, "hello w");
    CHECK_INT(str_copy(s, "hi", sizeof s), 2);
    CHECK_STR(s, "hi");
    CHECK_INT(str_copy(s, "untouched", 0), 9);
    CHECK_STR(s, "hi");
}

TEST(dup_eq_affixes)
{
    char *d = str_dup("abc");
    CHECK_STR(d, "abc");
    free(d);
    CHECK(str_dup(NULL) == NULL);
    d = str_ndup("abcdef", 3);
    CHECK_STR(d, "abc");
    free(d);
    d = str_ndup("ab", 10);
    CHECK_STR(d, "ab");
    free(d);
    CHECK(str_eq("a", "a") && !str_eq("a", "b"));
    CHECK(str_eq(NULL, NULL) && !str_eq(NULL, "a") && !str_eq("a", NULL));
    CHECK(str_starts("api:2", "api") && str_starts("x", "") && !str_starts("ap", "api"));
    CHECK(str_ends("tend.yaml", ".yaml") && str_ends("x", "") && !str_ends("ml", "yaml"));
}

TEST(distance_and_suggest)
{
    CHECK_INT(str_distance("", ""), 0);
    CHECK_INT(str_distance("kitten", "sitting"), 3);
    CHECK_INT(str_distance("instnaces", "instances"), 2);
    CHECK_INT(str_distance("abc", ""), 3);
    static const char *const keys[] = {"instances", "script", "kill_timeout", "env", NULL};
    CHECK_STR(str_suggest("instnaces", keys), "instances");
    CHECK_STR(str_suggest("kill_timout", keys), "kill_timeout");
    CHECK_STR(str_suggest("evn", keys), "env");
    CHECK(str_suggest("zzzzzz", keys) == NULL);
    CHECK(str_suggest("x", (const char *const[]){NULL}) == NULL);
}

TEST(secret_names)
{
    static const char *const secret[] = {
        "PASSWORD",   "DB_PASSWORD",    "db_pass",
        "MYSQL_PWD",  "PGPASSWORD",     "REDIS_PASSWD",
        "SECRET",     "SESSION_SECRET", "aws_secret_access_key",
        "JWTSECRET",  "GITHUB_TOKEN",   "auth_token",
        "API_KEY",    "ACCESS_KEY_ID",  "PRIVATE_KEY",
        "stripe-key", "app.secret",     "GOOGLE_APPLICATION_CREDENTIALS",
        "BASIC_AUTH", "SENTRY_DSN",     "OPENAI_APIKEY",
        "SLACKTOKEN", "GPG_PASSPHRASE",
    };
    static const char *const plain[] = {
        "PATH",
        "HOME",
        "PORT",
        "NODE_ENV",
        "KEYBOARD_LAYOUT",
        "MONKEY",
        "BYPASS_CACHE",
        "PWD",
        "OLDPWD",
        "DATABASE_URL",
        "TOKENIZER_MODEL",
        "LANG",
        "",
        "AUTHOR",
    };
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        if (!str_is_secret_name(secret[i]))
            UNIT_FAIL("%s should look secret", secret[i]);
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (str_is_secret_name(plain[i]))
            UNIT_FAIL("%s should not look secret", plain[i]);
    CHECK(!str_is_secret_name(NULL));
}

TEST(mask)
{
    char m[32];
    str_mask(m, sizeof m, "hunter2");
    CHECK_STR(m, "****");
    str_mask(m, sizeof m, "");
    CHECK_STR(m, "****");
    str_mask(m, sizeof m, "12345678901");
    CHECK_STR(m, "****");
    str_mask(m, sizeof m, "sk-live-0123456789abcdef");
    CHECK_STR(m, "sk****");
    str_mask(m, sizeof m, NULL);
    CHECK_STR(m, "****");
    str_mask(m, 3, "sk-live-0123456789abcdef");
    CHECK_STR(m, "sk");
}

static void check_url(const char *in, const char *want)
{
    char out[256];
    str_mask_url(out, sizeof out, in);
    if (strcmp(out, want) != 0)
        UNIT_FAIL("str_mask_url(\"%s\") == \"%s\", expected \"%s\"", in, out, want);
}

TEST(mask_url)
{
    check_url("postgres://app:s3cret@db.local:5432/app", "postgres://app:****@db.local:5432/app");
    check_url("postgresql://app:p@ss@db/app?sslmode=require",
              "postgresql://app:****@db/app?sslmode=require");
    check_url("redis://:hunter2@127.0.0.1:6379/0", "redis://:****@127.0.0.1:6379/0");
    check_url("https://user@example.com/x", "https://user@example.com/x");
    check_url("https://example.com/a:b@c", "https://example.com/a:b@c");
    check_url("https://h/cb?token=abc&page=2", "https://h/cb?token=****&page=2");
    check_url("https://oapi.dingtalk.com/robot/send?access_token=XYZ&timestamp=1&sign=abc",
              "https://oapi.dingtalk.com/robot/send?access_token=****&timestamp=1&sign=****");
    check_url("https://s3/b/k?X-Amz-Credential=AK/1&X-Amz-Signature=ff&X-Amz-Expires=60",
              "https://s3/b/k?X-Amz-Credential=****&X-Amz-Signature=****&X-Amz-Expires=60");
    check_url("https://h/p?api_key=1#frag?token=2", "https://h/p?api_key=****#frag?token=2");
    check_url("https://h/p?flag&key=", "https://h/p?flag&key=****");
    check_url("https://h/p?db_password=x", "https://h/p?db_password=****");
    check_url("localhost:3000/health", "localhost:3000/health");
    check_url("", "");

    char small[16];
    str_mask_url(small, sizeof small, "postgres://app:s3cret@db.local/app");
    CHECK_STR(small, "postgres://app:"); /* truncated, never revealing the password */
}

TEST(write_and_read_file)
{
    char path[] = "/tmp/tend-test-str-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_INT(write_all(fd, "hello\nworld\n", 12), 0);
    close(fd);

    struct buf b = {0};
    CHECK_INT(read_file(path, 0, &b), 0);
    CHECK_STR(b.ptr, "hello\nworld\n");
    CHECK_INT(b.len, 12);
    buf_fini(&b);
    CHECK_INT(read_file(path, 5, &b), -TE_TOOBIG);
    buf_fini(&b);
    CHECK_INT(read_file("/nonexistent/tend", 0, &b), -ENOENT);
    CHECK_INT(write_all(-1, "x", 1), -EBADF);

    fd = open(path, O_WRONLY | O_TRUNC);
    close(fd);
    CHECK_INT(read_file(path, 0, &b), 0);
    CHECK(b.ptr != NULL);
    CHECK_STR(b.ptr, "");
    buf_fini(&b);
    unlink(path);
}

int main(void)
{
    RUN(fmt_and_copy);
    RUN(dup_eq_affixes);
    RUN(distance_and_suggest);
    RUN(secret_names);
    RUN(mask);
    RUN(mask_url);
    RUN(write_and_read_file);
    return unit_done();
}
