/* CSV export: one long-format file that spreadsheets and any language read without a
 * parser for matrices: a header, then one row per parameter,
 *   layer,activation,tensor,row,col,value
 * with tensor W (row = input index, col = output index) or b (row 0), y = x·W + b followed by
 * the layer's activation; a leaky_relu layer adds tensor slope (row 0, col 0), its negative slope. Values are written with 9 significant digits (exact float32). */
#include "export.h"

#include <stdio.h>

#include "err.h"

static int put_tensor(FILE *f, int l, const char *act, const char *t, const float *v, int rows,
                      int cols)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            if (fprintf(f, "%d,%s,%s,%d,%d,%.9g\n", l, act, t, i, j,
                        (double)v[(size_t)i * (size_t)cols + (size_t)j]) < 0)
                return -1;
    return 0;
}

dp_status dp_export_csv(FILE *f, const dp_export_layer *L, int n_layers, dp_error *err)
{
    if (fputs("layer,activation,tensor,row,col,value\n", f) < 0)
        return dp_fail(err, DP_EIO, "csv export: write failed");
    for (int l = 0; l < n_layers; l++) {
        const char *act = dp_act_name(L[l].act);
        if (put_tensor(f, l, act, "W", L[l].w, L[l].in, L[l].out) != 0 ||
            put_tensor(f, l, act, "b", L[l].b, 1, L[l].out) != 0 ||
            (L[l].act == DP_ACT_LEAKY_RELU && put_tensor(f, l, act, "slope", &L[l].slope, 1, 1) != 0))
            return dp_fail(err, DP_EIO, "csv export: write failed");
    }
    return DP_OK;
}
