/* watch/metrics.h: system metrics from /proc, and the time series every metric lives in.
 *
 * Two halves. watch_sys_* reads the machine (CPU, memory, load, disks, network) through files
 * kept open and re-read with pread, so one sample costs a few syscalls and no allocation.
 * watch_series_* keeps the last hour of each named series in fixed ring buffers (one slot per
 * sampling interval, NaN where a sample is missing) and folds every series into one-minute
 * roll-ups (min/avg/max/last) that the daemon hands to the store once per minute.
 *
 * Per-instance figures (CPU%, RSS, fds, threads, restarts) are measured by supervise's own
 * /proc pass; the daemon puts them into the same series set under the names below.
 * Nothing here blocks: statvfs() is only called on local disk filesystems (never NFS/CIFS/FUSE
 * network mounts, which can hang). Time is always passed in (wall ms), so tests inject it. */
#ifndef TEND_WATCH_METRICS_H
#define TEND_WATCH_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;

/* ---- system sampling (sysstat.c) --------------------------------------------------------- */

#define WATCH_SYS_MAX_MOUNTS 32
#define WATCH_SYS_MAX_IFACES 16

struct watch_sys_mount {
    char path[256];         /* mount point as the user writes it: "/data" */
    char fstype[32];        /* "ext4" */
    uint64_t size, avail;   /* bytes; avail as seen by non-root users */
    double used_pct;        /* what `df` shows: used / (used + avail) * 100 */
    double inodes_free_pct; /* NaN when the filesystem has no inode count (btrfs) */
};

struct watch_sys_iface {
    char name[32];
    uint64_t rx_bytes, tx_bytes; /* counters since boot */
    double rx_bps, tx_bps;       /* bytes per second since the previous sample; NaN on the first */
};

struct watch_sys_sample {
    double cpu_pct; /* all cores busy = 100; NaN on the first sample (needs a delta) */
    double mem_pct; /* (MemTotal - MemAvailable) / MemTotal * 100 */
    uint64_t mem_total, mem_available; /* bytes */
    double load1, load5, load15;
    size_t nmounts;
    struct watch_sys_mount mounts[WATCH_SYS_MAX_MOUNTS];
    size_t nifaces; /* every interface but lo */
    struct watch_sys_iface ifaces[WATCH_SYS_MAX_IFACES];
};

/* Owned by the daemon's watch handle. Keeps /proc/stat, /proc/meminfo, /proc/loadavg,
 * /proc/net/dev and /proc/self/mountinfo open; the mount list is re-read only when the kernel
 * says the mount table changed (poll on mountinfo). */
struct watch_sys;
int watch_sys_open(struct watch_sys **out, struct err *err);
void watch_sys_free(struct watch_sys *w); /* NULL is a no-op */
/* Read everything once. now_ms is monotonic (for the network rates). Fills *out entirely;
 * a part that cannot be read is NaN/zero and the call still succeeds unless /proc/stat or
 * /proc/meminfo are unreadable (-errno, err filled). */
int watch_sys_sample(struct watch_sys *w, uint64_t now_ms, struct watch_sys_sample *out,
                     struct err *err);
/* Put one sample into the system series of `set` (cpu_percent, memory_percent, load1/5/15,
 * disk_used_percent and disk_inodes_free_percent per mount, network rates per iface) at wall
 * time now_ms. NaN parts (the first sample's CPU and rates) are skipped. */
struct watch_series_set;
void watch_sys_put(struct watch_series_set *set, const struct watch_sys_sample *smp,
                   int64_t now_ms);

/* ---- time series (series.c) -------------------------------------------------------------- */

