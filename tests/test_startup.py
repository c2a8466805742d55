"""Start-up: what the installed check loads (timings live in bench/run_bench.py, not in tests)."""

import importlib.util
import subprocess
from pathlib import Path

import pytest

from conftest import SCRIPT, SCRIPT_PYTHON, TOKEN
from fake_api import SAMPLE


def imported(*args):
    proc = subprocess.run([SCRIPT_PYTHON, "-X", "importtime", SCRIPT, *args], capture_output=True, text=True,
                          env={"LAOZHANG_ACCESS_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}, timeout=60)
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
    assert "from check_laozhang_balance.cli import main" in text
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
