/* logs/line.c: the pure part of the logs module: bytes to lines, JSON escaping, stamp parsing.
 *
 * The splitter never copies a complete line that arrives whole in one chunk: it emits a
 * pointer into the caller's bytes. Only an unfinished tail is copied into `part` (bounded by
 * max_line), and the next chunk's beginning is appended to it. A line longer than max_line is
 * emitted in pieces of at most max_line bytes, cut before a UTF-8 continuation byte when one is
 * within the last 3 bytes, so a piece never ends inside a character. The '\n' is not part of
 * the emitted line; a '\r' before it is kept (plain files keep the app's bytes; JSON output
 * strips it with logs__chomp_cr). Nothing here touches the loop, files or clocks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/util.h"
#include "logs/logs_int.h"

void logs__split_init(struct logs_split *s, size_t max_line)
{
    buf_init(&s->part, 0);
    s->max_line = max_line ? max_line : LOGS_DEFAULT_MAX_LINE;
}

void logs__split_fini(struct logs_split *s)
{
    buf_fini(&s->part);
}

/* Where to cut a piece of at most `max` bytes out of p (p[max] is readable): before the
 * character that p[max] continues, when that character starts within the last 3 bytes. */
static size_t cut_at(const char *p, size_t max)
{
    for (size_t back = 0; back < 4 && back < max; back++)
        if (((unsigned char)p[max - back] & 0xC0) != 0x80)
            return max - back;
    return max;
}

/* Emit whole pieces of an over-long run and return how many bytes were used. */
static size_t emit_long(const char *p, size_t n, size_t max, logs__emit_fn *emit, void *arg)
{
    size_t used = 0;
    while (n - used > max) {
        size_t k = cut_at(p + used, max);
        emit(arg, p + used, k);
        used += k;
    }
    return used;
}

/* Complete the held partial line with the first bytes of a new chunk; returns bytes used.
 * `part` grows to max_line + 1 at most, so a cut can look at the byte after the piece. */
static size_t finish_part(struct logs_split *s, const char *p, size_t n, logs__emit_fn *emit,
                          void *arg)
{
    const char *nl = memchr(p, '\n', n);
    size_t take = nl ? (size_t)(nl - p) : n, used = 0;
    while (used < take) {
        size_t k = MIN(s->max_line + 1 - s->part.len, take - used);
        if (buf_append(&s->part, p + used, k) < 0) {
            /* out of memory: what we hold and the rest go out as separate pieces */
            emit(arg, s->part.ptr, s->part.len);
            buf_reset(&s->part);
            emit(arg, p + used, take - used);
            used = take;
            break;
        }
        used += k;
        if (s->part.len > s->max_line) {
            size_t c = cut_at(s->part.ptr, s->max_line);
            emit(arg, s->part.ptr, c);
            buf_consume(&s->part, c);
        }
    }
    if (!nl)
        return n;
    emit(arg, s->part.ptr ? s->part.ptr : "", s->part.len);
    buf_reset(&s->part);
    if (s->part.cap > 4096)
        buf_fini(&s->part); /* keep idle memory small after a long line */
    return take + 1;
}

void logs__split_feed(struct logs_split *s, const char *p, size_t n, logs__emit_fn *emit,
                      void *arg)
{
    size_t off = 0;
    if (s->part.len)
        off = finish_part(s, p, n, emit, arg);
    while (off < n) {
        const char *nl = memchr(p + off, '\n', n - off);
        size_t len = nl ? (size_t)(nl - (p + off)) : n - off;
        size_t used = len > s->max_line ? emit_long(p + off, len, s->max_line, emit, arg) : 0;
        if (!nl) {
            if (buf_append(&s->part, p + off + used, len - used) < 0)
                emit(arg, p + off + used, len - used);
            return;
        }
        emit(arg, p + off + used, len - used);
        off += len + 1;
    }
}

void logs__split_eof(struct logs_split *s, logs__emit_fn *emit, void *arg)
{
    if (s->part.len)
        emit(arg, s->part.ptr, s->part.len);
    buf_fini(&s->part);
}

size_t logs__chomp_cr(const char *p, size_t n)
{
    return n && p[n - 1] == '\r' ? n - 1 : n;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int logs__json_escape(struct buf *out, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0, run = 0; /* bytes [i-run, i) are copied as they are */
    int rc = 0;
    while (i < n && rc == 0) {
        unsigned char c = u[i];
        size_t k = c >= 0x20 && c != '"' && c != '\\' ? utf8_seq(u + i, n - i) : 0;
        if (k) {
            i += k, run += k;
            continue;
        }
        rc = buf_append(out, p + i - run, run);
        run = 0;
        char esc[8] = {'\\', 0};
        size_t elen = 2;
        if (c == '"' || c == '\\')
            esc[1] = (char)c;
        else if (c == '\n' || c == '\t' || c == '\r' || c == '\b' || c == '\f')
            esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : c == '\b' ? 'b' : 'f';
        else if (c < 0x20)
            memcpy(esc + 1, "u00", 3), esc[4] = hex[c >> 4], esc[5] = hex[c & 15], elen = 6;
        else
            memcpy(esc, "\\ufffd", 6), elen = 6; /* a byte that is not UTF-8 */
        if (rc == 0)
            rc = buf_append(out, esc, elen);
        i++;
    }
    if (rc == 0)
        rc = buf_append(out, p + i - run, run);
    return rc;
}

json_t *logs__json_string(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        size_t k = u[i] ? utf8_seq(u + i, n - i) : 0;
        if (!k)
            break;
        i += k;
    }
    if (i == n) {
        json_t *s = json_stringn_nocheck(p, n);
        return s ? s : json_string("");
    }
    /* Rare: rebuild with U+FFFD for each bad byte (and NUL, which jansson would cut at). */
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, p, i);
    while (i < n) {
        size_t k = u[i] ? utf8_seq(u + i, n - i) : 0;
        if (buf_append(&b, k ? p + i : "\xEF\xBF\xBD", k ? k : 3) < 0)
            break;
        i += k ? k : 1;
    }
    json_t *s = json_stringn_nocheck(b.ptr ? b.ptr : "", b.len);
    buf_fini(&b);
    return s ? s : json_string("");
}

