"""The tables tool against results trees written through asv's API."""

import datetime
import math

import pandas as pd
import pytest

import re

from asv_fixtures import timings_then_memory_only, write_results
from toolkit import run_tool
from tools import tables

ARGMAX = "bench_reductions.Argmax.time_op"
SORT = "bench_reductions.Sort.time_op"
SETTINGS = {
    "bench_settings.Float32Matmul.track_relative_error": {"mlx_gpu": 2e-4, "cuda": 3e-7},
    "bench_settings.Float32Matmul.track_tf32_allowed": {"mlx_gpu": 1.0, "cuda": 0.0},
}


@pytest.fixture
def results(tmp_path):
    timings = {
        ARGMAX: {
            "dim=64x1024x128 axi=0": {"mlx_gpu": 0.002, "mlx_gpu_compile": 0.001, "cuda": 0.004, "cpu": 0.04},
            "dim=64x1024x128 axi=1": {"mlx_gpu": 0.001, "mlx_gpu_compile": 0.001, "cuda": 0.0005, "cpu": None},
        },
        SORT: {"dim=64x128x1024 axi=0": {"mlx_gpu": 0.010, "mlx_gpu_compile": 0.02, "cuda": 0.01, "cpu": 0.5}},
    }
    write_results(str(tmp_path / "results"), "box", "a" * 40, timings, settings=SETTINGS)
    return tmp_path / "results"


