"""Issue 12: SIGKILLs at random instants of a real asv run lose no finished case; two runs
into one results folder cannot both write."""

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time

from asv import util
from asv.results import Results

from benchmarks.harness import catalog
from toolkit import ROOT, assert_one_line_error, run_tool

BENCHMARK = '''
import os, time

# A slow import (TINY_IMPORT_DELAY seconds) widens the forkserver's start, as torch does.
time.sleep(float(os.environ.get("TINY_IMPORT_DELAY", "0")))


class Tiny:
    params = [list(range(40))]
    param_names = ["n"]
    number = 1
    repeat = 1
    warmup_time = 0

    def time_sum(self, n):
        sum(range(1000))
'''


def tiny_suite(tmp_path, launch="forkserver"):
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "__init__.py").write_text("")
    (bench / "bench_tiny.py").write_text(BENCHMARK)
    conf = {"version": 1, "project": "tiny", "repo": ROOT, "branches": ["main"], "environment_type": "existing",
            "benchmark_dir": str(bench), "results_dir": str(tmp_path / "results"), "html_dir": str(tmp_path / "html"),
            "launch_method": launch, "plugins": [".tools.asv_checkpoint"]}
    path = tmp_path / "asv.conf.json"
    path.write_text(json.dumps(conf))
    env = dict(os.environ, HOME=str(tmp_path))
    subprocess.run([sys.executable, "-m", "asv", "machine", "--yes", "--machine", "box", "--config", str(path)],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    run = [sys.executable, "-m", "asv", "run", "--python=same", "--set-commit-hash", commit, "--machine", "box",
           "--config", str(path), "--quick"]
    return run, env, tmp_path / "results" / "box"


def finished(folder):
    """{param index: value} of every case with a figure in the results file (read through asv)."""
    files = [f for f in folder.glob("*.json") if f.name != "machine.json"]
    if not files:
        return {}
    assert len(files) == 1
    result = Results.load(str(files[0]))
    if "bench_tiny.Tiny.time_sum" not in result.get_all_result_keys():
        return {}
    values = result.get_result_value("bench_tiny.Tiny.time_sum", result.get_result_params("bench_tiny.Tiny.time_sum"))
    return {i: v for i, v in enumerate(values) if v is not None and v == v}


def forkservers(tmp_path):
    """pids of the forkserver of a run of tiny_suite(tmp_path) and of the processes it forked."""
    return subprocess.run(["pgrep", "-f", f"run_server {tmp_path}"], capture_output=True, text=True).stdout.split()


def assert_no_forkserver_survives(tmp_path, within=5.0):
    deadline = time.monotonic() + within
    while forkservers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert forkservers(tmp_path) == [], "the killed run's forkserver (or a benchmark it forked) survived"


def test_sigkill_at_random_instants_keeps_every_finished_case(tmp_path):
    run, env, folder = tiny_suite(tmp_path)
    rng = random.Random(12)
    kept = {}
    for _ in range(50):
        proc = subprocess.Popen(run, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(0.5, 3.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert_no_forkserver_survives(tmp_path)
        now = finished(folder)  # raises if the file is not complete JSON asv can read
        assert set(kept) <= set(now), "a case finished before the kill is gone"
        kept = now
    assert kept, "no run got far enough to finish a case"


def test_a_killed_run_leaves_no_forkserver(tmp_path):
    run, env, folder = tiny_suite(tmp_path)
    proc = subprocess.Popen(run, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not finished(folder):
        time.sleep(0.1)
    assert forkservers(tmp_path), "the run had no forkserver"
    proc.kill()
    proc.wait()
    assert_no_forkserver_survives(tmp_path)


def test_a_run_killed_while_its_forkserver_starts_leaves_none(tmp_path):
    # The forkserver imports the suite (here: 3 s) before asv can start the watchdog.
    run, env, _ = tiny_suite(tmp_path)
    env = dict(env, TINY_IMPORT_DELAY="3")
    proc = subprocess.Popen(run, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not forkservers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert forkservers(tmp_path), "the run started no forkserver"
    proc.kill()
    proc.wait()
    assert_no_forkserver_survives(tmp_path)


def test_second_run_into_the_same_results_folder_stops_at_once(tmp_path):
    results = tmp_path / "results"
    env = dict(os.environ, HOME=str(tmp_path))
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from tools import lock; lock.hold(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", str(results)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        proc = run_tool("merge", tmp_path / "none", "--into", results, env=env)
        assert_one_line_error(proc, "no source folder")
        conf = tmp_path / "asv.conf.json"
        conf.write_text(json.dumps({"version": 1, "repo": ROOT, "benchmark_dir": os.path.join(ROOT, "benchmarks"),
                                    "results_dir": str(results), "plugins": [".tools.asv_checkpoint"]}))
        proc = run_tool("suite", "--profile", "small", "--backends", "cpu", "--machine", "m", "--ops", "relu",
                        "--config", conf, env=env)
        assert_one_line_error(proc, f"is being written by pid {holder.pid}")
        assert time.monotonic() - start < 60
    finally:
        holder.kill()
        holder.wait()


def test_two_concurrent_suite_runs_into_one_folder_one_runs_the_other_stops(tmp_path):
    results = tmp_path / "results"
    conf = tmp_path / "asv.conf.json"
    project = util.load_json(os.path.join(ROOT, "asv.conf.json"), js_comments=True)
    conf.write_text(json.dumps(dict(project, repo=ROOT, benchmark_dir=os.path.join(ROOT, "benchmarks"),
                                    results_dir=str(results), env_dir=str(tmp_path / "env"))))
    # One CPU thread, and the CPU cases wait for quiet cores while the other run starts up.
    env = dict(os.environ, HOME=str(tmp_path), PYTHONPATH=ROOT, BENCH_THREADS="1", BENCH_IDLE_WAIT="30")
    runs = {}
    for op in ("relu", "sigmoid"):
        command = [sys.executable, "-m", "tools.suite", "--profile", "small", "--backends", "cpu", "--machine", "m",
                   "--measures", "latency", "--ops", op, "--config", str(conf)]
        runs[op] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
    outputs = {op: proc.communicate(timeout=600) for op, proc in runs.items()}
    codes = {op: proc.returncode for op, proc in runs.items()}
    assert sorted(codes.values()) == [0, 2], (codes, outputs)
    winner = next(op for op, code in codes.items() if code == 0)
    loser = next(op for op in runs if op != winner)
    stdout, stderr = outputs[loser]
    assert_one_line_error(subprocess.CompletedProcess([], 2, stdout, stderr),
                          f"is being written by pid {runs[winner].pid}", "tools/suite.py", f"--ops {winner}")
    assert "asv run:" not in stdout  # it stopped before running anything
    result = Results.load(str(next(f for f in (results / "m").glob("*.json") if f.name != "machine.json")))
    ops = {key.split(".")[-2].lower() for key in result.get_all_result_keys()}
    assert ops == {winner}
    key = next(iter(result.get_all_result_keys()))
    params = result.get_result_params(key)
    small = [repr(label) for label in catalog.find_op(winner).labels("small")]
    figures = [v for v, combo in zip(result.get_result_value(key, params), itertools.product(*params))
               if combo[0] in small and combo[1] == "'cpu'"]
    assert len(figures) == len(small) and all(v is not None and v > 0 for v in figures), figures
