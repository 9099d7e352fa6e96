"""A CPU case waits for its cores, then fails rather than record a scheduling artifact."""

import multiprocessing
import os

import pytest

from benchmarks.harness import measurement

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="reads Linux's /proc/stat")


def spin():
    while True:
        pass


@pytest.fixture
def busy_cores():
    workers = [multiprocessing.get_context("fork").Process(target=spin, daemon=True)
               for _ in range(os.cpu_count() or 1)]
    for w in workers:
        w.start()
    yield
    for w in workers:
        w.kill()
        w.join()


def test_other_processes_load_is_seen(busy_cores):
    assert measurement.others_load(0.5) > 0.5 * (os.cpu_count() or 1)


def test_a_cpu_case_on_busy_cores_fails_with_the_reason(busy_cores, monkeypatch):
    monkeypatch.setenv("BENCH_IDLE_WAIT", "1")
    with pytest.raises(RuntimeError, match=r"cpu: other processes kept .* cores busy for 1 s"):
        measurement.wait_for_idle_cores("cpu")


def test_this_process_own_work_is_not_other_load():
    busy, own = measurement._busy_seconds()
    total = sum(i * i for i in range(3_000_000))  # about a quarter second of this process's own CPU
    busy_after, own_after = measurement._busy_seconds()
    assert total > 0 and own_after - own > 0.05
    assert own_after - own <= busy_after - busy + 0.05


def test_the_quick_glance_sees_runnable_processes(busy_cores):
    """The 20 ms glance that spares a quiet machine the quarter-second measurement never
    calls busy cores idle."""
    assert measurement.others_running() >= 1
    assert not measurement.looks_idle(0)



def _glances(monkeypatch, counts):
    seen = iter(counts)
    monkeypatch.setattr(measurement, "others_running", lambda: next(seen))
    monkeypatch.setattr(measurement.time, "sleep", lambda _s: None)


def test_one_passing_task_in_the_glance_is_no_load(monkeypatch):
    _glances(monkeypatch, [0, 1, 0, 0, 0])
    assert measurement.looks_idle(0)


def test_load_seen_at_two_instants_goes_to_the_measurement(monkeypatch):
    _glances(monkeypatch, [1, 0, 0, 1, 0])
    assert not measurement.looks_idle(0)
    _glances(monkeypatch, [0, None, 0, 0, 0])  # no /proc/stat: no glance decides
    assert not measurement.looks_idle(0)
