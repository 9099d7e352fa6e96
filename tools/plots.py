"""Charts of asv results (matplotlib, Agg; PNG and SVG): `pip install '.[plots]'`.

    python -m tools.plots bars --machine h100 --out charts/          # per op: backends' times per case
    python -m tools.plots speedup --machine h100 --pairs mlx_gpu/cuda --out charts/
    python -m tools.plots roofline --machine h100 --backends cuda --out charts/
    python -m tools.plots roofline --machine h100 --table old/roofline.csv --out charts/  # older versions
    python -m tools.plots machines --machines m2-max,h100 --out charts/  # per op: backends across machines
    python -m tools.plots bars --machine h100 --measure memory --out charts/  # peak memory, MiB
    python -m tools.plots bars --machine h100 --out charts/ --export charts/bars.csv  # and the figures drawn
    python -m tools.plots trend --machine h100 --op Softmax --out charts/   # one op across commits / envs

Figures are the median of asv's samples, in the unit tools.tables shows them in (declared
with the measures in benchmarks/harness/vocabulary.py); `--measure` picks latency (the
default, milliseconds), device time (milliseconds) or peak memory (MiB beyond the inputs;
bars, machines and trend charts), as in tools.tables, whose tables these charts draw. Files
are named `<chart>-<measure>-<dtype>.<format>` inside `--out` (created if missing).
"""

import argparse
import io
import math
import os
import sys

import numpy as np
import pandas as pd

try:  # optional (the `plots` extra): the tool says how to install it
    from matplotlib import colormaps, rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
except ImportError:
    Figure = None

from benchmarks.harness.vocabulary import BACKEND_NAMES, MEASURE, MEASURES, TIMED_MEASURES
from . import tidy
from .cli import (ToolError, add_case_options, add_export_option, add_results_options, check_new_file, check_outputs,
                  comma_list, main_guard, names_of, parser, results_dir, write_atomically)
from .results import Selection, frame, load_all, machines as known_machines, methods_for, select
from .tables import (BANDWIDTH, MATMUL, Peaks, average, check_backends, filter_ops, pairs_for, roofline as roofline_table,
                     short_labels, shown_rows, times_ms)

CHARTS = ("bars", "speedup", "roofline", "machines", "trend")
# Charts of times (rates against ceilings, "faster"): other measures are drawn by the rest.
TIMED_CHARTS = ("speedup", "roofline")
# Charts whose bars and points are figures of the results (the others draw ratios and rates).
EXPORTED_CHARTS = ("bars", "machines", "trend")
FORMATS = ("png", "svg")
# A backend keeps its colour in every chart.
PALETTE = "tab10"
# Cases whose times differ by this factor or more get a log axis.
DECADE = 10.0
GRID_COLUMNS = 4


def new_figure(width, height):
    if Figure is None:
        raise ToolError("matplotlib is not installed; pip install '.[plots]' (or: pip install matplotlib)")
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # Agg without pyplot: no global state, no display needed
    return fig


def colour(backend):
    index = BACKEND_NAMES.index(backend) if backend in BACKEND_NAMES else len(BACKEND_NAMES)
    return colormaps[PALETTE](index % colormaps[PALETTE].N)


def spans_decades(values):
    finite = np.asarray([v for v in np.ravel(values) if v is not None and np.isfinite(v) and v > 0])
    return finite.size > 1 and finite.max() / finite.min() >= DECADE


def log_if_decades(ax, table):
    if spans_decades(table.to_numpy(dtype=float)):
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(NullFormatter())  # labels on every minor tick crowd the axis


def _grid(names, width, height):
    """One axes per name, in a grid; unused cells hidden."""
    columns = min(GRID_COLUMNS, len(names))
    rows = math.ceil(len(names) / columns)
    fig = new_figure(width * columns, height * rows)
    cells = list(fig.subplots(rows, columns, squeeze=False).ravel())
    for unused in cells[len(names):]:
        unused.set_visible(False)
    return fig, cells[:len(names)]


def grouped_bars(ax, table, failed=None):
    """Rows of `table` as groups along x, one bar per column (a backend) in each group."""
    positions = np.arange(len(table.index))
    width = 0.8 / max(1, len(table.columns))
    for i, backend in enumerate(table.columns):
        x = positions + (i - (len(table.columns) - 1) / 2) * width
        ax.bar(x, table[backend].to_numpy(dtype=float), width, label=backend, color=colour(backend))
        if failed is not None and backend in failed.columns:
            for xi, bad in zip(x, failed[backend].reindex(table.index, fill_value=False)):
                if bad:
                    ax.annotate("err", (xi, 0), xycoords=("data", "axes fraction"), ha="center",
                                va="bottom", fontsize=7, color="red", rotation=90)
    ax.set_xticks(positions, [str(i) for i in table.index], rotation=30, ha="right", fontsize=7)
    log_if_decades(ax, table)


