/* backup/stream.c: the byte stages a backup flows through, in an operation's worker thread.
 *
 * A flow is a chain of stages, each pushing what it produced into the next: the backup is
 * count -> compress -> [age] -> hash -> file, a restore is hash -> [age -d] -> decompress ->
 * tool. Nothing is staged whole in memory: each stage holds at most one chunk (CHUNK bytes of
 * output). The child stage (age) is the only one with two directions; it polls its child's stdin
 * and stdout together so neither side can fill its pipe and deadlock the other. Errors are
 * recorded once in the flow's struct err; a failing stage returns < 0 and every caller passes
 * that up unchanged. */
#include "backup/backup_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "core/cryptox.h"
#include "core/str.h"
#include "core/util.h"

#define CHUNK (256u << 10)

static int next_push(struct stage *s, const void *p, size_t n)
{
    return n ? s->next->push(s->next, p, n) : 0;
}

/* ---- codec: zstd, gzip, none; both directions -------------------------------------------------
 */
struct codec {
    struct stage st;
    enum cfg_compress kind;
    bool decompress;
    ZSTD_CCtx *zc;
    ZSTD_DCtx *zd;
    z_stream z;
    bool z_live;
    unsigned char *out;
};

static int zstd_step(struct codec *c, const void *p, size_t n, bool last)
{
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {c->out, CHUNK, 0};
        size_t r = c->decompress ? ZSTD_decompressStream(c->zd, &out, &in)
                                 : ZSTD_compressStream2(c->zc, &out, &in,
                                                        last ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(r))
            return err_set(c->st.err, -TE_INVALID, "zstd: %s", ZSTD_getErrorName(r));
        int rc = next_push(&c->st, c->out, out.pos);
        if (rc < 0)
            return rc;
        bool drained = c->decompress ? (in.pos == in.size && out.pos < CHUNK)
                                     : (last ? r == 0 : in.pos == in.size);
        if (drained)
            return 0;
    }
}

static int gzip_step(struct codec *c, const void *p, size_t n, bool last)
{
    c->z.next_in = (Bytef *)(uintptr_t)p;
    c->z.avail_in = (uInt)n;
    for (;;) {
        c->z.next_out = c->out;
        c->z.avail_out = CHUNK;
        int r = c->decompress ? inflate(&c->z, Z_NO_FLUSH)
                              : deflate(&c->z, last ? Z_FINISH : Z_NO_FLUSH);
        if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
            return err_set(c->st.err, -TE_INVALID, "gzip: %s", c->z.msg ? c->z.msg : "bad data");
        int rc = next_push(&c->st, c->out, CHUNK - c->z.avail_out);
        if (rc < 0)
            return rc;
        if (c->decompress && r == Z_STREAM_END && c->z.avail_in) /* concatenated members */
            inflateReset(&c->z);
        else if (c->z.avail_out != 0 && (!last || r == Z_STREAM_END || c->decompress))
            return 0;
    }
}

static int codec_push(struct stage *s, const void *p, size_t n)
{
    struct codec *c = (struct codec *)s;
    if (c->kind == CFG_COMPRESS_NONE)
        return next_push(s, p, n);
    return c->kind == CFG_COMPRESS_ZSTD ? zstd_step(c, p, n, false) : gzip_step(c, p, n, false);
}

static int codec_end(struct stage *s)
{
    struct codec *c = (struct codec *)s;
    int rc = 0;
    if (c->kind == CFG_COMPRESS_ZSTD && !c->decompress)
        rc = zstd_step(c, NULL, 0, true);
    else if (c->kind == CFG_COMPRESS_GZIP && !c->decompress)
        rc = gzip_step(c, NULL, 0, true);
    return rc < 0 ? rc : s->next->end(s->next);
}

static void codec_free(struct stage *s)
{
    struct codec *c = (struct codec *)s;
    ZSTD_freeCCtx(c->zc);
    ZSTD_freeDCtx(c->zd);
    if (c->z_live && c->decompress)
        inflateEnd(&c->z);
    else if (c->z_live)
        deflateEnd(&c->z);
    free(c->out);
    free(c);
}

