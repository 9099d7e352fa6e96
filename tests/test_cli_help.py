"""Every tool's --help ends with its examples, as its docstring writes them (not re-wrapped)."""

import importlib
import re

import pytest

TOOLS = ["suite", "tables", "compare", "fidelity", "merge", "plots", "tidy", "site", "releases", "noise"]


@pytest.mark.parametrize("name", TOOLS)
def test_help_shows_the_docstring_examples_after_the_options(name, capsys):
    module = importlib.import_module(f"tools.{name}")
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    examples = [line for line in module.__doc__.splitlines() if re.match(r"^    python -m tools\.", line)]
    assert examples, f"tools.{name}'s docstring has no example command"
    after_options = text[text.index("options:"):]
    for line in examples:  # each example line intact, below the options
        assert line in after_options, line
