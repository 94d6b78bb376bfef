/* cli/table.c: tables, colours and human units for the terminal (pure; test_table.c).
 *
 * A table is filled cell by cell, then rendered once: each column is as wide as its widest
 * cell measured in display columns (UTF-8 code points, so "↺" counts one), columns are two
 * spaces apart and lines carry no trailing blanks. Colour is decided by the caller (a TTY and
 * no NO_COLOR) and wraps the padded text, so escape codes never change the layout. Units are
 * short and floor-rounded like PM2's (5s, 3m, 2h, 4d; 23.4M), so columns stay narrow. */
#include "cli/cli_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/str.h"
#include "core/util.h"

void cli__table_init(struct cli_table *t, int ncols, const char *const *heads)
{
    memset(t, 0, sizeof *t);
    t->ncols = MIN(ncols, CLI_TABLE_MAXCOLS);
    for (int i = 0; i < t->ncols; i++)
        t->head[i] = heads[i];
}

void cli__table_fini(struct cli_table *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i].text);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

size_t cli__table_row(struct cli_table *t)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = xrealloc(t->cells, t->cap * (size_t)t->ncols * sizeof *t->cells);
    }
    struct cli_cell *row = &t->cells[t->nrows * (size_t)t->ncols];
    memset(row, 0, (size_t)t->ncols * sizeof *row);
    return t->nrows++;
}

void cli__table_set(struct cli_table *t, size_t row, int col, const char *color, const char *fmt,
                    ...)
{
    if (row >= t->nrows || col < 0 || col >= t->ncols)
        return;
    struct cli_cell *c = &t->cells[row * (size_t)t->ncols + (size_t)col];
    struct buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(c->text);
    c->text = rc < 0 ? str_dup("?") : buf_take(&b);
    buf_fini(&b);
    c->color = color;
}

size_t cli__display_width(const char *s)
{
    size_t w = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

void cli__paint(struct buf *out, bool color, const char *code, const char *s)
{
    if (color && code)
        buf_printf(out, "\033[%sm%s\033[0m", code, s);
    else
        buf_puts(out, s);
}

static void put_cell(struct buf *out, bool color, const char *code, const char *text, size_t width,
                     bool right, bool last)
{
    size_t w = cli__display_width(text), pad = width > w ? width - w : 0;
    if (right)
        for (size_t i = 0; i < pad; i++)
            buf_putc(out, ' ');
    cli__paint(out, color, code, text);
    if (!right && !last)
        for (size_t i = 0; i < pad; i++)
            buf_putc(out, ' ');
}

void cli__table_render(const struct cli_table *t, bool color, struct buf *out)
{
    size_t width[CLI_TABLE_MAXCOLS];
    for (int c = 0; c < t->ncols; c++) {
        width[c] = cli__display_width(t->head[c]);
        for (size_t r = 0; r < t->nrows; r++)
            width[c] =
                MAX(width[c], cli__display_width(t->cells[r * (size_t)t->ncols + (size_t)c].text));
    }
    for (int c = 0; c < t->ncols; c++) {
        put_cell(out, color, "1", t->head[c], width[c], t->right[c], c == t->ncols - 1);
        buf_puts(out, c == t->ncols - 1 ? "\n" : "  ");
    }
    for (size_t r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const struct cli_cell *cell = &t->cells[r * (size_t)t->ncols + (size_t)c];
            put_cell(out, color, cell->color, cell->text ? cell->text : "", width[c], t->right[c],
                     c == t->ncols - 1);
            buf_puts(out, c == t->ncols - 1 ? "\n" : "  ");
        }
    }
}

void cli__human_duration(char *dst, size_t size, uint64_t ms)
{
    uint64_t s = ms / 1000;
    if (s < 60)
        snprintf(dst, size, "%llus", (unsigned long long)s);
    else if (s < 3600)
        snprintf(dst, size, "%llum", (unsigned long long)(s / 60));
    else if (s < 86400)
        snprintf(dst, size, "%lluh", (unsigned long long)(s / 3600));
    else
        snprintf(dst, size, "%llud", (unsigned long long)(s / 86400));
}

void cli__human_size(char *dst, size_t size, uint64_t bytes)
{
    static const char units[] = "KMGTP";
    if (bytes < 1024) {
        snprintf(dst, size, "%lluB", (unsigned long long)bytes);
        return;
    }
    double v = (double)bytes / 1024;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    /* Floor to one decimal so 23.49M never shows as 23.5M (and sizes never look bigger). */
    if (v < 100)
        snprintf(dst, size, "%.1f%c", (double)(long long)(v * 10) / 10, units[u]);
    else
        snprintf(dst, size, "%lld%c", (long long)v, units[u]);
}

void cli__human_pct(char *dst, size_t size, double pct)
{
    if (pct < 0)
        pct = 0;
    if (pct == 0 || pct >= 10)
        snprintf(dst, size, "%.0f%%", pct);
    else
        snprintf(dst, size, "%.1f%%", pct);
}

const char *cli__state_color(const char *state)
{
    static const struct {
        const char *state, *code;
    } map[] = {
        {"online", "32"},   {"starting", "33"}, {"waiting", "33"},
        {"stopping", "33"}, {"errored", "31"},  {"stopped", "90"},
    };
    for (size_t i = 0; state && i < ARRAY_LEN(map); i++)
        if (strcmp(state, map[i].state) == 0)
            return map[i].code;
    return NULL;
}

const char *cli__app_color(const char *app)
{
    static const char *const palette[] = {"36", "35", "34", "32", "33", "96", "95", "94"};
    uint32_t h = 2166136261u; /* FNV-1a: stable across runs, so an app keeps its colour */
    for (const char *p = app; p && *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return palette[h % ARRAY_LEN(palette)];
}

bool cli__use_color(FILE *f)
{
    if (getenv("NO_COLOR"))
        return false;
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0)
        return false;
    return isatty(fileno(f)) == 1;
}

void cli__format_time(char *dst, size_t size, const json_t *t)
{
    if (json_is_integer(t) || json_is_real(t)) {
        clock_format(dst, size, "YYYY-MM-DD HH:mm:ss", (int64_t)json_number_value(t));
    } else if (json_is_string(t)) {
        /* ISO 8601 from the server: show it as the other times, without "T" and the zone. */
        const char *s = json_string_value(t);
        str_copy(dst, s, size);
        if (strlen(dst) >= 19 && dst[10] == 'T') {
            dst[10] = ' ';
            dst[19] = '\0';
        }
    } else {
        str_copy(dst, "-", size);
    }
}
