"""tools.noise: run-to-run agreement of two results files, per measure and per backend."""

import subprocess
import sys

from asv_fixtures import write_results
from toolkit import ROOT, run_tool

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


def noise(*args):
    return run_tool("noise", *args, timeout=120)


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
    # `head -1` closes the pipe after the first line, while noise is still writing
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


