/* The dpmlp command line: dispatches to the subcommands (train, eval, predict, topo) and is
 * the one place that ends the process: every command returns its exit code here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "common.h"

static const char MAIN_HELP[] =
    "usage: dpmlp <command> [flags]   (dpmlp <command> --help for its flags)\n"
    "\n"
    "commands\n"
    "  train     train an MLP (data-parallel over pinned threads), save the model\n"
    "  eval      loss and accuracy of a saved model on a test set (JSON on stdout)\n"
    "  predict   one prediction per sample\n"
    "  topo      the topology and where each worker would be pinned\n"
    "  export    a saved model as ONNX, NumPy .npz or CSV for other tools\n"
    "\n"
    "  --version build configuration; --help this text\n";

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        fputs(MAIN_HELP, stderr);
        return DP_EUSAGE;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        fputs(MAIN_HELP, stdout);
        return 0;
    }
    if (!strcmp(c, "--version")) {
        char info[512];
        dp_build_info(info, sizeof info);
        printf("%s\n", info);
        return 0;
    }
    if (!strcmp(c, "train")) return cmd_train(argc, argv);
    if (!strcmp(c, "eval")) return cmd_eval(argc, argv);
    if (!strcmp(c, "predict")) return cmd_predict(argc, argv);
    if (!strcmp(c, "topo")) return cmd_topo(argc, argv);
    if (!strcmp(c, "export")) return cmd_export(argc, argv);
    return cli_usage(NULL, "unknown command '%s'", c);
}

int main(int argc, char **argv)
{
    exit(cli_close_stdout(dispatch(argc, argv)));
}
