/* The topology room: compact / spread / none placements on synthetic topologies (packages,
 * NUMA nodes, hyperthreads, oversubscription), an XML export with a restricted allowed set,
 * default thread counts from OMP_NUM_THREADS and fake cgroup quota trees, and on this machine
 * a real open, a restricted process binding, and worker threads that bind and stay bound. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <hwloc.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "err.h"
#include "testhooks.h"
#include "topo.h"

#define BIG "pack:2 numa:2 core:8 pu:2" /* 2 packages x 2 NUMA x 8 cores x 2 PUs = 64 PUs */
#define SMT4 "pack:1 core:4 pu:2"
#define TWO "pack:2 core:2 pu:1"

/* ---- helpers ---- */

static dp_topo *syn(const char *desc)
{
    dp_topo *t = NULL;
    dp_error err = {0};
    dp_status st = dp_topo_open_synthetic(desc, &t, &err);
    ck_assert_msg(st == DP_OK, "open_synthetic(%s): %s", desc, err.msg);
    ck_assert_ptr_nonnull(t);
    return t;
}

static void plan_ok(const dp_topo *t, int n, dp_bind policy, dp_plan *p)
{
    dp_error err = {0};
    dp_status st = dp_topo_plan(t, n, policy, p, &err);
    ck_assert_msg(st == DP_OK, "plan %d workers: %s", n, err.msg);
    ck_assert_int_eq(p->n_workers, n);
    ck_assert_ptr_nonnull(p->slots);
    ck_assert_msg(p->why[0] != '\0' && strchr(p->why, '\n') == NULL, "why is one line: %s", p->why);
}

/* setenv/unsetenv with the old value kept, so a test leaves the environment as it found it. */
typedef struct saved_env {
    const char *name;
    char *old;
    int had;
} saved_env;

static saved_env env_set(const char *name, const char *value)
{
    saved_env s = {name, NULL, 0};
    const char *o = getenv(name);
    if (o) s.had = 1, s.old = strdup(o);
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    return s;
}

