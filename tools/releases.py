"""Released MLX (and PyTorch) versions: side by side, or filed under MLX's own commits.

    python -m tools.releases compare --mlx 0.31.2,0.32.4 --profile small --backends mlx_cpu,cpu
    python -m tools.releases compare --mlx 0.32.4 --torch 2.12.0,2.13.0
    python -m tools.releases record --mlx-repo ~/src/mlx --mlx 0.31.2,0.32.4
    python -m tools.releases record --mlx-repo ~/src/mlx          # the mlx installed here

compare: asv makes one virtualenv per (mlx, torch) pair from their wheels (the `include`
entries of a copy of asv.releases.conf.json) and runs the suite in each under this commit
of the suite; each environment's name carries its versions, so the results stay apart.
Then one table per backend puts the versions side by side (tools.tables --envs).

record: for each version, the wheels go into one reused virtualenv (or the mlx installed
here is used as it is) and asv runs the suite there with --set-commit-hash set to the
commit of MLX's tag v<version>, into asv.mlx.conf.json's results (results-mlx/): the
history of MLX commits gets its release points without building MLX.
"""

import argparse
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys

from asv import util as asv_util

from benchmarks.harness import catalog, vocabulary

from . import lock, suite, tables
from .cli import ToolError, add_case_options, comma_list, machine_name, main_guard, parser, replace_atomically, run_asv, write_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION = re.compile(r"^\d+(\.\d+){1,3}$")


def mlx_requirements(version, backend):
    """The packages of one MLX release for this platform."""
    req = {"mlx": version}
    if sys.platform.startswith("linux"):
        req["mlx-cuda-13" if backend == "cuda" else "mlx-cpu"] = version
    return req


def derived_config(template, output, **changes):
    """A copy of an asv config with absolute paths (it lives under .asv/) and `changes`."""
    conf = asv_util.load_json(os.path.join(ROOT, template), js_comments=True)
    for key in ("benchmark_dir", "results_dir", "html_dir", "env_dir"):
        conf[key] = os.path.join(ROOT, conf[key])
    if not re.match(r"^[a-z]+://", conf["repo"]):
        conf["repo"] = os.path.join(ROOT, conf["repo"])
    conf.update(changes)
    os.makedirs(os.path.dirname(output), exist_ok=True)
    replace_atomically(output, write_bytes(json.dumps(conf, indent=2).encode()))
    return conf


def overrides(args):
    return {"results_dir": os.path.abspath(args.results)} if args.results else {}


def asv(*args, config, env=None, **popen):
    # From the project root: the configs load the checkpoint plugin from ./tools.
    return run_asv(*args, config=config, env=env, cwd=ROOT, **popen)


def run_env(args, held):
    env = dict(os.environ, BENCH_PROFILE=args.profile)
    env.pop("PYTHONPATH", None)
    return lock.inherit_env(held, env)


def selection(args):
    reasons = catalog.availability(args.backends)
    for name, reason in reasons.items():
        if reason:
            print(f"skipping {name}: {reason}")
    backends = [b for b in args.backends if not reasons[b]]
    if not backends:
        raise ToolError("none of the chosen backends is present on this machine (reasons above)")
    labels = sorted({label for op_labels in catalog.labels(args.profile).values() for label in op_labels})
    return backends, suite.selection_regex(backends, args.dtypes, args.ops, args.bench, labels,
                                           suite.DEFAULT_MEASURES)


def compare(args):
    backends, regex = selection(args)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    include = [{"python": python, "req": {**mlx_requirements(m, args.mlx_backend), "torch": t, "numpy": ""}}
               for m in args.mlx for t in args.torch]
    config = os.path.join(ROOT, ".asv", "releases.conf.json")
    conf = derived_config("asv.releases.conf.json", config, include=include, matrix={}, **overrides(args))
    from asv import config as asv_config, environment

    names = [e.name for e in environment.get_environments(asv_config.Config.from_json(conf), None)]
    held = lock.hold(conf["results_dir"])
    suite.record_machine(args.machine, config)
    status = asv("run", "HEAD^!", "--machine", args.machine, "--bench", regex, config=config,
                 env=run_env(args, held), pass_fds=(held,))
    if status not in (0, 2):
        raise ToolError(f"asv run exited with status {status}")
    commit = suite.git_head(ROOT)
    for backend in backends:
        print()
        sys.stdout.write(tables.side_by_side_report(conf["results_dir"], "environment", names, backend, args.measure,
                                                    machine=args.machine, commit=commit).markdown())
    return 0


