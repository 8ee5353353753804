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
    a = ap.parse_args()

    import torch
    from torch import nn

    sizes = [int(s) for s in a.layers.split(",")]
    torch.manual_seed(a.seed)
    for t in (int(s) for s in a.threads.split(",")):
        torch.set_num_threads(t)
        for b in (int(s) for s in a.batches.split(",")):
            steps = a.steps if a.steps > 0 else max(10, a.samples // b)
            xs = [torch.rand(b, sizes[0]) for _ in range(a.pool)]
            ys = [torch.randint(0, sizes[-1], (b,)) for _ in range(a.pool)]
            for rep in range(a.reps):
                mods = []
                for i in range(len(sizes) - 1):
                    mods.append(nn.Linear(sizes[i], sizes[i + 1]))
                    if i < len(sizes) - 2:
                        mods.append(nn.ReLU())
                model = nn.Sequential(*mods)
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


if __name__ == "__main__":
    sys.exit(main())
