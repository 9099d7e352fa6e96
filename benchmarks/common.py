"""The op declaration, the case set and its profiles, inputs, the cost model, sampling,
and the per-process cache.

An op is one class: its cases, its MLX function, its PyTorch function and its NumPy
reference, side by side. Everything else (placing arrays, compiling, the completion
barrier, skipping absent backends, choosing how many samples to take) comes from
`OpBenchmark` and `backends`.

Example::

    class Softmax(OpBenchmark):
        \"\"\"Softmax along the case's axis.\"\"\"
        cases = [Case("64x1000000", axis=-1)]
        dtypes = DTYPES  # also float16 and bfloat16 on GPU backends

        @staticmethod
        def mlx_fn(x, axis):
            return mx.softmax(x, axis=axis, precise=True)

        @staticmethod
        def torch_fn(x, axis):
            return torch.softmax(x, dim=axis)

        @staticmethod
        def reference(x, axis):
            e = np.exp(x - x.max(axis=axis, keepdims=True))
            return e / e.sum(axis=axis, keepdims=True)

Each op class is two asv benchmarks over (case, backend[, dtype]):

- ``time_op``, the **latency**: one call plus its completion barrier, as the reference
  table measured it;
- ``time_device``, the **device time**: a batch of calls launched back to back and one
  barrier, divided by the batch size, so launch and synchronisation overheads overlap with
  the work (CUDA events on torch's stream for torch on CUDA, the host clock after the
  barrier elsewhere).
"""

import abc
import collections
import importlib
import math
import os
import pkgutil
import time
import zlib

import numpy as np

from .backends import BACKEND_NAMES, DTYPES, TILE, Tiled, dtype_reason, get_backend

PROFILE_ENV = "BENCH_PROFILE"
PROFILES = ("reference", "small")


def profile():
    name = os.environ.get(PROFILE_ENV, "reference")
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={name!r}: choose one of {', '.join(PROFILES)}")
    return name


def shrink(dim):
    """The small profile's size for a reference dimension.

    Strictly increasing, so equal dimensions stay equal (matmul inner sizes, Linear's
    in-features), distinct ones stay distinct (every case keeps its own row), and order
    is kept (kernels still fit their inputs). Sizes up to 16 (kernels, heads, index
    counts of 10) are kept as they are; ranks and axes never change.
    """
    return dim if dim <= 16 else 16 + round(math.sqrt(dim - 16))


class Case:
    """One row of the table: the operand shapes (reference sizes) and the op's axis, if any."""

    def __init__(self, *shapes, axis=None):
        self.reference_shapes = [tuple(int(d) for d in str(s).split("x")) for s in shapes]
        self.axis = axis

    def shapes(self, profile_name=None):
        if (profile_name or profile()) == "small":
            return [tuple(shrink(d) for d in shape) for shape in self.reference_shapes]
        return list(self.reference_shapes)

    def label(self, profile_name=None):
        """The reference table's row label: `dim=64x1024x128 axi=0`."""
        parts = ["dim=" + "x".join(map(str, s)) for s in self.shapes(profile_name)]
        if self.axis is not None:
            parts.append(f"axi={self.axis}")
        return " ".join(parts)

    @staticmethod
    def parse(label):
        """(shapes, static arguments) of a row label, whatever profile made it."""
        shapes, static = [], {}
        for part in label.split():
            key, _, value = part.partition("=")
            if key == "dim":
                shapes.append(tuple(int(d) for d in value.split("x")))
            elif key == "axi":
                static["axis"] = int(value)
            else:
                raise ValueError(f"not a case label: {label!r}")
        if not shapes:
            raise ValueError(f"not a case label: {label!r}")
        return shapes, static

    @property
    def static(self):
        """Non-array arguments of the op functions."""
        return {} if self.axis is None else {"axis": self.axis}


GIB = 2**30
MEMORY_LIMIT_ENV = "BENCH_MEMORY_LIMIT_GIB"
ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2}
INDEX_ITEMSIZE = 8  # int64 indices


def numel(shape):
    return math.prod(shape)


def available_memory(backend):
    """Bytes free for a case on the backend, capped by BENCH_MEMORY_LIMIT_GIB."""
    free = backend.free_memory()
    limit = os.environ.get(MEMORY_LIMIT_ENV)
    return min(free, float(limit) * GIB) if limit else free


