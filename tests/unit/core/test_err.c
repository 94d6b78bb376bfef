/* tests/unit/core/test_err.c: error filling, context prefixes and stable code names. */
#include <errno.h>
#include <string.h>

#include "core/err.h"
#include "unit.h"

TEST(set_and_prefix)
{
    struct err e = {0};
    CHECK_INT(err_set(&e, -TE_INVALID, "\"max_memory\" must be a size, not \"%s\"", "lots"),
              -TE_INVALID);
    CHECK_INT(e.code, -TE_INVALID);
    CHECK_STR(e.msg, "\"max_memory\" must be a size, not \"lots\"");
    CHECK_INT(err_prefix(&e, "cannot start %s:%d", "api", 2), -TE_INVALID);
    CHECK_STR(e.msg, "cannot start api:2: \"max_memory\" must be a size, not \"lots\"");
    err_hint(&e, "run %s", "tend up");
    CHECK_STR(e.hint, "run tend up");
    err_clear(&e);
    CHECK_INT(e.code, 0);
    CHECK_STR(e.msg, "");
    CHECK_STR(e.hint, "");
}

TEST(sys)
{
    struct err e = {0};
    errno = ENOENT;
    CHECK_INT(err_sys(&e, "cannot open %s", "/nope"), -ENOENT);
    CHECK_STR(e.msg, "cannot open /nope: No such file or directory");
    errno = EACCES;
    CHECK_INT(err_sys(NULL, "x"), -EACCES); /* NULL err: only the code */
}

TEST(null_err)
{
    CHECK_INT(err_set(NULL, -TE_PARSE, "x"), -TE_PARSE);
    err_hint(NULL, "x");
    err_clear(NULL);
    CHECK_INT(err_prefix(NULL, "x"), 0);
}

TEST(long_messages_truncate)
{
    struct err e = {0};
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    err_set(&e, -EINVAL, "%s", big);
    CHECK_INT(strlen(e.msg), sizeof e.msg - 1);
    err_prefix(&e, "context");
    CHECK_INT(strlen(e.msg), sizeof e.msg - 1);
    CHECK(strncmp(e.msg, "context: xxx", 12) == 0);
}

TEST(names)
{
    CHECK_STR(err_name(-TE_TOOBIG), "too_big");
    CHECK_STR(err_name(-TE_PARSE), "parse_error");
    CHECK_STR(err_name(-TE_INVALID), "invalid");
    CHECK_STR(err_name(-TE_NOTFOUND), "not_found");
    CHECK_STR(err_name(-TE_STATE), "bad_state");
    CHECK_STR(err_name(-TE_TIMEOUT), "timeout");
    CHECK_STR(err_name(-TE_AUTH), "unauthorized");
    CHECK_STR(err_name(-TE_CONFIG), "config_invalid");
    CHECK_STR(err_name(-ENOENT), "enoent");
    CHECK_STR(err_name(-ENOSPC), "enospc");
    CHECK_STR(err_name(-ECONNREFUSED), "econnrefused");
    CHECK_STR(err_name(0), "ok");
    CHECK_STR(err_name(-TE_BASE - 99), "system_error");
    CHECK_STR(err_name(-4095), "system_error");
    CHECK_STR(err_str(-ENOENT), "No such file or directory");
    CHECK_STR(err_str(-TE_TIMEOUT), "timed out");
    CHECK_STR(err_str(-TE_BASE - 99), "unknown error");
}

int main(void)
{
    RUN(set_and_prefix);
    RUN(sys);
    RUN(null_err);
    RUN(long_messages_truncate);
    RUN(names);
    return unit_done();
}
