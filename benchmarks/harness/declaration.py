"""The op declaration: an op is one class of cases, an MLX function, a PyTorch function and
a NumPy reference, side by side. Everything else comes from `OpBenchmark`.

`bench_activations.ReLU` is the shortest example.

Each op class is asv benchmarks over (case, backend[, dtype]), one per measure of
`vocabulary.MEASURES`: ``time_op`` (latency: one call and its completion barrier),
``time_device`` (device time: a batch launched back to back and one barrier, per call) and
``track_peak_memory``.
"""

import abc
import collections
import hashlib
import inspect
import math
import types

import numpy as np

from . import measurement
from .frameworks import dtype_selection_reason, warm_up_torch_compile
from .inputs import active_profile, numel, standard_normal
from .vocabulary import BACKEND_NAMES, MEASURE, PROFILES, dtype_unsupported, setting

# Part of every benchmark's asv version: bump it when what a measure means changes (how it
# is sampled or timed), so that results of the old meaning are never compared with the new.
HARNESS_VERSION = 8

Operand = collections.namedtuple("Operand", "shape kind")  # kind: "float" or "index"
ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2}
INDEX_ITEMSIZE = 8  # int64 indices


def bytes_of(operand, dtype):
    itemsize = INDEX_ITEMSIZE if operand.kind == "index" else ITEMSIZE[dtype]
    return numel(operand.shape) * itemsize


def _declaration_source(cls):
    """The source of an op's own declaration: its class and the op classes it derives from."""
    parts = []
    for klass in cls.__mro__:
        if klass is OpBenchmark:
            break
        parts.append(inspect.getsource(klass))
    return "\n".join(parts)


def _own_copy(fn, cls, **attributes):
    """A copy of a shared method for one class, so that asv's per-benchmark attributes
    (version, timer, sampling) belong to that op alone."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = f"{cls.__name__}.{fn.__name__}"
    copy.__module__ = cls.__module__
    copy.__doc__ = fn.__doc__
    copy.__dict__.update(attributes)
    return copy


class OpBenchmark(abc.ABC):
    """Base of every op benchmark: asv parameters, setup, the measures.

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

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.cases:
            return
        # Every profile's labels are parameters, whichever profile this process runs: one
        # grid for asv's benchmark list, the site and every machine's results.
        labels = list(dict.fromkeys(c.label(p) for p in PROFILES for c in cls.cases))
        with_dtype = len(cls.dtypes) > 1
        cls.param_names = ["case", "backend"] + (["dtype"] if with_dtype else [])
        cls.params = [labels, list(BACKEND_NAMES)] + ([list(cls.dtypes)] if with_dtype else [])
        cls.rounds = setting("BENCH_ROUNDS")
        # asv kills a benchmark process after `timeout` s. A process makes about 5 calls
        # (warm-up, latency probes, samples) plus set-up and compilation: e.g. MatMul
        # 1000000x64 @ 64x1024 takes 61 s a call on MLX's CPU backend (2 cores).
        slowest = max(cls.expected_seconds(c.shapes("reference"), **c.static) for c in cls.cases)
        cls.timeout = int(120 + 6 * slowest)
        version = hashlib.sha256(_declaration_source(cls).encode()).hexdigest()[:12]
        cls.version = f"{version}-h{HARNESS_VERSION}"
        for name in ("time_op", "time_device", "track_peak_memory"):
            setattr(cls, name, _own_copy(getattr(OpBenchmark, name), cls))
        cls.time_device.timer = measurement.device_clock
        cls.track_peak_memory.unit = MEASURE["memory"].unit

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
        """The case a label names, bound to the profile whose label it is."""
        for c in cls.cases:
            for profile, own in c.labels().items():
                if own == label:
                    return c.at(profile)
        raise KeyError(f"{cls.__name__} has no case {label!r}")

    @classmethod
    def labels(cls, profile):
        return [c.label(profile) for c in cls.cases]

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

    # --- inputs, functions, reference and the check ----------------------------------------

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
        fn = {"mlx": cls.mlx_fn, "torch": cls.torch_fn}[framework]
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
    def verify(cls, placed):
        """Raise AssertionError unless a placed case's result matches the float64 reference."""
        expected = cls.expected(placed.case, placed.arrays)
        tolerance = cls.tolerance_for(placed.backend, placed.dtype)
        cls.check(placed.read_back(), expected, placed.arrays, placed.case, tolerance)

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

    # --- asv's face -------------------------------------------------------------------------
    # setup runs before every sample, so the case is placed once per process and kept.

    def setup(self, case, backend, dtype="float32"):
        profile = active_profile()
        if case not in self.labels(profile):
            raise NotImplementedError(f"{case}: not a case of the {profile} profile (BENCH_PROFILE)")
        reason = dtype_selection_reason(dtype) or dtype_unsupported(backend, dtype)
        if reason:
            raise NotImplementedError(reason)
        placed = measurement.placed_case(type(self), case, backend, dtype, idle_cores=True)
        placed.prepare_batch()  # whichever measure runs: setup cannot tell which
        self.call, self.launch_batch = placed.call, placed.launch_batch
        self.number, self.repeat, self.warmup_time = 1, placed.repeat, setting("BENCH_WARMUP")
        # asv reads a method's own attributes before the instance's, and setup cannot tell
        # which measure runs: the device measure's sampling sits on this op's own copy of
        # the method (see _own_copy), for the one case this process measures.
        type(self).time_device.repeat = placed.device_repeat
        self.peak_memory = placed.peak_memory

    def time_op(self, case, backend, dtype="float32"):
        self.call()

    def time_device(self, case, backend, dtype="float32"):
        self.launch_batch()

    def track_peak_memory(self, case, backend, dtype="float32"):
        peak = self.peak_memory()
        return math.nan if peak is None else peak  # NaN: asv's "no figure" (torch on a CPU)


# Runs at import, i.e. once in asv's forkserver (see warm_up_torch_compile).
warm_up_torch_compile()
