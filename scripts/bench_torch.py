#!/usr/bin/env python3
"""The dpmlp benchmark's model in PyTorch, for the side-by-side column of scripts/bench.sh.

A ReLU MLP (--layers, default 784-256-128-10; bench.sh also runs 784-1024-1024-10 and
784-4096-4096-10), softmax cross-entropy, plain SGD (lr 0.05) on random data of the MNIST shape. Batches are made before the clock starts (loading is not measured), the first
--warmup steps are not timed, then --steps steps are. One JSON object per (threads, batch,
rep) on stdout. BLAS core type and OpenMP wait policy come from the environment, so
bench.sh starts one process per setting it compares.
"""
import argparse
import json
import os
import resource
import sys
import time


def make_mlp(nn, sizes):
    """Linear layers with ReLU between them: the network dpmlp trains for these sizes."""
    mods = []
    for i in range(len(sizes) - 1):
        mods.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1", help="comma list of torch.set_num_threads values")
    ap.add_argument("--batches", default="32,128,512", help="comma list of batch sizes")
    ap.add_argument("--samples", type=int, default=131072,
                    help="timed samples per run; steps = max(10, samples / batch)")
    ap.add_argument("--steps", type=int, default=0, help="timed steps per run (overrides --samples)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps before each run")
    ap.add_argument("--reps", type=int, default=3, help="timed runs per (threads, batch)")
    ap.add_argument("--layers", default="784,256,128,10", help="comma list of layer sizes")
    ap.add_argument("--pool", type=int, default=8, help="distinct pre-made batches, cycled")
    ap.add_argument("--seed", type=int, default=1)
    # ---- bf16 columns (issue 10; scripts/bench_bf16.sh): autocast and test accuracy ----
    ap.add_argument("--autocast-bf16", action="store_true",
                    help="torch.autocast('cpu', dtype=torch.bfloat16) around forward + loss")
    ap.add_argument("--data", default="", help="MNIST-layout dir: train on it, report test accuracy")
    ap.add_argument("--bf16-rows", action="store_true", help="the bf16 rows' protocol, also in fp32")
    a = ap.parse_args()

    import torch
    from torch import nn
    if a.autocast_bf16 or a.data or a.bf16_rows:
        return bf16_main(a, torch, nn)

    sizes = [int(s) for s in a.layers.split(",")]
    torch.manual_seed(a.seed)
    for t in (int(s) for s in a.threads.split(",")):
        torch.set_num_threads(t)
        for b in (int(s) for s in a.batches.split(",")):
            steps = a.steps if a.steps > 0 else max(10, a.samples // b)
            xs = [torch.rand(b, sizes[0]) for _ in range(a.pool)]
            ys = [torch.randint(0, sizes[-1], (b,)) for _ in range(a.pool)]
            for rep in range(a.reps):
                model = make_mlp(nn, sizes)
                loss_fn = nn.CrossEntropyLoss()
                opt = torch.optim.SGD(model.parameters(), lr=0.05)

                def step(k):
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(model(xs[k % a.pool]), ys[k % a.pool])
                    loss.backward()
                    opt.step()
                    return loss

                for k in range(a.warmup):
                    step(k)
                t0 = time.perf_counter()
                for k in range(steps):
                    loss = step(k)
                dt = time.perf_counter() - t0
                lv = float(loss)  # after the clock: no sync point inside the timed loop
                rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
                print(json.dumps({
                    "layers": "-".join(map(str, sizes)), "threads": t, "batch": b, "rep": rep + 1, "steps": steps,
                    "samples": steps * b, "seconds": dt, "samples_per_sec": steps * b / dt,
                    "loss": lv, "maxrss_kb": rss_kb, "torch": torch.__version__,
                    "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
                    "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
                }), flush=True)
                if lv != lv:
                    print("bench_torch: loss is NaN", file=sys.stderr)
                    return 70
    return 0


# ---- bf16 columns (issue 10) ----
def load_idx(d, split):
    """(images float32 in [0, 1], labels int64) of d's MNIST-layout files (.gz or raw)."""
    import gzip
    import numpy as np

    def read(stem):
        for name, op in ((stem + ".gz", gzip.open), (stem, open)):
            p = os.path.join(d, name)
            if os.path.exists(p):
                with op(p, "rb") as f:
                    return f.read()
        raise FileNotFoundError(os.path.join(d, stem))
    img = read(f"{split}-images-idx3-ubyte")
    lab = read(f"{split}-labels-idx1-ubyte")
    n = int.from_bytes(img[4:8], "big")
    x = np.frombuffer(img, dtype=np.uint8, offset=16).reshape(n, -1).astype(np.float32) / 255.0
    y = np.frombuffer(lab, dtype=np.uint8, offset=8).astype(np.int64)
    return x, y


def bf16_main(a, torch, nn):
    """Same network, batch and threads as dpmlp's bf16 rows: SGD lr 0.05, --steps timed steps
    over shuffled Fashion-MNIST (or random data without --data), then test accuracy under the
    same autocast. One JSON object per (threads, batch, rep)."""
    import contextlib
    sizes = [int(s) for s in a.layers.split(",")]
    torch.manual_seed(a.seed)
    if a.data:
        x, y = (torch.from_numpy(v) for v in load_idx(a.data, "train"))
        tx, ty = (torch.from_numpy(v) for v in load_idx(a.data, "t10k"))
    else:
        x, y = torch.rand(8192, sizes[0]), torch.randint(0, sizes[-1], (8192,))
        tx = ty = None
    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.autocast_bf16 \
        else contextlib.nullcontext
    for t in (int(s) for s in a.threads.split(",")):
        torch.set_num_threads(t)
        for b in (int(s) for s in a.batches.split(",")):
            steps = a.steps if a.steps > 0 else max(10, a.samples // b)
            for rep in range(a.reps):
                model = make_mlp(nn, sizes)
                opt = torch.optim.SGD(model.parameters(), lr=0.05)
                loss_fn = nn.CrossEntropyLoss()
                perm = torch.randperm(x.shape[0])
                batches = [(x[perm[i:i + b]], y[perm[i:i + b]])
                           for i in range(0, x.shape[0] - b + 1, b)]

                def step(k):
                    xb, yb = batches[k % len(batches)]
                    opt.zero_grad(set_to_none=True)
                    with ctx():
                        loss = loss_fn(model(xb), yb)
                    loss.backward()
                    opt.step()
                    return loss
                for k in range(a.warmup):
                    step(k)
                t0 = time.perf_counter()
                for k in range(steps):
                    loss = step(a.warmup + k)
                dt = time.perf_counter() - t0
                acc = None
                if tx is not None:
                    with torch.no_grad(), ctx():
                        acc = float((model(tx).argmax(1) == ty).float().mean())
                print(json.dumps({
                    "threads": t, "batch": b, "rep": rep + 1, "steps": steps,
                    "samples": steps * b, "seconds": dt, "samples_per_sec": steps * b / dt,
                    "loss": float(loss), "test_accuracy": acc, "layers": a.layers,
                    "autocast_bf16": a.autocast_bf16, "torch": torch.__version__,
                }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
