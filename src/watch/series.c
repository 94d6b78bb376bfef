/* watch/series.c: the last hour of every metric in fixed memory, and its one-minute roll-ups.
 *
 * A series is a name and up to four labels; its key is the Prometheus-style text
 * name{a="x",b="y"} with labels sorted, which is also what the store keeps with each roll-up.
 * Each series has a ring of 3600 s / interval float slots: wall time t falls in slot
 * t / interval, stored at ring[slot % cap]. Slots skipped by a late timer stay NaN, so gaps show
 * as gaps (sparklines print a blank) instead of being smoothed over. Floats, not doubles: 100
 * apps x 5 instance series x 720 slots is 1.4 MiB, half of it with doubles, and 24 bits of
 * mantissa are far beyond what a percentage or a sparkline needs.
 *
 * Beside the ring each series folds its samples into the open minute (count, sum, min, max,
 * last). A sample in a later minute closes the open one into the pending roll-up list;
 * watch_series_rollups() closes the minutes that ended by "now" (series that stopped getting
 * samples) and hands the list over. Rows point at series keys, so a series is only freed
 * (expired: no sample for an hour) once none of its rows are pending: its minute is closed
 * and returned by an earlier call.
 *
 * Lookup by key is an open-addressing hash table over the series array (rebuilt when it grows or
 * a series expires, both rare), so the daemon can put samples by name every tick without a
 * linear search. The wall clock jumping back more than an hour resets a ring (its slots no
 * longer mean anything); a smaller jump overwrites slots, and its samples join the open minute. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/str.h"
#include "core/util.h"
#include "watch/metrics.h"

#define HOUR_MS 3600000LL
#define MINUTE_MS 60000LL
#define ROWS_MAX (1u << 20) /* pending roll-ups when nobody collects them (a stuck store) */

/* Owned by its watch_series_set. */
struct watch_series {
    char *key, *name;
    size_t nlabels;
    struct watch_label labels[WATCH_LABELS_MAX]; /* strings owned (str_dup) */
    int64_t head_slot;                           /* newest slot written; -1 = none yet */
    int64_t last_ms;
    double last_value;
    int64_t minute_ms; /* the open minute; -1 = none */
    size_t mn;
    double msum, mmin, mmax, mlast;
    float ring[]; /* set->cap slots */
};

/* Owned by the daemon's watch handle. */
struct watch_series_set {
    int64_t interval_ms;
    size_t cap; /* slots per ring */
    size_t max_series;
    struct watch_series **all;
    size_t n, alloc;
    size_t *index; /* all[] position + 1; 0 = empty; index_cap is a power of two */
    size_t index_cap;
    struct watch_rollup *rows;
    size_t nrows, rows_alloc, nreturned;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void index_rebuild(struct watch_series_set *set)
{
    size_t want = 16;
    while (want < set->n * 2)
        want *= 2;
    if (want != set->index_cap) {
        free(set->index);
        set->index = xmalloc(want * sizeof *set->index);
        set->index_cap = want;
    }
    memset(set->index, 0, set->index_cap * sizeof *set->index);
    for (size_t i = 0; i < set->n; i++) {
        size_t h = hash(set->all[i]->key) & (set->index_cap - 1);
        while (set->index[h])
            h = (h + 1) & (set->index_cap - 1);
        set->index[h] = i + 1;
    }
}

struct watch_series_set *watch_series_new(uint64_t interval_ms, size_t max_series)
{
    struct watch_series_set *set = xcalloc(1, sizeof *set);
    set->interval_ms = (int64_t)(interval_ms ? interval_ms : 5000);
    set->cap = (size_t)((HOUR_MS + set->interval_ms - 1) / set->interval_ms);
    set->max_series = max_series ? max_series : 4096;
    index_rebuild(set);
    return set;
}

static void series_free(struct watch_series *s)
{
    for (size_t i = 0; i < s->nlabels; i++) {
        free((char *)s->labels[i].name);
        free((char *)s->labels[i].value);
    }
    free(s->key);
    free(s->name);
    free(s);
}

void watch_series_free(struct watch_series_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        series_free(set->all[i]);
    free(set->all);
    free(set->index);
    free(set->rows);
    free(set);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct watch_label *)a)->name, ((const struct watch_label *)b)->name);
}

/* name{a="x",b="y"}: label values escaped as in Prometheus text, so keys never collide. */
static int make_key(struct buf *key, const char *name, const struct watch_label *sorted, size_t n)
{
    int rc = buf_puts(key, name);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = buf_printf(key, "%c%s=\"", i ? ',' : '{', sorted[i].name);
        for (const char *v = sorted[i].value; *v && rc == 0; v++)
            rc = *v == '\\'   ? buf_puts(key, "\\\\")
                 : *v == '"'  ? buf_puts(key, "\\\"")
                 : *v == '\n' ? buf_puts(key, "\\n")
                              : buf_putc(key, *v);
        if (rc == 0)
            rc = buf_putc(key, '"');
    }
    if (rc == 0 && n)
        rc = buf_putc(key, '}');
    return rc;
}

