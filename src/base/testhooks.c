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