def run(results, *args, capsys):
    status = tables.main(["--results", str(results), *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_detailed_table_layout_and_reference_speedups(results, capsys):
    status, out, err = run(results, capsys=capsys)
    assert status == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("| Operation"))
    # a column per backend that ran, in the reference order, then the speedup pairs present
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "Operation", "mlx_gpu", "mlx_gpu_compile", "cpu", "cuda",
        "mlx_gpu_compile/mlx_gpu speedup", "cuda/cpu speedup", "mlx_gpu/cuda speedup",
    ]
    row = next(line for line in lines if line.startswith("| Argmax / dim=64x1024x128 axi=0"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:5] == ["2.00", "1.00", "40.00", "4.00"]
    # compile twice as fast: +100%; cuda 10x faster than cpu: +900%; mlx_gpu twice as fast as cuda: +100%
    assert cells[5:] == ["+100%", "+900%", "+100%"]
    failed = next(line for line in lines if line.startswith("| Argmax / dim=64x1024x128 axi=1"))
    assert [c.strip() for c in failed.strip("|").split("|")][3] == "err"  # asv: None = failed
    assert "nan%" in failed
    assert "Failed (1): Argmax / dim=64x1024x128 axi=1 on cpu" in out


def test_skipped_backend_is_nan_and_failed_is_err(tmp_path, capsys):
    timings = {ARGMAX: {"dim=1 axi=0": {"mlx_gpu": 0.001, "cuda": float("nan"), "cpu": None}}}
    write_results(str(tmp_path / "r"), "box", "c" * 40, timings)
    status, out, err = run(tmp_path / "r", capsys=capsys)
    assert status == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| Argmax / dim=1 axi=0"))
    header = next(line for line in out.splitlines() if line.startswith("| Operation"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    cells = dict(zip(columns, (c.strip() for c in row.strip("|").split("|"))))
    assert cells["cpu"] == "err" and "cuda" not in cells  # a backend that never ran has no column


def test_average_table_means_and_geometric_mean(results, capsys, tmp_path):
    status, _, err = run(results, "--csv", str(tmp_path), capsys=capsys)
    assert status == 0, err
    avg = pd.read_csv(tmp_path / "average.csv", index_col=0)
    # mean of 2 ms and 1 ms; the geometric mean of the per-case ratios 4/2 and 0.5/1 is 1: 0 %
    assert avg.loc["Argmax", "mlx_gpu"] == pytest.approx(1.5)
    assert avg.loc["Argmax", "mlx_gpu/cuda geomean speedup"] == pytest.approx(0.0, abs=1e-9)
    assert avg.loc["Argmax", "mlx_gpu/cuda speedup"] == pytest.approx((2.25 - 1.5) / 1.5 * 100)
    assert math.isnan(avg.loc["Argmax", "cpu"])  # a case without a figure: no mean
    detailed = pd.read_csv(tmp_path / "detailed.csv", index_col=0)
    assert detailed.loc["Sort / dim=64x128x1024 axi=0", "mlx_gpu_compile/mlx_gpu speedup"] == pytest.approx(-50)


def test_settings_line_reports_measured_precision(results, capsys):
    _, out, _ = run(results, capsys=capsys)
    assert "mlx_gpu: TF32 allowed, measured error 2.0e-04" in out
    assert "cuda: full FP32, measured error 3.0e-07" in out


def test_selects_latest_run_or_the_named_commit(results, capsys):
    later = datetime.datetime(2026, 11, 2, tzinfo=datetime.timezone.utc)
    write_results(str(results), "box", "b" * 40,
                  {ARGMAX: {"dim=64x1024x128 axi=0": {"mlx_gpu": 0.009}}}, started=later)
    _, out, _ = run(results, capsys=capsys)
    assert "commit bbbbbbbb" in out and "9.00" in out
    _, out, _ = run(results, "--commit", "aaaa", capsys=capsys)
    assert "commit aaaaaaaa" in out and "2.00" in out


def test_markdown_file_is_not_overwritten_without_force(results, capsys, tmp_path):
    target = tmp_path / "tables.md"
    target.write_text("precious")
    status, _, err = run(results, "--markdown", str(target), capsys=capsys)
    assert status == 2 and "--force" in err and target.read_text() == "precious"
    status, _, _ = run(results, "--markdown", str(target), "--force", capsys=capsys)
    assert status == 0 and "Detailed benchmark" in target.read_text()


@pytest.mark.parametrize("args, message", [
    (["--machine", "nope"], "unknown machine 'nope'"),
    (["--commit", "ffff"], "no results for commit 'ffff'"),
    (["--env", "conda-py"], "no results for environment 'conda-py'"),
])
def test_unknown_selection_is_one_line_and_status_2(results, capsys, args, message):
    status, out, err = run(results, *args, capsys=capsys)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_missing_results_folder(tmp_path, capsys):
    status, _, err = run(tmp_path / "none", capsys=capsys)
    assert status == 2 and "no results folder" in err


# --- the measures, dtypes, roofline and side-by-side views -------------------------------

MATMUL = "bench_linalg.MatMul"


def approx(x):
    return pytest.approx(x, rel=1e-5)  # the CSV keeps 6 significant digits
MATMUL_CASE = "dim=1000x64x256 dim=256x32"
PEAKS = {
    "bench_peaks.Peak.track_copy_bandwidth": {"mlx_gpu": 2000.0, "cuda": 3000.0, "cpu": 50.0},
    "bench_peaks.Peak.track_matmul_float32": {"mlx_gpu": 400.0, "cuda": 50.0, "cpu": 1.0},
    "bench_peaks.Peak.track_matmul_float16": {"mlx_gpu": 700.0, "cuda": 800.0, "cpu": 0.5},
    "bench_peaks.Peak.track_matmul_bfloat16": {"mlx_gpu": 700.0, "cuda": 800.0, "cpu": 0.5},
    **SETTINGS,
}


@pytest.fixture
def full(tmp_path):
    results = tmp_path / "results"
    write_results(str(results), "box", "d" * 40, {
        ARGMAX + "": {"dim=64x1024x128 axi=0": {"mlx_gpu": 0.002, "cuda": 0.004}},
        ARGMAX.replace("time_op", "time_device"): {"dim=64x1024x128 axi=0": {"mlx_gpu": 0.0015, "cuda": 0.003}},
    }, settings=PEAKS, dtyped={
        MATMUL + ".time_op": {MATMUL_CASE: {"float32": {"mlx_gpu": 0.001, "cuda": 0.002},
                                            "bfloat16": {"mlx_gpu": 0.0005, "cuda": 0.0004}}},
        MATMUL + ".time_device": {MATMUL_CASE: {"float32": {"mlx_gpu": 0.0008, "cuda": 0.0016},
                                                "bfloat16": {"mlx_gpu": 0.0004, "cuda": 0.0002}}},
    })
    return results


def cells_of(out, row_start):
    header = next(line for line in out.splitlines() if line.startswith("| Operation"))
    row = next(line for line in out.splitlines() if line.startswith(row_start))
    return dict(zip([c.strip() for c in header.strip("|").split("|")], [c.strip() for c in row.strip("|").split("|")]))


def test_device_measure_and_dtype_choose_their_figures(full, capsys):
    _, out, _ = run(full, capsys=capsys)
    assert cells_of(out, "| Argmax")["mlx_gpu"] == "2.00" and cells_of(out, "| MatMul")["cuda"] == "2.00"
    _, out, _ = run(full, "--measure", "device", capsys=capsys)
    assert "device time" in out
    assert cells_of(out, "| Argmax")["mlx_gpu"] == "1.50" and cells_of(out, "| MatMul")["cuda"] == "1.60"
    _, out, _ = run(full, "--dtype", "bfloat16", capsys=capsys)
    cells = cells_of(out, "| MatMul")
    assert cells["mlx_gpu"] == "0.50" and cells["cuda"] == "0.40" and cells["mlx_gpu/cuda speedup"] == "-20%"
    assert "Argmax" not in out  # no bfloat16 figures for Argmax


def test_roofline_uses_the_cost_model_and_measured_peaks(full, capsys, tmp_path):
    status, out, err = run(full, "--roofline", "--csv", str(tmp_path), capsys=capsys)
    assert status == 0, err
    table = pd.read_csv(tmp_path / "roofline.csv").set_index(["Operation", "backend"])
    mm = table.loc[("MatMul / " + MATMUL_CASE, "cuda")]
    nbytes = 4 * (1000 * 64 * 256 + 256 * 32 + 1000 * 64 * 32)
    flops = 2 * 1000 * 64 * 32 * 256
    assert mm["MB"] == approx(nbytes / 1e6)
    assert mm["GFLOP"] == approx(flops / 1e9)
    assert mm["ms"] == approx(1.6)  # device time by default
    assert mm["GB/s"] == approx(nbytes / 1.6e-3 / 1e9)
    # cuda runs float32 in full FP32: its ceiling is cuda's own 50 TFLOP/s, not MLX's TF32 rate,
    # and the GPU's bandwidth is the best of its backends (3000 GB/s)
    roof = max(nbytes / 3000e9, flops / 50e12)
    assert mm["% of peak"] == approx(100 * roof / 1.6e-3)
    assert mm["bound"] == ("compute" if flops / 50e12 > nbytes / 3000e9 else "memory")
    mlx = table.loc[("MatMul / " + MATMUL_CASE, "mlx_gpu")]
    assert mlx["% of peak"] == approx(100 * max(nbytes / 3000e9, flops / 400e12) / 0.8e-3)
    argmax = table.loc[("Argmax / dim=64x1024x128 axi=0", "cuda")]
    assert math.isnan(argmax["GFLOP"]) and argmax["bound"] == "memory"
    assert argmax["MB"] == approx((64 * 1024 * 128 * 4 + 1024 * 128 * 8) / 1e6)
    assert "Roofline on cuda" in out and "copy 3000 GB/s" in out
    _, out, _ = run(full, "--roofline", "--dtype", "bfloat16", "--measure", "latency", capsys=capsys)
    assert "bfloat16, latency time" in out and "Argmax" not in out


def test_machines_and_environments_side_by_side(tmp_path, capsys):
    results = tmp_path / "results"
    for machine, t in (("m1", 0.002), ("m2", 0.001)):
        write_results(str(results), machine, "e" * 40, {ARGMAX: {"dim=64x1024x128 axi=0": {"mlx_gpu": t, "cpu": 1.0}}})
    status, out, err = run(results, "--machines", "m1,m2", "--backend", "mlx_gpu", capsys=capsys)
    assert status == 0, err
    cells = cells_of(out, "| Argmax")
    assert cells["m1"] == "2.00" and cells["m2"] == "1.00" and cells["m2/m1 speedup"] == "+100%"
    for env, t in (("virtualenv-py3.11-mlx0.31.2", 0.004), ("virtualenv-py3.11-mlx0.32.4", 0.003)):
        write_results(str(results), "m3", "f" * 40, {ARGMAX: {"dim=64x1024x128 axi=0": {"mlx_cpu": t}}}, env=env)
    status, out, err = run(results, "--machine", "m3", "--envs",
                           "virtualenv-py3.11-mlx0.31.2,virtualenv-py3.11-mlx0.32.4", "--backend", "mlx_cpu",
                           capsys=capsys)
    assert status == 0, err
    # columns named by what differs between the environments: the MLX versions
    assert cells_of(out, "| Argmax")["mlx0.32.4/mlx0.31.2 speedup"] == "+33%"


@pytest.mark.parametrize("args, message", [
    (["--machines", "box,box2"], "add --backend"),
    (["--backend", "cuda"], "--backend goes with --machines"),
    (["--machines", "box", "--backend", "cuda"], "at least two"),
    (["--machines", "a,b", "--envs", "c,d", "--backend", "cuda"], "choose one"),
    (["--roofline", "--machines", "a,b", "--backend", "cuda"], "--roofline shows one result set"),
    (["--ops", "Argmax,Nope"], "unknown op(s) Nope"),
    (["--machines", "box,nope", "--backend", "cuda"], "unknown machine 'nope'"),
    (["--dtype", "float16"], "no latency figures in float16"),
])
def test_view_options_fail_with_one_line(results, capsys, args, message):
    status, out, err = run(results, *args, capsys=capsys)
    assert status == 2 and out == "" and err.count("\n") == 1 and message in err, err


def test_tables_show_device_time_and_roofline_on_the_committed_h100_results():
    def tables(*args):
        proc = run_tool("tables", "--machine", "h100", *args)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    roofline = tables("--roofline")
    assert re.search(r"copy \d+ GB/s; matmul TFLOP/s float32 [\d.]+ \(TF32\), float32 [\d.]+ \(full FP32\)", roofline)
    header = next(line for line in roofline.splitlines() if line.startswith("| Operation"))
    assert all(column in header for column in ("GB/s", "TFLOP/s", "bound", "% of peak"))
    device = tables("--measure", "device")
    assert "device time, ms per call of a batch" in device
    assert re.search(r"\| Softmax / dim=64x1000000 axi=-1 +\| +\d+\.\d+ \| +\d+\.\d+ \| +\d+\.\d+ \|", device)


def test_a_newer_memory_only_run_does_not_hide_the_latest_timings(tmp_path):
    """tables shows the newest run that holds the measure asked for: a later run of peak
    memory alone is shown for --measure memory, not instead of the latest timings."""
    folder = str(tmp_path / "results")
    timings_then_memory_only(folder)
    timed = run_tool("tables", "--results", folder, "--machine", "box")
    assert timed.returncode == 0, timed.stderr
    assert "commit aaaaaaaa" in timed.stdout and "1.00" in timed.stdout
    memory = run_tool("tables", "--results", folder, "--machine", "box", "--measure", "memory")
    assert memory.returncode == 0, memory.stderr
    assert "commit bbbbbbbb" in memory.stdout and "MiB" in memory.stdout
