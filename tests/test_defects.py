"""The defects of the script behind the reference table would fail these checks.

Each test swaps a defective implementation into an op, runs it on a real backend through
the suite's own pipeline, and asserts that the correctness check rejects it, so a suite
that reintroduced the defect could not pass tests/test_correctness.py.
"""

import numpy as np
import pytest

from benchmarks import common
from benchmarks.backends import BACKENDS, mx
from benchmarks.bench_indexing import ScatterMax, ScatterSum
from benchmarks.bench_reductions import Argmax, Softmax, Sort, Sum

MLX = "mlx_cpu"
TORCH = "cpu"


def needs(backend):
    reason = BACKENDS[backend].unavailable_reason()
    return pytest.mark.skipif(reason is not None, reason=f"{backend}: {reason}")


def run_and_check(op, case, backend, seed):
    op.cases = [case]
    try:
        run = common.prepared(op, case.label(), backend, seed)
        op.check(run.result(), op.expected(run.case, run.arrays), run.arrays, run.case, op.tolerance_for(run.backend))
    finally:
        common.release()


def defective(base, **functions):
    """A copy of `base` with some functions replaced (kept out of the suite's registry)."""
    attrs = {name: staticmethod(fn) for name, fn in functions.items()}
    cls = type(f"Defective{base.__name__}", (base,), dict(attrs, cases=[]))
    return cls


@needs(MLX)
@pytest.mark.parametrize(
    "base, broken, case",
    [
        (Argmax, lambda x, axis: mx.argmax(x), common.Case("64x1024x128", axis=1)),  # whole array
        (Sum, lambda x, axis: mx.sum(x), common.Case("64x128x128x128", axis=2)),  # whole array
        (Softmax, lambda x, axis: mx.softmax(x, axis=-1), common.Case("64x16x32x1024", axis=1)),  # last axis
        (Sort, lambda x, axis: mx.sort(x, axis=-1), common.Case("64x128x1024", axis=0)),  # last axis
    ],
    ids=["Argmax-whole-array", "Sum-whole-array", "Softmax-last-axis", "Sort-last-axis"],
)
def test_axis_ignoring_reduction_is_caught(base, broken, case, seed):
    with pytest.raises(AssertionError):
        run_and_check(defective(base, mlx_fn=broken), case, MLX, seed)
    run_and_check(defective(base), case, MLX, seed)  # the real op passes the same check


def discard_result_add(out, index, values):
    out.at[index].add(values)  # the script's bug: the scattered array is dropped
    return out


def discard_result_max(out, index, values):
    out.at[index].maximum(values)
    return out


@needs(MLX)
@pytest.mark.parametrize("base, broken", [(ScatterSum, discard_result_add), (ScatterMax, discard_result_max)])
def test_no_op_scatter_is_caught(base, broken, seed):
    case = common.Case("64x16", "1000")
    with pytest.raises(AssertionError):
        run_and_check(defective(base, mlx_fn=broken), case, MLX, seed)
    run_and_check(defective(base), case, MLX, seed)


def first_column_only(reduce):
    def scatter(out, index, values):
        return out.scatter_reduce(0, index[:, None], values, reduce=reduce)  # index (M, 1)

    return scatter


@needs(TORCH)
@pytest.mark.parametrize("base, reduce", [(ScatterSum, "sum"), (ScatterMax, "amax")])
def test_first_column_only_scatter_is_caught(base, reduce, seed):
    case = common.Case("1024x32", "1000")
    with pytest.raises(AssertionError):
        run_and_check(defective(base, torch_fn=first_column_only(reduce)), case, TORCH, seed)
    run_and_check(defective(base), case, TORCH, seed)


@needs(MLX)
def test_timed_mlx_call_evaluates_its_result(monkeypatch):
    """The timed call ends in mx.eval of the op's output: no lazy graph escapes it."""
    import mlx.core

    run = common.prepared(Softmax, Softmax.cases[0].label(), MLX)
    evaluated = []
    real_eval = mlx.core.eval
    monkeypatch.setattr(mlx.core, "eval", lambda *a: (evaluated.append(a), real_eval(*a))[1])
    try:
        out = run.call()
        assert len(evaluated) == 1 and evaluated[0][0] is out
    finally:
        common.release()
