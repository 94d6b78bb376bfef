/* tests/fuzz/fuzz_pm2.c: the PM2 ecosystem import without node (config/pm2_json.c's lenient
 * JSON: comments, unquoted keys, process.env.X || 'y'; then pm2_map.c writing tend.yaml), and
 * the tend.yaml it wrote loaded back with cfg_load_mem() as `tend import` does. */
#include "config/config_int.h"
#include "config/pm2_int.h"
#include "core/buf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char path[] = "/tmp/tend-fuzz-pm2/ecosystem.config.json";
    struct cfg_diag diag = {0};
    struct pm2_pos pos = {0};
    json_t *root = NULL;
    struct buf yaml, out;
    char *text = fuzz_str(data, size);
    buf_init(&yaml, 0);
    buf_init(&out, 0);
    (void)cfg_is_pm2_file("ecosystem.yaml", text);
    cfg__diag_init(&diag, "ecosystem.config.json");
    int rc = cfg__pm2_json_parse((const char *)data, size, fuzz_environ, &root, &pos, &diag);
    if (rc == 0)
        rc = cfg__pm2_map(path, root, &pos, &yaml, &diag);
    cfg__diag_sort(&diag);
    cfg_diag_format(&diag, &out);
    if (rc == 0) {
        const struct cfg_load_opts opts = {
            .home = "/tmp/tend-fuzz-home", .environ = fuzz_environ, .base_dir = "/tmp"};
        struct cfg *c = NULL;
        struct cfg_diag d2 = {0};
        if (cfg_load_mem("tend.yaml", yaml.ptr, yaml.len, &opts, &c, &d2) == 0)
            cfg_unref(c);
    }
    json_decref(root);
    cfg__pm2_pos_fini(&pos);
    buf_fini(&out);
    buf_fini(&yaml);
    free(text);
    return 0;
}
