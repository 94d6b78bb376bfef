/* config/pm2.c: PM2 ecosystem import: recognise an ecosystem file and read it into a tree.
 *
 * PM2 accepts three shapes of ecosystem file, and so does tend (DESIGN, PM2 lesson 8):
 *   .js/.cjs/.mjs  JavaScript: only node can evaluate it. We run node with posix_spawn (never
 *                  the shell), cwd = the file's folder (dotenv reads .env from there), and read
 *                  the JSON it writes on fd 3; the file's own console output goes to fd 1/2,
 *                  which we keep for the error message. Bounded: 16 MiB of output, 10 s.
 *   .json          PM2 evaluates these as JavaScript too; with node we do the same, without it
 *                  the lenient parser in pm2_json.c accepts what real files contain.
 *   .yaml/.yml     read with libyaml; plain scalars are typed as js-yaml (PM2's reader) does.
 * pm2_map.c then writes tend.yaml text from the tree. Nothing here changes global state: the
 * child's cwd is set by the child itself and its signals are reset in posix_spawn attributes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "config/config_int.h"
#include "config/pm2_int.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

extern char **environ;

#define MAX_FILE (16u << 20)    /* an ecosystem file, or node's JSON output */
#define MAX_STDERR (8u << 10)   /* kept of node's own messages */
#define NODE_TIMEOUT_MS 10000

/* ---- positions and messages ---------------------------------------------------------------- */
void cfg__pm2_pos_add(struct pm2_pos *p, const json_t *obj, const char *key, int line, int col)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct pm2_posent *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return; /* positions only decorate messages: losing one is harmless */
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = (struct pm2_posent){obj, str_dup(key), line, col};
}

void cfg__pm2_pos_find(const struct pm2_pos *p, const json_t *obj, const char *key, int *line,
                       int *col)
{
    *line = *col = 0;
    /* The last entry wins: a repeated key's later value is the one JavaScript keeps. */
    for (size_t i = 0; p && obj && i < p->n; i++)
        if (p->v[i].obj == obj && !strcmp(p->v[i].key, key)) {
            *line = p->v[i].line;
            *col = p->v[i].col;
        }
}

void cfg__pm2_pos_fini(struct pm2_pos *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].key);
    free(p->v);
    json_decref(p->root);
    *p = (struct pm2_pos){0};
}

void cfg__pm2_diag(struct cfg_diag *d, enum cfg_severity sev, int line, int col, const char *fmt,
                   ...)
{
    va_list ap;
    if (sev == CFG_ERROR)
        d->nerrors++;
    else
        d->nwarnings++;
    if (d->nmsgs >= CFG_MAX_MSGS) {
        d->truncated = true;
        return;
    }
    struct cfg_msg *m = &d->msgs[d->nmsgs++];
    m->severity = sev;
    m->line = line;
    m->col = col;
    va_start(ap, fmt);
    vsnprintf(m->text, sizeof m->text, fmt, ap);
    va_end(ap);
}

/* ---- recognising an ecosystem file ---------------------------------------------------------- */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Does some line of `text`, trimmed of spaces and a leading "- ", start with `key`? */
static bool has_yaml_key(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        while (*l == ' ' || *l == '\t' || *l == '-')
            l++;
        if (!strncmp(l, key, n))
            return true;
    }
    return false;
}

/* The first character of the JSON value, past spaces and comments. */
static char json_first(const char *t)
{
    while (*t) {
        if (strchr(" \t\r\n", *t))
            t++;
        else if (t[0] == '/' && t[1] == '/')
            t += strcspn(t, "\n");
        else if (t[0] == '/' && t[1] == '*')
            t = strstr(t + 2, "*/") ? strstr(t + 2, "*/") + 2 : t + strlen(t);
        else
            return *t;
    }
    return '\0';
}

