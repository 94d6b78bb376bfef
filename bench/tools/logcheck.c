/* bench/tools/logcheck.c: counts which of apps/lines' numbered lines a log file holds intact.
 *
 * Usage: logcheck LOGFILE N [SAMPLES]
 * A line is intact when it ends in exactly the 99 bytes apps/lines wrote for its number
 * ("seq=NNNNNNNNNN " + 84 letters), optionally after a prefix (a timestamp) that holds no
 * "seq=". Every other non-empty line is torn: a line cut in two, two lines run together, or
 * a timestamp put inside a line. Prints key=value: lines, intact (numbers seen intact exactly
 * once), missing (numbers never seen intact), duplicated (seen intact more than once), torn,
 * prefixed (intact lines that carry a prefix, i.e. a timestamp). With SAMPLES, the first 20
 * torn lines (with their line numbers) are written there, to show how they were torn. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BODY_LEN 99 /* "seq=" .. last letter, without the newline */

static int body_ok(const char *p, size_t len, unsigned long n, unsigned long *seq)
{
    if (len != BODY_LEN || memcmp(p, "seq=", 4) != 0 || p[14] != ' ')
        return 0;
    unsigned long s = 0;
    for (int i = 4; i < 14; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        s = s * 10 + (unsigned long)(p[i] - '0');
    }
    if (s >= n)
        return 0;
    for (int i = 15; i < BODY_LEN; i++)
        if (p[i] != (char)('a' + (s + (unsigned long)i) % 26))
            return 0;
    *seq = s;
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: logcheck LOGFILE N [SAMPLES]\n");
        return 2;
    }
    unsigned long n = strtoul(argv[2], NULL, 10);
    unsigned char *seen = calloc(n ? n : 1, 1);
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (!seen || fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    const char *data = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : "";
    if (data == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    FILE *samples = argc == 4 ? fopen(argv[3], "w") : NULL;
    unsigned long lines = 0, torn = 0, prefixed = 0;
    const char *p = data, *end = data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t len = (size_t)(eol - p);
        lines++;
        /* The body is the line's last 99 bytes; the prefix before it must hold no "seq=". */
        unsigned long seq;
        if (len >= BODY_LEN && body_ok(eol - BODY_LEN, BODY_LEN, n, &seq) &&
            !memmem(p, len - BODY_LEN, "seq=", 4)) {
            if (seen[seq] < 255)
                seen[seq]++;
            if (len > BODY_LEN)
                prefixed++;
        } else if (len > 0) {
            if (samples && torn < 20)
                fprintf(samples, "line %lu: %.*s\n", lines, (int)(len > 300 ? 300 : len), p);
            torn++;
        }
        p = eol + 1;
    }
    unsigned long once = 0, missing = 0, dup = 0;
    for (unsigned long i = 0; i < n; i++) {
        if (seen[i] == 0)
            missing++;
        else if (seen[i] == 1)
            once++;
        else
            dup++;
    }
    if (samples && fclose(samples) != 0)
        perror(argv[3]);
    printf("lines=%lu intact=%lu missing=%lu duplicated=%lu torn=%lu prefixed=%lu\n", lines, once,
           missing, dup, torn, prefixed);
    return 0;
}
