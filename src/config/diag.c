/* config/diag.c: collecting and printing configuration messages.
 *
 * Every check reports through cfg__diag_add(), so a whole file is validated in one run and the
 * user sees every problem at once (STYLE.md 4). The table holds CFG_MAX_MSGS messages; past
 * that `truncated` is set and only the counts grow. An error never loses its place to a
 * warning: when the table is full, an error replaces the last warning in it. Messages are
 * sorted by position before anyone reads them, because interpolation runs as its own pass and
 * would otherwise report ahead of the checks for earlier lines. */
#include "config/config_int.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/str.h"

void cfg__diag_init(struct cfg_diag *d, const char *file)
{
    memset(d, 0, sizeof *d);
    str_copy(d->file, file ? file : "tend.yaml", sizeof d->file);
}

/* Make room for an error in a full table by dropping its last warning; false if none. */
static bool drop_last_warning(struct cfg_diag *d)
{
    for (int i = d->nmsgs - 1; i >= 0; i--) {
        if (d->msgs[i].severity != CFG_WARNING)
            continue;
        memmove(&d->msgs[i], &d->msgs[i + 1], (size_t)(d->nmsgs - i - 1) * sizeof d->msgs[0]);
        d->nmsgs--;
        return true;
    }
    return false;
}

void cfg__diag_vadd(struct cfg_diag *d, enum cfg_severity sev, int line, int col, const char *fmt,
                    va_list ap)
{
    if (sev == CFG_ERROR)
        d->nerrors++;
    else
        d->nwarnings++;
    if (d->nmsgs == CFG_MAX_MSGS) {
        d->truncated = true;
        if (!(sev == CFG_ERROR && drop_last_warning(d)))
            return;
    }
    struct cfg_msg *m = &d->msgs[d->nmsgs++];
    m->severity = sev;
    m->line = line;
    m->col = col;
    vsnprintf(m->text, sizeof m->text, fmt, ap);
}

void cfg__diag_add(struct cfg_diag *d, enum cfg_severity sev, int line, int col, const char *fmt,
                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg__diag_vadd(d, sev, line, col, fmt, ap);
    va_end(ap);
}

static bool msg_before(const struct cfg_msg *a, const struct cfg_msg *b)
{
    return a->line < b->line || (a->line == b->line && a->col < b->col);
}

void cfg__diag_sort(struct cfg_diag *d)
{
    /* Insertion sort: at most 20 entries, and it is stable. */
    for (int i = 1; i < d->nmsgs; i++) {
        struct cfg_msg m = d->msgs[i];
        int j = i - 1;
        while (j >= 0 && msg_before(&m, &d->msgs[j])) {
            d->msgs[j + 1] = d->msgs[j];
            j--;
        }
        d->msgs[j + 1] = m;
    }
}

void cfg_diag_format(const struct cfg_diag *d, struct buf *out)
{
    for (int i = 0; i < d->nmsgs; i++) {
        const struct cfg_msg *m = &d->msgs[i];
        const char *sev = m->severity == CFG_WARNING ? "warning: " : "";
        if (m->line > 0)
            buf_printf(out, "%s:%d:%d: %s%s\n", d->file, m->line, m->col, sev, m->text);
        else
            buf_printf(out, "%s: %s%s\n", d->file, sev, m->text);
    }
    if (d->truncated)
        buf_printf(out, "%s: %d errors in all; only the first %d messages are shown\n", d->file,
                   d->nerrors, CFG_MAX_MSGS);
}

void cfg__error_at(struct cfg__ck *ck, const struct cfg_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg__diag_vadd(ck->diag, CFG_ERROR, n->line, n->col, fmt, ap);
    va_end(ap);
}

void cfg__warn_at(struct cfg__ck *ck, const struct cfg_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg__diag_vadd(ck->diag, CFG_WARNING, n->line, n->col, fmt, ap);
    va_end(ap);
}
