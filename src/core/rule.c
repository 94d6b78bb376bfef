/* core/rule.c: a hand-written recursive-descent parser for alert rules (grammar in rule.h).
 *
 * How it works: a cursor walks the NUL-terminated text once, left to right; each grammar
 * production is one function that either advances the cursor or records the first error (byte
 * offset + one sentence) and returns -1. What is parsed goes into a `struct draft` on the stack
 * holding spans of the input; only when the whole text is accepted is the result allocated, in
 * one malloc (struct + its strings), so a failed parse allocates nothing and the parser has no
 * state outside its arguments (it is the fuzz target).
 *
 * Invariants: the cursor never passes the NUL (every read checks the current byte first, and the
 * text is measured with strnlen against RULE_MAX first); every (subject, field) pair and the units
 * it accepts come from the constant tables below, so the parser, the error messages, the
 * did-you-mean suggestions and rule_field_path() cannot disagree. */
#include "core/rule.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define RULE_MAX 1024 /* longer text is refused: a rule is one line a person reads */
#define WORD_MAX 32   /* identifiers and unit words are shorter; longer ones are unknown */

enum {
    U_COUNT = 1 << RULE_UNIT_COUNT,
    U_PCT = 1 << RULE_UNIT_PERCENT,
    U_MS = 1 << RULE_UNIT_MS,
    U_BYTES = 1 << RULE_UNIT_BYTES
};
enum { S_DOWN = 1 << RULE_DOWN, S_FAILING = 1 << RULE_FAILING, S_ERRORED = 1 << RULE_ERRORED };
enum arg_kind { ARG_NONE, ARG_REQUIRED, ARG_OPTIONAL };

struct subject_def {
    const char *name;
    enum arg_kind arg;
    const char *arg_word; /* "name" or "path", for "app needs a name: app(NAME)" */
    unsigned states;      /* S_* this subject can be in */
};

static const struct subject_def subjects[RULE_NSUBJECTS] = {
    [RULE_CPU] = {"cpu", ARG_NONE, "", 0},
    [RULE_MEMORY] = {"memory", ARG_NONE, "", 0},
    [RULE_LOAD] = {"load", ARG_NONE, "", 0},
    [RULE_DISK] = {"disk", ARG_REQUIRED, "PATH", 0},
    [RULE_APP] = {"app", ARG_REQUIRED, "NAME", S_DOWN | S_ERRORED | S_FAILING},
    [RULE_CHECK] = {"check", ARG_REQUIRED, "NAME", S_FAILING},
    [RULE_POSTGRES] = {"postgres", ARG_OPTIONAL, "NAME", S_FAILING},
    [RULE_REDIS] = {"redis", ARG_OPTIONAL, "NAME", S_FAILING},
    [RULE_CERT] = {"cert", ARG_REQUIRED, "NAME", S_FAILING},
    [RULE_FILE_AGE] = {"file_age", ARG_REQUIRED, "NAME", S_FAILING},
    [RULE_BACKUP] = {"backup", ARG_REQUIRED, "NAME", S_FAILING},
};
static const char *const subject_words[] = {"cpu",  "memory",   "load",     "disk",
                                            "app",  "check",    "postgres", "redis",
                                            "cert", "file_age", "backup",   NULL};

struct field_def {
    enum rule_subject subject;
    const char *path; /* "" = the subject's own value */
    enum rule_field field;
    unsigned units;  /* U_* accepted */
    bool is_counter; /* `in WINDOW` allowed */
    bool over_100;   /* a percentage above 100 makes sense (CPU of several cores) */
};

