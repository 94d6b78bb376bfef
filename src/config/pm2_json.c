/* config/pm2_json.c: PM2's ".json" without node: a lenient parser producing jansson values.
 *
 * PM2 evaluates an ecosystem .json file as a JavaScript expression (vm.runInThisContext), so
 * real files carry comments, unquoted keys, single quotes, trailing commas and
 * `process.env.PORT || 3000`. When node is on the machine pm2.c lets node do exactly that; this
 * parser is the fallback (and the source of key positions for warnings). It is a recursive
 * descent over the text with a line/column cursor; every error names the line and column.
 * JavaScript's `undefined` (an unset process.env.X with no default) drops the key, as
 * JSON.stringify does, and becomes null inside an array. Nesting is bounded (MAX_DEPTH) so
 * hostile input cannot exhaust the stack. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/pm2_int.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

extern char **environ;

#define MAX_DEPTH 64

struct lex {
    const char *s, *end;
    int line, col;
    const char *const *env;
    struct pm2_pos *pos;
    struct cfg_diag *diag;
    int depth;
};

/* A parsed value: `j` (a new reference) or, for JavaScript's undefined, j == NULL. */
struct val {
    json_t *j;
};

static int fail(struct lex *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct lex *x, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cfg__pm2_diag(x->diag, CFG_ERROR, x->line, x->col, "%s", msg);
    return -TE_PARSE;
}

static int peek(const struct lex *x)
{
    return x->s < x->end ? (unsigned char)*x->s : -1;
}

static void adv(struct lex *x)
{
    if (x->s >= x->end)
        return;
    /* Columns count characters, not bytes: UTF-8 continuation bytes do not advance them. */
    if (*x->s == '\n') {
        x->line++;
        x->col = 1;
    } else if (((unsigned char)*x->s & 0xC0) != 0x80) {
        x->col++;
    }
    x->s++;
}

/* Skip white space and comments; an unterminated block comment is an error. */
static int skip(struct lex *x)
{
    for (;;) {
        int c = peek(x);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            adv(x);
        } else if (c == '/' && x->s + 1 < x->end && x->s[1] == '/') {
            while (peek(x) != -1 && peek(x) != '\n')
                adv(x);
        } else if (c == '/' && x->s + 1 < x->end && x->s[1] == '*') {
            int line = x->line, col = x->col;
            adv(x);
            adv(x);
            while (peek(x) != -1 && !(peek(x) == '*' && x->s + 1 < x->end && x->s[1] == '/'))
                adv(x);
            if (peek(x) == -1) {
                x->line = line;
                x->col = col;
                return fail(x, "comment opened here is never closed (missing \"*/\")");
            }
            adv(x);
            adv(x);
        } else if (c == 0xEF && x->end - x->s >= 3 && !memcmp(x->s, "\xEF\xBB\xBF", 3)) {
            x->s += 3; /* a byte-order mark */
        } else {
            return 0;
        }
    }
}

