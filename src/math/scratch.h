/* Per-thread scratch memory for the GEMM paths' packed panels and strips (private to the
 * kernels room). */
#ifndef DP_SCRATCH_H
#define DP_SCRATCH_H
#include <stddef.h>

/* At least n floats, 64-byte aligned, owned by the calling thread: allocated on its first
 * call there (so the pages are first touched on the core that uses them), grown when a later
 * call asks for more (the old contents are not kept), freed when the thread exits. NULL when
 * out of memory: callers then take their unpacked path. */
float *dp_scratch_floats(size_t n);

#endif
