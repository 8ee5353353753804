/* What every libFuzzer harness shares: one private temp directory per process (created on the
 * first input, reused, removed at exit) and turning a contract violation into an abort, which
 * libFuzzer records as a crash with the input that caused it. */
#ifndef DP_FUZZ_HARNESS_H
#define DP_FUZZ_HARNESS_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_targets.h"

static char fz_tmp[FZ_PATH];

static int fz_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fz_cleanup(void)
{
    if (fz_tmp[0]) nftw(fz_tmp, fz_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *fz_dir(void)
{
    if (!fz_tmp[0]) {
        /* Every input is written to a file, so a disk-backed /tmp makes each run wait for the
         * filesystem (ten times slower here); prefer memory unless TMPDIR says otherwise. */
        const char *t = getenv("TMPDIR");
        if (!t || !*t) t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fz_tmp, sizeof fz_tmp, "%s/dpmlp-fuzz-XXXXXX", t);
        if (!mkdtemp(fz_tmp)) {
            perror("dpmlp fuzz: mkdtemp");
            abort();
        }
        atexit(fz_cleanup);
    }
    return fz_tmp;
}

static void fz_report(const char *bad)
{
    if (!bad) return;
    fprintf(stderr, "dpmlp fuzz: contract violated: %s\n", bad);
    abort();
}

#endif
