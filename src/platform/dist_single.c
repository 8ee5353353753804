/* Single-process twin of dist_mpi.c: the default build (no MPI) is rank 0 of 1, so train.c and
 * the CLI call the same dp_dist_* functions with no #ifdefs. Every collective is the identity
 * on one rank; abort returns (the caller exits). */
#include "dist.h"

#include <stdlib.h>

dp_status dp_dist_init(int *argc, char ***argv, dp_error *err)
{
    (void)argc;
    (void)argv;
    (void)err;
    return DP_OK;
}

void dp_dist_finalize(void) {}
int dp_dist_rank(void) { return 0; }
int dp_dist_size(void) { return 1; }
const char *dp_dist_describe(void) { return "none (single process)"; }

dp_status dp_dist_allreduce_floats(float *buf, size_t n, dp_error *err)
{
    (void)buf;
    (void)n;
    (void)err;
    return DP_OK;
}

dp_status dp_dist_allreduce_doubles(double *buf, size_t n, dp_error *err)
{
    (void)buf;
    (void)n;
    (void)err;
    return DP_OK;
}

int dp_dist_all_ok(int ok) { return ok; }

int dp_dist_same_everywhere(const void *bytes, size_t len)
{
    (void)bytes;
    (void)len;
    return 1;
}

void dp_dist_abort(int code) { (void)code; }
double dp_dist_take_allreduce_seconds(void) { return 0.0; }
