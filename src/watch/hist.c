/* watch/hist.c: log-linear latency histograms, their sliding windows, Prometheus buckets.
 *
 * Bucket index of a value v (microseconds): v itself below 64; above, with e = floor(log2 v),
 * 64 + (e - 6) * 32 + the next 5 bits of v after its leading one. A bucket is 2^(e-5) wide and
 * starts at or above 2^e, so its middle is within 1/64 of any value in it (HIST_REL_ERR). The
 * index is two shifts and a count-leading-zeros: adding a sample costs a few nanoseconds.
 *
 * A window ring advances lazily: hist_win_add() and hist_win_sum() first move the head to the
 * slot holding now_ms, clearing the slots they step over (at most nslots of them, however long
 * the ring was idle). Cleared slots keep their histogram allocation for reuse. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "watch/hist.h"

#define SUB (1u << HIST_SUB_BITS)
#define EXACT (2 * SUB) /* values below this have a bucket each */

const double hist_prom_le_s[HIST_PROM_NLE] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,    2.5,   5,    10};
/* The same bounds in microseconds, so adding a sample compares integers. */
static const uint64_t prom_le_us[HIST_PROM_NLE] = {
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof *h);
}

unsigned hist_bucket(uint64_t v)
{
    if (v < EXACT)
        return (unsigned)v;
    if (v > HIST_MAX_US)
        v = HIST_MAX_US;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned sub = (unsigned)(v >> (e - HIST_SUB_BITS)) - SUB;
    return EXACT + (e - HIST_SUB_BITS - 1) * SUB + sub;
}

void hist_bucket_range(unsigned idx, uint64_t *lo, uint64_t *hi)
{
    assert(idx < HIST_NBUCKETS);
    if (idx < EXACT) {
        *lo = *hi = idx;
        return;
    }
    unsigned e = (idx - EXACT) / SUB + HIST_SUB_BITS + 1, sub = (idx - EXACT) % SUB;
    *lo = (uint64_t)(SUB + sub) << (e - HIST_SUB_BITS);
    *hi = *lo + (1ull << (e - HIST_SUB_BITS)) - 1;
}

void hist_add(struct hist *h, uint64_t v)
{
    if (h->count == 0 || v < h->min_us)
        h->min_us = v;
    if (v > h->max_us)
        h->max_us = v;
    h->count++;
    h->sum_us += v;
    uint32_t *n = &h->n[hist_bucket(v)];
    if (*n != UINT32_MAX)
        (*n)++;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    if (src->count == 0)
        return;
    if (dst->count == 0 || src->min_us < dst->min_us)
        dst->min_us = src->min_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
    dst->count += src->count;
    dst->sum_us += src->sum_us;
    for (unsigned i = 0; i < HIST_NBUCKETS; i++) {
        uint64_t s = (uint64_t)dst->n[i] + src->n[i];
        dst->n[i] = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
    }
}

uint64_t hist_percentile(const struct hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q <= 0)
        return h->min_us;
    if (q >= 1)
        return h->max_us;
    /* Nearest rank: the smallest sample with at least q * count samples at or below it. The
     * bucket counts (not h->count) decide, so a saturated counter cannot walk off the end. */
    uint64_t total = 0;
    for (unsigned i = 0; i < HIST_NBUCKETS; i++)
        total += h->n[i];
    double r = q * (double)total;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    unsigned i = 0;
    for (; i < HIST_NBUCKETS - 1; i++) {
        seen += h->n[i];
        if (seen >= rank)
            break;
    }
    uint64_t lo, hi;
    hist_bucket_range(i, &lo, &hi);
    uint64_t v = lo + (hi - lo) / 2;
    if (v < h->min_us)
        v = h->min_us;
    if (v > h->max_us)
        v = h->max_us;
    return v;
}

/* ---- sliding windows ------------------------------------------------------------------------ */

void hist_win_init(struct hist_win *w, uint64_t slot_ms, unsigned nslots)
{
    assert(slot_ms >= 1 && nslots >= 2);
    memset(w, 0, sizeof *w);
    w->slot_ms = slot_ms;
    w->nslots = nslots;
    w->slot = xcalloc(nslots, sizeof *w->slot);
}

void hist_win_fini(struct hist_win *w)
{
    for (unsigned i = 0; w->slot && i < w->nslots; i++)
        free(w->slot[i].h);
    free(w->slot);
    memset(w, 0, sizeof *w);
}

static void slot_clear(struct hist_win_slot *s)
{
    if (s->h && s->h->count)
        hist_reset(s->h);
    memset(s->c, 0, sizeof s->c);
}

/* Move the head to the slot holding now_ms. */
static void advance(struct hist_win *w, uint64_t now_ms)
{
    if (!w->is_started) {
        w->is_started = 1;
        w->first_ms = now_ms;
        w->head_start_ms = now_ms - now_ms % w->slot_ms;
        return;
    }
    if (now_ms < w->head_start_ms + w->slot_ms)
        return;
    uint64_t steps = (now_ms - w->head_start_ms) / w->slot_ms;
    for (uint64_t i = 0; i < steps && i < w->nslots; i++) {
        w->head = (w->head + 1) % w->nslots;
        slot_clear(&w->slot[w->head]);
    }
    w->head_start_ms += steps * w->slot_ms;
}

void hist_win_start(struct hist_win *w, uint64_t now_ms)
{
    advance(w, now_ms);
}

void hist_win_add(struct hist_win *w, uint64_t now_ms, int64_t value_us, unsigned counter)
{
    assert(counter < HIST_WIN_NCOUNT);
    advance(w, now_ms);
    struct hist_win_slot *s = &w->slot[w->head];
    s->c[counter]++;
    if (value_us < 0)
        return;
    if (!s->h)
        s->h = xcalloc(1, sizeof *s->h);
    hist_add(s->h, (uint64_t)value_us);
}

void hist_win_sum(struct hist_win *w, uint64_t now_ms, uint64_t window_ms, struct hist_win_sum *out)
{
    memset(out, 0, sizeof *out);
    advance(w, now_ms);
    uint64_t back = (window_ms + w->slot_ms - 1) / w->slot_ms;
    if (back > w->nslots - 1)
        back = w->nslots - 1;
    for (uint64_t k = 0; k <= back; k++) {
        const struct hist_win_slot *s = &w->slot[(w->head + w->nslots - k) % w->nslots];
        for (unsigned c = 0; c < HIST_WIN_NCOUNT; c++)
            out->c[c] += s->c[c];
        if (s->h)
            hist_merge(&out->h, s->h);
    }
    uint64_t oldest = w->head_start_ms - MIN(back * w->slot_ms, w->head_start_ms);
    if (oldest < w->first_ms)
        oldest = w->first_ms;
    out->covered_ms = now_ms > oldest ? now_ms - oldest : 0;
}

/* ---- Prometheus ----------------------------------------------------------------------------- */

void hist_prom_add(struct hist_prom *p, uint64_t value_us)
{
    p->count++;
    p->sum_us += value_us;
    for (unsigned i = 0; i < HIST_PROM_NLE; i++)
        if (value_us <= prom_le_us[i])
            p->le[i]++;
}
