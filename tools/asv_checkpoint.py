"""asv plugin (asv.conf.json's "plugins"): nothing a run has measured is lost.

asv 0.6 writes a results file once, after the whole run, by truncating and rewriting it
(asv/commands/run.py, asv/util.py): kill it after an hour and the hour is gone, kill it
while it writes and the file is empty. This plugin

- makes every JSON file asv writes (results, benchmarks.json, machine.json) atomic: a
  uniquely named temporary in the same folder, fsync, rename;
- saves the results after every finished case, through asv's own `Results` API, and keeps
  `<results file>.progress` with the cases planned and not yet finished (tools.tables lists
  them as "not run");
- takes the results folder's writer lock (tools/lock.py) for the run, so a second run into
  the same folder stops at once instead of overwriting this one's results;
- ends asv's forkserver when asv dies without closing it (SIGKILL), instead of leaving it
  and its imported frameworks in memory: a parent-death signal while it starts (Linux),
  then a watchdog.

Only copies of asv's objects are saved: the figures asv computes are exactly those of a run
without the plugin.
"""

import ast
import contextlib
import copy
import ctypes
import datetime
import itertools
import json
import os
import signal
import subprocess
import sys
import threading

from asv import console, runner, util
from asv import results as asv_results
from asv.commands import run as run_command
from asv.runner import BenchmarkResult

from benchmarks.harness import vocabulary

from . import lock
from .cli import ToolError, replace_atomically, write_bytes
from .results import CASES_ENV, PROGRESS_SUFFIX, read_progress

_run = {"results": None, "results_dir": None, "progress": {}, "finished": {}, "lock": None}


# --- atomic writes ----------------------------------------------------------------------

_original_write_json = util.write_json


def write_json(path, data, api_version=None, compact=False):
    """asv's own serialisation, into a temporary file that replaces `path` when complete."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    replace_atomically(path, lambda tmp: _original_write_json(tmp, data, api_version=api_version, compact=compact))


def _write_progress():
    path = progress_path(_run["results_dir"], _run["results"])
    left = {name: plan for name, plan in _run["progress"].items() if set(plan["selected"]) - set(plan["done"])}
    if left:
        replace_atomically(path, write_bytes(json.dumps(left).encode()))
    elif os.path.exists(path):
        os.remove(path)


def progress_path(results_dir, result):
    return os.path.join(results_dir, asv_results.get_filename(
        result.params["machine"], result.commit_hash, result.env_name)) + PROGRESS_SUFFIX


# --- the plan: what this run will measure -----------------------------------------------

# What only the suite's own modules know (the profile's case labels, the backends this
# machine lacks), as {"labels": {op: [label]}, "unavailable": [backend]}: tools.suite passes
# what it has already found out (CASES_ENV); under plain asv a process of its own asks the
# suite, so that asv's process never imports the frameworks.
CASES_SCRIPT = """
import json
from benchmarks.harness import catalog, vocabulary
labels = catalog.labels(vocabulary.setting("BENCH_PROFILE"))
unavailable = [b for b, reason in catalog.availability(vocabulary.BACKEND_NAMES).items() if reason]
print(json.dumps({"labels": labels, "unavailable": unavailable}))
"""
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _suite_cases(benchmarks):
    """The facts above, or None (nothing known) where the suite cannot tell or the run
    holds none of its cases."""
    if not any("backend" in (b.get("param_names") or []) for b in benchmarks.values()):
        return None
    facts = os.environ.get(CASES_ENV, "")
    try:
        if not facts:
            answer = subprocess.run([sys.executable, "-c", CASES_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                                    timeout=300, env=dict(os.environ, PYTHONPATH=ROOT))
            facts = answer.stdout if answer.returncode == 0 else ""
        facts = json.loads(facts) if facts else None
        return facts if isinstance(facts, dict) else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None


def _skipped_here(benchmark, combo, cases):
    """A combination the benchmark will skip whatever happens (so it is never "not run"):
    a backend or dtype not chosen or unsupported, another profile's case, an absent backend."""
    try:
        named = {k: ast.literal_eval(v) for k, v in zip(benchmark.get("param_names") or [], combo)}
    except (ValueError, SyntaxError):
        return False
    backend, dtype, case = named.get("backend"), named.get("dtype", "float32"), named.get("case")
    if backend not in vocabulary.BACKEND:
        return False
    try:
        chosen_backends = vocabulary.setting("BENCH_BACKENDS") or vocabulary.BACKEND_NAMES
        chosen_dtypes = vocabulary.setting("BENCH_DTYPES") or vocabulary.DTYPES
    except vocabulary.SettingError:
        return False
    if backend not in chosen_backends or dtype not in chosen_dtypes \
            or vocabulary.dtype_unsupported(backend, dtype) is not None:
        return True
    cases = cases or {}
    absent = backend in cases.get("unavailable", [])
    op_labels = cases.get("labels", {}).get(benchmark["name"].split(".")[-2])
    other_profile = op_labels is not None and case not in op_labels
    return absent or other_profile


def _plan(benchmarks):
    """{benchmark: {params, selected, done}} for this run, added to what earlier
    interrupted runs of the same results file left unfinished."""
    progress = {}
    try:
        progress = read_progress(progress_path(_run["results_dir"], _run["results"]))
    except ToolError:
        pass  # an unreadable progress file is replaced by this run's
    cases = _suite_cases(benchmarks)
    for name, b in benchmarks.items():
        combos = list(itertools.product(*b["params"])) if b["params"] else [()]
        chosen = benchmarks.benchmark_selection.get(name) or range(len(combos))
        selected = [i for i in chosen if not _skipped_here(b, combos[i], cases)]
        earlier = progress.get(name)
        if earlier and earlier["params"] == b["params"]:
            selected = sorted(set(selected) | set(earlier["selected"]))
            done = [i for i in earlier["done"] if i not in chosen]
        else:
            done = []
        progress[name] = {"params": b["params"], "selected": sorted(selected), "done": sorted(done)}
    return progress


