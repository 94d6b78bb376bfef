/* tests/unit/core/test_rule.c: the alert rule language, as two tables.
 *
 * Good rules: every rule of issue 3 and of the watch schema parses to exactly this AST (subject,
 * argument, field, op, threshold in the base unit, `for`, `in`, state) and formats back to its
 * canonical text. Bad rules: the exact byte offset and message a person will read. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rule.h"
#include "unit.h"

#define S 1000.0
#define MIN (60 * S)
#define HOUR (60 * MIN)

struct good {
    const char *text;
    enum rule_subject subject;
    const char *arg; /* NULL: none */
    enum rule_field field;
    enum rule_op op;
    enum rule_state state;
    double threshold;
    enum rule_unit unit;
    uint64_t for_ms, in_ms;
    const char *subject_text;
    const char *canonical;
};

static const struct good goods[] = {
    {"cpu > 70% for 5m", RULE_CPU, NULL, RULE_FIELD_VALUE, RULE_GT, RULE_STATE_NONE, 70,
     RULE_UNIT_PERCENT, 300000, 0, "cpu", "cpu > 70% for 5m"},
    {"memory > 80% for 5m", RULE_MEMORY, NULL, RULE_FIELD_VALUE, RULE_GT, RULE_STATE_NONE, 80,
     RULE_UNIT_PERCENT, 300000, 0, "memory", "memory > 80% for 5m"},
    {"disk(/data) > 85%", RULE_DISK, "/data", RULE_FIELD_VALUE, RULE_GT, RULE_STATE_NONE, 85,
     RULE_UNIT_PERCENT, 0, 0, "disk(/data)", "disk(/data) > 85%"},
    {"app(api).down for 1m", RULE_APP, "api", RULE_FIELD_VALUE, RULE_IS, RULE_DOWN, 0,
     RULE_UNIT_COUNT, 60000, 0, "app(api)", "app(api).down for 1m"},
    {"app(api).restarts > 5 in 10m", RULE_APP, "api", RULE_FIELD_RESTARTS, RULE_GT, RULE_STATE_NONE,
     5, RULE_UNIT_COUNT, 0, 600000, "app(api).restarts", "app(api).restarts > 5 in 10m"},
    {"app(api).latency.p95 > 500ms for 5m", RULE_APP, "api", RULE_FIELD_LATENCY_P95, RULE_GT,
     RULE_STATE_NONE, 500, RULE_UNIT_MS, 300000, 0, "app(api).latency.p95",
     "app(api).latency.p95 > 500ms for 5m"},
    {"app(api).error_rate > 5% for 5m", RULE_APP, "api", RULE_FIELD_ERROR_RATE, RULE_GT,
     RULE_STATE_NONE, 5, RULE_UNIT_PERCENT, 300000, 0, "app(api).error_rate",
     "app(api).error_rate > 5% for 5m"},
    {"check(postgres).failing for 1m", RULE_CHECK, "postgres", RULE_FIELD_VALUE, RULE_IS,
     RULE_FAILING, 0, RULE_UNIT_COUNT, 60000, 0, "check(postgres)",
     "check(postgres).failing for 1m"},
    {"postgres.connections > 150", RULE_POSTGRES, NULL, RULE_FIELD_CONNECTIONS, RULE_GT,
     RULE_STATE_NONE, 150, RULE_UNIT_COUNT, 0, 0, "postgres.connections",
     "postgres.connections > 150"},
    {"postgres(db).connections > 150", RULE_POSTGRES, "db", RULE_FIELD_CONNECTIONS, RULE_GT,
     RULE_STATE_NONE, 150, RULE_UNIT_COUNT, 0, 0, "postgres(db).connections",
     "postgres(db).connections > 150"},
    {"cert(www).days_left < 14", RULE_CERT, "www", RULE_FIELD_DAYS_LEFT, RULE_LT, RULE_STATE_NONE,
     14, RULE_UNIT_COUNT, 0, 0, "cert(www).days_left", "cert(www).days_left < 14"},
    {"file_age(backups) > 26h", RULE_FILE_AGE, "backups", RULE_FIELD_VALUE, RULE_GT,
     RULE_STATE_NONE, 26 * HOUR, RULE_UNIT_MS, 0, 0, "file_age(backups)",
     "file_age(backups) > 26h"},
    {"backup(db-daily).age > 26h", RULE_BACKUP, "db-daily", RULE_FIELD_AGE, RULE_GT,
     RULE_STATE_NONE, 26 * HOUR, RULE_UNIT_MS, 0, 0, "backup(db-daily).age",
     "backup(db-daily).age > 26h"},
    {"check(db).failing for 1m", RULE_CHECK, "db", RULE_FIELD_VALUE, RULE_IS, RULE_FAILING, 0,
     RULE_UNIT_COUNT, 60000, 0, "check(db)", "check(db).failing for 1m"},
    /* The bare state form of the grammar, spaces and tabs anywhere between tokens. */
    {"  check(db)   failing\tfor 90s ", RULE_CHECK, "db", RULE_FIELD_VALUE, RULE_IS, RULE_FAILING,
     0, RULE_UNIT_COUNT, 90000, 0, "check(db)", "check(db).failing for 90s"},
    {"app(web).errored", RULE_APP, "web", RULE_FIELD_VALUE, RULE_IS, RULE_ERRORED, 0,
     RULE_UNIT_COUNT, 0, 0, "app(web)", "app(web).errored"},
    {"memory>=2G", RULE_MEMORY, NULL, RULE_FIELD_VALUE, RULE_GE, RULE_STATE_NONE,
     2.0 * 1024 * 1024 * 1024, RULE_UNIT_BYTES, 0, 0, "memory", "memory >= 2G"},
    {"load != 0.5", RULE_LOAD, NULL, RULE_FIELD_VALUE, RULE_NE, RULE_STATE_NONE, 0.5,
     RULE_UNIT_COUNT, 0, 0, "load", "load != 0.5"},
    {"app(api).online == 0 for 30s", RULE_APP, "api", RULE_FIELD_ONLINE, RULE_EQ, RULE_STATE_NONE,
     0, RULE_UNIT_COUNT, 30000, 0, "app(api).online", "app(api).online == 0 for 30s"},
    {"app(api).cpu > 250%", RULE_APP, "api", RULE_FIELD_CPU, RULE_GT, RULE_STATE_NONE, 250,
     RULE_UNIT_PERCENT, 0, 0, "app(api).cpu", "app(api).cpu > 250%"},
    {"disk(/data).free <= 1.5G", RULE_DISK, "/data", RULE_FIELD_FREE, RULE_LE, RULE_STATE_NONE,
     1.5 * 1024 * 1024 * 1024, RULE_UNIT_BYTES, 0, 0, "disk(/data).free",
     "disk(/data).free <= 1.5G"},
    {"app(api).restarts > 3 in 1h for 2m", RULE_APP, "api", RULE_FIELD_RESTARTS, RULE_GT,
     RULE_STATE_NONE, 3, RULE_UNIT_COUNT, 120000, 3600000, "app(api).restarts",
     "app(api).restarts > 3 in 1h for 2m"},
    {"redis(cache).memory > 512M", RULE_REDIS, "cache", RULE_FIELD_MEMORY, RULE_GT, RULE_STATE_NONE,
     512.0 * 1024 * 1024, RULE_UNIT_BYTES, 0, 0, "redis(cache).memory",
     "redis(cache).memory > 512M"},
    {"check(api-health).latency > 1.5s", RULE_CHECK, "api-health", RULE_FIELD_LATENCY, RULE_GT,
     RULE_STATE_NONE, 1500, RULE_UNIT_MS, 0, 0, "check(api-health).latency",
     "check(api-health).latency > 1.5s"},
};

