"""Run the suite through asv on this machine's backends, then print the tables.

    python -m tools.suite --profile small        # a few minutes on a 2-core CPU machine
    python -m tools.suite                        # the reference shapes (hours on a CPU)
    python -m tools.suite --backends mlx_gpu,mlx_gpu_compile,cuda --dtypes float32 --ops softmax,MatMul
    python -m tools.suite --profile small --measures device        # device time only
    python -m tools.suite --profile small --measures latency,device,memory   # also peak memory

Results land in asv's results folder under this commit and the asv machine name (the
detected one, with "-small" appended for the small profile so that its figures never mix
with reference-size ones), in an environment named by the Python, mlx and torch versions.
Only the backends present here are run (asv starts a process for every parameter
combination it runs, skipped or not); the absent ones are listed with their reasons.
float16 / bfloat16 cases run on GPU backends only. The memory measure costs a process per
case, so it runs only when --measures names it. Every option and BENCH_* variable is
checked before anything runs. On screen: one line per finished benchmark and a progress bar
with the time left; asv's whole output goes to a log file. At the end: counts, failed cases
with their reasons, where the results are and what to run next. Exit status 1 when a case
failed.
"""

import datetime
import json
import os
import queue
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

from asv import util as asv_util
from asv.machine import Machine
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from benchmarks.harness import catalog, measurement, vocabulary
from benchmarks.harness.frameworks import cpu_threads

from . import lock, tables
from .asv_output import AsvOutput, short_name
from .cli import (ToolError, add_case_options, machine_name, main_guard, names_of, parser, read_config,
                  replace_atomically, write_bytes)
from .results import CASES_ENV, PROGRESS_SUFFIX, frame, read_progress, select

SMALL_SUFFIX = "-small"
DEFAULT_MEASURES = ("latency", "device")
FACT_CLASSES = (vocabulary.PEAK_CLASS, vocabulary.SETTINGS_CLASS)


def git_head(root):
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise ToolError(f"{root} is not a git checkout with a commit; asv files results under a commit") from None


def default_machine(profile):
    """The machine asv knows here (its only one, without the profile's suffix) or the host
    name; "-small" appended for the small profile, once."""
    path = os.path.expanduser("~/.asv-machine.json")
    try:
        known = {k.removesuffix(SMALL_SUFFIX) for k in asv_util.load_json(path) if k != "version"}
    except (OSError, asv_util.UserError, ValueError, TypeError, AttributeError):
        known = set()
    base = known.pop() if len(known) == 1 else socket.gethostname()
    return machine_name(base + (SMALL_SUFFIX if profile == "small" else ""))


def selection_regex(backends, dtypes, ops=None, bench=None, labels=None, measures=None):
    """An asv --bench regex over `name(param, ...)` that picks only the (case, backend,
    dtype) combinations and measures to run: asv then starts no process for the others.
    The machine facts (Peak, Float32Matmul) run with any measures."""
    def alternatives(names):
        return "|".join(re.escape(n) for n in names)

    pattern = rf"^(?=.*[(,] ?'(?:{alternatives(backends)})'[,)])"
    cpu = [b for b in backends if not vocabulary.BACKEND[b].gpu]
    if cpu:  # float16 / bfloat16 are measured on GPU backends only
        pattern += rf"(?!.*'(?:{alternatives(cpu)})', '(?:{alternatives(vocabulary.REDUCED_DTYPES)})'\)$)"
    skipped = [d for d in vocabulary.DTYPES if d not in dtypes]
    if skipped:
        pattern += rf"(?!.*'(?:{alternatives(skipped)})'\)$)"
    if labels is not None:  # the profile's cases; machine facts (one backend parameter) always
        pattern += rf"(?=.*\('(?:{alternatives(labels)})'|.*\.\w+\('[^']*'\)$)"
    if measures is not None:
        methods = [vocabulary.MEASURE[m].method for m in measures]
        pattern += rf"(?=.*\.(?:{alternatives(methods)})\(|.*\.(?:{alternatives(FACT_CLASSES)})\.)"
    if ops:
        pattern += rf"(?=.*\.(?:{alternatives(ops)})\.)"
    if bench:
        pattern += rf"(?=.*(?:{bench}))"
    return pattern