# --- asv's hooks ------------------------------------------------------------------------

_original_load_data = asv_results.Results.load_data
_original_run_benchmarks = runner.run_benchmarks
_original_single_param = runner._run_benchmark_single_param
_original_forkserver_init = runner.ForkServer.__init__
_original_forkserver_close = runner.ForkServer.close


def load_data(self, result_dir):
    # asv loads earlier results into the object it will fill, just before running.
    if _run["lock"] is None:
        try:
            _run["lock"] = lock.hold(result_dir, what="asv " + " ".join(sys.argv[1:])[:150])
        except ToolError as exc:
            raise util.UserError(str(exc)) from None
    _run.update(results=self, results_dir=result_dir, progress={}, finished={})
    return _original_load_data(self, result_dir)


def run_benchmarks(benchmarks, env, results=None, **kwargs):
    ours = results is not None and results is _run["results"]
    if ours:
        _run["progress"] = _plan(benchmarks)
        results.save(_run["results_dir"])  # the file exists from the start, so its progress is found
        _write_progress()
    return _original_run_benchmarks(benchmarks, env, results=results, **kwargs)


def _checkpoint(benchmark, param_idx, res):
    name, param_idx = benchmark["name"], param_idx or 0  # None: a benchmark without parameters
    plan = _run["progress"].setdefault(name, {"params": benchmark["params"], "selected": [param_idx], "done": []})
    finished = _run["finished"].setdefault(name, {})
    finished[param_idx] = res
    snapshot = copy.deepcopy(_run["results"])
    count = len(list(itertools.product(*benchmark["params"]))) if benchmark["params"] else 1
    previous = snapshot.get_result_value(name, benchmark["params"]) if name in snapshot.get_all_result_keys() else None
    values, samples, numbers = [], [], []
    for i in range(count):
        done = finished.get(i)
        if done is not None:
            values += done.result
            samples += done.samples
            numbers += done.number
        else:
            values.append(previous[i] if previous is not None else float("nan"))
            samples.append(None)
            numbers.append(None)
    snapshot.add_result(benchmark, BenchmarkResult(result=values, samples=samples, number=numbers,
                                                   errcode=0, stderr="", profile=None),
                        started_at=datetime.datetime.now(datetime.timezone.utc), record_samples=True)
    snapshot.save(_run["results_dir"])
    plan["done"] = sorted(set(plan["done"]) | {param_idx})
    _write_progress()


def run_benchmark_single_param(benchmark, spawner, param_idx, profile, extra_params, cwd):
    res = _original_single_param(benchmark, spawner, param_idx, profile=profile,
                                 extra_params=extra_params, cwd=cwd)
    if _run["results"] is not None:
        try:
            _checkpoint(benchmark, param_idx, res)
        except Exception as exc:  # noqa: BLE001 - a failed checkpoint must never fail the run
            console.log.warning(f"checkpoint after {benchmark['name']} failed: {exc}")
    return res


# A watchdog reads a pipe only asv holds: at EOF without the "closed" byte, asv died
# unannounced, and the watchdog kills the forkserver's process group.
WATCHDOG = """
import os, signal, sys
if os.read(0, 1) != b"c":
    try:
        os.killpg(int(sys.argv[1]), signal.SIGKILL)
    except OSError:
        pass
"""


# asv starts the forkserver and then waits for it to import the suite (seconds: torch,
# torch.compile's warm-up) before the watchdog below can start. A SIGKILL in that window
# would leave the forkserver alive, so on Linux it is started with a parent-death signal:
# the kernel kills it when asv's thread that started it dies. Other systems keep that window.
PR_SET_PDEATHSIG = 1


def _die_with(parent_pid, preexec_fn):
    """A Popen preexec_fn: `preexec_fn`, then SIGKILL for this child when `parent_pid` dies."""
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec():
        if preexec_fn is not None:
            preexec_fn()
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the signal was armed
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


class _PopenDyingWithParent(subprocess.Popen):
    def __init__(self, *args, preexec_fn=None, **kwargs):
        super().__init__(*args, preexec_fn=_die_with(os.getpid(), preexec_fn), **kwargs)


@contextlib.contextmanager
def _children_die_with_this_thread():
    """Processes asv starts in the block get the parent-death signal (Linux, main thread
    only: the signal follows the thread that forked, and the main thread lives as long as asv)."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        yield
        return
    original, util.subprocess.Popen = util.subprocess.Popen, _PopenDyingWithParent
    try:
        yield
    finally:
        util.subprocess.Popen = original


def forkserver_init(self, env, root):
    with _children_die_with_this_thread():
        _original_forkserver_init(self, env, root)
    read_end, self._watchdog_pipe = os.pipe()
    os.set_inheritable(self._watchdog_pipe, False)
    subprocess.Popen([sys.executable, "-c", WATCHDOG, str(self.server_proc.pid)], stdin=read_end,
                     start_new_session=True, close_fds=True)
    os.close(read_end)


def forkserver_close(self):
    try:
        _original_forkserver_close(self)
    finally:
        pipe = getattr(self, "_watchdog_pipe", None)
        if pipe is not None:
            os.write(pipe, b"c")
            os.close(pipe)
            self._watchdog_pipe = None


util.write_json = write_json
asv_results.Results.load_data = load_data
runner.run_benchmarks = run_benchmarks
run_command.run_benchmarks = run_benchmarks  # bound there by `from ..runner import`
runner._run_benchmark_single_param = run_benchmark_single_param
runner.ForkServer.__init__ = forkserver_init
runner.ForkServer.close = forkserver_close
