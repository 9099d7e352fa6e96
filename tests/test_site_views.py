"""What tools.site publishes: no interpreter paths in environment names, parameters ordered
so that asv's default graph (the first values of each parameter) has figures, benchmarks
without any figure left out, thumbnails that draw a lone point."""

import datetime
import os
import random

import pytest
from asv import util

from asv_fixtures import write_results
from toolkit import ROOT
from benchmarks.harness import vocabulary
from tools import site
from tools.results import BENCHMARKS_FILE, load_all, machines

RELU = "bench_activations.ReLU.time_op"
MEMORY = "bench_activations.ReLU.track_peak_memory"


def view_of(tmp_path, env):
    view = str(tmp_path / "view")
    write_results(view, "cpu-box", "c" * 40,
                  {RELU: {"dim=1000": {}, "dim=8": {"cpu": 1e-3}, "dim=9": {"cpu": 2e-3, "mlx_cpu": 3e-3}},
                   MEMORY: {"dim=8": {}}}, env=env)
    table = {key: {"name": key, "params": [["'dim=1000'", "'dim=8'", "'dim=9'"],
                                           [repr(b) for b in ("mlx_gpu", "mlx_cpu", "cpu")]],
                   "param_names": ["case", "backend"], "version": "1"} for key in (RELU, MEMORY)}
    return view, table


def test_interpreter_paths_leave_the_environment_names(tmp_path):
    view, _ = view_of(tmp_path, "existing-py_opt_torch_.venv_bin_python3")
    site.without_paths(view)
    (path, result), = load_all(view, "cpu-box")
    assert os.path.basename(path) == "cccccccc-existing-py3.json"
    assert (result.env_name, result.params["python"]) == ("existing-py3", "3")
    values = result.get_result_value(RELU, result.get_result_params(RELU))
    assert sum(v == v for v in values) == 3  # the figures came along


def test_no_results_file_here_is_named_by_an_interpreter_path():
    # The H100 files of before tools/asv_environment.py were renamed by
    # measurements/rename_environment.py; a path-named file here again would put a local
    # path on the site (without_paths hides it) and split the machine's series.
    folder = os.path.join(ROOT, "results")
    named = [name for machine in machines(folder) for name in os.listdir(os.path.join(folder, machine))
             if name.endswith(".json") and name != "machine.json"]
    assert named and not [n for n in named if site.PATH_ENV.match(n[len("01234567-"):-len(".json")])]


def test_version_named_environments_are_kept(tmp_path):
    view, _ = view_of(tmp_path, "existing-py3.11-mlx0.32.4-torch2.13.0")
    site.without_paths(view)
    assert [os.path.basename(p) for p, _ in load_all(view, "cpu-box")] == [
        "cccccccc-existing-py3.11-mlx0.32.4-torch2.13.0.json"]


def test_values_with_figures_come_first_and_empty_benchmarks_go(tmp_path):
    view, table = view_of(tmp_path, "existing-py3.11")
    site.data_first(view, table)
    written = util.load_json(os.path.join(view, BENCHMARKS_FILE))
    assert MEMORY not in written  # no figure anywhere: its page could only be empty
    cases, backends = written[RELU]["params"]
    assert cases == ["'dim=8'", "'dim=9'", "'dim=1000'"]  # with figures first, in the table's order
    # asv's default graph: the first values; mlx_cpu before cpu as BACKENDS orders them,
    # though cpu has more figures
    assert backends == ["'mlx_cpu'", "'cpu'", "'mlx_gpu'"]


BACKENDS = [repr(b) for b in vocabulary.BACKEND_NAMES]


@pytest.mark.parametrize("seed", range(5))
def test_default_order_prefers_the_newest_results_then_the_vocabulary(seed):
    shuffled = random.Random(seed).sample(BACKENDS, len(BACKENDS))
    newest, anywhere = {"'cpu'", "'mlx_cpu'"}, {"'cpu'", "'mlx_cpu'", "'cuda'", "'mlx_gpu'"}
    # whatever order the table holds, the same order comes out: deterministic
    assert site.default_order(shuffled, newest, anywhere) == [
        "'mlx_cpu'", "'cpu'", "'mlx_gpu'", "'cuda'",  # the newest run's, then the others with figures
        "'mlx_gpu_compile'", "'mlx_cpu_compile'", "'mps'", "'cpu_compile'", "'cuda_compile'"]


def test_default_order_keeps_the_tables_order_of_cases_and_the_vocabularys_of_dtypes():
    cases = ["'dim=9'", "'dim=1000'", "'dim=8'"]
    assert site.default_order(cases, {"'dim=8'"}, {"'dim=8'", "'dim=1000'"}) == ["'dim=8'", "'dim=1000'", "'dim=9'"]
    dtypes = ["'bfloat16'", "'float16'", "'float32'"]
    assert site.default_order(dtypes, set(dtypes), set(dtypes)) == ["'float32'", "'float16'", "'bfloat16'"]


@pytest.mark.parametrize("newer, first", [("cpu-box", "'mlx_cpu'"), ("h100", "'mlx_gpu'")])
def test_the_default_backend_is_the_newest_runs_not_the_one_with_most_figures(tmp_path, newer, first):
    view = str(tmp_path / "view")
    day = datetime.timedelta(days=1)
    start = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    cases = [f"dim={n}" for n in range(1, 9)]
    # the H100 has eight cases on three backends, the CPU machine two on two
    write_results(view, "h100", "a" * 40, {RELU: {c: {"mlx_gpu": 1e-4, "cuda": 1e-4, "mlx_gpu_compile": 1e-4}
                                                  for c in cases}}, started=start + (day if newer == "h100" else 0 * day))
    write_results(view, "cpu-box", "a" * 40, {RELU: {c: {"cpu": 1e-3, "mlx_cpu": 1e-3} for c in cases[:2]}},
                  started=start + (day if newer == "cpu-box" else 0 * day))
    table = {RELU: {"name": RELU, "params": [[repr(c) for c in cases], BACKENDS], "param_names": ["case", "backend"],
                    "version": "1"}}
    site.data_first(view, table)
    _, backends = util.load_json(os.path.join(view, BENCHMARKS_FILE))[RELU]["params"]
    assert backends[0] == first


def test_thumbnails_draw_points(tmp_path):
    from asv import commands
    original = os.path.join(os.path.dirname(os.path.dirname(commands.__file__)), "www", "summarygrid.js")
    (tmp_path / "summarygrid.js").write_text(open(original).read())
    assert site.show_points(str(tmp_path))
    assert "points: {show: true" in (tmp_path / "summarygrid.js").read_text()
    assert not site.show_points(str(tmp_path))  # once
