"""Start-up: what the installed check loads (timings live in bench/run_bench.py, not in tests)."""

import importlib.util
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import SCRIPT, SCRIPT_PYTHON, TOKEN, footprint, gained, run_check
from fake_api import SAMPLE


def imported(*args):
    # A HOME of its own: the check keeps the forecast's state file under it.
    with tempfile.TemporaryDirectory() as home:
        proc = subprocess.run([SCRIPT_PYTHON, "-X", "importtime", SCRIPT, *args], capture_output=True, text=True,
                              env={"LAOZHANG_ACCESS_TOKEN": TOKEN, "PATH": "/usr/bin:/bin", "HOME": home}, timeout=60)
    assert proc.returncode in (0, 1, 2, 3), proc.stderr
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["-w", "abc"], ["--response-file", str(SAMPLE)]],
                         ids=["help", "version", "usage-error", "response-file"])
def test_paths_without_network_do_not_import_requests(args):
    modules = imported(*args)
    assert "check_laozhang_balance.cli" in modules
    assert not {m for m in modules if m.split(".")[0] in ("requests", "urllib3", "pkg_resources")}


def test_a_network_check_imports_requests_but_not_pkg_resources(api):
    modules = imported("--url", api.url)
    assert "requests" in modules
    assert not [m for m in modules if m.startswith("pkg_resources")]


def test_console_script_is_a_thin_entry_point():
    text = Path(SCRIPT).read_text()
    assert "from check_laozhang_balance.command import main" in text
    assert "pkg_resources" not in text


def test_byte_code_was_compiled_at_install():
    # Asked from /, so that the installed package answers, not the source tree.
    origin = subprocess.run([SCRIPT_PYTHON, "-c", "import check_laozhang_balance as p; print(p.__file__)"],
                            capture_output=True, text=True, cwd="/", check=True).stdout.strip()
    package = Path(origin).parent
    # a venv's site-packages, or Debian's dist-packages for the package
    assert {"site-packages", "dist-packages"} & set(package.parts), package
    for source in package.glob("*.py"):
        assert Path(importlib.util.cache_from_source(str(source))).exists(), source


# the tests' own footprint

def test_a_run_that_writes_into_its_home_fails_the_runner(api):
    # Without XDG_STATE_HOME the check keeps its history under ~/.local/state.
    with pytest.raises(AssertionError, match="the run wrote into its HOME"):
        run_check("--url", api.url, env={"XDG_STATE_HOME": ""})


def test_a_run_given_a_home_keeps_its_history_there(api, tmp_path):
    run = run_check("--url", api.url, env={"XDG_STATE_HOME": ""}, home=tmp_path)
    assert run.code == 0
    assert [p.suffix for p in (tmp_path / ".local" / "state" / "check_laozhang_balance").iterdir()] in (
        [".json", ".lock"], [".lock", ".json"])


def test_the_session_check_sees_a_state_file_left_in_a_home(tmp_path):
    folder = tmp_path / ".local" / "state" / "check_laozhang_balance"
    folder.mkdir(parents=True)
    (folder / "kept.json").write_text("{}")
    before = footprint([tmp_path])
    (folder / "kept.json").write_text("{} ")
    (folder / "new.json").write_text("{}")
    assert gained(before, footprint([tmp_path])) == [str(folder / "kept.json"), str(folder / "new.json")]
    assert gained(before, before) == []
