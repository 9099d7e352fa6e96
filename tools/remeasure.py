"""Fresh benchmark processes for chosen cases, as asv runs them but without a whole `asv
run` per round: this process imports the suite once (as asv's forkserver does) and forks
one child per case, which runs the benchmark through asv_runner's own entry point (the
same setup, sampling and timer as under asv) and reports the median of its samples.

The regression gate's confirm pass needs a dozen rounds of a few cases, base and head
alternating; an `asv run` per round would spend most of its time discovering the suite.
"""

import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile

import numpy as np

from benchmarks.harness import catalog

BENCHMARKS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


def benchmark_id(key, method):
    """asv's id of one case of a benchmark: `module.Class.method-<index in the grid>`."""
    op_name, label, backend, dtype = key
    op = catalog.find_op(op_name)
    wanted = (label, backend, dtype)[:len(op.params)]
    index = next(i for i, combo in enumerate(itertools.product(*op.params)) if combo == wanted)
    return f"{op.__module__.split('.')[-1]}.{op.__name__}.{method}-{index}"


def _child(benchmark, settings, result_file):
    from asv_runner.run import _run

    os.environ.update(settings)  # read by the harness when the child places its case
    _run((BENCHMARKS_DIR, benchmark, "{}", "None", result_file))


def measure(keys, method, settings=None, python=None):
    """{key: seconds, the median of one fresh process's samples} for each case key
    (op, label, backend, dtype) that produced a figure, each in its own process, with the
    `BENCH_*` settings given for these processes only; under another interpreter (another
    environment's libraries) when `python` names one."""
    if python and os.path.realpath(python) != os.path.realpath(sys.executable):
        done = subprocess.run([python, "-m", "tools.remeasure", method], input=json.dumps(
            {"keys": [list(k) for k in keys], "settings": settings or {}}), capture_output=True, text=True,
            cwd=os.path.dirname(BENCHMARKS_DIR))
        if done.returncode != 0:
            raise RuntimeError(f"{python} could not measure: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
        return {tuple(k): v for k, v in json.loads(done.stdout)}
    return _forked(keys, method, settings)


def _forked(keys, method, settings, timeout=None):
    figures = {}
    with tempfile.TemporaryDirectory(prefix="remeasure-") as folder:
        for number, key in enumerate(keys):
            benchmark = benchmark_id(key, method)
            result_file = os.path.join(folder, f"{number}.json")
            limit = timeout or catalog.find_op(key[0]).timeout
            pid = os.fork()
            if pid == 0:  # the child: never returns into the parent's code
                status = 1
                try:
                    signal.alarm(int(limit))
                    profile = {"BENCH_PROFILE": catalog.profile_of(key[0], key[1])}
                    _child(benchmark, {**(settings or {}), **profile}, result_file)
                    status = 0
                finally:
                    os._exit(status)
            _, status = os.waitpid(pid, 0)
            if status != 0 or not os.path.exists(result_file):
                continue
            with open(result_file) as f:
                result = json.load(f)
            samples = result.get("samples") if isinstance(result, dict) else None
            if samples:
                figures[key] = float(np.median(samples))
    return figures


if __name__ == "__main__":  # `python -m tools.remeasure METHOD` < {"keys": [...], "settings": {...}}
    request = json.load(sys.stdin)
    got = _forked([tuple(k) for k in request["keys"]], sys.argv[1], request["settings"])
    json.dump([[list(k), v] for k, v in got.items()], sys.stdout)