def parse_args(argv):
    p = parser("tools.suite", __doc__)
    p.add_argument("--profile", choices=vocabulary.PROFILES,
                   help="case shapes: the reference table's (default), or small ones with the same ops, ranks and axes")
    add_case_options(p, "comma-separated subset to run (default: every backend present)")
    p.add_argument("--ops", type=op_names, help="comma-separated ops to run, any letter case (default: all)")
    p.add_argument("--measures", type=names_of("measure(s)", [m.name for m in vocabulary.MEASURES]),
                   default=list(DEFAULT_MEASURES),
                   help="comma-separated measures: " + "; ".join(f"{m.name}: {m.description}" for m in vocabulary.MEASURES)
                        + f" (default {','.join(DEFAULT_MEASURES)}; memory costs a process per case)")
    p.add_argument("--machine", type=machine_name, help="asv machine name to file results under")
    p.add_argument("--bench", "-b", help="asv benchmark regex, e.g. 'Softmax|Sort' or '\\.time_device\\('")
    p.add_argument("--config", default="asv.conf.json")
    args = p.parse_args(argv)
    check_settings(args)
    check_bench(args.bench)
    return args


def op_names(text):
    return names_of("op(s)", [op.__name__ for op in catalog.ops()], case_insensitive=True)(text)


def check_bench(bench):
    if bench:
        try:
            re.compile(bench)
        except re.error as exc:
            raise ToolError(f"--bench {bench!r} is not a regular expression ({exc})") from None


def check_settings(args):
    """BENCH_* variables: each valid, and none contradicting an option."""
    errors = vocabulary.setting_errors()
    if errors:
        raise ToolError("; ".join(errors))
    profile = os.environ.get("BENCH_PROFILE", "").strip()
    if profile and args.profile and profile != args.profile:
        raise ToolError(f"BENCH_PROFILE={profile} contradicts --profile {args.profile}; drop one")
    args.profile = args.profile or vocabulary.setting("BENCH_PROFILE")
    for name, option, known in (("BENCH_BACKENDS", "backends", vocabulary.BACKEND_NAMES),
                                ("BENCH_DTYPES", "dtypes", vocabulary.DTYPES)):
        chosen = vocabulary.setting(name)
        wanted = getattr(args, option) or known
        if chosen and not set(chosen) & set(wanted):
            raise ToolError(f"{name}={','.join(chosen)} leaves none of the --{option} {','.join(wanted)} to run; "
                            "unset it or choose others")
        setattr(args, option, [w for w in wanted if not chosen or w in chosen])


def record_machine(machine, config):
    # asv fills cpu, ram and os only for the machine named like this host, and `asv machine`
    # drops options equal to the host's defaults: fill the missing details through its API.
    from asv.machine import MachineCollection

    try:
        try:
            known = MachineCollection.load(machine)
        except asv_util.UserError:
            known = {}
        missing = {k: v for k, v in Machine.get_defaults().items() if not known.get(k)}
        if not known:  # else Machine.load prints asv's "No information stored about machine ..."
            MachineCollection.save(machine, dict(missing, machine=machine))
        Machine.load(machine_name=machine, **dict(missing, machine=machine))
    except (OSError, ValueError, asv_util.UserError) as exc:
        raise ToolError(f"cannot record machine {machine!r} in asv's machine file ({exc})") from None


# --- before the run ---------------------------------------------------------------------

def planned_cases(args, backends):
    """How many (case, backend, dtype, measure) combinations the run selects, about
    (an op without a dtype parameter runs float32 only)."""
    ops = [op for op in catalog.ops() if not args.ops or op.__name__ in args.ops]
    count = 0
    for op in ops:
        dtypes = args.dtypes if len(op.params) == 3 else ["float32"]
        combos = sum(1 for b in backends for d in dtypes if not vocabulary.dtype_unsupported(b, d))
        count += len(op.labels(args.profile)) * combos * len(args.measures)
    return count


def warn_of_length(args, backends, out):
    cpu = [b for b in backends if not vocabulary.BACKEND[b].gpu]
    if args.profile == "reference" and cpu:
        out.print(f"[yellow]note:[/] the reference shapes on CPU backends ({', '.join(cpu)}) take hours "
                  f"(about {planned_cases(args, backends)} cases, inputs up to 10^8 elements); "
                  "--profile small runs the same ops in minutes. Ctrl-C keeps every finished case.")


