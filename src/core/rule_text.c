/* core/rule_text.c: rules and their values as text for people: names, values with units.
 *
 * The other half of core/rule.h: rule.c parses, this file compares and formats, through the
 * public accessors only (the struct stays private to rule.c). Values are shown in the largest
 * unit that keeps them readable ("1.5s", "2G", "26h"), one decimal at most. */
#include <stdio.h>

#include "core/rule.h"

static const char *const field_name[RULE_NFIELDS] = {
    [RULE_FIELD_VALUE] = "",
    [RULE_FIELD_FREE] = "free",
    [RULE_FIELD_INODES] = "inodes",
    [RULE_FIELD_RESTARTS] = "restarts",
    [RULE_FIELD_ONLINE] = "online",
    [RULE_FIELD_CPU] = "cpu",
    [RULE_FIELD_MEMORY] = "memory",
    [RULE_FIELD_LATENCY] = "latency",
    [RULE_FIELD_LATENCY_P50] = "latency.p50",
    [RULE_FIELD_LATENCY_P95] = "latency.p95",
    [RULE_FIELD_LATENCY_P99] = "latency.p99",
    [RULE_FIELD_LATENCY_AVG] = "latency.avg",
    [RULE_FIELD_ERROR_RATE] = "error_rate",
    [RULE_FIELD_RPS] = "rps",
    [RULE_FIELD_CONNECTIONS] = "connections",
    [RULE_FIELD_CLIENTS] = "clients",
    [RULE_FIELD_DAYS_LEFT] = "days_left",
    [RULE_FIELD_AGE] = "age",
};
static const char *const op_name[] = {
    [RULE_GT] = ">",  [RULE_GE] = ">=", [RULE_LT] = "<",  [RULE_LE] = "<=",
    [RULE_EQ] = "==", [RULE_NE] = "!=", [RULE_IS] = "is",
};
static const char *const state_name[] = {
    [RULE_STATE_NONE] = "",
    [RULE_DOWN] = "down",
    [RULE_FAILING] = "failing",
    [RULE_ERRORED] = "errored",
};
static const char *const unit_name[] = {
    [RULE_UNIT_COUNT] = "count",
    [RULE_UNIT_PERCENT] = "percent",
    [RULE_UNIT_MS] = "ms",
    [RULE_UNIT_BYTES] = "bytes",
};

int rule_compare(const struct rule *r, double v)
{
    switch (rule_op(r)) {
    case RULE_GT:
        return v > rule_threshold(r);
    case RULE_GE:
        return v >= rule_threshold(r);
    case RULE_LT:
        return v < rule_threshold(r);
    case RULE_LE:
        return v <= rule_threshold(r);
    case RULE_EQ:
        return v == rule_threshold(r);
    case RULE_NE:
        return v != rule_threshold(r);
    case RULE_IS:
        break;
    }
    return 0;
}

/* "%.1f" without a trailing ".0": 1.5h, 2h. */
static size_t fmt_scaled(char *dst, size_t size, double v, const char *suffix)
{
    double r = (double)(long long)(v * 10 + 0.5) / 10;
    int n = r == (double)(long long)r ? snprintf(dst, size, "%.0f%s", r, suffix)
                                      : snprintf(dst, size, "%.1f%s", r, suffix);
    return n < 0 ? 0 : (size_t)n;
}

size_t rule_format_value(const struct rule *r, double v, char *dst, size_t size)
{
    static const struct {
        double scale;
        const char *suffix;
    } times[] = {{86400e3, "d"}, {3600e3, "h"}, {60e3, "m"}, {1e3, "s"}},
      sizes[] = {{1099511627776.0, "T"}, {1073741824.0, "G"}, {1048576.0, "M"}, {1024, "K"}};
    if (size == 0)
        return 0;
    if (v != v)
        return fmt_scaled(dst, size, 0, "?");
    if (v < 0)
        v = v < -1e15 ? -1e15 : v;
    if (v > 1e15)
        v = 1e15;
    switch (rule_unit(r)) {
    case RULE_UNIT_PERCENT:
        return fmt_scaled(dst, size, v, "%");
    case RULE_UNIT_MS:
        for (size_t i = 0; i < 4; i++)
            if (v >= times[i].scale)
                return fmt_scaled(dst, size, v / times[i].scale, times[i].suffix);
        return fmt_scaled(dst, size, v, "ms");
    case RULE_UNIT_BYTES:
        for (size_t i = 0; i < 4; i++)
            if (v >= sizes[i].scale)
                return fmt_scaled(dst, size, v / sizes[i].scale, sizes[i].suffix);
        return fmt_scaled(dst, size, v, "B");
    case RULE_UNIT_COUNT:
        break;
    }
    return fmt_scaled(dst, size, v, "");
}

size_t rule_format(const struct rule *r, char *dst, size_t size)
{
    int n;
    if (rule_op(r) == RULE_IS)
        n = snprintf(dst, size, "%s.%s%s%s", rule_subject_text(r), state_name[rule_state(r)],
                     rule_for_text(r)[0] ? " for " : "", rule_for_text(r));
    else
        n = snprintf(dst, size, "%s %s %s%s%s%s%s", rule_subject_text(r), op_name[rule_op(r)],
                     rule_value_text(r), rule_in_text(r)[0] ? " in " : "", rule_in_text(r),
                     rule_for_text(r)[0] ? " for " : "", rule_for_text(r));
    return n < 0 ? 0 : (size_t)n;
}

const char *rule_field_name(enum rule_field f)
{
    return (unsigned)f < RULE_NFIELDS ? field_name[f] : "?";
}
const char *rule_op_name(enum rule_op op)
{
    return (unsigned)op <= RULE_IS ? op_name[op] : "?";
}
const char *rule_state_name(enum rule_state st)
{
    return (unsigned)st <= RULE_ERRORED ? state_name[st] : "?";
}
const char *rule_unit_name(enum rule_unit u)
{
    return (unsigned)u <= RULE_UNIT_BYTES ? unit_name[u] : "?";
}
