/* alert/notify_email.c: the email kind: one RFC 5322 message per grouped notice, sent over SMTP
 * by notify_curl.c (STARTTLS on smtp://, implicit TLS on smtps://, AUTH when a username is set).
 *
 * The message is plain UTF-8 text (8bit), with Date, Message-ID (unique per message and
 * attempt-stable: <tend.CREATED_MS.SEQ.PID@HOST>), Auto-Submitted (so vacation responders stay
 * quiet) and the subject as RFC 2047 encoded-words when it is not ASCII. Lines end in CRLF;
 * libcurl does the SMTP dot-stuffing. Day and month names come from tables, not strftime,
 * whose %a/%b follow the locale. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert/notify_int.h"
#include "core/cryptox.h"
#include "core/err.h"
#include "core/str.h"

static int email_check(const struct notify_spec *s, struct err *err)
{
    const char *u = s->email.smtp;
    if (!u || (!str_starts(u, "smtp://") && !str_starts(u, "smtps://")))
        return err_set(err, -TE_CONFIG, "email needs smtp: smtp://host:587 or smtps://host:465");
    if (!s->email.from || !strchr(s->email.from, '@'))
        return err_set(err, -TE_CONFIG, "email needs from: an address such as alerts@example.com");
    if (!s->email.nto)
        return err_set(err, -TE_CONFIG, "email needs to: a list of one or more addresses");
    for (size_t i = 0; i < s->email.nto; i++)
        if (!s->email.to[i] || !strchr(s->email.to[i], '@'))
            return err_set(err, -TE_CONFIG, "email to: \"%s\" is not an address",
                           s->email.to[i] ? s->email.to[i] : "");
    return 0;
}

static void rfc5322_date(int64_t ms, char *dst, size_t size)
{
    static const char *const day[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;
    snprintf(dst, size, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", day[tm.tm_wday], tm.tm_mday,
             mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60,
             off % 60);
}

static bool is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80 || *s == '\r' || *s == '\n')
            return false;
    return true;
}

/* "Subject: " + the title, as encoded-words of at most 75 characters when it is not ASCII
 * (45 input bytes, cut at UTF-8 boundaries, give 60 base64 characters plus 12 around them). */
static int put_subject(struct buf *b, const char *title, struct err *err)
{
    if (is_ascii(title))
        return buf_printf(b, "Subject: %s\r\n", title);
    const struct cryptox *cx;
    int rc = cryptox_load(&cx, err);
    if (rc < 0)
        return rc;
    buf_puts(b, "Subject:");
    for (const char *p = title; *p;) {
        size_t n = strlen(p) < 45 ? strlen(p) : 45;
        while (n < strlen(p) && ((unsigned char)p[n] & 0xC0) == 0x80)
            n--;    /* do not split a character */
        if (n == 0) /* not UTF-8 after all: any cut will do */
            n = strlen(p) < 45 ? strlen(p) : 45;
        unsigned char out[64];
        cx->encode_block(out, (const unsigned char *)p, (int)n);
        buf_printf(b, "%s=?UTF-8?B?%s?=", p == title ? " " : "\r\n ", out);
        p += n;
    }
    return buf_puts(b, "\r\n");
}

static int email_build(const struct notifier *nf, const struct notify_msg *m,
                       struct notify_req *req, struct err *err)
{
    const struct notify_spec *s = &nf->spec;
    char title[512], date[64];
    struct buf text;
    struct buf *b = &req->body;
    req->url = str_dup(s->email.smtp);
    notify__strv_pushf(&req->rcpt, "<%s>", s->email.to[0]);
    for (size_t i = 1; i < s->email.nto; i++)
        notify__strv_pushf(&req->rcpt, "<%s>", s->email.to[i]);
    struct buf from;
    buf_init(&from, 0);
    buf_printf(&from, "<%s>", s->email.from);
    req->mail_from = buf_take(&from);

    notify__title(nf, m, title, sizeof title);
    rfc5322_date(m->created_ms, date, sizeof date);
    buf_printf(b, "Date: %s\r\nFrom: %s\r\nTo: ", date, s->email.from);
    for (size_t i = 0; i < s->email.nto; i++)
        buf_printf(b, "%s%s", i ? ", " : "", s->email.to[i]);
    buf_printf(b, "\r\nMessage-ID: <tend.%lld.%llu.%ld@%s>\r\n", (long long)m->created_ms,
               (unsigned long long)m->seq, (long)getpid(), nf->set->host);
    int rc = put_subject(b, title, err);
    if (rc < 0)
        return rc;
    buf_printf(b,
               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n"
               "X-Tend-Notifier: %s\r\n\r\n%s\r\n\r\n",
               s->name, title);
    buf_init(&text, 0);
    notify__render(nf, m, NOTIFY_STYLE_PLAIN, 256 << 10, &text);
    for (const char *p = text.ptr; p && *p;) {
        size_t n = strcspn(p, "\n");
        buf_append(b, p, n);
        buf_puts(b, "\r\n");
        p += n + (p[n] == '\n');
    }
    buf_fini(&text);
    rc = buf_printf(b, "\r\n-- \r\ntend on %s\r\n", nf->set->host);
    return rc < 0 ? err_set(err, rc, "cannot hold the mail") : 0;
}

const struct notify_kind notify_email = {
    .name = "email", .check = email_check, .build = email_build, .judge = NULL};