static bool is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static bool is_ident(int c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* Describe the character at the cursor for messages: 'x', end of file. */
static const char *what(const struct lex *x, char *tmp, size_t n)
{
    int c = peek(x);
    if (c == -1)
        return "the end of the file";
    if (c < 0x20)
        snprintf(tmp, n, "character 0x%02x", c);
    else
        snprintf(tmp, n, "'%c'", c);
    return tmp;
}

static void put_utf8(struct buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_append(b, u, n);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Read `n` hex digits after an escape letter. */
static int read_hex(struct lex *x, int n, unsigned long *cp)
{
    *cp = 0;
    for (int i = 0; i < n; i++) {
        int h = hexval(peek(x));
        if (h < 0)
            return fail(x, "expected a hex digit in an escape sequence");
        *cp = *cp * 16 + (unsigned long)h;
        adv(x);
    }
    return 0;
}

/* One escape after the backslash (already consumed). */
static int escape(struct lex *x, struct buf *b)
{
    int c = peek(x);
    unsigned long cp;
    static const char from[] = "nrtbfv0", to[] = "\n\r\t\b\f\v";
    const char *p = c > 0 ? strchr(from, c) : NULL;
    if (c == -1)
        return fail(x, "string is not closed before the end of the file");
    adv(x);
    if (p && *p == '0')
        return buf_putc(b, '\0') < 0 ? fail(x, "string too long") : 0;
    if (p)
        return buf_putc(b, to[p - from]), 0;
    if (c == '\n')
        return 0; /* line continuation */
    if (c == 'x' || c == 'u') {
        int rc = read_hex(x, c == 'x' ? 2 : 4, &cp);
        if (rc < 0)
            return rc;
        if (c == 'u' && cp >= 0xD800 && cp < 0xDC00 && peek(x) == '\\') {
            unsigned long lo;
            adv(x);
            if (peek(x) != 'u')
                return fail(x, "expected a low surrogate \\u escape");
            adv(x);
            if ((rc = read_hex(x, 4, &lo)) < 0)
                return rc;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        put_utf8(b, cp);
        return 0;
    }
    return buf_putc(b, (char)c), 0; /* \' \" \\ \/ and any other character stand for itself */
}

/* A '...', "..." or `...` string (no ${} inside backquotes: that needs node). */
static int parse_string(struct lex *x, char **out)
{
    int q = peek(x), line = x->line, col = x->col, rc = 0;
    struct buf b;
    buf_init(&b, 1 << 20);
    buf_puts(&b, "");
    adv(x);
    for (;;) {
        int c = peek(x);
        if (c == -1 || (c == '\n' && q != '`')) {
            x->line = line;
            x->col = col;
            rc = fail(x, "string opened here is not closed on its line");
            break;
        }
        if (c == q) {
            adv(x);
            break;
        }
        if (q == '`' && c == '$' && x->s + 1 < x->end && x->s[1] == '{') {
            rc = fail(x, "template strings with ${...} need node to evaluate");
            break;
        }
        if (c == '\\') {
            adv(x);
            if ((rc = escape(x, &b)) < 0)
                break;
            continue;
        }
        if (buf_putc(&b, (char)c) < 0) {
            rc = fail(x, "string longer than 1 MiB");
            break;
        }
        adv(x);
    }
    if (rc < 0) {
        buf_fini(&b);
        return rc;
    }
    *out = buf_take(&b);
    return 0;
}

static int parse_number(struct lex *x, struct val *v)
{
    const char *start = x->s;
    char tmp[64], *endp;
    size_t n;
    if (peek(x) == '-' || peek(x) == '+')
        adv(x);
    /* A sign inside a number only follows an exponent letter: "1e-3", not "1+2". */
    while (is_ident(peek(x)) || peek(x) == '.' ||
           ((peek(x) == '-' || peek(x) == '+') && (x->s[-1] == 'e' || x->s[-1] == 'E') &&
            !(x->s - start > 1 && (start[1] == 'x' || start[1] == 'X'))))
        adv(x);
    n = (size_t)(x->s - start);
    if (n >= sizeof tmp)
        return fail(x, "number too long");
    memcpy(tmp, start, n);
    tmp[n] = '\0';
    errno = 0;
    if (strspn(tmp + (tmp[0] == '-' || tmp[0] == '+'), "0123456789") == n - (tmp[0] == '-' || tmp[0] == '+')) {
        long long ll = strtoll(tmp, &endp, 10);
        if (errno == 0 && *endp == '\0') {
            v->j = json_integer(ll);
            return 0;
        }
    }
    if (n > 2 && tmp[0] == '0' && (tmp[1] == 'x' || tmp[1] == 'X')) {
        long long ll = strtoll(tmp, &endp, 16);
        if (*endp == '\0') {
            v->j = json_integer(ll);
            return 0;
        }
    }
    double d = strtod(tmp, &endp);
    if (*endp != '\0' || n == 0)
        return fail(x, "\"%s\" is not a number", tmp);
    v->j = json_real(d);
    return 0;
}

static int parse_value(struct lex *x, struct val *v);

static int parse_ident(struct lex *x, char *out, size_t size)
{
    size_t n = 0;
    if (!is_ident_start(peek(x)))
        return -TE_PARSE;
    while (is_ident(peek(x))) {
        if (n + 1 < size)
            out[n++] = (char)peek(x);
        adv(x);
    }
    out[n] = '\0';
    return 0;
}

static const char *env_get(const struct lex *x, const char *name)
{
    const char *const *e = x->env ? x->env : (const char *const *)environ;
    size_t n = strlen(name);
    for (; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* After "process": ".env.NAME" or ".env['NAME']". */
static int parse_env_ref(struct lex *x, struct val *v)
{
    char word[256];
    char *quoted = NULL;
    int line = x->line, col = x->col - 7; /* "process" was just read */
    if (peek(x) != '.' || (adv(x), parse_ident(x, word, sizeof word)) < 0 ||
        strcmp(word, "env") != 0) {
        x->line = line;
        x->col = col;
        return fail(x, "only process.env.NAME is understood without node");
    }
    if (peek(x) == '.') {
        adv(x);
        if (parse_ident(x, word, sizeof word) < 0)
            return fail(x, "expected a variable name after \"process.env.\"");
    } else if (peek(x) == '[') {
        adv(x);
        if ((peek(x) != '\'' && peek(x) != '"') || parse_string(x, &quoted) < 0 ||
            peek(x) != ']') {
            free(quoted);
            return fail(x, "expected process.env['NAME']");
        }
        adv(x);
        str_copy(word, quoted, sizeof word);
        free(quoted);
    } else {
        return fail(x, "expected process.env.NAME");
    }
    const char *val = env_get(x, word);
    v->j = val ? json_string(val) : NULL;
    return 0;
}

/* true, false, null, undefined, process.env..., NaN/Infinity are refused. */
static int parse_word(struct lex *x, struct val *v)
{
    char word[64];
    int line = x->line, col = x->col;
    parse_ident(x, word, sizeof word);
    if (!strcmp(word, "true") || !strcmp(word, "false")) {
        v->j = json_boolean(word[0] == 't');
        return 0;
    }
    if (!strcmp(word, "null")) {
        v->j = json_null();
        return 0;
    }
    if (!strcmp(word, "undefined")) {
        v->j = NULL;
        return 0;
    }
    if (!strcmp(word, "process"))
        return parse_env_ref(x, v);
    x->line = line;
    x->col = col;
    return fail(x, "\"%s\" cannot be evaluated without node (only JSON, comments, unquoted keys, "
                   "single quotes, trailing commas and process.env.NAME || 'default' are)",
                word);
}

static bool truthy(const json_t *j)
{
    if (!j || json_is_null(j) || json_is_false(j))
        return false;
    if (json_is_string(j))
        return json_string_length(j) > 0;
    if (json_is_integer(j))
        return json_integer_value(j) != 0;
    if (json_is_real(j))
        return json_real_value(j) != 0.0;
    return true;
}

/* The text JavaScript's `+` would use for a value joined to a string. */
static void concat_text(struct buf *b, const json_t *j)
{
    if (!j)
        buf_puts(b, "undefined");
    else if (json_is_string(j))
        buf_append(b, json_string_value(j), json_string_length(j));
    else if (json_is_integer(j))
        buf_printf(b, "%lld", (long long)json_integer_value(j));
    else if (json_is_real(j))
        buf_printf(b, "%.17g", json_real_value(j));
    else if (json_is_boolean(j))
        buf_puts(b, json_is_true(j) ? "true" : "false");
    else if (json_is_null(j))
        buf_puts(b, "null");
    else
        buf_puts(b, "[object Object]");
}

/* primary ('+' primary)*: string concatenation (numbers add when both sides are integers).
 * Like every parse_* here, leaves v->j NULL when it fails: a right-hand value parsed before a
 * later failure was leaked when this and parse_expr kept it (fuzz_pm2). */
static int parse_sum(struct lex *x, struct val *v)
{
    int rc = parse_value(x, v);
    while (rc == 0 && (rc = skip(x)) == 0 && peek(x) == '+') {
        struct val r = {NULL};
        adv(x);
        if ((rc = skip(x)) < 0 || (rc = parse_value(x, &r)) < 0) {
            json_decref(r.j);
            break;
        }
        if (json_is_integer(v->j) && json_is_integer(r.j)) {
            json_t *s = json_integer(json_integer_value(v->j) + json_integer_value(r.j));
            json_decref(v->j);
            v->j = s;
        } else {
            struct buf b;
            buf_init(&b, 1 << 20);
            concat_text(&b, v->j);
            concat_text(&b, r.j);
            json_decref(v->j);
            v->j = json_stringn(b.ptr ? b.ptr : "", b.len);
            buf_fini(&b);
        }
        json_decref(r.j);
    }
    if (rc < 0) {
        json_decref(v->j);
        v->j = NULL;
    }
    return rc;
}

/* sum (('||' | '??') sum)*: JavaScript's short-circuit choice of a value. */
static int parse_expr(struct lex *x, struct val *v)
{
    int rc = parse_sum(x, v);
    while (rc == 0 && (rc = skip(x)) == 0 && x->end - x->s >= 2 &&
           (!memcmp(x->s, "||", 2) || !memcmp(x->s, "??", 2))) {
        bool is_or = x->s[0] == '|';
        struct val r = {NULL};
        adv(x);
        adv(x);
        if ((rc = skip(x)) < 0 || (rc = parse_sum(x, &r)) < 0) {
            json_decref(r.j);
            break;
        }
        bool keep_left = is_or ? truthy(v->j) : (v->j && !json_is_null(v->j));
        if (keep_left) {
            json_decref(r.j);
        } else {
            json_decref(v->j);
            v->j = r.j;
        }
    }
    if (rc < 0) {
        json_decref(v->j);
        v->j = NULL;
    }
    return rc;
}

/* A key: an identifier, a quoted string or a number. *out is malloc'd. */
static int parse_key(struct lex *x, char **out)
{
    char tmp[64];
    int c = peek(x);
    if (c == '"' || c == '\'')
        return parse_string(x, out);
    if (is_ident_start(c) || (c >= '0' && c <= '9') || c >= 0x80) {
        const char *start = x->s;
        while (peek(x) != -1 && (is_ident(peek(x)) || peek(x) >= 0x80))
            adv(x);
        *out = str_ndup(start, (size_t)(x->s - start));
        return 0;
    }
    return fail(x, "expected a key or '}', found %s", what(x, tmp, sizeof tmp));
}

/* One "key: value" member of an object; the cursor is on the key. */
static int parse_member(struct lex *x, json_t *obj)
{
    char tmp[64], *key = NULL;
    struct val v = {NULL};
    int line = x->line, col = x->col, rc = parse_key(x, &key);
    if (rc == 0 && (rc = skip(x)) == 0 && peek(x) != ':')
        rc = fail(x, "expected ':' after key \"%s\", found %s", key, what(x, tmp, sizeof tmp));
    if (rc == 0) {
        adv(x);
        if ((rc = skip(x)) == 0)
            rc = parse_expr(x, &v);
    }
    if (rc == 0) {
        if (v.j) {
            json_object_set_new(obj, key, v.j);
            if (x->pos)
                cfg__pm2_pos_add(x->pos, obj, key, line, col);
        } else {
            json_object_del(obj, key); /* undefined: JSON.stringify drops the key */
        }
    }
    free(key);
    return rc;
}

/* Parse "{...}" or "[...]" (the cursor is on the bracket). */
static int parse_container(struct lex *x, struct val *v)
{
    char tmp[64];
    bool is_obj = peek(x) == '{';
    int close = is_obj ? '}' : ']', rc = 0;
    json_t *j = is_obj ? json_object() : json_array();
    if (++x->depth > MAX_DEPTH) {
        json_decref(j);
        return fail(x, "nesting deeper than %d levels", MAX_DEPTH);
    }
    if (is_obj && x->pos)
        cfg__pm2_pos_add(x->pos, j, "", x->line, x->col);
    adv(x);
    while ((rc = skip(x)) == 0 && peek(x) != close) {
        if (is_obj) {
            rc = parse_member(x, j);
        } else {
            struct val e = {NULL};
            if ((rc = parse_expr(x, &e)) == 0)
                json_array_append_new(j, e.j ? e.j : json_null());
        }
        if (rc < 0 || (rc = skip(x)) < 0)
            break;
        if (peek(x) == ',') {
            adv(x); /* a trailing comma before the bracket is fine, as in JavaScript */
        } else if (peek(x) != close) {
            rc = fail(x, "expected ',' or '%c', found %s", close, what(x, tmp, sizeof tmp));
            break;
        }
    }
    x->depth--;
    if (rc < 0) {
        json_decref(j);
        return rc;
    }
    adv(x);
    v->j = j;
    return 0;
}

static int parse_value(struct lex *x, struct val *v)
{
    char tmp[64];
    int c = peek(x);
    v->j = NULL;
    if (c == '{' || c == '[')
        return parse_container(x, v);
    if (c == '"' || c == '\'' || c == '`') {
        char *s = NULL;
        int rc = parse_string(x, &s);
        if (rc == 0)
            v->j = json_string(s);
        free(s);
        if (rc == 0 && !v->j)
            return fail(x, "string is not valid UTF-8");
        return rc;
    }
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.')
        return parse_number(x, v);
    if (c == '(') {
        adv(x);
        int rc = skip(x);
        if (rc == 0 && (rc = parse_expr(x, v)) == 0 && (rc = skip(x)) == 0 && peek(x) != ')') {
            json_decref(v->j);
            v->j = NULL;
            rc = fail(x, "expected ')', found %s", what(x, tmp, sizeof tmp));
        }
        if (rc == 0) {
            adv(x);
        } else {
            json_decref(v->j); /* "(value" then a failure: nothing is handed back */
            v->j = NULL;
        }
        return rc;
    }
    if (is_ident_start(c))
        return parse_word(x, v);
    return fail(x, "expected a value, found %s", what(x, tmp, sizeof tmp));
}

int cfg__pm2_json_parse(const char *text, size_t len, const char *const *env, json_t **out,
                        struct pm2_pos *pos, struct cfg_diag *diag)
{
    char tmp[64];
    struct lex x = {text, text + len, 1, 1, env, pos, diag, 0};
    struct val v = {NULL};
    int rc = skip(&x);
    *out = NULL;
    if (rc == 0 && peek(&x) == -1)
        return fail(&x, "the file is empty (expected {\"apps\": [...]})");
    if (rc == 0)
        rc = parse_expr(&x, &v);
    if (rc == 0 && (rc = skip(&x)) == 0 && peek(&x) == ';')
        adv(&x);
    if (rc == 0 && (rc = skip(&x)) == 0 && peek(&x) != -1)
        rc = fail(&x, "unexpected %s after the value", what(&x, tmp, sizeof tmp));
    if (rc < 0) {
        json_decref(v.j);
        return rc;
    }
    if (!v.j)
        return fail(&x, "the file's value is undefined");
    if (pos) {
        json_decref(pos->root);
        pos->root = json_incref(v.j);
    }
    *out = v.j;
    return 0;
}
