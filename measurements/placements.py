"""Do more input placements per process steady the cases whose device time still moves
between processes? (issue 11: the planted 5 % missed where fresh processes of one case
spread 5-30 %: PReLU, LayerNorm and SumAll on MLX.)

    python3 measurements/placements.py ROUNDS [OP:LABEL:BACKEND ...]
    PLACEMENTS_SECONDS=400 python3 measurements/placements.py 12      # fewer rounds if time runs out
    PLACEMENTS=3,8,16 python3 measurements/placements.py 10            # other settings (1,3,8)

In each of ROUNDS rounds, each BENCH_PLACEMENTS setting measures every case once in fresh
processes (tools.remeasure: asv_runner's own setup, sampling and timer, as the gate's
confirm pass does), the settings taking turns within the round. Printed per case and
setting: the median over rounds of the processes' figures, their spread ((max - min) /
median) and the median distance of a process from that median. One placement shows
whether the figure depends on where the inputs were placed; the suite pools 3 (the
median of samples spread over the placements, GPU_PLACEMENTS).
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.getcwd())

from tools import remeasure  # noqa: E402

DEFAULT = ["PReLU:dim=128x16x1024 dim=1:mlx_gpu", "PReLU:dim=128x16x1024 dim=1:mlx_gpu_compile",
           "PReLU:dim=64x128x1024 dim=1:mlx_gpu", "PReLU:dim=64x128x1024 dim=1:mlx_gpu_compile",
           "LayerNorm:dim=64x128x1024:mlx_gpu", "LayerNorm:dim=64x128x1024:mlx_gpu_compile",
           "LayerNorm:dim=128x64x1024:mlx_gpu", "LayerNorm:dim=128x64x1024:mlx_gpu_compile",
           "SumAll:dim=1000000:mlx_gpu", "Conv1d:dim=100x256x3 dim=8x3x3:mlx_gpu_compile",
           "PReLU:dim=128x16x1024 dim=1:cuda", "LayerNorm:dim=64x128x1024:cuda"]
SETTINGS = tuple(int(p) for p in os.environ.get("PLACEMENTS", "1,3,8").split(","))


def main():
    rounds = int(sys.argv[1])
    keys = [tuple(spec.split(":")) + ("float32",) for spec in (sys.argv[2:] or DEFAULT)]
    figures = {(key, p): [] for key in keys for p in SETTINGS}
    deadline = time.monotonic() + float(os.environ.get("PLACEMENTS_SECONDS", "inf"))
    done = 0
    for r in range(rounds):
        if time.monotonic() > deadline:
            break
        for p in SETTINGS:
            got = remeasure.measure(keys, "time_device", {"BENCH_PLACEMENTS": str(p)})
            for key in keys:
                figures[key, p].append(got.get(key, float("nan")))
        done += 1
        print(f"round {done} of {rounds} done", file=sys.stderr, flush=True)
    print(f"# {done} rounds, fresh processes; us a call (device time); spread = (max - min) / median, "
          "dev = median |process - median| / median")
    print(f"{'case':55s}" + "".join(f" | {p} placement(s): median  spread   dev" for p in SETTINGS))
    for key in keys:
        row = f"{key[0] + ' ' + key[1] + ' ' + key[2]:55s}"
        for p in SETTINGS:
            x = np.array(figures[key, p]) * 1e6
            med = np.nanmedian(x)
            row += f" | {med:21.2f} {(np.nanmax(x) - np.nanmin(x)) / med:7.1%} {np.nanmedian(abs(x - med)) / med:5.1%}"
        print(row)
    print(json.dumps({f"{k[0]}|{k[1]}|{k[2]}|{p}": v for (k, p), v in figures.items()}))


if __name__ == "__main__":
    main()
