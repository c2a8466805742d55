"""Spending rates from recorded samples: the long-window forecast and the short-window spend.

A sample is (unix time, quota, used_quota). Rates come from used_quota alone: a top-up raises
quota but not used_quota, so it can neither distort nor hide what is being spent.
"""

from decimal import Decimal

DEFAULT_WINDOW_HOURS = 72
DEFAULT_SPEND_MINUTES = 60
# Checks due every N minutes start a little early or late: the sample of
# one spend window ago may be seconds older than the window.
SPEND_SLACK = 60
_DAY = 86400


# Plain classes: a namedtuple costs every run more to define than a forecast costs to make.
class Forecast:
    """Spending in USD per day and days until the balance is gone (0 when it already is)."""

    __slots__ = ("usd_per_day", "days_left")

    def __init__(self, usd_per_day, days_left):
        self.usd_per_day, self.days_left = usd_per_day, days_left


class Spend:
    """Spending in USD per day over `minutes` of the spend window, the forecast window's average
    (None until it is known) and the rate as a multiple of it."""

    __slots__ = ("usd_per_day", "minutes", "baseline", "ratio")

    def __init__(self, usd_per_day, minutes, baseline, ratio):
        self.usd_per_day, self.minutes, self.baseline, self.ratio = usd_per_day, minutes, baseline, ratio


def minimum_span(window):
    """How much history a forecast needs: six hours, or half the window if that is shorter."""
    return min(6 * 3600, window / 2)


def minimum_spend_span(spend_window):
    """Ten minutes, or half a shorter window: below that one long request's billing would look like a burst."""
    return min(600, spend_window / 2)


def _within(samples, seconds):
    newest = samples[-1][0]
    return [s for s in samples if s[0] >= newest - seconds]


def estimate(samples, quota, quota_per_usd, window):
    """(Forecast, None), or (None, why there is none)."""
    samples = _within(samples, window)
    first, last = samples[0], samples[-1]
    span = last[0] - first[0]
    needed = minimum_span(window)
    if span < needed:
        return None, "no forecast yet: %.1f h of history, %.1f h needed" % (span / 3600, needed / 3600)
    spent = Decimal(last[2] - first[2])
    if spent <= 0:
        return None, "no forecast: nothing spent in the last %.1f h" % (span / 3600)
    per_day = spent * _DAY / Decimal(span)
    days_left = max(Decimal(quota), Decimal(0)) / per_day
    return Forecast(usd_per_day=per_day / Decimal(quota_per_usd), days_left=days_left), None


def spend(samples, spend_window, quota_per_usd, forecast):
    """(Spend, None), or (None, why the rate is not yet known); `forecast` gives the baseline, if any."""
    recent = _within(samples, spend_window + SPEND_SLACK)
    first, last = recent[0], recent[-1]
    span = last[0] - first[0]
    needed = minimum_spend_span(spend_window)
    if span < needed:
        return None, ("spend rate not yet known: %.1f min of history in the last %s min, %s min needed"
                      % (span / 60, format(spend_window / 60, "g"), format(needed / 60, "g")))
    per_day = Decimal(last[2] - first[2]) * _DAY / Decimal(span) / Decimal(quota_per_usd)
    baseline = forecast.usd_per_day if forecast else None
    ratio = per_day / baseline if baseline else None
    return Spend(usd_per_day=per_day, minutes=span / 60, baseline=baseline, ratio=ratio), None
