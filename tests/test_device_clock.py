"""The device-time clocks' order of work, on fakes of the GPU calls (the figures they give
are checked on the GPU: tests/test_device_time_fidelity.py, tools.fidelity)."""

import time
import types

import numpy as np
import pytest

from benchmarks.harness import frameworks
from benchmarks.harness.frameworks import BACKENDS

MLX_CPU = "mlx_cpu"


class FakeCuda:
    """torch.cuda's events, spin and barrier, logging the order they are called in; the GPU
    runs 1e9 cycles a second and every window lasts 2 ms."""

    def __init__(self):
        self.log = []
        fake = self

        class Event:
            def __init__(self, enable_timing):
                self.name = None

            def record(self):
                fake.log.append("event")

            def synchronize(self):
                fake.log.append("wait")

            def elapsed_time(self, other):
                return 2.0

        self.Event = Event

    def _sleep(self, cycles):
        self.log.append(("spin", cycles))

    def synchronize(self):
        self.log.append("wait")


@pytest.fixture
def cuda(monkeypatch):
    fake = FakeCuda()
    monkeypatch.setattr(frameworks, "torch", types.SimpleNamespace(cuda=fake))
    monkeypatch.setattr(frameworks.CudaEventClock, "_cycles_per_second", 1e9)
    return fake


def test_the_gpu_spins_longer_than_the_host_queues_the_batch_before_the_window_opens(cuda, monkeypatch):
    clock = frameworks.CudaEventClock()
    now = iter(range(0, 10_000, 1))  # perf_counter: every reading 1 ms after the last
    monkeypatch.setattr(frameworks.time, "perf_counter", lambda: next(now) / 1e3)
    batch = lambda: cuda.log.append("calls") or ["out"]
    with pytest.raises(RuntimeError, match="sized"):
        clock.launch(batch)  # a timed batch never doubles as the sizing one
    clock.size(batch)
    assert clock.launch(batch) == ["out"]
    # the untimed batch's queueing (1 ms) sizes the spin: 2 x 1 ms x 1e9 cycles a second
    assert cuda.log == ["calls", "wait", ("spin", 2_001_000), "event", "calls", "event"]
    assert clock() == pytest.approx(2e-3)
    cuda.log.clear()
    clock.launch(batch)
    assert cuda.log == [("spin", 2_001_000), "event", "calls", "event"]
    assert clock() == pytest.approx(4e-3)  # a running total of the windows


def test_a_host_queueing_for_seconds_is_not_hidden_behind_an_endless_spin(cuda, monkeypatch):
    clock = frameworks.CudaEventClock()
    now = iter(range(0, 10_000, 1))  # every reading 1 s after the last
    monkeypatch.setattr(frameworks.time, "perf_counter", lambda: float(next(now)))
    batch = lambda: cuda.log.append("calls") or ["out"]
    clock.size(batch)
    clock.launch(batch)
    assert ("spin", int(frameworks.SpunGpuClock.MAX_SPIN_SECONDS * 1e9) + 1000) in cuda.log


def test_queueing_that_waited_for_the_gpu_does_not_lengthen_the_next_spin(cuda, monkeypatch):
    clock = frameworks.CudaEventClock()
    readings = iter([0.0, 1e-3] + [0.0, 9e-3] * 5)  # the untimed batch queues in 1 ms, then every one in 9
    monkeypatch.setattr(frameworks.time, "perf_counter", lambda: next(readings))
    clock.size(lambda: ["out"])
    for _ in range(5):
        clock.launch(lambda: ["out"])
        clock()
    spins = [entry for entry in cuda.log if isinstance(entry, tuple)]
    assert spins == [("spin", 2_001_000)] * 5  # 9 ms outlasts the 2 ms spin: never fed back


@pytest.mark.skipif(BACKENDS[MLX_CPU].unavailable_reason() is not None, reason=f"{MLX_CPU} unavailable")
def test_a_spun_clock_is_sized_on_a_batch_of_its_own_not_on_the_one_it_times(monkeypatch):
    from benchmarks.bench_activations import ReLU
    from benchmarks.harness import measurement

    class RecordingClock(frameworks.SpunGpuClock):  # a spun clock with no GPU: records its batches
        def __init__(self):
            super().__init__()
            self.sized_on, self.timed = [], []

        def size(self, batch):
            self.sized_on.append(batch)
            super().size(batch)

        def launch(self, batch):
            self.timed.append(batch)
            return super().launch(batch)

        _spin_then_mark = lambda self, seconds: 0.0
        _mark = lambda self: 0.0
        _elapsed = lambda self, start, end: 0.0
        _synchronize = lambda self: None

    monkeypatch.setattr(measurement, "wait_for_idle_cores", lambda backend_name: None)
    monkeypatch.setattr(BACKENDS[MLX_CPU], "clock", RecordingClock)
    monkeypatch.setenv("BENCH_PROFILE", "small")
    label = ReLU.cases[0].label("small")
    bench = ReLU()
    try:
        for _ in range(2):
            bench.setup(label, MLX_CPU)
            bench.time_device(label, MLX_CPU)
        clock = measurement.current().clock
        assert len(clock.sized_on) == 1 and len(clock.timed) == 2
        assert all(batch is not clock.sized_on[0] for batch in clock.timed)
    finally:
        measurement.release()


