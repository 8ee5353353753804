/* LD_PRELOAD shim for tests/cli/test_team_start.sh: the k-th pthread_create of the process
 * fails with EAGAIN, as under a tight RLIMIT_NPROC, where k is DPMLP_TEST_FAIL_PTHREAD_CREATE
 * (unset or 0: never). Only this shim reads the variable; dpmlp itself knows nothing of it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static atomic_int calls;

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                   void *arg)
{
    static create_fn real;
    if (!real) real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
    const char *k = getenv("DPMLP_TEST_FAIL_PTHREAD_CREATE");
    int n = atomic_fetch_add(&calls, 1) + 1;
    if (k && atoi(k) == n) return EAGAIN;
    return real ? real(thread, attr, start, arg) : ENOSYS;
}
