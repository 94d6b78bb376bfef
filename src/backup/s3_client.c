/* backup/s3_client.c: signed requests to S3-compatible object storage, for target_s3.c.
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4, 7.75+) with the body's real SHA-256 as
 * x-amz-content-sha256 (never UNSIGNED-PAYLOAD) and its MD5 as Content-MD5, so the server
 * refuses damaged bytes. Query strings are written already canonical (sorted, RFC 3986-encoded)
 * because libcurl before 8.x signs them as given; object names need no escaping (the config
 * check allows only such prefixes). Transient failures (connection errors, HTTP 5xx and 429)
 * are tried again twice, 1 s then 2 s later: this is a worker thread, so waiting is fine.
 *
 * Addressing is automatic: Aliyun OSS accepts only virtual-hosted URLs (https://BUCKET.oss-cn-
 * hangzhou.aliyuncs.com/key) and AWS prefers them, so *.aliyuncs.com and *.amazonaws.com get
 * virtual-hosted style (AWS falls back to path style for bucket names with dots, which break
 * TLS names); MinIO, s3rver and other self-hosted servers get path style
 * (http://host:9000/BUCKET/key). No known endpoint needs the other choice, so there is no
 * `style` key. Region: `region`, else read from the endpoint (oss-cn-hangzhou -> cn-hangzhou,
 * s3.eu-west-1.amazonaws.com -> eu-west-1), else us-east-1 (MinIO's default). Without
 * `endpoint`: AWS, https://s3.REGION.amazonaws.com.
 *
 * Credentials, read at every open (a rotated file is picked up): access_key_id and
 * secret_access_key from tend.yaml, else credentials_file (AWS style: aws_access_key_id = ...,
 * aws_secret_access_key = ..., aws_session_token = ... in [default] or before any section;
 * KEY=VALUE lines with the environment names work too), else AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from tend's environment. Secrets never appear in
 * messages and are wiped from memory on close.
 *
 * XML answers are read with expat, loaded with dlopen() on first use like libcurl
 * (core/curlx.h): only S3 reads XML, so no other process maps it. */
#include "backup/s3_client.h"

#include <dlfcn.h>
#include <errno.h>
#include <expat.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/str.h"
#include "core/util.h"

#define ANSWER_MAX (8u << 20) /* an XML answer or a manifest */
#define ATTEMPTS 3

/* ---- expat, loaded on first use (the reasons of core/curlx.h; only S3 reads XML) ----------- */
#define EXPATX_FUNCS(X)                                                                            \
    X(error_string, XML_ErrorString)                                                               \
    X(get_error_code, XML_GetErrorCode)                                                            \
    X(parse, XML_Parse)                                                                            \
    X(parser_create, XML_ParserCreate)                                                             \
    X(parser_free, XML_ParserFree)                                                                 \
    X(set_character_data_handler, XML_SetCharacterDataHandler)                                     \
    X(set_element_handler, XML_SetElementHandler)                                                  \
    X(set_user_data, XML_SetUserData)

struct expatx {
#define EXPATX_MEMBER(member, symbol) __typeof__(&symbol) member;
    EXPATX_FUNCS(EXPATX_MEMBER)
#undef EXPATX_MEMBER
};
/* Per-process like the library itself (the exception STYLE 11.3 allows core/cryptox.c): filled
 * once under pthread_once, then only read. */
static struct expatx expat;
static char expat_error[300];
static pthread_once_t expat_once = PTHREAD_ONCE_INIT;

