"""tools.tidy: one long table of a result set, round-tripping through CSV and JSON with pandas."""

import datetime
import math
import os

import pandas as pd
import pytest
from asv.results import Results
from asv.runner import BenchmarkResult

from asv_fixtures import add, write_results
from benchmarks.harness import vocabulary
from toolkit import ROOT
from tools import tidy
from tools.results import frame, select

ARGMAX = "bench_reductions.Argmax"
CASE = "dim=64x1024x128 dim=10 axi=1"
TIMINGS = {
    f"{ARGMAX}.time_op": {CASE: {"mlx_gpu": 0.002, "cuda": 0.004, "cpu": None}},
    f"{ARGMAX}.time_device": {CASE: {"mlx_gpu": 0.0015, "cuda": 0.003}},
}
SETTINGS = {"bench_settings.Float32Matmul.track_tf32_allowed": {"mlx_gpu": 1.0, "cuda": 0.0}}
COMMIT_DATE = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def results(tmp_path):
    folder = str(tmp_path / "results")
    write_results(folder, "box", "a" * 40, TIMINGS, settings=SETTINGS)
    # a release environment: asv records its requirements (the versions) among the params
    release = Results({"machine": "box", "python": "3.11", "mlx": "0.32.4", "torch": "2.13.0"}, {}, "b" * 40,
                      int(COMMIT_DATE.timestamp() * 1000), "3.11", "virtualenv-py3.11-mlx0.32.4-torch2.13.0", {})
    add(release, f"{ARGMAX}.time_op", [[repr(CASE)], ["'mlx_cpu'"]], [0.25],
        datetime.datetime(2026, 11, 2, tzinfo=datetime.timezone.utc))
    release.save(folder)
    return folder


def table_of(results, commit):
    selection = select(results, "box", commit)
    return tidy.tidy(frame(selection), selection)


def test_one_row_per_figure_with_the_result_sets_description(results):
    table = table_of(results, "a")
    assert list(table.columns[:len(tidy.SCHEMA)]) == list(tidy.SCHEMA)
    row = table[(table["backend"] == "cuda") & (table["measure"] == "device")].iloc[0]
    assert (row["machine"], row["commit"], row["environment"]) == ("box", "a" * 40, "existing-py")
    assert (row["op"], row["case"], row["shapes"], row["axis"]) == ("Argmax", CASE, "64x1024x128 10", 1)
    assert (row["value"], row["unit"], row["samples"]) == (0.003, "s", 1)
    assert pd.isna(row["mlx"]) and pd.isna(row["torch"])  # an existing interpreter records no versions
    failed = table[(table["backend"] == "cpu") & (table["measure"] == "latency")].iloc[0]
    assert math.isnan(failed["value"]) and failed["status"] == "failed"
    fact = table[table["op"] == "Float32Matmul"]
    assert set(fact["measure"]) == {"track_tf32_allowed"} and fact["case"].isna().all() and fact["axis"].isna().all()


def test_versions_and_date_come_from_the_results(results):
    row = table_of(results, "b").iloc[0]
    assert (row["mlx"], row["torch"]) == ("0.32.4", "2.13.0")
    assert pd.Timestamp(row["date"]) == pd.Timestamp(COMMIT_DATE)


def test_a_view_of_the_frame_passes_through(results):
    selection = select(results, "box", "a")
    df = frame(selection)
    view = df[(df["op"] == "Argmax") & (df["backend"] == "mlx_gpu")].copy()
    view["row"] = view["op"] + " / " + view["case"]
    view = view.drop(columns=["op", "case"]).assign(ratio=2.0)
    table = tidy.tidy(view, selection)
    assert set(table["op"]) == {"Argmax"} and set(table["case"]) == {CASE}
    assert sorted(table["value"]) == [0.0015, 0.002] and list(table["ratio"]) == [2.0, 2.0]
    assert "row" not in table and "method" not in table


