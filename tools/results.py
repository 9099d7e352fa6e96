"""asv results of this suite: found, validated and read through asv's own results API, then
turned into one pandas DataFrame (one row per benchmark case) that every view works on.

Every tool that reads results goes through `select` / `load_file`, so every file it reads
has passed `validate`: a broken file stops the tool with one line naming the file, the
benchmark and the problem, before anything is written.
"""

import ast
import gzip
import itertools
import json
import math
import numbers
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass

import pandas as pd
from asv import results as asv_results
from asv.benchmarks import Benchmarks
from asv import util as asv_util
from asv.machine import Machine

from benchmarks.harness import vocabulary

from .cli import ToolError, read_config

# method -> measure name, for the measures every op records
MEASURES = {name: vocabulary.MEASURE[name].method for name in vocabulary.TIMED_MEASURES}
# Beside a results file while asv runs (tools/asv_checkpoint.py): planned and finished cases.
PROGRESS_SUFFIX = ".progress"
# From tools.suite to that plugin: the profile's case labels and the absent backends (JSON).
CASES_ENV = "MLX_TORCH_BENCH_CASES"
# A machine-facts benchmark (Peak, Float32Matmul) has one parameter: the backend.
FACT_CLASSES = (vocabulary.SETTINGS_CLASS, vocabulary.PEAK_CLASS)


@dataclass
class Selection:
    machine: str
    commit: str
    env: str
    path: str
    results: asv_results.Results


def results_dir_from_config(config_path):
    return read_config(config_path)["results_dir"]


# --- validation -------------------------------------------------------------------------

def _problem(path, key, text):
    return ToolError(f"{path}: {key}: {text}; re-run the suite for that commit or move the file away")


def param_values(params):
    """asv's parameter strings (Python literals) as values, axis by axis."""
    try:
        values = [[ast.literal_eval(v) for v in axis] for axis in params]
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"parameters that are not Python literals ({type(exc).__name__})") from None
    return values


def axis_names(op, method, axes):
    """The name of each parameter axis, told by its values: backends and dtypes are the
    vocabulary's names, the case is the remaining axis of labels. None for benchmarks
    that are not this suite's cases."""
    names = []
    for axis in axes:
        if axis and all(v in vocabulary.BACKEND for v in axis):
            names.append("backend")
        elif axis and all(v in vocabulary.DTYPES for v in axis):
            names.append("dtype")
        elif axis and all(isinstance(v, str) for v in axis):
            names.append("case")
        else:
            names.append(None)
    wanted = (["backend"] if op in FACT_CLASSES else
              ["case", "backend", "dtype"] if len(axes) == 3 else ["case", "backend"])
    if method in vocabulary.MEASURE_OF_METHOD or op in FACT_CLASSES:
        if sorted(map(str, names)) != sorted(wanted):
            raise ValueError(f"parameters {names} cannot be told apart; expected one axis each of {', '.join(wanted)}")
        return names
    return None


def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_value(v):
    if v is None:
        return
    if not _is_number(v):
        raise ValueError(f"value {v!r} is not a number")
    if math.isnan(v):
        return
    if math.isinf(v) or v < 0:
        raise ValueError(f"value {v!r} is not a finite non-negative number")


