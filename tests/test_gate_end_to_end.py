"""The regression gate end to end on this machine's CPU backends, through asv and the
suite's own tools (measurements/gate_check.py, which the H100 checks use too): an A/A pair
flags nothing, and a planted slowdown (BENCH_PLANT: real extra calls in every device-time
batch) is caught with no false alarm elsewhere.

The plant is four times the work: on the 2-core VM figures move about 25 % between
processes (results/reports/vm-gate-2026-11-27), so smaller slowdowns are not reliably
separable there in 12 processes a side; the rates for small changes are tested on
synthetic data (test_gate.py) and measured on the H100."""

import json
import os

import pytest

from benchmarks.harness.frameworks import BACKENDS

from toolkit import run_module

CPU = [name for name in ("mlx_cpu", "cpu") if BACKENDS[name].unavailable_reason() is None]
OPS = "Softmax,Sum"
PLANT = "3:" + ",".join(f"{op}/{backend}" for op, backend in zip(("Softmax", "Sum"), CPU * 2))

pytestmark = pytest.mark.skipif(not CPU, reason="neither mlx_cpu nor cpu is present")


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    work = tmp_path_factory.mktemp("gate") / "work"
    env = dict(os.environ, HOME=str(work.parent))

    def step(*args):
        done = run_module("measurements.gate_check", "--work", work, *args, env=env, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr

    step("prepare", "--profile", "small", "--backends", ",".join(CPU), "--ops", OPS, "--plant", PLANT,
         "--machine", "ci-gate")
    for kind in ("aa", "aa", "planted"):
        step("run", kind)
    step("gate", "aa", "1", "2")
    step("gate", "planted", "2", "3", "--confirm-seconds", "800")  # the budget's path; never reached here
    with open(work / "gate-check.json") as f:
        return json.load(f)


def test_identical_runs_flag_nothing(checked):
    gate = checked["gates"]["aa"]
    assert gate["compared"] > 0 and gate["false_alarms"] == [], gate["false_alarms"]


def test_a_planted_slowdown_is_caught_and_nothing_else(checked):
    gate = checked["gates"]["planted"]
    caught = gate["by_fraction"]["3.00"]
    assert caught["planted"] >= 6
    assert caught["caught"] == caught["planted"], gate["missed"]
    assert gate["false_alarms"] == [], gate["false_alarms"]
    assert gate["undecided"] == []
