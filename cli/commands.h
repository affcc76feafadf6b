/* The `earlyflow` sub-commands. Each lives in cli/cmd_<name>.c, parses its own
 * options (getopt_long) and returns the process exit status: 0 success,
 * 1 failure (a one-line message was printed to stderr), 2 usage error. */
#ifndef EF_CLI_COMMANDS_H
#define EF_CLI_COMMANDS_H

/* Every command in main.c's table must exist: a missing one fails the link
 * (tests/unit/test_cli.c checks each one answers --help). */
#define EF_CMD(name) int ef_cmd_##name(int argc, char **argv)
EF_CMD(run);
EF_CMD(collect);
EF_CMD(train);
EF_CMD(pretrain);
EF_CMD(eval);
EF_CMD(gen);
EF_CMD(model);
EF_CMD(rules);
#undef EF_CMD

#endif
