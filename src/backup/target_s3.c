/* backup/target_s3.c: backups in S3-compatible object storage (`targets: [{s3: {...}}]`): AWS S3,
 * Aliyun OSS's S3-compatible endpoint, MinIO. Requests, credentials and addressing are in
 * s3_client.c; this file is what a target does with them.
 *
 * Layout: <prefix>/<file> and <prefix>/<file>.json, the same pair as a local folder. A backup
 * counts only once its manifest exists, and put() uploads the manifest last, only after the data
 * object is verified: the server checked every body against its Content-MD5 and signed SHA-256;
 * every ETag that is an MD5 equals ours; the whole file's SHA-256 equals the manifest's; and a
 * HEAD shows the manifest's size as Content-Length and its sha256 as x-amz-meta-sha256 (set at
 * upload). A failed upload leaves no manifest (put() deletes what it stored), so list() never
 * shows it: a single PUT is atomic, and a multipart upload is invisible until
 * CompleteMultipartUpload (aborted on failure; a killed process leaves parts that the bucket rule
 * "abort incomplete multipart uploads" clears). remove() deletes the manifest first; update()
 * writes a manifest only beside an existing file.
 *
 * Files larger than the part size (64 MiB, doubled until 10,000 parts hold the file) go up in
 * parts. TEND_S3_PART_SIZE (bytes) and TEND_S3_MAX_KEYS (keys per list page) exist for tests, to
 * run multipart uploads and list continuation on small data; they are not user settings. Every
 * function blocks: they run in an operation's worker thread. */
#include "backup/s3_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/str.h"
#include "core/util.h"

#define PART_SIZE (64ull << 20)
#define MAX_PARTS 10000

/* ---- put ------------------------------------------------------------------------------------- */
static uint64_t part_size(uint64_t size)
{
    const char *env = getenv("TEND_S3_PART_SIZE"); /* for tests only (see the top) */
    uint64_t part = env ? strtoull(env, NULL, 10) : 0;
    if (part < 1024)
        part = PART_SIZE;
    while ((size + part - 1) / part > MAX_PARTS)
        part *= 2;
    return part;
}

static int put_single(struct s3 *s, const char *key, int fd, uint64_t size, const char *sha,
                      struct err *err)
{
    struct s3_req r;
    backup__s3_req_init(&r, "PUT", key, NULL);
    r.in_fd = fd;
    r.len = size;
    r.meta_sha256 = sha;
    int rc = backup__s3_checksum(s, &r, NULL, err);
    if (rc == 0 && strcmp(r.sha256, sha) != 0)
        rc = err_set(err, -TE_INVALID, "the backup file does not match its manifest's SHA-256");
    if (rc == 0 && (rc = backup__s3_request(s, &r, err)) == 0)
        rc = backup__s3_check_etag(s, &r, err);
    buf_fini(&r.body);
    return rc;
}

