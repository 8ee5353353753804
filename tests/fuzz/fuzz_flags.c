/* libFuzzer harness: the flag parser and the flag → spec / train config conversion, which
 * never print or exit. Input: a mode byte (train, eval, predict, topo tables), then argv as
 * NUL-separated strings, at most 40 (fz_flags in fuzz_targets.h). No files involved. */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *bad = fz_flags(data, size);
    if (bad) {
        fprintf(stderr, "dpmlp fuzz: contract violated: %s\n", bad);
        abort();
    }
    return 0;
}
