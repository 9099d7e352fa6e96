r"""Rename an asv results file's interpreter-path environment to the versions it ran with.

    python measurements/rename_environment.py results/h100/0e70d0aa-existing-py_opt_torch_.venv_bin_python3.json \
        --python 3.12 --mlx 0.32.4 --torch 2.11.0

Results made by `asv run --python=same` before tools/asv_environment.py existed name their
environment by the interpreter's path (`existing-py_opt_torch_.venv_bin_python3`): a local
path in the file name and on the published site, and a series apart from the same host's
newer runs, which the plugin names by versions (`existing-py3.12-mlx0.32.4-torch2.11.0`).
This gives such a file what the plugin would have written: the environment name, the
`python` parameter and the mlx / torch requirements (also parameters, as asv run adds
them), through asv's own results API; every figure stays as it was. The new file is written
beside the old one, never over an existing file, and validated; the old one is removed only
then (commit both paths: `git add OLD NEW`). The versions must come from the run's own
records (its versions.txt, README): this tool cannot check them. Pass torch's distribution
version, as the plugin reads it (importlib.metadata: `2.11.0` for the wheel whose
`torch.__version__` is `2.11.0+cu130`).
"""

import argparse
import json
import os
import re
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run as a script from anywhere: the suite's own packages

from asv import environment as asv_environment  # noqa: E402
from asv import results as asv_results  # noqa: E402

from tools import cli  # noqa: E402
from tools.cli import ToolError  # noqa: E402
from tools.results import load_results  # noqa: E402

# The plugin's `python` is "%d.%d" % sys.version_info[:2]; a patch level would make another name.
PYTHON = re.compile(r"^\d+\.\d+$")
# A PEP 440 release as importlib.metadata reports it (a local part such as +cpu included):
# anything else (a path, a space, a `v`) would make a name the plugin never makes.
VERSION = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[A-Za-z0-9]+(\.[A-Za-z0-9]+)*)?$")
# asv's name for an environment it knows only by the interpreter's path (ExistingEnvironment
# without the plugin); other names already carry versions and are not this tool's to change.
PATH_ENV = re.compile(r"^existing-py_.+$")
# What the rename changes; every other field of the file must come out byte for byte the same.
CHANGED = ("env_name", "params", "python", "requirements")


def version(kind, pattern, example):
    def parse(text):
        if not pattern.match(text):
            raise argparse.ArgumentTypeError(f"{kind} version {text!r} is not a version such as {example}")
        return text
    return parse


def renamed(result, python, requirements):
    """`result` as the plugin would have named it: ExistingEnvironment's tool name, the
    Python version, the requirements, its own environment variables (asv names by them too)."""
    tagged = {("run", k): v for k, v in (result._env_vars or {}).items()}
    env_name = asv_environment.get_env_name("existing", python, requirements, tagged)
    # asv run's results parameters: the machine's, then `python`, then the requirements
    params = {k: v for k, v in result._params.items() if k != "python" and k not in requirements}
    params["python"] = python
    params.update(requirements)
    result._env_name, result._python, result._params = env_name, python, params
    result._requirements = dict(requirements)
    return env_name


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_new(result, target, source):
    """Save `result` at `target`, which must not exist: saved under a temporary name in the
    same folder, flushed, validated, compared with `source`, then hard-linked to `target`.
    A link, unlike os.replace, fails if `target` appeared meanwhile: never an overwrite."""
    folder = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~cli._umask())  # mkstemp's file is private; give the usual mode
        result._filename = os.path.basename(tmp)  # Results.save writes result_dir/_filename
        result.save(folder)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        load_results(tmp)  # the validator every tool applies: a file no tool could read stops here
        old, new = read_json(source), read_json(tmp)
        lost = sorted(k for k in set(old) | set(new) if k not in CHANGED and old.get(k) != new.get(k))
        if lost:
            raise ToolError(f"{source}: fields {', '.join(lost)} would change; nothing was written")
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise ToolError(f"{target} exists; move it away first (this tool never overwrites)") from None
        except OSError:
            # A file system without hard links: check, then rename (a file created between
            # the two would be replaced; nothing else writes results names by hand).
            if os.path.lexists(target):
                raise ToolError(f"{target} exists; move it away first (this tool never overwrites)") from None
            os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    cli.fsync_folder(folder)


@cli.main_guard
def main(argv=None):
    p = cli.parser("measurements.rename_environment", __doc__)
    p.add_argument("results_file", help="an asv results .json file whose environment is named by a path")
    p.add_argument("--python", required=True, type=version("Python", PYTHON, "3.12"),
                   help="the run's Python, major.minor (3.12)")
    p.add_argument("--mlx", required=True, type=version("mlx", VERSION, "0.32.4"), help="the run's mlx version")
    p.add_argument("--torch", required=True, type=version("torch", VERSION, "2.11.0"),
                   help="the run's torch distribution version (2.11.0, not 2.11.0+cu130 of torch.__version__)")
    args = p.parse_args(argv)

    source = args.results_file
    if not source.endswith(".json") or os.path.basename(source) == "machine.json":
        raise ToolError(f"{source} is not an asv results .json file; name one (gunzip a .json.gz first)")
    if not os.path.isfile(source):
        raise ToolError(f"no results file at {source}; pass the path of an asv results .json file")
    result = load_results(source)  # validated: a broken file stops here, before anything is written
    if not PATH_ENV.match(result.env_name):
        raise ToolError(f"{source}: environment {result.env_name!r} is not named by an interpreter path; "
                        "nothing to rename")
    env_name = renamed(result, args.python, {"mlx": args.mlx, "torch": args.torch})
    # asv's own file name for it (a hash instead of a name of 128 characters or more)
    name = os.path.basename(asv_results.get_filename(result.params["machine"], result.commit_hash, env_name))
    target = os.path.join(os.path.dirname(source), name)
    cli.check_outputs([target], force=False)
    try:
        write_new(result, target, source)
    except OSError as exc:  # a full disk, a folder made read-only meanwhile: the old file stays
        raise ToolError(f"cannot write {target} ({exc.strerror or exc}); {source} is unchanged") from None
    try:
        os.remove(source)
    except OSError as exc:
        raise ToolError(f"wrote {target} but cannot remove {source} ({exc.strerror}); remove it by hand") from None
    cli.fsync_folder(os.path.dirname(os.path.abspath(source)))
    print(f"{source} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
