"""The regression gate's decision for one case, from per-process figures.

A benchmark process's figure (the median of its samples) varies little within the
process and much more between processes (some of MLX's GPU kernels have modes that differ
from process to process: results/reports/h100/). So the unit of evidence is the process:
a case is called slower only when the head's processes are slower than the base's, as a
rank test over processes sees it, and by more than the smallest change worth reporting.

Two stages, as Chromium's Pinpoint does it:
- screen: one process per side (the runs as recorded); a case whose head/base ratio is
  beyond `threshold` is a suspect, nothing more;
- confirm: the suspects are measured again in fresh processes, base and head
  alternating (so drift hits both alike). After every round a suspect stops as soon as the
  rank test can no longer reach its level however the remaining rounds come out (a base
  process slower than a head one never goes away), so an unchanged suspect costs about 13
  processes of the 24 (12 rounds), and the verdicts are those of the full pass. The
  verdict comes from the fresh processes alone (the screen's figures chose the suspects,
  so they would bias the test).

The false-alarm rate per case is at most the rank test's level, however many rounds: with
alpha = 0.0005 an unchanged suspect is flagged with probability below 1/2000 (about 0.1
false alarms expected in an A/A pair of 538 cases of which a third are suspects). Rounds buy
power: 7 a side are the fewest that can reach the level at all, and then every head process
must be slower than every base one, so one reversal misses a slowdown. The H100's planted 5 %
in cases under 50 us were missed that way (1-2 reversals in 7 rounds, processes 1.5-3 %
apart: results/reports/h100/gate-2026-11-28-c); 12 rounds allow 17 reversals and, on
synthetic processes 2 % apart, catch a 5 % slowdown 85 % of the time against 35 % (test_gate).
"""

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import stats

# The smallest slowdown the gate reports (a planted 5 % must clear it despite noise), the
# rank test's level, and the confirm pass's rounds.
DEFAULT_THRESHOLD = 1.02
DEFAULT_ALPHA = 0.0005
DEFAULT_ROUNDS = 12
CONFIDENCE = 0.90


@dataclass
class Decision:
    verdict: str  # "slower", "faster", "same", "suspect" (screen only), "unsure", "undecided" (budget spent)
    ratio: float  # median head / median base
    low: float  # CONFIDENCE interval of the ratio (nan with one process a side)
    high: float
    p: float  # one-sided rank-test p-value in the ratio's direction (nan: not tested)
    processes: int  # processes a side (the smaller side)


def _rank_sum_cdf(m, n):
    """P(U <= u), u = 0..m*n, of the Mann-Whitney U of samples of m and n under no change:
    f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u) counts the orderings (the largest value
    comes from the first sample, beating its j values, or from the second)."""
    f = np.zeros((m + 1, n + 1, m * n + 1))
    f[0, :, 0] = f[:, 0, 0] = 1
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            f[i, j, j:] += f[i - 1, j, : m * n + 1 - j]
            f[i, j] += f[i, j - 1]
    return np.cumsum(f[m, n]) / f[m, n].sum()


def ratio_interval(base, head, confidence=CONFIDENCE):
    """Hodges-Lehmann interval of head/base: the order statistics of all pairwise log
    ratios at which the Mann-Whitney distribution puts `confidence` (distribution-free)."""
    m, n = len(head), len(base)
    if m < 2 or n < 2:
        return math.nan, math.nan
    logs = np.sort(np.subtract.outer(np.log(head), np.log(base)).ravel())
    cdf = _rank_sum_cdf(m, n)
    k = int(np.searchsorted(cdf, (1 - confidence) / 2, side="right"))  # P(U <= k-1) <= tail
    k = max(k, 1)
    return float(math.exp(logs[k - 1])), float(math.exp(logs[m * n - k]))


