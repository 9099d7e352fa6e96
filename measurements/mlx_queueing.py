"""Where does MLX's CUDA backend make the host wait for a busy GPU?

    python3 measurements/mlx_queueing.py [OP:LABEL ...]

Per case, in a fresh interpreter with MLX's CUDA graphs on (its default) and off
(MLX_USE_CUDA_GRAPHS=0): the case placed as a benchmark process places it, 20 calls built
as lazy graphs, then the host ms of each call's `async_eval`:

- with the GPU idle;
- behind a 50 ms spin of the device clock's own timer kernel;
- behind about 50 ms of MLX's own work (a chain of 4096x4096 matmuls), to tell a wait
  caused by our kernel from one MLX makes behind any work.

While the calls queue behind the timer kernel, a second process samples the main thread's
system call and state every 0.2 ms (/proc/PID/task/PID/syscall): `ioctl` (16) is the CUDA
driver waiting, `futex` (202) a lock or condition, `running` user space (a spin).
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.getcwd())

DEFAULT = ["Sigmoid:dim=128x16x1024", "Softplus:dim=64x128x1024", "SumAll:dim=1000000",
           "Conv1d:dim=100x256x256 dim=8x3x256"]
CALLS, SPIN = 20, 0.05
SAMPLER = r"""
import json, sys, time
pid, seconds = int(sys.argv[1]), float(sys.argv[2])
samples, until = [], time.monotonic() + seconds
print("ready", flush=True)
while time.monotonic() < until:
    try:
        with open(f"/proc/{pid}/task/{pid}/syscall") as f:
            call = f.read().split()[0]
        with open(f"/proc/{pid}/task/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        break
    samples.append((time.monotonic(), call, state))
    time.sleep(0.0002)
print(json.dumps(samples))
"""


def queue_ms(lazy):
    import mlx.core as mx

    calls = []
    for out in lazy:
        began = time.perf_counter()
        mx.async_eval(out)
        calls.append(round((time.perf_counter() - began) * 1e3, 3))
    return calls


def one(op_name, label):
    import mlx.core as mx
    from benchmarks.harness import catalog, frameworks

    with catalog.placed(op_name, label, "mlx_gpu") as placed:
        clock = frameworks.MlxGpuTimerClock()
        one_placement = placed._next()

        def lazy():
            outs = [placed.backend.run(one_placement.fn, one_placement.inputs) for _ in range(CALLS)]
            mx.synchronize()
            return outs

        figures = {"idle": queue_ms(lazy())}
        mx.synchronize()

        calls = lazy()
        sampler = subprocess.Popen([sys.executable, "-c", SAMPLER, str(os.getpid()), "1.0"],
                                   stdout=subprocess.PIPE, text=True)
        sampler.stdout.readline()
        clock._spin_then_mark(SPIN)
        began = time.monotonic()
        figures["behind the timer kernel's spin"] = queue_ms(calls)
        ended = time.monotonic()
        mx.synchronize()
        samples = json.loads(sampler.communicate()[0])
        seen = {}
        for at, call, state in samples:
            if began <= at <= ended:
                key = f"{call}/{state}"
                seen[key] = seen.get(key, 0) + 1
        figures["main thread while queueing (syscall/state: samples)"] = seen

        a = mx.random.normal((4096, 4096))
        mx.eval(a)
        chain = a
        for _ in range(4):
            chain = chain @ a
        mx.eval(chain)
        began = time.perf_counter()
        mx.eval(chain @ a)
        per_matmul = time.perf_counter() - began
        work = a
        for _ in range(max(1, int(SPIN / per_matmul))):
            work = (work @ a) * 1e-3
        calls = lazy()
        mx.async_eval(work)
        figures["behind ~50 ms of MLX matmuls"] = queue_ms(calls)
        mx.synchronize()
        figures["one matmul ms"] = round(per_matmul * 1e3, 3)
        return figures


def main(argv):
    if argv and argv[0] == "--one":
        print(json.dumps(one(*argv[1].split(":", 1))))
        return 0
    for case in argv or DEFAULT:
        for graphs in ("1", "0"):
            env = dict(os.environ, MLX_USE_CUDA_GRAPHS=graphs)
            done = subprocess.run([sys.executable, __file__, "--one", case], env=env, capture_output=True, text=True)
            result = done.stdout.strip().splitlines()[-1] if done.returncode == 0 else done.stderr.strip()[-300:]
            print(f"{case} graphs={graphs}: host ms per async_eval of {CALLS} calls: {result}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
