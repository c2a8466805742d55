"""Real monitoring daemons for the contrib tests, each in a private folder, ended with its process group.

Facts behind the settings are in the project's notes on running the daemons inside tests
(Icinga 2 constants for every path, RunAs root, a PerfdataWriter to read results back).
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRIB = ROOT / "contrib"


def need(program, package, search="/usr/sbin:/usr/bin:/sbin:/bin"):
    """The path of `program`; skip without it, except in CI (CI=true), where .ci/run installs it."""
    path = shutil.which(program, path=search)
    if not path:
        if os.environ.get("CI"):
            pytest.fail("%s is missing in CI: .ci/run should have installed %s" % (program, package))
        pytest.skip("%s is not installed (Debian package %s, see .ci/run)" % (program, package))
    return path


def icinga_constants(base):
    """-D options that keep an Icinga 2 instance entirely inside `base`."""
    base = Path(base)
    for sub in ("data", "cache", "run/icinga2", "log", "spool", "zones.d"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    paths = {
        "DataDir": base / "data", "CacheDir": base / "cache", "InitRunDir": base / "run", "LogDir": base / "log",
        "SpoolDir": base / "spool", "StatePath": base / "data/icinga2.state", "ObjectsPath": base / "cache/objects",
        "VarsPath": base / "cache/vars", "ZonesDir": base / "zones.d",
    }
    return ["-DConfiguration.%s=%s" % (k, v) for k, v in paths.items()] + [
        "-DConfiguration.RunAsUser=root", "-DConfiguration.RunAsGroup=root"]


def icinga_validate(main_conf, base):
    return subprocess.run(["icinga2", "daemon", "-C", "-c", str(main_conf), *icinga_constants(base)],
                          capture_output=True, text=True, timeout=120)


class Daemon:
    """A daemon in the foreground, in its own session so that its children end with it."""

    def __init__(self, argv, log, env=None):
        self.log = open(log, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
                                     env=env)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def wait_for(probe, timeout, what):
    """probe() until it returns something true; fail the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError("gave up after %d s waiting for %s" % (timeout, what))
