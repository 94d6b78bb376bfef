/* daemon_int.h: what daemon.c and routes.c share: the root object and its helpers. */
#ifndef TEND_DAEMON_INT_H
#define TEND_DAEMON_INT_H

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "api/api.h"
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
    uv_signal_t sigterm, sigint, sighup, sigpipe;
    uv_timer_t prune;
    uint64_t started_ms;
    char tcp_listen[128];   /* the TCP door now open, "" if none */
    int closing;            /* modules still closing during shutdown */
    bool is_stopping;
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

/* routes.c: register every /v1 route on d->api. */
void routes_register(struct daemon *d);

#endif