def _check_entry(result, key):
    if not isinstance(key, str) or len(key.split(".")) < 2:
        raise ValueError("not a benchmark name")
    params = result.get_result_params(key)
    if params is None:
        params = []
    if not isinstance(params, list) or not all(isinstance(a, list) and all(isinstance(v, str) for v in a)
                                               for a in params):
        raise ValueError("params is not a list of lists of strings")
    axes = param_values(params)
    parts = key.split(".")
    axis_names(parts[-2], parts[-1], axes)
    expected = math.prod(len(a) for a in axes)
    raw = result._results[key]  # asv keeps a scalar for benchmarks without parameters
    values = raw if isinstance(raw, list) else [raw]
    if len(values) != expected:
        raise ValueError(f"{len(values)} values for a parameter grid of {expected}")
    for v in values:
        _check_value(v)
    for column, table in (("samples", result._samples), ("stats", result._stats)):
        extra = table.get(key)
        if extra is None:
            continue
        if not isinstance(extra, list) or len(extra) != expected:
            raise ValueError(f"{column} do not match the parameter grid of {expected}")
        for item in extra:
            if column == "samples" and item is not None and not (
                    isinstance(item, list) and all(_is_number(s) for s in item)):
                raise ValueError(f"samples {str(item)[:40]} are not lists of numbers")
            if column == "stats" and not isinstance(item, dict):
                raise ValueError("stats are not records")
            if column == "stats":
                for name, s in item.items():
                    if s is not None and not _is_number(s):
                        raise ValueError(f"stat {name} {s!r} is not a number")
    started = result.started_at.get(key)
    if started is not None and not _is_number(started):
        raise ValueError(f"started_at {started!r} is not a number")


def validate(path, result):
    """Raise a one-line ToolError at the first problem of a loaded results file."""
    for field, kind in (("commit_hash", str), ("env_name", str), ("params", dict), ("python", str)):
        if not isinstance(getattr(result, field if field != "python" else "_python", None), kind):
            raise _problem(path, field, f"is not a {kind.__name__}")
    if not isinstance(result.params.get("machine"), str):
        raise _problem(path, "params", "names no machine")
    if not isinstance(result.date, (numbers.Real, type(None))) or isinstance(result.date, bool):
        raise _problem(path, "date", "is not a number")
    if not isinstance(result.started_at, dict) or not isinstance(result.duration, dict):
        raise _problem(path, "results", "started_at / durations are not records")
    for key in result.get_all_result_keys():
        try:
            _check_entry(result, key)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            raise _problem(path, key, str(exc) or type(exc).__name__) from None


