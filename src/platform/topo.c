/* The topology room: load the hwloc topology (this machine, HWLOC_SYNTHETIC or HWLOC_XMLFILE),
 * keep only the PUs this process may use, plan where each worker goes (compact / spread /
 * none) and bind worker threads. The default worker count is threads_default.c, the reports
 * topo_report.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* GNU strerror_r: thread-safe message for bind failures */
#endif
#include "topo_internal.h"

#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

const char *dp_topo_hwloc_version(void)
{
#ifdef HWLOC_VERSION
    return HWLOC_VERSION; /* the release we were built against, e.g. "2.9.0" */
#else
    /* Only the API version is known; the release of the same series may be newer. */
    static const char v[] = {'0' + ((HWLOC_API_VERSION >> 16) & 0xff) % 10, '.',
                             '0' + ((HWLOC_API_VERSION >> 8) & 0xff) % 10, '.',
                             '0' + (HWLOC_API_VERSION & 0xff) % 10, '\0'};
    return v;
#endif
}

void dp_topo_close(dp_topo *t)
{
    if (!t) return;
    if (t->allowed) hwloc_bitmap_free(t->allowed);
    if (t->topo) hwloc_topology_destroy(t->topo);
    free(t->pus);
    free(t->cores);
    free(t->compact_order);
    free(t->spread_order);
    free(t);
}

int dp_topo_allowed_cores(const dp_topo *t) { return t ? t->n_cores : 0; }
int dp_topo_allowed_pus(const dp_topo *t) { return t ? t->n_pus : 0; }

/* hwloc 2 hangs NUMA nodes beside the CPU tree, not above PUs: the PU's node is the first
 * one whose cpuset covers it. */
static int numa_of(hwloc_topology_t topo, unsigned pu_os)
{
    hwloc_obj_t node = NULL;
    while ((node = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, node)) != NULL)
        if (node->cpuset && hwloc_bitmap_isset(node->cpuset, pu_os))
            return (int)node->logical_index;
    return -1;
}

static int index_of(const int *v, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x) return i;
    return -1;
}

/* Packages in order of first appearance (logical order); -1 (unknown) is a package too. */
static int distinct_packages(const dp_topo *t, int *pkgs)
{
    int np = 0;
    for (int c = 0; c < t->n_cores; c++)
        if (index_of(pkgs, np, t->cores[c].package) < 0) pkgs[np++] = t->cores[c].package;
    return np;
}

/* compact: package by package, cores in logical order within each. */
static void build_compact(dp_topo *t, int *pkgs)
{
    int np = distinct_packages(t, pkgs), k = 0;
    for (int p = 0; p < np; p++)
        for (int c = 0; c < t->n_cores; c++)
            if (t->cores[c].package == pkgs[p]) t->compact_order[k++] = c;
}

/* spread: one core per turn, turns going round the packages; within a package, successive
 * turns go round its NUMA nodes; within a node, cores in logical order. So the first workers
 * land on different packages, then on different NUMA nodes, before any two share a node. */
static int build_spread(dp_topo *t, int *pkgs)
{
    int n = t->n_cores, np = distinct_packages(t, pkgs);
    if (n < 1 || np < 1) return 0;
    int *used = calloc((size_t)n, sizeof *used);
    int *numas = malloc((size_t)n * sizeof *numas);
    int *cursor = calloc((size_t)np, sizeof *cursor); /* next NUMA turn per package */
    if (!used || !numas || !cursor) {
        free(used), free(numas), free(cursor);
        return -1;
    }
    int k = 0;
    while (k < n) {
        for (int p = 0; p < np && k < n; p++) {
            int nn = 0; /* this package's NUMA nodes that still have unused cores */
            for (int c = 0; c < n; c++)
                if (!used[c] && t->cores[c].package == pkgs[p] &&
                    index_of(numas, nn, t->cores[c].numa) < 0)
                    numas[nn++] = t->cores[c].numa;
            if (nn == 0) continue;
            /* Round-robin by logical index: the lowest remaining node at or after the
             * cursor, else wrap around to the lowest remaining node. */
            int pick = -1;
            for (int i = 0; i < nn; i++)
                if (numas[i] >= cursor[p] && (pick < 0 || numas[i] < numas[pick])) pick = i;
            if (pick < 0)
                for (int i = 0; i < nn; i++)
                    if (pick < 0 || numas[i] < numas[pick]) pick = i;
            int node = numas[pick];
            for (int c = 0; c < n; c++)
                if (!used[c] && t->cores[c].package == pkgs[p] && t->cores[c].numa == node) {
                    used[c] = 1;
                    t->spread_order[k++] = c;
                    break;
                }
            cursor[p] = node + 1;
        }
    }
    free(used), free(numas), free(cursor);
    return 0;
}

