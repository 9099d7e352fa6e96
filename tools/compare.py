"""The regression gate: compare two result sets case by case, confirm the suspects by
measuring them again, and fail on confirmed slowdowns.

    python -m tools.compare BASE HEAD                       # commits: hashes, tags, HEAD~1, branches
    python -m tools.compare HEAD~1 HEAD --confirm 12        # re-measure suspects, base/head alternating
    python -m tools.compare HEAD~1 HEAD --confirm 12 --confirm-seconds 300   # within a time budget
    python -m tools.compare v1 v2 --machine h100 --json gate.json
    python -m tools.compare v1 v2 --machine h100 --export gate.csv   # the cases listed, one long table
    python -m tools.compare C C --base-env E1 --head-env E2 --confirm 12 \
        --base-python .asv/env/E1/bin/python --head-python .asv/env/E2/bin/python

The gated measure is the device time (`time_device`); latency is reported beside it. A
case is a suspect when its head/base ratio is beyond --threshold. With --confirm R the
suspects are measured again in up to R rounds of fresh processes, base then head (up to
2R for a suspect that R rounds leave close to the level: tools/gate.py), in
this checkout (tools/remeasure.py): under --base-python / --head-python when the two ran
in different environments (e.g. two MLX releases), with --base-var / --head-var when they
differ by a setting (e.g. a planted slowdown). A suspect is a regression only when the
head's processes are slower than the base's, as a one-sided Mann-Whitney test over
processes says at --alpha (split between the two looks: tools/gate.py). Without
--confirm every slower suspect fails.

A case whose benchmark version differs between the two (its op's declaration or the
harness's meaning of the measure changed) is "benchmark changed, not comparable", never a
regression. A case that had a figure in base and failed in head is newly failing.

Exit status: 0 no regression (or suspects left undecided by --confirm-seconds, said in the
report's first line and in the JSON's "verdict"), 1 regression(s) or newly failing
case(s), 2 bad input.
"""

import dataclasses
import json
import os
import re
import sys

import numpy as np
import pandas as pd
from tabulate import tabulate

from benchmarks.harness import catalog, vocabulary

from . import gate, remeasure, tidy
from .cli import (ToolError, add_export_option, add_results_options, check_new_file, check_outputs, finite, main_guard,
                  parser, results_dir, write_atomically)
from .results import frame, select
from .suite import op_names

KEYS = ["op", "case", "backend", "dtype"]
GATED = vocabulary.MEASURE[vocabulary.GATED_MEASURE].method
LATENCY = vocabulary.MEASURE["latency"].method
MOST_ROUNDS = 20  # a suspect costs at most 40 processes, 80 when carried to the second look


def resolve(ref, config):
    """The commit hash a git ref names in the config's repository (asv's own lookup), or
    the ref itself, taken as a hash prefix of recorded results."""
    from asv import util as asv_util
    from asv.config import Config
    from asv.repo import NoSuchNameError, get_repo

    try:
        return get_repo(Config.load(config)).get_hash_from_name(ref)
    except (NoSuchNameError, asv_util.UserError, asv_util.ProcessError, OSError, ValueError, AttributeError):
        return ref


def assignment(text):
    key, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"BENCH_[A-Z0-9_]+", key):
        raise ToolError(f"--base-var/--head-var {text!r}: give BENCH_NAME=VALUE")
    errors = vocabulary.setting_errors({key: value})
    if errors:
        raise ToolError(errors[0])
    return key, value


