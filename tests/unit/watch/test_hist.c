/* tests/unit/watch/test_hist.c: latency histograms against exact percentiles, window expiry.
 *
 * Percentiles are checked against the exact nearest-rank percentile of the same samples (sorted
 * here, in the test only) over uniform, skewed (log-uniform, a slow tail) and constant data:
 * each must be within HIST_REL_ERR. Windows are driven by passing later times, as the clock
 * would. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "watch/hist.h"

static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t exact(const uint64_t *sorted, size_t n, double q)
{
    size_t rank = (size_t)ceil(q * (double)n);
    return sorted[rank ? rank - 1 : 0];
}

/* Fill the histogram with `v`, then compare several percentiles with the exact ones. */
static void check_against_exact(const char *name, uint64_t *v, size_t n)
{
    static const double qs[] = {0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0};
    struct hist *h = calloc(1, sizeof *h);
    for (size_t i = 0; i < n; i++)
        hist_add(h, v[i]);
    qsort(v, n, sizeof *v, cmp_u64);
    CHECK_INT(h->count, n);
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        uint64_t want = exact(v, n, qs[i]), got = hist_percentile(h, qs[i]);
        double err = want ? fabs((double)got - (double)want) / (double)want : (double)got;
        if (err > HIST_REL_ERR)
            UNIT_FAIL("%s: p%g = %llu, exact %llu (error %.4f > %.4f)", name, qs[i] * 100,
                      (unsigned long long)got, (unsigned long long)want, err, HIST_REL_ERR);
    }
    free(h);
}

TEST(buckets_tile_the_range)
{
    /* Every value maps to a bucket whose range holds it; ranges follow each other without gaps;
     * each bucket is at most 1/32 of its lower bound wide (so its middle is within 1/64). */
    uint64_t next = 0;
    for (unsigned i = 0; i < HIST_NBUCKETS; i++) {
        uint64_t lo, hi;
        hist_bucket_range(i, &lo, &hi);
        CHECK_INT(lo, next);
        CHECK_INT(hist_bucket(lo), i);
        CHECK_INT(hist_bucket(hi), i);
        if (lo >= 64 && (double)(hi - lo + 1) > (double)lo / 32)
            UNIT_FAIL("bucket %u [%llu, %llu] too wide", i, (unsigned long long)lo,
                      (unsigned long long)hi);
        next = hi + 1;
    }
    CHECK_INT(next - 1, HIST_MAX_US);
    CHECK_INT(hist_bucket(HIST_MAX_US + 12345), HIST_NBUCKETS - 1);
}

TEST(uniform_matches_exact)
{
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = 1 + rnd() % 10000000; /* 1 us .. 10 s */
    check_against_exact("uniform", v, n);
    free(v);
}

TEST(skewed_matches_exact)
{
    /* Log-uniform from 100 us to 100 s, plus a 2 % tail of very slow requests: the shape of
     * real latencies, where p99 sits far above p50. */
    size_t n = 100000;
    uint64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        double u = (double)(rnd() % 1000000) / 1e6;
        v[i] = (uint64_t)(100.0 * pow(10, 6 * u));
        if (rnd() % 50 == 0)
            v[i] = 30000000 + rnd() % 200000000;
    }
    check_against_exact("skewed", v, n);
    /* Small values are exact. */
    for (size_t i = 0; i < 1000; i++)
        v[i] = i % 64;
    check_against_exact("small", v, 1000);
    free(v);
}

TEST(few_and_constant)
{
    struct hist h = {0};
    CHECK_INT(hist_percentile(&h, 0.5), 0);
    hist_add(&h, 123456);
    CHECK_INT(hist_percentile(&h, 0.5), 123456); /* clamped to the exact min and max */
    CHECK_INT(hist_percentile(&h, 0.99), 123456);
    for (int i = 0; i < 99; i++)
        hist_add(&h, 1000);
    CHECK_INT(hist_percentile(&h, 0.5), 1000); /* 999, the middle of [992, 1007], clamped */
    hist_add(&h, 100);
    CHECK_INT(hist_percentile(&h, 0.5), 999);   /* rank 51 of 101 */
    CHECK_INT(hist_percentile(&h, 0.99), 999);  /* rank 100: the last 1000 */
    CHECK_INT(hist_percentile(&h, 0.005), 100); /* rank 1 */
    CHECK_INT(hist_percentile(&h, 0.01), 999);  /* rank 2 */
    CHECK_INT(hist_percentile(&h, 1.0), 123456);
    CHECK_INT(h.min_us, 100);
    CHECK_INT(h.sum_us, 123456 + 99 * 1000 + 100);
}