/* Collects the allowed PUs grouped by core and the two core orders. */
static dp_status build_tables(dp_topo *t, dp_error *err)
{
    hwloc_topology_t topo = t->topo;
    int total = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    if (total <= 0) return dp_fail(err, DP_EINTERNAL, "hwloc found no processing units");
    hwloc_obj_t *core_obj = calloc((size_t)total, sizeof *core_obj);
    t->pus = calloc((size_t)total, sizeof *t->pus);
    t->cores = calloc((size_t)total, sizeof *t->cores);
    t->compact_order = calloc((size_t)total, sizeof *t->compact_order);
    t->spread_order = calloc((size_t)total, sizeof *t->spread_order);
    int *pkgs = calloc((size_t)total, sizeof *pkgs);
    int *pu_core = calloc((size_t)total, sizeof *pu_core);
    hwloc_obj_t *pu_obj = calloc((size_t)total, sizeof *pu_obj);
    dp_status st = DP_OK;
    if (!core_obj || !t->pus || !t->cores || !t->compact_order || !t->spread_order || !pkgs ||
        !pu_core || !pu_obj) {
        st = dp_fail(err, DP_EINTERNAL, "out of memory building the topology tables (%d PUs)",
                     total);
        goto out;
    }

    /* Pass 1: which core each allowed PU belongs to, cores in order of first appearance. */
    int npu = 0, ncore = 0;
    hwloc_obj_t pu = NULL;
    while ((pu = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PU, pu)) != NULL) {
        if (!hwloc_bitmap_isset(t->allowed, pu->os_index)) continue;
        hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu);
        int c = -1;
        if (core)
            for (int i = 0; i < ncore; i++)
                if (core_obj[i] == core) c = i;
        if (c < 0) {
            c = ncore++;
            core_obj[c] = core; /* NULL: a PU with no Core above it is its own core */
            hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, pu);
            t->cores[c].logical = core ? (int)core->logical_index : -1;
            t->cores[c].package = pkg ? (int)pkg->logical_index : -1;
            t->cores[c].numa = numa_of(topo, pu->os_index);
        }
        pu_obj[npu] = pu;
        pu_core[npu++] = c;
        t->cores[c].n++;
    }
    if (npu == 0) {
        st = dp_fail(err, DP_EINTERNAL, "no allowed processing unit in the topology");
        goto out;
    }
    /* Pass 2: lay the PUs out contiguously per core, keeping logical order within a core. */
    int off = 0;
    for (int c = 0; c < ncore; c++) {
        t->cores[c].first = off;
        off += t->cores[c].n;
        if (t->cores[c].n > t->max_smt) t->max_smt = t->cores[c].n;
        t->cores[c].n = 0;
    }
    for (int i = 0; i < npu; i++) {
        core_ent *c = &t->cores[pu_core[i]];
        t->pus[c->first + c->n].os = (int)pu_obj[i]->os_index;
        t->pus[c->first + c->n].logical = (int)pu_obj[i]->logical_index;
        c->n++;
    }
    t->n_pus = npu;
    t->n_cores = ncore;
    build_compact(t, pkgs);
    if (build_spread(t, pkgs) != 0)
        st = dp_fail(err, DP_EINTERNAL, "out of memory building the spread order");
out:
    free(core_obj);
    free(pkgs);
    free(pu_core);
    free(pu_obj);
    return st;
}

/* Allowed set: hwloc's allowed cpuset (cgroup cpuset, Slurm) and, on the real machine, the
 * process binding too (taskset, mpirun --bind-to): we must not place workers elsewhere. */
