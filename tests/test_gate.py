"""The gate's decision on synthetic per-process figures whose truth is known: how often an
unchanged case is flagged (false alarms) and a slowed one caught (detection)."""

import numpy as np
import pytest
from scipy import stats

from tools import gate

SEED = 20261127


def process_figures(rng, size, shift=1.0, spread=0.02, mode_share=0.0, mode_gap=0.15):
    """Per-process medians of a case: lognormal jitter, and with `mode_share` a second,
    slower mode (as MLX's placement- and process-dependent kernels show on the H100)."""
    figures = np.exp(rng.normal(0, spread, size)) * shift
    slow = rng.random(size) < mode_share
    return figures * np.where(slow, 1 + mode_gap, 1.0)


def gate_case(rng, shift, rounds=gate.DEFAULT_ROUNDS, **noise):
    """The whole gate on one case: a one-process screen, then, for a slower suspect, the
    confirm pass (tools/gate.confirm) measuring fresh synthetic processes."""
    first = gate.decide(process_figures(rng, 1, **noise), process_figures(rng, 1, shift, **noise))
    if first.verdict != "suspect" or first.ratio < 1:
        return first

    def measure(side, keys):
        return {key: process_figures(rng, 1, shift if side == "head" else 1.0, **noise)[0] for key in keys}

    decision, _, _ = gate.confirm(["case"], measure, rounds)["case"]
    return decision


@pytest.mark.parametrize("noise", [dict(spread=0.01), dict(spread=0.03), dict(spread=0.02, mode_share=0.3)],
                         ids=["quiet", "noisy", "two-modes"])
def test_identical_runs_flag_nothing(noise):
    """A/A pairs of 538 cases (the H100 set's size): fewer than one false alarm in five
    pairs, against 90 flagged in one pair by the gate this replaced. (Each suspect is
    flagged with probability below alpha: about 0.1 expected a pair where a third of the
    cases are suspects.)"""
    rng = np.random.default_rng(SEED)
    pairs = 40
    flagged = sum(gate_case(rng, 1.0, **noise).verdict == "slower" for _ in range(pairs * 538))
    assert flagged < pairs / 5, f"{flagged} false alarms in {pairs} A/A pairs of 538 cases"


@pytest.mark.parametrize("shift, spread, least", [(1.10, 0.02, 0.95), (1.25, 0.03, 0.99), (1.05, 0.01, 0.80), (1.05, 0.02, 0.80)])
def test_planted_slowdowns_are_caught(shift, spread, least):
    rng = np.random.default_rng(SEED)
    caught = np.mean([gate_case(rng, shift, spread=spread).verdict == "slower" for _ in range(2000)])
    assert caught >= least, f"{shift:.2f}x caught in {caught:.1%} of cases"


def test_confirm_stops_early_for_suspects_that_do_not_hold():
    """An unchanged suspect costs about 13 processes of 24 (it stops once its reversals are
    more than 12 rounds can outweigh, and seldom reads close enough for a second look), a
    clear slowdown all 24 of the first look."""
    rng = np.random.default_rng(SEED)
    calls = {f"same{i}": 0 for i in range(200)} | {"slower": 0}

    def measure(side, keys):
        for key in keys:
            calls[key] += 1
        return {key: process_figures(rng, 1, 1.2 if key == "slower" and side == "head" else 1.0)[0] for key in keys}

    decided = gate.confirm(list(calls), measure)
    assert decided["slower"][0].verdict == "slower"
    assert calls["slower"] == 2 * gate.DEFAULT_ROUNDS
    unchanged = [n for key, n in calls.items() if key != "slower"]
    assert 11.0 < np.mean(unchanged) < 15.0, np.mean(unchanged)
    assert {decided[key][0].verdict for key in calls if key != "slower"} <= {"same", "unsure"}


def replay(full):
    """A confirm pass's `measure` that hands out figures made in advance ({key: {side:
    [figure per round]}}), in order."""
    taken = {key: {"base": 0, "head": 0} for key in full}

    def measure(side, wanted):
        got = {}
        for key in wanted:
            got[key] = full[key][side][taken[key][side]]
            taken[key][side] += 1
        return got
    return measure


@pytest.mark.parametrize("shift", [1.0, 1.03, 1.08])
def test_stopping_early_changes_no_verdict(shift):
    """The stop rules drop only suspects that could not be called slower at their look: the
    verdicts equal those of every round measured (the first look's rounds, and for the
    suspects carried on, all of them), on the same figures."""
    rng = np.random.default_rng(SEED)
    keys = [f"case{i}" for i in range(300)]
    rounds, level = gate.DEFAULT_ROUNDS, gate.DEFAULT_ALPHA / gate.LOOKS
    full = {key: {side: process_figures(rng, gate.LOOKS * rounds, shift if side == "head" else 1.0, spread=0.02)
                  for side in ("base", "head")} for key in keys}
    decided = gate.confirm(keys, replay(full))
    for key in keys:
        decision = decided[key][0]
        first = gate.decide(full[key]["base"][:rounds], full[key]["head"][:rounds], alpha=level)
        second = gate.decide(full[key]["base"], full[key]["head"], alpha=level)
        expected = first.verdict == "slower" or (decision.looks == 2 and second.verdict == "slower")
        assert (decision.verdict == "slower") == expected, key