/* For changes inside a test already guarded by env_set. */
static void env_put(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

static void env_restore(saved_env *s)
{
    if (s->had)
        setenv(s->name, s->old, 1);
    else
        unsetenv(s->name);
    free(s->old);
    s->old = NULL;
}

/* A scratch directory for fake cgroup trees. */
static char *tmpdir_new(void)
{
    char *d = strdup("/tmp/check_topo.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    /* mkdir -p of the parent directories */
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    fputs(text, f);
    fclose(f);
}

static void rm_rf(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *report_of(const dp_topo *t, const dp_plan *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    dp_topo_report(t, p, f);
    fclose(f);
    return buf;
}

/* ---- synthetic topologies: counts ---- */

START_TEST(test_counts)
{
    static const struct {
        const char *desc;
        int cores, pus;
    } cases[] = {{BIG, 32, 64}, {SMT4, 4, 8}, {TWO, 4, 4}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dp_topo *t = syn(cases[i].desc);
        ck_assert_int_eq(dp_topo_allowed_cores(t), cases[i].cores);
        ck_assert_int_eq(dp_topo_allowed_pus(t), cases[i].pus);
        dp_topo_close(t);
    }
    ck_assert_int_eq(dp_topo_allowed_cores(NULL), 0);
}
END_TEST

/* ---- compact ---- */

START_TEST(test_compact_big)
{
    dp_topo *t = syn(BIG);
    dp_plan p;
    plan_ok(t, 65, DP_BIND_COMPACT, &p);
    /* One per core, package 0 filled (16 cores, NUMA 0 then 1) before package 1. In a
     * synthetic topology core c holds PUs 2c and 2c+1. */
    for (int i = 0; i < 32; i++) {
        ck_assert_int_eq(p.slots[i].core, i);
        ck_assert_int_eq(p.slots[i].pu_os, 2 * i);
        ck_assert_int_eq(p.slots[i].package, i / 16);
        ck_assert_int_eq(p.slots[i].numa, i / 8);
        ck_assert_int_eq(p.slots[i].smt_sibling, 0);
        ck_assert_int_eq(p.slots[i].oversub, 0);
    }
    /* Then the hyperthreads, same core order. */
    for (int i = 32; i < 64; i++) {
        ck_assert_int_eq(p.slots[i].core, i - 32);
        ck_assert_int_eq(p.slots[i].pu_os, 2 * (i - 32) + 1);
        ck_assert_int_eq(p.slots[i].smt_sibling, 1);
        ck_assert_int_eq(p.slots[i].oversub, 0);
    }
    /* Then wrap around onto PU 0 again. */
    ck_assert_int_eq(p.slots[64].pu_os, 0);
    ck_assert_int_eq(p.slots[64].oversub, 1);
    ck_assert_int_eq(p.oversubscribed, 1);
    ck_assert_msg(strstr(p.why, "compact") && strstr(p.why, "oversubscribed"), "%s", p.why);
    dp_plan_free(&p);
    ck_assert_ptr_null(p.slots);

    plan_ok(t, 64, DP_BIND_COMPACT, &p);
    ck_assert_int_eq(p.oversubscribed, 0);
    dp_plan_free(&p);
    dp_topo_close(t);
}
END_TEST

START_TEST(test_compact_smt_and_oversub)
{
    dp_topo *t = syn(SMT4);
    dp_plan p;
    plan_ok(t, 4, DP_BIND_COMPACT, &p);
    ck_assert_str_eq(p.why, "compact: 4 workers on 4 of 4 allowed cores, one per core");
    dp_plan_free(&p);

    plan_ok(t, 6, DP_BIND_COMPACT, &p);
    static const int pu6[] = {0, 2, 4, 6, 1, 3};
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(p.slots[i].pu_os, pu6[i]);
        ck_assert_int_eq(p.slots[i].smt_sibling, i >= 4);
    }
    ck_assert_int_eq(p.oversubscribed, 0);
    ck_assert_str_eq(p.why, "compact: 6 workers on 4 cores: 2 share a core (hyperthreads)");
    dp_plan_free(&p);

    plan_ok(t, 10, DP_BIND_COMPACT, &p);
    ck_assert_int_eq(p.oversubscribed, 1);
    for (int i = 0; i < 10; i++) ck_assert_int_eq(p.slots[i].oversub, i >= 8);
    ck_assert_int_eq(p.slots[8].pu_os, p.slots[0].pu_os);
    ck_assert_int_eq(p.slots[9].pu_os, p.slots[1].pu_os);
    ck_assert_msg(strstr(p.why, "oversubscribed: 10 workers on 8 PUs"), "%s", p.why);
    dp_plan_free(&p);
    dp_topo_close(t);
}
END_TEST

START_TEST(test_two_packages_no_smt)
{
    dp_topo *t = syn(TWO);
    dp_plan p;
    plan_ok(t, 4, DP_BIND_COMPACT, &p);
    static const int cpkg[] = {0, 0, 1, 1}, spkg[] = {0, 1, 0, 1}, spu[] = {0, 2, 1, 3};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(p.slots[i].package, cpkg[i]);
        ck_assert_int_eq(p.slots[i].pu_os, i);
    }
    dp_plan_free(&p);
    plan_ok(t, 5, DP_BIND_SPREAD, &p);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(p.slots[i].package, spkg[i]);
        ck_assert_int_eq(p.slots[i].pu_os, spu[i]);
        ck_assert_int_eq(p.slots[i].numa, 0); /* hwloc adds one machine-wide node */
    }
    /* No hyperthreads to fall back on: the fifth worker goes straight to oversubscription. */
    ck_assert_int_eq(p.slots[4].pu_os, 0);
    ck_assert_int_eq(p.slots[4].oversub, 1);
    ck_assert_int_eq(p.slots[4].smt_sibling, 1); /* it shares worker 0's core, too */
    ck_assert_int_eq(p.oversubscribed, 1);
    dp_plan_free(&p);
    dp_topo_close(t);
}
END_TEST

/* ---- spread ---- */