@pytest.mark.skipif(BACKENDS[MLX_CPU].unavailable_reason() is not None, reason=f"{MLX_CPU} unavailable")
def test_an_mlx_batch_is_built_before_the_clock_and_evaluated_a_call_at_a_time(monkeypatch):
    import mlx.core as mx
    import numpy as np

    backend = BACKENDS[MLX_CPU]
    built, evaluated = [], []
    placed = backend.place_op(lambda x: built.append(x) or x * 2, [np.ones(4, "float32")])
    launch = backend.prepare_batch(placed, 5)
    assert len(built) == 5  # built now, untimed
    real_async_eval = mx.async_eval
    monkeypatch.setattr(mx, "async_eval", lambda *a: (evaluated.append(a[0]), real_async_eval(*a))[1])
    outs = launch()
    backend.wait()
    assert [id(o) for o in evaluated] == [id(o) for o in outs] and len(outs) == 5  # one evaluation each
    assert all(float(o.sum()) == 8.0 for o in outs)


@pytest.mark.skipif(BACKENDS[MLX_CPU].unavailable_reason() is not None, reason=f"{MLX_CPU} unavailable")
def test_a_batch_is_built_once_per_launch_not_once_per_latency_sample(monkeypatch):
    from benchmarks.bench_activations import ReLU
    from benchmarks.harness import measurement

    monkeypatch.setattr(measurement, "wait_for_idle_cores", lambda backend_name: None)
    label = ReLU.cases[0].label("small")
    monkeypatch.setenv("BENCH_PROFILE", "small")
    bench = ReLU()
    try:
        bench.setup(label, MLX_CPU)
        placed = measurement.current()
        built = []
        real = placed.backend.prepare_batch
        monkeypatch.setattr(placed.backend, "prepare_batch", lambda *a: built.append(a) or real(*a))
        for _ in range(3):  # latency samples: asv's setup, then the call
            bench.setup(label, MLX_CPU)
            bench.time_op(label, MLX_CPU)
        assert built == []  # the batch setup first built is still unlaunched: kept
        for _ in range(3):  # device samples: each launches its batch, the next setup builds anew
            bench.time_device(label, MLX_CPU)
            measurement.device_clock()
            bench.setup(label, MLX_CPU)
        assert len(built) == 3
    finally:
        measurement.release()


@pytest.mark.skipif(BACKENDS[MLX_CPU].unavailable_reason() is not None, reason=f"{MLX_CPU} unavailable")
def test_releasing_a_case_drops_its_clock_before_the_backend_clears_its_cache(monkeypatch):
    import weakref

    from benchmarks.bench_activations import ReLU
    from benchmarks.harness import measurement

    monkeypatch.setattr(measurement, "wait_for_idle_cores", lambda backend_name: None)
    monkeypatch.setenv("BENCH_PROFILE", "small")
    placed = measurement.placed_case(ReLU, ReLU.cases[0].label("small"), MLX_CPU)
    clock = weakref.ref(placed.clock)
    alive_at_clearing = []
    monkeypatch.setattr(placed.backend, "release", lambda: alive_at_clearing.append(clock() is not None))
    del placed
    measurement.release()
    assert alive_at_clearing == [False]


class FakeMlxTimer(frameworks.MlxGpuTimerClock):
    """MLX's timer clock on a fake GPU timeline: a spin lasts what it was asked, every
    evaluation (a stamp, a call) first costs the GPU a gap of GAP seconds, and each call
    WORK seconds; the log keeps the order of what was queued."""

    GAP, WORK = 6e-6, 10e-6

    def __init__(self):
        self.now, self.log = 0.0, []
        super().__init__()
        self.log.clear()

    def _spin_then_mark(self, seconds):
        self.log.append(("spin", round(seconds, 9)))
        self.now += self.GAP + seconds
        return self.now

    def _mark(self):
        self.log.append("stamp")
        self.now += self.GAP
        return self.now

    def _windows(self, windows):
        self.log.append("read")
        return np.array([end - start for start, end in windows])

    def _synchronize(self):
        self.log.append("wait")

    def call(self):
        self.log.append("call")
        self.now += self.GAP + self.WORK
        return "out"


def test_mlx_timer_gives_each_call_a_spun_window_and_takes_out_the_gap_an_empty_window_measures(monkeypatch):
    clock = FakeMlxTimer()
    host = iter(range(0, 10_000))  # perf_counter: every reading 10 us after the last
    monkeypatch.setattr(frameworks.time, "perf_counter", lambda: next(host) * 10e-6)
    batch = frameworks.Batch([clock.call] * 8)
    with pytest.raises(RuntimeError, match="sized"):
        clock.launch(batch)
    clock.size(batch)
    assert clock.log == ["call"] * 8 + ["wait"]  # sizing queues untimed calls, then waits
    clock.log.clear()
    assert clock.launch(batch) == ["out"] * 8
    spin = ("spin", round(2 * 10e-6 + clock.STAMPS_HOST_SECONDS, 9))  # twice a call's queueing, plus the stamps'
    assert clock.log == [spin, "call", "stamp"] * 8 + [spin, "stamp"] * 2  # a window per call, then two empty ones
    # each window holds its call and two gaps; one gap a call is taken out
    assert clock() == pytest.approx(8 * (clock.WORK + clock.GAP))
    clock.launch(batch)
    assert clock() == pytest.approx(16 * (clock.WORK + clock.GAP))  # a running total


