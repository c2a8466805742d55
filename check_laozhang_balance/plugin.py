"""The check in nagiosplugin's terms: the balance resource, its contexts, its status line."""

import os
import sys
import time

import nagiosplugin
from nagiosplugin import CheckError, Critical, Ok, Performance, Result, Warn

from . import account, client, credentials, forecast, history, interrupts, spending, state, trust
from .money import cents, floored, micros, plain, to_usd
from .safe_text import cannot_read, one_line, redact
from .thresholds import describe, spec


NAME = "laozhang_balance"


# data acquisition

class Balance(nagiosplugin.Resource):
    """The account behind the access token, read from the API or from a saved answer."""

    # The check takes its name from its first resource: nagiosplugin 1.3.2
    # (Debian 12) has no Check(name=...), and newer releases do the same.
    name = NAME

    def __init__(self, settings):
        self.settings = settings
        # Starts as the command line's ratio; with --quota-per-unit auto
        # the server's answer replaces it.
        self.quota_per_usd = settings.quota_per_usd
        self.account = None
        self.forecast = None
        self.no_forecast = None
        self.spend = None
        self.no_spend = None
        # (path, samples, hours) of the history this run used, if any.
        self.history = None
        self.notes = []

    def probe(self):
        # nagiosplugin's deadline arrives as a Timeout wherever the check is;
        # `awaited` says what it was waiting for.
        cfg = self.settings
        awaited = "complete answer from %s" % client.public_url(cfg.url)
        try:
            with interrupts.armed():
                self.account = account.from_reply(self._reply())
                if self.quota_per_usd == "auto":
                    self.quota_per_usd = account.quota_per_unit(
                        client.get(client.status_url(cfg.url), {}, cfg.timeout, cfg.ca_file))
                awaited = "lock on the state file, which another run holds,"
                self._predict(self.account)
        except nagiosplugin.Timeout:
            raise CheckError("no %s within %d s (--timeout)" % (awaited, cfg.timeout)) from None
        except CheckError as exc:
            raise CheckError(redact(str(exc))) from None
        found = self.account
        metrics = [
            nagiosplugin.Metric("remaining_usd", to_usd(found.quota, self.quota_per_usd), context="remaining_usd"),
            nagiosplugin.Metric("quota", found.quota, context="quota"),
            nagiosplugin.Metric("used_quota", found.used_quota, uom="c", context="counter"),
            nagiosplugin.Metric("request_count", found.request_count, uom="c", context="counter"),
        ]
        if self.forecast:
            metrics += [nagiosplugin.Metric("usd_per_day", self.forecast.usd_per_day, context="usd_per_day"),
                        nagiosplugin.Metric("days_left", self.forecast.days_left, context="days_left")]
        if self.spend:
            metrics.append(nagiosplugin.Metric("spend_usd_per_day", self.spend.usd_per_day, context="spend"))
        return metrics

    def _predict(self, found):
        """Record this run's sample, then forecast and measure the spending from the history, or say why not."""
        cfg = self.settings
        if cfg.response_file and not cfg.state_file:
            # A replayed answer must not write into the live check's history.
            self.no_forecast = "no forecast: --response-file keeps a history only in a --state-file PATH you name"
            return
        url = client.public_url(cfg.url)
        path = cfg.state_file or state.default_path(url, found.account_id, found.username)
        now = time.time()
        try:
            samples, remarks = state.update(path, state.owner(url, found.account_id, found.username), lambda old: (
                history.record(old, now, int(found.quota), int(found.used_quota), cfg.window,
                               cfg.spend_window + forecast.SPEND_SLACK)), wait=cfg.timeout / 5)
        except state.StateError as exc:
            if cfg.history_required:
                raise
            self.notes.append(str(exc))
            self.no_forecast = "no forecast: the state file cannot be used"
            return
        self.notes += remarks
        self.history = (path, len(samples), history.span_hours(samples))
        self.forecast, self.no_forecast = forecast.estimate(samples, found.quota, self.quota_per_usd, cfg.window)
        self.spend, self.no_spend = forecast.spend(samples, cfg.spend_window, self.quota_per_usd, self.forecast)

    def _reply(self):
        cfg = self.settings
        if cfg.response_file:
            return account.Reply(status=200, body=_read_saved(cfg.response_file))
        token, self.notes = credentials.load(cfg.token_file, os.environ)
        self.notes += trust.notes(cfg.url, cfg.ca_file)
        headers = {"Authorization": token}
        if cfg.user_id is not None:
            headers["New-Api-User"] = str(cfg.user_id)
        reply = client.get(cfg.url, headers, cfg.timeout, cfg.ca_file)
        self.notes.append("connected %s" % reply.route)
        return reply