START_TEST(test_spread_big)
{
    dp_topo *t = syn(BIG);
    dp_plan p;
    plan_ok(t, 65, DP_BIND_SPREAD, &p);
    /* Turns alternate packages; a package's successive turns alternate its NUMA nodes
     * (package 0 holds nodes 0,1, package 1 nodes 2,3); cores of a node in order. */
    static const int numa_of_turn[4] = {0, 2, 1, 3};
    int seen_core[32] = {0};
    for (int i = 0; i < 32; i++) {
        const dp_slot *s = &p.slots[i];
        ck_assert_int_eq(s->package, i % 2);
        ck_assert_int_eq(s->numa, numa_of_turn[i % 4]);
        ck_assert_int_eq(s->core, s->numa * 8 + i / 4);
        ck_assert_int_eq(s->pu_os, 2 * s->core);
        ck_assert_int_eq(s->smt_sibling, 0);
        ck_assert_int_eq(seen_core[s->core]++, 0);
    }
    /* Hyperthreads in the same order, then oversubscription. */
    for (int i = 32; i < 64; i++) {
        ck_assert_int_eq(p.slots[i].core, p.slots[i - 32].core);
        ck_assert_int_eq(p.slots[i].pu_os, p.slots[i - 32].pu_os + 1);
        ck_assert_int_eq(p.slots[i].smt_sibling, 1);
        ck_assert_int_eq(p.slots[i].oversub, 0);
    }
    ck_assert_int_eq(p.slots[64].pu_os, p.slots[0].pu_os);
    ck_assert_int_eq(p.slots[64].oversub, 1);
    ck_assert_int_eq(p.oversubscribed, 1);
    dp_plan_free(&p);

    plan_ok(t, 4, DP_BIND_SPREAD, &p);
    ck_assert_str_eq(p.why,
                     "spread: 4 workers on 4 of 32 allowed cores across 2 packages and 4 NUMA "
                     "nodes, one per core");
    dp_plan_free(&p);
    dp_topo_close(t);
}
END_TEST

/* ---- none, bad input ---- */

START_TEST(test_none_and_errors)
{
    dp_topo *t = syn(SMT4);
    dp_plan p;
    plan_ok(t, 3, DP_BIND_NONE, &p);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(p.slots[i].pu_os, -1);
        ck_assert_int_eq(p.slots[i].core, -1);
        ck_assert_int_eq(p.slots[i].package, -1);
        ck_assert_int_eq(p.slots[i].numa, -1);
        dp_error err = {0};
        ck_assert_int_eq(dp_topo_bind_self(t, &p, i, &err), DP_OK);
    }
    ck_assert_int_eq(p.oversubscribed, 0);
    ck_assert_msg(strncmp(p.why, "none:", 5) == 0, "%s", p.why);
    char *r = report_of(t, &p);
    ck_assert_msg(strstr(r, "worker 2 -> unbound\n"), "%s", r);
    free(r);
    dp_plan_free(&p);

    dp_error err = {0};
    ck_assert_int_eq(dp_topo_plan(t, 0, DP_BIND_COMPACT, &p, &err), DP_EUSAGE);
    ck_assert_msg(strstr(err.msg, "at least 1"), "%s", err.msg);
    ck_assert_ptr_null(p.slots);
    dp_plan_free(&p); /* safe on a failed plan */

    dp_topo *bad = NULL;
    ck_assert_int_eq(dp_topo_open_synthetic("pack:2 core:2", &bad, &err), DP_EUSAGE);
    ck_assert_ptr_null(bad);
    ck_assert_msg(strstr(err.msg, "pack:2 core:2"), "%s", err.msg);
    ck_assert_int_eq(dp_topo_open_synthetic("", &bad, &err), DP_EUSAGE);
    dp_topo_close(NULL);
    dp_topo_close(t);
}
END_TEST

START_TEST(test_bind_synthetic_refused)
{
    dp_topo *t = syn(SMT4);
    dp_plan p;
    plan_ok(t, 2, DP_BIND_COMPACT, &p);
    dp_error err = {0};
    ck_assert_int_eq(dp_topo_bind_self(t, &p, 1, &err), DP_EINTERNAL);
    ck_assert_msg(strstr(err.msg, "not this system") && strstr(err.msg, "running unbound"), "%s",
                  err.msg);
    ck_assert_int_eq(dp_topo_bind_self(t, &p, 7, &err), DP_EINTERNAL);
    dp_plan_free(&p);
    dp_topo_close(t);
}
END_TEST

/* ---- report and summary ---- */

