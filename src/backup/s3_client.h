/* backup/s3_client.h: S3 requests for target_s3.c (module-internal, like backup_int.h).
 *
 * One struct s3 is one target's connection for the length of one target call: its libcurl
 * handle, its credentials and the URL every key hangs off. backup__s3_request() sends one
 * signed request and reads the answer; the helpers compute the checksums the bodies carry and
 * read the XML answers. All of it blocks: it runs in an operation's worker thread. */
#ifndef TEND_BACKUP_S3_CLIENT_H
#define TEND_BACKUP_S3_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "backup/backup_int.h"
#include "core/buf.h"
#include "core/cryptox.h"
#include "core/curlx.h"

/* One target's connection. backup__s3_open() fills it; backup__s3_close() releases it. */
struct s3 {
    const struct cfg_backup_target *t;
    const struct curlx *cx;
    const struct cryptox *cc;
    CURL *h;
    char *key_id, *secret, *token; /* owned, wiped on close */
    bool is_virtual;               /* virtual-hosted URLs (bucket in the host name) */
    char base[1024];               /* the URL before "/key": "https://b.host", "http://h:9000/b" */
    char sigv4[128];               /* "aws:amz:REGION:s3" */
    char prefix[512];              /* "" or "db/daily/" */
    char errbuf[CURL_ERROR_SIZE];
};

/* One request and its answer. backup__s3_req_init() sets it up; free `body` with buf_fini(). */
struct s3_req {
    const char *method;    /* GET HEAD PUT POST DELETE */
    const char *key;       /* NULL: the bucket itself */
    const char *query;     /* canonical (sorted, encoded), or NULL */
    const char *mem;       /* body from memory (PUT, POST) ... */
    int in_fd;             /* ... or from this file (-1: none) */
    uint64_t in_off, len;  /* the body's place in the file and its size */
    char sha256[65];       /* hex SHA-256 of the body ("" = of no bytes) */
    unsigned char md5[16]; /* MD5 of the body (sent as Content-MD5) when has_md5 */
    bool has_md5;
    const char *meta_sha256; /* x-amz-meta-sha256 to store, or NULL */
    int out_fd;              /* a 2xx answer's body goes here when >= 0 */
    /* the answer */
    long status;
    struct buf body; /* the answer's body unless out_fd took it (error XML, a listing) */
    char etag[80], meta[80];
    uint64_t sent, received;
    int io_errno;
};

/* An XML answer as its elements in document order: "ListBucketResult/Contents/Key" -> text. */
struct s3_xml {
    char **paths, **texts;
    size_t n, cap, skip;
    char path[256];
    struct buf text;
};

/* ---- connection ------------------------------------------------------------------------------ */
/* Load libcurl and libcrypto, resolve credentials and the URL. 0, or < 0 with err. */
int backup__s3_open(const struct cfg_backup_target *t, struct s3 *s, struct err *err);
void backup__s3_close(struct s3 *s);
/* The object name <prefix><file><suffix>; `file` must be a backup name, never a path. */
int backup__s3_key(const struct s3 *s, const char *file, const char *suffix, char *dst, size_t size,
                   struct err *err);

/* ---- requests -------------------------------------------------------------------------------- */
void backup__s3_req_init(struct s3_req *r, const char *method, const char *key, const char *query);
/* Send r (retrying transient failures): 0 for a 2xx answer; else < 0 with err: -TE_NOTFOUND for
 * 404, -TE_AUTH for 403, -EIO otherwise ("s3 PUT b/k: 403 SignatureDoesNotMatch: ..."). */
int backup__s3_request(struct s3 *s, struct s3_req *r, struct err *err);
/* err from the <Error> in r's answer, prefixed with `what`; returns the code. */
int backup__s3_answer_error(struct s3 *s, struct s3_req *r, const char *what, struct err *err);

/* ---- checksums and XML --------------------------------------------------------------------- */
/* SHA-256 and MD5 of r's body (file range or memory) into r; the bytes also go to `whole` when
 * it is not NULL. */
int backup__s3_checksum(struct s3 *s, struct s3_req *r, EVP_MD_CTX *whole, struct err *err);
/* An ETag that is an MD5 must be the body's; other ETags (SSE-KMS, multipart) are not checked. */
int backup__s3_check_etag(const struct s3 *s, const struct s3_req *r, struct err *err);
void backup__s3_hex(const unsigned char *p, size_t n, char *dst);
/* Parse an answer into x; on success the caller frees it with backup__s3_xml_free(). */
int backup__s3_xml_read(const struct buf *b, struct s3_xml *x, struct err *err);
/* The text of the first element at `path` ("Error/Code"), or NULL; borrowed from x. */
const char *backup__s3_xml_get(const struct s3_xml *x, const char *path);
void backup__s3_xml_free(struct s3_xml *x);

#endif
