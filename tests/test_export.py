"""--export FILE of every tool that shows figures: tools.tidy's long table of exactly the
figures the tool showed, read back with pandas, its values the results' own."""

import contextlib
import math
import types

import numpy as np
import pandas as pd
import pytest

from asv_fixtures import write_results
from benchmarks.harness import vocabulary
from tools import compare, fidelity, noise, tables, tidy
from tools.results import frame, select

ARGMAX = "bench_reductions.Argmax"
CASES = ["dim=64x1024x128 axi=0", "dim=64x1024x128 axi=1"]
BASE, HEAD = "a" * 40, "b" * 40
PEAKS = {"bench_peaks.Peak.track_copy_bandwidth": {"cuda": 3000.0, "cpu": 20.0},
         "bench_peaks.Peak.track_matmul_float32": {"cuda": 50.0, "cpu": 1.0},
         "bench_settings.Float32Matmul.track_tf32_allowed": {"cuda": 0.0, "cpu": 0.0}}


def timings(scale):
    """Argmax's two cases: latency, device time and peak memory; cpu's second case failed."""
    return {
        f"{ARGMAX}.time_op": {CASES[0]: {"cuda": 2e-4 * scale, "cpu": 4e-3, "mlx_gpu": 1e-4},
                              CASES[1]: {"cuda": 3e-4, "cpu": None, "mlx_gpu": 2e-4}},
        f"{ARGMAX}.time_device": {CASES[0]: {"cuda": 1e-4 * scale, "mlx_gpu": 9e-5},
                                  CASES[1]: {"cuda": 2e-4, "mlx_gpu": 1.8e-4 * scale}},
        f"{ARGMAX}.track_peak_memory": {CASES[0]: {"cuda": 2.0**20, "cpu": 3 * 2.0**20},
                                        CASES[1]: {"cuda": 2.0**21, "cpu": 0.0}},
    }


@pytest.fixture
def results(tmp_path):
    folder = str(tmp_path / "results")
    write_results(folder, "box", BASE, timings(1.0), settings=PEAKS)
    write_results(folder, "box", HEAD, timings(3.0), settings=PEAKS, started=pd.Timestamp("2026-11-02", tz="UTC"))
    write_results(folder, "big", HEAD, timings(2.0), settings=PEAKS)
    return folder


def source(folder, machine, commit):
    """{(op, measure or method, case, backend, dtype): value} of a results file."""
    df = frame(select(folder, machine, commit))
    measure = df["method"].map(lambda m: vocabulary.MEASURE_OF_METHOD[m].name
                               if m in vocabulary.MEASURE_OF_METHOD else m)
    return dict(zip(zip(df["op"], measure, df["case"], df["backend"], df["dtype"]), df["value"]))


def values_of(table, column="value"):
    return {(r.op, r.measure, r.case, r.backend, r.dtype): getattr(r, column) for r in table.itertuples()}


def same(a, b):
    return (a is None or (isinstance(a, float) and math.isnan(a))) and math.isnan(b) or a == pytest.approx(b, rel=1e-12)


def assert_from(table, folder, machine, commit, column="value"):
    """Every figure of `table` is the results file's figure of its case."""
    src = source(folder, machine, commit)
    for key, value in values_of(table, column).items():
        assert same(src[key], value), (key, src[key], value)


def call(tool, *args, capsys):
    try:
        status = tool.main([str(a) for a in args])
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def markdown_cells(text, title):
    """{(row, column): cell} of the Markdown table under the line `title`."""
    lines = text.split(title, 1)[1].splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("|")):]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    cells = {}
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        row = [c.strip() for c in line.strip("|").split("|")]
        cells.update({(row[0], column): cell for column, cell in zip(header[1:], row[1:])})
    return cells


