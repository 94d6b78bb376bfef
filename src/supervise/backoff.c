/* supervise/backoff.c: crash accounting and restart delays (PM2 lesson 1).
 *
 * The rule, for an app's whole life (not only its first seconds):
 *   - A crash is an exit tend did not ask for (with restart: on-failure, a clean exit 0 is not
 *     one), including a start that never became ready.
 *   - k counts consecutive crashes without a healthy run between them; a run is healthy once
 *     the instance has stayed online for H = max(min_uptime, 10s) (the online state's timer),
 *     and then k resets to 0. A start that never became ready is never healthy, however long
 *     it took. A run shorter than min_uptime is also counted as unstable (shown by status).
 *   - The delay before restarting is restart_delay + (backoff ? min(100ms * 2^(k-1),
 *     backoff_max) : 0), so a crash after a long healthy run restarts after restart_delay only.
 *   - The instance goes errored when more than max_restarts crashes fall within restart_window,
 *     or when k passes max_restarts. The second condition exists because backoff spaces crashes
 *     out: with the defaults (10 in 60s, backoff to 30s) a crash-at-boot loop would never fit 11
 *     crashes in one window, so backoff alone would hide the loop forever.
 *   - errored retries after errored_retry (0 = never). k is kept, so a retry that crashes
 *     quickly again goes straight back to errored: one attempt per errored_retry.
 *   - A person's start or restart (and `tend up`) forgets the history (sup__machine_reset). */
#include <string.h>

#include "core/util.h"
#include "supervise/supervise_int.h"

void sup__policy_from_cfg(struct sup_policy *p, const struct cfg_app *a)
{
    memset(p, 0, sizeof *p);
    p->restart = a->restart;
    p->max_restarts = a->max_restarts;
    p->restart_window_ms = a->restart_window_ms;
    p->min_uptime_ms = a->min_uptime_ms;
    p->restart_delay_ms = a->restart_delay_ms;
    p->backoff = a->backoff;
    p->backoff_max_ms = a->backoff_max_ms;
    p->errored_retry_ms = a->errored_retry_ms;
    p->kill_timeout_ms = a->kill_timeout_ms;
    p->ready_timeout_ms = a->ready_timeout_ms;
}

uint64_t sup__backoff_delay(const struct sup_policy *p, int k)
{
    uint64_t extra = 0;
    if (p->backoff && k > 0) {
        int shift = k - 1 > 40 ? 40 : k - 1; /* 100ms << 40 is far past any cap */
        extra = (uint64_t)100 << shift;
        if (p->backoff_max_ms && extra > p->backoff_max_ms)
            extra = p->backoff_max_ms;
    }
    return p->restart_delay_ms + extra;
}

uint64_t sup__healthy_ms(const struct sup_policy *p)
{
    return MAX(p->min_uptime_ms, (uint64_t)SUP_HEALTHY_MIN_MS);
}

int sup__crash_count(const struct sup_machine *m, const struct sup_policy *p, uint64_t now_ms)
{
    int count = 0;
    for (int i = 0; i < m->crash_n; i++) {
        uint64_t t = m->crash_ms[(m->crash_head + SUP_CRASH_RING - 1 - i) % SUP_CRASH_RING];
        if (now_ms - t < p->restart_window_ms)
            count++;
    }
    return count;
}

bool sup__crash_note(struct sup_machine *m, const struct sup_policy *p, uint64_t now_ms)
{
    uint64_t run = now_ms - m->started_ms;
    if (run < p->min_uptime_ms)
        m->unstable++;
    if (!m->healthy)
        m->k++; /* after a healthy run k is already 0 (SUP_A_HEALTHY): this crash is the first */
    m->crash_ms[m->crash_head] = now_ms;
    m->crash_head = (m->crash_head + 1) % SUP_CRASH_RING;
    if (m->crash_n < SUP_CRASH_RING)
        m->crash_n++;
    int in_window = sup__crash_count(m, p, now_ms);
    return in_window > p->max_restarts || m->k > p->max_restarts;
}

void sup__machine_reset(struct sup_machine *m)
{
    m->k = 0;
    m->crash_n = 0;
    m->crash_head = 0;
}
