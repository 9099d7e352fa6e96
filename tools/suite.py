"""Run the suite through asv on this machine's backends, then print both tables.

    python -m tools.suite --profile small        # about 3 minutes on a 2-core CPU machine
    python -m tools.suite                        # the reference shapes (hours on a CPU)
    python -m tools.suite --backends mlx_gpu,mlx_gpu_compile,cuda

Results land in asv's results folder under this commit and the asv machine name (the
detected one, with "-small" appended for the small profile so that its figures never mix
with reference-size ones). Backends this machine lacks show as skipped, with the reason,
in asv's log.
"""

import argparse
import os
import subprocess
import sys

from asv import util as asv_util

from . import tables
from .errors import ToolError, main_guard

PROFILES = ("reference", "small")
BACKENDS = ["mlx_gpu", "mlx_gpu_compile", "mlx_cpu", "mlx_cpu_compile", "mps",
            "cpu", "cuda", "cpu_compile", "cuda_compile"]


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
    parser.add_argument("--machine", help="asv machine name to file results under")
    parser.add_argument("--bench", "-b", help="asv benchmark regex, e.g. 'Softmax|Sort'")
    parser.add_argument("--config", default="asv.conf.json")
    return parser.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    if not os.path.isfile(args.config):
        raise ToolError(f"no asv config at {args.config}; run from the project root")
    if args.backends:
        unknown = sorted(set(args.backends.split(",")) - set(BACKENDS))
        if unknown:
            raise ToolError(f"unknown backend(s) {', '.join(unknown)}; known: {', '.join(BACKENDS)}")
    root = os.path.dirname(os.path.abspath(args.config))
    commit = git_head(root)
    machine = args.machine or default_machine() + ("-small" if args.profile == "small" else "")

    env = dict(os.environ, BENCH_PROFILE=args.profile)
    if args.backends:
        env["BENCH_BACKENDS"] = args.backends
    if asv("machine", "--yes", "--machine", machine, config=args.config) != 0:
        raise ToolError("asv could not record this machine (asv machine --yes)")
    run = ["run", "--python=same", "--set-commit-hash", commit, "--machine", machine]
    if args.bench:
        run += ["--bench", args.bench]
    status = asv(*run, env=env, config=args.config)
    if status not in (0, 2):  # 2: some benchmark failed; the tables still show the rest
        raise ToolError(f"asv run exited with status {status}")
    print()
    return tables.main(["--config", args.config, "--machine", machine, "--commit", commit])


if __name__ == "__main__":
    sys.exit(main())