static const struct field_def fields[] = {
    {RULE_CPU, "", RULE_FIELD_VALUE, U_PCT, false, false},
    {RULE_MEMORY, "", RULE_FIELD_VALUE, U_PCT | U_BYTES, false, false},
    {RULE_LOAD, "", RULE_FIELD_VALUE, U_COUNT, false, false},
    {RULE_DISK, "", RULE_FIELD_VALUE, U_PCT | U_BYTES, false, false},
    {RULE_DISK, "free", RULE_FIELD_FREE, U_PCT | U_BYTES, false, false},
    {RULE_DISK, "inodes", RULE_FIELD_INODES, U_PCT, false, false},
    {RULE_APP, "restarts", RULE_FIELD_RESTARTS, U_COUNT, true, false},
    {RULE_APP, "online", RULE_FIELD_ONLINE, U_COUNT, false, false},
    {RULE_APP, "cpu", RULE_FIELD_CPU, U_PCT, false, true},
    {RULE_APP, "memory", RULE_FIELD_MEMORY, U_BYTES, false, false},
    {RULE_APP, "latency.p50", RULE_FIELD_LATENCY_P50, U_MS, false, false},
    {RULE_APP, "latency.p95", RULE_FIELD_LATENCY_P95, U_MS, false, false},
    {RULE_APP, "latency.p99", RULE_FIELD_LATENCY_P99, U_MS, false, false},
    {RULE_APP, "latency.avg", RULE_FIELD_LATENCY_AVG, U_MS, false, false},
    {RULE_APP, "error_rate", RULE_FIELD_ERROR_RATE, U_PCT, false, false},
    {RULE_APP, "rps", RULE_FIELD_RPS, U_COUNT, false, false},
    {RULE_CHECK, "latency", RULE_FIELD_LATENCY, U_MS, false, false},
    {RULE_POSTGRES, "connections", RULE_FIELD_CONNECTIONS, U_COUNT, false, false},
    {RULE_POSTGRES, "latency", RULE_FIELD_LATENCY, U_MS, false, false},
    {RULE_REDIS, "clients", RULE_FIELD_CLIENTS, U_COUNT, false, false},
    {RULE_REDIS, "memory", RULE_FIELD_MEMORY, U_BYTES, false, false},
    {RULE_REDIS, "latency", RULE_FIELD_LATENCY, U_MS, false, false},
    {RULE_CERT, "days_left", RULE_FIELD_DAYS_LEFT, U_COUNT, false, false},
    {RULE_FILE_AGE, "", RULE_FIELD_VALUE, U_MS, false, false},
    {RULE_BACKUP, "age", RULE_FIELD_AGE, U_MS, false, false},
};
#define NFIELD_DEFS (sizeof fields / sizeof fields[0])

struct unit_word {
    const char *word;
    enum rule_unit unit;
    double scale;
};
static const struct unit_word unit_words[] = {
    {"%", RULE_UNIT_PERCENT, 1},
    {"ms", RULE_UNIT_MS, 1},
    {"s", RULE_UNIT_MS, 1e3},
    {"m", RULE_UNIT_MS, 60e3},
    {"h", RULE_UNIT_MS, 3600e3},
    {"d", RULE_UNIT_MS, 86400e3},
    {"K", RULE_UNIT_BYTES, 1024.0},
    {"M", RULE_UNIT_BYTES, 1024.0 * 1024},
    {"G", RULE_UNIT_BYTES, 1024.0 * 1024 * 1024},
    {"T", RULE_UNIT_BYTES, 1024.0 * 1024 * 1024 * 1024},
};

struct span {
    size_t at, len;
};

/* What has been parsed so far: spans of the text, no copies. */
struct draft {
    enum rule_subject subject;
    const struct field_def *fd;
    struct span name, arg, path, value, for_, in;
    size_t subj_end; /* just after name(arg).path: "app(api).latency.p95" is [name.at, subj_end) */
    bool has_arg;
    enum rule_op op;
    enum rule_state state;
    enum rule_unit unit;
    double threshold;
    uint64_t for_ms, in_ms;
};

struct parser {
    const char *s;
    size_t pos;
    struct rule_error *e;
    int code;
    struct draft d;
};

/* One allocation: the struct, then its strings in `data`. */
struct rule {
    enum rule_subject subject;
    enum rule_field field;
    enum rule_op op;
    enum rule_state state;
    enum rule_unit unit;
    double threshold;
    uint64_t for_ms, in_ms;
    const char *arg, *subject_text, *value_text, *for_text, *in_text;
    char data[];
};

