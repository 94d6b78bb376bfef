/* supervise/app.c: the running set of apps, targets ("app", "app:N", "all") and the verbs.
 *
 * An app is a name, the config snapshot its new instances start from, and an array of
 * instances indexed by instance number. Instances removed by a smaller `instances:` and apps
 * removed by `delete` or `tend up` are first stopped, then freed by the deferred collector
 * (sup__gc, a zero timer), never inside a dispatch whose caller still holds the instance. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

struct sup_app *sup__app_find(struct sup *s, const char *name)
{
    for (struct sup_app *a = s->apps; a; a = a->next)
        if (!a->deleting && str_eq(a->name, name))
            return a;
    return NULL;
}

struct sup_app *sup__app_add(struct sup *s, struct cfg *cfg, const struct cfg_app *ca)
{
    struct sup_app *a = xcalloc(1, sizeof *a);
    a->s = s;
    a->name = str_dup(ca->name);
    a->cfg = cfg_ref(cfg);
    a->ca = ca;
    uv_timer_init(s->loop, &a->cron_timer);
    struct sup_app **pp = &s->apps;
    while (*pp)
        pp = &(*pp)->next;
    *pp = a;
    sup__app_resize(a, ca->instances);
    sup__cron_arm(a);
    sup__watch_start(a);
    return a;
}

/* Slot i holds instance i; leftovers adopted from a previous daemon (adopt.c: their number is
 * not their slot) always stay behind the slots in use, removing, until they are stopped. */
void sup__app_resize(struct sup_app *a, int n)
{
    int slots = 0, nleft;
    while (slots < a->ninst && a->inst[slots]->index == slots)
        slots++;
    nleft = a->ninst - slots;
    if (n > slots) {
        a->inst = xrealloc(a->inst, (size_t)(n + nleft) * sizeof *a->inst);
        memmove(a->inst + n, a->inst + slots, (size_t)nleft * sizeof *a->inst);
        for (int i = slots; i < n; i++)
            a->inst[i] = sup__inst_new(a, i, a->cfg, a->ca);
        a->ninst = n + nleft;
    }
    for (int i = 0; i < a->ninst; i++)
        a->inst[i]->removing = i >= n;
}

void sup__app_set_cfg(struct sup_app *a, struct cfg *cfg, const struct cfg_app *ca)
{
    struct cfg *old = a->cfg;
    a->cfg = cfg_ref(cfg);
    a->ca = ca;
    cfg_unref(old);
    sup__cron_arm(a);
    sup__watch_stop(a);
    sup__watch_start(a);
}

/* ---- the deferred collector ------------------------------------------------------------- */

static void app_closed(uv_handle_t *h)
{
    struct sup_app *a = h->data;
    cfg_unref(a->cfg);
    free(a->inst);
    free(a->name);
    free(a);
}

void sup__app_free_now(struct sup_app *a)
{
    for (int i = 0; i < a->ninst; i++)
        sup__inst_free(a->inst[i]);
    a->ninst = 0;
    sup__watch_stop(a);
    sup__cron_stop(a);
    sup__reload_detach(a);
    a->cron_timer.data = a;
    uv_close((uv_handle_t *)&a->cron_timer, app_closed);
}

static bool all_stopped(const struct sup_app *a)
{
    if (a->reload)
        return false;
    for (int i = 0; i < a->ninst; i++)
        if (a->inst[i]->m.state != SUP_STOPPED || sup__inst_live(a->inst[i]))
            return false;
    return true;
}

static void gc_app(struct sup_app *a)
{
    while (a->ninst > 0) {
        struct sup_instance *in = a->inst[a->ninst - 1];
        if (!in->removing || in->m.state != SUP_STOPPED || sup__inst_live(in))
            break;
        a->ninst--;
        sup__inst_free(in);
    }
}

static void on_gc(uv_timer_t *t)
{
    struct sup *s = container_of(t, struct sup, gc_timer);
    bool changed = false;
    for (struct sup_app **pp = &s->apps; *pp;) {
        struct sup_app *a = *pp;
        gc_app(a);
        if (a->deleting && all_stopped(a)) {
            *pp = a->next;
            tlog_info("supervise", "%s: removed from the running set", a->name);
            sup__app_free_now(a);
            changed = true;
            continue;
        }
        pp = &a->next;
    }
    if (changed)
        sup__state_changed(s);
    sup__ops_flush(s);
    if (s->shutting_down)
        sup__shutdown_step(s);
}

void sup__gc_soon(struct sup *s)
{
    if (uv_is_closing((uv_handle_t *)&s->gc_timer))
        return;
    uv_timer_start(&s->gc_timer, on_gc, 0, 0);
}

/* ---- targets ----------------------------------------------------------------------------- */