def _legend(fig, cells, title):
    """One legend for the grid, under the chart's title."""
    handles, labels = cells[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=min(len(labels), 9), frameon=False,
               title=title, title_fontsize=11)


def no_figures(measure, dtype, what=""):
    return ToolError(f"no {measure} figures{what} in {dtype} to draw")


def bars(df, measure="latency", dtype="float32", title=""):
    """Per op, grouped bars of the backends' figures per case in the measure's shown unit
    (ms, MiB); log axis where the op's cases span a decade or more."""
    times, ops, failed = times_ms(df, measure, dtype)
    if times.empty:
        raise no_figures(measure, dtype)
    ops = ops.reindex(times.index)  # cases without any figure (the other profile's labels) are left out
    names = list(dict.fromkeys(ops))
    fig, cells = _grid(names, 4.6, 3.4)
    for ax, op in zip(cells, names):
        rows = ops.index[ops == op]
        part = times.loc[rows]
        part.index = [row.split(" / ", 1)[1] for row in rows]
        grouped_bars(ax, part, failed.loc[rows].set_axis(part.index))
        ax.set_title(op, fontsize=10)
        ax.set_ylabel(MEASURE[measure].shown_unit, fontsize=8)
    _legend(fig, cells, title)
    return fig


def machines(frames, measure="latency", dtype="float32", backends=None, title=""):
    """Per op, the backends' mean figure over the op's cases, side by side across result
    sets (the seed project's chart: one chart per op, bars per backend, across machines).
    `frames`: {label: results frame}."""
    means = {}
    for label, df in frames.items():
        times, ops, _ = times_ms(df, measure, dtype)
        if backends:
            times = times[[b for b in backends if b in times.columns]]
        means[label] = average(times, ops)[list(times.columns)]
    names = list(dict.fromkeys(op for table in means.values() for op in table.index))
    if not names:
        raise no_figures(measure, dtype)
    shown = [b for b in BACKEND_NAMES if any(b in t.columns for t in means.values())]
    fig, cells = _grid(names, 3.6, 3.0)
    for ax, op in zip(cells, names):
        table = pd.DataFrame({label: t.loc[op] for label, t in means.items() if op in t.index}).T
        grouped_bars(ax, table.reindex(index=list(means), columns=shown))
        ax.set_title(op, fontsize=10)
        ax.set_ylabel(f"mean {MEASURE[measure].shown_unit}", fontsize=8)
    _legend(fig, cells, title)
    return fig


def speedup_ratios(times, ops, pair):
    """Per case t_b / t_a for pair (a, b) (> 1: a is faster), and per op their geometric mean."""
    a, b = pair
    ratios = (times[b] / times[a]).replace([np.inf, -np.inf], np.nan).dropna()
    geomean = np.exp(np.log(ratios).groupby(ops.reindex(ratios.index), sort=False).mean())
    return ratios, geomean


def speedup(df, pairs, measure="latency", dtype="float32", title=""):
    """Per backend pair (a, b): per op, the geometric mean of t_b / t_a as a bar from 1
    (right of 1: a is faster), each case's ratio as a dot over it."""
    times, ops, _ = times_ms(df, measure, dtype)
    missing = sorted({b for pair in pairs for b in pair} - set(times.columns))
    if missing:
        raise ToolError(f"no {measure} timings in {dtype} on {', '.join(missing)}; "
                        f"these results have: {', '.join(times.columns)}")
    fig = new_figure(5.5 * len(pairs), 0.3 * len(set(ops)) + 1.5)
    for ax, pair in zip(fig.subplots(1, len(pairs), squeeze=False)[0], pairs):
        ratios, geomean = speedup_ratios(times, ops, pair)
        if geomean.empty:
            raise ToolError(f"{pair[0]} and {pair[1]} share no case with a figure")
        names = list(geomean.index)
        y = np.arange(len(names))
        ax.barh(y, geomean.to_numpy() - 1, left=1, color=colour(pair[0]), alpha=0.6, label="geomean")
        case_y = ops.reindex(ratios.index).map({op: i for i, op in enumerate(names)})
        ax.scatter(ratios.to_numpy(), case_y.to_numpy(), s=9, color="black", zorder=3, label="case")
        ax.axvline(1, color="grey", linewidth=0.8)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))  # ratios rarely span decades
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yticks(y, names, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"{pair[0]} vs {pair[1]}", fontsize=10)
        ax.set_xlabel(f"time on {pair[1]} / time on {pair[0]}  (> 1: {pair[0]} faster)", fontsize=8)
    fig.suptitle(title, fontsize=11)
    return fig