TEST(every_example_parses_to_its_ast)
{
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        const struct good *g = &goods[i];
        struct rule *r = NULL;
        struct rule_error e = {0};
        int rc = rule_parse(g->text, &r, &e);
        if (rc != 0) {
            UNIT_FAIL("\"%s\": %d at %zu: %s", g->text, rc, e.offset, e.message);
            continue;
        }
        CHECK_INT(rule_subject(r), g->subject);
        CHECK_STR(rule_arg(r) ? rule_arg(r) : "(none)", g->arg ? g->arg : "(none)");
        CHECK_INT(rule_field(r), g->field);
        CHECK_INT(rule_op(r), g->op);
        CHECK_INT(rule_state(r), g->state);
        if (fabs(rule_threshold(r) - g->threshold) > 1e-6)
            UNIT_FAIL("\"%s\": threshold %f, expected %f", g->text, rule_threshold(r),
                      g->threshold);
        if (g->op != RULE_IS)
            CHECK_INT(rule_unit(r), g->unit);
        CHECK_INT(rule_for_ms(r), g->for_ms);
        CHECK_INT(rule_in_ms(r), g->in_ms);
        CHECK_STR(rule_subject_text(r), g->subject_text);
        char buf[200];
        rule_format(r, buf, sizeof buf);
        CHECK_STR(buf, g->canonical);
        rule_free(r);
    }
}

