"""Did MLX's GPU timer marks disturb the cases they timed? (issue 11)

    python3 measurements/mlx_marks.py ROUNDS [OP:LABEL:BACKEND ...]
    MARKS_SECONDS=90 python3 measurements/mlx_marks.py 10     # fewer rounds if time runs out
    MARKS_VARIANTS=all MARKS_LOG=samples.jsonl python3 measurements/mlx_marks.py 8 ...   # every variant, each sample logged

MLX's CUDA allocator serves arrays of 8 bytes or fewer from one small pool of managed
memory (mlx/backend/cuda/allocator.cpp, SmallSizePool). Harness version 6's marks were one
uint64 each, read with `.item()`: the host touched that pool after every sample, and the
pool also holds the case's own scalars (PReLU's slope, SumAll's result), which the op then
reached wherever the host had left those pages. Version 7's marks are two uint64
(frameworks.MlxGpuTimerClock.STAMP_SHAPE: served from device memory), a sample's read in
one transfer. They are variants of measurements/fresh_rounds.py:

- one uint64 a mark, each read with .item() (version 6's marks, patched in before the
  variant's processes fork);
- two uint64 a mark, a sample's read in one transfer queued while the batch's last
  windows still run (version 7);
- the same, read once the GPU has passed the last window (version 8, the clock as it is).

With MARKS_VARIANTS=all, also: the read copies freed after each sample (version 7 before
4c3602c), and one uint64 a mark read in one transfer, copies kept or freed (all read after
the batch since version 8; at 216007d, beside it). With
MARKS_LOG, every sample's figure and its windows' medians go to that file as JSON lines,
so that noise within a process can be told from noise between processes.

Run on an H200: results/reports/h200/gate-2026-11-28-b/marks.txt (version 6 against 7) and
results/reports/h200/gate-2026-11-28-c/marks-variants.txt (MARKS_VARIANTS=all at 216007d),
results/reports/h200/gate-2026-11-28-d/marks-variants.txt (versions 6, 7 and 8 at 65c1459).
"""
import json
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
CURRENT = {name: Clock.__dict__[name] for name in ("STAMP_SHAPE", "_windows", "_wait_for_the_batch")}


def scalar_marks(self, windows):
    """Version 6's reading: every mark on its own, with .item()."""
    import mlx.core as mx  # in the benchmark process: importing MLX's CUDA build starts CUDA

    for pair in windows:
        mx.eval(pair[1])
    return np.array([(int(end.item()) - int(start.item())) / 1e9 for start, end in windows])


def copies_freed(self, windows):
    """The clock's reading, its host copy then given back to MLX's cache."""
    seconds = CURRENT["_windows"](self, windows)
    self.read_copies.clear()
    return seconds


def stashed(windows):
    """The variant's reading, its seconds also kept for `logged`."""
    def _windows(self, pairs):
        self.last_seconds = windows(self, pairs)
        return self.last_seconds
    return _windows


def logged(self, window):
    """`_read` that also appends the sample to MARKS_LOG: its figure a call and the medians
    of its call windows and empty windows (us)."""
    figure = READ(self, window)
    calls = len(window[0])
    with open(os.environ["MARKS_LOG"], "a") as log:
        log.write(json.dumps({"variant": os.environ["MARKS_VARIANT"], "case": CASE[0], "pid": os.getpid(),
                              "us": figure / calls * 1e6,
                              "call_window_us": float(np.median(self.last_seconds[:calls])) * 1e6,
                              "empty_window_us": float(np.median(self.last_seconds[calls:])) * 1e6}) + "\n")
    return figure


CASE = [None]


def note_case(run):
    def _run(args):
        CASE[0] = args[1]
        return run(args)
    return _run


def marks(name, **patch):
    def prepare():
        os.environ["MARKS_VARIANT"] = name
        for attribute, value in {**CURRENT, **patch}.items():
            setattr(Clock, attribute, value)
        if os.environ.get("MARKS_LOG"):
            Clock._windows, Clock._read = stashed(Clock._windows), logged
    return name, ({}, prepare)


READ = Clock._read
if os.environ.get("MARKS_LOG"):
    import asv_runner.run
    asv_runner.run._run = note_case(asv_runner.run._run)

def read_beside_the_batch(self):
    """Versions 6 and 7: the reading starts while the batch's last windows may still run."""


VARIANTS = dict([
    marks("one uint64 a mark, .item()", STAMP_SHAPE=(1,), _windows=scalar_marks,
          _wait_for_the_batch=read_beside_the_batch),
    marks("two uint64, read beside the batch", _wait_for_the_batch=read_beside_the_batch),
    marks("two uint64, read after the batch"),
])
if os.environ.get("MARKS_VARIANTS") == "all":
    VARIANTS.update([
        marks("two uint64, copies freed", _windows=copies_freed),
        marks("one uint64, one transfer", STAMP_SHAPE=(1,)),
        marks("one uint64, copies freed", STAMP_SHAPE=(1,), _windows=copies_freed),
    ])



def summarize(path):
    """Per case and variant, from MARKS_LOG: the spread of samples within a process (median
    over processes of the samples' IQR / median) and between processes, and the windows'
    medians (us; an empty window's length is taken out of every call's)."""
    import pandas as pd

    samples = pd.read_json(path, lines=True)
    per_process = samples.groupby(["case", "variant", "pid"]).agg(
        us=("us", "median"), iqr=("us", lambda x: (x.quantile(0.75) - x.quantile(0.25)) / x.median()),
        call_window_us=("call_window_us", "median"), empty_window_us=("empty_window_us", "median"),
        empty_iqr_us=("empty_window_us", lambda x: x.quantile(0.75) - x.quantile(0.25)))
    table = per_process.groupby(["case", "variant"]).agg(
        processes=("us", "size"), us=("us", "median"), between=("us", lambda x: (x.max() - x.min()) / x.median()),
        within=("iqr", "median"), call_window_us=("call_window_us", "median"),
        empty_window_us=("empty_window_us", "median"), empty_iqr_us=("empty_iqr_us", "median"))
    print("# per case and variant: us a call (median of processes); between = (max - min) / median over "
          "processes; within = median over processes of the samples' IQR / median; windows' medians in us")
    print(table.round(3).to_string())


if __name__ == "__main__":
    keys = case_keys(sys.argv[2:] or DEFAULT)
    figures, done = alternate(keys, VARIANTS, int(sys.argv[1]), float(os.environ.get("MARKS_SECONDS", "inf")))
    report(keys, VARIANTS, figures, done)
    if os.environ.get("MARKS_LOG"):
        summarize(os.environ["MARKS_LOG"])
