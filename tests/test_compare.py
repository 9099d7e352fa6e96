"""tools.compare, the regression gate, on results written through asv's own API: the
screen's verdicts, exit codes, benchmark versions, newly failing cases, git refs, the JSON
report and bad input. The decision's statistics are tested in test_gate.py and the
confirm pass end to end in test_gate_end_to_end.py."""

import json

import pytest
from asv.results import Results

from asv_fixtures import write_results
from toolkit import assert_one_line_error, commit_of, run_tool

DEVICE = "bench_activations.ReLU.time_device"
LATENCY = "bench_activations.ReLU.time_op"
CASES = ("dim=128x16x1024", "dim=64x128x1024")
BASE, HEAD = "a" * 40, "b" * 40


def results(folder, commit, device, latency=None, env="existing-py", extra=None):
    """One results file: ReLU's two cases on cuda at `device` (and `latency`) seconds."""
    timings = {DEVICE: {case: {"cuda": t} for case, t in zip(CASES, device)}}
    if latency:
        timings[LATENCY] = {case: {"cuda": t} for case, t in zip(CASES, latency)}
    timings.update(extra or {})
    return write_results(str(folder), "box", commit, timings, env=env)


def gate(folder, *args):
    return run_tool("compare", *args, "--results", folder, "--machine", "box")


def test_a_slower_case_fails_the_screen_and_leads_the_report(tmp_path):
    results(tmp_path, BASE, [1e-4, 2e-4], latency=[2e-4, 3e-4])
    results(tmp_path, HEAD, [3e-4, 2e-4], latency=[6e-4, 3e-4])
    proc = gate(tmp_path, "aaaaaaaa", "bbbbbbbb")
    assert proc.returncode == 1, proc.stderr
    first, *rest = proc.stdout.splitlines()
    assert first.startswith("REGRESSION: 1 case(s) slower")
    row = next(line for line in rest if line.startswith("| ReLU / dim=128x16x1024 on cuda"))
    assert "| 3.000 " in row and "| 3.00 " in row and row.rstrip(" |").endswith("suspect")  # latency beside


def test_an_unchanged_pair_passes(tmp_path):
    results(tmp_path, BASE, [1e-4, 2e-4])
    results(tmp_path, HEAD, [1.01e-4, 1.99e-4])
    proc = gate(tmp_path, "aaaaaaaa", "bbbbbbbb")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("no regression: 0 case(s) slower")


def test_a_faster_case_is_reported_not_failed(tmp_path):
    results(tmp_path, BASE, [3e-4, 2e-4])
    results(tmp_path, HEAD, [1e-4, 2e-4])
    proc = gate(tmp_path, "aaaaaaaa", "bbbbbbbb", "--confirm", "8")
    assert proc.returncode == 0
    assert "faster, unconfirmed" in proc.stdout


def test_a_changed_benchmark_is_not_comparable(tmp_path):
    results(tmp_path, BASE, [1e-4, 2e-4])
    head = results(tmp_path, HEAD, [9e-4, 9e-4])
    head.benchmark_version[DEVICE] = "another-declaration"
    head.save(str(tmp_path))
    proc = gate(tmp_path, "aaaaaaaa", "bbbbbbbb")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 benchmark changed, not comparable" in proc.stdout and "Benchmark changed, not comparable (2): ReLU" in proc.stdout


def test_a_newly_failing_case_fails_the_gate(tmp_path):
    results(tmp_path, BASE, [1e-4, 2e-4])
    results(tmp_path, HEAD, [None, 2e-4])
    proc = gate(tmp_path, "aaaaaaaa", "bbbbbbbb")
    assert proc.returncode == 1
    assert "1 newly failing" in proc.stdout and "- ReLU / dim=128x16x1024 on cuda" in proc.stdout


def test_tracked_values_are_not_gated(tmp_path):
    """A zero flag or a higher bandwidth is no regression: only timings are compared."""
    for commit, flag, bandwidth in ((BASE, 0.0, 100.0), (HEAD, 0.0, 300.0)):
        write_results(str(tmp_path), "box", commit, {DEVICE: {CASES[0]: {"cuda": 1e-4}}},
                      settings={"bench_settings.Float32Matmul.track_tf32_allowed": {"cuda": flag},
                                "bench_peaks.Peak.track_copy_bandwidth": {"cuda": bandwidth}})
    proc = gate(tmp_path, "aaaaaaaa", "bbbbbbbb")
    assert proc.returncode == 0 and "1 compared on device time" in proc.stdout and "Peak" not in proc.stdout


def test_git_refs_name_commits(tmp_path):
    results(tmp_path, commit_of("HEAD~1"), [1e-4, 2e-4])
    results(tmp_path, commit_of("HEAD"), [3e-4, 2e-4])
    proc = gate(tmp_path, "HEAD~1", "HEAD")
    assert proc.returncode == 1, proc.stderr
    assert f"head: box {commit_of('HEAD')[:8]}" in proc.stdout


def test_json_report_for_ci_bots(tmp_path):
    results(tmp_path, BASE, [1e-4, 2e-4])
    results(tmp_path, HEAD, [3e-4, 2e-4])
    report = tmp_path / "gate.json"
    assert gate(tmp_path, "aaaaaaaa", "bbbbbbbb", "--json", report).returncode == 1
    data = json.loads(report.read_text())
    assert data["verdict"] == "regression" and data["measure"] == "device"
    assert [(c["case"], c["backend"]) for c in data["regressions"]] == [(CASES[0], "cuda")]
    assert data["regressions"][0]["ratio"] == pytest.approx(3.0)


