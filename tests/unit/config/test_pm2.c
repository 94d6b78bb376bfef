/* tests/unit/config/test_pm2.c: PM2 ecosystem import (src/config/pm2*.c).
 *
 * Golden files in tests/data/pm2/: <file>.expected is the tend.yaml text we must write (with
 * @DIR@ standing for the data folder's absolute path), <file>.diag the messages. On a mismatch
 * the actual text is written to build/pm2-<file>.actual for diffing. Node-dependent cases run
 * only when node is in PATH (and say so when skipped); the lenient no-node path is forced with
 * pm2_opts.no_node so it is tested on every machine. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/pm2_int.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

#define DATA "tests/data/pm2/"

static bool have_node(void)
{
    const char *path = getenv("PATH");
    char tmp[PATH_MAX];
    for (const char *p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(tmp, sizeof tmp, "%.*s/node", (int)n, p);
        if (access(tmp, X_OK) == 0)
            return true;
        p += n + (p[n] == ':');
    }
    return false;
}

/* Read a golden file, with @DIR@ replaced by the absolute data folder. */
static char *golden(const char *name)
{
    struct buf raw = {0}, out = {0};
    char path[PATH_MAX], dir[PATH_MAX];
    snprintf(path, sizeof path, DATA "%s", name);
    if (read_file(path, 1 << 20, &raw) < 0 || !realpath(DATA, dir))
        return NULL;
    for (const char *p = raw.ptr; *p;) {
        const char *at = strstr(p, "@DIR@");
        if (!at) {
            buf_puts(&out, p);
            break;
        }
        buf_append(&out, p, (size_t)(at - p));
        buf_puts(&out, dir);
        p = at + 5;
    }
    buf_fini(&raw);
    return buf_take(&out);
}

static void check_golden(const char *actual, const char *name)
{
    char *want = golden(name);
    if (!want || strcmp(actual, want) != 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "build/pm2-%s.actual", name);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs(actual, f);
            fclose(f);
        }
        UNIT_FAIL("output differs from " DATA "%s (actual in %s)", name, path);
    }
    free(want);
}

struct run {
    int rc;
    struct buf yaml, msgs;
    struct cfg_diag diag;
};

static void convert(struct run *r, const char *file, const struct pm2_opts *o)
{
    char path[PATH_MAX];
    static const struct pm2_opts none = {0};
    snprintf(path, sizeof path, DATA "%s", file);
    memset(r, 0, sizeof *r);
    r->rc = cfg__pm2_convert(path, o ? o : &none, &r->yaml, &r->diag);
    cfg_diag_format(&r->diag, &r->msgs);
    buf_puts(&r->yaml, "");
    buf_puts(&r->msgs, "");
}

static void run_fini(struct run *r)
{
    buf_fini(&r->yaml);
    buf_fini(&r->msgs);
}

/* The converted text must load with tend's own loader. */
static struct cfg *load_back(const struct run *r)
{
    struct cfg *c = NULL;
    struct cfg_diag d = {0};
    struct buf msgs = {0};
    char dir[PATH_MAX];
    struct cfg_load_opts opts = {.home = "/tmp/tend-test-pm2", .base_dir = realpath(DATA, dir)};
    int rc = cfg_load_mem("converted.yaml", r->yaml.ptr, r->yaml.len, &opts, &c, &d);
    if (rc < 0) {
        cfg_diag_format(&d, &msgs);
        UNIT_FAIL("converted YAML does not load: %s", msgs.ptr ? msgs.ptr : "?");
        buf_fini(&msgs);
    }
    return c;
}

TEST(detects_ecosystem_files)
{
    CHECK(cfg_is_pm2_file("ecosystem.config.js", NULL));
    CHECK(cfg_is_pm2_file("/srv/app/pm2.config.cjs", NULL));
    CHECK(cfg_is_pm2_file("ecosystem.json", NULL));
    CHECK(cfg_is_pm2_file("apps.json", "{ \"apps\": [] }"));
    CHECK(cfg_is_pm2_file("list.json", "// x\n[ {\"script\": \"a.js\"} ]"));
    CHECK(!cfg_is_pm2_file("package.json", "{ \"name\": \"x\" }"));
    CHECK(cfg_is_pm2_file("pm2.yml", "apps:\n  - name: a\n    script: a.js\n"));
    CHECK(!cfg_is_pm2_file("tend.yaml", "apps:\n  - name: a\n    cmd: node a.js\n"));
    CHECK(!cfg_is_pm2_file("tend.yaml", "apps:\n  - name: a\n    argv: [node, a.js]\n"));
    CHECK(!cfg_is_pm2_file("tend.yaml", NULL));
    CHECK(!cfg_is_pm2_file("notes.txt", "apps script"));
}

