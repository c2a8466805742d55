"""contrib/icinga/ proven by a real Icinga 2: configuration check, then live checks on one node and on an agent."""

import re
import shutil
import time
from pathlib import Path

import pytest

from conftest import SCRIPT, TOKEN, free_port
from daemons import (CONTRIB, Daemon, checkcommand_include, icinga_constants, icinga_node_certificates,
                     icinga_node_main_conf, icinga_pki, icinga_validate, need, wait_for)
from fake_api import Answer, ApiServer, account
from key_servers import KEY, Gateway, Key



@pytest.fixture(autouse=True)
def icinga2():
    need("icinga2", "icinga2")

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
        if name == "key":
            secret = 'laozhang_balance_api_key = "%s"\n    laozhang_balance_warning_expiry = 14' % KEY
        entries.append('''  vars.laozhang_accounts["%s"] = {
    laozhang_balance_url = "%s"
    laozhang_balance_warning = 20
    laozhang_balance_critical = 5
    laozhang_balance_state_file = "%s/state-%s.json"
    %s
  }''' % (name, server.url, base, name, secret))
    return "\n".join(entries)


@pytest.fixture
def token_file(monitoring_home):
    path = monitoring_home.path / "laozhang.token"
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
%s
include "%s"
object Host "llm-gateway" {
  check_command = "dummy"
  vars.laozhang_accounts["production"] = { laozhang_balance_token_file = "/etc/icinga2/laozhang.token" }
  vars.laozhang_accounts["self-hosted"] = {
    laozhang_balance_url = "https://oneapi.example.com/api/user/self"
    laozhang_balance_quota_per_unit = "auto"
  }
}
''' % (plugin_dir(tmp_path), checkcommand_include(), CONTRIB / "icinga" / "services.conf"))
    checked = icinga_validate(main, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Instantiated 2 Services." in checked.stdout


def single_node(base, plugins, accounts):
    """(perfdata spool, main.conf) of one node that checks the host llm-gateway with `accounts`, every 2 s,
    by contrib's command.conf and services.conf."""
    # Icinga reads its configuration after dropping to RunAsUser: copies it can read.
    shutil.copy(CONTRIB / "icinga" / "command.conf", base / "command.conf")
    spool, writer = perfdata_writer(base)
    main = base / "main.conf"
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
''' % (plugins, base / "command.conf", services_every_two_seconds(base), writer, accounts))
    return spool, main


def test_single_node_records_every_state_with_perfdata(monitoring_home, token_file):
    """As the nagios user wherever it can run the check under test (always for the package), as on Debian."""
    base, user = monitoring_home.path, monitoring_home.user
    servers = {}
    try:
        for name, (answer, _) in STATES.items():
            servers[name] = ApiServer()
            servers[name].behave(answer)
        # Key mode beside them: a gateway whose key expires in five days, the key handed over in the
        # environment by the CheckCommand's laozhang_balance_api_key.
        servers["key"] = ApiServer()
        servers["key"].behave(Gateway("new-api", key=Key(remain=30000000, expires_at=int(time.time()) + 5 * 86400)))
        spool, main = single_node(base, plugin_dir(base), accounts_dsl(servers, base, token_file))
        constants = icinga_constants(base, user)
        monitoring_home.hand_over()
        daemon = Daemon(["icinga2", "daemon", "-c", str(main), *constants], base / "icinga.log")
        try:
            seen = wait_for(lambda: (lambda r: r if len(r) == len(servers) else None)(results(spool)), 90,
                            "a result for every service in Icinga's perfdata files")
        finally:
            daemon.stop()
        log = (base / "icinga.log").read_text()
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
    key_state, key_output, key_perf = seen["laozhang-balance key"]
    assert key_state == "WARNING", key_output
    assert re.match(r"LAOZHANG_BALANCE WARNING - 60\.00 USD left \(key chatbot-prod\), expires \S+ \S+ UTC, below the "
                    r"warning threshold of 14 days", key_output), key_output
    assert "key_days_left=4.99;14:;@~:0" in key_perf and KEY not in key_output
    assert servers["key"].seen[0]["headers"]["Authorization"] == "Bearer " + KEY
    assert "invalid perfdata" not in log.lower(), log
    # the check ran as that user: the forecast's state files it wrote are that user's
    assert {path.owner() for path in base.glob("state-*.json")} == {user}