def tag_commit(repo, version):
    try:
        return subprocess.run(["git", "-C", repo, "rev-parse", "--verify", "--quiet", f"v{version}^{{commit}}"],
                              check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise ToolError(f"{repo} has no tag v{version}; fetch MLX's tags (git -C {repo} fetch --tags)") from None


def release_python(args, version):
    """A Python with `version` of MLX installed: one virtualenv under .asv/, reused."""
    venv = os.path.join(ROOT, ".asv", "release-venv")
    python = os.path.join(venv, "bin", "python")
    pip = [python, "-m", "pip", "install", "--quiet"]
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run(pip + ["asv_runner", "pympler", "numpy", f"torch=={args.torch[0]}"], check=True)
    packages = [f"{name}=={v}" for name, v in mlx_requirements(version, args.mlx_backend).items()]
    if subprocess.run(pip + packages).returncode != 0:
        raise ToolError(f"pip could not install {' '.join(packages)} (the messages are above)")
    return python


def record(args):
    repo = os.path.abspath(args.mlx_repo)
    if not os.path.isdir(os.path.join(repo, ".git")):
        raise ToolError(f"{repo} is not a git clone of MLX; git clone https://github.com/ml-explore/mlx.git first")
    if args.mlx:
        versions = args.mlx
    else:
        try:
            versions = [importlib.metadata.version("mlx")]
        except importlib.metadata.PackageNotFoundError:
            raise ToolError("mlx is not installed here; name the releases with --mlx") from None
    commits = {v: tag_commit(repo, v) for v in versions}  # every tag checked before any run
    _, regex = selection(args)
    config = os.path.join(ROOT, ".asv", "mlx.conf.json")
    conf = derived_config("asv.mlx.conf.json", config, repo=repo, **overrides(args))
    held = lock.hold(conf["results_dir"])
    suite.record_machine(args.machine, config)
    for version, commit in commits.items():
        python = release_python(args, version) if args.mlx else sys.executable
        print(f"mlx {version}: tag v{version} = {commit[:8]}")
        status = asv("run", "-E", f"existing:{python}", "--set-commit-hash", commit, "--machine", args.machine,
                     "--bench", regex, config=config, env=run_env(args, held), pass_fds=(held,))
        if status not in (0, 2):
            raise ToolError(f"asv run for mlx {version} exited with status {status}")
    print(f"\nresults in {conf['results_dir']}; "
          "asv publish --config asv.mlx.conf.json builds the site of MLX's history")
    return 0


def parse_args(argv):
    p = parser("tools.releases", __doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("compare", "record"):
        c = sub.add_parser(name)
        c.error = p.error  # one-line errors from the subcommands too
        c.add_argument("--mlx", type=versions, required=name == "compare", metavar="VERSIONS",
                       help="comma-separated MLX releases, e.g. 0.31.2,0.32.4")
        c.add_argument("--torch", type=versions, default=["2.13.0"], metavar="VERSIONS",
                       help="comma-separated torch releases (default 2.13.0; record uses the first)")
        c.add_argument("--mlx-backend", choices=["cpu", "cuda"], default="cpu",
                       help="Linux: MLX's CPU package or its CUDA 13 package (default cpu)")
        c.add_argument("--profile", choices=vocabulary.PROFILES)
        add_case_options(c, "comma-separated backends (default: every one present)")
        c.add_argument("--ops", type=suite.op_names, help="comma-separated ops, any letter case (default: all)")
        c.add_argument("--bench", "-b", help="asv benchmark regex, e.g. 'Softmax|Sort'")
        c.add_argument("--machine", type=machine_name, default=platform.node() or "machine", help="asv machine name")
        c.add_argument("--measure", choices=list(vocabulary.TIMED_MEASURES), default="latency")
        c.add_argument("--results", help="asv results folder (default: the config's)")
        if name == "record":
            c.add_argument("--mlx-repo", required=True, help="a git clone of MLX with its tags")
    args = p.parse_args(argv)
    suite.check_settings(args)
    suite.check_bench(args.bench)
    return args


def versions(text):
    """An argparse type: a comma list of release numbers, each named once."""
    found = comma_list(text)
    bad = [v for v in found if not VERSION.match(v)] or ([] if found else [text])
    if bad:
        raise argparse.ArgumentTypeError(f"{bad[0]!r} is not a release number like 0.32.4 "
                                         "(several: comma-separated, e.g. 0.31.2,0.32.4)")
    if len(set(found)) < len(found):
        raise argparse.ArgumentTypeError(f"{text!r} names a release twice")
    return found


@main_guard
def main(argv=None):
    args = parse_args(argv)
    return compare(args) if args.command == "compare" else record(args)


if __name__ == "__main__":
    sys.exit(main())
