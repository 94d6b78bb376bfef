/* alert/alert_int.h: what the engine's own files (alert.c, alert_silence.c, alert_json.c) share.
 *
 * The engine is an array of rules in config order plus a list of silences; nothing is global. */
#ifndef TEND_ALERT_INT_H
#define TEND_ALERT_INT_H

#include "alert/alert.h"

/* One rule and its state. Owned by its engine. */
struct alert_rule {
    char *name, *text;
    struct rule *rule;
    enum alert_severity severity;
    char **notify; /* NULL-terminated copy, or NULL */
    uint64_t repeat_ms;

    enum alert_state state;
    uint64_t pending_since; /* mono: first seen true (pending) */
    bool is_clearing;
    uint64_t last_notice_mono; /* mono: last firing/repeat notice sent */
    bool is_announced;         /* a firing notice was sent for this firing */
    unsigned notices;          /* notices sent since configured */
    int64_t since_wall, started_wall, ended_wall, last_notice_wall;
    bool is_evaluated; /* evaluated at least once since configured */
    bool has_value;    /* the last lookup gave a value (else: no data) */
    double value;
};

struct alert_silence {
    char *pattern;
    int64_t until_ms;
};

struct alert_engine {
    struct alert_opts opts;
    struct alert_rule **rules;
    size_t nrules;
    struct alert_silence *silences;
    size_t nsilences;
    uv_timer_t timer;
    bool is_started;
};

/* alert_silence.c: the silence covering `name` at wall time now (the latest-ending one), or
 * NULL; expired silences are dropped. */
const struct alert_silence *alert__silenced(const struct alert_engine *e, const char *name,
                                            int64_t now_wall_ms);
void alert__silences_expire(struct alert_engine *e, int64_t now_wall_ms);
void alert__silences_free(struct alert_engine *e);

/* alert.c: the value of a rule as text ("83%", "down", "no data"), and its one-line summary. */
void alert__value_text(const struct alert_rule *a, char *dst, size_t size);
void alert__summary(const struct alert_rule *a, char *dst, size_t size);

#endif
