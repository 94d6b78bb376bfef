/* tests/fuzz/fuzz_envfile.c: dotenv text (config/envfile.c cfg_envfile_parse) and the rendering
 * of its messages. */
#include "config/config.h"
#include "core/buf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_kv *kv = NULL;
    size_t n = 0;
    struct cfg_diag diag = {0};
    struct buf out;
    (void)cfg_envfile_parse(".env", (const char *)data, size, &kv, &n, &diag);
    for (size_t i = 0; i < n; i++)
        if (!kv[i].key || !kv[i].value)
            abort();
    cfg_kv_free(kv, n);
    buf_init(&out, 0);
    cfg_diag_format(&diag, &out);
    buf_fini(&out);
    return 0;
}