START_TEST(test_report_and_summary)
{
    dp_topo *t = syn(BIG);
    dp_plan p;
    plan_ok(t, 20, DP_BIND_SPREAD, &p);
    char *r = report_of(t, &p);
    ck_assert_msg(strstr(r, "topology: synthetic \"" BIG "\""), "%s", r);
    ck_assert_msg(strstr(r, "machine: 2 packages, 4 NUMA nodes, 32 cores, 64 PUs\n"), "%s", r);
    ck_assert_msg(strstr(r, "allowed: 32 of 32 cores, 64 of 64 PUs (PUs 0-63"), "%s", r);
    ck_assert_msg(strstr(r, "worker 0 -> PU 0 (core 0, package 0, NUMA 0)\n"), "%s", r);
    ck_assert_msg(strstr(r, "worker 1 -> PU 32 (core 16, package 1, NUMA 2)\n"), "%s", r);
    ck_assert_msg(strstr(r, "worker 19 -> PU 56 (core 28, package 1, NUMA 3)\n"), "%s", r);
    ck_assert_msg(strstr(r, "after pinning: worker 0 -> NUMA 0, worker 1 -> NUMA 2,"), "%s", r);
    ck_assert_msg(strstr(r, ", worker 19 -> NUMA 3\n"), "%s", r);
    free(r);
    dp_plan_free(&p);
    dp_topo_close(t);

    t = syn(SMT4);
    plan_ok(t, 2, DP_BIND_COMPACT, &p);
    char buf[128];
    dp_plan_summary(&p, buf, sizeof buf);
    ck_assert_str_eq(buf, "2 workers, compact: worker 0 -> PU 0, worker 1 -> PU 2");
    dp_plan_free(&p);
    plan_ok(t, 64, DP_BIND_COMPACT, &p);
    char small[48];
    dp_plan_summary(&p, small, sizeof small);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert_str_eq(small + sizeof small - 4, "...");
    dp_plan_free(&p);
    plan_ok(t, 3, DP_BIND_NONE, &p);
    dp_plan_summary(&p, buf, sizeof buf);
    ck_assert_str_eq(buf, "3 workers, none: unbound");
    dp_plan_free(&p);
    dp_topo_close(t);

    int a, b, c;
    ck_assert_int_eq(sscanf(dp_topo_hwloc_version(), "%d.%d.%d", &a, &b, &c), 3);
    ck_assert_int_eq(a, HWLOC_API_VERSION >> 16);
}
END_TEST

/* ---- XML with a restricted allowed set ---- */

static const char *topologies_dir(void)
{
    const char *d = getenv("DPMLP_TEST_TOPOLOGIES");
    if (d && *d) return d;
    /* __FILE__ is tests/platform/check_topo.c when built from the repository root, as make does. */
    static char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    if (slash)
        snprintf(slash, sizeof dir - (size_t)(slash - dir), "/topologies");
    else
        snprintf(dir, sizeof dir, "topologies");
    return dir;
}

START_TEST(test_xml_restricted)
{
    /* pack:2 core:2 pu:2 with only PUs 2,3 (core 1, package 0), 4 (core 2) and 6 (core 3)
     * allowed: as under a cgroup cpuset or Slurm allocation. */
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/pack2-core2-pu2-allowed-2-3-4-6.xml", topologies_dir());
    ck_assert_msg(access(path, R_OK) == 0, "missing %s (set DPMLP_TEST_TOPOLOGIES)", path);
    saved_env sx = env_set("HWLOC_XMLFILE", path), ss = env_set("HWLOC_SYNTHETIC", NULL),
              st = env_set("HWLOC_THISSYSTEM", NULL);
    dp_topo *t = NULL;
    dp_error err = {0};
    ck_assert_msg(dp_topo_open(&t, &err) == DP_OK, "%s", err.msg);
    ck_assert_int_eq(dp_topo_allowed_pus(t), 4);
    ck_assert_int_eq(dp_topo_allowed_cores(t), 3);

    static const int compact[] = {2, 4, 6, 3, 2, 4}, spread[] = {2, 4, 6, 3, 2, 4};
    static const int spread_pkg[] = {0, 1, 1, 0};
    dp_plan p;
    plan_ok(t, 6, DP_BIND_COMPACT, &p);
    for (int i = 0; i < 6; i++) ck_assert_int_eq(p.slots[i].pu_os, compact[i]);
    ck_assert_int_eq(p.slots[3].smt_sibling, 1);
    ck_assert_int_eq(p.slots[4].oversub, 1);
    dp_plan_free(&p);
    plan_ok(t, 6, DP_BIND_SPREAD, &p);
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(p.slots[i].pu_os, spread[i]);
        if (i < 4) ck_assert_int_eq(p.slots[i].package, spread_pkg[i]);
    }
    /* No worker outside the allowed set, whatever the count. */
    for (int n = 1; n <= 12; n++)
        for (int pol = DP_BIND_COMPACT; pol <= DP_BIND_SPREAD; pol++) {
            dp_plan q;
            plan_ok(t, n, (dp_bind)pol, &q);
            for (int i = 0; i < n; i++) {
                int pu = q.slots[i].pu_os;
                ck_assert_msg(pu == 2 || pu == 3 || pu == 4 || pu == 6, "worker %d on PU %d", i,
                              pu);
            }
            dp_plan_free(&q);
        }
    char *r = report_of(t, &p);
    ck_assert_msg(strstr(r, "topology: XML "), "%s", r);
    ck_assert_msg(strstr(r, "allowed: 3 of 4 cores, 4 of 8 PUs (PUs 2-4,6"), "%s", r);
    free(r);
    ck_assert_int_eq(dp_topo_bind_self(t, &p, 0, &err), DP_EINTERNAL);
    dp_plan_free(&p);
    dp_topo_close(t);

    /* A missing file or a bad description is an error, not a silent fall back to this machine. */
    env_put("HWLOC_XMLFILE", "/nonexistent/topology.xml");
    ck_assert_int_eq(dp_topo_open(&t, &err), DP_ENOINPUT);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err.msg, "HWLOC_XMLFILE=/nonexistent/topology.xml"), "%s", err.msg);
    /* A readable file that is not hwloc XML. */
    env_put("HWLOC_XMLFILE", __FILE__);
    t = (dp_topo *)&err; /* must come back NULL */
    ck_assert_int_eq(dp_topo_open(&t, &err), DP_EDATA);
    ck_assert_ptr_null(t);
    env_put("HWLOC_XMLFILE", NULL);
    env_put("HWLOC_SYNTHETIC", "pack:2 core:2");
    ck_assert_int_eq(dp_topo_open(&t, &err), DP_EUSAGE);
    ck_assert_msg(strstr(err.msg, "HWLOC_SYNTHETIC"), "%s", err.msg);
    env_put("HWLOC_SYNTHETIC", TWO);
    ck_assert_msg(dp_topo_open(&t, &err) == DP_OK, "%s", err.msg);
    ck_assert_int_eq(dp_topo_allowed_cores(t), 4);
    dp_topo_close(t);
    env_restore(&sx), env_restore(&ss), env_restore(&st);
}
END_TEST