@pytest.mark.parametrize("args, fragment", [
    (["aaaaaaaa", "ffffff"], "no results for commit 'ffffff'"),
    (["aaaaaaaa", "bbbbbbbb", "--threshold", "0.9"], "--threshold"),
    (["aaaaaaaa", "bbbbbbbb", "--threshold", "inf"], "--threshold"),
    (["aaaaaaaa", "bbbbbbbb", "--alpha", "1.5"], "--alpha"),
    (["aaaaaaaa", "bbbbbbbb", "--confirm", "2"], "--confirm"),
    (["aaaaaaaa", "bbbbbbbb", "--confirm-seconds", "60"], "give --confirm ROUNDS too"),
    (["aaaaaaaa", "bbbbbbbb", "--confirm", "8", "--confirm-seconds", "0"], "--confirm-seconds"),
    (["aaaaaaaa", "bbbbbbbb", "--confirm", "8", "--confirm-seconds", "nan"], "--confirm-seconds"),
    (["aaaaaaaa", "bbbbbbbb", "--head-var", "PLANT=1"], "BENCH_NAME=VALUE"),
    (["aaaaaaaa", "bbbbbbbb", "--head-var", "BENCH_PLANT=2:"], "BENCH_PLANT"),
    (["aaaaaaaa", "aaaaaaaa"], "same results file"),
])
def test_bad_input_is_one_line(tmp_path, args, fragment):
    results(tmp_path, BASE, [1e-4, 2e-4])
    results(tmp_path, HEAD, [3e-4, 2e-4])
    assert_one_line_error(gate(tmp_path, *args), fragment)


def test_confirm_across_environments_needs_their_interpreters(tmp_path):
    results(tmp_path, BASE, [1e-4, 2e-4], env="env-a")
    results(tmp_path, BASE, [3e-4, 2e-4], env="env-b")
    proc = gate(tmp_path, "aaaaaaaa", "aaaaaaaa", "--base-env", "env-a", "--head-env", "env-b", "--confirm", "8")
    assert_one_line_error(proc, "different environments", "--base-python")


def test_a_suspect_that_read_faster_is_measured_again_and_caught_when_slower(monkeypatch):
    import itertools
    import math
    import types

    import numpy as np

    from tools import compare, remeasure
    from tools.gate import Decision

    masked, faster, unsure = (("ReLU", f"dim={n}", "cpu", "float32") for n in (1, 2, 3))
    # head / base per round; every one read 0.8 at the screen
    truth = {masked: itertools.repeat(1.25), faster: itertools.repeat(0.8), unsure: itertools.cycle([1.05, 0.97])}
    rows = [{"key": k, "decision": Decision("suspect", 0.8, math.nan, math.nan, math.nan, 1)} for k in truth]
    jitter = np.random.default_rng(0)
    rounds = []

    def measure(keys, method, settings=None, python=None):
        rounds.append((settings["SIDE"], sorted(keys)))
        scale = (lambda k: next(truth[k])) if settings["SIDE"] == "head" else (lambda k: 1.0)
        return {k: 1e-4 * scale(k) * (1 + 0.005 * jitter.standard_normal()) for k in keys}

    monkeypatch.setattr(remeasure, "measure", measure)
    args = types.SimpleNamespace(confirm=8, confirm_seconds=None, threshold=1.02, alpha=0.0005,
                                 base_var=[("SIDE", "base")],
                                 head_var=[("SIDE", "head")], base_python=None, head_python=None)
    compare.confirm(rows, args)
    verdicts = {r["key"]: r["decision"].verdict for r in rows}
    assert verdicts[masked] == "slower" and verdicts[faster] == "faster, unconfirmed"
    assert verdicts[unsure] in ("same", "unsure") and rows[2]["decision"].ratio > 0.9  # the confirm's, not the screen's
    # two rounds: its head read faster in both, and 4 reversals rule out the level in 8 rounds
    assert sum(faster in keys for side, keys in rounds) == 4


def test_a_spent_confirm_budget_leaves_the_suspect_undecided_and_says_so(tmp_path, monkeypatch, capsys):
    """Each confirm process costs 10 s on a fake clock: after round 1 (20 s) a second round
    would end past 25 s, so the 3x suspect is neither passed nor failed, in words and JSON."""
    import types

    from tools import compare, gate as gate_module, remeasure

    results(tmp_path, BASE, [1e-4, 2e-4])
    results(tmp_path, HEAD, [3e-4, 2e-4])
    now, sides = [0.0], []
    monkeypatch.setattr(gate_module, "time", types.SimpleNamespace(monotonic=lambda: now[0]))

    def measure(keys, method, settings=None, python=None):
        now[0] += 10 * len(keys)
        sides.append("head" if len(sides) % 2 else "base")
        return {k: 3e-4 if sides[-1] == "head" else 1e-4 for k in keys}

    monkeypatch.setattr(remeasure, "measure", measure)
    report = tmp_path / "gate.json"
    code = compare.main(["aaaaaaaa", "bbbbbbbb", "--results", str(tmp_path), "--machine", "box", "--confirm", "8",
                         "--confirm-seconds", "25", "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 0 and sides == ["base", "head"]
    assert out.startswith("undecided: 0 case(s) slower")
    assert "stopped by --confirm-seconds 25: 1 suspect(s) undecided" in out
    data = json.loads(report.read_text())
    assert data["verdict"] == "undecided" and data["confirm_seconds"] == 25
    assert [c["verdict"] for c in data["cases"] if c["case"] == "dim=128x16x1024"] == ["undecided"]
