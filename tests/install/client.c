/* A program that uses an installed libdpmlp the way the README's "Use it from C" shows:
 * trains XOR from arrays it holds, predicts with dp_model_predict, saves the model, loads it
 * back and checks that the loaded model predicts the same bytes. Built by
 * tests/cli/test_install.sh with `pkg-config --cflags --libs dpmlp` (shared) and --static.
 * Usage: client MODEL_PATH; exit 0 when XOR is learnt and the reload agrees. */
#include <dpmlp.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL_PATH\n", argv[0]);
        return 64;
    }
    if (dp_version_major() != DPMLP_VERSION_MAJOR) {
        fprintf(stderr, "header %s, library %s\n", DPMLP_VERSION, dp_version());
        return 1;
    }
    const float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    const int32_t y[4] = {0, 1, 1, 0};
    dp_error err;
    dp_dataset *data = NULL;
    if (dp_data_from_arrays(4, 2, &x[0][0], y, NULL, 0, &data, &err) != DP_OK) goto fail;

    dp_spec spec;
    if (dp_spec_parse_layers("2,8,2", &spec, &err) != DP_OK) goto fail;
    spec.hidden = DP_ACT_TANH;
    spec.loss = DP_LOSS_XENT; /* softmax over the two classes */
    dp_train_config cfg;
    dp_train_config_defaults(&cfg); /* adam, 1 thread */
    cfg.lr = 0.05f;
    cfg.epochs = 300;
    cfg.batch = 4;
    cfg.quiet = 1;
    dp_model *m = dp_model_create(&spec, 1, &err);
    if (!m || dp_train(m, data, NULL, &cfg, NULL, &err) != DP_OK) goto fail;

    float p[4][2], q[4][2];
    if (dp_model_predict(m, 4, &x[0][0], &p[0][0], &err) != DP_OK) goto fail;
    int learnt = 1;
    for (int i = 0; i < 4; i++) {
        int cls = p[i][1] > p[i][0];
        printf("%g XOR %g -> %d (p = %.4f)\n", x[i][0], x[i][1], cls, p[i][1]);
        learnt &= cls == y[i];
    }
    if (dp_model_save(m, argv[1], &err) != DP_OK) goto fail;
    dp_model *back = dp_model_load(argv[1], &err);
    if (!back || dp_model_predict(back, 4, &x[0][0], &q[0][0], &err) != DP_OK) goto fail;
    int same = memcmp(p, q, sizeof p) == 0;
    printf("learnt %s; reloaded model predicts %s\n", learnt ? "yes" : "NO",
           same ? "the same" : "DIFFERENTLY");
    dp_model_free(back);
    dp_model_free(m);
    dp_data_free(data);
    return learnt && same ? 0 : 1;
fail:
    fprintf(stderr, "client: %s\n", err.msg);
    return err.code ? (int)err.code : 1;
}