/* ---- cgroup quota parsing on fake trees ---- */

START_TEST(test_cgroup_v2)
{
    char *d = tmpdir_new(), self[PATH_MAX], detail[160];
    snprintf(self, sizeof self, "%s/self", d);
    write_file(d, "self", "0::/\n");
    ck_assert_int_eq(dp_cgroup_cpu_limit(d, self, detail, sizeof detail), 0); /* no file */
    static const struct {
        const char *text;
        int cpus;
    } cases[] = {{"max 100000\n", 0},    {"200000 100000\n", 2}, {"150000 100000", 2},
                 {"50000 100000\n", 1},  {"100000 100000\n", 1}, {"garbage\n", 0},
                 {"0 100000\n", 0},      {"200000\n", 0},        {"-5 100000\n", 0},
                 {"400000 100000 x\n", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(d, "cpu.max", cases[i].text);
        ck_assert_msg(dp_cgroup_cpu_limit(d, self, detail, sizeof detail) == cases[i].cpus,
                      "cpu.max \"%s\" should give %d", cases[i].text, cases[i].cpus);
    }
    write_file(d, "cpu.max", "200000 100000\n");
    dp_cgroup_cpu_limit(d, self, detail, sizeof detail);
    ck_assert_str_eq(detail, "cgroup cpu.max quota 200000/100000");

    /* Nested: the leaf is unlimited but its parent is not; the tightest level wins. */
    write_file(d, "self", "0::/a/b\n");
    write_file(d, "a/b/cpu.max", "max 100000\n");
    write_file(d, "a/cpu.max", "300000 100000\n");
    ck_assert_int_eq(dp_cgroup_cpu_limit(d, self, NULL, 0), 2); /* root's 2 beats a's 3 */
    write_file(d, "cpu.max", "max 100000\n");
    ck_assert_int_eq(dp_cgroup_cpu_limit(d, self, NULL, 0), 3);
    write_file(d, "a/b/cpu.max", "100000 50000\n");
    ck_assert_int_eq(dp_cgroup_cpu_limit(d, self, NULL, 0), 2);
    /* The path names a cgroup this mount does not show (container without a cgroup
     * namespace): its ancestors that do exist still count. */
    write_file(d, "self", "0::/a/elsewhere/deep\n");
    ck_assert_int_eq(dp_cgroup_cpu_limit(d, self, NULL, 0), 3);
    /* No /proc/self/cgroup to read: the mount root alone. */
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/nope", d);
    write_file(d, "cpu.max", "700000 100000\n");
    ck_assert_int_eq(dp_cgroup_cpu_limit(d, missing, NULL, 0), 7);
    /* root NULL: the test hook's root (testhooks.h) stands in for /sys/fs/cgroup. */
    dp_testhook_set_cgroup_root(d);
    ck_assert_str_eq(dp_testhook_cgroup_root(), d);
    ck_assert_int_eq(dp_cgroup_cpu_limit(NULL, missing, NULL, 0), 7);
    dp_testhook_set_cgroup_root("");
    ck_assert_ptr_null(dp_testhook_cgroup_root());
    rm_rf(d);
    free(d);
}
END_TEST

START_TEST(test_cgroup_v1)
{
    char *d = tmpdir_new(), self[PATH_MAX], detail[160];
    snprintf(self, sizeof self, "%s/self", d);
    write_file(d, "self", "5:memory:/x\n4:cpu,cpuacct:/job\n0::/\n");
    write_file(d, "cpu,cpuacct/job/cpu.cfs_quota_us", "-1\n");
    write_file(d, "cpu,cpuacct/job/cpu.cfs_period_us", "100000\n");
    ck_assert_int_eq(dp_cgroup_cpu_limit(d, self, detail, sizeof detail), 0);
    ck_assert_str_eq(detail, "no cgroup CPU quota");
    write_file(d, "cpu,cpuacct/job/cpu.cfs_quota_us", "250000\n");
    ck_assert_int_eq(dp_cgroup_cpu_limit(d, self, detail, sizeof detail), 3);
    ck_assert_str_eq(detail, "cgroup cpu.cfs_quota_us quota 250000/100000");
    /* Mounted as plain "cpu" on some distros. */
    rm_rf(d);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    write_file(d, "self", "4:cpu:/\n");
    write_file(d, "cpu/cpu.cfs_quota_us", "50000\n");
    write_file(d, "cpu/cpu.cfs_period_us", "100000\n");
    ck_assert_int_eq(dp_cgroup_cpu_limit(d, self, NULL, 0), 1);
    rm_rf(d);
    free(d);
}
END_TEST

/* ---- default thread count ---- */

START_TEST(test_default_threads)
{
    char *d = tmpdir_new(); /* an empty fake cgroup root: no quota */
    dp_testhook_set_cgroup_root(d);
    saved_env so = env_set("OMP_NUM_THREADS", NULL);
    saved_env ss = env_set("SLURM_CPUS_PER_TASK", NULL); /* as outside a Slurm job */
    dp_topo *t = syn(BIG);
    char why[256];

    ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 32);
    ck_assert_str_eq(why, "32 physical cores allowed (hwloc allowed cpuset)");

    static const struct {
        const char *omp;
        int n;
    } cases[] = {{"3", 3}, {"4,2", 4}, {" 5 ", 5}, {"0", 32}, {"-2", 32},
                 {"abc", 32}, {"3x", 32}, {"99999999999", 32}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        env_put("OMP_NUM_THREADS", cases[i].omp);
        ck_assert_msg(dp_topo_default_threads(t, why, sizeof why) == cases[i].n,
                      "OMP_NUM_THREADS=\"%s\": %s", cases[i].omp, why);
        ck_assert_msg(strstr(why, "OMP_NUM_THREADS"), "%s", why);
    }
    env_put("OMP_NUM_THREADS", "");
    ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 32);
    ck_assert_msg(!strstr(why, "OMP_NUM_THREADS"), "empty counts as unset: %s", why);
    env_put("OMP_NUM_THREADS", "abc");
    dp_topo_default_threads(t, why, sizeof why);
    ck_assert_str_eq(why, "OMP_NUM_THREADS=\"abc\" ignored (not a positive integer); 32 physical "
                          "cores allowed (hwloc allowed cpuset)");
    env_put("OMP_NUM_THREADS", "3");
    dp_topo_default_threads(t, why, sizeof why);
    ck_assert_str_eq(why, "OMP_NUM_THREADS=3");

    /* A cpu.max quota of 2 CPUs caps 32 cores to 2; OMP_NUM_THREADS, explicit, still wins. */
    write_file(d, "cpu.max", "200000 100000\n");
    ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 3);
    env_put("OMP_NUM_THREADS", NULL);
    ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 2);
    ck_assert_str_eq(why, "32 cores allowed, capped to 2 by cgroup cpu.max quota 200000/100000");
    /* A quota above the core count does not raise it. */
    write_file(d, "cpu.max", "6400000 100000\n");
    ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 32);
    ck_assert_int_eq(dp_topo_default_threads(t, NULL, 0), 32);
    dp_topo_close(t);

    dp_testhook_set_cgroup_root(NULL);
    env_restore(&ss);
    env_restore(&so);
    rm_rf(d);
    free(d);
}
END_TEST