struct watch_series *watch_series_find(const struct watch_series_set *set, const char *key)
{
    size_t h = hash(key) & (set->index_cap - 1);
    for (; set->index[h]; h = (h + 1) & (set->index_cap - 1))
        if (strcmp(set->all[set->index[h] - 1]->key, key) == 0)
            return set->all[set->index[h] - 1];
    return NULL;
}

static struct watch_series *series_new(struct watch_series_set *set, const char *name,
                                       const struct watch_label *sorted, size_t n, char *key)
{
    struct watch_series *s = xcalloc(1, sizeof *s + set->cap * sizeof s->ring[0]);
    s->key = key;
    s->name = str_dup(name);
    s->nlabels = n;
    for (size_t i = 0; i < n; i++) {
        s->labels[i].name = str_dup(sorted[i].name);
        s->labels[i].value = str_dup(sorted[i].value);
    }
    s->head_slot = -1;
    s->minute_ms = -1;
    s->last_value = NAN;
    if (set->n == set->alloc) {
        set->alloc = set->alloc ? set->alloc * 2 : 64;
        set->all = xrealloc(set->all, set->alloc * sizeof *set->all);
    }
    set->all[set->n++] = s;
    if (set->n * 2 > set->index_cap)
        index_rebuild(set);
    else {
        size_t h = hash(key) & (set->index_cap - 1);
        while (set->index[h])
            h = (h + 1) & (set->index_cap - 1);
        set->index[h] = set->n;
    }
    return s;
}

struct watch_series *watch_series_get(struct watch_series_set *set, const char *name,
                                      const struct watch_label *labels, size_t nlabels)
{
    struct watch_label sorted[WATCH_LABELS_MAX];
    if (!name || !*name || nlabels > WATCH_LABELS_MAX)
        return NULL;
    for (size_t i = 0; i < nlabels; i++) {
        if (!labels[i].name || !*labels[i].name || !labels[i].value)
            return NULL;
        sorted[i] = labels[i];
    }
    qsort(sorted, nlabels, sizeof *sorted, by_name);
    struct buf key = {0};
    if (make_key(&key, name, sorted, nlabels) < 0) {
        buf_fini(&key);
        return NULL;
    }
    struct watch_series *s = watch_series_find(set, key.ptr);
    if (s || set->n >= set->max_series) {
        buf_fini(&key);
        return s;
    }
    return series_new(set, name, sorted, nlabels, buf_take(&key));
}

const char *watch_series_key(const struct watch_series *s)
{
    return s->key;
}

const char *watch_series_name(const struct watch_series *s)
{
    return s->name;
}

size_t watch_series_labels(const struct watch_series *s, const struct watch_label **labels)
{
    *labels = s->labels;
    return s->nlabels;
}

static void row_add(struct watch_series_set *set, struct watch_series *s)
{
    if (set->nrows == ROWS_MAX)
        return;
    if (set->nrows == set->rows_alloc) {
        set->rows_alloc = set->rows_alloc ? set->rows_alloc * 2 : 256;
        set->rows = xrealloc(set->rows, set->rows_alloc * sizeof *set->rows);
    }
    set->rows[set->nrows++] = (struct watch_rollup){
        .key = s->key,
        .minute_ms = s->minute_ms,
        .min = s->mmin,
        .avg = s->msum / (double)s->mn,
        .max = s->mmax,
        .last = s->mlast,
    };
}

static void minute_close(struct watch_series_set *set, struct watch_series *s)
{
    if (s->minute_ms >= 0 && s->mn)
        row_add(set, s);
    s->minute_ms = -1;
    s->mn = 0;
}

