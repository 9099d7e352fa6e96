"""Generated bad results files (issue 12): truncation at many byte offsets, a wrong type at
every key, a missing key at every level, reordered parameters, symlink loops. Every tool
that reads results (tables, compare, merge, noise) answers each with exit status 0 on a
still-valid file or one line and exit status 2, never a traceback or a partial output."""

import json
import os
import random

import subprocess

import pytest

from asv_fixtures import write_results
from toolkit import ROOT
from tools import compare, merge, noise, tables

BASE, HEAD = (subprocess.run(["git", "rev-parse", rev], cwd=ROOT, capture_output=True, text=True, check=True)
              .stdout.strip() for rev in ("HEAD~1", "HEAD"))

ARGMAX = "bench_reductions.Argmax"
CASES = {f"{ARGMAX}.time_op": {"dim=64x1024x128 axi=0": {"cpu": 1e-3, "mlx_cpu": 2e-3}},
         f"{ARGMAX}.time_device": {"dim=64x1024x128 axi=1": {"cpu": 1e-3, "cpu_compile": None}}}


@pytest.fixture
def tree(tmp_path):
    write_results(str(tmp_path / "r"), "box", BASE, CASES)
    write_results(str(tmp_path / "r"), "box", HEAD, CASES)
    path = next((tmp_path / "r" / "box").glob(f"{BASE[:8]}-*.json"))
    return tmp_path / "r", path


def readers(results, path, tmp_path):
    other = next(results.joinpath("box").glob(f"{HEAD[:8]}-*.json"))
    return {
        "tables": lambda: tables.main(["--results", str(results), "--commit", BASE]),
        "compare": lambda: compare.main([BASE, HEAD, "--results", str(results)]),
        "merge": lambda: merge.main([str(results), "--into", str(tmp_path / "merged")]),
        "noise": lambda: noise.main([str(path), str(other)]),
    }


def check_every_reader(results, path, tmp_path, capsys, valid, folder_readers_only=False):
    for name, call in readers(results, path, tmp_path).items():
        if folder_readers_only and name == "noise":  # noise reads the two files it is named
            continue
        try:
            status = call()
        except SystemExit as exc:
            status = exc.code
        out, err = capsys.readouterr()
        if valid is None:
            assert status in (0, 1, 2), (name, status)
        else:
            assert status in ((0, 1) if valid else (2,)), (name, status, err)
        if status == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (name, err)
            assert not (tmp_path / "merged").exists(), name


def mutations(document):
    """(description, mutated document) for a wrong type at every key and a missing key at
    every level."""
    def walk(node, trail):
        if isinstance(node, dict):
            for key in node:
                yield trail + [key]
                yield from walk(node[key], trail + [key])
        elif isinstance(node, list):
            for i, item in enumerate(node[:3]):
                yield trail + [i]
                yield from walk(item, trail + [i])

    def replaced(trail, value):
        doc = json.loads(json.dumps(document))
        node = doc
        for step in trail[:-1]:
            node = node[step]
        if value is KeyError:
            del node[trail[-1]]
        else:
            node[trail[-1]] = value
        return doc

    for trail in walk(document, []):
        for value in ("text", -1.5, [], {}, None, True):
            yield f"{trail} = {value!r}", replaced(trail, value)
        if isinstance(trail[-1], str):
            yield f"{trail} missing", replaced(trail, KeyError)


def test_truncation_at_many_byte_offsets(tree, tmp_path, capsys):
    results, path = tree
    data = path.read_bytes()
    for offset in sorted(random.Random(1).sample(range(len(data)), 40)):
        path.write_bytes(data[:offset])
        check_every_reader(results, path, tmp_path, capsys, valid=False)


def test_wrong_types_and_missing_keys_anywhere(tree, tmp_path, capsys):
    results, path = tree
    document = json.loads(path.read_text())
    cases = list(mutations(document))
    for description, mutated in random.Random(2).sample(cases, min(len(cases), 150)):
        path.write_text(json.dumps(mutated))
        check_every_reader(results, path, tmp_path, capsys, valid=None)


def test_negative_short_and_string_values_are_refused(tree, tmp_path, capsys):
    results, path = tree
    document = json.loads(path.read_text())
    key = f"{ARGMAX}.time_op"
    for bad in ([-1.0] + document["results"][key][0][1:], document["results"][key][0][:-1],
                ["1 ms"] + document["results"][key][0][1:], [float("inf")] + document["results"][key][0][1:]):
        document["results"][key][0] = bad
        path.write_text(json.dumps(document))
        check_every_reader(results, path, tmp_path, capsys, valid=False)


def test_reordered_parameters_read_the_same(tree, tmp_path, capsys):
    results, path = tree
    assert tables.main(["--results", str(results), "--commit", BASE]) == 0
    before = capsys.readouterr().out
    document = json.loads(path.read_text())
    for key, row in document["results"].items():
        cases, backends = row[1]
        grid = {(c, b): v for (c, b), v in zip([(c, b) for c in cases for b in backends], row[0])}
        row[1] = [backends, cases]
        row[0] = [grid[(c, b)] for b in backends for c in cases]
        del row[2:]  # stats and samples follow the old order: drop them
    path.write_text(json.dumps(document))
    assert tables.main(["--results", str(results), "--commit", BASE]) == 0
    after = capsys.readouterr().out
    assert [line for line in after.splitlines() if "|" in line] == [line for line in before.splitlines() if "|" in line]


def test_symlink_loops(tree, tmp_path, capsys):
    results, path = tree
    os.symlink("loop", results / "loop")
    check_every_reader(results, path, tmp_path, capsys, valid=False, folder_readers_only=True)
    os.remove(results / "loop")
    os.symlink("loop.json", results / "box" / "loop.json")
    check_every_reader(results, path, tmp_path, capsys, valid=False, folder_readers_only=True)
