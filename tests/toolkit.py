"""What the tests share: the project root, running a tool, asv or git in a process of its
own, a private asv project (config, HOME, machine) over a temporary results folder, and the
checks every bad-input test makes. Registered as a plugin by conftest.py, so its fixtures
are available to every test."""

import json
import os
import pathlib
import subprocess
import sys
from types import SimpleNamespace

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tool(name, *args, cwd=ROOT, env=None, timeout=300, **kwargs):
    """`python -m tools.NAME ARGS` from the project root, output captured."""
    return run_module(f"tools.{name}", *args, cwd=cwd, env=env, timeout=timeout, **kwargs)


def run_module(module, *args, cwd=ROOT, env=None, timeout=300, check=False, **kwargs):
    """`python -m MODULE ARGS` with the project importable, output captured as text."""
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=check, env=dict(os.environ if env is None else env, PYTHONPATH=ROOT),
                          **kwargs)


def run_python(code, *args, cwd=ROOT, env=None, timeout=300, check=True):
    """`python -c CODE ARGS`, output captured as text."""
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=check, env=dict(os.environ if env is None else env, PYTHONPATH=ROOT))


def git(*args, cwd=ROOT):
    """A git command's output (a throwaway identity for commits)."""
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *map(str, args)], cwd=cwd,
                          check=True, capture_output=True, text=True).stdout.strip()


def commit_of(rev, cwd=ROOT):
    return git("rev-parse", rev, cwd=cwd)


def asv_project(folder, machine="box", env=None, **conf):
    """A private asv project under `folder`: the project's asv.conf.json with its results,
    html and env folders moved there (and `conf`'s changes), a HOME of its own (asv's machine
    file stays out of the user's) and `machine` recorded. `.asv(*args)` runs asv on it;
    `.run` is `asv run` of this checkout's HEAD on the machine."""
    from asv import util

    folder = pathlib.Path(folder)
    base = util.load_json(os.path.join(ROOT, "asv.conf.json"), js_comments=True)
    base.update(repo=ROOT, benchmark_dir=os.path.join(ROOT, "benchmarks"), results_dir=str(folder / "results"),
                html_dir=str(folder / "html"), env_dir=str(folder / "env"))
    base.update(conf)
    config = folder / "asv.conf.json"
    config.write_text(json.dumps(base))
    env = dict(os.environ if env is None else env, HOME=str(folder))
    project = SimpleNamespace(conf=config, env=env, results=folder / "results", html=folder / "html",
                              machine=machine, commit=commit_of("HEAD"))

    def asv(*args, check=True, timeout=900, **kwargs):
        return run_module("asv", *args, "--config", config, env=project.env, check=check, timeout=timeout, **kwargs)

    project.asv = asv
    project.run = ["run", "--python=same", "--set-commit-hash", project.commit, "--machine", machine]
    asv("machine", "--yes", "--machine", machine)
    return project


def assert_one_line_error(proc, *fragments, quiet_stdout=False):
    """Bad input: exit status 2, one `error: ...` line on stderr naming `fragments`, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    if quiet_stdout:
        assert proc.stdout == ""


def snapshot(folder):
    """Every file under `folder` with its size: what a refused command must leave as it was."""
    return sorted((os.path.relpath(os.path.join(d, p), folder), os.path.getsize(os.path.join(d, p)))
                  for d, _, files in os.walk(folder) for p in files)


@pytest.fixture(scope="session")
def repo_root():
    return pathlib.Path(ROOT)
