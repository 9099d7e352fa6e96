"""The suite's shape: the reference case set, asv parameters, profiles, imports, backends."""

import inspect
import json
import os
import subprocess
import sys

import pytest

from benchmarks.harness import catalog, frameworks, inputs, measurement, vocabulary
from toolkit import ROOT

OPS = catalog.ops()


def reference_rows():
    with open(os.path.join(ROOT, "tests", "data", "reference_cases.txt")) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def test_reference_profile_has_exactly_the_reference_cases():
    rows = [f"{op.__name__} / {case.label('reference')}" for op in OPS for case in op.cases]
    assert len(OPS) == 23
    assert sorted(rows) == sorted(reference_rows())
    assert len(rows) == 91


REDUCED_PRECISION_OPS = {"MatMul", "Linear", "Conv1d", "Conv2d", "ScaledDotProductAttention", "Softmax", "LayerNorm"}


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
def test_asv_parameters_match_setup(op):
    setup_args = list(inspect.signature(op.setup).parameters)[1:]
    assert setup_args == ["case", "backend", "dtype"]
    assert op.param_names == setup_args[:len(op.params)]
    assert op.params[1] == list(vocabulary.BACKEND_NAMES)
    assert len(set(op.params[0])) == len(op.params[0]), "case labels must be unique"
    if op.__name__ in REDUCED_PRECISION_OPS:
        assert op.params[2] == list(vocabulary.DTYPES) == ["float32", "float16", "bfloat16"]
    else:
        assert len(op.params) == 2 and op.dtypes == ("float32",)
    for method in ("time_op", "time_device"):
        assert list(inspect.signature(getattr(op, method)).parameters)[1:] == setup_args


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
def test_device_time_uses_the_device_clock_and_latency_the_wall_clock(op):
    # asv looks a timer up on the method first: only time_device carries one, and each
    # op has its own copy of the method, so no op's sampling leaks into another's.
    assert op.time_device.timer is measurement.device_clock
    assert not hasattr(op.time_op, "timer")
    others = [o for o in OPS if o is not op]
    assert all(op.time_device is not o.time_device for o in others)


def test_each_op_has_its_own_benchmark_version_from_its_declaration():
    from benchmarks.harness.declaration import HARNESS_VERSION

    versions = {op.__name__: op.version for op in OPS}
    assert len(set(versions.values())) == len(OPS), "two ops share a version"
    assert all(v.endswith(f"-h{HARNESS_VERSION}") for v in versions.values())


def test_editing_one_op_changes_only_its_version(tmp_path):
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from benchmarks.harness import catalog;"
        "print({op.__name__: op.version for op in catalog.ops()})"
    )
    import ast
    import shutil

    copy = tmp_path / "suite"
    shutil.copytree(os.path.join(ROOT, "benchmarks"), copy / "benchmarks")
    before = ast.literal_eval(subprocess.run([sys.executable, "-c", code, str(copy)], capture_output=True,
                                             text=True, check=True).stdout)
    path = copy / "benchmarks" / "bench_activations.py"
    path.write_text(path.read_text().replace("return np.maximum(x, 0)", "return np.maximum(x, 0.0)"))
    after = ast.literal_eval(subprocess.run([sys.executable, "-c", code, str(copy)], capture_output=True,
                                            text=True, check=True).stdout)
    assert {name for name in before if before[name] != after[name]} == {"ReLU"}


def test_each_measure_gets_its_own_sampling_through_asv(monkeypatch):
    """asv_runner's TimeBenchmark, built as asv builds it, reads `repeat` after setup: the
    latency gets single-call sampling, the device time batch sampling."""
    from asv_runner.benchmarks.time import TimeBenchmark

    from benchmarks.bench_activations import ReLU

    monkeypatch.setenv("BENCH_PROFILE", "small")
    monkeypatch.setattr(measurement, "wait_for_idle_cores", lambda backend_name: None)  # not under test here
    backend = next(b for b in ("mlx_cpu", "cpu") if not frameworks.BACKENDS[b].unavailable_reason())
    params = (ReLU.cases[0].label(), backend)
    try:
        repeats = {}
        for method in ("time_op", "time_device"):
            instance = ReLU()
            bench = TimeBenchmark(f"bench_activations.ReLU.{method}", getattr(instance, method),
                                  [getattr(instance, method), instance])
            instance.setup(*params)
            bench._load_vars()  # what asv_runner's do_setup does after running setup
            repeats[method] = bench.repeat
        run = measurement.placed_case(ReLU, params[0], backend)
        assert repeats["time_op"] == run.repeat == measurement.sampling(run.latency)
        assert repeats["time_device"] == run.device_repeat == measurement.device_sampling(run.latency, run.batch)
        assert repeats["time_op"] != repeats["time_device"]
    finally:
        measurement.release()