def test_distributed_agent_runs_the_check_synced_from_a_global_zone(monitoring_home, token_file):
    """A master and an agent on 127.0.0.1: the command reaches the agent through the global zone
    global-templates, services.conf's apply rule sends the check to the agent (command_endpoint),
    and the master records the result. Both run as the nagios user wherever it can run the check."""
    tmp_path, user = monitoring_home.path, monitoring_home.user
    ca, master, agent = tmp_path / "ca", tmp_path / "master", tmp_path / "agent"
    for base in (ca, master, agent):
        icinga_constants(base)
    icinga_pki(ca, "new-ca")
    icinga_node_certificates(ca, master, "master")
    icinga_node_certificates(ca, agent, "agent")
    master_port, agent_port = free_port(), free_port()
    zones = '''
object Endpoint "master" { host = "127.0.0.1"; port = %d }
object Endpoint "agent" { host = "127.0.0.1"; port = %d }
object Zone "master" { endpoints = [ "master" ] }
object Zone "agent" { endpoints = [ "agent" ]; parent = "master" }
object Zone "global-templates" { global = true }
''' % (master_port, agent_port)
    global_zone = master / "zones.d" / "global-templates"
    global_zone.mkdir(parents=True)
    shutil.copy(CONTRIB / "icinga" / "command.conf", global_zone / "command.conf")
    master_zone = master / "zones.d" / "master"
    master_zone.mkdir()
    shutil.copy(services_every_two_seconds(tmp_path), master_zone / "services.conf")
    spool, writer = perfdata_writer(master)
    api = ApiServer()
    api.answer(body=account(quota=7500000))
    (master_zone / "hosts.conf").write_text('''
object Host "agent" {
  check_command = "dummy"
  vars.dummy_state = 0
  vars.laozhang_on_agent = true
  vars.laozhang_accounts["production"] = {
    laozhang_balance_url = "%s"
    laozhang_balance_warning = 20
    laozhang_balance_token_file = "%s"
    laozhang_balance_state_file = "%s/state.json"
  }
}
''' % (api.url, token_file, agent))
    icinga_node_main_conf(master, "/nonexistent: the master does not run this check", zones, master_port,
                    objects='object CheckerComponent "checker" { }\n' + writer)
    icinga_node_main_conf(agent, plugin_dir(agent), zones, agent_port,
                    listener_options="; accept_config = true; accept_commands = true")
    constants = {base: icinga_constants(base, user) for base in (agent, master)}
    monitoring_home.hand_over()
    daemons = []
    try:
        daemons.append(Daemon(["icinga2", "daemon", "-c", str(agent / "main.conf"), *constants[agent]],
                              agent / "icinga.log"))
        daemons.append(Daemon(["icinga2", "daemon", "-c", str(master / "main.conf"), *constants[master]],
                              master / "icinga.log"))

        def warning_recorded():
            found = results(spool).get("laozhang-balance production")
            return found if found and found[0] == "WARNING" else None

        state, output, perf = wait_for(warning_recorded, 180, "the agent's result recorded on the master")
    finally:
        for daemon in reversed(daemons):
            daemon.stop()
        api.close()
    assert output.startswith("LAOZHANG_BALANCE WARNING - 15.00 USD left (account demo_user), below the warning "
                             "threshold of 20 USD")
    assert "remaining_usd=15.000000;20:;@~:0" in perf
    assert api.seen and api.seen[0]["headers"]["Authorization"] == TOKEN
    # the agent got the command through the global zone, not from its own files
    assert list((agent / "data").rglob("global-templates/**/command.conf"))
    # the agent ran the check as that user: the forecast's state file it wrote is that user's
    assert (agent / "state.json").owner() == user


