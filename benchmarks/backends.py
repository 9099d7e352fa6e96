"""Everything that differs between frameworks and devices, in one place.

A backend knows whether this machine has it (and why not), how to place a NumPy array on
its device, how to compile a function, how to force a result to completion and how to read
it back. Ops never touch a device or a barrier themselves: they hand their functions to
`Backend.prepare`, which returns a zero-argument call holding the op and its barrier, and
nothing else.

Import rules (they decide whether GPU benchmarks run at all under asv's forkserver):
importing ``torch`` does not initialise CUDA, so it happens at module scope, once, in
asv's server process. Importing ``mlx.core`` from MLX's CUDA build *does* initialise CUDA,
and a process forked after that can use neither MLX nor torch on the GPU, so ``mlx.core``
is imported lazily, on first use, inside the benchmark process.
"""

import importlib
import os

import numpy as np

# torch.cuda.is_available() through NVML leaves CUDA uninitialised, so forking stays safe.
os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
try:
    import torch
except ImportError:  # an MLX-only install still runs the MLX backends
    torch = None

# Selectable float32 matmul precision: "default" keeps each framework's own default,
# "fp32" forces full float32, "tf32" allows TF32 where the hardware has it.
FP32_MATMUL_ENV = "BENCH_FP32_MATMUL"
FP32_MATMUL_CHOICES = ("default", "fp32", "tf32")


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


def fp32_matmul_choice():
    choice = os.environ.get(FP32_MATMUL_ENV, "default")
    if choice not in FP32_MATMUL_CHOICES:
        raise ValueError(f"{FP32_MATMUL_ENV}={choice!r}: choose one of {', '.join(FP32_MATMUL_CHOICES)}")
    return choice


def host_available_memory():
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):  # not Linux: the machine's total
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class Backend:
    """One framework on one device, optionally compiled."""

    framework = None

    def __init__(self, name, device, compiled=False):
        self.name = name
        self.device = device
        self.compiled = compiled

    def __repr__(self):
        return f"<Backend {self.name}>"

    def unavailable_reason(self):
        """None when this machine can run the backend, else why it can't."""
        raise NotImplementedError

    def place(self, array):
        raise NotImplementedError

    def compile(self, fn):
        raise NotImplementedError

    def complete(self, out):
        """Block until `out` (and everything queued before it) is computed."""
        raise NotImplementedError

    def to_numpy(self, out):
        raise NotImplementedError

    def release(self):
        """Give cached device memory back, so the next case starts clean."""

    def settings(self):
        """Numerics that decide what a figure means (recorded with the results)."""
        return {}

    def free_memory(self):
        """Bytes free on the device; the host's available memory for CPU backends."""
        return host_available_memory()

    def prepare(self, fn, arrays):
        """Place `arrays`, compile `fn` if needed and return (call, placed inputs).

        `call()` runs the op once and returns only when its result is computed: the timed
        body of every benchmark is exactly that call.
        """
        inputs = [self.place(a) for a in arrays]
        self.complete(inputs)
        if self.compiled:
            fn = self.compile(fn)
        return self._bind(fn, inputs), inputs

    def _bind(self, fn, inputs):
        complete = self.complete

        def call():
            out = fn(*inputs)
            complete(out)
            return out

        return call


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

    def _stream(self):
        return mx.gpu if self.device == "gpu" else mx.cpu

    def _apply_precision(self):
        choice = fp32_matmul_choice()
        # MLX reads MLX_ENABLE_TF32 when it first runs a float32 GEMM; this runs before any.
        if choice != "default":
            os.environ["MLX_ENABLE_TF32"] = "1" if choice == "tf32" else "0"

    def place(self, array):
        return mx.array(array)

    def compile(self, fn):
        return mx.compile(fn)

    def complete(self, out):
        mx.eval(out)

    def to_numpy(self, out):
        if out.dtype == mx.bfloat16:  # NumPy has no bfloat16
            out = out.astype(mx.float32)
        return np.array(out)

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
            # MLX only uses TF32 on GPUs that have it (CUDA tensor cores, M5-class Metal).
            "fp32_matmul": "tf32 allowed" if (tf32 and self.device == "gpu") else "fp32",
            "fp32_conv": "tf32 allowed" if (tf32 and self.device == "gpu") else "fp32",
        }

    def prepare(self, fn, arrays):
        self._apply_precision()
        return super().prepare(fn, arrays)

    def _bind(self, fn, inputs):
        stream = self._stream()

        def call():
            # The stream decides the device; arrays themselves are not bound to one.
            with mx.stream(stream):
                out = fn(*inputs)
            mx.eval(out)
            return out

        return call


