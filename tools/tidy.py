"""Results as one long, tidy table, a row per figure, written as CSV or JSON.

    python -m tools.tidy --machine h100 --out h100.csv                   # the latest run of h100
    python -m tools.tidy --machine h100 --commit 3a3b369d --out out/h100.json

Columns: machine, commit, date (the commit's, UTC), environment, mlx and torch (the versions
the results record: asv's environment requirements; empty for an existing interpreter), op,
case (the tables' label), shapes, axis, backend, dtype, measure, value, unit, q25, q75 and
samples (how many the value is the median of), then whatever else the frame carried
(status: ok, failed, skipped). Values are in the unit named beside them, as asv recorded
them (seconds for times, bytes for memory). The format follows the file's extension; the
folder is created.

The tools that show figures (tables, plots, compare, noise, fidelity) write the same table
of what they showed with `--export FILE`; compare and noise add the first result set's
columns (base_*, ratio; compare its verdict, noise its delta), fidelity its reference
measurements (the ADDED columns below).
"""

import json
import os
import sys

import pandas as pd

from benchmarks.harness.inputs import parse_label
from benchmarks.harness.vocabulary import MEASURE_OF_METHOD, unit_of
from .cli import (EXPORT_FORMATS, ToolError, add_results_options, check_new_file, export_file, main_guard, parser,
                  results_dir, write_atomically)
from .results import frame, select

# The columns and their pandas types: what `read` restores from either format.
SCHEMA = {
    "machine": "string", "commit": "string", "date": "string", "environment": "string",
    "mlx": "string", "torch": "string", "op": "string", "case": "string", "shapes": "string",
    "axis": "Int64", "backend": "string", "dtype": "string", "measure": "string", "value": "float64",
    "unit": "string", "q25": "float64", "q75": "float64", "samples": "Int64",
}
# Columns of a results frame that the schema's columns replace.
CONSUMED = {"method", "row"}
# What the tools that compare two result sets add (tools.compare: base and head; tools.noise:
# run 1 and run 2): the row describes the second set, these columns the first, its figure
# and the second's over it.
PAIR = {"base_machine": "string", "base_commit": "string", "base_environment": "string",
        "base_value": "float64", "ratio": "float64"}
# tools.compare: the gate's decision (tools/gate.py): the ratio's interval, the rank test's p,
# the verdict, latency's ratio beside it and the confirm pass's medians, per side.
VERDICT = {"low": "float64", "high": "float64", "p": "float64", "verdict": "string", "latency_ratio": "float64",
           "confirm_base": "float64", "confirm_head": "float64"}
# tools.noise: |ratio - 1|.
NOISE = {"delta": "float64"}
# tools.fidelity: the same device time measured independently (seconds per call): kernel time
# from torch.profiler, CUDA events per call; (value - profiler) / profiler; ok or DIFFERS.
REFERENCE = {"profiler": "float64", "events": "float64", "difference": "float64", "verdict": "string"}
ADDED = {**PAIR, **VERDICT, **NOISE, **REFERENCE}


def versions(results):
    """{"mlx": ..., "torch": ...} as the results record them (asv puts an environment's
    requirements among its params), None where they record nothing."""
    return {name: results.params.get(name) or None for name in ("mlx", "torch")}


def commit_date(results):
    if not results.date:
        return None
    return pd.Timestamp(results.date, unit="ms", tz="UTC").isoformat()


def case_parts(label):
    """(shapes as `64x1024x128 10`, axis or None) of a case label; a machine-facts row has none."""
    if not isinstance(label, str):
        return None, None
    try:
        shapes, static = parse_label(label)
    except ValueError:
        return None, None
    return " ".join("x".join(map(str, s)) for s in shapes), static.get("axis")


