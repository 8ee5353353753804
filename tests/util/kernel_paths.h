/* What the math suites share: forcing each kernel path in turn (a loop test over
 * KP_NPATHS) and a small seeded generator for operands. */
#ifndef DP_TEST_KERNEL_PATHS_H
#define DP_TEST_KERNEL_PATHS_H
#include <stdint.h>

extern const char *const KP_PATHS[];
enum { KP_NPATHS = 3 };

/* Forces path p ("portable", "avx2", "avx512"); 0 when this CPU or build cannot run it (the
 * test then checks nothing). */
int kp_use_path(int p);

/* xorshift64, uniform in [-1, 1). */
float kp_frand(uint64_t *state);

#endif
