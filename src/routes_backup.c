/* routes_backup.c: the /v1/backups routes (docs/api.md "Backups").
 *
 *   GET  /v1/backups                  jobs: schedule, next run, last result, progress of a run
 *   GET  /v1/backups/list?job=&limit= the catalog (manifests, newest first) from tend.db
 *   POST /v1/backups/sync {"job"}     rebuild the catalog from the manifests on the targets
 *   POST /v1/backups/:job/run         {"wait": true}: answer when done, with the manifests;
 *                                     {"wait": false}: answer 202 at once (the CLI then polls
 *                                     GET /v1/backups for progress)
 *   POST /v1/backups/:job/verify      {"id"}: re-read and check the SHA-256 (newest if no id)
 *   POST /v1/backups/:job/drill       restore the newest into a scratch database, check, drop
 *   POST /v1/backups/:job/restore     {"id", "to", "yes"}: restore for real
 *
 * Every operation is asynchronous in the backup module; a request whose client left is still
 * answered into the void, and the operation itself always runs to its end (a backup is never
 * cut short because a terminal closed). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "daemon_int.h"

/* Owned by an operation until its callback. */
struct bop {
    struct daemon *d;
    struct api_req *req; /* NULL: nobody waits (run with "wait": false) */
    char job[256];
    bool is_sync;
};

static void op_done(void *arg, int rc, json_t *result, const struct err *err)
{
    struct bop *o = arg;
    if (o->is_sync && rc == 0) {
        struct err serr = {0};
        if (o->d->store && store_backups_replace(o->d->store, o->job[0] ? o->job : NULL, result,
                                                 &serr) < 0)
            rc = serr.code, err = &serr;
        if (rc == 0 && o->req)
            api_reply(o->req, 200, json_pack("{s:I}", "backups", (json_int_t)json_array_size(result)));
        else if (o->req)
            routes__reply_err(o->req, rc, err);
        free(o);
        return;
    }
    if (o->req) {
        if (rc < 0)
            routes__reply_err(o->req, rc, err);
        else
            api_reply(o->req, 200, json_pack("{s:O}", "result", result ? result : json_null()));
    }
    free(o);
}

static struct bop *bop_new(struct daemon *d, struct api_req *req, const char *job)
{
    struct bop *o = xcalloc(1, sizeof *o);
    o->d = d;
    o->req = req;
    str_copy(o->job, job ? job : "", sizeof o->job);
    return o;
}

/* Start an operation; on an immediate failure answer it and free o. */
static void started(struct bop *o, struct api_req *req, int rc, const struct err *err)
{
    if (rc < 0) {
        routes__reply_err(req, rc, err);
        free(o);
    }
}

static bool have_backups(struct daemon *d, struct api_req *req)
{
    if (d->backup)
        return true;
    api_reply_error(req, 409, "state", "backups are not available: the daemon is stopping", NULL);
    return false;
}

static void h_status(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    if (have_backups(d, req))
        api_reply(req, 200, backup_status(d->backup));
}

static void h_list(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    const char *job = api_req_query(req, "job");
    long n = 0;
    if (routes__query_int(req, "limit", 100, 1, 1000, &n) < 0)
        return;
    struct err err = {0};
    json_t *list = d->store ? store_backups(d->store, job && *job ? job : NULL, (int)n, &err)
                            : json_array();
    if (!list)
        routes__reply_err(req, err.code, &err);
    else
        api_reply(req, 200, json_pack("{s:o}", "backups", list));
}

static void h_sync(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    if (!have_backups(d, req))
        return;
    const char *job = json_string_value(json_object_get(api_req_json(req), "job"));
    struct bop *o = bop_new(d, req, job);
    o->is_sync = true;
    struct err err = {0};
    started(o, req, backup_list(d->backup, job, op_done, o, &err), &err);
}

static void h_op(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    if (!have_backups(d, req))
        return;
    const char *job = api_req_param(req, "job"), *verb = api_req_param(req, "verb");
    json_t *body = api_req_json(req);
    const char *id = json_string_value(json_object_get(body, "id"));
    struct err err = {0};
    int rc;
    if (str_eq(verb, "run")) {
        json_t *wait = json_object_get(body, "wait");
        bool is_waiting = !wait || json_is_true(wait);
        struct bop *o = bop_new(d, is_waiting ? req : NULL, job);
        rc = backup_run(d->backup, job, op_done, o, &err);
        if (rc < 0) {
            started(o, req, rc, &err);
        } else if (!is_waiting) {
            api_reply(req, 202, json_pack("{s:s,s:b}", "job", job, "started", 1));
        }
        return;
    }
    struct bop *o = bop_new(d, req, job);
    if (str_eq(verb, "verify")) {
        rc = backup_verify(d->backup, job, id, op_done, o, &err);
    } else if (str_eq(verb, "drill")) {
        rc = backup_drill(d->backup, job, op_done, o, &err);
    } else if (str_eq(verb, "restore")) {
        const char *to = json_string_value(json_object_get(body, "to"));
        rc = backup_restore(d->backup, job, id, to, json_is_true(json_object_get(body, "yes")),
                            op_done, o, &err);
    } else {
        free(o);
        api_reply_error(req, 404, "not_found", "no such backup operation",
                        "use run, verify, drill or restore");
        return;
    }
    started(o, req, rc, &err);
}

void routes_backup_register(struct daemon *d)
{
    struct api *a = d->api;
    api_route(a, "GET", "/v1/backups", h_status, d);
    api_route(a, "GET", "/v1/backups/list", h_list, d);
    api_route(a, "POST", "/v1/backups/sync", h_sync, d);
    api_route(a, "POST", "/v1/backups/:job/:verb", h_op, d);
}
