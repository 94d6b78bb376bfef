/* tests/fuzz/fuzz_config.c: a whole tend.yaml from memory (config/load.c cfg_load_mem: YAML,
 * interpolation, every check), its messages rendered, and for a file that loads: each app
 * printed back as YAML (plain and masked), its env and argv expansion, and the typed watch and
 * backup sections built from the same text. Paths resolve against /tmp, which exists. */
#include "config/config.h"
#include "core/buf.h"
#include "fuzz.h"

static void use_app(const struct cfg_app *a)
{
    struct buf b;
    buf_init(&b, 0);
    (void)cfg_app_to_yaml(a, &b);
    buf_reset(&b);
    (void)cfg_app_to_yaml_masked(a, &b);
    buf_fini(&b);
    free(cfg_app_expand(a, 1, a->ready_url));
    free(cfg_app_expand(a, 0, a->cmd));
    for (char **v = a->argv; v && *v; v++)
        free(cfg_app_expand(a, 0, *v));
    if (a->env_file)
        return; /* cfg_app_env would read a file named by the input */
    struct cfg_envvar *env = NULL;
    size_t n = 0;
    if (cfg_app_env(a, a->instances - 1, fuzz_environ, &env, &n, NULL) == 0)
        cfg_envvar_free(env, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct cfg_load_opts opts = {
        .profile = size && data[0] == '#' ? "production" : NULL, /* a comment picks a profile */
        .home = "/tmp/tend-fuzz-home",
        .environ = fuzz_environ,
        .base_dir = "/tmp",
    };
    struct cfg *c = NULL;
    struct cfg_diag diag = {0};
    struct buf out;
    int rc = cfg_load_mem("tend.yaml", (const char *)data, size, &opts, &c, &diag);
    buf_init(&out, 0);
    cfg_diag_format(&diag, &out);
    buf_fini(&out);
    if (rc == 0) {
        for (size_t i = 0; i < c->napps; i++) {
            use_app(c->apps[i]);
            if (cfg_app_find(c, c->apps[i]->name) == NULL)
                abort();
            (void)cfg_app_changed(c->apps[i], c->apps[0]);
        }
        struct cfg_watch *w = NULL;
        struct cfg_backups *bs = NULL;
        struct cfg_diag d2 = {0};
        if (cfg_watch_load(c, &opts, &w, &d2) == 0)
            cfg_watch_unref(w);
        memset(&d2, 0, sizeof d2);
        if (cfg_backups_load(c, &opts, &bs, &d2) == 0)
            cfg_backups_unref(bs);
    }
    cfg_unref(c);
    return 0;
}
