/* alert/alert_silence.c: silences (`tend alerts silence RULE --for 2h`).
 *
 * A silence is a pattern (a rule name, or an fnmatch glob such as "api-*") and a wall-clock end.
 * It suppresses notices only; the engine still tracks and shows the state. Silences live in the
 * engine, so they also cover rules configured after them, and survive alert_configure(); they
 * do not survive a daemon restart (the daemon may persist and replay them). Expired silences are
 * dropped at the next evaluation. A handful at most: a linear list is enough. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert_int.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

static bool matches(const char *pattern, const char *name)
{
    return str_eq(pattern, name) || fnmatch(pattern, name, 0) == 0;
}

int alert_silence(struct alert_engine *e, const char *pattern, int64_t until_ms)
{
    if (!pattern || !pattern[0])
        return -TE_INVALID;
    size_t i = 0;
    while (i < e->nsilences && !str_eq(e->silences[i].pattern, pattern))
        i++;
    if (i == e->nsilences) {
        e->silences = xrealloc(e->silences, (e->nsilences + 1) * sizeof *e->silences);
        e->silences[i].pattern = str_dup(pattern);
        e->nsilences++;
    }
    e->silences[i].until_ms = until_ms;
    int n = 0;
    for (size_t k = 0; k < e->nrules; k++)
        n += matches(pattern, e->rules[k]->name);
    return n;
}

int alert_unsilence(struct alert_engine *e, const char *pattern)
{
    for (size_t i = 0; i < e->nsilences; i++)
        if (str_eq(e->silences[i].pattern, pattern)) {
            free(e->silences[i].pattern);
            e->silences[i] = e->silences[--e->nsilences];
            return 0;
        }
    return -TE_NOTFOUND;
}

const struct alert_silence *alert__silenced(const struct alert_engine *e, const char *name,
                                            int64_t now_wall_ms)
{
    const struct alert_silence *best = NULL;
    for (size_t i = 0; i < e->nsilences; i++) {
        const struct alert_silence *s = &e->silences[i];
        if (s->until_ms > now_wall_ms && matches(s->pattern, name) &&
            (!best || s->until_ms > best->until_ms))
            best = s;
    }
    return best;
}

void alert__silences_expire(struct alert_engine *e, int64_t now_wall_ms)
{
    for (size_t i = 0; i < e->nsilences;) {
        if (e->silences[i].until_ms <= now_wall_ms) {
            free(e->silences[i].pattern);
            e->silences[i] = e->silences[--e->nsilences];
        } else {
            i++;
        }
    }
}

void alert__silences_free(struct alert_engine *e)
{
    for (size_t i = 0; i < e->nsilences; i++)
        free(e->silences[i].pattern);
    free(e->silences);
    e->silences = NULL;
    e->nsilences = 0;
}