# --- tables -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["out/tables.csv", "out/tables.json"])
@pytest.mark.parametrize("measure", ["latency", "memory"])
def test_tables_exports_the_cells_of_its_detailed_table(results, tmp_path, capsys, name, measure):
    path = tmp_path / name  # its folder does not exist yet
    status, out, err = call(tables, "--results", results, "--machine", "box", "--commit", "a", "--measure", measure,
                            "--export", path, capsys=capsys)
    assert status == 0, err
    table = tidy.read(str(path))
    assert set(tidy.SCHEMA) <= set(table.columns)
    shown = {k: v for k, v in markdown_cells(out, "Detailed benchmark").items()
             if not k[1].endswith(tables.PERCENT_COLUMNS)}
    assert len(table) == len(shown) and len(shown) == 2 * 3 - (measure == "memory") * 2  # memory: cpu, cuda
    m = vocabulary.MEASURE[measure]
    for r in table.itertuples():  # each exported figure is the one printed, in asv's unit
        cell = shown[(f"{r.op} / {r.case}", r.backend)]
        assert cell == ("err" if r.status == "failed" else tables.format_ms(r.value * m.shown_scale))
    assert set(table["measure"]) == {measure} and set(table["unit"]) == {m.unit}
    assert set(table["commit"]) == {BASE} and set(table["machine"]) == {"box"}
    assert_from(table, results, "box", "a")
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left


def test_tables_side_by_side_exports_each_machines_figures(results, tmp_path, capsys):
    path = tmp_path / "machines.csv"
    status, out, err = call(tables, "--results", results, "--machines", "box,big", "--backend", "cuda",
                            "--export", path, capsys=capsys)
    assert status == 0, err
    table = tidy.read(str(path))
    shown = [k for k in markdown_cells(out, "one column per machine") if not k[1].endswith(tables.PERCENT_COLUMNS)]
    assert len(table) == len(shown) == 4 and set(table["backend"]) == {"cuda"}
    for machine in ("box", "big"):
        assert_from(table[table["machine"] == machine], results, machine, "b")


def test_tables_roofline_exports_each_placed_case_with_its_rates(results, tmp_path, capsys):
    path = tmp_path / "roofline.json"
    status, out, err = call(tables, "--results", results, "--machine", "box", "--roofline", "--export", path,
                            capsys=capsys)
    assert status == 0, err
    table = tidy.read(str(path))
    placed, _ = tables.roofline(frame(select(results, "box", "b")), "device")
    assert len(table) == len(placed) == 4 and set(table["measure"]) == {"device"}
    rates = dict(zip(zip(placed["row"], placed["backend"]), placed[tables.BANDWIDTH.unit]))
    for _, r in table.iterrows():
        assert r[tables.BANDWIDTH.unit] == pytest.approx(rates[(f"{r['op']} / {r['case']}", r["backend"])])
    assert_from(table, results, "box", "b")


# --- compare and noise ------------------------------------------------------------------

@pytest.mark.parametrize("show_all", [False, True])
def test_compare_exports_the_cases_it_lists_with_base_and_verdict(results, tmp_path, capsys, show_all):
    path = tmp_path / "gate.csv"
    status, out, err = call(compare, "aaaaaaaa", "bbbbbbbb", "--results", results, "--machine", "box",
                            "--export", path, *(["--all"] if show_all else []), capsys=capsys)
    assert status == 1, err  # cuda's first case and mlx_gpu's second are 3x slower
    table = tidy.read(str(path))
    assert set(tidy.SCHEMA) | set(tidy.PAIR) | set(tidy.VERDICT) <= set(table.columns)
    listed = [line for line in out.splitlines() if line.startswith("| Argmax / ")]
    assert len(table) == len(listed) == (4 if show_all else 2)
    assert set(table["commit"]) == {HEAD} and set(table["base_commit"]) == {BASE}
    assert_from(table, results, "box", "b")
    assert_from(table.assign(measure="device"), results, "box", "a", column="base_value")
    assert np.allclose(table["ratio"], table["value"] / table["base_value"])
    slower = table[table["ratio"] > 2]
    assert len(slower) == 2 and set(slower["verdict"]) == {"suspect"}
    for line in listed:  # the printed verdict of each case is the exported one
        case, backend = line.split("|")[1].strip().split(" on ")
        row = table[(table["op"] + " / " + table["case"] == case) & (table["backend"] == backend)]
        assert line.rstrip(" |").endswith(row["verdict"].iloc[0])


