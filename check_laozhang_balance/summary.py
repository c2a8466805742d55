"""Presentation: the status line and the verbose lines of a balance check."""

import time

import nagiosplugin

from . import spending
from .money import cents, floored, hundredths, micros, plain, to_usd
from .safe_text import one_line


class BalanceSummary(nagiosplugin.Summary):
    """'49.99 USD left (account demo_user)', and on a problem, which threshold it crossed."""

    def __init__(self, balance):
        self.balance = balance

    def ok(self, results):
        return self._line(results, [])

    def problem(self, results):
        worst = results.first_significant
        if worst.metric is None:
            return str(worst)
        # Both the USD and the days threshold may fire at the same level.
        return self._line(results, [r.hint for r in results if r.state == worst.state and r.hint])

    def verbose(self, results):
        lines = list(self.balance.notes)
        found = self.balance.account
        if found is not None:
            if self.balance.settings.mode == "key":
                lines.append("key %s: figures from %s, %s" % (found.username or "(no name given)", found.source,
                                                              found.scope))
            else:
                lines.append("account %s, group %s" % (found.username or "(no name)", found.group or "(none)"))
            lines += self._amounts(found, self.balance.quota_per_usd)
            if self.balance.settings.mode == "key":
                lines.append("expires %s" % _when(found.expires_at) if found.expires_at else "never expires")
            # With --warning-days/--critical-days the status line says it already.
            if self.balance.no_forecast and not self.balance.settings.forecast_required:
                lines.append(self.balance.no_forecast)
            lines += history_lines(self.balance)
        return lines

    def _amounts(self, found, per_usd):
        requests = " over %s requests" % plain(found.request_count) if found.request_count is not None else ""
        remaining = "no quota limit on this key" if found.quota is None else None
        if per_usd == "auto":
            # /api/status failed: the units are known, what they are worth is not.
            return ["%s, used quota %s units%s" % (remaining or "remaining quota %s units" % plain(found.quota),
                                                  plain(found.used_quota), requests)]
        origin = " (from the server's /api/status)" if self.balance.settings.quota_per_usd == "auto" else ""
        return [remaining or "remaining quota %s units = %s USD at %s units per USD%s"
                % (plain(found.quota), micros(to_usd(found.quota, per_usd)), plain(per_usd), origin),
                "used quota %s units = %s USD%s"
                % (plain(found.used_quota), micros(to_usd(found.used_quota, per_usd)), requests)]

    def _line(self, results, hints):
        """'15.00 USD left (account x), about 3.0 days at 5.00 USD/day, below ... and below ...'.

        No semicolons: Nagios turns them into colons in its log and status.
        """
        balance = self.balance
        found = balance.account
        if found.quota is None:
            line = "no quota limit, %s USD used" % cents(to_usd(found.used_quota, balance.quota_per_usd))
        else:
            line = "%s USD left" % cents(results["remaining_usd"].metric.value)
        if found.username:
            line += " (%s %s)" % ("key" if balance.settings.mode == "key" else "account", found.username)
        if "key_days_left" in results:
            days = results["key_days_left"].metric.value
            line += (", expired %s" if days <= 0 else ", expires %s") % _when(found.expires_at)
        if balance.forecast:
            line += ", about %s days at %s USD/day" % (floored(balance.forecast.days_left, 1),
                                                       hundredths(balance.forecast.usd_per_day))
        if hints:
            line += ", " + " and ".join(hints)
        if balance.settings.forecast_required and not balance.forecast:
            line += ", " + balance.no_forecast
        return line


def _when(unix_time):
    """'2026-12-28 14:00 UTC': a key's expiry as an administrator compares it with a calendar."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(unix_time))


def history_lines(balance):
    """-v: where the history is and how far it reaches, and the spending over the spend window."""
    lines = []
    if balance.history:
        path, count, hours = balance.history
        lines.append("history: %d sample%s over %.1f h in %s"
                     % (count, "" if count == 1 else "s", hours, one_line(path, 400)))
    if balance.spend:
        lines.append(spending.described(balance.spend, balance.settings))
    elif balance.no_spend:
        lines.append(balance.no_spend)
    return lines
