"""Did MLX's GPU timer marks disturb the cases they timed? (issue 11)

    python3 measurements/mlx_marks.py ROUNDS [OP:LABEL:BACKEND ...]
    MARKS_SECONDS=90 python3 measurements/mlx_marks.py 10     # fewer rounds if time runs out

MLX's CUDA allocator serves arrays of 8 bytes or fewer from one small pool of managed
memory (mlx/backend/cuda/allocator.cpp, SmallSizePool). Harness version 6's marks were one
uint64 each, read with `.item()`: the host touched that pool after every sample, and the
pool also holds the case's own scalars (PReLU's slope, SumAll's result), which the op then
reached wherever the host had left those pages. Version 7's marks are two uint64
(frameworks.MlxGpuTimerClock.STAMP_SHAPE: served from device memory), a sample's read in
one transfer. The two are variants of measurements/fresh_rounds.py:

- one uint64 a mark, each read with .item() (version 6's marks, patched in before the
  variant's processes fork);
- two uint64 a mark, a sample's read in one transfer (the clock as it is).

Run on an H200: results/reports/h200/gate-2026-11-28-b/marks.txt.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fresh_rounds import alternate, case_keys, report  # noqa: E402

from benchmarks.harness import frameworks  # noqa: E402

DEFAULT = ["PReLU:dim=128x16x1024 dim=1:mlx_gpu", "PReLU:dim=128x16x1024 dim=1:mlx_gpu_compile",
           "PReLU:dim=64x128x1024 dim=1:mlx_gpu", "PReLU:dim=64x128x1024 dim=1:mlx_gpu_compile",
           "SumAll:dim=1000000:mlx_gpu", "LayerNorm:dim=64x128x1024:mlx_gpu_compile",
           "LayerNorm:dim=128x64x1024:mlx_gpu_compile", "Sigmoid:dim=128x16x1024:mlx_gpu"]
Clock = frameworks.MlxGpuTimerClock
CURRENT = {name: Clock.__dict__[name] for name in ("STAMP_SHAPE", "_windows")}


def scalar_marks(self, windows):
    """Version 6's reading: every mark on its own, with .item()."""
    import mlx.core as mx  # in the benchmark process: importing MLX's CUDA build starts CUDA

    for pair in windows:
        mx.eval(pair[1])
    return np.array([(int(end.item()) - int(start.item())) / 1e9 for start, end in windows])


def marks(**patch):
    def prepare():
        for name, value in {**CURRENT, **patch}.items():
            setattr(Clock, name, value)
    return prepare


VARIANTS = {
    "one uint64 a mark, .item()": ({}, marks(STAMP_SHAPE=(1,), _windows=scalar_marks)),
    "two uint64, one transfer": ({}, marks()),
}

if __name__ == "__main__":
    keys = case_keys(sys.argv[2:] or DEFAULT)
    figures, done = alternate(keys, VARIANTS, int(sys.argv[1]), float(os.environ.get("MARKS_SECONDS", "inf")))
    report(keys, VARIANTS, figures, done)
