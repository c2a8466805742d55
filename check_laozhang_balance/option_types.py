"""The types of the command line's values: each reads one word or says, in a sentence, why it cannot."""

import argparse
from decimal import Decimal, InvalidOperation

from . import thresholds
from .money import MAX_QUOTA_PER_USD, MIN_QUOTA_PER_USD, plain, plausible_ratio
from .safe_text import quoted

# A day: far beyond any scheduler's check timeout, and within what the
# deadline's alarm (a C unsigned int) can hold.
MAX_TIMEOUT = 86400


def threshold(unit, above=False):
    def parse(text):
        try:
            return thresholds.parse(text, unit=unit, above=above)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def bounded(low, high, unit):
    """An argparse type for a number of `unit` from `low` to `high`."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError("%s is not a number of %s from %d to %d" % (quoted(text), unit, low, high))
        return value
    return parse


def ratio(text):
    try:
        ratio = float(text)
    except ValueError:
        ratio = 0
    if not 1 < ratio < float("inf"):
        raise argparse.ArgumentTypeError("%s is not a ratio above 1" % quoted(text))
    return ratio


def seconds(text):
    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError("%s is not a whole number of seconds from 1 to %d"
                                         % (quoted(text), MAX_TIMEOUT))
    return int(text)


def user_id(text):
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError("%s is not a numeric user id" % quoted(text))
    return int(text)


def quota_per_usd(text):
    if text.strip() == "auto":
        return "auto"
    try:
        ratio = Decimal(text.strip())
    except InvalidOperation:
        ratio = None
    if ratio is None or not ratio.is_finite() or not plausible_ratio(ratio):
        raise argparse.ArgumentTypeError("%s is neither 'auto' nor a number of quota units per USD from %s to %s"
                                         % (quoted(text), plain(MIN_QUOTA_PER_USD), plain(MAX_QUOTA_PER_USD)))
    return ratio


def url(text):
    from . import client

    try:
        client.public_url(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%s is not a valid address: its host or port is malformed"
                                         % quoted(text)) from None
    return text
