"""Every op on every backend this machine has agrees with its NumPy float64 reference, in
every dtype it is measured in (float16 / bfloat16 are measured on GPU backends only, but
checked on every backend present: the CPU backends compute them too)."""

import pytest

from benchmarks.harness import catalog, measurement
from benchmarks.harness.frameworks import get_backend
from benchmarks.harness.inputs import active_profile
from benchmarks.harness.vocabulary import BACKEND_NAMES

CASES = [(op, label, dtype) for op in catalog.ops() for label in op.labels(active_profile()) for dtype in op.dtypes]


@pytest.fixture(scope="module", autouse=True)
def release_device_memory():
    yield
    measurement.release()


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.parametrize("op, label, dtype", CASES, ids=[f"{op.__name__} / {label} / {dtype}" for op, label, dtype in CASES])
def test_matches_reference(op, label, dtype, backend, seed):
    try:
        get_backend(backend)  # absent, or left out by BENCH_BACKENDS
    except NotImplementedError as reason:
        pytest.skip(str(reason))
    op.verify(measurement.placed_case(op, label, backend, dtype, seed))
