"""Thresholds in USD (and in days, for the forecast): parsing, converting, describing."""

import re
from decimal import Decimal

from nagiosplugin import Range

from .money import plain
from .safe_text import quoted

# "A balance at or below zero is CRITICAL": a Nagios range that alerts
# inside [-inf, 0], because "below 0" (the range "0:") would let 0 pass.
NOTHING_LEFT = "@~:0"

_AMOUNT = {"USD": "a USD amount", "days": "a number of days", "USD/day": "a spending rate in USD per day"}
# Beyond any balance or forecast; bigger numbers would only lengthen the output.
_LARGEST = Decimal(10) ** 15
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse(text, unit="USD", above=False):
    """Range for a `-w`/`-c` value, or None for an empty one.

    A plain number N means "alert below N" (the Nagios range "N:"), except
    that a plain 0 means "at or below 0": an account at 0 can serve no
    requests, and whoever writes `-c 0` means "when it is empty", not a
    threshold weaker than the default. A value with ":", "@" or "~" is full
    Nagios range syntax ("0:" still alerts only below 0). With `above`
    (spending rates) a plain N means "alert above N" ("~:N"). Empty is what a
    monitoring macro that is not set gives (`-w '$ARG1$'`): no threshold,
    as if the option were left out. Raises ValueError with a sentence for
    the user.
    """
    nagios = text.strip()
    if not nagios:
        return None
    # Not a regular expression: compiling one costs more than the whole parse.
    if not any(mark in nagios for mark in ":@~"):
        if above:
            nagios = "~:" + nagios
        else:
            nagios = NOTHING_LEFT if _NUMBER.match(nagios) and float(nagios) == 0 else nagios + ":"
    start, sep, end = nagios[nagios.startswith("@"):].rpartition(":")
    if not (start or end) or not all(atom in allowed or _NUMBER.match(atom)
               for atom, allowed in ((start, ("", "~")), (end, ("",)))) or ":" in start:
        raise ValueError("%s is neither %s nor a Nagios range" % (quoted(text), _AMOUNT[unit]))
    if any(_NUMBER.match(atom) and abs(Decimal(atom)) >= _LARGEST for atom in (start, end)):
        raise ValueError("%s is beyond the largest threshold this check takes, 10^15 %s" % (quoted(text), unit))
    try:
        return Range(nagios)
    except ValueError:
        raise ValueError("%s is an empty range: its start is above its end" % quoted(text)) from None


def _bound(value, factor):
    return plain(Decimal(str(value)) * factor)


def spec(rng, factor=1):
    """Nagios range text of `rng`, its bounds multiplied by `factor`.

    nagiosplugin's own str() drops a zero start, so "0:" (alert below 0)
    would print as "" (no threshold at all) in the performance data.
    """
    start = "~" if rng.start == float("-inf") else _bound(rng.start, factor)
    end = "" if rng.end == float("inf") else _bound(rng.end, factor)
    prefix = "@" if rng.invert else ""
    if start == "0" and end:
        return prefix + end
    return "%s%s:%s" % (prefix, start, end)


def describe(rng, level, unit="USD"):
    """Why a value violates `rng`, in words: 'below the warning threshold of 20 USD'."""
    text = spec(rng)
    if unit == "USD" and text == NOTHING_LEFT:
        return "nothing left: the account can serve no requests"
    low = None if rng.start == float("-inf") else _bound(rng.start, 1)
    high = None if rng.end == float("inf") else _bound(rng.end, 1)
    if rng.invert:
        if low is None:
            return "at or below the %s threshold of %s %s" % (level, high, unit)
        if high is None:
            return "at or above the %s threshold of %s %s" % (level, low, unit)
        return "between %s and %s %s, the %s range %s" % (low, high, unit, level, text)
    if high is None:
        return "below the %s threshold of %s %s" % (level, low, unit)
    if low is None:
        return "above the %s threshold of %s %s" % (level, high, unit)
    return "outside %s to %s %s, the %s range %s" % (low, high, unit, level, text)