static void expat_load(void)
{
    void *lib = dlopen("libexpat.so.1", RTLD_NOW | RTLD_LOCAL), *sym = lib;
#define EXPATX_RESOLVE(member, symbol)                                                             \
    if (sym && (sym = dlsym(lib, #symbol)))                                                        \
        expat.member = (__typeof__(expat.member))sym;
    EXPATX_FUNCS(EXPATX_RESOLVE)
#undef EXPATX_RESOLVE
    if (!sym) {
        const char *why = dlerror();
        snprintf(expat_error, sizeof expat_error, "cannot load libexpat.so.1: %s",
                 why ? why : "unknown dlopen error");
    }
}

static void XMLCALL xml_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
    struct s3_xml *x = arg;
    size_t len = strlen(x->path);
    (void)attrs;
    if (x->skip || len + strlen(name) + 2 > sizeof x->path) {
        x->skip++; /* deeper than anything S3 answers: ignored */
        return;
    }
    snprintf(x->path + len, sizeof x->path - len, "%s%s", len ? "/" : "", name);
    buf_reset(&x->text);
}

static void XMLCALL xml_end(void *arg, const XML_Char *name)
{
    struct s3_xml *x = arg;
    (void)name;
    if (x->skip) {
        x->skip--;
        return;
    }
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 32;
        x->paths = xrealloc(x->paths, x->cap * sizeof *x->paths);
        x->texts = xrealloc(x->texts, x->cap * sizeof *x->texts);
    }
    x->paths[x->n] = str_dup(x->path);
    x->texts[x->n++] = str_ndup(x->text.ptr ? x->text.ptr : "", x->text.len);
    buf_reset(&x->text);
    char *slash = strrchr(x->path, '/');
    *(slash ? slash : x->path) = '\0';
}

static void XMLCALL xml_chars(void *arg, const XML_Char *s, int len)
{
    struct s3_xml *x = arg;
    buf_append(&x->text, s, (size_t)len); /* past the ceiling the text is cut: never a key */
}

void backup__s3_xml_free(struct s3_xml *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->paths[i]);
        free(x->texts[i]);
    }
    free(x->paths);
    free(x->texts);
    buf_fini(&x->text);
    memset(x, 0, sizeof *x);
}

/* Parse an answer into x; on success the caller frees x with backup__s3_xml_free(). */
int backup__s3_xml_read(const struct buf *b, struct s3_xml *x, struct err *err)
{
    memset(x, 0, sizeof *x);
    pthread_once(&expat_once, expat_load);
    buf_init(&x->text, 64 << 10);
    if (expat_error[0]) {
        err_set(err, -TE_NOTFOUND, "%s", expat_error);
        err_hint(err, "install libexpat1 (apt-get install libexpat1)");
        return err->code;
    }
    XML_Parser p = expat.parser_create(NULL);
    if (!p)
        return err_set(err, -ENOMEM, "out of memory");
    expat.set_user_data(p, x);
    expat.set_element_handler(p, xml_start, xml_end);
    expat.set_character_data_handler(p, xml_chars);
    int rc = 0;
    if (expat.parse(p, b->ptr ? b->ptr : "", (int)b->len, 1) != XML_STATUS_OK) {
        rc = err_set(err, -TE_PARSE, "the answer is not XML (%s)",
                     expat.error_string(expat.get_error_code(p)));
        backup__s3_xml_free(x); /* on failure nothing is left to free */
    }
    expat.parser_free(p);
    return rc;
}

/* The text of the first element at `path`, or NULL. */
const char *backup__s3_xml_get(const struct s3_xml *x, const char *path)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->paths[i], path) == 0)
            return x->texts[i];
    return NULL;
}

/* ---- connection: credentials and addressing ------------------------------------------------- */
static void wipe_free(char **s)
{
    if (*s)
        explicit_bzero(*s, strlen(*s));
    free(*s);
    *s = NULL;
}

static void set_cred(char **dst, const char *value)
{
    wipe_free(dst);
    *dst = value && *value ? str_dup(value) : NULL;
}

/* aws_access_key_id / aws_secret_access_key / aws_session_token (any case, `=` with or without
 * spaces) in [default] or before any section. */
