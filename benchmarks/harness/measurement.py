"""Measurement: a case placed on a backend, how many samples to take, the device clock,
and the one case a benchmark process measures.

asv runs every (case, backend[, dtype]) and measure in a process of its own and calls
`setup` before every sample, so the placed case is built once and kept (`placed_case`).
"""

import math
import os
import time

import numpy as np

from .frameworks import cpu_threads, get_backend, pin_gpu_launches
from .inputs import case_seed, round_to
from .vocabulary import planted_fraction, setting

GIB = 2**30
# Device time: enough calls in a batch that launch gaps and the closing barrier hide
# behind the work: about BATCH_SECONDS, in steps of BATCH_STEP calls. The step also makes a
# planted slowdown of 5 % or 10 % a whole number of extra calls, in the batch the unplanted
# run uses too.
BATCH_SECONDS = 2e-3
BATCH_STEP = 20
MAX_BATCH = 60
# Input placements per process whose samples are pooled, where BENCH_PLACEMENTS is unset.
# Some MLX GPU ops run 10-40 % faster or slower depending on where their inputs were placed
# (modes, not jitter: ../shared/reference/gpu-facts.md); pooling placements measures the
# op rather than one placement of it.
GPU_PLACEMENTS, CPU_PLACEMENTS = 3, 1


def available_memory(backend):
    """Bytes free for a case on the backend, capped by BENCH_MEMORY_LIMIT_GIB."""
    free = backend.free_memory()
    limit = setting("BENCH_MEMORY_LIMIT_GIB")
    return min(free, limit * GIB) if limit else free


def sampling(seconds, budget=None):
    """asv's `repeat` (min samples, max samples, max seconds) for samples of `seconds` each,
    within `budget` seconds (default: BENCH_SAMPLE_BUDGET).

    At least 10 samples for samples under 0.1 s so that the median is stable, up to 100 for
    tiny ones within the budget; a few for slow CPU cases that take seconds a call.
    """
    if seconds >= 1.0:
        return (2, 2, 0.0)
    if budget is None:
        budget = setting("BENCH_SAMPLE_BUDGET")
    least = 10 if seconds < 0.1 else 3
    most = max(least, min(100, int(budget / max(seconds, 1e-6))))
    return (least, most, budget)


def device_sampling(latency, batch):
    """`sampling` for device-time samples, each a batch of `batch` calls of `latency` s."""
    return sampling(latency * batch, setting("BENCH_DEVICE_BUDGET"))


