"""tools.suite: which asv parameter combinations it runs, the machine it files results
under, and its refusals of bad options."""

import os
import re

import pytest

from benchmarks.harness import vocabulary
from toolkit import ROOT, assert_one_line_error, run_tool
from tools import suite


def asv_names(backends, dtypes):
    """Parameter-combination names as asv's --bench matches them."""
    names = []
    for backend in backends:
        names.append(f"bench_reductions.Sort.time_op('dim=1 axi=0', '{backend}')")
        names.append(f"bench_peaks.Peak.track_copy_bandwidth('{backend}')")
        names += [f"bench_linalg.MatMul.time_device('dim=1 dim=1', '{backend}', '{d}')" for d in dtypes]
    return names


def test_suite_selects_present_backends_and_gpu_only_reduced_dtypes():
    pattern = suite.selection_regex(["mlx_cpu", "cuda"], ["float32", "bfloat16"])
    picked = {n for n in asv_names(vocabulary.BACKEND_NAMES, vocabulary.DTYPES) if re.search(pattern, n)}
    assert picked == {
        "bench_reductions.Sort.time_op('dim=1 axi=0', 'mlx_cpu')",
        "bench_peaks.Peak.track_copy_bandwidth('mlx_cpu')",
        "bench_linalg.MatMul.time_device('dim=1 dim=1', 'mlx_cpu', 'float32')",
        "bench_reductions.Sort.time_op('dim=1 axi=0', 'cuda')",
        "bench_peaks.Peak.track_copy_bandwidth('cuda')",
        "bench_linalg.MatMul.time_device('dim=1 dim=1', 'cuda', 'float32')",
        "bench_linalg.MatMul.time_device('dim=1 dim=1', 'cuda', 'bfloat16')",
    }
    only_sort = suite.selection_regex(["cuda"], vocabulary.DTYPES, "Sort")
    assert {n for n in asv_names(vocabulary.BACKEND_NAMES, vocabulary.DTYPES) if re.search(only_sort, n)} == {
        "bench_reductions.Sort.time_op('dim=1 axi=0', 'cuda')"}




@pytest.mark.parametrize("args, fragment", [
    (["--backends", "mlx_gpu,tpu"], "unknown backend(s) tpu"),
    (["--backends", "cpu,cpu"], "named twice"),
    (["--machine", "../../evil"], "not a machine name"),
    (["--profile", "huge"], "invalid choice"),
])
def test_bad_options_are_one_line(args, fragment):
    assert_one_line_error(run_tool("suite", "--config", os.path.join(ROOT, "asv.conf.json"), *args), fragment)


def test_missing_config(tmp_path):
    assert_one_line_error(run_tool("suite", "--profile", "small", cwd=tmp_path), "no asv config")
