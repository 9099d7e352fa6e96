"""The suite's ops, for the tools and the tests: the only importer of the `bench_*`
modules, and the only surface the tools use besides `vocabulary`."""

import contextlib
import importlib
import os
import pkgutil

from . import measurement
from .declaration import OpBenchmark, bytes_of
from .frameworks import availability  # noqa: F401 - part of the catalog's surface
from .inputs import active_profile, parse_label
from .vocabulary import PROFILES

_BENCHMARKS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _op_classes():
    classes = {}
    for module in pkgutil.iter_modules([_BENCHMARKS_DIR]):
        if module.name.startswith("bench_"):
            loaded = importlib.import_module(f"benchmarks.{module.name}")
            for value in vars(loaded).values():
                if isinstance(value, type) and issubclass(value, OpBenchmark) and value.cases:
                    classes[value.__name__] = value
    return classes


def ops():
    """Every op of the suite, in table order (by name, any case)."""
    classes = _op_classes()
    return [classes[name] for name in sorted(classes, key=str.lower)]


def find_op(name):
    """The op called `name`, in any letter case."""
    for op in ops():
        if op.__name__.lower() == name.lower():
            return op
    raise KeyError(f"no op {name!r}; known: {', '.join(op.__name__ for op in ops())}")


def labels(profile):
    """{op name: its case labels in `profile`}."""
    return {op.__name__: op.labels(profile) for op in ops()}


def profile_of(op_name, label):
    """The profile whose case `label` is (the active one when both profiles share it)."""
    op = find_op(op_name)
    profiles = [p for p in PROFILES if label in op.labels(p)]
    if not profiles:
        raise KeyError(f"{op.__name__} has no case {label!r}")
    return active_profile() if active_profile() in profiles else profiles[0]


def benchmark_version(op_name):
    return find_op(op_name).version


def cost(op_name, label, dtype="float32", version=None):
    """{"bytes": minimum traffic, "flops": matrix FLOPs} of one case, from the op's cost
    model; None when `version` (the results' benchmark version) is not today's, whose cost
    model may differ from the one the figures were measured with."""
    op = find_op(op_name)
    if version is not None and version != op.version:
        return None
    shapes, static = parse_label(label)
    return {"bytes": op.bytes_moved(shapes, dtype, **static), "flops": op.matrix_flops(shapes, **static),
            "result_bytes": bytes_of(op.result(shapes, **static), dtype)}


@contextlib.contextmanager
def placed(op_name, label, backend, dtype="float32", seed=None):
    """One case placed on a backend as a benchmark process places it (NotImplementedError
    when this machine lacks the backend); released on exit."""
    try:
        yield measurement.placed_case(find_op(op_name), label, backend, dtype, seed)
    finally:
        measurement.release()
