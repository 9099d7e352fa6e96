"""Speedup, roofline and side-by-side tables from asv results.

    python -m tools.tables                      # latest results: the reference layout
    python -m tools.tables --measure device     # the same layout, device time per call
    python -m tools.tables --dtypes bfloat16    # the ops measured in bfloat16 (--dtypes float16,bfloat16: both)
    python -m tools.tables --roofline           # bytes, FLOPs, GB/s, TFLOP/s, % of measured peak
    python -m tools.tables --machines m1,m2 --backend mlx_gpu --ops Softmax,MatMul
    python -m tools.tables --envs E1,E2 --backend mlx_cpu    # e.g. two MLX releases
    python -m tools.tables --machine h100 --csv out/ --markdown out/tables.md   # also CSV and Markdown files
    python -m tools.tables --measure memory --export out/memory.csv   # the figures shown, one long table

Times are the median of asv's samples, in milliseconds. `--measure latency` (the default,
the reference table's measure) is one call and its completion barrier; `--measure device`
is the device time per call of a batch launched back to back (CUDA events for torch on
CUDA). A speedup column "a/b" is (t_b - t_a) / t_a: "+x%" means a is faster, as in the
reference; with `--measure memory` the same ratio of peak memory is "a/b memory saving".
"nan" marks a backend that has no figure for that case, "err" a case that failed.
Cases without a figure on any backend (the other profile's shapes: asv's grid holds both)
are left out and counted under the table. Results of a run that measured device time only
are shown in device time. `--markdown FILE` writes what is printed to FILE as well; output
folders are created.
"""

import math
import os
import sys

import numpy as np
import pandas as pd
from tabulate import tabulate

from benchmarks.harness import catalog, vocabulary
from benchmarks.harness.vocabulary import PEAK_CLASS, SETTINGS_CLASS

from . import tidy
from .cli import (ToolError, add_export_option, add_results_options, check_new_file, comma_list, machine_name, main_guard,
                  names_of, parser, results_dir, write_atomically)
from .results import frame, methods_for, not_run, select

# Table columns: the vocabulary's order, each compiled backend right after its eager one.
BACKEND_ORDER = [c.name for b in vocabulary.BACKENDS if not b.compiled for c in vocabulary.BACKENDS
                 if (c.framework, c.device) == (b.framework, b.device) and (c is b or c.compiled)]
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
FAILED = "err"
# The roofline's ceilings as bench_peaks records them; achieved rates are shown in their units.
BANDWIDTH = vocabulary.FACT[(PEAK_CLASS, "track_copy_bandwidth")]
MATMUL = vocabulary.FACT[(PEAK_CLASS, "track_matmul_float32")]


def speedup_percent(first, second):
    """The reference's figure: how much faster `first` is than `second`, in percent."""
    return (second - first) / first * 100


