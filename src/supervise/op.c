/* supervise/op.c: verbs that wait for instances (start, stop, restart, delete, apply).
 *
 * An op lists its target instances with what it wants of each (up or down). Every state change
 * calls sup__ops_notify(); a target is done when it reached an end state: for "up", online, or
 * errored/stopped/waiting after it was spawned (a failed start ends the wait with the reason;
 * it does not wait through every backoff); for "down", stopped. When every target is done the
 * op's callback runs once with {"results":[{"app","instance","state","pid"}]} and the op is
 * freed. Callbacks run from the collector's zero timer (sup__ops_flush), never inside the
 * call that created the op or inside a dispatch, so a callback may start a new op. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

struct sup_op *sup__op_new(struct sup *s, const char *verb, sup_done_fn *done, void *arg)
{
    struct sup_op *op = xcalloc(1, sizeof *op);
    op->s = s;
    op->done = done;
    op->arg = arg;
    str_copy(op->verb, verb, sizeof op->verb);
    op->next = s->ops;
    s->ops = op;
    return op;
}

static void record(struct sup_op_target *t, struct sup_instance *in)
{
    t->done = true;
    t->state = in->m.state;
    t->pid = in->pid;
    if (in->last_error[0])
        str_copy(t->msg, in->last_error, sizeof t->msg);
    else if (t->state != SUP_ONLINE && t->state != SUP_STOPPED && in->last_exit.known)
        snprintf(t->msg, sizeof t->msg,
                 in->last_exit.signal ? "killed by signal %d" : "exited with code %d",
                 in->last_exit.signal ? in->last_exit.signal : in->last_exit.code);
    t->in = NULL;
}

static bool reached(const struct sup_op_target *t, const struct sup_instance *in)
{
    enum sup_state st = in->m.state;
    if (t->want == SUP_WANT_DOWN)
        return st == SUP_STOPPED;
    if (t->need_spawn && !t->spawned)
        return false;
    return st == SUP_ONLINE || st == SUP_ERRORED || st == SUP_STOPPED || st == SUP_WAITING;
}

static void update(struct sup_op *op, struct sup_instance *in)
{
    for (size_t i = 0; i < op->nt; i++) {
        struct sup_op_target *t = &op->t[i];
        if (t->done || t->in != in)
            continue;
        if (in->m.state == SUP_STARTING)
            t->spawned = true;
        if (reached(t, in)) {
            record(t, in);
            op->ndone++;
        }
    }
}

void sup__op_add(struct sup_op *op, struct sup_instance *in, enum sup_want want)
{
    if (op->nt == op->cap) {
        op->cap = op->cap ? op->cap * 2 : 4;
        op->t = xrealloc(op->t, op->cap * sizeof *op->t);
    }
    struct sup_op_target *t = &op->t[op->nt++];
    memset(t, 0, sizeof *t);
    t->in = in;
    t->want = want;
    t->need_spawn =
        want == SUP_WANT_UP && strcmp(op->verb, "start") != 0
            ? true
            : want == SUP_WANT_UP && in->m.state != SUP_ONLINE && in->m.state != SUP_STARTING;
    str_copy(t->app, in->app->name, sizeof t->app);
    t->index = in->index;
}

static json_t *result_json(struct sup_op *op, int *rc, struct err *err)
{
    json_t *arr = json_array();
    *rc = 0;
    for (size_t i = 0; i < op->nt; i++) {
        struct sup_op_target *t = &op->t[i];
        json_t *o = json_pack("{s:s, s:i, s:s, s:i}", "app", t->app, "instance", t->index, "state",
                              sup_state_name(t->state), "pid", (int)t->pid);
        if (t->msg[0])
            json_object_set_new(o, "message", json_string(t->msg));
        json_array_append_new(arr, o);
        bool ok = t->want == SUP_WANT_DOWN ? t->state == SUP_STOPPED : t->state == SUP_ONLINE;
        if (!ok && *rc == 0) {
            *rc = err_set(err, -TE_STATE, "cannot %s %s:%d: it is %s%s%s", op->verb, t->app,
                          t->index, sup_state_name(t->state), t->msg[0] ? ": " : "", t->msg);
            if (t->state == SUP_ERRORED || t->state == SUP_WAITING)
                err_hint(err, "see its output with: tend logs %s", t->app);
        }
    }
    json_t *res = json_object();
    json_object_set_new(res, "results", arr);
    if (op->extra)
        json_object_update(res, op->extra);
    return res;
}

static void complete(struct sup_op *op, int forced_rc, const char *why)
{
    struct err err = {0};
    int rc;
    json_t *res = result_json(op, &rc, &err);
    if (forced_rc < 0)
        rc = err_set(&err, forced_rc, "cannot %s: %s", op->verb, why);
    if (op->done)
        op->done(op->arg, rc, res, rc < 0 ? &err : NULL);
    json_decref(res);
    json_decref(op->extra);
    free(op->t);
    free(op);
}

void sup__ops_flush(struct sup *s)
{
    for (;;) {
        struct sup_op **pp = &s->ops;
        while (*pp && !((*pp)->armed && (size_t)(*pp)->ndone == (*pp)->nt))
            pp = &(*pp)->next;
        if (!*pp)
            return;
        struct sup_op *op = *pp;
        *pp = op->next;
        complete(op, 0, NULL);
    }
}

void sup__op_arm(struct sup_op *op)
{
    for (size_t i = 0; i < op->nt; i++) {
        struct sup_op_target *t = &op->t[i];
        if (!t->done && t->in && reached(t, t->in)) {
            record(t, t->in);
            op->ndone++;
        }
    }
    op->armed = true;
    sup__gc_soon(op->s);
}

void sup__ops_notify(struct sup *s, struct sup_instance *in)
{
    for (struct sup_op *op = s->ops; op; op = op->next)
        update(op, in);
    sup__gc_soon(s);
}

void sup__ops_forget(struct sup *s, struct sup_instance *in)
{
    for (struct sup_op *op = s->ops; op; op = op->next)
        for (size_t i = 0; i < op->nt; i++)
            if (!op->t[i].done && op->t[i].in == in) {
                record(&op->t[i], in);
                op->t[i].state = SUP_STOPPED;
                op->ndone++;
            }
    sup__gc_soon(s);
}

void sup__ops_fail_all(struct sup *s)
{
    while (s->ops) {
        struct sup_op *op = s->ops;
        s->ops = op->next;
        for (size_t i = 0; i < op->nt; i++)
            if (!op->t[i].done && op->t[i].in)
                record(&op->t[i], op->t[i].in);
        complete(op, -TE_STATE, "the daemon is shutting down");
    }
}
