"""The op declaration's cost model: the bytes and FLOPs of the roofline, the memory guard
that skips a case which does not fit, and asv's timeout per op."""

import numpy as np
import pytest

from benchmarks.harness import catalog, frameworks
from benchmarks.harness.inputs import active_profile

OPS = catalog.ops()
PRESENT_CPU = [b for b in ("mlx_cpu", "cpu") if not frameworks.BACKENDS[b].unavailable_reason()]


@pytest.mark.skipif(not PRESENT_CPU, reason="needs a CPU backend")
def test_case_that_does_not_fit_is_skipped_with_its_size(monkeypatch):
    monkeypatch.setenv("BENCH_MEMORY_LIMIT_GIB", "0.0001")
    op = OPS[0]
    with pytest.raises(NotImplementedError, match=r"needs \d+\.\d\d GiB, device has 0\.00 GiB free"):
        with catalog.placed(op.__name__, op.labels(active_profile())[0], PRESENT_CPU[0]):
            pass


def test_cost_model_is_the_real_inputs_and_result(seed):
    """The roofline's bytes and the memory guard come from `operands` / `result`: they must
    describe exactly the arrays the op reads and writes."""
    backend = frameworks.BACKENDS["cpu"]
    for op in OPS:
        for label in op.labels(active_profile()):
            case = op.case(label)
            shapes, static = case.shapes(), case.static
            arrays = op.make_inputs(case, np.random.default_rng(seed))
            expected = np.asarray(op.expected(case, arrays))
            result = op.result(shapes, **static)
            name = f"{op.__name__} {label}"
            assert expected.shape == result.shape, name
            assert (expected.dtype.kind in "iu") == (result.kind == "index"), name
            real = sum(a.nbytes for a in arrays) + expected.size * (8 if result.kind == "index" else 4)
            assert op.bytes_moved(shapes, "float32", **static) == real, name
            float_elements = sum(a.size for a in arrays if a.dtype.kind == "f") + (0 if result.kind == "index" else expected.size)
            assert op.bytes_moved(shapes, "float32", **static) - op.bytes_moved(shapes, "bfloat16", **static) == 2 * float_elements, name
            inputs = sum(a.nbytes for a in arrays)
            assert op.memory_needed(case, backend) >= 2 * inputs + expected.size * 4, name


def test_timeouts_follow_the_cost_of_the_slowest_case():
    ops = {op.__name__: op for op in OPS}
    # MLX's CPU backend takes about 61 s a call for MatMul 1000000x64 @ 64x1024 (2 cores):
    # the process makes ~5 calls, so the timeout must leave room for them.
    assert ops["MatMul"].timeout >= 5 * 61
    assert ops["ReLU"].timeout <= 180  # a hung element-wise op is reported within minutes
    for op in ops.values():
        slowest = max(op.expected_seconds(c.shapes("reference"), **c.static) for c in op.cases)
        assert op.timeout >= 5 * slowest
