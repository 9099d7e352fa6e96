"""How much a case's device time moves between fresh benchmark processes, and whether
pinning the processes to one CPU core (or another MLX launch path) steadies it.

    python3 measurements/host_noise.py PROCESSES [OP:LABEL:BACKEND ...]
    taskset -c 3 python3 measurements/host_noise.py 10        # every child on core 3

Each process is forked and measured exactly as the gate's confirm pass does
(tools/remeasure.py); the line per case gives the per-process medians, their spread
(max/min) and coefficient of variation.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.getcwd())
from tools import remeasure  # noqa: E402

# The gate's misses on the H100 (2026-11-27): launch-bound cases of 8-50 us.
DEFAULT = ["ReLU:dim=128x16x1024:cuda", "SeLU:dim=128x16x1024:cuda", "LeakyReLU:dim=128x16x1024:mlx_gpu",
           "Sigmoid:dim=128x16x1024:mlx_gpu", "SumAll:dim=1000000:mlx_gpu", "BCE:dim=1000000 dim=1000000:mlx_gpu_compile",
           "Softmax:dim=64x1000000 axi=-1:cuda"]


def main():
    processes = int(sys.argv[1])
    keys = [tuple(k.split(":")) + ("float32",) for k in (sys.argv[2:] or DEFAULT)]
    figures = {k: [] for k in keys}
    for _ in range(processes):  # round-robin, as the confirm pass alternates
        for key, seconds in remeasure.measure(keys, "time_device").items():
            figures[key].append(seconds * 1e6)
    affinity = sorted(os.sched_getaffinity(0))
    print(f"cores {affinity if len(affinity) < 4 else f'{len(affinity)} cores'}; "
          f"env {' '.join(f'{k}={v}' for k, v in os.environ.items() if k.startswith(('MLX_', 'BENCH_')))}")
    for key, us in figures.items():
        us = np.array(us)
        if len(us):
            print(f"  {key[0]:>9} {key[1]:<26} {key[2]:<16} median {np.median(us):7.1f} us  max/min {us.max() / us.min():5.2f}"
                  f"  cv {us.std() / us.mean():6.1%}  {' '.join(f'{u:.1f}' for u in us)}")


if __name__ == "__main__":
    main()