struct bad {
    const char *text;
    int code;
    size_t offset;
    const char *message;
};

static const struct bad bads[] = {
    {"cpuu > 70%", -TE_PARSE, 0, "unknown metric \"cpuu\" (did you mean \"cpu\"?)"},
    {"ap(api).down", -TE_PARSE, 0, "unknown subject \"ap\" (did you mean \"app\"?)"},
    {"frobnicate > 1", -TE_PARSE, 0,
     "unknown metric \"frobnicate\" (known: cpu, memory, load, disk, app, check, postgres, "
     "redis, cert, file_age, backup)"},
    {"", -TE_PARSE, 0, "empty rule: write a condition such as cpu > 70% for 5m"},
    {"   ", -TE_PARSE, 3, "empty rule: write a condition such as cpu > 70% for 5m"},
    {"> 70%", -TE_PARSE, 0,
     "expected a metric (cpu, memory, load) or a subject such as app(NAME), check(NAME) or "
     "disk(PATH), not \">\""},
    {"app(api).latency.p95 500ms", -TE_PARSE, 21,
     "expected a comparison (>, <, >=, <=, ==, !=) after \"app(api).latency.p95\", not "
     "\"500ms\""},
    {"app(api) restarts > 5", -TE_PARSE, 9,
     "expected a field or a state after \"app(api)\", such as app(api).down or "
     "app(api).restarts"},
    {"app(api) > 5", -TE_PARSE, 9,
     "expected a field or a state after \"app(api)\", such as app(api).down or "
     "app(api).restarts"},
    {"cpu", -TE_PARSE, 3, "expected a comparison (>, <, >=, <=, ==, !=) after \"cpu\""},
    {"cpu 70%", -TE_PARSE, 4,
     "expected a comparison (>, <, >=, <=, ==, !=) after \"cpu\", not \"70%\""},
    {"cpu = 70%", -TE_PARSE, 4, "\"=\" is not a comparison: write \"==\" for equality"},
    {"cpu => 70%", -TE_PARSE, 4, "\"=>\" is not a comparison (did you mean \">=\"?)"},
    {"cpu >> 70%", -TE_PARSE, 4,
     "expected a comparison (>, <, >=, <=, ==, !=) after \"cpu\", not \">>\""},
    {"app(api).latency.p95 > 5%", -TE_INVALID, 23,
     "app(api).latency.p95 is a duration: write it as 500ms, 30s, 5m, 26h or 7d, not \"5%\""},
    {"cpu > 70 for 5m", -TE_INVALID, 6, "cpu is a percentage: write it as 70%, not \"70\""},
    {"cpu > 170%", -TE_INVALID, 6, "a percentage is at most 100%, not \"170%\""},
    {"cert(www).days_left < 14d", -TE_INVALID, 22,
     "cert(www).days_left is a plain number: write it without a unit, as 150, not \"14d\""},
    {"postgres.connections > 150%", -TE_INVALID, 23,
     "postgres.connections is a plain number: write it without a unit, as 150, not \"150%\""},
    {"memory > 80", -TE_INVALID, 9,
     "memory is a percentage or a size: write it as 80% or 2G, not \"80\""},
    {"cpu > high", -TE_PARSE, 6, "expected a number after \">\", not \"high\""},
    {"cpu >", -TE_PARSE, 5, "expected a number after \">\""},
    {"cpu > -5%", -TE_PARSE, 6, "expected a number after \">\", not \"-5%\""},
    {"app(api).latency.p95 > 500 ms", -TE_PARSE, 27,
     "write the unit right after the number: \"500ms\""},
    {"cpu > 70pc", -TE_PARSE, 8, "unknown unit \"pc\" in \"70pc\" (units: % ms s m h d K M G T)"},
    {"cpu > 70% for", -TE_PARSE, 13, "\"for\" needs a duration such as 5m, 30s or 1h"},
    {"cpu > 70% for 5", -TE_PARSE, 14, "\"for\" needs a duration such as 5m, 30s or 1h, not \"5\""},
    {"cpu > 70% for 5M", -TE_PARSE, 14,
     "\"for\" needs a duration such as 5m, 30s or 1h, not \"5M\""},
    {"cpu > 70% for 5min", -TE_PARSE, 15,
     "unknown unit \"min\" in \"5min\" (units: % ms s m h d K M G T)"},
    {"cpu > 70% in 5m", -TE_INVALID, 10,
     "\"in\" applies only to counters such as app(NAME).restarts; use \"for 5m\" to require "
     "the condition for a while"},
    {"app(api).restarts > 5 in 0s", -TE_PARSE, 25, "the window after \"in\" must be longer than 0"},
    {"cpu > 70% for 5m and memory > 80%", -TE_PARSE, 17,
     "unexpected \"and\" after the rule (expected \"for DURATION\" or the end; one condition "
     "per rule)"},
    {"app(api).restarts > 5 junk", -TE_PARSE, 22,
     "unexpected \"junk\" after the rule (expected \"for DURATION\", \"in DURATION\" or the "
     "end; one condition per rule)"},
    {"cpu > 70% for 5m for 1m", -TE_PARSE, 17,
     "unexpected \"for\" after the rule (expected \"for DURATION\" or the end; one condition "
     "per rule)"},
    {"disk > 85%", -TE_PARSE, 4, "disk needs a path: write disk(PATH)"},
    {"app.down", -TE_PARSE, 3, "app needs a name: write app(NAME)"},
    {"cpu(0) > 5%", -TE_PARSE, 3, "cpu takes no argument: write cpu alone"},
    {"app() > 1", -TE_PARSE, 4, "empty name in app(): write app(NAME)"},
    {"app(api", -TE_PARSE, 7, "missing \")\" after app(api"},
    {"app(a b).down", -TE_PARSE, 5, "missing \")\" after app(a"},
    {"app(api).restars > 5", -TE_PARSE, 9,
     "unknown field \"restars\" of app (did you mean \"restarts\"?)"},
    {"app(api).latency > 500ms", -TE_PARSE, 9,
     "app latency needs a percentile: latency.p50, latency.p95, latency.p99 or latency.avg"},
    {"app(api).latency.p96 > 500ms", -TE_PARSE, 9,
     "unknown field \"latency.p96\" of app (did you mean \"latency.p95\"?)"},
    {"check(db).zzzzzzzzzz", -TE_PARSE, 10,
     "unknown field \"zzzzzzzzzz\" of check (known: latency, failing)"},
    {"cpu.user > 5%", -TE_PARSE, 3, "cpu has no fields: compare it directly (cpu > VALUE)"},
    {"app(api).", -TE_PARSE, 9, "expected a field name after \"app(api).\""},
    {"check(db).down", -TE_PARSE, 10, "unknown field \"down\" of check (known: latency, failing)"},
    {"app(api).down > 1", -TE_PARSE, 14,
     "unexpected \">\" after the rule (expected \"for DURATION\" or the end; one condition per "
     "rule)"},
    {"cpu > 9999999999999999%", -TE_PARSE, 6, "number too large: \"9999999999999999%\""},
    {"load > 4 for 333331666699960m", -TE_INVALID, 13,
     "\"for 333331666699960m\" is longer than 10 years (3650d)"},
};

