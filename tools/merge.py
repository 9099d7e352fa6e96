"""Merge the asv results folders of several machines into one.

    python -m tools.merge mac/results linux/results cuda/results --into results
    python -m tools.merge new/results --into results --force   # replace files that differ
    python -m tools.tables --machines mac-m2,linux-cpu --backend mlx_cpu --ops Softmax,MatMul
    asv publish                                                 # one site, every machine

Each SRC is an asv results folder as `asv run` leaves it (e.g. a downloaded CI artifact):
machine folders (machine.json and results files) and benchmarks.json. Every source is read
and checked through asv's API before anything is written. Then each machine folder's files
go to DEST/<machine>/ and DEST/benchmarks.json becomes the union of the benchmarks.json
files. A file already in DEST with other content, or a benchmark whose version differs (the
suites differ), is an error unless --force; identical files are skipped, so merging again
is a no-op. Nothing else in DEST is overwritten or deleted, except that a results file
--force replaces takes its progress file (tools/asv_checkpoint.py) along, or drops it.
"""

import json
import os
import sys
from collections import defaultdict

from asv.benchmarks import Benchmarks

from . import lock
from .cli import ToolError, main_guard, parser, replace_atomically, write_bytes
from .results import BENCHMARKS_FILE, PROGRESS_SUFFIX, load_all, load_benchmarks, machines

MACHINE_FILE = "machine.json"


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ToolError(f"cannot read {path} ({exc.strerror})") from None


def check_source(src, dest):
    """The machine names and benchmarks of one source, after asv has read all of its files."""
    if not os.path.exists(src):
        raise ToolError(f"no source folder at {src}; pass the results folder of each run (machine folders "
                        "and benchmarks.json)")
    if os.path.isdir(src) and os.path.realpath(src) == os.path.realpath(dest):
        raise ToolError(f"{src} is the destination itself; pass only the folders to merge into it")
    if os.path.isfile(os.path.join(src, MACHINE_FILE)):
        raise ToolError(f"{src} is a machine folder; pass the results folder above it")
    names = machines(src)
    # Every results file here is read and validated, so a broken one stops the merge before any write.
    files = {name: [os.path.relpath(path, os.path.join(src, name)) for path, _ in load_all(src, name)]
             for name in names}
    return files, load_benchmarks(src, required=True)


class Plan:
    """What DEST will hold, built source by source (DEST's own files count as the oldest)."""

    def __init__(self, dest, force):
        self.dest, self.force = dest, force
        self.files = {}  # DEST path -> (content or None for absent, the source file or None for DEST's own)
        self.machine_files = defaultdict(set)  # machine -> its DEST paths, for the summary

    def current(self, path):
        if path not in self.files:
            self.files[path] = (read_bytes(path) if os.path.isfile(path) else None, None)
        return self.files[path]

    def add(self, machine, src_folder, relpaths):
        """Files that go together: a results file with its progress file, whose absence matters
        too (tools.tables reads it as "this run finished")."""
        incoming = []
        for rel in relpaths:
            src = os.path.join(src_folder, rel)
            content = read_bytes(src) if os.path.isfile(src) else None
            incoming.append((os.path.join(self.dest, machine, rel), content, src))
        for path, content, src in incoming:
            old, where = self.current(path)
            if old is not None and old != content and not self.force:
                if where is not None:
                    what = f"would get both {where} and {src}, which differ"
                else:
                    what = f"exists with other content than {src}" if content is not None else f"exists, {src} does not"
                raise ToolError(f"{path} {what}; pass --force to replace it, or merge into another folder")
        if any(self.current(path)[0] != content for path, content, _ in incoming):
            for path, content, src in incoming:
                self.files[path] = (content, src)
        self.machine_files[machine].add(incoming[0][0])

    def writes(self):
        """(path, content or None to remove) for every file that is not yet as planned in DEST."""
        return [(path, content) for path, (content, _) in sorted(self.files.items())
                if content != (read_bytes(path) if os.path.isfile(path) else None)]

    def summary(self, machine, writes):
        changed = {path for path, _ in writes}
        paths = self.machine_files[machine]
        copied = sum(path in changed and not os.path.exists(path) for path in paths)
        replaced = sum(path in changed and os.path.exists(path) for path in paths)
        line = f"{machine}: {copied} file(s) copied, {len(paths) - copied - replaced} already there"
        return line + (f", {replaced} replaced" if replaced else "") + f" -> {os.path.join(self.dest, machine)}"


