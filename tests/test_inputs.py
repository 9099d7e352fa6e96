"""Inputs: seeded, rounded to the dtype the op computes in, and large ones tiled, placed on
every backend present exactly as NumPy sees them."""

import numpy as np
import pytest

from benchmarks import backends, common
from benchmarks.backends import TILE, Tiled

PRESENT = [name for name, b in backends.BACKENDS.items() if not b.unavailable_reason() and not b.compiled]


def test_large_inputs_repeat_one_block_and_small_ones_do_not(seed):
    rng = np.random.default_rng(seed)
    small = common.standard_normal(rng, (TILE // 1000, 1000))
    assert isinstance(small, np.ndarray) and small.dtype == np.float32
    big = common.standard_normal(rng, (3, TILE // 2 + 7))  # 1.5 blocks and a bit
    assert isinstance(big, Tiled) and big.shape == (3, TILE // 2 + 7) and big.nbytes == 4 * big.size
    full = np.asarray(big)
    assert full.shape == big.shape
    flat = full.reshape(-1)
    assert np.array_equal(flat[:TILE], big.block) and np.array_equal(flat[TILE:2 * TILE], big.block[:big.size - TILE])
    assert 0.9 < float(np.std(big.block)) < 1.1  # standard normal
    probabilities = common.uniform(rng, (TILE + 1,), 0.25, 0.5)
    assert 0.25 <= probabilities.block.min() and probabilities.block.max() <= 0.5
    targets = common.elementwise(lambda u: (u < 0.3).astype(np.float32), probabilities)
    assert isinstance(targets, Tiled) and set(np.unique(targets.block)) == {0.0, 1.0}


@pytest.mark.parametrize("dtype", backends.DTYPES)
@pytest.mark.parametrize("backend", PRESENT)
def test_tiled_input_is_placed_with_the_values_numpy_sees(backend, dtype, seed):
    b = backends.get_backend(backend)
    tiled = common.round_to(common.standard_normal(np.random.default_rng(seed), (2, 3, TILE // 5 + 3)), dtype)
    placed = b.place(tiled, dtype)
    b.complete([placed])
    got = b.to_numpy(placed)
    assert got.shape == tiled.shape
    assert np.array_equal(got, np.asarray(tiled))  # rounded to dtype on the host: exact


@pytest.mark.parametrize("backend", [b for b in PRESENT if not backends.BACKENDS[b].on_gpu])
def test_reference_size_case_with_tiled_inputs_matches_reference(backend, seed, monkeypatch):
    """A case at the reference shapes (its input is tiled) through the suite's own path."""
    from benchmarks.bench_activations import Sigmoid

    monkeypatch.setenv(common.PROFILE_ENV, "reference")
    case = Sigmoid.cases[1]  # 64x128x1024: 8M elements, two blocks
    try:
        run = common.prepared(Sigmoid, case.label(), backend, "float32", seed)
        assert isinstance(run.inputs[0], Tiled)
        Sigmoid.check(run.result(), Sigmoid.expected(run.case, run.arrays), run.arrays, run.case, 1e-4)
    finally:
        common.release()


def test_sampling_budget_and_rounds_can_be_tuned(monkeypatch):
    assert common.sampling(1e-4) == (10, 100, common.SAMPLE_BUDGET)
    # A device-time sample is a batch: 2 ms batches get their own, smaller budget.
    assert common.device_sampling(1e-4, 20) == (10, 20, common.DEVICE_BUDGET)
    assert common.device_sampling(0.6, 1) == (3, 3, common.DEVICE_BUDGET)
    monkeypatch.setenv(common.DEVICE_BUDGET_ENV, "0.2")
    assert common.device_sampling(1e-4, 20) == (10, 100, 0.2)
    monkeypatch.setenv(common.BUDGET_ENV, "0.5")
    assert common.sampling(1e-3) == (10, 100, 0.5)
    assert common.sampling(1e-2) == (10, 50, 0.5)
    assert common.sampling(0.3) == (3, 3, 0.5)
    assert common.sampling(2.0) == (2, 2, 0.0)
    monkeypatch.setenv(common.BUDGET_ENV, "lots")
    with pytest.raises(ValueError, match="BENCH_SAMPLE_BUDGET='lots'"):
        common.sampling(1e-3)
