"""tools.merge: results folders of two machines merged into one, shown side by side by
tools.tables and published by asv; conflicts and bad input stop it before any write."""

import datetime
import glob
import json
import os
import subprocess
import sys

import pytest
from asv import util
from asv.benchmarks import Benchmarks

from asv_fixtures import BACKENDS, current_version, write_results
from toolkit import ROOT
from tools import merge, tables
from tools.lock import LOCK_FILE

ARGMAX = "bench_reductions.Argmax.time_op"
SORT = "bench_reductions.Sort.time_op"
SOFTMAX = "bench_reductions.Softmax.time_op"
CASE = "dim=64x1024x128 axi=0"


def git_commit(rev):
    return subprocess.run(["git", "rev-parse", rev], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


# asv publish dates each result by its commit in the repository: use two real ones.
COMMITS = {"mac": git_commit("HEAD~1"), "linux": git_commit("HEAD")}


def source(folder, machine, timings, versions=None, started=None):
    """An asv results folder of one machine's run, with the benchmarks.json asv writes beside it."""
    write_results(str(folder), machine, COMMITS[machine], timings, started=started)
    entries = {name: {"name": name, "version": (versions or {}).get(name, current_version(name)), "type": "time", "unit": "seconds",
                      "param_names": ["case", "backend"],
                      "params": [[repr(c) for c in cases], [repr(b) for b in BACKENDS]]}
               for name, cases in timings.items()}
    util.write_json(str(folder / "benchmarks.json"), entries, api_version=Benchmarks.api_version)
    return folder


@pytest.fixture
def sources(tmp_path):
    mac = source(tmp_path / "mac-artifact", "mac", {
        ARGMAX: {CASE: {"mlx_gpu": 0.002, "cuda": 0.004}},
        SORT: {CASE: {"cuda": 0.010}},
    })
    linux = source(tmp_path / "linux-artifact", "linux", {
        ARGMAX: {CASE: {"cpu": 0.04, "cuda": 0.001}},
        SOFTMAX: {CASE: {"cuda": 0.003}},
    })
    return mac, linux


def snapshot(folder):
    """Every file under `folder` with its content and modification time (the writer lock aside)."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in set(files) - {LOCK_FILE}:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def run_merge(*args, capsys):
    status = merge.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def relative_files(folder):
    return sorted(os.path.relpath(os.path.join(root, name), folder)
                  for root, _, files in os.walk(folder) for name in files if name != LOCK_FILE)


def test_two_machines_merge_into_one_tree(sources, tmp_path, capsys):
    mac, linux = sources
    dest = tmp_path / "results"
    status, out, err = run_merge(mac, linux, "--into", dest, capsys=capsys)
    assert status == 0, err
    # every machine folder's files arrive byte for byte
    expected = sorted(set(relative_files(mac)) | set(relative_files(linux)))
    assert relative_files(dest) == expected
    for src in (mac, linux):
        for rel in relative_files(src):
            if rel != "benchmarks.json":
                assert (dest / rel).read_bytes() == (src / rel).read_bytes()
                assert os.stat(dest / rel).st_mode & 0o777 == os.stat(src / rel).st_mode & 0o777  # as asv writes
    assert out.splitlines() == [
        f"linux: 2 file(s) copied, 0 already there -> {dest / 'linux'}",
        f"mac: 2 file(s) copied, 0 already there -> {dest / 'mac'}",
    ]
    # benchmarks.json is the union, in asv's format (its api version under "version")
    assert json.loads((dest / "benchmarks.json").read_text())["version"] == Benchmarks.api_version
    merged = util.load_json(str(dest / "benchmarks.json"), api_version=Benchmarks.api_version)
    assert sorted(merged) == sorted([ARGMAX, SORT, SOFTMAX])

    status = tables.main(["--results", str(dest), "--machines", "mac,linux", "--backend", "cuda"])
    out, err = capsys.readouterr()
    assert status == 0, err
    header = next(line for line in out.splitlines() if line.startswith("| Operation"))
    assert [c.strip() for c in header.strip("|").split("|")] == ["Operation", "mac", "linux", "linux/mac speedup"]
    row = next(line for line in out.splitlines() if line.startswith(f"| Argmax / {CASE}"))
    assert [c.strip() for c in row.strip("|").split("|")][1:3] == ["4.00", "1.00"]


def test_merging_again_changes_nothing(sources, tmp_path, capsys):
    dest = tmp_path / "results"
    assert run_merge(*sources, "--into", dest, capsys=capsys)[0] == 0
    before = snapshot(dest)
    status, out, err = run_merge(*sources, "--into", dest, capsys=capsys)
    assert status == 0, err
    assert "mac: 0 file(s) copied, 2 already there" in out
    assert snapshot(dest) == before


def test_a_third_machine_joins_an_existing_tree(sources, tmp_path, capsys):
    mac, linux = sources
    dest = tmp_path / "results"
    assert run_merge(mac, "--into", dest, capsys=capsys)[0] == 0
    status, out, err = run_merge(linux, "--into", dest, capsys=capsys)
    assert status == 0, err
    assert sorted(os.listdir(dest)) == [LOCK_FILE, "benchmarks.json", "linux", "mac"]
    merged = util.load_json(str(dest / "benchmarks.json"), api_version=Benchmarks.api_version)
    assert sorted(merged) == sorted([ARGMAX, SORT, SOFTMAX])  # DEST's own entries are kept


def test_conflicting_results_file_needs_force(sources, tmp_path, capsys):
    dest = tmp_path / "results"
    assert run_merge(*sources, "--into", dest, capsys=capsys)[0] == 0
    # the same machine, commit and environment (so the same file name), other timings
    rerun = source(tmp_path / "mac-rerun", "mac", {ARGMAX: {CASE: {"cuda": 0.009}}, SORT: {CASE: {"cuda": 0.010}}},
                   started=datetime.datetime(2026, 11, 5, tzinfo=datetime.timezone.utc))
    results_file = next(name for name in os.listdir(rerun / "mac") if name != "machine.json")
    assert (dest / "mac" / results_file).exists()
    before = snapshot(dest)
    status, out, err = run_merge(rerun, "--into", dest, capsys=capsys)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and results_file in err and "--force" in err
    assert snapshot(dest) == before

    status, out, err = run_merge(rerun, "--into", dest, "--force", capsys=capsys)
    assert status == 0, err
    assert "mac: 0 file(s) copied, 1 already there, 1 replaced" in out
    assert (dest / "mac" / results_file).read_bytes() == (rerun / "mac" / results_file).read_bytes()
    assert (dest / "linux").exists()  # the other machine is left alone


def test_progress_file_of_an_interrupted_run_travels_with_its_results(sources, tmp_path, capsys):
    mac, _ = sources
    partial = source(tmp_path / "partial", "mac", {ARGMAX: {CASE: {"cuda": 0.005}}})
    results_file = next(name for name in os.listdir(partial / "mac") if name != "machine.json")
    progress = {ARGMAX: {"params": [[repr(CASE)], [repr(b) for b in BACKENDS]], "selected": [0, 6], "done": [6]}}
    (partial / "mac" / (results_file + ".progress")).write_text(json.dumps(progress))
    dest = tmp_path / "results"
    assert run_merge(partial, "--into", dest, capsys=capsys)[0] == 0
    assert (dest / "mac" / (results_file + ".progress")).read_text() == json.dumps(progress)
    # the finished run replaces the partial one: its progress file no longer applies
    status, _, err = run_merge(mac, "--into", dest, "--force", capsys=capsys)
    assert status == 0, err
    assert sorted(os.listdir(dest / "mac")) == sorted(["machine.json", results_file])


def test_force_takes_the_last_sources_benchmark_version(sources, tmp_path, capsys):
    mac, _ = sources
    newer = source(tmp_path / "newer", "linux", {ARGMAX: {CASE: {"cuda": 0.001}}}, versions={ARGMAX: "2"})
    dest = tmp_path / "results"
    status, _, err = run_merge(mac, newer, "--into", dest, "--force", capsys=capsys)
    assert status == 0, err
    merged = util.load_json(str(dest / "benchmarks.json"), api_version=Benchmarks.api_version)
    assert merged[ARGMAX]["version"] == "2" and merged[SORT]["version"] == current_version(SORT)


def test_asv_publish_builds_one_site_for_both_machines(sources, tmp_path, capsys):
    dest = tmp_path / "results"
    assert run_merge(*sources, "--into", dest, capsys=capsys)[0] == 0
    conf = {"version": 1, "project": "mlx-torch-bench", "repo": ROOT, "branches": ["main"], "dvcs": "git",
            "environment_type": "existing", "benchmark_dir": os.path.join(ROOT, "benchmarks"),
            "results_dir": str(dest), "html_dir": str(tmp_path / "html")}
    conf_path = tmp_path / "asv.conf.json"
    conf_path.write_text(json.dumps(conf))
    proc = subprocess.run([sys.executable, "-m", "asv", "publish", "--config", str(conf_path)], cwd=tmp_path,
                          env=dict(os.environ, HOME=str(tmp_path)), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "html" / "index.html").exists()
    graphs = glob.glob(str(tmp_path / "html" / "graphs" / "**" / "*.json"), recursive=True)
    for machine in ("mac", "linux"):
        assert any(f"machine-{machine}" in path and ARGMAX in path for path in graphs), machine


# --- bad input: one line, exit status 2, no traceback, nothing written -------------------

def broken_machine_file(tmp_path, mac, linux, dest):
    (linux / "linux" / "machine.json").write_text('{"machine": "linux", "version": ')
    return [mac, linux]


def other_benchmark_version(tmp_path, mac, linux, dest):
    return [mac, source(tmp_path / "newer", "linux", {ARGMAX: {CASE: {"cuda": 0.001}}}, versions={ARGMAX: "2"})]


def dest_as_source(tmp_path, mac, linux, dest):
    merge.main([str(mac), "--into", str(dest)])
    return [linux, dest]


def a_file(tmp_path, mac, linux, dest):
    (tmp_path / "results.zip").write_text("not a folder")
    return [mac, tmp_path / "results.zip"]


@pytest.mark.parametrize("make_sources, fragment", [
    (lambda tmp_path, mac, linux, dest: [mac, tmp_path / "missing"], "no source folder at"),
    (a_file, "results.zip is not a folder"),
    (broken_machine_file, "not a readable asv machine file"),
    (dest_as_source, "is the destination itself"),
    (other_benchmark_version, f"benchmark {ARGMAX} has version {current_version(ARGMAX)[:8]}"),
    (lambda tmp_path, mac, linux, dest: [mac, mac / "mac"], "is a machine folder"),
    (lambda tmp_path, mac, linux, dest: [], "name at least one results folder"),
], ids=["missing", "file", "broken-machine-json", "dest-as-source", "benchmark-version", "machine-folder",
        "no-sources"])
def test_bad_input(sources, tmp_path, make_sources, fragment):
    mac, linux = sources
    dest = tmp_path / "results"
    args = make_sources(tmp_path, mac, linux, dest)
    before = snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "tools.merge", *map(str, args), "--into", str(dest)], cwd=tmp_path,
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], proc.stderr
    assert snapshot(tmp_path) == before
