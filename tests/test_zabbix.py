"""contrib/zabbix/ proven by a real Zabbix 6.0 server from Debian 12's packages.

The shipped template is imported unchanged through the API and linked to a host whose agent, running
as the zabbix user, has the contrib UserParameter. The fake API is then driven through every state;
item values, item states, trigger states and open problems are read back through the API after each.
The timeline goes to timeline.txt beside the daemons' logs, to stdout (pytest -s) and into any failure.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import SCRIPT, SCRIPT_VARIABLE, TOKEN, free_port
from daemons import CONTRIB, ROOT, can_run
from fake_api import account
from key_servers import KEY, Gateway, Key
from zabbix_server import ZabbixAgent, ZabbixServer
from zabbix_timeline import Timeline, matches

TEMPLATE = CONTRIB / "zabbix" / "zbx_laozhang_balance_template.yaml"
PARAMS = CONTRIB / "zabbix" / "laozhang_balance.conf"
INSTALLED = "/usr/lib/nagios/plugins/check_laozhang_balance"
STATE_HOME = "/var/lib/check_laozhang_balance"  # the UserParameter's XDG_STATE_HOME
SERVER_TIMEOUT = 4  # the server's Timeout for agent checks (Debian's zabbix_server.conf says 4)
CHECK_TIMEOUT = 2  # {$LAOZHANG.TIMEOUT}: the check's -t, below the server's Timeout
SLOW_CHECK_TIMEOUT = 8  # a check allowed to outlast the server's Timeout
AGENT_TIMEOUT = 12  # above both, so that the agent itself never cuts the check short
NODATA = "30s"  # the least period nodata() is meant for
USD = 500000  # quota units


def test_every_uuid_is_a_distinct_version_4_uuid():
    """Zabbix refuses to import anything else ("UUIDv4 is expected")."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            found.extend(value for key, value in node.items() if key == "uuid")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    text = TEMPLATE.read_text()
    walk(yaml.safe_load(text))
    assert found and len(found) == text.count("uuid:")
    for text in found:
        parsed = uuid.UUID(text)
        assert parsed.hex == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122, text
    assert len(set(found)) == len(found)


def check_under_test(home):
    """The check under test where the zabbix user can run it (CI's Debian run: the package's).

    Else (a venv under /root, which zabbix cannot enter) this tree, installed into a venv in `home`
    on Debian's python3-nagiosplugin and python3-requests, as the package would run it.
    """
    if can_run("zabbix", SCRIPT):
        return SCRIPT
    if os.environ.get(SCRIPT_VARIABLE):
        pytest.fail("the zabbix user cannot run %s" % SCRIPT)
    venv = home / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "--no-deps", "--disable-pip-version-check", str(ROOT)],
                   check=True, timeout=600, capture_output=True)
    return venv / "bin/check_laozhang_balance"


