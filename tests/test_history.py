"""The history's thinning and the rates drawn from it, as pure functions over thousands of simulated runs.

The installed check is driven under faketime by test_forecast.py and test_spend.py; here the same
functions the check calls are run for a week of one-minute checks, which would take an hour of
faketime runs, with the samples passed through JSON between runs as the state file does.
"""

import datetime
import json

import pytest

from check_laozhang_balance import forecast, history
from conftest import run_check
from fake_api import account

HOUR = 3600
USD = 500000


def simulate(interval, runs, window, spend_window, per_hour=USD):
    """Run the check's history steps `runs` times; yield (time, samples, forecast, spend) after each."""
    samples = []
    for step in range(runs):
        now = 1_800_000_000 + step * interval + (step * 7919 % 13) / 10  # start-up jitter of up to 1.2 s
        used = int((now - 1_800_000_000) * per_hour / HOUR)
        samples = json.loads(json.dumps(samples))
        samples, _ = history.record(samples, now, 10 ** 12 - used, used, window, spend_window + forecast.SPEND_SLACK)
        predicted, _ = forecast.estimate(samples, 10 ** 12 - used, USD, window)
        rate, _ = forecast.spend(samples, spend_window, USD, predicted)
        yield now - 1_800_000_000, samples, predicted, rate


@pytest.mark.parametrize("interval, runs, window, spend_window", [
    (60, 7 * 24 * 60, 72 * HOUR, 60 * 60),  # a week of checks every minute, the default windows
    (10, 6 * 360, 1 * HOUR, 60 * 60),  # six hours of checks every 10 s, a one-hour forecast window
    (300, 14 * 24 * 12, 72 * HOUR, 60 * 60),  # two weeks of Icinga's usual 5-minute interval
    (3, 3 * 1200, 1 * HOUR, 10 * 60),  # three hours of checks every 3 s, the shortest spend window
], ids=["week-at-1min", "1h-window-at-10s", "2weeks-at-5min", "3h-at-3s"])
def test_once_the_forecast_exists_it_never_lapses(interval, runs, window, spend_window):
    needed = forecast.minimum_span(window)
    after = [(t, samples, predicted, rate) for t, samples, predicted, rate in
             simulate(interval, runs, window, spend_window) if t >= needed + interval]
    assert len(after) > runs / 2
    lapsed = [t for t, _, predicted, _ in after if predicted is None]
    assert lapsed == [], "the forecast lapsed at %d runs, first at %.0f s" % (len(lapsed), lapsed[0])
    assert all(abs(p.usd_per_day - 24) < 0.01 for _, _, p, _ in after)  # 1 USD an hour
    assert all(r is not None and abs(r.usd_per_day - 24) < 0.1 for _, _, _, r in after)
    largest = max(len(samples) for _, samples, _, _ in after)
    assert largest <= 144 + 60 + 3, largest
    reach = min(samples[-1][0] - samples[0][0] for t, samples, _, _ in after if t > window)
    assert reach >= window * 0.97, reach


def test_history_is_bounded_and_reaches_across_the_window_at_any_interval():
    for interval in (45, 300, 900, 3600):
        *_, (t, samples, _, _) = simulate(interval, 2 * 72 * HOUR // interval + 10, 72 * HOUR, 3600)
        assert len(samples) <= 207, (interval, len(samples))
        assert samples[-1][0] - samples[0][0] >= 72 * HOUR - max(2 * interval, 72 * HOUR / 72), interval


def test_spend_needs_ten_minutes_of_history_inside_its_window():
    samples = [(0.0, 100, 0), (300.0, 90, 10)]
    rate, why = forecast.spend(samples, 3600, 1, None)
    assert rate is None and why == "spend rate not yet known: 5.0 min of history in the last 60 min, 10 min needed"
    rate, why = forecast.spend(samples + [(600.0, 80, 20)], 3600, 1, None)
    assert why is None and rate.usd_per_day == 2880 and rate.ratio is None


def test_spend_uses_only_the_window_and_compares_with_the_forecast():
    # Spending 1 unit an hour for a day, then 10 an hour for the last hour.
    samples = [(h * HOUR, 0, h) for h in range(24)] + [(24 * HOUR, 0, 33)]
    predicted, _ = forecast.estimate(samples, 1000, 1, 72 * HOUR)
    rate, _ = forecast.spend(samples, 3600, 1, predicted)
    assert rate.usd_per_day == 240 and rate.minutes == 60
    assert rate.baseline == predicted.usd_per_day == 33
    assert abs(float(rate.ratio) - 240 / 33) < 1e-9


def test_a_reset_starts_the_spend_afresh_instead_of_a_negative_rate():
    samples, _ = history.record([(0.0, 0, 500), (600.0, 0, 600)], 1200.0, 0, 5, 72 * HOUR, 3660)
    assert samples == [(1200.0, 0, 5)]
    assert forecast.spend(samples, 3600, 1, None)[0] is None


def test_the_installed_check_keeps_its_forecast_at_a_12_second_interval(api, tmp_path):
    """The same under faketime with the installed check: a one-hour window, a run every 12 s for 66 min.

    12 s is below the old spacing of window/288 (12.5 s), at which the history used to collapse to
    its first and latest sample and the forecast lapsed when the first one left the window (minute 60).
    """
    state = tmp_path / "state.json"
    start = datetime.datetime(2026, 11, 1)
    seen = []
    for step in range(66 * 5 + 1):
        used = step * 12 * USD // HOUR  # 1 USD an hour
        api.answer(body=account(quota=1000 * USD - used, used_quota=used))
        when = (start + datetime.timedelta(seconds=12 * step)).strftime("%Y-%m-%d %H:%M:%S")
        run = run_check("--url", api.url, "--state-file", str(state), "--forecast-window", "1", "--warning-days", "1",
                        faketime=when)
        seen.append((step * 12, run))
    after = [(t, run) for t, run in seen if t >= 30 * 60]
    lapsed = [(t, run.status) for t, run in after if "about 41.6 days at 24.00 USD/day" not in run.status]
    assert lapsed == [], lapsed[:3]
    assert len(after) == 181
    assert len(json.loads(state.read_text())["samples"]) <= 64
