"""The mps backend is skipped with a reason where torch reports MPS available but no MPS
device can run an op (GitHub's macos-14 runners): a real probe, not the availability flag."""

import threading

import pytest

torch = pytest.importorskip("torch")

from benchmarks.harness import frameworks  # noqa: E402


@pytest.fixture
def fresh_probe(monkeypatch):
    monkeypatch.setattr(frameworks, "_mps_probe", {})
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)


def test_reported_but_unusable_mps_is_skipped_with_the_op_error(fresh_probe, monkeypatch):
    def no_device(*args, device=None, **kwargs):
        raise RuntimeError("MPS backend out of memory (no device)\nsecond line")
    monkeypatch.setattr(torch, "ones", no_device)
    reason = frameworks.BACKENDS["mps"].unavailable_reason()
    assert reason.startswith("a 4-element op on MPS raised RuntimeError: MPS backend out of memory (no device)")
    assert "second line" not in reason and "is_available() is True" in reason
    assert frameworks.availability(["mps", "cpu"]) == {"mps": reason, "cpu": None}


def test_a_hanging_mps_op_is_a_skip_after_the_timeout(fresh_probe, monkeypatch):
    release = threading.Event()

    def hang(*args, **kwargs):
        release.wait()
        raise RuntimeError("released")
    monkeypatch.setattr(torch, "ones", hang)
    try:
        reason = frameworks.mps_probe_reason(timeout=0.05)
    finally:
        release.set()
    assert reason.startswith("a 4-element op on MPS did not finish within 0.05 s")
    # once per process: the answer is kept, not probed again
    assert frameworks.mps_probe_reason(timeout=0.05) == reason


def test_a_working_mps_op_makes_the_backend_available(fresh_probe, monkeypatch):
    real_ones = torch.ones
    monkeypatch.setattr(torch, "ones", lambda *a, device=None, **k: real_ones(*a, **k))
    assert frameworks.BACKENDS["mps"].unavailable_reason() is None


def test_cpu_backends_never_probe_mps(fresh_probe, monkeypatch):
    monkeypatch.setattr(frameworks, "mps_probe_reason", lambda *a, **k: pytest.fail("probed MPS for a CPU backend"))
    assert frameworks.BACKENDS["cpu"].unavailable_reason() is None
