/* bench/apps/lines.c: the app of the log-capture figures: it writes N numbered lines flat out.
 *
 * Usage: lines N STAMPFILE. Writes "S <ns>" to STAMPFILE, then N lines of exactly 100 bytes
 * to stdout through stdio (fully buffered, as any program's printf to a pipe or a file), then
 * "E <ns>" once the last byte is written, then sleeps (bounded: an hour) until its manager
 * stops it. Times are CLOCK_MONOTONIC. Line `seq` is
 *     "seq=" + seq as 10 digits + " " + 84 letters from seq + "\n"
 * so tools/logcheck can tell, line by line, which arrived intact, which are torn (a prefix
 * or another line mixed into it) and which are missing or doubled. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_LEN 100

static void stamp(const char *path, char what)
{
    struct timespec ts;
    char line[64];
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int n = snprintf(line, sizeof line, "%c %lld\n", what,
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n || close(fd) != 0)
        _exit(3);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: lines N STAMPFILE\n");
        return 2;
    }
    unsigned long n = strtoul(argv[1], NULL, 10);
    char line[LINE_LEN + 1];
    stamp(argv[2], 'S');
    for (unsigned long seq = 0; seq < n; seq++) {
        snprintf(line, sizeof line, "seq=%010lu ", seq);
        for (int i = 15; i < LINE_LEN - 1; i++)
            line[i] = (char)('a' + (seq + (unsigned long)i) % 26);
        line[LINE_LEN - 1] = '\n';
        if (fwrite(line, 1, LINE_LEN, stdout) != LINE_LEN)
            return 4;
    }
    if (fflush(stdout) != 0)
        return 4;
    stamp(argv[2], 'E');
    sleep(3600);
    return 0;
}
