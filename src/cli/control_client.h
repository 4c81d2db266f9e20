/* `ftharness provision|status|sites|skus|abort|reload|records`: a client of ftharnessd's
 * control socket (docs/control-api.md), with human and --json output. */
#ifndef FTHARNESS_CLI_CONTROL_CLIENT_H
#define FTHARNESS_CLI_CONTROL_CLIENT_H

#include <stdbool.h>

/* Whether `verb` is one of the client's commands. */
bool control_client_verb(const char *verb);

/* Runs it (argv[0] is the verb); returns the exit status. */
int control_client_main(int argc, char **argv);

#endif
