/* cli/cli_int.h: declarations shared by the CLI's own files (STYLE.md 1).
 *
 * cli.c dispatches a verb from the table; args.c parses flags; client.c talks HTTP over the unix
 * socket and starts the daemon when needed; table.c lays out tables and human units (pure
 * functions, unit-tested); verbs_*.c hold one verb group each. */
#ifndef TEND_CLI_INT_H
#define TEND_CLI_INT_H

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"

struct err;

/* ---- the run's context (one per process, made by cli_main) ---- */
struct cli_verb;
typedef int cli_line_fn(void *ctx, const char *line, size_t len);

struct cli {
    const struct cli_verb *verb; /* the verb being run, for usage messages */
    bool autostart;              /* start the daemon if it is not running */
    bool color_out;              /* colours on stdout (a TTY and no NO_COLOR) */
    bool color_err;
    char home[4096];      /* $TEND_HOME, absolute; "" until cli__client_init */
    char sock[4096];      /* home + "/tend.sock" */
    long status;          /* HTTP status of the last answer */
    struct buf resp;      /* raw body of the last answer (not for streams) */
    cli_line_fn *on_line; /* set while streaming NDJSON */
    void *line_ctx;
    struct buf partial;   /* a streamed line not yet complete */
    bool stopped;         /* the line reader ended the stream */
    bool is_client_ready; /* resp and partial are set up (client.c) */
};

typedef int cli_verb_fn(struct cli *cli, int argc, char **argv);
struct cli_verb {
    const char *name;
    cli_verb_fn *fn;
    bool needs_daemon; /* autostart before talking to it */
    const char *usage; /* "status [APP] [--json]" */
    const char *summary;
};

/* ---- arguments (args.c) ---- */
struct cli_opt {
    const char *name; /* long name without dashes: "env" */
    char short_name;  /* 'f' or 0 */
    bool has_value;
};
#define CLI_MAX_OPTS 12
#define CLI_MAX_POS 64
struct cli_args {
    const struct cli_opt *opts;      /* NULL-name-terminated */
    const char *value[CLI_MAX_OPTS]; /* per option: its value, "" for a given flag, or NULL */
    const char *pos[CLI_MAX_POS];
    int npos;
};
/* Parse argv[0..argc) (the words after the verb). 0 ok, 1 when --help/-h was given, -TE_INVALID
 * with err ("unknown flag \"--jsno\" (did you mean \"--json\"?)"). */
int cli__args_parse(struct cli_args *a, const struct cli_opt *opts, int argc, char **argv,
                    struct err *err);
const char *cli__arg(const struct cli_args *a, const char *name); /* NULL if not given */
bool cli__flag(const struct cli_args *a, const char *name);
/* "api" -> api, -1; "api:2" -> api, 2; "all" -> all, -1. -TE_INVALID with err otherwise. */
int cli__target_parse(const char *s, char *app, size_t size, int *instance, struct err *err);
/* Append s percent-encoded (unreserved and ':' kept) for a URL path segment or query value. */
int cli__url_escape(struct buf *out, const char *s);
/* Append "?k=v" or "&k=v" (v escaped) to a URL; v NULL appends nothing. */
int cli__query_add(struct buf *url, const char *key, const char *value);

/* Parse a verb's arguments (argv[0] is the verb), printing usage errors; returns CLI_GO to go on,
 * else the exit status to return now (0 after --help, 2 on a usage error). Checks the number of
 * positional words too (max_pos < 0: no limit). */
#define CLI_GO (-1)
int cli__parse(struct cli *cli, const struct cli_opt *opts, int argc, char **argv, int min_pos,
               int max_pos, struct cli_args *a);
/* Verbs with sub-commands (`backup run`, `alerts silence`): run the one argv[1] names, with its
 * own usage line in usage errors. CLI_GO when argv[1] names none: the caller then shows its
 * default or calls cli__unknown_sub() ("unknown backup command "rn" (did you mean "run"?)"). */
