/* bench/tools/alog_bench.c: access-log parsing speed of tend's watch/alog, for bench/alog.sh.
 *
 *   alog_bench gen N FILE [timed]     write N deterministic, realistic lines (combined format,
 *                                     or combined + $request_time $upstream_response_time)
 *   alog_bench parse FORMAT FILE      alog_parse() every line of FILE (mapped in memory)
 *   alog_bench feed FORMAT FILE       the whole path of a tailed file: alog_feed() in 64 KiB
 *                                     chunks, lines split, parsed, routed to 2 apps, counted
 *                                     into windows and histograms
 *
 * parse and feed print "lines=N malformed=M seconds=S cpu_seconds=C lines_per_s=R
 * lines_per_cpu_s=P" (one run; the script repeats). The file is in memory before the clocks
 * start, so disk speed is not measured; CPU time is the figure that holds on a busy machine.
 * It links tend's sources, so bench/alog.sh builds it (-DTEND_ALOG_BENCH -Isrc); built alone,
 * as bench/setup.sh builds every program in tools/, it is a stub that says so. */
#ifndef TEND_ALOG_BENCH
#include <stdio.h>
int main(void)
{
    fputs("alog_bench: build it with bench/alog.sh (it needs tend's sources)\n", stderr);
    return 2;
}
#else
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "watch/alog.h"

static double now_s(clockid_t which)
{
    struct timespec ts;
    clock_gettime(which, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: the same file on every machine. */
static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 0x2545F4914F6CDD1Dull;
}
static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static const char *const agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.44",
    "curl/7.88.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "okhttp/4.12.0",
};
static const char *const paths[] = {
    "/",      "/api/orders",   "/api/orders/", "/api/users/",    "/api/health", "/static/js/app.",
    "/login", "/api/products", "/favicon.ico", "/static/css/m.", "/api/cart",   "/search?q=",
};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int gen(long n, const char *path, int timed)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    long t = 1795435200; /* 2026-11-23 12:00 UTC */
    for (long i = 0; i < n; i++) {
        t += pick(3) == 0; /* about 3 lines per second of log time */
        struct tm tm;
        time_t tt = (time_t)t;
        gmtime_r(&tt, &tm);
        unsigned r = pick(1000), p = pick(sizeof paths / sizeof paths[0]);
        int status = r < 820   ? 200
                     : r < 900 ? 304
                     : r < 950 ? 404
                     : r < 970 ? 302
                     : r < 985 ? 500
                     : r < 995 ? 502
                               : 499;
        const char *method = pick(10) < 8 ? "GET" : "POST";
        char ref[96] = "-";
        if (pick(2))
            snprintf(ref, sizeof ref, "https://www.example.com%s%u", paths[pick(12)], pick(5000));
        fprintf(f,
                "%u.%u.%u.%u - %s [%02d/%s/%d:%02d:%02d:%02d +0000] \"%s %s%u HTTP/1.1\" %d %u "
                "\"%s\" \"%s\"",
                10 + pick(200), pick(256), pick(256), 1 + pick(254), pick(20) ? "-" : "alice",
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                method, paths[p], pick(100000), status, status == 304 ? 0 : pick(60000), ref,
                agents[pick(sizeof agents / sizeof agents[0])]);
        if (timed) {
            unsigned ms = 1 + pick(40) + (pick(20) == 0 ? pick(2000) : 0);
            if (p == 0 || p == 5 || p == 8 || p == 9)
                fprintf(f, " %u.%03u -", ms / 1000, ms % 1000);
            else
                fprintf(f, " %u.%03u %u.%03u", ms / 1000, ms % 1000, (ms - 1) / 1000,
                        (ms - 1) % 1000);
        }
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static int run(const char *mode, const char *format, const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(path);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    const char *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    struct err err = {0};
    unsigned long long lines = 0, bad = 0, sum = 0;
    double t0, t1, c0, c1;
    if (strcmp(mode, "parse") == 0) {
        struct alog_format *f;
        if (alog_format_compile(format, &f, &err) < 0) {
            fprintf(stderr, "alog_bench: %s\n", err.msg);
            return 1;
        }
        struct alog_rec r;
        t0 = now_s(CLOCK_MONOTONIC);
        c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        for (const char *p = map, *end = map + size; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            lines++;
            if (alog_parse(f, p, len, &r) < 0)
                bad++;
            else
                sum += (unsigned)r.status + r.path.len; /* keeps the work from being dropped */
            p += len + 1;
        }
        c1 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        t1 = now_s(CLOCK_MONOTONIC);
        alog_format_free(f);
    } else {
        static const struct alog_route routes[] = {{.app = "api", .location = "/api/"},
                                                   {.app = "web", .location = "/"}};
        struct alog_config cfg = {.path = path, .format = format, .routes = routes, .nroutes = 2};
        struct alog *a;
        if (alog_new(NULL, &cfg, &a, &err) < 0) {
            fprintf(stderr, "alog_bench: %s\n", err.msg);
            return 1;
        }
        t0 = now_s(CLOCK_MONOTONIC);
        c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        for (size_t off = 0; off < size; off += 65536)
            alog_feed(a, map + off, size - off < 65536 ? size - off : 65536);
        c1 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        t1 = now_s(CLOCK_MONOTONIC);
        json_t *j = alog_json(a);
        lines = (unsigned long long)json_integer_value(json_object_get(j, "lines"));
        bad = (unsigned long long)json_integer_value(json_object_get(j, "malformed"));
        json_decref(j);
        alog_free(a);
    }
    printf("lines=%llu malformed=%llu seconds=%.4f cpu_seconds=%.4f lines_per_s=%.0f "
           "lines_per_cpu_s=%.0f check=%llu\n",
           lines, bad, t1 - t0, c1 - c0, (double)lines / (t1 - t0), (double)lines / (c1 - c0),
           sum % 1000);
    munmap((void *)map, size);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "gen") == 0)
        return gen(strtol(argv[2], NULL, 10), argv[3], argc > 4 && strcmp(argv[4], "timed") == 0);
    if (argc == 4 && (strcmp(argv[1], "parse") == 0 || strcmp(argv[1], "feed") == 0))
        return run(argv[1], argv[2], argv[3]);
    fputs("usage: alog_bench gen N FILE [timed] | parse FORMAT FILE | feed FORMAT FILE\n", stderr);
    return 2;
}
#endif