struct stage *backup__stage_codec(enum cfg_compress kind, int level, bool decompress)
{
    struct codec *c = xcalloc(1, sizeof *c);
    c->st = (struct stage){codec_push, codec_end, codec_free, NULL, NULL};
    c->kind = kind;
    c->decompress = decompress;
    c->out = xmalloc(CHUNK);
    if (kind == CFG_COMPRESS_ZSTD && decompress) {
        c->zd = ZSTD_createDCtx();
    } else if (kind == CFG_COMPRESS_ZSTD) {
        c->zc = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, level);
        ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 1);
    } else if (kind == CFG_COMPRESS_GZIP) {
        /* 15 + 16: a gzip header, so `gzip -d` and `zcat` read the file. */
        c->z_live = (decompress ? inflateInit2(&c->z, 15 + 32)
                                : deflateInit2(&c->z, level, Z_DEFLATED, 15 + 16, 8,
                                               Z_DEFAULT_STRATEGY)) == Z_OK;
    }
    assert(kind == CFG_COMPRESS_NONE || c->zc || c->zd || c->z_live);
    return &c->st;
}

const char *backup__compress_ext(enum cfg_compress c)
{
    return c == CFG_COMPRESS_ZSTD ? ".zst" : c == CFG_COMPRESS_GZIP ? ".gz" : "";
}

/* ---- hash and count ----------------------------------------------------------------------------
 */
struct hash {
    struct stage st;
    const struct cryptox *cx; /* NULL when libcrypto could not be loaded: every push fails */
    struct err load_err;
    EVP_MD_CTX *md;
    uint64_t bytes;
    char hex[65];
};

static int hash_push(struct stage *s, const void *p, size_t n)
{
    struct hash *h = (struct hash *)s;
    h->bytes += n;
    if (!h->cx) {
        *s->err = h->load_err;
        return s->err->code;
    }
    if (h->cx->digest_update(h->md, p, n) != 1)
        return err_set(s->err, -TE_INVALID, "sha256 failed");
    return s->next ? next_push(s, p, n) : 0;
}

static int hash_end(struct stage *s)
{
    struct hash *h = (struct hash *)s;
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!h->cx) {
        *s->err = h->load_err;
        return s->err->code;
    }
    if (h->cx->digest_final_ex(h->md, d, &len) != 1)
        return err_set(s->err, -TE_INVALID, "sha256 failed");
    for (unsigned i = 0; i < len && i < 32; i++)
        snprintf(h->hex + 2 * i, 3, "%02x", d[i]);
    return s->next ? s->next->end(s->next) : 0;
}

static void hash_free(struct stage *s)
{
    struct hash *h = (struct hash *)s;
    if (h->cx)
        h->cx->md_ctx_free(h->md);
    free(s);
}

struct stage *backup__stage_hash(void)
{
    struct hash *h = xcalloc(1, sizeof *h);
    h->st = (struct stage){hash_push, hash_end, hash_free, NULL, NULL};
    if (cryptox_load(&h->cx, &h->load_err) < 0)
        return &h->st; /* the first push reports why */
    h->md = h->cx->md_ctx_new();
    int ok = h->md && h->cx->digest_init_ex(h->md, h->cx->sha256(), NULL) == 1;
    assert(ok); /* only out of memory fails here; SHA-256 is always built in */
    (void)ok;
    return &h->st;
}

void backup__stage_hash_result(const struct stage *s, char hex[65], uint64_t *bytes)
{
    const struct hash *h = (const struct hash *)s;
    str_copy(hex, h->hex, 65);
    *bytes = h->bytes;
}

struct count {
    struct stage st;
    uint64_t *bytes;
};

static int count_push(struct stage *s, const void *p, size_t n)
{
    /* Atomic: backup_status() reads the count from the loop thread while the run goes on. */
    __atomic_fetch_add(((struct count *)s)->bytes, (uint64_t)n, __ATOMIC_RELAXED);
    return next_push(s, p, n);
}

static int pass_end(struct stage *s)
{
    return s->next->end(s->next);
}

static void plain_free(struct stage *s)
{
    free(s);
}

struct stage *backup__stage_count(uint64_t *bytes)
{
    struct count *c = xcalloc(1, sizeof *c);
    c->st = (struct stage){count_push, pass_end, plain_free, NULL, NULL};
    c->bytes = bytes;
    return &c->st;
}

