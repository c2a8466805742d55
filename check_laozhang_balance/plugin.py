"""The check in nagiosplugin's terms: the balance resource, its contexts, its status line."""

import os
import sys
import time
from decimal import Decimal

import nagiosplugin
from nagiosplugin import CheckError, Critical, Ok, Performance, Result, Warn

from . import account, client, credentials, forecast, history, interrupts, state, trust
from .money import micros, plain, to_usd
from .safe_text import cannot_read, redact
from .thresholds import describe, spec


NAME = "laozhang_balance"
_DAY = 86400


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
                if cfg.mode == "key":
                    self.account, self.quota_per_usd = self._read_key()
                else:
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
        return list(self._metrics(self.account))

    def _metrics(self, found):
        # A key without a limit has no balance: no made-up 100000000 USD.
        if found.quota is not None:
            yield nagiosplugin.Metric("remaining_usd", to_usd(found.quota, self.quota_per_usd), context="remaining_usd")
            yield nagiosplugin.Metric("quota", found.quota, context="quota")
        yield nagiosplugin.Metric("used_quota", found.used_quota, uom="c", context="counter")
        if found.request_count is not None:
            yield nagiosplugin.Metric("request_count", found.request_count, uom="c", context="counter")
        if found.expires_at is not None:
            yield nagiosplugin.Metric("key_days_left", Decimal(found.expires_at - time.time()) / _DAY,
                                      context="key_days_left")
        if self.forecast:
            yield nagiosplugin.Metric("usd_per_day", self.forecast.usd_per_day, context="usd_per_day")
            yield nagiosplugin.Metric("days_left", self.forecast.days_left, context="days_left")
        if self.spend:
            yield nagiosplugin.Metric("spend_usd_per_day", self.spend.usd_per_day, context="spend")

    def _predict(self, found):
        """Record this run's sample, then forecast and measure the spending from the history, or say why not."""
        cfg = self.settings
        if cfg.response_file and not cfg.state_file:
            # A replayed answer must not write into the live check's history.
            self.no_forecast = "no forecast: --response-file keeps a history only in a --state-file PATH you name"
            return
        url = client.public_url(cfg.url)
        # Keys have no account id; two keys on one server differ by where they are kept.
        owner = found.account_id if cfg.mode == "token" else "key " + (cfg.key_file or "$" + credentials.KEY_ENV_VAR)
        path = cfg.state_file or state.default_path(url, owner, found.username)
        now = time.time()
        try:
            # A key without a limit has no balance to forecast, but its
            # spending is watched all the same: a leaked one costs the most.
            samples, remarks = state.update(path, state.owner(url, owner, found.username), lambda old: (
                history.record(old, now, int(found.quota or 0), int(found.used_quota), cfg.window,
                               cfg.spend_window + forecast.SPEND_SLACK)), wait=cfg.timeout / 5)
        except state.StateError as exc:
            if cfg.history_required:
                raise
            self.notes.append(str(exc))
            self.no_forecast = "no forecast: the state file cannot be used"
            return
        self.notes += remarks
        self.history = (path, len(samples), history.span_hours(samples))
        predicted, why = forecast.estimate(samples, found.quota or 0, self.quota_per_usd, cfg.window)
        self.spend, self.no_spend = forecast.spend(samples, cfg.spend_window, self.quota_per_usd, predicted)
        if found.quota is None:
            predicted, why = None, "no forecast: the key has no quota limit"
        self.forecast, self.no_forecast = predicted, why

    def _read_key(self):
        # Here, not at the top: the balance checks, most runs, need none of it.
        from . import key_usage

        cfg = self.settings
        key, self.notes = credentials.load(cfg.key_file, os.environ, credentials.KEY)
        self.notes += trust.notes(cfg.url, cfg.ca_file)
        return key_usage.read(cfg.url, key, lambda url, headers: client.get(url, headers, cfg.timeout, cfg.ca_file),
                              self.quota_per_usd)

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


class ExpiryContext(ThresholdContext):
    """Days until a model key expires: an expired key fails like an empty one."""

    def evaluate(self, metric, resource):
        result = super().evaluate(metric, resource)
        if result.state != Ok and metric.value <= 0:
            return Result(result.state, "a key past its expiry serves no requests", metric)
        return result


class ValueContext(nagiosplugin.Context):
    """Performance data only, never alerting: counters (uom 'c') and the spending rate."""

    def __init__(self, name, uom="", fmt=plain):
        super().__init__(name)
        self.uom = uom
        self.fmt = fmt

    def performance(self, metric, resource):
        return Performance(metric.name, self.fmt(metric.value), self.uom)
