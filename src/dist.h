/* Process-level data parallelism (MPI). `make MPI=1` builds dist.c against Open MPI; the
 * default build links dist_single.c, its single-process twin, so no other file needs #ifdefs.
 * Only worker 0 of each rank calls these (MPI_THREAD_FUNNELED). */
#ifndef DP_DIST_H
#define DP_DIST_H
#include <stddef.h>
#include <stdint.h>

#include "dpmlp.h"

/* MPI_Init_thread with FUNNELED (checked: refuses a library that offers less). Safe to call
 * in the single-process build (rank 0 of 1). */
dp_status dp_dist_init(int *argc, char ***argv, dp_error *err);
void dp_dist_finalize(void);
int dp_dist_rank(void);
int dp_dist_size(void);
/* "Open MPI 4.1.4" / "none (single process)" for --version. */
const char *dp_dist_describe(void);

/* In-place sum over all ranks (MPI_Allreduce, MPI_SUM). No-op with one rank. */
dp_status dp_dist_allreduce_floats(float *buf, size_t n, dp_error *err);
dp_status dp_dist_allreduce_doubles(double *buf, size_t n, dp_error *err);
/* Smallest value over all ranks: collective success flags (1 = ok). */
int dp_dist_all_ok(int ok);
/* Do all ranks hold the same bytes? (Compares a 64-bit hash; collective.) */
int dp_dist_same_everywhere(const void *bytes, size_t len);
/* Ends the whole job with this exit code (MPI_Abort); exit(code) with one rank. */
void dp_dist_abort(int code);
/* Seconds spent inside allreduce calls since the last call to this function. */
double dp_dist_take_allreduce_seconds(void);

#endif
