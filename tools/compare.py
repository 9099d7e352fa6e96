"""Compare two result sets case by case and fail on significant slowdowns (a CI gate).

    python -m tools.compare BASE HEAD                    # two commits, same machine
    python -m tools.compare abc123 abc123 --base-env E1 --head-env E2   # two environments
    python -m tools.compare v1 v2 --machine h100 --factor 1.10

A case counts as slower when head's time exceeds base's by more than `--factor` AND asv's
own statistics (asv._stats.is_different: Mann-Whitney on the samples, or the 99% confidence
intervals when samples were not recorded: what `asv compare` uses) say the two differ, so
noise is not called a regression. Exit status: 0 no regression, 1 regression(s), 2 bad input.
"""

import argparse
import itertools
import math
import sys

from asv import _stats  # asv's own significance test (the one `asv compare` uses)
from tabulate import tabulate

from .errors import ToolError, main_guard
from .results import _param_values, describe, results_dir_from_config, select


def cases(result):
    """{(benchmark, params): (value, stats, samples)} for every timed case with a figure.

    Only timings: the tracked values (peaks in GB/s, precision flags) are not times, and
    for them larger is not slower."""
    out = {}
    for key in result.get_all_result_keys():
        if not key.split(".")[-1].startswith("time_"):
            continue
        params = result.get_result_params(key) or []
        values = result.get_result_value(key, params)
        stats = result.get_result_stats(key, params)
        samples = result.get_result_samples(key, params)
        if not isinstance(values, list):
            values, stats, samples = [values], [stats], [samples]
        stats = stats or [None] * len(values)
        samples = samples or [None] * len(values)
        for combo, value, stat, sample in zip(itertools.product(*_param_values(params)), values, stats, samples):
            if isinstance(value, (int, float)) and not math.isnan(value) and value > 0:
                out[(key, combo)] = (value, stat, sample)
    return out


def label(key, combo):
    parts = key.split(".")
    if len(parts) >= 3:
        return describe(parts[-2], parts[-1], combo)
    return f"{key}{'(' + ', '.join(map(str, combo)) + ')' if combo else ''}"


def significant(base, head):
    _, base_stats, base_samples = base
    _, head_stats, head_samples = head
    if not base_stats or not head_stats or base_stats.get("repeat") == 1 or head_stats.get("repeat") == 1:
        return True  # one sample: nothing to test, the factor alone decides (as asv compare does)
    return _stats.is_different(base_samples, head_samples, base_stats, head_stats)


def compare(base_result, head_result, factor):
    base, head = cases(base_result), cases(head_result)
    rows = []
    for key in sorted(base.keys() & head.keys(), key=lambda k: label(*k)):
        b, h = base[key], head[key]
        ratio = h[0] / b[0]
        if ratio > factor and significant(b, h):
            verdict = "slower"
        elif ratio < 1 / factor and significant(b, h):
            verdict = "faster"
        elif abs(math.log(ratio)) > math.log(factor):
            verdict = "noise"  # beyond the factor, but asv's statistics cannot tell them apart
        else:
            verdict = "same"
        rows.append({"case": label(*key), "base_ms": b[0] * 1e3, "head_ms": h[0] * 1e3,
                     "ratio": ratio, "verdict": verdict})
    return rows, len(base.keys() - head.keys()), len(head.keys() - base.keys())


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="commit hash or prefix of the baseline results")
    parser.add_argument("head", help="commit hash or prefix of the results to check")
    parser.add_argument("--config", default="asv.conf.json")
    parser.add_argument("--results", help="results folder (default: the config's results_dir)")
    parser.add_argument("--machine", help="asv machine (default: the one with the latest run)")
    parser.add_argument("--base-machine", help="machine of the baseline, when it differs")
    parser.add_argument("--base-env", help="asv environment of the baseline")
    parser.add_argument("--head-env", help="asv environment of the results to check")
    parser.add_argument("--factor", type=float, default=1.10, help="slowdown ratio that fails the gate (default 1.10)")
    parser.add_argument("--all", action="store_true", help="list every case, not only the changed ones")
    args = parser.parse_args(argv)
    if not args.factor > 1:
        raise ToolError(f"--factor {args.factor}: must be greater than 1 (1.10 = 10 % slower)")
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    results_dir = args.results or results_dir_from_config(args.config)
    head = select(results_dir, args.machine, args.head, args.head_env)
    base = select(results_dir, args.base_machine or head.machine, args.base, args.base_env)
    if base.path == head.path:
        raise ToolError(f"base and head are the same results file ({head.path}); name two commits or environments")
    rows, only_base, only_head = compare(base.results, head.results, args.factor)
    if not rows:
        raise ToolError("the two result sets have no case with a figure in common")
    shown = rows if args.all else [r for r in rows if r["verdict"] != "same"]
    print(f"base: {base.machine} {base.commit[:8]} {base.env}\nhead: {head.machine} {head.commit[:8]} {head.env}")
    if shown:
        print(tabulate([[r["case"], f"{r['base_ms']:.4g}", f"{r['head_ms']:.4g}", f"{r['ratio']:.2f}", r["verdict"]]
                        for r in shown], headers=["case", "base ms", "head ms", "head/base", "verdict"],
                       tablefmt="pipe", disable_numparse=True))
    slower = [r for r in rows if r["verdict"] == "slower"]
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("slower", "faster", "noise", "same")}
    print(f"{len(rows)} cases compared: " + ", ".join(f"{n} {v}" for v, n in counts.items())
          + (f"; {only_base} only in base, {only_head} only in head" if only_base or only_head else ""))
    if slower:
        print(f"REGRESSION: {len(slower)} case(s) slower than {args.factor:.2f}x with significance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
