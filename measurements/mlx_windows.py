"""Small MLX cases on the H100: does a window per call steady their device time?

    python3 measurements/mlx_windows.py PROCESSES [OP:LABEL:BACKEND ...]

Harness version 5 times a batch of calls in one window on the GPU's timer (spin, stamp,
the calls, stamp). MLX cases under about 50 us still move 5-40 % between processes
(results/reports/h100/gate-2026-11-28), likely where MLX's host work per call outlasts the
kernel and the GPU waits between calls inside the window. This script puts, in each of
PROCESSES fresh processes per case, three figures side by side (us a call, medians of 15
samples of 20 calls):

- batch: the suite's window over the batch (what `time_device` reports);
- per call: each call behind a spin of its own, bracketed by two stamps, the windows
  summed (the GPU's idle time between calls left out);
- empty: two stamps behind a spin with nothing between them (what a per-call window adds).

If "per call" minus "empty" moves less between processes than "batch" and agrees with
it where MLX's host is not the pace (cases of 100 us and more), a window per call is the fix.
Not yet run: written for the next GPU sitting.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.getcwd())

DEFAULT = ["Sigmoid:dim=128x16x1024:mlx_gpu", "Sigmoid:dim=64x128x1024:mlx_gpu", "SumAll:dim=1000000:mlx_gpu",
           "LeakyReLU:dim=128x16x1024:mlx_gpu", "Softplus:dim=128x16x1024:mlx_gpu_compile",
           "SumAll:dim=1000000x128:mlx_gpu"]
CALLS, SAMPLES = 20, 15


def one(op_name, label, backend):
    import mlx.core as mx
    from benchmarks.harness import catalog, frameworks

    with catalog.placed(op_name, label, backend) as placed:
        clock = frameworks.MlxGpuTimerClock()
        clock.size(placed.backend.prepare_batch(placed._next(), CALLS))
        batch, per_call, empty = [], [], []
        for _ in range(SAMPLES):
            before = clock()
            outs = clock.launch(placed.backend.prepare_batch(placed._next(), CALLS))
            batch.append((clock() - before) / CALLS)
            del outs
            one_placement = placed._next()
            lazy = [placed.backend.run(one_placement.fn, one_placement.inputs) for _ in range(CALLS)]
            windows, spin = [], 2 * max(clock.queued) / CALLS + 50e-6
            for out in lazy:
                start = clock._spin_then_mark(spin)
                mx.async_eval(out)
                windows.append((start, clock._mark()))
            per_call.append(sum(clock._elapsed(*w) for w in windows) / CALLS)
            del lazy
            marks = [(clock._spin_then_mark(spin), clock._mark()) for _ in range(CALLS)]
            empty.append(sum(clock._elapsed(*m) for m in marks) / CALLS)
        mx.synchronize()
        return {way: round(float(np.median(v)) * 1e6, 2) for way, v in
                (("batch", batch), ("per call", per_call), ("empty", empty))}


def main(argv):
    if argv and argv[0] == "--one":
        print(json.dumps(one(*argv[1].split(":", 2))))
        return 0
    if not argv or not argv[0].isdigit():
        print("usage: python3 measurements/mlx_windows.py PROCESSES [OP:LABEL:BACKEND ...]", file=sys.stderr)
        return 2
    processes, cases = int(argv[0]), argv[1:] or DEFAULT
    for case in cases:
        for number in range(processes):
            began = time.perf_counter()
            done = subprocess.run([sys.executable, __file__, "--one", case], capture_output=True, text=True)
            result = done.stdout.strip().splitlines()[-1] if done.returncode == 0 else done.stderr.strip()[-300:]
            print(f"{case} process {number + 1}: {result} ({time.perf_counter() - began:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
