"""What tools.site publishes: no interpreter paths in environment names, parameters ordered
so that asv's default graph (the first values of each parameter) has figures, benchmarks
without any figure left out, thumbnails that draw a lone point."""

import os

from asv import util

from asv_fixtures import write_results
from tools import site
from tools.results import BENCHMARKS_FILE, load_all

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
    assert cases == ["'dim=9'", "'dim=8'", "'dim=1000'"]
    assert backends == ["'cpu'", "'mlx_cpu'", "'mlx_gpu'"]  # asv's default graph: the first values


def test_thumbnails_draw_points(tmp_path):
    from asv import commands
    original = os.path.join(os.path.dirname(os.path.dirname(commands.__file__)), "www", "summarygrid.js")
    (tmp_path / "summarygrid.js").write_text(open(original).read())
    assert site.show_points(str(tmp_path))
    assert "points: {show: true" in (tmp_path / "summarygrid.js").read_text()
    assert not site.show_points(str(tmp_path))  # once
