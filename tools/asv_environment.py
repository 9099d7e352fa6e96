"""asv plugin (the configs' "plugins"): the current interpreter's environment is named by
what differs between machines and releases, not by where the interpreter lives.

`asv run --python=same` names its environment `existing-py_<interpreter path>`
(`existing-py_opt_torch_.venv_bin_python3`): a local path in every results file name, in
the published site's environment list, and a new series on the site whenever the path
changes while the versions do not. With this plugin the name is made of the Python, mlx
and torch versions (`existing-py3.11-mlx0.32.4-torch2.13.0+cpu`), the results' `python`
parameter is the version, and mlx / torch become the environment's requirements, so the
site offers them as parameters of its graphs. Nothing else of asv's behaviour changes.
"""

import json
import subprocess

from asv import environment
from asv.environment import ExistingEnvironment

# Run in the environment's interpreter: asv may be pointed at another one (--python=PATH).
PROBE = """
import json, sys
from importlib import metadata
def version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
print(json.dumps({"python": "%d.%d" % sys.version_info[:2], "mlx": version("mlx"), "torch": version("torch")}))
"""

_original_init = ExistingEnvironment.__init__


def versions(executable):
    """{"python": "3.11", "mlx": "0.32.4" or None, "torch": ... or None} of `executable`."""
    try:
        out = subprocess.run([executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
        return json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def __init__(self, conf, executable, requirements, tagged_env_vars):
    _original_init(self, conf, executable, requirements, tagged_env_vars)
    found = versions(self._executable)
    if found:  # else asv's own naming, rather than a wrong one
        self._python = found["python"]
        self._requirements = {k: v for k, v in found.items() if k != "python" and v}


def name(self):
    return environment.get_env_name(self.tool_name, self._python, self._requirements, self._tagged_env_vars)


ExistingEnvironment.__init__ = __init__
ExistingEnvironment.name = property(name)
