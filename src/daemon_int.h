/* daemon_int.h: what daemon.c and routes.c share: the root object and its helpers. */
#ifndef TEND_DAEMON_INT_H
#define TEND_DAEMON_INT_H

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "api/api.h"
#include "backup/backup.h"
#include "config/config.h"
#include "daemon.h"
#include "logs/logs.h"
#include "store/store.h"
#include "supervise/supervise.h"

struct err;

/* The root object: owns the loop and every module's handle (STYLE.md 11.3: no other globals). */
struct daemon {
    uv_loop_t loop;
    char home[PATH_MAX];
    char self_exe[PATH_MAX];
    struct store *store;
    struct logs *logs;
    struct sup *sup;
    struct api *api;
    struct backup *backup;
    struct monitor *monitor;
    uv_signal_t sigterm, sigint, sighup, sigpipe;
    uv_timer_t prune;
    uint64_t started_ms;
    char tcp_listen[128];   /* the TCP door now open, "" if none */
    int closing;            /* modules still closing during shutdown */
    bool is_stopping;
    bool is_stopping_apps; /* what daemon__shutdown was asked, for the steps after backups */
};

/* Record an event in the store (and nothing else); app NULL and instance -1 when daemon-wide. */
void daemon__event(struct daemon *d, const char *kind, const char *app, int instance,
                   const char *msg);
/* Stop the API, then supervise (stopping apps when asked), then logs and the store; the loop
 * ends when the last handle is closed. Idempotent. */
void daemon__shutdown(struct daemon *d, bool stop_apps);
/* $TEND_HOME or ~/.tend. */
int daemon__home(char *dst, size_t size, struct err *err);
/* Open, move or close the TCP door to match cfg->api.listen. */
void daemon__listen_tcp(struct daemon *d, const struct cfg *cfg);

/* Give the modules that read tend.yaml beyond the apps (backups) the config supervise now
 * runs: after `tend up`, resurrect and adoption at start. */
void daemon__config_applied(struct daemon *d);

/* routes.c: register every /v1 route on d->api. */
void routes_register(struct daemon *d);
/* Answer a module's error with the HTTP status its code means (404, 409, 400, 422, 500). */
void routes__reply_err(struct api_req *req, int code, const struct err *e);
/* A query-string integer in [lo, hi] (dflt when absent); -1 after answering 400. */
int routes__query_int(struct api_req *req, const char *name, long dflt, long lo, long hi,
                      long *out);
/* routes_backup.c: the /v1/backups routes. */
void routes_backup_register(struct daemon *d);
/* routes_watch.c: /v1/checks, /v1/metrics, /v1/alerts, /metrics, /health. */
void routes_watch_register(struct daemon *d);

#endif
