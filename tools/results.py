"""asv results of this suite as a pandas DataFrame, through asv's own results API."""

import ast
import itertools
import json
import math
import os
from dataclasses import dataclass

import pandas as pd
from asv import results as asv_results
from asv.machine import Machine
from asv import util as asv_util

from .errors import ToolError

TIME_METHOD = "time_op"
# The two measures of every op: latency (one call and its barrier) and device time.
MEASURES = {"latency": "time_op", "device": "time_device"}
# Beside a results file while asv runs (tools/asv_checkpoint.py): planned and finished cases.
PROGRESS_SUFFIX = ".progress"
SETTINGS_CLASS = "Float32Matmul"
PEAK_CLASS = "Peak"


@dataclass
class Selection:
    machine: str
    commit: str
    env: str
    path: str
    results: asv_results.Results


def results_dir_from_config(config_path):
    try:
        conf = asv_util.load_json(config_path, js_comments=True)
    except (OSError, asv_util.UserError, ValueError) as exc:
        raise ToolError(f"cannot read asv config {config_path}: {exc}".splitlines()[0]) from None
    root = os.path.dirname(os.path.abspath(config_path))
    return os.path.join(root, conf.get("results_dir", "results"))


def machines(results_dir):
    if not os.path.exists(results_dir):
        raise ToolError(f"no results folder at {results_dir}; run the suite first (asv run)")
    if not os.path.isdir(results_dir):
        raise ToolError(f"{results_dir} is not a folder; pass the asv results folder")
    found = sorted(
        name for name in os.listdir(results_dir)
        if os.path.isfile(os.path.join(results_dir, name, "machine.json"))
    )
    if not found:
        raise ToolError(f"{results_dir} holds no asv machine folders; run the suite first (asv run)")
    for name in found:
        path = os.path.join(results_dir, name, "machine.json")
        try:
            machine = asv_util.load_json(path, api_version=Machine.api_version)
        except (OSError, asv_util.UserError, ValueError) as exc:
            raise ToolError(f"{path} is not a readable asv machine file ({str(exc).splitlines()[0]})") from None
        if machine.get("machine") != name:
            raise ToolError(f"{path} names machine {machine.get('machine')!r}, not {name!r}; fix or remove that folder")
    return found


def _load_all(results_dir, machine):
    loaded = []
    for root, filename, _ in asv_results.iter_results_paths(os.path.join(results_dir, machine)):
        path = os.path.join(root, filename)
        try:
            loaded.append((path, asv_results.Results.load(path, machine_name=machine)))
        except (asv_util.UserError, ValueError, TypeError, KeyError) as exc:
            raise ToolError(f"{path} is not a readable asv results file ({str(exc).splitlines()[0]}); "
                            "re-run the suite for that commit or move the file away") from None
    return loaded


def load_file(path):
    """One results file, named by its path, as a Selection."""
    if not os.path.isfile(path):
        raise ToolError(f"no results file at {path}; pass the path of an asv results .json file")
    try:
        result = asv_results.Results.load(path)
    except (asv_util.UserError, ValueError, TypeError, KeyError) as exc:
        raise ToolError(f"{path} is not a readable asv results file ({str(exc).splitlines()[0]})") from None
    return Selection(result.params.get("machine", "?"), result.commit_hash, result.env_name, path, result)


def _last_run(result):
    started = [t for t in result.started_at.values() if t]
    return max(started, default=0)


def select(results_dir, machine=None, commit=None, env=None):
    """The results file for machine / commit / environment; the most recent run by default."""
    known = machines(results_dir)
    if machine is not None and machine not in known:
        raise ToolError(f"unknown machine {machine!r}; results exist for: {', '.join(known)}")
    candidates = []
    for name in [machine] if machine else known:
        candidates += [(name, path, r) for path, r in _load_all(results_dir, name)]
    if not candidates:
        raise ToolError(f"no results files under {results_dir}; run the suite first (asv run)")
    if commit is not None:
        matching = [c for c in candidates if c[2].commit_hash.startswith(commit)]
        if not matching:
            commits = sorted({c[2].commit_hash[:8] for c in candidates})
            raise ToolError(f"no results for commit {commit!r}; known commits: {', '.join(commits)}")
        candidates = matching
    if env is not None:
        matching = [c for c in candidates if c[2].env_name == env]
        if not matching:
            envs = sorted({c[2].env_name for c in candidates})
            raise ToolError(f"no results for environment {env!r}; known: {', '.join(envs)}")
        candidates = matching
    name, path, result = max(candidates, key=lambda c: _last_run(c[2]))
    return Selection(name, result.commit_hash, result.env_name, path, result)


