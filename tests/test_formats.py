"""--format json and prometheus, and the Sensu and Prometheus definitions in contrib/."""

import configparser
import json
import subprocess

import pytest
import yaml

from conftest import TOKEN, run_check
from daemons import CONTRIB, need
from fake_api import account



@pytest.fixture
def promtool():
    return need("promtool", "prometheus")


@pytest.mark.parametrize("quota, code, state", [(30000000, 0, "OK"), (7500000, 1, "WARNING"), (1000000, 2, "CRITICAL")])
def test_json_carries_state_values_and_thresholds_with_unchanged_exit_codes(api, quota, code, state):
    api.answer(body=account(quota=quota))
    run = run_check("--url", api.url, "-w", "20", "-c", "5", "--format", "json")
    assert run.code == code
    document = json.loads(run.stdout)
    assert document["state"] == state and document["state_code"] == code
    assert document["remaining_usd"] == quota / 500000
    assert (document["quota"], document["used_quota"], document["request_count"]) == (quota, 10027091, 339)
    assert document["thresholds"] == {"warning": "20:", "critical": "5:", "warning_days": None, "critical_days": None}
    assert document["forecast"] is None and document["account"] == "demo_user"
    assert run.stdout.count("\n") == 1


def test_json_on_unknown_is_still_json(api):
    api.answer(401, {"success": False, "message": "Unauthorized"})
    for verbosity in ([], ["-vvv"]):
        run = run_check("--url", api.url, "--format", "json", *verbosity)
        assert run.code == 3
        document = json.loads(run.stdout)
        assert document["state"] == "UNKNOWN" and document["remaining_usd"] is None
        assert document["reason"].startswith("authentication refused (HTTP 401")


def test_json_on_a_usage_error(api):
    run = run_check("--format", "json", "-w", "abc")
    assert run.code == 3
    assert json.loads(run.stdout)["reason"].startswith("argument -w/--warning: 'abc' is neither")


def test_json_on_a_timeout_is_still_json(api):
    api.behave(lambda handler: handler.server.closing.wait(10))
    run = run_check("--url", api.url, "--format", "json", "-t", "1")
    assert run.code == 3
    assert json.loads(run.stdout)["reason"].startswith("no complete answer from")


def test_json_carries_the_forecast(api, tmp_path):
    state = str(tmp_path / "state.json")
    api.answer(body=account(quota=30 * 500000, used_quota=0))
    run_check("--url", api.url, "--state-file", state, faketime="2026-11-01 00:00:00")
    api.answer(body=account(quota=20 * 500000, used_quota=10 * 500000))
    run = run_check("--url", api.url, "--state-file", state, "--format", "json", "--warning-days", "3",
                    faketime="2026-11-02 00:00:00")
    document = json.loads(run.stdout)
    assert run.code == 1 and document["thresholds"]["warning_days"] == "3:"
    assert abs(document["forecast"]["usd_per_day"] - 10) < 0.001
    assert abs(document["forecast"]["days_left"] - 2) < 0.001


def test_json_forecast_is_rounded_as_the_performance_data_shows_it(api, tmp_path):
    state = str(tmp_path / "state.json")
    api.answer(body=account(quota=30 * 500000, used_quota=0))
    run_check("--url", api.url, "--state-file", state, faketime="2026-11-01 00:00:00")
    api.answer(body=account(quota=29 * 500000, used_quota=500000))
    run = run_check("--url", api.url, "--state-file", state, "--format", "json", faketime="2026-11-01 07:00:00")
    document = json.loads(run.stdout)
    # 1 USD in 7 hours is 3.428571... USD a day; 29 USD last 8.458333... days
    assert document["forecast"] == {"usd_per_day": 3.428571, "days_left": 8.45}
    assert document["account"] == "demo_user"
    perf = run_check("--url", api.url, "--state-file", state, faketime="2026-11-01 07:00:00").perf
    assert (perf["usd_per_day"], perf["days_left"]) == ("3.428571", "8.45")


def _promtool_metrics(promtool, text):
    return subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)


def test_prometheus_output_passes_promtool(api, promtool):
    api.answer(body=account(quota=7500000))
    run = run_check("--url", api.url, "-w", "20", "--format", "prometheus")
    assert run.code == 1
    checked = _promtool_metrics(promtool, run.stdout)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    server = "127.0.0.1:%d" % api.port
    labels = '{server="%s",account="demo_user"}' % server
    for line in ("laozhang_balance_remaining_usd%s 15" % labels, "laozhang_balance_quota%s 7500000" % labels,
                 "laozhang_balance_used_quota_total%s 10027091" % labels,
                 "laozhang_balance_requests_total%s 339" % labels, "laozhang_balance_check_state%s 1" % labels,
                 "laozhang_balance_fetch_success%s 1" % labels, "# TYPE laozhang_balance_requests_total counter",
                 "# TYPE laozhang_balance_remaining_usd gauge"):
        assert line in run.stdout.splitlines(), line
    assert TOKEN not in run.stdout


def test_prometheus_output_on_unknown(api, promtool):
    api.answer(500, {"success": False})
    run = run_check("--url", api.url, "--format", "prometheus")
    assert run.code == 3
    assert _promtool_metrics(promtool, run.stdout).returncode == 0
    assert 'laozhang_balance_fetch_success{server="127.0.0.1:%d",account="unknown"} 0' % api.port in run.stdout
    assert "laozhang_balance_remaining_usd" not in run.stdout


def test_alerting_rules_pass_promtool(promtool):
    checked = subprocess.run([promtool, "check", "rules", str(CONTRIB / "prometheus" / "laozhang-balance-alerts.yml")],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 5 rules found" in checked.stdout


def test_systemd_units_write_the_textfile_atomically_every_15_minutes():
    service = configparser.ConfigParser(interpolation=None, strict=False)
    service.read(CONTRIB / "prometheus" / "laozhang-balance.service")
    command = service["Service"]["ExecStart"]
    assert "--format prometheus" in command and "--token-file" in command and " mv " in command
    assert service["Service"]["SuccessExitStatus"] == "1 2 3"
    timer = configparser.ConfigParser(interpolation=None)
    timer.read(CONTRIB / "prometheus" / "laozhang-balance.timer")
    assert timer["Timer"]["OnUnitActiveSec"] == "15min"


def test_sensu_definitions_have_the_required_fields():
    documents = list(yaml.safe_load_all((CONTRIB / "sensu" / "laozhang-balance.yml").read_text()))
    by_type = {d["type"]: d for d in documents}
    assert set(by_type) == {"Secret", "Entity", "CheckConfig"}
    check = by_type["CheckConfig"]
    assert check["api_version"] == "core/v2" and check["metadata"]["name"]
    spec = check["spec"]
    assert spec["command"].startswith("check_laozhang_balance ") and "token" not in spec["command"].split("--")[0]
    assert "--token" not in spec["command"]
    assert spec["output_metric_format"] == "nagios_perfdata"
    assert spec["round_robin"] is True and spec["subscriptions"]
    assert spec["proxy_entity_name"] == by_type["Entity"]["metadata"]["name"]
    assert by_type["Entity"]["spec"]["entity_class"] == "proxy"
    assert 600 <= spec["interval"] <= 900 and spec["timeout"] > 10
    (secret,) = spec["secrets"]
    assert secret["name"] == "LAOZHANG_ACCESS_TOKEN" and secret["secret"] == by_type["Secret"]["metadata"]["name"]
    assert by_type["Secret"]["api_version"] == "secrets/v1"
