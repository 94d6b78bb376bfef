/* tests/unit/cli/test_args.c: flags, targets, URL pieces and verb suggestions (cli/args.c, cli.c).
 */
#include "cli/cli_int.h"
#include "core/err.h"
#include "unit.h"

static const struct cli_opt opts[] = {{"lines", 'n', true},  {"follow", 'f', false},
                                      {"json", 0, false},    {"env", 'e', true},
                                      {"dry-run", 0, false}, {NULL, 0, false}};

static int parse(struct cli_args *a, struct err *err, int argc, char **argv)
{
    err_clear(err);
    return cli__args_parse(a, opts, argc, argv, err);
}

TEST(flags_anywhere)
{
    struct cli_args a;
    struct err err = {0};
    char *argv[] = {"api", "-f", "--lines", "50", "extra", "--json"};
    CHECK_INT(parse(&a, &err, 6, argv), 0);
    CHECK_INT(a.npos, 2);
    CHECK_STR(a.pos[0], "api");
    CHECK_STR(a.pos[1], "extra");
    CHECK(cli__flag(&a, "follow"));
    CHECK(cli__flag(&a, "json"));
    CHECK(!cli__flag(&a, "dry-run"));
    CHECK_STR(cli__arg(&a, "lines"), "50");
    CHECK(cli__arg(&a, "env") == NULL);
    CHECK(cli__arg(&a, "nonsense") == NULL);
}

TEST(values_with_equals_and_short)
{
    struct cli_args a;
    struct err err = {0};
    char *argv[] = {"--env=production", "-n", "7", "--dry-run"};
    CHECK_INT(parse(&a, &err, 4, argv), 0);
    CHECK_STR(cli__arg(&a, "env"), "production");
    CHECK_STR(cli__arg(&a, "lines"), "7");
    CHECK(cli__flag(&a, "dry-run"));
    CHECK_INT(a.npos, 0);
}

TEST(double_dash_and_lone_dash_are_words)
{
    struct cli_args a;
    struct err err = {0};
    char *argv[] = {"-", "--", "--json", "-f"};
    CHECK_INT(parse(&a, &err, 4, argv), 0);
    CHECK_INT(a.npos, 3);
    CHECK_STR(a.pos[0], "-");
    CHECK_STR(a.pos[1], "--json");
    CHECK(!cli__flag(&a, "json"));
}

TEST(help_anywhere)
{
    struct cli_args a;
    struct err err = {0};
    char *argv1[] = {"api", "--help"};
    char *argv2[] = {"-h"};
    CHECK_INT(parse(&a, &err, 2, argv1), 1);
    CHECK_INT(parse(&a, &err, 1, argv2), 1);
}

TEST(unknown_flags_suggest)
{
    struct cli_args a;
    struct err err = {0};
    char *argv1[] = {"--jsno"};
    CHECK_INT(parse(&a, &err, 1, argv1), -TE_INVALID);
    CHECK_STR(err.msg, "unknown flag \"--jsno\" (did you mean \"--json\"?)");
    char *argv2[] = {"--folow=1"};
    CHECK_INT(parse(&a, &err, 1, argv2), -TE_INVALID);
    CHECK_STR(err.msg, "unknown flag \"--folow\" (did you mean \"--follow\"?)");
    char *argv3[] = {"--zzzzzzzz"};
    CHECK_INT(parse(&a, &err, 1, argv3), -TE_INVALID);
    CHECK_STR(err.msg, "unknown flag \"--zzzzzzzz\"");
    char *argv4[] = {"-x"};
    CHECK_INT(parse(&a, &err, 1, argv4), -TE_INVALID);
    char *argv5[] = {"-fn"}; /* no bundling: say so rather than guess */
    CHECK_INT(parse(&a, &err, 1, argv5), -TE_INVALID);
}

