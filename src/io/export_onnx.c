/* ONNX export: a ModelProto (IR version 7, opset 13) whose graph is one Gemm per layer with
 * its activation, input "input" [batch, inputs] with a symbolic batch dimension, output
 * "output", float32 initializers W<l> (outputs × inputs, used with transB = 1) and b<l>. Messages are encoded by
 * export_pb.c; the field numbers below are those of onnx.proto. */
#include "export.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

/* onnx.proto field numbers and enum values used here. */
enum {
    MODEL_IR_VERSION = 1, MODEL_PRODUCER = 2, MODEL_PRODUCER_VERSION = 3, MODEL_GRAPH = 7,
    MODEL_OPSET = 8, OPSET_DOMAIN = 1, OPSET_VERSION = 2,
    GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INIT = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12,
    NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP = 4, NODE_ATTR = 5,
    ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_TYPE = 20, ATTR_FLOAT = 1, ATTR_INT = 2,
    TENSOR_DIMS = 1, TENSOR_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW = 9, TENSOR_FLOAT = 1,
    VI_NAME = 1, VI_TYPE = 2, TYPE_TENSOR = 1, TT_ELEM = 1, TT_SHAPE = 2,
    SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2,
    IR_VERSION = 7, OPSET = 13
};

/* A float32 initializer of dims (nd of them) from v, row-major; with `transpose` v holds the
 * dims[1] × dims[0] matrix whose transpose this is. */
static void put_tensor(dp_buf *g, const char *name, const int64_t *dims, int nd,
                       const float *v, size_t n, int transpose)
{
    dp_buf t = {0};
    for (int i = 0; i < nd; i++) dp_pb_int(&t, TENSOR_DIMS, dims[i]);
    dp_pb_int(&t, TENSOR_TYPE, TENSOR_FLOAT);
    dp_pb_str(&t, TENSOR_NAME, name);
    dp_buf raw = {0};
    if (transpose)
        for (size_t r = 0; r < (size_t)dims[0]; r++)
            for (size_t c = 0; c < (size_t)dims[1]; c++)
                dp_buf_f32s(&raw, v + c * (size_t)dims[0] + r, 1);
    else
        dp_buf_f32s(&raw, v, n);
    if (raw.failed) t.failed = 1;
    dp_pb_bytes(&t, TENSOR_RAW, raw.p, raw.len);
    dp_buf_free(&raw);
    dp_pb_msg(g, GRAPH_INIT, &t);
}

/* Constants are shape [1], broadcast by the operators: OpenCV 4.6 mishandles 0-d tensors. */
static void put_scalar(dp_buf *g, const char *name, float v)
{
    int64_t one[1] = {1};
    put_tensor(g, name, one, 1, &v, 1, 0);
}

/* A node with up to two inputs, one output and an optional float or int attribute. */
typedef struct node_attr {
    const char *name;
    int is_int;
    float f;
    int64_t i;
} node_attr;

static void put_node(dp_buf *g, const char *op, const char *in0, const char *in1,
                     const char *in2, const char *out, const node_attr *attr)
{
    dp_buf n = {0};
    dp_pb_str(&n, NODE_INPUT, in0);
    if (in1) dp_pb_str(&n, NODE_INPUT, in1);
    if (in2) dp_pb_str(&n, NODE_INPUT, in2);
    dp_pb_str(&n, NODE_OUTPUT, out);
    dp_pb_str(&n, NODE_NAME, out); /* outputs are unique, so they name their nodes */
    dp_pb_str(&n, NODE_OP, op);
    if (attr) {
        dp_buf a = {0};
        dp_pb_str(&a, ATTR_NAME, attr->name);
        if (attr->is_int)
            dp_pb_int(&a, ATTR_I, attr->i);
        else
            dp_pb_float(&a, ATTR_F, attr->f);
        dp_pb_int(&a, ATTR_TYPE, attr->is_int ? ATTR_INT : ATTR_FLOAT);
        dp_pb_msg(&n, NODE_ATTR, &a);
    }
    dp_pb_msg(g, GRAPH_NODE, &n);
}

/* GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) from Mul, Add and
 * Tanh (opset 13 has no Gelu operator). x³ is x·x·x, not Pow: OpenCV 4.6 folds a Mul by a
 * constant after Pow into Pow's input scale, computing (0.044715·x)³. Constants are
 * per-layer initializers. */
static void put_gelu(dp_buf *g, int l, const char *x, const char *y)
{
    static const char *const parts[] = {"k", "c", "one", "half", "x2", "x3", "kx3", "s",
                                        "cs", "t", "t1", "xt"};
    char nm[12][32];
    for (int i = 0; i < 12; i++) snprintf(nm[i], sizeof nm[i], "gelu%d_%s", l, parts[i]);
    put_scalar(g, nm[0], 0.044715f);
    put_scalar(g, nm[1], (float)sqrt(2.0 / M_PI));
    put_scalar(g, nm[2], 1.0f);
    put_scalar(g, nm[3], 0.5f);
    put_node(g, "Mul", x, x, NULL, nm[4], NULL);
    put_node(g, "Mul", nm[4], x, NULL, nm[5], NULL);
    put_node(g, "Mul", nm[5], nm[0], NULL, nm[6], NULL);
    put_node(g, "Add", x, nm[6], NULL, nm[7], NULL);
    put_node(g, "Mul", nm[7], nm[1], NULL, nm[8], NULL);
    put_node(g, "Tanh", nm[8], NULL, NULL, nm[9], NULL);
    put_node(g, "Add", nm[9], nm[2], NULL, nm[10], NULL);
    put_node(g, "Mul", x, nm[10], NULL, nm[11], NULL);
    put_node(g, "Mul", nm[11], nm[3], NULL, y, NULL);
}