/* Record the first error at `at` with `code`; returns -1 for `return fail(...)`. */
__attribute__((format(printf, 4, 0))) static int vfail(struct parser *p, int code, size_t at,
                                                       const char *fmt, va_list ap)
{
    if (p->code)
        return -1;
    p->code = code;
    if (p->e) {
        p->e->offset = at;
        vsnprintf(p->e->message, sizeof p->e->message, fmt, ap);
    }
    return -1;
}

/* A syntax error. */
__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, size_t at, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(p, -TE_PARSE, at, fmt, ap);
    va_end(ap);
    return -1;
}

/* A well-formed rule that does not make sense (a unit that does not fit the field). */
__attribute__((format(printf, 3, 4))) static int invalid(struct parser *p, size_t at,
                                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(p, -TE_INVALID, at, fmt, ap);
    va_end(ap);
    return -1;
}

/* The first item of a ", "-separated list, in place ("down, errored" -> "down"). */
static const char *first_item(char *list)
{
    char *c = strchr(list, ',');
    if (c)
        *c = '\0';
    return list;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static bool is_word_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_word(char c)
{
    return is_word_start(c) || is_digit(c);
}
static bool is_op_char(char c)
{
    return c == '>' || c == '<' || c == '=' || c == '!';
}

static void skip_space(struct parser *p)
{
    while (is_space(p->s[p->pos]))
        p->pos++;
}

static size_t word_len(const char *s)
{
    size_t n = 0;
    if (is_word_start(s[0]))
        while (is_word(s[n]))
            n++;
    return n;
}

/* The token at `at` for quoting in a message: up to the next space, at most 24 bytes. */
static int token_len(const char *s)
{
    int n = 0;
    while (s[n] && !is_space(s[n]) && n < 24)
        n++;
    return n;
}

static bool span_eq(const struct parser *p, struct span sp, const char *w)
{
    return strlen(w) == sp.len && memcmp(p->s + sp.at, w, sp.len) == 0;
}

/* Edit distance on a bounded stack buffer (str_distance allocates; parsing must not). */
static size_t distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b), row[WORD_MAX + 1];
    if (la > WORD_MAX || lb > WORD_MAX)
        return WORD_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* The closest word within 2 edits (or a third of the length), or NULL. */
static const char *suggest(const char *w, size_t n, const char *const *words, size_t nwords)
{
    size_t limit = n / 3 < 2 ? 2 : n / 3, best_d = limit + 1;
    const char *best = NULL;
    for (size_t i = 0; i < nwords && words[i]; i++) {
        size_t d = distance(w, n, words[i]);
        if (d < best_d && d < n + strlen(words[i])) {
            best = words[i];
            best_d = d;
        }
    }
    return best;
}