/* SLURM_CPUS_PER_TASK caps the default below the allowed cores and the quota, says so, never
 * raises it, is ignored (and said) when malformed, and yields to OMP_NUM_THREADS. */
START_TEST(test_default_threads_slurm)
{
    char *d = tmpdir_new();
    dp_testhook_set_cgroup_root(d);
    saved_env so = env_set("OMP_NUM_THREADS", NULL);
    saved_env ss = env_set("SLURM_CPUS_PER_TASK", "4");
    dp_topo *t = syn(BIG);
    char why[256];
    ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 4);
    ck_assert_str_eq(why, "32 physical cores allowed (hwloc allowed cpuset); capped to 4 by "
                          "SLURM_CPUS_PER_TASK");
    env_put("SLURM_CPUS_PER_TASK", "64");
    ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 32);
    ck_assert_str_eq(why, "32 physical cores allowed (hwloc allowed cpuset); "
                          "SLURM_CPUS_PER_TASK=64 allows as many");
    static const char *const bad[] = {"0", "-1", "four", "4,2", "4x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        env_put("SLURM_CPUS_PER_TASK", bad[i]);
        ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 32);
        ck_assert_msg(strstr(why, "ignored (not a positive integer)"), "%s: %s", bad[i], why);
    }
    env_put("SLURM_CPUS_PER_TASK", "");
    ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 32);
    ck_assert_msg(!strstr(why, "SLURM"), "empty counts as unset: %s", why);
    /* The smaller of the cgroup quota (6) and Slurm's count (3) wins, each said. */
    write_file(d, "cpu.max", "600000 100000\n");
    env_put("SLURM_CPUS_PER_TASK", "3");
    ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 3);
    ck_assert_msg(strstr(why, "capped to 6 by cgroup") && strstr(why, "capped to 3 by SLURM"),
                  "%s", why);
    env_put("SLURM_CPUS_PER_TASK", "8");
    ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 6);
    /* An explicit OMP_NUM_THREADS is the user's choice: Slurm's count does not cap it. */
    env_put("OMP_NUM_THREADS", "12");
    ck_assert_int_eq(dp_topo_default_threads(t, why, sizeof why), 12);
    ck_assert_str_eq(why, "OMP_NUM_THREADS=12");
    dp_topo_close(t);
    dp_testhook_set_cgroup_root(NULL);
    env_restore(&ss);
    env_restore(&so);
    rm_rf(d);
    free(d);
}
END_TEST

