"""Every tools command on bad input: one line saying what is wrong and what to do, exit
status 2, no traceback, and nothing written."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from toolkit import ROOT

CORPUS = os.path.join(ROOT, "tests", "corpus")
MACHINE = {"version": 1, "machine": "box", "arch": "x86_64", "cpu": "test", "num_cpu": "2", "os": "Linux", "ram": "1"}


def results_tree(tmp_path, results_file="valid.json", machine_file=None):
    folder = tmp_path / "results" / "box"
    folder.mkdir(parents=True)
    if machine_file:
        shutil.copy(os.path.join(CORPUS, machine_file), folder / "machine.json")
    else:
        (folder / "machine.json").write_text(json.dumps(MACHINE))
    shutil.copy(os.path.join(CORPUS, results_file), folder / ("a" * 8 + "-existing-py.json"))
    return tmp_path / "results"


def tool(*args, cwd):
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def snapshot(folder):
    return sorted((p, os.path.getsize(os.path.join(d, p))) for d, _, files in os.walk(folder) for p in files)


@pytest.mark.parametrize("results_file, fragment", [
    ("truncated.json", "not a readable asv results file"),
    ("not_json.json", "not a readable asv results file"),
    ("older_asv_format.json", "old file format"),
    ("newer_asv_format.json", "newer than what this version of asv understands"),
    ("missing_results_key.json", "missing key"),
    ("other_suite.json", "holds no results of this suite"),
    ("malformed_entry.json", "params is not a list of lists of strings"),
])
def test_bad_results_file(tmp_path, results_file, fragment):
    results = results_tree(tmp_path, results_file)
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(tmp_path)
    proc = tool("tools.tables", "--results", str(results), "--csv", str(out), "--markdown", str(out / "t.md"), cwd=tmp_path)
    assert_one_line_error(proc, fragment)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("machine_file, fragment", [
    ("machine_json_broken.json", "not a readable asv machine file"),
    ("machine_json_other_name.json", "names machine 'elsewhere'"),
])
def test_bad_machine_file(tmp_path, machine_file, fragment):
    proc = tool("tools.tables", "--results", str(results_tree(tmp_path, machine_file=machine_file)), cwd=tmp_path)
    assert_one_line_error(proc, fragment)


def test_empty_and_missing_results_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(tool("tools.tables", "--results", str(tmp_path / "empty"), cwd=tmp_path), "no asv machine folders")
    assert_one_line_error(tool("tools.tables", "--results", str(tmp_path / "none"), cwd=tmp_path), "no results folder")
    (tmp_path / "file").write_text("x")
    assert_one_line_error(tool("tools.tables", "--results", str(tmp_path / "file"), cwd=tmp_path), "not a folder")


@pytest.mark.parametrize("args, fragment", [
    (["--machine", "nope"], "unknown machine 'nope'"),
    (["--commit", "ffff"], "no results for commit 'ffff'"),
    (["--env", "conda-py3.9"], "no results for environment 'conda-py3.9'"),
    (["--backends", "mlx_gpu,tpu"], "unknown backend(s) tpu"),
    (["--force"], "--force only applies"),
])
def test_unknown_names_and_conflicting_options(tmp_path, args, fragment):
    proc = tool("tools.tables", "--results", str(results_tree(tmp_path)), *args, cwd=tmp_path)
    assert_one_line_error(proc, fragment)


def test_outputs_never_overwrite_and_are_all_or_nothing(tmp_path):
    results = results_tree(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "average.csv").write_text("precious")
    proc = tool("tools.tables", "--results", str(results), "--csv", str(out), "--markdown", str(out / "t.md"), cwd=tmp_path)
    assert_one_line_error(proc, "average.csv exists", "--force")
    assert sorted(os.listdir(out)) == ["average.csv"] and (out / "average.csv").read_text() == "precious"
    proc = tool("tools.tables", "--results", str(results), "--markdown", str(tmp_path / "no" / "t.md"), cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "no" / "t.md").read_text() == proc.stdout  # folder created
    proc = tool("tools.tables", "--results", str(results), "--csv", str(out), "--markdown", str(out / "t.md"), "--force", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ["average.csv", "detailed.csv", "t.md"]  # no temporary files left


def test_missing_config(tmp_path):
    assert_one_line_error(tool("tools.tables", cwd=tmp_path), "cannot read asv config")
