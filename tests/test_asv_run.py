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


INJECTED = '''
from .bench_activations import ReLU


class InjectedFailure(ReLU):
    """ReLU whose torch version raises, as a driver error would."""

    @staticmethod
    def torch_fn(x):
        raise RuntimeError("injected driver error")
'''
PRESENT_CPU = [b for b in ("mlx_cpu", "cpu") if not frameworks.BACKENDS[b].unavailable_reason()]


@pytest.mark.skipif(len(PRESENT_CPU) < 2, reason="needs MLX and torch on the CPU")
def test_failing_case_is_recorded_and_the_run_goes_on(tmp_path):
    import os
    import shutil

    from toolkit import ROOT, asv_project

    bench = tmp_path / "benchmarks"
    shutil.copytree(os.path.join(ROOT, "benchmarks"), bench, ignore=shutil.ignore_patterns("__pycache__"))
    (bench / "bench_injected.py").write_text(INJECTED)
    project = asv_project(tmp_path, benchmark_dir=str(bench),
                          env=dict(os.environ, BENCH_PROFILE="small", BENCH_BACKENDS=",".join(PRESENT_CPU)))
    from tools.suite import selection_regex

    labels = catalog.find_op("ReLU").labels("small") + catalog.find_op("Sigmoid").labels("small")
    only = selection_regex(PRESENT_CPU, ["float32"], bench=r"\.(InjectedFailure|Sigmoid)\.time_", labels=labels)
    proc = project.asv(*project.run, "-b", only, check=False, timeout=600)
    assert "injected driver error" in proc.stdout + proc.stderr
    built = tables.build(tables.parse_args(["--results", str(project.results)]))
    detail = built.detailed
    detail = detail[detail.notna().any(axis=1) | built.failed.any(axis=1)]  # the rows of cases that ran
    injected = [r for r in detail.index if r.startswith("InjectedFailure")]
    sigmoid = [r for r in detail.index if r.startswith("Sigmoid")]
    assert len(injected) == 2 and len(sigmoid) == 2
    assert built.failed.loc[injected, "cpu"].all()  # torch raised: err
    assert detail.loc[injected, "mlx_cpu"].notna().all()  # the same cases on MLX ran
    assert detail.loc[sigmoid, ["mlx_cpu", "cpu"]].notna().all().all()  # and so did the rest
    markdown = built.markdown()
    assert "| err |" in markdown.replace(" ", "").replace("|err|", "| err |")
    assert f"Failed (2): {injected[0]} on cpu" in markdown