/* subject := name [ "(" arg ")" ] */
static int parse_name(struct parser *p)
{
    struct draft *d = &p->d;
    skip_space(p);
    size_t at = p->pos, n = word_len(p->s + at);
    if (!p->s[at])
        return fail(p, at, "empty rule: write a condition such as cpu > 70%% for 5m");
    if (n == 0)
        return fail(p, at,
                    "expected a metric (cpu, memory, load) or a subject such as app(NAME), "
                    "check(NAME) or disk(PATH), not \"%.*s\"",
                    token_len(p->s + at), p->s + at);
    d->name = (struct span){at, n};
    size_t i = 0;
    while (i < RULE_NSUBJECTS && !span_eq(p, d->name, subjects[i].name))
        i++;
    if (i == RULE_NSUBJECTS) {
        const char *s = suggest(p->s + at, n, subject_words, RULE_NSUBJECTS);
        const char *what = p->s[at + n] == '(' ? "subject" : "metric";
        if (s)
            return fail(p, at, "unknown %s \"%.*s\" (did you mean \"%s\"?)", what, (int)n,
                        p->s + at, s);
        return fail(p, at,
                    "unknown %s \"%.*s\" (known: cpu, memory, load, disk, app, check, postgres, "
                    "redis, cert, file_age, backup)",
                    what, (int)n, p->s + at);
    }
    d->subject = (enum rule_subject)i;
    const struct subject_def *sd = &subjects[i];
    p->pos = at + n;
    if (p->s[p->pos] != '(') {
        if (sd->arg == ARG_REQUIRED)
            return fail(p, p->pos, "%s needs a %s: write %s(%s)", sd->name,
                        sd->arg_word[0] == 'P' ? "path" : "name", sd->name, sd->arg_word);
        return 0;
    }
    if (sd->arg == ARG_NONE)
        return fail(p, p->pos, "%s takes no argument: write %s alone", sd->name, sd->name);
    size_t a = ++p->pos;
    while (p->s[p->pos] && p->s[p->pos] != ')' && p->s[p->pos] != '(' && !is_space(p->s[p->pos]) &&
           (unsigned char)p->s[p->pos] >= 0x20)
        p->pos++;
    if (p->s[p->pos] != ')')
        return fail(p, p->pos, "missing \")\" after %s(%.*s", sd->name, (int)(p->pos - a),
                    p->s + a);
    if (p->pos == a)
        return fail(p, a, "empty %s in %s(): write %s(%s)",
                    sd->arg_word[0] == 'P' ? "path" : "name", sd->name, sd->name, sd->arg_word);
    d->arg = (struct span){a, p->pos - a};
    d->has_arg = true;
    p->pos++;
    return 0;
}

/* The states this subject can be in, as "down, errored, failing", for messages. */
static void state_list(unsigned states, char *dst, size_t size)
{
    dst[0] = '\0';
    for (int st = RULE_DOWN; st <= RULE_ERRORED; st++)
        if (states & (1u << st)) {
            size_t l = strlen(dst);
            snprintf(dst + l, size - l, "%s%s", l ? ", " : "",
                     rule_state_name((enum rule_state)st));
        }
}

/* The state word w[0..n) if `subject` can be in it, else RULE_STATE_NONE. */
static enum rule_state find_state(enum rule_subject subject, const char *w, size_t n)
{
    for (int st = RULE_DOWN; st <= RULE_ERRORED; st++)
        if ((subjects[subject].states & (1u << st)) &&
            strlen(rule_state_name((enum rule_state)st)) == n &&
            memcmp(w, rule_state_name((enum rule_state)st), n) == 0)
            return (enum rule_state)st;
    return RULE_STATE_NONE;
}

static const struct field_def *find_field(enum rule_subject subject, const char *path, size_t n)
{
    for (size_t i = 0; i < NFIELD_DEFS; i++)
        if (fields[i].subject == subject && strlen(fields[i].path) == n &&
            memcmp(fields[i].path, path, n) == 0)
            return &fields[i];
    return NULL;
}

/* Unknown field: a did-you-mean over this subject's fields and states, or the list of them. */
static int unknown_field(struct parser *p, struct span path)
{
    const struct draft *d = &p->d;
    const char *words[NFIELD_DEFS + 4];
    size_t nw = 0;
    char list[200] = "";
    for (size_t i = 0; i < NFIELD_DEFS; i++)
        if (fields[i].subject == d->subject && fields[i].path[0])
            words[nw++] = fields[i].path;
    for (int st = RULE_DOWN; st <= RULE_ERRORED; st++)
        if (subjects[d->subject].states & (1u << st))
            words[nw++] = rule_state_name((enum rule_state)st);
    for (size_t i = 0; i < nw; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", words[i]);
    }
    const char *name = subjects[d->subject].name;
    const char *s = suggest(p->s + path.at, path.len, words, nw);
    if (s)
        return fail(p, path.at, "unknown field \"%.*s\" of %s (did you mean \"%s\"?)",
                    (int)path.len, p->s + path.at, name, s);
    if (nw == 0)
        return fail(p, path.at - 1, "%s has no fields: compare it directly (%s > VALUE)", name,
                    name);
    return fail(p, path.at, "unknown field \"%.*s\" of %s (known: %s)", (int)path.len,
                p->s + path.at, name, list);
}

