/* hwloc: which cores this process may use, how many workers to run by default, where each
 * worker is pinned (compact / spread / none), binding the calling thread, and the report.
 * Works on any hwloc topology: this machine, HWLOC_SYNTHETIC="pack:2 numa:2 core:8 pu:2",
 * or an XML export (HWLOC_XMLFILE), since hwloc reads those variables itself. */
#ifndef DP_TOPO_H
#define DP_TOPO_H
#include <stdio.h>

#include "dpmlp.h"

typedef struct dp_topo dp_topo;

/* Where one worker goes. Indices are hwloc logical indexes, os_pu the OS processor number
 * (-1 everywhere when the policy is none). */
typedef struct dp_slot {
    int pu_os;       /* OS index of the PU the worker is bound to, -1 if unbound */
    int core;        /* logical index of its core, -1 if unbound */
    int package;     /* logical index of its package, -1 if unknown */
    int numa;        /* logical index of its NUMA node, -1 if unknown */
    int smt_sibling; /* 1 when it shares its core with an earlier worker (hyperthread) */
    int oversub;     /* 1 when it shares its PU with an earlier worker */
} dp_slot;

typedef struct dp_plan {
    int n_workers;
    dp_bind policy;
    dp_slot *slots;     /* n_workers entries */
    int oversubscribed; /* more workers than allowed PUs */
    char why[256];      /* one line: why this placement (policy, cores, hyperthreads …) */
} dp_plan;

/* Loads the topology (honouring HWLOC_SYNTHETIC / HWLOC_XMLFILE) restricted to what this
 * process may use. */
dp_status dp_topo_open(dp_topo **out, dp_error *err);
/* Same from an explicit synthetic description (tests) — no environment involved. */
dp_status dp_topo_open_synthetic(const char *description, dp_topo **out, dp_error *err);
void dp_topo_close(dp_topo *t);

int dp_topo_allowed_cores(const dp_topo *t);  /* physical cores with at least one allowed PU */
int dp_topo_allowed_pus(const dp_topo *t);

/* Default worker count: OMP_NUM_THREADS if set and valid, else allowed physical cores capped
 * by a cgroup CPU quota (cpu.max, cgroup v2; cpu.cfs_quota_us v1) where one is set.
 * `why` gets one line saying which rule decided. */
int dp_topo_default_threads(const dp_topo *t, char *why, size_t why_len);

/* Placement of n_workers workers under a policy.
 *  compact: fill one package's cores (first PU of each core) before the next package; once
 *           every allowed core has a worker, the cores' second PUs (hyperthreads) in the same
 *           order; beyond the allowed PUs, wrap around (oversubscription, plan->oversubscribed).
 *  spread:  round-robin over packages, then over NUMA nodes within a package, one core each;
 *           then hyperthreads the same way; then oversubscription.
 *  none:    no binding. */
dp_status dp_topo_plan(const dp_topo *t, int n_workers, dp_bind policy, dp_plan *plan,
                       dp_error *err);
void dp_plan_free(dp_plan *plan);

/* Binds the calling thread to plan->slots[worker]. DP_OK, or a DP_EINTERNAL error whose
 * message the caller prints as a warning before running unbound. No-op for policy none. */
dp_status dp_topo_bind_self(const dp_topo *t, const dp_plan *plan, int worker, dp_error *err);

/* Widens the calling thread to every allowed PU: what an unbound worker must do, since
 * threads inherit their creator's binding (e.g. the one OpenMP gives the initial thread
 * under OMP_PROC_BIND). No-op where the topology is not this system. */
dp_status dp_topo_unbind_self(const dp_topo *t, dp_error *err);
/* The PUs the calling thread may run on, read back from the system, as a list ("0-3,8");
 * "?" where unknown. */
void dp_topo_self_cpus(const dp_topo *t, char *buf, size_t len);

/* The calling thread's binding, saved before it serves as worker 0 and put back afterwards, so
 * a library caller's thread is not left pinned to one PU. restore frees the saved state;
 * both are no-ops (NULL) where the topology is not this system. */
typedef struct dp_binding dp_binding;
dp_binding *dp_topo_binding_save(const dp_topo *t);
void dp_topo_binding_restore(const dp_topo *t, dp_binding *saved);

/* Human report: machine summary (packages, NUMA nodes, cores, PUs, allowed set), then one line
 * per worker: "worker 0 -> PU 0 (core 0, package 0, NUMA 0)". */
void dp_topo_report(const dp_topo *t, const dp_plan *plan, FILE *out);
/* One-line summary: "2 workers, compact: worker 0 -> PU 0, worker 1 -> PU 1". */
void dp_plan_summary(const dp_plan *plan, char *buf, size_t len);

/* hwloc's version string (for --version). */
const char *dp_topo_hwloc_version(void);

#endif