def load_results(path, machine=None):
    """One results file through asv's API, validated."""
    if os.path.islink(path) and not os.path.exists(path):
        raise ToolError(f"{path} is a broken or looping symbolic link; remove it")
    try:
        result = asv_results.Results.load(path, machine_name=machine)
    except OSError as exc:
        raise ToolError(f"cannot read {path} ({exc.strerror or exc}); fix its permissions or move it away") from None
    except (asv_util.UserError, ValueError, TypeError, KeyError, AttributeError, IndexError,
            RecursionError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ToolError(f"{path} is not a readable asv results file ({message}); "
                        "re-run the suite for that commit or move the file away") from None
    validate(path, result)
    return result


# --- finding results --------------------------------------------------------------------

def _listdir(folder):
    try:
        return sorted(os.listdir(folder))
    except OSError as exc:
        raise ToolError(f"cannot list {folder} ({exc.strerror}); fix its permissions or pass another folder") from None


def machines(results_dir):
    if not os.path.exists(results_dir):
        if os.path.islink(results_dir):
            raise ToolError(f"{results_dir} is a broken or looping symbolic link; pass the asv results folder")
        raise ToolError(f"no results folder at {results_dir}; run the suite first (asv run)")
    if not os.path.isdir(results_dir):
        raise ToolError(f"{results_dir} is not a folder; pass the asv results folder")
    found = []
    for name in _listdir(results_dir):
        path = os.path.join(results_dir, name, "machine.json")
        if os.path.islink(os.path.join(results_dir, name)) and not os.path.exists(os.path.join(results_dir, name)):
            raise ToolError(f"{os.path.join(results_dir, name)} is a broken or looping symbolic link; remove it")
        if os.path.lexists(path):
            found.append(name)
    if not found:
        raise ToolError(f"{results_dir} holds no asv machine folders; run the suite first (asv run)")
    for name in found:
        path = os.path.join(results_dir, name, "machine.json")
        try:
            machine = asv_util.load_json(path, api_version=Machine.api_version)
        except OSError as exc:
            raise ToolError(f"cannot read {path} ({exc.strerror or exc}); fix it or move that folder away") from None
        except (asv_util.UserError, ValueError, TypeError, AttributeError, RecursionError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ToolError(f"{path} is not a readable asv machine file ({message})") from None
        if not isinstance(machine, dict) or machine.get("machine") != name:
            named = machine.get("machine") if isinstance(machine, dict) else None
            raise ToolError(f"{path} names machine {named!r}, not {name!r}; fix or remove that folder")
    return found


def load_all(results_dir, machine):
    """[(path, Results)] of every results file of `machine`, each validated."""
    folder = os.path.join(results_dir, machine)
    loaded = []
    for name in _listdir(folder):
        path = os.path.join(folder, name)
        if name == "machine.json" or not name.endswith(".json") or name.startswith("."):
            continue
        loaded.append((path, load_results(path, machine)))
    return loaded


def load_file(path):
    """One results file, named by its path (asv's .json, or that gzipped: .json.gz), as a Selection."""
    if not os.path.isfile(path):
        raise ToolError(f"no results file at {path}; pass the path of an asv results .json (or .json.gz) file")
    result = _load_gzipped(path) if path.endswith(".gz") else load_results(path)
    return Selection(result.params.get("machine", "?"), result.commit_hash, result.env_name, path, result)


def _load_gzipped(path):
    """load_results of a gzipped results file, through a decompressed temporary copy."""
    with tempfile.TemporaryDirectory() as folder:
        plain = os.path.join(folder, os.path.basename(path)[:-len(".gz")])
        try:
            with gzip.open(path, "rb") as src, open(plain, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except (OSError, EOFError, zlib.error) as exc:
            raise ToolError(f"{path} is not a readable gzip file ({exc}); gunzip it or move it away") from None
        try:
            return load_results(plain)
        except ToolError as exc:
            raise ToolError(str(exc).replace(plain, path)) from None


def _last_run(path, result):
    """When the file's last case started, in asv's milliseconds; for a run interrupted
    before its first case, when it planned them (its progress file's time)."""
    started = max((t for t in result.started_at.values() if t), default=0)
    if started or not os.path.exists(path + PROGRESS_SUFFIX):
        return started
    return os.path.getmtime(path + PROGRESS_SUFFIX) * 1000


def methods_for(measure):
    """The benchmark methods a results file needs for `measure` to be shown: either timing
    for a time measure (latency falls back to device time), else the measure's own."""
    names = vocabulary.TIMED_MEASURES if measure in vocabulary.TIMED_MEASURES else (measure,)
    return {vocabulary.MEASURE[name].method for name in names}


def holds_any(result, methods):
    """Whether asv results hold a figure of any of these benchmark methods."""
    for key in result.get_all_result_keys():
        if key.rsplit(".", 1)[-1] in methods:
            values = result.get_result_value(key, result.get_result_params(key) or [])
            if any(isinstance(v, (int, float)) and v == v for v in values):
                return True
    return False


def select(results_dir, machine=None, commit=None, env=None, methods=None):
    """The results file for machine / commit / environment; the most recent run by default,
    and with `methods`, the most recent run that holds a figure of one of them or none at
    all (a run of peak memory alone is not the latest timing; a run killed before its first
    figure is the latest run), when any does."""
    known = machines(results_dir)
    if machine is not None and machine not in known:
        raise ToolError(f"unknown machine {machine!r}; results exist for: {', '.join(known)}")
    candidates = []
    for name in [machine] if machine else known:
        candidates += [(name, path, r) for path, r in load_all(results_dir, name)]
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
    if methods and commit is None:  # a run interrupted before any figure stays the latest (not_run)
        candidates = [c for c in candidates if holds_any(c[2], methods)
                      or not holds_any(c[2], vocabulary.MEASURE_OF_METHOD)] or candidates
    name, path, result = max(candidates, key=lambda c: _last_run(c[1], c[2]))
    return Selection(name, result.commit_hash, result.env_name, path, result)


# --- the frame --------------------------------------------------------------------------

def describe(op, method, combo):
    """Human-readable name of one benchmark case: `Op / case on backend [dtype] (measure)`."""
    if len(combo) >= 2:
        name = f"{op} / {combo[0]} on {combo[1]}" + (f" {combo[2]}" if len(combo) == 3 else "")
    else:
        name = f"{op} {' '.join(map(str, combo))}".strip()
    return f"{name} ({method})"


def named_cases(key, params):
    """[(index in asv's grid, {axis name: value})] of one benchmark, axes matched by name."""
    parts = key.split(".")
    axes = param_values(params or [])
    names = axis_names(parts[-2], parts[-1], axes)
    if names is None:
        return []
    return [(i, dict(zip(names, combo))) for i, combo in enumerate(itertools.product(*axes))]


def status_of(value):
    # asv stores None for a case that raised or timed out, NaN for a skipped one.
    if value is None:
        return "failed"
    return "skipped" if math.isnan(value) else "ok"


def sample_count(kept, stat):
    """How many samples a figure is the median of: those asv kept (`--record-samples`), else
    its statistics' count (asv's "repeat"); None for a figure without either."""
    return len(kept) if kept else stat.get("repeat")


def frame(selection):
    """One row per (benchmark, parameters): op, method, case, backend, dtype, value, status,
    q25, q75, samples (how many the value is the median of) and the benchmark's version."""
    result = selection.results
    rows = []
    for key in sorted(result.get_all_result_keys()):
        parts = key.split(".")
        op, method = parts[-2], parts[-1]
        params = result.get_result_params(key) or []
        values = result.get_result_value(key, params)
        stats = result.get_result_stats(key, params) or [None] * len(values)
        samples = result.get_result_samples(key, params) or [None] * len(values)
        for i, names in named_cases(key, params):
            value, stat = values[i], stats[i] or {}
            rows.append({"op": op, "method": method, "case": names.get("case"), "backend": names["backend"],
                         "dtype": names.get("dtype", "float32"), "value": value, "status": status_of(value),
                         "q25": stat.get("q_25"), "q75": stat.get("q_75"),
                         "samples": sample_count(samples[i], stat),
                         "version": result.benchmark_version.get(key)})
    if not any(r["method"] in vocabulary.MEASURE_OF_METHOD for r in rows):
        never_ran = not_run(selection)
        if never_ran:
            raise ToolError(f"{selection.path}: the run was interrupted before its first case finished; "
                            f"not run ({len(never_ran)}): {'; '.join(never_ran)}; run the same command again")
        raise ToolError(f"{selection.path} holds no results of this suite (no "
                        f"{', '.join(vocabulary.MEASURE_OF_METHOD)} benchmarks); point --results at this suite's "
                        "results folder")
    df = pd.DataFrame(rows)
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    df["samples"] = df["samples"].astype("Int64")
    return df


# --- interrupted runs -------------------------------------------------------------------

def read_progress(path):
    """The progress file beside a results file: {benchmark: {"params", "selected", "done"}}."""
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            progress = json.load(f)
        for plan in progress.values():
            if not (isinstance(plan["params"], list) and all(isinstance(i, int) for i in plan["selected"] + plan["done"])):
                raise TypeError
        return progress
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise ToolError(f"{path} is not a readable progress file; delete it to ignore it") from None


def not_run(selection):
    """Cases an interrupted run planned but never finished, as "Op / case on backend" strings.

    The progress file is written by tools/asv_checkpoint.py while asv runs; a case leaves
    it when it finishes, and the file goes when nothing planned is left."""
    missing = []
    for name, plan in sorted(read_progress(selection.path + PROGRESS_SUFFIX).items()):
        try:
            combos = list(itertools.product(*param_values(plan["params"]))) or [()]
        except ValueError as exc:
            raise ToolError(f"{selection.path}{PROGRESS_SUFFIX}: {name}: {exc}; delete it to ignore it") from None
        parts = name.split(".")
        op, method = (parts[-2], parts[-1]) if len(parts) >= 3 else (name, "")
        done = set(plan["done"])
        missing += [describe(op, method, combos[i]) for i in plan["selected"] if i not in done and i < len(combos)]
    return missing


# --- the benchmarks table asv publish needs -----------------------------------------------

BENCHMARKS_FILE = "benchmarks.json"


def load_benchmarks(folder, required):
    path = os.path.join(folder, BENCHMARKS_FILE)
    if not os.path.exists(path):
        if required:
            raise ToolError(f"{folder} has no {BENCHMARKS_FILE}; asv run writes it beside the machine "
                            "folders: copy it from the same run (e.g. include it in the CI artifact)")
        return {}
    try:
        table = asv_util.load_json(path, api_version=Benchmarks.api_version)
    except (OSError, asv_util.UserError, ValueError, TypeError) as exc:
        raise ToolError(f"{path} is not a readable asv benchmarks file ({str(exc).splitlines()[0]})") from None
    if not isinstance(table, dict) or not all(isinstance(entry, dict) for entry in table.values()):
        raise ToolError(f"{path} is not a readable asv benchmarks file (not a table of benchmarks); "
                        "take it from the run that wrote the results")
    return table


def _union_params(first, more):
    """Parameter axes holding `first`'s values and then any others of `more` (same axes)."""
    if not first or len(first) != len(more):
        return first or more
    return [list(a) + [v for v in b if v not in a] for a, b in zip(first, more)]


def latest_versions(results_dir):
    """{machine: {benchmark: (version, params)}} of each machine's most recent results file
    holding the benchmark (by the run's date): the definition its newest figures belong to."""
    chosen = {}
    for machine in machines(results_dir):
        newest = {}
        for _, result in sorted(load_all(results_dir, machine), key=lambda pr: pr[1].date or 0):
            for key in result.get_all_result_keys():
                newest[key] = (result.benchmark_version.get(key), result.get_result_params(key))
        chosen[machine] = newest
    return chosen


def described_table(table, results_dir):
    """`table` (a benchmarks.json: what asv discovered) with each benchmark's version and
    parameters as the results know them: the version of its most recent result on any
    machine, parameters widened by those the results carry. Benchmarks no result holds
    keep `table`'s entry."""
    latest = {}
    for newest in latest_versions(results_dir).values():
        for key, (version, params) in newest.items():
            latest.setdefault(key, []).append((version, params))
    described = {}
    for key, entry in table.items():
        if not isinstance(entry, dict) or key not in latest:
            described[key] = entry
            continue
        entry = dict(entry)
        for version, params in latest[key]:
            entry["params"] = _union_params(entry.get("params") or [], params or [])
        entry["version"] = latest[key][-1][0]
        described[key] = entry
    return described


def publishable(results_dir, table, view):
    """Fill the empty folder `view` with a results tree asv publish shows every machine's
    newest figures from, whatever benchmark versions the machines ran.

    asv publishes a benchmark's results only where their version equals benchmarks.json's,
    and a benchmarks.json holds one version per benchmark: after a run of today's code
    (asv rewrites benchmarks.json with today's versions), the committed results of another
    machine, measured with an older definition, would vanish from the site. Each machine's
    graphs follow that machine's newest definition of a benchmark (its older-version
    results are left out, as asv leaves them out); in the view's copies that version is
    recorded as the table's, so asv shows them. The real results are never changed."""
    versions = latest_versions(results_dir)
    wanted = {}
    for newest in versions.values():
        for key, (version, params) in newest.items():
            if key in table and isinstance(table[key], dict):
                wanted.setdefault(key, dict(table[key], version=table[key].get("version") or version))
                wanted[key]["params"] = _union_params(wanted[key].get("params") or [], params or [])
    full = {key: entry for key, entry in table.items()}
    full.update(wanted)
    for machine, newest in versions.items():
        os.makedirs(os.path.join(view, machine))
        shutil.copyfile(os.path.join(results_dir, machine, "machine.json"), os.path.join(view, machine, "machine.json"))
        for _, result in load_all(results_dir, machine):
            for key in list(result.get_all_result_keys()):
                if key not in full or result.benchmark_version.get(key) != newest[key][0]:
                    result.remove_result(key)
                else:
                    result._benchmark_version[key] = full[key].get("version")
            result.save(view)
    asv_util.write_json(os.path.join(view, BENCHMARKS_FILE), full, api_version=Benchmarks.api_version)
    return full
