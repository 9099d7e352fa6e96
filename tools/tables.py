"""Detailed and average speedup tables from asv results, in the reference table's layout.

    python -m tools.tables                      # latest results, both tables, Markdown on stdout
    python -m tools.tables --machine h100 --csv out/   # also detailed.csv and average.csv

Times are the median of asv's samples, in milliseconds. A speedup column "a/b" is
(t_b - t_a) / t_a: "+x%" means a is faster, as in the reference. "nan" marks a backend
that has no figure for that case.
"""

import argparse
import math
import os
import sys

import numpy as np
import pandas as pd
from tabulate import tabulate

from .errors import ToolError, main_guard, write_atomically
from .results import SETTINGS_CLASS, TIME_METHOD, frame, not_run, results_dir_from_config, select

BACKEND_ORDER = [
    "mlx_gpu", "mlx_gpu_compile", "mlx_cpu", "mlx_cpu_compile", "mps",
    "cpu", "cpu_compile", "cuda", "cuda_compile",
]
# (first, second): "+x%" means first is faster. The reference's four, then the pairs the
# suite adds: MLX against torch on the same GPU, and each compiled backend against eager.
SPEEDUP_PAIRS = [
    ("mlx_gpu_compile", "mlx_gpu"),
    ("mlx_gpu", "mps"),
    ("mlx_gpu", "mlx_cpu"),
    ("cuda", "cpu"),
    ("mlx_gpu", "cuda"),
    ("mlx_cpu_compile", "mlx_cpu"),
    ("cpu_compile", "cpu"),
    ("cuda_compile", "cuda"),
]


def speedup_percent(first, second):
    """The reference's figure: how much faster `first` is than `second`, in percent."""
    return (second - first) / first * 100