TEST(value_errors)
{
    struct cli_args a;
    struct err err = {0};
    char *argv1[] = {"--lines"};
    CHECK_INT(parse(&a, &err, 1, argv1), -TE_INVALID);
    CHECK_STR(err.msg, "flag \"--lines\" needs a value");
    char *argv2[] = {"--json=yes"};
    CHECK_INT(parse(&a, &err, 1, argv2), -TE_INVALID);
    CHECK_STR(err.msg, "flag \"--json\" takes no value");
}

TEST(targets)
{
    char app[64];
    int i = 99;
    struct err err = {0};
    CHECK_INT(cli__target_parse("api", app, sizeof app, &i, &err), 0);
    CHECK_STR(app, "api");
    CHECK_INT(i, -1);
    CHECK_INT(cli__target_parse("api:2", app, sizeof app, &i, &err), 0);
    CHECK_STR(app, "api");
    CHECK_INT(i, 2);
    CHECK_INT(cli__target_parse("all", app, sizeof app, &i, &err), 0);
    CHECK_STR(app, "all");
    CHECK_INT(cli__target_parse("my-app_2.v1:0", app, sizeof app, &i, &err), 0);
    CHECK_STR(app, "my-app_2.v1");
    CHECK_INT(i, 0);
}

TEST(bad_targets)
{
    char app[8];
    int i;
    struct err err = {0};
    const char *bad[] = {"",       ":1",  "api:", "api:x", "api:-1",
                         "api:1x", "a/b", "a b",  "all:1", "toolongname"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        err_clear(&err);
        if (cli__target_parse(bad[k], app, sizeof app, &i, &err) != -TE_INVALID)
            UNIT_FAIL("\"%s\" was accepted", bad[k]);
        CHECK(err.msg[0] != '\0');
    }
    cli__target_parse("api:x", app, sizeof app, &i, &err);
    CHECK_STR(err.msg, "\"api:x\" is not an instance: write NAME:N with N a number such as api:0");
}

TEST(url_pieces)
{
    struct buf b = {0};
    cli__url_escape(&b, "api:2");
    CHECK_STR(b.ptr, "api:2");
    buf_reset(&b);
    cli__url_escape(&b, "a b/c&d=é");
    CHECK_STR(b.ptr, "a%20b%2Fc%26d%3D%C3%A9");
    buf_reset(&b);
    buf_puts(&b, "/v1/logs");
    cli__query_add(&b, "app", "api");
    cli__query_add(&b, "instance", NULL);
    cli__query_add(&b, "lines", "15");
    CHECK_STR(b.ptr, "/v1/logs?app=api&lines=15");
    buf_fini(&b);
}

TEST(verbs_and_suggestions)
{
    CHECK(cli__verb_find("status") != NULL);
    CHECK(cli__verb_find("up")->needs_daemon);
    CHECK(!cli__verb_find("version")->needs_daemon);
    CHECK(!cli__verb_find("config")->needs_daemon);
    CHECK(!cli__verb_find("import")->needs_daemon);
    CHECK(!cli__verb_find("help")->needs_daemon);
    CHECK(!cli__verb_find("kill")->needs_daemon);
    CHECK(cli__verb_find("ping")->needs_daemon);
    CHECK(cli__verb_find("sttaus") == NULL);
    CHECK_STR(cli__verb_suggest("sttaus"), "status");
    CHECK_STR(cli__verb_suggest("restrat"), "restart");
    CHECK_STR(cli__verb_suggest("lgos"), "logs");
    CHECK(cli__verb_suggest("frobnicate") == NULL);
}

int main(void)
{
    RUN(flags_anywhere);
    RUN(values_with_equals_and_short);
    RUN(double_dash_and_lone_dash_are_words);
    RUN(help_anywhere);
    RUN(unknown_flags_suggest);
    RUN(value_errors);
    RUN(targets);
    RUN(bad_targets);
    RUN(url_pieces);
    RUN(verbs_and_suggestions);
    return unit_done();
}