def format_percent(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan%"
    x = round(x)  # not int(): a ratio of -20 % computes as -19.999...
    return f"{'+' if x > 0 else ''}{x}%"


def format_ms(x):
    return "nan" if x is None or math.isnan(x) else f"{x:.2f}"


def filter_ops(df, ops):
    """The rows of `ops` (any letter case) and the machine facts, which are not ops."""
    if not ops:
        return df
    recorded = [PEAK_CLASS, SETTINGS_CLASS]
    known = {op.lower(): op for op in set(df["op"]) - set(recorded)}
    unknown = [op for op in ops if op.lower() not in known]
    if unknown:
        raise ToolError(f"unknown op(s) {', '.join(unknown)}; these results have: {', '.join(sorted(known.values()))}")
    return df[df["op"].isin([known[op.lower()] for op in ops] + recorded)]


def measured(df, measure="latency", dtype="float32"):
    """The rows of one measure and dtype, each named `Op / case`, in op order."""
    rows = df[(df["method"] == vocabulary.MEASURE[measure].method) & (df["dtype"] == dtype)].copy()
    rows["row"] = rows["op"] + " / " + rows["case"]
    return rows.sort_values("op", key=lambda s: s.str.lower(), kind="stable")


def times_ms(df, measure="latency", dtype="float32"):
    """Cases x backends in the measure's shown unit (milliseconds for the times, MiB for
    memory; rows in op, then declaration order), the op of each row, and a same-shaped
    frame that is True where the case failed on that backend."""
    rows = measured(df, measure, dtype)
    order = rows.drop_duplicates("row")
    table = rows.pivot_table(index="row", columns="backend", values="value", aggfunc="first", dropna=False)
    failed = (rows.assign(failed=rows["status"] == "failed")
              .pivot_table(index="row", columns="backend", values="failed", aggfunc="first", fill_value=False))
    table = table.reindex(order["row"]) * vocabulary.MEASURE[measure].shown_scale
    failed = failed.reindex(index=table.index, columns=table.columns, fill_value=False).astype(bool)
    shown = table.notna().any(axis=1) | failed.any(axis=1)
    table, failed = table[shown], failed[shown]
    ran = [b for b in table.columns if table[b].notna().any() or failed[b].any()]
    columns = [b for b in BACKEND_ORDER if b in ran] + sorted(b for b in ran if b not in BACKEND_ORDER)
    return table[columns], order.set_index("row")["op"], failed[columns]


def pairs_for(backends):
    return [(a, b) for a, b in SPEEDUP_PAIRS if a in backends and b in backends]


def shown_rows(df, times, measure, dtype):
    """The frame's rows behind a table's cells (its cases x its backends): what --export writes."""
    rows = measured(df, measure, dtype)
    return rows[rows["row"].isin(times.index) & rows["backend"].isin(times.columns)]


def compared_as(measure):
    return vocabulary.MEASURE[measure].compared_as


# Columns whose cells are percentages: "a/b speedup", "a/b geomean memory saving", ...
PERCENT_COLUMNS = tuple(sorted({m.compared_as for m in vocabulary.MEASURES}))


def detailed(times, measure="latency"):
    out = times.copy()
    for a, b in pairs_for(times.columns):
        out[f"{a}/{b} {compared_as(measure)}"] = speedup_percent(times[a], times[b])
    return out


def average(times, ops, measure="latency"):
    """The reference's mean time per op (and speedups of those means), plus the geometric
    mean of the per-case speedup ratios, which one huge case cannot dominate."""
    means = times.groupby(ops, sort=False).mean()
    # The reference's mean is undefined where a backend lacks a case: keep it nan then.
    incomplete = times.isna().groupby(ops, sort=False).any()
    means = means.mask(incomplete)
    out = means.copy()
    for a, b in pairs_for(times.columns):
        out[f"{a}/{b} {compared_as(measure)}"] = speedup_percent(means[a], means[b])
    for a, b in pairs_for(times.columns):
        log_ratio = np.log(times[b] / times[a])
        geomean = np.exp(log_ratio.groupby(ops, sort=False).mean())
        out[f"{a}/{b} geomean {compared_as(measure)}"] = (geomean - 1) * 100
    out.index.name = None
    return out


def to_markdown(table, failed=None, formats=None):
    formats = formats or {}

    def cell(row, col, v):
        if col in formats:
            return formats[col](v)
        if col.endswith(PERCENT_COLUMNS):
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


# --- roofline ---------------------------------------------------------------------------

class Peaks:
    """The ceilings recorded by bench_peaks.Peak in the same results: copy bandwidth per
    device, matmul rate per device and dtype (float32 per precision setting)."""

    def __init__(self, df):
        peaks = df[(df["op"] == PEAK_CLASS) & (df["status"] == "ok")]
        self.values = {(r.method, r.backend): r.value for r in peaks.itertuples()}
        settings = df[(df["op"] == SETTINGS_CLASS) & (df["method"] == "track_tf32_allowed")]
        self.tf32 = {r.backend: r.value for r in settings.itertuples()}

    @staticmethod
    def group(backend):
        return "gpu" if vocabulary.BACKEND[backend].gpu else "cpu"

    def _best(self, method, backend, same_precision=False):
        found = [v for (m, b), v in self.values.items()
                 if m == method and self.group(b) == self.group(backend)
                 and (not same_precision or self.tf32.get(b) == self.tf32.get(backend))]
        return max(found, default=math.nan)

    def bandwidth(self, backend):
        """Bytes per second."""
        method = "track_copy_bandwidth"
        return self._best(method, backend) * vocabulary.FACT[(PEAK_CLASS, method)].base

    def rate(self, backend, dtype):
        """FLOP per second of a dense matmul in `dtype` (float32: at the same precision setting)."""
        method = f"track_matmul_{dtype}"
        return self._best(method, backend, same_precision=dtype == "float32") * vocabulary.FACT[(PEAK_CLASS, method)].base

    def describe(self, backends):
        lines = []
        for group in sorted({self.group(b) for b in backends}):
            members = [b for b in backends if self.group(b) == group]
            fp32 = {("TF32" if self.tf32.get(b) == 1 else "full FP32"): self.rate(b, "float32") for b in members}
            rates = ", ".join([f"float32 {v / MATMUL.base:.1f} ({mode})" for mode, v in sorted(fp32.items())]
                              + [f"{d} {self.rate(members[0], d) / MATMUL.base:.1f}" for d in vocabulary.REDUCED_DTYPES])
            lines.append(f"{group}: copy {self.bandwidth(members[0]) / BANDWIDTH.base:.0f} {BANDWIDTH.unit}; "
                         f"matmul {MATMUL.unit} {rates}")
        return lines


def case_cost(op, label, dtype, version):
    """(bytes, FLOPs) of a case by the cost model of the benchmark version that measured it;
    nan when that version is not today's (or the op is gone): no roofline then."""
    try:
        cost = catalog.cost(op, label, dtype, version=version)
    except (KeyError, ValueError):
        cost = None
    return (cost["bytes"], cost["flops"]) if cost else (math.nan, math.nan)


def roofline(df, measure="device", dtype="float32", backends=None):
    """One row per (case, backend) with a figure: time, bytes, FLOPs, achieved rates, and the
    share of the roofline (max(bytes / bandwidth, FLOPs / matmul rate) over the time)."""
    rows = measured(df, measure, dtype)
    rows = rows[rows["status"] == "ok"]
    if backends:
        rows = rows[rows["backend"].isin(backends)]
    peaks = Peaks(df)
    out = []
    for r in rows.itertuples():
        nbytes, flops = case_cost(r.op, r.case, dtype, r.version)
        seconds = r.value
        memory_time = nbytes / peaks.bandwidth(r.backend)
        compute_time = flops / peaks.rate(r.backend, dtype) if flops else 0.0
        bound = "-" if math.isnan(nbytes) else "compute" if compute_time > memory_time else "memory"
        out.append({"row": r.row, "backend": r.backend, "ms": seconds * 1e3, "MB": nbytes / 1e6,
                    "GFLOP": flops / 1e9 if flops else math.nan, BANDWIDTH.unit: nbytes / seconds / BANDWIDTH.base,
                    MATMUL.unit: flops / seconds / MATMUL.base if flops else math.nan, "bound": bound,
                    "% of peak": 100 * max(memory_time, compute_time) / seconds})
    return pd.DataFrame(out), peaks


ROOFLINE_FORMATS = {
    "ms": format_ms, "MB": lambda v: f"{v:.1f}", "GFLOP": lambda v: "-" if math.isnan(v) else f"{v:.2f}",
    BANDWIDTH.unit: lambda v: f"{v:.1f}", MATMUL.unit: lambda v: "-" if math.isnan(v) else f"{v:.2f}",
    "bound": str, "% of peak": lambda v: "nan" if math.isnan(v) else f"{v:.0f}%",
}


# --- side by side: machines or environments ---------------------------------------------

def side_by_side(frames, labels, backend, measure, dtype):
    """One column per result set (machine or environment) for one backend, with each
    column's speedup against the first."""
    columns = []
    for df, label in zip(frames, labels):
        rows = measured(df, measure, dtype)
        rows = rows[rows["backend"] == backend]
        series = rows.set_index("row")["value"] * vocabulary.MEASURE[measure].shown_scale
        columns.append(series[~series.index.duplicated()].rename(label))
    table = pd.concat(columns, axis=1)
    if table.dropna(how="all").empty:
        raise ToolError(f"no figures for backend {backend!r} ({measure}, {dtype}) in these results")
    first = labels[0]
    for label in labels[1:]:
        table[f"{label}/{first} {compared_as(measure)}"] = speedup_percent(table[label], table[first])
    return table


def short_labels(names):
    """Environment names without the parts they share: asv's names of two releases'
    environments differ only in the versions (virtualenv-py3.11-mlx0.31.2-...-torch2.13.0)."""
    parts = [n.split("-") for n in names]
    head = 0
    while all(len(p) > head + 1 for p in parts) and len({p[head] for p in parts}) == 1:
        head += 1
    tail = 0
    while all(len(p) > head + tail + 1 for p in parts) and len({p[-1 - tail] for p in parts}) == 1:
        tail += 1
    labels = ["-".join(p[head:len(p) - tail]) for p in parts]
    return labels if len(set(labels)) == len(labels) else names


# --- the command ------------------------------------------------------------------------

def parse_args(argv):
    p = parser("tools.tables", __doc__)
    add_results_options(p)
    p.add_argument("--measure", choices=[m.name for m in vocabulary.MEASURES],
                   help="latency: one call and its barrier (the default); device: device time per call "
                        "of a batch (the default of --roofline)")
    p.add_argument("--dtypes", "--dtype", type=names_of("dtype(s)", vocabulary.DTYPES), default=["float32"],
                   help="comma-separated dtypes of the cases shown, tables for each (default float32)")
    p.add_argument("--ops", type=comma_list, help="comma-separated ops to show, any letter case (default: all)")
    p.add_argument("--backends", type=names_of("backend(s)", vocabulary.BACKEND_NAMES),
                   help="comma-separated backends to show (default: every one that ran)")
    p.add_argument("--roofline", action="store_true",
                   help="bytes, FLOPs, GB/s, TFLOP/s and %% of the measured peak per case (device time unless --measure latency)")
    p.add_argument("--machines", type=names_of_machines,
                   help="comma-separated machines side by side (latest results of each); needs --backend")
    p.add_argument("--envs", type=distinct_list("environment"),
                   help="comma-separated asv environments side by side (e.g. two releases); needs --backend")
    p.add_argument("--backend", choices=vocabulary.BACKEND_NAMES, help="the backend shown by --machines / --envs")
    p.add_argument("--markdown", metavar="FILE", help="also write the Markdown tables to FILE (folders created)")
    p.add_argument("--csv", metavar="DIR", help="also write the tables as CSV files into DIR (created if missing)")
    add_export_option(p)
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    args = p.parse_args(argv)
    args.measure_chosen = args.measure is not None
    args.measure = args.measure or ("device" if args.roofline else "latency")
    if args.force and not (args.markdown or args.csv or args.export):
        raise ToolError("--force only applies to --markdown, --csv or --export output; add one of them or drop --force")
    if args.machines and args.envs:
        raise ToolError("--machines and --envs are two different views; choose one")
    if (args.machines or args.envs) and not args.backend:
        raise ToolError("--machines / --envs show one backend: add --backend, e.g. --backend mlx_gpu")
    if args.backend and not (args.machines or args.envs):
        raise ToolError("--backend goes with --machines or --envs; to pick columns use --backends")
    if args.machines and args.machine:
        raise ToolError("--machines already names the machines; drop --machine")
    if args.envs and args.env:
        raise ToolError("--envs already names the environments; drop --env")
    if args.roofline and (args.machines or args.envs):
        raise ToolError("--roofline shows one result set; drop --machines / --envs")
    if args.csv and os.path.exists(args.csv) and not os.path.isdir(args.csv):
        raise ToolError(f"--csv {args.csv} is not a folder; name a folder (it is created if missing)")
    if args.markdown and args.csv and os.path.dirname(os.path.abspath(args.markdown)) == os.path.abspath(args.csv) \
            and os.path.basename(args.markdown).endswith(".csv"):
        raise ToolError(f"--markdown {args.markdown} would sit among the CSV files --csv {args.csv} writes; choose another name")
    return args


def distinct_list(what):
    def parse(text):
        names = comma_list(text)
        if len(names) < 2:
            raise ToolError(f"name at least two {what}s, separated by commas")
        if len(set(names)) < len(names):
            raise ToolError(f"{text!r} names one {what} twice; name each once")
        return names
    return parse


def names_of_machines(text):
    return [machine_name(m) for m in distinct_list("machine")(text)]


class Report:
    """Markdown text, the CSV files and the figures shown (frame rows with the result set
    they came from, for --export) of one invocation."""

    def __init__(self, lines, csv, shown=()):
        self.lines, self.csv, self.shown = lines, csv, list(shown)

    def markdown(self):
        return "\n".join(self.lines) + "\n"


class Tables(Report):
    """The reference layout: detailed and average tables of one result set."""

    def __init__(self, selection, df, detailed, average, failed, not_run, measure="latency", dtype="float32",
                 shown=()):
        self.selection, self.df, self.detailed, self.average = selection, df, detailed, average
        self.failed, self.not_run, self.measure, self.dtype = failed, not_run, measure, dtype
        super().__init__(self._lines(), {"detailed.csv": detailed, "average.csv": average}, shown)

    def failed_cases(self):
        stacked = self.failed.stack()
        return [f"{row} on {backend}" for (row, backend), bad in stacked.items() if bad]

    def _lines(self):
        s = self.selection
        what = vocabulary.MEASURE[self.measure].shown_unit
        lines = [f"Results: machine {s.machine}, commit {s.commit[:8]}, environment {s.env}"
                 + ("" if self.dtype == "float32" else f", dtype {self.dtype}")]
        if self.not_run:
            lines.append(f"Interrupted run: {len(self.not_run)} planned case(s) never ran (listed below).")
        lines += ["", f"Detailed benchmark ({what}):", to_markdown(self.detailed, self.failed), "",
                  "Average benchmark:", to_markdown(self.average), ""]
        lines.append(f"{FAILED}: the case raised or timed out on that backend (asv's log has the reason); "
                     "nan: no figure (backend absent or skipped, the case failed, or it never ran).")
        lines += settings_lines(self.df)
        failed = self.failed_cases()
        if failed:
            lines.append(f"Failed ({len(failed)}): " + "; ".join(failed))
        if self.not_run:
            lines.append(f"Not run ({len(self.not_run)}): " + "; ".join(self.not_run))
        return lines


def reference(selection, df, measure="latency", dtype="float32"):
    """The reference layout of one result set's frame: detailed and average tables."""
    times, ops, failed = times_ms(df, measure, dtype)
    if times.empty:
        raise ToolError(f"{selection.path} has no {measure} figures in {dtype}: every backend was skipped "
                        "(or the measure was not run)")
    tables = Tables(selection, df, detailed(times, measure), average(times, ops, measure), failed, not_run(selection), measure, dtype,
                    [(shown_rows(df, times, measure, dtype), selection)])
    hidden = measured(df, measure, dtype)["row"].nunique() - len(times)
    if hidden:
        tables.lines.append(f"Not shown: {hidden} case(s) without a figure on any backend "
                            "(the other profile's shapes, or skipped everywhere).")
    return tables


def wanted_methods(args):
    """What a results file must hold to be shown: device time for the roofline."""
    return {vocabulary.MEASURE["device"].method} if args.roofline else methods_for(args.measure)


def load(args, machine=None, env=None):
    selection = select(results_dir(args), machine if machine is not None else args.machine, args.commit,
                       env if env is not None else args.env, methods=wanted_methods(args))
    return selection, filter_ops(frame(selection), args.ops)


def check_backends(df, wanted):
    known = set(df["backend"].dropna())
    unknown = [b for b in wanted if b not in known]
    if unknown:
        raise ToolError(f"unknown backend(s) {', '.join(unknown)}; these results have: {', '.join(sorted(known))}")


def has_timings(df, measure, dtype):
    return ((df["method"] == vocabulary.MEASURE[measure].method) & (df["dtype"] == dtype)
            & (df["status"] != "skipped")).any()


def build(args, dtype="float32"):
    """The report of one dtype; without --measure, device time for results that have no
    latency (a run that measured device time only)."""
    if args.machines or args.envs:
        return build_side_by_side(args, dtype)
    selection, df = load(args)
    wanted = args.backends or []
    check_backends(df, wanted)
    measure = args.measure
    if not args.measure_chosen and not has_timings(df, measure, dtype) and has_timings(df, "device", dtype):
        measure = "device"
    if args.roofline:  # the peaks of every backend of a device set its ceilings
        return build_roofline(args, selection, df, wanted, dtype, measure)
    if wanted:
        df = df[df["backend"].isin(wanted)]
    report = reference(selection, df, measure, dtype)
    if measure != args.measure:
        report.lines.insert(1, f"(no {args.measure} timings in these results: device time shown)")
    return report


def build_roofline(args, selection, df, wanted, dtype, measure):
    table, peaks = roofline(df, measure, dtype, wanted)
    if table.empty:
        raise ToolError(f"{selection.path} has no {measure} timings in {dtype} to place on the roofline")
    backends = [b for b in BACKEND_ORDER if b in set(table["backend"])] + sorted(
        set(table["backend"]) - set(BACKEND_ORDER))
    s = selection
    lines = [f"Results: machine {s.machine}, commit {s.commit[:8]}, environment {s.env}, "
             f"{dtype}, {measure} time", "",
             "Measured peaks (bench_peaks.Peak, best backend of the device): " + "; ".join(peaks.describe(backends)),
             "MB: minimum bytes moved (inputs read once, result written once); GFLOP: matrix products only; "
             "% of peak: the roofline time max(bytes / bandwidth, FLOPs / matmul rate) over the measured time."]
    for backend in backends:
        part = table[table["backend"] == backend].set_index("row").drop(columns="backend")
        lines += ["", f"Roofline on {backend}:", to_markdown(part, formats=ROOFLINE_FORMATS)]
    if table["% of peak"].isna().all():
        lines += ["", "No peaks in these results (bench_peaks.Peak did not run): % of peak is nan."]
    # exported: each placed case's figure with its roofline columns (its time is the value)
    placed = measured(df, measure, dtype).merge(table.drop(columns="ms"), on=["row", "backend"])
    return Report(lines, {"roofline.csv": table.set_index("row")}, [(placed, selection)])


def build_side_by_side(args, dtype):
    kind = "machine" if args.machines else "environment"
    return side_by_side_report(results_dir(args), kind, args.machines or args.envs, args.backend, args.measure,
                               dtype, machine=args.machine, commit=args.commit, ops=args.ops)


def side_by_side_report(folder, kind, names, backend, measure="latency", dtype="float32",
                        machine=None, commit=None, ops=None):
    """One backend's figures with a column per machine or per environment (`kind`)."""
    loaded = []
    for name in names:
        selection = select(folder, name if kind == "machine" else machine, commit, name if kind != "machine" else None)
        loaded.append((selection, filter_ops(frame(selection), ops)))
    labels = names if kind == "machine" else short_labels(names)
    for _, df in loaded:
        check_backends(df, [backend])
    table = side_by_side([df for _, df in loaded], labels, backend, measure, dtype)
    lines = [f"{backend}, {vocabulary.MEASURE[measure].shown_unit}, {dtype}: one column per {kind} (results in {folder})"]
    lines += [f"- {label}: machine {s.machine}, commit {s.commit[:8]}, environment {s.env}"
              for label, (s, _) in zip(labels, loaded)]
    lines += ["", to_markdown(table)]
    shown = []
    for s, df in loaded:
        rows = measured(df, measure, dtype)
        shown.append((rows[(rows["backend"] == backend) & rows["row"].isin(table.index)], s))
    return Report(lines, {f"{kind}s.csv": table}, shown)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    reports = [(dtype, build(args, dtype)) for dtype in args.dtypes]
    text = "\n".join(report.markdown() for _, report in reports)
    outputs = []
    if args.csv:  # detailed.csv, and detailed-bfloat16.csv for another dtype
        outputs += [(os.path.join(args.csv, name if dtype == "float32" else name.replace(".csv", f"-{dtype}.csv")),
                     table.to_csv(index_label="Operation", float_format="%.6g"))
                    for dtype, report in reports for name, table in report.csv.items()]
    if args.markdown:
        outputs.append((args.markdown, text))
    if args.export:
        outputs.append((args.export, tidy.serialize(
            tidy.tidy_all(part for _, report in reports for part in report.shown), args.export)))
    for path, _ in outputs:  # every target before writing any, or creating a folder
        check_new_file(path, args.force)
    for path, _ in outputs:
        make_folder(os.path.dirname(os.path.abspath(path)))
    for path, content in outputs:
        write_atomically(path, content, force=args.force)
    sys.stdout.write(text)
    return 0


def make_folder(folder):
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ToolError(f"cannot create folder {folder} ({exc.strerror}); choose another place") from None


if __name__ == "__main__":
    sys.exit(main())