def test_case_labels_parse_back_to_shapes_and_axis():
    for op in OPS:
        for case in op.cases:
            for profile in ("reference", "small"):
                assert inputs.parse_label(case.label(profile)) == (case.shapes(profile), case.static)
    with pytest.raises(ValueError):
        inputs.parse_label("dtype=float32")


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
def test_small_profile_keeps_ranks_axes_and_distinct_cases(op):
    small = [c.shapes("small") for c in op.cases]
    for case, shapes in zip(op.cases, small):
        assert [len(s) for s in shapes] == [len(s) for s in case.reference_shapes]
        assert case.label("small").endswith(f"axi={case.axis}") == (case.axis is not None)
    assert len({c.label("small") for c in op.cases}) == len(op.cases)


def test_shrink_is_strictly_increasing_above_16():
    sizes = [1, 3, 11, 16, 17, 32, 64, 1000, 1024, 51200, 1000000]
    shrunk = [inputs.shrink(d) for d in sizes]
    assert shrunk[:4] == sizes[:4]
    assert all(a < b for a, b in zip(shrunk, shrunk[1:]))
    assert max(shrunk) < 1100


def test_every_case_builds_inputs_of_its_declared_shapes(seed):
    import numpy as np

    for op in OPS:
        for case in op.cases:
            arrays = op.make_inputs(case, np.random.default_rng(seed))
            assert all(np.isfinite(a[a != -np.inf]).all() for a in arrays), op.__name__  # -inf: masks
            assert arrays[0].dtype == np.float32, op.__name__
            operands = op.operands(case.shapes(), **case.static)
            assert [a.shape for a in arrays] == [o.shape for o in operands], op.__name__
            assert [a.dtype.kind == "f" for a in arrays] == [o.kind == "float" for o in operands], op.__name__


def test_importing_the_suite_initialises_no_gpu_framework():
    # mlx.core's CUDA build initialises CUDA on import; asv's forkserver must never import it.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from benchmarks.harness import catalog; catalog.ops(); import benchmarks.bench_settings, benchmarks.bench_peaks;"
        "assert 'mlx.core' not in sys.modules, 'mlx.core imported';"
        "import torch; assert not torch.cuda.is_initialized(), 'CUDA initialised'"
    )
    subprocess.run([sys.executable, "-c", code, ROOT], check=True, timeout=300)


def test_absent_backend_is_skipped_with_its_reason():
    absent = [name for name, b in frameworks.BACKENDS.items() if b.unavailable_reason()]
    if not absent:
        pytest.skip("every backend is present on this machine")
    name = absent[0]
    with pytest.raises(NotImplementedError, match=name + ": .+"):
        frameworks.get_backend(name)


def test_backend_selection_skips_the_others(monkeypatch):
    monkeypatch.setenv("BENCH_BACKENDS", "cpu")
    with pytest.raises(NotImplementedError, match="not selected"):
        frameworks.get_backend("mlx_cpu")
    monkeypatch.setenv("BENCH_BACKENDS", "cpu,nonsense")
    with pytest.raises(ValueError, match="nonsense"):
        frameworks.get_backend("cpu")


def test_asv_config_has_only_keys_asv_knows():
    from asv import config, util

    conf = util.load_json(os.path.join(ROOT, "asv.conf.json"), js_comments=True)
    known = set(vars(config.Config())) | {"version"}
    assert set(conf) - known == set()
    assert conf["launch_method"] == "forkserver"
    assert json.dumps(conf)  # plain data
