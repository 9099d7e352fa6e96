"""Every op on every backend this machine has agrees with its NumPy float64 reference."""

import pytest

from benchmarks import common
from benchmarks.backends import BACKEND_NAMES, get_backend

CASES = [(op, case.label()) for op in common.all_ops() for case in op.cases]


@pytest.fixture(scope="module", autouse=True)
def release_device_memory():
    yield
    common.release()


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.parametrize("op, label", CASES, ids=[f"{op.__name__} / {label}" for op, label in CASES])
def test_matches_reference(op, label, backend, seed):
    try:
        get_backend(backend)  # absent, or left out by BENCH_BACKENDS
    except NotImplementedError as reason:
        pytest.skip(str(reason))
    run = common.prepared(op, label, backend, seed)
    got = run.result()
    expected = op.expected(run.case, run.arrays)
    op.check(got, expected, run.arrays, run.case, op.tolerance_for(run.backend))
