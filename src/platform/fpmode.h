/* The floating-point mode compute threads run in: flush-to-zero and denormals-are-zero, the
 * way DL frameworks' CPU kernels run (denormal optimizer moments cost 5x in the update on
 * Intel cores). x86 only (MXCSR bits 15 and 6); elsewhere every call is a no-op. */
#ifndef DP_FPMODE_H
#define DP_FPMODE_H

/* Sets FTZ and DAZ on the calling thread; returns its previous mode for dp_fpmode_restore. */
unsigned dp_fpmode_enter(void);
/* Puts back the mode dp_fpmode_enter returned (the host's mode, on the calling thread). */
void dp_fpmode_restore(unsigned saved);
/* 1 when the calling thread has both FTZ and DAZ set (always 0 off x86): for tests. */
int dp_fpmode_flushing(void);

#endif