/* [ "." field [ "." field ] ]  or  "." state */
static int parse_field(struct parser *p)
{
    struct draft *d = &p->d;
    d->subj_end = p->pos;
    if (p->s[p->pos] != '.') {
        d->fd = find_field(d->subject, "", 0); /* may be NULL: then a state must follow */
        return 0;
    }
    size_t at = ++p->pos, n = word_len(p->s + at);
    if (n == 0)
        return fail(p, at, "expected a field name after \"%.*s.\"", (int)(at - 1 - d->name.at),
                    p->s + d->name.at);
    d->state = find_state(d->subject, p->s + at, n);
    if (d->state != RULE_STATE_NONE) {
        d->path = (struct span){at, n};
        d->op = RULE_IS;
        p->pos = at + n;
        d->subj_end = p->pos;
        return 0;
    }
    p->pos = at + n;
    if (p->s[p->pos] == '.' && word_len(p->s + p->pos + 1) > 0)
        p->pos += 1 + word_len(p->s + p->pos + 1);
    d->path = (struct span){at, p->pos - at};
    d->subj_end = p->pos;
    d->fd = find_field(d->subject, p->s + at, p->pos - at);
    if (d->fd)
        return 0;
    /* "app(api).latency" alone: name the percentiles rather than "unknown field". */
    if (d->path.len == n && find_field(d->subject, "latency.p95", 11) &&
        span_eq(p, (struct span){at, n}, "latency"))
        return fail(p, at,
                    "%s latency needs a percentile: latency.p50, latency.p95, "
                    "latency.p99 or latency.avg",
                    subjects[d->subject].name);
    return unknown_field(p, d->path);
}

static const char *const op_words[] = {">=", "<=", "==", "!=", ">", "<"};
static const enum rule_op op_values[] = {RULE_GE, RULE_LE, RULE_EQ, RULE_NE, RULE_GT, RULE_LT};

/* op := > >= < <= == !=   or a bare state word ("check(db) failing") */
static int parse_op(struct parser *p)
{
    struct draft *d = &p->d;
    skip_space(p);
    size_t at = p->pos;
    const char *s = p->s + at;
    int subj_len = (int)(d->subj_end - d->name.at);
    const char *subj = p->s + d->name.at;
    size_t n = word_len(s);
    if (n && d->path.len == 0) {
        d->state = find_state(d->subject, s, n);
        if (d->state != RULE_STATE_NONE) {
            d->op = RULE_IS;
            p->pos = at + n;
            return 0;
        }
    }
    char states[64];
    state_list(subjects[d->subject].states, states, sizeof states);
    if (!d->fd) {
        const char *example = "";
        for (size_t i = 0; i < NFIELD_DEFS && !example[0]; i++)
            if (fields[i].subject == d->subject)
                example = fields[i].path;
        return fail(p, at, "expected a field or a state after \"%.*s\", such as %.*s.%s or %.*s.%s",
                    subj_len, subj, subj_len, subj, first_item(states), subj_len, subj, example);
    }
    for (size_t i = 0; i < sizeof op_words / sizeof op_words[0]; i++) {
        size_t k = strlen(op_words[i]);
        if (strncmp(s, op_words[i], k) == 0 && !is_op_char(s[k])) {
            d->op = op_values[i];
            p->pos = at + k;
            return 0;
        }
    }
    if (s[0] == '=' && (s[1] == '>' || s[1] == '<'))
        return fail(p, at, "\"%.2s\" is not a comparison (did you mean \"%c=\"?)", s, s[1]);
    if (s[0] == '=' && s[1] != '=')
        return fail(p, at, "\"%.*s\" is not a comparison: write \"==\" for equality", token_len(s),
                    s);
    const char *what = s[0] ? "\"" : "";
    int tl = token_len(s);
    if (states[0] && d->path.len == 0)
        return fail(p, at,
                    "expected a comparison (>, <, >=, <=, ==, !=) or a state (%s) after "
                    "\"%.*s\"%s%s%.*s%s",
                    states, subj_len, subj, s[0] ? ", not " : "", what, tl, s, what);
    return fail(p, at, "expected a comparison (>, <, >=, <=, ==, !=) after \"%.*s\"%s%s%.*s%s",
                subj_len, subj, s[0] ? ", not " : "", what, tl, s, what);
}

