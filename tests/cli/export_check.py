"""Export round trips for tests/cli/test_export.sh (run with Debian's /usr/bin/python3).

usage: export_check.py graph MODEL.onnx ACT,ACT,...   (e.g. gelu_tanh,leaky_relu:0.1,softmax)
       export_check.py onnx MODEL.onnx INPUT.csv PROBA.txt
       export_check.py npz  MODEL.npz  INPUT.csv PROBA.txt
       export_check.py csv  MODEL.csv  INPUT.csv PROBA.txt
graph: the ONNX graph (onnx.checker, then the evaluator) on random rows against a NumPy
forward pass with the weights of its initializers W<l>, b<l> and the activations named.
Otherwise: checks the file (onnx.checker for ONNX), runs a forward pass of its own over the CSV's feature
columns (a small NumPy evaluator of the ONNX operators dpmlp writes; plain NumPy for npz and
csv) and compares it with `dpmlp predict --proba`'s output: exit 0 when every value is within
1e-5 (relative to the value above 1: predict prints 6 significant digits), else 1 with the
largest difference."""
import sys

import numpy as np

TOL = 1e-5


def act(name, x, alpha=0.01):
    if name == "relu":
        return np.maximum(x, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "linear":
        return x
    if name == "leaky_relu":
        return np.where(x >= 0, x, alpha * x)
    if name == "gelu":
        return gelu_tanh(x)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise SystemExit(f"unknown activation {name!r}")


def run_onnx(path, x):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    g = model.graph
    assert model.opset_import[0].version == 13, model.opset_import
    assert [i.name for i in g.input] == ["input"], g.input
    batch = g.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.dim_value, "batch dimension must be symbolic"
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    for t in g.initializer:
        assert t.data_type == onnx.TensorProto.FLOAT, t.name
    env["input"] = x
    for n in g.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        i = [env[k] for k in n.input]
        op = n.op_type
        if op == "Gemm":
            assert not a.get("transA")
            w = i[1].T if a.get("transB") else i[1]
            y = a.get("alpha", 1.0) * (i[0] @ w) + a.get("beta", 1.0) * i[2]
        elif op in ("Relu", "Sigmoid", "Tanh", "Softmax"):
            if op == "Softmax":
                assert a.get("axis", -1) in (-1, 1)
            y = act(op.lower(), i[0])
        elif op == "LeakyRelu":
            y = np.where(i[0] >= 0, i[0], a.get("alpha", 0.01) * i[0])
        elif op == "Identity":
            y = i[0]
        elif op == "Mul":
            y = i[0] * i[1]
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "Pow":
            y = np.power(i[0], i[1])
        else:
            raise SystemExit(f"{path}: operator {op} not in the evaluator")
        env[n.output[0]] = y
    return env[g.output[0].name]


def run_cv2(path, x):
    """The ONNX file in a real runtime, OpenCV's dnn module (python3-opencv), or None."""
    try:
        import cv2
    except ImportError:
        return None
    net = cv2.dnn.readNetFromONNX(path)
    net.setInput(np.ascontiguousarray(x, dtype=np.float32))
    return net.forward().astype(np.float64)


def forward(layers, x, slopes=None):
    for l, (w, b, name) in enumerate(layers):
        alpha = float(slopes[l]) if slopes is not None else 0.01
        x = act(name, x @ w.astype(np.float64) + b.astype(np.float64), alpha)
    return x


def run_npz(path, x):
    z = np.load(path, allow_pickle=False)
    names = [str(s) for s in z["activations"]]
    keys = sorted(z.files)
    assert keys == sorted([f"W{i}" for i in range(len(names))] +
                          [f"b{i}" for i in range(len(names))] + ["activations", "leaky_slope"]), keys
    for i in range(len(names)):
        assert z[f"W{i}"].dtype == np.float32 and z[f"W{i}"].ndim == 2
    return forward([(z[f"W{i}"], z[f"b{i}"], names[i]) for i in range(len(names))], x,
                   z["leaky_slope"])


def run_csv(path, x):
    import csv
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["layer", "activation", "tensor", "row", "col", "value"], rows[0]
    cells, slopes = {}, {}
    for layer, name, t, r, c, v in rows[1:]:
        if t == "slope":
            slopes[int(layer)] = float(v)
            continue
        cells.setdefault(int(layer), [name, {}, {}])[1 if t == "W" else 2][(int(r), int(c))] = float(v)
    layers = []
    for l in range(len(cells)):
        name, wd, bd = cells[l]
        w = np.zeros((max(k[0] for k in wd) + 1, max(k[1] for k in wd) + 1))
        for (r, c), v in wd.items():
            w[r, c] = v
        b = np.array([bd[(0, c)] for c in range(w.shape[1])])
        layers.append((w, b, name))
    return forward(layers, x, [slopes.get(l, 0.0) for l in range(len(layers))])


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def check_graph(path, names):
    import onnx
    from onnx import numpy_helper
    init = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in onnx.load(path).graph.initializer}
    x = np.random.default_rng(1).normal(size=(16, init["W0"].shape[1]))
    want = x
    for l, name in enumerate(names.split(",")):
        z = want @ init[f"W{l}"].T + init[f"b{l}"]  # stored outputs x inputs (transB = 1)
        if name == "gelu_tanh":
            want = gelu_tanh(z)
        elif name.startswith("leaky_relu:"):
            want = np.where(z >= 0, z, float(name.split(":")[1]) * z)
        else:
            want = act(name, z)
    diff = float(np.abs(run_onnx(path, x) - want).max())
    cv = run_cv2(path, x)
    cv_diff = float(np.abs(cv - want).max()) if cv is not None else 0.0
    print(f"graph {names}: max |diff| {diff:.3g}" +
          (f", OpenCV {cv_diff:.3g}" if cv is not None else " (no OpenCV)"))
    # The graph's constants are float32; OpenCV computes in float32 throughout.
    sys.exit(0 if diff <= 1e-6 and cv_diff <= 1e-5 else 1)


