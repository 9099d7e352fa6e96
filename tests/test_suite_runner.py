"""tools.suite: which asv parameter combinations it runs, the machine it files results
under, and its refusals of bad options."""

import json
import os
import re

import pytest

from benchmarks.harness import vocabulary
from toolkit import ROOT, assert_one_line_error, run_tool
from tools import suite


def asv_names(backends, dtypes):
    """Parameter-combination names as asv's --bench matches them."""
    names = []
    for backend in backends:
        names.append(f"bench_reductions.Sort.time_op('dim=1 axi=0', '{backend}')")
        names.append(f"bench_peaks.Peak.track_copy_bandwidth('{backend}')")
        names += [f"bench_linalg.MatMul.time_device('dim=1 dim=1', '{backend}', '{d}')" for d in dtypes]
    return names


def test_suite_selects_present_backends_and_gpu_only_reduced_dtypes():
    pattern = suite.selection_regex(["mlx_cpu", "cuda"], ["float32", "bfloat16"])
    picked = {n for n in asv_names(vocabulary.BACKEND_NAMES, vocabulary.DTYPES) if re.search(pattern, n)}
    assert picked == {
        "bench_reductions.Sort.time_op('dim=1 axi=0', 'mlx_cpu')",
        "bench_peaks.Peak.track_copy_bandwidth('mlx_cpu')",
        "bench_linalg.MatMul.time_device('dim=1 dim=1', 'mlx_cpu', 'float32')",
        "bench_reductions.Sort.time_op('dim=1 axi=0', 'cuda')",
        "bench_peaks.Peak.track_copy_bandwidth('cuda')",
        "bench_linalg.MatMul.time_device('dim=1 dim=1', 'cuda', 'float32')",
        "bench_linalg.MatMul.time_device('dim=1 dim=1', 'cuda', 'bfloat16')",
    }
    only_sort = suite.selection_regex(["cuda"], vocabulary.DTYPES, ["Sort"])
    assert {n for n in asv_names(vocabulary.BACKEND_NAMES, vocabulary.DTYPES) if re.search(only_sort, n)} == {
        "bench_reductions.Sort.time_op('dim=1 axi=0', 'cuda')"}




@pytest.mark.parametrize("args, fragment", [
    (["--backends", "mlx_gpu,tpu"], "unknown backend(s) tpu"),
    (["--backends", "cpu,cpu"], "named twice"),
    (["--machine", "../../evil"], "not a machine name"),
    (["--profile", "huge"], "invalid choice"),
])
def test_bad_options_are_one_line(args, fragment):
    assert_one_line_error(run_tool("suite", "--config", os.path.join(ROOT, "asv.conf.json"), *args), fragment)


def test_missing_config(tmp_path):
    assert_one_line_error(run_tool("suite", "--profile", "small", cwd=tmp_path), "no asv config")


def test_small_profile_suffix_is_added_once(tmp_path, monkeypatch):
    """asv's machine file already knows `host-small` (a first small run): the next small run
    files under `host-small` again, not `host-small-small`."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".asv-machine.json").write_text(json.dumps({"version": 1, "box-small": {"machine": "box-small"}}))
    assert suite.default_machine("small") == "box-small"
    assert suite.default_machine("reference") == "box"


def test_the_recorded_machine_has_cpu_ram_and_os(tmp_path, monkeypatch, capfd):
    """asv records these details only for a machine named like the host: any name gets them,
    and a machine new to asv is recorded without asv's "No information stored" complaint."""
    from asv.machine import Machine
    from toolkit import asv_project

    project = asv_project(tmp_path, machine="first")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", ROOT)  # the config loads the checkpoint plugin from ./tools
    import logging

    from asv.console import log

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    log.enable()  # as under `asv run`, where asv's complaints reach the terminal
    try:
        suite.record_machine("other", str(project.conf))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    recorded = json.loads((tmp_path / ".asv-machine.json").read_text())["other"]
    defaults = Machine.get_defaults()
    for key in ("cpu", "ram", "os", "num_cpu", "arch"):
        assert recorded[key] == defaults[key] and recorded[key], key
    out, err = capfd.readouterr()
    assert "No information stored" not in out + err


def test_tables_refuse_a_machine_named_twice():
    assert_one_line_error(run_tool("tables", "--machines", "h100,h100"), "names one machine twice")
