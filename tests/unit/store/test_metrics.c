/* tests/unit/store/test_metrics.c: one-minute roll-ups in tend.db: batch insert, range reads,
 * series listing, pruning by age, and a batch that cannot be written leaves nothing. Times are
 * passed in, so thirty days of retention is a number, not a wait. */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"
#include "store/store.h"
#include "unit.h"

#define MIN_MS 60000LL
#define D (24 * 60 * MIN_MS)
#define T0 (1795435200000LL) /* 2026-11-23 12:00 UTC */

static char dir[] = "/tmp/tend-store-metrics-XXXXXX";
static char path[256];

static struct store *open_fresh(void)
{
    char side[300];
    unlink(path);
    str_fmt(side, sizeof side, "%s-wal", path);
    unlink(side);
    str_fmt(side, sizeof side, "%s-shm", path);
    unlink(side);
    struct store *s = NULL;
    struct err e = {0};
    if (store_open(path, &s, &e) < 0)
        UNIT_FAIL("store_open: %s", e.msg);
    return s;
}

static const char *const CPU = "cpu_percent";
static const char *const API = "app_cpu_percent{app=\"api\",instance=\"0\"}";
static const char *const WEB = "app_cpu_percent{app=\"web\",instance=\"0\"}";

/* `minutes` minutes of cpu, api and web starting at `start`: value = minute index. */
static int insert_minutes(struct store *s, int64_t start, int minutes)
{
    struct store_metric rows[3 * 64];
    size_t n = 0;
    for (int m = 0; m < minutes && n + 3 <= 3 * 64; m++) {
        const char *keys[] = {CPU, API, WEB};
        for (int k = 0; k < 3; k++)
            rows[n++] = (struct store_metric){keys[k], start + m * MIN_MS, m, m + 0.5, m + 1, m};
    }
    return store_metrics_insert(s, rows, n, NULL);
}

TEST(insert_then_range)
{
    struct store *s = open_fresh();
    if (!s)
        return;
    CHECK_INT(insert_minutes(s, T0, 10), 0);
    struct store_metric *rows = NULL;
    size_t n = 0;
    /* [T0 + 2 min, T0 + 5 min): minutes 2, 3, 4, oldest first. */
    CHECK_INT(store_metrics_range(s, API, T0 + 2 * MIN_MS, T0 + 5 * MIN_MS, 0, &rows, &n, NULL), 0);
    CHECK_INT(n, 3);
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(rows[i].minute_ms, T0 + (int64_t)(2 + i) * MIN_MS);
        CHECK(rows[i].min == 2.0 + (double)i && rows[i].avg == 2.5 + (double)i);
        CHECK(rows[i].max == 3.0 + (double)i && rows[i].last == 2.0 + (double)i);
        CHECK_STR(rows[i].series, API);
    }
    free(rows);
    /* limit keeps the oldest; an unknown series is empty, not an error. */
    CHECK_INT(store_metrics_range(s, CPU, T0, T0 + D, 4, &rows, &n, NULL), 0);
    CHECK_INT(n, 4);
    CHECK(n == 4 && rows[3].minute_ms == T0 + 3 * MIN_MS);
    free(rows);
    CHECK_INT(store_metrics_range(s, "nope", T0, T0 + D, 0, &rows, &n, NULL), 0);
    CHECK_INT(n, 0);
    free(rows);
    store_close(s);
}

TEST(same_minute_again_replaces)
{
    struct store *s = open_fresh();
    if (!s)
        return;
    struct store_metric a = {CPU, T0, 1, 2, 3, 4}, b = {CPU, T0, 10, 20, 30, 40};
    struct store_metric nan_row = {CPU, T0 + MIN_MS, NAN, 1, 1, 1};
    CHECK_INT(store_metrics_insert(s, &a, 1, NULL), 0);
    CHECK_INT(store_metrics_insert(s, &b, 1, NULL), 0);
    CHECK_INT(store_metrics_insert(s, &nan_row, 1, NULL), 0); /* skipped, not a NULL row */
    struct store_metric *rows = NULL;
    size_t n = 0;
    CHECK_INT(store_metrics_range(s, CPU, 0, T0 + D, 0, &rows, &n, NULL), 0);
    CHECK_INT(n, 1);
    CHECK(n == 1 && rows[0].avg == 20 && rows[0].last == 40);
    free(rows);
    store_close(s);
}

