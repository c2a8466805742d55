"""The spending rate from recorded samples, and how long the balance lasts at that rate.

A sample is (unix time, quota, used_quota). The rate comes from used_quota alone: a top-up
raises quota but not used_quota, so it cannot distort what is being spent.
"""

from collections import namedtuple
from decimal import Decimal

DEFAULT_WINDOW_HOURS = 72
# Samples closer together than window/_MAX_SAMPLES replace each other,
# which bounds the state file at a few hundred samples whatever the
# check interval.
_MAX_SAMPLES = 288
_DAY = 86400

Forecast = namedtuple("Forecast", "usd_per_day days_left")
Forecast.__doc__ = "Spending in USD per day and days until the balance is gone (0 when it already is)."


def record(samples, now, quota, used_quota, window):
    """`samples` with (now, quota, used_quota) added, and why history restarted, if it did.

    Samples from the future (the clock went back) are dropped; a used_quota
    below the last one (an administrator's reset) starts the history afresh;
    samples older than the window are pruned.
    """
    kept = [s for s in samples if s[0] <= now]
    note = None
    if len(kept) < len(samples):
        note = "dropped %d samples from the future: the clock went back" % (len(samples) - len(kept))
    if kept and used_quota < kept[-1][2]:
        kept = []
        note = "used quota went down (a reset?): the spending history starts afresh"
    kept = [s for s in kept if s[0] >= now - window]
    if len(kept) >= 2 and now - kept[-1][0] < window / _MAX_SAMPLES:
        kept.pop()
    kept.append((now, quota, used_quota))
    return kept, note


def minimum_span(window):
    """How much history a forecast needs: six hours, or half the window if that is shorter."""
    return min(6 * 3600, window / 2)


def estimate(samples, quota, quota_per_usd, window):
    """(Forecast, None), or (None, why there is none)."""
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
