"""The Nagios output's order, and machine-readable output for Zabbix (JSON) and Prometheus (text format).

Each replaces nagiosplugin's Output object in its Runtime, so the check, its timeout and its exit
codes stay exactly as in the default Nagios format; only what is printed differs.
"""

import json
from decimal import Decimal

from nagiosplugin.output import Output

from .money import floored, micros
from .safe_text import one_line
from .thresholds import spec

FORMATS = ("nagios", "json", "prometheus")
_METRICS = ("remaining_usd", "quota", "used_quota", "request_count")
_STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")


class NagiosOutput(Output):
    """The status line, then the -vv/-vvv progress, then the -v details and the performance data.

    nagiosplugin (1.3.2 to 1.4) prints its log after the details, so the steps that led to
    the result would read as if they came after it.
    """

    def __str__(self):
        progress = self._screen_chars(self.logchan.stream.getvalue(), "logging output")
        return "\n".join(line for line in [self.status, progress, *self.out, *self.warnings, *self.longperfdata]
                         if line) + "\n"


class StructuredOutput(Output):
    """Collects the check's outcome and prints it as one document instead of the status line."""

    def __init__(self, logchan, render, url, label="", memory=None):
        super().__init__(logchan)
        self.render = render
        self.url = url
        self.label = label
        # A last_known.Memory for formats that repeat the last good values.
        self.memory = memory
        self.document = None

    def add(self, check):
        values = {r.metric.name: r.metric.value for r in check.results if r.metric is not None}
        balance = check.resources[0]
        contexts = check.contexts
        outcome = {
            "state_code": int(check.state),
            "status": check.summary_str.strip(),
            "values": values,
            "account": balance.account.username if balance.account else "",
            "label": self.label,
            "key": _key(balance, values),
            "thresholds": {
                key: spec(getattr(contexts[name], level)) if getattr(contexts[name], level) is not None else None
                for key, name, level in (("warning", "remaining_usd", "warning"),
                                         ("critical", "remaining_usd", "critical"),
                                         ("warning_days", "days_left", "warning"),
                                         ("critical_days", "days_left", "critical"),
                                         ("warning_spend", "spend", "warning"),
                                         ("critical_spend", "spend", "critical"))},
            "spend": _spend(balance),
        }
        if self.memory is not None:
            outcome["last_success"] = self.memory.settle(values, outcome["account"])
        self.document = self.render(outcome, self.url)

    def __str__(self):
        if self.document is None:
            # nagiosplugin reports an uncaught failure by setting the status
            # line itself: "NAME UNKNOWN: what".
            return failure(self.render, self.status.split(": ", 1)[-1], self.url, self.label, self.memory)
        return self.document


def _key(balance, values):
    """What key mode knows of the key (never the key itself), or None in the AccessToken mode."""
    found = balance.account
    if balance.settings.mode != "key" or found is None:
        return None
    days = values.get("key_days_left")
    return {"name": found.username or None, "expires_at": found.expires_at, "unlimited": found.unlimited,
            "days_left": _number(Decimal(floored(days))) if days is not None else None, "source": found.source}


def failure(render, reason, url, label="", memory=None):
    """The document for a check that could not run at all (a usage error, an uncaught failure)."""
    outcome = {"state_code": 3, "status": reason, "values": {}, "account": "", "label": label, "key": None,
               "thresholds": {}}
    if memory is not None:
        outcome["last_success"] = memory.settle({}, "")
    return render(outcome, url)


def as_json(outcome, url):
    values = outcome["values"]
    document = {
        "state": _STATES[outcome["state_code"]],
        "state_code": outcome["state_code"],
        "status": outcome["status"],
        "account": outcome["account"] or None,
        "remaining_usd": _number(values.get("remaining_usd")),
        "quota": _number(values.get("quota")),
        "used_quota": _number(values.get("used_quota")),
        "request_count": _number(values.get("request_count")),
        "thresholds": outcome["thresholds"],
        "key": outcome["key"],
        # As the performance data shows them: six decimals of USD, days rounded down.
        "forecast": ({"usd_per_day": _number(Decimal(micros(values["usd_per_day"]))),
                      "days_left": _number(Decimal(floored(values["days_left"])))}
                     if "days_left" in values else None),
        "spend": outcome.get("spend"),
    }
    if outcome["state_code"] == 3:
        document["reason"] = outcome["status"]
    # ASCII: \u escapes are valid JSON in any locale, raw characters are not.
    return json.dumps(document) + "\n"


