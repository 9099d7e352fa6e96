"""Do more input placements per process steady the cases whose device time still moves
between processes? (issue 11: the planted 5 % missed where fresh processes of one case
spread 5-30 %: PReLU, LayerNorm and SumAll on MLX.)

    python3 measurements/placements.py ROUNDS [OP:LABEL:BACKEND ...]
    PLACEMENTS_SECONDS=400 python3 measurements/placements.py 12      # fewer rounds if time runs out
    PLACEMENTS=3,8,16 python3 measurements/placements.py 10            # other settings (1,3,8)

Each BENCH_PLACEMENTS setting is a variant of measurements/fresh_rounds.py. One placement
shows whether the figure depends on where the inputs were placed; the suite pools 3 (the
median of samples spread over the placements, GPU_PLACEMENTS). Run on an H200:
results/reports/h200/gate-2026-11-28-b/placements.txt, placements-b.txt.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fresh_rounds import alternate, case_keys, report  # noqa: E402

DEFAULT = ["PReLU:dim=128x16x1024 dim=1:mlx_gpu", "PReLU:dim=128x16x1024 dim=1:mlx_gpu_compile",
           "PReLU:dim=64x128x1024 dim=1:mlx_gpu", "PReLU:dim=64x128x1024 dim=1:mlx_gpu_compile",
           "LayerNorm:dim=64x128x1024:mlx_gpu", "LayerNorm:dim=64x128x1024:mlx_gpu_compile",
           "LayerNorm:dim=128x64x1024:mlx_gpu", "LayerNorm:dim=128x64x1024:mlx_gpu_compile",
           "SumAll:dim=1000000:mlx_gpu", "Conv1d:dim=100x256x3 dim=8x3x3:mlx_gpu_compile",
           "PReLU:dim=128x16x1024 dim=1:cuda", "LayerNorm:dim=64x128x1024:cuda"]

if __name__ == "__main__":
    keys = case_keys(sys.argv[2:] or DEFAULT)
    variants = {f"{p} placement(s)": ({"BENCH_PLACEMENTS": p}, None)
                for p in os.environ.get("PLACEMENTS", "1,3,8").split(",")}
    figures, done = alternate(keys, variants, int(sys.argv[1]), float(os.environ.get("PLACEMENTS_SECONDS", "inf")))
    report(keys, variants, figures, done)