static int creds_file(struct s3 *s, const char *path, struct err *err)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = read_file(path, 1 << 16, &b);
    if (rc < 0) {
        err_set(err, rc, "cannot read credentials_file %s: %s", path, err_str(rc));
        buf_fini(&b);
        return rc;
    }
    static const char *const names[] = {"aws_access_key_id", "aws_secret_access_key",
                                        "aws_session_token"};
    char **dst[] = {&s->key_id, &s->secret, &s->token};
    bool in_default = true;
    for (char *line = b.ptr, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line += strspn(line, " \t");
        size_t len = strcspn(line, "\r");
        while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        line[len] = '\0';
        if (line[0] == '[') {
            in_default = strcmp(line, "[default]") == 0 || strcmp(line, "[profile default]") == 0;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!in_default || !eq || line[0] == '#' || line[0] == ';')
            continue;
        char *name_end = eq;
        while (name_end > line && (name_end[-1] == ' ' || name_end[-1] == '\t'))
            name_end--;
        *name_end = '\0';
        const char *value = eq + 1 + strspn(eq + 1, " \t");
        for (size_t i = 0; i < ARRAY_LEN(names); i++)
            if (strcasecmp(line, names[i]) == 0)
                set_cred(dst[i], value);
    }
    if (b.ptr)
        explicit_bzero(b.ptr, b.len);
    buf_fini(&b);
    if (!s->key_id || !s->secret)
        return err_set(err, -TE_INVALID,
                       "credentials_file %s has no aws_access_key_id and aws_secret_access_key "
                       "in its [default] section",
                       path);
    return 0;
}

static int creds_get(struct s3 *s, struct err *err)
{
    const struct cfg_backup_target *t = s->t;
    if (t->credentials_file && creds_file(s, t->credentials_file, err) < 0)
        return err->code;
    if (!t->credentials_file && !t->secret_access_key) {
        set_cred(&s->key_id, getenv("AWS_ACCESS_KEY_ID"));
        set_cred(&s->secret, getenv("AWS_SECRET_ACCESS_KEY"));
        set_cred(&s->token, getenv("AWS_SESSION_TOKEN"));
    }
    if (t->access_key_id)
        set_cred(&s->key_id, t->access_key_id);
    if (t->secret_access_key)
        set_cred(&s->secret, t->secret_access_key);
    if (s->key_id && s->secret)
        return 0;
    err_set(err, -TE_AUTH, "no credentials for s3 bucket \"%s\"", t->bucket);
    err_hint(err, "set access_key_id and secret_access_key (or credentials_file) in the target, "
                  "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in tend's environment");
    return err->code;
}

/* The region in an endpoint's host name, or NULL. */
static const char *host_region(const char *host, char *dst, size_t size)
{
    const char *oss = str_starts(host, "oss-") ? host : strstr(host, ".oss-");
    const char *aws = strstr(host, ".amazonaws.com");
    if (oss && oss != host)
        oss++;                                  /* the label's start, after the dot */
    if (oss && strstr(host, ".aliyuncs.com")) { /* [s3.]oss-cn-hangzhou[-internal].aliyuncs.com */
        size_t n = strcspn(oss + 4, ".");
        snprintf(dst, size, "%.*s", (int)n, oss + 4);
        char *internal = strstr(dst, "-internal");
        if (internal)
            *internal = '\0';
        return dst;
    }
    if (aws) { /* the label before: s3.eu-west-1, s3-eu-west-1, s3 (= us-east-1) */
        const char *label = aws;
        while (label > host && label[-1] != '.')
            label--;
        size_t n = (size_t)(aws - label);
        if (n == 2 && strncmp(label, "s3", 2) == 0)
            return "us-east-1";
        if (n > 3 && strncmp(label, "s3-", 3) == 0) {
            label += 3;
            n -= 3;
        }
        snprintf(dst, size, "%.*s", (int)n, label);
        return dst;
    }
    return NULL;
}

