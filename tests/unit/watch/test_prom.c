/* tests/unit/watch/test_prom.c: the /metrics text format, read back by a real parser.
 *
 * The page is parsed by prometheus_client (Debian's python3-prometheus-client, the Prometheus
 * project's own Python client; scripts/deps.sh installs it): what it reads back (families,
 * types, HELP, label values after unescaping, numbers) must be what we wrote. On top of that
 * parser (lax by its own admission) the script checks what a scraper rejects: a family without
 * HELP/TYPE, a TYPE line twice, a histogram whose buckets decrease, lack +Inf or disagree with
 * _count. The error cases (bad names, a family twice, le as a label) are checked here. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "unit.h"
#include "watch/prom.h"

#define PYTHON "/usr/bin/python3" /* Debian's, where python3-prometheus-client installs */

static const char script[] =
    "import sys, json, collections\n"
    "from prometheus_client.parser import text_string_to_metric_families as parse\n"
    "text = open(sys.argv[1], encoding='utf-8').read()\n"
    "types = collections.Counter(l.split()[2] for l in text.splitlines()\n"
    "                            if l.startswith('# TYPE '))\n"
    "for n, c in types.items():\n"
    "    if c > 1: print('ERR TYPE twice', n)\n"
    "for f in parse(text):\n"
    "    if f.type == 'untyped' or not f.documentation:\n"
    "        print('ERR no HELP/TYPE for', f.name)\n"
    "    print('F', f.name, f.type, json.dumps(f.documentation))\n"
    "    hist = collections.defaultdict(list); count = {}\n"
    "    for s in f.samples:\n"
    "        print('S', s.name, json.dumps(s.labels, sort_keys=True), repr(s.value))\n"
    "        key = json.dumps({k: v for k, v in s.labels.items() if k != 'le'}, sort_keys=True)\n"
    "        if s.name.endswith('_bucket'): hist[key].append((float(s.labels['le']), s.value))\n"
    "        if s.name.endswith('_count'): count[key] = s.value\n"
    "    for key, b in hist.items():\n"
    "        if [x for x, _ in b] != sorted(x for x, _ in b) or b[-1][0] != float('inf'):\n"
    "            print('ERR buckets out of order or no +Inf', key)\n"
    "        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):\n"
    "            print('ERR buckets not cumulative', key)\n"
    "        if count.get(key) != b[-1][1]: print('ERR _count != +Inf bucket', key)\n";