def _param_values(params):
    try:
        return [[ast.literal_eval(v) for v in axis] for axis in params]
    except (ValueError, SyntaxError) as exc:
        raise ToolError(f"unexpected benchmark parameters {params!r}: {exc}") from None


def frame(selection):
    """One row per (benchmark, parameters): op, case, backend, method, value, stats."""
    try:
        return _frame(selection)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise ToolError(f"{selection.path} has a malformed benchmark entry ({type(exc).__name__}: {exc}); "
                        "re-run the suite for that commit or move the file away".splitlines()[0]) from None


def describe(op, method, combo):
    """Human-readable name of one benchmark case: `Op / case on backend [dtype] (measure)`."""
    if len(combo) >= 2:
        name = f"{op} / {combo[0]} on {combo[1]}" + (f" {combo[2]}" if len(combo) == 3 else "")
    else:
        name = f"{op} {' '.join(map(str, combo))}".strip()
    return f"{name} ({method})"


def _frame(selection):
    result = selection.results
    rows = []
    for key in sorted(result.get_all_result_keys()):
        parts = key.split(".")
        if len(parts) < 3:
            continue
        op, method = parts[-2], parts[-1]
        params = result.get_result_params(key) or []
        values = result.get_result_value(key, params)
        stats = result.get_result_stats(key, params) or [None] * len(values)
        if not isinstance(values, list):
            values, stats = [values], [stats]
        names = _param_values(params)
        for combo, value, stat in zip(itertools.product(*names), values, stats):
            row = {"op": op, "method": method, "value": value, "dtype": "float32"}
            if method in MEASURES.values() and len(combo) in (2, 3):
                row["case"], row["backend"] = combo[:2]
                if len(combo) == 3:
                    row["dtype"] = combo[2]
            elif op in (SETTINGS_CLASS, PEAK_CLASS) and len(combo) == 1:
                row["case"], row["backend"] = None, combo[0]
            else:
                continue
            # asv stores None for a case that raised or timed out, NaN for a skipped one.
            if value is None:
                row["status"] = "failed"
            elif isinstance(value, (int, float)) and not math.isnan(value):
                row["status"] = "ok"
            else:
                row["status"] = "skipped"
            row["q25"] = (stat or {}).get("q_25")
            row["q75"] = (stat or {}).get("q_75")
            rows.append(row)
    if not any(r["method"] in MEASURES.values() for r in rows):
        raise ToolError(f"{selection.path} holds no results of this suite (no {TIME_METHOD} benchmarks); "
                        "point --results at this suite's results folder")
    df = pd.DataFrame(rows)
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    return df


def not_run(selection):
    """Cases an interrupted run planned but never finished, as "Op / case on backend" strings.

    The progress file is written by tools/asv_checkpoint.py while asv runs and removed when
    the run completes; its absence means nothing is missing.
    """
    path = selection.path + PROGRESS_SUFFIX
    if not os.path.exists(path):
        return []
    try:
        with open(path) as f:
            progress = json.load(f)
        planned, done = progress["planned"], progress["done"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ToolError(f"{path} is not a readable progress file; delete it to ignore it") from None
    missing = []
    for name, plan in planned.items():
        finished = set(done.get(name, []))
        combos = list(itertools.product(*_param_values(plan["params"]))) or [()]
        parts = name.split(".")
        op, method = (parts[-2], parts[-1]) if len(parts) >= 3 else (name, "")
        for i in plan["selected"]:
            if i not in finished and i < len(combos):
                missing.append(describe(op, method, combos[i]))
    return missing
