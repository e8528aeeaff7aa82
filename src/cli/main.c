/* cluster-whisperer — dispatch to a subcommand. Invoked as `cw-serve`
 * (argv[0] basename), it means `cluster-whisperer serve`. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    { "serve",    cw_cmd_serve,    "receive the controller's sync POSTs and keep Chroma in step" },
    { "sync",     cw_cmd_sync,     "push a payload file through the same pipeline, without HTTP" },
    { "search",   cw_cmd_search,   "print the instances nearest to a query (what the agent finds)" },
    { "validate", cw_cmd_validate, "check a payload file with the generated validator" },
    { "journal",  cw_cmd_journal,  "inspect serve's journal: status, dead letters, requeue" },
    { "mcp",      cw_cmd_mcp,      "Model Context Protocol server on stdio: search tools for an agent" },
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: cluster-whisperer COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\n`cluster-whisperer COMMAND --help` describes a command's options.\n"
                 "`cw-serve` is the same program and means `cluster-whisperer serve`.\n"
                 "Exit codes: 0 ok, 1 failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    const char *self = strrchr(argv[0], '/');
    self = self != NULL ? self + 1 : argv[0];
    if (strcmp(self, "cw-serve") == 0)
        return cw_cmd_serve(argc, argv);

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("cluster-whisperer %s\n", CW_VERSION);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cluster-whisperer: unknown command '%s' (see --help)\n", argv[1]);
    return 2;
}