# (value, exposed name, type, factor to Prometheus' base unit, help). Time left is in seconds:
# promtool rejects "days", and Grafana and humanizeDuration read seconds.
_PROMETHEUS = (
    ("remaining_usd", "remaining_usd", "gauge", 1, "Remaining prepaid balance in USD at the last successful check."),
    ("quota", "quota", "gauge", 1, "Remaining prepaid balance in the API's quota units at the last successful check."),
    ("used_quota", "used_quota_total", "counter", 1, "Quota units used so far, at the last successful check."),
    ("request_count", "requests_total", "counter", 1, "Requests made so far, at the last successful check."),
    ("usd_per_day", "usd_per_day", "gauge", 1, "Spending rate over the forecast window in USD per day."),
    ("days_left", "time_left_seconds", "gauge", 86400,
     "Seconds until the balance is gone at the last forecast spending rate."),
    ("spend_usd_per_day", "spend_usd_per_day", "gauge", 1,
     "Spending rate over the spend window (--spend-window) in USD per day."),
    ("key_days_left", "key_time_left_seconds", "gauge", 86400,
     "Key mode: seconds until the model API key expires, at the last successful check."),
)


def as_prometheus(outcome, url):
    """Series named by the configuration (server and --label), so that a failed run changes values, not series.

    After a failure the values of the last successful run stay, with its time; the failure shows in
    check_state and fetch_success.
    """
    # Here, not at the top: urllib.parse costs --help a twentieth of its time.
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        server = (parts.hostname or "") + (":%d" % parts.port if parts.port else "")
    except ValueError:
        # A usage error's --url may be no URL at all.
        server = ""
    labels = 'server="%s",account="%s"' % (_label(server), _label(outcome["label"]))
    last = outcome.get("last_success")
    lines = []

    def family(name, kind, text, value, extra=""):
        lines.extend(["# HELP laozhang_balance_%s %s" % (name, text), "# TYPE laozhang_balance_%s %s" % (name, kind),
                      "laozhang_balance_%s{%s%s} %s" % (name, labels, extra, value)])

    if last:
        for key, name, kind, factor, text in _PROMETHEUS:
            if key in last["values"]:
                family(name, kind, text, _number(last["values"][key] * factor))
        family("last_success_timestamp_seconds", "gauge", "Unix time of the last check that read the balance.",
               _number(round(last["time"], 3)))
        if last["user"]:
            family("account_info", "gauge", "The account's user name as the API gave it at the last successful check.",
                   1, ',user="%s"' % _label(last["user"]))
    family("check_state", "gauge", "State of the last check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
           outcome["state_code"])
    # used_quota, not remaining_usd: a key without a limit has no balance but was read all the same.
    family("fetch_success", "gauge", "1 if the last check could read the balance, else 0.",
           1 if "used_quota" in outcome["values"] else 0)
    return "\n".join(lines) + "\n"


RENDERERS = {"json": as_json, "prometheus": as_prometheus}


def _spend(balance):
    """The short-window spending, null where it is not yet known; the ratio thresholds beside it."""
    spend, cfg = balance.spend, balance.settings
    return {
        "usd_per_day": _number(spend.usd_per_day) if spend else None,
        "window_minutes": _number(cfg.spend_window_minutes),
        "baseline_usd_per_day": _number(spend.baseline) if spend and spend.baseline is not None else None,
        "ratio": round(float(spend.ratio), 3) if spend and spend.ratio is not None else None,
        "warning_ratio": cfg.warning_spend_ratio,
        "critical_ratio": cfg.critical_spend_ratio,
    }


def _number(value):
    if value is None:
        return None
    return int(value) if value == int(value) and abs(value) < 2 ** 53 else float(value)


def _label(text):
    """A label value: cleaned like any foreign text (a --label, a user name), then escaped as the format says."""
    return one_line(text, 200).replace("\\", "\\\\").replace('"', '\\"')
