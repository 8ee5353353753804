/* The validation side of `dpmlp train`: the --val data (a directory in MNIST layout gives its
 * t10k files, anything else is read as CSV like --train) and the run's header line (log and
 * start-up report). Which validation flags go together is the engine's rule (dp_train_val). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "train_cmd.h"

int cli_load_val(const dp_opts *o, const dp_spec *spec, dp_dataset **val)
{
    *val = NULL;
    const char *path = dp_opts_get(o, "val");
    if (!path) return 0;
    dp_error err;
    struct stat sb;
    dp_status st;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = dp_data_load_mnist(path, 1, val, &err);
    } else {
        int n_targets = dp_spec_is_classification(spec) ? 0 : spec->sizes[spec->n_sizes - 1];
        st = dp_data_load_csv(path, spec->sizes[0], n_targets, val, &err);
    }
    if (st != DP_OK) return cli_fail(&err);
    if (dp_data_note(*val)) fprintf(stderr, "dpmlp: %s\n", dp_data_note(*val));
    return 0;
}

/* The data as the flags named them. */
static void data_names(const dp_opts *o, const char **train, const char **test)
{
    const char *dir = dp_opts_get(o, "data");
    *train = dir ? dir : dp_opts_get(o, "train");
    *test = dir ? dir : dp_opts_get(o, "test");
}

int cli_run_header(const dp_opts *o, const dp_spec *spec, const dp_train_config *cfg,
                   const cli_data *data, const dp_dataset *val, const char *resumed_from,
                   char *buf, size_t cap)
{
    char build[256];
    dp_build_info(build, sizeof build);
    size_t n = dp_data_count(data->train);
    size_t n_val = val ? dp_data_count(val) : dp_data_split_count(n, cfg->val_split);
    dp_log_run r = {spec, cfg, NULL, NULL, NULL, n - (val ? 0 : n_val), n_val,
                    dp_data_count(data->test), resumed_from, build};
    data_names(o, &r.train, &r.test);
    if (!data->test) r.test = NULL;
    r.val = val ? dp_opts_get(o, "val") : cfg->val_split > 0.0f ? "split of train" : NULL;
    return dp_log_header_json(buf, cap, &r);
}