def parse_args(argv):
    p = parser("tools.compare", __doc__)
    p.add_argument("base", help="baseline: commit hash, prefix, tag, branch or HEAD~N")
    p.add_argument("head", help="results to check, named the same way")
    add_results_options(p, commit=False)
    p.add_argument("--base-machine", help="machine of the baseline, when it differs")
    p.add_argument("--base-env", help="asv environment of the baseline")
    p.add_argument("--head-env", help="asv environment of the results to check")
    p.add_argument("--threshold", type=finite(1.0), default=gate.DEFAULT_THRESHOLD,
                   help=f"smallest ratio worth reporting (default {gate.DEFAULT_THRESHOLD}: "
                        f"{(gate.DEFAULT_THRESHOLD - 1) * 100:.0f} %% slower)")
    p.add_argument("--alpha", type=finite(0.0), default=gate.DEFAULT_ALPHA,
                   help=f"level of the rank test over processes, split between the confirm pass's two looks "
                        f"(default {gate.DEFAULT_ALPHA})")
    p.add_argument("--confirm", type=int, default=0, metavar="ROUNDS",
                   help=f"re-measure suspects in up to ROUNDS rounds of fresh processes, base and head alternating, "
                        f"and up to twice ROUNDS for those left close to the level "
                        f"({gate.DEFAULT_ROUNDS} at the default --alpha; 0: screen only)")
    p.add_argument("--confirm-seconds", type=finite(0.0), metavar="SECONDS",
                   help="start no confirm round that would end past SECONDS (default: no limit); "
                        "suspects left open are reported as undecided")
    p.add_argument("--base-var", action="append", default=[], type=assignment, metavar="BENCH_X=V",
                   help="a setting of the base's confirm processes (repeatable)")
    p.add_argument("--head-var", action="append", default=[], type=assignment, metavar="BENCH_X=V",
                   help="a setting of the head's confirm processes (repeatable)")
    p.add_argument("--base-python", help="interpreter of the base's environment, for the confirm pass "
                                         "(default: this one)")
    p.add_argument("--head-python", help="interpreter of the head's environment (default: this one)")
    p.add_argument("--json", help="also write the report as JSON (for CI bots)")
    add_export_option(p)
    p.add_argument("--force", action="store_true", help="overwrite the --json / --export file")
    p.add_argument("--all", action="store_true", help="list every case, not only the changed ones")
    p.add_argument("--ops", type=op_names, help="comma-separated ops to gate, any letter case (default: all)")
    args = p.parse_args(argv)
    if args.alpha >= 1:
        raise ToolError(f"--alpha {args.alpha}: must be between 0 and 1")
    if args.confirm_seconds is not None and not args.confirm:
        raise ToolError("--confirm-seconds bounds the confirm pass: give --confirm ROUNDS too")
    least = gate.least_rounds(args.alpha)
    if args.confirm and least > MOST_ROUNDS:
        raise ToolError(f"--alpha {args.alpha}: unreachable in {MOST_ROUNDS} rounds of the confirm pass")
    if args.confirm and not least <= args.confirm <= MOST_ROUNDS:
        raise ToolError(f"--confirm {args.confirm}: give 0 (screen only) or {least} to {MOST_ROUNDS} rounds (fewer than "
                        f"{least} processes a side can never reach the first look's level, --alpha {args.alpha} / "
                        f"{gate.LOOKS})")
    return args


def figures(df, method):
    """{case key: (value, version)} of one measure's cases with a figure."""
    rows = df[(df["method"] == method) & (df["status"] == "ok") & (df["value"] > 0)]
    return {tuple(r[k] for k in KEYS): (r["value"], r["version"]) for _, r in rows.iterrows()}


def failed(df, method):
    rows = df[(df["method"] == method) & (df["status"] == "failed")]
    return {tuple(r[k] for k in KEYS) for _, r in rows.iterrows()}


