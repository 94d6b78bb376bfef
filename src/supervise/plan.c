/* supervise/plan.c: `tend up`: compare the running set with a new config and move to it.
 *
 * sup__plan() is pure (tested by test_plan.c): for each app of the new file (limited to `only`)
 * start it when it is not running, restart it when cfg_app_changed() says so, scale it when
 * only the instance count changed, else leave it; a running app missing from the file is
 * stopped and removed, unless `only` names other apps. sup_apply() then performs the plan and
 * waits (op.c) for every instance it touched. The new snapshot is referenced by the apps and
 * instances that use it; the old one is freed by the last instance that lets it go (cfg_unref),
 * so instances keep the snapshot they started from (STYLE.md 3.6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

static const char *const plan_name[] = {
    [SUP_PLAN_START] = "start", [SUP_PLAN_STOP] = "stop",           [SUP_PLAN_RESTART] = "restart",
    [SUP_PLAN_SCALE] = "scale", [SUP_PLAN_UNCHANGED] = "unchanged",
};

const char *sup__plan_action_name(enum sup_plan_action a)
{
    return plan_name[a];
}

static bool named(const char *const *only, const char *name)
{
    if (!only)
        return true;
    for (; *only; only++)
        if (strcmp(*only, name) == 0)
            return true;
    return false;
}

static struct sup_plan_item *push(struct sup_plan_item **items, size_t *n, const char *name,
                                  enum sup_plan_action act)
{
    *items = xrealloc(*items, (*n + 1) * sizeof **items);
    struct sup_plan_item *it = &(*items)[(*n)++];
    memset(it, 0, sizeof *it);
    str_copy(it->name, name, sizeof it->name);
    it->action = act;
    return it;
}

static void plan_app(const struct cfg_app *const *running, const int *ninst, size_t nrunning,
                     const struct cfg_app *na, struct sup_plan_item **items, size_t *n)
{
    for (size_t r = 0; r < nrunning; r++) {
        if (!str_eq(running[r]->name, na->name))
            continue;
        struct sup_plan_item *it;
        if (cfg_app_changed(running[r], na)) {
            it = push(items, n, na->name, SUP_PLAN_RESTART);
            snprintf(it->reason, sizeof it->reason, "configuration changed");
        } else if (ninst[r] != na->instances) {
            it = push(items, n, na->name, SUP_PLAN_SCALE);
            snprintf(it->reason, sizeof it->reason, "instances %d -> %d", ninst[r], na->instances);
        } else {
            it = push(items, n, na->name, SUP_PLAN_UNCHANGED);
            snprintf(it->reason, sizeof it->reason, "no change");
        }
        it->old_app = running[r];
        it->new_app = na;
        it->old_instances = ninst[r];
        return;
    }
    struct sup_plan_item *it = push(items, n, na->name, SUP_PLAN_START);
    snprintf(it->reason, sizeof it->reason, "new app");
    it->new_app = na;
}

int sup__plan(const struct cfg_app *const *running, const int *ninst, size_t nrunning,
              const struct cfg *next, const char *const *only, struct sup_plan_item **out,
              size_t *n)
{
    struct sup_plan_item *items = NULL;
    size_t count = 0;
    for (size_t i = 0; i < next->napps; i++)
        if (named(only, next->apps[i]->name))
            plan_app(running, ninst, nrunning, next->apps[i], &items, &count);
    for (size_t r = 0; r < nrunning; r++) {
        if (!named(only, running[r]->name) || cfg_app_find(next, running[r]->name))
            continue;
        struct sup_plan_item *it = push(&items, &count, running[r]->name, SUP_PLAN_STOP);
        snprintf(it->reason, sizeof it->reason, "not in %s any more",
                 next->path ? next->path : "the configuration");
        it->old_app = running[r];
        it->old_instances = ninst[r];
    }
    for (const char *const *o = only; o && *o; o++) {
        bool found = cfg_app_find(next, *o) != NULL;
        for (size_t r = 0; r < nrunning && !found; r++)
            found = str_eq(running[r]->name, *o);
        if (!found) {
            free(items);
            return -TE_NOTFOUND;
        }
    }
    *out = items;
    *n = count;
    return 0;
}

static json_t *plan_json(const struct sup_plan_item *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr,
                              json_pack("{s:s, s:s, s:s}", "app", items[i].name, "action",
                                        plan_name[items[i].action], "reason", items[i].reason));
    return json_pack("{s:o}", "plan", arr);
}

static void start_all(struct sup_op *op, struct sup_app *a, int from)
{
    for (int i = from; i < a->ninst; i++) {
        struct sup_instance *in = a->inst[i];
        if (in->removing)
            continue;
        sup__op_add(op, in, SUP_WANT_UP);
        sup__inst_start(in, true);
    }
}

static void stop_removed(struct sup_op *op, struct sup_app *a)
{
    for (int i = 0; i < a->ninst; i++)
        if (a->inst[i]->removing || a->deleting) {
            sup__op_add(op, a->inst[i], SUP_WANT_DOWN);
            sup__inst_stop(a->inst[i]);
        }
    sup__gc_soon(a->s);
}

static void perform(struct sup *s, struct sup_op *op, struct cfg *cfg,
                    const struct sup_plan_item *it)
{
    struct sup_app *a = sup__app_find(s, it->name);
    const struct cfg_app *na = it->new_app;
    tlog_info("supervise", "up: %s: %s (%s)", it->name, plan_name[it->action], it->reason);
    switch (it->action) {
    case SUP_PLAN_START:
        start_all(op, sup__app_add(s, cfg, na), 0);
        break;
    case SUP_PLAN_STOP:
        a->deleting = true;
        sup__reload_abort_app(a);
        stop_removed(op, a);
        break;
    case SUP_PLAN_RESTART:
        sup__reload_abort_app(a);
        sup__app_set_cfg(a, cfg, na);
        sup__app_resize(a, na->instances);
        for (int i = 0; i < a->ninst; i++) {
            struct sup_instance *in = a->inst[i];
            if (in->removing)
                continue;
            sup__op_add(op, in, SUP_WANT_UP);
            sup__machine_reset(&in->m);
            sup__inst_use_cfg(in, cfg, na);
            sup__inst_restart(in, 0, NULL);
        }
        stop_removed(op, a);
        break;
    case SUP_PLAN_SCALE:
        sup__app_set_cfg(a, cfg, na);
        sup__app_resize(a, na->instances);
        start_all(op, a, it->old_instances);
        stop_removed(op, a);
        break;
    case SUP_PLAN_UNCHANGED:
        sup__app_set_cfg(a, cfg, na);
        break;
    }
}

static int running_set(struct sup *s, const struct cfg_app ***apps, int **ninst, size_t *n)
{
    size_t count = 0;
    for (struct sup_app *a = s->apps; a; a = a->next)
        count += !a->deleting;
    *apps = xcalloc(count ? count : 1, sizeof **apps);
    *ninst = xcalloc(count ? count : 1, sizeof **ninst);
    *n = 0;
    for (struct sup_app *a = s->apps; a; a = a->next) {
        if (a->deleting)
            continue;
        int live = 0;
        for (int i = 0; i < a->ninst; i++)
            live += !a->inst[i]->removing;
        (*apps)[*n] = a->ca;
        (*ninst)[(*n)++] = live;
    }
    return 0;
}

int sup_apply(struct sup *s, struct cfg *cfg, const char *const *only, bool dry_run,
              sup_done_fn *done, void *arg, struct err *err)
{
    const struct cfg_app **running;
    int *ninst;
    size_t nrunning, n;
    struct sup_plan_item *items = NULL;
    if (s->shutting_down)
        return err_set(err, -TE_STATE, "cannot apply: the daemon is shutting down");
    running_set(s, &running, &ninst, &nrunning);
    int rc = sup__plan(running, ninst, nrunning, cfg, only, &items, &n);
    free(running);
    free(ninst);
    if (rc < 0)
        return err_set(err, rc,
                       "cannot apply: an app named in the request is neither in %s "
                       "nor running",
                       cfg->path ? cfg->path : "the configuration");
    struct sup_op *op = sup__op_new(s, dry_run ? "plan" : "up", done, arg);
    op->extra = plan_json(items, n);
    if (!dry_run) {
        struct cfg *old = s->cfg;
        s->cfg = cfg_ref(cfg);
        for (size_t i = 0; i < n; i++)
            perform(s, op, s->cfg, &items[i]);
        cfg_unref(old);
        sup__state_changed(s);
    }
    free(items);
    sup__op_arm(op);
    return 0;
}
