"""Everything that differs between frameworks and devices, in one place.

A backend knows whether this machine has it (and why not), how to place a NumPy array on
its device in a given dtype, how to compile a function, how to launch a call without
waiting for it, how to wait for everything launched, how to read the device's clock, its
free and peak memory, and how to read a result back. Ops never touch a device or a
barrier themselves: they hand their functions to `Backend.prepare`, which returns a
`PlacedOp` whose `call()` holds the op and its barrier, and nothing else.

Import rules (they decide whether GPU benchmarks run at all under asv's forkserver):
importing ``torch`` does not initialise CUDA, so it happens at module scope, once, in
asv's server process. Importing ``mlx.core`` from MLX's CUDA build *does* initialise CUDA,
and a process forked after that can use neither MLX nor torch on the GPU, so ``mlx.core``
is imported lazily, on first use, inside the benchmark process.
"""

import ctypes
import functools
import glob
import importlib
import importlib.util
import os
import platform
import time

import sys
import threading

import numpy as np

from .inputs import Tiled
from .vocabulary import BACKENDS as DECLARED, setting

# torch.cuda.is_available() through NVML leaves CUDA uninitialised, so forking stays safe.
os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
try:
    import torch
except ImportError:  # an MLX-only install still runs the MLX backends
    torch = None


