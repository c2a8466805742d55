"""Fixtures: the fake API server on 127.0.0.1, a free port beside it, and a runner for the installed check."""

import atexit
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
import warnings
from pathlib import Path

import pytest

from fake_api import ApiServer

TOKEN = "sk-sys-4b1d9c2e7f30a8d6e5c4b3a2918f7e6d"

# The check under test, as Nagios would run it: the script that the environment
# variable CHECK_LAOZHANG_BALANCE names (CI's Debian run gives the packaged
# /usr/lib/nagios/plugins/check_laozhang_balance), else the installed console
# script next to this interpreter in a virtual environment, else on PATH.
SCRIPT_VARIABLE = "CHECK_LAOZHANG_BALANCE"
SCRIPT = (shutil.which(os.environ[SCRIPT_VARIABLE]) if os.environ.get(SCRIPT_VARIABLE) else
          shutil.which("check_laozhang_balance", path=os.path.dirname(sys.executable)) or shutil.which(
              "check_laozhang_balance"))
if os.environ.get(SCRIPT_VARIABLE) and not SCRIPT:
    raise pytest.UsageError("%s=%s is not an executable file" % (SCRIPT_VARIABLE, os.environ[SCRIPT_VARIABLE]))


def script_python(script):
    """The interpreter that runs `script`, from its #! line: a venv's python, or Debian's for the package.

    pip writes a /bin/sh trampoline when the path is too long for #!; that
    only happens in a venv, whose python is this one.
    """
    with open(script, "rb") as handle:
        first = handle.readline()
    words = first[2:].split() if first.startswith(b"#!") else []
    return words[0].decode() if words and not words[0].endswith(b"/sh") else sys.executable


SCRIPT_PYTHON = script_python(SCRIPT) if SCRIPT else sys.executable

GNU_TIME = shutil.which("time", path="/usr/bin:/bin")

_UOM = r"(s|ms|us|%|B|KB|MB|GB|TB|c)?"
_NUM = r"-?\d+(\.\d+)?"
_RANGE = r"(@?(~|%s)?:?(%s)?)" % (_NUM, _NUM)
STATES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
STATUS_LINE = re.compile(r"^LAOZHANG_BALANCE (OK|WARNING|CRITICAL|UNKNOWN) - \S")
PERFDATUM = re.compile(r"^('[^'=]+'|[^'= ]+)=%s%s(;%s){0,2}(;(%s)?){0,2}$" % (_NUM, _UOM, _RANGE, _NUM))


# A piece this long of a token in the output is a leak, whatever surrounds it.
SECRET_PIECE = 8