def batch_size(latency, out_bytes, free_bytes, step=BATCH_STEP, seconds=BATCH_SECONDS):
    """Calls per device-time sample: about `seconds` of work in steps of `step` calls, at
    most what a quarter of free memory holds; one call for calls of seconds."""
    if latency >= 0.5:
        return 1
    wanted = min(MAX_BATCH, step * math.ceil(seconds / max(latency, 1e-7) / step))
    fits = int(0.25 * free_bytes // max(out_bytes, 1))
    return max(1, min(wanted, fits))


def _busy_seconds():
    """(seconds of CPU every process has used, of which this process's own), Linux only."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in f.readline().split()[1:8])
    # Steal (another tenant's share of the host) and guest time (already in user) are left out.
    busy = user + nice + system + irq + softirq
    own = os.times()
    return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system


def others_load(interval=0.25):
    """Cores' worth of CPU that other processes used over `interval` seconds (None where
    /proc/stat does not exist)."""
    try:
        busy, own = _busy_seconds()
        time.sleep(interval)
        busy_after, own_after = _busy_seconds()
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, (busy_after - busy) - (own_after - own)) / interval


def others_running():
    """Processes runnable right now besides this one (Linux's procs_running), or None."""
    try:
        with open("/proc/stat") as f:
            running = next(int(line.split()[1]) for line in f if line.startswith("procs_running"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return max(0, running - 1)


def looks_idle(spare, glances=5, gap=0.004):
    """A 20 ms glance: no more than `spare` other processes runnable at all but one of a
    few instants. Every CPU benchmark process asks, so the quiet case must cost little;
    one instant's passing task (a kernel worker, asv reading the last result) is no load,
    while load that competes for the cores shows at most instants. Any doubt goes to the
    quarter-second measurement (`others_load`)."""
    crowded = 0
    for _ in range(glances):
        running = others_running()
        if running is None:
            return False
        crowded += running > spare
        if crowded > 1:
            return False
        time.sleep(gap)
    return True


def wait_for_idle_cores(backend_name):
    """Wait (BENCH_IDLE_WAIT at most) until other processes leave the cores a CPU case
    needs, else fail: with its threads descheduled, a CPU figure measures the scheduler
    (OpenMP threads wait at a barrier for a thread the OS has descheduled)."""
    cores = os.cpu_count() or 1
    spare = cores - cpu_threads() + 0.25  # load that still leaves every thread a core
    if looks_idle(int(spare)):
        return
    deadline = time.monotonic() + setting("BENCH_IDLE_WAIT")
    while True:
        load = others_load()
        if load is None or load <= spare:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{backend_name}: other processes kept {load:.1f} of {cores} cores busy for "
                               f"{setting('BENCH_IDLE_WAIT'):.0f} s; a CPU figure now would measure the scheduler "
                               "(quiet the machine, or set BENCH_THREADS lower)")
        time.sleep(1.0)


def timed_call(placed):
    start = time.perf_counter()
    placed.call()
    return time.perf_counter() - start


class PlacedCase:
    """One case of an op placed on a backend (one or more placements of its inputs), warmed
    up, with its sampling sized from a latency probe.

    A planted slowdown (BENCH_PLANT, for testing the regression gate) launches that fraction
    more calls in every device-time batch while the time is still divided by the batch's
    nominal size: real device work, never a host sleep.
    """

    def __init__(self, op, label, backend_name, dtype="float32", seed=None):
        self.backend = get_backend(backend_name)  # NotImplementedError: asv shows n/a
        self.op, self.case, self.dtype = op, op.case(label), dtype
        need, free = op.memory_needed(self.case, self.backend, dtype), available_memory(self.backend)
        if need > free:
            raise NotImplementedError(
                f"{backend_name}: needs {need / GIB:.2f} GiB, device has {free / GIB:.2f} GiB free")
        self.seed = case_seed(op.__name__, label) if seed is None else seed
        # The inputs as made (large ones tiled), rounded to the dtype the op computes in.
        self.inputs = [round_to(a, dtype) for a in op.make_inputs(self.case, np.random.default_rng(self.seed))]
        self._arrays = None
        framework = self.backend.framework
        fn, framework_inputs = op.function(framework, self.case), op.framework_inputs(framework, self.inputs)
        wanted = setting("BENCH_PLACEMENTS") or (GPU_PLACEMENTS if self.backend.on_gpu else CPU_PLACEMENTS)
        # Each further placement holds another copy of the inputs and an output.
        count = max(1, min(wanted, int(free // max(need, 1))))
        self.placements = [self.backend.place_op(fn, framework_inputs, dtype) for _ in range(count)]
        self._turn = 0
        # An untimed call of each placement (compilation, kernel JIT, lazy loading,
        # allocator warm-up), then the latency that sizes the sampling: asv's own warm-up
        # is switched off. The first call is never the estimate: MLX's CUDA backend can
        # spend a second compiling there.
        outs = [placed.call() for placed in self.placements]
        first = self.placements[0]
        self.latency = timed_call(first)
        if self.latency < 1.0:
            self.latency = min([self.latency] + [timed_call(first) for _ in range(2)])
        self.repeat = sampling(self.latency)
        self.batch = batch_size(self.latency, self.backend.nbytes(outs[0]), available_memory(self.backend))
        self.planted = planted_fraction(op.__name__, backend_name)
        self.extra_calls = round(self.batch * self.planted)
        if abs(self.extra_calls - self.batch * self.planted) > 1e-9:
            raise ValueError(f"BENCH_PLANT: {self.planted:.0%} of a batch of {self.batch} calls is not a whole "
                             "number of calls; plant it in another case")
        self.device_repeat = device_sampling(self.latency, self.batch)
        del outs
        self.clock = self.backend.clock()
        self.pending, self.prepared = [], None

    def _next(self):
        placed = self.placements[self._turn % len(self.placements)]
        self._turn += 1
        return placed

    @property
    def arrays(self):
        """The inputs as plain NumPy arrays, for the reference and the check."""
        if self._arrays is None:
            self._arrays = [np.asarray(a) for a in self.inputs]
        return self._arrays

    def call(self):
        """One call and its completion barrier: the latency measure's timed body."""
        return self._next().call()

    def prepare_batch(self):
        """Make the next device-time batch, before its clock starts (asv's setup, before
        every sample); the last batch's results are freed here, outside the timed code. A
        batch not launched yet is kept: setup cannot tell which measure runs, and a latency
        process would otherwise build (and drop) a batch of MLX graphs for every sample."""
        self.pending = []
        calls = self.batch + self.extra_calls
        if not self.clock.sized:
            self.clock.size(self.backend.prepare_batch(self._next(), calls))
        if self.prepared is None:
            self.prepared = self.backend.prepare_batch(self._next(), calls)

    def launch_batch(self):
        """Launch the prepared batch without waiting; its results stay referenced until the
        next preparation, so nothing is freed while the device still computes it."""
        self.pending = self.clock.launch(self.prepared)
        self.prepared = None

    def read_back(self):
        """One more call, read back into NumPy in the reference layout."""
        out = self.backend.to_numpy(self.call())
        return self.op.reference_layout(self.backend.framework, out)

    def peak_memory(self):
        """Peak device bytes of one call beyond what was held before it, or None."""
        self.backend.wait()
        self.backend.reset_peak_memory()
        before = self.backend.active_memory()
        if before is None or self.backend.peak_memory() is None:
            return None
        out = self.call()
        peak = self.backend.peak_memory() - before
        del out
        return float(peak)


_current = {}


def placed_case(op, label, backend_name, dtype="float32", seed=None, idle_cores=False):
    """The case this process measures, placed once; another one releases it first. With
    `idle_cores` a CPU case first waits for the cores it will time on."""
    key = (op, label, backend_name, dtype, seed)
    if _current.get("key") != key:
        release()
        if get_backend(backend_name).on_gpu:
            pin_gpu_launches()  # before the framework starts its threads, which inherit it
        elif idle_cores:
            wait_for_idle_cores(backend_name)
        _current["case"] = PlacedCase(op, label, backend_name, dtype, seed)
        _current["key"] = key
    return _current["case"]


def current():
    return _current["case"]


def release():
    """Drop the placed case and give its device memory back."""
    case = _current.pop("case", None)
    _current.pop("key", None)
    if case is not None:
        backend = case.backend
        # the clock too: MLX's GPU timer holds the host copies of its marks, which must not
        # reach MLX's cache after it is cleared, where the next case's outputs could get them
        del case.placements, case.pending, case.prepared, case.clock
        backend.release()


def device_clock():
    """asv's timer for the device-time measure: the current case's device clock, in
    seconds per call of its batch (every reading waits for the launched batch first)."""
    case = current()
    return case.clock() / case.batch
