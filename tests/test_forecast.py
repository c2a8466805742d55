"""The forecast across days: the installed check run under faketime against the test server."""

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from check_laozhang_balance import forecast
from conftest import SCRIPT, TOKEN, run_check
from fake_api import account

DAY = 86400
USD = 500000  # quota units


def day(n, hour=0):
    return "2026-11-%02d %02d:00:00" % (n, hour)


class History:
    """One account seen by the check on successive (faked) days, with its own state file."""

    def __init__(self, api, tmp_path):
        self.api = api
        self.state = tmp_path / "state.json"

    def run(self, when, quota_usd, used_usd, *args):
        self.api.answer(body=account(quota=int(quota_usd * USD), used_quota=int(used_usd * USD)))
        return run_check("--url", self.api.url, "--state-file", str(self.state), *args, faketime=when)


@pytest.fixture
def history(api, tmp_path):
    return History(api, tmp_path)


def test_steady_spending_over_three_days(history):
    lines = [history.run(day(1 + n), 60 - 5 * n, 100 + 5 * n, "-w", "10", "--warning-days", "10",
                         "--critical-days", "3").status for n in range(4)]
    assert lines[0] == ("LAOZHANG_BALANCE OK - 60.00 USD left (account demo_user), no forecast yet: 0.0 h of "
                        "history, 6.0 h needed")
    assert lines[1].startswith("LAOZHANG_BALANCE OK - 55.00 USD left (account demo_user), about 11.0 days at "
                               "5.00 USD/day")
    assert lines[3] == ("LAOZHANG_BALANCE WARNING - 45.00 USD left (account demo_user), about 9.0 days at 5.00 "
                        "USD/day, below the warning threshold of 10 days")


def test_forecast_perfdata(history):
    history.run(day(1), 60, 100)
    run = history.run(day(2), 55, 105, "--warning-days", "10", "--critical-days", "3")
    # faketime stops the clock: the runs are exactly a day apart
    assert run.perf["usd_per_day"] == "5.000000"
    assert run.perf["days_left"] == "11.00;10:;3:"


def test_days_are_rounded_down_like_dollars_so_they_never_contradict_the_threshold(history):
    history.run(day(1), 60, 100)
    run = history.run(day(2), 14.995, 105, "--critical-days", "3")  # 2.999 days at 5 USD a day
    assert run.status == ("LAOZHANG_BALANCE CRITICAL - 14.99 USD left (account demo_user), about 2.9 days at 5.00 "
                          "USD/day, below the critical threshold of 3 days")
    assert run.perf["days_left"] == "2.99;;3:"


def test_no_forecast_perfdata_without_history(history):
    run = history.run(day(1), 60, 100)
    assert "days_left" not in run.perf and "usd_per_day" not in run.perf
    assert run.status == "LAOZHANG_BALANCE OK - 60.00 USD left (account demo_user)"


def test_top_up_does_not_distort_the_rate(history):
    history.run(day(1), 20, 100)
    history.run(day(2), 15, 105)
    run = history.run(day(3), 110, 110, "--warning-days", "10")  # topped up by 100 USD
    assert "about 22.0 days at 5.00 USD/day" in run.status
    assert run.code == 0


def test_reset_of_used_quota_starts_afresh(history):
    history.run(day(1), 60, 100)
    history.run(day(2), 55, 105)
    run = history.run(day(3), 50, 0, "-v", "--warning-days", "10")
    assert "no forecast yet: 0.0 h of history" in run.status
    assert "used quota went down (a reset?): the spending history starts afresh" in run.lines


def test_steep_burn_is_critical_long_before_the_usd_threshold(history):
    history.run(day(1, 0), 100, 0)
    run = history.run(day(1, 12), 70, 30, "-w", "10", "-c", "5", "--warning-days", "5", "--critical-days", "2")
    assert run.code == 2
    assert run.status.startswith("LAOZHANG_BALANCE CRITICAL - 70.00 USD left (account demo_user), about 1.1 days "
                                 "at 60.00 USD/day, below the critical threshold of 2 days")


def test_usd_and_days_both_firing_are_both_named(history):
    history.run(day(1), 30, 0)
    run = history.run(day(2), 8, 22, "-w", "10", "--warning-days", "5")
    assert run.status.endswith("below the warning threshold of 10 USD and below the warning threshold of 5 days")


def test_verbose_says_why_there_is_no_forecast_once(history):
    for asked in ([], ["--warning-days", "3"]):
        run = history.run(day(1), 60, 100, "-v", *asked)
        assert [line for line in run.lines if "no forecast yet" in line] == [
            run.lines[0] if asked else "no forecast yet: 0.0 h of history, 6.0 h needed"]


