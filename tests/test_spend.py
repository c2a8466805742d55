"""The spend-spike alert: the installed check run under faketime against a test server whose spending bursts.

Usual spending is 1 USD an hour (24 USD/day); a burst is ten times that. Checks run every 5
minutes, after a history of hourly checks long enough for the forecast window's average.
"""

import datetime
import json
import re
import shutil

import pytest

from conftest import run_check
from fake_api import ApiServer, account
from key_servers import KEY, Gateway, Key

USD = 500000
START = datetime.datetime(2026, 11, 1)
THRESHOLDS = ("--warning-spend", "50", "--critical-spend", "100")


_NUMBER = re.compile(r"\d+\.\d+")


def reads(line, expected):
    """`line` says `expected`, its decimals within 0.05, so a clock that ticks during a run cannot flip a digit."""
    words, numbers = _NUMBER.split(line), [float(n) for n in _NUMBER.findall(line)]
    expected_words, expected_numbers = _NUMBER.split(expected), [float(n) for n in _NUMBER.findall(expected)]
    return words == expected_words and all(abs(a - b) <= 0.05 for a, b in zip(numbers, expected_numbers))


@pytest.fixture(scope="module")
def server():
    api = ApiServer()
    yield api
    api.close()


class Account:
    """One account checked at chosen minutes, its spending and balance set before each run."""

    def __init__(self, server, state):
        self.server = server
        self.state = state
        self.used = 100.0
        self.balance = 1000.0
        self.minute = 0

    def spend_until(self, minute, usd_per_hour):
        usd = (minute - self.minute) * usd_per_hour / 60
        self.used += usd
        self.balance -= usd
        self.minute = minute

    def check(self, *args):
        self.server.answer(body=account(quota=round(self.balance * USD), used_quota=round(self.used * USD)))
        when = (START + datetime.timedelta(minutes=self.minute)).strftime("%Y-%m-%d %H:%M:%S")
        return run_check("--url", self.server.url, "--state-file", str(self.state), *args, faketime=when)


@pytest.fixture(scope="module")
def seven_steady_hours(server, tmp_path_factory):
    """A state file after hourly checks for six hours and checks every 5 minutes for the seventh."""
    steady = Account(server, tmp_path_factory.mktemp("steady") / "state.json")
    for minute in list(range(0, 360, 60)) + list(range(360, 421, 5)):
        steady.spend_until(minute, 1)
        steady.check()
    return steady


@pytest.fixture
def steady(seven_steady_hours, tmp_path):
    """The seven steady hours, in a state file of this test's own."""
    mine = Account(seven_steady_hours.server, tmp_path / "state.json")
    shutil.copy(seven_steady_hours.state, mine.state)
    mine.used, mine.balance, mine.minute = seven_steady_hours.used, seven_steady_hours.balance, 420
    return mine


def test_steady_spending_stays_ok(steady):
    steady.spend_until(425, 1)
    run = steady.check(*THRESHOLDS, "--warning-spend-ratio", "2", "-v")
    assert run.code == 0
    assert reads(run.status, "LAOZHANG_BALANCE OK - 992.91 USD left (account demo_user), about 41.3 days at 24.00 "
                             "USD/day")
    assert reads(run.lines[-2], "spending 24.00 USD/day over the last 60 min, 1.0 times the 72 h average of 24.00 "
                                "USD/day")
    rate, warning, critical = run.perf["spend_usd_per_day"].split(";")
    assert abs(float(rate) - 24) < 0.01 and (warning, critical) == ("~:50", "~:100")


def test_a_burst_alerts_by_the_second_check(steady):
    states = []
    for minute in (425, 430, 435, 440, 445, 450):
        steady.spend_until(minute, 10)
        states.append(steady.check(*THRESHOLDS))
    # 60-minute rates: 42, 60, 78, 96, 114 and 132 USD/day
    assert [run.code for run in states] == [0, 1, 1, 1, 2, 2]
    assert reads(states[1].status, "LAOZHANG_BALANCE WARNING - 991.33 USD left (account demo_user), about 34.1 days "
                                   "at 29.02 USD/day, spending 60.00 USD/day over the last 60 min, above the warning "
                                   "threshold of 50 USD/day")
    assert reads(states[-1].status, "LAOZHANG_BALANCE CRITICAL - 988.00 USD left (account demo_user), about 25.7 "
                                    "days at 38.40 USD/day, spending 132.00 USD/day over the last 60 min, above the "
                                    "critical threshold of 100 USD/day")


