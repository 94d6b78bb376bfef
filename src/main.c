/* main.c: argv -> `tend daemon`, the keeper, or a CLI verb; nothing else (STYLE.md 1).
 *
 * `tend __keeper SOCK` is the per-daemon pipe holder (supervise/keeper.c) started by the daemon
 * itself; its name starts with "__" so that no user types it and `tend help` does not list it. */
#include <string.h>

#include "cli/cli.h"
#include "daemon.h"
#include "supervise/supervise.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "daemon") == 0)
        return daemon_main(argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "__keeper") == 0)
        return sup_keeper_main(argv[2]);
    return cli_main(argc, argv);
}
