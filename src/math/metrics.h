/* The numbers `eval --metrics` reports, from a model's outputs: the confusion matrix and
 * per-class precision/recall/F1 for classification, MAE/RMSE/R² for regression. Pure
 * functions over arrays (the engine runs the forward pass). */
#ifndef DP_METRICS_H
#define DP_METRICS_H
#include <stddef.h>
#include <stdint.h>

/* The class a row of outputs predicts: argmax, or output > 0.5 for one sigmoid output (the
 * rule accuracy uses). */
int32_t dp_metrics_class_of(const float *row, size_t K);

/* conf[true * n_classes + predicted] += 1 for each of the m rows of y (m × K outputs).
 * Labels outside [0, n_classes) are not counted. */
void dp_metrics_confusion(uint64_t *conf, int n_classes, const float *y, size_t m, size_t K,
                          const int32_t *labels);

/* Per class c: precision = TP / predicted c, recall = TP / true c, F1 their harmonic mean,
 * each 0 where its denominator is 0; macro F1 is the mean of F1 over classes. */
void dp_metrics_from_confusion(const uint64_t *conf, int n_classes, double *precision,
                               double *recall, double *f1, double *macro_f1);

/* Over all n × K values: MAE, RMSE and R² = 1 - SS_res / SS_tot with SS_tot about each
 * output's mean (R² is NAN when SS_tot is 0: constant targets). */
void dp_metrics_regression(const float *y, const float *t, size_t n, size_t K, double *mae,
                           double *rmse, double *r2);

#endif
