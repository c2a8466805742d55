"""The state file that keeps the forecast's samples between runs: locked, replaced atomically."""

import fcntl
import json
import math
import os
import re
from urllib.parse import urlsplit

from nagiosplugin import CheckError

from .safe_text import one_line

_VERSION = 1


class StateError(CheckError):
    """The state location cannot be used; the words say why and what to do."""


def default_path(url, account_id, username):
    """Per account and server, under the user's XDG state directory.

    For the nagios user of Debian's Icinga 2 and Nagios packages that is
    /var/lib/nagios/.local/state/check_laozhang_balance/. The name comes
    from the server and the account as the API describes it, never from
    the token.
    """
    # Here, not at the top: hashlib loads OpenSSL, a cost --help and
    # --version need not pay.
    import hashlib

    host = re.sub(r"[^A-Za-z0-9.-]", "_", urlsplit(url).hostname or "local")
    key = hashlib.sha256(("%s\n%s\n%s" % (url, account_id, username)).encode()).hexdigest()[:16]
    return os.path.join(directory(), "%s-%s.json" % (host, key))


def directory():
    """This user's state directory of the check: $XDG_STATE_HOME or ~/.local/state, then check_laozhang_balance."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "check_laozhang_balance")


def update(path, change):
    """Apply `change(samples) -> (samples, remark or None)` under an exclusive lock; (samples, remarks).

    Concurrent runs (Icinga may overlap checks, services may share a file)
    wait for each other on a lock file beside it; the new content is
    written to a temporary file and renamed into place, so a reader never
    sees half a file. A damaged file is replaced.
    """
    try:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        with os.fdopen(os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            samples, damage = _load(path)
            samples, remark = change(samples)
            _save(path, samples)
    except OSError as exc:
        # makedirs meets a file where the directory should be as "File exists".
        reason = "Not a directory" if isinstance(exc, FileExistsError) else exc.strerror or type(exc).__name__
        raise StateError("cannot use the state file %s (%s): give --state-file PATH in a place this user can write"
                         % (one_line(path), reason)) from None
    return samples, [r for r in (damage, remark) if r]


def _load(path):
    try:
        with open(path, "rb") as handle:
            raw = handle.read(4 << 20)
    except FileNotFoundError:
        return [], None
    try:
        document = json.loads(raw)
        samples = [(float(t), int(q), int(u)) for t, q, u in document["samples"]]
        if document.get("version") != _VERSION or not all(math.isfinite(t) for t, _, _ in samples):
            raise ValueError("not this version's samples")
    except (ValueError, TypeError, KeyError, RecursionError):
        return [], "the state file %s was damaged and is replaced: the forecast starts afresh" % one_line(path)
    return samples, None


def _save(path, samples):
    write_json(path, {"version": _VERSION, "samples": samples})


def write_json(path, document):
    """`document` as JSON in `path` (mode 600), written aside and renamed so a reader never sees half of it."""
    # The name is this process's own; tempfile would cost more start-up
    # than the whole forecast.
    temporary = "%s.%d.tmp" % (path, os.getpid())
    try:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            json.dump(document, out, separators=(",", ":"))
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