TEST(bad_rules_point_at_the_mistake)
{
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        const struct bad *b = &bads[i];
        struct rule *r = (struct rule *)&r; /* must be reset to NULL */
        struct rule_error e = {0};
        int rc = rule_parse(b->text, &r, &e);
        if (rc != b->code)
            UNIT_FAIL("\"%s\": rc %d, expected %d (%s)", b->text, rc, b->code, e.message);
        if (e.offset != b->offset)
            UNIT_FAIL("\"%s\": offset %zu, expected %zu (%s)", b->text, e.offset, b->offset,
                      e.message);
        CHECK_STR(e.message, b->message);
        CHECK(r == NULL);
        rule_free(r == (struct rule *)&r ? NULL : r);
    }
}

TEST(error_pointer_may_be_null_and_long_text_is_refused)
{
    struct rule *r = NULL;
    CHECK_INT(rule_parse("cpuu > 1%", &r, NULL), -TE_PARSE);
    CHECK(r == NULL);
    char *big = malloc(2000);
    memset(big, ' ', 1999);
    big[1999] = '\0';
    memcpy(big, "cpu > 70%", 9);
    struct rule_error e;
    CHECK_INT(rule_parse(big, &r, &e), -TE_TOOBIG);
    CHECK_INT(e.offset, 1024);
    free(big);
}

