/* Test-only setters: knobs that let a test point the library at a fake world, set in code by
 * the test instead of environment variables read deep inside the library (which a user could
 * set by accident and which race with other threads' getenv). The defaults are what a real
 * run uses; nothing but tests calls the setters. Variables a user may set on purpose
 * (DPMLP_KERNELS, OMP_NUM_THREADS, HWLOC_*) stay environment variables, and so does
 * DPMLP_FAULT_WRITE, which the end-to-end checkpoint test sets on the real binary. */
#ifndef DP_TESTHOOKS_H
#define DP_TESTHOOKS_H

/* The cgroup mount point dp_cgroup_cpu_limit reads when its caller passes none (NULL or ""
 * restores /sys/fs/cgroup). The string is not copied: it must outlive its use. */
void dp_testhook_set_cgroup_root(const char *root);
/* The root set above, or NULL when none is. */
const char *dp_testhook_cgroup_root(void);

/* Called by every training and evaluation worker as it leaves (before it puts the host's FP
 * mode back) with whether it ran with FTZ and DAZ set; NULL (the default) calls nothing. */
typedef void (*dp_testhook_worker_fn)(int worker, int flushing);
void dp_testhook_set_worker_probe(dp_testhook_worker_fn fn);
dp_testhook_worker_fn dp_testhook_worker_probe(void);

#endif
