/* supervise/state.c: $TEND_HOME/state.json (what runs now) and dump.json (save/resurrect).
 *
 * Both files hold the config snapshots in use as their source text, path and profile (so a
 * restarted daemon rebuilds exactly what was applied, even if tend.yaml changed on disk since)
 * and the app names that use each. state.json also lists each instance's pid, /proc start time
 * and restart count, and the processes still being stopped (leftovers, adopt.c stops them); it
 * is rewritten on every pid or state change. Writes are atomic
 * (afile_write, DESIGN invariant 4) and run in libuv's thread pool, because fsync can take
 * seconds on a busy disk and the loop must not wait (invariant 2); changes made while a write
 * is in flight are coalesced into one more write. dump.json is written only by `save`, which
 * refuses to replace a saved non-empty set with an empty one unless forced (PM2 lesson 6). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/afile.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "supervise/supervise_int.h"

static int cfg_index(json_t *configs, struct cfg **seen, size_t *nseen, struct cfg *c)
{
    for (size_t i = 0; i < *nseen; i++)
        if (seen[i] == c)
            return (int)i;
    seen[*nseen] = c;
    json_array_append_new(configs, json_pack("{s:s?, s:s?, s:s?}", "path", c->path, "profile",
                                             c->profile, "source", c->source));
    return (int)(*nseen)++;
}

static json_t *instance_json(const struct sup_instance *in, bool leftover)
{
    json_t *o = json_pack("{s:i, s:i, s:I, s:i, s:s}", "index", in->index, "pid", (int)in->pid,
                          "start", (json_int_t)in->start_ticks, "restarts", in->m.restarts,
                          "state", sup_state_name(in->m.state));
    if (leftover)
        json_object_set_new(o, "leftover", json_true());
    return o;
}

/* The instances of the running set, then the leftovers: processes still alive that are not
 * part of it (instances being removed, every instance of an app being deleted, a reload's
 * replacement not yet swapped in). A daemon killed before they exit must find and stop them
 * (DESIGN invariant 5: nothing orphaned, nothing duplicated). */
static json_t *instances_json(struct sup_app *a)
{
    json_t *arr = json_array();
    for (int i = 0; i < a->ninst; i++) {
        const struct sup_instance *in = a->inst[i];
        bool leftover = in->removing || a->deleting;
        if (!leftover || sup__inst_live(in))
            json_array_append_new(arr, instance_json(in, leftover));
    }
    struct sup_instance *spare = sup__reload_spare(a);
    if (spare && sup__inst_live(spare))
        json_array_append_new(arr, instance_json(spare, true));
    return arr;
}

/* {"version":1,"configs":[{path,profile,source}],"applied":i,"apps":[{name,config,instances}]} */
static json_t *set_json(struct sup *s, bool with_instances)
{
    size_t napps = 0;
    for (struct sup_app *a = s->apps; a; a = a->next)
        napps++;
    struct cfg **seen = xcalloc(napps + 1, sizeof *seen);
    size_t nseen = 0;
    json_t *configs = json_array(), *apps = json_array();
    for (struct sup_app *a = s->apps; a; a = a->next) {
        json_t *inst = with_instances ? instances_json(a) : NULL;
        if (a->deleting && json_array_size(inst) == 0) {
            json_decref(inst); /* gone, or not state.json: a deleted app is not saved */
            continue;
        }
        json_t *o = json_pack("{s:s, s:i}", "name", a->name, "config",
                              cfg_index(configs, seen, &nseen, a->cfg));
        if (a->deleting)
            json_object_set_new(o, "deleting", json_true());
        if (inst)
            json_object_set_new(o, "instances", inst);
        json_array_append_new(apps, o);
    }
    int applied = s->cfg ? cfg_index(configs, seen, &nseen, s->cfg) : -1;
    free(seen);
    return json_pack("{s:i, s:o, s:i, s:o}", "version", 1, "configs", configs, "applied", applied,
                     "apps", apps);
}

json_t *sup__state_json(struct sup *s)
{
    return set_json(s, true);
}

static void write_work(uv_work_t *w)
{
    struct sup *s = w->data;
    char path[512];
    struct err err = {0};
    snprintf(path, sizeof path, "%s/state.json", s->home);
    s->state_rc = afile_write(path, s->state_text, strlen(s->state_text), 0600, &err);
    if (s->state_rc < 0)
        tlog_error("supervise", "cannot write %s: %s", path, err.msg);
}

static void start_write(struct sup *s);

static void write_done(uv_work_t *w, int status)
{
    struct sup *s = w->data;
    s->state_busy = false;
    free(s->state_text);
    s->state_text = NULL;
    if (s->state_dirty)
        start_write(s);
    else if (s->shutting_down)
        sup__shutdown_step(s);
}

static void start_write(struct sup *s)
{
    json_t *j = sup__state_json(s);
    s->state_text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    s->state_dirty = false;
    s->state_busy = true;
    s->state_work.data = s;
    if (!s->state_text || uv_queue_work(s->loop, &s->state_work, write_work, write_done) < 0) {
        s->state_busy = false;
        free(s->state_text);
        s->state_text = NULL;
        tlog_error("supervise", "cannot queue the state.json write");
    }
}

