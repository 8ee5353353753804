/* MPI glue for process-level data parallelism (built only with `make MPI=1`): init with
 * MPI_THREAD_FUNNELED, in-place allreduce of the flat gradient vector (chunked past INT_MAX
 * elements, timed for the epoch log), collective ok-flags and a hash check that every rank holds
 * the same bytes. Errors come back as DP_EINTERNAL with MPI's own message, never as an abort.
 *
 * Threading contract: only the thread that called dp_dist_init calls the others (FUNNELED).
 * Both team backends run worker 0 on the calling thread, so "worker 0 calls MPI" satisfies it.
 * Before dp_dist_init (or after dp_dist_finalize) this is rank 0 of 1 and every collective is
 * the identity, as in dist_single.c, so library users and unit tests need no MPI job. */
#include "dist.h"
#include "hash.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "err.h"

/* Largest count per MPI call (MPI counts are int). Tests shrink it to exercise chunking. */
#ifndef DP_DIST_MAX_COUNT
#define DP_DIST_MAX_COUNT INT_MAX
#endif

static int g_active;            /* between a successful init and finalize */
static int g_rank = 0, g_size = 1;
static double g_allreduce_s;    /* accumulated since the last take */
static char g_describe[128];

/* "MPI_Allreduce failed: <MPI's error string>" into err. */
static dp_status mpi_fail(dp_error *err, int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING + 1];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS || len <= 0)
        len = snprintf(msg, sizeof msg, "MPI error code %d", rc);
    msg[len < (int)sizeof msg ? len : (int)sizeof msg - 1] = '\0';
    return dp_fail(err, DP_EINTERNAL, "%s failed on rank %d of %d: %s", what, g_rank, g_size, msg);
}

static const char *thread_level_name(int level)
{
    switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
    default: return "an unknown thread level";
    }
}

dp_status dp_dist_init(int *argc, char ***argv, dp_error *err)
{
    if (g_active) return DP_OK;
    int provided = MPI_THREAD_SINGLE;
    int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "MPI_Init_thread");
    /* The default handler aborts the job on any error; we want a message and an exit code. */
    rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    if (rc != MPI_SUCCESS) {
        dp_status st = mpi_fail(err, rc, "MPI setup");
        MPI_Finalize();
        g_rank = 0, g_size = 1;
        return st;
    }
    if (provided < MPI_THREAD_FUNNELED) {
        /* Every rank runs the same library, so every rank refuses: finalizing is safe. */
        dp_status st = dp_fail(err, DP_EINTERNAL,
                               "the MPI library provides only %s; dpmlp needs "
                               "MPI_THREAD_FUNNELED (worker threads around MPI calls)",
                               thread_level_name(provided));
        MPI_Finalize();
        g_rank = 0, g_size = 1;
        return st;
    }
    g_active = 1;
    g_allreduce_s = 0.0;
    return DP_OK;
}

void dp_dist_finalize(void)
{
    if (!g_active) return;
    g_active = 0;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
    g_rank = 0, g_size = 1;
}

int dp_dist_rank(void) { return g_rank; }
int dp_dist_size(void) { return g_size; }

/* The library's first line, cut at the first comma ("Open MPI v4.1.4, package: …" →
 * "Open MPI v4.1.4"), or "MPI x.y" from the standard version. Valid before MPI_Init. */
const char *dp_dist_describe(void)
{
    if (g_describe[0]) return g_describe;
    char lib[MPI_MAX_LIBRARY_VERSION_STRING + 1];
    int len = 0;
    if (MPI_Get_library_version(lib, &len) == MPI_SUCCESS && len > 0) {
        lib[len < (int)sizeof lib ? len : (int)sizeof lib - 1] = '\0';
        size_t end = strcspn(lib, "\r\n,");
        size_t start = 0;
        while (start < end && (lib[start] == ' ' || lib[start] == '\t')) start++;
        while (end > start && (lib[end - 1] == ' ' || lib[end - 1] == '\t')) end--;
        if (end > start) {
            snprintf(g_describe, sizeof g_describe, "%.*s", (int)(end - start), lib + start);
            return g_describe;
        }
    }
    int major = 0, minor = 0;
    if (MPI_Get_version(&major, &minor) != MPI_SUCCESS) major = minor = 0;
    snprintf(g_describe, sizeof g_describe, "MPI %d.%d", major, minor);
    return g_describe;
}

/* MPI counts are int: sum n elements in chunks of at most DP_DIST_MAX_COUNT (INT_MAX). */
static dp_status allreduce(void *buf, size_t n, size_t elem, MPI_Datatype type, dp_error *err)
{
    if (!g_active || g_size == 1 || n == 0) return DP_OK;
    double t0 = MPI_Wtime();
    char *p = buf;
    dp_status st = DP_OK;
    while (n > 0) {
        int count = n > (size_t)DP_DIST_MAX_COUNT ? (int)DP_DIST_MAX_COUNT : (int)n;
        int rc = MPI_Allreduce(MPI_IN_PLACE, p, count, type, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) {
            st = mpi_fail(err, rc, "MPI_Allreduce");
            break;
        }
        p += (size_t)count * elem;
        n -= (size_t)count;
    }
    g_allreduce_s += MPI_Wtime() - t0;
    return st;
}

dp_status dp_dist_allreduce_floats(float *buf, size_t n, dp_error *err)
{
    return allreduce(buf, n, sizeof *buf, MPI_FLOAT, err);
}

dp_status dp_dist_allreduce_doubles(double *buf, size_t n, dp_error *err)
{
    return allreduce(buf, n, sizeof *buf, MPI_DOUBLE, err);
}

/* A failed collective counts as "not ok": the caller then stops, which is the safe side. */
int dp_dist_all_ok(int ok)
{
    int v = ok ? 1 : 0;
    if (!g_active || g_size == 1) return v;
    int all = 0;
    if (MPI_Allreduce(&v, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS) return 0;
    return all;
}

/* 64-bit FNV-1a over the length and the bytes. */
static uint64_t fnv1a64(const void *bytes, size_t len)
{
    return dp_hash64(dp_hash64_u64(DP_HASH64_INIT, (uint64_t)len), bytes, len);
}

/* One allreduce with MPI_MAX over {h, ~h} gives max(h) and ~min(h): equal iff all agree. */
int dp_dist_same_everywhere(const void *bytes, size_t len)
{
    if (!g_active || g_size == 1) return 1;
    uint64_t h = fnv1a64(bytes, len);
    uint64_t v[2] = {h, ~h}, r[2] = {0, 0};
    if (MPI_Allreduce(v, r, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) return 0;
    return r[0] == h && ~r[1] == h;
}

void dp_dist_abort(int code)
{
    fflush(stdout);
    fflush(stderr);
    if (g_active && g_size > 1) MPI_Abort(MPI_COMM_WORLD, code);
    /* One rank (or no MPI job): finalize and let the caller exit with its code, which keeps
     * the code and skips mpirun's banner. */
    if (g_active) {
        g_active = 0;
        MPI_Finalize();
    }
}

double dp_dist_take_allreduce_seconds(void)
{
    double s = g_allreduce_s;
    g_allreduce_s = 0.0;
    return s;
}