def format_percent(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan%"
    return f"{'+' if x > 0 else ''}{int(x)}%"


def format_ms(x):
    return "nan" if x is None or math.isnan(x) else f"{x:.2f}"


FAILED = "err"


def latency_ms(df):
    """Cases x backends in milliseconds (rows in op, then declaration order), the op of each
    row, and a same-shaped frame that is True where the case failed on that backend."""
    times = df[df["method"] == TIME_METHOD].copy()
    times["row"] = times["op"] + " / " + times["case"]
    order = times.drop_duplicates("row").sort_values("op", key=lambda s: s.str.lower(), kind="stable")
    table = times.pivot_table(index="row", columns="backend", values="value", aggfunc="first", dropna=False)
    failed = (times.assign(failed=times["status"] == "failed")
              .pivot_table(index="row", columns="backend", values="failed", aggfunc="first", fill_value=False))
    table = table.reindex(order["row"]) * 1e3
    failed = failed.reindex(index=table.index, columns=table.columns, fill_value=False).astype(bool)
    ran = [b for b in table.columns if table[b].notna().any() or failed[b].any()]
    columns = [b for b in BACKEND_ORDER if b in ran] + sorted(b for b in ran if b not in BACKEND_ORDER)
    return table[columns], order.set_index("row")["op"], failed[columns]


def pairs_for(backends):
    return [(a, b) for a, b in SPEEDUP_PAIRS if a in backends and b in backends]


def detailed(times):
    out = times.copy()
    for a, b in pairs_for(times.columns):
        out[f"{a}/{b} speedup"] = speedup_percent(times[a], times[b])
    return out


def average(times, ops):
    """The reference's mean time per op (and speedups of those means), plus the geometric
    mean of the per-case speedup ratios, which one huge case cannot dominate."""
    means = times.groupby(ops, sort=False).mean()
    # The reference's mean is undefined where a backend lacks a case: keep it nan then.
    incomplete = times.isna().groupby(ops, sort=False).any()
    means = means.mask(incomplete)
    out = means.copy()
    for a, b in pairs_for(times.columns):
        out[f"{a}/{b} speedup"] = speedup_percent(means[a], means[b])
    for a, b in pairs_for(times.columns):
        log_ratio = np.log(times[b] / times[a])
        geomean = np.exp(log_ratio.groupby(ops, sort=False).mean())
        out[f"{a}/{b} geomean speedup"] = (geomean - 1) * 100
    out.index.name = None
    return out


def to_markdown(table, failed=None):
    def cell(row, col, v):
        if "speedup" in col:
            return format_percent(v)
        if failed is not None and col in failed.columns and row in failed.index and failed.at[row, col]:
            return FAILED
        return format_ms(v)

    cells = [[row] + [cell(row, col, v) for col, v in values.items()] for row, values in table.iterrows()]
    return tabulate(cells, headers=["Operation"] + list(table.columns), tablefmt="pipe",
                    colalign=["left"] + ["right"] * len(table.columns), disable_numparse=True)


def settings_lines(df):
    settings = df[df["op"] == SETTINGS_CLASS]
    errors = settings[settings["method"] == "track_relative_error"].set_index("backend")["value"]
    flags = settings[settings["method"] == "track_tf32_allowed"].set_index("backend")["value"]
    parts = []
    for backend in BACKEND_ORDER:
        if backend in errors and not math.isnan(errors[backend]):
            mode = "TF32 allowed" if flags.get(backend) == 1 else "full FP32"
            parts.append(f"{backend}: {mode}, measured error {errors[backend]:.1e}")
    if not parts:
        return []
    return ["float32 matmul precision (max relative error of a 512^3 product vs float64): " + "; ".join(parts)]


def build(args):
    results_dir = args.results or results_dir_from_config(args.config)
    selection = select(results_dir, args.machine, args.commit, args.env)
    df = frame(selection)
    if args.backends:
        wanted = [b.strip() for b in args.backends.split(",") if b.strip()]
        known = set(df["backend"].dropna())
        unknown = [b for b in wanted if b not in known]
        if unknown:
            raise ToolError(f"unknown backend(s) {', '.join(unknown)}; these results have: {', '.join(sorted(known))}")
        df = df[df["backend"].isin(wanted)]
    times, ops, failed = latency_ms(df)
    if times.empty:
        raise ToolError(f"{selection.path} has no timings: every backend was skipped")
    return Tables(selection, df, detailed(times), average(times, ops), failed, not_run(selection))


class Tables:
    def __init__(self, selection, df, detailed, average, failed, not_run):
        self.selection, self.df, self.detailed, self.average = selection, df, detailed, average
        self.failed, self.not_run = failed, not_run

    def failed_cases(self):
        stacked = self.failed.stack()
        return [f"{row} on {backend}" for (row, backend), bad in stacked.items() if bad]

    def markdown(self):
        s = self.selection
        lines = [f"Results: machine {s.machine}, commit {s.commit[:8]}, environment {s.env}"]
        if self.not_run:
            lines.append(f"Interrupted run: {len(self.not_run)} planned case(s) never ran (listed below).")
        lines += ["", "Detailed benchmark (ms per call):", to_markdown(self.detailed, self.failed), "",
                  "Average benchmark:", to_markdown(self.average), ""]
        lines.append(f"{FAILED}: the case raised or timed out on that backend (asv's log has the reason); "
                     "nan: no figure (backend absent or skipped, the case failed, or it never ran).")
        lines += settings_lines(self.df)
        failed = self.failed_cases()
        if failed:
            lines.append(f"Failed ({len(failed)}): " + "; ".join(failed))
        if self.not_run:
            lines.append(f"Not run ({len(self.not_run)}): " + "; ".join(self.not_run))
        return "\n".join(lines) + "\n"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.tables", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="asv.conf.json", help="asv config naming the results folder")
    parser.add_argument("--results", help="results folder (default: the config's results_dir)")
    parser.add_argument("--machine", help="asv machine name (default: the one with the latest run)")
    parser.add_argument("--commit", help="commit hash or prefix (default: latest run)")
    parser.add_argument("--env", help="asv environment name (default: latest run)")
    parser.add_argument("--markdown", metavar="FILE", help="write the Markdown tables to FILE instead of stdout")
    parser.add_argument("--csv", metavar="DIR", help="also write DIR/detailed.csv and DIR/average.csv")
    parser.add_argument("--backends", help="comma-separated backends to show (default: every one that ran)")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    args = parser.parse_args(argv)
    if args.force and not (args.markdown or args.csv):
        raise ToolError("--force only applies to --markdown or --csv output; add one of them or drop --force")
    if args.markdown and args.csv and os.path.dirname(os.path.abspath(args.markdown)) == os.path.abspath(args.csv) \
            and os.path.basename(args.markdown) in ("detailed.csv", "average.csv"):
        raise ToolError(f"--markdown {args.markdown} is one of the CSV files --csv {args.csv} writes; choose another name")
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    result = build(args)
    text = result.markdown()
    outputs = []
    if args.csv:
        outputs += [(os.path.join(args.csv, "detailed.csv"), result.detailed.to_csv(index_label="Operation", float_format="%.6g")),
                    (os.path.join(args.csv, "average.csv"), result.average.to_csv(index_label="Operation", float_format="%.6g"))]
    if args.markdown:
        outputs.append((args.markdown, text))
    for path, _ in outputs:  # check every target before writing any
        if os.path.exists(path) and not args.force:
            raise ToolError(f"{path} exists; pass --force to overwrite it")
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise ToolError(f"folder {os.path.dirname(os.path.abspath(path))} does not exist; create it first")
    for path, content in outputs:
        write_atomically(path, content, overwrite=args.force)
    if not args.markdown:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