def hidden_characters(text):
    """The characters no output may hold: controls other than the newline (C0, DEL, C1), format characters
    (bidi overrides and isolates, zero-width ones: category Cf), which reorder or hide text in a web UI or a
    notification, and lone surrogates."""
    return sorted({"U+%04X" % ord(c) for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs")})


def _exception_names():
    """Class names of the exceptions the check could meet: Python's, its libraries' and nagiosplugin's.

    A name that is a plain word ("Timeout", "Warning", "error") may stand in a
    sentence; the others (two capitals, or a word glued to error/Error) may not.
    """
    import builtins
    import decimal
    import http.client
    import json
    import ssl
    import zlib

    import nagiosplugin
    import requests.exceptions
    import urllib3.exceptions

    names = {name for module in (builtins, decimal, http.client, json, socket, ssl, zlib, nagiosplugin,
                                 requests.exceptions, urllib3.exceptions)
             for name, value in vars(module).items() if isinstance(value, type) and issubclass(value, BaseException)}
    return sorted(name for name in names if sum(c.isupper() for c in name) >= 2 or (
        name.lower().endswith(("error", "exception")) and name.lower() not in ("error", "exception")))


# Any of those names, or any other CamelCase word ending in Error or Exception.
EXCEPTION_NAME = re.compile(r"\b(%s|[A-Z][A-Za-z]*(Error|Exception))\b" % "|".join(_exception_names()))


def free_port():
    """A port on 127.0.0.1 that nothing listens on, as the kernel hands it out."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

@pytest.fixture
def monitoring_home(tmp_path):
    """A folder for a monitoring daemon that runs the check under test, and the user to run it as:
    nagios wherever nagios can run the check (the package), as on a Debian host, else root."""
    from daemons import DaemonHome, check_user

    home = DaemonHome(tmp_path, check_user(SCRIPT))
    yield home
    home.remove()


@pytest.fixture
def api():
    server = ApiServer()
    yield server
    server.close()


class Run:
    """One finished run of the check."""

    def __init__(self, proc):
        self.code = proc.returncode
        self.seconds = proc.seconds
        self.peak_rss_mib = proc.peak_rss_mib
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.lines = proc.stdout.splitlines()
        self.first = self.lines[0] if self.lines else ""
        status, _, perf = self.first.partition("|")
        self.status = status.strip()
        # With -v and up the performance data follows the long output.
        if not perf:
            perf = next((line[1:] for line in self.lines[1:] if line.startswith("|")), "")
        self.perf_text = perf.strip()
        self.perf = dict(p.split("=", 1) for p in self.perf_text.split()) if self.perf_text else {}


# The forecast's state files of all runs that do not name their own, kept
# out of the home directory of whoever runs the tests.
STATE_HOME = tempfile.mkdtemp(prefix="check_laozhang_balance-state-")
atexit.register(shutil.rmtree, STATE_HOME, True)


# Each run's HOME, which must stay empty: a run that writes there would,
# outside the tests, write into a real user's home.
HOMES = tempfile.mkdtemp(prefix="check_laozhang_balance-homes-")
atexit.register(shutil.rmtree, HOMES, True)


def run_check(*args, token=TOKEN, env=None, stdin=None, timeout=60, secrets=(), faketime=None, home=None):
    """Run the installed check; fail on anything no run may ever do, whatever the test is about.

    `faketime` runs it under Debian's faketime, its clock stopped at that wall-clock time
    ('2026-11-01 00:00:00') so that runs on successive faked days are exactly a day apart.
    `home` is the run's HOME, a folder of the test's; without it the run gets an empty one
    of its own and fails if it writes anything there.
    """
    assert SCRIPT, "check_laozhang_balance is not installed: pip install '.[test]', or name it in %s" % SCRIPT_VARIABLE
    assert GNU_TIME, "GNU time is not installed: apt-get install time"
    environ = {k: v for k, v in os.environ.items() if k != "LAOZHANG_ACCESS_TOKEN"}
    environ["XDG_STATE_HOME"] = STATE_HOME
    private_home = home is None
    environ["HOME"] = tempfile.mkdtemp(dir=HOMES) if private_home else str(home)
    if faketime:
        # The faked days are UTC days, whatever zone (and daylight saving change) the machine has.
        environ["TZ"] = "UTC"
    if token is not None:
        environ["LAOZHANG_ACCESS_TOKEN"] = token
    environ.update(env or {})
    started = time.monotonic()
    with tempfile.NamedTemporaryFile("r") as rss:
        # GNU time measures the check's own peak memory; wait4() in this
        # process would count the pre-exec copy of pytest as well.
        # faketime -f with a plain date stops the clock there: a ticking clock
        # would start each run a fraction of a second late, and a forecast
        # over a day that is a little short or long flips its last digit.
        command = [GNU_TIME, "-f", "%M", "-o", rss.name, *(["faketime", "-f", faketime] if faketime else []), SCRIPT,
                   *args]
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=environ, start_new_session=True)
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise AssertionError("the check outlived the test's watchdog of %s s" % timeout) from None
        proc.seconds = time.monotonic() - started
        proc.peak_rss_mib = int(rss.read().split()[-1]) / 1024
    proc.stdout = out.decode("utf-8")
    proc.stderr = err.decode("utf-8")
    run = Run(proc)
    output = run.stdout + run.stderr
    for secret in (TOKEN, token, *secrets):
        if secret:
            assert secret not in output, "a secret leaked into the output"
    for secret in (TOKEN, token):
        for start in range(len(secret or "") - SECRET_PIECE + 1):
            assert secret[start:start + SECRET_PIECE] not in output, "a piece of the token leaked into the output"
    hidden = hidden_characters(output)
    assert not hidden, "control or format characters %s in the output: %r" % (", ".join(hidden), output)
    named = EXCEPTION_NAME.search(output)
    assert not named, "an exception's class name, %s, in the output: %r" % (named.group(), output)
    assert "Traceback" not in output, output
    assert run.code in (0, 1, 2, 3), run.code
    structured = "--format" in args and args[list(args).index("--format") + 1] != "nagios"
    if not {"-h", "--help", "-V", "--version"} & set(args) and not structured:
        match = STATUS_LINE.match(run.first)
        assert match, "not a plugin status line: %r" % run.first
        assert STATES.index(match.group(1)) == run.code, (run.first, run.code)
        # Nagios turns ';' into ':' in its log and status.dat, garbling the sentence.
        assert ";" not in run.status, run.status
    for datum in run.perf_text.split() if not structured else ():
        assert PERFDATUM.match(datum), "invalid performance data %r" % datum
    if private_home:
        left = sorted(str(p.relative_to(environ["HOME"])) for p in Path(environ["HOME"]).rglob("*"))
        shutil.rmtree(environ["HOME"])
        assert not left, "the run wrote into its HOME, a real user's home outside the tests: %s" % left
    return run


def footprint(homes):
    """{path: (size, mtime)} of what the check's default state folders in `homes` hold."""
    found = {}
    for home in homes:
        folder = Path(home, ".local", "state", "check_laozhang_balance")
        for path in folder.iterdir() if folder.is_dir() else ():
            stat = path.lstat()
            found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


def gained(before, after):
    """The paths in `after` that are new or changed since `before`."""
    return sorted(path for path, seen in after.items() if before.get(path) != seen)


def real_homes():
    """The homes a check falls back to when a test forgets to give it one: this user's and the daemons'."""
    homes = {os.path.expanduser("~"), pwd.getpwuid(os.getuid()).pw_dir}
    for user in ("nagios", "zabbix"):
        try:
            homes.add(pwd.getpwnam(user).pw_dir)
        except KeyError:
            pass
    return sorted(homes)


@pytest.fixture(scope="session", autouse=True)
def nothing_written_into_real_homes():
    """Fails the session in CI (CI=true) if a test, by run_check or its own subprocess, left a state file in a
    real home; elsewhere warns, naming the files.

    Only a machine that runs nothing else can blame the session: on a shared one, another clone's tests or a
    check run by hand write into the same home at the same time.
    """
    homes = real_homes()
    before = footprint(homes)
    yield
    written = gained(before, footprint(homes))
    if written:
        message = "the tests wrote outside their temporary folders: %s" % written
        if os.environ.get("CI"):
            pytest.fail(message)
        warnings.warn(message)