def require_writable(folders):
    """Each folder, or the nearest one above it where it does not exist yet, takes new files:
    checked by making one (file modes alone do not tell, e.g. for root or on a read-only
    mount), so that a run never measures for an hour and then cannot save."""
    for folder in folders:
        existing = os.path.abspath(folder)
        while not os.path.isdir(existing) and os.path.dirname(existing) != existing:
            existing = os.path.dirname(existing)
        try:
            fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-check-")
        except OSError as exc:
            raise ToolError(f"cannot write into {existing} ({exc.strerror}); the run would save there: "
                            "fix its permissions or choose another results folder") from None
        os.close(fd)
        os.unlink(probe)


def wait_for_quiet_cores(backends, out):
    """Before CPU cases: say so, and wait (BENCH_IDLE_WAIT at most), when other processes
    keep the cores busy; a CPU figure then measures the scheduler. Returns the threads."""
    if not any(not vocabulary.BACKEND[b].gpu for b in backends):
        return None
    threads, cores = cpu_threads(), os.cpu_count() or 1
    spare = cores - threads + 0.25  # load that still leaves every thread a core
    load = measurement.others_load(1.0)
    if load is not None and load > spare:
        limit = vocabulary.setting("BENCH_IDLE_WAIT")
        out.print(f"[yellow]other processes keep {load:.1f} of {cores} cores busy[/]; waiting up to {limit:.0f} s "
                  f"for the {threads} thread(s) of the CPU backends to have cores (BENCH_IDLE_WAIT)")
        deadline = time.monotonic() + limit
        while load is not None and load > spare and time.monotonic() < deadline:
            load = measurement.others_load(1.0)
        if load is not None and load > spare:
            out.print(f"[yellow]still {load:.1f} cores busy: running anyway[/]; each CPU case waits again for "
                      "quiet cores and fails with the reason if they stay busy")
    return threads


# --- the run ----------------------------------------------------------------------------

class Plan:
    """Cases planned and finished, from the checkpoint plugin's progress file beside the
    results file (tools/asv_checkpoint.py): written when the run starts, updated after
    every finished case, removed when nothing planned is left."""

    def __init__(self, folder, commit, started):
        self.pattern = re.compile(re.escape(commit[:8]) + r"-.*\.json" + re.escape(PROGRESS_SUFFIX) + "$")
        self.folder, self.started = folder, started
        self.path, self.total, self.left = None, None, None

    def poll(self):
        """(finished, total) or None before the plan is known."""
        if self.path is None:
            try:
                names = [n for n in os.listdir(self.folder) if self.pattern.match(n)]
            except OSError:
                return None
            fresh = [os.path.join(self.folder, n) for n in names
                     if os.path.getmtime(os.path.join(self.folder, n)) >= self.started - 1]
            if not fresh:
                return None
            self.path = max(fresh, key=os.path.getmtime)
        try:
            progress = read_progress(self.path)
        except ToolError:
            return self.state()
        left = sum(len(set(plan["selected"]) - set(plan["done"])) for plan in progress.values())
        if self.total is None or left > self.total:
            self.total = left
        self.left = left if progress or os.path.exists(self.path) else 0
        return self.state()

    def state(self):
        return None if self.total is None else (self.total - (self.left or 0), self.total)