def case_seed(op_name, label):
    """A stable seed per case: every backend sees the same inputs, and a rerun too."""
    return zlib.crc32(f"{op_name}/{label}".encode())


# --- inputs -----------------------------------------------------------------------------

def _generated(rng, shape, draw):
    """`draw(rng, n)` values in `shape`: drawn directly up to TILE elements, else one drawn
    block of TILE values repeated (see backends.Tiled)."""
    n = numel(shape)
    if n <= TILE:
        return draw(rng, n).reshape(shape)
    return Tiled(draw(rng, TILE), shape)


def standard_normal(rng, shape):
    """Seeded standard-normal float32 values."""
    return _generated(rng, shape, lambda g, n: g.standard_normal(n, dtype=np.float32))


def uniform(rng, shape, low, high):
    """Seeded uniform float32 values in [low, high] (float32 rounding can reach `high`)."""
    return _generated(rng, shape, lambda g, n: low + (high - low) * g.random(n, dtype=np.float32))


def elementwise(fn, array):
    """`fn` (an element-wise NumPy function) applied to an input, tiled or not."""
    return array.map(fn) if isinstance(array, Tiled) else fn(array)


def round_to(array, dtype):
    """A float32 array's values rounded to `dtype` (round to nearest even), kept in float32.

    The NumPy reference then sees exactly the values the framework computes on, so the
    check measures the op's error, not the rounding of its inputs.
    """
    if dtype == "float32" or array.dtype != np.float32:
        return array
    if isinstance(array, Tiled):
        return array.map(lambda block: round_to(block, dtype))
    if dtype == "float16":
        return array.astype(np.float16).astype(np.float32)
    if dtype == "bfloat16":  # NumPy has no bfloat16: round the float32 bit pattern
        bits = array.view(np.uint32).astype(np.uint64)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return rounded.astype(np.uint32).view(np.float32)
    raise ValueError(f"unknown dtype {dtype!r}")


# --- sampling ---------------------------------------------------------------------------

# Seconds of sampling per benchmark process, beyond set-up. asv starts a process for every
# (benchmark, parameters): with 91 cases, 3 GPU backends and 2 measures that is 546
# processes. On the H100 each costs about 0.5 s besides its samples (CUDA's start-up in the
# forked process, library handles, the context's teardown at exit), so the budgets
# below are most of what tuning can still trade for stability.
# Latency samples are single calls: up to 100 fit in the budget for calls under 1 ms. A
# device-time sample is a whole batch (about BATCH_SECONDS of calls). Within one process the
# H100's device samples spread little (interquartile range 1.2 % of the median, typically),
# so the median of 20 is good to about 0.3 %; what moves between runs moves between
# processes, which more samples cannot fix (results/h100/README.md).
# BENCH_SAMPLE_BUDGET, BENCH_DEVICE_BUDGET, BENCH_WARMUP (seconds of untimed calls right
# before the samples) and BENCH_ROUNDS (processes per case, asv's `rounds`) tune a
# machine's runs.
SAMPLE_BUDGET = 0.1
DEVICE_BUDGET = 0.04
ROUNDS_ENV, BUDGET_ENV, WARMUP_ENV = "BENCH_ROUNDS", "BENCH_SAMPLE_BUDGET", "BENCH_WARMUP"
DEVICE_BUDGET_ENV = "BENCH_DEVICE_BUDGET"
# Device time: enough calls in a batch that launch gaps hide behind the work.
BATCH_SECONDS = 2e-3
MAX_BATCH = 64


def _seconds(env, default):
    value = os.environ.get(env, "")
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{env}={value!r}: give seconds, e.g. {default}") from None


def sampling(seconds, budget=None):
    """asv's `repeat` (min samples, max samples, max seconds) for samples of `seconds` each,
    within `budget` seconds (default: BENCH_SAMPLE_BUDGET or SAMPLE_BUDGET).

    At least 10 samples for samples under 0.1 s so that the median is stable, up to 100 for
    tiny ones within the budget; a few for slow CPU cases that take seconds a call.
    """
    if seconds >= 1.0:
        return (2, 2, 0.0)
    if budget is None:
        budget = _seconds(BUDGET_ENV, SAMPLE_BUDGET)
    least = 10 if seconds < 0.1 else 3
    most = max(least, min(100, int(budget / max(seconds, 1e-6))))
    return (least, most, budget)