def test_no_spending_means_no_forecast(history):
    history.run(day(1), 60, 100)
    run = history.run(day(2), 60, 100, "--warning-days", "10")
    assert run.status == ("LAOZHANG_BALANCE OK - 60.00 USD left (account demo_user), no forecast: nothing spent "
                          "in the last 24.0 h")
    assert "days_left" not in run.perf


def test_clock_going_back_drops_future_samples(history):
    history.run(day(1), 60, 100)
    history.run(day(3), 50, 110)
    run = history.run(day(2), 55, 105, "-v", "--warning-days", "10")
    assert "dropped 1 samples from the future: the clock went back" in run.lines
    assert "about 11.0 days at 5.00 USD/day" in run.status
    samples = json.loads(history.state.read_text())["samples"]
    assert [s[2] for s in samples] == [100 * USD, 105 * USD]


def test_damaged_state_file_is_replaced(history):
    history.state.write_text("{not json")
    run = history.run(day(1), 60, 100, "-v", "-w", "70")
    assert run.code == 1
    assert ("the state file %s was damaged and is replaced: the forecast starts afresh" % history.state) in run.lines
    assert json.loads(history.state.read_text())["samples"][0][2] == 100 * USD


@pytest.mark.parametrize("content", ['{"version": 2, "samples": [[1, 2]]}', '[]', '{"version": 2}',
                                     '{"version": 2, "samples": [[NaN, 1, 1]]}'])
def test_wrong_shapes_count_as_damage(history, content):
    history.state.write_text(content)
    run = history.run(day(1), 60, 100, "-v")
    assert run.code == 0
    assert any("was damaged and is replaced" in line for line in run.lines)


@pytest.mark.parametrize("version", [1, 9])
def test_a_file_of_another_version_starts_afresh(history, version):
    # Version 1 recorded no owner: its samples may be another account's.
    history.state.write_text('{"version": %d, "samples": [[1, 2, 3]]}' % version)
    run = history.run(day(1), 60, 100, "-v")
    assert run.code == 0
    assert ("the state file %s was written by another version: the history starts afresh" % history.state
            ) in run.lines
    assert json.loads(history.state.read_text())["version"] == 2


