"""Inputs: seeded, rounded to the dtype the op computes in, and large ones tiled, placed on
every backend present exactly as NumPy sees them."""

import numpy as np
import pytest

from benchmarks.harness import catalog, frameworks, inputs, measurement, vocabulary
from benchmarks.harness.inputs import TILE, Tiled

PRESENT = [name for name, b in frameworks.BACKENDS.items() if not b.unavailable_reason() and not b.compiled]


def test_large_inputs_repeat_one_block_and_small_ones_do_not(seed):
    rng = np.random.default_rng(seed)
    small = inputs.standard_normal(rng, (TILE // 1000, 1000))
    assert isinstance(small, np.ndarray) and small.dtype == np.float32
    big = inputs.standard_normal(rng, (3, TILE // 2 + 7))  # 1.5 blocks and a bit
    assert isinstance(big, Tiled) and big.shape == (3, TILE // 2 + 7) and big.nbytes == 4 * big.size
    full = np.asarray(big)
    assert full.shape == big.shape
    flat = full.reshape(-1)
    assert np.array_equal(flat[:TILE], big.block) and np.array_equal(flat[TILE:2 * TILE], big.block[:big.size - TILE])
    assert 0.9 < float(np.std(big.block)) < 1.1  # standard normal
    probabilities = inputs.uniform(rng, (TILE + 1,), 0.25, 0.5)
    assert 0.25 <= probabilities.block.min() and probabilities.block.max() <= 0.5
    targets = inputs.elementwise(lambda u: (u < 0.3).astype(np.float32), probabilities)
    assert isinstance(targets, Tiled) and set(np.unique(targets.block)) == {0.0, 1.0}


@pytest.mark.parametrize("dtype", vocabulary.DTYPES)
@pytest.mark.parametrize("backend", PRESENT)
def test_tiled_input_is_placed_with_the_values_numpy_sees(backend, dtype, seed):
    b = frameworks.get_backend(backend)
    tiled = inputs.round_to(inputs.standard_normal(np.random.default_rng(seed), (2, 3, TILE // 5 + 3)), dtype)
    placed = b.place(tiled, dtype)
    b.complete([placed])
    got = b.to_numpy(placed)
    assert got.shape == tiled.shape
    assert np.array_equal(got, np.asarray(tiled))  # rounded to dtype on the host: exact


@pytest.mark.parametrize("backend", [b for b in PRESENT if not frameworks.BACKENDS[b].on_gpu])
def test_reference_size_case_with_tiled_inputs_matches_reference(backend, seed, monkeypatch):
    """A case at the reference shapes (its input is tiled) through the suite's own path."""
    from benchmarks.bench_activations import Sigmoid

    monkeypatch.setenv("BENCH_PROFILE", "reference")
    case = Sigmoid.cases[1]  # 64x128x1024: 8M elements, two blocks
    try:
        run = measurement.placed_case(Sigmoid, case.label(), backend, "float32", seed)
        assert isinstance(run.inputs[0], Tiled)
        Sigmoid.check(run.read_back(), Sigmoid.expected(run.case, run.arrays), run.arrays, run.case, 1e-4)
    finally:
        measurement.release()


def test_sampling_budget_and_rounds_can_be_tuned(monkeypatch):
    assert measurement.sampling(1e-4) == (10, 100, vocabulary.SETTINGS["BENCH_SAMPLE_BUDGET"].default)
    # A device-time sample is a batch: 2 ms batches get their own, smaller budget.
    assert measurement.device_sampling(1e-4, 20) == (10, 20, vocabulary.SETTINGS["BENCH_DEVICE_BUDGET"].default)
    assert measurement.device_sampling(0.6, 1) == (3, 3, vocabulary.SETTINGS["BENCH_DEVICE_BUDGET"].default)
    monkeypatch.setenv("BENCH_DEVICE_BUDGET", "0.2")
    assert measurement.device_sampling(1e-4, 20) == (10, 100, 0.2)
    monkeypatch.setenv("BENCH_SAMPLE_BUDGET", "0.5")
    assert measurement.sampling(1e-3) == (10, 100, 0.5)
    assert measurement.sampling(1e-2) == (10, 50, 0.5)
    assert measurement.sampling(0.3) == (3, 3, 0.5)
    assert measurement.sampling(2.0) == (2, 2, 0.0)
    monkeypatch.setenv("BENCH_SAMPLE_BUDGET", "lots")
    with pytest.raises(ValueError, match="BENCH_SAMPLE_BUDGET='lots'"):
        measurement.sampling(1e-3)


def test_inputs_are_seeded_per_case_and_identical_across_processes():
    from toolkit import run_python

    code = ("import hashlib; import numpy as np; from benchmarks.harness import catalog, inputs;"
            "op = catalog.ops()[0]; label = op.labels('small')[0];"
            "a = op.make_inputs(op.case(label), np.random.default_rng(inputs.case_seed(op.__name__, label)));"
            "print(hashlib.sha256(b''.join(np.asarray(x).tobytes() for x in a)).hexdigest())")
    import os

    digests = {run_python(code, env=dict(os.environ, PYTHONHASHSEED=str(s))).stdout for s in (1, 2)}
    assert len(digests) == 1 and len(next(iter(digests)).strip()) == 64
