"""Every op on every backend this machine has agrees with its NumPy float64 reference, in
every dtype it is measured in (float16 / bfloat16 are measured on GPU backends only, but
checked on every backend present: the CPU backends compute them too)."""

import pytest

from benchmarks import common
from benchmarks.backends import BACKEND_NAMES, get_backend

CASES = [(op, case.label(), dtype) for op in common.all_ops() for case in op.cases for dtype in op.dtypes]


@pytest.fixture(scope="module", autouse=True)
def release_device_memory():
    yield
    common.release()


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.parametrize("op, label, dtype", CASES, ids=[f"{op.__name__} / {label} / {dtype}" for op, label, dtype in CASES])
def test_matches_reference(op, label, dtype, backend, seed):
    try:
        get_backend(backend)  # absent, or left out by BENCH_BACKENDS
    except NotImplementedError as reason:
        pytest.skip(str(reason))
    run = common.prepared(op, label, backend, dtype, seed)
    got = run.result()
    expected = op.expected(run.case, run.arrays)  # float64, on the inputs rounded to dtype
    op.check(got, expected, run.arrays, run.case, op.tolerance_for(run.backend, dtype))
