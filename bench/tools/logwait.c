/* bench/tools/logwait.c: waits until a manager has put an app's output into its log file.
 *
 * Usage: logwait LOGFILE STAMPFILE EXPECTED_BYTES STALL_MS TIMEOUT_MS
 * Polls the log file's size every millisecond (a stat, cheap next to the work measured) and
 * remembers when it last grew. It is done when the size reaches EXPECTED_BYTES (when known,
 * i.e. > 0), or when the app has written its "E" stamp and the file has not grown for
 * STALL_MS (a manager that lost lines never reaches the expected size), or after TIMEOUT_MS.
 * Prints one line of key=value: status, app_start_ns and app_end_ns (from STAMPFILE, written
 * by apps/lines), last_growth_ns (CLOCK_MONOTONIC, the same clock), size, shrunk (times the
 * file got smaller: rotation or truncation, which would make the figure wrong). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Reads the "S" and "E" stamps written so far; a missing file or stamp stays 0. */
static void read_stamps(const char *path, long long *start, long long *end)
{
    FILE *f = fopen(path, "r");
    char what;
    long long ns;
    if (!f)
        return;
    while (fscanf(f, " %c %lld", &what, &ns) == 2) {
        if (what == 'S')
            *start = ns;
        else if (what == 'E')
            *end = ns;
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: logwait LOGFILE STAMPFILE EXPECTED_BYTES STALL_MS TIMEOUT_MS\n");
        return 2;
    }
    long long expected = strtoll(argv[3], NULL, 10);
    long long stall_ns = strtoll(argv[4], NULL, 10) * 1000000LL;
    long long deadline = now_ns() + strtoll(argv[5], NULL, 10) * 1000000LL;
    long long size = 0, last_growth = 0, app_start = 0, app_end = 0;
    int shrunk = 0;
    const char *status = "timeout";
    struct timespec tick = {0, 1000000L};
    for (;;) {
        struct stat st;
        long long t = now_ns();
        long long cur = stat(argv[1], &st) == 0 ? (long long)st.st_size : 0;
        if (cur != size) {
            if (cur < size)
                shrunk++;
            size = cur;
            last_growth = t;
        }
        if (!app_end)
            read_stamps(argv[2], &app_start, &app_end);
        if (expected > 0 && size >= expected) {
            status = "complete";
            break;
        }
        if (app_end && t - app_end >= stall_ns && t - last_growth >= stall_ns) {
            status = "stalled";
            break;
        }
        if (t >= deadline)
            break;
        nanosleep(&tick, NULL);
    }
    printf("status=%s app_start_ns=%lld app_end_ns=%lld last_growth_ns=%lld size=%lld shrunk=%d\n",
           status, app_start, app_end, last_growth, size, shrunk);
    return 0;
}
