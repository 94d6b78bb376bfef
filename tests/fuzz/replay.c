/* tests/fuzz/replay.c: run a fuzz target over saved inputs, without libFuzzer.
 *
 * Linked with one tests/fuzz/fuzz_<name>.c by the normal compiler (so `make test` runs it, and
 * `make asan` under ASan and UBSan): calls LLVMFuzzerTestOneInput() once per file of the folders
 * given, by default tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/ (the crashes
 * found and fixed). A crash, a sanitizer report or a leak ends the program without the closing
 * line, which tests/run_all.sh counts as a failure; the file being run is printed first so the
 * output names it. Ends "N passed, 0 failed" with one pass per file. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "build with -DFUZZ_TARGET=\"name\""
#endif

static int read_all(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, n = 0;
    uint8_t *p = malloc(cap);
    if (!f || !p) {
        if (f)
            fclose(f);
        free(p);
        return -1;
    }
    for (;;) {
        if (n == cap) {
            uint8_t *q = realloc(p, cap *= 2);
            if (!q) {
                free(p);
                fclose(f);
                return -1;
            }
            p = q;
        }
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int rc = ferror(f) ? -1 : 0;
    fclose(f);
    if (rc < 0) {
        free(p);
        return -1;
    }
    *out = p;
    *len = n;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of `dir` in name order; a missing folder has none. */
static int replay_dir(const char *dir, int *passed, int *failed)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (!d)
        return errno == ENOENT ? 0 : -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **v = realloc(names, cap * sizeof *v);
            if (!v)
                abort();
            names = v;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        uint8_t *data;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        if (read_all(path, &data, &len) < 0) {
            fprintf(stderr, "FAIL cannot read %s\n", path);
            (*failed)++;
            continue;
        }
        fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        (*passed)++;
    }
    free(names);
    return 0;
}

int main(int argc, char **argv)
{
    char corpus[256], regressions[256];
    const char *defaults[] = {corpus, regressions};
    const char *const *dirs = (const char *const *)argv + 1;
    int ndirs = argc - 1, passed = 0, failed = 0;
    snprintf(corpus, sizeof corpus, "tests/fuzz/corpus/%s", FUZZ_TARGET);
    snprintf(regressions, sizeof regressions, "tests/fuzz/regressions/%s", FUZZ_TARGET);
    if (ndirs == 0) {
        dirs = defaults;
        ndirs = 2;
    }
    for (int i = 0; i < ndirs; i++)
        if (replay_dir(dirs[i], &passed, &failed) < 0) {
            fprintf(stderr, "FAIL cannot read the folder %s\n", dirs[i]);
            failed++;
        }
    if (passed == 0 && failed == 0) {
        fprintf(stderr, "FAIL no inputs for %s\n", FUZZ_TARGET);
        failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
