/* Datasets in memory: compact storage (IDX pixels stay uint8), validation against a model,
 * and the gather that turns a shard's sample indices into a dense float block.
 * Loaders: idx.c (MNIST layout, raw or gzip), csv.c (numeric CSV), data.c (the rest). */
#ifndef DP_DATA_H
#define DP_DATA_H
#include <stdint.h>
#include <stdio.h>

#include "dpmlp.h"

struct dp_dataset {
    size_t n;          /* samples */
    size_t n_in;       /* features per sample */
    size_t n_targets;  /* 0: integer class labels in `labels`; K > 0: float targets (n × K) */
    uint8_t *x_u8;     /* n × n_in pixels, scaled by 1/255 when gathered (IDX); or NULL */
    float *x_f32;      /* n × n_in features (CSV, synthetic); or NULL */
    int32_t *labels;   /* n class indices (>= 0) when n_targets == 0 */
    float *targets;    /* n × n_targets when n_targets > 0 */
    int32_t max_label; /* largest label, -1 when none (checked against the output size) */
    char source[256];  /* file or directory it came from, for messages */
    char labels_source[256]; /* the labels' file when they come from their own (IDX), else "" */
    char note[320];    /* what the user should hear about how it was read ("" for nothing) */
};

/* Allocates an empty dataset of the given shape (64-byte aligned arrays, all zero).
 * pixels_u8 selects x_u8 over x_f32. Fails with DP_EDATA if the shape is absurd. */
dp_status dp_data_alloc(size_t n, size_t n_in, size_t n_targets, int pixels_u8,
                        const char *source, dp_dataset **out, dp_error *err);

/* x (m × n_in, row-major) := features of samples idx[0..m), uint8 scaled to [0, 1]. */
void dp_data_gather(const dp_dataset *d, const uint32_t *idx, size_t m, float *x);

/* Targets of samples idx[0..m): labels (m) when n_targets == 0, else targets (m × K). */
void dp_data_gather_labels(const dp_dataset *d, const uint32_t *idx, size_t m, int32_t *labels);
void dp_data_gather_targets(const dp_dataset *d, const uint32_t *idx, size_t m, float *targets);

/* dp_data_synthetic is declared in dpmlp.h. */

/* idx.c: one image/label file pair; each path is tried as given, then with ".gz". */
dp_status dp_idx_load_pair(const char *images_path, const char *labels_path, dp_dataset **out,
                           dp_error *err);

/* csv.c: see dp_data_load_csv in dpmlp.h. */
dp_status dp_csv_load(const char *path, int n_in, int n_targets, dp_dataset **out,
                      dp_error *err);

/* Sanity limits applied to headers before allocating. */
#define DP_DATA_MAX_SAMPLES ((size_t)1 << 28)
#define DP_DATA_MAX_BYTES ((size_t)16 << 30)

#endif
