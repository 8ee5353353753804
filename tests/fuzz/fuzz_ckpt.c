/* libFuzzer harness: model files (dp_model_load) and checkpoints (dp_checkpoint_load) on the
 * same bytes. Input: a flags byte (bit 0: fix up the trailing CRC-32 so mutations get past the
 * checksum to the semantic checks), then the file (fz_ckpt in fuzz_targets.h). */
#include "fuzz_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_report(fz_ckpt(fz_dir(), data, size));
    return 0;
}