SPEEDUP = 150  # Icinga's 2-second interval is a 5-minute one for the check


def clock_wrapper(base, start):
    """A PluginContribDir whose check_laozhang_balance runs the installed check under faketime, its clock
    running SPEEDUP times faster from `start` (unix time) for every run alike, so that Icinga's 2-second
    interval spans 5 minutes of the check's history."""
    path = Path(base) / "plugins-fast-clock"
    path.mkdir()
    wrapper = path / "check_laozhang_balance"
    wrapper.write_text('''#!/bin/sh
now=$(%(date)s +%%s)
export TZ=UTC
exec %(faketime)s -f "@$(%(date)s -u -d @$(( %(start)d + (now - %(start)d) * %(speedup)d )) '+%%Y-%%m-%%d %%H:%%M:%%S')" \\
    %(script)s "$@"
''' % {"start": start, "speedup": SPEEDUP, "script": SCRIPT, "date": shutil.which("date"),
       "faketime": shutil.which("faketime")})
    wrapper.chmod(0o755)
    return path


class Spending:
    """The API's answer at the faked time of the request: 1 USD an hour, ten times that from `burst` seconds on."""

    def __init__(self, start, burst):
        self.start, self.burst = start, burst

    def __call__(self, handler):
        elapsed = (time.time() - self.start) * SPEEDUP
        used = elapsed / 3600 + max(0, elapsed - self.burst) * 9 / 3600
        Answer(body=account(quota=int((1000 - used) * 500000), used_quota=int((100 + used) * 500000)))(handler)


def test_icinga_runs_the_spend_alert_through_a_burst(monitoring_home, token_file):
    """The command's spend variables in a live Icinga 2: OK while the spending is steady, WARNING then CRITICAL
    once a burst at ten times the rate starts, as the daemon records it."""
    base, user = monitoring_home.path, monitoring_home.user
    start = int(time.time())
    api = ApiServer()
    api.behave(Spending(start, burst=75 * 60))
    spool, main = single_node(base, clock_wrapper(base, start), '''  vars.laozhang_accounts["production"] = {
    laozhang_balance_url = "%s"
    laozhang_balance_token_file = "%s"
    laozhang_balance_state_file = "%s/state-spend.json"
    laozhang_balance_warning_spend = 50
    laozhang_balance_critical_spend = 100
  }''' % (api.url, token_file, base))
    timeline = []

    def critical_recorded():
        state, output, perf = results(spool).get("laozhang-balance production", ("", "", ""))
        if output and (not timeline or timeline[-1][1] != output.strip()):
            timeline.append((state, output.strip(), perf))
        return timeline if state == "CRITICAL" else None

    constants = icinga_constants(base, user)
    monitoring_home.hand_over()
    daemon = Daemon(["icinga2", "daemon", "-c", str(main), *constants], base / "icinga.log")
    try:
        wait_for(critical_recorded, 180, "Icinga recording the burst as CRITICAL")
    finally:
        daemon.stop()
        api.close()
    states = [state for state, _, _ in timeline]
    print("\n".join("%s | %s" % (output, perf) for _, output, perf in timeline))
    # steady spending first: OK, with the rate in the performance data once it is known
    steady = [perf for state, _, perf in timeline if state == "OK" and "spend_usd_per_day=" in perf]
    assert steady and all(re.search(r"spend_usd_per_day=2[0-9]\.\d+;~:50;~:100", perf) for perf in steady[:1])
    assert states.index("WARNING") < states.index("CRITICAL")
    assert "OK" not in states[states.index("WARNING"):]
    warning = timeline[states.index("WARNING")][1]
    assert re.search(r"spending \d+\.\d\d USD/day over the last 60 min, above the warning threshold of 50 USD/day$",
                     warning), warning
    assert re.search(r"spending \d+\.\d\d USD/day over the last 60 min, above the critical threshold of 100 "
                     r"USD/day$", timeline[-1][1])
    assert "invalid perfdata" not in (base / "icinga.log").read_text().lower()
