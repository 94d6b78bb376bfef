/* daemon.h: the root object (STYLE.md 1): owns the uv loop and each module's handle, and wires
 * their callbacks to each other. `tend daemon` runs daemon_main() in the foreground. */
#ifndef TEND_DAEMON_H
#define TEND_DAEMON_H

/* Run the daemon in the foreground until SIGTERM/SIGINT or `tend kill`. argv are the words after
 * "daemon" (e.g. --log-level debug). Returns the process exit status. */
int daemon_main(int argc, char **argv);

#endif