def read_proba(path):
    """predict --proba's output: for classification a header p0,...,pK-1,class and per row the
    probabilities and the top class (dropped here); for regression the values alone."""
    lines = open(path).read().splitlines()
    if lines and lines[0].startswith("p0"):
        return np.loadtxt(lines[1:], delimiter=",", ndmin=2)[:, :-1]
    return np.loadtxt(path, delimiter=",", ndmin=2)


def main():
    if sys.argv[1] == "graph":
        check_graph(sys.argv[2], sys.argv[3])
    kind, model, inp, proba = sys.argv[1:5]
    want = read_proba(proba)
    x = np.loadtxt(inp, delimiter=",", ndmin=2)
    run = {"onnx": run_onnx, "npz": run_npz, "csv": run_csv}[kind]
    got = run(model, x[:, : int(sys.argv[5])] if len(sys.argv) > 5 else x)
    if np.asarray(got).size == want.shape[0] and want.shape[1] == 2:
        want = want[:, 1:]  # a one-output sigmoid model: predict prints p0 = 1 - p1, then p1
    got = np.asarray(got).reshape(want.shape)
    if kind == "onnx":
        cv = run_cv2(model, x)
        if cv is not None:
            cv_diff = float((np.abs(cv.reshape(want.shape) - want) / np.maximum(1.0, np.abs(want))).max())
            print(f"onnx in OpenCV: max |diff| {cv_diff:.3g}")
            if cv_diff > TOL:
                sys.exit(1)
    # predict prints 6 significant digits: above 1 (regression values) the bound is relative.
    diff = float((np.abs(got - want) / np.maximum(1.0, np.abs(want))).max())
    print(f"{kind}: {want.shape[0]} rows x {want.shape[1]} outputs, max |diff| {diff:.3g}")
    sys.exit(0 if diff <= TOL else 1)


main()
