/* tests/unit/supervise/test_target.c: parsing "app", "app:N", "all" and rejecting the rest. */
#include "core/err.h"
#include "supervise/supervise_int.h"
#include "unit.h"

static int parse(const char *t, char *app, int *index)
{
    struct err err = {0};
    int rc = sup__target_parse(t, app, 128, index, &err);
    if (rc < 0 && !err.msg[0])
        UNIT_FAIL("no message for \"%s\"", t ? t : "(null)");
    return rc;
}

TEST(good_forms)
{
    char app[128];
    int index = 99;
    CHECK_INT(parse("api", app, &index), 0);
    CHECK_STR(app, "api");
    CHECK_INT(index, -1);
    CHECK_INT(parse("api:2", app, &index), 0);
    CHECK_STR(app, "api");
    CHECK_INT(index, 2);
    CHECK_INT(parse("web-front_1:0", app, &index), 0);
    CHECK_STR(app, "web-front_1");
    CHECK_INT(index, 0);
    CHECK_INT(parse("all", app, &index), 0);
    CHECK_STR(app, "");
    CHECK_INT(index, -1);
}

TEST(bad_forms)
{
    char app[128];
    int index;
    const char *bad[] = {"",       ":",       ":2",     "api:",       "api:x",
                         "api:-1", "api:1:2", "api:2x", "api:9999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse(bad[i], app, &index) != -TE_INVALID)
            UNIT_FAIL("\"%s\" was accepted", bad[i]);
    CHECK_INT(parse(NULL, app, &index), -TE_INVALID);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_INT(parse(longname, app, &index), -TE_INVALID);
}

TEST(url_expansion)
{
    char out[64];
    CHECK_INT(sup__expand_url("http://127.0.0.1:${PORT}/health?i=${TEND_INSTANCE}", 3001, 1, out,
                              sizeof out),
              0);
    CHECK_STR(out, "http://127.0.0.1:3001/health?i=1");
    CHECK_INT(sup__expand_url("http://h/${OTHER}", 1, 1, out, sizeof out), 0);
    CHECK_STR(out, "http://h/${OTHER}");
    CHECK(sup__expand_url("http://a-very-long-host-name.example.com:${PORT}/x/y/z/health", 3000, 0,
                          out, 16) < 0);
}

int main(void)
{
    RUN(good_forms);
    RUN(bad_forms);
    RUN(url_expansion);
    return unit_done();
}