/* ---- stamps back to time ---------------------------------------------------------------------- */

/* Read between min and max digits. */
static int digits(const char **p, const char *end, int min, int max, int *out)
{
    int v = 0, k = 0;
    while (*p < end && k < max && **p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        (*p)++, k++;
    }
    *out = v;
    return k >= min ? 0 : -1;
}

/* "+08:00" or "+0800" (or "Z"); seconds east of UTC. */
static int zone(const char **p, const char *end, bool colon, long *off)
{
    if (*p < end && **p == 'Z') {
        (*p)++, *off = 0;
        return 0;
    }
    if (*p >= end || (**p != '+' && **p != '-'))
        return -1;
    int sign = **p == '-' ? -1 : 1, h, m;
    (*p)++;
    if (digits(p, end, 2, 2, &h) < 0)
        return -1;
    if (colon) {
        if (*p >= end || **p != ':')
            return -1;
        (*p)++;
    }
    if (digits(p, end, 2, 2, &m) < 0)
        return -1;
    *off = sign * (h * 3600L + m * 60L);
    return 0;
}

struct stamp_fields {
    struct tm tm;
    int ms;
    bool has_zone;
    long off;
};

/* One token of the pattern against the text. */
static int parse_token(const char *tok, size_t tlen, const char **p, const char *end,
                       struct stamp_fields *f)
{
    int v = 0, full = tlen >= 2;
    switch (tok[0]) {
    case 'Y':
        if (digits(p, end, tlen == 4 ? 4 : 2, tlen == 4 ? 4 : 2, &v) < 0)
            return -1;
        f->tm.tm_year = (tlen == 4 ? v : 2000 + v) - 1900;
        return 0;
    case 'M': if (digits(p, end, full ? 2 : 1, 2, &v) < 0) return -1; f->tm.tm_mon = v - 1; return 0;
    case 'D': if (digits(p, end, full ? 2 : 1, 2, &v) < 0) return -1; f->tm.tm_mday = v; return 0;
    case 'H': if (digits(p, end, full ? 2 : 1, 2, &v) < 0) return -1; f->tm.tm_hour = v; return 0;
    case 'm': if (digits(p, end, full ? 2 : 1, 2, &v) < 0) return -1; f->tm.tm_min = v; return 0;
    case 's': if (digits(p, end, full ? 2 : 1, 2, &v) < 0) return -1; f->tm.tm_sec = v; return 0;
    case 'S': if (digits(p, end, 3, 3, &f->ms) < 0) return -1; return 0;
    case 'Z': f->has_zone = true; return zone(p, end, tlen == 1, &f->off);
    }
    return -1;
}

/* Length of the token at pat (longest first, as clock_format matches), 0 if none. */
static size_t token_len(const char *pat)
{
    static const char *const toks[] = {"YYYY", "YY", "MM", "M", "DD", "D", "HH", "H", "mm",
                                       "m", "ss", "s", "SSS", "ZZ", "Z", NULL};
    for (size_t i = 0; toks[i]; i++)
        if (strncmp(pat, toks[i], strlen(toks[i])) == 0)
            return strlen(toks[i]);
    return 0;
}

int logs__stamp_parse(const char *pattern, const char *p, size_t n, int64_t *wall_ms,
                      size_t *used)
{
    const char *pat = pattern ? pattern : "YYYY-MM-DDTHH:mm:ss.SSSZ";
    const char *s = p, *end = p + n;
    struct stamp_fields f = {.tm = {.tm_mday = 1, .tm_year = 70}};
    while (*pat) {
        size_t tl = token_len(pat);
        if (tl) {
            if (parse_token(pat, tl, &s, end, &f) < 0)
                return -1;
            pat += tl;
        } else if (*pat == '[') {
            const char *close = strchr(pat, ']');
            size_t ll = close ? (size_t)(close - pat - 1) : strlen(pat + 1);
            if ((size_t)(end - s) < ll || memcmp(s, pat + 1, ll) != 0)
                return -1;
            s += ll;
            pat += ll + 1 + (close ? 1 : 0);
        } else {
            if (s >= end || *s != *pat)
                return -1;
            s++, pat++;
        }
    }
    time_t t;
    if (f.has_zone) {
        t = timegm(&f.tm) - f.off;
    } else {
        f.tm.tm_isdst = -1;
        t = mktime(&f.tm);
    }
    if (t == (time_t)-1)
        return -1;
    *wall_ms = (int64_t)t * 1000 + f.ms;
    *used = (size_t)(s - p);
    return 0;
}
