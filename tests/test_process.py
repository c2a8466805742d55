"""The check as a process: signals mid-run, a stdout that takes nothing, and an early exit that loses nothing.

The console script ends with os._exit() once stdout is flushed; these tests prove that no output
and no state-file write is lost by that, and that a signal or a dead stdout is a clean exit 3.
"""

import json
import os
import random
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import HOMES, SCRIPT, STATE_HOME, TOKEN, run_check
from fake_api import Answer, account

INTERRUPTED = "LAOZHANG_BALANCE UNKNOWN - interrupted by %s before the balance was read"


def start(*args, **popen):
    """The installed check, started and left running."""
    env = dict(os.environ, LAOZHANG_ACCESS_TOKEN=TOKEN, XDG_STATE_HOME=STATE_HOME, HOME=tempfile.mkdtemp(dir=HOMES))
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([SCRIPT, *args], env=env, **popen)


def finish(proc):
    """(exit code, first line) of a started check; fails on a traceback or the token in its output."""
    out, err = proc.communicate(timeout=60)
    text = (out or b"").decode() + (err or b"").decode()
    assert "Traceback" not in text and "Error" not in text, text
    assert TOKEN not in text
    return proc.returncode, text.splitlines()[0] if text else ""


def wait_until(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def stall(handler):
    """Answer nothing until the server closes."""
    handler.server.closing.wait(60)


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# Signals

@pytest.mark.parametrize("verbosity", [[], ["-vvv"]], ids=["quiet", "vvv"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_signal_while_waiting_for_the_answer(api, tmp_path, signum, verbosity):
    api.behave(stall)
    proc = start("--url", api.url, "--state-file", str(tmp_path / "state.json"), *verbosity)
    wait_until(lambda: api.seen)
    proc.send_signal(signum)
    code, first = finish(proc)
    assert (code, first) == (3, INTERRUPTED % signum.name)
    assert list(tmp_path.iterdir()) == []


def test_signal_while_waiting_for_the_state_lock_keeps_the_state_file(api, tmp_path):
    import fcntl

    state = tmp_path / "state.json"
    assert run_check("--url", api.url, "--state-file", str(state)).code == 0
    before = state.read_bytes()
    with open(str(state) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        api.answer(body=account(quota=1000))
        seen = len(api.seen)
        proc = start("--url", api.url, "--state-file", str(state))
        # The answer is in; the check now polls the lock for up to 2 s.
        wait_until(lambda: len(api.seen) > seen)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert finish(proc) == (3, INTERRUPTED % "SIGTERM")
    assert state.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_signal_at_any_moment_ends_cleanly_and_keeps_the_state_file(api, tmp_path):
    """Signals landing anywhere from the request to the exit: the result or UNKNOWN, never half a file."""
    state = tmp_path / "state.json"
    rng = random.Random(16)
    answer = Answer()

    def late(handler):
        # 20 to 50 ms: about a third of the signals land before the answer.
        time.sleep(rng.uniform(0.02, 0.05))
        answer(handler)

    api.behave(late)
    outcomes = set()
    for _ in range(16):
        seen = len(api.seen)
        proc = start("--url", api.url, "--state-file", str(state), "-w", "10")
        wait_until(lambda: len(api.seen) > seen)
        time.sleep(rng.uniform(0, 0.1))
        proc.send_signal(rng.choice([signal.SIGTERM, signal.SIGINT]))
        code, first = finish(proc)
        assert (code == 0 and first.startswith("LAOZHANG_BALANCE OK - 49.99 USD left")) or (
            code == 3 and first in (INTERRUPTED % "SIGTERM", INTERRUPTED % "SIGINT")), (code, first)
        outcomes.add(code)
        assert leftovers(tmp_path) == []
        if state.exists():
            assert json.loads(state.read_text())["samples"]
    assert 3 in outcomes, "no signal landed before the result was known: the test proved nothing"


# A stdout that takes nothing

@pytest.mark.parametrize("args", [["-vvv"], ["--format", "json"], ["--help"]], ids=["vvv", "json", "help"])
def test_stdout_on_a_full_disk(api, tmp_path, args):
    with open("/dev/full", "wb") as full:
        proc = start("--url", api.url, "--state-file", str(tmp_path / "state.json"), *args, stdout=full)
        assert finish(proc) == (3, "")
    if "--help" not in args:
        # The result was lost, not the sample: it was recorded before the output.
        assert len(json.loads((tmp_path / "state.json").read_text())["samples"]) == 1


@pytest.mark.parametrize("args", [[], ["-vvv"]], ids=["quiet", "vvv"])
def test_stdout_on_a_closed_pipe(api, tmp_path, args):
    reader, writer = os.pipe()
    os.close(reader)
    proc = start("--url", api.url, "--state-file", str(tmp_path / "state.json"), *args, stdout=writer)
    os.close(writer)
    assert finish(proc) == (3, "")
    assert len(json.loads((tmp_path / "state.json").read_text())["samples"]) == 1


def test_no_stdout_at_all(api):
    proc = subprocess.run(["bash", "-c", 'exec "$@" >&-', "check", SCRIPT, "--url", api.url],
                          env=dict(os.environ, LAOZHANG_ACCESS_TOKEN=TOKEN, XDG_STATE_HOME=STATE_HOME,
                                   HOME=tempfile.mkdtemp(dir=HOMES)),
                          capture_output=True, timeout=60)
    assert proc.returncode == 3
    assert proc.stderr == b""


# The early exit loses no write

def test_forecast_state_intact_after_many_runs(api, tmp_path):
    state = tmp_path / "state.json"
    quotas = [50000000 - 50000 * n for n in range(20)]
    for n, quota in enumerate(quotas):
        api.answer(body=account(quota=quota, used_quota=10000000 + 50000 * n))
        run = run_check("--url", api.url, "--state-file", str(state), "--forecast-window", "6",
                        faketime="2026-11-02 %02d:%02d:00" % (n // 6, 10 * (n % 6)))
        assert run.code == 0
    samples = json.loads(state.read_text())["samples"]
    assert [quota for _, quota, _ in samples] == quotas
    # 0.1 USD every 10 minutes is 14.4 USD a day; 98.1 USD last 6.8 days
    assert run.status.endswith("98.10 USD left (account demo_user), about 6.8 days at 14.40 USD/day")
    assert leftovers(tmp_path) == []


def test_concurrent_runs_leave_one_whole_state_file(api, tmp_path):
    state = tmp_path / "state.json"
    with ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(lambda _: run_check("--url", api.url, "--state-file", str(state)), range(16)))
    assert {run.code for run in runs} == {0}
    samples = json.loads(state.read_text())["samples"]
    # Runs this close together replace each other's samples, past the first.
    assert 1 <= len(samples) <= 2 and {(q, u) for _, q, u in samples} == {(24997909, 10027091)}
    assert leftovers(tmp_path) == []