def screen(base_df, head_df, threshold):
    """Every comparable case of the gated measure with its one-process decision, plus the
    cases not comparable (benchmark changed) and those newly failing."""
    base, head = figures(base_df, GATED), figures(head_df, GATED)
    base_latency, head_latency = figures(base_df, LATENCY), figures(head_df, LATENCY)
    rows, changed = [], []
    for key in sorted(base.keys() & head.keys()):
        (b, b_version), (h, h_version) = base[key], head[key]
        if b_version != h_version:
            changed.append(key)
            continue
        latency = (head_latency[key][0] / base_latency[key][0]
                   if key in base_latency and key in head_latency else np.nan)
        rows.append({"key": key, "base": [b], "head": [h], "latency_ratio": latency,
                     "decision": gate.decide([b], [h], threshold)})
    newly_failing = sorted(failed(head_df, GATED) & base.keys())
    return rows, changed, newly_failing, len(base.keys() - head.keys()), len(head.keys() - base.keys())


def confirm(rows, args):
    """Re-measure the suspects in this checkout, base and head alternating, and put the
    confirm pass's verdict on them (tools/gate.py). Suspects that read faster are
    re-measured too, and keep "faster, unconfirmed" unless the confirm pass's processes
    read them slower (then its verdict stands): where figures move between processes by
    more than the change, one process a side can read a slowdown as a speedup (on the
    2-core VM 11 of 35 planted 25 % slowdowns read faster at the screen, 2026-11-27). A
    faster suspect whose head keeps reading faster stops once its reversals rule out the
    level (four rounds of 12)."""
    faster = {r["key"] for r in rows if r["decision"].verdict == "suspect" and r["decision"].ratio < 1}
    suspects = {r["key"]: r for r in rows if r["decision"].verdict == "suspect"}
    if not suspects:
        return
    print(f"confirming {len(suspects)} suspect(s) ({len(faster)} read faster) in up to {args.confirm} round(s) "
          f"({gate.LOOKS * args.confirm} for those left close to the level) "
          "of fresh processes, base and head alternating", file=sys.stderr)
    settings = {"base": dict(args.base_var), "head": dict(args.head_var)}
    pythons = {"base": args.base_python, "head": args.head_python}

    def measure(side, keys):
        try:
            return remeasure.measure(keys, GATED, settings[side], pythons[side])
        except RuntimeError as exc:
            raise ToolError(f"confirm pass, {side}: {exc}") from None

    decided = gate.confirm(list(suspects), measure, args.confirm, args.threshold, args.alpha, args.confirm_seconds)
    for key, (decision, base, head) in decided.items():
        if key in faster and decision.verdict != "slower" and not decision.ratio > 1:
            decision = dataclasses.replace(suspects[key]["decision"], verdict="faster, unconfirmed")
        suspects[key].update(decision=decision, confirm_base=base, confirm_head=head)


def case_name(key):
    op, label, backend, dtype = key
    return f"{op} / {label} on {backend}" + (f" {dtype}" if dtype != "float32" else "")


def geomeans(rows):
    """Per-op geometric mean of head/base over comparable cases, with the spread."""
    df = pd.DataFrame([{"op": r["key"][0], "log": np.log(r["decision"].ratio)} for r in rows])
    if df.empty:
        return df
    grouped = df.groupby("op")["log"]
    return pd.DataFrame({"cases": grouped.size(), "geomean": np.exp(grouped.mean()),
                         "min": np.exp(grouped.min()), "max": np.exp(grouped.max())}).reset_index()