/* number [unit]; no sign, no space before the unit. *unit = -1 when none was written. */
static int parse_number(struct parser *p, double *v, int *unit, double *scale)
{
    size_t at = p->pos;
    double x = 0;
    int digits = 0;
    while (is_digit(p->s[p->pos])) {
        x = x * 10 + (p->s[p->pos++] - '0');
        if (++digits > 15)
            return fail(p, at, "number too large: \"%.*s\"", token_len(p->s + at), p->s + at);
    }
    if (digits == 0)
        return -1; /* the caller says what it expected */
    if (p->s[p->pos] == '.' && is_digit(p->s[p->pos + 1])) {
        double f = 0.1;
        for (p->pos++; is_digit(p->s[p->pos]); p->pos++, f /= 10)
            x += (p->s[p->pos] - '0') * f;
    }
    *v = x;
    *unit = -1;
    *scale = 1;
    size_t u = p->pos, n = p->s[u] == '%' ? 1 : word_len(p->s + u);
    if (n == 0)
        return 0;
    for (size_t i = 0; i < sizeof unit_words / sizeof unit_words[0]; i++)
        if (strlen(unit_words[i].word) == n && memcmp(unit_words[i].word, p->s + u, n) == 0) {
            *unit = (int)unit_words[i].unit;
            *scale = unit_words[i].scale;
            p->pos = u + n;
            return 0;
        }
    return fail(p, u, "unknown unit \"%.*s\" in \"%.*s\" (units: %% ms s m h d K M G T)",
                token_len(p->s + u), p->s + u, token_len(p->s + at), p->s + at);
}

/* What to write for a field of these units, for "is a duration: write 500ms, not ...". */
static const char *unit_advice(unsigned units)
{
    if (units == U_PCT)
        return "a percentage: write it as 70%";
    if (units == (U_PCT | U_BYTES))
        return "a percentage or a size: write it as 80% or 2G";
    if (units == U_MS)
        return "a duration: write it as 500ms, 30s, 5m, 26h or 7d";
    if (units == U_BYTES)
        return "a size: write it as 512M or 2G";
    return "a plain number: write it without a unit, as 150";
}

/* value := number [unit], checked against the field's units and normalised. */
static int parse_value(struct parser *p)
{
    struct draft *d = &p->d;
    skip_space(p);
    size_t at = p->pos;
    double v, scale;
    int unit;
    if (parse_number(p, &v, &unit, &scale) < 0)
        return p->code ? -1
                       : fail(p, at, "expected a number after \"%s\"%s%.*s%s", rule_op_name(d->op),
                              p->s[at] ? ", not \"" : "", token_len(p->s + at), p->s + at,
                              p->s[at] ? "\"" : "");
    d->value = (struct span){at, p->pos - at};
    /* "500 ms": a unit word after a space would otherwise read as trailing junk. */
    size_t q = p->pos;
    while (is_space(p->s[q]))
        q++;
    size_t n = p->s[q] == '%' ? 1 : word_len(p->s + q);
    for (size_t i = 0; unit < 0 && q > p->pos && i < sizeof unit_words / sizeof unit_words[0]; i++)
        if (n && strlen(unit_words[i].word) == n && memcmp(unit_words[i].word, p->s + q, n) == 0)
            return fail(p, q, "write the unit right after the number: \"%.*s%.*s\"",
                        (int)d->value.len, p->s + at, (int)n, p->s + q);
    enum rule_unit u = unit < 0 ? RULE_UNIT_COUNT : (enum rule_unit)unit;
    if (!(d->fd->units & (1u << u)))
        return invalid(p, at, "%.*s is %s, not \"%.*s\"", (int)(d->subj_end - d->name.at),
                       p->s + d->name.at, unit_advice(d->fd->units), (int)d->value.len, p->s + at);
    if (u == RULE_UNIT_PERCENT && v > 100 && !d->fd->over_100)
        return invalid(p, at, "a percentage is at most 100%%, not \"%.*s\"", (int)d->value.len,
                       p->s + at);
    d->unit = u;
    d->threshold = v * scale;
    return 0;
}

