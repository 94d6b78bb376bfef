/* core/cryptox.c: load libcrypto on first use (why: see cryptox.h).
 *
 * pthread_once makes the one load safe from any thread; the result (table or error text) is
 * kept, so every caller sees the same answer. The library is never unloaded. */
#include "core/cryptox.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "core/err.h"

#define CRYPTOX_SONAME "libcrypto.so.3"

static struct cryptox table;
static int load_rc;
static char load_msg[300];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load_once(void)
{
    void *lib = dlopen(CRYPTOX_SONAME, RTLD_NOW | RTLD_LOCAL);
    void *sym = lib;
    const char *why;
#define CRYPTOX_RESOLVE(member, symbol)                                                            \
    if (sym && (sym = dlsym(lib, #symbol)))                                                        \
        table.member = (__typeof__(table.member))sym;
    CRYPTOX_FUNCS(CRYPTOX_RESOLVE)
#undef CRYPTOX_RESOLVE
    if (sym)
        return;
    why = dlerror();
    snprintf(load_msg, sizeof load_msg, "cannot load %s: %s", CRYPTOX_SONAME,
             why ? why : "unknown dlopen error");
    load_rc = -TE_NOTFOUND;
}

int cryptox_load(const struct cryptox **out, struct err *err)
{
    pthread_once(&once, load_once);
    if (load_rc < 0) {
        err_set(err, load_rc, "%s", load_msg);
        err_hint(err, "install libssl3 (apt-get install libssl3)");
        return load_rc;
    }
    *out = &table;
    return 0;
}
