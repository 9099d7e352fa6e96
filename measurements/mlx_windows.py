"""Small MLX cases on the H100: does a window per call steady their device time?

    python3 measurements/mlx_windows.py PROCESSES [OP:LABEL:BACKEND ...]

Harness version 5 timed a batch of calls in one window on the GPU's timer (spin, stamp,
the calls, stamp); version 6 (frameworks.MlxGpuTimerClock) gives each call a spin and a
window of its own and takes out the gap an empty window measures. In each of PROCESSES
fresh processes per case, four figures side by side (us a call, medians of 15 samples of
20 calls):

- batch: version 5's window over the batch;
- per call: each call behind a spin of its own, bracketed by two stamps, the windows summed;
- empty: two stamps behind a spin with nothing between them (the gap a window adds);
- clock: version 6's clock as the suite runs it (per call minus empty, in one batch).

Run on the H100 before version 6 (without the clock column): results/reports/h100/
gate-2026-11-28-b/windows.txt. "per call" minus "empty" moved less between processes than
"batch" where MLX's host work is the pace (SumAll 1000000: 8.68-8.81 us against 8.9-10.8)
and agreed with it where it is not (SumAll 1000000x128: 174.5-174.7 against 174.4-174.5).
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
        # version 5's spin covered the whole batch's queueing
        spin = clock.SPIN_MARGIN * clock.call_seconds * CALLS
        figures = {"batch": [], "per call": [], "empty": [], "clock": []}
        for _ in range(SAMPLES):
            batch = placed.backend.prepare_batch(placed._next(), CALLS)
            start = clock._spin_then_mark(spin)
            outs = batch()
            figures["batch"].append(clock._elapsed(start, clock._mark()) / CALLS)
            del outs
            batch = placed.backend.prepare_batch(placed._next(), CALLS)
            windows, one_spin = [], clock.spin_seconds()
            for launch in batch.calls:
                start = clock._spin_then_mark(one_spin)
                launch()
                windows.append((start, clock._mark()))
            figures["per call"].append(sum(clock._elapsed(*w) for w in windows) / CALLS)
            marks = [(clock._spin_then_mark(one_spin), clock._mark()) for _ in range(CALLS)]
            figures["empty"].append(sum(clock._elapsed(*m) for m in marks) / CALLS)
            before = clock()
            outs = clock.launch(placed.backend.prepare_batch(placed._next(), CALLS))
            figures["clock"].append((clock() - before) / CALLS)
            del outs
        mx.synchronize()
        return {way: round(float(np.median(v)) * 1e6, 2) for way, v in figures.items()}


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