static int address(struct s3 *s, struct err *err)
{
    const struct cfg_backup_target *t = s->t;
    char endpoint[600], region[64];
    const char *r = t->region;
    if (t->endpoint)
        str_copy(endpoint, t->endpoint, sizeof endpoint);
    else
        snprintf(endpoint, sizeof endpoint, "https://s3.%s.amazonaws.com", r ? r : "us-east-1");
    size_t n = strlen(endpoint);
    while (n && endpoint[n - 1] == '/')
        endpoint[--n] = '\0';
    char *hostp = strstr(endpoint, "://");
    if (!t->bucket)
        return err_set(err, -TE_INVALID, "the s3 target has no bucket");
    if (!hostp)
        return err_set(err, -TE_INVALID, "s3 endpoint \"%s\" is not a URL such as https://host",
                       endpoint);
    hostp += 3;
    int scheme_len = (int)(hostp - endpoint);
    char host[300];
    snprintf(host, sizeof host, "%.*s", (int)strcspn(hostp, ":/"), hostp);
    bool is_aws = str_ends(host, ".amazonaws.com");
    s->is_virtual = str_ends(host, ".aliyuncs.com") || (is_aws && !strchr(t->bucket, '.'));
    size_t blen = strlen(t->bucket);
    if (s->is_virtual && strncmp(hostp, t->bucket, blen) == 0 && hostp[blen] == '.')
        hostp += blen + 1; /* the endpoint named the bucket's own host: use the region's */
    if (!r)
        r = host_region(host, region, sizeof region);
    snprintf(s->sigv4, sizeof s->sigv4, "aws:amz:%s:s3", r ? r : "us-east-1");
    int rc = s->is_virtual ? str_fmt(s->base, sizeof s->base, "%.*s%s.%s", scheme_len, endpoint,
                                     t->bucket, hostp)
                           : str_fmt(s->base, sizeof s->base, "%s/%s", endpoint, t->bucket);
    const char *p = t->prefix ? t->prefix + strspn(t->prefix, "/") : "";
    n = strlen(p);
    while (n && p[n - 1] == '/')
        n--;
    if (rc == 0)
        rc = str_fmt(s->prefix, sizeof s->prefix, "%.*s%s", (int)n, p, n ? "/" : "");
    return rc < 0 ? err_set(err, rc, "s3 endpoint or prefix too long") : 0;
}

void backup__s3_close(struct s3 *s)
{
    if (s->h)
        s->cx->easy_cleanup(s->h);
    wipe_free(&s->key_id);
    wipe_free(&s->secret);
    wipe_free(&s->token);
}

int backup__s3_open(const struct cfg_backup_target *t, struct s3 *s, struct err *err)
{
    memset(s, 0, sizeof *s);
    s->t = t;
    int rc = curlx_load(&s->cx, err);
    if (rc < 0 || (rc = cryptox_load(&s->cc, err)) < 0 || (rc = address(s, err)) < 0 ||
        (rc = creds_get(s, err)) < 0)
        goto fail;
    if (!(s->h = s->cx->easy_init())) {
        rc = err_set(err, -ENOMEM, "cannot start a libcurl transfer");
        goto fail;
    }
    return 0;
fail:
    backup__s3_close(s);
    return rc;
}

/* <prefix><file><suffix>; `file` is a backup name, never a path. */
int backup__s3_key(const struct s3 *s, const char *file, const char *suffix, char *dst, size_t size,
                   struct err *err)
{
    if (strchr(file, '/') || file[0] == '.' || !file[0])
        return err_set(err, -TE_INVALID, "bad backup name \"%s\"", file);
    int rc = str_fmt(dst, size, "%s%s%s", s->prefix, file, suffix);
    return rc < 0 ? err_set(err, rc, "object name too long: %s%s", s->prefix, file) : 0;
}

