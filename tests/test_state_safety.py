"""The state file in a directory others can write: planted links, FIFOs, a held lock, bad numbers, no permission.

Each case drives the installed check and asserts what it printed and that planted targets are
untouched. Without --warning-days a state problem costs only the forecast; with it, it is one
UNKNOWN line that names the problem. Permission cases run as 'nobody' too, since root ignores modes.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import SCRIPT, TOKEN, run_check

PRECIOUS = "root's own file, which no check may write\n"


@pytest.fixture
def planted(tmp_path):
    """A file outside the state directory that planted links point at."""
    target = tmp_path / "precious"
    target.write_text(PRECIOUS)
    target.chmod(0o600)
    return target


@pytest.fixture
def shared(tmp_path):
    """A state directory that everyone can write, as a careless shared /var/lib would be."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o1777 ^ 0o1000)
    return folder


def untouched(target):
    assert target.read_text() == PRECIOUS
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def likely_pids():
    """Every PID a run could get on this machine (all of them, when the kernel allows few enough)."""
    with open("/proc/sys/kernel/pid_max") as handle:
        highest = int(handle.read())
    if highest <= 100000:
        return range(1, highest + 1)
    with open("/proc/sys/kernel/ns_last_pid") as handle:
        last = int(handle.read())
    return range(last, last + 50000)


def test_planted_links_at_every_likely_temporary_name_are_not_followed(api, shared, planted):
    state = shared / "state.json"
    for pid in likely_pids():
        os.symlink(planted, "%s.%d.tmp" % (state, pid))
    for _ in range(3):
        run = run_check("--url", api.url, "--state-file", str(state))
        assert run.code == 0
    untouched(planted)
    assert stat.S_ISREG(os.lstat(state).st_mode)
    assert json.loads(state.read_text())["samples"][-1][2] == 10027091
    assert [p for p in shared.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()] == []


@pytest.mark.parametrize("where", ["state.json", "state.json.lock"])
@pytest.mark.parametrize("dangling", [False, True], ids=["to-a-file", "dangling"])
def test_a_link_at_the_state_or_lock_path_is_reported_and_never_followed(api, shared, planted, where, dangling):
    state = shared / "state.json"
    target = planted.with_name("created-through-a-link") if dangling else planted
    os.symlink(target, shared / where)
    what = "lock file" if where.endswith(".lock") else "state file"
    problem = "the %s %s is a symbolic link, which the check never follows: remove it" % (what, shared / where)
    run = run_check("--url", api.url, "--state-file", str(state), "-v")
    assert run.code == 0 and run.status.startswith("LAOZHANG_BALANCE OK - ")
    assert problem in run.lines and "no forecast: the state file cannot be used" in run.lines
    asked = run_check("--url", api.url, "--state-file", str(state), "--warning-days", "3")
    assert asked.code == 3 and asked.status == "LAOZHANG_BALANCE UNKNOWN - " + problem
    if dangling:
        assert not target.exists()
    else:
        untouched(planted)
    assert (shared / where).is_symlink()


@pytest.mark.parametrize("where", ["state.json", "state.json.lock"])
def test_a_fifo_is_reported_at_once(api, tmp_path, where):
    state = tmp_path / "state.json"
    os.mkfifo(tmp_path / where)
    what = "lock file" if where.endswith(".lock") else "state file"
    problem = ("the %s %s is not a regular file (a FIFO, device or socket was put there): remove it"
               % (what, tmp_path / where))
    run = run_check("--url", api.url, "--state-file", str(state), "-t", "10", "-v")
    assert run.code == 0 and problem in run.lines
    assert run.seconds < 3, run.seconds
    asked = run_check("--url", api.url, "--state-file", str(state), "-t", "10", "--critical-days", "1")
    assert asked.code == 3 and asked.status == "LAOZHANG_BALANCE UNKNOWN - " + problem
    assert asked.seconds < 3, asked.seconds


def test_a_lock_held_by_a_hung_process_costs_a_fifth_of_the_deadline_and_only_the_forecast(api, tmp_path):
    state = tmp_path / "state.json"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        "lock = open(sys.argv[1], 'a')\n"
        "fcntl.flock(lock, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "time.sleep(120)\n"), str(state) + ".lock"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        problem = "the state file %s stayed locked by another process for 1.0 s (a hung run?)" % state
        run = run_check("--url", api.url, "--state-file", str(state), "-t", "5", "-v")
        assert run.code == 0 and run.status == "LAOZHANG_BALANCE OK - 49.99 USD left (account demo_user)"
        assert problem in run.lines
        assert run.seconds < 3, run.seconds
        asked = run_check("--url", api.url, "--state-file", str(state), "-t", "5", "--warning-spend", "10")
        assert asked.code == 3 and asked.status == "LAOZHANG_BALANCE UNKNOWN - " + problem
    finally:
        holder.kill()
        holder.wait()
    assert run_check("--url", api.url, "--state-file", str(state), "--warning-days", "3").code == 0


@pytest.mark.parametrize("sample", ["[Infinity, 1, 1]", "[1, Infinity, 1]", "[1e400, 1, 1]", "[1, 1, -Infinity]",
                                    "[%s, 1, 1]" % ("9" * 400), "[1, %s, 1]" % ("9" * 400), "[1, 1, %s]" % ("9" * 400),
                                    "[1, 1.5, 1]", "[true, 1, 1]", '[1, "1", 1]', "[1, 1, 1, 1]"])
