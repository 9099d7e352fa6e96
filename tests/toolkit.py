"""Helpers for the tools' tests: run a tool in a process of its own, build results trees."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tool(name, *args, cwd=ROOT, env=None, timeout=300):
    """`python -m tools.NAME ARGS` from the project root, output captured."""
    return subprocess.run([sys.executable, "-m", f"tools.{name}", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ if env is None else env, PYTHONPATH=ROOT))


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