@pytest.fixture
def zabbix(tmp_path, api):
    """Server, API and an agent with the contrib UserParameter; the check installed where zabbix can run it."""
    stack = []
    # The zabbix user must reach the check and its interpreter: not under /root, not in tmp_path.
    home = Path(tempfile.mkdtemp(prefix="zabbix-agent-"))
    os.chmod(home, 0o755)
    try:
        check = home / "plugins" / "check_laozhang_balance"  # a link the test can take away
        check.parent.mkdir()
        check.symlink_to(check_under_test(home))
        token = home / "laozhang.token"
        token.write_text(TOKEN + "\n")
        shutil.chown(token, "root", "zabbix")
        token.chmod(0o640)
        params = home / "laozhang_balance.conf"
        state = home / "state"
        state.mkdir(mode=0o700)
        shutil.chown(state, "zabbix", "zabbix")
        params.write_text(PARAMS.read_text().replace(INSTALLED, str(check)).replace(STATE_HOME, str(state)))
        server = ZabbixServer(tmp_path, SERVER_TIMEOUT)
        stack.append(server)
        agent = ZabbixAgent(home, "laozhang-test", params, AGENT_TIMEOUT)
        stack.append(agent)
        yield server, agent, check, token, state
    finally:
        for part in reversed(stack):
            part.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_template_in_a_real_zabbix_server_through_every_state(zabbix, api, tmp_path):
    server, agent, check, token, state = zabbix
    zbx = server.api
    assert zbx("configuration.import", format="yaml", source=TEMPLATE.read_text(), rules={
        part: {"createMissing": True} for part in ("groups", "templates", "items", "triggers")})
    (template,) = zbx("template.get", filter={"host": "LaoZhang balance"}, output=["templateid"])
    (group,) = zbx("hostgroup.get", filter={"name": "Linux servers"}, output=["groupid"])
    macros = {"{$LAOZHANG.TOKEN_FILE}": str(token), "{$LAOZHANG.URL}": api.url,
              "{$LAOZHANG.TIMEOUT}": str(CHECK_TIMEOUT), "{$LAOZHANG.NODATA}": NODATA}
    hostid = zbx("host.create", host="laozhang-test", groups=[group], templates=[template],
                 macros=[{"macro": k, "value": v} for k, v in macros.items()],
                 interfaces=[{"type": 1, "main": 1, "useip": 1, "ip": "127.0.0.1", "dns": "",
                              "port": str(agent.port)}])["hostids"][0]
    (master,) = zbx("item.get", hostids=hostid, filter={"type": 0}, output=["itemid"])
    timeline = Timeline(zbx, hostid, master["itemid"], tmp_path / "timeline.txt")

    def macro(name, value):
        (found,) = zbx("usermacro.get", hostids=hostid, filter={"macro": name}, output=["hostmacroid"])
        zbx("usermacro.update", hostmacroid=found["hostmacroid"], value=value)

    low = "LaoZhang balance low: 15 USD left (below 20 USD)"
    very_low = "LaoZhang balance very low: 2 USD left (below 5 USD)"
    used_up = "LaoZhang balance used up: 0 USD left"
    fast = re.compile(r"LaoZhang balance spending fast: 59\.\d+ USD/day \(above 50 USD/day\)")
    very_fast = re.compile(r"LaoZhang balance spending very fast: 239\.\d+ USD/day \(above 200 USD/day\)")
    unknown = "LaoZhang balance check cannot read the balance: "  # and the status text

    api.answer(body=account(quota=30 * USD))
    timeline.reach("OK: 30 USD", {"state_code": "0", "state": "OK", "remaining_usd": "30",
                                  "status": "30.00 USD left (account demo_user)"}, [])
    api.answer(body=account(quota=15 * USD))
    timeline.reach("WARNING: 15 USD", {"state_code": "1", "state": "WARNING", "remaining_usd": "15",
                                       "status": "15.00 USD left (account demo_user), below the warning "
                                                 "threshold of 20 USD"}, [low])
    api.answer(body=account(quota=2 * USD))
    timeline.reach("HIGH: 2 USD", {"state_code": "2", "state": "CRITICAL", "remaining_usd": "2"},
                   [low, very_low])
    api.answer(body=account(quota=0))
    timeline.reach("CRITICAL: 0 USD", {"state_code": "2", "state": "CRITICAL", "remaining_usd": "0"},
                   [low, very_low, used_up])
    api.answer(body=account(quota=30 * USD))
    timeline.reach("OK again: 30 USD", {"state_code": "0", "remaining_usd": "30"}, [])

    # The spend rate needs history 10 minutes deep: the check's own history, moved back in time.
    def spend(added, label, values, problems):
        (history,) = (state / "check_laozhang_balance").glob("*.json")
        kept = json.loads(history.read_text())
        used = kept["samples"][-1][2]
        kept["samples"] = [[time.time() - 1800, 30 * USD, used]]
        history.write_text(json.dumps(kept))
        api.answer(body=account(quota=30 * USD, used_quota=used + added))
        timeline.reach(label, values, problems)

    # 1.25 USD in 30 minutes is 60 USD a day.
    spend(USD * 5 // 4, "spending fast: 60 USD/day", {"state_code": "1", "state": "WARNING", "status": re.compile(
        r"30\.00 USD left .*spending 59\.\d\d USD/day over the last 60 min, above the warning threshold of 50 "
        r"USD/day"), "spend_usd_per_day": re.compile(r"59\.\d+")}, [fast])
    spend(5 * USD, "spending very fast: 240 USD/day", {"state_code": "2", "state": "CRITICAL", "status": re.compile(
        r".*spending 239\.\d\d USD/day over the last 60 min, above the critical threshold of 200 USD/day"),
        "spend_usd_per_day": re.compile(r"239\.\d+")}, [fast, very_fast])
    spend(0, "spending stopped: 0 USD/day", {"state_code": "0", "spend_usd_per_day": "0"}, [])

    api.answer(401, {"success": False, "message": "Unauthorized"})
    refused = re.compile(r"authentication refused \(HTTP 401, API says 'Unauthorized'\).*")
    unknown_refused = re.compile(re.escape(unknown) + refused.pattern)
    timeline.reach("UNKNOWN: token refused", {"state_code": "3", "state": "UNKNOWN", "status": refused,
                                              "remaining_usd": "30"}, [unknown_refused])
    api.answer(502, {"success": False, "message": "bad gateway"})
    timeline.reach("UNKNOWN: API failing (HTTP 502)", {"state_code": "3", "status": re.compile(
        r"the API is failing \(HTTP 502.*")}, [unknown_refused])
    macro("{$LAOZHANG.URL}", "http://127.0.0.1:%d/api/user/self" % free_port())
    timeline.reach("UNKNOWN: API down (nothing listens)", {"state_code": "3", "status": re.compile(
        r"connection to 127\.0\.0\.1:\d+ refused: nothing listens there.*")}, [unknown_refused])
    macro("{$LAOZHANG.URL}", api.url)
    api.behave(lambda handler: handler.server.closing.wait(30))
    timeline.reach("UNKNOWN: API silent, the check's -t ends it", {"state_code": "3", "status": re.compile(
        r"no complete answer from .* within %d s.*" % CHECK_TIMEOUT)}, [unknown_refused])
    api.answer(body=account(quota=30 * USD))
    timeline.reach("OK again: 30 USD", {"state_code": "0", "remaining_usd": "30"}, [])

    moved = check.with_name("moved-away")
    check.rename(moved)  # the link: whatever it points to stays
    not_found = re.compile(r"sh: 1: %s: not found" % re.escape(str(check)))
    broken = re.compile("the agent did not answer with the check's JSON: " + not_found.pattern)
    unknown_broken = re.compile(re.escape(unknown) + broken.pattern)
    timeline.reach("check missing: the agent answers with the shell's message", {
        "raw": not_found, "state_code": "3", "state": "UNKNOWN", "status": broken, "remaining_usd": "30"},
        [unknown_broken])
    moved.rename(check)
    timeline.reach("OK again: 30 USD", {"state_code": "0", "remaining_usd": "30"}, [])

    # A check allowed more time than the server's Timeout: the server gives up, nothing arrives.
    macro("{$LAOZHANG.TIMEOUT}", str(SLOW_CHECK_TIMEOUT))
    api.behave(lambda handler: handler.server.closing.wait(30))
    nodata = "LaoZhang balance: no check result for %s" % NODATA
    timeline.reach("check slower than the server's Timeout: no data", None, [nodata])
    gave_up = re.findall(r'.*Zabbix agent item "laozhang.balance\[.*" on host "laozhang-test" failed: .*',
                         server.server_log())
    timeline.note("zabbix_server.log, %d such lines, the first: %s" % (len(gave_up), gave_up[0] if gave_up else None))
    assert gave_up and "network error" in gave_up[0], timeline.text()
    macro("{$LAOZHANG.TIMEOUT}", str(CHECK_TIMEOUT))
    api.answer(body=account(quota=30 * USD))
    timeline.reach("OK again: 30 USD", {"state_code": "0", "remaining_usd": "30"}, [])

    # Key mode, the same template with {$LAOZHANG.KEY_FILE} set: a model API key's own quota and expiry.
    key_file = token.with_name("chatbot.key")
    key_file.write_text(KEY + "\n")
    shutil.chown(key_file, "root", "zabbix")
    key_file.chmod(0o640)
    expires_soon = re.compile(r"LaoZhang API key expires soon: 4\.9\d* days left \(below 14\)")
    expired = "LaoZhang API key expired"
    api.behave(Gateway("new-api", key=Key(remain=30 * USD, expires_at=int(time.time()) + 5 * 86400)))
    zbx("usermacro.create", hostid=hostid, macro="{$LAOZHANG.KEY_FILE}", value=str(key_file))
    timeline.reach("key mode: the key expires in 5 days", {
        "state_code": "1", "state": "WARNING", "remaining_usd": "30", "key_days_left": re.compile(r"4\.9\d*"),
        "status": re.compile(r"30\.00 USD left \(key chatbot-prod\), expires .* UTC, below the warning threshold "
                             r"of 14 days")}, [expires_soon])
    api.behave(Gateway("new-api", key=Key(remain=30 * USD, expires_at=int(time.time()) - 86400)))
    timeline.reach("key mode: the key has expired", {"state_code": "2", "key_days_left": re.compile(r"-1\.0\d*")},
                   [expires_soon, expired])
    api.behave(Gateway("new-api", key=Key(remain=30 * USD, expires_at=int(time.time()) + 90 * 86400)))
    timeline.reach("key mode: the key renewed for 90 days", {"state_code": "0", "key_days_left": re.compile(r"89\.9\d*")},
                   [])
    assert KEY not in json.dumps(timeline.snapshot()) and all(
        seen["headers"]["Authorization"] == "Bearer " + KEY for seen in api.seen if seen["path"] == "/api/usage/token")
    (found,) = zbx("usermacro.get", hostids=hostid, filter={"macro": "{$LAOZHANG.KEY_FILE}"}, output=["hostmacroid"])
    zbx("usermacro.delete", [found["hostmacroid"]])
    api.answer(body=account(quota=30 * USD))
    timeline.reach("AccessToken mode again: 30 USD", {"state_code": "0", "remaining_usd": "30"}, [])

    events = zbx("event.get", hostids=hostid, value=1, output=["name", "clock", "r_eventid"], sortfield="eventid")
    resolved = {e["eventid"]: e["clock"] for e in zbx(
        "event.get", eventids=[e["r_eventid"] for e in events], output=["clock"])}
    timeline.events(events, resolved)
    assert [matches(want, e["name"]) for want, e in zip(
        [low, very_low, used_up, fast, very_fast, unknown_refused, unknown_broken, nodata, expires_soon, expired],
        events)] == [True] * 10, timeline.text()
    assert len(events) == 10 and all(e["r_eventid"] in resolved for e in events), timeline.text()