static int complete_xml(char **etags, size_t n, struct buf *xml)
{
    int rc = buf_puts(xml, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = buf_printf(xml, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>", i + 1,
                        etags[i]);
    return rc ? rc : buf_puts(xml, "</CompleteMultipartUpload>");
}

static int put_parts(struct s3 *s, const char *key, const char *upload, int fd, uint64_t size,
                     uint64_t part, const char *sha, struct err *err)
{
    size_t n = (size_t)((size + part - 1) / part), i;
    char **etags = xcalloc(n, sizeof *etags), query[600], whole_hex[65] = "";
    unsigned char out[32];
    unsigned int len = 0;
    struct buf xml;
    struct s3_req r;
    buf_init(&xml, 0);
    EVP_MD_CTX *whole = s->cc->md_ctx_new();
    int rc = whole && s->cc->digest_init_ex(whole, s->cc->sha256(), NULL)
                 ? 0
                 : err_set(err, -ENOMEM, "cannot start a checksum");
    for (i = 0; i < n && rc == 0; i++) {
        backup__s3_req_init(&r, "PUT", key, query);
        snprintf(query, sizeof query, "partNumber=%zu&uploadId=%s", i + 1, upload);
        r.in_fd = fd;
        r.in_off = i * part;
        r.len = i + 1 < n ? part : size - i * part;
        if ((rc = backup__s3_checksum(s, &r, whole, err)) == 0 &&
            (rc = backup__s3_request(s, &r, err)) == 0 &&
            (rc = backup__s3_check_etag(s, &r, err)) == 0)
            etags[i] = str_dup(r.etag);
        buf_fini(&r.body);
    }
    if (rc == 0 && s->cc->digest_final_ex(whole, out, &len) && len == 32)
        backup__s3_hex(out, 32, whole_hex);
    if (rc == 0 && strcmp(whole_hex, sha) != 0)
        rc = err_set(err, -TE_INVALID, "the backup file does not match its manifest's SHA-256");
    if (rc == 0 && (rc = complete_xml(etags, n, &xml)) < 0)
        err_set(err, rc, "out of memory");
    if (rc == 0) {
        snprintf(query, sizeof query, "uploadId=%s", upload);
        backup__s3_req_init(&r, "POST", key, query);
        r.mem = xml.ptr;
        r.len = xml.len;
        struct s3_xml x;
        /* 200 may still carry an <Error> (a failure after the answer started) */
        if ((rc = backup__s3_checksum(s, &r, NULL, err)) == 0 &&
            (rc = backup__s3_request(s, &r, err)) == 0 &&
            (rc = backup__s3_xml_read(&r.body, &x, err)) == 0) {
            if (!backup__s3_xml_get(&x, "CompleteMultipartUploadResult/ETag"))
                rc = backup__s3_answer_error(s, &r, "s3 POST (complete multipart upload)", err);
            backup__s3_xml_free(&x);
        }
        buf_fini(&r.body);
    }
    for (i = 0; i < n; i++)
        free(etags[i]);
    free(etags);
    buf_fini(&xml);
    s->cc->md_ctx_free(whole);
    return rc;
}

static int put_multipart(struct s3 *s, const char *key, int fd, uint64_t size, uint64_t part,
                         const char *sha, struct err *err)
{
    struct s3_req r;
    struct s3_xml x = {0};
    char *upload = NULL, query[600];
    backup__s3_req_init(&r, "POST", key, "uploads=");
    r.meta_sha256 = sha;
    int rc = backup__s3_request(s, &r, err);
    if (rc == 0 && (rc = backup__s3_xml_read(&r.body, &x, err)) == 0) {
        const char *id = backup__s3_xml_get(&x, "InitiateMultipartUploadResult/UploadId");
        upload = id && *id ? s->cx->easy_escape(s->h, id, 0) : NULL;
        if (!upload || strlen(upload) > 400)
            rc = err_set(err, -EIO, "s3 POST %s/%s: the answer has no usable UploadId",
                         s->t->bucket, key);
        backup__s3_xml_free(&x);
    }
    buf_fini(&r.body);
    if (rc == 0 && (rc = put_parts(s, key, upload, fd, size, part, sha, err)) < 0) {
        struct err ignored = {0}; /* best effort: the upload stays invisible either way */
        snprintf(query, sizeof query, "uploadId=%s", upload);
        backup__s3_req_init(&r, "DELETE", key, query);
        backup__s3_request(s, &r, &ignored);
        buf_fini(&r.body);
    }
    if (upload)
        s->cx->free(upload);
    return rc;
}

/* The stored object is the one we sent: its size, and the SHA-256 we attached to it. */
static int check_object(struct s3 *s, const char *key, uint64_t size, const char *sha,
                        struct err *err)
{
    struct s3_req r;
    curl_off_t len = -1;
    backup__s3_req_init(&r, "HEAD", key, NULL);
    int rc = backup__s3_request(s, &r, err);
    s->cx->easy_getinfo(s->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
    if (rc == 0 && (len < 0 || (uint64_t)len != size || strcasecmp(r.meta, sha) != 0))
        rc = err_set(err, -EIO,
                     "s3 %s/%s is not what was uploaded: %lld bytes with x-amz-meta-sha256 "
                     "\"%.16s\", expected %llu bytes with %.16s...",
                     s->t->bucket, key, (long long)len, r.meta, (unsigned long long)size, sha);
    buf_fini(&r.body);
    return rc;
}

static int put_text(struct s3 *s, const char *key, const char *text, struct err *err)
{
    struct s3_req r;
    backup__s3_req_init(&r, "PUT", key, NULL);
    r.mem = text;
    r.len = strlen(text);
    int rc = backup__s3_checksum(s, &r, NULL, err);
    if (rc == 0 && (rc = backup__s3_request(s, &r, err)) == 0)
        rc = backup__s3_check_etag(s, &r, err);
    buf_fini(&r.body);
    return rc;
}

static int delete_key(struct s3 *s, const char *key, struct err *err)
{
    struct s3_req r;
    backup__s3_req_init(&r, "DELETE", key, NULL);
    int rc = backup__s3_request(s, &r, err);
    buf_fini(&r.body);
    return rc == -TE_NOTFOUND ? 0 : rc;
}

static int s3_put(const struct cfg_backup_target *t, const char *staged, const char *file,
                  const char *manifest, struct err *err)
{
    struct s3 s;
    struct stat st;
    char key[1024], json[1024];
    bool is_stored = false;
    int fd = -1, rc = backup__s3_open(t, &s, err);
    if (rc < 0)
        return rc;
    json_t *m = json_loads(manifest, 0, NULL);
    const char *sha = json_string_value(json_object_get(m, "sha256"));
    json_int_t size = json_integer_value(json_object_get(m, "size"));
    if ((rc = backup__s3_key(&s, file, "", key, sizeof key, err)) < 0 ||
        (rc = backup__s3_key(&s, file, ".json", json, sizeof json, err)) < 0)
        goto out;
    if (!sha || strlen(sha) != 64 || !json_is_integer(json_object_get(m, "size"))) {
        rc = err_set(err, -TE_INVALID, "the manifest of %s has no sha256 and size", file);
        goto out;
    }
    if ((fd = open(staged, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
        rc = err_sys(err, "cannot read %s", staged);
        goto out;
    }
    if ((uint64_t)st.st_size != (uint64_t)size) {
        rc = err_set(err, -TE_INVALID, "%s has %lld bytes, its manifest says %lld", staged,
                     (long long)st.st_size, (long long)size);
        goto out;
    }
    uint64_t part = part_size((uint64_t)size);
    rc = (uint64_t)size > part ? put_multipart(&s, key, fd, (uint64_t)size, part, sha, err)
                               : put_single(&s, key, fd, (uint64_t)size, sha, err);
    is_stored = rc == 0;
    if (rc == 0 && (rc = check_object(&s, key, (uint64_t)size, sha, err)) == 0)
        rc = put_text(&s, json, manifest, err); /* last: now the backup counts */
    if (rc < 0 && is_stored) {                  /* take back what was stored, manifest first */
        struct err ignored = {0};
        if (delete_key(&s, json, &ignored) == 0)
            delete_key(&s, key, &ignored);
    }
out:
    if (fd >= 0)
        close(fd);
    json_decref(m);
    backup__s3_close(&s);
    return rc;
}

/* ---- list, fetch, update, remove ---------------------------------------------------------------
 */
/* The manifest at `key` if it is one of ours (of `job` when not NULL) naming the file beside it. */
static int read_manifest(struct s3 *s, const char *key, const char *job, json_t *out,
                         struct err *err)
{
    struct s3_req r;
    backup__s3_req_init(&r, "GET", key, NULL);
    int rc = backup__s3_request(s, &r, err);
    if (rc == -TE_NOTFOUND) { /* deleted since the listing */
        err_clear(err);
        rc = 0;
    } else if (rc == 0) {
        json_t *m = json_loadb(r.body.ptr ? r.body.ptr : "", r.body.len, 0, NULL);
        const char *j = json_string_value(json_object_get(m, "job"));
        const char *f = json_string_value(json_object_get(m, "file"));
        size_t flen = f ? strlen(f) : 0, klen = strlen(key);
        if (j && f && (!job || strcmp(j, job) == 0) && klen == strlen(s->prefix) + flen + 5 &&
            strncmp(key + strlen(s->prefix), f, flen) == 0)
            json_array_append(out, m);
        json_decref(m);
    }
    buf_fini(&r.body);
    return rc;
}

static int list_query(struct s3 *s, const char *token, const char *prefix, char *dst, size_t size)
{
    const char *max = getenv("TEND_S3_MAX_KEYS"); /* for tests only (see the top) */
    char *t = token ? s->cx->easy_escape(s->h, token, 0) : NULL;
    char *p = s->cx->easy_escape(s->h, prefix, 0);
    int rc = p && (t || !token) ? 0 : -ENOMEM;
    /* Canonical order: continuation-token, delimiter, list-type, max-keys, prefix. */
    if (rc == 0)
        rc = str_fmt(dst, size, "%s%s%sdelimiter=%%2F&list-type=2%s%s&prefix=%s",
                     t ? "continuation-token=" : "", t ? t : "", t ? "&" : "",
                     max ? "&max-keys=" : "", max ? max : "", p);
    if (t)
        s->cx->free(t);
    if (p)
        s->cx->free(p);
    return rc;
}

static int s3_list(const struct cfg_backup_target *t, const char *job, json_t **out,
                   struct err *err)
{
    struct s3 s;
    struct s3_req r;
    struct s3_xml x = {0};
    char prefix[700], query[2048], *token = NULL;
    *out = json_array();
    int rc = backup__s3_open(t, &s, err);
    if (rc < 0)
        return rc;
    /* Backup names start with "<job>-": list only those (other jobs' are filtered below). */
    snprintf(prefix, sizeof prefix, "%s%s%s", s.prefix, job ? job : "", job ? "-" : "");
    for (int page = 0; rc == 0 && page < 100000; page++) {
        if ((rc = list_query(&s, token, prefix, query, sizeof query)) < 0) {
            err_set(err, rc, "s3 list of %s/%s: query too long", t->bucket, prefix);
            break;
        }
        backup__s3_req_init(&r, "GET", NULL, query);
        if ((rc = backup__s3_request(&s, &r, err)) == 0 &&
            (rc = backup__s3_xml_read(&r.body, &x, err)) < 0)
            err_prefix(err, "s3 list of %s/%s", t->bucket, prefix);
        buf_fini(&r.body);
        for (size_t i = 0; rc == 0 && i < x.n; i++)
            if (strcmp(x.paths[i], "ListBucketResult/Contents/Key") == 0 &&
                str_ends(x.texts[i], ".json") && str_starts(x.texts[i], s.prefix) &&
                !strchr(x.texts[i] + strlen(s.prefix), '/'))
                rc = read_manifest(&s, x.texts[i], job, *out, err);
        const char *more = rc == 0 ? backup__s3_xml_get(&x, "ListBucketResult/IsTruncated") : NULL;
        const char *next = backup__s3_xml_get(&x, "ListBucketResult/NextContinuationToken");
        free(token);
        token = str_eq(more, "true") && next && *next ? str_dup(next) : NULL;
        backup__s3_xml_free(&x);
        if (!token)
            break;
    }
    free(token);
    backup__s3_close(&s);
    return rc;
}

static int s3_fetch(const struct cfg_backup_target *t, const char *file, const char *dir,
                    char **path, struct err *err)
{
    struct s3 s;
    struct s3_req r;
    char key[1024], dst[PATH_MAX], tmp[PATH_MAX];
    curl_off_t len = -1;
    int rc = backup__s3_open(t, &s, err);
    if (rc < 0)
        return rc;
    backup__s3_req_init(&r, "GET", key, NULL);
    if ((rc = backup__s3_key(&s, file, "", key, sizeof key, err)) < 0)
        goto out;
    if (!dir || str_fmt(dst, sizeof dst, "%s/%s", dir, file) < 0 ||
        str_fmt(tmp, sizeof tmp, "%s/.%s.partial", dir, file) < 0) {
        rc = err_set(err, -TE_INVALID, "no folder to download %s into", file);
        goto out;
    }
    if ((r.out_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        rc = err_sys(err, "cannot create %s", tmp);
        goto out;
    }
    rc = backup__s3_request(&s, &r, err);
    s.cx->easy_getinfo(s.h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
    if (rc == 0 && len >= 0 && (uint64_t)len != r.received)
        rc = err_set(err, -EIO, "s3 GET %s/%s: %llu bytes of %lld", t->bucket, key,
                     (unsigned long long)r.received, (long long)len);
    if (close(r.out_fd) < 0 && rc == 0)
        rc = err_sys(err, "cannot write %s", tmp);
    if (rc == 0 && rename(tmp, dst) < 0)
        rc = err_sys(err, "cannot rename %s", tmp);
    if (rc < 0)
        unlink(tmp);
    else
        *path = str_dup(dst);
out:
    buf_fini(&r.body);
    backup__s3_close(&s);
    return rc;
}

static int s3_update(const struct cfg_backup_target *t, const char *file, const char *manifest,
                     struct err *err)
{
    struct s3 s;
    struct s3_req r;
    char key[1024], json[1024];
    int rc = backup__s3_open(t, &s, err);
    if (rc < 0)
        return rc;
    backup__s3_req_init(&r, "HEAD", key, NULL);
    /* Only beside a stored file: a manifest alone would be a backup with nothing to restore. */
    if ((rc = backup__s3_key(&s, file, "", key, sizeof key, err)) == 0 &&
        (rc = backup__s3_key(&s, file, ".json", json, sizeof json, err)) == 0 &&
        (rc = backup__s3_request(&s, &r, err)) == 0)
        rc = put_text(&s, json, manifest, err);
    buf_fini(&r.body);
    backup__s3_close(&s);
    return rc;
}

static int s3_remove(const struct cfg_backup_target *t, const char *file, struct err *err)
{
    struct s3 s;
    char key[1024], json[1024];
    int rc = backup__s3_open(t, &s, err);
    if (rc < 0)
        return rc;
    if ((rc = backup__s3_key(&s, file, "", key, sizeof key, err)) == 0 &&
        (rc = backup__s3_key(&s, file, ".json", json, sizeof json, err)) == 0 &&
        (rc = delete_key(&s, json, err)) == 0) /* first: it stops counting */
        rc = delete_key(&s, key, err);
    backup__s3_close(&s);
    return rc;
}

const struct target_kind target_s3 = {
    .name = "s3",
    .put = s3_put,
    .list = s3_list,
    .fetch = s3_fetch,
    .update = s3_update,
    .remove = s3_remove,
};