TEST(seed_003_config_js_through_node)
{
    struct run r;
    if (!have_node()) {
        printf("note: node is not in PATH; skipping seed_003_config_js_through_node\n");
        return;
    }
    unsetenv("TEND_TEST_PORT");
    convert(&r, "ecosystem.config.js", NULL);
    CHECK_INT(r.rc, 0);
    check_golden(r.yaml.ptr, "ecosystem.config.js.expected");
    check_golden(r.msgs.ptr, "ecosystem.config.js.diag");
    struct cfg *c = load_back(&r);
    if (c) {
        CHECK_INT(c->napps, 2);
        CHECK_STR(c->apps[0]->name, "yunqi-platform");
        CHECK_STR(c->apps[0]->argv[0], "npm");
        CHECK_STR(c->apps[0]->argv[1], "start");
        CHECK_INT(c->apps[0]->max_memory, 1024ULL * 1024 * 1024);
        CHECK_STR(c->apps[0]->log.date_format, "YYYY-MM-DD HH:mm:ss Z");
        CHECK(c->apps[1]->watch != NULL);
        CHECK_STR(c->apps[1]->watch_ignore[4], "public/uploads");
    }
    cfg_unref(c);
    run_fini(&r);
}

/* The same non-strict .json file read by node and by the lenient parser gives the same text. */
TEST(lenient_json_both_paths)
{
    struct run r;
    struct pm2_opts lenient = {.no_node = true};
    unsetenv("TEND_PM2_TEST_PORT");
    unsetenv("TEND_PM2_TEST_DB_URL");
    convert(&r, "ecosystem.json", &lenient);
    CHECK_INT(r.rc, 0);
    check_golden(r.yaml.ptr, "ecosystem.json.expected");
    check_golden(r.msgs.ptr, "ecosystem.json.diag");
    struct cfg *c = load_back(&r);
    if (c) {
        CHECK_INT(c->apps[0]->instances, 2);
        CHECK_INT(c->apps[0]->port, 8080);
        CHECK_INT(c->apps[0]->ready, CFG_READY_PORT);
        CHECK_INT(c->apps[0]->kill_timeout_ms, 3000);
        CHECK_INT(c->apps[0]->restart_delay_ms, 100);
        CHECK(c->apps[0]->backoff);
        CHECK_INT(c->apps[1]->restart, CFG_RESTART_NEVER);
        CHECK_STR(c->apps[0]->env[1].value, "say \"hi\" ${HOME}");
    }
    cfg_unref(c);
    run_fini(&r);
    if (!have_node()) {
        printf("note: node is not in PATH; the node half of lenient_json_both_paths is skipped\n");
        return;
    }
    convert(&r, "ecosystem.json", NULL);
    CHECK_INT(r.rc, 0);
    check_golden(r.yaml.ptr, "ecosystem.json.expected");
    check_golden(r.msgs.ptr, "ecosystem.json.diag");
    run_fini(&r);
}

TEST(process_env_fallback_uses_the_environment)
{
    static const char *const env[] = {"TEND_PM2_TEST_PORT=9100", NULL};
    struct pm2_opts o = {.no_node = true, .env = env};
    struct run r;
    convert(&r, "ecosystem.json", &o);
    CHECK(strstr(r.yaml.ptr, "    port: 9100\n") != NULL);
    CHECK(strstr(r.yaml.ptr, "\"postgres://localhost/app\"") != NULL);
    run_fini(&r);
}

TEST(ignored_attributes_are_named)
{
    static const char *const names[] = {"vizion", "post_update", "source_map_support",
                                        "treekill", "deploy", NULL};
    struct pm2_opts o = {.no_node = true};
    struct run r;
    char want[128];
    convert(&r, "ecosystem.json", &o);
    for (size_t i = 0; names[i]; i++) {
        snprintf(want, sizeof want, "PM2 attribute \"%s\" is not used by tend (ignored)",
                 names[i]);
        CHECK(strstr(r.msgs.ptr, want) != NULL);
    }
    CHECK(strstr(r.msgs.ptr, DATA "ecosystem.json:24:7: warning: app \"api\": PM2 attribute "
                             "\"vizion\"") != NULL);
    CHECK(strstr(r.msgs.ptr, "instance_var \"INSTANCE_ID\"") != NULL);
    CHECK(r.diag.nerrors == 0 && r.diag.nwarnings >= 8);
    run_fini(&r);
}

