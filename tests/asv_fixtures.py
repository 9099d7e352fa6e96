"""Results trees written through asv's own API, for testing the tools without running asv."""

import datetime
import itertools
import os

from asv import util
from asv.machine import Machine
from asv.results import Results
from asv.runner import BenchmarkResult

from benchmarks.harness import catalog
from benchmarks.harness.vocabulary import BACKEND_NAMES as BACKENDS, DTYPES


def write_results(results_dir, machine, commit, timings, env="existing-py", started=None,
                  settings=None, dtyped=None):
    """`timings`: {benchmark name: {case: {backend: seconds or None (failed) / nan (skipped)}}};
    `dtyped`: the same for benchmarks with a dtype parameter, {name: {case: {dtype: {backend: s}}}};
    `settings`: one-parameter (backend) benchmarks, {name: {backend: value}}."""
    util.write_json(os.path.join(results_dir, machine, "machine.json"),
                    {"machine": machine, "arch": "x86_64", "cpu": "test", "num_cpu": "2",
                     "os": "Linux", "ram": "1"}, Machine.api_version)
    started = started or datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    result = Results({"machine": machine, "python": "3.11"}, {}, commit, 0, "3.11", env, {})
    for name, per_case in timings.items():
        cases = list(per_case)
        params = [[repr(c) for c in cases], [repr(b) for b in BACKENDS]]
        values = [per_case[c].get(b, float("nan")) for c, b in itertools.product(cases, BACKENDS)]
        add(result, name, params, values, started)
    for name, per_case in (dtyped or {}).items():
        cases = list(per_case)
        params = [[repr(c) for c in cases], [repr(b) for b in BACKENDS], [repr(d) for d in DTYPES]]
        values = [per_case[c].get(d, {}).get(b, float("nan")) for c, b, d in itertools.product(cases, BACKENDS, DTYPES)]
        add(result, name, params, values, started)
    for name, per_backend in (settings or {}).items():
        params = [[repr(b) for b in BACKENDS]]
        add(result, name, params, [per_backend.get(b, float("nan")) for b in BACKENDS], started)
    result.save(results_dir)
    return result


def current_version(name):
    """Today's version of the benchmark's op (the tables' cost model applies to it), else "1"."""
    try:
        return catalog.benchmark_version(name.split(".")[-2])
    except KeyError:
        return "1"


def add(result, name, params, values, started):
    benchmark = {"name": name, "params": params, "version": current_version(name)}
    samples = [None if v is None or v != v else [v] for v in values]
    result.add_result(benchmark, BenchmarkResult(result=values, samples=samples, number=[1] * len(values),
                                                 errcode=0, stderr="", profile=None),
                      started_at=started, duration=1.0)


def timings_then_memory_only(results_dir, machine="box"):
    """Two runs of ReLU on cpu: commit a...a with device and latency times, then, a day
    later, commit b...b with peak memory alone (as `tools.suite --measures memory` leaves)."""
    day = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    relu = "bench_activations.ReLU"
    write_results(results_dir, machine, "a" * 40, {f"{relu}.time_op": {"dim=8": {"cpu": 1e-3}},
                                                  f"{relu}.time_device": {"dim=8": {"cpu": 1e-3}}}, started=day)
    write_results(results_dir, machine, "b" * 40, {f"{relu}.track_peak_memory": {"dim=8": {"cpu": 2.0**20}}},
                  started=day + datetime.timedelta(days=1))
