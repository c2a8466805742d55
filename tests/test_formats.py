"""--format json (Prometheus: test_prometheus.py, Sensu: test_sensu.py)."""

import json

import pytest

from conftest import run_check
from fake_api import account


@pytest.mark.parametrize("quota, code, state", [(30000000, 0, "OK"), (7500000, 1, "WARNING"), (1000000, 2, "CRITICAL")])
def test_json_carries_state_values_and_thresholds_with_unchanged_exit_codes(api, quota, code, state):
    api.answer(body=account(quota=quota))
    run = run_check("--url", api.url, "-w", "20", "-c", "5", "--format", "json")
    assert run.code == code
    document = json.loads(run.stdout)
    assert document["state"] == state and document["state_code"] == code
    assert document["remaining_usd"] == quota / 500000
    assert (document["quota"], document["used_quota"], document["request_count"]) == (quota, 10027091, 339)
    assert document["thresholds"] == {"warning": "20:", "critical": "5:", "warning_days": None, "critical_days": None,
                                      "warning_spend": None, "critical_spend": None}
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

