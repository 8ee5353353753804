/* cgroup CPU quota: how many CPUs' worth of time the kernel lets this process use
 * (cgroup v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us). Used by dp_topo to cap the
 * default thread count; split out so tests can point it at fake cgroup trees. */
#ifndef DP_CGROUP_H
#define DP_CGROUP_H
#include <stddef.h>

/* ceil(quota / period) of the tightest quota on this process's cgroup path (a quota on a
 * parent cgroup binds its children too), or 0 when no quota is set or none can be read.
 * root: the cgroup mount point; NULL means the test hook's (testhooks.h), else /sys/fs/cgroup.
 * self_cgroup: the /proc/self/cgroup file to read the process's cgroup from; NULL means
 * /proc/self/cgroup. detail (may be NULL) gets e.g. "cgroup cpu.max quota 200000/100000". */
int dp_cgroup_cpu_limit(const char *root, const char *self_cgroup, char *detail, size_t len);

#endif
