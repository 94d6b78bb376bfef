/* tests/unit/core/test_curlx.c: libcurl loaded at run time: the table works (a version string,
 * a GET of a file:// URL through the easy interface), a second load returns the same table,
 * and a library that cannot be loaded gives a message that says what to install. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/curlx.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    return buf_append(arg, p, size * n) < 0 ? 0 : size * n;
}

TEST(loads_and_reports_a_version)
{
    const struct curlx *cx = NULL;
    struct err err = {0};
    CHECK_INT(curlx_load(&cx, &err), 0);
    CHECK(cx != NULL);
    if (!cx)
        return;
    const char *v = cx->version();
    CHECK(v && strncmp(v, "libcurl/", 8) == 0);
}

TEST(second_load_returns_the_same_table)
{
    const struct curlx *a = NULL, *b = NULL;
    struct err err = {0};
    CHECK_INT(curlx_load(&a, &err), 0);
    CHECK_INT(curlx_load(&b, &err), 0);
    CHECK(a != NULL && a == b);
}

TEST(gets_a_file_url_through_the_table)
{
    const struct curlx *cx = NULL;
    struct err err = {0};
    char path[] = "/tmp/tend-curlx-XXXXXX", url[64];
    const char text[] = "hello from a file\n";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0 || curlx_load(&cx, &err) < 0)
        return;
    CHECK_INT(write(fd, text, sizeof text - 1), (long long)(sizeof text - 1));
    close(fd);
    str_fmt(url, sizeof url, "file://%s", path);
    struct buf got;
    buf_init(&got, 1024);
    CURL *e = cx->easy_init();
    CHECK(e != NULL);
    if (e) {
        cx->easy_setopt(e, CURLOPT_URL, url);
        cx->easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
        cx->easy_setopt(e, CURLOPT_WRITEDATA, &got);
        CURLcode cc = cx->easy_perform(e);
        CHECK_STR(cx->easy_strerror(cc), cx->easy_strerror(CURLE_OK));
        CHECK_INT(got.len, sizeof text - 1);
        CHECK(got.len == sizeof text - 1 && memcmp(got.ptr, text, got.len) == 0);
        /* A missing file is an error, not an empty answer. */
        cx->easy_reset(e);
        cx->easy_setopt(e, CURLOPT_URL, "file:///nonexistent/tend-curlx");
        cx->easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
        cx->easy_setopt(e, CURLOPT_WRITEDATA, &got);
        CHECK_INT(cx->easy_perform(e), CURLE_FILE_COULDNT_READ_FILE);
        cx->easy_cleanup(e);
    }
    buf_fini(&got);
    unlink(path);
}

TEST(missing_library_says_what_to_install)
{
    struct curlx cx;
    struct err err = {0};
    CHECK_INT(curlx__open("libtend-no-such-curl.so.4", &cx, &err), -TE_NOTFOUND);
    CHECK(strncmp(err.msg, "cannot load libtend-no-such-curl.so.4: ", 39) == 0);
    CHECK(strstr(err.hint, "install libcurl4") != NULL);
}

int main(void)
{
    RUN(loads_and_reports_a_version);
    RUN(second_load_returns_the_same_table);
    RUN(gets_a_file_url_through_the_table);
    RUN(missing_library_says_what_to_install);
    return unit_done();
}
