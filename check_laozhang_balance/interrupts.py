"""SIGTERM and SIGINT while the balance is being read: an UNKNOWN line and exit 3, not a killed process."""

import signal

_received = []
_armed = False


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


def _handler(signum, frame):
    if not _received:
        _received.append(signum)
    if _armed:
        _interrupt()


def _interrupt():
    global _armed
    # Once: a second signal must not break the cleanup the first one started.
    _armed = False
    from nagiosplugin import CheckError

    raise CheckError("interrupted by %s before the balance was read" % signal.Signals(_received[0]).name)
