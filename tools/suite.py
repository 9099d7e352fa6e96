"""Run the suite through asv on this machine's backends, then print both tables.

    python -m tools.suite --profile small        # a few minutes on a 2-core CPU machine
    python -m tools.suite                        # the reference shapes (hours on a CPU)
    python -m tools.suite --backends mlx_gpu,mlx_gpu_compile,cuda --dtypes float32 --ops Softmax,MatMul

Results land in asv's results folder under this commit and the asv machine name (the
detected one, with "-small" appended for the small profile so that its figures never mix
with reference-size ones). Only the backends present here are run (asv starts a process
for every parameter combination it runs, skipped or not); the absent ones are listed with
their reasons. float16 / bfloat16 cases run on GPU backends only. Every option and BENCH_*
variable is checked before anything runs; the exit status is 1 when a case failed.
"""

import os
import re
import socket
import subprocess
import sys
import time

from asv import util as asv_util
from asv.machine import Machine

from benchmarks.harness import catalog, vocabulary

from . import lock, tables
from .cli import (ToolError, add_case_options, machine_name, main_guard, names_of, parser, read_config,
                  require_asv, run_asv)
from .results import frame, select

SMALL_SUFFIX = "-small"


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


def selection_regex(backends, dtypes, ops=None, bench=None, labels=None):
    """An asv --bench regex over `name(param, ...)` that picks only the (case, backend,
    dtype) combinations to run: asv then starts no process for the others."""
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
    p.add_argument("--machine", type=machine_name, help="asv machine name to file results under")
    p.add_argument("--bench", "-b", help="asv benchmark regex, e.g. 'Softmax|Sort'")
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


def failure_summary(df):
    """Lines naming each failed case, grouped by op, with asv's log as the place for reasons."""
    failed = df[df["status"] == "failed"]
    lines = []
    for (op, method), group in failed.groupby(["op", "method"]):
        cases = [f"{r.case} on {r.backend}" + ("" if r.dtype == "float32" else f" {r.dtype}")
                 for r in group.itertuples()]
        shown = "; ".join(cases[:5]) + (f"; and {len(cases) - 5} more" if len(cases) > 5 else "")
        lines.append(f"  {op}.{method}: {len(cases)} failed ({shown})")
    return lines


def record_machine(machine, config):
    # asv fills cpu, ram and os only for the machine named like this host: give them always.
    details = Machine.get_defaults()
    options = [f"--{key}={details[key]}" for key in ("os", "arch", "cpu", "num_cpu", "ram")]
    require_asv(run_asv("machine", "--yes", "--machine", machine, *options, config=config), "asv machine")


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
    reasons = catalog.availability(args.backends)
    for name, reason in reasons.items():
        if reason:
            print(f"skipping {name}: {reason}")
    backends = [b for b in args.backends if not reasons[b]]
    if not backends:
        raise ToolError("none of the chosen backends is present on this machine (reasons above)")
    labels = sorted({label for op_labels in catalog.labels(args.profile).values() for label in op_labels})
    with lock.held(results_dir) as held:
        env = lock.inherit_env(held, dict(os.environ, BENCH_PROFILE=args.profile))
        record_machine(machine, args.config)
        start = time.perf_counter()
        status = run_asv("run", "--python=same", "--set-commit-hash", commit, "--machine", machine,
                         "--bench", selection_regex(backends, args.dtypes, args.ops, args.bench, labels),
                         config=args.config, env=env, pass_fds=(held,))
    print(f"asv run: {time.perf_counter() - start:.0f} s wall, backends {', '.join(backends)}")
    if status not in (0, 2):  # 2: some benchmark failed; the summary below names them
        raise ToolError(f"asv run exited with status {status} (its messages are above)")
    selection = select(results_dir, machine, commit)
    df = frame(selection)
    print()
    sys.stdout.write(tables.reference(selection, df).markdown())
    ran = df[df["backend"].isin(backends) & df["method"].isin(tables.MEASURES.values())]
    failures = failure_summary(ran)
    if failures:
        print(f"\n{sum(ran['status'] == 'failed')} case(s) failed (asv's log above has each traceback):", file=sys.stderr)
        print("\n".join(failures), file=sys.stderr)
        return 1
    if not (ran["status"] == "ok").any():
        print("error: no case produced a figure (every one was skipped; the reasons are in asv's log)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
