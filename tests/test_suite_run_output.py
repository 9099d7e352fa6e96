"""tools.suite's reading of asv's output (a recorded run with a failure, skips and n/a
rows): one line per benchmark, the grid's rows kept off the screen, reasons collected."""

import os
import re

import pandas as pd

from benchmarks.harness import frameworks, vocabulary
from tools import suite
from tools.asv_output import AsvOutput, Finished, case_of
from toolkit import asv_project, run_tool

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "asv-run-output.txt")


def fed():
    parsed, shown = AsvOutput(), []
    with open(DATA, encoding="utf-8") as f:
        for line in f:
            out = parsed.feed(line)
            if out is not None:
                shown.append(out)
    parsed.close()
    return parsed, shown


def test_a_benchmark_is_one_line_and_its_grid_stays_off_screen():
    parsed, shown = fed()
    finished = [s for s in shown if isinstance(s, Finished)]
    assert finished == [Finished("b.Op.time_op", "1/4 failed"), Finished("bench_activations.ReLU.time_device", "ok"),
                        Finished("bench_activations.ReLU.time_op", "failed")]
    text = "\n".join(s for s in shown if isinstance(s, str))
    assert "n/a" not in text and "Traceback" not in text and "a warning" not in text and "====" not in text
    # asv's own lines outside a benchmark's block are passed through, errors included
    assert "· Discovering benchmarks" in text and "· Error running bench: something asv itself says" in text


def test_failures_and_skips_keep_their_reasons():
    parsed, _ = fed()
    assert parsed.failures == {
        ("b.Op.time_op", ("c", "cpu")): "ValueError: boom in c",
        ("bench_activations.ReLU.time_op", ("dim=64x1024x128 axi=0", "cpu", "float32")):
            "asv: benchmark timed out (timeout 600s)",
    }
    assert parsed.skips == {"NotImplementedError('cuda: no gpu')": 3}


def test_parameters_parse_back_to_values():
    assert case_of("'dim=23x16 axi=0', 'cpu', 'bfloat16'") == ("dim=23x16 axi=0", "cpu", "bfloat16")
    assert case_of("\"'a b'\", 'cuda'") == ("'a b'", "cuda")


def names(op, method, cases):
    return [f"bench_x.{op}.{method}({', '.join(repr(v) for v in c)})" for c in cases]


def test_measures_select_methods_and_keep_the_machine_facts():
    regex = suite.selection_regex(["cpu"], ["float32"], labels=["dim=8"], measures=["device"])
    chosen = lambda n: re.search(regex, n) is not None  # noqa: E731
    assert [chosen(n) for n in names("ReLU", "time_device", [("dim=8", "cpu")])] == [True]
    assert not any(chosen(n) for n in names("ReLU", "time_op", [("dim=8", "cpu")]))
    assert not any(chosen(n) for n in names("ReLU", "track_peak_memory", [("dim=8", "cpu")]))
    assert chosen("bench_peaks.Peak.track_copy_bandwidth('cpu')")
    assert chosen("bench_settings.Float32Matmul.track_relative_error('cpu')")
    assert not chosen("bench_peaks.Peak.track_copy_bandwidth('cuda')")
    both = suite.selection_regex(["cpu"], ["float32"], measures=["latency", "memory"])
    assert re.search(both, names("ReLU", "track_peak_memory", [("dim=8", "cpu")])[0])
    assert re.search(both, names("ReLU", "time_op", [("dim=8", "cpu")])[0])


def test_measures_default_leaves_memory_out_and_take_comma_lists():
    assert suite.parse_args([]).measures == ["latency", "device"]
    assert suite.parse_args(["--measures", "memory,latency"]).measures == ["latency", "memory"]


def test_the_tables_show_device_time_when_the_run_measured_no_latency():
    rows = pd.DataFrame([{"method": vocabulary.MEASURE["device"].method, "status": "ok"},
                         {"method": vocabulary.MEASURE["latency"].method, "status": "failed"}])
    assert suite.shown_measure(rows) == "device"
    assert suite.shown_measure(rows.iloc[[1]]) is None
    assert suite.shown_measure(pd.concat([rows, rows.assign(status="ok")])) == "latency"


def test_the_tables_show_memory_when_the_run_measured_only_memory():
    rows = pd.DataFrame([{"method": vocabulary.MEASURE["memory"].method, "status": "ok"}])
    assert suite.shown_measure(rows) == "memory"


def test_a_memory_only_run_ends_with_its_tables_and_exit_0(tmp_path):
    """`--measures memory` alone (as on the H100): the results hold no timed benchmark, and
    the run still ends with the memory tables and its summary, not an error."""
    project = asv_project(tmp_path)
    present = [b for b in ("mlx_cpu", "cpu") if not frameworks.BACKENDS[b].unavailable_reason()]
    proc = run_tool("suite", "--profile", "small", "--backends", ",".join(present), "--ops", "relu",
                    "--measures", "memory", "--machine", project.machine, "--config", project.conf,
                    env=project.env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert vocabulary.MEASURE["memory"].shown_unit in proc.stdout
    assert "memory: " in proc.stdout and "Traceback" not in proc.stderr