class _LazyModule:
    """A module imported on first attribute access."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        module = importlib.import_module(self._name)
        return getattr(module, attr)


mx = _LazyModule("mlx.core")
nn = _LazyModule("mlx.nn")
F = torch.nn.functional if torch is not None else None


def cpu_threads():
    """Threads of the CPU backends: BENCH_THREADS, else the cores this process may use."""
    chosen = setting("BENCH_THREADS")
    if chosen:
        return chosen
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


# glibc's mallopt parameters, and the largest mmap threshold it accepts on 64-bit Linux.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
HEAP_BLOCK_LIMIT = 32 * 2**20
_heap_kept = None


def keep_freed_heap():
    """Keep this process's freed memory in its heap (glibc): the heap's top is never handed
    back to the OS, and blocks up to HEAP_BLOCK_LIMIT come from the heap, not from fresh
    mmaps. By default glibc returns a batch's freed outputs to the OS or not depending on
    where they landed, and a process that does faults their pages in again on every batch:
    torch's ReLU 27x16x48 on the 2-core VM took 3.5-5.5 us in some fresh processes and
    30.6-42.0 us in others, 3.5-5.7 us in all six with the heap kept
    (measurements/host_noise.py).
    Once per process; False where the C library is not glibc."""
    global _heap_kept
    if _heap_kept is None:
        _heap_kept = False
        if platform.libc_ver()[0] == "glibc":
            libc = ctypes.CDLL(None)
            _heap_kept = bool(libc.mallopt(M_MMAP_THRESHOLD, HEAP_BLOCK_LIMIT)
                              and libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
    return _heap_kept


NVIDIA = "0x10de"


def gpu_local_cores():
    """The cores of the NUMA node next to the first NVIDIA GPU (Linux's PCI view), of
    those this process may use; empty where unknown."""
    for device in sorted(glob.glob("/sys/bus/pci/devices/*")):
        try:
            with open(os.path.join(device, "vendor")) as f, open(os.path.join(device, "class")) as g:
                if f.read().strip() != NVIDIA or not g.read().startswith("0x03"):
                    continue
            with open(os.path.join(device, "local_cpulist")) as f:
                listed = f.read().strip()
        except OSError:
            continue
        cores = set()
        for part in filter(None, listed.split(",")):
            first, _, last = part.partition("-")
            cores.update(range(int(first), int(last or first) + 1))
        return sorted(cores & os.sched_getaffinity(0))
    return []


def pin_gpu_launches():
    """Bind this process's launching thread (and the threads it starts later) to one core,
    per BENCH_GPU_CORE: a small GPU op's time is its launch rate, which depends on the core
    the host thread runs on and whether it migrates. Linux only."""
    choice = setting("BENCH_GPU_CORE")
    if choice == "none" or not hasattr(os, "sched_setaffinity"):
        return None
    cores = [choice] if isinstance(choice, int) else (gpu_local_cores() or sorted(os.sched_getaffinity(0)))
    os.sched_setaffinity(0, {cores[-1]})  # the last: core 0 tends to take the system's interrupts
    return cores[-1]


def host_available_memory():
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):  # not Linux: the machine's total
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def is_float(array):
    return np.dtype(array.dtype).kind == "f"


class Backend:
    """One framework on one device, optionally compiled (see vocabulary.BACKENDS)."""

    framework = None

    def __init__(self, name, device, compiled=False):
        self.name = name
        self.device = device
        self.compiled = compiled
        self.placements = 1

    def __repr__(self):
        return f"<Backend {self.name}>"

    @property
    def on_gpu(self):
        return self.device != "cpu"

    def unavailable_reason(self):
        """None when this machine can run the backend, else why it can't."""
        raise NotImplementedError

    def may_be_available(self):
        """A guess that costs no device initialisation (unavailable_reason may)."""
        return self.unavailable_reason() is None

    def place(self, array, dtype="float32"):
        """`array` on the device; floating arrays in `dtype`, integer ones unchanged."""
        raise NotImplementedError

    def compile(self, fn):
        raise NotImplementedError

    def run(self, fn, inputs):
        """`fn(*inputs)` on this backend's device, as the framework returns it (lazy in MLX)."""
        return fn(*inputs)

    def launch(self, fn, inputs):
        """Start `fn(*inputs)` and return its result without waiting for it."""
        return self.run(fn, inputs)

    def complete(self, out):
        """Block until `out` (and everything launched before it) is computed."""
        self.wait()

    def prepare_batch(self, placed, calls):
        """What a device-time sample launches, made before its clock starts (a Batch)."""
        return Batch([placed.launch] * calls)

    def wait(self):
        """Block until everything launched on this backend's device is computed."""

    def clock(self):
        """The device-time clock of a prepared op (see HostClock)."""
        return HostClock(self)

    def to_numpy(self, out):
        raise NotImplementedError

    def nbytes(self, out):
        raise NotImplementedError

    def release(self):
        """Give cached device memory back, so the next case starts clean."""

    def settings(self):
        """Numerics that decide what a figure means (recorded with the results)."""
        return {}

    def free_memory(self):
        """Bytes free on the device; the host's available memory for CPU backends."""
        return host_available_memory()

    def apply_settings(self):
        """Apply BENCH_FP32_MATMUL, and on a CPU the thread count and keep_freed_heap,
        before the first call."""

    def reset_peak_memory(self):
        """Start counting the peak of device memory from now."""

    def peak_memory(self):
        """Bytes of device memory at their peak since `reset_peak_memory`, or None where
        the framework does not report it."""
        return None

    def active_memory(self):
        """Bytes of device memory held now (the peak's baseline), or None."""
        return None

    def copy_fn(self):
        """A function that copies its one argument (the copy-bandwidth probe)."""
        raise NotImplementedError

    @staticmethod
    def matmul_fn():
        return lambda a, b: a @ b

    def place_op(self, fn, arrays, dtype="float32"):
        """Place `arrays` in `dtype`, compile `fn` if needed, and bind them."""
        self.apply_settings()
        inputs = [self.place(a, dtype) for a in arrays]
        self.complete(inputs)  # inputs are computed and on the device before anything is timed
        if self.compiled:
            fn = self.compile(fn)
        return PlacedOp(self, fn, inputs)


class Batch:
    """A device-time sample's calls, made before its clock starts: each of `calls` launches
    one call without waiting and returns its result; calling the batch launches them all
    back to back. The results are kept until the next sample, so nothing is freed while the
    device computes them."""

    def __init__(self, calls):
        self.calls = list(calls)

    def __call__(self):
        return [launch() for launch in self.calls]


class PlacedOp:
    """An op bound to its inputs on one backend."""

    def __init__(self, backend, fn, inputs):
        self.backend = backend
        self.fn = fn
        self.inputs = inputs

    def call(self):
        """Run the op once and return only when its result is computed: the timed body of
        the latency benchmark is exactly this."""
        out = self.backend.run(self.fn, self.inputs)
        self.backend.complete(out)
        return out

    def launch(self):
        """Start the op; the result is computed by the time the backend's clock reads."""
        return self.backend.launch(self.fn, self.inputs)


class MLXBackend(Backend):
    framework = "mlx"

    def unavailable_reason(self):
        try:
            importlib.import_module("mlx.core")
        except ImportError as exc:
            return f"mlx is not installed ({exc})"
        if self.device == "gpu" and not mx.is_available(mx.gpu):
            return "MLX has no GPU here (needs Metal on Apple silicon, or the mlx[cuda13] build with a CUDA GPU)"
        return None

    def may_be_available(self):
        # is_available(mx.gpu) imports mlx.core, which initialises CUDA in MLX's CUDA build
        return importlib.util.find_spec("mlx") is not None

    def _stream(self):
        return mx.gpu if self.device == "gpu" else mx.cpu

    def apply_settings(self):
        if self.device == "cpu":
            keep_freed_heap()
        choice = setting("BENCH_FP32_MATMUL")
        # MLX reads MLX_ENABLE_TF32 when it first runs a float32 GEMM; this runs before any.
        if choice != "default":
            os.environ["MLX_ENABLE_TF32"] = "1" if choice == "tf32" else "0"

    def reset_peak_memory(self):
        mx.reset_peak_memory()

    def peak_memory(self):
        return mx.get_peak_memory()

    def active_memory(self):
        # mx.reset_peak_memory sets the peak to zero, not to what is held: the baseline is this.
        return mx.get_active_memory()

    def copy_fn(self):
        return lambda x: mx.array(x)

    def place(self, array, dtype="float32"):
        if isinstance(array, Tiled):
            block = self.place(array.block, dtype)
            whole, rest = array.pieces()
            parts = [mx.broadcast_to(block, (whole, block.size)).reshape(-1)] + ([block[:rest]] if rest else [])
            return mx.concatenate(parts).reshape(array.shape)
        placed = mx.array(array)
        return placed.astype(getattr(mx, dtype)) if is_float(array) else placed

    def compile(self, fn):
        return mx.compile(fn)

    def run(self, fn, inputs):
        # The stream decides the device; arrays themselves are not bound to one.
        with mx.stream(self._stream()):
            return fn(*inputs)

    def launch(self, fn, inputs):
        out = self.run(fn, inputs)
        mx.async_eval(out)
        return out

    def complete(self, out):
        mx.eval(out)

    def prepare_batch(self, placed, calls):
        # The calls' lazy graphs are built here, before the clock starts (Python's share of
        # MLX's per-call cost is not device time), and each is evaluated with its own
        # async_eval when the batch is launched: one evaluation of all of them would let MLX
        # run independent calls side by side on the GPU (even chained with mx.depends, which
        # moves no data: Softmax 64x1000000 on the H100 then took 248 us a call against 330
        # us of its own kernel), which torch's one stream never does.
        outs = [self.run(placed.fn, placed.inputs) for _ in range(calls)]
        return Batch([functools.partial(_async_evaluated, out) for out in outs])

    def wait(self):
        mx.synchronize(self._stream())

    def clock(self):
        # Metal has no timer a kernel can read: MLX on Apple GPUs keeps the host's clock.
        if self.device == "gpu" and mx.cuda.is_available():
            return MlxGpuTimerClock()
        return super().clock()

    def to_numpy(self, out):
        if out.dtype in (mx.bfloat16, mx.float16):  # NumPy has no bfloat16
            out = out.astype(mx.float32)
        return np.array(out)

    def nbytes(self, out):
        return out.nbytes

    def release(self):
        mx.clear_cache()

    def free_memory(self):
        if self.device == "gpu":
            info = mx.device_info()
            total = info.get("max_recommended_working_set_size") or info.get("memory_size")
            if total:
                return total - mx.get_active_memory()
        return host_available_memory()

    def settings(self):
        tf32 = os.environ.get("MLX_ENABLE_TF32", "1") != "0"
        return {
            "mlx": importlib.import_module("mlx.core").__version__,
            # MLX's CPU ops run on its own scheduler thread; its Linux wheel's BLAS is
            # reference (Netlib) BLAS, single-threaded.
            "threads": 1 if self.device == "cpu" else None,
            "heap_kept": _heap_kept if self.device == "cpu" else None,
            # MLX only uses TF32 on GPUs that have it (CUDA tensor cores, M5-class Metal).
            "fp32_matmul": "tf32 allowed" if (tf32 and self.device == "gpu") else "fp32",
            "fp32_conv": "tf32 allowed" if (tf32 and self.device == "gpu") else "fp32",
        }


def _async_evaluated(out):
    mx.async_eval(out)
    return out


class HostClock:
    """Device time on the host's clock: a reading first waits for everything launched, so
    the difference of two readings is the time the device needed for what was launched
    between them (plus the launch of the first call, which nothing hides)."""

    sized = True  # nothing to size (see SpunGpuClock.size)

    def __init__(self, backend):
        self.backend = backend

    def launch(self, batch):
        """Launch a prepared batch (Backend.prepare_batch); its results."""
        return batch()

    def __call__(self):
        self.backend.wait()
        return time.perf_counter()


class SpunGpuClock:
    """Device time of batches queued behind a spin of the GPU, read on the GPU's own clock.

    A batch is a spin, a start mark, the timed calls and an end mark, all on one stream. The
    spin outlasts the host's queueing of the calls (twice the longest of the last few
    batches', starting from an untimed batch: `size`), so the window between the marks
    holds the GPU's work on calls queued back to back, never a GPU waiting for the host:
    for a 5 us kernel behind 13 us of torch's launch work the window used to measure the
    launch rate, which moved 50 % between processes (ReLU 128x16x1024 on the H100: 13.2 us,
    cv 3-12 %, against 5.1 us, cv 1.6 %, spun). A reading waits for the last window and
    adds its length to a running total. Subclasses say how the framework spins, marks and
    reads the marks.
    """

    SPIN_MARGIN = 2.0
    MAX_SPIN_SECONDS = 0.5  # a host that queues slower than this is measured, not hidden

    def __init__(self):
        self.seconds = 0.0
        self.window = None
        self.queued = []  # host seconds the last batches took to queue

    def _spin_then_mark(self, seconds):
        raise NotImplementedError

    def _mark(self):
        raise NotImplementedError

    def _elapsed(self, start, end):
        """Seconds between two marks, once the end one is reached."""
        raise NotImplementedError

    def _synchronize(self):
        raise NotImplementedError

    def _queue(self, batch):
        """The batch's results and the host seconds it took to queue them."""
        began = time.perf_counter()
        outs = batch()
        return outs, time.perf_counter() - began

    def _remember(self, seconds):
        self.queued = (self.queued + [seconds])[-3:]

    @property
    def sized(self):
        return bool(self.queued)

    def size(self, batch):
        """Queue `batch` untimed and size the spin from its queueing. A batch of its own,
        not the first timed one: a prepared MLX batch is evaluated once, and launched again
        it would queue no work."""
        _, seconds = self._queue(batch)
        self._remember(seconds)
        self._synchronize()

    def _require_sized(self):
        if not self.sized:
            raise RuntimeError("a spun GPU clock times batches only once sized (size) on a batch of its own")

    def launch(self, batch):
        self._require_sized()
        spin = min(self.MAX_SPIN_SECONDS, self.SPIN_MARGIN * max(self.queued))
        start = self._spin_then_mark(spin)
        outs, seconds = self._queue(batch)
        self.window = (start, self._mark())
        # Queueing that outlasted the spin may have waited for the GPU (MLX's async_eval
        # can wait for a busy GPU: measurements/mlx_queueing.py), which a longer spin would
        # only lengthen: only queueing the spin covered sizes the next one.
        if seconds <= spin:
            self._remember(seconds)
        return outs

    def _read(self, window):
        """Seconds of GPU work in a launched batch's window, once it is reached."""
        return self._elapsed(*window)

    def __call__(self):
        if self.window is None:
            self._synchronize()
        else:
            self.seconds += self._read(self.window)
            self.window = None
        return self.seconds


class CudaEventClock(SpunGpuClock):
    """SpunGpuClock on torch's current stream: `torch.cuda._sleep` spins, CUDA events mark."""

    _cycles_per_second = None  # the GPU's, once per process

    @classmethod
    def cycles_per_second(cls):
        if cls._cycles_per_second is None:
            cycles, spans = 10_000_000, []
            for _ in range(3):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                torch.cuda._sleep(cycles)
                end.record()
                end.synchronize()
                spans.append(start.elapsed_time(end) / 1e3)
            cls._cycles_per_second = cycles / min(spans)
        return cls._cycles_per_second

    def _spin_then_mark(self, seconds):
        torch.cuda._sleep(int(seconds * self.cycles_per_second()) + 1000)
        return self._mark()

    def _mark(self):
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def _elapsed(self, start, end):
        end.synchronize()
        return start.elapsed_time(end) / 1e3

    def _synchronize(self):
        torch.cuda.synchronize()


# One thread reads the GPU's nanosecond timer (%globaltimer) until spin_ns have passed
# (none: the first reading) and stores the last reading. Hand-written PTX, loaded by the
# driver in milliseconds. The same kernel from CUDA source (mx.fast.cuda_kernel) is compiled
# by NVRTC in every process, as MLX keeps no disk cache for custom kernels: with it the
# H100 ran 60 device-time cases in 197 s, 3.3 s a case against 0.6 s before. Checked with
# `ptxas -arch=sm_90` and `-arch=sm_75` (CUDA 12.9).
GPU_TIMER_PTX = b"""
.version 6.0
.target sm_70
.address_size 64

.visible .entry bench_gpu_timer(
    .param .u64 stamp,
    .param .u32 spin_ns
)
{
    .reg .pred %p;
    .reg .b32 %r;
    .reg .b64 %out, %now, %until;

    ld.param.u64 %out, [stamp];
    ld.param.u32 %r, [spin_ns];
    cvta.to.global.u64 %out, %out;
    mov.u64 %now, %globaltimer;
    cvt.u64.u32 %until, %r;
    add.u64 %until, %until, %now;
SPIN:
    setp.ge.u64 %p, %now, %until;
    @%p bra DONE;
    mov.u64 %now, %globaltimer;
    bra SPIN;
DONE:
    st.global.u64 [%out], %now;
    ret;
}
"""


class MlxGpuTimerClock(SpunGpuClock):
    """SpunGpuClock on MLX's GPU stream, for MLX's CUDA backend, with a window per call.

    MLX has no events, so a one-thread kernel of our own (GPU_TIMER_PTX, through
    `mx.fast.precompiled_cuda_kernel`) spins and stamps the GPU's nanosecond timer; every
    call keeps its own async_eval (see MLXBackend.prepare_batch), and MLX runs evaluations
    on its one CUDA stream in order, so marks evaluated on their own bracket the calls.

    One window for the whole batch, as torch's clock has, held MLX's host pace for small
    ops: MLX lets about 17 evaluations be in flight and then makes the host wait for the
    GPU (measurements/mlx_queueing.py: the 18th of 20 calls queued behind a 50 ms spin waited
    49.2-49.9 ms, in a futex), so a spin hides the host's work on the first calls only, and calls
    whose host work outlasts the kernel left the GPU idle inside the window (SumAll 1000000:
    8.9-10.8 us a call over four processes). So each call gets a spin and a window of its own:
    spin, stamp, the call, stamp. The GPU is then the slower side, the host stays queued
    ahead, and the window holds the call's GPU work and the GPU's gaps between MLX's
    evaluations (stamp to call, call to stamp). One such gap is not the call's: windows
    holding nothing (spin, stamp, stamp: about 6 us on the H100), measured in every batch,
    take it out, so a call counts its work and one gap, as in a batch of calls back to back
    (SumAll 1000000: 8.68-8.81 us; SumAll 1000000x128: 174.5-174.7 against the batch's
    174.4-174.5: results/reports/h100/gate-2026-11-28-b/windows.txt).
    """

    # The host's work beyond the call's own in a window of its own: the spin and the two
    # stamps' evaluations (about 15 us each on the H100), with room to spare.
    STAMPS_HOST_SECONDS = 50e-6
    # Calls whose host queueing sizes the spin: MLX waits for the GPU only after more.
    SIZING_CALLS = 8
    CALLS_PER_EMPTY_WINDOW = 4
    # A mark's array: two uint64, the kernel stamping the first. MLX serves arrays of 8 bytes
    # or fewer from one small pool of managed memory, which also holds a case's own scalars
    # (PReLU's slope, SumAll's result). Marks of one uint64, each read on the host, touched
    # that pool after every sample, and PReLU and compiled LayerNorm spread about twice as
    # wide between processes (results/reports/h200/gate-2026-11-28-b/marks.txt).
    STAMP_SHAPE = (2,)

    def __init__(self):
        super().__init__()
        self.call_seconds = None  # the host's queueing of one call, once sized
        self.read_copies = []
        self._elapsed(self._spin_then_mark(0.0), self._mark())  # the module loads now, untimed

    @property
    def sized(self):
        return self.call_seconds is not None

    def size(self, batch):
        """Queue `batch` untimed, a call at a time, and size the spin from the host's
        queueing of its first calls (later ones may wait for the GPU)."""
        outs, seconds = [], []
        for launch in batch.calls[:self.SIZING_CALLS]:
            began = time.perf_counter()
            outs.append(launch())
            seconds.append(time.perf_counter() - began)
        self.call_seconds = float(np.median(seconds))
        self._synchronize()

    def spin_seconds(self):
        return min(self.MAX_SPIN_SECONDS, self.SPIN_MARGIN * self.call_seconds + self.STAMPS_HOST_SECONDS)

    def launch(self, batch):
        self._require_sized()
        spin, outs, windows = self.spin_seconds(), [], []
        for launch in batch.calls:
            start = self._spin_then_mark(spin)
            outs.append(launch())
            windows.append((start, self._mark()))
        empty = [(self._spin_then_mark(spin), self._mark())
                 for _ in range(max(1, -(-len(windows) // self.CALLS_PER_EMPTY_WINDOW)))]
        self.window = (windows, empty)
        return outs

    def _read(self, window):
        calls, empty = window
        self._wait_for_the_batch()
        seconds = self._windows(calls + empty)
        gap = float(np.median(seconds[len(calls):]))
        return float(np.sum(seconds[:len(calls)])) - len(calls) * gap

    def _wait_for_the_batch(self):
        """Wait until the GPU has passed every window before reading. The reading is GPU
        work of its own (a graph that copies the marks into one array); queued at once
        (version 7), while the batch's last windows, the empty ones, could still run, those
        windows and with them the gap taken out of every call lengthened from a process's
        second sample on (Conv1d 100x256x3 on an H200: 5.3 us in the first sample, 8-11
        after; the calls' windows unchanged: results/reports/h200/gate-2026-11-28-c). Read
        after the wait, they measured 5.1-6.0 us in every sample
        (results/reports/h200/gate-2026-11-28-d)."""
        self._synchronize()

    def _windows(self, windows):
        """Seconds of each (start, end) pair of marks, once the last one is reached, read in
        one transfer: the marks themselves never reach the host (see STAMP_SHAPE)."""
        marks = mx.concatenate([mark for pair in windows for mark in pair])
        mx.eval(marks)
        nanoseconds = np.array(marks)[::self.STAMP_SHAPE[0]].astype(np.int64)
        # Read on the host, the copy now lives in managed memory; freed, MLX's cache could
        # hand it to a case's output of a similar size (1-4 KiB), which the GPU would then
        # write across the bus. A few KiB a sample, kept while the clock lives.
        self.read_copies.append(marks)
        return (nanoseconds[1::2] - nanoseconds[0::2]) / 1e9

    @classmethod
    def _stamp(cls, spin_seconds):
        (stamp,) = mx.fast.precompiled_cuda_kernel(
            name="bench_gpu_timer", compiled_source=GPU_TIMER_PTX, inputs=[], output_shapes=[cls.STAMP_SHAPE],
            output_dtypes=[mx.uint64], scalars=[min(int(spin_seconds * 1e9), 2**31 - 1)],
            grid=(1, 1, 1), threadgroup=(1, 1, 1), stream=mx.gpu)
        mx.async_eval(stamp)
        return stamp

    def _spin_then_mark(self, seconds):
        return self._stamp(seconds)

    def _mark(self):
        return self._stamp(0.0)

    def _elapsed(self, start, end):
        return float(self._windows([(start, end)])[0])

    def _synchronize(self):
        mx.synchronize(mx.gpu)


class TorchBackend(Backend):
    framework = "torch"

    def unavailable_reason(self):
        if torch is None:
            return "torch is not installed"
        if self.device == "cuda" and not torch.cuda.is_available():
            return "torch.cuda.is_available() is False (no CUDA GPU, or a CPU-only torch build)"
        if self.device == "mps" and not torch.backends.mps.is_available():
            return "torch.backends.mps.is_available() is False (needs Apple silicon and macOS 12.3+)"
        if self.device == "mps":
            return mps_probe_reason()
        return None

    def apply_settings(self):
        torch.set_grad_enabled(False)
        if self.device == "cpu":
            # Explicit, and recorded: more threads than free cores turn a figure into a
            # scheduling artifact (OpenMP threads wait at a barrier for a descheduled one).
            torch.set_num_threads(cpu_threads())
            keep_freed_heap()
        choice = setting("BENCH_FP32_MATMUL")
        if choice != "default":
            torch.backends.cuda.matmul.allow_tf32 = choice == "tf32"
            torch.backends.cudnn.allow_tf32 = choice == "tf32"

    def place(self, array, dtype="float32"):
        if isinstance(array, Tiled):
            block = self.place(array.block, dtype)
            whole, rest = array.pieces()
            out = torch.empty(array.size, dtype=block.dtype, device=self.device)
            out[:whole * block.numel()].view(whole, -1).copy_(block)
            out[whole * block.numel():].copy_(block[:rest])
            return out.view(array.shape)
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        if is_float(array):
            tensor = tensor.to(getattr(torch, dtype))
        return tensor.to(self.device)

    def compile(self, fn):
        # fullgraph: a graph break would silently time eager code under a "compiled" label.
        return torch.compile(fn, fullgraph=True, dynamic=False)

    def copy_fn(self):
        return lambda x: x.clone()

    def reset_peak_memory(self):
        if self.device == "cuda":
            torch.cuda.reset_peak_memory_stats()

    def peak_memory(self):
        if self.device == "cuda":
            return torch.cuda.max_memory_allocated()
        return None  # MPS reports current, not peak, allocations; the CPU allocator nothing

    def active_memory(self):
        return torch.cuda.memory_allocated() if self.device == "cuda" else None

    def wait(self):
        # CPU kernels are synchronous; GPU launches are not.
        if self.device == "cuda":
            torch.cuda.synchronize()
        elif self.device == "mps":
            torch.mps.synchronize()

    def clock(self):
        return CudaEventClock() if self.device == "cuda" else super().clock()

    def to_numpy(self, out):
        out = out.detach().cpu()
        if out.dtype in (torch.bfloat16, torch.float16):
            out = out.float()
        return out.numpy()

    def nbytes(self, out):
        return out.numel() * out.element_size()

    def release(self):
        if self.compiled:
            # Compiled graphs of every case share one code object (the op wrapper): drop them,
            # or dynamo's recompile limit ends a long run of cases in one process.
            torch._dynamo.reset()
        if self.device == "cuda":
            torch.cuda.empty_cache()
        elif self.device == "mps":
            torch.mps.empty_cache()

    def free_memory(self):
        if self.device == "cuda":
            return torch.cuda.mem_get_info()[0]
        if self.device == "mps":
            return torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory()
        return host_available_memory()

    def settings(self):
        info = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                "heap_kept": _heap_kept if self.device == "cpu" else None}
        if self.device == "cuda":
            tf32 = torch.backends.cuda.matmul.allow_tf32
            info["fp32_matmul"] = "tf32 allowed" if tf32 else "fp32"
            # cuDNN's default differs from cuBLAS's: TF32 convolutions are on unless disabled.
            info["fp32_conv"] = "tf32 allowed" if torch.backends.cudnn.allow_tf32 else "fp32"
        else:
            info["fp32_matmul"] = info["fp32_conv"] = "fp32"
        return info


_CLASSES = {"mlx": MLXBackend, "torch": TorchBackend}
BACKENDS = {b.name: _CLASSES[b.framework](b.name, b.device, b.compiled) for b in DECLARED}


def selection_reason(name):
    """Why BENCH_BACKENDS leaves `name` out, or None."""
    chosen = setting("BENCH_BACKENDS")
    return None if chosen is None or name in chosen else f"not selected (BENCH_BACKENDS={','.join(chosen)})"


def dtype_selection_reason(dtype):
    chosen = setting("BENCH_DTYPES")
    return None if chosen is None or dtype in chosen else f"{dtype} not selected (BENCH_DTYPES={','.join(chosen)})"


def warm_up_torch_compile():
    """Pay torch.compile's one-time start-up once, in the process that imports the suite.

    The first compile in a process costs about 4 s on 2 cores (importing and initialising
    dynamo and inductor); later ones take about 0.1 s for these ops. Done here, in asv's
    forkserver, every forked benchmark process inherits it. The graph runs on one CPU
    element: inductor emits no OpenMP code for it.
    """
    # On a CUDA machine inductor's start-up initialises CUDA, and a process forked after
    # that cannot use it (seen on the H100: "Cannot re-initialize CUDA in forked
    # subprocess"). There each compile backend pays the start-up itself.
    # On macOS asv spawns instead (tools.suite): PyTorch documents that MPS in a forked
    # child can hang or crash, so no process there forks after touching torch's compiler.
    if torch is None or sys.platform == "darwin" or torch.cuda.is_available():
        return
    try:
        torch.compile(torch.neg, fullgraph=True, dynamic=False)(torch.zeros(1))
    except Exception:  # noqa: BLE001 - no compiler here: the compile backends will say so in setup
        pass


MPS_PROBE_TIMEOUT = 30.0
_mps_probe = {}


def mps_probe_reason(timeout=MPS_PROBE_TIMEOUT):
    """None when a tiny op really runs on MPS, else why not; once per process.

    torch.backends.mps.is_available() can be True where no usable device is (GitHub's
    macos-14 runners, virtual machines): the op then raises or never finishes. It runs in
    a daemon thread so that a hang costs `timeout` seconds and a skip, not the process."""
    if "reason" not in _mps_probe:
        outcome = {}

        def probe():
            try:
                outcome["value"] = float((torch.ones(4, device="mps") + 1).sum().cpu())
            except Exception as exc:  # noqa: BLE001 - any failure means no usable MPS device
                outcome["error"] = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"

        thread = threading.Thread(target=probe, name="mps-probe", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            reason = f"a 4-element op on MPS did not finish within {timeout:g} s"
        elif "error" in outcome:
            reason = f"a 4-element op on MPS raised {outcome['error']}"
        elif outcome["value"] != 8.0:
            reason = f"a 4-element op on MPS returned {outcome['value']}, not 8.0"
        else:
            reason = None
        _mps_probe["reason"] = reason and (
            reason + " (torch.backends.mps.is_available() is True, but no usable MPS device is here)")
    return _mps_probe["reason"]


def get_backend(name):
    """The backend called `name`, or NotImplementedError saying why it can't run here."""
    backend = BACKENDS[name]
    reason = selection_reason(name) or backend.unavailable_reason()
    if reason:
        raise NotImplementedError(f"{name}: {reason}")
    return backend


def availability(names):
    """{backend: None if this machine has it, else why not}, without compiling anything."""
    return {name: BACKENDS[name].unavailable_reason() for name in names}
