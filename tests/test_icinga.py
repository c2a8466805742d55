"""contrib/icinga/ proven by a real Icinga 2: configuration check, then live checks on one node and on an agent."""

import re
import shutil
from pathlib import Path

import pytest

from conftest import SCRIPT, TOKEN
from daemons import CONTRIB, Daemon, icinga_constants, icinga_validate, wait_for
from fake_api import Answer, ApiServer, account

pytestmark = pytest.mark.skipif(not shutil.which("icinga2"), reason="icinga2 is not installed (see .ci/run)")

STATES = {"ok": (Answer(body=account(quota=30000000)), "OK"),
          "warn": (Answer(body=account(quota=7500000)), "WARNING"),
          "crit": (Answer(body=account(quota=1000000)), "CRITICAL"),
          "refused": (Answer(401, {"success": False, "message": "Unauthorized"}), "UNKNOWN")}


def plugin_dir(base):
    """A PluginContribDir holding the installed check, as the README's symlink makes it."""
    path = Path(base) / "plugins"
    path.mkdir(exist_ok=True)
    (path / "check_laozhang_balance").symlink_to(SCRIPT)
    return path


def services_every_two_seconds(base):
    """contrib/icinga/services.conf with its 15-minute interval shortened, so a test sees results in seconds."""
    text = (CONTRIB / "icinga" / "services.conf").read_text()
    assert "check_interval = 15m" in text and "retry_interval = 5m" in text
    fast = Path(base) / "services-fast.conf"
    fast.write_text(text.replace("check_interval = 15m", "check_interval = 2s")
                    .replace("retry_interval = 5m", "retry_interval = 2s"))
    return fast


def perfdata_writer(base):
    spool = Path(base) / "perfdata"
    spool.mkdir()
    return spool, '''
object PerfdataWriter "perfdata" {
  service_perfdata_path = "%(spool)s/service-perfdata"
  service_temp_path = "%(spool)s/service-perfdata.tmp"
  host_perfdata_path = "%(spool)s/host-perfdata"
  host_temp_path = "%(spool)s/host-perfdata.tmp"
  service_format_template = "SERVICE::$service.name$\\tSTATE::$service.state$\\tOUTPUT::$service.output$\\tPERF::$service.perfdata$"
  rotation_interval = 2s
}
''' % {"spool": spool}


def results(spool):
    """{service name: (state, output, perfdata)} from the PerfdataWriter's rotated files, latest last."""
    found = {}
    for path in sorted(spool.glob("service-perfdata.*")):
        if path.name.endswith(".tmp"):
            continue
        for line in path.read_text().splitlines():
            fields = dict(f.split("::", 1) for f in line.split("\t") if "::" in f)
            found[fields["SERVICE"]] = (fields["STATE"], fields["OUTPUT"], fields.get("PERF", ""))
    return found


def accounts_dsl(servers, base, token_file):
    """vars.laozhang_accounts for a host: one account per fake server, half with a token file, half by env."""
    entries = []
    for index, (name, server) in enumerate(servers.items()):
        secret = ('laozhang_balance_token_file = "%s"' % token_file if index % 2 == 0
                  else 'laozhang_balance_access_token = "%s"' % TOKEN)
        entries.append('''  vars.laozhang_accounts["%s"] = {
    laozhang_balance_url = "%s"
    laozhang_balance_warning = 20
    laozhang_balance_critical = 5
    laozhang_balance_state_file = "%s/state-%s.json"
    %s
  }''' % (name, server.url, base, name, secret))
    return "\n".join(entries)


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "laozhang.token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def test_contrib_files_pass_icinga2_daemon_C(tmp_path):
    main = tmp_path / "main.conf"
    main.write_text('''
const PluginDir = "/usr/lib/nagios/plugins"
const PluginContribDir = "%s"
include <itl>
include <plugins>
include <plugins-contrib>
include "%s"
include "%s"
object Host "llm-gateway" {
  check_command = "dummy"
  vars.laozhang_accounts["production"] = { laozhang_balance_token_file = "/etc/icinga2/laozhang.token" }
  vars.laozhang_accounts["self-hosted"] = {
    laozhang_balance_url = "https://oneapi.example.com/api/user/self"
    laozhang_balance_quota_per_unit = "auto"
  }
}
''' % (plugin_dir(tmp_path), CONTRIB / "icinga" / "command.conf", CONTRIB / "icinga" / "services.conf"))
    checked = icinga_validate(main, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Instantiated 2 Services." in checked.stdout


def test_single_node_records_every_state_with_perfdata(tmp_path, token_file):
    servers = {}
    try:
        for name, (answer, _) in STATES.items():
            servers[name] = ApiServer()
            servers[name].behave(answer)
        spool, writer = perfdata_writer(tmp_path)
        main = tmp_path / "main.conf"
        main.write_text('''
const PluginDir = "/usr/lib/nagios/plugins"
const PluginContribDir = "%s"
const NodeName = "test-node"
include <itl>
include <plugins>
include "%s"
include "%s"
object CheckerComponent "checker" { }
%s
object Host "llm-gateway" {
  check_command = "dummy"
  vars.dummy_state = 0
%s
}
''' % (plugin_dir(tmp_path), CONTRIB / "icinga" / "command.conf", services_every_two_seconds(tmp_path), writer,
            accounts_dsl(servers, tmp_path, token_file)))
        daemon = Daemon(["icinga2", "daemon", "-c", str(main), *icinga_constants(tmp_path)], tmp_path / "icinga.log")
        try:
            seen = wait_for(lambda: (lambda r: r if len(r) == len(STATES) else None)(results(spool)), 90,
                            "a result for every service in Icinga's perfdata files")
        finally:
            daemon.stop()
        log = (tmp_path / "icinga.log").read_text()
    finally:
        for server in servers.values():
            server.close()
    for name, (_, state) in STATES.items():
        got_state, output, perf = seen["laozhang-balance " + name]
        assert got_state == state, (name, output)
        assert output.startswith("LAOZHANG_BALANCE %s - " % state)
        assert TOKEN not in output
    assert "remaining_usd=15.000000;20:;5:" in seen["laozhang-balance warn"][2]
    assert re.search(r"quota=1000000;10000000:;2500000:", seen["laozhang-balance crit"][2])
    assert "authentication refused (HTTP 401" in seen["laozhang-balance refused"][1]
    assert seen["laozhang-balance refused"][2] == ""
    assert "invalid perfdata" not in log.lower(), log
