/* Kernel-path forcing and operand generator for the math suites (kernel_paths.h). */
#include "kernel_paths.h"

#include <check.h>
#include <string.h>

#include "kernels.h"

const char *const KP_PATHS[] = {"portable", "avx2", "avx512"};

int kp_use_path(int p)
{
    const char *got = dp_kernels_select(KP_PATHS[p]);
    ck_assert_ptr_nonnull(got);
    if (strcmp(got, KP_PATHS[p]) != 0) return 0;
    ck_assert_str_eq(dp_kernels_path(), KP_PATHS[p]);
    return 1;
}

int kp_use_gemm(int c)
{
    if (c < 2) {
        dp_gemm_tile_select("auto");
        return kp_use_path(c);
    }
    const char *tile = dp_gemm_tile_name((size_t)(c - 2));
    if (!tile || !kp_use_path(2)) return 0;
    ck_assert_str_eq(dp_gemm_tile_select(tile), tile);
    return 1;
}

float kp_frand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (float)((*s >> 40) * (1.0 / (1 << 23))) - 1.0f;
}
