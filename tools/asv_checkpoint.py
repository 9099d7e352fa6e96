"""asv plugin: write the results after every finished case, so that an interrupted run
(Ctrl-C, SIGKILL, a dead machine) loses no case it had finished.

asv 0.6 writes a results file once, after the whole run (checked in asv/commands/run.py):
kill it after an hour and the hour is gone. Listed in asv.conf.json's "plugins", this module
wraps asv's per-case runner: after each (benchmark, parameters) it saves a copy of the
results so far through asv's own `Results` API, and a `<results file>.progress` file with
the cases the run planned and those it finished. asv's normal save at the end replaces the
checkpoint; the progress file is removed when the run completes. `python -m tools.tables`
reads a partial file like any other and lists the cases that never ran.

Only asv's own objects are touched, and only copies of them: the figures asv computes are
exactly those of a run without the plugin.
"""

import copy
import datetime
import itertools
import json
import os

from asv import console, runner
from asv.commands import run as run_command
from asv import results as asv_results
from asv.runner import BenchmarkResult

from .results import PROGRESS_SUFFIX

_run = {"results": None, "results_dir": None, "planned": {}, "done": {}}


def progress_path(results_dir, result):
    return os.path.join(results_dir, asv_results.get_filename(
        result.params["machine"], result.commit_hash, result.env_name)) + PROGRESS_SUFFIX


def _write_json_atomically(path, data):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _save_progress():
    result = _run["results"]
    _write_json_atomically(progress_path(_run["results_dir"], result), {
        "planned": _run["planned"],
        "done": {name: sorted(idx) for name, idx in _run["done"].items()},
    })


def _checkpoint(benchmark, param_idx, res):
    name = benchmark["name"]
    _run["done"].setdefault(name, {})[param_idx] = res
    snapshot = copy.deepcopy(_run["results"])
    count = len(list(itertools.product(*benchmark["params"]))) if benchmark["params"] else 1
    previous = snapshot.get_result_value(name, benchmark["params"]) if name in snapshot.get_all_result_keys() else None
    values, samples, numbers = [], [], []
    for i in range(count):
        done = _run["done"][name].get(i)
        if done is not None:
            values += done.result
            samples += done.samples
            numbers += done.number
        else:
            values.append(previous[i] if previous is not None else float("nan"))
            samples.append(None)
            numbers.append(None)
    snapshot.add_result(benchmark, BenchmarkResult(result=values, samples=samples, number=numbers,
                                                   errcode=0, stderr="", profile=None),
                        started_at=datetime.datetime.now(datetime.timezone.utc), record_samples=True)
    snapshot.save(_run["results_dir"])
    _save_progress()


_original_load_data = asv_results.Results.load_data
_original_run_benchmarks = runner.run_benchmarks
_original_single_param = runner._run_benchmark_single_param


def load_data(self, result_dir):
    # asv loads earlier results into the object it will fill, just before running.
    _run.update(results=self, results_dir=result_dir, planned={}, done={})
    return _original_load_data(self, result_dir)


def run_benchmarks(benchmarks, env, results=None, **kwargs):
    if results is not None and results is _run["results"]:
        _run["planned"] = {
            name: {"params": b["params"], "selected": sorted(benchmarks.benchmark_selection.get(name) or [])
                   or list(range(len(list(itertools.product(*b["params"]))) if b["params"] else 1))}
            for name, b in benchmarks.items()
        }
        _save_progress()
    out = _original_run_benchmarks(benchmarks, env, results=results, **kwargs)
    if results is not None and results is _run["results"]:
        try:
            os.remove(progress_path(_run["results_dir"], results))
        except OSError:
            pass
    return out


def run_benchmark_single_param(benchmark, spawner, param_idx, profile, extra_params, cwd):
    res = _original_single_param(benchmark, spawner, param_idx, profile=profile,
                                 extra_params=extra_params, cwd=cwd)
    if _run["results"] is not None:
        try:
            _checkpoint(benchmark, param_idx, res)
        except Exception as exc:  # noqa: BLE001 - a failed checkpoint must never fail the run
            console.log.warning(f"checkpoint after {benchmark['name']} failed: {exc}")
    return res


asv_results.Results.load_data = load_data
runner.run_benchmarks = run_benchmarks
run_command.run_benchmarks = run_benchmarks  # bound there by `from ..runner import`
runner._run_benchmark_single_param = run_benchmark_single_param
