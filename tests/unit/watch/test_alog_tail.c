/* tests/unit/watch/test_alog_tail.c: following a real file in a temp folder with a uv loop.
 *
 * Each case writes to the file as nginx and logrotate would (append with O_APPEND, rename and
 * create, copytruncate, delete and create) and then calls alog_poll(), which is what the timer
 * does, so nothing waits on time; the last case runs the loop itself to show the timer reads
 * on its own. Figures are read back through alog_json(). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/tlog.h"
#include "unit.h"
#include "watch/alog.h"

#define LINE "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"\n"

static char dir[64], path[128];
static uv_loop_t loop;

/* Append with O_APPEND, as nginx writes; returns the fd kept open when keep != NULL. */
static void append(const char *file, const char *text, int *keep)
{
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        UNIT_FAIL("cannot append to %s", file);
    if (keep)
        *keep = fd;
    else if (fd >= 0)
        close(fd);
}

static void append_lines(const char *file, int n)
{
    for (int i = 0; i < n; i++)
        append(file, LINE, NULL);
}

static struct alog *start(void)
{
    static const struct alog_route route = {.app = "web", .location = "/"};
    struct alog_config cfg = {.path = path, .routes = &route, .nroutes = 1, .poll_ms = 10};
    struct alog *a = NULL;
    struct err err = {0};
    if (alog_new(&loop, &cfg, &a, &err) < 0 || alog_start(a) < 0) {
        UNIT_FAIL("cannot start: %s", err.msg);
        return NULL;
    }
    return a;
}

static long long figure(struct alog *a, const char *key)
{
    json_t *j = alog_json(a);
    long long v = json_integer_value(json_object_get(j, key));
    json_decref(j);
    return v;
}

static void stop(struct alog *a)
{
    alog_free(a);
    uv_run(&loop, UV_RUN_DEFAULT); /* the close callback frees it */
    unlink(path);
}

TEST(starts_at_end_then_appends)
{
    append_lines(path, 3);
    struct alog *a = start();
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 0); /* what was there before start is not counted */
    append_lines(path, 2);
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 2);
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 2);
    stop(a);
}

TEST(partial_line_waits)
{
    append(path, "", NULL);
    struct alog *a = start();
    append(path, "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET /a HT", NULL);
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 0);
    append(path, "TP/1.1\" 200 5 \"-\" \"ua\"\n", NULL);
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 1);
    CHECK_INT(figure(a, "malformed"), 0);
    stop(a);
}

TEST(rename_rotation)
{
    /* logrotate renames access.log to access.log.1; nginx keeps writing to the old file until
     * USR1 makes it open a new access.log. Lines on both sides of the switch count once. */
    char old[160];
    int fd;
    snprintf(old, sizeof old, "%s.1", path);
    append(path, "", &fd);
    struct alog *a = start();
    CHECK(write(fd, LINE, strlen(LINE)) > 0);
    CHECK(rename(path, old) == 0);
    CHECK(write(fd, LINE, strlen(LINE)) > 0); /* after the rename, before USR1 */
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 2); /* no new file yet: still the old one */
    CHECK_INT(figure(a, "rotations"), 0);
    CHECK(write(fd, LINE, strlen(LINE)) > 0);
    close(fd);
    append_lines(path, 4); /* the new file */
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 7);
    CHECK_INT(figure(a, "rotations"), 1);
    append_lines(path, 1);
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 8);
    CHECK_INT(figure(a, "malformed"), 0);
    unlink(old);
    stop(a);
}

TEST(copytruncate)
{
    append_lines(path, 5);
    struct alog *a = start();
    append_lines(path, 3);
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 3);
    /* copytruncate: the file is cut to 0 and nginx (O_APPEND) goes on at the new end. */
    CHECK(truncate(path, 0) == 0);
    append_lines(path, 2);
    alog_poll(a);
    CHECK_INT(figure(a, "truncations"), 1);
    CHECK_INT(figure(a, "lines"), 5);
    append_lines(path, 1);
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 6);
    CHECK_INT(figure(a, "truncations"), 1);
    stop(a);
}

TEST(missing_file_then_created)
{
    unlink(path);
    struct alog *a = start();
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 0);
    append_lines(path, 2); /* a new file is read from its start */
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 2);
    /* Deleted and created again (another inode): the new one from its start too. */
    unlink(path);
    append_lines(path, 3);
    alog_poll(a);
    CHECK_INT(figure(a, "lines"), 5);
    CHECK_INT(figure(a, "rotations"), 1);
    stop(a);
}

TEST(backlog_is_read_in_bounded_turns)
{
    /* 3 MiB waiting: one turn reads at most 1 MiB and says more is waiting. */
    append(path, "", NULL);
    struct alog *a = start();
    size_t n = 3 * 1024 * 1024 / strlen(LINE) + 1;
    size_t size = n * strlen(LINE);
    char *big = malloc(size + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(big + i * strlen(LINE), LINE, strlen(LINE));
    big[size] = 0;
    append(path, big, NULL);
    free(big);
    int turns = 0;
    while (alog_poll(a) == 1 && turns < 100)
        turns++;
    CHECK(turns >= 2 && turns <= 3);
    CHECK_INT(figure(a, "lines"), (long long)n);
    stop(a);
}

TEST(timer_reads_by_itself)
{
    append(path, "", NULL);
    struct alog *a = start();
    append_lines(path, 4);
    /* Run the loop until the timer (every 10 ms) has read the lines; bounded by a deadline. */
    uint64_t deadline = clock_mono_ms() + 5000;
    while (figure(a, "lines") < 4 && clock_mono_ms() < deadline)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_INT(figure(a, "lines"), 4);
    struct alog_window w;
    CHECK_INT(alog_app_window(a, "web", 60000, &w), 0);
    CHECK_INT(w.requests, 4);
    CHECK_INT(w.status[1], 4);
    stop(a);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/tend-alog-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/access.log", dir);
    uv_loop_init(&loop);
    tlog_set_level(TLOG_WARN); /* the rotation notices are info lines */
    RUN(starts_at_end_then_appends);
    RUN(partial_line_waits);
    RUN(rename_rotation);
    RUN(copytruncate);
    RUN(missing_file_then_created);
    RUN(backlog_is_read_in_bounded_turns);
    RUN(timer_reads_by_itself);
    uv_loop_close(&loop);
    rmdir(dir);
    return unit_done();
}
