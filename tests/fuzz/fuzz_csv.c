/* libFuzzer harness: the numeric CSV loader. Input: byte 0 picks n_in (1..64), byte 1 picks
 * n_targets (-1..4), the rest is the file. Loaded datasets are checked for shape, finite
 * values and labels in range (fz_csv in fuzz_targets.h). */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_report(fz_csv(fz_dir(), data, size));
    return 0;
}
