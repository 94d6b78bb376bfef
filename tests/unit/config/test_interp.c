/* tests/unit/config/test_interp.c: ${VAR} interpolation.
 *
 * The expander alone (forms, escapes, errors with the offset of the bad "${"), then through
 * cfg_load_mem(): values are expanded from opts.environ, keys never are, per-instance names
 * survive for later, and an unknown name is an error at its line:col. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_int.h"
#include "core/buf.h"
#include "core/err.h"
#include "unit.h"

static const char *const env[] = {"HOME=/home/deploy", "EMPTY=", "DB_HOST=db.internal", "N=4",
                                  NULL};

/* Expand `in` with `flags`; returns the result (static) or "ERR@<offset>: <why>". */
static const char *ex(const char *in, int flags)
{
    static char res[400];
    char why[300], *out = NULL;
    size_t off = 0;
    if (cfg__interp(in, strlen(in), flags, cfg__lookup_environ, (void *)env, &out, &off, why,
                    sizeof why) < 0) {
        snprintf(res, sizeof res, "ERR@%zu: %s", off, why);
        return res;
    }
    snprintf(res, sizeof res, "%s", out);
    free(out);
    return res;
}

TEST(forms)
{
    CHECK_STR(ex("plain", 0), "plain");
    CHECK_STR(ex("${HOME}/app", 0), "/home/deploy/app");
    CHECK_STR(ex("a${DB_HOST}b${N}", 0), "adb.internalb4");
    CHECK_STR(ex("${NOPE:-def}", 0), "def");
    CHECK_STR(ex("${NOPE-def}", 0), "def");
    CHECK_STR(ex("${EMPTY:-def}", 0), "def");
    CHECK_STR(ex("[${EMPTY-def}]", 0), "[]");
    CHECK_STR(ex("${NOPE:-}", 0), "");
    CHECK_STR(ex("${NOPE:-a b:c}", 0), "a b:c");
    CHECK_STR(ex("$$", 0), "$");
    CHECK_STR(ex("$${HOME}", 0), "${HOME}");
    CHECK_STR(ex("cost $5 and $HOME", 0), "cost $5 and $HOME");
    CHECK_STR(ex("trailing $", 0), "trailing $");
}

TEST(errors)
{
    CHECK_STR(ex("x ${NOPE} y", 0), "ERR@2: \"${NOPE}\" is not set; set it in the environment "
                                    "or give a default: ${NOPE:-value}");
    CHECK_STR(ex("ab${HOME", 0), "ERR@2: \"${\" is not closed; write ${NAME} (or $$ for a "
                                 "literal $)");
    CHECK_STR(ex("${}", 0), "ERR@0: \"${}\" is not a valid ${NAME}, ${NAME:-default} or "
                            "${NAME-default}");
    CHECK_STR(ex("${A B}", 0), "ERR@0: \"${A B}\" is not a valid ${NAME}, ${NAME:-default} or "
                               "${NAME-default}");
    CHECK_STR(ex("${A:x}", 0), "ERR@0: \"${A:x}\" is not a valid ${NAME}, ${NAME:-default} or "
                               "${NAME-default}");
    CHECK_STR(ex("${1X}", 0), "ERR@0: \"${1X}\" is not a valid ${NAME}, ${NAME:-default} or "
                              "${NAME-default}");
}

TEST(instance_and_lenient)
{
    CHECK_STR(ex("http://h:${PORT}/${TEND_APP}", CFG_INTERP_KEEP_INSTANCE),
              "http://h:${PORT}/${TEND_APP}");
    CHECK_STR(ex("${PORT:-3000} ${HOME}", CFG_INTERP_KEEP_INSTANCE), "${PORT:-3000} /home/deploy");
    CHECK_STR(ex("${PORT}", 0), "ERR@0: \"${PORT}\" is not set; set it in the environment or "
                                "give a default: ${PORT:-value}");
    CHECK_STR(ex("${NOPE} $$ ${N}", CFG_INTERP_LENIENT), "${NOPE} $$ 4");
    CHECK(cfg__is_instance_var("NODE_APP_INSTANCE", 17));
    CHECK(!cfg__is_instance_var("PORTS", 5));
}

TEST(in_tend_yaml)
{
    const char *text = "apps:\n"
                       "  - name: api\n"
                       "    cmd: \"run --home ${HOME} --n $${N}\"\n"
                       "    instances: ${N}\n"
                       "    port: ${API_PORT:-3000}\n"
                       "    env:\n"
                       "      ${NOT_A_KEY}: 1\n"
                       "    ready: \"http://127.0.0.1:${PORT}/health\"\n";
    struct cfg_load_opts o = {.environ = env, .home = "/h"};
    struct cfg *c = NULL;
    struct cfg_diag d;
    CHECK_INT(cfg_load_mem("tend.yaml", text, strlen(text), &o, &c, &d), -TE_CONFIG);
    /* The key is not interpolated, so it is an invalid name; nothing else is wrong. */
    CHECK_INT(d.nerrors, 1);
    CHECK_INT(d.msgs[0].line, 7);
    const char *ok = "apps:\n"
                     "  - name: api\n"
                     "    cmd: \"run --home ${HOME} --n $${N}\"\n"
                     "    instances: ${N}\n"
                     "    port: ${API_PORT:-3000}\n"
                     "    ready: \"http://127.0.0.1:${PORT}/health\"\n";
    CHECK_INT(cfg_load_mem("tend.yaml", ok, strlen(ok), &o, &c, &d), 0);
    if (!c)
        return;
    CHECK_STR(c->apps[0]->cmd, "run --home /home/deploy --n ${N}");
    CHECK_INT(c->apps[0]->instances, 4);
    CHECK_INT(c->apps[0]->port, 3000);
    CHECK_STR(c->apps[0]->ready_url, "http://127.0.0.1:${PORT}/health");
    cfg_unref(c);
}

TEST(unknown_var_position)
{
    const char *text = "apps:\n  - name: api\n    cmd: node x.js --db ${DB_NAME}\n"
                       "    env: {A: \"x${NOPE}\"}\n";
    struct cfg_load_opts o = {.environ = env, .home = "/h"};
    struct cfg *c = NULL;
    struct cfg_diag d;
    CHECK_INT(cfg_load_mem("t.yaml", text, strlen(text), &o, &c, &d), -TE_CONFIG);
    CHECK(c == NULL);
    CHECK_INT(d.nerrors, 2);
    CHECK_INT(d.msgs[0].line, 3);
    CHECK_INT(d.msgs[0].col, 25);
    CHECK_INT(d.msgs[1].line, 4);
    CHECK_INT(d.msgs[1].col, 16);
    CHECK(strstr(d.msgs[1].text, "\"${NOPE}\" is not set"));
}

int main(void)
{
    RUN(forms);
    RUN(errors);
    RUN(instance_and_lenient);
    RUN(in_tend_yaml);
    RUN(unknown_var_position);
    return unit_done();
}
