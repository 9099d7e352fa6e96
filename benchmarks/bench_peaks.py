"""This machine's ceilings, measured by the suite and recorded with its results: copy
bandwidth and matmul rates, the roofline's denominators (no datasheet figures)."""

import math

import numpy as np

from .harness.frameworks import get_backend
from .harness.inputs import standard_normal
from .harness.measurement import GIB, available_memory, batch_size, timed_call
from .harness.vocabulary import BACKEND_NAMES, declare_units

# GPU sizes fill the device; CPU sizes keep a 2-core machine's run within seconds.
COPY_ELEMENTS = {"gpu": 1 << 28, "cpu": 1 << 24}  # 1 GiB, 64 MiB of float32
MATMUL_SIZE = {"gpu": 8192, "cpu": 1024}
REDUCED_MATMUL_SIZE = {"gpu": 8192, "cpu": 512}
SAMPLES = 5
PEAK_BATCH_SECONDS = 0.02


def best_seconds(backend, fn, arrays, dtype="float32"):
    """The shortest device time per call over a few batches of back-to-back calls.

    Nothing is planted here, so a batch is about PEAK_BATCH_SECONDS in steps of one call:
    a CPU matmul of a third of a second is timed a call at a time, not in the benchmarks'
    batches of 20, and a GPU copy of 0.7 ms in batches long enough that the launch of the
    first call is lost in them."""
    placed = backend.place_op(fn, arrays, dtype)
    out = placed.call()  # warm-up
    calls = batch_size(timed_call(placed), backend.nbytes(out), available_memory(backend),
                       step=1, seconds=PEAK_BATCH_SECONDS)
    clock = backend.clock()
    if not clock.sized:
        clock.size(backend.prepare_batch(placed, calls))
    del out
    best = math.inf
    for _ in range(SAMPLES):
        batch = backend.prepare_batch(placed, calls)
        start = clock()
        pending = clock.launch(batch)
        best = min(best, (clock() - start) / calls)
        del pending
    return best


@declare_units
class Peak:
    """Copy bandwidth (GB/s, bytes read plus bytes written) and dense matmul rates
    (TFLOP/s; float32 at the backend's recorded precision setting)."""

    params = [list(BACKEND_NAMES)]
    param_names = ["backend"]
    rounds = 1
    timeout = 600

    def setup(self, backend):
        self.backend = get_backend(backend)
        if self.backend.compiled:
            raise NotImplementedError(f"{backend}: peaks are measured on the eager backends")
        self.size = "gpu" if self.backend.on_gpu else "cpu"

    def _needs(self, nbytes):
        free = available_memory(self.backend)
        if 2 * nbytes > free:
            raise NotImplementedError(f"{self.backend.name}: needs {2 * nbytes / GIB:.2f} GiB, "
                                      f"device has {free / GIB:.2f} GiB free")

    def _matmul_rate(self, dtype, n):
        self._needs(3 * 4 * n * n)
        rng = np.random.default_rng(0)
        a, b = standard_normal(rng, (n, n)), standard_normal(rng, (n, n))
        seconds = best_seconds(self.backend, self.backend.matmul_fn(), [a, b], dtype)
        return 2 * n**3 / seconds / 1e12

    def track_copy_bandwidth(self, backend):
        n = COPY_ELEMENTS[self.size]
        self._needs(2 * 4 * n)
        x = standard_normal(np.random.default_rng(0), (n,))
        return 2 * 4 * n / best_seconds(self.backend, self.backend.copy_fn(), [x]) / 1e9

    def track_matmul_float32(self, backend):
        return self._matmul_rate("float32", MATMUL_SIZE[self.size])

    def track_matmul_float16(self, backend):
        return self._matmul_rate("float16", REDUCED_MATMUL_SIZE[self.size])

    def track_matmul_bfloat16(self, backend):
        return self._matmul_rate("bfloat16", REDUCED_MATMUL_SIZE[self.size])
