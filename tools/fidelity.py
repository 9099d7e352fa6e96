"""Does the suite's device time match an independent measurement? (torch on CUDA)

    python -m tools.fidelity --machine h100                  # every cuda case >= 50 us
    python -m tools.fidelity --machine h100 --markdown fidelity.md --tolerance 5

For every torch CUDA case whose device time recorded by asv (`time_device`: CUDA events
around a batch of back-to-back calls, divided by the batch size) is at least --min-us, the
case is prepared again through the suite's own code and measured independently:

- profiler: the GPU time of every kernel, copy and fill the call launches, from
  torch.profiler (CUPTI), summed and divided by the number of calls;
- events: CUDA events around each single call (median), for reference.

Exits 1 if a case's recorded device time and its profiler time differ by more than
--tolerance percent, 0 otherwise, 2 on bad input or without CUDA.
"""

import argparse
import os
import statistics
import sys

from tabulate import tabulate

from .errors import ToolError, main_guard, write_atomically
from .results import MEASURES, frame, results_dir_from_config, select

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CALLS = 20


def relative_difference(suite, independent):
    return (suite - independent) / independent


def find_case(common, op, label):
    """Switch to the profile whose cases include `label` (labels carry the shapes)."""
    for profile in common.PROFILES:
        if any(c.label(profile) == label for c in op.cases):
            os.environ[common.PROFILE_ENV] = profile
            return
    raise ToolError(f"{op.__name__} has no case {label!r} in this version of the suite")


def profiler_seconds(torch, run):
    from torch.profiler import ProfilerActivity, profile

    run.call()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(CALLS):
            run.placed.launch()
        torch.cuda.synchronize()
    total_us = sum(getattr(e, "self_device_time_total", 0.0) for e in prof.key_averages())
    return total_us / CALLS / 1e6


def event_seconds(torch, run):
    times = []
    for _ in range(CALLS):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run.placed.launch()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.fidelity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="asv.conf.json")
    parser.add_argument("--results", help="results folder (default: the config's results_dir)")
    parser.add_argument("--machine", help="asv machine (default: the one with the latest run)")
    parser.add_argument("--commit", help="commit hash or prefix (default: latest run)")
    parser.add_argument("--env", help="asv environment (default: latest run)")
    parser.add_argument("--backend", default="cuda", choices=["cuda", "cuda_compile"])
    parser.add_argument("--min-us", type=float, default=50.0, help="check cases at least this long (default 50)")
    parser.add_argument("--tolerance", type=float, default=5.0, help="largest difference allowed, percent (default 5)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    parser.add_argument("--force", action="store_true", help="overwrite --markdown's file")
    return parser.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    if args.markdown and os.path.exists(args.markdown) and not args.force:
        raise ToolError(f"{args.markdown} exists; pass --force to overwrite it")
    selection = select(args.results or results_dir_from_config(args.config), args.machine, args.commit, args.env)
    df = frame(selection)
    rows = df[(df["method"] == MEASURES["device"]) & (df["backend"] == args.backend) & (df["status"] == "ok")
              & (df["value"] >= args.min_us * 1e-6)]
    if rows.empty:
        raise ToolError(f"{selection.path} has no {args.backend} device times of at least {args.min_us:g} us")
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from benchmarks import common
    from benchmarks.backends import torch

    if torch is None or not torch.cuda.is_available():
        raise ToolError("the fidelity check needs torch with a CUDA GPU; run it on the machine that made the results")
    table, differences = [], []
    for r in rows.itertuples():
        op = common.op_named(r.op)
        find_case(common, op, r.case)
        run = common.prepared(op, r.case, args.backend, r.dtype)
        kernels, events = profiler_seconds(torch, run), event_seconds(torch, run)
        difference = relative_difference(r.value, kernels)
        ok = abs(difference) * 100 <= args.tolerance
        differences.append(abs(difference) * 100)
        table.append([f"{r.op} / {r.case} {r.dtype}", f"{r.value * 1e6:.1f}", f"{kernels * 1e6:.1f}",
                      f"{events * 1e6:.1f}", f"{difference * 100:+.1f} %", "ok" if ok else "DIFFERS"])
        print(" | ".join(table[-1]), flush=True)
    common.release()
    failures = sum(d > args.tolerance for d in differences)
    text = "\n".join([
        f"Device time recorded by asv ({selection.machine}, commit {selection.commit[:8]}, {args.backend}) "
        f"against torch.profiler's kernel time, cases of at least {args.min_us:g} us",
        "",
        tabulate(table, headers=["case", "suite us", "profiler kernels us", "events per call us", "suite vs profiler",
                                 "verdict"], tablefmt="pipe", disable_numparse=True),
        "",
        f"{len(table)} cases: median |difference| {statistics.median(differences):.2f} %, "
        f"max {max(differences):.2f} %; {failures} beyond {args.tolerance:g} %",
    ]) + "\n"
    print("\n" + text)
    if args.markdown:
        write_atomically(args.markdown, text, overwrite=args.force)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
