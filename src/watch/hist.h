/* watch/hist.h: fixed-memory latency histograms, sliding windows of them, Prometheus buckets.
 *
 * struct hist is log-linear (HdrHistogram's layout, simplified): values 0..63 us have one bucket
 * each, and every power of two above is cut into 32 equal buckets, up to HIST_MAX_US (about
 * 4.5 minutes; larger values count in the top bucket). A percentile is the middle of the bucket
 * holding the nearest-rank sample, clamped to the exact min and max, so it is within
 * HIST_REL_ERR (1/64, 1.6 %) of the exact nearest-rank percentile. 768 counters, 3 KiB, whatever
 * the number of samples: no sorted list, no allocation per sample.
 *
 * struct hist_win is a sliding window: a ring of `nslots` sub-histograms (with a few counters
 * beside each) of `slot_ms` each, merged when asked. A slot's histogram is allocated on its first
 * sample and reused, so an idle app costs a few bytes per slot. Time is passed in (monotonic ms),
 * never read here, so tests drive expiry by passing a later `now_ms`.
 *
 * struct hist_prom counts samples under Prometheus's fixed `le` boundaries (5 ms .. 10 s), exact
 * and monotonic since start, as a Prometheus histogram must be. */
#ifndef TEND_WATCH_HIST_H
#define TEND_WATCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 5                /* 32 buckets per power of two */
#define HIST_NBUCKETS 768              /* 64 exact + 22 powers of two x 32 */
#define HIST_MAX_US ((1ull << 28) - 1) /* 268 s; above it, samples count in the top bucket */
#define HIST_REL_ERR (1.0 / 64)        /* bound on a percentile's relative error */

struct hist {
    uint64_t count;
    uint64_t sum_us; /* of the samples as given (not clamped) */
    uint64_t min_us, max_us;
    uint32_t n[HIST_NBUCKETS];
};

/* A zeroed struct hist is empty; hist_reset() empties one. */
void hist_reset(struct hist *h);
void hist_add(struct hist *h, uint64_t value_us);
/* dst += src (counters saturate instead of wrapping). */
void hist_merge(struct hist *dst, const struct hist *src);
/* Nearest-rank percentile, q in [0, 1] (0.99 = p99); 0 for an empty histogram. */
uint64_t hist_percentile(const struct hist *h, double q);
/* Bucket layout, for tests and exporters: the bucket of a value, a bucket's [lo, hi] range. */
unsigned hist_bucket(uint64_t value_us);
void hist_bucket_range(unsigned idx, uint64_t *lo_us, uint64_t *hi_us);

/* ---- sliding windows ------------------------------------------------------------------------ */

#define HIST_WIN_NCOUNT 6 /* counters beside each slot's histogram, meaning is the caller's */

struct hist_win_slot {
    struct hist *h; /* NULL until the slot's first sample; owned by the slot */
    uint64_t c[HIST_WIN_NCOUNT];
};

/* Embedded in its owner; hist_win_init() / hist_win_fini(). */
struct hist_win {
    uint64_t slot_ms;
    uint64_t head_start_ms; /* start of slot[head]; valid once is_started */
    uint64_t first_ms;      /* time of the first hist_win_add/hist_win_sum: coverage starts here */
    unsigned nslots, head;
    int is_started;
    struct hist_win_slot *slot;
};

/* What a window held: the merged histogram, counters summed, and the time it covers. */
struct hist_win_sum {
    struct hist h;
    uint64_t c[HIST_WIN_NCOUNT];
    uint64_t covered_ms; /* now - start of the oldest slot counted (not before first_ms) */
};

/* A ring able to answer windows up to (nslots - 1) * slot_ms (slot_ms >= 1, nslots >= 2). */
void hist_win_init(struct hist_win *w, uint64_t slot_ms, unsigned nslots);
void hist_win_fini(struct hist_win *w);
/* Coverage starts at now_ms (else at the first hist_win_add or hist_win_sum). */
void hist_win_start(struct hist_win *w, uint64_t now_ms);
/* Count one event in counter `counter` at now_ms, with a latency sample unless value_us < 0.
 * now_ms must not go backwards (monotonic clock); an earlier time counts in the current slot. */
void hist_win_add(struct hist_win *w, uint64_t now_ms, int64_t value_us, unsigned counter);
/* Sum the last `window_ms` at now_ms: the current slot and the ceil(window_ms / slot_ms) before it,
 * so a window of W covers between W and W + slot_ms (less at start, as covered_ms says). Windows
 * longer than the ring are cut to its length. */
void hist_win_sum(struct hist_win *w, uint64_t now_ms, uint64_t window_ms,
                  struct hist_win_sum *out);

/* ---- Prometheus ----------------------------------------------------------------------------- */

#define HIST_PROM_NLE 11
/* Upper bounds in seconds: 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 (+Inf is `count`). */
extern const double hist_prom_le_s[HIST_PROM_NLE];

struct hist_prom {
    uint64_t le[HIST_PROM_NLE]; /* cumulative: samples <= hist_prom_le_s[i] */
    uint64_t count;
    uint64_t sum_us;
};

/* A zeroed struct hist_prom is empty. */
void hist_prom_add(struct hist_prom *p, uint64_t value_us);

#endif
