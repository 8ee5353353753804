/* `dpmlp export`: a saved model written as ONNX, NumPy .npz or CSV for other tools, to a file
 * (atomically) or to standard output (`--out -`, refused on a terminal for the binary
 * formats: a screenful of protobuf helps nobody). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "common.h"

static const char EXPORT_HELP[] =
    "usage: dpmlp export --model FILE --format onnx|npz|csv --out FILE|-\n"
    "Writes a saved model for other tools ('-' = standard output; onnx and npz are refused on\n"
    "a terminal). The file is written atomically: complete or not at all.\n"
    "  onnx  opset 13: per layer Gemm(x, W<l>, b<l>, transB=1; W<l> stored outputs x inputs)\n"
    "        then its activation (Relu, Sigmoid, Tanh, Softmax; none for linear); input\n"
    "        \"input\" [batch, inputs], output \"output\"\n"
    "  npz   NumPy: W0, b0, W1, b1, ... (float32, W inputs x outputs: y = x @ W + b) and\n"
    "        `activations` (one name per layer: relu, sigmoid, tanh, linear, softmax)\n"
    "  csv   one row per parameter: layer,activation,tensor,row,col,value (tensor W: row =\n"
    "        input, col = output; tensor b: row 0)\n"
    "exit codes: 0 ok, 64 usage, 65 bad model file, 66 missing model, 74 write failed\n";

static const dp_opt_def EXPORT_OPTS[] = {{"model", DP_OPT_PATH}, {"format", DP_OPT_VALUE},
                                         {"out", DP_OPT_PATH},   {"help", DP_OPT_SWITCH},
                                         {NULL, 0}};

/* The library names a stream "<stream>"; say which one it was. */
static dp_status stream_export(const dp_model *m, int format, FILE *f, const char *name,
                               dp_error *err)
{
    dp_status st = dp_model_export_stream(m, (dp_export_format)format, f, err);
    if (st != DP_OK && !strncmp(err->msg, "<stream>", 8)) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg + 8);
        dp_fail(err, st, "%s%s", name, msg);
    }
    return st;
}

/* A path that exists and is not a regular file (/dev/stdout, a FIFO, /dev/full) is written
 * as a stream: the atomic write's rename would replace the device node itself. */
static dp_status export_to(const dp_model *m, int format, const char *out, dp_error *err)
{
    struct stat sb;
    if (!strcmp(out, "-")) return stream_export(m, format, stdout, "standard output", err);
    if (stat(out, &sb) != 0 || S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode))
        return dp_model_export(m, (dp_export_format)format, out, err);
    FILE *f = fopen(out, "wb");
    if (!f) return dp_fail(err, DP_EIO, "%s: cannot open: %s", out, strerror(errno));
    dp_status st = stream_export(m, format, f, out, err);
    if (fclose(f) != 0 && st == DP_OK)
        st = dp_fail(err, DP_EIO, "%s: cannot write: %s", out, strerror(errno));
    return st;
}

int cmd_export(int argc, char **argv)
{
    const char *cmd = "export";
    dp_opts o;
    dp_error err;
    int rc = cli_parse(cmd, argc, argv, EXPORT_OPTS, &o);
    if (rc) return rc;
    if (dp_opts_get(&o, "help")) {
        fputs(EXPORT_HELP, stdout);
        return 0;
    }
    const char *path = dp_opts_get(&o, "model"), *fmt = dp_opts_get(&o, "format");
    const char *out = dp_opts_get(&o, "out");
    if (!path) return cli_usage(cmd, "--model FILE is required");
    if (!fmt) return cli_usage(cmd, "--format onnx|npz|csv is required");
    if (!out) return cli_usage(cmd, "--out FILE is required ('-' for standard output)");
    int format;
    if ((rc = cli_check(cmd, dp_flag_choice("format", fmt, dp_names(DP_NAMES_EXPORT), &format,
                                            &err), &err)))
        return rc;
    int to_stdout = out[0] == '-' && !out[1];
    if (to_stdout && format != DP_EXPORT_CSV && isatty(STDOUT_FILENO))
        return cli_usage(cmd, "--format %s is binary: not written to a terminal (redirect it, "
                              "or give --out FILE)", fmt);
    struct stat a, b;
    if (!to_stdout && stat(path, &a) == 0 && stat(out, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        return cli_usage(cmd, "--model and --out name the same file '%s'", out);
    dp_model *m = dp_model_load(path, &err);
    if (!m) return cli_fail(&err);
    dp_status st = export_to(m, format, out, &err);
    dp_model_free(m);
    if (st != DP_OK) return to_stdout ? cli_fail_stdout(&err) : cli_fail(&err);
    return to_stdout ? cli_flush_stdout() : 0;
}
