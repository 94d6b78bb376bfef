/* tests/unit/config/test_check.c: the messages users see, as golden files.
 *
 * For every tests/data/config/NAME.yaml, load it (from inside that folder, so messages start
 * with "NAME.yaml:") with a fixed environment and compare cfg_diag_format()'s output with
 * NAME.expected byte for byte. Set TEND_UPDATE_GOLDEN=1 to rewrite the .expected files, then
 * read the diff before committing. A few cases are also checked field by field here, so the
 * test fails if the golden set were emptied. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

#define DATA "tests/data/config"

static const char *const test_env[] = {"HOME=/home/deploy", "DB_HOST=db.internal", "DB_USER=app",
                                       NULL};
static const struct cfg_load_opts opts = {.home = "/var/lib/tend", .environ = test_env};

static int names_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .yaml files of the data folder, sorted. */
static size_t list_cases(char **names, size_t max)
{
    DIR *d = opendir(".");
    struct dirent *e;
    size_t n = 0;
    while (d && (e = readdir(d)) && n < max)
        if (str_ends(e->d_name, ".yaml"))
            names[n++] = str_dup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, n, sizeof *names, names_cmp);
    return n;
}

static void run_case(const char *name, bool update)
{
    struct cfg *c = NULL;
    struct cfg_diag diag;
    struct buf got, want, path;
    buf_init(&got, 0);
    buf_init(&want, 0);
    buf_init(&path, 0);
    int rc = cfg_load(name, &opts, &c, &diag);
    cfg_diag_format(&diag, &got);
    /* A loaded config must have no errors; a refused one must say why. */
    CHECK(rc == 0 ? c != NULL && diag.nerrors == 0 : c == NULL && diag.nerrors > 0);
    buf_printf(&path, "%.*s.expected", (int)(strlen(name) - 5), name);
    if (update) {
        FILE *f = fopen(path.ptr, "w");
        CHECK(f != NULL);
        if (f) {
            fwrite(got.ptr ? got.ptr : "", 1, got.len, f);
            fclose(f);
        }
    } else if (read_file(path.ptr, 1 << 20, &want) < 0) {
        UNIT_FAIL("%s: missing %s", name, path.ptr);
    } else if (!str_eq(got.ptr ? got.ptr : "", want.ptr ? want.ptr : "")) {
        UNIT_FAIL("%s: output differs\n--- got\n%s--- expected\n%s", name, got.ptr ? got.ptr : "",
                  want.ptr ? want.ptr : "");
    }
    cfg_unref(c);
    buf_fini(&got);
    buf_fini(&want);
    buf_fini(&path);
}

TEST(golden_files)
{
    char *names[200];
    bool update = getenv("TEND_UPDATE_GOLDEN") != NULL;
    size_t n = list_cases(names, 200);
    CHECK(n >= 11);
    for (size_t i = 0; i < n; i++) {
        run_case(names[i], update);
        free(names[i]);
    }
}

/* The brief's own examples, checked by content as well as by golden file. */
TEST(unknown_key_message)
{
    struct cfg *c;
    struct cfg_diag d;
    CHECK_INT(cfg_load("unknown_key.yaml", &opts, &c, &d), -TE_CONFIG);
    CHECK(c == NULL);
    CHECK_INT(d.nerrors, 1);
    CHECK_INT(d.msgs[0].line, 5);
    CHECK_INT(d.msgs[0].col, 5);
    CHECK_STR(d.msgs[0].text,
              "unknown key \"instnaces\" in app \"web\" (did you mean \"instances\"?)");
    CHECK_STR(d.file, "unknown_key.yaml");
}

TEST(several_errors_all_reported)
{
    struct cfg *c;
    struct cfg_diag d;
    CHECK_INT(cfg_load("several_errors.yaml", &opts, &c, &d), -TE_CONFIG);
    CHECK(d.nerrors >= 5);
    CHECK(!d.truncated);
    for (int i = 1; i < d.nmsgs; i++)
        CHECK(d.msgs[i].line >= d.msgs[i - 1].line);
}

TEST(truncated_at_twenty)
{
    struct cfg *c;
    struct cfg_diag d;
    CHECK_INT(cfg_load("too_many.yaml", &opts, &c, &d), -TE_CONFIG);
    CHECK_INT(d.nmsgs, CFG_MAX_MSGS);
    CHECK_INT(d.nerrors, 25);
    CHECK(d.truncated);
}

TEST(missing_file)
{
    struct cfg *c;
    struct cfg_diag d;
    CHECK_INT(cfg_load("no_such_file.yaml", &opts, &c, &d), -ENOENT);
    CHECK(c == NULL);
    CHECK_INT(d.nerrors, 1);
    CHECK(strstr(d.msgs[0].text, "cannot read no_such_file.yaml") != NULL);
}

int main(void)
{
    if (chdir(DATA) < 0) {
        perror("chdir " DATA " (run from the repository root)");
        return 1;
    }
    RUN(golden_files);
    RUN(unknown_key_message);
    RUN(several_errors_all_reported);
    RUN(truncated_at_twenty);
    RUN(missing_file);
    return unit_done();
}
