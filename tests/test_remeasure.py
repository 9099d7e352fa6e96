"""tools.remeasure, the confirm pass's fresh processes: one per backend, each case of it
measured through asv_runner one after another, a failing case losing only its own figure.

The measuring runs in a fresh interpreter, as tools.compare runs it: a process that has
already computed with torch or MLX on the CPU (pytest's, after other tests) holds thread
pools that a forked child cannot use."""

import json

import pytest

from benchmarks.harness.frameworks import BACKENDS
from tools import remeasure

from toolkit import run_python

CPU = [name for name in ("cpu", "mlx_cpu") if BACKENDS[name].unavailable_reason() is None]

COUNTING = """
import json, os, sys
from tools import remeasure
forks, real_fork = [], os.fork
os.fork = lambda: forks.append(1) or real_fork()
keys = [tuple(k) for k in json.loads(sys.argv[1])]
figures = remeasure.measure(keys, "time_device")
print(json.dumps({"forks": len(forks), "figures": [[list(k), v] for k, v in figures.items()]}))
"""


def test_cases_are_grouped_by_backend_in_the_order_given():
    keys = [("ReLU", "a", "cpu", "float32"), ("Sum", "b", "mlx_cpu", "float32"), ("Sum", "c", "cpu", "float32")]
    assert remeasure.groups(keys) == [[keys[0], keys[2]], [keys[1]]]


@pytest.mark.skipif(not CPU, reason="neither cpu nor mlx_cpu is present")
def test_one_fresh_process_per_backend_measures_each_of_its_cases():
    good = [(op, label, backend, "float32") for backend in CPU
            for op, label in (("ReLU", "dim=27x16x48"), ("Sum", "dim=23x27x27x27 axi=0"))]
    no_such_case = ("ReLU", "dim=3x3", CPU[0], "float32")  # not a case of the op: raises in the child
    keys = [good[0], no_such_case] + good[1:]
    done = run_python(COUNTING, json.dumps(keys))
    got = json.loads(done.stdout.strip().splitlines()[-1])
    figures = {tuple(k): v for k, v in got["figures"]}
    assert sorted(figures) == sorted(good), done.stderr
    assert all(0 < seconds < 0.1 for seconds in figures.values()), figures
    assert got["forks"] == len(CPU)
    assert "ReLU has no case 'dim=3x3'" in done.stderr
