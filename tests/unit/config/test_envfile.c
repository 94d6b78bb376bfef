/* tests/unit/config/test_envfile.c: the dotenv dialect of env_file.
 *
 * KEY=value with export, comments, blank lines, both quotes (single literal, double with
 * escapes), multi-line values, ${VAR} from earlier keys and the environment, per-instance
 * names kept for later, and every bad line reported with its line:col. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_int.h"
#include "core/buf.h"
#include "core/err.h"
#include "unit.h"

static const char *const env[] = {"HOME=/home/deploy", "EMPTY=", NULL};

static struct cfg_kv *parse(const char *text, size_t *n, struct cfg_diag *d)
{
    struct cfg_kv *kv = NULL;
    int rc = cfg__envfile_parse_env(".env", text, strlen(text), env, &kv, n, d);
    if (rc != 0 && d->nerrors == 0)
        UNIT_FAIL("rc %d without a message", rc);
    return kv;
}

static const char *get(const struct cfg_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].value;
    return NULL;
}

TEST(basic_forms)
{
    struct cfg_diag d;
    size_t n = 0;
    struct cfg_kv *kv = parse("# a comment\n"
                              "\n"
                              "A=1\n"
                              "export B=two words  \n"
                              "  C = spaced # trailing comment\n"
                              "D=\n"
                              "E=has#hash\n"
                              "F='single ${HOME} \\n kept'\n"
                              "G=\"double\\tescaped\\n\\\"q\\\" \\\\ \\$HOME\"\n"
                              "H=\"line one\n"
                              "line two\"\n"
                              "I=${HOME}/app\n"
                              "J=\"${A}-${B}\" # comment after quotes\n"
                              "K=${MISSING:-fallback}\n"
                              "L=${EMPTY:-was empty} ${EMPTY-kept empty}.\n"
                              "M=$$literal and $HOME stays\n"
                              "A=overridden\r\n"
                              "N=crlf\r\n",
                              &n, &d);
    CHECK_INT(d.nerrors, 0);
    CHECK_INT(n, 14);
    CHECK_STR(get(kv, n, "A"), "overridden");
    CHECK_STR(kv[0].key, "A"); /* a repeated key keeps its first place */
    CHECK_STR(get(kv, n, "B"), "two words");
    CHECK_STR(get(kv, n, "C"), "spaced");
    CHECK_STR(get(kv, n, "D"), "");
    CHECK_STR(get(kv, n, "E"), "has#hash");
    CHECK_STR(get(kv, n, "F"), "single ${HOME} \\n kept");
    CHECK_STR(get(kv, n, "G"), "double\tescaped\n\"q\" \\ $HOME");
    CHECK_STR(get(kv, n, "H"), "line one\nline two");
    CHECK_STR(get(kv, n, "I"), "/home/deploy/app");
    CHECK_STR(get(kv, n, "J"), "1-two words");
    CHECK_STR(get(kv, n, "K"), "fallback");
    CHECK_STR(get(kv, n, "L"), "was empty .");
    CHECK_STR(get(kv, n, "M"), "$literal and $HOME stays");
    CHECK_STR(get(kv, n, "N"), "crlf");
    cfg_kv_free(kv, n);
}

TEST(instance_names_kept)
{
    struct cfg_diag d;
    size_t n = 0;
    struct cfg_kv *kv = parse("URL=http://127.0.0.1:${PORT}/\nI=${TEND_INSTANCE:-0}\n", &n, &d);
    CHECK_INT(d.nerrors, 0);
    CHECK_STR(get(kv, n, "URL"), "http://127.0.0.1:${PORT}/");
    CHECK_STR(get(kv, n, "I"), "${TEND_INSTANCE:-0}");
    cfg_kv_free(kv, n);
}

TEST(bom_and_empty)
{
    struct cfg_diag d;
    size_t n = 9;
    struct cfg_kv *kv = parse("\xEF\xBB\xBFX=1\n", &n, &d);
    CHECK_INT(n, 1);
    CHECK_STR(get(kv, n, "X"), "1");
    cfg_kv_free(kv, n);
    kv = parse("", &n, &d);
    CHECK_INT(n, 0);
    CHECK_INT(d.nerrors, 0);
    cfg_kv_free(kv, n);
}

TEST(errors_with_positions)
{
    struct cfg_diag d;
    size_t n = 5;
    struct cfg_kv *kv = parse("GOOD=1\n"
                              "just words\n"
                              "1BAD=x\n"
                              "  DB_URL=postgres://${DB_HOST}/app\n"
                              "Q=\"unterminated\n"
                              "\n",
                              &n, &d);
    CHECK(kv == NULL);
    CHECK_INT(n, 0);
    CHECK_STR(d.file, ".env");
    struct buf b;
    buf_init(&b, 0);
    cfg_diag_format(&d, &b);
    CHECK_STR(b.ptr, ".env:2:1: expected NAME=value, not \"just words\"\n"
                     ".env:3:1: \"1BAD\" is not a valid variable name (letters, digits and _, "
                     "not starting with a digit)\n"
                     ".env:4:21: \"${DB_HOST}\" is not set; set it in the environment or give a "
                     "default: ${DB_HOST:-value}\n"
                     ".env:5:3: the quote that starts Q's value is never closed\n");
    buf_fini(&b);
    kv = parse("A='x' junk\nB=\"${\"\n", &n, &d);
    CHECK(kv == NULL);
    CHECK_INT(d.nerrors, 2);
    CHECK_INT(d.msgs[0].line, 1);
    CHECK_INT(d.msgs[0].col, 7);
    CHECK(strstr(d.msgs[0].text, "unexpected text after the closing quote of A"));
    CHECK_INT(d.msgs[1].line, 2);
    CHECK_INT(d.msgs[1].col, 4);
    CHECK(strstr(d.msgs[1].text, "is not closed"));
}

TEST(public_entry_uses_process_environ)
{
    struct cfg_diag d;
    struct cfg_kv *kv = NULL;
    size_t n = 0;
    setenv("TEND_TEST_ENVFILE_VAR", "from-process", 1);
    CHECK_INT(cfg_envfile_parse("x.env", "V=${TEND_TEST_ENVFILE_VAR}\n", 27, &kv, &n, &d), 0);
    CHECK_STR(n ? kv[0].value : NULL, "from-process");
    cfg_kv_free(kv, n);
    cfg_kv_free(NULL, 0);
}

int main(void)
{
    RUN(basic_forms);
    RUN(instance_names_kept);
    RUN(bom_and_empty);
    RUN(errors_with_positions);
    RUN(public_entry_uses_process_environ);
    return unit_done();
}
