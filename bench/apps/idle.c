/* bench/apps/idle.c: the supervised app of the memory, status, start and idle-CPU figures.
 *
 * Usage: idle TAG [STAMPFILE]. With STAMPFILE it appends "TAG <wall-clock microseconds>" once
 * it runs (one O_APPEND write, so 100 instances never interleave), which tells the start
 * figure when the last app came up without polling /proc. Then it sleeps for a day (bounded)
 * and exits 0. Not a shell, not Node: the figures compare the managers, not their apps. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc == 3) {
        struct timeval tv;
        char line[256];
        gettimeofday(&tv, NULL);
        int n = snprintf(line, sizeof line, "%s %lld\n", argv[1],
                         (long long)tv.tv_sec * 1000000LL + tv.tv_usec);
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (n <= 0 || (size_t)n >= sizeof line || fd < 0 || write(fd, line, (size_t)n) != n ||
            close(fd) != 0)
            return 3;
    }
    for (int i = 0; i < 24; i++)
        sleep(3600);
    return 0;
}
