/* Model files (and later checkpoints): versioned little-endian format with a CRC-32 (zlib),
 * atomic writes (temp file in the same directory, fsync, rename, fsync of the directory),
 * and loads that validate every field before trusting or allocating from it.
 *
 * Model file layout (all integers little-endian):
 *   magic "DPMLPMDL" (8 bytes) | u32 format version | u32 endianness marker 0x01020304
 *   | u32 n_sizes | u32 sizes[n_sizes] | u32 hidden act | u32 loss | u64 n_params
 *   | f32 params[n_params] (IEEE-754, little-endian) | u32 crc32 of every byte before it */
#ifndef DP_CKPT_H
#define DP_CKPT_H
#include <stddef.h>
#include <stdio.h>

#include "dpmlp.h"

#define DP_MODEL_FORMAT_VERSION 1u

dp_status dp_model_file_save(const char *path, const dp_spec *spec, const float *params,
                             size_t n_params, dp_error *err);
/* *params is allocated with dp_alloc (64-byte aligned); free with dp_free. */
dp_status dp_model_file_load(const char *path, dp_spec *spec, float **params, size_t *n_params,
                             dp_error *err);

/* Atomic write: `write_body` writes the whole content to f (return 0 on success); the file
 * appears at `path` complete or not at all, and an existing file there stays intact on any
 * failure (DP_EIO with the reason: disk full, unwritable directory …). */
dp_status dp_atomic_write(const char *path, int (*write_body)(FILE *f, void *ctx), void *ctx,
                          dp_error *err);

#endif
