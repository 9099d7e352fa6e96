"""Where a benchmark process's fixed cost goes on the GPU host: forks children as asv's
forkserver does and times their phases (results/reports/h100/process-cost.txt).

    python3 measurements/process_cost.py plain|preload     # preload: dlopen libmlx.so first
    B=cpu,mlx_cpu python3 measurements/process_cost.py plain   # other backends
"""
import ast, ctypes, importlib.util, os, sys, time
sys.path.insert(0, os.getcwd())
os.environ.setdefault("BENCH_PROFILE", "reference")
mode = sys.argv[1]
t0 = time.perf_counter()
import torch, numpy
from benchmarks import bench_activations, bench_reductions, bench_linalg, bench_conv
from benchmarks.harness import measurement
print("parent import", round(time.perf_counter() - t0, 3), "cuda initialized in parent:", torch.cuda.is_initialized())
if mode == "preload":
    spec = importlib.util.find_spec("mlx")
    lib = os.path.join(list(spec.submodule_search_locations)[0], "lib", "libmlx.so")
    t = time.perf_counter(); ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL); print("preload libmlx", round(time.perf_counter() - t, 3))
cases = [(bench_activations.ReLU, 0), (bench_reductions.Softmax, 2), (bench_linalg.MatMul, 0), (bench_conv.Conv2d, 0)]
for backend in os.environ.get("B", "cuda,mlx_gpu,mlx_gpu_compile").split(","):
    for cls, i in cases:
        label = cls.cases[i].label()
        r, w = os.pipe()
        t = time.time()
        pid = os.fork()
        if pid == 0:
          try:
            m = [("fork", time.time() - t)]
            s = time.perf_counter()
            if backend in ("cuda", "cpu"):
                if backend == "cuda": torch.zeros(1, device="cuda"); torch.cuda.synchronize()
                m.append(("cuda init", time.perf_counter() - s))
            else:
                import mlx.core as mx
                m.append(("import mlx", time.perf_counter() - s)); s = time.perf_counter()
                mx.eval(mx.zeros(1)); m.append(("mlx first eval", time.perf_counter() - s))
            s = time.perf_counter()
            p = measurement.placed_case(cls, label, backend)
            m.append(("prepared", time.perf_counter() - s))
            s = time.perf_counter()
            for _ in range(20):
                p.call()
            m.append(("20 calls", time.perf_counter() - s))
            m.append(("end", time.time()))
            os.write(w, repr(m).encode())
          except BaseException as e:
            os.write(w, repr([("error " + repr(e)[:200], 0), ("end", time.time())]).encode())
          finally:
            os._exit(0)
        os.waitpid(pid, 0)
        done = time.time()
        m = ast.literal_eval(os.read(r, 4000).decode())
        end = m.pop()[1]
        print(f"{backend:16s} {cls.__name__:8s} " + " ".join(f"{k}={v*1e3:.0f}ms" for k, v in m) + f" exit={1e3*(done-end):.0f}ms total={1e3*(done-t):.0f}ms")
