/* core/curlx.c: load libcurl on first use (why: see curlx.h; it cost every tend process ~3 ms
 * of start-up and the daemon ~5 MiB of RSS while linked).
 *
 * curlx_load() dlopen()s "libcurl.so.4" (the SONAME of every libcurl 7.16+ and 8.x build, so
 * the OpenSSL and GnuTLS flavours both work) with RTLD_NOW, so a missing symbol fails here and
 * not at some later call, and RTLD_LOCAL, so its symbols never interpose on ours. Each symbol of
 * CURLX_FUNCS is looked up into a table that is then handed out read-only.
 *
 * Invariants: libcurl is loaded at most once per process and never unloaded (a dlclose() would
 * leave curl's global state and any live handle dangling); only the loop thread loads it (the
 * daemon's readiness checks, later probes and notifiers; the CLI has one thread). This file's
 * two statics are the exception to "no global mutable state" (STYLE 11.3): a loaded library is
 * per process by nature, like curl_global_init() itself. */
#include "core/curlx.h"

#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <stddef.h>

#include "core/err.h"

#define CURLX_SONAME "libcurl.so.4"

static struct curlx table;         /* filled once by curlx_load(), then only read */
static const struct curlx *loaded; /* &table once loaded and initialised */

static int missing(const char *soname, struct err *err)
{
    const char *why = dlerror();
    err_set(err, -TE_NOTFOUND, "cannot load %s: %s", soname, why ? why : "unknown dlopen error");
    err_hint(err, "install libcurl4 (apt-get install libcurl4)");
    return err->code;
}

int curlx__open(const char *soname, struct curlx *cx, struct err *err)
{
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return missing(soname, err);
    struct curlx got;
    void *sym;
    /* dlsym() returns void *; POSIX guarantees it converts to the function's pointer type. */
#define CURLX_RESOLVE(member, symbol)                                                              \
    dlerror();                                                                                     \
    if (!(sym = dlsym(lib, #symbol)))                                                              \
        return missing(soname, err);                                                               \
    got.member = (__typeof__(got.member))sym;
    CURLX_FUNCS(CURLX_RESOLVE)
#undef CURLX_RESOLVE
    *cx = got; /* lib stays open even on failure above: unloading is never safe (see the top) */
    return 0;
}

int curlx_load(const struct curlx **out, struct err *err)
{
    /* Backups call this from their worker threads (S3) while probes call it on the loop: one
     * lock makes the first load happen once. After it, `loaded` never changes. */
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    int rc = 0;
    if (!loaded) {
        rc = curlx__open(CURLX_SONAME, &table, err);
        CURLcode cc = rc < 0 ? CURLE_OK : table.global_init(CURL_GLOBAL_DEFAULT);
        if (rc == 0 && cc != CURLE_OK)
            rc = err_set(err, -TE_STATE, "cannot initialise libcurl: %s", table.easy_strerror(cc));
        if (rc == 0)
            loaded = &table;
    }
    pthread_mutex_unlock(&lock);
    if (rc == 0)
        *out = loaded;
    return rc;
}
