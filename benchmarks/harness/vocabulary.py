"""The suite's names, declared once: backends, dtypes, profiles, measures and every
`BENCH_*` setting with its parser.

No heavy imports (no numpy, torch or mlx): the tools, the tests and the benchmark
processes all read their vocabulary from here.
"""

import math
import os
from collections import namedtuple

# --- backends ---------------------------------------------------------------------------

BackendInfo = namedtuple("BackendInfo", "name framework device compiled")
BackendInfo.gpu = property(lambda self: self.device != "cpu")

# asv's parameter order: results files list their values in this order, so it never changes.
BACKENDS = (
    BackendInfo("mlx_gpu", "mlx", "gpu", False),
    BackendInfo("mlx_gpu_compile", "mlx", "gpu", True),
    BackendInfo("mlx_cpu", "mlx", "cpu", False),
    BackendInfo("mlx_cpu_compile", "mlx", "cpu", True),
    BackendInfo("mps", "torch", "mps", False),
    BackendInfo("cpu", "torch", "cpu", False),
    BackendInfo("cuda", "torch", "cuda", False),
    BackendInfo("cpu_compile", "torch", "cpu", True),
    BackendInfo("cuda_compile", "torch", "cuda", True),
)
BACKEND_NAMES = tuple(b.name for b in BACKENDS)
BACKEND = {b.name: b for b in BACKENDS}
GPU_BACKENDS = tuple(b.name for b in BACKENDS if b.gpu)
CPU_BACKENDS = tuple(b.name for b in BACKENDS if not b.gpu)

# --- dtypes -----------------------------------------------------------------------------

DTYPES = ("float32", "float16", "bfloat16")
REDUCED_DTYPES = DTYPES[1:]


def dtype_unsupported(backend, dtype):
    """Why `dtype` is not measured on `backend`, or None: 16-bit cases run on GPUs only
    (CPU kernels for them are emulated and would say nothing about the hardware)."""
    if dtype in REDUCED_DTYPES and not BACKEND[backend].gpu:
        return f"{backend}: {dtype} cases are measured on GPU backends only"
    return None


# --- profiles and measures --------------------------------------------------------------

PROFILES = ("reference", "small")

# unit: as asv stores it; shown_unit and shown_scale: as tables and charts show it;
# compared_as: the tables' name for "b's figure over a's, less one" (positive: a does better).
Measure = namedtuple("Measure", "name method unit description shown_unit shown_scale compared_as")
MEASURES = (
    Measure("latency", "time_op", "s", "one call and its completion barrier", "ms per call", 1e3, "speedup"),
    Measure("device", "time_device", "s", "device time per call of a batch launched back to back",
            "device time, ms per call of a batch", 1e3, "speedup"),
    Measure("memory", "track_peak_memory", "bytes", "peak device memory of one call beyond its inputs",
            "peak memory, MiB beyond the inputs", 2.0**-20, "memory saving"),
)
MEASURE = {m.name: m for m in MEASURES}
MEASURE_OF_METHOD = {m.method: m for m in MEASURES}
TIMED_MEASURES = ("latency", "device")
# What the regression gate decides on; latency is reported beside it.
GATED_MEASURE = "device"

# Benchmarks that record facts of the machine rather than ops.
SETTINGS_CLASS = "Float32Matmul"
PEAK_CLASS = "Peak"

