/* The topology room's reports: the machine, the allowed set and the placement plan as text
 * (`dpmlp topo`, the start-up report), and the one-line plan summary for logs. */
#include <stdio.h>
#include <string.h>

#include "topo_internal.h"

void dp_topo_report(const dp_topo *t, const dp_plan *plan, FILE *out)
{
    if (!out) return;
    if (t) {
        hwloc_topology_t topo = t->topo;
        int np = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
        int nn = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
        int nc = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
        int npu = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
        char list[256];
        int r = hwloc_bitmap_list_snprintf(list, sizeof list, t->allowed);
        if (r >= (int)sizeof list) memcpy(list + sizeof list - 4, "...", 4);
        fprintf(out, "topology: %s (hwloc %s)\n", t->source, dp_topo_hwloc_version());
        fprintf(out, "machine: %d %s, %d NUMA %s, %d %s, %d %s\n", np,
                dp_plural(np, "package", "packages"), nn, dp_plural(nn, "node", "nodes"), nc,
                dp_plural(nc, "core", "cores"), npu, dp_plural(npu, "PU", "PUs"));
        fprintf(out, "allowed: %d of %d %s, %d of %d %s (PUs %s; %s)\n", t->n_cores, nc,
                dp_plural(nc, "core", "cores"), t->n_pus, npu, dp_plural(npu, "PU", "PUs"), list,
                t->allowed_how);
    }
    if (!plan) return;
    fprintf(out, "plan: %s\n", plan->why);
    for (int i = 0; i < plan->n_workers; i++) {
        const dp_slot *s = &plan->slots[i];
        if (s->pu_os < 0) {
            fprintf(out, "worker %d -> unbound\n", i);
            continue;
        }
        char core[24] = "core ?", numa[24] = "";
        if (s->core >= 0) snprintf(core, sizeof core, "core %d", s->core);
        if (s->numa >= 0) snprintf(numa, sizeof numa, ", NUMA %d", s->numa);
        fprintf(out, "worker %d -> PU %d (%s, package %d%s)%s\n", i, s->pu_os, core, s->package,
                numa, s->oversub ? " oversubscribed" : s->smt_sibling ? " hyperthread" : "");
    }
    /* Workers allocate and first-touch their own buffers after pinning (DESIGN.md: pin, then
     * touch), so Linux's first-touch policy puts each worker's memory on its NUMA node. */
    fprintf(out, "memory: each worker first-touches its workspace and gradient block after "
                 "pinning:");
    for (int i = 0; i < plan->n_workers; i++) {
        const dp_slot *s = &plan->slots[i];
        if (s->pu_os < 0 || s->numa < 0)
            fprintf(out, "%s worker %d -> %s", i ? "," : "", i,
                    s->pu_os < 0 ? "wherever it runs first" : "its node");
        else
            fprintf(out, "%s worker %d -> NUMA %d", i ? "," : "", i, s->numa);
    }
    fputc('\n', out);
}

void dp_plan_summary(const dp_plan *plan, char *buf, size_t len)
{
    if (!buf || len == 0) return;
    if (!plan || !plan->slots) {
        snprintf(buf, len, "no plan");
        return;
    }
    size_t k = (size_t)snprintf(buf, len, "%d worker%s, %s:", plan->n_workers,
                                plan->n_workers == 1 ? "" : "s", dp_bind_name(plan->policy));
    if (plan->policy == DP_BIND_NONE) {
        if (k < len) snprintf(buf + k, len - k, " unbound");
        return;
    }
    for (int i = 0; i < plan->n_workers && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s worker %d -> PU %d", i ? "," : "", i,
                              plan->slots[i].pu_os);
    if (plan->oversubscribed && k < len)
        k += (size_t)snprintf(buf + k, len - k, " (oversubscribed)");
    /* Cut mid-list: end with "..." so a truncated summary cannot be read as complete. */
    if (k >= len && len >= 4) memcpy(buf + len - 4, "...", 4);
}
