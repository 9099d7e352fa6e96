"""The asv plugin tools/asv_environment.py: the current interpreter's environment is named by
its Python, mlx and torch versions, never by the interpreter's path."""

import json
import sys
from importlib import metadata

from toolkit import run_python

SHOW = """
import json, sys
from asv import config
from asv.environment import ExistingEnvironment
import tools.asv_environment  # noqa: F401 - patches ExistingEnvironment
env = ExistingEnvironment(config.Config(), sys.executable, {}, {})
print(json.dumps({"name": env.name, "python": env.python, "requirements": env.requirements}))
"""


def test_the_environment_name_is_made_of_versions_not_paths():
    shown = json.loads(run_python(SHOW).stdout)
    python = "%d.%d" % sys.version_info[:2]
    expected = {k: metadata.version(k) for k in ("mlx", "torch")}
    assert shown["python"] == python and shown["requirements"] == expected
    assert shown["name"] == f"existing-py{python}-mlx{expected['mlx']}-torch{expected['torch']}"
    assert "/" not in shown["name"] and "_" not in shown["name"]


def test_the_configs_load_the_plugin():
    from asv import util
    for path in ("asv.conf.json", "asv.mlx.conf.json"):
        assert ".tools.asv_environment" in util.load_json(path, js_comments=True)["plugins"], path
