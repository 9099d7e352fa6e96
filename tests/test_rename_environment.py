"""measurements/rename_environment.py: a results file named by an interpreter path gets the
name, `python` parameter and requirements tools/asv_environment.py gives a run, its figures
unchanged; never over an existing file; bad input is one line."""

import gzip
import json
import os

import pytest

from asv_fixtures import write_results
from toolkit import ROOT, assert_one_line_error, run_module

PATH_ENV = "existing-py_opt_torch_.venv_bin_python3"
NEW_ENV = "existing-py3.12-mlx0.32.4-torch2.11.0"
VERSIONS = ("--python", "3.12", "--mlx", "0.32.4", "--torch", "2.11.0")
# A file the plugin wrote on the H100: what a renamed file must look like
PLUGIN_MADE = os.path.join(ROOT, "results", "reports", "h100", "gate-2026-11-27-b", "unpinned", "results",
                           "6e48a0fa-existing-py3.12-mlx0.32.4-torch2.11.0.json.gz")


def rename(path, *args):
    return run_module("measurements.rename_environment", path, *args)


@pytest.fixture
def old(tmp_path):
    write_results(str(tmp_path), "box", "c" * 40,
                  {"bench_activations.ReLU.time_op": {"dim=8": {"cpu": 1e-3, "mlx_cpu": 2e-3}}}, env=PATH_ENV)
    path = tmp_path / "box" / f"cccccccc-{PATH_ENV}.json"
    assert path.exists()
    return path


def test_the_file_gets_the_plugins_name_and_fields_and_the_old_one_goes(old):
    before = json.loads(old.read_text())
    proc = rename(old, *VERSIONS)
    assert proc.returncode == 0, proc.stderr
    new = old.parent / f"cccccccc-{NEW_ENV}.json"
    assert not old.exists() and new.exists()
    after = json.loads(new.read_text())
    assert after["env_name"] == NEW_ENV and after["python"] == "3.12"
    assert after["requirements"] == {"mlx": "0.32.4", "torch": "2.11.0"}
    assert after["params"] == {"machine": "box", "python": "3.12", "mlx": "0.32.4", "torch": "2.11.0"}
    for key in set(before) - {"env_name", "params", "python", "requirements"}:
        assert after[key] == before[key], key  # the figures, dates and columns as they were
    with gzip.open(PLUGIN_MADE, "rt") as f:
        made = json.load(f)
    assert list(after) == list(made)  # asv's own layout, field for field
    for key in ("env_name", "python", "requirements", "env_vars", "result_columns", "version"):
        assert after[key] == made[key], key
    # the environment's part of the parameters, in asv run's order (the rest is the machine's)
    assert [k for k in made["params"] if k in after["params"]] == list(after["params"])
    assert [f for f in os.listdir(old.parent) if f.endswith(".tmp")] == []


def test_an_existing_file_is_never_overwritten(old):
    new = old.parent / f"cccccccc-{NEW_ENV}.json"
    new.write_text("someone else's")
    before = old.read_bytes()
    proc = rename(old, *VERSIONS)
    assert_one_line_error(proc, "exists")
    assert new.read_text() == "someone else's" and old.read_bytes() == before
    assert sorted(os.listdir(old.parent)) == sorted(["machine.json", old.name, new.name])


@pytest.mark.parametrize("option, value", [("--python", "3.12.3"), ("--python", "/opt/torch/.venv/bin/python3"),
                                           ("--mlx", "v0.32.4"), ("--torch", "2.11.0 cu130"), ("--torch", "")])
def test_a_bad_version_is_one_line_and_nothing_changes(old, option, value):
    args = dict(zip(VERSIONS[::2], VERSIONS[1::2]), **{option: value})
    proc = rename(old, *[x for kv in args.items() for x in kv])
    assert_one_line_error(proc, option, quiet_stdout=True)
    assert sorted(os.listdir(old.parent)) == sorted(["machine.json", old.name])


def test_a_version_named_file_or_no_results_file_is_refused(old, tmp_path):
    assert rename(old, *VERSIONS).returncode == 0
    new = old.parent / f"cccccccc-{NEW_ENV}.json"
    assert_one_line_error(rename(new, "--python", "3.11", "--mlx", "0.1", "--torch", "2.0"), "not named by an interpreter path")
    assert new.exists()
    assert_one_line_error(rename(tmp_path / "missing.json", *VERSIONS), "no results file")
    broken = tmp_path / "box" / f"dddddddd-{PATH_ENV}.json"
    broken.write_text('{"version": 2, "commit_h')
    assert_one_line_error(rename(broken, *VERSIONS), "not a readable asv results file")
    assert broken.exists()
