/* `dpmlp topo`: the topology this process sees and where each worker would be pinned. */
#include <stdio.h>

#include "commands.h"
#include "common.h"

int cmd_topo(int argc, char **argv)
{
    const char *cmd = "topo";
    dp_opts o;
    dp_error err;
    int rc = cli_parse(cmd, argc, argv, DP_TOPO_OPTS, &o);
    if (rc) return rc;
    if (dp_opts_get(&o, "help")) {
        fputs("usage: dpmlp topo [--threads T] [--bind compact|spread|none]\n"
              "The hwloc topology this process sees (HWLOC_SYNTHETIC and HWLOC_XMLFILE are\n"
              "honoured) and the core each worker would be pinned to.\n",
              stdout);
        return 0;
    }
    char why[256];
    int threads;
    dp_bind bind;
    if ((rc = cli_threads(cmd, &o, &threads, why, sizeof why))) return rc;
    if ((rc = cli_bind(cmd, &o, 1, &bind))) return rc;
    printf("workers: %d (%s)\n", threads, why);
    if (dp_topo_print(threads, bind, stdout, &err) != DP_OK) return cli_fail(&err);
    return 0;
}
