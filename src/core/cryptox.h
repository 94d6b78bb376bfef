/* core/cryptox.h: OpenSSL's libcrypto, loaded with dlopen() on first use instead of linked.
 *
 * Only backups hash with SHA-256; linking libcrypto put ~1.4 MiB of its pages into every tend
 * process (each CLI verb, the daemon, the keeper) and the daemon over its 5 MiB target, for a
 * feature most runs never touch. The same reasoning and shape as core/curlx.h: members carry the
 * types of the functions they stand for, so calls stay checked by the compiler. */
#ifndef TEND_CORE_CRYPTOX_H
#define TEND_CORE_CRYPTOX_H

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

struct err;

/* X(member, symbol): the functions tend calls. */
#define CRYPTOX_FUNCS(X)                                                                           \
    X(digest_final_ex, EVP_DigestFinal_ex)                                                         \
    X(digest_init_ex, EVP_DigestInit_ex)                                                           \
    X(digest_update, EVP_DigestUpdate)                                                             \
    X(encode_block, EVP_EncodeBlock)                                                               \
    X(hmac, HMAC)                                                                                  \
    X(md5, EVP_md5)                                                                                \
    X(md_ctx_free, EVP_MD_CTX_free)                                                                \
    X(md_ctx_new, EVP_MD_CTX_new)                                                                  \
    X(sha256, EVP_sha256)                                                                          \
    X(version, OpenSSL_version)

struct cryptox {
#define CRYPTOX_MEMBER(member, symbol) __typeof__(&symbol) member;
    CRYPTOX_FUNCS(CRYPTOX_MEMBER)
#undef CRYPTOX_MEMBER
};

/* Load libcrypto.so.3 and resolve the functions above, once (thread-safe: backups hash on their
 * own threads); later calls return the same table. 0 with *out (valid for the life of the
 * process), or -TE_NOTFOUND with err ("cannot load libcrypto.so.3: ..."). */
int cryptox_load(const struct cryptox **out, struct err *err);

#endif