def test_a_second_look_catches_slowdowns_hidden_by_processes_spread_as_wide():
    """Processes 3 % apart, a 5 % slowdown (the H200's compiled LayerNorm and PReLU): one
    look of 12 rounds catches about half, the second look most, and an unchanged suspect
    costs less than 10 % more for it."""
    def caught(promise, shift, count):
        rng = np.random.default_rng(SEED)
        processes = []

        def measure(side, keys):
            processes.append(len(keys))
            return {key: process_figures(rng, 1, shift if side == "head" else 1.0, spread=0.03)[0] for key in keys}

        decided = gate.confirm([f"case{i}" for i in range(count)], measure, promise=promise)
        return np.mean([d.verdict == "slower" for d, _, _ in decided.values()]), sum(processes) / count

    one_look, _ = caught(0.0, 1.05, 1000)
    two_looks, _ = caught(gate.PROMISE, 1.05, 1000)
    assert one_look < 0.65 and two_looks > 0.78, (one_look, two_looks)
    _, cost_one = caught(0.0, 1.0, 1000)
    _, cost_two = caught(gate.PROMISE, 1.0, 1000)
    assert cost_two < 1.1 * cost_one, (cost_one, cost_two)


def test_least_rounds_is_where_perfect_separation_reaches_alpha():
    # the first look's level is alpha / 2
    assert gate.least_rounds(gate.DEFAULT_ALPHA) == 8  # 1/C(16, 8) = 1/12870 < 0.00025 < 1/3432
    assert gate.least_rounds(0.05) == 4  # 1/70 < 0.025 < 1/20
    assert gate.least_rounds(gate.DEFAULT_ALPHA) <= gate.DEFAULT_ROUNDS


def test_faster_is_reported_as_faster_not_slower():
    rng = np.random.default_rng(SEED)
    base, head = process_figures(rng, 7), process_figures(rng, 7, shift=0.8)
    assert gate.decide(base, head).verdict == "faster"


def test_one_process_a_side_is_only_a_suspect():
    assert gate.decide([1.0], [1.2]).verdict == "suspect"
    assert gate.decide([1.0], [1.01]).verdict == "same"
    assert np.isnan(gate.decide([1.0], [1.2]).p)


def test_the_interval_covers_the_true_ratio_as_often_as_it_says():
    rng = np.random.default_rng(SEED)
    covered = []
    for _ in range(1000):
        d = gate.decide(process_figures(rng, 5), process_figures(rng, 5, shift=1.1))
        covered.append(d.low <= 1.1 <= d.high)
    assert abs(np.mean(covered) - gate.CONFIDENCE) < 0.05


@pytest.mark.parametrize("m, n", [(2, 3), (5, 5), (4, 6)])
def test_rank_sum_distribution_matches_scipy(m, n):
    rng = np.random.default_rng(SEED)
    cdf = gate._rank_sum_cdf(m, n)
    for _ in range(20):
        x, y = rng.random(m), rng.random(n)
        u = stats.mannwhitneyu(x, y, alternative="less", method="exact")
        assert cdf[int(u.statistic)] == pytest.approx(u.pvalue)


def test_a_confirm_budget_starts_no_round_it_cannot_finish_and_leaves_open_suspects_undecided():
    """Each process costs 1 s on a fake clock; with 40 s for two real slowdowns and ten
    unchanged suspects, round 1 (24 processes) runs, then rounds that fit, and the two
    slowdowns end undecided, never "same" or "slower" on processes they did not get."""
    rng = np.random.default_rng(SEED)
    now = [0.0]
    keys = ["slower1", "slower2"] + [f"same{i}" for i in range(10)]

    def measure(side, wanted):
        now[0] += len(wanted)
        return {key: process_figures(rng, 1, 1.2 if key.startswith("slower") and side == "head" else 1.0)[0]
                for key in wanted}

    decided = gate.confirm(keys, measure, seconds=40, clock=lambda: now[0])
    assert now[0] <= 40
    assert {decided[k][0].verdict for k in ("slower1", "slower2")} == {"undecided"}
    assert len(decided["slower1"][1]) < gate.DEFAULT_ROUNDS
    assert {decided[k][0].verdict for k in keys[2:]} <= {"same", "unsure", "undecided"}  # never slower
    unlimited = gate.confirm(keys, measure, clock=lambda: now[0])
    assert {unlimited[k][0].verdict for k in ("slower1", "slower2")} == {"slower"}


def test_a_budget_that_was_never_reached_changes_nothing():
    rng = np.random.default_rng(SEED)
    full = {f"case{i}": {side: process_figures(rng, gate.LOOKS * gate.DEFAULT_ROUNDS, 1.1 if side == "head" and i % 2 else 1.0)
                         for side in ("base", "head")} for i in range(40)}

    def verdicts(**budget):
        return {key: d.verdict for key, (d, _, _) in gate.confirm(list(full), replay(full), **budget).items()}

    assert verdicts(seconds=1e9) == verdicts()
    assert "slower" in verdicts().values()
