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
  alternating (so drift hits both alike), and tested at two looks, each at half the level:
  after `rounds` rounds, and, for a suspect the first look left close (slower beyond the
  threshold at p below `PROMISE`, not yet at the level), after twice as many, as Pinpoint
  adds attempts to a comparison it cannot yet call. After every round a suspect stops as
  soon as the rank test can no longer reach the level at its look however the remaining
  rounds come out (a base process slower than a head one never goes away); a suspect
  that stops close is carried to the second look at once. So an unchanged suspect costs
  about 13 processes (2 % stop close), and the verdicts are those the looks would give
  on every round measured. The verdict comes from the fresh processes alone (the
  screen's figures chose the suspects, so they would bias the test).

The false-alarm rate per case is at most the rank test's level, however many rounds: each
look's test is exact at alpha / 2 on a fixed number of rounds (the first look's
`rounds`, the second's twice that; which suspects go on depends on the first look's
figures, but a false alarm at the second still needs p < alpha / 2 over all its rounds,
which has at most that probability), so with alpha = 0.0005 an unchanged suspect is flagged
with probability below 1/2000 (about 0.1 false alarms expected in an A/A pair of 538 cases
of which a third are suspects). Rounds buy power: 8 a side are the fewest that can reach
alpha / 2 at all, and then every head process must be slower than every base one, so one
reversal misses a slowdown. The H100's planted 5 % in cases under 50 us were missed that way
(1-2 reversals in 7 rounds, processes 1.5-3 % apart: results/reports/h100/gate-2026-11-28-c).
With 12 rounds and one look, two of the H200's four 5 % misses were suspects whose
processes spread as wide as the plant, stopped at p 0.002-0.003
(results/reports/h200/gate-2026-11-28-d); on
synthetic processes 3 % apart the two looks catch a 5 % slowdown 86 % of the time
against 46 % for the first alone, for 3 % more processes on unchanged suspects (test_gate).
"""

import dataclasses
import functools
import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import stats

# The smallest slowdown the gate reports (a planted 5 % must clear it despite noise), the
# rank test's level (split between the confirm pass's two looks), the first look's rounds,
# and how close (one-sided p) a slower suspect must be at the first look to earn the second.
DEFAULT_THRESHOLD = 1.02
DEFAULT_ALPHA = 0.0005
DEFAULT_ROUNDS = 12
PROMISE = 0.05
LOOKS = 2
CONFIDENCE = 0.90


@dataclass
class Decision:
    verdict: str  # "slower", "faster", "same", "suspect" (screen only), "unsure", "undecided" (budget spent)
    ratio: float  # median head / median base
    low: float  # CONFIDENCE interval of the ratio (nan with one process a side)
    high: float
    p: float  # one-sided rank-test p-value in the ratio's direction (nan: not tested)
    processes: int  # processes a side (the smaller side)
    looks: int = 0  # the confirm pass's looks it took (0: not confirmed; 2: carried to the second)


@functools.lru_cache(maxsize=None)
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
    cdf = np.cumsum(f[m, n]) / f[m, n].sum()
    cdf.flags.writeable = False  # cached: shared by every caller
    return cdf


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
    """The fewest rounds a side with which the confirm pass's first look can reach its level
    (alpha / LOOKS) at all: every head process slower than every base one, one-sided
    p = 1 / C(2R, R)."""
    return next((r for r in range(1, 100) if 1 / math.comb(2 * r, r) < alpha / LOOKS), math.inf)


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
            clock=None, promise=PROMISE):
    """Measure `suspects` again and decide: {key: (Decision, base figures, head figures)}.

    `measure(side, keys)` measures every key in a fresh process on `side` ("base" or
    "head"; a key's figures of different rounds never share a process) and returns {key:
    seconds} for those that produced a figure. Two looks, each at alpha / LOOKS: a suspect
    is measured for up to `rounds` rounds and stops once it can no longer be called slower
    there (`can_still_be_slower`); one that then reads slower beyond `threshold` at p below
    `promise` without reaching the level goes on to the second look, up to LOOKS times
    `rounds`, stopping the same way (`promise=0`: one look). With `seconds`, no round starts that the
    rounds so far say would end past it (the first always runs): a suspect still open then
    is "undecided", never a verdict its missing processes might have changed.
    """
    level = alpha / LOOKS
    figures = {key: {"base": [], "head": []} for key in suspects}
    looks, tried = dict.fromkeys(suspects, 1), dict.fromkeys(suspects, 0)
    clock = clock or time.monotonic
    alive, measured, started, stopped = list(suspects), 0, clock(), set()
    while alive:
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
        going_on = []
        for key in alive:
            tried[key] += 1
            base, head = figures[key]["base"], figures[key]["head"]
            last = looks[key] * rounds
            if tried[key] < last and can_still_be_slower(base, head, last, level):
                going_on.append(key)
            elif looks[key] < LOOKS and _close(base, head, threshold, level, promise, (looks[key] + 1) * rounds):
                looks[key] += 1
                going_on.append(key)
        alive = going_on
    decisions = {}
    for key, f in figures.items():
        if f["base"] and f["head"]:
            decision = dataclasses.replace(decide(f["base"], f["head"], threshold, level), looks=looks[key])
            if key in stopped and decision.verdict not in ("slower", "faster"):
                decision = dataclasses.replace(decision, verdict="undecided")
            elif decision.verdict == "suspect":  # dropped after one round: its head process was not slower
                decision = dataclasses.replace(decision, verdict="unsure" if decision.ratio > threshold else "same")
            decisions[key] = (decision, f["base"], f["head"])
        else:  # every confirm process of a side failed
            decisions[key] = (Decision("unsure", math.nan, math.nan, math.nan, math.nan, 0, looks[key]), f["base"],
                              f["head"])
    return decisions


def _close(base, head, threshold, level, promise, rounds):
    """Whether a suspect whose look is over earns the next: slower beyond the
    threshold at p below `promise`, not called at the level, and still able to reach it
    in `rounds`."""
    if min(len(base), len(head)) < 2:
        return False
    decision = decide(base, head, threshold, level)
    return (decision.verdict == "unsure" and decision.ratio > threshold and decision.p < promise
            and can_still_be_slower(base, head, rounds, level))
