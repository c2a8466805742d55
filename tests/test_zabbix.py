"""contrib/zabbix/ proven by the real Zabbix agent: the UserParameter runs the check and every
JSONPath of the template picks the right value out of what it printed."""

import json
import re
import subprocess

import pytest
import yaml
from jsonpath_ng import parse as jsonpath

from conftest import SCRIPT, TOKEN
from daemons import CONTRIB, need
from fake_api import account

TEMPLATE = CONTRIB / "zabbix" / "zbx_laozhang_balance_template.yaml"
MASTER_KEY = "laozhang.balance[{$LAOZHANG.TOKEN_FILE},{$LAOZHANG.URL}]"


def template():
    return yaml.safe_load(TEMPLATE.read_text())["zabbix_export"]


@pytest.fixture
def agent_test(tmp_path):
    """zabbix_agentd -t KEY with contrib's UserParameter, pointed at the installed check."""
    agent = need("zabbix_agentd", "zabbix-agent")
    params = tmp_path / "laozhang_balance.conf"
    params.write_text((CONTRIB / "zabbix" / "laozhang_balance.conf").read_text()
                      .replace("/usr/lib/nagios/plugins/check_laozhang_balance", SCRIPT))
    conf = tmp_path / "agent.conf"
    conf.write_text("LogType=console\nAllowRoot=1\nTimeout=15\nInclude=%s\nPidFile=%s/agent.pid\n" % (params, tmp_path))
    token = tmp_path / "laozhang.token"
    token.write_text(TOKEN)
    token.chmod(0o600)

    def run(url):
        key = "laozhang.balance[%s,%s]" % (token, url)
        done = subprocess.run([agent, "-c", str(conf), "-t", key], capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "XDG_STATE_HOME": str(tmp_path)})
        assert TOKEN not in done.stdout + done.stderr
        match = re.match(r"^laozhang\.balance\[.*?\]\s+\[t\|(.*)\]\s*$", done.stdout, re.S)
        assert match, done.stdout + done.stderr
        return json.loads(match.group(1))

    return run


def test_userparameter_returns_the_json_and_each_jsonpath_its_value(api, agent_test):
    api.answer(body=account(quota=7500000))
    output = agent_test(api.url)
    assert output["state"] == "OK" and output["state_code"] == 0
    expected = {"state_code": 0, "state": "OK", "status": "15.00 USD left (account demo_user)",
                "remaining_usd": 15, "quota": 7500000, "used_quota": 10027091, "request_count": 339}
    items = {item["key"]: item for item in template()["templates"][0]["items"]}
    dependent = [item for item in items.values() if item.get("type") == "DEPENDENT"]
    assert len(dependent) == len(expected)
    for item in dependent:
        (step,) = item["preprocessing"]
        assert step["type"] == "JSONPATH"
        (path,) = step["parameters"]
        values = [match.value for match in jsonpath(path).find(output)]
        assert values == [expected[item["key"].rsplit(".", 1)[1]]], item["key"]


def test_unknown_still_reaches_zabbix_as_json(agent_test):
    output = agent_test("http://127.0.0.1:9/api/user/self")
    assert output["state"] == "UNKNOWN" and output["state_code"] == 3
    assert output["reason"].startswith("connection to 127.0.0.1:9 refused")
    assert [m.value for m in jsonpath("$.state_code").find(output)] == [3]


def test_without_a_url_the_default_endpoint_is_used(tmp_path, agent_test):
    # no network here: the default endpoint fails by name, which shows the empty $2 left --url out
    output = agent_test("")
    assert output["state_code"] == 3
    assert "api.laozhang.ai" in output["reason"]


def test_template_has_the_structure_of_a_6_0_export():
    export = template()
    assert export["version"] == "6.0"
    (tpl,) = export["templates"]
    assert {"uuid", "template", "name", "groups", "items", "macros"} <= set(tpl)
    assert {g["name"] for g in tpl["groups"]} <= {g["name"] for g in export["groups"]}
    uuids = [tpl["uuid"]] + [i["uuid"] for i in tpl["items"]] + [
        t["uuid"] for i in tpl["items"] for t in i.get("triggers", [])]
    assert all(re.fullmatch(r"[0-9a-f]{32}", u) for u in uuids) and len(set(uuids)) == len(uuids)
    keys = {i["key"] for i in tpl["items"]}
    assert MASTER_KEY in keys
    master = next(i for i in tpl["items"] if i["key"] == MASTER_KEY)
    assert master["delay"] in ("10m", "15m") and master["value_type"] == "TEXT"
    macros = {m["macro"] for m in tpl["macros"]}
    for item in tpl["items"]:
        if item.get("type") == "DEPENDENT":
            assert item["master_item"]["key"] == MASTER_KEY
        for trigger in item.get("triggers", []):
            for used_key in re.findall(r"/LaoZhang balance/([^)]+)\)", trigger["expression"]):
                assert used_key in keys
            assert set(re.findall(r"\{\$[A-Z_.]+\}", trigger["expression"])) <= macros
    assert set(re.findall(r"\{\$[A-Z_.]+\}", MASTER_KEY)) <= macros
    triggers = [t for i in tpl["items"] for t in i.get("triggers", [])]
    assert any("<{$LAOZHANG.USD.WARN}" in t["expression"] for t in triggers)
    assert any(t["expression"].endswith("state_code)=3") for t in triggers)
