/* tests/unit/watch/test_series.c: ring buffers, window stats, sparkline points and minute
 * roll-ups, with time passed in (a fixed wall clock), so an hour of samples takes no time. */
#include <math.h>
#include <stdlib.h>

#include "unit.h"
#include "watch/metrics.h"

#define S 1000LL
#define MIN_MS (60 * S)
#define H (3600 * S)
/* 2026-11-23 12:00:00 UTC: a whole minute, so T0 + 55 s is late in that minute. */
#define T0 (1795435200000LL)

static const struct watch_label api0[] = {{"app", "api"}, {"instance", "0"}};

static bool near(double a, double b)
{
    return fabs(a - b) < 1e-6;
}

TEST(key_is_canonical)
{
    struct watch_series_set *set = watch_series_new(5000, 0);
    const struct watch_label swapped[] = {{"instance", "0"}, {"app", "api"}};
    struct watch_series *a = watch_series_get(set, WATCH_APP_CPU, api0, 2);
    struct watch_series *b = watch_series_get(set, WATCH_APP_CPU, swapped, 2);
    CHECK(a != NULL);
    CHECK(a == b);
    CHECK_STR(watch_series_key(a), "app_cpu_percent{app=\"api\",instance=\"0\"}");
    CHECK(watch_series_find(set, "app_cpu_percent{app=\"api\",instance=\"0\"}") == a);
    /* Values that would break the key's syntax are escaped, so two series never share a key. */
    const struct watch_label odd[] = {{"mount", "/mnt/a\",b=\"c"}};
    const struct watch_label other[] = {{"mount", "/mnt/a"}, {"b", "c"}};
    struct watch_series *c = watch_series_get(set, WATCH_DISK, odd, 1);
    struct watch_series *d = watch_series_get(set, WATCH_DISK, other, 2);
    CHECK(c && d && c != d);
    CHECK_STR(watch_series_key(c), "disk_used_percent{mount=\"/mnt/a\\\",b=\\\"c\"}");
    CHECK_STR(watch_series_key(watch_series_get(set, WATCH_CPU, NULL, 0)), "cpu_percent");
    CHECK(watch_series_get(set, "", NULL, 0) == NULL);
    watch_series_free(set);
}

TEST(max_series_bounds_memory)
{
    struct watch_series_set *set = watch_series_new(5000, 3);
    CHECK(watch_series_get(set, "a", NULL, 0) != NULL);
    CHECK(watch_series_get(set, "b", NULL, 0) != NULL);
    CHECK(watch_series_get(set, "c", NULL, 0) != NULL);
    CHECK(watch_series_get(set, "d", NULL, 0) == NULL);
    CHECK(watch_series_get(set, "a", NULL, 0) != NULL); /* existing ones are still found */
    watch_series_free(set);
}

TEST(ring_wraps_after_an_hour)
{
    struct watch_series_set *set = watch_series_new(5000, 0);
    struct watch_series *s = watch_series_get(set, WATCH_CPU, NULL, 0);
    /* 800 samples 5 s apart: value i at T0 + 5 s * i. The ring holds 720 (one hour). */
    for (int i = 0; i < 800; i++)
        watch_series_put(set, s, T0 + i * 5 * S, i);
    int64_t now = T0 + 799 * 5 * S;
    struct watch_stats st;
    watch_series_stats(set, s, now, H, &st);
    CHECK_INT(st.n, 720);
    CHECK(near(st.min, 80));
    CHECK(near(st.max, 799));
    CHECK(near(st.last, 799));
    CHECK(near(st.avg, (80 + 799) / 2.0));
    /* Asking for more than an hour gives the hour. */
    watch_series_stats(set, s, now, 24 * H, &st);
    CHECK_INT(st.n, 720);
    double v;
    int64_t at;
    CHECK(watch_series_last(s, &v, &at));
    CHECK(near(v, 799));
    CHECK_INT(at, now);
    watch_series_free(set);
}

TEST(window_stats_and_gaps)
{
    struct watch_series_set *set = watch_series_new(5000, 0);
    struct watch_series *s = watch_series_get(set, WATCH_MEMORY, NULL, 0);
    /* 24 slots over two minutes, but slots 12..17 missed (a stalled loop) and NaN ignored. */
    for (int i = 0; i < 24; i++)
        watch_series_put(set, s, T0 + i * 5 * S, i >= 12 && i < 18 ? NAN : 10.0 + i);
    int64_t now = T0 + 23 * 5 * S;
    struct watch_stats st;
    watch_series_stats(set, s, now, MIN_MS, &st); /* slots 12..23: 18..23 have values */
    CHECK_INT(st.n, 6);
    CHECK(near(st.min, 28));
    CHECK(near(st.max, 33));
    CHECK(near(st.avg, 30.5));
    watch_series_stats(set, s, now, 30 * S, &st); /* the last 6 slots */
    CHECK_INT(st.n, 6);
    watch_series_stats(set, s, now + 2 * H, MIN_MS, &st); /* long after: nothing */
    CHECK_INT(st.n, 0);
    CHECK(isnan(st.avg));

    /* Sparkline points: 4 buckets of 6 slots over two minutes; bucket 2 is the gap. */
    double p[4];
    watch_series_points(set, s, now, 2 * MIN_MS, p, 4);
    CHECK(near(p[0], 10 + 2.5));
    CHECK(near(p[1], 16 + 2.5));
    CHECK(isnan(p[2]));
    CHECK(near(p[3], 28 + 2.5));
    /* A skipped sample in the ring is a NaN slot, not a repeat of the last value. */
    watch_series_put(set, s, now + 15 * S, 50); /* two slots skipped */
    watch_series_points(set, s, now + 15 * S, 15 * S, p, 3);
    CHECK(isnan(p[0]));
    CHECK(isnan(p[1]));
    CHECK(near(p[2], 50));
    watch_series_free(set);
}

