/* Classification and regression metrics (metrics.h), summed in double in row order so the
 * result does not depend on how the forward pass was split across workers. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

#include "fmath.h"

int32_t dp_metrics_class_of(const float *row, size_t K)
{
    return K == 1 ? row[0] > 0.5f : (int32_t)dp_argmax(row, K);
}

void dp_metrics_confusion(uint64_t *conf, int n_classes, const float *y, size_t m, size_t K,
                          const int32_t *labels)
{
    for (size_t i = 0; i < m; i++) {
        int32_t p = dp_metrics_class_of(y + i * K, K), t = labels[i];
        if (t >= 0 && t < n_classes && p >= 0 && p < n_classes)
            conf[(size_t)t * (size_t)n_classes + (size_t)p]++;
    }
}

void dp_metrics_from_confusion(const uint64_t *conf, int n_classes, double *precision,
                               double *recall, double *f1, double *macro_f1)
{
    size_t K = (size_t)n_classes;
    double f1_sum = 0.0;
    for (size_t c = 0; c < K; c++) {
        uint64_t tp = conf[c * K + c], predicted = 0, actual = 0;
        for (size_t j = 0; j < K; j++) {
            predicted += conf[j * K + c];
            actual += conf[c * K + j];
        }
        double p = predicted ? (double)tp / (double)predicted : 0.0;
        double r = actual ? (double)tp / (double)actual : 0.0;
        precision[c] = p;
        recall[c] = r;
        f1[c] = p + r > 0.0 ? 2.0 * p * r / (p + r) : 0.0;
        f1_sum += f1[c];
    }
    *macro_f1 = K ? f1_sum / (double)K : 0.0;
}

void dp_metrics_regression(const float *y, const float *t, size_t n, size_t K, double *mae,
                           double *rmse, double *r2)
{
    double abs_sum = 0.0, sq_sum = 0.0, ss_tot = 0.0;
    for (size_t j = 0; j < K; j++) {
        double mean = 0.0;
        for (size_t i = 0; i < n; i++) mean += t[i * K + j];
        mean = n ? mean / (double)n : 0.0;
        for (size_t i = 0; i < n; i++) {
            double e = (double)y[i * K + j] - t[i * K + j], d = t[i * K + j] - mean;
            abs_sum += fabs(e);
            sq_sum += e * e;
            ss_tot += d * d;
        }
    }
    double count = n > 0 && K > 0 ? (double)(n * K) : 1.0;
    *mae = abs_sum / count;
    *rmse = sqrt(sq_sum / count);
    *r2 = ss_tot > 0.0 ? 1.0 - sq_sum / ss_tot : NAN;
}
