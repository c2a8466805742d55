"""The check in nagiosplugin's terms: the balance resource, its contexts, its status line."""

import os
import sys

import nagiosplugin
from nagiosplugin import CheckError, Critical, Ok, Performance, Result, Warn

from . import account, client, credentials
from .money import cents, micros, plain, to_usd
from .safe_text import one_line, redact
from .thresholds import describe, spec



# data acquisition

class Balance(nagiosplugin.Resource):
    """The account behind the access token, read from the API or from a saved answer."""

    def __init__(self, url, token_file, timeout, quota_per_usd, response_file=None, ca_file=None, user_id=None):
        self.url = url
        self.user_id = user_id
        self.token_file = token_file
        self.timeout = timeout
        self.quota_per_usd = quota_per_usd
        self.response_file = response_file
        self.ca_file = ca_file
        self.account = None
        self.notes = []
        self._secrets = []

    def probe(self):
        try:
            self.account = account.from_reply(self._reply())
            if self.quota_per_usd == "auto":
                self.quota_per_usd = account.quota_per_unit(
                    client.get(client.status_url(self.url), {}, self.timeout, self.ca_file))
        except nagiosplugin.Timeout:
            raise CheckError("no complete answer from %s within %d s (--timeout)"
                             % (client.public_url(self.url), self.timeout)) from None
        except CheckError as exc:
            raise CheckError(redact(str(exc), self._secrets)) from None
        found = self.account
        return [
            nagiosplugin.Metric("remaining_usd", to_usd(found.quota, self.quota_per_usd), context="remaining_usd"),
            nagiosplugin.Metric("quota", found.quota, context="quota"),
            nagiosplugin.Metric("used_quota", found.used_quota, uom="c", context="counter"),
            nagiosplugin.Metric("request_count", found.request_count, uom="c", context="counter"),
        ]

    def _reply(self):
        if self.response_file:
            return account.Reply(status=200, body=_read_saved(self.response_file))
        token, self.notes = credentials.load(self.token_file, os.environ)
        self._secrets = [token]
        headers = {"Authorization": token}
        if self.user_id is not None:
            headers["New-Api-User"] = str(self.user_id)
        return client.get(self.url, headers, self.timeout, self.ca_file)


def _read_saved(path):
    try:
        if path == "-":
            return sys.stdin.buffer.read(client.MAX_BODY + 1)
        with open(path, "rb") as handle:
            return handle.read(client.MAX_BODY + 1)
    except OSError as exc:
        raise CheckError("cannot read the response file %s: %s"
                         % (one_line(path), exc.strerror or type(exc).__name__)) from None


# data evaluation

class UsdContext(nagiosplugin.Context):
    """The remaining balance against the USD thresholds: the check's state comes from here."""

    def __init__(self, name, warning, critical, fmt=micros):
        super().__init__(name)
        self.warning = warning
        self.critical = critical
        self.fmt = fmt

    def factor(self, resource):
        """What one USD of the thresholds is in this metric's unit."""
        return 1

    def evaluate(self, metric, resource):
        for rng, state, level in ((self.critical, Critical, "critical"), (self.warning, Warn, "warning")):
            if rng is not None and not rng.match(metric.value):
                return Result(state, describe(rng, level), metric)
        return Result(Ok, None, metric)

    def performance(self, metric, resource):
        factor = self.factor(resource)
        return Performance(metric.name, self.fmt(metric.value), "",
                           *(spec(rng, factor) if rng is not None else "" for rng in (self.warning, self.critical)))


class QuotaContext(UsdContext):
    """Raw quota units with the USD thresholds converted, for graphs in the API's own unit.

    Its state is the USD state again, so it adds none of its own.
    """

    def factor(self, resource):
        # The resource's, not the command line's: with --quota-per-unit auto
        # the ratio is known only once the server has told it.
        return resource.quota_per_usd

    def evaluate(self, metric, resource):
        return Result(Ok, None, metric)


class CounterContext(nagiosplugin.Context):
    """Ever-growing totals: graphed as counters, never alerting."""

    def performance(self, metric, resource):
        return Performance(metric.name, plain(metric.value), "c")


# data presentation

class BalanceSummary(nagiosplugin.Summary):
    """'49.99 USD left (account demo_user)', and on a problem, which threshold it crossed."""

    def __init__(self, balance):
        self.balance = balance

    def ok(self, results):
        return self._left(results)

    def problem(self, results):
        worst = results.first_significant
        if worst.metric is None:
            return str(worst)
        return "%s, %s" % (self._left(results), worst.hint)

    def verbose(self, results):
        lines = list(self.balance.notes)
        found = self.balance.account
        if found is not None:
            per_usd = self.balance.quota_per_usd
            lines += [
                "account %s, group %s" % (found.username or "(no name)", found.group or "(none)"),
                "remaining quota %s units = %s USD at %s units per USD"
                % (plain(found.quota), micros(to_usd(found.quota, per_usd)), plain(per_usd)),
                "used quota %s units = %s USD over %s requests"
                % (plain(found.used_quota), micros(to_usd(found.used_quota, per_usd)), plain(found.request_count)),
            ]
        return lines

    def _left(self, results):
        line = "%s USD left" % cents(results["remaining_usd"].metric.value)
        name = self.balance.account.username
        return "%s (account %s)" % (line, name) if name else line