/* ---- one request ----------------------------------------------------------------------------- */
void backup__s3_req_init(struct s3_req *r, const char *method, const char *key, const char *query)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->key = key;
    r->query = query;
    r->in_fd = r->out_fd = -1;
    buf_init(&r->body, ANSWER_MAX);
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *arg)
{
    struct s3_req *r = arg;
    size_t want = size * nmemb;
    if (want > r->len - r->sent)
        want = (size_t)(r->len - r->sent);
    if (want == 0)
        return 0;
    if (r->in_fd < 0) {
        memcpy(p, r->mem + r->sent, want);
    } else {
        ssize_t n;
        do
            n = pread(r->in_fd, p, want, (off_t)(r->in_off + r->sent));
        while (n < 0 && errno == EINTR);
        if (n <= 0) { /* the file shrank under us: never send short */
            r->io_errno = n < 0 ? errno : EIO;
            return CURL_READFUNC_ABORT;
        }
        want = (size_t)n;
    }
    r->sent += want;
    return want;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
    struct s3_req *r = arg;
    size_t n = size * nmemb;
    if (r->out_fd >= 0 && r->status >= 200 && r->status < 300) {
        int rc = write_all(r->out_fd, p, n);
        if (rc < 0) {
            r->io_errno = -rc;
            return 0;
        }
    } else if (buf_append(&r->body, p, n) < 0) {
        return 0;
    }
    r->received += n;
    return n;
}

static void header_value(const char *line, size_t n, char *dst, size_t size)
{
    const char *v = memchr(line, ':', n);
    v = v ? v + 1 : line + n;
    while (v < line + n && (*v == ' ' || *v == '\t'))
        v++;
    size_t len = (size_t)(line + n - v);
    while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
        len--;
    snprintf(dst, size, "%.*s", (int)len, v);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    struct s3_req *r = arg;
    size_t n = size * nmemb;
    if (n > 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new answer (after "100 Continue" too) */
        const char *sp = memchr(p, ' ', n);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        r->etag[0] = r->meta[0] = '\0';
    } else if (n > 5 && strncasecmp(p, "ETag:", 5) == 0) {
        header_value(p, n, r->etag, sizeof r->etag);
    } else if (n > 18 && strncasecmp(p, "x-amz-meta-sha256:", 18) == 0) {
        header_value(p, n, r->meta, sizeof r->meta);
    }
    return n;
}

static bool is_transient(CURLcode cc, long status)
{
    if (cc == CURLE_OK)
        return status >= 500 || status == 429;
    return cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT ||
           cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
           cc == CURLE_PARTIAL_FILE || cc == CURLE_SSL_CONNECT_ERROR;
}

#define SET(opt, val) s->cx->easy_setopt(s->h, opt, val)

