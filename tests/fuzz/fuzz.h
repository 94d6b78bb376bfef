/* tests/fuzz/fuzz.h: what the fuzz targets share.
 *
 * Each tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput() over tend's real parsing code.
 * `make fuzz` links a target with libFuzzer; `make test` links it with replay.c, which calls it
 * on every file of tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/. A target frees
 * everything it allocated before returning (LeakSanitizer runs in both). */
#ifndef TEND_FUZZ_H
#define TEND_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (a NUL inside ends it early, as it would for C callers);
 * the caller frees. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* A fixed environment for ${VAR} and process.env lookups, so runs do not depend on the host. */
static const char *const fuzz_environ[] = {"HOME=/home/tend",    "PORT=3000", "NODE_ENV=production",
                                           "DB_PASSWORD=s3cret", "EMPTY=",    NULL};

#endif