def test_mlx_timer_reads_its_marks_only_once_the_gpu_has_passed_the_last_window(monkeypatch):
    # The reading queues GPU work of its own, which must not run beside the batch's last windows.
    clock = FakeMlxTimer()
    host = iter(range(0, 10_000))
    monkeypatch.setattr(frameworks.time, "perf_counter", lambda: next(host) * 10e-6)
    batch = frameworks.Batch([clock.call] * 8)
    clock.size(batch)
    clock.launch(batch)
    clock.log.clear()
    clock()
    assert clock.log == ["wait", "read"]


def test_mlx_timer_sizes_its_spin_on_the_first_calls_only_which_queue_before_mlx_waits_for_the_gpu(monkeypatch):
    clock = FakeMlxTimer()
    readings = iter([0.0, 20e-6] * clock.SIZING_CALLS + [0.0, 50e-3] * 100)  # later calls wait 50 ms
    monkeypatch.setattr(frameworks.time, "perf_counter", lambda: next(readings))
    clock.size(frameworks.Batch([clock.call] * 20))
    assert clock.spin_seconds() == pytest.approx(2 * 20e-6 + clock.STAMPS_HOST_SECONDS)
    assert clock.log.count("call") == clock.SIZING_CALLS


def mlx_cuda_reason():
    reason = BACKENDS["mlx_gpu"].unavailable_reason()
    if reason is None and not frameworks.mx.cuda.is_available():
        reason = "MLX's GPU here is Metal, which keeps the host's clock"
    return reason


needs_mlx_cuda = pytest.mark.skipif(mlx_cuda_reason() is not None, reason=f"mlx_gpu on CUDA: {mlx_cuda_reason()}")


@needs_mlx_cuda
def test_mlx_gpu_timer_reads_the_gpu_work_between_its_marks():
    clock = BACKENDS["mlx_gpu"].clock()
    assert isinstance(clock, frameworks.MlxGpuTimerClock)
    spins = frameworks.Batch([lambda: clock._stamp(1e-3)] * 5)  # 5 ms of GPU work
    clock.size(spins)
    for _ in range(3):
        before = clock()
        clock.launch(spins)
        assert 5e-3 <= clock() - before <= 5.2e-3


@needs_mlx_cuda
def test_mlx_gpu_timer_leaves_out_a_host_slower_than_the_gpu():
    import mlx.core as mx

    backend = BACKENDS["mlx_gpu"]
    clock = backend.clock()
    x = backend.place(np.ones(1024, "float32"))
    mx.eval(x)

    def late_call():  # a tiny call, the host 2 ms late for it
        time.sleep(2e-3)
        return backend.launch(lambda a: a + 1, [x])

    slow_host_batch = frameworks.Batch([late_call] * 10)
    clock.size(slow_host_batch)
    for _ in range(3):
        before = clock()
        clock.launch(slow_host_batch)
        assert clock() - before < 2e-3  # the GPU's few microseconds a call, not the host's 20 ms


@needs_mlx_cuda
def test_mlx_gpu_timer_marks_stay_out_of_the_small_pool_that_holds_the_cases_scalars():
    # MLX's CUDA allocator serves 8 bytes or fewer from managed memory shared with a case's
    # own scalars; a mark read on the host must not move those pages.
    clock = BACKENDS["mlx_gpu"].clock()
    start, end = clock._stamp(0.0), clock._mark()
    assert start.nbytes > 8 and end.nbytes > 8
    assert 0 <= clock._elapsed(start, end) < 1e-3


@needs_mlx_cuda
def test_mlx_gpu_timer_takes_out_the_same_gap_in_every_sample():
    # The empty windows measure the gap taken out of every call. With the read queued while
    # they could still run (version 7), they lengthened from a process's second sample on
    # (Sigmoid 64x128x1024 on an H200: 5.6-7.7 us in the first sample, up to 11.6 after:
    # results/reports/h200/gate-2026-11-28-c; version 8: 5.1-6.0 us in every sample, -d).
    import mlx.core as mx

    backend = BACKENDS["mlx_gpu"]
    clock = backend.clock()
    x = backend.place(np.ones((64, 128, 1024), "float32"))
    mx.eval(x)
    calls = 60
    batch = frameworks.Batch([lambda: backend.launch(mx.sigmoid, [x])] * calls)
    gaps, read = [], clock._windows

    def recording(windows):
        seconds = read(windows)
        gaps.append(float(np.median(seconds[calls:])))
        return seconds

    clock._windows = recording
    clock.size(batch)
    for _ in range(8):
        clock.launch(batch)
        clock()
    assert max(gaps) - min(gaps) < 1.5e-6, [round(g * 1e6, 2) for g in gaps]