static CURLcode perform(struct s3 *s, struct s3_req *r, const char *url)
{
    char line[160], b64[32];
    struct curl_slist *hs = NULL, *more;
    const struct curlx *cx = s->cx;
    cx->easy_reset(s->h);
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", r->sha256);
    hs = cx->slist_append(NULL, line);
    if (r->has_md5) {
        s->cc->encode_block((unsigned char *)b64, r->md5, 16);
        snprintf(line, sizeof line, "Content-MD5: %s", b64);
        hs = (more = cx->slist_append(hs, line)) ? more : hs;
    }
    if (r->meta_sha256) {
        snprintf(line, sizeof line, "x-amz-meta-sha256: %s", r->meta_sha256);
        hs = (more = cx->slist_append(hs, line)) ? more : hs;
    }
    if (s->token) {
        size_t n = strlen(s->token) + 32;
        char *tok = xmalloc(n);
        snprintf(tok, n, "x-amz-security-token: %s", s->token);
        hs = (more = cx->slist_append(hs, tok)) ? more : hs;
        explicit_bzero(tok, strlen(tok));
        free(tok);
    }
    /* No "Expect:" to turn 100-continue off: libcurl 7.88 signs the empty header it then omits,
     * and the signature fails. */
    if (strcmp(r->method, "POST") == 0)
        hs = (more = cx->slist_append(hs, "Content-Type: application/xml")) ? more : hs;
    SET(CURLOPT_URL, url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_USERAGENT, "tend");
    SET(CURLOPT_ERRORBUFFER, s->errbuf);
    SET(CURLOPT_CONNECTTIMEOUT, 30L);
    SET(CURLOPT_LOW_SPEED_LIMIT, 1024L); /* slower than 1 KiB/s for 2 minutes: stuck */
    SET(CURLOPT_LOW_SPEED_TIME, 120L);
    SET(CURLOPT_AWS_SIGV4, s->sigv4);
    SET(CURLOPT_USERNAME, s->key_id);
    SET(CURLOPT_PASSWORD, s->secret);
    SET(CURLOPT_HTTPHEADER, hs);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, r);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, r);
    if (strcmp(r->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "PUT") == 0) {
        SET(CURLOPT_UPLOAD, 1L);
        SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
        SET(CURLOPT_READFUNCTION, on_read);
        SET(CURLOPT_READDATA, r);
    } else if (strcmp(r->method, "POST") == 0) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDS, r->mem ? r->mem : "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
    } else if (strcmp(r->method, "DELETE") == 0) {
        SET(CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    s->errbuf[0] = '\0';
    CURLcode cc = cx->easy_perform(s->h);
    SET(CURLOPT_HTTPHEADER, NULL);
    cx->slist_free_all(hs);
    return cc;
}

/* What the user reads for a failed answer: "403 SignatureDoesNotMatch: The request ...". */
int backup__s3_answer_error(struct s3 *s, struct s3_req *r, const char *what, struct err *err)
{
    struct s3_xml x;
    struct err ignored = {0};
    const char *code = NULL, *msg = NULL;
    bool is_xml = r->body.len && backup__s3_xml_read(&r->body, &x, &ignored) == 0;
    if (is_xml) {
        code = backup__s3_xml_get(&x, "Error/Code");
        msg = backup__s3_xml_get(&x, "Error/Message");
    }
    int rc = r->status == 404 ? -TE_NOTFOUND : r->status == 403 ? -TE_AUTH : -EIO;
    err_set(err, rc, "%s: %ld%s%s%s%s", what, r->status, code ? " " : "", code ? code : "",
            msg ? ": " : "", msg ? msg : "");
    if (str_eq(code, "SignatureDoesNotMatch"))
        err_hint(err, "check secret_access_key (or the credentials file) and region");
    else if (str_eq(code, "InvalidAccessKeyId"))
        err_hint(err, "check access_key_id (or the credentials file)");
    else if (str_eq(code, "NoSuchBucket"))
        err_hint(err, "create bucket \"%s\" or correct \"bucket\" in tend.yaml", s->t->bucket);
    else if (str_eq(code, "AuthorizationHeaderMalformed") || str_eq(code, "PermanentRedirect"))
        err_hint(err, "set \"region\" to the bucket's region");
    if (is_xml)
        backup__s3_xml_free(&x);
    return rc;
}

/* Send r, retrying what may pass on a second try; 0 for a 2xx answer, else < 0 with err. */
int backup__s3_request(struct s3 *s, struct s3_req *r, struct err *err)
{
    char url[2048], what[700], *key = NULL;
    if (r->key && !(key = s->cx->easy_escape(s->h, r->key, 0)))
        return err_set(err, -ENOMEM, "out of memory");
    for (char *p = key; p && (p = strstr(p, "%2F"));) { /* keep the key's slashes */
        *p = '/';
        memmove(p + 1, p + 3, strlen(p + 3) + 1);
    }
    int rc = str_fmt(url, sizeof url, "%s%s%s%s%s", s->base, key || s->is_virtual ? "/" : "",
                     key ? key : "", r->query ? "?" : "", r->query ? r->query : "");
    snprintf(what, sizeof what, "s3 %s %s/%s", r->method, s->t->bucket, r->key ? r->key : "");
    if (key)
        s->cx->free(key);
    if (rc < 0)
        return err_set(err, rc, "%s: URL too long", what);
    if (!r->sha256[0]) /* SHA-256 of no bytes */
        str_copy(r->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                 sizeof r->sha256);
    CURLcode cc = CURLE_OK;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
        r->status = 0;
        r->sent = r->received = 0;
        r->io_errno = 0;
        buf_reset(&r->body);
        if (r->out_fd >= 0 && (ftruncate(r->out_fd, 0) < 0 || lseek(r->out_fd, 0, SEEK_SET) < 0))
            return err_sys(err, "%s: cannot reset the download", what);
        cc = perform(s, r, url);
        if (r->io_errno || !is_transient(cc, r->status) || attempt == ATTEMPTS)
            break;
        struct timespec pause = {attempt, 0}; /* a worker thread: waiting is fine here */
        nanosleep(&pause, NULL);
    }
    if (r->io_errno)
        return err_set(err, -r->io_errno, "%s: %s", what, strerror(r->io_errno));
    if (cc != CURLE_OK) {
        err_set(err, -EIO, "%s: %s", what, s->errbuf[0] ? s->errbuf : s->cx->easy_strerror(cc));
        if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
            err_hint(err, "check \"endpoint\" in tend.yaml and that this server can reach it");
        return err->code;
    }
    if (r->status < 200 || r->status >= 300)
        return backup__s3_answer_error(s, r, what, err);
    return 0;
}

