/* Private to the topology room (topo.c, threads_default.c, topo_report.c): the loaded
 * topology's tables, computed once in dp_topo_open and read-only afterwards. */
#ifndef DP_TOPO_INTERNAL_H
#define DP_TOPO_INTERNAL_H
#include <hwloc.h>

#include "topo.h"

/* One worker per PU is the most binding can give; this bound only guards the allocation. */
#define MAX_WORKERS 65536

typedef struct pu_ent {
    int os;      /* OS index, what binding uses */
    int logical; /* hwloc logical index */
} pu_ent;

/* An allowed core: its allowed PUs are pus[first .. first+n). */
typedef struct core_ent {
    int logical; /* logical index of the Core object, -1 when hwloc found none above the PU */
    int package; /* logical index, -1 if unknown */
    int numa;    /* logical index, -1 if unknown */
    int first, n;
} core_ent;

typedef enum { SRC_THIS, SRC_SYNTHETIC, SRC_XML, SRC_OTHER } src_kind;

/* Everything is computed in open and read-only afterwards, so worker threads may share it. */
struct dp_topo {
    hwloc_topology_t topo;
    hwloc_bitmap_t allowed; /* PUs this process may use */
    int thissystem;
    src_kind kind;
    char source[192];     /* "this system", "synthetic \"...\"", "XML /path" */
    char allowed_how[96]; /* which rule gave the allowed set */
    int n_pus, n_cores;   /* allowed */
    pu_ent *pus;          /* allowed PUs grouped by core, cores in core order */
    core_ent *cores;
    int *compact_order, *spread_order; /* permutations of cores[] for the first PU level */
    int max_smt;                       /* most allowed PUs on one core */
};

static inline const char *dp_plural(int n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

#endif
