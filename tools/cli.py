"""What every command-line tool shares: one-line errors, atomic output, the selection
options (one name and one list syntax everywhere), the asv config and running asv."""

import argparse
import functools
import os
import subprocess
import sys
import tempfile

from asv import util as asv_util

from benchmarks.harness import vocabulary

DEFAULT_CONFIG = "asv.conf.json"


class ToolError(Exception):
    """A problem with the user's input: printed as one line, exit status 2."""


def main_guard(main):
    @functools.wraps(main)
    def wrapper(argv=None):
        try:
            return main(argv)
        except ToolError as exc:
            print(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("error: interrupted; nothing was written", file=sys.stderr)
            return 130
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, as other command-line tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1

    return wrapper


# --- atomic output ----------------------------------------------------------------------

def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_atomically(path, write_to):
    """Create `path` through `write_to(temporary path)`, a uniquely named file in the same
    folder that is flushed to disk and then renamed: a reader or a crash sees the old file
    or the new one, never a part, and concurrent writers never share a temporary."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's file is private; give the usual mode
        write_to(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_folder(directory)


def write_bytes(data):
    def write_to(path):
        with open(path, "wb") as f:
            f.write(data)
    return write_to


def fsync_folder(directory):
    """Make a rename in `directory` survive a power cut."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_outputs(paths, force):
    """Every output path is writable and, without --force, new: checked before anything is
    written, so a run writes all of its outputs or none."""
    for path in paths:
        directory = os.path.dirname(os.path.abspath(path))
        if os.path.lexists(path) and not force:
            raise ToolError(f"{path} exists; pass --force to overwrite it")
        if os.path.isdir(path):
            raise ToolError(f"{path} is a folder; name a file")
        if not os.path.isdir(directory):
            raise ToolError(f"folder {directory} does not exist; create it first")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise ToolError(f"folder {directory} is not writable; choose another place for {os.path.basename(path)}")


def write_atomically(path, content, force=False):
    """Write text or bytes to `path` atomically; an existing file needs `force`."""
    check_outputs([path], force)
    data = content.encode() if isinstance(content, str) else content
    try:
        replace_atomically(path, write_bytes(data))
    except OSError as exc:
        raise ToolError(f"cannot write {path} ({exc.strerror})") from None


def check_new_file(path, force):
    """`path` can be written, the folders it lacks created: checked before anything is
    written, like check_outputs, for a file whose folder may not exist yet."""
    folder = os.path.dirname(os.path.abspath(path))
    existing = folder
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ToolError(f"{existing} is not a folder; choose another place for {os.path.basename(path)}")
    if existing == folder:
        check_outputs([path], force)
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise ToolError(f"folder {existing} is not writable; choose another place for {os.path.basename(path)}")


# --- option values ----------------------------------------------------------------------

def comma_list(text):
    return [w.strip() for w in (text or "").split(",") if w.strip()]


def names_of(option, known, case_insensitive=False):
    """An argparse type: a comma list of names from `known`, returned in `known`'s order
    (or, case-insensitive, spelled as `known` spells them)."""
    def parse(text):
        words = comma_list(text)
        spelled = {k.lower() if case_insensitive else k: k for k in known}
        unknown = [w for w in words if (w.lower() if case_insensitive else w) not in spelled]
        if not words or unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {option} {', '.join(unknown) or repr(text)}; known: {', '.join(known)}")
        chosen = {spelled[w.lower() if case_insensitive else w] for w in words}
        if len(chosen) < len(words):
            raise argparse.ArgumentTypeError(f"{option} named twice in {text!r}")
        return [k for k in known if k in chosen]
    return parse


def finite(least, inclusive=False):
    """An argparse type: a finite number above `least` (at or above, if `inclusive`)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if value != value or value in (float("inf"), float("-inf")) or value < least \
                or (value == least and not inclusive):
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected a finite number {'>=' if inclusive else '>'} {least:g}")
        return value
    return parse


def machine_name(text):
    """An argparse type: an asv machine name, which becomes a folder under results/."""
    bad = (not text or text in (".", "..") or "/" in text or "\\" in text or ".." in text
           or any(ord(c) < 32 or ord(c) == 127 for c in text))
    if bad:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a machine name: no path separators, '..' or control characters")
    return text


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (`error: ...`) with exit status 2, like ToolError."""

    def error(self, message):
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        sys.exit(2)


def parser(prog, doc):
    """The tool's parser: its docstring's first paragraph above the options, the rest (the
    examples and what they do) below them, as written."""
    summary, _, rest = doc.strip().partition("\n\n")
    epilog = ("examples:\n" + rest) if rest.startswith("    python") else rest or None
    return Parser(prog=f"python -m {prog}", description=summary, epilog=epilog,
                  formatter_class=argparse.RawDescriptionHelpFormatter)


# --- the shared options -----------------------------------------------------------------

def add_results_options(p, commit=True, machine=True):
    """Which results to read: --config / --results, --machine, --commit, --env."""
    p.add_argument("--config", default=DEFAULT_CONFIG, help="asv config naming the results folder")
    p.add_argument("--results", help="results folder (default: the config's results_dir)")
    if machine:
        p.add_argument("--machine", type=machine_name, help="asv machine name (default: the one with the latest run)")
    if commit:
        p.add_argument("--commit", help="commit hash or prefix (default: latest run)")
        p.add_argument("--env", help="asv environment name (default: latest run)")


def add_case_options(p, backends_help, dtypes_default=None):
    """Which cases: --backends, --dtypes (comma lists of the vocabulary's names)."""
    p.add_argument("--backends", type=names_of("backend(s)", vocabulary.BACKEND_NAMES), help=backends_help)
    p.add_argument("--dtypes", type=names_of("dtype(s)", vocabulary.DTYPES), default=dtypes_default,
                   help="comma-separated dtypes (default: all; float16 / bfloat16 run on GPU backends only)")


# The tidy export's formats, by the file's suffix (tools/tidy.py writes them).
EXPORT_FORMATS = (".csv", ".json")


def export_file(text):
    """An argparse type: a path ending in one of EXPORT_FORMATS (the format follows it)."""
    if os.path.splitext(text)[1].lower() not in EXPORT_FORMATS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: name a {' or '.join(EXPORT_FORMATS)} file (the format follows the suffix)")
    return text


def add_export_option(p):
    """--export FILE: the figures the tool shows, as tools.tidy's long table."""
    p.add_argument("--export", type=export_file, metavar="FILE",
                   help="also write the figures shown as one long table (tools.tidy's columns, a row per figure): "
                        f"{' or '.join(EXPORT_FORMATS)} by the suffix, folders created")


def read_config(path):
    """The asv config at `path` as a dict, its relative folders made absolute."""
    try:
        conf = asv_util.load_json(path, js_comments=True)
    except (OSError, asv_util.UserError, ValueError) as exc:
        raise ToolError(f"cannot read asv config {path}: {exc}") from None
    if not isinstance(conf, dict):
        raise ToolError(f"cannot read asv config {path}: not a JSON object")
    root = os.path.dirname(os.path.abspath(path))
    for key, default in (("results_dir", "results"), ("html_dir", "html")):
        conf[key] = os.path.join(root, conf.get(key, default))
    return conf


def results_dir(args):
    return os.path.abspath(args.results) if args.results else read_config(args.config)["results_dir"]


def run_asv(*args, config, env=None, cwd=None, **popen):
    """`python -m asv ARGS --config CONFIG`, from the config's folder by default (the
    configs load the checkpoint plugin from ./tools); returns asv's exit status."""
    config = os.path.abspath(config)
    return subprocess.run([sys.executable, "-m", "asv", *args, "--config", config],
                          env=env, cwd=cwd or os.path.dirname(config), **popen).returncode


def require_asv(status, what):
    if status != 0:
        raise ToolError(f"{what} exited with status {status} (its messages are above)")
