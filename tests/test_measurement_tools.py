"""tools.noise (run-to-run agreement), tools.fidelity's guard, tools.suite's selection, and the tables
of the committed H100 results."""

import os
import re
import subprocess
import sys

import pytest

from asv_fixtures import write_results
from conftest import ROOT
from tools import suite

ARGMAX = "bench_reductions.Argmax"


def two_runs(tmp_path, second_scale):
    """Two results files of the same cases; the second run's times are the first's times
    the factor `second_scale[i]` for case i."""
    cases = [f"dim={n}x8 axi=0" for n in range(1, 21)]
    paths = []
    for machine, scales in (("run1", [1.0] * 20), ("run2", second_scale)):
        write_results(str(tmp_path / machine), machine, "a" * 40, {
            f"{ARGMAX}.time_op": {c: {"cuda": 1e-3 * s, "cpu": 1e-6} for c, s in zip(cases, scales)},
            f"{ARGMAX}.time_device": {c: {"cuda": 5e-4 * s} for c, s in zip(cases, scales)},
        })
        paths.append(next((tmp_path / machine / machine).glob("aaaaaaaa-*.json")))
    return paths


def noise(*args):
    return subprocess.run([sys.executable, "-m", "tools.noise", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_noise_reports_median_and_95th_percentile_per_measure(tmp_path):
    # 17 cases move 1 %, then 3 %, 8 % and 10 %: median 1 %, 95th percentile 8.1 % (linear)
    first, second = two_runs(tmp_path, [1.01] * 17 + [1.03, 1.08, 1.10])
    proc = noise(first, second)
    lines = {line.split("|")[1].strip(): line for line in proc.stdout.splitlines() if line.startswith("| ")}
    for measure in ("latency", "device"):
        cells = [c.strip() for c in lines[measure].strip("|").split("|")]
        assert cells[1] == "20"  # the 1 us cpu cases are below --min-us
        assert cells[2] == "1.00 %"
        assert cells[3] == "8.10 %"
        assert cells[4] == "10.0 %"
    assert proc.returncode == 1 and "NOISY" in proc.stderr  # the 95th percentile is over 5 %
    proc = noise(first, second, "--p95", "10")
    assert proc.returncode == 0, proc.stderr


def test_noise_shows_each_backend_apart(tmp_path):
    # cuda is steady, mlx_gpu moves 10 % on every case: together the median would hide it.
    cases = [f"dim={n}x8 axi=0" for n in range(1, 11)]
    paths = []
    for machine, scale in (("run1", 1.0), ("run2", 1.1)):
        write_results(str(tmp_path / machine), machine, "a" * 40, {
            f"{ARGMAX}.time_device": {c: {"cuda": 1e-3, "mlx_gpu": 1e-3 * scale} for c in cases}})
        paths.append(next((tmp_path / machine / machine).glob("aaaaaaaa-*.json")))
    proc = noise(*paths)
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): line
            for line in proc.stdout.split("per backend:")[1].splitlines() if line.startswith("| ")}
    assert "| 10 " in rows[("cuda", "device")] and "0.00 %" in rows[("cuda", "device")]
    assert "10.00 %" in rows[("mlx_gpu", "device")]
    assert proc.returncode == 1  # overall: half the cases moved 10 %


def test_noise_output_into_a_closed_pipe_is_not_a_traceback(tmp_path):
    first, second = two_runs(tmp_path, [1.0] * 20)
    proc = subprocess.run(f"{sys.executable} -m tools.noise {first} {second} | head -1", shell=True,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("run 1:") and "Traceback" not in proc.stderr and "Error" not in proc.stderr


def test_noise_passes_identical_runs_and_rejects_bad_input(tmp_path):
    first, second = two_runs(tmp_path, [1.0] * 20)
    proc = noise(first, second)
    assert proc.returncode == 0 and "0.00 %" in proc.stdout
    proc = noise(first, tmp_path / "missing.json")
    assert proc.returncode == 2 and proc.stderr.startswith("error: no results file") and "Traceback" not in proc.stderr
    proc = noise(first, second, "--min-us", "1e9")
    assert proc.returncode == 2 and "no case of at least" in proc.stderr


@pytest.mark.skipif(subprocess.run([sys.executable, "-c", "import torch, sys; sys.exit(torch.cuda.is_available())"]).returncode,
                    reason="a CUDA machine runs the check itself")
def test_fidelity_says_it_needs_cuda(tmp_path):
    write_results(str(tmp_path / "r"), "box", "a" * 40, {f"{ARGMAX}.time_device": {"dim=64x1024x128 axi=0": {"cuda": 1e-3}}})
    proc = subprocess.run([sys.executable, "-m", "tools.fidelity", "--results", str(tmp_path / "r")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "needs torch with a CUDA GPU" in proc.stderr and "Traceback" not in proc.stderr


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
    picked = {n for n in asv_names(suite.BACKENDS, suite.DTYPES) if re.search(pattern, n)}
    assert picked == {
        "bench_reductions.Sort.time_op('dim=1 axi=0', 'mlx_cpu')",
        "bench_peaks.Peak.track_copy_bandwidth('mlx_cpu')",
        "bench_linalg.MatMul.time_device('dim=1 dim=1', 'mlx_cpu', 'float32')",
        "bench_reductions.Sort.time_op('dim=1 axi=0', 'cuda')",
        "bench_peaks.Peak.track_copy_bandwidth('cuda')",
        "bench_linalg.MatMul.time_device('dim=1 dim=1', 'cuda', 'float32')",
        "bench_linalg.MatMul.time_device('dim=1 dim=1', 'cuda', 'bfloat16')",
    }
    only_sort = suite.selection_regex(["cuda"], suite.DTYPES, "Sort")
    assert {n for n in asv_names(suite.BACKENDS, suite.DTYPES) if re.search(only_sort, n)} == {
        "bench_reductions.Sort.time_op('dim=1 axi=0', 'cuda')"}


def test_compare_gates_on_timings_only(tmp_path):
    """Tracked values are not times: a zero flag or a higher bandwidth is no regression."""
    for commit, t, flag, bandwidth in (("a" * 40, 1e-3, 0.0, 100.0), ("b" * 40, 3e-3, 0.0, 300.0)):
        write_results(str(tmp_path / "r"), "box", commit, {f"{ARGMAX}.time_op": {"dim=1 axi=0": {"cuda": t}}},
                      settings={"bench_settings.Float32Matmul.track_tf32_allowed": {"cuda": flag},
                                "bench_peaks.Peak.track_copy_bandwidth": {"cuda": bandwidth}})
    proc = subprocess.run([sys.executable, "-m", "tools.compare", "a" * 8, "b" * 8, "--results", str(tmp_path / "r")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "1 cases compared: 1 slower" in proc.stdout and "Peak" not in proc.stdout


def test_tables_show_device_time_and_roofline_on_the_committed_h100_results():
    def tables(*args):
        proc = subprocess.run([sys.executable, "-m", "tools.tables", "--machine", "h100", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    roofline = tables("--roofline")
    assert re.search(r"copy \d+ GB/s; matmul TFLOP/s float32 [\d.]+ \(TF32\), float32 [\d.]+ \(full FP32\)", roofline)
    header = next(line for line in roofline.splitlines() if line.startswith("| Operation"))
    assert all(column in header for column in ("GB/s", "TFLOP/s", "bound", "% of peak"))
    device = tables("--measure", "device")
    assert "device time, ms per call of a batch" in device
    assert re.search(r"\| Softmax / dim=64x1000000 axi=-1 +\| +\d+\.\d+ \| +\d+\.\d+ \| +\d+\.\d+ \|", device)
