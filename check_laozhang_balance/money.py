"""Quota units to USD, and the ways an amount is written out."""

from decimal import ROUND_FLOOR, Decimal

DEFAULT_QUOTA_PER_USD = 500000
# The ratios the check works with: a quota below 10**18 units then stays
# within the 28 digits Decimal computes its six-decimal USD figures in.
MIN_QUOTA_PER_USD = Decimal("0.001")
MAX_QUOTA_PER_USD = Decimal(10 ** 12)

_MICRO = Decimal("0.000001")


def plausible_ratio(ratio):
    """Whether `ratio` (a Decimal or int) is a number of quota units per USD the check can work with."""
    return MIN_QUOTA_PER_USD <= ratio <= MAX_QUOTA_PER_USD


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
    return floored(usd, 2)


def floored(number, places=2):
    """`number` with `places` decimals, rounded down, as the balance is: 2.999 days left under a
    3-day threshold read 2.99 (or 2.9), never 3.00."""
    # str() first: a float such as 2.97 is 2.9699... in binary, and would floor to 2.96.
    return str(Decimal(str(number)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR))


def hundredths(value):
    """Two decimals, rounded to the nearest, for the spending rate: it names no threshold to contradict."""
    return format(value, ".2f")


def micros(usd):
    """Six decimals, for performance data that keeps full precision."""
    return str(usd.quantize(_MICRO))


def plain(number):
    """A number without exponent or trailing zeros: 5, 0.5, 2500000."""
    return format(Decimal(number).normalize(), "f")
