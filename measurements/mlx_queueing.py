"""Does MLX's CUDA backend let the host queue calls ahead of a busy GPU?

    python3 measurements/mlx_queueing.py [OP:LABEL ...]

Per case, in a fresh interpreter with MLX's CUDA graphs on (its default) and off
(MLX_USE_CUDA_GRAPHS=0): the case placed as a benchmark process places it, 20 calls built
as lazy graphs, then the host seconds their 20 `async_eval`s take (a) with the GPU idle and
(b) while the GPU spins 50 ms (the device clock's own spin kernel). If (b) is about 50 ms
more than (a), an `async_eval` waited for the GPU, and a spin cannot hide MLX's host work;
the host ms of each of the first five `async_eval`s in (b) say which one waited.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.getcwd())

DEFAULT = ["Softplus:dim=64x128x1024", "Conv1d:dim=100x256x256 dim=8x3x256", "Softmax:dim=64x1000000 axi=-1"]
CALLS, SPIN = 20, 0.05


def one(op_name, label):
    import mlx.core as mx
    from benchmarks.harness import catalog, frameworks

    with catalog.placed(op_name, label, "mlx_gpu") as placed:
        clock = frameworks.MlxGpuTimerClock()
        figures = {}
        for way, spin in (("idle", None), ("behind a 50 ms spin", SPIN)):
            batch = placed.backend.prepare_batch(placed._next(), CALLS)
            mx.synchronize()
            if spin:
                clock._spin_then_mark(spin)
            began = time.perf_counter()
            outs = batch()
            figures[way] = round((time.perf_counter() - began) * 1e3, 3)
            mx.synchronize()
            del outs
        one = placed._next()
        lazy = [placed.backend.run(one.fn, one.inputs) for _ in range(CALLS)]
        mx.synchronize()
        clock._spin_then_mark(SPIN)
        calls = []
        for out in lazy:
            began = time.perf_counter()
            mx.async_eval(out)
            calls.append(round((time.perf_counter() - began) * 1e3, 3))
        figures["first five behind the spin"] = calls[:5]
        mx.synchronize()
        return figures


def main(argv):
    if argv and argv[0] == "--one":
        print(json.dumps(one(*argv[1].split(":", 1))))
        return 0
    for case in argv or DEFAULT:
        for graphs in ("1", "0"):
            env = dict(os.environ, MLX_USE_CUDA_GRAPHS=graphs)
            done = subprocess.run([sys.executable, __file__, "--one", case], env=env, capture_output=True, text=True)
            result = done.stdout.strip().splitlines()[-1] if done.returncode == 0 else done.stderr.strip()[-300:]
            print(f"{case} graphs={graphs}: host ms to queue {CALLS} calls: {result}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