bool cfg_is_pm2_file(const char *path, const char *text)
{
    const char *b = base_name(path);
    if (str_ends(b, ".js") || str_ends(b, ".cjs") || str_ends(b, ".mjs"))
        return true;
    bool eco = str_starts(b, "ecosystem");
    if (str_ends(b, ".json") || str_ends(b, ".json5"))
        return eco || (text && (json_first(text) == '[' || strstr(text, "apps")));
    if (!str_ends(b, ".yaml") && !str_ends(b, ".yml"))
        return false;
    if (!text)
        return eco;
    return has_yaml_key(text, "apps:") && has_yaml_key(text, "script:") &&
           !has_yaml_key(text, "cmd:") && !has_yaml_key(text, "argv:");
}

/* ---- running node --------------------------------------------------------------------------- */
/* Evaluates argv[1] (a path) the way PM2 loads an ecosystem file and writes the result as JSON
 * on fd 3. The file's console output goes to fd 1/2, so a console.log() in it cannot corrupt
 * the JSON. ESM files (.mjs, "type": "module") are loaded with import(). */
static const char NODE_SCRIPT[] =
    "(()=>{const path=require('path'),fs=require('fs'),url=require('url');"
    "const p=path.resolve(process.argv[1]);process.chdir(path.dirname(p));"
    "const done=m=>{let c=(m&&m.default)||m;if(c===undefined)c=null;"
    "const b=Buffer.from(JSON.stringify(Array.isArray(c)?{apps:c}:c));"
    "let o=0;while(o<b.length)o+=fs.writeSync(3,b,o);process.exit(0);};"
    "const fail=e=>{console.error((e&&e.stack)||String(e));process.exit(1);};"
    "const esm=()=>import(url.pathToFileURL(p).href).then(done,fail);"
    "if(p.endsWith('.mjs'))return esm();let m;"
    "try{m=/\\.json5?$/.test(p)?require('vm').runInThisContext("
    "'('+fs.readFileSync(p,'utf8').replace(/^\\uFEFF/,'')+'\\n)',{filename:p}):require(p);}"
    "catch(e){if(e&&e.code==='ERR_REQUIRE_ESM')return esm();return fail(e);}done(m);})()";

/* Find `prog` in $PATH (as execvp would); 0 and the full path, or -ENOENT. */
static int find_in_path(const char *prog, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;; p++) {
        size_t n = strcspn(p, ":");
        if (str_fmt(out, size, "%.*s%s%s", (int)n, p, n ? "/" : "", prog) == 0 &&
            access(out, X_OK) == 0)
            return 0;
        p += n;
        if (!*p)
            return -ENOENT;
    }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drain the result pipe into `out` and the message pipe into `msg` until both close or the
 * deadline passes. 0, -TE_TIMEOUT, -TE_TOOBIG or -errno. */
static int drain(int fds[2], struct buf *out, struct buf *msg, long long deadline)
{
    char chunk[16384];
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd pf[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
        long long left = deadline - now_ms();
        if (left <= 0)
            return -TE_TIMEOUT;
        int n = poll(pf, 2, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        for (int i = 0; i < 2; i++) {
            if (fds[i] < 0 || !pf[i].revents)
                continue;
            ssize_t r = read(fds[i], chunk, sizeof chunk);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                close(fds[i]);
                fds[i] = -1;
            } else if (i == 0 && buf_append(out, chunk, (size_t)r) < 0) {
                return -TE_TOOBIG;
            } else if (i == 1 && msg->len < MAX_STDERR) {
                buf_append(msg, chunk, (size_t)r < MAX_STDERR - msg->len ? (size_t)r
                                                                         : MAX_STDERR - msg->len);
            }
        }
    }
    return 0;
}

/* Wait for the child until the deadline; kill its process group when late. */
static int reap(pid_t pid, long long deadline, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
        if (now_ms() >= deadline) {
            kill(-pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
            return -TE_TIMEOUT;
        }
        poll(NULL, 0, 5); /* node has closed its pipes and is exiting: a short wait */
    }
}