TEST(compare_follows_the_operator)
{
    struct rule *r = NULL;
    CHECK_INT(rule_parse("cpu > 70%", &r, NULL), 0);
    CHECK(!rule_compare(r, 70));
    CHECK(rule_compare(r, 70.1));
    rule_free(r);
    CHECK_INT(rule_parse("cert(www).days_left <= 14", &r, NULL), 0);
    CHECK(rule_compare(r, 14));
    CHECK(!rule_compare(r, 15));
    rule_free(r);
    CHECK_INT(rule_parse("app(api).online != 2", &r, NULL), 0);
    CHECK(rule_compare(r, 1));
    CHECK(!rule_compare(r, 2));
    rule_free(r);
}

TEST(values_format_in_the_rules_unit)
{
    static const struct {
        const char *rule;
        double value;
        const char *want;
    } rows[] = {
        {"cpu > 70%", 83.04, "83%"},
        {"cpu > 70%", 83.25, "83.3%"},
        {"app(api).latency.p95 > 500ms", 812, "812ms"},
        {"app(api).latency.p95 > 500ms", 1500, "1.5s"},
        {"file_age(b) > 26h", 27 * HOUR, "1.1d"},
        {"file_age(b) > 26h", 90 * MIN, "1.5h"},
        {"memory > 2G", 3.0 * 1024 * 1024 * 1024, "3G"},
        {"memory > 2G", 100, "100B"},
        {"postgres.connections > 150", 151, "151"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct rule *r = NULL;
        CHECK_INT(rule_parse(rows[i].rule, &r, NULL), 0);
        char buf[32];
        rule_format_value(r, rows[i].value, buf, sizeof buf);
        CHECK_STR(buf, rows[i].want);
        rule_free(r);
    }
}

TEST(names_tables_are_complete)
{
    for (int s = 0; s < RULE_NSUBJECTS; s++)
        CHECK(rule_subject_name((enum rule_subject)s)[0] != '?');
    for (int f = 1; f < RULE_NFIELDS; f++)
        CHECK(rule_field_name((enum rule_field)f)[0] &&
              rule_field_name((enum rule_field)f)[0] != '?');
    CHECK_STR(rule_op_name(RULE_GE), ">=");
    CHECK_STR(rule_state_name(RULE_FAILING), "failing");
    CHECK_STR(rule_unit_name(RULE_UNIT_MS), "ms");
}

/* Every prefix of every good rule either parses or fails with an offset inside the prefix:
 * the parser never reads past the NUL (ASan checks the reads) and never crashes. */
TEST(every_prefix_is_handled)
{
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        size_t n = strlen(goods[i].text);
        for (size_t k = 0; k <= n; k++) {
            char *t = malloc(k + 1);
            memcpy(t, goods[i].text, k);
            t[k] = '\0';
            struct rule *r = NULL;
            struct rule_error e = {0};
            int rc = rule_parse(t, &r, &e);
            if (rc < 0 && (e.offset > k || !e.message[0]))
                UNIT_FAIL("\"%s\": offset %zu past %zu or no message", t, e.offset, k);
            rule_free(r);
            free(t);
        }
    }
}

int main(void)
{
    RUN(every_example_parses_to_its_ast);
    RUN(bad_rules_point_at_the_mistake);
    RUN(error_pointer_may_be_null_and_long_text_is_refused);
    RUN(compare_follows_the_operator);
    RUN(values_format_in_the_rules_unit);
    RUN(names_tables_are_complete);
    RUN(every_prefix_is_handled);
    return unit_done();
}