# Their `track_` figures, one per backend. unit: as asv stores it (the benchmark's `.unit`,
# set from here by `declare_units`); base: that unit in bytes or FLOP per second, what the
# roofline divides by.
Fact = namedtuple("Fact", "cls method unit base description")
FACTS = (
    Fact(PEAK_CLASS, "track_copy_bandwidth", "GB/s", 1e9, "copy bandwidth, bytes read plus bytes written"),
    Fact(PEAK_CLASS, "track_matmul_float32", "TFLOP/s", 1e12, "dense float32 matmul rate at the precision setting"),
    Fact(PEAK_CLASS, "track_matmul_float16", "TFLOP/s", 1e12, "dense float16 matmul rate"),
    Fact(PEAK_CLASS, "track_matmul_bfloat16", "TFLOP/s", 1e12, "dense bfloat16 matmul rate"),
    Fact(SETTINGS_CLASS, "track_relative_error", "relative error", 1.0,
         "max relative error of a float32 matmul against float64"),
    Fact(SETTINGS_CLASS, "track_tf32_allowed", "flag", 1.0, "1 where float32 matmuls may use TF32"),
    Fact(SETTINGS_CLASS, "track_cpu_threads", "threads", 1.0, "threads of the CPU backends"),
    Fact(SETTINGS_CLASS, "track_cpu_heap_kept", "flag", 1.0,
         "1 where a CPU backend's process keeps freed memory in its heap"),
)
FACT = {(f.cls, f.method): f for f in FACTS}


def unit_of(op, method):
    """The unit asv stores a figure of benchmark `op.method` in: a measure's or a fact's."""
    if method in MEASURE_OF_METHOD:
        return MEASURE_OF_METHOD[method].unit
    fact = FACT.get((op, method))
    return fact.unit if fact else None


def declare_units(cls):
    """Give each of a facts class's `track_` methods its declared unit (what asv records and
    shows); a method without one is a mistake caught here, at import."""
    for name in dir(cls):
        if name.startswith("track_"):
            getattr(cls, name).unit = FACT[(cls.__name__, name)].unit
    return cls

# --- settings ---------------------------------------------------------------------------


class SettingError(ValueError):
    """A `BENCH_*` variable with a value it does not accept (one line)."""


def _choice(choices):
    def parse(text):
        if text not in choices:
            raise ValueError
        return text
    return parse, "one of " + ", ".join(choices)


def _subset(choices):
    def parse(text):
        chosen = [w.strip() for w in text.split(",") if w.strip()]
        if not chosen or any(w not in choices for w in chosen):
            raise ValueError
        return tuple(c for c in choices if c in chosen)
    return parse, "a comma-separated list of " + ", ".join(choices)


def _number(kind, least, inclusive, what):
    def parse(text):
        value = kind(text)
        if not math.isfinite(value) or value < least or (value == least and not inclusive):
            raise ValueError
        return value
    return parse, what


def _plant(text):
    """`FRACTION:TARGET[,TARGET...]` groups joined by `;`, a TARGET being `Op` or
    `Op/backend` (any letter case): ((fraction, ((op, backend or None), ...)), ...)."""
    groups = []
    for group in text.split(";"):
        fraction, sep, targets = group.partition(":")
        fraction = float(fraction)
        if not sep or not 0 < fraction <= 10:
            raise ValueError
        parsed = []
        for target in targets.split(","):
            op, _, backend = target.strip().partition("/")
            if not op or (backend and backend not in BACKEND_NAMES):
                raise ValueError
            parsed.append((op.lower(), backend or None))
        groups.append((fraction, tuple(parsed)))
    return tuple(groups)


def _core(text):
    """`auto`, `none` or a core number."""
    if text in ("auto", "none"):
        return text
    core = int(text)
    if not 0 <= core < (os.cpu_count() or 1):  # a core this machine lacks would fail in every process
        raise ValueError
    return core


Setting = namedtuple("Setting", "name default parse accepts purpose")


def _setting(name, default, parser, purpose):
    parse, accepts = parser
    return Setting(name, default, parse, accepts, purpose)


