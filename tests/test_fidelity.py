"""tools.fidelity: a CUDA-only check; elsewhere it says so in one line."""

import pytest

from asv_fixtures import write_results
from benchmarks.harness import frameworks
from toolkit import assert_one_line_error, run_tool

ARGMAX = "bench_reductions.Argmax"


@pytest.mark.skipif(frameworks.BACKENDS["cuda"].unavailable_reason() is None, reason="a CUDA machine runs the check itself")
def test_fidelity_says_it_needs_cuda(tmp_path):
    write_results(str(tmp_path / "r"), "box", "a" * 40, {f"{ARGMAX}.time_device": {"dim=64x1024x128 axi=0": {"cuda": 1e-3}}})
    proc = run_tool("fidelity", "--results", tmp_path / "r", timeout=120)
    assert_one_line_error(proc, "needs torch with a CUDA GPU")