/* Run the parser on `page`; its output in *out. 0, or -1 when python3 or the package is missing. */
static int parse_page(const struct buf *page, struct buf *out)
{
    char path[] = "/tmp/tend-prom-XXXXXX";
    int fd = mkstemp(path), pipefd[2];
    if (fd < 0 || write_all(fd, page->ptr, page->len) < 0 || close(fd) < 0 || pipe(pipefd) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        execl(PYTHON, PYTHON, "-c", script, path, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    char chunk[4096];
    ssize_t n;
    while ((n = read(pipefd[0], chunk, sizeof chunk)) > 0)
        buf_append(out, chunk, (size_t)n);
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    unlink(path);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void build_page(struct buf *page)
{
    struct watch_prom p;
    watch_prom_init(&p, page);
    watch_prom_family(&p, "tend_cpu_percent", WATCH_PROM_GAUGE,
                      "System CPU use in percent of all cores");
    watch_prom_sample(&p, NULL, 0, 12.5);
    const struct watch_label odd[] = {{"mount", "C:\\data \"big\"\nline2"}, {"fs", "ext4"}};
    watch_prom_family(&p, "tend_disk_used_percent", WATCH_PROM_GAUGE,
                      "Disk use\\n with a backslash\nand a newline");
    watch_prom_sample(&p, odd, 2, 85.25);
    const struct watch_label utf8[] = {{"mount", "/données/日本"}, {"fs", "xfs"}};
    watch_prom_sample(&p, utf8, 2, 0.1);
    const struct watch_label api0[] = {{"app", "api"}, {"instance", "0"}};
    watch_prom_family(&p, "tend_app_restarts_total", WATCH_PROM_COUNTER,
                      "Restarts of each instance since the daemon started");
    watch_prom_sample(&p, api0, 2, 3);
    watch_prom_family(&p, "tend_special_values", WATCH_PROM_GAUGE, "Edge values");
    const struct watch_label k1[] = {{"k", "nan"}}, k2[] = {{"k", "inf"}}, k3[] = {{"k", "big"}};
    watch_prom_sample(&p, k1, 1, NAN);
    watch_prom_sample(&p, k2, 1, -INFINITY);
    watch_prom_sample(&p, k3, 1, 1e300);
    static const double le[] = {0.005, 0.01, 0.1, 1, 10};
    static const uint64_t counts[] = {2, 0, 5, 1, 0, 3}; /* 3 slower than 10 s */
    const struct watch_label app[] = {{"app", "api"}};
    watch_prom_family(&p, "tend_http_request_duration_seconds", WATCH_PROM_HISTOGRAM,
                      "Request latency from the access log");
    watch_prom_histogram(&p, app, 1, le, counts, 5, 42.125);
    watch_prom_histogram(&p, NULL, 0, le, counts, 0, 0); /* no bounds at all: +Inf alone */
    CHECK_INT(watch_prom_finish(&p), 0);
}

TEST(real_parser_reads_back_what_we_wrote)
{
    struct buf page = {0}, out = {0};
    build_page(&page);
    if (parse_page(&page, &out) < 0) {
        UNIT_FAIL("%s could not parse (is python3-prometheus-client installed? "
                  "scripts/deps.sh installs it):\n%s",
                  PYTHON, out.ptr ? out.ptr : "");
        goto out;
    }
    CHECK_STR(
        out.ptr,
        "F tend_cpu_percent gauge \"System CPU use in percent of all cores\"\n"
        "S tend_cpu_percent {} 12.5\n"
        "F tend_disk_used_percent gauge \"Disk use\\\\n with a backslash\\nand a newline\"\n"
        "S tend_disk_used_percent {\"fs\": \"ext4\", \"mount\": \"C:\\\\data \\\"big\\\"\\nline2\"}"
        " 85.25\n"
        "S tend_disk_used_percent {\"fs\": \"xfs\", \"mount\": "
        "\"/donn\\u00e9es/\\u65e5\\u672c\"} 0.1\n"
        "F tend_app_restarts counter \"Restarts of each instance since the daemon started\"\n"
        "S tend_app_restarts_total {\"app\": \"api\", \"instance\": \"0\"} 3.0\n"
        "F tend_special_values gauge \"Edge values\"\n"
        "S tend_special_values {\"k\": \"nan\"} nan\n"
        "S tend_special_values {\"k\": \"inf\"} -inf\n"
        "S tend_special_values {\"k\": \"big\"} 1e+300\n"
        "F tend_http_request_duration_seconds histogram \"Request latency from the access log\"\n"
        "S tend_http_request_duration_seconds_bucket {\"app\": \"api\", \"le\": \"0.005\"} 2.0\n"
        "S tend_http_request_duration_seconds_bucket {\"app\": \"api\", \"le\": \"0.01\"} 2.0\n"
        "S tend_http_request_duration_seconds_bucket {\"app\": \"api\", \"le\": \"0.1\"} 7.0\n"
        "S tend_http_request_duration_seconds_bucket {\"app\": \"api\", \"le\": \"1\"} 8.0\n"
        "S tend_http_request_duration_seconds_bucket {\"app\": \"api\", \"le\": \"10\"} 8.0\n"
        "S tend_http_request_duration_seconds_bucket {\"app\": \"api\", \"le\": \"+Inf\"} 11.0\n"
        "S tend_http_request_duration_seconds_sum {\"app\": \"api\"} 42.125\n"
        "S tend_http_request_duration_seconds_count {\"app\": \"api\"} 11.0\n"
        "S tend_http_request_duration_seconds_bucket {\"le\": \"+Inf\"} 2.0\n"
        "S tend_http_request_duration_seconds_sum {} 0.0\n"
        "S tend_http_request_duration_seconds_count {} 2.0\n");
out:
    buf_fini(&page);
    buf_fini(&out);
}

TEST(exact_text_of_one_family)
{
    struct buf page = {0};
    struct watch_prom p;
    watch_prom_init(&p, &page);
    const struct watch_label l[] = {{"path", "a\\b\"c\nd"}};
    watch_prom_family(&p, "x", WATCH_PROM_GAUGE, "h\\i\nj \"k\"");
    watch_prom_sample(&p, l, 1, 0.1);
    watch_prom_sample(&p, NULL, 0, 1234567);
    CHECK_INT(watch_prom_finish(&p), 0);
    CHECK_STR(page.ptr, "# HELP x h\\\\i\\nj \"k\"\n"
                        "# TYPE x gauge\n"
                        "x{path=\"a\\\\b\\\"c\\nd\"} 0.1\n"
                        "x 1234567\n");
    buf_fini(&page);
}

TEST(names_are_validated)
{
    CHECK(watch_prom_name_ok("tend_cpu_percent"));
    CHECK(watch_prom_name_ok("job:rate5m"));
    CHECK(watch_prom_name_ok("_x"));
    CHECK(!watch_prom_name_ok("9lives"));
    CHECK(!watch_prom_name_ok("cpu-percent"));
    CHECK(!watch_prom_name_ok("cpu percent"));
    CHECK(!watch_prom_name_ok(""));
    CHECK(watch_prom_label_ok("instance"));
    CHECK(!watch_prom_label_ok("__name__"));
    CHECK(!watch_prom_label_ok("a:b"));
    CHECK(!watch_prom_label_ok("1a"));
}

/* Each bad call: -TE_INVALID, nothing written by it, and every later call refused too. */
TEST(errors_stick_and_write_nothing)
{
    static const double le[] = {1, 0.5};
    static const uint64_t counts[] = {1, 1, 1};
    const struct watch_label le_label[] = {{"le", "1"}};
    const struct watch_label twice[] = {{"a", "1"}, {"a", "2"}};
    const struct watch_label bad[] = {{"bad-name", "1"}};
    for (int c = 0; c < 7; c++) {
        struct buf page = {0};
        struct watch_prom p;
        watch_prom_init(&p, &page);
        int rc = 0;
        if (c == 0)
            rc = watch_prom_sample(&p, NULL, 0, 1); /* no family yet */
        else if (c == 1)
            rc = watch_prom_family(&p, "bad name", WATCH_PROM_GAUGE, "h");
        if (c >= 2) {
            watch_prom_family(&p, "g", c <= 4 ? WATCH_PROM_GAUGE : WATCH_PROM_HISTOGRAM, "h");
            buf_reset(&page);
        }
        if (c == 2)
            rc = watch_prom_family(&p, "g", WATCH_PROM_GAUGE, "again");
        else if (c == 3)
            rc = watch_prom_sample(&p, twice, 2, 1);
        else if (c == 4)
            rc = watch_prom_sample(&p, bad, 1, 1);
        else if (c == 5)
            rc = watch_prom_histogram(&p, le_label, 1, le, counts, 1, 0);
        else if (c == 6)
            rc = watch_prom_histogram(&p, NULL, 0, le, counts, 2, 0);
        if (rc != -TE_INVALID)
            UNIT_FAIL("case %d: rc %d, expected -TE_INVALID", c, rc);
        if (page.len)
            UNIT_FAIL("case %d wrote \"%s\"", c, page.ptr);
        CHECK_INT(watch_prom_family(&p, "later", WATCH_PROM_GAUGE, "h"), -TE_INVALID);
        CHECK_INT(page.len, 0);
        CHECK_INT(watch_prom_finish(&p), -TE_INVALID);
        buf_fini(&page);
    }
}

TEST(full_buffer_is_reported)
{
    struct buf page;
    buf_init(&page, 40);
    struct watch_prom p;
    watch_prom_init(&p, &page);
    watch_prom_family(&p, "tend_cpu_percent", WATCH_PROM_GAUGE, "System CPU use in percent");
    watch_prom_sample(&p, NULL, 0, 1);
    CHECK_INT(watch_prom_finish(&p), -TE_TOOBIG);
    buf_fini(&page);
}

TEST(values_read_back_exactly)
{
    static const double v[] = {0, -0.5, 0.1, 1.0 / 3, 123456789012345.0, 6.02e23, 5e-324};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char s[32];
        watch_prom_value(s, sizeof s, v[i]);
        if (strtod(s, NULL) != v[i])
            UNIT_FAIL("%s does not read back as %.17g", s, v[i]);
    }
    char s[32];
    watch_prom_value(s, sizeof s, 0.1);
    CHECK_STR(s, "0.1");
    watch_prom_value(s, sizeof s, INFINITY);
    CHECK_STR(s, "+Inf");
    watch_prom_value(s, sizeof s, NAN);
    CHECK_STR(s, "NaN");
}

TEST(series_page_reads_back)
{
    struct watch_series_set *set = watch_series_new(5000, 0);
    const int64_t t = 1795435200000LL;
    const struct watch_label api0[] = {{"app", "api"}, {"instance", "0"}};
    const struct watch_label api1[] = {{"app", "api"}, {"instance", "1"}};
    const struct watch_label data[] = {{"mount", "/data"}};
    watch_series_put(set, watch_series_get(set, WATCH_APP_CPU, api1, 2), t - 60000, 99); /* stale */
    watch_series_put(set, watch_series_get(set, WATCH_APP_CPU, api0, 2), t, 12.5);
    watch_series_put(set, watch_series_get(set, WATCH_DISK, data, 1), t, 86);
    watch_series_put(set, watch_series_get(set, WATCH_CPU, NULL, 0), t - 5000, 40);
    watch_series_put(set, watch_series_get(set, WATCH_CPU, NULL, 0), t, 41);
    struct buf page = {0}, out = {0};
    struct watch_prom p;
    watch_prom_init(&p, &page);
    CHECK_INT(watch_prom_series(&p, set, t, 15000), 0);
    CHECK_INT(watch_prom_finish(&p), 0);
    if (parse_page(&page, &out) < 0)
        UNIT_FAIL("the parser failed:\n%s", out.ptr ? out.ptr : "");
    else
        CHECK_STR(out.ptr,
                  "F tend_cpu_percent gauge \"CPU use of the machine, percent of all cores\"\n"
                  "S tend_cpu_percent {} 41.0\n"
                  "F tend_disk_used_percent gauge \"Disk space used, percent (as df shows it)\"\n"
                  "S tend_disk_used_percent {\"mount\": \"/data\"} 86.0\n"
                  "F tend_app_cpu_percent gauge \"CPU use of an instance's process tree, "
                  "percent of one core\"\n"
                  "S tend_app_cpu_percent {\"app\": \"api\", \"instance\": \"0\"} 12.5\n");
    buf_fini(&page);
    buf_fini(&out);
    watch_series_free(set);
}

int main(void)
{
    RUN(real_parser_reads_back_what_we_wrote);
    RUN(exact_text_of_one_family);
    RUN(names_are_validated);
    RUN(errors_stick_and_write_nothing);
    RUN(full_buffer_is_reported);
    RUN(values_read_back_exactly);
    RUN(series_page_reads_back);
    return unit_done();
}
