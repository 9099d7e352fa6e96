"""Run the suite through asv on this machine's backends, then print both tables.

    python -m tools.suite --profile small        # a few minutes on a 2-core CPU machine
    python -m tools.suite                        # the reference shapes (hours on a CPU)
    python -m tools.suite --backends mlx_gpu,mlx_gpu_compile,cuda --dtypes float32

Results land in asv's results folder under this commit and the asv machine name (the
detected one, with "-small" appended for the small profile so that its figures never mix
with reference-size ones). Only the backends present here are run (asv starts a process
for every parameter combination it runs, skipped or not); the absent ones are listed with
their reasons. float16 / bfloat16 cases run on GPU backends only.
"""

import argparse
import os
import re
import subprocess
import sys
import time

from asv import util as asv_util

from . import tables
from .errors import ToolError, main_guard

PROFILES = ("reference", "small")
BACKENDS = ["mlx_gpu", "mlx_gpu_compile", "mlx_cpu", "mlx_cpu_compile", "mps",
            "cpu", "cuda", "cpu_compile", "cuda_compile"]
GPU_BACKENDS = ["mlx_gpu", "mlx_gpu_compile", "mps", "cuda", "cuda_compile"]
DTYPES = ["float32", "float16", "bfloat16"]


def git_head(root):
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise ToolError(f"{root} is not a git checkout with a commit; asv files results under a commit") from None


def default_machine():
    import socket

    path = os.path.expanduser("~/.asv-machine.json")
    try:
        known = [k for k in asv_util.load_json(path) if k != "version"]
    except (OSError, asv_util.UserError, ValueError):
        known = []
    return known[0] if len(known) == 1 else socket.gethostname()


def present_backends(wanted):
    """(backends of `wanted` this machine has, {absent backend: reason})."""
    from benchmarks import backends

    reasons = {name: backends.BACKENDS[name].unavailable_reason() for name in wanted}
    return [n for n in wanted if not reasons[n]], {n: r for n, r in reasons.items() if r}


def selection_regex(backends, dtypes, bench=None):
    """An asv --bench regex over `name(param, ...)` that picks only the (case, backend,
    dtype) combinations to run: asv then starts no process for the others."""
    def alternatives(names):
        return "|".join(re.escape(n) for n in names)

    pattern = rf"^(?=.*[(,] ?'(?:{alternatives(backends)})'[,)])"
    reduced = [d for d in DTYPES if d != "float32"]
    cpu = [b for b in backends if b not in GPU_BACKENDS]
    if cpu:  # float16 / bfloat16 are measured on GPU backends only
        pattern += rf"(?!.*'(?:{alternatives(cpu)})', '(?:{alternatives(reduced)})'\)$)"
    skipped = [d for d in DTYPES if d not in dtypes]
    if skipped:
        pattern += rf"(?!.*'(?:{alternatives(skipped)})'\)$)"
    if bench:
        pattern += rf"(?=.*(?:{bench}))"
    return pattern


def asv(*args, env=None, config="asv.conf.json"):
    # From the config's folder: asv.conf.json loads the checkpoint plugin from ./tools.
    root = os.path.dirname(os.path.abspath(config))
    return subprocess.run([sys.executable, "-m", "asv", *args, "--config", os.path.abspath(config)],
                          env=env, cwd=root).returncode


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.suite", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="reference", choices=PROFILES,
                        help="case shapes: the reference table's, or small ones with the same ops, ranks and axes")
    parser.add_argument("--backends", help="comma-separated subset to run (default: every backend present)")
    parser.add_argument("--dtypes", default=",".join(DTYPES),
                        help="comma-separated dtypes (default: all; float16 / bfloat16 run on GPU backends only)")
    parser.add_argument("--machine", help="asv machine name to file results under")
    parser.add_argument("--bench", "-b", help="asv benchmark regex, e.g. 'Softmax|Sort'")
    parser.add_argument("--config", default="asv.conf.json")
    args = parser.parse_args(argv)
    check_names(args)
    return args


def check_names(args):
    """--backends, --dtypes and --bench of a command that runs the suite."""
    for option, value, known in (("backend", args.backends, BACKENDS), ("dtype", args.dtypes, DTYPES)):
        unknown = sorted(set(tables.split(value)) - set(known))
        if unknown:
            raise ToolError(f"unknown {option}(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if args.bench:
        try:
            re.compile(args.bench)
        except re.error as exc:
            raise ToolError(f"--bench {args.bench!r} is not a regular expression ({exc})") from None


@main_guard
def main(argv=None):
    args = parse_args(argv)
    if not os.path.isfile(args.config):
        raise ToolError(f"no asv config at {args.config}; run from the project root")
    root = os.path.dirname(os.path.abspath(args.config))
    commit = git_head(root)
    machine = args.machine or default_machine() + ("-small" if args.profile == "small" else "")
    backends, absent = present_backends(tables.split(args.backends) or BACKENDS)
    for name, reason in absent.items():
        print(f"skipping {name}: {reason}")
    if not backends:
        raise ToolError("none of the chosen backends is present on this machine (reasons above)")

    env = dict(os.environ, BENCH_PROFILE=args.profile)
    if asv("machine", "--yes", "--machine", machine, config=args.config) != 0:
        raise ToolError("asv could not record this machine (asv machine --yes)")
    run = ["run", "--python=same", "--set-commit-hash", commit, "--machine", machine,
           "--bench", selection_regex(backends, tables.split(args.dtypes), args.bench)]
    start = time.perf_counter()
    status = asv(*run, env=env, config=args.config)
    print(f"asv run: {time.perf_counter() - start:.0f} s wall, backends {', '.join(backends)}")
    if status not in (0, 2):  # 2: some benchmark failed; the tables still show the rest
        raise ToolError(f"asv run exited with status {status}")
    print()
    return tables.main(["--config", args.config, "--machine", machine, "--commit", commit])


if __name__ == "__main__":
    sys.exit(main())
