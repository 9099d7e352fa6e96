"""Failing cases, oversized cases, interrupted runs, slow cases, and what a run touches."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from benchmarks import backends, common
from conftest import ROOT
from tools import tables

CPU_BACKENDS = [b for b in ("mlx_cpu", "cpu") if not backends.BACKENDS[b].unavailable_reason()]


# --- oversized cases ----------------------------------------------------------------------

def test_case_that_does_not_fit_is_skipped_with_its_size(monkeypatch):
    monkeypatch.setenv(common.MEMORY_LIMIT_ENV, "0.0001")
    op = common.all_ops()[0]
    with pytest.raises(NotImplementedError, match=r"needs \d+\.\d\d GiB, device has 0\.00 GiB free"):
        common.Prepared(op, op.cases[0].label(), CPU_BACKENDS[0])


def test_cost_model_is_the_real_inputs_and_result(seed):
    """The roofline's bytes and the memory guard come from `operands` / `result`: they must
    describe exactly the arrays the op reads and writes."""
    backend = backends.BACKENDS["cpu"]
    for op in common.all_ops():
        for case in op.cases:
            shapes, static = case.shapes(), case.static
            arrays = op.make_inputs(case, np.random.default_rng(seed))
            expected = np.asarray(op.expected(case, arrays))
            result = op.result(shapes, **static)
            name = f"{op.__name__} {case.label()}"
            assert expected.shape == result.shape, name
            assert (expected.dtype.kind in "iu") == (result.kind == "index"), name
            real = sum(a.nbytes for a in arrays) + expected.size * (8 if result.kind == "index" else 4)
            assert op.bytes_moved(shapes, "float32", **static) == real, name
            float_elements = sum(a.size for a in arrays if a.dtype.kind == "f") + (0 if result.kind == "index" else expected.size)
            assert op.bytes_moved(shapes, "float32", **static) - op.bytes_moved(shapes, "bfloat16", **static) == 2 * float_elements, name
            inputs = sum(a.nbytes for a in arrays)
            assert op.memory_needed(case, backend) >= 2 * inputs + expected.size * 4, name


# --- slow cases ---------------------------------------------------------------------------

def test_timeouts_follow_the_cost_of_the_slowest_case():
    ops = {op.__name__: op for op in common.all_ops()}
    # MLX's CPU backend takes about 61 s a call for MatMul 1000000x64 @ 64x1024 (2 cores):
    # the process makes ~5 calls, so the timeout must leave room for them.
    assert ops["MatMul"].timeout >= 5 * 61
    assert ops["ReLU"].timeout <= 180  # a hung element-wise op is reported within minutes
    for op in ops.values():
        slowest = max(op.expected_seconds(c.shapes("reference"), **c.static) for c in op.cases)
        assert op.timeout >= 5 * slowest


# --- asv runs ----------------------------------------------------------------------------

INJECTED = '''
from .bench_activations import ReLU


class InjectedFailure(ReLU):
    """ReLU whose torch version raises, as a driver error would."""

    @staticmethod
    def torch_fn(x):
        raise RuntimeError("injected driver error")
'''


def asv_tree(tmp_path, extra_module=None):
    from asv import util

    bench = tmp_path / "benchmarks"
    shutil.copytree(os.path.join(ROOT, "benchmarks"), bench, ignore=shutil.ignore_patterns("__pycache__"))
    if extra_module:
        (bench / "bench_injected.py").write_text(textwrap.dedent(extra_module))
    conf = util.load_json(os.path.join(ROOT, "asv.conf.json"), js_comments=True)
    conf.update(repo=ROOT, benchmark_dir=str(bench), results_dir=str(tmp_path / "results"),
                html_dir=str(tmp_path / "html"), env_dir=str(tmp_path / "env"))
    path = tmp_path / "asv.conf.json"
    path.write_text(json.dumps(conf))
    env = dict(os.environ, BENCH_PROFILE="small", HOME=str(tmp_path), BENCH_BACKENDS=",".join(CPU_BACKENDS))
    subprocess.run([sys.executable, "-m", "asv", "machine", "--yes", "--machine", "box", "--config", str(path)],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    run = [sys.executable, "-m", "asv", "run", "--config", str(path), "--python=same",
           "--set-commit-hash", commit, "--machine", "box"]
    return run, env, tmp_path / "results"


def build_tables(results):
    return tables.build(tables.parse_args(["--results", str(results)]))


@pytest.mark.skipif(len(CPU_BACKENDS) < 2, reason="needs MLX and torch on the CPU")
def test_failing_case_is_recorded_and_the_run_goes_on(tmp_path):
    run, env, results = asv_tree(tmp_path, INJECTED)
    proc = subprocess.run(run + ["-b", "InjectedFailure|Sigmoid"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "injected driver error" in proc.stdout + proc.stderr
    built = build_tables(results)
    detail = built.detailed
    injected = [r for r in detail.index if r.startswith("InjectedFailure")]
    sigmoid = [r for r in detail.index if r.startswith("Sigmoid")]
    assert len(injected) == 2 and len(sigmoid) == 2
    assert built.failed.loc[injected, "cpu"].all()  # torch raised: err
    assert detail.loc[injected, "mlx_cpu"].notna().all()  # the same cases on MLX ran
    assert detail.loc[sigmoid, ["mlx_cpu", "cpu"]].notna().all().all()  # and so did the rest
    markdown = built.markdown()
    assert "| err |" in markdown.replace(" ", "").replace("|err|", "| err |")
    assert f"Failed (2): {injected[0]} on cpu" in markdown


@pytest.mark.skipif(len(CPU_BACKENDS) < 2, reason="needs MLX and torch on the CPU")
def test_killed_run_keeps_every_finished_case(tmp_path):
    run, env, results = asv_tree(tmp_path)
    proc = subprocess.Popen(run + ["-b", "Argmax|ReLU|Softmax|Sort"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    progress = None
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            found = list((results / "box").glob("*.progress")) if (results / "box").exists() else []
            if found:
                done = json.loads(found[0].read_text())["done"]
                if sum(len(v) for v in done.values()) >= 30:
                    progress = found[0]
                    break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert progress is not None, "the run made no progress file"
    state = json.loads(progress.read_text())
    built = build_tables(results)
    # every case the progress file calls finished has its figure in the tables
    import ast
    import itertools

    rows = built.df.set_index(["op", "method", "case", "backend", "dtype"])
    checked = 0
    for name, indices in state["done"].items():
        combos = list(itertools.product(*[[ast.literal_eval(v) for v in axis] for axis in state["planned"][name]["params"]]))
        for i in indices:
            case, backend, dtype = (combos[i] + ("float32",))[:3]
            if dtype != "float32" and backend in CPU_BACKENDS:
                continue  # skipped: reduced precision runs on GPU backends only
            row = rows.loc[(*name.split(".")[-2:], case, backend, dtype)]
            if backend in CPU_BACKENDS:
                assert row["status"] == "ok", (name, case, backend)
                checked += 1
    assert checked >= 4
    # and the cases that never ran are listed
    planned = sum(len(p["selected"]) for p in state["planned"].values())
    finished = sum(len(v) for v in state["done"].values())
    assert len(built.not_run) == planned - finished
    assert "Not run (" in built.markdown()


# --- what a run touches ------------------------------------------------------------------

AUDIT = '''
import os, sys, tempfile
sys.path.insert(0, sys.argv[1])
allowed = [os.path.realpath(tempfile.gettempdir()), os.path.realpath(sys.argv[2])]
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
from benchmarks import common
for op in common.all_ops():
    for case in op.cases:
        for backend in sys.argv[3].split(","):
            common.prepared(op, case.label(), backend).call()
common.release()
print(events)
'''


@pytest.mark.skipif(not CPU_BACKENDS, reason="needs a CPU backend")
def test_a_run_makes_no_network_access_and_writes_only_temporary_caches(tmp_path):
    proc = subprocess.run([sys.executable, "-c", AUDIT, ROOT, str(tmp_path), ",".join(CPU_BACKENDS)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env=dict(os.environ, BENCH_PROFILE="small"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_inputs_are_seeded_per_case_and_identical_across_processes():
    code = ("import sys, hashlib; sys.path.insert(0, sys.argv[1]); import numpy as np;"
            "from benchmarks import common; op = common.all_ops()[0]; c = op.cases[0];"
            "a = op.make_inputs(c, np.random.default_rng(common.case_seed(op.__name__, c.label())));"
            "print(hashlib.sha256(b''.join(x.tobytes() for x in a)).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code, ROOT], capture_output=True, text=True, check=True,
                              env=dict(os.environ, PYTHONHASHSEED=str(s))).stdout for s in (1, 2)}
    assert len(digests) == 1
