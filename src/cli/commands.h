/* The subcommands of `cluster-whisperer`. Each takes the arguments after
 * the command name (argv[0] is the command name) and returns the process
 * exit code: 0 ok, 1 failure, 2 usage error. Each prints its own --help. */
#ifndef CW_COMMANDS_H
#define CW_COMMANDS_H

int cw_cmd_validate(int argc, char **argv);
int cw_cmd_serve(int argc, char **argv);
int cw_cmd_sync(int argc, char **argv);
int cw_cmd_search(int argc, char **argv);
int cw_cmd_journal(int argc, char **argv);
int cw_cmd_mcp(int argc, char **argv);

#endif