def report(rows, changed, newly_failing, args, base, head, confirmed):
    regressions = sorted((r for r in rows if r["decision"].verdict in ("slower",)
                          or (not confirmed and r["decision"].verdict == "suspect" and r["decision"].ratio > 1)),
                         key=lambda r: -r["decision"].ratio)
    counts = pd.Series([r["decision"].verdict for r in rows]).value_counts().to_dict()
    failing = bool(regressions or newly_failing)
    verdict = "REGRESSION" if failing else "undecided" if counts.get("undecided") else "no regression"
    lines = [f"{verdict}: {len(regressions)} case(s) slower, {len(newly_failing)} newly failing; "
             f"{len(rows)} compared on device time (" + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
             + f"), {len(changed)} benchmark changed, not comparable",
             f"base: {base.machine} {base.commit[:8]} {base.env}", f"head: {head.machine} {head.commit[:8]} {head.env}",
             "gate: " + (f"suspects beyond {args.threshold:.2f}x confirmed in {args.confirm} round(s) of fresh "
                         f"processes, {gate.LOOKS * args.confirm} for those left close (Mann-Whitney over processes, alpha "
                         f"{args.alpha} over two looks)" if confirmed else
                         f"screen only (one process a side): every case slower than {args.threshold:.2f}x fails")]
    if counts.get("undecided"):
        lines.append(f"confirm pass stopped by --confirm-seconds {args.confirm_seconds:g}: {counts['undecided']} "
                     "suspect(s) undecided, neither passed nor failed")

    def table(selected, title):
        if not selected:
            return
        lines.extend(["", title, tabulate(
            [[case_name(r["key"]), f"{np.median(r.get('confirm_base') or r['base']) * 1e3:.4g}",
              f"{np.median(r.get('confirm_head') or r['head']) * 1e3:.4g}",
              f"{r['decision'].ratio:.3f}",
              "" if np.isnan(r["decision"].low) else f"{r['decision'].low:.3f}-{r['decision'].high:.3f}",
              "" if np.isnan(r["decision"].p) else f"{r['decision'].p:.3g}",
              f"{len(r.get('confirm_base') or r['base'])}/{len(r.get('confirm_head') or r['head'])}",
              "" if np.isnan(r["latency_ratio"]) else f"{r['latency_ratio']:.2f}", r["decision"].verdict]
             for r in selected],
            headers=["case", "base ms", "head ms", "head/base", f"{gate.CONFIDENCE:.0%} interval", "p",
                     "processes", "latency head/base", "verdict"], tablefmt="pipe", disable_numparse=True)])

    table(regressions, "Regressions (device time), largest first:")
    others = listed(rows, regressions, args.all)[len(regressions):]
    table(others, "Other cases" + ("" if args.all else " beyond the threshold") + ":")
    means = geomeans(rows)
    if not means.empty:
        lines.extend(["", "Per op, geometric mean of head/base over its cases (device time):",
                      tabulate(means.values.tolist(), headers=list(means.columns), tablefmt="pipe", floatfmt=".3f")])
    if newly_failing:
        lines.extend(["", "Newly failing (a figure in base, failed in head):"]
                     + [f"- {case_name(k)}" for k in newly_failing])
    if changed:
        lines.extend(["", f"Benchmark changed, not comparable ({len(changed)}): "
                      + ", ".join(sorted({k[0] for k in changed}))])
    return "\n".join(lines), regressions, failing, verdict


def listed(rows, regressions, show_all):
    """The cases the report's tables list: the regressions, then the others beyond the
    threshold (every one with --all)."""
    return regressions + [r for r in rows if r not in regressions and (show_all or r["decision"].verdict != "same")]


def as_tidy(cases, head_df, base, head):
    """The listed cases as tools.tidy rows: head's device time as the value, base's beside
    it, the gate's decision and the confirm pass's medians (tidy.PAIR and tidy.VERDICT)."""
    def median(values):
        return float(np.median(values)) if values else np.nan

    decided = pd.DataFrame([{**dict(zip(KEYS, r["key"])), "base_value": r["base"][0], "ratio": r["decision"].ratio,
                             "low": r["decision"].low, "high": r["decision"].high, "p": r["decision"].p,
                             "verdict": r["decision"].verdict, "latency_ratio": r["latency_ratio"],
                             "confirm_base": median(r.get("confirm_base")), "confirm_head": median(r.get("confirm_head"))}
                            for r in cases], columns=KEYS + ["base_value", "ratio", *tidy.VERDICT])
    return tidy.paired(head_df[head_df["method"] == GATED].merge(decided, on=KEYS), head, base)


