"""The spend-spike alert: the spending over the short window against absolute and relative thresholds.

A balance threshold fires when the money is nearly gone and the forecast averages days of
spending; this one fires within the spend window when a leaked token or a runaway job bursts.
"""

import nagiosplugin
from nagiosplugin import Critical, Ok, Performance, Result, Warn

from .money import micros
from .thresholds import describe, spec

UNIT = "USD/day"


def _rate(value):
    return format(value, ".2f")


def _compared(spend, settings):
    """'12.0 times the 72 h average of 8.00 USD/day'."""
    return "%.1f times the %s h average of %s USD/day" % (spend.ratio, format(settings.window_hours, "g"),
                                                         _rate(spend.baseline))


def described(spend, settings):
    """-v: the rate, the span it was measured over, and what it is compared with."""
    line = "spending %s USD/day over the last %.0f min" % (_rate(spend.usd_per_day), spend.minutes)
    if spend.ratio is not None:
        return line + ", " + _compared(spend, settings)
    return line + ", not yet compared: the forecast window holds too little history"


class SpendContext(nagiosplugin.Context):
    """The metric spend_usd_per_day against --*-spend ranges and --*-spend-ratio multiples of the baseline."""

    def __init__(self, settings):
        super().__init__("spend")
        self.settings = settings
        self.warning = settings.warning_spend
        self.critical = settings.critical_spend

    def evaluate(self, metric, resource):
        cfg = self.settings
        head = "spending %s USD/day over the last %s min" % (_rate(metric.value), format(cfg.spend_window_minutes, "g"))
        spend = resource.spend
        for rng, ratio, state, level in ((self.critical, cfg.critical_spend_ratio, Critical, "critical"),
                                         (self.warning, cfg.warning_spend_ratio, Warn, "warning")):
            if rng is not None and not rng.match(metric.value):
                return Result(state, "%s, %s" % (head, describe(rng, level, UNIT)), metric)
            if ratio is not None and spend.ratio is not None and spend.ratio > ratio:
                return Result(state, "%s, %s, above the %s ratio of %s" % (
                    head, _compared(spend, cfg), level, format(ratio, "g")), metric)
        return Result(Ok, None, metric)

    def performance(self, metric, resource):
        return Performance(metric.name, micros(metric.value), "",
                           *(spec(rng) if rng is not None else "" for rng in (self.warning, self.critical)))