/* DURATION after `for` or `in`: a number with a time unit. */
static int parse_duration(struct parser *p, const char *kw, struct span *sp, uint64_t *ms)
{
    skip_space(p);
    size_t at = p->pos;
    double v, scale;
    int unit, rc = parse_number(p, &v, &unit, &scale);
    if (rc < 0 && p->code)
        return -1; /* an unknown unit or a huge number: that message is more precise */
    if (rc < 0 || unit != RULE_UNIT_MS) {
        return fail(p, at, "\"%s\" needs a duration such as 5m, 30s or 1h%s%.*s%s", kw,
                    p->s[at] ? ", not \"" : "", token_len(p->s + at), p->s + at,
                    p->s[at] ? "\"" : "");
    }
    /* 15 digits of days reach 8.6e22 ms: past uint64, where the cast below is undefined
     * (fuzz_rule found "for 333331666699960m"). No alert waits longer than ten years. */
    if (v * scale > 3650.0 * 86400 * 1000)
        return invalid(p, at, "\"%s %.*s\" is longer than 10 years (3650d)", kw,
                       token_len(p->s + at), p->s + at);
    *sp = (struct span){at, p->pos - at};
    *ms = (uint64_t)(v * scale + 0.5);
    return 0;
}

/* [ in DURATION ] [ for DURATION ], then the end of the text. */
static int parse_tail(struct parser *p)
{
    struct draft *d = &p->d;
    skip_space(p);
    size_t at = p->pos, n = word_len(p->s + at);
    if (n == 2 && memcmp(p->s + at, "in", 2) == 0) {
        if (d->op == RULE_IS || !d->fd->is_counter)
            return invalid(p, at,
                           "\"in\" applies only to counters such as app(NAME).restarts; use \"for "
                           "5m\" to require the condition for a while");
        p->pos = at + 2;
        if (parse_duration(p, "in", &d->in, &d->in_ms) < 0)
            return -1;
        if (d->in_ms == 0)
            return fail(p, d->in.at, "the window after \"in\" must be longer than 0");
        skip_space(p);
        at = p->pos;
        n = word_len(p->s + at);
    }
    if (n == 3 && memcmp(p->s + at, "for", 3) == 0) {
        p->pos = at + 3;
        if (parse_duration(p, "for", &d->for_, &d->for_ms) < 0)
            return -1;
        skip_space(p);
        at = p->pos;
    }
    if (p->s[at])
        return fail(p, at,
                    "unexpected \"%.*s\" after the rule (expected \"for DURATION\"%s or "
                    "the end; one condition per rule)",
                    token_len(p->s + at), p->s + at,
                    d->op != RULE_IS && d->fd->is_counter ? ", \"in DURATION\"" : "");
    return 0;
}

static int parse_all(struct parser *p)
{
    if (parse_name(p) < 0 || parse_field(p) < 0)
        return -1;
    if (p->d.op != RULE_IS) {
        if (parse_op(p) < 0)
            return -1;
        if (p->d.op != RULE_IS && parse_value(p) < 0)
            return -1;
    }
    return parse_tail(p);
}

/* Append span (or literal) text into r->data at *used; returns the copy. */
static const char *put(struct rule *r, size_t *used, const char *s, size_t n)
{
    char *dst = r->data + *used;
    memcpy(dst, s, n);
    dst[n] = '\0';
    *used += n + 1;
    return dst;
}

