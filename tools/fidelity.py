"""Does the suite's device time match an independent measurement? (torch on CUDA)

    python -m tools.fidelity --machine h100                  # every cuda case >= 50 us
    python -m tools.fidelity --machine h100 --markdown fidelity.md --tolerance 5
    python -m tools.fidelity --machine h100 --export fidelity.json   # each case checked, one long table

For every torch CUDA case whose device time recorded by asv (`time_device`: CUDA events
around a batch of back-to-back calls queued behind a GPU spin, divided by the batch size)
is at least --min-us, the
case is prepared again through the suite's own code and measured independently:

- profiler: the GPU time of every kernel, copy and fill the call launches, from
  torch.profiler (CUPTI), summed and divided by the number of calls;
- events: CUDA events around each single call (median), for reference.

Exits 1 if a case's recorded device time and its profiler time differ by more than
--tolerance percent, 0 otherwise, 2 on bad input or without CUDA. `--export FILE` writes
each case checked: the recorded device time as the value, the independent ones beside it.
"""

import statistics
import sys

import pandas as pd
from tabulate import tabulate

from benchmarks.harness import catalog

from . import tidy
from .cli import (ToolError, add_export_option, add_results_options, check_new_file, check_outputs, finite, main_guard,
                  parser, results_dir, write_atomically)
from .results import MEASURES, frame, select

CALLS = 20


def relative_difference(suite, independent):
    return (suite - independent) / independent


def profiler_seconds(torch, case):
    """GPU time of every kernel, copy and fill of one batch, per call (CUPTI): the batch's
    calls alone, without the clock's spin and events."""
    from torch.profiler import ProfilerActivity, profile

    case.call()
    batch = case.backend.prepare_batch(case.placements[0], case.batch)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        outs = batch()
        torch.cuda.synchronize()
    del outs
    total_us = sum(getattr(e, "self_device_time_total", 0.0) for e in prof.key_averages())
    return total_us / case.batch / 1e6


def event_seconds(torch, case):
    times = []
    for _ in range(CALLS):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        case.call()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def parse_args(argv):
    p = parser("tools.fidelity", __doc__)
    add_results_options(p)
    p.add_argument("--backend", default="cuda", choices=["cuda", "cuda_compile"])
    p.add_argument("--min-us", type=finite(0, inclusive=True), default=50.0,
                   help="check cases at least this long (default 50)")
    p.add_argument("--tolerance", type=finite(0), default=5.0, help="largest difference allowed, percent (default 5)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    add_export_option(p)
    p.add_argument("--force", action="store_true", help="overwrite the --markdown / --export file")
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    if args.markdown:
        check_outputs([args.markdown], args.force)
    if args.export:
        check_new_file(args.export, args.force)
    selection = select(results_dir(args), args.machine, args.commit, args.env)
    df = frame(selection)
    rows = df[(df["method"] == MEASURES["device"]) & (df["backend"] == args.backend) & (df["status"] == "ok")
              & (df["value"] >= args.min_us * 1e-6)]
    if rows.empty:
        raise ToolError(f"{selection.path} has no {args.backend} device times of at least {args.min_us:g} us")
    if catalog.availability([args.backend])[args.backend]:
        raise ToolError("the fidelity check needs torch with a CUDA GPU; run it on the machine that made the results")
    table, differences, references = [], [], []
    import torch

    for r in rows.itertuples():
        with catalog.placed(r.op, r.case, args.backend, r.dtype) as case:
            kernels, events = profiler_seconds(torch, case), event_seconds(torch, case)
        difference = relative_difference(r.value, kernels)
        ok = abs(difference) * 100 <= args.tolerance
        differences.append(abs(difference) * 100)
        references.append({"profiler": kernels, "events": events, "difference": difference,
                           "verdict": "ok" if ok else "DIFFERS"})
        table.append([f"{r.op} / {r.case} {r.dtype}", f"{r.value * 1e6:.1f}", f"{kernels * 1e6:.1f}",
                      f"{events * 1e6:.1f}", f"{difference * 100:+.1f} %", "ok" if ok else "DIFFERS"])
        print(" | ".join(table[-1]), flush=True)
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
        write_atomically(args.markdown, text, force=args.force)
    if args.export:
        checked = pd.concat([rows.reset_index(drop=True), pd.DataFrame(references)], axis=1)
        tidy.write(tidy.tidy(checked, selection), args.export, args.force)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