TEST(series_listing)
{
    struct store *s = open_fresh();
    if (!s)
        return;
    CHECK_INT(insert_minutes(s, T0, 1), 0);
    char **keys = NULL;
    size_t n = 0;
    CHECK_INT(store_metrics_series(s, NULL, &keys, &n, NULL), 0);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(keys[0], API); /* sorted */
        CHECK_STR(keys[1], WEB);
        CHECK_STR(keys[2], CPU);
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    CHECK_INT(store_metrics_series(s, "app=\"web\"", &keys, &n, NULL), 0);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_STR(keys[0], WEB);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    store_close(s);
}

TEST(prune_by_age)
{
    struct store *s = open_fresh();
    if (!s)
        return;
    /* Day 0: all three series; day 31: cpu only (api and web were deleted since). */
    CHECK_INT(insert_minutes(s, T0, 5), 0);
    struct store_metric late = {CPU, T0 + 31 * D, 1, 1, 1, 1};
    CHECK_INT(store_metrics_insert(s, &late, 1, NULL), 0);
    /* keep 30 days, now = day 31 + 2 min: rows from T0 + 1 day on stay. */
    CHECK_INT(store_metrics_prune(s, T0 + 31 * D + 2 * MIN_MS - 30 * D, NULL), 0);
    struct store_metric *rows = NULL;
    size_t n = 0;
    CHECK_INT(store_metrics_range(s, CPU, 0, T0 + 40 * D, 0, &rows, &n, NULL), 0);
    CHECK_INT(n, 1);
    CHECK(n == 1 && rows[0].minute_ms == T0 + 31 * D);
    free(rows);
    char **keys = NULL;
    CHECK_INT(store_metrics_series(s, NULL, &keys, &n, NULL), 0);
    CHECK_INT(n, 1); /* series left without rows are gone too */
    if (n == 1)
        CHECK_STR(keys[0], CPU);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    /* A boundary row: minute_ms == before is kept (strictly older goes). */
    CHECK_INT(store_metrics_prune(s, T0 + 31 * D, NULL), 0);
    CHECK_INT(store_metrics_range(s, CPU, 0, T0 + 40 * D, 0, &rows, &n, NULL), 0);
    CHECK_INT(n, 1);
    free(rows);
    store_close(s);
}

TEST(locked_database_writes_nothing)
{
    struct store *s = open_fresh();
    if (!s)
        return;
    /* Another process holds the write lock (a CLI mid-transaction): the batch fails whole. */
    sqlite3 *other;
    CHECK(sqlite3_open(path, &other) == SQLITE_OK);
    CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    struct err e = {0};
    CHECK_INT(insert_minutes(s, T0, 3), -EBUSY);
    struct store_metric row = {CPU, T0, 1, 1, 1, 1};
    CHECK(store_metrics_insert(s, &row, 1, &e) < 0);
    CHECK(strstr(e.msg, "cannot record metrics in") != NULL);
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    struct store_metric *rows = NULL;
    size_t n = 0;
    CHECK_INT(store_metrics_range(s, CPU, 0, T0 + D, 0, &rows, &n, NULL), 0);
    CHECK_INT(n, 0);
    free(rows);
    /* And the store works again once the lock is gone. */
    CHECK_INT(insert_minutes(s, T0, 3), 0);
    CHECK_INT(store_metrics_range(s, CPU, 0, T0 + D, 0, &rows, &n, NULL), 0);
    CHECK_INT(n, 3);
    free(rows);
    store_close(s);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    str_fmt(path, sizeof path, "%s/tend.db", dir);
    RUN(insert_then_range);
    RUN(same_minute_again_replaces);
    RUN(series_listing);
    RUN(prune_by_age);
    RUN(locked_database_writes_nothing);
    store_close(NULL);
    char side[300];
    unlink(path);
    str_fmt(side, sizeof side, "%s-wal", path);
    unlink(side);
    str_fmt(side, sizeof side, "%s-shm", path);
    unlink(side);
    rmdir(dir);
    return unit_done();
}
