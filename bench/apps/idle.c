/* bench/apps/idle.c: the supervised app of the memory, status, start and idle-CPU figures.
 *
 * It does nothing for a day and exits 0. argv[1] is a tag ("b100-17") that the benchmark
 * counts with pgrep to see when every instance is running; the program ignores it. Not a
 * shell, not Node: the figures compare the managers, not their apps. */
#include <unistd.h>

int main(void)
{
    for (int i = 0; i < 24; i++)
        sleep(3600);
    return 0;
}
