/* libFuzzer harness: the IDX pair loader on gzip files: valid members built from the fuzz
 * bytes, multi-member files, damaged members (truncated, flipped, lying ISIZE, trailing junk)
 * and raw fuzz bytes under a .gz name. Input layout: fz_idx_gz in fuzz_targets.h. */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_report(fz_idx_gz(fz_dir(), data, size));
    return 0;
}
