/* bench/apps/crasher.c: the app of the crash-to-restarted figure.
 *
 * Usage: crasher STAMPFILE RUN_MS. Appends "S <ns>" when it starts, sleeps RUN_MS, appends
 * "E <ns>" and exits 1. Times are CLOCK_MONOTONIC, which every process on the machine shares,
 * so start(n+1) - exit(n) is the time the manager took to notice the exit and start the next
 * run. Each stamp is one O_APPEND write, so stamps from consecutive runs never interleave. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void stamp(int fd, char what)
{
    struct timespec ts;
    char line[64];
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int n = snprintf(line, sizeof line, "%c %lld\n", what,
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (write(fd, line, (size_t)n) != n)
        _exit(3);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: crasher STAMPFILE RUN_MS\n");
        return 2;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return 3;
    stamp(fd, 'S');
    long run_ms = strtol(argv[2], NULL, 10);
    struct timespec d = {run_ms / 1000, (run_ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
    stamp(fd, 'E');
    _exit(1);
}