int rule_parse(const char *text, struct rule **out, struct rule_error *e)
{
    struct parser p = {.s = text, .e = e};
    *out = NULL;
    if (e) {
        e->offset = 0;
        e->message[0] = '\0';
    }
    size_t len = strnlen(text, RULE_MAX + 1);
    if (len > RULE_MAX) {
        if (e) {
            e->offset = RULE_MAX;
            snprintf(e->message, sizeof e->message, "rule longer than %d bytes", RULE_MAX);
        }
        return -TE_TOOBIG;
    }
    if (parse_all(&p) < 0)
        return p.code ? p.code : -TE_PARSE;
    const struct draft *d = &p.d;
    /* Subject text: name(arg).path, canonical (no spaces); states are not part of it. */
    size_t subj_len = d->name.len + (d->has_arg ? d->arg.len + 2 : 0) +
                      (d->op != RULE_IS && d->path.len ? d->path.len + 1 : 0);
    size_t size = sizeof(struct rule) + d->arg.len + 1 + subj_len + 1 + d->value.len + 1 +
                  d->for_.len + 1 + d->in.len + 1;
    struct rule *r = calloc(1, size);
    if (!r) {
        if (e) {
            e->offset = 0;
            snprintf(e->message, sizeof e->message, "out of memory");
        }
        return -ENOMEM;
    }
    r->subject = d->subject;
    r->field = d->op == RULE_IS ? RULE_FIELD_VALUE : d->fd->field;
    r->op = d->op;
    r->state = d->state;
    r->unit = d->unit;
    r->threshold = d->op == RULE_IS ? 0 : d->threshold;
    r->for_ms = d->for_ms;
    r->in_ms = d->in_ms;
    size_t used = 0;
    r->arg = d->has_arg ? put(r, &used, text + d->arg.at, d->arg.len) : NULL;
    char *st = r->data + used;
    size_t k = 0;
    memcpy(st, text + d->name.at, d->name.len), k = d->name.len;
    if (d->has_arg) {
        st[k++] = '(';
        memcpy(st + k, text + d->arg.at, d->arg.len), k += d->arg.len;
        st[k++] = ')';
    }
    if (d->op != RULE_IS && d->path.len) {
        st[k++] = '.';
        memcpy(st + k, text + d->path.at, d->path.len), k += d->path.len;
    }
    st[k] = '\0';
    r->subject_text = st;
    used += k + 1;
    r->value_text = put(r, &used, text + d->value.at, d->value.len);
    r->for_text = put(r, &used, text + d->for_.at, d->for_.len);
    r->in_text = put(r, &used, text + d->in.at, d->in.len);
    *out = r;
    return 0;
}

void rule_free(struct rule *r)
{
    free(r);
}

enum rule_subject rule_subject(const struct rule *r)
{
    return r->subject;
}
const char *rule_arg(const struct rule *r)
{
    return r->arg;
}
enum rule_field rule_field(const struct rule *r)
{
    return r->field;
}
const char *rule_field_path(const struct rule *r)
{
    return rule_field_name(r->field);
}
enum rule_op rule_op(const struct rule *r)
{
    return r->op;
}
enum rule_state rule_state(const struct rule *r)
{
    return r->state;
}
double rule_threshold(const struct rule *r)
{
    return r->threshold;
}
enum rule_unit rule_unit(const struct rule *r)
{
    return r->unit;
}
uint64_t rule_for_ms(const struct rule *r)
{
    return r->for_ms;
}
uint64_t rule_in_ms(const struct rule *r)
{
    return r->in_ms;
}
const char *rule_subject_text(const struct rule *r)
{
    return r->subject_text;
}
const char *rule_value_text(const struct rule *r)
{
    return r->value_text;
}
const char *rule_for_text(const struct rule *r)
{
    return r->for_text;
}
const char *rule_in_text(const struct rule *r)
{
    return r->in_text;
}

const char *rule_subject_name(enum rule_subject s)
{
    return (unsigned)s < RULE_NSUBJECTS ? subjects[s].name : "?";
}