def test_the_committed_h100_results_export_whole(tmp_path):
    selection = select(os.path.join(ROOT, "results"), "h100", "3a3b369d")
    df = frame(selection)
    path = tmp_path / "h100.json"
    tidy.export(df, selection, str(path))
    table = tidy.read(str(path))
    assert len(table) == len(df) and set(table["machine"]) == {"h100"}
    times = table[table["measure"].isin(["latency", "device"])]
    assert set(times["unit"]) == {"s"} and set(times["backend"]) == set(df.loc[df["method"] == "time_op", "backend"])
    ran = times[times["status"] == "ok"]
    assert ran["samples"].notna().all() and (ran["samples"] >= 1).all() and (ran["q25"] <= ran["q75"]).all()


def kept_samples(folder, record):
    """A results file whose one figure is the median of 7 samples, kept by asv or not."""
    write_results(folder, "box", "c" * 40, {})
    result = Results({"machine": "box", "python": "3.11"}, {}, "c" * 40, 0, "3.11", "existing-py", {})
    samples = [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007]
    result.add_result({"name": f"{ARGMAX}.time_op", "params": [[repr(CASE)], ["'cuda'"]], "version": "1"},
                      BenchmarkResult(result=[0.004], samples=[samples], number=[1], errcode=0, stderr="",
                                      profile=None), record_samples=record)
    result.save(folder)
    return select(folder, "box", "c")


@pytest.mark.parametrize("record", [True, False])
def test_samples_are_counted_whether_asv_kept_them_or_not(tmp_path, record):
    selection = kept_samples(str(tmp_path / "results"), record)
    df = frame(selection)
    assert list(df["samples"]) == [7]  # the frame carries the count: from the samples, else asv's stats
    assert list(tidy.tidy(df, selection)["samples"]) == [7]


def test_units_of_the_machine_facts_come_from_the_vocabulary(results):
    from benchmarks import bench_peaks, bench_settings

    for cls in (bench_peaks.Peak, bench_settings.Float32Matmul):
        tracked = {name for name in dir(cls) if name.startswith("track_")}
        assert tracked == {f.method for f in vocabulary.FACTS if f.cls == cls.__name__}
        assert all(getattr(cls, name).unit == vocabulary.FACT[(cls.__name__, name)].unit for name in tracked)
    table = table_of(results, "a")
    fact = table[table["op"] == "Float32Matmul"]
    assert set(fact["unit"]) == {vocabulary.FACT[("Float32Matmul", "track_tf32_allowed")].unit} == {"flag"}


@pytest.mark.parametrize("name", ["out/box.csv", "out/box.json"])
def test_round_trip_through_pandas(results, tmp_path, name):
    table = table_of(results, "a")
    path = tmp_path / name  # its folder does not exist yet
    tidy.write(table, str(path))
    back = tidy.read(str(path))
    pd.testing.assert_frame_equal(back, table, check_exact=False, rtol=1e-14)
    assert set(back["unit"].dropna()) == {"s", "flag"}  # the timings', and Float32Matmul's tf32 flag
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left


def test_cli_writes_the_latest_run_and_refuses_to_overwrite(results, tmp_path, capsys):
    out = tmp_path / "export.csv"
    assert tidy.main(["--results", results, "--machine", "box", "--out", str(out)]) == 0
    assert set(pd.read_csv(out)["commit"]) == {"b" * 40}  # the later run
    before = out.read_bytes()
    capsys.readouterr()
    assert tidy.main(["--results", results, "--machine", "box", "--commit", "a", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and len(err.splitlines()) == 1 and out.read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (["--machine", "nowhere", "--out", "x/t.csv"], "unknown machine"),
    (["--machine", "box", "--commit", "c0ffee", "--out", "x/t.csv"], "commit"),
    (["--machine", "box", "--out", "x/t.parquet"], ".csv or .json"),
])
def test_bad_input_one_line_exit_2_nothing_written(results, tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    try:
        status = tidy.main(["--results", results, *args])
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