static int64_t minute_of(int64_t ms)
{
    return ms - ((ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS;
}

static void ring_put(struct watch_series_set *set, struct watch_series *s, int64_t slot,
                     double value)
{
    int64_t cap = (int64_t)set->cap;
    if (s->head_slot < 0 || slot <= s->head_slot - cap) { /* first sample, or clock went back */
        for (size_t i = 0; i < set->cap; i++)
            s->ring[i] = NAN;
        s->head_slot = slot;
    }
    for (int64_t k = s->head_slot + 1; k <= slot && k <= s->head_slot + cap; k++)
        s->ring[k % cap] = NAN; /* slots nobody filled: gaps */
    if (slot > s->head_slot)
        s->head_slot = slot;
    s->ring[slot % cap] = (float)value;
}

void watch_series_put(struct watch_series_set *set, struct watch_series *s, int64_t now_ms,
                      double value)
{
    if (!s || isnan(value) || now_ms < 0)
        return;
    ring_put(set, s, now_ms / set->interval_ms, value);
    s->last_ms = now_ms;
    s->last_value = value;
    int64_t minute = minute_of(now_ms);
    if (s->minute_ms >= 0 && minute > s->minute_ms)
        minute_close(set, s);
    if (s->minute_ms < 0) {
        s->minute_ms = minute;
        s->mmin = s->mmax = value;
        s->msum = 0;
    }
    s->mn++;
    s->msum += value;
    s->mmin = MIN(s->mmin, value);
    s->mmax = MAX(s->mmax, value);
    s->mlast = value;
}

bool watch_series_last(const struct watch_series *s, double *value, int64_t *at_ms)
{
    if (s->head_slot < 0)
        return false;
    *value = s->last_value;
    if (at_ms)
        *at_ms = s->last_ms;
    return true;
}

/* The ring slots of (now - window, now], clamped to what the ring holds; false if none. */
static bool window_slots(const struct watch_series_set *set, const struct watch_series *s,
                         int64_t now_ms, int64_t window_ms, int64_t *lo, int64_t *hi)
{
    window_ms = MIN(window_ms, (int64_t)set->cap * set->interval_ms);
    *hi = now_ms / set->interval_ms;
    *lo = (now_ms - window_ms) / set->interval_ms + 1;
    return s->head_slot >= 0 && *lo <= *hi;
}

static double slot_value(const struct watch_series_set *set, const struct watch_series *s,
                         int64_t slot)
{
    int64_t cap = (int64_t)set->cap;
    if (slot > s->head_slot || slot <= s->head_slot - cap || slot < 0)
        return NAN;
    return s->ring[slot % cap];
}

void watch_series_stats(const struct watch_series_set *set, const struct watch_series *s,
                        int64_t now_ms, int64_t window_ms, struct watch_stats *out)
{
    int64_t lo, hi;
    double sum = 0;
    *out = (struct watch_stats){.min = NAN, .max = NAN, .avg = NAN, .last = NAN};
    if (!window_slots(set, s, now_ms, window_ms, &lo, &hi))
        return;
    for (int64_t k = lo; k <= hi; k++) {
        double v = slot_value(set, s, k);
        if (isnan(v))
            continue;
        out->min = out->n ? MIN(out->min, v) : v;
        out->max = out->n ? MAX(out->max, v) : v;
        out->last = v;
        sum += v;
        out->n++;
    }
    if (out->n)
        out->avg = sum / (double)out->n;
}

void watch_series_points(const struct watch_series_set *set, const struct watch_series *s,
                         int64_t now_ms, int64_t window_ms, double *points, size_t npoints)
{
    int64_t lo, hi;
    for (size_t i = 0; i < npoints; i++)
        points[i] = NAN;
    if (!npoints || !window_slots(set, s, now_ms, window_ms, &lo, &hi))
        return;
    size_t nslots = (size_t)(hi - lo + 1);
    size_t count_b = 0, b_prev = (size_t)-1;
    double acc = 0;
    for (int64_t k = lo; k <= hi; k++) {
        size_t b = (size_t)(k - lo) * npoints / nslots;
        if (b != b_prev) {
            if (b_prev != (size_t)-1 && count_b)
                points[b_prev] = acc / (double)count_b;
            b_prev = b;
            acc = 0;
            count_b = 0;
        }
        double v = slot_value(set, s, k);
        if (!isnan(v)) {
            acc += v;
            count_b++;
        }
    }
    if (b_prev != (size_t)-1 && count_b)
        points[b_prev] = acc / (double)count_b;
}

static void expire(struct watch_series_set *set, int64_t now_ms)
{
    size_t kept = 0;
    for (size_t i = 0; i < set->n; i++) {
        struct watch_series *s = set->all[i];
        if (s->minute_ms < 0 && s->last_ms + HOUR_MS <= now_ms)
            series_free(s); /* its last minute was returned by an earlier call */
        else
            set->all[kept++] = s;
    }
    if (kept != set->n) {
        set->n = kept;
        index_rebuild(set);
    }
}

size_t watch_series_rollups(struct watch_series_set *set, int64_t now_ms,
                            const struct watch_rollup **rows)
{
    assert(set->nreturned <= set->nrows);
    if (set->nreturned) { /* the caller is done with the rows of the previous call */
        memmove(set->rows, set->rows + set->nreturned,
                (set->nrows - set->nreturned) * sizeof *set->rows);
        set->nrows -= set->nreturned;
    }
    expire(set, now_ms);
    for (size_t i = 0; i < set->n; i++) {
        struct watch_series *s = set->all[i];
        if (s->minute_ms >= 0 && s->minute_ms + MINUTE_MS <= now_ms)
            minute_close(set, s);
    }
    set->nreturned = set->nrows;
    *rows = set->rows;
    return set->nrows;
}

void watch_series_each(const struct watch_series_set *set, watch_series_fn *fn, void *arg)
{
    for (size_t i = 0; i < set->n; i++)
        fn(arg, set->all[i]);
}