int sup__target_parse(const char *target, char *app, size_t appsz, int *index, struct err *err)
{
    if (!target || !*target)
        return err_set(err, -TE_INVALID, "no target given");
    if (strcmp(target, "all") == 0) {
        app[0] = '\0';
        *index = -1;
        return 0;
    }
    const char *colon = strchr(target, ':');
    size_t nlen = colon ? (size_t)(colon - target) : strlen(target);
    if (nlen == 0 || nlen >= appsz)
        return err_set(err, -TE_INVALID, "\"%s\" is not a target: use app, app:N or all", target);
    memcpy(app, target, nlen);
    app[nlen] = '\0';
    *index = -1;
    if (!colon)
        return 0;
    const char *num = colon + 1;
    if (!*num || strlen(num) > 6)
        return err_set(err, -TE_INVALID, "\"%s\" is not a target: use app, app:N or all", target);
    int v = 0;
    for (const char *c = num; *c; c++) {
        if (!isdigit((unsigned char)*c))
            return err_set(err, -TE_INVALID,
                           "\"%s\" is not a target: the instance after \":\" is a number", target);
        v = v * 10 + (*c - '0');
    }
    *index = v;
    return 0;
}

/* ---- verbs ------------------------------------------------------------------------------- */

static const char *verb_name(enum sup_verb v)
{
    static const char *const names[] = {[SUP_START] = "start",
                                        [SUP_STOP] = "stop",
                                        [SUP_RESTART] = "restart",
                                        [SUP_RELOAD] = "reload",
                                        [SUP_DELETE] = "delete"};
    return names[v];
}

static void act_one(struct sup_op *op, enum sup_verb verb, struct sup_instance *in)
{
    if (in->removing)
        return;
    switch (verb) {
    case SUP_START:
        sup__op_add(op, in, SUP_WANT_UP);
        sup__inst_start(in, true);
        break;
    case SUP_RESTART:
        sup__op_add(op, in, SUP_WANT_UP);
        sup__machine_reset(&in->m);
        sup__inst_use_cfg(in, in->app->cfg, in->app->ca);
        sup__inst_restart(in, 0, NULL);
        break;
    case SUP_STOP:
    case SUP_DELETE:
        sup__op_add(op, in, SUP_WANT_DOWN);
        sup__inst_stop(in);
        break;
    case SUP_RELOAD:
        break;
    }
}

static void act_app(struct sup_op *op, enum sup_verb verb, struct sup_app *a, int index)
{
    if (verb == SUP_DELETE) {
        a->deleting = true;
        sup__reload_abort_app(a);
    }
    if (verb == SUP_START || verb == SUP_RESTART)
        sup__app_set_cfg(a, a->cfg, a->ca); /* re-arm cron/watch if they were off */
    for (int i = 0; i < a->ninst; i++)
        if (index < 0 || i == index)
            act_one(op, verb, a->inst[i]);
    if (verb == SUP_DELETE)
        sup__gc_soon(a->s);
}

static int resolve(struct sup *s, const char *target, struct sup_app **app, int *index,
                   struct err *err)
{
    char name[128];
    int rc = sup__target_parse(target, name, sizeof name, index, err);
    if (rc < 0)
        return rc;
    *app = NULL;
    if (!name[0])
        return 0;
    *app = sup__app_find(s, name);
    if (!*app) {
        rc = err_set(err, -TE_NOTFOUND, "no app named \"%s\" is running", name);
        err_hint(err, "tend status lists the apps; tend up starts the ones in tend.yaml");
        return rc;
    }
    if (*index >= (*app)->ninst || (*index >= 0 && (*app)->inst[*index]->removing))
        return err_set(err, -TE_NOTFOUND, "%s has no instance %d (it has %d)", name, *index,
                       (*app)->ninst);
    return 0;
}

int sup_act(struct sup *s, enum sup_verb verb, const char *target, sup_done_fn *done, void *arg,
            struct err *err)
{
    struct sup_app *app;
    int index;
    if (s->shutting_down)
        return err_set(err, -TE_STATE, "the daemon is shutting down");
    int rc = resolve(s, target, &app, &index, err);
    if (rc < 0)
        return err_prefix(err, "cannot %s %s", verb_name(verb), target);
    if (verb == SUP_RELOAD)
        return sup__reload(s, app, index, done, arg, err);
    if (verb == SUP_DELETE && index >= 0)
        return err_set(err, -TE_INVALID, "cannot delete %s: delete takes an app name or all",
                       target);
    struct sup_op *op = sup__op_new(s, verb_name(verb), done, arg);
    if (app) {
        act_app(op, verb, app, index);
    } else {
        for (struct sup_app *a = s->apps; a; a = a->next)
            if (!a->deleting)
                act_app(op, verb, a, -1);
    }
    sup__op_arm(op);
    return 0;
}

struct cfg *sup_config(struct sup *s)
{
    return s->cfg;
}
