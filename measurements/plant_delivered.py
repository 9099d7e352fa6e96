"""What a planted slowdown delivered, case by case, against the gate's verdict. (issue 11)

    python3 measurements/plant_delivered.py GATE_CHECK_DIR

GATE_CHECK_DIR holds what measurements/gate_check.py leaves (gate-check.json, the runs'
asv results files, gzipped or not, and gate-planted.json). A plant adds FRACTION more calls
to a batch; the time it adds is what the runs say: for every planted case, the planted
run's figure against the median of the unplanted runs (one process each), their spread
beside it, the confirm pass's ratio of medians where the case was a suspect, and the verdict.
"""
import glob
import json
import os
import sys

import pandas as pd
from tabulate import tabulate

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the suite's own packages

from benchmarks.harness import vocabulary  # noqa: E402
from tools.cli import ToolError  # noqa: E402
from tools.compare import KEYS  # noqa: E402
from tools.results import frame, load_file  # noqa: E402


def run_frame(folder, commit):
    paths = glob.glob(os.path.join(folder, f"{commit[:8]}*.json*"))
    if len(paths) != 1:
        raise ToolError(f"expected one results file of commit {commit[:8]} in {folder}, found {len(paths)}")
    table = frame(load_file(paths[0]))
    return table[table["method"] == "time_device"].set_index(KEYS)["value"]


def read_json(folder, name):
    path = os.path.join(folder, name)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise ToolError(f"cannot read {path} ({exc}); pass a folder that gate_check.py wrote") from None


def main(folder):
    state, gate = read_json(folder, "gate-check.json"), read_json(folder, "gate-planted.json")
    plant = {"BENCH_PLANT": state["plant"]}
    runs = [(r["kind"], run_frame(folder, r["commit"])) for r in state["runs"]]
    unplanted = pd.concat([values for kind, values in runs if kind == "aa"], axis=1)
    (planted,) = [values for kind, values in runs if kind == "planted"]
    rows = []
    for case in gate["cases"]:
        fraction = vocabulary.planted_fraction(case["op"], case["backend"], plant)
        key = tuple(case[k] for k in KEYS)
        if not fraction or key not in planted.index or key not in unplanted.index:
            continue
        others = unplanted.loc[key].dropna()
        confirm = (pd.Series(case["confirm_head_seconds"]).median() / pd.Series(case["confirm_base_seconds"]).median()
                   if case["confirm_base_seconds"] and case["confirm_head_seconds"] else None)
        rows.append({"planted": f"{fraction:.0%}", "case": f"{case['op']} {case['case']} on {case['backend']}",
                     "us": others.median() * 1e6, "delivered": planted.loc[key] / others.median(),
                     "unplanted spread": others.max() / others.min() - 1, "confirm ratio": confirm,
                     "verdict": case["verdict"]})
    table = pd.DataFrame(rows).sort_values(["planted", "delivered"])
    print(f"{len(unplanted.columns)} unplanted runs, 1 planted; delivered = planted run / median of the unplanted runs")
    print(tabulate(table, headers="keys", tablefmt="github", showindex=False, floatfmt=".3f"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python3 measurements/plant_delivered.py GATE_CHECK_DIR", file=sys.stderr)
        sys.exit(2)
    try:
        main(sys.argv[1])
    except (ToolError, KeyError, TypeError) as exc:
        print(f"plant_delivered: {exc if isinstance(exc, ToolError) else f'not a gate_check.py folder: {exc!r}'}",
              file=sys.stderr)
        sys.exit(2)