/* With OMP_PROC_BIND set, the OpenMP runtime binds the initial thread to its first place
 * before main, so that thread's binding (all hwloc reads for a one-thread process) is no
 * longer the process's: the places together are what the process was given. Fills set and
 * returns 1 when that is the case. */
static int openmp_places(hwloc_bitmap_t set)
{
    if (omp_get_proc_bind() == omp_proc_bind_false) return 0;
    int n = omp_get_num_places();
    if (n <= 0) return 0;
    hwloc_bitmap_zero(set);
    for (int p = 0; p < n; p++) {
        int k = omp_get_place_num_procs(p);
        int *ids = k > 0 ? malloc((size_t)k * sizeof *ids) : NULL;
        if (!ids) continue;
        omp_get_place_proc_ids(p, ids);
        for (int i = 0; i < k; i++)
            if (ids[i] >= 0) hwloc_bitmap_set(set, (unsigned)ids[i]);
        free(ids);
    }
    return !hwloc_bitmap_iszero(set);
}

static dp_status finish_open(dp_topo *t, dp_error *err)
{
    t->thissystem = hwloc_topology_is_thissystem(t->topo);
    t->allowed = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(t->topo));
    if (!t->allowed) return dp_fail(err, DP_EINTERNAL, "out of memory copying the allowed cpuset");
    snprintf(t->allowed_how, sizeof t->allowed_how, "hwloc allowed cpuset");
    if (t->thissystem) {
        hwloc_bitmap_t bound = hwloc_bitmap_alloc();
        if (!bound) return dp_fail(err, DP_EINTERNAL, "out of memory reading the process binding");
        int got = openmp_places(bound) ||
                  hwloc_get_cpubind(t->topo, bound, HWLOC_CPUBIND_PROCESS) == 0;
        if (got && hwloc_bitmap_intersects(bound, t->allowed)) {
            if (!hwloc_bitmap_isincluded(t->allowed, bound)) {
                hwloc_bitmap_and(t->allowed, t->allowed, bound);
                snprintf(t->allowed_how, sizeof t->allowed_how,
                         "hwloc allowed cpuset and process binding");
            }
        }
        /* An unreadable binding (or one outside the allowed set) leaves the allowed set:
         * binding will tell us loudly if it is wrong. */
        hwloc_bitmap_free(bound);
    }
    /* The topology holds every PU, allowed or not (INCLUDE_DISALLOWED), so the report can
     * say "2 of 8 cores"; keep only PUs that exist. */
    hwloc_bitmap_and(t->allowed, t->allowed, hwloc_topology_get_topology_cpuset(t->topo));
    return build_tables(t, err);
}

/* NULL (err filled) on failure. Disallowed PUs are kept in the topology so the report can
 * say "2 of 8 cores"; finish_open filters them out of every placement. */
