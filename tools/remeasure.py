"""Fresh benchmark processes for chosen cases, as asv runs them but without a whole `asv
run` per round: this process imports the suite once (as asv's forkserver does) and forks
one child per backend, which runs that backend's cases one after another through
asv_runner's own entry point (the same setup, sampling and timer as under asv; each case
placed anew, the previous one's memory given back) and reports the median of each case's
samples.

The regression gate's confirm pass needs up to 12 rounds of its suspects, base and head
alternating; an `asv run` per round would spend most of its time discovering the suite,
and a process per case its start: on the H100 a GPU process costs about 0.45 s before it
measures (CUDA's start and exit: results/reports/h100/process-cost.txt), against 0.1-0.3 s
for a case's own setup and samples. Every case still gets a fresh process in every round,
and both sides' processes measure the same cases in the same order.
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


def groups(keys):
    """The cases one process measures, one after another: those of one backend, in the
    order given."""
    by_backend = {}
    for key in keys:
        by_backend.setdefault(key[2], []).append(key)
    return list(by_backend.values())


def _child(cases, method, settings, folder):
    """Each of `cases` (numbered keys) through asv_runner, a failing one not stopping the
    rest (asv would show it as failed; here it has no figure and one line on stderr)."""
    from asv_runner.run import _run

    os.environ.update(settings)  # read by the harness when the child places its cases
    for number, key in cases:
        try:
            os.environ["BENCH_PROFILE"] = catalog.profile_of(key[0], key[1])
            _run((BENCHMARKS_DIR, benchmark_id(key, method), "{}", "None", os.path.join(folder, f"{number}.json")))
        except Exception as exc:
            print(f"remeasure: {key}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def measure(keys, method, settings=None, python=None):
    """{key: seconds, the median of one fresh process's samples} for each case key
    (op, label, backend, dtype) that produced a figure, a fresh process per backend
    (`groups`), with the `BENCH_*` settings given for these processes only; under another
    interpreter (another environment's libraries) when `python` names one."""
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
    numbers = {key: number for number, key in enumerate(keys)}
    with tempfile.TemporaryDirectory(prefix="remeasure-") as folder:
        for group in groups(numbers):
            cases = [(numbers[key], key) for key in group]
            limit = timeout or sum(catalog.find_op(key[0]).timeout for key in group)
            pid = os.fork()
            if pid == 0:  # the child: never returns into the parent's code
                status = 1
                try:
                    signal.alarm(int(limit))
                    _child(cases, method, settings or {}, folder)
                    status = 0
                finally:
                    os._exit(status)
            os.waitpid(pid, 0)
            for number, key in cases:
                result_file = os.path.join(folder, f"{number}.json")
                if not os.path.exists(result_file):
                    continue
                try:
                    with open(result_file) as f:
                        result = json.load(f)
                except ValueError:  # the child was stopped (its alarm) while asv_runner wrote it
                    continue
                samples = result.get("samples") if isinstance(result, dict) else None
                if samples:
                    figures[key] = float(np.median(samples))
    return figures


if __name__ == "__main__":  # `python -m tools.remeasure METHOD` < {"keys": [...], "settings": {...}}
    request = json.load(sys.stdin)
    got = _forked([tuple(k) for k in request["keys"]], sys.argv[1], request["settings"])
    json.dump([[list(k), v] for k, v in got.items()], sys.stdout)