/* ---- checksums ------------------------------------------------------------------------------- */
void backup__s3_hex(const unsigned char *p, size_t n, char *dst)
{
    for (size_t i = 0; i < n; i++)
        snprintf(dst + 2 * i, 3, "%02x", p[i]);
}

/* SHA-256 and MD5 of a file range (or of `mem` when fd < 0) into r; also fed to `whole`. */
int backup__s3_checksum(struct s3 *s, struct s3_req *r, EVP_MD_CTX *whole, struct err *err)
{
    const struct cryptox *cc = s->cc;
    EVP_MD_CTX *sha = cc->md_ctx_new(), *md5 = cc->md_ctx_new();
    unsigned char *chunk = r->in_fd >= 0 ? xmalloc(1 << 18) : NULL, out[32];
    unsigned int n = 0;
    int rc = !sha || !md5 || !cc->digest_init_ex(sha, cc->sha256(), NULL) ||
                     !cc->digest_init_ex(md5, cc->md5(), NULL)
                 ? err_set(err, -ENOMEM, "cannot start a checksum")
                 : 0;
    for (uint64_t done = 0; rc == 0 && done < r->len;) {
        const void *p = chunk;
        size_t want = r->len - done < (1 << 18) ? (size_t)(r->len - done) : (1 << 18);
        if (r->in_fd >= 0) {
            ssize_t got = pread(r->in_fd, chunk, want, (off_t)(r->in_off + done));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                rc = got < 0 ? err_sys(err, "cannot read the backup file")
                             : err_set(err, -EIO, "the backup file is shorter than expected");
                break;
            }
            want = (size_t)got;
        } else {
            p = r->mem + done;
        }
        cc->digest_update(sha, p, want);
        cc->digest_update(md5, p, want);
        if (whole)
            cc->digest_update(whole, p, want);
        done += want;
    }
    if (rc == 0 && cc->digest_final_ex(sha, out, &n) && n == 32)
        backup__s3_hex(out, 32, r->sha256);
    if (rc == 0 && cc->digest_final_ex(md5, r->md5, &n) && n == 16)
        r->has_md5 = true;
    cc->md_ctx_free(sha);
    cc->md_ctx_free(md5);
    free(chunk);
    return rc;
}

/* An ETag that is an MD5 must be ours; others (SSE-KMS, multipart) say nothing about bytes. */
int backup__s3_check_etag(const struct s3 *s, const struct s3_req *r, struct err *err)
{
    char want[33], got[80];
    const char *e = r->etag + (r->etag[0] == '"');
    snprintf(got, sizeof got, "%.*s", (int)strcspn(e, "\""), e);
    backup__s3_hex(r->md5, 16, want);
    if (strlen(got) != 32 || strspn(got, "0123456789abcdefABCDEF") != 32 ||
        strcasecmp(got, want) == 0)
        return 0;
    return err_set(err, -EIO, "s3 %s %s/%s: the server stored other bytes (ETag %s, MD5 %s)",
                   r->method, s->t->bucket, r->key, got, want);
}
