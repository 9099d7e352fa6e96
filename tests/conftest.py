import os
import random
import sys

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
