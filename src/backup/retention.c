/* backup/retention.c: which backups to keep, as a pure function (dates in, decisions out).
 *
 * The rules are restic's and borg's, which users already know: `last: N` keeps the N newest;
 * `hourly|daily|weekly|monthly: N` keep the newest backup of each of the N most recent hours,
 * days, ISO weeks (Monday first) or months that have one; `max_age` deletes what is older. A
 * backup is kept when a count rule selects it (or no count rule is set) and it is not older
 * than max_age. Two guards come first, whatever the policy says: the newest backup is always
 * kept (a broken schedule must not prune the last good copy), and with no rule at all nothing
 * is deleted. Calendar buckets use wall time shifted by utc_offset_s, so "daily" means the
 * job's days; a DST change shifts a bucket edge by an hour, never loses a backup. */
#include "backup/backup_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

enum { B_HOUR, B_DAY, B_WEEK, B_MONTH, B_N };

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The bucket number of a local time (seconds since the epoch, already shifted). */
static int64_t bucket(int kind, int64_t t)
{
    int64_t days = floor_div(t, 86400);
    switch (kind) {
    case B_HOUR:
        return floor_div(t, 3600);
    case B_DAY:
        return days;
    case B_WEEK:
        return floor_div(days + 3, 7); /* 1970-01-01 was a Thursday; weeks start on Monday */
    default: {
        /* Civil month from days (Howard Hinnant's days_from_civil, inverted). */
        int64_t z = days + 719468, era = floor_div(z, 146097);
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        int64_t m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
        return y * 12 + m - 1;
    }
    }
}

size_t backup__retention(const struct cfg_backup_keep *keep, const int64_t *times, size_t n,
                         int64_t now_ms, long utc_offset_s, bool *keep_out)
{
    const int counts[B_N] = {keep->hourly, keep->daily, keep->weekly, keep->monthly};
    bool any_count = keep->last > 0;
    for (int k = 0; k < B_N; k++)
        any_count |= counts[k] > 0;
    if (n == 0)
        return 0;
    size_t *order = xcalloc(n, sizeof *order), kept = 0;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    /* Newest first. An insertion sort, not qsort: qsort's comparator would need the times
     * through a file-static pointer, and this runs in several worker threads (n is small). */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && times[order[j]] > times[order[j - 1]]; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    bool *sel = xcalloc(n, sizeof *sel);
    for (size_t r = 0; r < n && (int)r < keep->last; r++)
        sel[order[r]] = true;
    for (int k = 0; k < B_N; k++) {
        int64_t last_bucket = 0;
        int used = 0;
        for (size_t r = 0; r < n && used < counts[k]; r++) {
            int64_t bk = bucket(k, floor_div(times[order[r]], 1000) + utc_offset_s);
            if (used > 0 && bk == last_bucket)
                continue; /* a newer backup already stands for this bucket */
            sel[order[r]] = true;
            last_bucket = bk;
            used++;
        }
    }
    for (size_t r = 0; r < n; r++) {
        size_t i = order[r];
        bool young = !keep->max_age_ms || now_ms - times[i] <= (int64_t)keep->max_age_ms;
        bool no_rule = !any_count && !keep->max_age_ms;
        keep_out[i] = r == 0 || no_rule || ((sel[i] || !any_count) && young);
        kept += keep_out[i];
    }
    free(sel);
    free(order);
    return kept;
}
