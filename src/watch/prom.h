/* watch/prom.h: writing the Prometheus text exposition format, version 0.0.4 (GET /metrics).
 *
 * A family is one "# HELP" and one "# TYPE" line followed by its samples; the writer keeps the
 * rules a scraper enforces: valid metric and label names, each family once, samples only inside
 * their family, label values and HELP escaped, histograms complete (cumulative _bucket series
 * with an le label ending at "+Inf", then _sum and _count, count == the +Inf bucket).
 * Errors are sticky: after the first one every call returns it and writes nothing, so a caller
 * writes the whole page and checks once with watch_prom_finish(). Serve it as
 * "text/plain; version=0.0.4; charset=utf-8". */
#ifndef TEND_WATCH_PROM_H
#define TEND_WATCH_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "watch/metrics.h" /* struct watch_label */

enum watch_prom_type { WATCH_PROM_GAUGE, WATCH_PROM_COUNTER, WATCH_PROM_HISTOGRAM };

/* Embedded by the caller; watch_prom_init, write, watch_prom_finish. */
struct watch_prom {
    struct buf *out; /* borrowed */
    int rc;          /* the first error, 0 if none */
    enum watch_prom_type type;
    char family[128]; /* the family being written; "" before the first */
    struct buf seen;  /* "\nname\nname\n": families written, to refuse a second TYPE line */
};

void watch_prom_init(struct watch_prom *p, struct buf *out);
/* Free what the writer holds; returns the first error of the whole page: 0, -TE_INVALID (a bad
 * name, a sample outside its family, a family twice, buckets not increasing) or -TE_TOOBIG /
 * -ENOMEM from the buffer. The output is only valid when this returns 0. */
int watch_prom_finish(struct watch_prom *p);

/* Start a family: "# HELP name help" and "# TYPE name type". Counters should be named
 * *_total (Prometheus convention; not enforced). */
int watch_prom_family(struct watch_prom *p, const char *name, enum watch_prom_type type,
                      const char *help);
/* One sample of the current gauge or counter family: name{labels} value. */
int watch_prom_sample(struct watch_prom *p, const struct watch_label *labels, size_t nlabels,
                      double value);
/* One histogram of the current histogram family. bounds[nbounds] are the finite upper bounds,
 * strictly increasing; counts[nbounds + 1] are per-bucket (not cumulative) observations, the
 * last one those above every bound. Writes name_bucket{...,le="b"} (cumulative, then le="+Inf"),
 * name_sum and name_count. Labels must not include "le". */
int watch_prom_histogram(struct watch_prom *p, const struct watch_label *labels, size_t nlabels,
                         const double *bounds, const uint64_t *counts, size_t nbounds, double sum);

/* Every known series of `set` (the names in metrics.h) as gauges named "tend_" + name, valued
 * at their last sample; samples older than max_age_ms at now_ms (wall) are left out, so a
 * stopped instance disappears instead of showing its last figure forever. */
int watch_prom_series(struct watch_prom *p, const struct watch_series_set *set, int64_t now_ms,
                      int64_t max_age_ms);

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
bool watch_prom_name_ok(const char *name);
/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for Prometheus itself). */
bool watch_prom_label_ok(const char *name);
/* A value as Prometheus writes it: "NaN", "+Inf", "-Inf", else the shortest text that reads
 * back to the same double. dst must hold 32 bytes. */
void watch_prom_value(char *dst, size_t size, double v);

#endif
