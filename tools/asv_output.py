"""asv run's console output, read as it comes: one short line per finished benchmark, the
reasons of failed and skipped cases, and everything else passed through.

asv prints, for every benchmark, a table of its whole parameter grid: with `--bench`
selecting 8 of 216 combinations, 208 rows say `n/a` for combinations that were never
selected (81 % of a small CPU run's output). The tables stay in the run's log; on screen a
benchmark is one line (asv's own status: `ok`, `3/12 failed`, ...), and the cases that
failed or were skipped are named with their reason in the summary. Lines asv prints outside
a benchmark's block (its steps, warnings and errors) are passed through unchanged.
"""

import ast
import re
from collections import Counter, namedtuple

PREFIX = r"^\[\s*[\d.]+%\] "
# `[ 33.33%] ··· bench_activations.ReLU.time_device     ok`
HEADER = re.compile(PREFIX + r"··· (?P<name>[A-Za-z_][\w.]*\.\w+)\s{2,}(?P<status>\S.*?)\s*$")
# The lines of a benchmark's block: its table, its processes' output, asv's stderr echo.
CONTINUATION = re.compile(PREFIX + r"···(?:· | =)|^\s|^$")
SECTION = re.compile(r"^\s*For parameters: (?P<params>.*?)\s*$")
SKIPPED = re.compile(r"asv: skipped: (?P<reason>.*)$")
# The last line of a traceback (`ValueError: ...`), or asv's own word on a process.
EXCEPTION = re.compile(r"^\s*(?P<line>(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b.*"
                       r"|asv: benchmark (?:failed|timed out).*))$")

Finished = namedtuple("Finished", "name status")


def case_of(params_text):
    """asv's `For parameters: 'a', 'cpu'` as a tuple of values ('a', 'cpu')."""
    try:
        value = ast.literal_eval(f"({params_text},)")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return (params_text,)
    return value if isinstance(value, tuple) else (value,)


def reason_of(lines):
    """(kind, reason) of one case's output: ("skipped", why), ("failed", the exception
    line), or None for a case whose output says neither."""
    for line in lines:
        m = SKIPPED.search(line)
        if m:
            return "skipped", m.group("reason").strip()
    if not any("Traceback" in line or "asv: benchmark" in line for line in lines):
        return None
    found = [m.group("line").strip() for m in map(EXCEPTION.match, lines) if m]
    return "failed", found[-1] if found else "no exception line in its output (see the log)"


class AsvOutput:
    """Feed it asv's lines; it returns what to show and keeps the reasons.

    `failures`: {(benchmark, case tuple): exception line}; `skips`: Counter of reasons."""

    def __init__(self):
        self.block = None  # (benchmark name, its lines) while inside a benchmark's block
        self.failures, self.skips = {}, Counter()
        self.finished = []

    def feed(self, line):
        """A Finished for a benchmark's header line, the line itself to show it, or None
        for a line of a benchmark's block (kept in the log only)."""
        line = line.rstrip("\n")
        if self.block is not None and CONTINUATION.match(line) and not HEADER.match(line):
            self.block[1].append(line)
            return None
        self._close()
        m = HEADER.match(line)
        if m:
            self.block = (m.group("name"), [])
            done = Finished(m.group("name"), m.group("status"))
            self.finished.append(done)
            return done
        return line

    def close(self):
        self._close()

    def _close(self):
        if self.block is None:
            return
        name, lines = self.block
        self.block = None
        sections, current = [], None
        for line in lines:
            m = SECTION.match(line)
            if m:
                current = (case_of(m.group("params")), [])
                sections.append(current)
            elif current is not None:
                current[1].append(line)
        for case, output in sections:
            found = reason_of(output)
            if found and found[0] == "skipped":
                self.skips[found[1]] += 1
            elif found:
                self.failures[(name, case)] = found[1]


def short_name(benchmark):
    """`bench_activations.ReLU.time_op` -> `ReLU.time_op`."""
    return ".".join(benchmark.split(".")[-2:])

