"""The console script: the check's guarded main in a process that starts and ends without waste."""

import gc
import os
import sys

from . import interrupts


def main():
    """Run cli.main and end the process with its exit code, its output flushed."""
    # The check lives a fraction of a second and makes no garbage worth a
    # collection; the collector's passes over the imports cost 5% of a run.
    gc.disable()
    interrupts.install()
    from .cli import main as check

    try:
        code = check()
    except SystemExit as exc:
        code = exc.code
    except OSError:
        # nagiosplugin prints the result; only a stdout that refuses it gets here.
        code = 3
    end(0 if code is None else code if isinstance(code, int) else 3)


def end(code):
    """Flush stdout and stderr, then exit without the interpreter's teardown (a fifth of the floor's time).

    Nothing else is left to finish: every file the check writes, the state
    file included, is written, closed and renamed into place before its
    result is printed. A stdout that cannot take the output (a full disk, a
    closed pipe) means the result reached no one: exit 3, with nowhere to
    say more.
    """
    try:
        if sys.stdout:
            sys.stdout.flush()
    except (OSError, ValueError):
        code = 3
    try:
        if sys.stderr:
            sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)