def test_window_prunes_old_samples_and_the_file_stays_small(history):
    for hour in range(0, 24 * 6, 2):
        history.run(day(1 + hour // 24, hour % 24), 1000 - hour, hour, "--forecast-window", "24")
    samples = json.loads(history.state.read_text())["samples"]
    # 24 h of 2-hourly samples, the one exactly 24 h old included: faketime's clock stands still
    assert len(samples) == 13
    assert samples[-1][0] - samples[0][0] <= 24 * 3600
    assert history.state.stat().st_size < 1024


def test_unwritable_state_is_unknown_only_when_days_are_asked_for(history, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = str(blocker / "state.json")
    history.api.answer()
    plain = run_check("--url", history.api.url, "--state-file", path, "-v")
    assert plain.code == 0
    assert any(line.startswith("cannot use the state file %s (Not a directory)" % path) for line in plain.lines)
    asked = run_check("--url", history.api.url, "--state-file", path, "--warning-days", "3")
    assert asked.code == 3
    assert asked.status == ("LAOZHANG_BALANCE UNKNOWN - cannot use the state file %s (Not a directory): give "
                            "--state-file PATH in a place this user can write" % path)


def test_default_state_file_is_per_account_and_server_and_free_of_the_token(api, tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path)}
    run_check("--url", api.url, env=env)
    api.answer(body=account(username="other_user"))
    run_check("--url", api.url, env=env)
    run_check("--url", api.url.replace("127.0.0.1", "localhost"), env=env)
    files = sorted(p for p in (tmp_path / "check_laozhang_balance").iterdir() if p.suffix == ".json")
    assert len(files) == 3
    for path in files:
        assert TOKEN not in path.name and TOKEN not in path.read_text()
        assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_forecast_works_offline_from_response_files(tmp_path):
    state = tmp_path / "state.json"
    for n, (quota, used) in enumerate([(60, 100), (55, 105)]):
        answer = tmp_path / "answer.json"
        answer.write_text(json.dumps(account(quota=quota * USD, used_quota=used * USD)))
        run = run_check("--response-file", str(answer), "--state-file", str(state), "--warning-days", "20",
                        faketime=day(1 + n), token=None)
    assert run.status.startswith("LAOZHANG_BALANCE WARNING - 55.00 USD left (account demo_user), about 11.0 days")


def test_a_held_lock_costs_a_fifth_of_the_deadline_and_only_the_forecast(api, tmp_path):
    import fcntl

    state = tmp_path / "state.json"
    with open(str(state) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for verbosity in ([], ["-vvv"]):
            run = run_check("--url", api.url, "--state-file", str(state), "-t", "5", "-v", *verbosity)
            assert run.code == 0 and run.status.startswith("LAOZHANG_BALANCE OK - ")
            assert "the state file %s stayed locked by another process for 1.0 s (a hung run?)" % state in run.lines
            assert run.seconds < 3
        asked = run_check("--url", api.url, "--state-file", str(state), "-t", "5", "--warning-days", "3")
        assert asked.code == 3
        assert asked.status == ("LAOZHANG_BALANCE UNKNOWN - the state file %s stayed locked by another process for "
                                "1.0 s (a hung run?)" % state)


def test_many_concurrent_runs_share_one_file(api, tmp_path):
    state = tmp_path / "state.json"
    env = dict(os.environ, LAOZHANG_ACCESS_TOKEN=TOKEN)

    def one(_):
        return subprocess.run([SCRIPT, "--url", api.url, "--state-file", str(state), "--forecast-window", "1"],
                              capture_output=True, text=True, env=env, timeout=60)

    with ThreadPoolExecutor(max_workers=16) as pool:
        runs = list(pool.map(one, range(40)))
    assert [r.returncode for r in runs] == [0] * 40
    assert not [r for r in runs if r.stderr or "Traceback" in r.stdout]
    document = json.loads(state.read_text())
    assert document["version"] == 2 and 1 <= len(document["samples"]) <= 40
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# pure logic

def test_estimate_needs_a_span_and_spending():
    assert forecast.estimate([(0, 5, 0), (3600, 5, 10)], 5, 1, 72 * 3600)[0] is None
    result, why = forecast.estimate([(0, 100, 0), (DAY, 90, 10)], 90, 1, 72 * 3600)
    assert why is None and result.usd_per_day == 10 and result.days_left == 9


def test_estimate_of_an_empty_balance_is_zero_days():
    result, _ = forecast.estimate([(0, 10, 0), (DAY, -5, 15)], -5, 1, 72 * 3600)
    assert result.days_left == 0




def test_samples_of_another_account_are_never_used(api, tmp_path):
    """One --state-file copied into two service definitions: account 2 must not inherit account 1's spending."""
    state = tmp_path / "state.json"
    api.answer(body=account(id=1, quota=2000 * USD, used_quota=0))
    run_check("--url", api.url, "--state-file", str(state), faketime=day(1))
    api.answer(body=account(id=2, username="other_user", quota=1000 * USD, used_quota=2400 * USD))
    run = run_check("--url", api.url, "--state-file", str(state), "--critical-days", "3", "-v", faketime=day(1, 7))
    assert run.code == 0
    assert run.status == ("LAOZHANG_BALANCE OK - 1000.00 USD left (account other_user), no forecast yet: 0.0 h of "
                          "history, 6.0 h needed")
    assert ("the state file %s held the history of another account or server: this account's history starts "
            "afresh" % state) in run.lines
    document = json.loads(state.read_text())
    assert document["owner"] == {"server": api.url, "account_id": "2"}
    assert len(document["samples"]) == 1 and TOKEN not in state.read_text()


def test_a_response_file_leaves_the_default_history_alone(tmp_path):
    home = tmp_path / "state-home"
    home.mkdir()
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(account()))
    run = run_check("--response-file", str(answer), "-v", token=None, env={"XDG_STATE_HOME": str(home)})
    assert run.code == 0
    assert "no forecast: --response-file keeps a history only in a --state-file PATH you name" in run.lines
    assert list(home.iterdir()) == []
    asked = run_check("--response-file", str(answer), "--warning-days", "3", token=None,
                      env={"XDG_STATE_HOME": str(home)})
    assert asked.status == ("LAOZHANG_BALANCE UNKNOWN - --warning-days needs a spending history, which "
                            "--response-file keeps only in a --state-file PATH you name (see --help)")
    assert list(home.iterdir()) == []


def test_verbose_says_where_the_history_is_and_how_far_it_reaches(history):
    history.run(day(1, 0), 60, 100)
    history.run(day(1, 3), 59, 101)
    run = history.run(day(1, 6), 58, 102, "-v")
    assert "history: 3 samples over 6.0 h in %s" % history.state in run.lines