static dp_topo *topo_new(dp_error *err)
{
    dp_topo *t = calloc(1, sizeof *t);
    if (!t) {
        dp_fail(err, DP_EINTERNAL, "out of memory allocating the topology");
        return NULL;
    }
    if (hwloc_topology_init(&t->topo) != 0) {
        int e = errno;
        free(t);
        dp_fail(err, DP_EINTERNAL, "hwloc_topology_init failed: %s", strerror(e));
        return NULL;
    }
    hwloc_topology_set_flags(t->topo, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
    return t;
}

static dp_status load(dp_topo *t, dp_topo **out, dp_error *err)
{
    if (hwloc_topology_load(t->topo) != 0) {
        int e = errno;
        dp_status st = dp_fail(err, DP_EINTERNAL, "hwloc could not load the topology (%s): %s",
                               t->source, strerror(e));
        dp_topo_close(t);
        return st;
    }
    dp_status st = finish_open(t, err);
    if (st != DP_OK) {
        dp_topo_close(t);
        return st;
    }
    *out = t;
    return DP_OK;
}

dp_status dp_topo_open(dp_topo **out, dp_error *err)
{
    if (!out) return dp_fail(err, DP_EINTERNAL, "dp_topo_open: NULL output");
    *out = NULL;
    const char *xml = getenv("HWLOC_XMLFILE"), *syn = getenv("HWLOC_SYNTHETIC");
    /* Checked here because hwloc's libxml backend prints its own warning for a missing file. */
    if (xml && *xml && access(xml, R_OK) != 0)
        return dp_fail(err, DP_ENOINPUT, "HWLOC_XMLFILE=%s: cannot read it: %s", xml,
                       strerror(errno));
    dp_topo *t = topo_new(err);
    if (!t) return DP_EINTERNAL;
    /* hwloc reads these variables itself, but silently falls back to the real machine when
     * the file or description is bad; setting them ourselves turns that into an error. XML
     * wins when both are set. */
    if (xml && *xml) {
        t->kind = SRC_XML;
        snprintf(t->source, sizeof t->source, "XML %s", xml);
        if (hwloc_topology_set_xml(t->topo, xml) != 0) {
            dp_topo_close(t);
            return dp_fail(err, DP_EDATA,
                           "HWLOC_XMLFILE=%s: not a valid hwloc XML topology "
                           "(HWLOC_XML_VERBOSE=1 says why)",
                           xml);
        }
    } else if (syn && *syn) {
        t->kind = SRC_SYNTHETIC;
        snprintf(t->source, sizeof t->source, "synthetic \"%s\"", syn);
        if (hwloc_topology_set_synthetic(t->topo, syn) != 0) {
            dp_topo_close(t);
            return dp_fail(err, DP_EUSAGE,
                           "HWLOC_SYNTHETIC=\"%s\" is not a valid hwloc synthetic description "
                           "(e.g. \"pack:2 numa:2 core:8 pu:2\")",
                           syn);
        }
    } else {
        t->kind = SRC_THIS;
        snprintf(t->source, sizeof t->source, "this system");
    }
    dp_status st = load(t, out, err);
    /* HWLOC_THISSYSTEM=1 asserts an XML file is this machine: then we bind like on it. */
    if (st == DP_OK && t->kind == SRC_XML && t->thissystem)
        snprintf(t->source, sizeof t->source, "XML %s, declared this system", xml);
    else if (st == DP_OK && t->kind == SRC_THIS && !t->thissystem) {
        t->kind = SRC_OTHER; /* e.g. HWLOC_FSROOT or HWLOC_COMPONENTS pointed elsewhere */
        snprintf(t->source, sizeof t->source, "not this system (hwloc backend %s)",
                 hwloc_obj_get_info_by_name(hwloc_get_root_obj(t->topo), "Backend")
                     ? hwloc_obj_get_info_by_name(hwloc_get_root_obj(t->topo), "Backend")
                     : "unknown");
    }
    return st;
}

dp_status dp_topo_open_synthetic(const char *description, dp_topo **out, dp_error *err)
{
    if (!out) return dp_fail(err, DP_EINTERNAL, "dp_topo_open_synthetic: NULL output");
    *out = NULL;
    if (!description || !*description)
        return dp_fail(err, DP_EUSAGE, "empty hwloc synthetic description");
    dp_topo *t = topo_new(err);
    if (!t) return DP_EINTERNAL;
    t->kind = SRC_SYNTHETIC;
    snprintf(t->source, sizeof t->source, "synthetic \"%s\"", description);
    if (hwloc_topology_set_synthetic(t->topo, description) != 0) {
        dp_topo_close(t);
        return dp_fail(err, DP_EUSAGE,
                       "\"%s\" is not a valid hwloc synthetic description "
                       "(e.g. \"pack:2 numa:2 core:8 pu:2\")",
                       description);
    }
    return load(t, out, err);
}

/* ---- placement ---- */

static int count_distinct_field(const dp_slot *s, int n, int field)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        int v = field == 0 ? s[i].package : s[i].numa, seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = (field == 0 ? s[j].package : s[j].numa) == v;
        if (!seen) k++;
    }
    return k;
}

/* Level k of the sequence is every core's k-th allowed PU, cores in the policy's order;
 * worker i takes the sequence's entry i mod (allowed PUs). hits counts workers per core. */