SETTINGS = {s.name: s for s in (
    _setting("BENCH_PROFILE", "reference", _choice(PROFILES),
             "case shapes: the reference table's, or small ones with the same ops, ranks and axes"),
    _setting("BENCH_BACKENDS", None, _subset(BACKEND_NAMES),
             "run only these backends; the others are skipped with this reason"),
    _setting("BENCH_DTYPES", None, _subset(DTYPES), "run only these dtypes"),
    _setting("BENCH_FP32_MATMUL", "default", _choice(("default", "fp32", "tf32")),
             "float32 matmul precision: each framework's default, full FP32, or TF32 allowed"),
    _setting("BENCH_SAMPLE_BUDGET", 0.1, _number(float, 0, False, "seconds > 0, e.g. 0.1"),
             "seconds of latency samples per benchmark process"),
    _setting("BENCH_DEVICE_BUDGET", 0.04, _number(float, 0, False, "seconds > 0, e.g. 0.04"),
             "seconds of device-time samples (whole batches) per benchmark process"),
    _setting("BENCH_WARMUP", 0.0, _number(float, 0, True, "seconds >= 0, e.g. 0.05"),
             "seconds of untimed calls right before the samples"),
    _setting("BENCH_ROUNDS", 1, _number(int, 1, True, "a whole number >= 1"),
             "benchmark processes per case (asv's rounds)"),
    _setting("BENCH_PLACEMENTS", None, _number(int, 1, True, "a whole number >= 1"),
             "input placements per process whose samples are pooled (default: 3 on GPUs, 1 on CPUs)"),
    _setting("BENCH_MEMORY_LIMIT_GIB", None, _number(float, 0, False, "GiB > 0, e.g. 8"),
             "cap on the memory a case may use; larger cases are skipped"),
    _setting("BENCH_THREADS", None, _number(int, 1, True, "a whole number >= 1"),
             "threads of the CPU backends (default: the cores this process may use)"),
    _setting("BENCH_GPU_CORE", "none", (_core, "auto (a core next to the GPU), none, or a core number, e.g. 7"),
             "the one CPU core a GPU benchmark process launches from (its launch rate is part of small ops' time)"),
    _setting("BENCH_IDLE_WAIT", 60.0, _number(float, 0, True, "seconds >= 0, e.g. 60"),
             "how long a CPU case waits for other processes to leave its cores before it fails"),
    _setting("BENCH_PLANT", None, (_plant, "FRACTION:OP[/BACKEND][,...][;FRACTION:...] with 0 < FRACTION <= 10, e.g. 0.10:ReLU,MatMul/cuda;0.05:Sum"),
             "TEST ONLY: a planted slowdown, FRACTION more device work for the named ops"),
    _setting("BENCH_SITE_CACHE", None, (str, "a folder path"),
             "where tools.site keeps the JavaScript libraries it vendors into a published site"),
    _setting("BENCH_SEED", None, _number(int, 0, True, "a whole number >= 0"),
             "tests only: the seed of the random inputs the correctness tests draw"),
)}


def setting(name, environ=None):
    """The parsed value of `name` in `environ` (default os.environ), or its default."""
    spec = SETTINGS[name]
    text = (os.environ if environ is None else environ).get(name, "").strip()
    if not text:
        return spec.default
    try:
        return spec.parse(text)
    except (ValueError, TypeError, OverflowError):
        raise SettingError(f"{name}={text!r}: expected {spec.accepts}") from None


def setting_errors(environ=None):
    """One line per `BENCH_*` variable of `environ` that is unknown or has a bad value."""
    environ = os.environ if environ is None else environ
    errors = []
    for name in sorted(k for k in environ if k.startswith("BENCH_")):
        if name not in SETTINGS:
            errors.append(f"{name}: unknown setting; known: {', '.join(SETTINGS)}")
            continue
        try:
            setting(name, environ)
        except SettingError as exc:
            errors.append(str(exc))
    return errors


def planted_fraction(op_name, backend, environ=None):
    """The planted slowdown of (op, backend) under BENCH_PLANT, 0.0 when none."""
    for fraction, targets in setting("BENCH_PLANT", environ) or ():
        if any(op == op_name.lower() and (b is None or b == backend) for op, b in targets):
            return fraction
    return 0.0