void sup__state_changed(struct sup *s)
{
    if (!s->home)
        return;
    if (s->state_busy) {
        s->state_dirty = true;
        return;
    }
    start_write(s);
}

/* ---- save and resurrect ------------------------------------------------------------------ */

static int dump_path(struct sup *s, char *path, size_t size, struct err *err)
{
    if (!s->home || str_fmt(path, size, "%s/dump.json", s->home) < 0)
        return err_set(err, -ENAMETOOLONG, "no usable $TEND_HOME for dump.json");
    return 0;
}

static size_t saved_apps(const char *path)
{
    struct buf b = {0};
    size_t n = 0;
    if (read_file(path, 64 << 20, &b) == 0) {
        json_t *j = json_loads(b.ptr, 0, NULL);
        n = json_array_size(json_object_get(j, "apps"));
        json_decref(j);
    }
    buf_fini(&b);
    return n;
}

int sup_save(struct sup *s, bool force, struct err *err)
{
    char path[512];
    int rc = dump_path(s, path, sizeof path, err);
    if (rc < 0)
        return rc;
    json_t *j = set_json(s, false);
    size_t n = json_array_size(json_object_get(j, "apps"));
    size_t before = saved_apps(path);
    if (n == 0 && before > 0 && !force) {
        json_decref(j);
        rc = err_set(err, -TE_STATE, "cannot save: nothing is running and %s holds %zu apps", path,
                     before);
        err_hint(err, "tend save --force replaces it with the empty set");
        return rc;
    }
    char *text = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    rc = afile_write(path, text, strlen(text), 0600, err);
    free(text);
    if (rc == 0)
        tlog_info("supervise", "saved %zu apps to %s", n, path);
    return rc;
}

/* ---- resurrect: one apply per saved config, `done` once after the last ------------------ */

struct resurrect {
    sup_done_fn *done;
    void *arg;
    int pending, rc;
    struct err err;
    json_t *results;
};

static void resurrect_one_done(void *arg, int rc, json_t *result, const struct err *err)
{
    struct resurrect *r = arg;
    if (rc < 0 && r->rc == 0) {
        r->rc = rc;
        if (err)
            r->err = *err;
    }
    json_array_extend(r->results, json_object_get(result, "results"));
    if (--r->pending > 0)
        return;
    json_t *res = json_pack("{s:O}", "results", r->results);
    r->done(r->arg, r->rc, res, r->rc < 0 ? &r->err : NULL);
    json_decref(res);
    json_decref(r->results);
    free(r);
}

int sup_resurrect(struct sup *s, sup_done_fn *done, void *arg, struct err *err)
{
    char path[512];
    struct buf b = {0};
    int rc = dump_path(s, path, sizeof path, err);
    if (rc < 0)
        return rc;
    rc = read_file(path, 64 << 20, &b);
    json_t *j = rc == 0 ? json_loads(b.ptr, 0, NULL) : NULL;
    buf_fini(&b);
    if (rc == -ENOENT || (rc == 0 && json_array_size(json_object_get(j, "apps")) == 0)) {
        json_decref(j);
        struct sup_op *op = sup__op_new(s, "resurrect", done, arg); /* nothing to do */
        sup__op_arm(op);
        return 0;
    }
    if (!j)
        return rc < 0 ? err_set(err, rc, "cannot read %s: %s", path, err_str(rc))
                      : err_set(err, -TE_PARSE, "%s is not valid JSON", path);
    struct resurrect *r = xcalloc(1, sizeof *r);
    r->done = done;
    r->arg = arg;
    r->results = json_array();
    r->pending = 1; /* held until every apply is issued */
    json_t *configs = json_object_get(j, "configs"), *apps = json_object_get(j, "apps");
    for (size_t ci = 0; ci < json_array_size(configs); ci++) {
        struct cfg *cfg = NULL;
        const char *only[1024];
        size_t nonly = 0;
        json_t *a;
        size_t ai;
        json_array_foreach(apps, ai, a)
        {
            json_int_t idx = json_integer_value(json_object_get(a, "config"));
            const char *name = json_string_value(json_object_get(a, "name"));
            if (idx == (json_int_t)ci && name && nonly < ARRAY_LEN(only) - 1)
                only[nonly++] = name;
        }
        only[nonly] = NULL;
        if (!nonly || sup__load_saved_cfg(s, json_array_get(configs, ci), &cfg, err) < 0)
            continue;
        r->pending++;
        if (sup_apply(s, cfg, only, false, resurrect_one_done, r, err) < 0)
            r->pending--;
        cfg_unref(cfg);
    }
    json_decref(j);
    struct sup_op *op = sup__op_new(s, "resurrect", resurrect_one_done, r);
    sup__op_arm(op); /* releases the hold from the loop */
    return 0;
}
