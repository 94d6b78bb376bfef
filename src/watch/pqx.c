/* watch/pqx.c: load libpq on first use (why: see pqx.h; linked, it would map libssl, krb5 and
 * LDAP into every tend process).
 *
 * pqx_load() dlopen()s "libpq.so.5" (the SONAME of every libpq since PostgreSQL 8.2) with
 * RTLD_NOW, so a missing symbol fails here and not at some later call, and RTLD_LOCAL, so its
 * symbols never interpose on ours. Each symbol of PQX_FUNCS is looked up into a table that is then
 * handed out read-only. libpq needs no global initialisation (it sets up OpenSSL itself and sends
 * with MSG_NOSIGNAL, so SIGPIPE needs nothing either).
 *
 * Invariants: libpq is loaded at most once per process and never unloaded (a dlclose() would leave
 * any live PGconn and libpq's OpenSSL callbacks dangling); only the loop thread loads it. This
 * file's two statics are the exception to "no global mutable state" (STYLE 11.3): a loaded
 * library is per process by nature. */
#include "watch/pqx.h"

#include <dlfcn.h>
#include <stddef.h>

#include "core/err.h"

#define PQX_SONAME "libpq.so.5"

static struct pqx table;         /* filled once by pqx_load(), then only read */
static const struct pqx *loaded; /* &table once loaded */

static int missing(const char *soname, struct err *err)
{
    const char *why = dlerror();
    err_set(err, -TE_NOTFOUND, "cannot load %s: %s", soname, why ? why : "unknown dlopen error");
    err_hint(err, "install libpq5 (apt-get install libpq5)");
    return -TE_NOTFOUND;
}

int pqx__open(const char *soname, struct pqx *px, struct err *err)
{
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return missing(soname, err);
    struct pqx got;
    void *sym;
    /* dlsym() returns void *; POSIX guarantees it converts to the function's pointer type. */
#define PQX_RESOLVE(member, symbol)                                                                \
    dlerror();                                                                                     \
    if (!(sym = dlsym(lib, #symbol)))                                                              \
        return missing(soname, err);                                                               \
    got.member = (__typeof__(got.member))sym;
    PQX_FUNCS(PQX_RESOLVE)
#undef PQX_RESOLVE
    *px = got; /* lib stays open even on failure above: unloading is never safe (see the top) */
    return 0;
}

int pqx_load(const struct pqx **out, struct err *err)
{
    if (loaded) {
        *out = loaded;
        return 0;
    }
    int rc = pqx__open(PQX_SONAME, &table, err);
    if (rc < 0)
        return rc;
    loaded = &table;
    *out = loaded;
    return 0;
}
