/* libFuzzer harness: the IDX pair loader on raw (uncompressed) files. Input: u16 LE length of
 * the images part, the images file, the labels file; loaded from an MNIST-layout directory
 * (dp_data_load_mnist → dp_idx_load_pair). See fuzz_targets.h for the contract checked. */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_report(fz_idx_raw(fz_dir(), data, size));
    return 0;
}
