/* tests/unit/supervise/test_plan.c: what `tend up` would do, computed without processes.
 *
 * sup__plan compares the running apps (their configs and instance counts) with a new config:
 * added apps start, removed ones stop, changed ones restart, unchanged ones are left alone;
 * `only` limits the plan to the named apps and leaves every other running app untouched. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "supervise/supervise_int.h"
#include "unit.h"

static struct cfg *load(const char *text)
{
    static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
    struct cfg_load_opts o = {.home = "/tmp/tend-test", .environ = env, .base_dir = "/tmp"};
    struct cfg_diag d;
    memset(&d, 0, sizeof d);
    struct cfg *c = NULL;
    if (cfg_load_mem("tend.yaml", text, strlen(text), &o, &c, &d) < 0) {
        struct buf b = {0};
        cfg_diag_format(&d, &b);
        UNIT_FAIL("load failed:\n%s", b.ptr ? b.ptr : "");
        buf_fini(&b);
    }
    return c;
}

static const char v1[] = "apps:\n"
                         "  - name: api\n    cmd: node api.js\n    instances: 2\n"
                         "  - name: worker\n    cmd: node worker.js\n"
                         "  - name: old\n    cmd: sleep 1000\n";
static const char v2[] = "apps:\n"
                         "  - name: api\n    cmd: node api.js --v2\n    instances: 2\n"
                         "  - name: worker\n    cmd: node worker.js\n"
                         "  - name: mail\n    cmd: node mail.js\n";

static const struct sup_plan_item *find(const struct sup_plan_item *it, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(it[i].name, name) == 0)
            return &it[i];
    return NULL;
}

static void running_from(const struct cfg *c, const struct cfg_app **apps, int *ninst)
{
    for (size_t i = 0; i < c->napps; i++) {
        apps[i] = c->apps[i];
        ninst[i] = c->apps[i]->instances;
    }
}

TEST(added_removed_changed_unchanged)
{
    struct cfg *a = load(v1), *b = load(v2);
    if (!a || !b)
        return;
    const struct cfg_app *run[8];
    int ninst[8];
    running_from(a, run, ninst);
    struct sup_plan_item *it = NULL;
    size_t n = 0;
    CHECK_INT(sup__plan(run, ninst, a->napps, b, NULL, &it, &n), 0);
    CHECK_INT(n, 4);
    const struct sup_plan_item *p;
    CHECK((p = find(it, n, "api")) && p->action == SUP_PLAN_RESTART);
    CHECK((p = find(it, n, "worker")) && p->action == SUP_PLAN_UNCHANGED);
    CHECK((p = find(it, n, "mail")) && p->action == SUP_PLAN_START && !p->old_app);
    CHECK((p = find(it, n, "old")) && p->action == SUP_PLAN_STOP && !p->new_app);
    CHECK_STR(sup__plan_action_name(SUP_PLAN_RESTART), "restart");
    free(it);
    cfg_unref(a);
    cfg_unref(b);
}

TEST(nothing_running_starts_everything)
{
    struct cfg *a = load(v1);
    if (!a)
        return;
    struct sup_plan_item *it = NULL;
    size_t n = 0;
    CHECK_INT(sup__plan(NULL, NULL, 0, a, NULL, &it, &n), 0);
    CHECK_INT(n, 3);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(it[i].action, SUP_PLAN_START);
    free(it);
    cfg_unref(a);
}

TEST(same_config_is_unchanged)
{
    struct cfg *a = load(v1), *b = load(v1);
    if (!a || !b)
        return;
    const struct cfg_app *run[8];
    int ninst[8];
    running_from(a, run, ninst);
    struct sup_plan_item *it = NULL;
    size_t n = 0;
    CHECK_INT(sup__plan(run, ninst, a->napps, b, NULL, &it, &n), 0);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(it[i].action, SUP_PLAN_UNCHANGED);
    free(it);
    cfg_unref(a);
    cfg_unref(b);
}

TEST(instance_count_change)
{
    struct cfg *a = load(v1), *b = load("apps:\n  - name: api\n    cmd: node api.js\n"
                                        "    instances: 4\n");
    if (!a || !b)
        return;
    const struct cfg_app *run[8];
    int ninst[8];
    running_from(a, run, ninst);
    const char *only[] = {"api", NULL};
    struct sup_plan_item *it = NULL;
    size_t n = 0;
    CHECK_INT(sup__plan(run, ninst, a->napps, b, only, &it, &n), 0);
    CHECK_INT(n, 1);
    /* config's fingerprint includes `instances`, so a count change is a restart unless the
     * fingerprint leaves it out; either way the plan names it and carries both counts. */
    CHECK(it[0].action == SUP_PLAN_SCALE || it[0].action == SUP_PLAN_RESTART);
    CHECK_INT(it[0].old_instances, 2);
    CHECK_INT(it[0].new_app->instances, 4);
    free(it);
    /* The scale rule itself, with a running set whose count differs but config is equal. */
    struct cfg *c = load(v1);
    ninst[0] = 1;
    running_from(c, run, ninst);
    ninst[0] = 1;
    CHECK_INT(sup__plan(run, ninst, c->napps, a, NULL, &it, &n), 0);
    CHECK_INT(it[0].action, SUP_PLAN_SCALE);
    CHECK_STR(it[0].reason, "instances 1 -> 2");
    free(it);
    cfg_unref(a);
    cfg_unref(b);
    cfg_unref(c);
}

TEST(only_leaves_other_apps_untouched)
{
    struct cfg *a = load(v1), *b = load(v2);
    if (!a || !b)
        return;
    const struct cfg_app *run[8];
    int ninst[8];
    running_from(a, run, ninst);
    const char *only[] = {"worker", NULL};
    struct sup_plan_item *it = NULL;
    size_t n = 0;
    CHECK_INT(sup__plan(run, ninst, a->napps, b, only, &it, &n), 0);
    CHECK_INT(n, 1);
    CHECK_STR(it[0].name, "worker");
    free(it);
    const char *gone[] = {"old", NULL}; /* running, not in the file: only it stops */
    CHECK_INT(sup__plan(run, ninst, a->napps, b, gone, &it, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(it[0].action, SUP_PLAN_STOP);
    free(it);
    const char *unknown[] = {"nope", NULL};
    CHECK_INT(sup__plan(run, ninst, a->napps, b, unknown, &it, &n), -TE_NOTFOUND);
    cfg_unref(a);
    cfg_unref(b);
}

int main(void)
{
    RUN(added_removed_changed_unchanged);
    RUN(nothing_running_starts_everything);
    RUN(same_config_is_unchanged);
    RUN(instance_count_change);
    RUN(only_leaves_other_apps_untouched);
    return unit_done();
}
