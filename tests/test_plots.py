"""tools.plots: the charts are drawn from the results (figures inspected), written as PNG and SVG."""

import datetime
import math
import xml.etree.ElementTree as ElementTree

import numpy as np
import pandas as pd
import pytest

from asv_fixtures import timings_then_memory_only, write_results
from tools import plots
from tools.results import frame, select

ARGMAX = "bench_reductions.Argmax.time_op"
SORT = "bench_reductions.Sort.time_op"
ARGMAX_CASES = ["dim=64x1024x128 axi=0", "dim=64x1024x128 axi=1"]
# Argmax's times span three decades (log axis), Sort's less than one (linear axis).
TIMINGS = {
    ARGMAX: {ARGMAX_CASES[0]: {"mlx_gpu": 0.002, "cuda": 0.004, "cpu": 0.4},
             ARGMAX_CASES[1]: {"mlx_gpu": 0.001, "cuda": 0.0005, "cpu": None}},
    # the other profile's label of the case: in asv's grid, never measured here
    SORT: {"dim=64x128x1024 axi=0": {"mlx_gpu": 0.010, "cuda": 0.02, "cpu": 0.015}, "dim=64x27x40 axi=0": {}},
}
PEAKS = {
    "bench_peaks.Peak.track_copy_bandwidth": {"mlx_gpu": 3000.0, "cuda": 2800.0, "cpu": 20.0},
    "bench_peaks.Peak.track_matmul_float32": {"mlx_gpu": 50.0, "cuda": 50.0, "cpu": 1.0},
    "bench_settings.Float32Matmul.track_tf32_allowed": {"mlx_gpu": 0.0, "cuda": 0.0, "cpu": 0.0},
}
DAY = datetime.timedelta(days=1)
START = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def results(tmp_path):
    folder = str(tmp_path / "results")
    write_results(folder, "box", "b" * 40, TIMINGS, settings=PEAKS, started=START + DAY)
    # An older commit, 2x slower on mlx_gpu, and another machine, 4x slower everywhere.
    slower = {name: {case: {b: t * 2 if b == "mlx_gpu" and t else t for b, t in per.items()}
                     for case, per in cases.items()} for name, cases in TIMINGS.items()}
    write_results(folder, "box", "a" * 40, slower, started=START)
    write_results(folder, "slow", "b" * 40,
                  {name: {case: {b: t and t * 4 for b, t in per.items()} for case, per in cases.items()}
                   for name, cases in TIMINGS.items()})
    return tmp_path / "results"


def box(results):
    return frame(select(str(results), "box", "b" * 8))


def axes_named(fig):
    return {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}


def heights(container):
    return [bar.get_height() for bar in container]