def device_sampling(latency, batch):
    """`sampling` for device-time samples, each a batch of `batch` calls of `latency` s."""
    return sampling(latency * batch, _seconds(DEVICE_BUDGET_ENV, DEVICE_BUDGET))


def batch_size(latency, out_bytes, free_bytes):
    """Calls per device-time sample: about BATCH_SECONDS of work, at least 2 (so that a
    launch overlaps a running call), at most what a quarter of free memory holds."""
    if latency >= 0.5:
        return 1
    wanted = min(MAX_BATCH, max(2, math.ceil(BATCH_SECONDS / max(latency, 1e-7))))
    fits = int(0.25 * free_bytes // max(out_bytes, 1))
    return max(1, min(wanted, fits))


# --- the op declaration -----------------------------------------------------------------

Operand = collections.namedtuple("Operand", "shape kind")  # kind: "float" or "index"

_registry = {}


def all_ops():
    """Every op of the suite, in table order (by name)."""
    for module in pkgutil.iter_modules([os.path.dirname(__file__)]):
        if module.name.startswith("bench_"):
            importlib.import_module(f"{__package__}.{module.name}")
    return [_registry[name] for name in sorted(_registry, key=str.lower)]


def op_named(name):
    all_ops()
    return _registry[name]


def bytes_of(operand, dtype):
    itemsize = INDEX_ITEMSIZE if operand.kind == "index" else ITEMSIZE[dtype]
    return numel(operand.shape) * itemsize


class OpBenchmark(abc.ABC):
    """Base of every op benchmark: asv parameters, setup, the two timed measures.

    Subclasses declare `cases` and three static functions over arrays (plus the case's
    static arguments): `mlx_fn`, `torch_fn` and `reference` (NumPy, float64 inputs). Override
    `make_inputs` for inputs that are not standard-normal float32, `check` for ops whose
    result is not unique (scatter with repeated indices), and the cost model (`operands`,
    `result`, `matrix_flops`) where the defaults (one float operand per shape, a result
    shaped like the first operand, no matrix products) do not describe the op.
    """

    cases = []
    # dtypes the op is measured in; float16 / bfloat16 run on GPU backends only.
    dtypes = ("float32",)
    # float32 tolerance of `check`, relative to the result's scale.
    tolerance = 1e-4
    # Matmul-family ops lose precision where TF32 is allowed (10-bit mantissa): the backend
    # setting (see Backend.settings) that decides it, or None.
    tf32_setting = None
    tf32_tolerance = 5e-3
    reduced_tolerance = {"float16": 5e-3, "bfloat16": 3e-2}
    # One benchmark process per (case, backend[, dtype]) and measure: samples are taken
    # within it (see `sampling`), not across asv's rounds.
    rounds = int(_seconds(ROUNDS_ENV, 1))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.cases:
            cls.param_names = ["case", "backend"] + (["dtype"] if len(cls.dtypes) > 1 else [])
            cls.params = [[c.label() for c in cls.cases], BACKEND_NAMES] + (
                [list(cls.dtypes)] if len(cls.dtypes) > 1 else [])
            _registry[cls.__name__] = cls
            # asv kills a benchmark process after `timeout` s. A process makes about 5 calls
            # (warm-up, latency probes, samples) plus set-up and compilation: e.g. MatMul
            # 1000000x64 @ 64x1024 takes 61 s a call on MLX's CPU backend (2 cores).
            slowest = max(cls.expected_seconds(c.shapes("reference"), **c.static) for c in cls.cases)
            cls.timeout = int(120 + 6 * slowest)

    @staticmethod
    @abc.abstractmethod
    def mlx_fn(*arrays, **static):
        """The op in MLX."""

    @staticmethod
    @abc.abstractmethod
    def torch_fn(*arrays, **static):
        """The op in PyTorch."""

    @staticmethod
    @abc.abstractmethod
    def reference(*arrays, **static):
        """The op in NumPy; float inputs arrive as float64."""

    @classmethod
    def case(cls, label):
        for c in cls.cases:
            if c.label() == label:
                return c
        raise KeyError(f"{cls.__name__} has no case {label!r} in the {profile()} profile")

    # --- cost model: the roofline's bytes and FLOPs, the memory guard, asv's timeout ----

    @classmethod
    def operands(cls, shapes, **static):
        """The arrays the op reads, in the order `make_inputs` makes them."""
        return [Operand(s, "float") for s in shapes]

    @classmethod
    def result(cls, shapes, **static):
        """The array the op writes."""
        return Operand(shapes[0], "float")

    @classmethod
    def matrix_flops(cls, shapes, **static):
        """FLOPs of the op's matrix products (2 per multiply-add); 0 for ops bound by memory,
        whose element-wise arithmetic the roofline does not count."""
        return 0

    @classmethod
    def workspace_bytes(cls, shapes, dtype="float32", **static):
        """Temporaries the op may hold at its peak; by default one result-sized array."""
        return bytes_of(cls.result(shapes, **static), dtype)

    @classmethod
    def bytes_moved(cls, shapes, dtype="float32", **static):
        """The roofline's minimum traffic: every operand read once, the result written once."""
        return sum(bytes_of(o, dtype) for o in cls.operands(shapes, **static)) + bytes_of(
            cls.result(shapes, **static), dtype)

    @classmethod
    def memory_needed(cls, case, backend, dtype="float32"):
        """Bytes a case holds at once on the device: inputs, output and workspace, plus the
        NumPy copies of the inputs on the host (the same memory on a CPU)."""
        shapes, static = case.shapes(), case.static
        inputs = sum(bytes_of(o, dtype) for o in cls.operands(shapes, **static))
        host_inputs = sum(bytes_of(o, "float32") for o in cls.operands(shapes, **static))
        on_device = inputs + bytes_of(cls.result(shapes, **static), dtype) + cls.workspace_bytes(
            shapes, dtype, **static)
        return on_device + host_inputs if backend.device == "cpu" else on_device

    @classmethod
    def expected_seconds(cls, shapes, **static):
        """A generous single-call time: 1 GFLOP/s and 1 GB/s (a slow 2-core CPU)."""
        elements = sum(numel(o.shape) for o in cls.operands(shapes, **static))
        work = max(cls.matrix_flops(shapes, **static), 10 * elements)
        return work / 1e9 + cls.bytes_moved(shapes, **static) / 1e9

    # --- inputs, functions, reference and check ------------------------------------------

    @classmethod
    def make_inputs(cls, case, rng):
        return [standard_normal(rng, shape) for shape in case.shapes()]

    @classmethod
    def framework_inputs(cls, framework, arrays):
        """The inputs in `framework`'s layout (reference layout: MLX's)."""
        return arrays

    @classmethod
    def reference_layout(cls, framework, result):
        """A NumPy result of `framework` in the reference layout."""
        return result

    @classmethod
    def function(cls, framework, case):
        """The op for `framework` with the case's static arguments bound."""
        fn = cls.mlx_fn if framework == "mlx" else cls.torch_fn
        static = case.static

        def op(*arrays):
            return fn(*arrays, **static)

        return op

    @classmethod
    def expected(cls, case, arrays):
        as64 = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
        return cls.reference(*as64, **case.static)

    @classmethod
    def tolerance_for(cls, backend, dtype="float32"):
        if dtype != "float32":
            return cls.reduced_tolerance[dtype]
        if cls.tf32_setting and backend.settings().get(cls.tf32_setting) == "tf32 allowed":
            return cls.tf32_tolerance
        return cls.tolerance

    @classmethod
    def check(cls, got, expected, arrays, case, tolerance):
        """Raise AssertionError unless `got` matches the float64 reference.

        Integer results must be equal; float results must satisfy
        |got - expected| <= tolerance * (|expected| + scale), scale being the op's
        `error_scale` (by default the largest |expected|, a norm-wise bound that does
        not blow up where a result happens to be near zero).
        """
        expected = np.asarray(expected)
        assert got.shape == expected.shape, f"shape {got.shape}, expected {expected.shape}"
        if expected.dtype.kind in "iub":
            np.testing.assert_array_equal(got, expected)
            return
        scale = cls.error_scale(expected, arrays, case)
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance * scale)

    @classmethod
    def error_scale(cls, expected, arrays, case):
        return float(np.max(np.abs(expected), initial=0.0))

    # --- asv's interface ------------------------------------------------------------------
    # setup runs before every sample, so the case is prepared once per process and cached;
    # asv runs each (case, backend[, dtype]) and measure in a process of its own.

    def setup(self, case, backend, dtype="float32"):
        reason = dtype_reason(dtype)
        if reason:
            raise NotImplementedError(reason)
        if dtype != "float32" and not get_backend(backend).on_gpu:
            raise NotImplementedError(f"{backend}: {dtype} cases are measured on GPU backends only")
        run = prepared(type(self), case, backend, dtype)
        run.pending = []  # the last batch's results are freed here, outside the timed code
        _active["run"] = run
        self.call, self.launch_batch = run.call, run.launch_batch
        self.number, self.repeat, self.warmup_time = 1, run.repeat, _seconds(WARMUP_ENV, 0.0)
        # asv reads a method's own attributes before the instance's, and setup cannot tell
        # which measure runs; a process runs one case, so this per-process value is safe.
        OpBenchmark.time_device.repeat = run.device_repeat

    def time_op(self, case, backend, dtype="float32"):
        self.call()

    def time_device(self, case, backend, dtype="float32"):
        self.launch_batch()


