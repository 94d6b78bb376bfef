/* watch/pqx.h: libpq, loaded with dlopen() on first use instead of linked (as core/curlx.h).
 *
 * libpq drags in libssl, libcrypto, GSSAPI/krb5 and LDAP: linked, every start of the one `tend`
 * binary (CLI verbs included) would map them although only the `postgres` probe uses libpq. The
 * probe calls it through this table, so a process without a postgres check never maps it.
 *
 * Types and prototypes still come from <libpq-fe.h>: each member has the type of the function it
 * stands for (`__typeof__(&PQconnectPoll)`), so calls stay checked by the compiler. Adding a
 * function is one line in PQX_FUNCS. */
#ifndef TEND_WATCH_PQX_H
#define TEND_WATCH_PQX_H

#include <libpq-fe.h>

struct err;

/* X(member, symbol): the functions tend calls; keep sorted by member. connectdb and exec block:
 * only tests use them (to hold connections open, to set a server up), never the daemon. */
#define PQX_FUNCS(X)                                                                               \
    X(clear, PQclear)                                                                              \
    X(connectPoll, PQconnectPoll)                                                                  \
    X(connectStartParams, PQconnectStartParams)                                                    \
    X(connectdb, PQconnectdb)                                                                      \
    X(conninfoFree, PQconninfoFree)                                                                \
    X(conninfoParse, PQconninfoParse)                                                              \
    X(consumeInput, PQconsumeInput)                                                                \
    X(errorMessage, PQerrorMessage)                                                                \
    X(exec, PQexec)                                                                                \
    X(finish, PQfinish)                                                                            \
    X(flush, PQflush)                                                                              \
    X(freemem, PQfreemem)                                                                          \
    X(getResult, PQgetResult)                                                                      \
    X(getisnull, PQgetisnull)                                                                      \
    X(getvalue, PQgetvalue)                                                                        \
    X(isBusy, PQisBusy)                                                                            \
    X(libVersion, PQlibVersion)                                                                    \
    X(nfields, PQnfields)                                                                          \
    X(ntuples, PQntuples)                                                                          \
    X(resultErrorField, PQresultErrorField)                                                        \
    X(resultStatus, PQresultStatus)                                                                \
    X(sendQuery, PQsendQuery)                                                                      \
    X(setnonblocking, PQsetnonblocking)                                                            \
    X(socket, PQsocket)                                                                            \
    X(status, PQstatus)

/* One pointer per function: `px->connectPoll(c)` calls PQconnectPoll(c). Never changes once
 * loaded. */
struct pqx {
#define PQX_MEMBER(member, symbol) __typeof__(&symbol) member;
    PQX_FUNCS(PQX_MEMBER)
#undef PQX_MEMBER
};

/* Load libpq.so.5 and resolve every function above, the first time; later calls return the same
 * table at once. 0 with *out set (borrowed, valid for the life of the process), or -TE_NOTFOUND
 * with err ("cannot load libpq.so.5: ...", hint: what to install) when the library or one of its
 * functions is missing; a failed load is tried again by the next call. Not thread-safe: call it
 * from the loop thread (or, in the CLI, the only thread). */
int pqx_load(const struct pqx **out, struct err *err);

/* The loading step alone, for tests: dlopen `soname` and fill *px, with pqx_load's errors. No
 * caching; the library stays loaded (there is no unload). */
int pqx__open(const char *soname, struct pqx *px, struct err *err);

#endif
