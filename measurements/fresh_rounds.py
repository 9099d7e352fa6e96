"""Variants of the measurement compared in fresh processes, round after round: the shared
part of measurements/placements.py and measurements/mlx_marks.py.

In each round each variant measures every case once in fresh processes (tools.remeasure:
asv_runner's own setup, sampling and timer, as the gate's confirm pass does), the variants
taking turns, so that a drift of the machine reaches them all alike.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.getcwd())

from tools import remeasure  # noqa: E402


def case_keys(specs):
    """(op, label, backend, dtype) of each OP:LABEL:BACKEND, in float32."""
    return [tuple(spec.split(":")) + ("float32",) for spec in specs]


def alternate(keys, variants, rounds, seconds=float("inf")):
    """{(key, variant): [a fresh process's figure each round]} and the rounds done, no round
    starting after `seconds`. `variants`: {name: (BENCH settings, a function that prepares
    this process before the variant's processes fork from it, or None)}."""
    figures = {(key, v): [] for key in keys for v in variants}
    deadline = time.monotonic() + seconds
    done = 0
    while done < rounds and time.monotonic() <= deadline:
        for variant, (settings, prepare) in variants.items():
            if prepare:
                prepare()
            got = remeasure.measure(keys, "time_device", settings)
            for key in keys:
                figures[key, variant].append(got.get(key, float("nan")))
        done += 1
        print(f"round {done} of {rounds} done", file=sys.stderr, flush=True)
    return figures, done


def report(keys, variants, figures, done):
    """Per case and variant: the median over rounds of the processes' figures (us a call),
    their spread and the median distance of a process from that median; then every figure
    as JSON."""
    print(f"# {done} rounds, fresh processes; us a call (device time); spread = (max - min) / median, "
          "dev = median |process - median| / median")
    print(f"{'case':55s}" + "".join(f" | {v:>26s}: median  spread   dev" for v in variants))
    for key in keys:
        row = f"{key[0] + ' ' + key[1] + ' ' + key[2]:55s}"
        for variant in variants:
            x = np.array(figures[key, variant]) * 1e6
            med = np.nanmedian(x)
            row += f" | {med:34.2f} {(np.nanmax(x) - np.nanmin(x)) / med:7.1%} {np.nanmedian(abs(x - med)) / med:5.1%}"
        print(row)
    print(json.dumps({f"{k[0]}|{k[1]}|{k[2]}|{v}": f for (k, v), f in figures.items()}))
