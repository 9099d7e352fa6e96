"""Every committed Markdown file renders its tables: a header row, a separator row of as
many cells, and body rows of as many cells (a stray `|` or a missing separator shows as
plain text on GitHub)."""

import re
import subprocess

import pytest

from toolkit import ROOT

FILES = [f for f in subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True,
                                   check=True).stdout.split() if f]
SEPARATOR = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+$")


def cells(row):
    return len(re.split(r"(?<!\\)\|", row.strip().strip("|")))


def tables(text):
    """Each run of consecutive lines that start with `|`, outside code fences."""
    block, fenced = [], False
    for line in text.splitlines() + [""]:
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("|"):
            block.append(line.rstrip())
        elif block:
            yield block
            block = []


def test_the_repository_has_markdown_files():
    assert "README.md" in FILES


def table_problems(text):
    problems = []
    for table in (t for t in tables(text) if len(t) > 1):  # one line starting with `|` is prose
        head = table[0]
        if not SEPARATOR.match(table[1].replace(" ", "")):
            problems.append(f"no separator under {head!r}")
            continue
        problems += [f"{row!r} has {cells(row)} cells, the header {cells(head)}" for row in table[1:]
                     if cells(row) != cells(head)]
    return problems


def test_broken_tables_are_caught():
    good = "| a | b |\n|---|---:|\n| 1 | 2 |\n"
    assert table_problems(good) == []
    assert table_problems("| median |delta| | p95 |\n|---|---|\n| 1 | 2 |\n")  # a stray bar in the header
    assert table_problems("| a | b |\n| 1 | 2 |\n")  # no separator
    assert table_problems("| a | b |\n|---|---|\n| 1 | 2 | 3 |\n")
    assert table_problems("```\n| a | b |\n| 1 |\n```\n") == []  # code is not a table


@pytest.mark.parametrize("path", FILES)
def test_committed_markdown_tables_are_well_formed(path):
    with open(f"{ROOT}/{path}", encoding="utf-8") as f:
        assert table_problems(f.read()) == [], path