static int spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at, int res_w, int msg_w)
{
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGCHLD);
    if (posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0) ||
        posix_spawn_file_actions_adddup2(fa, msg_w, 1) ||
        posix_spawn_file_actions_adddup2(fa, msg_w, 2) ||
        posix_spawn_file_actions_adddup2(fa, res_w, 3) ||
        posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                         POSIX_SPAWN_SETSIGDEF) ||
        posix_spawnattr_setpgroup(at, 0) || posix_spawnattr_setsigmask(at, &none) ||
        posix_spawnattr_setsigdefault(at, &dfl))
        return -ENOMEM;
    return 0;
}

/* Run `node -e NODE_SCRIPT path`. 0 with the result in `out` when node exited 0; otherwise
 * -TE_TIMEOUT, -TE_TOOBIG, -TE_PARSE (node failed: *status says how) or -errno; `msg` holds
 * node's own output either way. */
static int run_node(const char *node, const char *path, int timeout_ms, struct buf *out,
                    struct buf *msg, int *status)
{
    int res[2] = {-1, -1}, mp[2] = {-1, -1}, rd[2], rc;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    pid_t pid = -1;
    char *argv[] = {(char *)node, "-e", (char *)NODE_SCRIPT, (char *)path, NULL};
    long long deadline = now_ms() + timeout_ms;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    if (pipe2(res, O_CLOEXEC) < 0 || pipe2(mp, O_CLOEXEC) < 0) {
        rc = -errno;
        goto out;
    }
    if ((rc = spawn_setup(&fa, &at, res[1], mp[1])) < 0)
        goto out;
    rc = -posix_spawn(&pid, node, &fa, &at, argv, environ);
    if (rc < 0)
        goto out;
    close(res[1]);
    close(mp[1]);
    res[1] = mp[1] = -1;
    rd[0] = res[0];
    rd[1] = mp[0];
    rc = drain(rd, out, msg, deadline);
    res[0] = rd[0];
    mp[0] = rd[1];
    if (rc < 0)
        deadline = 0; /* late or too big: kill it now */
    int rrc = reap(pid, deadline, status);
    if (rc == 0)
        rc = rrc;
    if (rc == 0 && !(WIFEXITED(*status) && WEXITSTATUS(*status) == 0))
        rc = -TE_PARSE;
out:
    for (int i = 0; i < 2; i++) {
        if (res[i] >= 0)
            close(res[i]);
        if (mp[i] >= 0)
            close(mp[i]);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

/* Shorten node's output for a one-line message: the "file:line" line of the stack and the line
 * naming the error ("SyntaxError: Unexpected token '}'"), or the last line. */
static void node_summary(const struct buf *msg, char *dst, size_t size)
{
    const char *t = msg->ptr ? msg->ptr : "", *where = NULL, *what = NULL, *last = NULL;
    int wl = 0, el = 0, ll = 0;
    for (const char *l = t; *l;) {
        int n = (int)strcspn(l, "\n");
        if (n > 0) {
            if (!where && l[0] == '/' && memchr(l, ':', (size_t)n))
                where = l, wl = n;
            if (!what && (memmem(l, (size_t)n, "Error:", 6) || memmem(l, (size_t)n, "Error [", 7)))
                what = l, el = n;
            last = l, ll = n;
        }
        l += n + (l[n] == '\n');
    }
    if (!what)
        what = last, el = ll;
    if (where && what && where != what)
        snprintf(dst, size, "%.*s: %.*s", wl, where, el, what);
    else if (what)
        snprintf(dst, size, "%.*s", el, what);
    else
        snprintf(dst, size, "no message");
}

/* Evaluate a .js/.json ecosystem file with node; 0 and *out, or an error in diag. */
static int eval_node(const char *node, const char *path, const struct pm2_opts *o, json_t **out,
                     struct cfg_diag *diag)
{
    struct buf res, msg;
    char sum[300];
    int status = 0, tmo = o->node_timeout_ms > 0 ? o->node_timeout_ms : NODE_TIMEOUT_MS;
    json_error_t je;
    buf_init(&res, MAX_FILE);
    buf_init(&msg, 0);
    int rc = run_node(node, path, tmo, &res, &msg, &status);
    node_summary(&msg, sum, sizeof sum);
    if (rc == -TE_TIMEOUT)
        cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "node did not finish evaluating the file within "
                      "%d ms and was killed (does the file start servers or wait for input?)", tmo);
    else if (rc == -TE_TOOBIG)
        cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "node's JSON for the file is over 16 MiB");
    else if (rc == -TE_PARSE)
        cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "node could not evaluate the file (%s %d): %s",
                      WIFEXITED(status) ? "exit code" : "signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), sum);
    else if (rc < 0)
        cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "cannot run \"%s\": %s", node, strerror(-rc));
    if (rc == 0) {
        *out = json_loadb(res.ptr ? res.ptr : "", res.len, JSON_DECODE_ANY, &je);
        if (!*out) {
            cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "node's output is not JSON: %s", je.text);
            rc = -TE_PARSE;
        }
    }
    buf_fini(&res);
    buf_fini(&msg);
    return rc < 0 ? -TE_CONFIG : 0;
}

