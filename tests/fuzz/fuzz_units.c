/* tests/fuzz/fuzz_units.c: the scalar parsers of tend.yaml (config/units.c): duration, size,
 * percent and signal. The input is split at '\n'; every piece goes through all four. */
#include "config/config.h"
#include "fuzz.h"

static void one(const char *s)
{
    uint64_t ms = 0, bytes = 0;
    double pct = 0;
    int sig = 0;
    (void)cfg_parse_duration(s, &ms);
    (void)cfg_parse_size(s, &bytes);
    (void)cfg_parse_percent(s, &pct);
    if (cfg_parse_signal(s, &sig) == 0)
        (void)cfg_signal_name(sig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_str(data, size);
    char *p = text;
    for (;;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        one(p);
        if (!nl)
            break;
        p = nl + 1;
    }
    free(text);
    return 0;
}