class TorchBackend(Backend):
    framework = "torch"

    def unavailable_reason(self):
        if torch is None:
            return "torch is not installed"
        if self.device == "cuda" and not torch.cuda.is_available():
            return "torch.cuda.is_available() is False (no CUDA GPU, or a CPU-only torch build)"
        if self.device == "mps" and not torch.backends.mps.is_available():
            return "torch.backends.mps.is_available() is False (needs Apple silicon and macOS 12.3+)"
        return None

    def _apply_precision(self):
        choice = fp32_matmul_choice()
        if choice != "default":
            torch.backends.cuda.matmul.allow_tf32 = choice == "tf32"
            torch.backends.cudnn.allow_tf32 = choice == "tf32"

    def place(self, array):
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def compile(self, fn):
        # fullgraph: a graph break would silently time eager code under a "compiled" label.
        return torch.compile(fn, fullgraph=True, dynamic=False)

    def complete(self, out):
        # CPU kernels are synchronous; GPU launches are not.
        if self.device == "cuda":
            torch.cuda.synchronize()
        elif self.device == "mps":
            torch.mps.synchronize()

    def to_numpy(self, out):
        out = out.detach().cpu()
        if out.dtype == torch.bfloat16:
            out = out.float()
        return out.numpy()

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
        info = {"torch": torch.__version__, "threads": torch.get_num_threads()}
        if self.device == "cuda":
            tf32 = torch.backends.cuda.matmul.allow_tf32
            info["fp32_matmul"] = "tf32 allowed" if tf32 else "fp32"
            # cuDNN's default differs from cuBLAS's: TF32 convolutions are on unless disabled.
            info["fp32_conv"] = "tf32 allowed" if torch.backends.cudnn.allow_tf32 else "fp32"
        else:
            info["fp32_matmul"] = info["fp32_conv"] = "fp32"
        return info

    def prepare(self, fn, arrays):
        self._apply_precision()
        torch.set_grad_enabled(False)
        return super().prepare(fn, arrays)


BACKENDS = {
    b.name: b
    for b in [
        MLXBackend("mlx_gpu", "gpu"),
        MLXBackend("mlx_gpu_compile", "gpu", compiled=True),
        MLXBackend("mlx_cpu", "cpu"),
        MLXBackend("mlx_cpu_compile", "cpu", compiled=True),
        TorchBackend("mps", "mps"),
        TorchBackend("cpu", "cpu"),
        TorchBackend("cuda", "cuda"),
        TorchBackend("cpu_compile", "cpu", compiled=True),
        TorchBackend("cuda_compile", "cuda", compiled=True),
    ]
}
BACKEND_NAMES = list(BACKENDS)

# Opt-in restriction of a run to some backends; the others are skipped with this reason,
# so asv's parameter grid (and the results' columns) stay the same on every machine.
SELECT_ENV = "BENCH_BACKENDS"


def selected_reason(name):
    wanted = os.environ.get(SELECT_ENV, "").strip()
    if not wanted:
        return None
    chosen = {w.strip() for w in wanted.split(",") if w.strip()}
    unknown = chosen - set(BACKENDS)
    if unknown:
        raise ValueError(f"{SELECT_ENV}: unknown backend(s) {', '.join(sorted(unknown))}; known: {', '.join(BACKENDS)}")
    return None if name in chosen else f"not selected ({SELECT_ENV}={wanted})"


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
    if torch is None or torch.cuda.is_available():  # NVML-based check: CUDA stays uninitialised
        return
    try:
        torch.compile(torch.neg, fullgraph=True, dynamic=False)(torch.zeros(1))
    except Exception:  # noqa: BLE001 - no compiler here: the compile backends will say so in setup
        pass


def get_backend(name):
    """The backend called `name`, or NotImplementedError saying why it can't run here."""
    backend = BACKENDS[name]
    reason = selected_reason(name) or backend.unavailable_reason()
    if reason:
        raise NotImplementedError(f"{name}: {reason}")
    return backend

# Runs at import, i.e. once in asv's forkserver (see warm_up_torch_compile).
warm_up_torch_compile()
