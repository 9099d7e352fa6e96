"""The op declaration, the case set and its profiles, inputs, and the per-process cache.

An op is one class: its cases, its MLX function, its PyTorch function and its NumPy
reference, side by side. Everything else (placing arrays, compiling, the completion
barrier, skipping absent backends) comes from `OpBenchmark` and `backends`.

Example::

    class Softmax(OpBenchmark):
        \"\"\"Softmax along the case's axis.\"\"\"
        cases = [Case("64x1000000", axis=-1)]

        @staticmethod
        def mlx_fn(x, axis):
            return mx.softmax(x, axis=axis)

        @staticmethod
        def torch_fn(x, axis):
            return torch.softmax(x, dim=axis)

        @staticmethod
        def reference(x, axis):
            e = np.exp(x - x.max(axis=axis, keepdims=True))
            return e / e.sum(axis=axis, keepdims=True)
"""

import abc
import importlib
import math
import os
import pkgutil
import zlib

import numpy as np

from .backends import BACKEND_NAMES, get_backend

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

    @property
    def static(self):
        """Non-array arguments of the op functions."""
        return {} if self.axis is None else {"axis": self.axis}


GIB = 2**30
MEMORY_LIMIT_ENV = "BENCH_MEMORY_LIMIT_GIB"


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


_registry = {}


def all_ops():
    """Every op of the suite, in table order (by name)."""
    for module in pkgutil.iter_modules([os.path.dirname(__file__)]):
        if module.name.startswith("bench_"):
            importlib.import_module(f"{__package__}.{module.name}")
    return [_registry[name] for name in sorted(_registry, key=str.lower)]


class OpBenchmark(abc.ABC):
    """Base of every op benchmark: asv parameters, setup, the timed call.

    Subclasses declare `cases` and three static functions over arrays (plus the case's
    static arguments): `mlx_fn`, `torch_fn` and `reference` (NumPy, float64 inputs). Override
    `make_inputs` for inputs that are not standard-normal float32, and `check` for ops
    whose result is not unique (scatter with repeated indices).
    """

    cases = []
    param_names = ["case", "backend"]
    # float32 tolerance of `check`, relative to the result's scale.
    tolerance = 1e-4
    # Matmul-family ops lose precision where TF32 is allowed (10-bit mantissa): the backend
    # setting (see Backend.settings) that decides it, or None.
    tf32_setting = None
    tf32_tolerance = 5e-3

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.cases:
            cls.params = [[c.label() for c in cls.cases], BACKEND_NAMES]
            _registry[cls.__name__] = cls
            # asv kills a benchmark process after `timeout` s. A process makes about 5 calls
            # (warm-up, asv's warm-up, samples) plus set-up and compilation: e.g. MatMul
            # 1000000x64 @ 64x1024 takes 61 s a call on MLX's CPU backend (2 cores).
            slowest = max(cls.expected_seconds(c.shapes("reference")) for c in cls.cases)
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

    # Cost model: used to skip cases that would not fit in memory, and to size asv's timeout.
    @classmethod
    def footprint(cls, shapes):
        """(input bytes, output bytes) of a case; float32 operands, output as large as the
        largest input unless the op says otherwise."""
        return 4 * sum(numel(s) for s in shapes), 4 * max(numel(s) for s in shapes)

    @classmethod
    def flops(cls, shapes):
        """Arithmetic of one call; element-wise ops count a few per element."""
        return 10 * sum(numel(s) for s in shapes)

    @classmethod
    def memory_needed(cls, case, backend):
        """Bytes a case holds at once: inputs, output and one output-sized temporary on the
        device, plus the NumPy copies of the inputs on the host (the same memory on a CPU)."""
        inputs, output = cls.footprint(case.shapes())
        on_device = inputs + 2 * output
        return on_device + inputs if backend.device == "cpu" else on_device

    @classmethod
    def expected_seconds(cls, case_shapes):
        """A generous single-call time: 1 GFLOP/s and 1 GB/s (a slow 2-core CPU)."""
        inputs, output = cls.footprint(case_shapes)
        return cls.flops(case_shapes) / 1e9 + (inputs + output) / 1e9

    @classmethod
    def make_inputs(cls, case, rng):
        return [rng.standard_normal(shape, dtype=np.float32) for shape in case.shapes()]

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
    def tolerance_for(cls, backend):
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

    # asv's interface. setup runs before every timed call, so the case is prepared once
    # per process and cached; asv runs each (case, backend) in a process of its own.
    def setup(self, case, backend):
        self.call = prepared(type(self), case, backend).call

    def time_op(self, case, backend):
        self.call()


class Prepared:
    """A case placed on a backend: inputs, the warmed-up call, and the NumPy inputs."""

    def __init__(self, op, label, backend_name, seed=None):
        self.backend = get_backend(backend_name)  # NotImplementedError: asv shows n/a
        self.case = op.case(label)
        need, free = op.memory_needed(self.case, self.backend), available_memory(self.backend)
        if need > free:
            raise NotImplementedError(
                f"{backend_name}: needs {need / GIB:.2f} GiB, device has {free / GIB:.2f} GiB free")
        self.seed = case_seed(op.__name__, label) if seed is None else seed
        self.arrays = op.make_inputs(self.case, np.random.default_rng(self.seed))
        self.op = op
        framework = self.backend.framework
        fn = op.function(framework, self.case)
        self.call, self.inputs = self.backend.prepare(fn, op.framework_inputs(framework, self.arrays))
        # One untimed call: compilation, lazy kernel loading, allocator warm-up.
        self.call()

    def result(self):
        """One more call, read back into NumPy in the reference layout."""
        out = self.backend.to_numpy(self.call())
        return self.op.reference_layout(self.backend.framework, out)


_cache = {}


def prepared(op, label, backend_name, seed=None):
    """The prepared case, built once; the previous one is released first (one at a time)."""
    key = (op, label, backend_name, seed)
    if key not in _cache:
        release()
        _cache[key] = Prepared(op, label, backend_name, seed)
    return _cache[key]


def release():
    """Drop the cached case and give its device memory back."""
    for item in _cache.values():
        backend = item.backend
        del item.call, item.inputs
        backend.release()
    _cache.clear()