def test_noise_exports_every_case_its_summary_counts(results, tmp_path, capsys):
    first = next((tmp_path / "results" / "box").glob("aaaaaaaa-*.json"))
    second = next((tmp_path / "results" / "box").glob("bbbbbbbb-*.json"))
    path = tmp_path / "noise" / "noise.json"
    status, out, err = call(noise, first, second, "--export", path, capsys=capsys)
    assert status == 1, err  # a threefold change is noise beyond any limit
    table = tidy.read(str(path))
    summary = markdown_cells(out, "|delta| = |t2 / t1 - 1|")
    counted = int(summary[("latency", "cases")]) + int(summary[("device", "cases")])
    assert len(table) == counted == 5 + 4  # latency: the failed cpu case is not compared
    assert_from(table, results, "box", "b")
    assert_from(table, results, "box", "a", column="base_value")
    assert np.allclose(table["delta"], (table["value"] / table["base_value"] - 1).abs())
    assert set(tidy.PAIR) | set(tidy.NOISE) <= set(table.columns)


# --- fidelity (CUDA only: the independent measurements are stubbed here) ----------------

def test_fidelity_exports_each_case_checked_with_its_reference(results, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(fidelity.catalog, "availability", lambda backends: {b: None for b in backends})
    monkeypatch.setattr(fidelity.catalog, "placed",
                        lambda op, case, backend, dtype: contextlib.nullcontext(types.SimpleNamespace(case=case)))
    kernel = {CASES[0]: 3e-4 * 0.99, CASES[1]: 2e-4 * 0.8}  # within 5 %, then 25 % off
    monkeypatch.setattr(fidelity, "profiler_seconds", lambda torch, placed: kernel[placed.case])
    monkeypatch.setattr(fidelity, "event_seconds", lambda torch, placed: 1e-3)
    path = tmp_path / "fidelity.csv"
    status, out, err = call(fidelity, "--results", results, "--machine", "box", "--export", path, capsys=capsys)
    assert status == 1, err
    table = tidy.read(str(path))
    assert len(table) == len([line for line in out.splitlines() if line.startswith("| Argmax")]) == 2
    assert set(tidy.REFERENCE) <= set(table.columns)
    assert_from(table, results, "box", "b")
    assert list(table["profiler"]) == pytest.approx([kernel[c] for c in table["case"]])
    assert np.allclose(table["difference"], (table["value"] - table["profiler"]) / table["profiler"])
    assert list(table["verdict"]) == ["ok", "DIFFERS"]


# --- bad input --------------------------------------------------------------------------

def tool_args(results, tmp_path):
    first = next((tmp_path / "results" / "box").glob("aaaaaaaa-*.json"))
    second = next((tmp_path / "results" / "box").glob("bbbbbbbb-*.json"))
    return {tables: ["--results", results, "--machine", "box"],
            compare: ["aaaaaaaa", "bbbbbbbb", "--results", results, "--machine", "box"],
            noise: [first, second],
            fidelity: ["--results", results, "--machine", "box"]}


@pytest.mark.parametrize("tool", [tables, compare, noise, fidelity], ids=lambda t: t.__name__)
@pytest.mark.parametrize("where, message", [
    ("out/t.parquet", "name a .csv or .json file"),
    ("a-file/t.csv", "is not a folder"),
    ("existing.csv", "--force"),
])
def test_bad_export_path_one_line_exit_2_nothing_written(results, tmp_path, capsys, tool, where, message):
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "existing.csv").write_text("kept")
    before = sorted(p.name for p in tmp_path.iterdir())
    status, out, err = call(tool, *tool_args(results, tmp_path)[tool], "--export", tmp_path / where, capsys=capsys)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before and (tmp_path / "existing.csv").read_text() == "kept"