_active = {}


def device_clock():
    """asv's timer for `time_device`: the active case's device clock, in seconds per call
    of its batch (every reading waits for the launched batch first)."""
    run = _active["run"]
    return run.clock() / run.batch


OpBenchmark.time_device.timer = device_clock


class Prepared:
    """A case placed on a backend: inputs, the warmed-up op, the NumPy inputs, and how to
    sample it."""

    def __init__(self, op, label, backend_name, dtype="float32", seed=None):
        self.backend = get_backend(backend_name)  # NotImplementedError: asv shows n/a
        self.case = op.case(label)
        self.dtype = dtype
        need, free = op.memory_needed(self.case, self.backend, dtype), available_memory(self.backend)
        if need > free:
            raise NotImplementedError(
                f"{backend_name}: needs {need / GIB:.2f} GiB, device has {free / GIB:.2f} GiB free")
        self.seed = case_seed(op.__name__, label) if seed is None else seed
        # The inputs as made (large ones tiled), rounded to the dtype the op computes in.
        self.inputs = [round_to(a, dtype) for a in op.make_inputs(self.case, np.random.default_rng(self.seed))]
        self._arrays = None
        self.op = op
        framework = self.backend.framework
        fn = op.function(framework, self.case)
        self.placed = self.backend.prepare(fn, op.framework_inputs(framework, self.inputs), dtype)
        # An untimed call (compilation, kernel JIT, lazy loading, allocator warm-up), then
        # the latency that sizes the sampling: asv's own warm-up is switched off. The first
        # call is never the estimate: MLX's CUDA backend can spend a second compiling there.
        out = self.placed.call()
        self.latency = self._timed_call()
        if self.latency < 1.0:
            self.latency = min([self.latency] + [self._timed_call() for _ in range(2)])
        self.repeat = sampling(self.latency)
        self.batch = batch_size(self.latency, self.backend.nbytes(out), available_memory(self.backend))
        self.device_repeat = device_sampling(self.latency, self.batch)
        del out
        self.clock = self.backend.clock()
        self.pending = []

    @property
    def arrays(self):
        """The inputs as plain NumPy arrays, for the reference and the check."""
        if self._arrays is None:
            self._arrays = [np.asarray(a) for a in self.inputs]
        return self._arrays

    def _timed_call(self):
        start = time.perf_counter()
        self.placed.call()
        return time.perf_counter() - start

    def call(self):
        return self.placed.call()

    def launch_batch(self):
        """Launch `batch` calls without waiting; their results stay referenced until the
        next setup, so nothing is freed while the device still computes it."""
        self.pending = self.clock.launch(self.placed, self.batch)

    def result(self):
        """One more call, read back into NumPy in the reference layout."""
        out = self.backend.to_numpy(self.call())
        return self.op.reference_layout(self.backend.framework, out)


_cache = {}


def prepared(op, label, backend_name, dtype="float32", seed=None):
    """The prepared case, built once; the previous one is released first (one at a time)."""
    key = (op, label, backend_name, dtype, seed)
    if key not in _cache:
        release()
        _cache[key] = Prepared(op, label, backend_name, dtype, seed)
    return _cache[key]


def release():
    """Drop the cached case and give its device memory back."""
    for item in _cache.values():
        backend = item.backend
        del item.placed, item.pending
        backend.release()
    _cache.clear()
    _active.clear()
