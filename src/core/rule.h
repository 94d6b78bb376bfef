/* core/rule.h: the alert rule language of tend.yaml (`cpu > 70% for 5m`), parsed to a small AST.
 *
 *   rule    := subject ( op value | ["."] state ) [ "in" DURATION ] [ "for" DURATION ]
 *   subject := metric | fn [ "(" arg ")" ] [ "." field [ "." field ] ]
 *   metric  := cpu | memory | load
 *   fn      := app | check | postgres | redis | cert | file_age | disk | backup
 *   state   := down | errored | failing (app); failing (the others but disk)
 *   op      := > | >= | < | <= | == | !=
 *   value   := number [ % | ms s m h d | K M G T ]
 *
 * rule_parse() is a pure function of its string (no globals, no I/O, one allocation: the result),
 * so it is also the fuzz target. Every threshold is unit-checked against its field: a percent on a
 * latency is an error, and a value is stored in the field's base unit (percent 0-100,
 * milliseconds, bytes, or a plain count). `in` is accepted only on counters (restarts).
 * A parse error gives the byte offset of the mistake inside `text`; config/ adds it to the YAML
 * scalar's position to print `tend.yaml:LINE:COL:`. */
#ifndef TEND_CORE_RULE_H
#define TEND_CORE_RULE_H

#include <stddef.h>
#include <stdint.h>

/* What a rule is about. Stored values only grow (rules are not stored by number, but JSON is). */
enum rule_subject {
    RULE_CPU,      /* host CPU busy, percent */
    RULE_MEMORY,   /* host memory used, percent or bytes */
    RULE_LOAD,     /* host 1-minute load average */
    RULE_DISK,     /* disk(PATH): used percent; .free bytes or percent; .inodes used percent */
    RULE_APP,      /* app(NAME) */
    RULE_CHECK,    /* check(NAME): a probe of `checks:` */
    RULE_POSTGRES, /* postgres(NAME) or `postgres` alone when exactly one postgres check exists */
    RULE_REDIS,    /* redis(NAME) or `redis` alone */
    RULE_CERT,     /* cert(NAME): a tls check */
    RULE_FILE_AGE, /* file_age(NAME): age of the newest file matched by that check */
    RULE_BACKUP,   /* backup(NAME): a backup job of issue 4 */
    RULE_NSUBJECTS
};

/* Which value of the subject. RULE_FIELD_VALUE is the subject's own value (cpu, disk(/data)). */
enum rule_field {
    RULE_FIELD_VALUE,
    RULE_FIELD_FREE,        /* disk: free space, bytes or percent */
    RULE_FIELD_INODES,      /* disk: inodes used, percent */
    RULE_FIELD_RESTARTS,    /* app: restarts (a counter; with `in`, the increase over the window) */
    RULE_FIELD_ONLINE,      /* app: online instances, count */
    RULE_FIELD_CPU,         /* app: CPU of all instances, percent of one core */
    RULE_FIELD_MEMORY,      /* app: RSS of all instances, bytes; redis: used_memory, bytes */
    RULE_FIELD_LATENCY,     /* check/postgres/redis: probe latency, ms */
    RULE_FIELD_LATENCY_P50, /* app: from access logs, ms */
    RULE_FIELD_LATENCY_P95,
    RULE_FIELD_LATENCY_P99,
    RULE_FIELD_LATENCY_AVG,
    RULE_FIELD_ERROR_RATE,  /* app: 5xx share of requests, percent */
    RULE_FIELD_RPS,         /* app: requests per second */
    RULE_FIELD_CONNECTIONS, /* postgres: open connections, count */
    RULE_FIELD_CLIENTS,     /* redis: connected clients, count */
    RULE_FIELD_DAYS_LEFT,   /* cert: days until expiry, count */
    RULE_FIELD_AGE,         /* backup: time since the last good backup, ms */
    RULE_NFIELDS
};

enum rule_op { RULE_GT, RULE_GE, RULE_LT, RULE_LE, RULE_EQ, RULE_NE, RULE_IS /* state rule */ };
enum rule_state { RULE_STATE_NONE, RULE_DOWN, RULE_FAILING, RULE_ERRORED };
/* The base unit of a threshold (and of the value the engine compares it with). */
enum rule_unit { RULE_UNIT_COUNT, RULE_UNIT_PERCENT, RULE_UNIT_MS, RULE_UNIT_BYTES };

struct rule; /* opaque; one allocation, freed by rule_free() */

struct rule_error {
    size_t offset;     /* byte offset of the mistake in the text given to rule_parse() */
    char message[240]; /* `unknown metric "cpuu" (did you mean "cpu"?)`; no position in it */
};

/* Parse one rule. 0 and *out set (the caller's, free with rule_free), or -TE_PARSE (syntax),
 * -TE_INVALID (unit or field mismatch), -TE_TOOBIG (text over 1024 bytes) or -ENOMEM with *out
 * NULL and *e filled (e may be NULL). Never reads past the terminating NUL. */
int rule_parse(const char *text, struct rule **out, struct rule_error *e);
void rule_free(struct rule *r); /* NULL is a no-op */

/* Accessors. Strings are borrowed from the rule and live as long as it does. */
enum rule_subject rule_subject(const struct rule *r);
const char *rule_arg(const struct rule *r); /* "api", "/data"; NULL when none was written */
enum rule_field rule_field(const struct rule *r);
const char *rule_field_path(const struct rule *r); /* "latency.p95"; "" for RULE_FIELD_VALUE */
enum rule_op rule_op(const struct rule *r);
enum rule_state rule_state(const struct rule *r); /* RULE_STATE_NONE unless rule_op is RULE_IS */
double rule_threshold(const struct rule *r);      /* in rule_unit; 0 for a state rule */
enum rule_unit rule_unit(const struct rule *r);
uint64_t rule_for_ms(const struct rule *r); /* 0 when no `for` */
uint64_t rule_in_ms(const struct rule *r);  /* 0 when no `in` */
/* The subject as written canonically: "app(api).latency.p95", "cpu", "disk(/data)". */
const char *rule_subject_text(const struct rule *r);
/* The threshold, `for` and `in` as written: "500ms", "5m", "10m"; "" when absent. */
const char *rule_value_text(const struct rule *r);
const char *rule_for_text(const struct rule *r);
const char *rule_in_text(const struct rule *r);

/* Is the condition true for `value` (in rule_unit)? Not for state rules. */
int rule_compare(const struct rule *r, double value);
/* Format a value of the rule's unit for people: "83%", "512ms", "1.5h", "2.0G", "151". */
size_t rule_format_value(const struct rule *r, double value, char *dst, size_t size);
/* The canonical rule text: "app(api).restarts > 5 in 10m" (threshold in the unit written). */
size_t rule_format(const struct rule *r, char *dst, size_t size);

/* Names for JSON and logs: "app", "latency.p95", ">", "down", "percent". Never NULL. */
const char *rule_subject_name(enum rule_subject s);
const char *rule_field_name(enum rule_field f);
const char *rule_op_name(enum rule_op op);
const char *rule_state_name(enum rule_state st);
const char *rule_unit_name(enum rule_unit u);

#endif