TEST(bad_json_names_line_and_column)
{
    struct pm2_opts o = {.no_node = true};
    struct run r;
    convert(&r, "bad.json", &o);
    CHECK_INT(r.rc, -TE_CONFIG);
    CHECK_STR(r.msgs.ptr, DATA "bad.json:5:5: expected ',' or ']', found '{'\n");
    run_fini(&r);
    if (have_node()) { /* node gives only the line; the column still comes from our parser */
        convert(&r, "bad.json", NULL);
        CHECK_INT(r.rc, -TE_CONFIG);
        CHECK(strstr(r.msgs.ptr, DATA "bad.json:5:5: expected ',' or ']'") != NULL);
        CHECK(strstr(r.msgs.ptr, "SyntaxError") != NULL);
        run_fini(&r);
    }
}

static int parse(const char *text, json_t **out, struct cfg_diag *d)
{
    static const char *const env[] = {"SET=yes", "EMPTY=", NULL};
    memset(d, 0, sizeof *d);
    return cfg__pm2_json_parse(text, strlen(text), env, out, NULL, d);
}

TEST(lenient_parser_forms)
{
    struct cfg_diag d;
    json_t *j = NULL;
    CHECK_INT(parse("{a: 'x\\'y', \"b\": [1, 2.5, -3,], c: process.env.UNSET, "
                    "d: process.env.EMPTY || 'dflt', e: process.env['SET'] ?? 'no', "
                    "f: 'p' + 1 + process.env.SET, g: /* c */ true, h: `t`, i: 0x1f, "
                    "k: (process.env.UNSET || 7), l: '\\u00e9\\x41',}", &j, &d), 0);
    CHECK_STR(json_string_value(json_object_get(j, "a")), "x'y");
    CHECK_INT(json_array_size(json_object_get(j, "b")), 3);
    CHECK(json_object_get(j, "c") == NULL); /* undefined drops the key, as JSON.stringify does */
    CHECK_STR(json_string_value(json_object_get(j, "d")), "dflt");
    CHECK_STR(json_string_value(json_object_get(j, "e")), "yes");
    CHECK_STR(json_string_value(json_object_get(j, "f")), "p1yes");
    CHECK(json_is_true(json_object_get(j, "g")));
    CHECK_STR(json_string_value(json_object_get(j, "h")), "t");
    CHECK_INT(json_integer_value(json_object_get(j, "i")), 31);
    CHECK_INT(json_integer_value(json_object_get(j, "k")), 7);
    CHECK_STR(json_string_value(json_object_get(j, "l")), "\xc3\xa9" "A");
    json_decref(j);
}