def tidy(df, selection):
    """The rows of a results frame (`results.frame(selection)`, or any part of it a tool
    shows, with columns op / case or a "row" `Op / case`, method or measure, backend, dtype,
    value and optionally unit, q25, q75, samples) in the schema's columns, described by the
    result set they came from; the frame's other columns follow."""
    df = df.reset_index(drop=True)
    if "row" in df and "op" not in df:
        parts = df["row"].str.split(" / ", n=1, expand=True)
        df = df.assign(op=parts[0], case=parts[1])
    missing = pd.Series([None] * len(df), dtype=object)
    method = df["method"] if "method" in df else missing
    measure = method.map(lambda m: MEASURE_OF_METHOD[m].name if m in MEASURE_OF_METHOD else m)
    if "measure" in df:
        measure = df["measure"].where(df["measure"].notna(), measure)
    by_name = {m.name: m.method for m in MEASURE_OF_METHOD.values()}
    unit = pd.Series([unit_of(op, by_name.get(m, m)) for op, m in zip(df["op"], measure)], dtype=object)
    if "unit" in df:
        unit = df["unit"].where(df["unit"].notna(), unit)
    cases = df["case"] if "case" in df else missing
    dtypes = df["dtype"] if "dtype" in df else pd.Series(["float32"] * len(df))
    shapes, axes = zip(*map(case_parts, cases)) if len(df) else ((), ())
    described = {"machine": selection.machine, "commit": selection.commit,
                 "date": commit_date(selection.results), "environment": selection.env,
                 **versions(selection.results)}
    out = pd.DataFrame({
        **{k: [v] * len(df) for k, v in described.items()},
        "op": df["op"], "case": cases, "shapes": list(shapes), "axis": list(axes), "backend": df["backend"],
        "dtype": dtypes, "measure": measure, "value": df["value"], "unit": unit,
        "q25": df.get("q25"), "q75": df.get("q75"), "samples": df["samples"] if "samples" in df else missing,
    })
    out = out.astype(SCHEMA)
    extra = [c for c in df.columns if c not in out.columns and c not in CONSUMED]
    return typed(pd.concat([out, df[extra]], axis=1))


def typed(table):
    """`table` with the declared columns it has in their declared types."""
    return table.astype({k: v for k, v in {**SCHEMA, **ADDED}.items() if k in table})


def tidy_all(parts):
    """tidy() of several (frame rows, selection) parts, one table."""
    return pd.concat([tidy(df, selection) for df, selection in parts], ignore_index=True)


def paired(df, selection, base):
    """tidy() of rows of `selection` compared with the result set `base`: `df` carries
    base_value and ratio (and the tool's own columns); base's description is added."""
    table = tidy(df, selection)
    table = table.assign(base_machine=base.machine, base_commit=base.commit, base_environment=base.env)
    first = list(SCHEMA) + list(PAIR)
    return typed(table[first + [c for c in table.columns if c not in first]])


def serialize(table, path):
    """The file's text for `path`'s extension (CSV or JSON records)."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        return table.to_csv(index=False)
    if ext == ".json":
        # pandas writes NaN and <NA> as null; 15 significant digits keep asv's figures
        return table.to_json(orient="records", indent=1, double_precision=15) + "\n"
    raise ToolError(f"{path}: the format follows the extension; name a {' or '.join(EXPORT_FORMATS)} file")


def write(table, path, force=False):
    """Write `table` to `path` as CSV or JSON (by extension), atomically, creating the folder."""
    text = serialize(table, path)
    check_new_file(path, force)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ToolError(f"cannot create folder {folder} ({exc.strerror})") from None
    write_atomically(path, text, force=force)


def export(df, selection, path, force=False):
    """A tool's `--export PATH`: the frame it shows, tidied, written to PATH."""
    write(tidy(df, selection), path, force)


def read(path):
    """A table `write` wrote, with the schema's types restored."""
    if path.lower().endswith(".csv"):
        table = pd.read_csv(path, dtype={**SCHEMA, **ADDED}, keep_default_na=False, na_values=[""])
    else:
        with open(path) as f:
            table = pd.DataFrame.from_records(json.load(f))
    return typed(table)


def parse_args(argv):
    p = parser("tools.tidy", __doc__)
    add_results_options(p)
    p.add_argument("--out", required=True, type=export_file, metavar="FILE",
                   help="output file: .csv or .json (its folder is created)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    selection = select(results_dir(args), args.machine, args.commit, args.env)
    df = frame(selection)
    export(df, selection, args.out, args.force)
    print(f"{args.out}: {len(df)} rows of machine {selection.machine}, commit {selection.commit[:8]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
