/* The subcommands main() dispatches to. Each takes the whole argv (argv[1] is its name) and
 * returns the process's exit code. */
#ifndef DP_CLI_COMMANDS_H
#define DP_CLI_COMMANDS_H

int cmd_train(int argc, char **argv);    /* train_cmd.c */
int cmd_eval(int argc, char **argv);     /* eval_cmd.c */
int cmd_predict(int argc, char **argv);  /* eval_cmd.c */
int cmd_topo(int argc, char **argv);     /* topo_cmd.c */
int cmd_export(int argc, char **argv);   /* export_cmd.c */

#endif
