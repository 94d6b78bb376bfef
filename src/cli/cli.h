/* cli/cli.h: the command-line verbs (`tend up`, `tend status`, ...).
 *
 * The CLI is a thin client of the HTTP API (docs/api.md) served by the daemon on
 * $TEND_HOME/tend.sock ("One API, two doors"): it parses arguments, makes one or a few requests,
 * and renders the answers as tables or raw JSON. Verbs that need the daemon start it when it is
 * not running (like PM2). Only main.c calls in here; docs/cli.md documents every verb. */
#ifndef TEND_CLI_H
#define TEND_CLI_H

/* Run one command line (argv[0] is the program name). Returns the process exit status:
 * 0 ok, 1 failed, 2 usage error (STYLE.md 4). Prints to stdout/stderr; never calls exit(). */
int cli_main(int argc, char **argv);

#endif