/* The activation node(s) from x to y; linear writes none (the Gemm is named y instead). */
static void put_act(dp_buf *g, int l, dp_onnx_act act, float alpha, const char *x,
                    const char *y)
{
    static const char *const ops[] = {[DP_ONNX_RELU] = "Relu", [DP_ONNX_SIGMOID] = "Sigmoid",
                                      [DP_ONNX_TANH] = "Tanh", [DP_ONNX_SOFTMAX] = "Softmax"};
    node_attr slope = {"alpha", 0, alpha, 0}, axis = {"axis", 1, 0.0f, -1};
    switch (act) {
    case DP_ONNX_LINEAR: break;
    case DP_ONNX_LEAKY_RELU: put_node(g, "LeakyRelu", x, NULL, NULL, y, &slope); break;
    case DP_ONNX_GELU_TANH: put_gelu(g, l, x, y); break;
    case DP_ONNX_SOFTMAX: put_node(g, ops[act], x, NULL, NULL, y, &axis); break;
    default: put_node(g, ops[act], x, NULL, NULL, y, NULL); break;
    }
}

/* A float tensor [batch, width] value info ("batch" is the symbolic dimension). */
static void put_value_info(dp_buf *g, int field, const char *name, int width)
{
    dp_buf d0 = {0}, d1 = {0}, shape = {0}, tt = {0}, type = {0}, vi = {0};
    dp_pb_str(&d0, DIM_PARAM, "batch");
    dp_pb_int(&d1, DIM_VALUE, width);
    dp_pb_msg(&shape, SHAPE_DIM, &d0);
    dp_pb_msg(&shape, SHAPE_DIM, &d1);
    dp_pb_int(&tt, TT_ELEM, TENSOR_FLOAT);
    dp_pb_msg(&tt, TT_SHAPE, &shape);
    dp_pb_msg(&type, TYPE_TENSOR, &tt);
    dp_pb_str(&vi, VI_NAME, name);
    dp_pb_msg(&vi, VI_TYPE, &type);
    dp_pb_msg(g, field, &vi);
}

static void put_graph(dp_buf *g, const dp_export_layer *L, int n, const dp_onnx_act *acts,
                      const float *alphas)
{
    char x[32] = "input", gemm[32], y[32], w[32], b[32];
    dp_pb_str(g, GRAPH_NAME, "dpmlp");
    for (int l = 0; l < n; l++) {
        snprintf(w, sizeof w, "W%d", l);
        snprintf(b, sizeof b, "b%d", l);
        /* W stored outputs × inputs with transB = 1, the layout PyTorch exports: every
         * runtime takes it (OpenCV 4.6 refuses a Gemm without transB). */
        int64_t wd[2] = {L[l].out, L[l].in}, bd[1] = {L[l].out};
        put_tensor(g, w, wd, 2, L[l].w, (size_t)L[l].in * (size_t)L[l].out, 1);
        put_tensor(g, b, bd, 1, L[l].b, (size_t)L[l].out, 0);
        if (l == n - 1)
            snprintf(y, sizeof y, "output");
        else
            snprintf(y, sizeof y, "h%d", l);
        if (acts[l] == DP_ONNX_LINEAR)
            snprintf(gemm, sizeof gemm, "%s", y);
        else
            snprintf(gemm, sizeof gemm, "gemm%d", l);
        node_attr trans_b = {"transB", 1, 0.0f, 1};
        put_node(g, "Gemm", x, w, b, gemm, &trans_b);
        put_act(g, l, acts[l], alphas ? alphas[l] : 0.0f, gemm, y);
        snprintf(x, sizeof x, "%s", y);
    }
    put_value_info(g, GRAPH_INPUT, "input", L[0].in);
    put_value_info(g, GRAPH_OUTPUT, "output", L[n - 1].out);
}

dp_status dp_export_onnx(FILE *f, const dp_export_layer *L, int n_layers,
                         const dp_onnx_act *acts, const float *alphas, dp_error *err)
{
    dp_buf m = {0}, opset = {0}, g = {0};
    dp_pb_int(&m, MODEL_IR_VERSION, IR_VERSION);
    dp_pb_str(&m, MODEL_PRODUCER, "dpmlp");
    dp_pb_str(&m, MODEL_PRODUCER_VERSION, DPMLP_VERSION);
    dp_pb_str(&opset, OPSET_DOMAIN, "");
    dp_pb_int(&opset, OPSET_VERSION, OPSET);
    dp_pb_msg(&m, MODEL_OPSET, &opset);
    put_graph(&g, L, n_layers, acts, alphas);
    dp_pb_msg(&m, MODEL_GRAPH, &g);
    dp_status st = DP_OK;
    if (m.failed)
        st = dp_fail(err, DP_EINTERNAL, "onnx export: out of memory");
    else if (fwrite(m.p, 1, m.len, f) != m.len)
        st = dp_fail(err, DP_EIO, "onnx export: write failed");
    dp_buf_free(&m);
    return st;
}