/* ---- fd sink -----------------------------------------------------------------------------------
 */
struct sink {
    struct stage st;
    int fd;
};

static int sink_push(struct stage *s, const void *p, size_t n)
{
    struct sink *k = (struct sink *)s;
    int rc = k->fd < 0 ? 0 : write_all(k->fd, p, n);
    if (rc < 0)
        return err_set(s->err, rc, "cannot write: %s", strerror(-rc));
    return 0;
}

static int sink_end(struct stage *s)
{
    (void)s;
    return 0;
}

struct stage *backup__stage_fd(int fd)
{
    struct sink *k = xcalloc(1, sizeof *k);
    k->st = (struct stage){sink_push, sink_end, plain_free, NULL, NULL};
    k->fd = fd;
    return &k->st;
}

/* ---- through a child
 * ------------------------------------------------------------------------------ */
struct child {
    struct stage st;
    int in, out;
    const char *name;
    unsigned char *buf;
};

/* Read what the child has written (one chunk) and pass it on: 1 at EOF, 0, or < 0. */
static int child_drain(struct child *c)
{
    ssize_t r = read(c->out, c->buf, CHUNK);
    if (r < 0 && errno == EINTR)
        return 0;
    if (r < 0)
        return err_set(c->st.err, -errno, "cannot read from %s: %s", c->name, strerror(errno));
    if (r == 0)
        return 1;
    return next_push(&c->st, c->buf, (size_t)r);
}

static int child_push(struct stage *s, const void *p, size_t n)
{
    struct child *c = (struct child *)s;
    const char *q = p;
    while (n > 0) {
        struct pollfd fds[2] = {{c->out, POLLIN, 0}, {c->in, POLLOUT, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return err_set(s->err, -errno, "poll: %s", strerror(errno));
        }
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            int rc = child_drain(c);
            if (rc < 0)
                return rc;
            if (rc == 1)
                return err_set(s->err, -EPIPE, "%s stopped reading its input", c->name);
        }
        if (fds[1].revents & (POLLERR | POLLHUP))
            return err_set(s->err, -EPIPE, "%s stopped reading its input", c->name);
        if (fds[1].revents & POLLOUT) {
            ssize_t w = write(c->in, q, n);
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                return err_set(s->err, -errno, "cannot write to %s: %s", c->name, strerror(errno));
            if (w > 0) {
                q += w;
                n -= (size_t)w;
            }
        }
    }
    return 0;
}

static int child_end(struct stage *s)
{
    struct child *c = (struct child *)s;
    int rc = 0;
    close(c->in);
    c->in = -1;
    while ((rc = child_drain(c)) == 0)
        ;
    return rc < 0 ? rc : s->next->end(s->next);
}

static void child_free(struct stage *s)
{
    struct child *c = (struct child *)s;
    if (c->in >= 0)
        close(c->in);
    close(c->out);
    free(c->buf);
    free(c);
}

struct stage *backup__stage_child(int in_fd, int out_fd, const char *name)
{
    struct child *c = xcalloc(1, sizeof *c);
    c->st = (struct stage){child_push, child_end, child_free, NULL, NULL};
    c->in = in_fd;
    c->out = out_fd;
    c->name = name;
    c->buf = xmalloc(CHUNK);
    fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
    return &c->st;
}

/* ---- chains
 * ---------------------------------------------------------------------------------------- */
struct stage *backup__chain(struct stage **s, size_t n, struct err *err)
{
    struct stage *head = NULL, *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!s[i])
            continue;
        s[i]->err = err;
        if (prev)
            prev->next = s[i];
        else
            head = s[i];
        prev = s[i];
    }
    return head;
}

void backup__chain_free(struct stage *head)
{
    while (head) {
        struct stage *next = head->next;
        head->free(head);
        head = next;
    }
}

int backup__pump(int fd, struct stage *head, struct err *err)
{
    unsigned char *buf = xmalloc(CHUNK);
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = err_set(err, -errno, "cannot read: %s", strerror(errno));
            break;
        }
        if (r == 0) {
            rc = head->end(head);
            break;
        }
        if ((rc = head->push(head, buf, (size_t)r)) < 0)
            break;
    }
    free(buf);
    return rc;
}
