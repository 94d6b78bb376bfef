/* tests/unit/supervise/test_proc_fds.c: the open-fd count of a process, as the sampling pass
 * reads it for `tend metrics` (one stat() of /proc/PID/fd on Linux >= 6.2, else a readdir). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervise/supervise_int.h"
#include "unit.h"

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *de; d && (de = readdir(d));)
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n - 1; /* the directory's own fd */
}

TEST(open_fds_of_a_process)
{
    int before = sup__proc_fds(getpid());
    CHECK_INT(before, count_fds());
    int fds[3];
    for (int i = 0; i < 3; i++)
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK_INT(sup__proc_fds(getpid()), before + 3);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    CHECK_INT(sup__proc_fds(gone), -ENOENT);
}

int main(void)
{
    RUN(open_fds_of_a_process);
    return unit_done();
}