def as_json(rows, changed, newly_failing, regressions, verdict, base, head, args):
    def case(r):
        d = r["decision"]
        return {"op": r["key"][0], "case": r["key"][1], "backend": r["key"][2], "dtype": r["key"][3],
                "base_seconds": r["base"], "head_seconds": r["head"],
                "confirm_base_seconds": r.get("confirm_base", []), "confirm_head_seconds": r.get("confirm_head", []),
                "ratio": d.ratio,
                "interval": [d.low, d.high], "p": d.p, "verdict": d.verdict, "looks": d.looks,
                "latency_ratio": r["latency_ratio"]}
    return json.dumps({
        "verdict": verdict.lower(),
        "base": {"machine": base.machine, "commit": base.commit, "env": base.env},
        "head": {"machine": head.machine, "commit": head.commit, "env": head.env},
        "measure": vocabulary.GATED_MEASURE, "threshold": args.threshold, "alpha": args.alpha,
        "confirm_rounds": args.confirm, "confirm_seconds": args.confirm_seconds,
        "regressions": [case(r) for r in regressions],
        "cases": [case(r) for r in rows],
        "newly_failing": [dict(zip(KEYS, k)) for k in newly_failing],
        "not_comparable": [dict(zip(KEYS, k)) for k in changed],
    }, indent=1, default=lambda x: None if isinstance(x, float) and np.isnan(x) else x).replace("NaN", "null")


@main_guard
def main(argv=None):
    args = parse_args(argv)
    if args.json:
        check_outputs([args.json], args.force)
    if args.export:
        check_new_file(args.export, args.force)
    folder = results_dir(args)
    head = select(folder, args.machine, resolve(args.head, args.config), args.head_env)
    base = select(folder, args.base_machine or head.machine, resolve(args.base, args.config), args.base_env)
    if base.path == head.path:
        raise ToolError(f"base and head are the same results file ({head.path}); name two commits or environments")
    if args.confirm and args.base_machine and args.base_machine != head.machine:
        raise ToolError("--confirm re-measures on this machine: base and head must be results of one machine")
    if args.confirm and base.env != head.env and not (args.base_python or args.head_python):
        # Measuring both sides with this interpreter's libraries would be an A/A pair.
        raise ToolError(f"base and head ran in different environments ({base.env}, {head.env}): name their "
                        "interpreters with --base-python / --head-python for the confirm pass")
    for option in ("base_python", "head_python"):
        path = getattr(args, option)
        if path and not os.access(path, os.X_OK):
            raise ToolError(f"--{option.replace('_', '-')} {path}: not an executable interpreter")
    base_df, head_df = frame(base), frame(head)
    if args.ops:
        base_df, head_df = (df[df["op"].isin(args.ops)] for df in (base_df, head_df))
    rows, changed, newly_failing, only_base, only_head = screen(base_df, head_df, args.threshold)
    if not rows and not changed:
        raise ToolError("the two result sets have no device-time case with a figure in common")
    if args.confirm:
        stale = sorted({r["key"][0] for r in rows if r["decision"].verdict == "suspect"
                        and head_df[(head_df["op"] == r["key"][0]) & (head_df["method"] == GATED)]["version"].iloc[0]
                        != catalog.benchmark_version(r["key"][0])})
        if stale:
            raise ToolError(f"--confirm measures this checkout, whose benchmarks differ from head's for "
                            f"{', '.join(stale)}; check out the commit that made head's results")
        confirm(rows, args)
    text, regressions, failing, verdict = report(rows, changed, newly_failing, args, base, head, bool(args.confirm))
    if only_base or only_head:
        text += f"\n\n{only_base} case(s) only in base, {only_head} only in head"
    if args.json:
        write_atomically(args.json, as_json(rows, changed, newly_failing, regressions, verdict, base, head, args),
                         force=args.force)
    if args.export:
        tidy.write(as_tidy(listed(rows, regressions, args.all), head_df, base, head), args.export, args.force)
    print(text)
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
