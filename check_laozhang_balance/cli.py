"""The command line's run: the Settings its words ask for, the Check they build, and main()."""

import os
import sys

import nagiosplugin

from . import credentials, thresholds
from .arguments import DEFAULT_URL, UsageError, parse_args, requested
from .credentials import ENV_VAR, KEY_ENV_VAR
from .formats import RENDERERS, NagiosOutput, StructuredOutput, as_prometheus, failure
from .money import floored, micros, plain

# plugin, summary, settings, spending and client are imported where the
# check is built: --help, --version and usage errors need none of them.


def settings_from(args, environ):
    """The run's Settings; the mode and the default critical thresholds are settled here, once."""
    try:
        mode = credentials.mode(args.token_file, args.key_file, environ)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if mode == "key" and args.response_file:
        raise UsageError("--response-file reads a saved /api/user/self answer, which key mode does not use")
    expired = thresholds.parse(thresholds.NOTHING_LEFT, unit="days")
    from .settings import Settings

    return Settings(mode=mode, key_file=args.key_file, warning_expiry=args.warning_expiry,
                    critical_expiry=args.critical_expiry or expired, url=args.url, token_file=args.token_file,
                    timeout=args.timeout, quota_per_usd=args.quota_per_unit,
                    response_file=args.response_file, ca_file=args.ca_file, user_id=args.user_id,
                    state_file=args.state_file, window_hours=args.forecast_window,
                    warning=args.warning, critical=args.critical or thresholds.parse(thresholds.NOTHING_LEFT),
                    warning_days=args.warning_days, critical_days=args.critical_days,
                    warning_spend=args.warning_spend, critical_spend=args.critical_spend,
                    spend_window_minutes=args.spend_window, warning_spend_ratio=args.warning_spend_ratio,
                    critical_spend_ratio=args.critical_spend_ratio)


def build_check(settings):
    from .plugin import Balance, ExpiryContext, QuotaContext, ThresholdContext, ValueContext
    from .spending import SpendContext
    from .summary import BalanceSummary

    balance = Balance(settings)
    return nagiosplugin.Check(
        balance,
        ThresholdContext("remaining_usd", settings.warning, settings.critical),
        QuotaContext("quota", settings.warning, settings.critical, fmt=plain),
        ValueContext("counter", uom="c"),
        ThresholdContext("days_left", settings.warning_days, settings.critical_days, fmt=floored, unit="days"),
        ValueContext("usd_per_day", fmt=micros),
        SpendContext(settings),
        ExpiryContext("key_days_left", settings.warning_expiry, settings.critical_expiry, fmt=floored, unit="days"),
        BalanceSummary(balance))


@nagiosplugin.guarded(verbose=0)
def main(argv=None):
    # A server's message may be Chinese; a Latin-1 locale must not turn
    # that into a traceback.
    sys.stdout.reconfigure(errors="backslashreplace")
    try:
        args = parse_args(argv)
        settings = settings_from(args, os.environ)
    except UsageError as exc:
        reason = "%s (see --help)" % exc
        words = sys.argv[1:] if argv is None else argv
        wanted = requested(words, "--format", "nagios")
        render = RENDERERS.get(wanted)
        _encode_for(wanted)
        if render:
            # The series of a usage error are the account's own, as far as
            # the words tell: a typo must not start new ones.
            url = requested(words, "--url", DEFAULT_URL)
            label = requested(words, "--label", None) or default_label(
                requested(words, "--token-file", None) or requested(words, "--key-file", None))
            sys.stdout.write(failure(render, reason, url, label, _memory(render, url, label)))
        else:
            from .plugin import NAME

            print("%s UNKNOWN - %s" % (NAME.upper(), reason))
        return 3
    _encode_for(args.format)
    runtime = nagiosplugin.Runtime()
    if args.format != "nagios":
        label = args.label or default_label(settings.key_file if settings.mode == "key" else settings.token_file,
                                            settings.mode)
        render = RENDERERS[args.format]
        runtime.output = StructuredOutput(runtime.logchan, render, args.url, label, _memory(render, args.url, label))
    else:
        runtime.output = NagiosOutput(runtime.logchan)
    build_check(settings).main(verbose=args.verbose, timeout=args.timeout)


def _memory(render, url, label):
    """The last good values to repeat, for the format whose series must outlive a failed run."""
    if render is not as_prometheus:
        return None
    # Here, not at the top: only --format prometheus repeats the last good values.
    from . import last_known

    return last_known.Memory(last_known.default_path(url, label))


def default_label(secret_file, mode="token"):
    """Where the token (or key) comes from names the account: never the secret, never the API's answer."""
    return secret_file or "$" + (KEY_ENV_VAR if mode == "key" else ENV_VAR)


def _encode_for(output_format):
    """Prometheus' text format is UTF-8 by definition, whatever the locale (JSON is ASCII anyway)."""
    if output_format == "prometheus":
        sys.stdout.reconfigure(encoding="utf-8")
