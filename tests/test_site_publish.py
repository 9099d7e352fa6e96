"""tools.site publish: works on a fresh clone with the committed results, never deletes
files it did not make without --force, and swaps a complete site in or leaves the old one."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from asv_fixtures import write_results
from tools import site
from tools.site import MANIFEST
from toolkit import ROOT, assert_one_line_error, commit_of, git, run_tool, snapshot


def points(graph_file):
    """Data points with a value in one of asv's graph files."""
    data = json.loads(graph_file.read_text())
    return [p for p in data if p[1] is not None and (not isinstance(p[1], list) or any(v is not None for v in p[1]))]


def test_fresh_clone_publishes_the_committed_h100_graphs(tmp_path):
    clone = tmp_path / "clone"
    git("clone", "-q", ROOT, clone, cwd=tmp_path)
    proc = run_tool("site", "publish", "--offline", cwd=clone, env=dict(os.environ, HOME=str(tmp_path)))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    graphs = clone / "html" / "graphs"  # asv nests them by every parameter (arch-..., branch-..., machine-...)
    for machine, benchmark in (("h100", "bench_reductions.Softmax.time_device"),
                               ("h100-fp32", "bench_settings.Float32Matmul.track_relative_error")):
        found = [f for f in graphs.rglob(f"{benchmark}.json") if f"machine-{machine}" in f.parts]
        assert any(points(f) for f in found), (machine, benchmark)
    assert git("status", "--porcelain", cwd=clone) == ""  # the clone's files are as committed


@pytest.fixture
def project(tmp_path):
    """A results tree of one machine with the committed benchmarks table, and its config."""
    results = tmp_path / "results"
    write_results(str(results), "box", commit_of("HEAD"),
                  {"bench_reductions.Argmax.time_op": {"dim=64x1024x128 axi=0": {"cpu": 1e-3}}})
    shutil.copy(os.path.join(ROOT, "results", "benchmarks.json"), results / "benchmarks.json")
    conf = tmp_path / "asv.conf.json"
    conf.write_text(json.dumps({"version": 1, "project": "t", "repo": ROOT, "branches": ["main"],
                                "environment_type": "existing", "benchmark_dir": os.path.join(ROOT, "benchmarks"),
                                "results_dir": str(results), "html_dir": str(tmp_path / "html")}))
    return conf, tmp_path / "html"


def publish(conf, *args):
    return run_tool("site", "publish", "--config", conf, *args, cwd=conf.parent)


def test_files_it_did_not_make_need_force(project):
    conf, html = project
    html.mkdir()
    (html / "notes.txt").write_text("mine")
    assert_one_line_error(publish(conf), "did not make", "notes.txt", "--force")
    assert (html / "notes.txt").read_text() == "mine"
    assert publish(conf).returncode == 2
    proc = publish(conf, "--force")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (html / "index.html").exists() and not (html / "notes.txt").exists()
    proc = publish(conf)  # only its own files now: replaced without --force
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_a_failed_publish_leaves_the_old_site_and_no_scratch(project):
    conf, html = project
    assert publish(conf).returncode == 0
    before = snapshot(html)
    # A table asv publish itself rejects, after it wrote graphs into the new folder.
    table = json.loads((conf.parent / "results" / "benchmarks.json").read_text())
    table["bench_reductions.Argmax.time_op"]["param_names"] = ["case"]
    (conf.parent / "results" / "benchmarks.json").write_text(json.dumps(table))
    proc = publish(conf)
    assert proc.returncode == 2 and "unchanged" in proc.stderr, proc.stderr[-2000:]
    assert snapshot(html) == before
    assert [p for p in os.listdir(conf.parent) if p.startswith(".site-")] == []


def assert_complete_site(html):
    """html_dir holds a whole published site: its pages, graphs and a readable index."""
    assert (html / "index.html").is_file(), "no index.html"
    assert (html / "graphs").is_dir(), "no graphs folder"
    assert "benchmarks" in json.loads((html / "index.json").read_text())
    assert json.loads((html / MANIFEST).read_text())


def test_a_publish_killed_at_any_instant_leaves_a_complete_site(project):
    conf, html = project
    start = time.monotonic()
    assert publish(conf).returncode == 0
    took = time.monotonic() - start
    rng = random.Random(3)
    for _ in range(24):
        proc = subprocess.Popen([sys.executable, "-m", "tools.site", "publish", "--config", str(conf)],
                                cwd=conf.parent, env=dict(os.environ, PYTHONPATH=ROOT), start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.1) * took)  # most kills late, where the new site is swapped in
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert_complete_site(html)


def two_sites(tmp_path):
    old, fresh = tmp_path / "html", tmp_path / "fresh"
    for folder, text in ((old, "old"), (fresh, "new")):
        (folder / "graphs").mkdir(parents=True)
        (folder / "index.html").write_text(text)
    (tmp_path / "scratch").mkdir()
    return [str(p) for p in (fresh, old, tmp_path / "scratch")]


def test_the_swap_is_one_step(tmp_path, monkeypatch):
    # A publisher killed after the swap's first rename call: the site folder is still whole.
    renames = []

    def rename_then_die(*args):
        renames.append(args)
        if len(renames) > 1:
            raise SystemExit("killed")
        os.replace(*args)

    monkeypatch.setattr(os, "rename", rename_then_die)
    try:
        site.swap_in(*two_sites(tmp_path))
    except SystemExit:
        pass
    html = tmp_path / "html"
    assert (html / "graphs").is_dir() and (html / "index.html").read_text() in ("old", "new")


def test_the_swap_puts_the_new_site_in_and_the_old_one_aside(tmp_path):
    fresh, html, scratch = two_sites(tmp_path)
    site.swap_in(fresh, html, scratch)
    assert open(os.path.join(html, "index.html")).read() == "new"
    aside = [os.path.join(folder, "index.html") for folder in (fresh, os.path.join(scratch, "previous"))]
    assert [open(p).read() for p in aside if os.path.exists(p)] == ["old"]


def test_runs_that_did_not_record_machine_details_stay_in_the_machine_series(tmp_path):
    from asv.results import Results
    timings = {"bench_reductions.Argmax.time_op": {"dim=64x1024x128 axi=0": {"cpu": 1e-3}}}
    old = write_results(str(tmp_path), "box", "a" * 40, timings)
    new = write_results(str(tmp_path), "box", "b" * 40, timings)
    other = write_results(str(tmp_path), "rig", "b" * 40, timings)
    for run, details in ((new, {"arch": "x86_64", "cpu": "Xeon", "ram": "1"}),
                         (other, {"arch": "aarch64", "cpu": "M3", "ram": "2"})):
        run._params.update(details)
        run.save(str(tmp_path))
    site.one_series_per_machine(str(tmp_path))
    params = {(m, c): Results.load(str(next((tmp_path / m).glob(f"{c * 8}*.json"))))._params
              for m, c in (("box", "a"), ("box", "b"), ("rig", "b"))}
    assert params[("box", "a")] == params[("box", "b")] == {"machine": "box", "python": "3.11"}
    assert params[("rig", "b")]["cpu"] == "M3"  # every run of it recorded them: kept
