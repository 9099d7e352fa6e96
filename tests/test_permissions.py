"""Permission errors, for real: an unreadable results file, an unwritable output folder or
results folder give one line and exit status 2, no traceback, and write nothing.

The tests run as root here (and in CI), and root ignores file modes. Each tool then runs
without the capabilities that override them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, dropped
from its bounding set before exec): still uid 0, the owner of the test's files, so their
owner bits decide. Not `setuid(65534)`: the interpreter may live where nobody can reach it
(here under a 0700 /root). As another user the modes bind anyway, and nothing is dropped."""

import ctypes
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from asv_fixtures import write_results
from toolkit import ROOT, assert_one_line_error, snapshot

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2
BASE, HEAD = "a" * 40, "b" * 40
CASE = "dim=128x16x1024"


def bound_by_file_modes():
    """A Popen preexec_fn: as root, give up the capabilities that bypass file modes."""
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def drop():
        for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")

    return drop


def run_bound(module, *args, cwd=ROOT, env=None):
    """`python -m MODULE ARGS` bound by file modes, output captured as text."""
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300, preexec_fn=bound_by_file_modes(),
                          env=dict(os.environ if env is None else env, PYTHONPATH=ROOT))


@pytest.fixture
def results(tmp_path):
    """A results folder of machine "box": ReLU on cpu at commits BASE and HEAD, both measures,
    and the committed benchmarks table. Returns (folder, {commit: results file})."""
    folder = tmp_path / "results"
    files = {}
    for commit, seconds in ((BASE, 1e-3), (HEAD, 1.1e-3)):
        timings = {f"bench_activations.ReLU.{method}": {CASE: {"cpu": seconds}} for method in ("time_op", "time_device")}
        result = write_results(str(folder), "box", commit, timings)
        files[commit] = folder / "box" / result._filename.split("/")[-1]
    shutil.copy(os.path.join(ROOT, "results", "benchmarks.json"), folder / "benchmarks.json")
    return folder, files


@pytest.fixture
def read_only(tmp_path):
    """A folder nobody may write into (write bits restored afterwards, for pytest's cleanup)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def test_file_modes_bind_the_tools(tmp_path):
    # The premise of every test below: a tool started this way cannot read a mode-000 file.
    secret = tmp_path / "secret"
    secret.write_text("x")
    secret.chmod(0)
    proc = run_bound("json.tool", secret)
    assert proc.returncode != 0 and "Permission denied" in proc.stderr, proc.stderr


UNREADABLE = {
    "tables": lambda folder, files: ("tools.tables", "--results", folder, "--commit", "bbbbbbbb"),
    "tidy": lambda folder, files: ("tools.tidy", "--results", folder, "--out", folder.parent / "tidy.csv"),
    "compare": lambda folder, files: ("tools.compare", "aaaaaaaa", "bbbbbbbb", "--results", folder, "--machine", "box"),
    "noise": lambda folder, files: ("tools.noise", files[BASE], files[HEAD]),
    "merge": lambda folder, files: ("tools.merge", folder, "--into", folder.parent / "merged"),
}


@pytest.mark.parametrize("tool", sorted(UNREADABLE))
def test_an_unreadable_results_file_is_one_line(results, tool):
    folder, files = results
    files[HEAD].chmod(0)
    before = snapshot(folder.parent)
    proc = run_bound(*UNREADABLE[tool](folder, files))
    assert_one_line_error(proc, str(files[HEAD]), "Permission denied")
    files[HEAD].chmod(0o644)
    assert snapshot(folder.parent) == before


UNWRITABLE = {
    "tables --markdown": lambda folder, out: ("tools.tables", "--results", folder, "--markdown", out / "tables.md"),
    "tables --csv": lambda folder, out: ("tools.tables", "--results", folder, "--csv", out),
    "tables --csv (new folder)": lambda folder, out: ("tools.tables", "--results", folder, "--csv", out / "csv"),
    "tidy --out": lambda folder, out: ("tools.tidy", "--results", folder, "--out", out / "tidy.csv"),
    "plots --out": lambda folder, out: ("tools.plots", "bars", "--results", folder, "--out", out),
    "plots --out (new folder)": lambda folder, out: ("tools.plots", "bars", "--results", folder, "--out", out / "c"),
    "compare --json": lambda folder, out: ("tools.compare", "aaaaaaaa", "bbbbbbbb", "--results", folder,
                                           "--machine", "box", "--json", out / "report.json"),
    "merge --into": lambda folder, out: ("tools.merge", folder, "--into", out / "merged"),
}


@pytest.mark.parametrize("output", sorted(UNWRITABLE))
def test_an_unwritable_output_folder_is_one_line(results, read_only, output):
    folder, _ = results
    proc = run_bound(*UNWRITABLE[output](folder, read_only))
    assert_one_line_error(proc, str(read_only))
    assert os.listdir(read_only) == []


def site_config(folder, html):
    conf = html.parent.parent / "asv.conf.json"
    conf.write_text(json.dumps({"version": 1, "project": "t", "repo": ROOT, "branches": ["main"],
                                "environment_type": "existing", "benchmark_dir": os.path.join(ROOT, "benchmarks"),
                                "results_dir": str(folder), "html_dir": str(html)}))
    return conf


def test_an_unwritable_site_folder_is_one_line(results, read_only):
    folder, _ = results
    conf = site_config(folder, read_only / "html")
    proc = run_bound("tools.site", "publish", "--config", conf, cwd=conf.parent)
    assert_one_line_error(proc, str(read_only))
    assert os.listdir(read_only) == []


def test_a_site_it_may_not_replace_is_one_line_and_unchanged(results, tmp_path):
    folder, _ = results
    html = tmp_path / "site" / "html"
    conf = site_config(folder, html)
    proc = run_bound("tools.site", "publish", "--config", conf, cwd=conf.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    before = snapshot(html)
    html.chmod(0o555)  # moving a folder to another parent rewrites its ".." entry
    try:
        proc = run_bound("tools.site", "publish", "--config", conf, cwd=conf.parent)
    finally:
        html.chmod(0o755)
    assert_one_line_error(proc, str(html), "unchanged")
    assert snapshot(html) == before and os.listdir(html.parent) == ["html"]


def suite_project(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    results = tmp_path / "results"
    conf = tmp_path / "asv.conf.json"
    conf.write_text(json.dumps({"version": 1, "repo": ROOT, "benchmark_dir": os.path.join(ROOT, "benchmarks"),
                                "results_dir": str(results), "plugins": [".tools.asv_checkpoint"]}))
    return conf, results


@pytest.mark.parametrize("unwritable", ["results", "results/m", "parent of results"])
def test_an_unwritable_results_folder_stops_the_suite_before_it_runs(tmp_path, unwritable):
    conf, results = suite_project(tmp_path / "project")
    (results / "m").mkdir(parents=True)
    locked = {"results": results, "results/m": results / "m", "parent of results": results.parent}[unwritable]
    if unwritable == "parent of results":
        shutil.rmtree(results)
    locked.chmod(0o555)
    try:
        start = time.monotonic()
        proc = run_bound("tools.suite", "--profile", "small", "--backends", "cpu", "--machine", "m", "--ops", "relu",
                         "--measures", "latency", "--config", conf, env=dict(os.environ, HOME=str(tmp_path)))
        took = time.monotonic() - start
    finally:
        locked.chmod(0o755)
    assert_one_line_error(proc, str(locked), "Permission denied")
    assert "asv run:" not in proc.stdout and took < 60, (took, proc.stdout[-2000:])
    assert [p for p in results.rglob("*") if p.is_file() and p.name != ".writer.lock"] == []
