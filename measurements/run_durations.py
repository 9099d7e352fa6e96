"""Where a run's wall time went: asv's recorded duration of every benchmark (all its cases
of one measure, each case in a process of its own), summed per measure.

    python3 measurements/run_durations.py RESULTS.json[.gz] [...]
"""

import os
import sys

import pandas as pd
from tabulate import tabulate

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the suite's own packages

from tools.cli import ToolError  # noqa: E402
from tools.results import frame, load_file  # noqa: E402

if not sys.argv[1:]:
    print("usage: python3 measurements/run_durations.py RESULTS.json[.gz] [...]", file=sys.stderr)
    sys.exit(2)
for path in sys.argv[1:]:
    try:
        selection = load_file(path)
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    durations = selection.results.duration
    seconds = pd.DataFrame([{"method": key.split(".")[-1], "seconds": durations[key]}
                            for key in selection.results.get_all_result_keys() if durations.get(key) is not None])
    cases = frame(selection)
    table = seconds.groupby("method")["seconds"].sum().to_frame().join(
        cases[cases["status"] == "ok"].groupby("method").size().rename("cases"))
    table["seconds a case"] = table["seconds"] / table["cases"]
    print(f"{path}\nmachine {selection.machine}, commit {selection.commit[:8]}: {table['seconds'].sum():.1f} s "
          "in benchmarks")
    print(tabulate(table.reset_index().values.tolist(), headers=["benchmark", "seconds", "cases with a figure",
                                                                 "seconds a case"], floatfmt=".2f", tablefmt="pipe"))
    print()
