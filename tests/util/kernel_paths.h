/* What the math suites share: forcing each kernel path in turn (a loop test over
 * KP_NPATHS), each GEMM path and tile config (KP_NGEMM) and a small seeded generator for operands. */
#ifndef DP_TEST_KERNEL_PATHS_H
#define DP_TEST_KERNEL_PATHS_H
#include <stdint.h>

extern const char *const KP_PATHS[];
enum { KP_NPATHS = 3 };

/* Forces path p ("portable", "avx2", "avx512"); 0 when this CPU or build cannot run it (the
 * test then checks nothing). */
int kp_use_path(int p);

/* The GEMM configs a loop test walks: 0 portable, 1 avx2, then avx512 with each tile of
 * dp_gemm_tile_name in turn (KP_NGEMM bounds them; a test checks none is left out). Forces
 * config c; 0 when this CPU or build cannot run it or there is no such tile. */
enum { KP_NGEMM = 8 };
int kp_use_gemm(int c);

/* xorshift64, uniform in [-1, 1). */
float kp_frand(uint64_t *state);

#endif
