"""SIGTERM and SIGINT while the balance is being read: an UNKNOWN line and exit 3, not a killed process."""

import signal

_received = []
_armed = False
_held = 0


def install():
    """Take over SIGTERM and SIGINT; until the balance is being read they only wait (see `armed`)."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _handler)


class armed:
    """While the check reads the balance and records it, a signal ends that as a CheckError.

    nagiosplugin then reports it like any other reason for UNKNOWN, and the
    state file's own cleanup removes a temporary file on the way out. One
    that came earlier (during start-up) ends it as soon as it begins; one
    that comes later, once the result is known, lets the check print it.
    """

    def __enter__(self):
        global _armed
        _armed = True
        if _received:
            _interrupt()

    def __exit__(self, *exc):
        global _armed
        _armed = False


class held:
    """A signal waits until the end of this block: a file being written is finished and renamed first.

    Raised between creating a temporary file and the code that removes it on
    failure, it would leave the file behind.
    """

    def __enter__(self):
        global _held
        _held += 1

    def __exit__(self, kind, exc, trace):
        global _held
        _held -= 1
        # An error of the block's own goes first; the signal then only waits.
        if not _held and _armed and _received and exc is None:
            _interrupt()


def _handler(signum, frame):
    if not _received:
        _received.append(signum)
    if _armed and not _held:
        _interrupt()


def _interrupt():
    global _armed
    # Once: a second signal must not break the cleanup the first one started.
    _armed = False
    from nagiosplugin import CheckError

    raise CheckError("interrupted by %s before the balance was read" % signal.Signals(_received[0]).name)
