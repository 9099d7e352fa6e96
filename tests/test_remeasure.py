"""tools.remeasure, the confirm pass's fresh processes: one per backend, each case of it
measured through asv_runner one after another, a failing case losing only its own figure."""

import os

import pytest

from benchmarks.harness.frameworks import BACKENDS
from tools import remeasure

CPU = [name for name in ("cpu", "mlx_cpu") if BACKENDS[name].unavailable_reason() is None]


def test_cases_are_grouped_by_backend_in_the_order_given():
    keys = [("ReLU", "a", "cpu", "float32"), ("Sum", "b", "mlx_cpu", "float32"), ("Sum", "c", "cpu", "float32")]
    assert remeasure.groups(keys) == [[keys[0], keys[2]], [keys[1]]]


@pytest.mark.skipif(not CPU, reason="neither cpu nor mlx_cpu is present")
def test_one_fresh_process_per_backend_measures_each_of_its_cases(monkeypatch):
    forks, real_fork = [], os.fork
    monkeypatch.setattr(remeasure.os, "fork", lambda: forks.append(1) or real_fork())
    good = [(op, label, backend, "float32") for backend in CPU
            for op, label in (("ReLU", "dim=27x16x48"), ("Sum", "dim=23x27x27x27 axi=0"))]
    no_such_case = ("ReLU", "dim=3x3", CPU[0], "float32")  # not a case of the op: raises in the child
    keys = [good[0], no_such_case] + good[1:]
    figures = remeasure.measure(keys, "time_device")
    assert sorted(figures) == sorted(good)
    assert all(0 < seconds < 0.1 for seconds in figures.values()), figures
    assert len(forks) == len(CPU)