def decide(base, head, threshold=DEFAULT_THRESHOLD, alpha=DEFAULT_ALPHA):
    """The verdict on one case from its per-process figures (seconds; lower is better).

    One process a side: "suspect" beyond the threshold either way, else "same". Several:
    "slower" (or "faster") when the median ratio is beyond `threshold` and the one-sided
    rank test over processes says so at `alpha`; "unsure" when the ratio is beyond the
    threshold but the processes overlap too much to say; "same" otherwise.
    """
    base, head = np.asarray(base, dtype=float), np.asarray(head, dtype=float)
    ratio = float(np.median(head) / np.median(base))
    processes = min(len(base), len(head))
    low, high = ratio_interval(base, head)
    beyond = ratio > threshold or ratio < 1 / threshold
    if processes < 2:
        return Decision("suspect" if beyond else "same", ratio, low, high, math.nan, processes)
    direction = "greater" if ratio >= 1 else "less"
    p = float(stats.mannwhitneyu(head, base, alternative=direction, method="exact").pvalue)
    if not beyond:
        verdict = "same"
    elif p < alpha:
        verdict = "slower" if ratio > 1 else "faster"
    else:
        verdict = "unsure"
    return Decision(verdict, ratio, low, high, p, processes)


def least_rounds(alpha=DEFAULT_ALPHA):
    """The fewest rounds a side with which the rank test can reach `alpha` at all (every
    head process slower than every base one: one-sided p = 1 / C(2R, R))."""
    return next((r for r in range(1, 100) if 1 / math.comb(2 * r, r) < alpha), math.inf)


def reversals(base, head):
    """Pairs (base process, head process) in which the head was not slower (ties count
    half): the Mann-Whitney U of "head faster", which more processes can only raise."""
    diff = np.subtract.outer(np.asarray(head, dtype=float), np.asarray(base, dtype=float))
    return float(np.sum(diff < 0) + 0.5 * np.sum(diff == 0))


def can_still_be_slower(base, head, rounds, alpha):
    """Whether `rounds` processes a side could still give p < alpha: even if every further
    head process is slower than every base process, the reversals seen so far remain."""
    cdf = _rank_sum_cdf(rounds, rounds)
    return cdf[math.ceil(reversals(base, head))] < alpha


def confirm(suspects, measure, rounds=DEFAULT_ROUNDS, threshold=DEFAULT_THRESHOLD, alpha=DEFAULT_ALPHA, seconds=None,
            clock=None):
    """Measure `suspects` again and decide: {key: (Decision, base figures, head figures)}.

    `measure(side, keys)` measures every key in a fresh process on `side` ("base" or
    "head"; a key's figures of different rounds never share a process) and returns {key:
    seconds} for those that produced a figure. A suspect stops once it can no
    longer be called slower (`can_still_be_slower`); that changes the cost, not the verdicts.
    With `seconds`, no round starts that the rounds so far say would end past it (the
    first always runs): a suspect still open then is "undecided", never a verdict its
    missing processes might have changed.
    """
    figures = {key: {"base": [], "head": []} for key in suspects}
    clock = clock or time.monotonic
    alive, measured, started, stopped = list(suspects), 0, clock(), set()
    for _ in range(rounds):
        spent = clock() - started
        if seconds is not None and measured and spent + spent / measured * 2 * len(alive) > seconds:
            stopped = set(alive)
            break
        for side in ("base", "head"):
            got = measure(side, alive)
            for key in alive:
                if key in got:
                    figures[key][side].append(got[key])
        measured += 2 * len(alive)
        alive = [k for k in alive if can_still_be_slower(figures[k]["base"], figures[k]["head"], rounds, alpha)]
        if not alive:
            break
    decisions = {}
    for key, f in figures.items():
        if f["base"] and f["head"]:
            decision = decide(f["base"], f["head"], threshold, alpha)
            if key in stopped and decision.verdict not in ("slower", "faster"):
                decision = dataclasses.replace(decision, verdict="undecided")
            elif decision.verdict == "suspect":  # dropped after one round: its head process was not slower
                decision = dataclasses.replace(decision, verdict="unsure" if decision.ratio > threshold else "same")
            decisions[key] = (decision, f["base"], f["head"])
        else:  # every confirm process of a side failed
            decisions[key] = (Decision("unsure", math.nan, math.nan, math.nan, math.nan, 0), f["base"], f["head"])
    return decisions