def test_numbers_no_run_writes_are_a_damaged_file_and_replaced(api, tmp_path, sample):
    state = tmp_path / "state.json"
    state.write_text('{"version": 2, "owner": {"server": "%s", "account_id": "1"}, "samples": [%s]}'
                     % (api.url, sample))
    run = run_check("--url", api.url, "--state-file", str(state), "-v", "--warning-days", "9")
    assert run.code == 0
    assert "the state file %s was damaged and is replaced: the forecast starts afresh" % state in run.lines
    assert len(json.loads(state.read_text())["samples"]) == 1
    assert run_check("--url", api.url, "--state-file", str(state), "-v").code == 0


def nobody():
    """A command prefix that runs the installed check as 'nobody', or None where it cannot be reached."""
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return None
    probe = subprocess.run(prefix + [SCRIPT, "--version"], capture_output=True, timeout=30)
    return prefix if probe.returncode == 0 else None


def run_as(prefix, *args):
    env = {"PATH": "/usr/bin:/bin", "LAOZHANG_ACCESS_TOKEN": TOKEN, "HOME": "/nonexistent"}
    proc = subprocess.run(prefix + [SCRIPT, *args], capture_output=True, text=True, timeout=60, env=env)
    assert TOKEN not in proc.stdout + proc.stderr and "Traceback" not in proc.stdout + proc.stderr
    return proc


@pytest.fixture
def as_nobody():
    prefix = nobody()
    if prefix is None:
        pytest.skip("needs root with setpriv, and the installed check in a place 'nobody' can reach")
    return prefix


@pytest.fixture
def reachable():
    """A folder 'nobody' can reach (pytest's tmp_path is under a folder closed to other users)."""
    folder = tempfile.mkdtemp(prefix="check_laozhang_balance-nobody-")
    os.chmod(folder, 0o755)
    yield Path(folder)
    shutil.rmtree(folder)


@pytest.mark.parametrize("lock_exists", [False, True], ids=["no-lock-yet", "lock-writable"])
def test_a_read_only_directory_names_the_real_error(api, reachable, as_nobody, lock_exists):
    folder = reachable / "read-only"
    folder.mkdir(mode=0o755)
    state = folder / "state.json"
    if lock_exists:
        # The lock opens, so the failure is the temporary file's: its real errno, not the cleanup's.
        (folder / "state.json.lock").touch(mode=0o666)
        os.chown(folder / "state.json.lock", 65534, 65534)
    problem = ("cannot use the state file %s (Permission denied): give --state-file PATH in a place this user can "
               "write" % state)
    quiet = run_as(as_nobody, "--url", api.url, "--state-file", str(state), "-v")
    assert quiet.returncode == 0 and problem in quiet.stdout.splitlines()
    asked = run_as(as_nobody, "--url", api.url, "--state-file", str(state), "--warning-days", "3")
    assert asked.returncode == 3
    assert asked.stdout.splitlines()[0] == "LAOZHANG_BALANCE UNKNOWN - " + problem
    assert sorted(p.name for p in folder.iterdir()) == (["state.json.lock"] if lock_exists else [])


def test_nobody_plants_links_in_its_own_directory_and_root_follows_none(api, reachable, planted, as_nobody):
    """The issue's case: the check runs as root, the state directory belongs to 'nobody'."""
    folder = reachable / "nobodys"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    state = folder / "state.json"
    pids = likely_pids()
    planter = ("import os, sys\n"
               "for pid in range(int(sys.argv[3]), int(sys.argv[4])):\n"
               "    os.symlink(sys.argv[1], '%s.%d.tmp' % (sys.argv[2], pid))\n"
               "os.symlink(sys.argv[1], sys.argv[2] + '.lock')\n")
    subprocess.run(as_nobody + ["/usr/bin/python3", "-c", planter, str(planted), str(state), str(pids.start),
                                str(pids.stop)], check=True, timeout=120)
    run = run_check("--url", api.url, "--state-file", str(state), "-v")
    assert run.code == 0
    assert "the lock file %s.lock is a symbolic link, which the check never follows: remove it" % state in run.lines
    untouched(planted)
    os.unlink(str(state) + ".lock")
    assert run_check("--url", api.url, "--state-file", str(state)).code == 0
    untouched(planted)
    assert stat.S_ISREG(os.lstat(state).st_mode)


def run_plain(env, cwd, umask=None):
    """The installed check with exactly `env` (no HOME guard of the shared runner: these runs write into one)."""
    proc = subprocess.run([SCRIPT, "--response-file", "-", "--state-file", env.pop("STATE")] if "STATE" in env
                          else [SCRIPT, "--url", env.pop("URL")], capture_output=True, text=True, timeout=60,
                          env=env, cwd=cwd, preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)
    assert proc.returncode == 0, proc.stdout
    return proc


def test_a_relative_xdg_state_home_is_ignored(api, tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    run_plain({"PATH": "/usr/bin:/bin", "LAOZHANG_ACCESS_TOKEN": TOKEN, "HOME": str(home), "XDG_STATE_HOME": "state",
               "URL": api.url}, work)
    assert list(work.iterdir()) == []
    created = list((home / ".local" / "state" / "check_laozhang_balance").glob("127.0.0.1-*.json"))
    assert len(created) == 1


def test_directories_the_check_creates_are_private_whatever_the_umask(api, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    run_plain({"PATH": "/usr/bin:/bin", "LAOZHANG_ACCESS_TOKEN": TOKEN, "HOME": str(home), "URL": api.url},
              tmp_path, umask=0)
    folders = [home / ".local", home / ".local" / "state", home / ".local" / "state" / "check_laozhang_balance"]
    assert [oct(stat.S_IMODE(f.stat().st_mode)) for f in folders] == ["0o700"] * 3
    assert [oct(stat.S_IMODE(f.stat().st_mode)) for f in folders[-1].iterdir()] == ["0o600"] * 2
