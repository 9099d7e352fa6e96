import os
import random
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# CPU machines check the small profile (same ops, ranks and axes); a GPU host can run the
# tests on the reference shapes with BENCH_PROFILE=reference.
os.environ.setdefault("BENCH_PROFILE", "small")

# The shared helpers and fixtures (repo_root, ...): tests/toolkit.py.
pytest_plugins = ["toolkit"]


def pytest_report_header(config):
    return [f"BENCH_PROFILE={os.environ['BENCH_PROFILE']}, input seed {SEED} (BENCH_SEED={SEED} reproduces it)"]


# Fresh inputs every run, reproducible on demand.
SEED = int(os.environ.get("BENCH_SEED") or random.SystemRandom().randrange(2**32))


@pytest.fixture
def seed():
    return SEED


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """The whole suite at the small profile through asv, once per test session: every
    backend (the absent ones skip with their reason), only the small profile's cases (the
    reference ones would each start a process just to skip)."""
    from benchmarks.harness import catalog, vocabulary
    from toolkit import asv_project
    from tools.suite import selection_regex

    env = dict(os.environ, BENCH_PROFILE="small")
    env.pop("BENCH_BACKENDS", None)
    project = asv_project(tmp_path_factory.mktemp("asv"), machine="ci-small", env=env)
    labels = sorted({label for labels in catalog.labels("small").values() for label in labels})
    chosen = selection_regex(vocabulary.BACKEND_NAMES, vocabulary.DTYPES, labels=labels)
    start = time.perf_counter()
    proc = project.asv(*project.run, "--bench", chosen, check=False, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(f"asv run of the small profile: {time.perf_counter() - start:.0f} s")
    return project