TEST(lenient_parser_errors)
{
    static const struct {
        const char *text, *msg;
        int line, col;
    } cases[] = {
        {"{a: 1 /* open", "comment opened here is never closed (missing \"*/\")", 1, 7},
        {"{a: parseInt('3')}", "\"parseInt\" cannot be evaluated without node", 1, 5},
        {"{a: `x${y}`}", "template strings with ${...} need node to evaluate", 1, 7},
        {"{a: 'x\n'}", "string opened here is not closed on its line", 1, 5},
        {"{a 1}", "expected ':' after key \"a\", found '1'", 1, 4},
        {"", "the file is empty", 1, 1},
        {"{} x", "unexpected 'x' after the value", 1, 4},
        {"{a: process.argv}", "only process.env.NAME is understood without node", 1, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cfg_diag d;
        json_t *j = NULL;
        CHECK_INT(parse(cases[i].text, &j, &d), -TE_PARSE);
        CHECK(j == NULL);
        if (!str_starts(d.msgs[0].text, cases[i].msg))
            UNIT_FAIL("case %zu: \"%s\"", i, d.msgs[0].text);
        CHECK_INT(d.msgs[0].line, cases[i].line);
        CHECK_INT(d.msgs[0].col, cases[i].col);
    }
    char deep[400];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    struct cfg_diag d;
    json_t *j = NULL;
    CHECK_INT(parse(deep, &j, &d), -TE_PARSE);
    CHECK(strstr(d.msgs[0].text, "nesting deeper") != NULL);
}

TEST(yaml_ecosystem)
{
    struct run r;
    convert(&r, "ecosystem.yaml", NULL);
    CHECK_INT(r.rc, 0);
    check_golden(r.yaml.ptr, "ecosystem.yaml.expected");
    check_golden(r.msgs.ptr, "ecosystem.yaml.diag");
    struct cfg *c = load_back(&r);
    if (c) {
        CHECK_STR(c->apps[1]->name, "worker");
        CHECK_STR(c->apps[1]->argv[0], "bash");
        CHECK(c->apps[0]->log.json);
    }
    cfg_unref(c);
    run_fini(&r);
}

TEST(node_missing_says_what_to_do)
{
    char *old = str_dup(getenv("PATH"));
    char dir[] = "/tmp/tend-test-pm2-XXXXXX";
    struct run r;
    CHECK(mkdtemp(dir) != NULL);
    setenv("PATH", dir, 1);
    convert(&r, "ecosystem.config.js", NULL);
    setenv("PATH", old ? old : "/usr/bin:/bin", 1);
    rmdir(dir);
    free(old);
    CHECK_INT(r.rc, -TE_CONFIG);
    CHECK_STR(r.msgs.ptr, DATA "ecosystem.config.js: cannot evaluate a JavaScript ecosystem "
                          "file: \"node\" was not found in PATH; install Node.js (e.g. apt "
                          "install nodejs) or convert the file to JSON (ecosystem.json), which "
                          "tend reads without node\n");
    run_fini(&r);
}

TEST(node_failures_are_reported)
{
    struct pm2_opts quick = {.node_timeout_ms = 700};
    struct run r;
    if (!have_node()) {
        printf("note: node is not in PATH; skipping node_failures_are_reported\n");
        return;
    }
    convert(&r, "syntax.config.js", NULL);
    CHECK_INT(r.rc, -TE_CONFIG);
    CHECK(strstr(r.msgs.ptr, "node could not evaluate the file (exit code 1):") != NULL);
    CHECK(strstr(r.msgs.ptr, "syntax.config.js:4") != NULL);
    CHECK(strstr(r.msgs.ptr, "SyntaxError") != NULL);
    run_fini(&r);
    convert(&r, "hang.config.js", &quick);
    CHECK_INT(r.rc, -TE_CONFIG);
    CHECK(strstr(r.msgs.ptr, "did not finish evaluating the file within 700 ms") != NULL);
    run_fini(&r);
    convert(&r, "noisy.config.js", NULL); /* console.log must not corrupt the JSON */
    CHECK_INT(r.rc, 0);
    CHECK(strstr(r.yaml.ptr, "argv: [\"node\", \"server.js\", \"--port\", \"4000\"]") != NULL);
    run_fini(&r);
}

TEST(shell_args_become_cmd)
{
    json_t *app = json_pack("{s:s, s:s, s:s}", "script", "bin/run", "interpreter", "none",
                            "args", "--x 'a b' > out.log");
    struct pm2_cmd c;
    const char *bad = NULL;
    CHECK_INT(cfg__pm2_command(app, ".", &c, &bad), 0);
    CHECK_STR(c.shell, "bin/run --x 'a b' > out.log");
    cfg__pm2_cmd_fini(&c);
    json_object_set_new(app, "args", json_string("--name \"my app\" -v"));
    CHECK_INT(cfg__pm2_command(app, ".", &c, &bad), 0);
    CHECK(c.shell == NULL);
    CHECK_INT(c.argc, 4);
    CHECK_STR(c.argv[2], "my app");
    cfg__pm2_cmd_fini(&c);
    json_object_set_new(app, "interpreter", json_string("python3"));
    json_object_set_new(app, "args", json_pack("[s, i]", "--workers", 4));
    CHECK_INT(cfg__pm2_command(app, ".", &c, &bad), 0);
    CHECK_STR(c.argv[0], "python3");
    CHECK_STR(c.argv[3], "4");
    cfg__pm2_cmd_fini(&c);
    json_object_set_new(app, "args", json_integer(3));
    CHECK_INT(cfg__pm2_command(app, ".", &c, &bad), -1);
    CHECK_STR(bad, "args");
    json_decref(app);
}

int main(void)
{
    RUN(detects_ecosystem_files);
    RUN(seed_003_config_js_through_node);
    RUN(lenient_json_both_paths);
    RUN(process_env_fallback_uses_the_environment);
    RUN(ignored_attributes_are_named);
    RUN(bad_json_names_line_and_column);
    RUN(lenient_parser_forms);
    RUN(lenient_parser_errors);
    RUN(yaml_ecosystem);
    RUN(node_missing_says_what_to_do);
    RUN(node_failures_are_reported);
    RUN(shell_args_become_cmd);
    return unit_done();
}