TEST(merge_equals_adding_all)
{
    struct hist a = {0}, b = {0}, all = {0};
    for (int i = 0; i < 5000; i++) {
        uint64_t x = rnd() % 5000000;
        hist_add(i % 3 ? &a : &b, x);
        hist_add(&all, x);
    }
    hist_merge(&a, &b);
    CHECK(memcmp(&a, &all, sizeof a) == 0);
    struct hist empty = {0};
    hist_merge(&a, &empty);
    CHECK(memcmp(&a, &all, sizeof a) == 0);
}

TEST(window_expiry)
{
    /* A 1-minute window on 10 s slots: a sample at t=0 is counted up to t < 70 s (the window
     * covers 60 to 70 s), gone at 70 s; a ring idle for an hour is empty. */
    struct hist_win w;
    struct hist_win_sum s;
    uint64_t t0 = 1000000; /* a monotonic clock's arbitrary origin, on a slot boundary */
    hist_win_init(&w, 10000, 7);
    hist_win_start(&w, t0);
    hist_win_add(&w, t0, 5000, 1);
    hist_win_add(&w, t0 + 9999, -1, 4); /* a count without latency, same slot */
    hist_win_add(&w, t0 + 30000, 7000, 1);
    hist_win_sum(&w, t0 + 30000, 60000, &s);
    CHECK_INT(s.c[1], 2);
    CHECK_INT(s.c[4], 1);
    CHECK_INT(s.h.count, 2);
    CHECK_INT(s.covered_ms, 30000);
    /* A shorter window on the same ring: 20 s = the current slot and the two before. */
    hist_win_sum(&w, t0 + 50000, 20000, &s);
    CHECK_INT(s.c[1], 1);
    CHECK_INT(s.c[4], 0);
    hist_win_sum(&w, t0 + 60000, 20000, &s);
    CHECK_INT(s.c[1], 0);
    hist_win_sum(&w, t0 + 69999, 60000, &s);
    CHECK_INT(s.c[1], 2);
    CHECK_INT(s.covered_ms, 69999);
    hist_win_sum(&w, t0 + 70000, 60000, &s);
    CHECK_INT(s.c[1], 1);
    CHECK_INT(s.c[4], 0);
    CHECK_INT(s.h.count, 1);
    CHECK_INT(hist_percentile(&s.h, 0.5), 7000);
    CHECK_INT(s.covered_ms, 60000);
    hist_win_add(&w, t0 + 3600000, 100, 2);
    hist_win_sum(&w, t0 + 3600000, 60000, &s);
    CHECK_INT(s.c[1], 0);
    CHECK_INT(s.c[2], 1);
    CHECK_INT(s.h.count, 1);
    /* Windows longer than the ring are cut to it. */
    hist_win_sum(&w, t0 + 3600000, 3600000, &s);
    CHECK_INT(s.covered_ms, 60000);
    hist_win_fini(&w);
}

TEST(prometheus_buckets_are_cumulative)
{
    struct hist_prom p = {0};
    hist_prom_add(&p, 5000);     /* exactly 5 ms: le="0.005" */
    hist_prom_add(&p, 5001);     /* le="0.01" */
    hist_prom_add(&p, 300000);   /* le="0.5" */
    hist_prom_add(&p, 60000000); /* a minute: only +Inf */
    CHECK_INT(p.count, 4);
    CHECK_INT(p.le[0], 1);
    CHECK_INT(p.le[1], 2);
    CHECK_INT(p.le[5], 2); /* 0.25 */
    CHECK_INT(p.le[6], 3); /* 0.5 */
    CHECK_INT(p.le[HIST_PROM_NLE - 1], 3);
    CHECK_INT(p.sum_us, 5000 + 5001 + 300000 + 60000000);
    CHECK(hist_prom_le_s[0] == 0.005 && hist_prom_le_s[HIST_PROM_NLE - 1] == 10);
}

int main(void)
{
    RUN(buckets_tile_the_range);
    RUN(uniform_matches_exact);
    RUN(skewed_matches_exact);
    RUN(few_and_constant);
    RUN(merge_equals_adding_all);
    RUN(window_expiry);
    RUN(prometheus_buckets_are_cumulative);
    return unit_done();
}
