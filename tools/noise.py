"""How far two runs of the same suite on the same machine disagree: the run-to-run noise.

    python -m tools.noise run1.json run2.json                 # two asv results files
    python -m tools.noise run1.json run2.json --min-us 50 --median 2 --p95 5
    python -m tools.noise run1.json run2.json --export noise.csv   # every case compared, one long table

For every case measured in both (same op, case, backend, dtype and measure) whose time is
at least --min-us in both runs, |delta| = |t2 / t1 - 1|. Prints, per measure (then per
backend and measure), the number of cases, the median and the 95th percentile of |delta|
and the cases that moved most; exits 1 when an overall median or 95th percentile exceeds
its limit (in percent), 0 otherwise, 2 on bad input. `--export FILE` writes every case
compared (the ones the summaries count), run 2's figure as the value, run 1's beside it.
"""

import sys

import numpy as np
from tabulate import tabulate

from . import tidy
from .cli import ToolError, add_export_option, check_new_file, main_guard, parser
from .results import MEASURES, frame, load_file

KEYS = ["op", "method", "case", "backend", "dtype"]


def deltas(first, second, min_seconds):
    """Cases present in both frames, with their times and |t2 / t1 - 1|."""
    a = first[(first["status"] == "ok") & first["method"].isin(MEASURES.values())]
    b = second[(second["status"] == "ok") & second["method"].isin(MEASURES.values())]
    both = a[KEYS + ["value"]].merge(b[KEYS + ["value"]], on=KEYS, suffixes=("_1", "_2"))
    both = both[(both["value_1"] >= min_seconds) & (both["value_2"] >= min_seconds)].copy()
    both["delta"] = (both["value_2"] / both["value_1"] - 1).abs()
    return both


def summary(both, backend=None):
    rows = []
    for measure, method in MEASURES.items():
        part = both[both["method"] == method]
        if backend is not None:
            part = part[part["backend"] == backend]
        part = part["delta"]
        if len(part):
            rows.append({"measure": measure, "backend": backend, "cases": len(part),
                         "median": 100 * float(np.median(part)), "p95": 100 * float(np.percentile(part, 95)),
                         "max": 100 * float(part.max())})
    return rows


def exported(both, later, first, second):
    """The cases compared as tidy rows: run 2's figures (`later`, its frame), run 1's beside."""
    compared = both[KEYS + ["value_1", "delta"]].rename(columns={"value_1": "base_value"})
    rows = later.merge(compared, on=KEYS)
    return tidy.paired(rows.assign(ratio=rows["value"] / rows["base_value"]), second, first)


def _cells(row):
    return [row["cases"], f"{row['median']:.2f} %", f"{row['p95']:.2f} %", f"{row['max']:.1f} %"]


def parse_args(argv):
    p = parser("tools.noise", __doc__)
    p.add_argument("first", help="asv results file of the first run")
    p.add_argument("second", help="asv results file of the second run")
    p.add_argument("--min-us", type=float, default=50.0, help="ignore cases faster than this (default 50)")
    p.add_argument("--median", type=float, default=2.0, help="limit of the median |delta|, percent (default 2)")
    p.add_argument("--p95", type=float, default=5.0, help="limit of the 95th percentile, percent (default 5)")
    p.add_argument("--worst", type=int, default=10, help="how many of the most-moved cases to list")
    add_export_option(p)
    p.add_argument("--force", action="store_true", help="overwrite the --export file")
    args = p.parse_args(argv)
    if args.min_us < 0 or args.median <= 0 or args.p95 <= 0:
        raise ToolError("--min-us must be >= 0, --median and --p95 > 0 (percent)")
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    if args.export:
        check_new_file(args.export, args.force)
    first, second = load_file(args.first), load_file(args.second)
    later = frame(second)
    both = deltas(frame(first), later, args.min_us * 1e-6)
    if both.empty:
        raise ToolError(f"the two runs have no case of at least {args.min_us:g} us in common")
    if args.export:
        tidy.write(exported(both, later, first, second), args.export, args.force)
    rows = summary(both)
    print(f"run 1: {first.path} ({first.machine}, {first.commit[:8]}, {first.env})")
    print(f"run 2: {second.path} ({second.machine}, {second.commit[:8]}, {second.env})")
    print(f"cases of at least {args.min_us:g} us in both runs; |delta| = |t2 / t1 - 1|\n")
    print(tabulate([[r["measure"], *_cells(r)] for r in rows],
                   headers=["measure", "cases", "median abs(delta)", "95th percentile", "max"],
                   tablefmt="pipe", disable_numparse=True))
    # One backend's noise can hide behind another's: the same runs, one backend at a time.
    per_backend = [r for b in sorted(both["backend"].unique()) for r in summary(both, b)]
    print("\nper backend:")
    print(tabulate([[r["backend"], r["measure"], *_cells(r)] for r in per_backend],
                   headers=["backend", "measure", "cases", "median abs(delta)", "95th percentile", "max"],
                   tablefmt="pipe", disable_numparse=True))
    worst = both.sort_values("delta", ascending=False).head(args.worst)
    print(f"\nmost moved ({len(worst)}):")
    print(tabulate([[f"{r.op} / {r.case} on {r.backend} {r.dtype}", r.method, f"{r.value_1 * 1e6:.1f}",
                     f"{r.value_2 * 1e6:.1f}", f"{100 * r.delta:.1f} %"] for r in worst.itertuples()],
                   headers=["case", "measure", "run 1 us", "run 2 us", "abs(delta)"], tablefmt="pipe",
                   disable_numparse=True))
    over = [r for r in rows if r["median"] > args.median or r["p95"] > args.p95]
    for r in over:
        print(f"NOISY: {r['measure']}: median {r['median']:.2f} % (limit {args.median:g}), "
              f"95th percentile {r['p95']:.2f} % (limit {args.p95:g})", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