static void place_slots(const dp_topo *t, const int *order, int n_workers, dp_slot *s, int *hits)
{
    int i = 0;
    while (i < n_workers)
        for (int k = 0; k < t->max_smt && i < n_workers; k++)
            for (int o = 0; o < t->n_cores && i < n_workers; o++) {
                const core_ent *c = &t->cores[order[o]];
                if (c->n <= k) continue;
                s[i].pu_os = t->pus[c->first + k].os;
                s[i].core = c->logical;
                s[i].package = c->package;
                s[i].numa = c->numa;
                s[i].smt_sibling = hits[order[o]] > 0;
                s[i].oversub = i >= t->n_pus;
                hits[order[o]]++;
                i++;
            }
}

/* plan->why: the policy, how the workers fill the cores, and (spread) what they span. */
static void plan_why(const dp_topo *t, dp_plan *plan)
{
    const int n_workers = plan->n_workers;
    const char *name = dp_bind_name(plan->policy);
    char where[96] = "";
    int used = n_workers < t->n_pus ? n_workers : t->n_pus;
    if (plan->policy == DP_BIND_SPREAD) {
        int np = count_distinct_field(plan->slots, used, 0);
        int nn = count_distinct_field(plan->slots, used, 1);
        snprintf(where, sizeof where, " across %d package%s and %d NUMA node%s", np,
                 np == 1 ? "" : "s", nn, nn == 1 ? "" : "s");
    }
    if (n_workers > t->n_pus) {
        plan->oversubscribed = 1;
        int extra = n_workers - t->n_pus;
        snprintf(plan->why, sizeof plan->why,
                 "%s: oversubscribed: %d workers on %d %s (%d %s)%s, %d %s a PU", name, n_workers,
                 t->n_pus, dp_plural(t->n_pus, "PU", "PUs"), t->n_cores,
                 dp_plural(t->n_cores, "core", "cores"), where, extra,
                 dp_plural(extra, "shares", "share"));
    } else if (n_workers > t->n_cores) {
        int extra = n_workers - t->n_cores;
        snprintf(plan->why, sizeof plan->why,
                 "%s: %d workers on %d %s%s: %d %s a core (hyperthreads)", name, n_workers,
                 t->n_cores, dp_plural(t->n_cores, "core", "cores"), where, extra,
                 dp_plural(extra, "shares", "share"));
    } else {
        snprintf(plan->why, sizeof plan->why, "%s: %d %s on %d of %d allowed %s%s, one per core",
                 name, n_workers, dp_plural(n_workers, "worker", "workers"), n_workers, t->n_cores,
                 dp_plural(t->n_cores, "core", "cores"), where);
    }
}

dp_status dp_topo_plan(const dp_topo *t, int n_workers, dp_bind policy, dp_plan *plan,
                       dp_error *err)
{
    if (!plan) return dp_fail(err, DP_EINTERNAL, "dp_topo_plan: NULL plan");
    memset(plan, 0, sizeof *plan);
    if (n_workers < 1)
        return dp_fail(err, DP_EUSAGE, "threads must be at least 1, got %d", n_workers);
    if (n_workers > MAX_WORKERS)
        return dp_fail(err, DP_EUSAGE, "threads %d is more than the %d a plan supports", n_workers,
                       MAX_WORKERS);
    if (policy != DP_BIND_COMPACT && policy != DP_BIND_SPREAD && policy != DP_BIND_NONE)
        return dp_fail(err, DP_EUSAGE, "unknown binding policy %d", (int)policy);
    if (policy != DP_BIND_NONE && (!t || t->n_pus < 1))
        return dp_fail(err, DP_EINTERNAL, "no topology to place workers on");
    dp_slot *s = calloc((size_t)n_workers, sizeof *s);
    if (!s) return dp_fail(err, DP_EINTERNAL, "out of memory planning %d workers", n_workers);
    plan->n_workers = n_workers;
    plan->policy = policy;
    plan->slots = s;

    if (policy == DP_BIND_NONE) {
        for (int i = 0; i < n_workers; i++)
            s[i] = (dp_slot){.pu_os = -1, .core = -1, .package = -1, .numa = -1};
        snprintf(plan->why, sizeof plan->why, "none: %d worker%s unbound, placed by the OS",
                 n_workers, n_workers == 1 ? "" : "s");
        return DP_OK;
    }
    int *hits = calloc((size_t)t->n_cores, sizeof *hits);
    if (!hits) {
        dp_plan_free(plan);
        return dp_fail(err, DP_EINTERNAL, "out of memory planning %d workers", n_workers);
    }
    place_slots(t, policy == DP_BIND_COMPACT ? t->compact_order : t->spread_order, n_workers, s,
                hits);
    free(hits);
    plan_why(t, plan);
    return DP_OK;
}

