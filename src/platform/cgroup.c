/* cgroup CPU quota lookup for the default thread count: read the process's cgroup from
 * /proc/self/cgroup, then cpu.max (v2) or cpu.cfs_quota_us/cpu.cfs_period_us (v1) from that
 * cgroup up to the mount root, since a parent's quota caps its children too. */
#include "cgroup.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testhooks.h"

#define CG_PATH 4096

/* Reads a small text file whole; 0 on success. */
static int read_small(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, size - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) return -1;
    buf[n] = '\0';
    return 0;
}

/* A non-negative decimal integer followed only by whitespace; 0 on success. */
static int parse_u64(const char *s, const char **end, unsigned long long *out)
{
    while (*s == ' ' || *s == '\t') s++;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    char *e;
    unsigned long long v = strtoull(s, &e, 10);
    if (errno) return -1;
    *out = v;
    if (end) *end = e;
    return 0;
}

static int only_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    return *s == '\0';
}

static int ceil_cpus(unsigned long long quota, unsigned long long period)
{
    unsigned long long c = quota / period + (quota % period != 0);
    return c > INT_MAX ? INT_MAX : (int)c;
}

typedef struct best {
    int cpus; /* tightest so far, 0 = none */
    char detail[160];
} best;

static void consider(best *b, int cpus, const char *what, unsigned long long q,
                     unsigned long long p)
{
    if (cpus <= 0 || (b->cpus > 0 && cpus >= b->cpus)) return;
    b->cpus = cpus;
    snprintf(b->detail, sizeof b->detail, "cgroup %s quota %llu/%llu", what, q, p);
}

/* v2: "max 100000" (no limit) or "200000 100000". Malformed files are ignored: a quota we
 * cannot read is no reason to refuse to train. */
static void try_v2(best *b, const char *dir)
{
    char path[CG_PATH + 16], buf[128];
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    if (read_small(path, buf, sizeof buf) != 0) return;
    const char *s = buf, *e;
    while (*s == ' ' || *s == '\t') s++;
    if (strncmp(s, "max", 3) == 0) return;
    unsigned long long q, p;
    if (parse_u64(s, &e, &q) != 0 || parse_u64(e, &e, &p) != 0 || !only_space(e)) return;
    if (q == 0 || p == 0) return;
    consider(b, ceil_cpus(q, p), "cpu.max", q, p);
}

/* v1: cpu.cfs_quota_us is -1 when unlimited. */
static void try_v1(best *b, const char *dir)
{
    char path[CG_PATH + 32], buf[64];
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    if (read_small(path, buf, sizeof buf) != 0) return;
    unsigned long long q, p;
    const char *e;
    if (parse_u64(buf, &e, &q) != 0 || !only_space(e) || q == 0) return; /* "-1" fails here */
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (read_small(path, buf, sizeof buf) != 0) return;
    if (parse_u64(buf, &e, &p) != 0 || !only_space(e) || p == 0) return;
    consider(b, ceil_cpus(q, p), "cpu.cfs_quota_us", q, p);
}

/* Visits base+path, then each parent directory down to base itself. Directories that do not
 * exist are simply skipped: inside a container without a cgroup namespace the path names the
 * host's hierarchy while the mount shows only the container's own cgroup at its root. */
static void walk(best *b, const char *base, const char *path, void (*try)(best *, const char *))
{
    char dir[CG_PATH];
    int n = snprintf(dir, sizeof dir, "%s%s%s", base, path[0] == '/' ? "" : "/", path);
    if (n < 0 || (size_t)n >= sizeof dir) return;
    size_t blen = strlen(base);
    while (blen > 1 && base[blen - 1] == '/') blen--;
    for (;;) {
        size_t len = strlen(dir);
        while (len > blen && dir[len - 1] == '/') dir[--len] = '\0';
        try(b, dir);
        if (len <= blen) break;
        char *slash = strrchr(dir + blen, '/');
        if (!slash) break;
        *slash = '\0';
    }
}

static int has_token(const char *list, const char *tok)
{
    size_t tl = strlen(tok);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == tl && strncmp(p, tok, tl) == 0) return 1;
        if (!c) break;
        p = c + 1;
    }
    return 0;
}

int dp_cgroup_cpu_limit(const char *root, const char *self_cgroup, char *detail, size_t len)
{
    if (!root) {
        root = dp_testhook_cgroup_root();
        if (!root) root = "/sys/fs/cgroup";
    }
    if (!self_cgroup) self_cgroup = "/proc/self/cgroup";

    /* Defaults when /proc/self/cgroup says nothing: look at the mount root only. */
    char v2path[CG_PATH] = "/", v1path[CG_PATH] = "/", v1ctl[256] = "cpu";
    FILE *f = fopen(self_cgroup, "r");
    if (f) {
        char line[CG_PATH + 300];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = '\0';
            char *c1 = strchr(line, ':');
            char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2) continue;
            *c1 = *c2 = '\0';
            const char *id = line, *ctl = c1 + 1, *path = c2 + 1;
            if (path[0] != '/') continue;
            if (strcmp(id, "0") == 0 && ctl[0] == '\0') {
                snprintf(v2path, sizeof v2path, "%s", path);
            } else if (has_token(ctl, "cpu")) {
                snprintf(v1path, sizeof v1path, "%s", path);
                snprintf(v1ctl, sizeof v1ctl, "%s", ctl);
            }
        }
        fclose(f);
    }

    best b = {0, ""};
    walk(&b, root, v2path, try_v2);
    /* v1 mounts the cpu controller as cpu, cpu,cpuacct or cpuacct,cpu depending on distro. */
    static const char *const v1dirs[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu"};
    char base[CG_PATH];
    snprintf(base, sizeof base, "%s/%s", root, v1ctl);
    walk(&b, base, v1path, try_v1);
    for (size_t i = 0; i < sizeof v1dirs / sizeof v1dirs[0]; i++) {
        if (strcmp(v1dirs[i], v1ctl) == 0) continue;
        snprintf(base, sizeof base, "%s/%s", root, v1dirs[i]);
        walk(&b, base, v1path, try_v1);
    }
    if (detail && len) snprintf(detail, len, "%s", b.cpus > 0 ? b.detail : "no cgroup CPU quota");
    return b.cpus;
}
