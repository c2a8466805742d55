"""Quota units to USD, and the ways an amount is written out."""

from decimal import ROUND_FLOOR, Decimal

DEFAULT_QUOTA_PER_USD = 500000

_CENT = Decimal("0.01")
_MICRO = Decimal("0.000001")


def to_usd(quota, quota_per_usd):
    """Exact USD value of `quota` units.

    Decimal, not float: 617280000 units are 1234.56 USD, which a float
    holds as 1234.5599999... and would show as 1234.55.
    """
    return Decimal(quota) / Decimal(quota_per_usd)


def cents(usd):
    """Two decimals, rounded down.

    Rounding down keeps the shown balance consistent with the threshold
    that fired: 49.9958 USD under a 50 USD threshold reads 49.99, not 50.00.
    """
    return str(usd.quantize(_CENT, rounding=ROUND_FLOOR))


def micros(usd):
    """Six decimals, for performance data that keeps full precision."""
    return str(usd.quantize(_MICRO))


def plain(number):
    """A number without exponent or trailing zeros: 5, 0.5, 2500000."""
    return format(Decimal(number).normalize(), "f")
