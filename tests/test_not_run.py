"""The "not run" list of an interrupted run (tools/results.py `not_run`, shown by
tools.tables), from real asv runs of the suite: a run SIGKILLed before its first case
finished lists every case it planned; cases it would have skipped are not counted; a later
run of other ops keeps the list."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from asv.results import Results

from benchmarks.harness import catalog, vocabulary
from asv_fixtures import write_results
from toolkit import ROOT, asv_project, assert_one_line_error, run_tool
from tools.results import PROGRESS_SUFFIX, load_file, not_run

KILLED_OP, LATER_OP = "Softmax", "ReLU"
KILLED_BENCH = f"bench_reductions.{KILLED_OP}.time_op"


def planned_softmax_cases():
    """What the killed run would have measured: the small profile's cases, on this machine's
    backends, in float32 (16-bit is left out by BENCH_DTYPES, and CPU backends lack it)."""
    present = [b for b, reason in catalog.availability(vocabulary.BACKEND_NAMES).items() if not reason]
    return {f"{KILLED_OP} / {label} on {backend} float32 (time_op)"
            for label in catalog.labels("small")[KILLED_OP] for backend in present}


def results_file(folder):
    files = [f for f in folder.glob("*.json") if f.name != "machine.json"]
    assert len(files) == 1, files
    return files[0]


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A plain asv run of Softmax's latency (every backend named, absent ones too; both
    profiles' cases; all dtypes, BENCH_DTYPES choosing float32), SIGKILLed the moment its
    plan is written: before its first case can finish."""
    env = dict(os.environ, BENCH_PROFILE="small", BENCH_DTYPES="float32")
    env.pop("BENCH_BACKENDS", None)
    project = asv_project(tmp_path_factory.mktemp("killed"), machine="box", env=env)
    command = [sys.executable, "-m", "asv", *project.run, "--bench", rf"\.{KILLED_OP}\.time_op", "--config",
               str(project.conf)]
    proc = subprocess.Popen(command, cwd=ROOT, env=dict(project.env, PYTHONPATH=ROOT), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = project.results / "box"
    deadline = time.monotonic() + 300
    while not list(folder.glob(f"*{PROGRESS_SUFFIX}")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(folder.glob(f"*{PROGRESS_SUFFIX}")), "the run wrote no plan"
    assert KILLED_BENCH not in Results.load(str(results_file(folder))).get_all_result_keys(), \
        "a case finished before the kill"
    return project


def test_a_run_killed_before_its_first_case_lists_every_planned_case(killed):
    proc = run_tool("tables", "--results", killed.results)
    planned = planned_softmax_cases()
    assert_one_line_error(proc, "interrupted before its first case finished", f"not run ({len(planned)})",
                          *sorted(planned))


def test_cases_it_would_have_skipped_are_not_counted(killed):
    listed = not_run(load_file(str(results_file(killed.results / "box"))))
    assert len(listed) == len(set(listed))
    assert set(listed) == planned_softmax_cases()
    assert not any(dtype in case for case in listed for dtype in vocabulary.REDUCED_DTYPES)


def test_a_later_run_of_other_ops_keeps_the_list(killed, tmp_path):
    project = asv_project(tmp_path, machine="box", env=dict(killed.env, BENCH_BACKENDS="cpu"))
    shutil.rmtree(project.results, ignore_errors=True)
    shutil.copytree(killed.results, project.results)
    project.asv(*project.run, "--bench", rf"\.{LATER_OP}\.time_op")
    listed = not_run(load_file(str(results_file(project.results / "box"))))
    assert set(listed) == planned_softmax_cases()
    proc = run_tool("tables", "--results", project.results)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"Interrupted run: {len(listed)} planned case(s) never ran" in proc.stdout
    line = next(line for line in proc.stdout.splitlines() if line.startswith("Not run ("))
    assert set(line.split(": ", 1)[1].split("; ")) == set(listed)
    assert f"| {LATER_OP} / " in proc.stdout  # the later run's figures are shown beside the list


def test_the_killed_run_is_the_latest_beside_older_results(killed, tmp_path):
    # An earlier complete run of another commit: tables still opens on the interrupted one.
    results = tmp_path / "results"
    shutil.copytree(killed.results, results)
    interrupted = results_file(results / "box")
    write_results(str(results), "box", "a" * 40, {f"bench_activations.{LATER_OP}.time_op": {"dim=128x16x1024": {"cpu": 1e-3}}})
    proc = run_tool("tables", "--results", results)
    assert_one_line_error(proc, str(interrupted), "interrupted before its first case finished")
