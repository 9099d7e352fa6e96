"""Which way of timing a batch gives a launch-bound GPU case one figure, not one per process.

    python3 measurements/launch_modes.py PROCESSES [OP:LABEL:BACKEND ...]

Each process (a fresh interpreter, so that no two share a CUDA context) places the case as
a benchmark process does and times device-time batches several ways, in turn, in the same
process, so that a process's own state (host core, clocks, placements) touches every way
alike:

- `suite`: the suite's clock as it is (harness version 5: a GPU spin before the batch and
  the GPU's own clock, CUDA events for torch, a timer kernel's stamps for MLX; version 4:
  MLX's graphs built before the clock, an `async_eval` per call, on the host's clock; version 3: MLX's calls chained with
  `mx.depends` in one evaluation; until version 2: torch's CUDA events after one lead call,
  MLX's graphs built on the clock);
- `spin` (torch): the GPU first spins in `torch.cuda._sleep` long enough for the host to
  queue the whole batch behind it, so the events hold the GPU's work and no launch gaps;
- `graph` (torch): the batch captured once as a CUDA graph and replayed between events;
- `lazy` (MLX): the batch built as one lazy graph of independent calls and evaluated with
  one `async_eval`, the graph's building timed (`lazy`) or not (`lazy, built untimed`);
  independent calls may run side by side on the GPU.

The line per case and way gives the per-process medians (us per call), their max/min and
coefficient of variation.
"""
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.getcwd())

DEFAULT = ["ReLU:dim=128x16x1024:cuda", "SeLU:dim=128x16x1024:cuda", "Conv1d:dim=16x1000x3 dim=128x11x3:cuda",
           "LeakyReLU:dim=128x16x1024:mlx_gpu", "Sigmoid:dim=128x16x1024:mlx_gpu", "SumAll:dim=1000000:mlx_gpu",
           "BCE:dim=1000000 dim=1000000:mlx_gpu_compile", "Softmax:dim=64x1000000 axi=-1:cuda",
           "Softmax:dim=64x1000000 axi=-1:mlx_gpu", "Conv1d:dim=100x256x256 dim=8x3x256:mlx_gpu",
           "BCE:dim=1000000 dim=1000000:mlx_gpu"]
SAMPLES = 15


def median_us(samples, calls):
    return statistics.median(samples) / calls * 1e6


def torch_ways(placed):
    import torch
    op, calls = placed.placements[0], placed.batch
    ways = {}

    def events(body):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        kept = body()
        end.record()
        end.synchronize()
        del kept
        return start.elapsed_time(end) / 1e3

    # the GPU's cycles per second, from a spin of known cycles
    torch.cuda._sleep(1000)
    spin = [events(lambda: torch.cuda._sleep(10_000_000)) for _ in range(3)]
    rate = 10_000_000 / min(spin)
    # host seconds to queue a batch: the spin must outlast it
    torch.cuda.synchronize()
    t = time.perf_counter()
    outs = [op.launch() for _ in range(calls)]
    queue = time.perf_counter() - t
    torch.cuda.synchronize()
    del outs

    def spun():
        torch.cuda._sleep(int(3 * queue * rate) + 1000)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        kept = [op.launch() for _ in range(calls)]
        end.record()
        end.synchronize()
        del kept
        return start.elapsed_time(end) / 1e3

    ways["spin"] = median_us([spun() for _ in range(SAMPLES)], calls)
    try:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                op.launch()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            captured = [op.launch() for _ in range(calls)]
        graph.replay()
        torch.cuda.synchronize()
        ways["graph"] = median_us([events(lambda: graph.replay()) for _ in range(SAMPLES)], calls)
        del captured, graph
    except Exception as exc:  # noqa: BLE001 - an op capture refuses is reported, not fatal
        ways["graph"] = f"capture failed: {type(exc).__name__}"
    return ways, {"queue_us_per_call": queue / calls * 1e6, "spin_rate_ghz": rate / 1e9}


def mlx_ways(placed):
    import mlx.core as mx
    op, calls = placed.placements[0], placed.batch
    backend = op.backend

    def lazy():
        backend.wait()
        t = time.perf_counter()
        outs = [backend.run(op.fn, op.inputs) for _ in range(calls)]
        mx.async_eval(outs)
        backend.wait()
        return time.perf_counter() - t

    def lazy_built():
        outs = [backend.run(op.fn, op.inputs) for _ in range(calls)]
        backend.wait()
        t = time.perf_counter()
        mx.async_eval(outs)
        backend.wait()
        return time.perf_counter() - t

    return {"lazy": median_us([lazy() for _ in range(SAMPLES)], calls),
            "lazy, built untimed": median_us([lazy_built() for _ in range(SAMPLES)], calls)}, {}


def child(key):
    from benchmarks.harness import catalog, measurement
    op_name, label, backend = key.split(":")
    os.environ["BENCH_PROFILE"] = catalog.profile_of(op_name, label)
    op = catalog.find_op(op_name)
    placed = measurement.placed_case(op, label, backend)
    clock = placed.clock
    suite = []
    for _ in range(SAMPLES):
        placed.prepare_batch()  # asv's setup, untimed
        start = clock()
        placed.launch_batch()
        suite.append(clock() - start)
    ways = {"suite": median_us(suite, placed.batch)}
    extra, facts = (torch_ways if placed.backend.framework == "torch" else mlx_ways)(placed)
    ways.update(extra)
    print(json.dumps({"ways": ways, "batch": placed.batch, **facts}))


def main():
    processes = int(sys.argv[1])
    for key in sys.argv[2:] or DEFAULT:
        runs = []
        for _ in range(processes):
            done = subprocess.run([sys.executable, __file__, "--child", key], capture_output=True, text=True,
                                  timeout=300)
            if done.returncode != 0:
                print(f"{key}: {(done.stderr.strip().splitlines() or ['?'])[-1]}", flush=True)
                continue
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if runs:
            report(key, runs)


def report(key, runs):
    facts = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0] if k not in ("ways", "batch")}
    print(f"{key}  batch {runs[0]['batch']}  {facts}")
    for way in runs[0]["ways"]:
        values = [r["ways"][way] for r in runs]
        if not all(isinstance(v, float) for v in values):
            print(f"    {way:<20} {values[0]}")
            continue
        cv = statistics.pstdev(values) / statistics.mean(values)
        print(f"    {way:<20} median {statistics.median(values):8.2f} us  max/min {max(values) / min(values):5.2f}"
              f"  cv {cv:6.1%}  {' '.join(f'{v:.1f}' for v in values)}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
