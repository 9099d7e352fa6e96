"""The suite's MLX device time agrees with an independent measurement (GPU only).

The independent one is written from MLX's documented API alone: the case's inputs as
plain `mx.array`s, 50 launches with `mx.async_eval` and one `mx.synchronize`, per call,
median of 5 batches. The suite's is its own batch and clock (measurement.PlacedCase),
sampled as asv samples it. Cases under 50 us are left out: there both measure launch rate.
"""

import statistics
import time

import numpy as np
import pytest

from benchmarks.harness import catalog
from benchmarks.harness.frameworks import BACKENDS
from benchmarks.harness.inputs import active_profile

BACKEND = "mlx_gpu"
LEAST_SECONDS = 50e-6
pytestmark = pytest.mark.skipif(BACKENDS[BACKEND].unavailable_reason() is not None,
                                reason=f"{BACKEND}: {BACKENDS[BACKEND].unavailable_reason()}")


def independent_seconds(op, placed, calls=50, batches=5):
    import mlx.core as mx

    arrays = [mx.array(a) for a in op.framework_inputs("mlx", placed.arrays)]
    mx.eval(arrays)
    fn, static = op.mlx_fn, placed.case.static
    out = fn(*arrays, **static)
    mx.eval(out)  # warm-up
    # The batch keeps its outputs until the barrier: at most a quarter of free memory.
    calls = max(2, min(calls, int(0.25 * placed.backend.free_memory() // max(out.nbytes, 1))))
    del out
    per_call = []
    for _ in range(batches):
        mx.synchronize()
        start = time.perf_counter()
        outs = []
        for _ in range(calls):
            out = fn(*arrays, **static)
            mx.async_eval(out)
            outs.append(out)
        mx.synchronize()
        per_call.append((time.perf_counter() - start) / calls)
        del outs
    return statistics.median(per_call)


def suite_seconds(placed, samples=15):
    figures = []
    for _ in range(samples):
        placed.pending = []
        start = placed.clock()
        placed.launch_batch()
        figures.append((placed.clock() - start) / placed.batch)
    return statistics.median(figures)


def test_mlx_device_time_matches_an_independent_measurement():
    differences, failing = [], []
    for op in catalog.ops():
        for label in op.labels(active_profile()):
            try:
                with catalog.placed(op.__name__, label, BACKEND) as placed:
                    ours = suite_seconds(placed)
                    if ours < LEAST_SECONDS:
                        continue
                    theirs = independent_seconds(op, placed)
            except RuntimeError as exc:  # MLX's own failures (its CUDA Sort) are the correctness tests' to show
                failing.append(f"{op.__name__} {label}: {exc}")
                continue
            differences.append(abs(ours / theirs - 1))
            print(f"{op.__name__} {label}: suite {ours * 1e6:.1f} us, independent {theirs * 1e6:.1f} us", flush=True)
    print("\n".join(["cases MLX failed:"] + failing))
    assert differences, "no case of at least 50 us"
    median = float(np.median(differences))
    print(f"{len(differences)} cases >= 50 us: median |difference| {median:.2%}, "
          f"within 10 %: {sum(d <= 0.10 for d in differences)}")
    assert median <= 0.05
