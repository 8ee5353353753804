/* The default worker count: OMP_NUM_THREADS when set, else the physical cores this process
 * may use (hwloc's allowed set: cgroups, taskset, Slurm), capped by a cgroup CPU quota and by
 * Slurm's SLURM_CPUS_PER_TASK. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "topo_internal.h"

/* OMP_NUM_THREADS is a list ("4,2" = 4 outer, 2 nested); we want the first level. Slurm's
 * counts are plain integers, which this reads too. */
static int parse_omp(const char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    char *e;
    long v = strtol(s, &e, 10);
    if (errno || v < 1 || v > MAX_WORKERS) return -1;
    while (*e == ' ' || *e == '\t') e++;
    if (*e != '\0' && *e != ',') return -1;
    return (int)v;
}

/* Slurm's --cpus-per-task: the CPUs the job granted each task. Slurm usually confines the
 * task to them as well (then the allowed set already holds the count), but not always (no
 * affinity or cgroup plugin, srun --cpu-bind=none, a login shell on the node): the cap keeps
 * such a task from starting a worker per core of the whole node. Appends what it did. */
static int slurm_cap(int n, char *why, size_t why_len)
{
    const char *s = getenv("SLURM_CPUS_PER_TASK");
    if (!s || !*s) return n;
    int cap = parse_omp(s);
    size_t k = strlen(why);
    if (cap < 1 || strchr(s, ',')) {
        snprintf(why + k, why_len - k,
                 "; SLURM_CPUS_PER_TASK=\"%.40s\" ignored (not a positive integer)", s);
        return n;
    }
    if (cap < n) {
        snprintf(why + k, why_len - k, "; capped to %d by SLURM_CPUS_PER_TASK", cap);
        return cap;
    }
    snprintf(why + k, why_len - k, "; SLURM_CPUS_PER_TASK=%d allows as many", cap);
    return n;
}

/* The allowed physical cores, capped by a cgroup CPU quota; ignored: what to say first. */
static int allowed_default(const dp_topo *t, const char *ignored, char *why, size_t why_len)
{
    int cores = dp_topo_allowed_cores(t);
    if (cores < 1) {
        snprintf(why, why_len, "%sno topology: 1 worker", ignored);
        return 1;
    }
    const char *how = t->allowed_how;
    char detail[160];
    int quota = dp_cgroup_cpu_limit(NULL, NULL, detail, sizeof detail);
    if (quota > 0 && quota < cores) {
        /* Oversubscribing a CPU quota makes every barrier wait for a throttled thread. */
        snprintf(why, why_len, "%s%d cores allowed, capped to %d by %s", ignored, cores, quota,
                 detail);
        return quota;
    }
    snprintf(why, why_len, "%s%d physical core%s allowed (%s)", ignored, cores,
             cores == 1 ? "" : "s", how);
    return cores;
}

int dp_topo_default_threads(const dp_topo *t, char *why, size_t why_len)
{
    char dummy[8];
    if (!why || why_len == 0) why = dummy, why_len = sizeof dummy;
    const char *omp = getenv("OMP_NUM_THREADS");
    char ignored[96] = "";
    if (omp && *omp) { /* empty counts as unset, as in libgomp */
        int n = parse_omp(omp);
        if (n > 0) {
            snprintf(why, why_len, "OMP_NUM_THREADS=%d", n);
            return n;
        }
        snprintf(ignored, sizeof ignored,
                 "OMP_NUM_THREADS=\"%.40s\" ignored (not a positive integer); ", omp);
    }
    return slurm_cap(allowed_default(t, ignored, why, why_len), why, why_len);
}
