"""The small profile, through asv itself, end to end: every case gets a figure on every
backend this machine has, and the tables tool reads the run back."""

import json
import os
import subprocess
import sys
import time

import pytest

from benchmarks import backends, common
from conftest import ROOT
from tools import tables


def asv(*args, conf, env):
    subprocess.run([sys.executable, "-m", "asv", *args, "--config", str(conf)], env=env, check=True, cwd=ROOT)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from asv import util

    tmp = tmp_path_factory.mktemp("asv")
    conf = util.load_json(os.path.join(ROOT, "asv.conf.json"), js_comments=True)
    conf.update(repo=ROOT, benchmark_dir=os.path.join(ROOT, "benchmarks"),
                results_dir=str(tmp / "results"), html_dir=str(tmp / "html"), env_dir=str(tmp / "env"))
    conf_path = tmp / "asv.conf.json"
    conf_path.write_text(json.dumps(conf))
    # A private HOME keeps asv's machine file out of the user's.
    env = dict(os.environ, BENCH_PROFILE="small", HOME=str(tmp))
    env.pop(backends.SELECT_ENV, None)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    asv("machine", "--yes", "--machine", "ci-small", conf=conf_path, env=env)
    start = time.perf_counter()
    asv("run", "--python=same", "--set-commit-hash", commit, "--machine", "ci-small", conf=conf_path, env=env)
    print(f"asv run of the small profile: {time.perf_counter() - start:.0f} s")
    return tmp / "results", commit


def test_every_case_has_a_figure_on_every_present_backend(small_run, capsys):
    results, commit = small_run
    present = [name for name, b in backends.BACKENDS.items() if not b.unavailable_reason()]
    detail = tables.build(tables.parse_args(["--results", str(results), "--commit", commit])).detailed
    expected_rows = [f"{op.__name__} / {case.label('small')}" for op in common.all_ops() for case in op.cases]
    assert sorted(detail.index) == sorted(expected_rows)
    assert set(present) <= set(detail.columns)
    missing = detail[present].isna().stack()
    assert not missing.any(), f"no figure for: {list(missing[missing].index)[:10]}"
    assert (detail[present] > 0).all().all()


def test_absent_backends_were_skipped_not_run(small_run):
    results, commit = small_run
    absent = [name for name, b in backends.BACKENDS.items() if b.unavailable_reason()]
    built = tables.build(tables.parse_args(["--results", str(results), "--commit", commit]))
    detail, df = built.detailed, built.df
    times = df[df["method"] == "time_op"]
    assert times[times["backend"].isin(absent)]["value"].isna().all()
    assert not set(absent) & set(detail.columns)
