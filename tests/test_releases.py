"""Released versions: the configs asv reads, and `tools.releases record` filing the mlx
installed here under its tag's commit of a (local, offline) MLX clone."""

import importlib.metadata
import os
import subprocess
import sys

import pytest
from asv import config, util

from toolkit import ROOT
from tools import results as results_tool

CONFIGS = ["asv.conf.json", "asv.releases.conf.json", "asv.mlx.conf.json"]


def load(name):
    return util.load_json(os.path.join(ROOT, name), js_comments=True)


@pytest.mark.parametrize("name", CONFIGS)
def test_configs_have_only_keys_asv_knows(name):
    known = set(vars(config.Config())) | {"version"}
    assert set(load(name)) - known == set()


def test_release_environments_pair_each_mlx_with_its_backend_package():
    conf = load("asv.releases.conf.json")
    assert conf["build_command"] == conf["install_command"] == []  # nothing of this repo is built
    versions = [entry["req"]["mlx"] for entry in conf["include"]]
    assert len(set(versions)) == len(versions) >= 2
    for entry in conf["include"]:
        assert entry["req"]["mlx-cpu"] == entry["req"]["mlx"] and entry["req"]["torch"]
    from asv import environment

    names = [e.name for e in environment.get_environments(config.Config.from_json(conf), None)]
    assert len(names) == len(versions) and all(f"mlx{v}" in n for v, n in zip(versions, names))


def test_mlx_history_config_builds_mlx_from_its_public_repository():
    conf = load("asv.mlx.conf.json")
    assert conf["repo"] == "https://github.com/ml-explore/mlx.git"
    assert "pip wheel" in conf["build_command"][0] and "{build_cache_dir}" in conf["build_command"][0]
    assert "CMAKE_ARGS" in conf["matrix"]["env"]
    assert conf["results_dir"] != load("asv.conf.json")["results_dir"]  # another project's history


def git(*args, cwd):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


def releases(*args, home):
    return subprocess.run([sys.executable, "-m", "tools.releases", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, HOME=str(home)))


@pytest.fixture
def mlx_clone(tmp_path):
    """A stand-in for a clone of MLX: the installed version's tag, then one more commit."""
    try:
        version = importlib.metadata.version("mlx")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("mlx is not installed")
    repo = tmp_path / "mlx"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", "release", cwd=repo)
    git("tag", f"v{version}", cwd=repo)
    tagged = git("rev-parse", "HEAD", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", "after the release", cwd=repo)
    return repo, version, tagged


def test_record_files_the_installed_release_under_its_tag(mlx_clone, tmp_path):
    repo, version, tagged = mlx_clone
    proc = releases("record", "--mlx-repo", repo, "--profile", "small", "--backends", "mlx_cpu,cpu",
                    "--dtypes", "float32", "-b", "ReLU", "--machine", "box", "--results", tmp_path / "results",
                    home=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"mlx {version}: tag v{version} = {tagged[:8]}" in proc.stdout
    selection = results_tool.select(str(tmp_path / "results"), "box")
    assert selection.commit == tagged  # filed under the release's commit, not the clone's HEAD
    df = results_tool.frame(selection)
    relu = df[(df["op"] == "ReLU") & df["backend"].isin(["mlx_cpu", "cpu"]) & (df["status"] != "skipped")]
    # 2 small cases x 2 backends x the 2 default measures (not memory, nor the reference cases of the grid)
    assert len(relu) == 8 and (relu["value"] > 0).all() and set(relu["method"]) == {"time_op", "time_device"}


def test_bad_input_is_one_line(mlx_clone, tmp_path):
    repo, version, _ = mlx_clone
    for args, fragment in [
        (["compare", "--mlx", "latest"], "'latest' is not a release number"),
        (["record", "--mlx-repo", tmp_path / "nowhere"], "is not a git clone of MLX"),
        (["record", "--mlx-repo", repo, "--mlx", "0.0.1", "--results", tmp_path / "r"], "has no tag v0.0.1"),
        (["compare", "--mlx", "0.32.4", "--backends", "tpu"], "unknown backend(s) tpu"),
    ]:
        proc = releases(*args, home=tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and fragment in proc.stderr, proc.stderr
    assert not (tmp_path / "r").exists()