/* ---- YAML ecosystem files -------------------------------------------------------------------- */
#define YAML_MAX_NODES 100000 /* aliases can multiply a small file: bound the tree */

struct yconv {
    yaml_document_t *doc;
    struct pm2_pos *pos;
    size_t nodes;
};

/* A plain scalar typed as js-yaml's default (YAML 1.2 core) schema does. */
static json_t *yaml_plain(const char *s)
{
    char *end;
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
        return json_null();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return json_false();
    errno = 0;
    long long ll = strtoll(s, &end, 10);
    if (!*end && errno == 0 && strspn(s + (*s == '-' || *s == '+'), "0123456789") > 0)
        return json_integer(ll);
    double d = strtod(s, &end);
    if (!*end && strspn(s, "+-0123456789.eE") == strlen(s) && strpbrk(s, "0123456789"))
        return json_real(d);
    return json_string(s);
}

static json_t *yaml_to_json(struct yconv *c, yaml_node_t *n, int depth)
{
    if (!n || depth > 64 || ++c->nodes > YAML_MAX_NODES)
        return NULL;
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = (const char *)n->data.scalar.value;
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return yaml_plain(s);
        return json_stringn(s, n->data.scalar.length);
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        json_t *a = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++) {
            json_t *e = yaml_to_json(c, yaml_document_get_node(c->doc, *i), depth + 1);
            if (!e)
                return json_decref(a), NULL;
            json_array_append_new(a, e);
        }
        return a;
    }
    json_t *o = json_object();
    cfg__pm2_pos_add(c->pos, o, "", (int)n->start_mark.line + 1, (int)n->start_mark.column + 1);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        json_t *v = yaml_to_json(c, yaml_document_get_node(c->doc, p->value), depth + 1);
        if (!k || k->type != YAML_SCALAR_NODE || !v)
            return json_decref(v), json_decref(o), NULL;
        const char *key = (const char *)k->data.scalar.value;
        json_object_set_new(o, key, v);
        cfg__pm2_pos_add(c->pos, o, key, (int)k->start_mark.line + 1,
                         (int)k->start_mark.column + 1);
    }
    return o;
}

static int read_yaml(const struct buf *text, json_t **out, struct pm2_pos *pos,
                     struct cfg_diag *diag)
{
    yaml_parser_t p;
    yaml_document_t doc;
    int rc = 0;
    *out = NULL;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text->ptr, text->len);
    if (!yaml_parser_load(&p, &doc)) {
        cfg__pm2_diag(diag, CFG_ERROR, (int)p.problem_mark.line + 1,
                      (int)p.problem_mark.column + 1, "%s", p.problem ? p.problem : "bad YAML");
        yaml_parser_delete(&p);
        return -TE_CONFIG;
    }
    struct yconv c = {&doc, pos, 0};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "the file is empty (expected apps: [...])");
        rc = -TE_CONFIG;
    } else if (!(*out = yaml_to_json(&c, root, 0))) {
        cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "the YAML is nested too deeply, too large, or has "
                      "a key that is not a plain string");
        rc = -TE_CONFIG;
    } else {
        pos->root = json_incref(*out);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    return rc;
}

