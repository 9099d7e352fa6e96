"""tools.compare: as a CI gate, end to end and offline, asv measures three commits of a tiny
local git "library"; the commit that makes its function 3x slower is flagged (exit 1), the
commit that changes nothing is not (exit 0)."""

import json
import os

import pytest

from asv_fixtures import write_results
from toolkit import assert_one_line_error, git, run_module, run_tool

LIBRARY = '''
def work(n={n}):
    """{doc}"""
    total = 0
    for i in range(n):
        total += i * i
    return total
'''

BENCHMARK = '''
import os
import sys


class Work:
    repeat = 15  # samples per round: enough for asv's significance test

    def setup(self):
        sys.path.insert(0, os.environ["TINYLIB_DIR"])
        import tinylib
        self.work = tinylib.work

    def time_work(self):
        self.work()
'''


def commit(lib, n, doc, message):
    (lib / "tinylib.py").write_text(LIBRARY.format(n=n, doc=doc))
    git("add", "-A", cwd=lib)
    git("commit", "-qm", message, cwd=lib)
    return git("rev-parse", "HEAD", cwd=lib)


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gate")
    lib = tmp / "tinylib"
    lib.mkdir()
    git("init", "-q", "-b", "main", cwd=lib)
    commits = {
        "base": commit(lib, 60_000, "Sum of squares.", "first version"),
        "slow": commit(lib, 180_000, "Sum of squares.", "three times the work"),
        "same": commit(lib, 180_000, "Sum of squares, unchanged code.", "docstring only"),
    }
    bench = tmp / "bench"
    bench.mkdir()
    (bench / "__init__.py").write_text("")
    (bench / "bench_tiny.py").write_text(BENCHMARK)
    conf = {"version": 1, "project": "tinylib", "repo": str(lib), "branches": ["main"],
            "environment_type": "existing", "benchmark_dir": str(bench),
            "results_dir": str(tmp / "results"), "html_dir": str(tmp / "html")}
    conf_path = tmp / "asv.conf.json"
    conf_path.write_text(json.dumps(conf))
    env = dict(os.environ, HOME=str(tmp), TINYLIB_DIR=str(lib))
    run_module("asv", "machine", "--yes", "--machine", "box", "--config", conf_path, env=env, check=True)
    for name, sha in commits.items():
        git("checkout", "-q", sha, cwd=lib)
        run_module("asv", "run", "--python=same", "--set-commit-hash", sha, "--machine", "box", "--config", conf_path,
                   env=env, check=True, timeout=300)
    return tmp / "results", commits


def gate(results, base, head):
    return run_tool("compare", base, head, "--results", results, timeout=120)


def test_three_times_slower_commit_fails_the_gate(measured):
    results, commits = measured
    proc = gate(results, commits["base"], commits["slow"])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| Work"))
    ratio = float(row.split("|")[4])
    assert 2.0 < ratio < 4.5 and "slower" in row
    assert "REGRESSION: 1 case(s)" in proc.stderr


def test_unchanged_commit_passes_the_gate(measured):
    results, commits = measured
    proc = gate(results, commits["slow"], commits["same"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 slower" in proc.stdout


def test_speedup_is_reported_not_failed(measured):
    results, commits = measured
    proc = gate(results, commits["slow"], commits["base"])
    assert proc.returncode == 0
    assert "1 faster" in proc.stdout


def test_bad_gate_input(measured):
    results, commits = measured
    assert_one_line_error(gate(results, commits["base"], "ffffff"), "no results for commit 'ffffff'")
    assert_one_line_error(run_tool("compare", "a", "b", "--factor", "0.9", "--results", results), "--factor")


def test_compare_gates_on_timings_only(tmp_path):
    """Tracked values are not times: a zero flag or a higher bandwidth is no regression."""
    for commit, t, flag, bandwidth in (("a" * 40, 1e-3, 0.0, 100.0), ("b" * 40, 3e-3, 0.0, 300.0)):
        write_results(str(tmp_path / "r"), "box", commit, {"bench_reductions.Argmax.time_op": {"dim=1 axi=0": {"cuda": t}}},
                      settings={"bench_settings.Float32Matmul.track_tf32_allowed": {"cuda": flag},
                                "bench_peaks.Peak.track_copy_bandwidth": {"cuda": bandwidth}})
    proc = gate(tmp_path / "r", "a" * 8, "b" * 8)
    assert proc.returncode == 1, proc.stderr
    assert "1 cases compared: 1 slower" in proc.stdout and "Peak" not in proc.stdout
