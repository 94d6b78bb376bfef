/* core/curlx.h: libcurl, loaded with dlopen() on first use instead of linked.
 *
 * Linking libcurl made every start of the one `tend` binary (CLI verbs, the daemon, the keeper)
 * map ~33 more shared libraries (gnutls, libcrypto, krb5, ldap, p11-kit, ...): an empty program
 * with our libraries started in ~1.7 ms without libcurl and ~5 ms with it, and ~5 MiB of the
 * daemon's ~10 MiB RSS (and most of the keeper's ~8 MiB) were those libraries' pages. Only a few
 * features need libcurl (HTTP readiness today; probes, webhooks, SMTP, S3 later), so they call it
 * through this table, and a process that never uses them never maps it.
 *
 * Types and prototypes still come from <curl/curl.h>: each member has the type of the function it
 * stands for (`__typeof__(&curl_easy_init)`), so calls stay checked by the compiler. Adding a
 * function is one line in CURLX_FUNCS. */
#ifndef TEND_CORE_CURLX_H
#define TEND_CORE_CURLX_H

#include <curl/curl.h>

struct err;

/* X(member, symbol): the functions tend calls; keep sorted by member. */
#define CURLX_FUNCS(X)                                                                             \
    X(easy_cleanup, curl_easy_cleanup)                                                             \
    X(easy_escape, curl_easy_escape)                                                               \
    X(easy_getinfo, curl_easy_getinfo)                                                             \
    X(easy_init, curl_easy_init)                                                                   \
    X(easy_perform, curl_easy_perform)                                                             \
    X(easy_reset, curl_easy_reset)                                                                 \
    X(easy_setopt, curl_easy_setopt)                                                               \
    X(easy_strerror, curl_easy_strerror)                                                           \
    X(free, curl_free)                                                                             \
    X(global_init, curl_global_init)                                                               \
    X(multi_add_handle, curl_multi_add_handle)                                                     \
    X(multi_assign, curl_multi_assign)                                                             \
    X(multi_cleanup, curl_multi_cleanup)                                                           \
    X(multi_info_read, curl_multi_info_read)                                                       \
    X(multi_init, curl_multi_init)                                                                 \
    X(multi_remove_handle, curl_multi_remove_handle)                                               \
    X(multi_setopt, curl_multi_setopt)                                                             \
    X(multi_socket_action, curl_multi_socket_action)                                               \
    X(multi_strerror, curl_multi_strerror)                                                         \
    X(slist_append, curl_slist_append)                                                             \
    X(slist_free_all, curl_slist_free_all)                                                         \
    X(version, curl_version)

/* One pointer per function: `cx->easy_init()` calls curl_easy_init(). Never changes once loaded. */
struct curlx {
#define CURLX_MEMBER(member, symbol) __typeof__(&symbol) member;
    CURLX_FUNCS(CURLX_MEMBER)
#undef CURLX_MEMBER
};

/* Load libcurl.so.4, resolve every function above and call curl_global_init(CURL_GLOBAL_DEFAULT),
 * the first time; later calls return the same table at once. 0 with *out set (borrowed, valid
 * for the life of the process), or -TE_NOTFOUND with err ("cannot load libcurl.so.4: ...") when
 * the library or one of its functions is missing, or -TE_STATE when curl_global_init() fails; a
 * failed load is tried again by the next call. Thread-safe (a lock around the first load:
 * backup workers and the loop may race to it). */
int curlx_load(const struct curlx **out, struct err *err);

/* The loading step alone, for tests: dlopen `soname` and fill *cx, with curlx_load's errors. No
 * caching and no curl_global_init(); the library stays loaded (there is no unload). */
int curlx__open(const char *soname, struct curlx *cx, struct err *err);

#endif
