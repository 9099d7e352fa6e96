"""One-line errors for the command-line tools: a message, exit status 2, no traceback."""

import functools
import os
import sys
import tempfile


class ToolError(Exception):
    """A problem with the user's input: printed as one line, exit status 2."""


def main_guard(main):
    @functools.wraps(main)
    def wrapper(argv=None):
        try:
            return main(argv)
        except ToolError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("error: interrupted; nothing was written", file=sys.stderr)
            return 130
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, as other command-line tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1

    return wrapper


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path, text, overwrite=False, binary=False):
    """Write `text` (bytes if `binary`) to `path` through a temporary file; never clobber
    without `overwrite`."""
    if os.path.exists(path) and not overwrite:
        raise ToolError(f"{path} exists; pass --force to overwrite it")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ToolError(f"folder {directory} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's file is private; give the usual mode
        with os.fdopen(fd, "wb" if binary else "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