struct cli_sub {
    const char *name;
    cli_verb_fn *fn;
    const char *usage; /* "backup run JOB [--json]" */
};
int cli__run_sub(struct cli *cli, const struct cli_sub *subs, size_t n, int argc, char **argv);
int cli__unknown_sub(struct cli *cli, const struct cli_sub *subs, size_t n, const char *word);
/* Print "tend: <msg>" and the verb's usage on stderr; returns 2. */
int cli__usage_error(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "tend: cannot <what>: <err.msg>" and "  hint: <err.hint>"; returns 1. When the daemon
 * could not be started (CLI_ERR_START), the line is "tend: cannot start the daemon: ..." instead,
 * whatever the verb was. */
#define CLI_ERR_START (-ECHILD)
int cli__fail(const struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the daemon's API (client.c) ---- */
/* Resolve $TEND_HOME (default ~/.tend, created 0700) and the socket path. */
int cli__home(struct cli *cli, struct err *err);
/* One request. body is NULL or JSON to send. 0 on a 2xx answer with *answer (caller frees; may be
 * NULL). On an API error: -TE_NOTFOUND/-TE_STATE/-TE_CONFIG/-TE_INVALID with err from the
 * answer's error object, and *answer the whole answer (for error.where). On a connection error:
 * -errno with err. Starts the daemon first when cli->autostart and it is not running. */
int cli__call(struct cli *cli, const char *method, const char *path, json_t *body, json_t **answer,
              struct err *err);
/* GET an NDJSON stream; fn gets each complete line (without "\n") as it arrives; fn returning
 * non-zero stops the stream (0 is returned then). */
int cli__stream(struct cli *cli, const char *path, cli_line_fn *fn, void *ctx, struct err *err);
/* Write the last answer's raw body to stdout (--json), ending with a newline. */
void cli__print_raw(const struct cli *cli);
/* Is the daemon answering? Never starts it. */
bool cli__daemon_answers(struct cli *cli);
void cli__client_fini(struct cli *cli);
/* Split a byte stream into lines: complete lines go to fn, the rest stays in partial. A line
 * longer than partial's ceiling is passed on in pieces. Returns fn's first non-zero result. */
int cli__lines_feed(struct buf *partial, const char *data, size_t n, cli_line_fn *fn, void *ctx);
/* Pass what is left in partial as a last line (a stream that ended without "\n"). */
int cli__lines_flush(struct buf *partial, cli_line_fn *fn, void *ctx);

/* ---- tables and units (table.c, pure) ---- */
#define CLI_TABLE_MAXCOLS 12
struct cli_cell {
    char *text;
    const char *color; /* SGR code such as "32", or NULL */
};
struct cli_table {
    int ncols;
    const char *head[CLI_TABLE_MAXCOLS];
    bool right[CLI_TABLE_MAXCOLS]; /* right-align (numbers) */
    struct cli_cell *cells;        /* nrows * ncols, row-major; owned */
    size_t nrows, cap;
};
void cli__table_init(struct cli_table *t, int ncols, const char *const *heads);
void cli__table_fini(struct cli_table *t);
size_t cli__table_row(struct cli_table *t); /* append an empty row, return its index */
void cli__table_set(struct cli_table *t, size_t row, int col, const char *color, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
/* Columns two spaces apart, widths by display width, no trailing blanks, colours only if asked. */
void cli__table_render(const struct cli_table *t, bool color, struct buf *out);
size_t cli__display_width(const char *s); /* UTF-8 code points, one column each */

void cli__human_duration(char *dst, size_t size, uint64_t ms); /* 5s 3m 2h 4d */
void cli__human_size(char *dst, size_t size, uint64_t bytes);  /* 512B 23.4M 1.5G */
void cli__human_pct(char *dst, size_t size, double pct);       /* 0% 0.3% 12% */
const char *cli__state_color(const char *state);               /* SGR code or NULL */
const char *cli__app_color(const char *app);                   /* stable per name */
/* Colours on this stream: a TTY and NO_COLOR not set (and TERM not "dumb"). */
bool cli__use_color(FILE *f);
/* "\033[<code>m" + s + "\033[0m" into out when color, else s. */
void cli__paint(struct buf *out, bool color, const char *code, const char *s);
/* A time from the API (ms number or ISO string) as "2026-11-23 06:30:01" local. */
void cli__format_time(char *dst, size_t size, const json_t *t);

/* ---- shared renderers ---- */
/* The status table for {"apps":[...]} (verbs_status.c). */
void cli__print_status(struct cli *cli, const json_t *apps);
/* GET /v1/status and print the table; returns the exit status. */
int cli__show_status(struct cli *cli, const char *app);
/* Print an up/resurrect answer: warnings, plan, then the status table (verbs_apps.c). */
/* Print warnings (file names shown as typed when abs/typed given), the plan, then status. */
int cli__print_plan(struct cli *cli, json_t *answer, bool dry_run, const char *abs,
                    const char *typed);

/* ---- what the monitoring verbs share (verbs_watch.c) ---- */
/* Columns of the terminal on stdout, or 0 when stdout is not a terminal (nothing is cut). */
size_t cli__term_width(void);
/* Render a table on stdout, each line cut to the terminal's width ("…" marks a cut). */
void cli__print_table(struct cli *cli, const struct cli_table *t);
/* A blank line, then a bold heading. */
void cli__heading(struct cli *cli, const char *text);
/* GET path into *ans (caller frees); with raw, print the answer as is (--json). 0, or the exit
 * status after printing "tend: cannot <what>: ...". */
int cli__get(struct cli *cli, const char *path, const char *what, bool raw, json_t **ans);
/* Parse a duration flag ("90s", "30m", "2h"; at least 1s): 0, or 2 after a usage error. */
int cli__duration_arg(struct cli *cli, const char *flag, const char *s, uint64_t *ms);

/* ---- verbs ---- */
cli_verb_fn cli__verb_up, cli__verb_action, cli__verb_status, cli__verb_describe, cli__verb_env;
cli_verb_fn cli__verb_logs, cli__verb_flush, cli__verb_events;
cli_verb_fn cli__verb_config, cli__verb_import, cli__verb_backup;
/* verbs_watch.c, verbs_metrics.c */
cli_verb_fn cli__verb_checks, cli__verb_alerts, cli__verb_metrics;
cli_verb_fn cli__verb_ping, cli__verb_version, cli__verb_kill, cli__verb_save, cli__verb_resurrect;

/* Find a verb by name; NULL if none. */
const struct cli_verb *cli__verb_find(const char *name);
/* The closest known verb to a mistyped one, or NULL. */
const char *cli__verb_suggest(const char *name);

#endif
