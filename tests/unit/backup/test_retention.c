/* tests/unit/backup/test_retention.c: retention as a table: dates in, exactly these kept.
 *
 * backup/retention.c is a pure function, so each row is a policy, a list of backup times
 * (hours before "now"), and the set that must survive. The guards are rows too: the newest is
 * kept whatever the policy, no rule keeps everything, max_age alone keeps exactly the young. */
#include <string.h>

#include "backup/backup_int.h"
#include "unit.h"

#define H (3600 * 1000LL)
#define D (24 * H)
/* Now: 2026-11-23 (a Monday) 12:00 UTC. */
#define NOW (1795435200000LL)

struct row {
    const char *name;
    struct cfg_backup_keep keep;
    int n;
    long long ago[16]; /* ms before NOW */
    const char *want;  /* 'k' kept, '-' deleted, one per backup in the order given */
};

static const struct row rows[] = {
    {"no rule keeps all", {0}, 3, {0, D, 400 * D}, "kkk"},
    {"last 2", {.last = 2}, 4, {3 * H, 0, 2 * H, H}, "-k-k"},
    {"newest kept even at last 0 + max_age", {.max_age_ms = 1}, 2, {5 * D, 6 * D}, "k-"},
    {"max_age 30d alone", {.max_age_ms = 30 * D}, 4, {0, 29 * D, 31 * D, 90 * D}, "kk--"},
    {"daily 3: newest of each day", {.daily = 3}, 6, {0, 2 * H, D, D + H, 2 * D, 3 * D}, "k-k-k-"},
    {"hourly 2", {.hourly = 2}, 4, {0, 30 * 60000LL, H, 2 * H}, "kk--"},
    {"weekly 2 (Monday weeks)", {.weekly = 2}, 4, {0, D, 3 * D, 8 * D}, "kk--"},
    {"monthly 2", {.monthly = 2}, 4, {0, 5 * D, 30 * D, 60 * D}, "k-k-"},
    {"daily 2 + max_age 1d: max_age wins",
     {.daily = 2, .max_age_ms = D + H},
     3,
     {0, D, 3 * D},
     "kk-"},
    {"last 1 + weekly 1 overlap", {.last = 1, .weekly = 1}, 3, {0, H, 8 * D}, "k--"},
    {"seed 000 db: max_age 30d, 40 daily",
     {.max_age_ms = 30 * D},
     6,
     {0, D, 10 * D, 29 * D, 30 * D + H, 39 * D},
     "kkkk--"},
    {"one backup, old, max_age", {.max_age_ms = D}, 1, {100 * D}, "k"},
};

TEST(table)
{
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        const struct row *w = &rows[r];
        int64_t times[16];
        bool keep[16];
        char got[17] = {0};
        for (int i = 0; i < w->n; i++)
            times[i] = NOW - w->ago[i];
        size_t kept = backup__retention(&w->keep, times, (size_t)w->n, NOW, 0, keep);
        size_t want_kept = 0;
        for (int i = 0; i < w->n; i++) {
            got[i] = keep[i] ? 'k' : '-';
            want_kept += w->want[i] == 'k';
        }
        if (strcmp(got, w->want) != 0 || kept != want_kept)
            UNIT_FAIL("%s: kept \"%s\", expected \"%s\"", w->name, got, w->want);
    }
}

/* Buckets follow the job's clock: 23:30 and 00:30 UTC are one day at UTC+8 (07:30, 08:30). */
TEST(offset_moves_day_edges)
{
    struct cfg_backup_keep k = {.daily = 5};
    int64_t day = NOW - 12 * H; /* 00:00 UTC */
    int64_t times[2] = {day + 30 * 60000LL, day - 30 * 60000LL};
    bool keep[2];
    CHECK_INT(backup__retention(&k, times, 2, NOW, 0, keep), 2);
    CHECK_INT(backup__retention(&k, times, 2, NOW, 8 * 3600, keep), 1);
    CHECK(keep[0] && !keep[1]);
    CHECK_INT(backup__retention(&k, times, 0, NOW, 0, keep), 0);
}

int main(void)
{
    RUN(table);
    RUN(offset_moves_day_edges);
    return unit_done();
}
