/* Test-only setters (see testhooks.h). Atomic, so a test thread may set one while a worker
 * reads it without a data race. */
#include "testhooks.h"

#include <stdatomic.h>
#include <stddef.h>

static _Atomic(const char *) g_cgroup_root;

void dp_testhook_set_cgroup_root(const char *root)
{
    atomic_store(&g_cgroup_root, root && *root ? root : NULL);
}

const char *dp_testhook_cgroup_root(void) { return atomic_load(&g_cgroup_root); }

static _Atomic(dp_testhook_worker_fn) g_worker_probe;

void dp_testhook_set_worker_probe(dp_testhook_worker_fn fn) { atomic_store(&g_worker_probe, fn); }

dp_testhook_worker_fn dp_testhook_worker_probe(void) { return atomic_load(&g_worker_probe); }