TEST(clock_back_over_an_hour_resets_the_ring)
{
    struct watch_series_set *set = watch_series_new(5000, 0);
    struct watch_series *s = watch_series_get(set, WATCH_CPU, NULL, 0);
    for (int i = 0; i < 10; i++)
        watch_series_put(set, s, T0 + 2 * H + i * 5 * S, 1);
    watch_series_put(set, s, T0, 7); /* NTP stepped the clock two hours back */
    struct watch_stats st;
    watch_series_stats(set, s, T0, H, &st);
    CHECK_INT(st.n, 1);
    CHECK(near(st.last, 7));
    watch_series_free(set);
}

static const struct watch_rollup *row_of(const struct watch_rollup *rows, size_t n, const char *key,
                                         int64_t minute)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].key, key) == 0 && rows[i].minute_ms == minute)
            return &rows[i];
    return NULL;
}

TEST(rollups_close_at_minute_boundaries)
{
    struct watch_series_set *set = watch_series_new(5000, 0);
    struct watch_series *cpu = watch_series_get(set, WATCH_CPU, NULL, 0);
    struct watch_series *app = watch_series_get(set, WATCH_APP_CPU, api0, 2);
    const char *app_key = watch_series_key(app);
    /* Minute A (12:00): 4, 2, 9 at :45 :50 :55; minute B (12:01): 5 at :00, 1 at :30. */
    watch_series_put(set, cpu, T0 + 45 * S, 4);
    watch_series_put(set, cpu, T0 + 50 * S, 2);
    watch_series_put(set, cpu, T0 + 59999, 9); /* the last millisecond is still minute A */
    watch_series_put(set, app, T0 + 50 * S, 100);
    watch_series_put(set, cpu, T0 + MIN_MS, 5);
    watch_series_put(set, cpu, T0 + MIN_MS + 30 * S, 1);

    const struct watch_rollup *rows;
    size_t n = watch_series_rollups(set, T0 + MIN_MS + 31 * S, &rows);
    CHECK_INT(n, 2); /* cpu's and app's minute A; cpu's minute B is still open */
    const struct watch_rollup *r = row_of(rows, n, "cpu_percent", T0);
    CHECK(r != NULL);
    if (r) {
        CHECK(near(r->min, 2));
        CHECK(near(r->max, 9));
        CHECK(near(r->avg, 5));
        CHECK(near(r->last, 9));
    }
    r = row_of(rows, n, app_key, T0);
    CHECK(r && near(r->avg, 100) && near(r->last, 100));
    CHECK(row_of(rows, n, "cpu_percent", T0 + MIN_MS) == NULL);

    /* The next call returns only what is new: minute B, closed because it ended. */
    n = watch_series_rollups(set, T0 + 2 * MIN_MS, &rows);
    CHECK_INT(n, 1);
    r = row_of(rows, n, "cpu_percent", T0 + MIN_MS);
    CHECK(r && near(r->min, 1) && near(r->max, 5) && near(r->avg, 3) && near(r->last, 1));
    n = watch_series_rollups(set, T0 + 3 * MIN_MS, &rows);
    CHECK_INT(n, 0);
    watch_series_free(set);
}

TEST(rollups_kept_until_collected)
{
    struct watch_series_set *set = watch_series_new(5000, 0);
    struct watch_series *s = watch_series_get(set, WATCH_LOAD1, NULL, 0);
    /* Nobody collected for five minutes: each minute is still there, once. */
    for (int m = 0; m < 5; m++)
        watch_series_put(set, s, T0 + m * MIN_MS + 10 * S, m);
    const struct watch_rollup *rows;
    size_t n = watch_series_rollups(set, T0 + 5 * MIN_MS, &rows);
    CHECK_INT(n, 5);
    for (size_t i = 0; i < n && i < 5; i++) {
        CHECK_INT(rows[i].minute_ms, T0 + (int64_t)i * MIN_MS);
        CHECK(near(rows[i].last, (double)i));
    }
    watch_series_free(set);
}

TEST(idle_series_expire_after_an_hour)
{
    struct watch_series_set *set = watch_series_new(5000, 0);
    struct watch_series *gone = watch_series_get(set, WATCH_APP_CPU, api0, 2);
    struct watch_series *live = watch_series_get(set, WATCH_CPU, NULL, 0);
    watch_series_put(set, gone, T0, 1);
    const struct watch_rollup *rows;
    for (int64_t t = T0; t <= T0 + H + 2 * MIN_MS; t += MIN_MS) {
        watch_series_put(set, live, t, 1);
        watch_series_rollups(set, t + 1, &rows);
    }
    CHECK(watch_series_find(set, "app_cpu_percent{app=\"api\",instance=\"0\"}") == NULL);
    CHECK(watch_series_find(set, "cpu_percent") == live);
    watch_series_free(set);
}

int main(void)
{
    RUN(key_is_canonical);
    RUN(max_series_bounds_memory);
    RUN(ring_wraps_after_an_hour);
    RUN(window_stats_and_gaps);
    RUN(clock_back_over_an_hour_resets_the_ring);
    RUN(rollups_close_at_minute_boundaries);
    RUN(rollups_kept_until_collected);
    RUN(idle_series_expire_after_an_hour);
    return unit_done();
}