def test_bars_one_axes_per_op_one_bar_group_per_backend(results):
    fig = plots.bars(box(results))
    axes = axes_named(fig)
    assert set(axes) == {"Argmax", "Sort"}
    argmax = axes["Argmax"]
    assert [c.get_label() for c in argmax.containers] == ["mlx_gpu", "cpu", "cuda"]
    assert [t.get_text() for t in argmax.get_xticklabels()] == ARGMAX_CASES
    # milliseconds, case by case; the failed cpu case has no bar and an "err" mark instead
    assert np.allclose(heights(argmax.containers[0]), [2.0, 1.0])
    cpu = heights(argmax.containers[1])
    assert math.isclose(cpu[0], 400.0) and math.isnan(cpu[1])
    assert [t.get_text() for t in argmax.texts] == ["err"]
    assert argmax.get_yscale() == "log" and axes["Sort"].get_yscale() == "linear"
    assert [t.get_text() for t in axes["Sort"].get_xticklabels()] == ["dim=64x128x1024 axi=0"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["mlx_gpu", "cpu", "cuda"]


def test_backends_keep_their_colour_in_every_chart(results):
    fig = plots.bars(box(results))
    for ax in axes_named(fig).values():
        for container in ax.containers:
            assert container.patches[0].get_facecolor() == pytest.approx(plots.colour(container.get_label()))


def test_machines_chart_puts_machines_side_by_side_per_op(results):
    frames = {m: frame(select(str(results), m, "b" * 8)) for m in ("box", "slow")}
    axes = axes_named(plots.machines(frames))
    sort = axes["Sort"]
    assert [t.get_text() for t in sort.get_xticklabels()] == ["box", "slow"]
    assert [c.get_label() for c in sort.containers] == ["mlx_gpu", "cpu", "cuda"]
    assert np.allclose(heights(sort.containers[0]), [10.0, 40.0])
    # the op's mean over its cases, nan where a case failed (as the average table)
    argmax_cuda = heights(axes["Argmax"].containers[2])
    assert np.allclose(argmax_cuda, [2.25, 9.0])
    assert all(math.isnan(h) for h in heights(axes["Argmax"].containers[1]))


def test_speedup_bar_is_the_geomean_and_dots_are_the_cases(results):
    fig = plots.speedup(box(results), [("mlx_gpu", "cuda")])
    (ax,) = fig.axes
    assert ax.get_title() == "mlx_gpu vs cuda" and ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Argmax", "Sort"]
    bars = ax.containers[0]
    ends = [bar.get_x() + bar.get_width() for bar in bars]
    assert ends == pytest.approx([math.sqrt(2.0 * 0.5), 2.0])
    (dots,) = ax.collections
    assert sorted(dots.get_offsets()[:, 0]) == pytest.approx([0.5, 2.0, 2.0])


def test_speedup_needs_both_backends_of_a_pair(results):
    with pytest.raises(plots.ToolError, match="mps"):
        plots.speedup(box(results), [("mps", "cuda")])


def test_roofline_draws_each_case_against_its_measured_ceiling(results):
    fig = plots.roofline(box(results), measure="latency")
    axes = axes_named(fig)
    memory = axes["cuda: memory-bound cases"]
    # the ceiling is the best copy bandwidth Peak recorded on the device (as in the tables)
    (line,) = memory.get_lines()
    assert line.get_xdata()[0] == pytest.approx(3000.0)
    assert axes["cpu: memory-bound cases"].get_lines()[0].get_xdata()[0] == pytest.approx(20.0)
    assert len(memory.collections[0].get_offsets()) == 3  # Argmax's two cases and Sort's
    assert [t.get_text() for t in memory.get_yticklabels()] == ["Argmax", "Sort"]
    assert "measured copy" in memory.get_legend().get_texts()[0].get_text()


def test_roofline_from_a_tables_csv_takes_ceilings_from_the_results(results, tmp_path, capsys):
    from tools import tables

    table, _ = tables.roofline(box(results), "latency")
    table["GB/s"] *= 2  # the CSV's figures, not recomputed ones, are drawn
    csv = tmp_path / "roofline.csv"
    table.set_index("row").to_csv(csv, index_label="Operation")  # as tools.tables --csv writes it
    fig = plots.roofline(box(results), "latency", table=plots.read_roofline_csv(str(csv)))
    memory = axes_named(fig)["cuda: memory-bound cases"]
    expected = table[(table["backend"] == "cuda") & (table["bound"] == "memory")]["GB/s"]
    assert sorted(memory.collections[0].get_offsets()[:, 0]) == pytest.approx(sorted(expected))
    assert memory.get_lines()[0].get_xdata()[0] == pytest.approx(3000.0)
    status, out, err = run(results, "roofline", "--machine", "box", "--measure", "latency", "--table", str(csv),
                           "--out", str(tmp_path / "charts"), capsys=capsys)
    assert status == 0, err
    csv.write_text("Operation,ms\nArgmax / dim=1,1.0\n")
    status, _, err = run(results, "roofline", "--machine", "box", "--table", str(csv),
                         "--out", str(tmp_path / "other"), capsys=capsys)
    assert status == 2 and "not a roofline CSV" in err and not (tmp_path / "other").exists()


def test_trend_orders_result_sets_by_time_one_line_per_case(results):
    sets = plots.result_sets(str(results), "box", None, None)
    assert list(sets) == ["a" * 8, "b" * 8]
    fig = plots.trend({label: frame(s) for label, s in sets.items()}, "Argmax")
    mlx = axes_named(fig)["Argmax on mlx_gpu"]
    assert [line.get_label() for line in mlx.get_lines()] == ARGMAX_CASES
    assert list(mlx.get_lines()[0].get_ydata()) == pytest.approx([4.0, 2.0])
    assert [t.get_text() for t in mlx.get_xticklabels()] == ["a" * 8, "b" * 8]


MIB = 2**20
# Peak memory in bytes, as asv records it: Argmax's figures span two decades (log axis),
# Sort's less than one (linear); mlx_gpu has no memory figure at all (no bars for it).
MEMORY = {
    "bench_reductions.Argmax.track_peak_memory": {ARGMAX_CASES[0]: {"cuda": 1 * MIB, "cpu": 300 * MIB},
                                                  ARGMAX_CASES[1]: {"cuda": 4 * MIB, "cpu": 8 * MIB}},
    "bench_reductions.Sort.track_peak_memory": {"dim=64x128x1024 axi=0": {"cuda": 64 * MIB, "cpu": 96 * MIB}},
}


@pytest.fixture
def memory_results(tmp_path):
    folder = str(tmp_path / "memory")
    for machine, scale in (("box", 1), ("big", 2)):
        write_results(folder, machine, "b" * 40, {**TIMINGS, **{name: {case: {b: v * scale for b, v in per.items()}
                                                                       for case, per in cases.items()}
                                                                for name, cases in MEMORY.items()}})
    return tmp_path / "memory"


def test_bars_of_peak_memory_in_mib(memory_results):
    fig = plots.bars(box(memory_results), measure="memory")
    axes = axes_named(fig)
    argmax, sort = axes["Argmax"], axes["Sort"]
    assert all("MiB" in ax.get_ylabel() for ax in axes.values())
    assert [c.get_label() for c in argmax.containers] == ["cpu", "cuda"]  # the backends with memory figures
    assert heights(argmax.containers[0]) == pytest.approx([300.0, 8.0])
    assert heights(sort.containers[1]) == pytest.approx([64.0])
    assert argmax.get_yscale() == "log" and sort.get_yscale() == "linear"


def test_machines_chart_of_peak_memory(memory_results):
    frames = {m: frame(select(str(memory_results), m)) for m in ("box", "big")}
    axes = axes_named(plots.machines(frames, measure="memory"))
    assert all(ax.get_ylabel().startswith("mean") and "MiB" in ax.get_ylabel() for ax in axes.values())
    argmax = axes["Argmax"]
    assert [c.get_label() for c in argmax.containers] == ["cpu", "cuda"]
    assert heights(argmax.containers[1]) == pytest.approx([2.5, 5.0])  # cuda's mean of 1 and 4 MiB, then twice
    # cpu's mean (154 MiB) and cuda's (2.5 MiB) span decades; Sort's 64 to 192 MiB do not
    assert argmax.get_yscale() == "log" and axes["Sort"].get_yscale() == "linear"


@pytest.mark.parametrize("chart, extra", [("bars", []), ("machines", ["--machines", "box,big"])])
def test_cli_draws_peak_memory(memory_results, tmp_path, capsys, chart, extra):
    status, out, err = run(memory_results, chart, "--measure", "memory", *extra, "--out", str(tmp_path / "c"),
                           capsys=capsys)
    assert status == 0, err
    png = tmp_path / "c" / f"{chart}-memory-float32.png"
    assert out.split()[0] == str(png) and png.read_bytes().startswith(b"\x89PNG")
    svg = (tmp_path / "c" / f"{chart}-memory-float32.svg").read_text()
    assert "MiB" in svg


def points_drawn(fig):
    """The bars and line points of a figure that stand for a figure (not nan)."""
    bars = [bar.get_height() for ax in fig.axes for c in ax.containers for bar in c]
    points = [y for ax in fig.axes for line in ax.get_lines() for y in line.get_ydata()]
    return sum(1 for v in bars + points if not math.isnan(v))


@pytest.mark.parametrize("chart, extra, machines", [
    ("bars", ["--machine", "box"], ["box"]),
    ("machines", ["--machines", "box,big"], ["box", "big"]),
    ("trend", ["--machine", "box", "--op", "argmax"], ["box"]),
])
def test_export_holds_the_figures_drawn(memory_results, tmp_path, capsys, chart, extra, machines):
    from tools import tidy

    path = tmp_path / "tidy" / f"{chart}.csv"  # its folder is created
    status, out, err = run(memory_results, chart, "--measure", "memory", *extra, "--out", str(tmp_path / "c"),
                           "--export", str(path), capsys=capsys)
    assert status == 0, err
    table = tidy.read(str(path))
    frames = {m: frame(select(str(memory_results), m)) for m in machines}
    if chart == "bars":  # one row per bar
        assert len(table) == points_drawn(plots.bars(frames["box"], measure="memory")) == 6
    elif chart == "trend":  # one row per point
        assert len(table) == points_drawn(plots.trend(frames, "Argmax", measure="memory")) == 4
    else:  # a bar is the mean of an op's cases: the cases behind every bar
        assert len(table) == 2 * 6 and points_drawn(plots.machines(frames, measure="memory")) == 2 * 2 * 2
    assert set(table["unit"]) == {"bytes"} and set(table["measure"]) == {"memory"}
    for m, df in frames.items():  # each row is the results' figure, in asv's unit
        source = df[df["method"] == "track_peak_memory"].set_index(["op", "case", "backend"])["value"]
        part = table[table["machine"] == m].set_index(["op", "case", "backend"])["value"]
        assert len(part) and part.to_dict() == source.reindex(part.index).to_dict()


def run(results, *args, capsys):
    try:
        status = plots.main(["--results", str(results), *args])
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def test_trend_names_the_op_in_any_letter_case(results, tmp_path, capsys):
    status, out, err = run(results, "trend", "--machine", "box", "--op", "argMAX", "--formats", "png",
                           "--out", str(tmp_path), capsys=capsys)
    assert status == 0, err
    assert out.split() == [str(tmp_path / "trend-Argmax-latency-float32.png")]


def test_cli_writes_png_and_svg_and_never_overwrites_without_force(results, tmp_path, capsys):
    out_dir = tmp_path / "charts" / "box"  # created by the tool
    status, out, err = run(results, "bars", "--machine", "box", "--out", str(out_dir), capsys=capsys)
    assert status == 0, err
    png, svg = out_dir / "bars-latency-float32.png", out_dir / "bars-latency-float32.svg"
    assert out.split() == [str(png), str(svg)]
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert ElementTree.parse(svg).getroot().tag.endswith("svg")
    before = png.read_bytes()
    status, _, err = run(results, "bars", "--machine", "box", "--out", str(out_dir), capsys=capsys)
    assert status == 2 and "--force" in err and len(err.splitlines()) == 1
    assert png.read_bytes() == before
    assert sorted(p.name for p in out_dir.iterdir()) == [png.name, svg.name]  # no temporary left


def test_svg_is_the_same_when_drawn_twice(results, tmp_path, capsys):
    for name in ("one", "two"):
        assert run(results, "speedup", "--machine", "box", "--pairs", "mlx_gpu/cuda", "--formats", "svg",
                   "--out", str(tmp_path / name), capsys=capsys)[0] == 0
    assert (tmp_path / "one" / "speedup-latency-float32.svg").read_bytes() == \
        (tmp_path / "two" / "speedup-latency-float32.svg").read_bytes()


@pytest.mark.parametrize("args, message", [
    (["bars", "--machine", "nowhere"], "unknown machine"),
    (["trend", "--machine", "box", "--op", "Nope"], "unknown op"),
    (["trend", "--machine", "box", "--op", "Argmax", "--commits", "c0ffee"], "commit"),
    (["speedup", "--machine", "box", "--pairs", "mlx_gpu-cuda"], "A/B"),
    (["bars", "--formats", "pdf"], "format"),
    (["machines", "--machine", "box"], "--machines"),
    (["bars", "--op", "Argmax"], "--op"),
    (["speedup", "--measure", "memory"], "--measure latency or device"),
    (["bars", "--measure", "bandwidth"], "invalid choice"),
    (["speedup", "--machine", "box", "--export", "x.csv"], "--export goes with"),
    (["bars", "--machine", "box", "--export", "x.parquet"], ".csv or .json"),
])
def test_bad_input_one_line_exit_2_nothing_written(results, tmp_path, capsys, args, message):
    out_dir = tmp_path / "charts"
    status, out, err = run(results, *args, "--out", str(out_dir), capsys=capsys)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and not out_dir.exists()


def test_a_newer_memory_only_run_does_not_hide_the_latest_timings(tmp_path, capsys):
    folder = str(tmp_path / "results")
    timings_then_memory_only(folder)
    for measure, commit in (("device", "aaaaaaaa"), ("memory", "bbbbbbbb")):
        export = tmp_path / f"{measure}.csv"
        assert plots.main(["bars", "--results", folder, "--machine", "box", "--measure", measure,
                           "--out", str(tmp_path / "charts"), "--export", str(export)]) == 0
        assert set(pd.read_csv(export, dtype={"commit": str})["commit"].str[:8]) == {commit}