void dp_plan_free(dp_plan *plan)
{
    if (!plan) return;
    free(plan->slots);
    memset(plan, 0, sizeof *plan);
}

dp_status dp_topo_bind_self(const dp_topo *t, const dp_plan *plan, int worker, dp_error *err)
{
    if (!plan || plan->policy == DP_BIND_NONE) return DP_OK;
    if (!t)
        return dp_fail(err, DP_EINTERNAL, "binding worker %d: no topology; running unbound",
                       worker);
    if (worker < 0 || worker >= plan->n_workers)
        return dp_fail(err, DP_EINTERNAL, "binding worker %d: the plan has only %d workers; "
                       "running unbound", worker, plan->n_workers);
    /* hwloc's XML/synthetic backends accept binding and do nothing: say so instead. */
    if (!t->thissystem)
        return dp_fail(err, DP_EINTERNAL,
                       "topology is not this system (HWLOC_SYNTHETIC/XML); running unbound");
    int pu = plan->slots[worker].pu_os;
    if (pu < 0) return DP_OK;
    /* A private bitmap per call: nothing shared is written, so workers may bind at once. */
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set)
        return dp_fail(err, DP_EINTERNAL, "binding worker %d to PU %d: out of memory; running "
                       "unbound", worker, pu);
    hwloc_bitmap_only(set, (unsigned)pu);
    int rc = hwloc_set_cpubind(t->topo, set, HWLOC_CPUBIND_THREAD);
    int e = errno;
    hwloc_bitmap_free(set);
    if (rc != 0) {
        char buf[128];
        const char *msg = strerror_r(e, buf, sizeof buf);
        return dp_fail(err, DP_EINTERNAL, "binding worker %d to PU %d refused: %s; running unbound",
                       worker, pu, msg);
    }
    return DP_OK;
}

dp_status dp_topo_unbind_self(const dp_topo *t, dp_error *err)
{
    if (!t || !t->thissystem) return DP_OK;
    if (hwloc_set_cpubind(t->topo, t->allowed, HWLOC_CPUBIND_THREAD) != 0) {
        char buf[128];
        const char *msg = strerror_r(errno, buf, sizeof buf);
        return dp_fail(err, DP_EINTERNAL, "widening a worker to the allowed PUs refused: %s",
                       msg);
    }
    return DP_OK;
}

void dp_topo_self_cpus(const dp_topo *t, char *buf, size_t len)
{
    if (!buf || len == 0) return;
    snprintf(buf, len, "?");
    if (!t || !t->thissystem) return;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (set && hwloc_get_cpubind(t->topo, set, HWLOC_CPUBIND_THREAD) == 0) {
        int r = hwloc_bitmap_list_snprintf(buf, len, set);
        if (r >= (int)len && len >= 4) memcpy(buf + len - 4, "...", 4);
    }
    hwloc_bitmap_free(set);
}

struct dp_binding {
    hwloc_bitmap_t set;
};

dp_binding *dp_topo_binding_save(const dp_topo *t)
{
    if (!t || !t->thissystem) return NULL;
    dp_binding *b = malloc(sizeof *b);
    if (!b) return NULL;
    b->set = hwloc_bitmap_alloc();
    if (!b->set || hwloc_get_cpubind(t->topo, b->set, HWLOC_CPUBIND_THREAD) != 0) {
        hwloc_bitmap_free(b->set);
        free(b);
        return NULL;
    }
    return b;
}

void dp_topo_binding_restore(const dp_topo *t, dp_binding *saved)
{
    if (!saved) return;
    if (t) hwloc_set_cpubind(t->topo, saved->set, HWLOC_CPUBIND_THREAD);
    hwloc_bitmap_free(saved->set);
    free(saved);
}
