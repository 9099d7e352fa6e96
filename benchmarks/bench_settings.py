"""What each backend's float32 matmul really does, and how its CPU runs, recorded with the
timings.

torch on CUDA runs float32 matmuls in full FP32 by default, while MLX allows TF32 where the
GPU has it (MLX_ENABLE_TF32, default 1). The tables say which precision they compare: these
two tracked values are measured in the same run, on the same backend.
"""

import numpy as np

from .harness.frameworks import get_backend
from .harness.vocabulary import BACKEND_NAMES, declare_units

SIZE = 512


@declare_units
class Float32Matmul:
    """float32 matmul numerics per backend (BENCH_FP32_MATMUL selects them)."""

    params = [list(BACKEND_NAMES)]
    param_names = ["backend"]
    rounds = 1

    def setup(self, backend):
        self.backend = get_backend(backend)
        rng = np.random.default_rng(0)
        self.a, self.b = (rng.standard_normal((SIZE, SIZE), dtype=np.float32) for _ in range(2))

    def track_relative_error(self, backend):
        """max |C - C64| / max |C64| of a 512^3 product: about 1e-7 in FP32, 1e-4 in TF32."""
        placed = self.backend.place_op(self.backend.matmul_fn(), [self.a, self.b])
        got = self.backend.to_numpy(placed.call())
        exact = self.a.astype(np.float64) @ self.b.astype(np.float64)
        return float(np.max(np.abs(got - exact)) / np.max(np.abs(exact)))

    def track_tf32_allowed(self, backend):
        """1 when the framework is set to allow TF32 for float32 matmuls, else 0."""
        self.backend.place_op(self.backend.matmul_fn(), [self.a[:1, :1], self.b[:1, :1]])
        return float(self.backend.settings().get("fp32_matmul") == "tf32 allowed")

    def _cpu_setting(self, key):
        self.backend.apply_settings()
        value = self.backend.settings().get(key) if not self.backend.on_gpu else None
        return float("nan") if value is None else float(value)

    def track_cpu_threads(self, backend):
        """Threads a CPU backend computes with (BENCH_THREADS; NaN on GPU backends)."""
        return self._cpu_setting("threads")

    def track_cpu_heap_kept(self, backend):
        """1 when a CPU backend's process keeps freed memory in its heap (frameworks.
        keep_freed_heap), 0 where it cannot (not glibc); NaN on GPU backends."""
        return self._cpu_setting("heap_kept")