def roofline(df, measure="device", dtype="float32", backends=None, title="", table=None):
    """Per backend, each case's achieved rate as a dot on its op's row, against the ceiling
    that bounds it in the tables' roofline: TFLOP/s against the measured matmul rate for
    compute-bound cases, GB/s against the measured copy bandwidth for the others.
    `table`: the tables' roofline rows as `tools.tables --roofline --csv` wrote them, for
    results the tools no longer cost (another benchmark version); the ceilings still come
    from the results' own Peak."""
    if table is None:
        table, peaks = roofline_table(df, measure, dtype, backends)
    else:
        peaks = Peaks(df)
        table = table[table["backend"].isin(backends)] if backends else table
    table = table[table["bound"].isin(["compute", "memory"])] if not table.empty else table
    if table.empty:
        raise ToolError(f"no {measure} timings in {dtype} with a known cost to place on the roofline "
                        "(results of an older benchmark version: pass their roofline.csv with --table)")
    table["op"] = table["row"].str.split(" / ").str[0]
    shown = [b for b in BACKEND_NAMES if b in set(table["backend"])]
    kinds = [("compute", MATMUL.unit, lambda b: peaks.rate(b, dtype) / MATMUL.base, "matmul"),
             ("memory", BANDWIDTH.unit, lambda b: peaks.bandwidth(b) / BANDWIDTH.base, "copy")]
    rows = [max(1, table.loc[table["bound"] == bound, "op"].nunique()) for bound, *_ in kinds]
    fig = new_figure(5.0 * len(shown), 0.22 * sum(rows) + 2.5)
    grid = fig.add_gridspec(2, len(shown), height_ratios=rows)
    for j, backend in enumerate(shown):
        for i, (bound, unit, ceiling, source) in enumerate(kinds):
            ax = fig.add_subplot(grid[i, j])
            part = table[(table["backend"] == backend) & (table["bound"] == bound)]
            names = list(dict.fromkeys(part["op"]))
            ax.scatter(part[unit], part["op"].map({op: k for k, op in enumerate(names)}), s=14, color=colour(backend), zorder=3)
            ax.set_yticks(range(len(names)), names, fontsize=7)
            ax.set_ylim(max(len(names), 1) - 0.5, -0.5)
            peak = ceiling(backend)
            if math.isfinite(peak):
                ax.axvline(peak, color="red", linestyle="--", label=f"measured {source}: {peak:.0f} {unit}")
                ax.legend(fontsize=7, loc="lower right")
            ax.set_xlim(left=0)
            ax.set_xlabel(f"achieved {unit}", fontsize=8)
            ax.set_title(f"{backend}: {bound}-bound cases", fontsize=9)
    fig.suptitle(title, fontsize=11)
    return fig


def trend(series, op, measure="latency", dtype="float32", backends=None, title=""):
    """One op's cases across result sets (commits or environments), one axes per backend,
    one line per case. `series`: {label: results frame}, in the order to draw."""
    per_backend = {}
    for label, df in series.items():
        times, ops, _ = times_ms(df[df["op"] == op], measure, dtype)
        for backend in times.columns:
            if not backends or backend in backends:
                per_backend.setdefault(backend, {})[label] = times[backend]
    if not per_backend:
        raise no_figures(measure, dtype, f" of {op}")
    shown = [b for b in BACKEND_NAMES if b in per_backend]
    fig, cells = _grid(shown, 5.0, 3.6)
    labels = list(series)
    for ax, backend in zip(cells, shown):
        table = pd.DataFrame(per_backend[backend]).reindex(columns=labels)
        for row, values in table.iterrows():
            ax.plot(range(len(labels)), values.to_numpy(dtype=float), marker="o", label=row.split(" / ", 1)[1])
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=7)
        log_if_decades(ax, table)
        ax.set_title(f"{op} on {backend}", fontsize=10)
        ax.set_ylabel(MEASURE[measure].shown_unit, fontsize=8)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=11)
    return fig


# --- output -----------------------------------------------------------------------------