/* ---- entry points ------------------------------------------------------------------------------ */
enum kind { K_JS, K_JSON, K_YAML };

static int file_kind(const char *path, enum kind *k)
{
    const char *b = base_name(path);
    if (str_ends(b, ".js") || str_ends(b, ".cjs") || str_ends(b, ".mjs"))
        *k = K_JS;
    else if (str_ends(b, ".json") || str_ends(b, ".json5"))
        *k = K_JSON;
    else if (str_ends(b, ".yaml") || str_ends(b, ".yml"))
        *k = K_YAML;
    else
        return -TE_INVALID;
    return 0;
}

/* .json: the lenient parse always runs (it gives key positions); node, when present, decides. */
static int read_json(const char *path, const struct buf *text, const struct pm2_opts *o,
                     json_t **out, struct pm2_pos *pos, struct cfg_diag *diag)
{
    char node[PATH_MAX];
    struct cfg_diag scratch = {0};
    json_t *lenient = NULL;
    int lrc = cfg__pm2_json_parse(text->ptr, text->len, o->env, &lenient, pos, &scratch);
    if (lrc < 0)
        cfg__pm2_pos_fini(pos); /* its entries point into a freed tree */
    if (!o->no_node && find_in_path("node", node, sizeof node) == 0) {
        json_decref(lenient);
        int rc = eval_node(node, path, o, out, diag);
        if (rc == 0 || lrc == 0)
            return rc;
        /* node says only the line; the lenient parser's message adds the column */
    }
    for (int i = 0; i < scratch.nmsgs; i++)
        cfg__pm2_diag(diag, scratch.msgs[i].severity, scratch.msgs[i].line, scratch.msgs[i].col,
                      "%s", scratch.msgs[i].text);
    *out = lenient;
    return lrc < 0 ? -TE_CONFIG : 0;
}

static int read_tree(const char *path, enum kind k, const struct buf *text,
                     const struct pm2_opts *o, json_t **root, struct pm2_pos *pos,
                     struct cfg_diag *diag)
{
    char node[PATH_MAX];
    if (k == K_YAML)
        return read_yaml(text, root, pos, diag);
    if (k == K_JSON)
        return read_json(path, text, o, root, pos, diag);
    if (o->no_node || find_in_path("node", node, sizeof node) < 0) {
        cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "cannot evaluate a JavaScript ecosystem file: "
                      "\"node\" was not found in PATH; install Node.js (e.g. apt install nodejs) "
                      "or convert the file to JSON (ecosystem.json), which tend reads without "
                      "node");
        return -TE_CONFIG;
    }
    return eval_node(node, path, o, root, diag);
}

int cfg__pm2_convert(const char *path, const struct pm2_opts *o, struct buf *yaml,
                     struct cfg_diag *diag)
{
    struct buf text;
    struct pm2_pos pos = {0};
    json_t *root = NULL;
    enum kind k;
    int rc;
    if (!diag->file[0])
        str_copy(diag->file, path, sizeof diag->file);
    if (file_kind(path, &k) < 0) {
        cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "not a PM2 ecosystem file (expected .js, .cjs, "
                      ".mjs, .json, .yaml or .yml)");
        return -TE_CONFIG;
    }
    buf_init(&text, MAX_FILE);
    rc = read_file(path, MAX_FILE, &text);
    if (rc < 0) {
        cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "cannot read the file: %s", err_str(rc));
        goto out;
    }
    rc = read_tree(path, k, &text, o, &root, &pos, diag);
    if (rc == 0)
        rc = cfg__pm2_map(path, root, &pos, yaml, diag);
out:
    cfg__diag_sort(diag); /* messages in file order, whichever pass found them */
    json_decref(root);
    cfg__pm2_pos_fini(&pos);
    buf_fini(&text);
    return rc;
}

int cfg_pm2_to_yaml(const char *path, struct buf *yaml, struct cfg_diag *diag)
{
    static const struct pm2_opts defaults = {0};
    return cfg__pm2_convert(path, &defaults, yaml, diag);
}
