/* Model files (model_file.c) and checkpoints (ckpt_file.c), written through atomic_write.c
 * (shared helpers in fileio.h, byte codecs in bytes.h): versioned little-endian formats with a
 * CRC-32 (zlib), atomic writes (temp file in the same directory, fsync, rename, fsync of the
 * directory), and loads that validate every field before trusting or allocating from it.
 *
 * Model file layout (all integers little-endian):
 *   magic "DPMLPMDL" (8 bytes) | u32 format version | u32 endianness marker 0x01020304
 *   | u32 n_sizes | u32 sizes[n_sizes] | u32 hidden act | u32 loss
 *   | (version 2 on:) u32 act[n_sizes - 1] (every weight layer's, the output's last)
 *     | f32 leaky_slope
 *   | u64 n_params | f32 params[n_params] (IEEE-754, little-endian)
 *   | u32 crc32 of every byte before it
 * Version 1 files still load: their hidden and loss give the per-layer activations (the
 * loss's default output), leaky_slope 0 (no version 1 file has a leaky_relu). */
#ifndef DP_CKPT_H
#define DP_CKPT_H
#include <stddef.h>
#include <stdio.h>

#include "dpmlp.h"

#define DP_MODEL_FORMAT_VERSION 2u
#define DP_MODEL_OLDEST_VERSION 1u

dp_status dp_model_file_save(const char *path, const dp_spec *spec, const float *params,
                             size_t n_params, dp_error *err);
/* *params is allocated with dp_alloc (64-byte aligned); free with dp_free. */
dp_status dp_model_file_load(const char *path, dp_spec *spec, float **params, size_t *n_params,
                             dp_error *err);

/* Checkpoint files: the full training state (dp_train_state), the spec and the run's
 * configuration, so `train --resume` continues bit-exactly.
 *
 * Layout (little-endian): magic "DPMLPCKP" | u32 version | u32 endianness marker 0x01020304
 * | u32 n_sizes | u32 sizes[] | u32 hidden | u32 loss
 * | config: u32 optim, f32 lr, momentum, weight_decay, beta1, beta2, eps, u32 epochs,
 *   u32 batch, u64 seed, u32 threads, u32 reduce
 * | state: u32 epoch, u64 next_step, u64 global_step, u64 n_train, f64 epoch_loss,
 *   u64 epoch_samples, u64 epoch_steps, u64 n_params, u32 n_moments
 *   (version 2 on:) u64 data_fingerprint, u32 deterministic
 *   (version 3 on:) u32 n_act, f32 leaky_slope, u32 act[DP_MAX_SIZES - 1] (the spec's per-layer
 *   activations, dp_spec), f32 dropout[DP_MAX_SIZES - 2] (per hidden layer),
 *   f32 val_split, u32 early_stop, u32 schedule, u64 warmup, f32 lr_min,
 *   u32 lr_step, f32 lr_gamma, u32 plateau_patience, f32 plateau_factor, u32 best_epoch,
 *   f64 best_loss, u32 bad_epochs, u32 plateau_bad, u32 lr_cuts, u32 precision
 * | f32 params[n_params] | f32 m1[n_params] if n_moments >= 1 | f32 m2[...] if n_moments == 2
 * | f32 best_params[n_params] if best_epoch > 0 (version 3)
 * | u32 perm[n_train] | u32 crc32 of every byte before it
 * The one description of these fields is the table in ckpt_file.c. Version 1 files still load
 * (data_fingerprint 0 = not recorded, deterministic 0), and version 2 files (n_act 0: the
 * spec's hidden and loss give the activations; no dropout, no validation, constant schedule,
 * fp32). */
#define DP_CKPT_FORMAT_VERSION 3u
#define DP_CKPT_OLDEST_VERSION 1u

/* Refuses (DP_EINTERNAL) a state the loader would reject; DP_EIO when the write fails. */
dp_status dp_ckpt_save(const char *path, const dp_spec *spec, const dp_train_config *cfg,
                       const dp_train_state *state, dp_error *err);
/* Validates everything (magic, version, endianness, sizes against the real file size before
 * allocating, enum ranges, n_params against the spec, perm is a permutation, next_step <=
 * ceil(n_train / batch), every counter within what a real run reaches (so resuming cannot
 * overflow one), finite parameters and moments, CRC) and fills
 * spec, cfg (only the fields stored above; others zero) and state (arrays allocated with
 * dp_alloc; free with dp_train_state_free). DP_EDATA for anything wrong, DP_ENOINPUT when the
 * file cannot be opened. */
dp_status dp_ckpt_load(const char *path, dp_spec *spec, dp_train_config *cfg,
                       dp_train_state *state, dp_error *err);

/* Atomic write: `write_body` writes the whole content to f (return 0 on success); the file
 * appears at `path` complete or not at all, and an existing file there stays intact on any
 * failure (DP_EIO with the reason: disk full, unwritable directory …). */
dp_status dp_atomic_write(const char *path, int (*write_body)(FILE *f, void *ctx), void *ctx,
                          dp_error *err);

#endif
