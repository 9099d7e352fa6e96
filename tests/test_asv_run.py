"""The small profile, through asv itself, end to end: every case gets a figure on every
backend this machine has, and the tables tool reads the run back."""

import pytest

from benchmarks.harness import catalog, frameworks, inputs, measurement, vocabulary
from tools import tables


@pytest.mark.parametrize("measure", ["latency", "device"])
def test_every_case_has_a_figure_on_every_present_backend(small_run, measure):
    results, commit = small_run.results, small_run.commit
    present = [name for name, b in frameworks.BACKENDS.items() if not b.unavailable_reason()]
    detail = tables.build(tables.parse_args(["--results", str(results), "--commit", commit,
                                             "--measure", measure])).detailed
    expected_rows = [f"{op.__name__} / {case.label('small')}" for op in catalog.ops() for case in op.cases]
    assert sorted(detail.index) == sorted(expected_rows)
    assert set(present) <= set(detail.columns)
    missing = detail[present].isna().stack()
    assert not missing.any(), f"no figure for: {list(missing[missing].index)[:10]}"
    assert (detail[present] > 0).all().all()


def test_peaks_are_recorded_for_every_present_eager_backend(small_run):
    results, commit = small_run.results, small_run.commit
    df = tables.build(tables.parse_args(["--results", str(results), "--commit", commit])).df
    peaks = df[df["op"] == "Peak"]
    for name, backend in frameworks.BACKENDS.items():
        rows = peaks[peaks["backend"] == name]
        assert len(rows) == 4
        if backend.unavailable_reason() or backend.compiled:
            assert rows["value"].isna().all()
        else:
            assert (rows["value"] > 0).all(), rows


def test_absent_backends_were_skipped_not_run(small_run):
    results, commit = small_run.results, small_run.commit
    absent = [name for name, b in frameworks.BACKENDS.items() if b.unavailable_reason()]
    built = tables.build(tables.parse_args(["--results", str(results), "--commit", commit]))
    detail, df = built.detailed, built.df
    times = df[df["method"] == "time_op"]
    assert times[times["backend"].isin(absent)]["value"].isna().all()
    assert not set(absent) & set(detail.columns)
