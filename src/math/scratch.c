/* The kernels' per-thread scratch buffer (scratch.h): one per thread, kept across calls
 * because the wide layers ask for it on every GEMM of every step. */
#include "scratch.h"
#include <pthread.h>
#include <stdlib.h>

static pthread_key_t key;
static int key_ok;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static __thread float *buf;
static __thread size_t buf_floats;

static void key_init(void) { key_ok = pthread_key_create(&key, free) == 0; }

float *dp_scratch_floats(size_t n)
{
    if (buf && n <= buf_floats) return buf;
    pthread_once(&key_once, key_init);
    if (!key_ok) return NULL;
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p || pthread_setspecific(key, p) != 0) {
        free(p);
        return NULL; /* the old buffer, if any, stays registered and is freed at exit */
    }
    free(buf);
    buf = p;
    buf_floats = bytes / sizeof(float);
    return buf;
}