def test_a_burst_alerts_relative_to_the_usual_spending(steady):
    runs = []
    for minute in (425, 430):
        steady.spend_until(minute, 10)
        runs.append(steady.check("--warning-spend-ratio", "2", "--critical-spend-ratio", "4", "-v"))
    assert [run.code for run in runs] == [0, 1]
    assert reads(runs[1].status, "LAOZHANG_BALANCE WARNING - 991.33 USD left (account demo_user), about 34.1 days at "
                                 "29.02 USD/day, spending 60.00 USD/day over the last 60 min, 2.1 times the 72 h "
                                 "average of 29.02 USD/day, above the warning ratio of 2")


def test_a_top_up_during_a_burst_does_not_hide_it(steady):
    steady.spend_until(425, 10)
    steady.check(*THRESHOLDS)
    steady.spend_until(430, 10)
    steady.balance += 500
    run = steady.check(*THRESHOLDS)
    assert run.code == 1
    assert reads(run.status, "LAOZHANG_BALANCE WARNING - 1491.33 USD left (account demo_user), about 51.3 days at "
                             "29.02 USD/day, spending 60.00 USD/day over the last 60 min, above the warning "
                             "threshold of 50 USD/day")


def test_a_reset_of_used_quota_does_not_alert(steady):
    steady.spend_until(425, 10)
    steady.used = 0
    run = steady.check(*THRESHOLDS, "--warning-spend-ratio", "2", "-v")
    assert run.code == 0
    assert "used quota went down (a reset?): the spending history starts afresh" in run.lines
    assert "spend rate not yet known: 0.0 min of history in the last 60 min, 10 min needed" in run.lines
    assert "spend_usd_per_day" not in run.perf


def test_too_little_history_says_so_and_stays_ok(server, tmp_path):
    new = Account(server, tmp_path / "state.json")
    first = new.check("--critical-spend", "1", "-v")
    new.spend_until(5, 100)
    second = new.check("--critical-spend", "1", "-v")
    for run, minutes in ((first, 0), (second, 5)):
        assert run.code == 0
        assert any(reads(line, "spend rate not yet known: %d.0 min of history in the last 60 min, 10 min needed"
                         % minutes) for line in run.lines)
        assert "spend_usd_per_day" not in run.perf
    new.spend_until(11, 100)  # not 10: a run's start-up may make that 9 min 59 s
    assert new.check("--critical-spend", "1").code == 2


def test_json_carries_the_spend(steady):
    steady.spend_until(430, 10)
    document = json.loads(steady.check(*THRESHOLDS, "--warning-spend-ratio", "2", "--format", "json").stdout)
    assert document["state"] == "WARNING"
    assert document["thresholds"]["warning_spend"] == "~:50" and document["thresholds"]["critical_spend"] == "~:100"
    spend = document["spend"]
    assert abs(spend["usd_per_day"] - 60) < 0.05 and spend["window_minutes"] == 60
    assert abs(spend["baseline_usd_per_day"] - 29.02) < 0.01 and abs(spend["ratio"] - 2.067) < 0.005
    assert spend["warning_ratio"] == 2 and spend["critical_ratio"] is None


def test_an_unlimited_key_still_has_its_spending_watched(tmp_path):
    """Key mode: a key without a quota limit has no balance to forecast, and is the costliest to leak."""
    gateway = ApiServer()
    try:
        for when, used_usd in (("2026-11-28 00:00:00", 5), ("2026-11-28 00:15:00", 15)):
            gateway.behave(Gateway("new-api", key=Key(unlimited=True, used=used_usd * USD)))
            run = run_check("--url", gateway.url, "--state-file", str(tmp_path / "state.json"),
                            "--critical-spend", "100", "-v", token=None, env={"LAOZHANG_API_KEY": KEY}, secrets=(KEY,),
                            faketime=when)
    finally:
        gateway.close()
    # 10 USD in 15 minutes
    assert run.code == 2
    assert run.status == ("LAOZHANG_BALANCE CRITICAL - no quota limit, 15.00 USD used (key chatbot-prod), spending "
                          "960.00 USD/day over the last 60 min, above the critical threshold of 100 USD/day")
    assert "no forecast: the key has no quota limit" in run.lines
    assert run.perf["spend_usd_per_day"] == "960.000000;;~:100"