def _read_saved(path):
    try:
        if path == "-":
            return sys.stdin.buffer.read(client.MAX_BODY + 1)
        with open(path, "rb") as handle:
            return handle.read(client.MAX_BODY + 1)
    except OSError as exc:
        raise CheckError(cannot_read("response file", path, exc)) from None


# data evaluation

def hundredths(value):
    """Two decimals, rounded to the nearest, for the spending rate: it names no threshold to contradict."""
    return format(value, ".2f")


class ThresholdContext(nagiosplugin.Context):
    """A value against a warning and a critical range: the remaining USD, or the days left."""

    def __init__(self, name, warning, critical, fmt=micros, unit="USD"):
        super().__init__(name)
        self.warning = warning
        self.critical = critical
        self.fmt = fmt
        self.unit = unit

    def factor(self, resource):
        """What one unit of the thresholds is in this metric's unit."""
        return 1

    def evaluate(self, metric, resource):
        for rng, state_, level in ((self.critical, Critical, "critical"), (self.warning, Warn, "warning")):
            if rng is not None and not rng.match(metric.value):
                return Result(state_, describe(rng, level, self.unit), metric)
        return Result(Ok, None, metric)

    def performance(self, metric, resource):
        factor = self.factor(resource)
        return Performance(metric.name, self.fmt(metric.value), "",
                           *(spec(rng, factor) if rng is not None else "" for rng in (self.warning, self.critical)))


class QuotaContext(ThresholdContext):
    """Raw quota units with the USD thresholds converted, for graphs in the API's own unit.

    Its state is the USD state again, so it adds none of its own.
    """

    def factor(self, resource):
        # The resource's, not the command line's: with --quota-per-unit auto
        # the ratio is known only once the server has told it.
        return resource.quota_per_usd

    def evaluate(self, metric, resource):
        return Result(Ok, None, metric)


class ValueContext(nagiosplugin.Context):
    """Performance data only, never alerting: counters (uom 'c') and the spending rate."""

    def __init__(self, name, uom="", fmt=plain):
        super().__init__(name)
        self.uom = uom
        self.fmt = fmt

    def performance(self, metric, resource):
        return Performance(metric.name, self.fmt(metric.value), self.uom)


# data presentation

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
            lines.append("account %s, group %s" % (found.username or "(no name)", found.group or "(none)"))
            lines += self._amounts(found, self.balance.quota_per_usd)
            # With --warning-days/--critical-days the status line says it already.
            if self.balance.no_forecast and not self.balance.settings.forecast_required:
                lines.append(self.balance.no_forecast)
            lines += history_lines(self.balance)
        return lines

    def _amounts(self, found, per_usd):
        if per_usd == "auto":
            # /api/status failed: the units are known, what they are worth is not.
            return ["remaining quota %s units, used quota %s units over %s requests"
                    % (plain(found.quota), plain(found.used_quota), plain(found.request_count))]
        origin = " (from the server's /api/status)" if self.balance.settings.quota_per_usd == "auto" else ""
        return ["remaining quota %s units = %s USD at %s units per USD%s"
                % (plain(found.quota), micros(to_usd(found.quota, per_usd)), plain(per_usd), origin),
                "used quota %s units = %s USD over %s requests"
                % (plain(found.used_quota), micros(to_usd(found.used_quota, per_usd)), plain(found.request_count))]

    def _line(self, results, hints):
        """'15.00 USD left (account x), about 3.0 days at 5.00 USD/day, below ... and below ...'.

        No semicolons: Nagios turns them into colons in its log and status.
        """
        balance = self.balance
        line = "%s USD left" % cents(results["remaining_usd"].metric.value)
        if balance.account.username:
            line += " (account %s)" % balance.account.username
        if balance.forecast:
            line += ", about %s days at %s USD/day" % (floored(balance.forecast.days_left, 1),
                                                       hundredths(balance.forecast.usd_per_day))
        if hints:
            line += ", " + " and ".join(hints)
        if balance.settings.forecast_required and not balance.forecast:
            line += ", " + balance.no_forecast
        return line


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
