/* supervise/adopt.c: finding the apps a previous daemon ran (DESIGN invariant 5).
 *
 * state.json names the config snapshots (source text, path, profile) and each instance's pid
 * and /proc start time. Each snapshot is rebuilt with cfg_load_mem(); an instance is adopted
 * only when its pid is alive AND its start time (field 22 of /proc/PID/stat) matches, so a
 * reused pid is never adopted nor signalled. An adopted instance is online at once, its exit is
 * watched with a pidfd (reap.c), and the read ends of its pipes come back from the keeper, so
 * its output is captured again. An instance that was running and is now gone is started again
 * by its restart policy; one recorded stopped stays stopped. A second copy of an adopted
 * instance is never started: the instance slot holds the adopted pid. Leftovers (processes the
 * previous daemon was stopping, or a rolling reload's replacement it had not swapped in) are
 * adopted as removing instances and stopped: an interrupted reload resolves to the old
 * instances, and nothing it started is orphaned. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

struct held {
    char key[200];
    int out, err;
    bool used;
};

struct held_set {
    struct held *v;
    size_t n;
};

static void collect(void *arg, const char *key, int out_fd, int err_fd)
{
    struct held_set *h = arg;
    h->v = xrealloc(h->v, (h->n + 1) * sizeof *h->v);
    struct held *e = &h->v[h->n++];
    str_copy(e->key, key, sizeof e->key);
    e->out = out_fd;
    e->err = err_fd;
    e->used = false;
}

int sup__load_saved_cfg(struct sup *s, json_t *c, struct cfg **out, struct err *err)
{
    const char *path = json_string_value(json_object_get(c, "path"));
    const char *profile = json_string_value(json_object_get(c, "profile"));
    const char *source = json_string_value(json_object_get(c, "source"));
    if (!path || !source)
        return err_set(err, -TE_PARSE, "a saved configuration lacks its path or source");
    char dir[512];
    str_copy(dir, path, sizeof dir);
    struct cfg_load_opts o = {.profile = profile,
                              .home = s->home,
                              .environ = (const char *const *)s->base_env,
                              .base_dir = dirname(dir)};
    struct cfg_diag *diag = xcalloc(1, sizeof *diag);
    int rc = cfg_load_mem(path, source, strlen(source), &o, out, diag);
    if (rc < 0) {
        struct buf b = {0};
        cfg_diag_format(diag, &b);
        err_set(err, rc, "the saved configuration from %s no longer loads: %s", path,
                b.ptr ? b.ptr : err_str(rc));
        buf_fini(&b);
    }
    free(diag);
    return rc;
}

/* How long the process has run, from /proc/uptime and its start time in clock ticks. */
static uint64_t age_ms(unsigned long long start_ticks)
{
    struct buf b = {0};
    double up = 0;
    if (read_file("/proc/uptime", 256, &b) == 0)
        up = strtod(b.ptr, NULL);
    buf_fini(&b);
    double started = (double)start_ticks / (double)sysconf(_SC_CLK_TCK);
    return up > started ? (uint64_t)((up - started) * 1000) : 0;
}

static void give_output(struct sup *s, struct sup_instance *in, struct held_set *h)
{
    char key[200];
    snprintf(key, sizeof key, "%s:%d:%d", in->app->name, in->index, (int)in->pid);
    for (size_t i = 0; i < h->n; i++) {
        struct held *e = &h->v[i];
        if (e->used || strcmp(e->key, key) != 0)
            continue;
        e->used = true;
        in->hold_out = e->out;
        in->hold_err = e->err;
        if (s->hooks.on_output) {
            int o = dup(e->out), r = dup(e->err);
            if (o >= 0 && r >= 0)
                s->hooks.on_output(s->hooks.ctx, in->app->name, in->index, in->ca, o, r);
        }
        return;
    }
    tlog_warn("supervise", "%s: its output is not captured: the keeper did not hold its pipes",
              in->label);
}

/* A process the previous daemon was stopping (or a reload's replacement it had not swapped in
 * yet) is still alive: it becomes a removing instance behind the app's slots and is stopped,
 * so it is neither orphaned nor kept as a second copy of its instance. */
static void adopt_leftover(struct sup *s, struct sup_app *a, int idx, pid_t pid,
                           unsigned long long start, struct held_set *h)
{
    struct sup_instance *in = sup__inst_new(a, idx, a->cfg, a->ca);
    snprintf(in->label, sizeof in->label, "%s:%d(leftover)", a->name, idx);
    in->removing = true;
    a->inst = xrealloc(a->inst, (size_t)(a->ninst + 1) * sizeof *a->inst);
    a->inst[a->ninst++] = in;
    sup__inst_adopt(in, pid, start, age_ms(start), false);
    if (sup__adopt_watch(in) < 0)
        tlog_warn("supervise", "%s: cannot watch pid %d with a pidfd", in->label, (int)pid);
    give_output(s, in, h);
    tlog_info("supervise", "%s: was being stopped when the previous daemon died; stopping it",
              in->label);
    sup__inst_stop(in);
}

