/* tests/unit/core/test_util.c: the shared macros and aborting allocators. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "unit.h"

struct outer {
    int a;
    double b;
    char member;
};

TEST(macros)
{
    struct outer o;
    CHECK(container_of(&o.member, struct outer, member) == &o);
    int arr[7];
    CHECK_INT(ARRAY_LEN(arr), 7);
    CHECK_INT(MIN(3, 5), 3);
    CHECK_INT(MAX(3, 5), 5);
}

TEST(alloc)
{
    char *p = xmalloc(0);
    CHECK(p != NULL);
    free(p);
    int *z = xcalloc(16, sizeof *z);
    int sum = 0;
    for (int i = 0; i < 16; i++)
        sum += z[i];
    CHECK_INT(sum, 0);
    z = xrealloc(z, 1000 * sizeof *z);
    z[999] = 7;
    CHECK_INT(z[999], 7);
    free(z);
}

/* ASan answers a huge malloc with its own report instead of NULL: skip the OOM case there. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Out of memory aborts with a message rather than returning NULL; run it in a child. */
TEST(oom_aborts)
{
#ifdef UNDER_ASAN
    return;
#endif
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        void *volatile p = xmalloc(SIZE_MAX / 2);
        (void)p;
        _exit(0);
    }
    close(fds[1]);
    char msg[200] = "";
    ssize_t n = read(fds[0], msg, sizeof msg - 1);
    if (n > 0)
        msg[n] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(msg, "tend: out of memory") != NULL);
}

int main(void)
{
    RUN(macros);
    RUN(alloc);
    RUN(oom_aborts);
    return unit_done();
}
