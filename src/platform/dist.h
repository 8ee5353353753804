/* Process-level data parallelism (MPI). `make MPI=1` builds dist_mpi.c against Open MPI; the
 * default build links dist_single.c, its single-process twin, so no other file needs #ifdefs.
 * Only worker 0 of each rank calls these (MPI_THREAD_FUNNELED). Init, rank, size, the
 * same-everywhere check and abort are public (include/dpmlp.h): the CLI calls them. */
#ifndef DP_DIST_H
#define DP_DIST_H
#include <stddef.h>
#include <stdint.h>

#include "dpmlp.h"

/* "Open MPI 4.1.4" / "none (single process)" for --version. */
const char *dp_dist_describe(void);

/* In-place sum over all ranks (MPI_Allreduce, MPI_SUM). No-op with one rank. */
dp_status dp_dist_allreduce_floats(float *buf, size_t n, dp_error *err);
dp_status dp_dist_allreduce_doubles(double *buf, size_t n, dp_error *err);
/* Smallest value over all ranks: collective success flags (1 = ok). */
int dp_dist_all_ok(int ok);
/* Seconds spent inside allreduce calls since the last call to this function. */
double dp_dist_take_allreduce_seconds(void);

#endif