static void adopt_instance(struct sup *s, struct sup_app *a, json_t *rec, struct held_set *h)
{
    int idx = (int)json_integer_value(json_object_get(rec, "index"));
    pid_t pid = (pid_t)json_integer_value(json_object_get(rec, "pid"));
    unsigned long long start =
        (unsigned long long)json_integer_value(json_object_get(rec, "start"));
    const char *state = json_string_value(json_object_get(rec, "state"));
    if (json_is_true(json_object_get(rec, "leftover")) || a->deleting) {
        if (idx >= 0 && pid > 0 && sup__pid_matches(pid, start))
            adopt_leftover(s, a, idx, pid, start, h);
        return;
    }
    if (idx < 0 || idx >= a->ninst)
        return;
    struct sup_instance *in = a->inst[idx];
    in->m.restarts = (int)json_integer_value(json_object_get(rec, "restarts"));
    if (pid > 0 && sup__pid_matches(pid, start)) {
        sup__inst_adopt(in, pid, start, age_ms(start), state && !strcmp(state, "starting"));
        if (sup__adopt_watch(in) < 0)
            tlog_warn("supervise",
                      "%s: cannot watch pid %d with a pidfd (Linux >= 5.3); "
                      "its exit is noticed by sampling",
                      in->label, (int)pid);
        give_output(s, in, h);
        return;
    }
    if (!pid && (!state || strcmp(state, "stopped") == 0))
        return;
    if (pid > 0)
        tlog_warn("supervise", "%s: pid %d recorded in state.json is gone%s", in->label, (int)pid,
                  in->ca->restart == CFG_RESTART_NEVER ? "" : "; starting it again");
    if (in->ca->restart != CFG_RESTART_NEVER)
        sup__inst_start(in, false);
}

static void adopt_app(struct sup *s, json_t *app, struct cfg **cfgs, size_t ncfgs,
                      struct held_set *h)
{
    const char *name = json_string_value(json_object_get(app, "name"));
    json_int_t ci = json_integer_value(json_object_get(app, "config"));
    if (!name || ci < 0 || (size_t)ci >= ncfgs || !cfgs[ci]) {
        tlog_error("supervise",
                   "cannot adopt app \"%s\": its configuration is not available; "
                   "its processes keep running unsupervised",
                   name ? name : "?");
        return;
    }
    const struct cfg_app *ca = cfg_app_find(cfgs[ci], name);
    bool deleting = json_is_true(json_object_get(app, "deleting"));
    if (!ca || (!deleting && sup__app_find(s, name)))
        return;
    struct sup_app *a = sup__app_add(s, cfgs[ci], ca);
    if (deleting) { /* only its leftovers, stopped; the collector removes it afterwards */
        a->deleting = true;
        sup__app_resize(a, 0);
        sup__cron_stop(a);
        sup__watch_stop(a);
        sup__gc_soon(s);
    }
    json_t *rec;
    size_t i;
    json_array_foreach(json_object_get(app, "instances"), i, rec) adopt_instance(s, a, rec, h);
}

static void drop_unused(struct sup *s, struct held_set *h)
{
    for (size_t i = 0; i < h->n; i++) {
        if (h->v[i].used)
            continue;
        /* The process is gone (or unknown): the keeper can let its pipes go. */
        sup__keeper_drop_key(s, h->v[i].key);
        close(h->v[i].out);
        close(h->v[i].err);
    }
    free(h->v);
}

int sup__adopt_all(struct sup *s, struct err *err)
{
    char path[512];
    struct buf b = {0};
    struct held_set held = {0};
    snprintf(path, sizeof path, "%s/state.json", s->home);
    if (s->keeper_fd >= 0)
        sup__keeper_get_all(s, collect, &held);
    int rc = read_file(path, 64 << 20, &b);
    json_t *j = rc == 0 ? json_loads(b.ptr, 0, NULL) : NULL;
    buf_fini(&b);
    if (!j) {
        drop_unused(s, &held);
        if (rc == -ENOENT)
            return 0;
        return rc < 0 ? err_set(err, rc, "cannot read %s: %s", path, err_str(rc))
                      : err_set(err, -TE_PARSE, "%s is not valid JSON", path);
    }
    json_t *configs = json_object_get(j, "configs");
    size_t ncfgs = json_array_size(configs);
    struct cfg **cfgs = xcalloc(ncfgs + 1, sizeof *cfgs);
    for (size_t i = 0; i < ncfgs; i++)
        if (sup__load_saved_cfg(s, json_array_get(configs, i), &cfgs[i], err) < 0)
            tlog_error("supervise", "%s", err->msg);
    json_int_t applied = json_integer_value(json_object_get(j, "applied"));
    if (applied >= 0 && (size_t)applied < ncfgs && cfgs[applied])
        s->cfg = cfg_ref(cfgs[applied]);
    json_t *app;
    size_t i;
    json_array_foreach(json_object_get(j, "apps"), i, app) adopt_app(s, app, cfgs, ncfgs, &held);
    drop_unused(s, &held);
    for (size_t k = 0; k < ncfgs; k++)
        cfg_unref(cfgs[k]);
    free(cfgs);
    json_decref(j);
    err_clear(err);
    sup__state_changed(s);
    return 0;
}