/* ---- this machine ---- */

static dp_topo *open_real(void)
{
    saved_env sx = env_set("HWLOC_XMLFILE", NULL), ss = env_set("HWLOC_SYNTHETIC", NULL);
    dp_topo *t = NULL;
    dp_error err = {0};
    dp_status st = dp_topo_open(&t, &err);
    env_restore(&sx), env_restore(&ss);
    ck_assert_msg(st == DP_OK, "dp_topo_open on this machine: %s", err.msg);
    return t;
}

typedef struct bind_job {
    const dp_topo *t;
    const dp_plan *p;
    int worker;
    dp_status st;
    dp_error err;
    int bound_ok, last_cpu;
} bind_job;

/* Each worker binds itself, then checks with its own hwloc topology that the kernel agrees. */
static void *bind_worker(void *arg)
{
    bind_job *j = arg;
    j->st = dp_topo_bind_self(j->t, j->p, j->worker, &j->err);
    if (j->st != DP_OK) return NULL;
    hwloc_topology_t topo;
    hwloc_topology_init(&topo);
    hwloc_topology_load(topo);
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    int pu = j->p->slots[j->worker].pu_os;
    if (hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_THREAD) == 0)
        j->bound_ok = hwloc_bitmap_weight(set) == 1 && hwloc_bitmap_isset(set, (unsigned)pu);
    /* Give the scheduler chances to move us if binding had not taken. */
    for (int i = 0; i < 100; i++) sched_yield();
    j->last_cpu = -1;
    if (hwloc_get_last_cpu_location(topo, set, HWLOC_CPUBIND_THREAD) == 0)
        j->last_cpu = hwloc_bitmap_first(set);
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(topo);
    return NULL;
}

