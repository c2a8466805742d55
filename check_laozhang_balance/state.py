"""The state file that keeps the spending history between runs: locked, replaced atomically, safe in a shared place.

The directory may be writable by others (a shared /var/lib, a careless --state-file): no path
here is opened through a symbolic link, temporary files are created exclusively, a FIFO or device
is refused before it can block, and waiting for another run's lock is bounded.
"""

import errno
import fcntl
import json
import math
import os
import stat
import sys
import time
from urllib.parse import urlsplit

from nagiosplugin import CheckError

from . import interrupts
from .safe_text import one_line

_VERSION = 2
_READ_LIMIT = 4 << 20
# A quota beyond this is no real account's (see account._IMPLAUSIBLE); it
# also keeps float and Decimal arithmetic on the samples exact and finite.
_LARGEST = 10 ** 18
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
_NAP = 0.05
_HOST_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-")


class StateError(CheckError):
    """The state location cannot be used; the words say why and what to do."""


def default_path(url, account_id, username):
    """Per account and server, under the user's XDG state directory.

    For the nagios user of Debian's Icinga 2 and Nagios packages that is
    /var/lib/nagios/.local/state/check_laozhang_balance/. The name comes
    from the server and the account as the API describes it, never from
    the token.
    """
    sha256 = _sha256()
    # Not a regular expression: compiling one costs more than the whole name.
    host = "".join(c if c in _HOST_CHARACTERS else "_" for c in urlsplit(url).hostname or "local")
    key = sha256(("%s\n%s\n%s" % (url, account_id, username)).encode()).hexdigest()[:16]
    return os.path.join(directory(), "%s-%s.json" % (host, key))


def directory():
    """This user's state directory of the check: $XDG_STATE_HOME or ~/.local/state, then check_laozhang_balance."""
    base = os.environ.get("XDG_STATE_HOME", "")
    # The XDG spec: a relative path is invalid and must be ignored (it
    # would depend on the working directory, "/" under many daemons).
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "check_laozhang_balance")

def owner(url, account_id, username):
    """Whose samples these are: the server and the account id (a hash of the name if the server gives no id)."""
    if account_id:
        return {"server": url, "account_id": account_id}
    return {"server": url, "account_name_sha256": _sha256()(username.encode("utf-8", "surrogatepass")).hexdigest()}


def _sha256():
    """SHA-256 from the interpreter's own module where it has one (the same digest).

    hashlib would load OpenSSL's libcrypto first, a tenth of the time of
    --response-file, which needs no TLS; here, not at the top, because
    --help and --version need no digest at all.
    """
    if "hashlib" in sys.modules:
        # The network path has loaded it with requests.
        return sys.modules["hashlib"].sha256
    try:
        from _sha256 import sha256  # CPython 3.9 to 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # CPython 3.12 and later
        except ImportError:
            from hashlib import sha256
    return sha256


def update(path, whose, change, wait=2.0):
    """Apply `change(samples) -> (samples, remark or None)` under an exclusive lock; (samples, remarks).

    `whose` (owner(): server and account, never the token) is written with the
    samples; samples recorded for another owner are not used. Concurrent
    runs wait for each other on a lock file beside the state file, at most
    `wait` seconds; the new content goes to a fresh temporary file renamed
    into place, so a reader never sees half a file. A damaged file is replaced.
    """
    try:
        make_directory(os.path.dirname(path) or ".")
        with os.fdopen(_open_regular(path + ".lock", os.O_RDWR | os.O_CREAT, "lock file"), "rb") as lock:
            _lock(lock, path, wait)
            samples, damage = _load(path, whose)
            samples, remark = change(samples)
            write_json(path, {"version": _VERSION, "owner": whose, "samples": samples})
    except OSError as exc:
        raise StateError("cannot use the state file %s (%s): give --state-file PATH in a place this user can write"
                         % (one_line(path), _reason(exc))) from None
    return samples, [r for r in (damage, remark) if r]


def _reason(exc):
    if isinstance(exc, FileExistsError):
        # makedirs meets a file where the directory should be as "File exists".
        return "Not a directory"
    return exc.strerror or type(exc).__name__


def make_directory(path):
    """`path` and its missing parents, mode 0700 whatever the umask: the history is this user's alone."""
    # makedirs applies the umask to every level it creates: under umask 000
    # they would be world-writable.
    umask = os.umask(0o077)
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    finally:
        os.umask(umask)


def _open_regular(path, flags, what):
    """A descriptor on the regular file at `path`, never through a link, never blocking on a FIFO."""
    try:
        fd = os.open(path, flags | _NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise StateError("the %s %s is a symbolic link, which the check never follows: remove it"
                         % (what, one_line(path))) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StateError("the %s %s is not a regular file (a FIFO, device or socket was put there): remove it"
                         % (what, one_line(path)))
    return fd


def _lock(lock, path, wait):
    # A run holds the lock for milliseconds; one holding it longer is stuck,
    # and must not take the balance down with it by eating the deadline.
    # Counted in naps, not read from a clock: faketime may stop the clock.
    for _ in range(max(1, round(wait / _NAP))):
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(_NAP)
    raise StateError("the state file %s stayed locked by another process for %.1f s (a hung run?)"
                     % (one_line(path), wait))


def read_regular(path, limit, what="state file"):
    """At most `limit` bytes of the regular file `path`, never through a link; StateError for anything else there."""
    with os.fdopen(_open_regular(path, os.O_RDONLY, what), "rb") as handle:
        return handle.read(limit)


def _load(path, whose):
    try:
        raw = read_regular(path, _READ_LIMIT)
    except FileNotFoundError:
        return [], None
    try:
        document = json.loads(raw)
        if document.get("version") != _VERSION:
            return [], "the state file %s was written by another version: the history starts afresh" % one_line(path)
        samples = [_sample(*sample) for sample in document["samples"]]
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError):
        return [], "the state file %s was damaged and is replaced: the forecast starts afresh" % one_line(path)
    if document.get("owner") != whose:
        return [], ("the state file %s held the history of another account or server: this account's history "
                    "starts afresh" % one_line(path))
    return samples, None


def _sample(when, quota, used_quota):
    """One (time, quota, used_quota), or ValueError for what no run writes: Infinity, 400 digits, text."""
    numbers = (when, quota, used_quota)
    if any(isinstance(n, bool) or not isinstance(n, (int, float)) for n in numbers):
        raise ValueError("not a number")
    if not (math.isfinite(when) and 0 <= when < 1e11) or not all(
            isinstance(n, int) and abs(n) <= _LARGEST for n in (quota, used_quota)):
        raise ValueError("out of range")
    return float(when), quota, used_quota


def write_json(path, document):
    """`document` as JSON in `path` (mode 600), written aside and renamed so a reader never sees half of it."""
    # A signal meanwhile waits until the file is renamed or removed (interrupts.held).
    with interrupts.held():
        content = json.dumps(document, separators=(",", ":")).encode()
        # A random name created exclusively: in a directory others can write,
        # a predictable name (or an existing file) could be a planted link.
        for _ in range(10):
            temporary = "%s.%s.tmp" % (path, os.urandom(6).hex())
            try:
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
                break
            except FileExistsError:
                continue
        else:
            raise OSError(errno.EEXIST, "no free temporary name beside it")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            os.replace(temporary, path)
        except BaseException:
            # The cleanup must not replace the error that matters.
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