/* Series names (the part before labels; Prometheus exports them with a "tend_" prefix). */
#define WATCH_CPU "cpu_percent" /* system */
#define WATCH_MEMORY "memory_percent"
#define WATCH_LOAD1 "load1"
#define WATCH_LOAD5 "load5"
#define WATCH_LOAD15 "load15"
#define WATCH_DISK "disk_used_percent"                   /* {mount} */
#define WATCH_INODES "disk_inodes_free_percent"          /* {mount} */
#define WATCH_NET_RX "network_receive_bytes_per_second"  /* {iface} */
#define WATCH_NET_TX "network_transmit_bytes_per_second" /* {iface} */
#define WATCH_APP_CPU "app_cpu_percent"                  /* {app, instance}; 100 = one core */
#define WATCH_APP_MEMORY "app_memory_bytes"
#define WATCH_APP_FDS "app_open_fds"
#define WATCH_APP_THREADS "app_threads"
#define WATCH_APP_RESTARTS "app_restarts"

#define WATCH_LABELS_MAX 4
struct watch_label {
    const char *name, *value;
};

/* A rolled-up minute of one series, handed to the store. */
struct watch_rollup {
    const char *key; /* borrowed from the series set until the next watch_series_* call */
    int64_t minute_ms;
    double min, avg, max, last;
};

struct watch_stats {
    size_t n; /* samples in the window (NaN slots not counted); 0 = the others are NaN */
    double min, max, avg, last;
};

/* Owned by the daemon's watch handle. interval_ms is the sampling interval (>= 1000); each
 * series keeps 3600 s / interval slots. max_series bounds memory (0 = 4096). */
struct watch_series_set;
struct watch_series;
struct watch_series_set *watch_series_new(uint64_t interval_ms, size_t max_series);
void watch_series_free(struct watch_series_set *set); /* NULL is a no-op */

/* The series `name` with these labels (order does not matter), created empty if new; a hash
 * lookup, cheap enough to call for every sample. The pointer is valid until the next
 * watch_series_rollups() (which frees series without a sample for an hour) or
 * watch_series_free(). NULL when the set is full, a name is empty or there are too many labels. */
struct watch_series *watch_series_get(struct watch_series_set *set, const char *name,
                                      const struct watch_label *labels, size_t nlabels);
/* NULL if no such series. */
struct watch_series *watch_series_find(const struct watch_series_set *set, const char *key);
/* "name" or name{a="x",b="y"} with labels sorted by name (the key stored with roll-ups). */
const char *watch_series_key(const struct watch_series *s);
const char *watch_series_name(const struct watch_series *s);
size_t watch_series_labels(const struct watch_series *s, const struct watch_label **labels);

/* Record a sample at wall time now_ms. Two samples in one interval slot: the later wins for
 * the ring, both count in the minute's roll-up. NaN values and a NULL series are ignored (so
 * watch_series_put(set, watch_series_get(...), ...) is safe when the set is full). */
void watch_series_put(struct watch_series_set *set, struct watch_series *s, int64_t now_ms,
                      double value);
/* Last sample and its time; false if none within the ring. */
bool watch_series_last(const struct watch_series *s, double *value, int64_t *at_ms);
/* Stats of the samples in (now_ms - window_ms, now_ms]; window capped at the ring's hour. */
void watch_series_stats(const struct watch_series_set *set, const struct watch_series *s,
                        int64_t now_ms, int64_t window_ms, struct watch_stats *out);
/* The window split into npoints equal buckets, oldest first, each the average of its samples
 * or NaN when it has none (ready for cli__spark (cli/spark.h)). */
void watch_series_points(const struct watch_series_set *set, const struct watch_series *s,
                         int64_t now_ms, int64_t window_ms, double *points, size_t npoints);

/* Close every minute that ended by now_ms and return those roll-ups (*rows points into the set,
 * valid until the next call). Series without a sample for an hour are dropped here. Call once
 * a minute, a little after the minute turns; returns the number of rows. */
size_t watch_series_rollups(struct watch_series_set *set, int64_t now_ms,
                            const struct watch_rollup **rows);
/* Visit every series (for /metrics and `tend metrics`), in creation order. */
typedef void watch_series_fn(void *arg, const struct watch_series *s);
void watch_series_each(const struct watch_series_set *set, watch_series_fn *fn, void *arg);

#endif