def stream_asv(args, env, out, log, plan, pass_fds):
    """asv run with its output read line by line: benchmarks' blocks to the log only, one
    line per finished benchmark and a progress bar on screen. Returns (status, AsvOutput)."""
    command = [sys.executable, "-m", "asv", *args]
    proc = subprocess.Popen(command, cwd=os.path.dirname(args[-1]), env=dict(env, PYTHONUNBUFFERED="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                            errors="replace", bufsize=1, pass_fds=pass_fds)
    lines = queue.Queue()

    def read():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    parsed = AsvOutput()
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("cases"), TimeElapsedColumn(), TextColumn("elapsed,"), TimeRemainingColumn(),
               TextColumn("left"))
    try:
        with Progress(*columns, console=out, transient=True) as bar:
            task = bar.add_task("asv run", total=None)
            while True:
                try:
                    line = lines.get(timeout=0.5)
                except queue.Empty:
                    line = ""
                if line is None:
                    break
                if line:
                    log.append(line.rstrip("\n"))
                    shown = parsed.feed(line)
                    if isinstance(shown, str):
                        out.print(shown, markup=False, highlight=False)
                    elif shown is not None:
                        ok = shown.status == "ok"
                        out.print(f"[{'green' if ok else 'red'}]{shown.status:>12}[/]  {short_name(shown.name)}",
                                  highlight=False)
                state = plan.poll()
                if state:
                    bar.update(task, completed=state[0], total=state[1])
            parsed.close()
            return proc.wait(), parsed
    except KeyboardInterrupt:
        proc.wait()  # asv got the interrupt too; its checkpoint keeps what finished
        parsed.close()
        raise


def write_log(root, machine, commit, lines):
    folder = os.path.join(root, ".asv", "logs")
    os.makedirs(folder, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(folder, f"suite-{machine}-{commit[:8]}-{stamp}.log")
    replace_atomically(path, write_bytes(("\n".join(lines) + "\n").encode()))
    return os.path.relpath(path)


# --- after the run ----------------------------------------------------------------------

def this_run(df, args, backends, labels):
    """The frame's rows of the cases this run selected (the results file may hold more)."""
    methods = [vocabulary.MEASURE[m].method for m in args.measures]
    rows = df[df["backend"].isin(backends) & df["method"].isin(methods) & df["case"].isin(labels)
              & df["dtype"].isin(args.dtypes)]
    rows = rows[[vocabulary.dtype_unsupported(b, d) is None for b, d in zip(rows["backend"], rows["dtype"])]]
    if args.ops:
        rows = rows[rows["op"].isin(args.ops)]
    if args.bench:
        names = [f"{r.op}.{r.method}({r.case!r}, {r.backend!r}" + (")" if r.dtype == "float32" and not r.dtyped
                                                                    else f", {r.dtype!r})")
                 for r in rows.assign(dtyped=rows["op"].map(dtyped_ops(df))).itertuples()]
        rows = rows[[re.search(args.bench, n) is not None for n in names]]
    return rows


def dtyped_ops(df):
    return {op: (group["dtype"] != "float32").any() for op, group in df.groupby("op")}


def reason_for(row, failures):
    for (name, case), reason in failures.items():
        if name.endswith(f".{row.op}.{row.method}") and case[:2] == (row.case, row.backend) \
                and (len(case) < 3 or case[2] == row.dtype):
            return reason
    return "no reason in asv's output (see the log)"


def summary(ran, parsed, selection, log_path, machine, threads, seconds):
    """The closing lines: counts, failures and skips with reasons, where things are, what next."""
    counts = ran.groupby("status").size()
    lines = [f"{len(ran)} cases in {seconds // 60:.0f} min {seconds % 60:.0f} s: " + ", ".join(
        f"{counts.get(s, 0)} {s}" for s in ("ok", "skipped", "failed"))]
    for measure in vocabulary.MEASURES:
        part = ran[ran["method"] == measure.method]
        if len(part):
            by = part.groupby("status").size()
            lines.append(f"  {measure.name}: " + ", ".join(f"{by.get(s, 0)} {s}" for s in ("ok", "skipped", "failed")))
    failed = ran[ran["status"] == "failed"]
    if len(failed):
        lines.append(f"Failed ({len(failed)}):")
        lines += [f"  {r.op} / {r.case} on {r.backend}" + ("" if r.dtype == "float32" else f" {r.dtype}")
                  + f" ({r.method}): {reason_for(r, parsed.failures)}" for r in failed.itertuples()]
    if parsed.skips:
        lines.append("Skipped, by reason:")
        lines += [f"  {n} x {reason}" for reason, n in parsed.skips.most_common()]
    if threads:
        lines.append(f"CPU backends ran with {threads} thread(s) (BENCH_THREADS; default: the cores this process may use).")
    lines += [f"Results: {os.path.relpath(selection.path)}",
              f"  (machine {selection.machine}, commit {selection.commit[:8]}, environment {selection.env})",
              f"asv's full output: {log_path}",
              "Next:",
              f"  python3 -m tools.tables --machine {machine} --measure device   # device time; --roofline, --csv DIR",
              f"  python3 -m tools.plots bars --machine {machine} --out charts/",
              f"  python3 -m tools.compare HEAD~1 HEAD --machine {machine}   # after a run of the other commit",
              "  python3 -m tools.site publish --offline && asv preview   # the HTML site"]
    return lines


def shown_measure(ran):
    """The tables' measure: the first of the vocabulary's measures (latency, device time,
    memory) with a figure in this run, else none."""
    for name in vocabulary.MEASURE:
        if ((ran["method"] == vocabulary.MEASURE[name].method) & (ran["status"] == "ok")).any():
            return name
    return None


@main_guard
def main(argv=None):
    args = parse_args(argv)
    if not os.path.isfile(args.config):
        raise ToolError(f"no asv config at {args.config}; run from the project root")
    root = os.path.dirname(os.path.abspath(args.config))
    conf = read_config(args.config)
    results_dir = conf["results_dir"]
    commit = git_head(os.path.join(root, conf.get("repo", ".")))
    machine = args.machine or default_machine(args.profile)
    out = Console(highlight=False, soft_wrap=True)
    reasons = catalog.availability(args.backends)
    for name, reason in reasons.items():
        if reason:
            out.print(f"skipping {name}: {reason}", markup=False)
    backends = [b for b in args.backends if not reasons[b]]
    if not backends:
        raise ToolError("none of the chosen backends is present on this machine (reasons above)")
    warn_of_length(args, backends, out)
    labels = sorted({label for op_labels in catalog.labels(args.profile).values() for label in op_labels})
    regex = selection_regex(backends, args.dtypes, args.ops, args.bench, labels, args.measures)
    asv_args = ["run", "--python=same", "--set-commit-hash", commit, "--machine", machine, "--bench", regex]
    if sys.platform == "darwin":
        # Never fork on macOS: asv's forkserver forks benchmark processes from one that has
        # imported torch (and warms torch.compile up), and PyTorch documents that MPS / Metal
        # in a forked child can hang or crash; spawn starts each process afresh.
        asv_args += ["--launch-method", "spawn"]
    log = []
    with lock.held(results_dir) as held:
        require_writable([results_dir, os.path.join(results_dir, machine), os.path.join(root, ".asv", "logs")])
        cases = {"labels": catalog.labels(args.profile), "unavailable": [b for b, why in reasons.items() if why]}
        env = lock.inherit_env(held, dict(os.environ, BENCH_PROFILE=args.profile, **{CASES_ENV: json.dumps(cases)}))
        record_machine(machine, args.config)
        threads = wait_for_quiet_cores(backends, out)
        out.print(f"asv run: {', '.join(backends)}; {args.profile} profile; measures {', '.join(args.measures)}; "
                  f"machine {machine}", markup=False)
        start, wall = time.time(), time.perf_counter()
        plan = Plan(os.path.join(results_dir, machine), commit, start)
        try:
            status, parsed = stream_asv(asv_args + ["--config", os.path.abspath(args.config)], env, out, log, plan,
                                        pass_fds=(held,))
        except KeyboardInterrupt:
            log_path = write_log(root, machine, commit, log)
            print(f"interrupted: every finished case is saved under {os.path.relpath(results_dir)}/{machine}; "
                  f"asv's output in {log_path}; run the same command again to measure the rest", file=sys.stderr)
            return 130
        seconds = time.perf_counter() - wall
    log_path = write_log(root, machine, commit, log)
    if status not in (0, 2):  # 2: some benchmark failed; the summary below names them
        raise ToolError(f"asv run exited with status {status} (its messages are above; all of it in {log_path})")
    selection = select(results_dir, machine, commit)
    df = frame(selection)
    ran = this_run(df, args, backends, labels)
    measure = shown_measure(ran)
    if measure:
        print()
        if measure != "latency":
            print(f"(this run measured no latency: the tables show {vocabulary.MEASURE[measure].shown_unit})")
        sys.stdout.write(tables.reference(selection, df, measure).markdown())
    print()
    for line in summary(ran, parsed, selection, log_path, machine, threads, seconds):
        print(line)
    if (ran["status"] == "failed").any():
        return 1
    if not (ran["status"] == "ok").any():
        print("error: no case produced a figure (every one was skipped; the reasons are above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
