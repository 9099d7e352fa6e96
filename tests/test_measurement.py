"""Measurement: a case placed on a backend and called as a benchmark process calls it
touches nothing outside temporary folders and reaches no network."""

import pytest

from benchmarks.harness import frameworks, measurement
from toolkit import ROOT, run_python

PRESENT_CPU = [b for b in ("mlx_cpu", "cpu") if not frameworks.BACKENDS[b].unavailable_reason()]

AUDIT = '''
import os, sys, tempfile
allowed = [os.path.realpath(tempfile.gettempdir()), os.path.realpath(sys.argv[1])]
events = []

def hook(event, args):
    if event == "socket.connect":
        events.append(("connect", repr(args[1])))
    elif event == "open" and args[1] is not None and isinstance(args[0], str):
        mode = args[1] if isinstance(args[1], str) else ""
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        writing = any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        path = os.path.realpath(args[0])
        if writing and not any(path.startswith(a) for a in allowed) and not path.startswith("/dev/"):
            events.append(("write", path))

sys.addaudithook(hook)
from benchmarks.harness import catalog
from benchmarks.harness.inputs import active_profile
for op in catalog.ops():
    for label in op.labels(active_profile()):
        for backend in sys.argv[2].split(","):
            with catalog.placed(op.__name__, label, backend) as placed:
                placed.call()
print(events)
'''


@pytest.mark.skipif(not PRESENT_CPU, reason="needs a CPU backend")
def test_a_run_makes_no_network_access_and_writes_only_temporary_caches(tmp_path):
    proc = run_python(AUDIT, tmp_path, ",".join(PRESENT_CPU), cwd=tmp_path, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


PIN = '''
import os
from benchmarks.harness import frameworks, measurement
before = os.sched_getaffinity(0)
core = frameworks.pin_gpu_launches()
print(core, sorted(os.sched_getaffinity(0)), sorted(before), sep="|")
'''


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_setaffinity"), reason="Linux's sched_setaffinity")
@pytest.mark.parametrize("choice", ["none", "auto", "0"])
def test_gpu_launches_are_pinned_to_the_core_bench_gpu_core_names(choice):
    """BENCH_GPU_CORE binds a GPU benchmark process to one core (auto: the last core next
    to the GPU, else of those allowed) or leaves it alone (none)."""
    import os
    proc = run_python(PIN, env=dict(os.environ, BENCH_GPU_CORE=choice))
    core, after, before = proc.stdout.strip().split("|")
    after, before = eval(after), eval(before)
    if choice == "none":
        assert core == "None" and after == before
    else:
        wanted = int(choice) if choice.isdigit() else (frameworks.gpu_local_cores() or before)[-1]
        assert int(core) == wanted and after == [wanted]


def test_a_core_this_machine_lacks_is_refused_before_anything_runs():
    from benchmarks.harness import vocabulary

    assert vocabulary.setting_errors({"BENCH_GPU_CORE": str(__import__("os").cpu_count())})
    assert not vocabulary.setting_errors({"BENCH_GPU_CORE": "0"})


def test_benchmark_batches_step_by_whole_plants_while_the_peaks_batch_by_time():
    from benchmarks.bench_peaks import PEAK_BATCH_SECONDS
    free = 1 << 40
    # a 5 ms call: 20 calls (5 % and 10 % plants are whole calls); the peaks' one call
    assert measurement.batch_size(5e-3, 1, free) == measurement.BATCH_STEP
    assert measurement.batch_size(0.35, 1, free, step=1, seconds=PEAK_BATCH_SECONDS) == 1
    assert measurement.batch_size(7e-4, 1, free, step=1, seconds=PEAK_BATCH_SECONDS) == 29
    assert measurement.batch_size(7e-4, 1 << 30, 4 << 30, step=1, seconds=PEAK_BATCH_SECONDS) == 1