def union_benchmarks(tables, force):
    """`tables`: [(where, {name: entry})], oldest first; with --force the last one wins."""
    merged, origin = {}, {}
    for where, table in tables:
        for name, entry in table.items():
            old, new = merged.get(name, {}).get("version"), entry.get("version")
            if name in merged and old != new and not force:
                raise ToolError(f"benchmark {name} has version {str(old)[:8]} in {origin[name]} but "
                                f"{str(new)[:8]} in {where}: the suites differ; merge results of the same "
                                "suite version, or pass --force to keep the last source's")
            merged[name], origin[name] = entry, where
    return merged


def parse_args(argv):
    p = parser("tools.merge", __doc__)
    p.add_argument("sources", nargs="*", metavar="SRC",
                        help="asv results folders (machine folders and benchmarks.json), oldest first")
    p.add_argument("--into", metavar="DEST", help="the results folder to merge into (created if missing)")
    p.add_argument("--force", action="store_true",
                        help="replace files in DEST that differ; for a benchmark whose version differs, the "
                             "entry of the last SRC on the command line wins (DEST's own counts as the oldest)")
    args = p.parse_args(argv)
    if not args.into:
        raise ToolError("name the results folder to merge into with --into DEST")
    if not args.sources:
        raise ToolError("name at least one results folder to merge, e.g. python -m tools.merge a/results --into results")
    if os.path.exists(args.into) and not os.path.isdir(args.into):
        raise ToolError(f"{args.into} is not a folder; pass a results folder (or a new name) to --into")
    return args


def plan_merge(args):
    dest = os.path.abspath(args.into)
    plan = Plan(dest, args.force)
    tables = [(os.path.join(dest, BENCHMARKS_FILE), load_benchmarks(dest, required=False))]
    for src in args.sources:
        files, table = check_source(src, dest)
        tables.append((os.path.join(src, BENCHMARKS_FILE), table))
        for machine, relpaths in files.items():
            if os.path.exists(os.path.join(dest, machine)) and not os.path.isdir(os.path.join(dest, machine)):
                raise ToolError(f"{os.path.join(dest, machine)} is a file, where machine {machine}'s folder goes; "
                                "move it away")
            folder = os.path.join(src, machine)
            plan.add(machine, folder, [MACHINE_FILE])
            for rel in relpaths:
                plan.add(machine, folder, [rel, rel + PROGRESS_SUFFIX])
    benchmarks = union_benchmarks(tables, args.force)
    return plan, benchmarks, tables[0][1]


@main_guard
def main(argv=None):
    args = parse_args(argv)
    plan, benchmarks, dest_benchmarks = plan_merge(args)
    with lock.held(plan.dest):  # no asv run writes DEST while files arrive
        writes = plan.writes()
        summary = [plan.summary(machine, writes) for machine in sorted(plan.machine_files)]
        if benchmarks != dest_benchmarks:
            text = json.dumps(dict(benchmarks, version=Benchmarks.api_version), indent=4, sort_keys=True)
            writes.append((os.path.join(plan.dest, BENCHMARKS_FILE), text.encode()))
        for path, content in writes:  # benchmarks.json last: it names what the results hold
            try:
                if content is None:
                    os.remove(path)  # the progress file of a results file --force replaced
                else:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    replace_atomically(path, write_bytes(content))
            except OSError as exc:
                raise ToolError(f"cannot write {path} ({exc.strerror}); fix that and merge again "
                                "(files already copied are skipped)") from None
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