def render(fig, fmt):
    """The figure's bytes; SVG without a date and with fixed ids, so re-drawing the same
    results gives the same file."""
    buffer = io.BytesIO()
    with rc_context({"svg.hashsalt": "mlx-torch-bench"}):
        fig.savefig(buffer, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()


def save(figures, folder, formats=FORMATS, force=False):
    """Write {name: figure} as `folder/name.<format>`; every target is checked before any
    is written, each file atomically."""
    outputs = [(os.path.join(folder, f"{name}.{fmt}"), fig, fmt) for name, fig in figures.items() for fmt in formats]
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise ToolError(f"--out {folder} is not a folder; pass a folder")
    if os.path.isdir(folder):
        check_outputs([path for path, _, _ in outputs], force)
    rendered = [(path, render(fig, fmt)) for path, fig, fmt in outputs]
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ToolError(f"cannot create folder {folder} ({exc.strerror})") from None
    for path, content in rendered:
        write_atomically(path, content, force=force)
    return [path for path, _ in rendered]


# --- the command ------------------------------------------------------------------------

def parse_pairs(text):
    pairs = []
    for item in comma_list(text):
        a, sep, b = item.partition("/")
        if not sep or a not in BACKEND_NAMES or b not in BACKEND_NAMES or a == b:
            raise argparse.ArgumentTypeError(
                f"{item!r}: expected A/B with two different backends of: {', '.join(BACKEND_NAMES)}")
        pairs.append((a, b))
    return pairs


def parse_args(argv):
    p = parser("tools.plots", __doc__)
    p.add_argument("chart", choices=CHARTS)
    add_results_options(p)
    add_case_options(p, "comma-separated backends to draw (default: every one that ran)", dtypes_default=["float32"])
    p.add_argument("--machines", type=comma_list, help="machines chart: comma-separated machines")
    p.add_argument("--commits", type=comma_list, help="trend: comma-separated commit prefixes (default: every one)")
    p.add_argument("--envs", type=comma_list, help="trend: comma-separated environments (default: every one)")
    p.add_argument("--op", help="trend: the op drawn, any letter case")
    p.add_argument("--ops", type=comma_list, help="comma-separated ops to draw, any letter case (default: all)")
    p.add_argument("--measure", choices=[m.name for m in MEASURES],
                   help="latency (the default), device time per call (the default of roofline) or peak memory "
                        f"(charts {', '.join(c for c in CHARTS if c not in TIMED_CHARTS)})")
    p.add_argument("--pairs", type=parse_pairs, help="speedup: comma-separated A/B backend pairs (default: the tables' pairs)")
    p.add_argument("--table", metavar="CSV", help="roofline: the rows from a roofline.csv of tools.tables "
                   "(results of an older benchmark version), ceilings from the results")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the image files (created if missing)")
    p.add_argument("--formats", type=names_of("format(s)", FORMATS), default=list(FORMATS),
                   help="comma-separated: png, svg (default both)")
    add_export_option(p)
    p.add_argument("--force", action="store_true", help="overwrite existing image files (and the --export file)")
    args = p.parse_args(argv)
    if args.export and args.chart not in EXPORTED_CHARTS:
        p.error(f"--export goes with the {', '.join(EXPORTED_CHARTS)} charts, whose figures are the results'")
    args.measure = args.measure or ("device" if args.chart == "roofline" else "latency")
    if args.chart in TIMED_CHARTS and args.measure not in TIMED_MEASURES:
        p.error(f"the {args.chart} chart is of times: --measure {' or '.join(TIMED_MEASURES)}")
    if (args.chart == "machines") != bool(args.machines):
        p.error("--machines goes with the machines chart, which needs it")
    if (args.chart == "trend") != bool(args.op):
        p.error("--op goes with the trend chart, which needs it, e.g. --op Softmax")
    if (args.commits or args.envs) and args.chart != "trend":
        p.error("--commits / --envs go with the trend chart")
    if args.table and (args.chart != "roofline" or len(args.dtypes) != 1):
        p.error("--table goes with the roofline chart of one dtype, the table's")
    if args.pairs and args.chart != "speedup":
        p.error("--pairs goes with the speedup chart")
    return args


def read_roofline_csv(path):
    """A roofline CSV of tools.tables, its row labels under "row" as tables.roofline names them."""
    try:
        table = pd.read_csv(path).rename(columns={"Operation": "row"})
    except (OSError, ValueError) as exc:
        raise ToolError(f"cannot read roofline table {path} ({str(exc).splitlines()[0]})") from None
    missing = {"row", "backend", BANDWIDTH.unit, MATMUL.unit, "bound"} - set(table.columns)
    if missing:
        raise ToolError(f"{path} is not a roofline CSV of tools.tables (no {', '.join(sorted(missing))} column)")
    return table


def result_sets(folder, machine, commits, envs):
    """Every results file of `machine` (or those of the given commits / environments), oldest
    commit first, labelled by what differs between them."""
    found = [Selection(machine, r.commit_hash, r.env_name, path, r) for path, r in load_all(folder, machine)]
    for wanted, known, what in ((commits, {s.commit for s in found}, "commit"), (envs, {s.env for s in found}, "environment")):
        for w in wanted or []:
            if not any(k.startswith(w) if what == "commit" else k == w for k in known):
                raise ToolError(f"no results of machine {machine} for {what} {w!r}; known: {', '.join(sorted(known))}")
    found = [s for s in found if (not commits or any(s.commit.startswith(c) for c in commits))
             and (not envs or s.env in envs)]
    found.sort(key=lambda s: (s.results.date or 0, max(s.results.started_at.values(), default=0)))
    commit_labels = [s.commit[:8] for s in found]
    env_labels = short_labels([s.env for s in found])
    if len(set(env_labels)) == 1:
        labels = commit_labels
    elif len(set(commit_labels)) == 1:
        labels = env_labels
    else:
        labels = [f"{c} {e}" for c, e in zip(commit_labels, env_labels)]
    return dict(zip(labels, found))


def charts(args, drawn=None):
    """{file name: figure} for the invocation: one chart per dtype asked for; `drawn`, a
    list, receives the (frame rows, selection) behind the figures drawn."""
    folder = results_dir(args)
    made = {}
    for dtype in args.dtypes:
        made.update(chart(args, folder, dtype, [] if drawn is None else drawn))
    return made


def drawn_rows(df, measure, dtype, backends=None):
    """The frame's rows behind a chart's bars or points (its cases x its backends)."""
    times = times_ms(df, measure, dtype)[0]
    return shown_rows(df, times[[b for b in times.columns if not backends or b in backends]], measure, dtype)


def chart(args, folder, dtype, drawn):
    measure, wanted = args.measure, args.backends or []
    name = f"{args.chart}-{measure}-{dtype}"
    if args.chart == "machines":
        selections = {m: select(folder, m, methods=methods_for(measure)) for m in args.machines}
        frames = {m: filter_ops(frame(s), args.ops or []) for m, s in selections.items()}
        for m, df in frames.items():
            check_backends(df, wanted)
            drawn.append((drawn_rows(df, measure, dtype, wanted), selections[m]))
        return {name: machines(frames, measure, dtype, wanted,
                               f"{measure}, {dtype}: mean per op; machines {', '.join(frames)}")}
    if args.chart == "trend":
        machine = args.machine or select(folder).machine
        if machine not in known_machines(folder):
            raise ToolError(f"unknown machine {machine!r}; results exist for: {', '.join(known_machines(folder))}")
        sets = result_sets(folder, machine, args.commits, args.envs)
        frames = {label: frame(s) for label, s in sets.items()}
        ops = {op.lower(): op for df in frames.values() for op in df["op"]}
        op = ops.get(args.op.lower())
        if op is None:
            raise ToolError(f"unknown op {args.op!r}; these results have: {', '.join(sorted(ops.values()))}")
        drawn += [(drawn_rows(frames[label][frames[label]["op"] == op], measure, dtype, wanted), s)
                  for label, s in sets.items()]
        return {f"trend-{op}-{measure}-{dtype}":
                trend(frames, op, measure, dtype, wanted, f"{op}, {measure}, {dtype}: machine {machine}")}
    selection = select(folder, args.machine, args.commit, args.env, methods=methods_for(measure))
    df = filter_ops(frame(selection), args.ops or [])
    check_backends(df, wanted)
    title = f"machine {selection.machine}, commit {selection.commit[:8]}, {measure}, {dtype}"
    if args.chart == "roofline":
        table = read_roofline_csv(args.table) if args.table else None
        if args.table:
            title += f", costs from {os.path.basename(args.table)}"
        return {name: roofline(df, measure, dtype, wanted, title, table)}
    if wanted:
        df = df[df["backend"].isin(wanted)]
    if args.chart == "bars":
        drawn.append((drawn_rows(df, measure, dtype), selection))
        return {name: bars(df, measure, dtype, title)}
    pairs = args.pairs or pairs_for(list(times_ms(df, measure, dtype)[0].columns))
    if not pairs:
        raise ToolError("no known backend pair among these results' backends; name one with --pairs A/B")
    return {name: speedup(df, pairs, measure, dtype, title)}


@main_guard
def main(argv=None):
    args = parse_args(argv)
    if args.export:
        check_new_file(args.export, args.force)
    drawn = []
    for path in save(charts(args, drawn), args.out, args.formats, args.force):
        print(path)
    if args.export:
        tidy.write(tidy.tidy_all(drawn), args.export, args.force)
        print(args.export)
    return 0


if __name__ == "__main__":
    sys.exit(main())
