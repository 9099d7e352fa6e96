import json
import os
import random
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# CPU machines check the small profile (same ops, ranks and axes); a GPU host can run the
# tests on the reference shapes with BENCH_PROFILE=reference.
os.environ.setdefault("BENCH_PROFILE", "small")


def pytest_report_header(config):
    return [f"BENCH_PROFILE={os.environ['BENCH_PROFILE']}, input seed {SEED} (BENCH_SEED={SEED} reproduces it)"]


# Fresh inputs every run, reproducible on demand.
SEED = int(os.environ.get("BENCH_SEED") or random.SystemRandom().randrange(2**32))


@pytest.fixture
def seed():
    return SEED


def asv(*args, conf, env):
    subprocess.run([sys.executable, "-m", "asv", *args, "--config", str(conf)], env=env, check=True, cwd=ROOT)


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """The whole suite at the small profile through asv, once per test session."""
    from asv import util

    from benchmarks import backends

    tmp = tmp_path_factory.mktemp("asv")
    conf = util.load_json(os.path.join(ROOT, "asv.conf.json"), js_comments=True)
    conf.update(repo=ROOT, benchmark_dir=os.path.join(ROOT, "benchmarks"),
                results_dir=str(tmp / "results"), html_dir=str(tmp / "html"), env_dir=str(tmp / "env"))
    conf_path = tmp / "asv.conf.json"
    conf_path.write_text(json.dumps(conf))
    # A private HOME keeps asv's machine file out of the user's.
    env = dict(os.environ, BENCH_PROFILE="small", HOME=str(tmp))
    env.pop(backends.SELECT_ENV, None)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    asv("machine", "--yes", "--machine", "ci-small", conf=conf_path, env=env)
    start = time.perf_counter()
    asv("run", "--python=same", "--set-commit-hash", commit, "--machine", "ci-small", conf=conf_path, env=env)
    print(f"asv run of the small profile: {time.perf_counter() - start:.0f} s")
    return SimpleNamespace(results=tmp / "results", commit=commit, conf=conf_path, env=env, html=tmp / "html")
