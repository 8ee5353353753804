/* FTZ/DAZ on x86 through MXCSR (fpmode.h). Only those two bits change: rounding mode and the
 * exception masks stay the host's, so results differ from the unflushed ones only where a
 * denormal was involved, and identically on every thread (determinism holds). */
#include "fpmode.h"

#if defined(__SSE2__) || defined(__x86_64__)
#include <xmmintrin.h>

#define DP_FPMODE_BITS (0x8000u /* FTZ */ | 0x0040u /* DAZ */)

unsigned dp_fpmode_enter(void)
{
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | DP_FPMODE_BITS);
    return saved;
}

void dp_fpmode_restore(unsigned saved) { _mm_setcsr(saved); }

int dp_fpmode_flushing(void) { return (_mm_getcsr() & DP_FPMODE_BITS) == DP_FPMODE_BITS; }

#else

unsigned dp_fpmode_enter(void) { return 0; }

void dp_fpmode_restore(unsigned saved) { (void)saved; }

int dp_fpmode_flushing(void) { return 0; }

#endif
