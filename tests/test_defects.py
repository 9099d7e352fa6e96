"""The defects of the script behind the reference table would fail these checks.

Each test swaps a defective implementation into an op, runs it on a real backend through
the suite's own pipeline, and asserts that the correctness check rejects it, so a suite
that reintroduced the defect could not pass tests/test_correctness.py.
"""

import numpy as np
import pytest

from benchmarks.harness import catalog, inputs, measurement
from benchmarks.harness.frameworks import BACKENDS, mx
from benchmarks.bench_indexing import ScatterMax, ScatterSum
from benchmarks.bench_reductions import Argmax, Softmax, Sort, Sum

MLX = "mlx_cpu"
TORCH = "cpu"


def needs(backend):
    reason = BACKENDS[backend].unavailable_reason()
    return pytest.mark.skipif(reason is not None, reason=f"{backend}: {reason}")


def run_and_check(op, case, backend, seed, dtype="float32"):
    op.cases = [case]
    try:
        run = measurement.placed_case(op, case.label(), backend, dtype, seed)
        op.check(run.read_back(), op.expected(run.case, run.arrays), run.arrays, run.case,
                 op.tolerance_for(run.backend, dtype))
    finally:
        measurement.release()


def defective(base, **functions):
    """A copy of `base` with some functions replaced (kept out of the suite's registry)."""
    attrs = {name: staticmethod(fn) for name, fn in functions.items()}
    cls = type(f"Defective{base.__name__}", (base,), dict(attrs, cases=[]))
    return cls


@needs(MLX)
@pytest.mark.parametrize(
    "base, broken, case",
    [
        (Argmax, lambda x, axis: mx.argmax(x), inputs.Case("64x1024x128", axis=1)),  # whole array
        (Sum, lambda x, axis: mx.sum(x), inputs.Case("64x128x128x128", axis=2)),  # whole array
        (Softmax, lambda x, axis: mx.softmax(x, axis=-1), inputs.Case("64x16x32x1024", axis=1)),  # last axis
        (Sort, lambda x, axis: mx.sort(x, axis=-1), inputs.Case("64x128x1024", axis=0)),  # last axis
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
    case = inputs.Case("64x16", "1000")
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
    case = inputs.Case("1024x32", "1000")
    with pytest.raises(AssertionError):
        run_and_check(defective(base, torch_fn=first_column_only(reduce)), case, TORCH, seed)
    run_and_check(defective(base), case, TORCH, seed)


@needs(MLX)
def test_timed_mlx_call_evaluates_its_result(monkeypatch):
    """The timed call ends in mx.eval of the op's output: no lazy graph escapes it."""
    import mlx.core

    run = measurement.placed_case(Softmax, Softmax.cases[0].label(), MLX)
    evaluated = []
    real_eval = mlx.core.eval
    monkeypatch.setattr(mlx.core, "eval", lambda *a: (evaluated.append(a), real_eval(*a))[1])
    try:
        out = run.call()
        assert len(evaluated) == 1 and evaluated[0][0] is out
    finally:
        measurement.release()


@needs(MLX)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_softmax_accumulating_in_half_precision_is_caught(dtype, seed, monkeypatch):
    """MLX's default softmax accumulates float16 / bfloat16 rows in their own type: a row of
    10^6 elements then sums to far from 1. The suite's Softmax asks for precise=True."""
    monkeypatch.setenv("BENCH_PROFILE", "reference")  # the reference's long rows
    case = inputs.Case("4x1000000", axis=-1)
    with pytest.raises(AssertionError):
        run_and_check(defective(Softmax, mlx_fn=lambda x, axis: mx.softmax(x, axis=axis)), case, MLX, seed, dtype)
    run_and_check(defective(Softmax), case, MLX, seed, dtype)


@needs(MLX)
def test_device_time_evaluates_every_launched_call(monkeypatch):
    """time_device launches a batch of calls: each one is scheduled with mx.async_eval (no
    lazy graph is dropped unevaluated) and the clock waits for them before it reads."""
    import mlx.core

    # What is under test is the evaluation, not the idle-core guard (tests/test_cpu_guard.py).
    monkeypatch.setattr(measurement, "wait_for_idle_cores", lambda backend_name: None)
    bench = Softmax()
    bench.setup(Softmax.cases[0].label(), MLX)  # what asv does before each sample
    run = measurement.placed_case(Softmax, Softmax.cases[0].label(), MLX)
    scheduled, waited = [], []
    real_async_eval, real_synchronize = mlx.core.async_eval, mlx.core.synchronize
    monkeypatch.setattr(mlx.core, "async_eval", lambda *a: (scheduled.append(a[0]), real_async_eval(*a))[1])
    monkeypatch.setattr(mlx.core, "synchronize", lambda *a: (waited.append(len(scheduled)), real_synchronize(*a))[1])
    try:
        bench.time_device(Softmax.cases[0].label(), MLX)
        measurement.device_clock()
        # an async_eval per call (one evaluation of the batch could overlap its calls)
        assert len(scheduled) == run.batch >= 2
        assert [id(x) for x in scheduled] == [id(x) for x in run.pending]
        assert waited[-1] == run.batch  # the reading came after the whole batch was launched
    finally:
        measurement.release()