START_TEST(test_real_bind)
{
    dp_topo *t = open_real();
    ck_assert_int_ge(dp_topo_allowed_pus(t), 1);
    ck_assert_int_ge(dp_topo_allowed_cores(t), 1);
    ck_assert_int_le(dp_topo_allowed_cores(t), dp_topo_allowed_pus(t));
    dp_plan p;
    plan_ok(t, 2, DP_BIND_COMPACT, &p);
    /* Both workers bind at once on the shared dp_topo (the trainer's pattern; TSan-clean). */
    bind_job jobs[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        jobs[i] = (bind_job){.t = t, .p = &p, .worker = i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, bind_worker, &jobs[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(jobs[i].st == DP_OK, "worker %d: %s", i, jobs[i].err.msg);
        ck_assert_msg(jobs[i].bound_ok, "worker %d not bound to PU %d alone", i, p.slots[i].pu_os);
        ck_assert_int_eq(jobs[i].last_cpu, p.slots[i].pu_os);
    }
    if (dp_topo_allowed_cores(t) >= 2) ck_assert_int_ne(p.slots[0].core, p.slots[1].core);
    char *r = report_of(t, &p);
    ck_assert_msg(strstr(r, "topology: this system"), "%s", r);
    ck_assert_msg(strstr(r, "worker 1 -> PU "), "%s", r);
    free(r);
    dp_plan_free(&p);
    dp_topo_close(t);
}
END_TEST

START_TEST(test_real_process_binding_restricts)
{
    /* As under `taskset -c N`: bind the process to one allowed PU, reopen, and the plan must
     * stay on it. */
    hwloc_topology_t topo;
    hwloc_topology_init(&topo);
    hwloc_topology_load(topo);
    hwloc_bitmap_t orig = hwloc_bitmap_alloc(), one = hwloc_bitmap_alloc();
    ck_assert_int_eq(hwloc_get_cpubind(topo, orig, HWLOC_CPUBIND_PROCESS), 0);
    int last = hwloc_bitmap_last(orig);
    if (hwloc_bitmap_weight(orig) < 2 || last < 0) {
        /* One PU to begin with: nothing to restrict. */
        hwloc_bitmap_free(orig), hwloc_bitmap_free(one);
        hwloc_topology_destroy(topo);
        return;
    }
    hwloc_bitmap_only(one, (unsigned)last);
    ck_assert_int_eq(hwloc_set_cpubind(topo, one, HWLOC_CPUBIND_PROCESS), 0);
    dp_topo *t = open_real();
    int pus = dp_topo_allowed_pus(t), cores = dp_topo_allowed_cores(t);
    dp_plan p;
    plan_ok(t, 2, DP_BIND_COMPACT, &p);
    char *r = report_of(t, &p);
    hwloc_set_cpubind(topo, orig, HWLOC_CPUBIND_PROCESS); /* restore before asserting */
    ck_assert_int_eq(pus, 1);
    ck_assert_int_eq(cores, 1);
    ck_assert_int_eq(p.slots[0].pu_os, last);
    ck_assert_int_eq(p.slots[1].pu_os, last);
    ck_assert_int_eq(p.slots[1].oversub, 1);
    ck_assert_msg(strstr(r, "process binding"), "%s", r);
    free(r);
    dp_plan_free(&p);
    dp_topo_close(t);
    hwloc_bitmap_free(orig), hwloc_bitmap_free(one);
    hwloc_topology_destroy(topo);
}
END_TEST

static Suite *topo_suite(void)
{
    Suite *s = suite_create("topo");
    TCase *syn_tc = tcase_create("synthetic");
    tcase_add_test(syn_tc, test_counts);
    tcase_add_test(syn_tc, test_compact_big);
    tcase_add_test(syn_tc, test_compact_smt_and_oversub);
    tcase_add_test(syn_tc, test_two_packages_no_smt);
    tcase_add_test(syn_tc, test_spread_big);
    tcase_add_test(syn_tc, test_none_and_errors);
    tcase_add_test(syn_tc, test_bind_synthetic_refused);
    tcase_add_test(syn_tc, test_report_and_summary);
    tcase_add_test(syn_tc, test_xml_restricted);
    suite_add_tcase(s, syn_tc);
    TCase *cg = tcase_create("cgroup");
    tcase_add_test(cg, test_cgroup_v2);
    tcase_add_test(cg, test_cgroup_v1);
    tcase_add_test(cg, test_default_threads);
    tcase_add_test(cg, test_default_threads_slurm);
    suite_add_tcase(s, cg);
    TCase *real = tcase_create("this machine");
    tcase_add_test(real, test_real_bind);
    tcase_add_test(real, test_real_process_binding_restricts);
    suite_add_tcase(s, real);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(topo_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
