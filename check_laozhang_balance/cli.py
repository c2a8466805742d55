"""The command line: options, usage errors as UNKNOWN, and the Check they build."""

import argparse
import os
import sys
from decimal import Decimal, InvalidOperation

import nagiosplugin

from . import __version__, credentials, thresholds
from .credentials import ENV_VAR, KEY_ENV_VAR
from .money import DEFAULT_QUOTA_PER_USD, MAX_QUOTA_PER_USD, MIN_QUOTA_PER_USD, floored, micros, plain, plausible_ratio
from .forecast import DEFAULT_SPEND_MINUTES, DEFAULT_WINDOW_HOURS
from .formats import FORMATS, RENDERERS, NagiosOutput, StructuredOutput, as_prometheus, failure
from .safe_text import one_line, quoted

# plugin, summary, settings, spending and client are imported where the
# check is built: --help, --version and usage errors need none of them.

DEFAULT_URL = "https://api.laozhang.ai/api/user/self"
DEFAULT_TIMEOUT = 10
# A day: far beyond any scheduler's check timeout, and within what the
# deadline's alarm (a C unsigned int) can hold.
MAX_TIMEOUT = 86400


class UsageError(Exception):
    """A command line that cannot be run; reported as UNKNOWN, not argparse's exit 2."""


class _Formatter(argparse.HelpFormatter):
    """--help in 80 columns, as the Monitoring Plugins guidelines ask, on any terminal.

    argparse would ask the terminal for its width once per option, at every run.
    """

    def __init__(self, prog):
        super().__init__(prog, width=78)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse quotes the offending word itself ("invalid choice: ..."):
        # it follows the output rules of everything else, one short clean line.
        raise UsageError(one_line(message, 300))

    def _print_message(self, message, file=None):
        # argparse drops a failed write of --help or --version; the process's
        # end must see it (a full disk, a closed pipe) to exit 3, not 0.
        if message:
            (file or sys.stderr).write(message)


def _threshold(unit, above=False):
    def parse(text):
        try:
            return thresholds.parse(text, unit=unit, above=above)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def _bounded(low, high, unit):
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


def _ratio(text):
    try:
        ratio = float(text)
    except ValueError:
        ratio = 0
    if not 1 < ratio < float("inf"):
        raise argparse.ArgumentTypeError("%s is not a ratio above 1" % quoted(text))
    return ratio


def _seconds(text):
    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError("%s is not a whole number of seconds from 1 to %d"
                                         % (quoted(text), MAX_TIMEOUT))
    return int(text)


def _user_id(text):
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError("%s is not a numeric user id" % quoted(text))
    return int(text)


def _quota_per_usd(text):
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


def _url(text):
    from . import client

    try:
        client.public_url(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%s is not a valid address: its host or port is malformed"
                                         % quoted(text)) from None
    return text


def parse_args(argv=None):
    parser = _Parser(
        prog="check_laozhang_balance",
        allow_abbrev=False,
        formatter_class=_Formatter,
        description="Check the prepaid balance of a LaoZhang API account (or a compatible one-api/new-api "
                    "server) and alert before it runs out. The access token comes from --token-file or "
                    "the environment variable %s, never from the command line." % ENV_VAR,
        epilog="Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the balance could not be read). "
               "Example: check_laozhang_balance -w 20 -c 5 --token-file /etc/nagios/laozhang.token")
    parser.add_argument("-w", "--warning", metavar="USD", type=_threshold("USD"),
                        help="WARNING when the balance is below USD; a value with ':', '@' or '~' is a "
                             "Nagios range; an empty value (a macro that is not set) is no threshold, here and "
                             "in the options below")
    parser.add_argument("-c", "--critical", metavar="USD", type=_threshold("USD"),
                        help="CRITICAL when the balance is below USD, likewise; a plain 0 means at or below 0, "
                             "when the account is empty ('0:' is below 0) (default: CRITICAL at or below 0 USD)")
    parser.add_argument("-t", "--timeout", metavar="SECONDS", type=_seconds, default=DEFAULT_TIMEOUT,
                        help="deadline for the whole check (default: %(default)s)")
    parser.add_argument("--url", default=DEFAULT_URL, type=_url,
                        help="balance endpoint (default: %(default)s)")
    parser.add_argument("--token-file", metavar="PATH",
                        help="read the access token from the file PATH; without this option it comes from the "
                             "environment variable %s" % ENV_VAR)
    parser.add_argument("--ca-file", metavar="PATH",
                        help="trust only the CA certificates in PATH (PEM), for a self-hosted server with a "
                             "private CA (default: the first of $REQUESTS_CA_BUNDLE, $CURL_CA_BUNDLE, "
                             "$SSL_CERT_FILE, $SSL_CERT_DIR that is set, else the system's CA directory, "
                             "/etc/ssl/certs on Debian, else requests' bundle; -v says which)")
    parser.add_argument("--quota-per-unit", metavar="N", type=_quota_per_usd, default=Decimal(DEFAULT_QUOTA_PER_USD),
                        help="quota units per USD, or 'auto' to read it from the server's /api/status "
                             "(one more request) (default: %s)" % DEFAULT_QUOTA_PER_USD)
    parser.add_argument("--user-id", metavar="ID", type=_user_id,
                        help="send the header New-Api-User: ID, for a new-api server that refuses without it "
                             "('New-Api-User header not provided'); ID is the numeric user id its console shows")
    parser.add_argument("--response-file", metavar="PATH",
                        help="evaluate a saved API answer from PATH ('-' for stdin) instead of calling "
                             "the API: no token, no network")
    parser.add_argument("--warning-days", metavar="DAYS", type=_threshold("days"),
                        help="WARNING when the balance will run out in fewer than DAYS at the recent spending "
                             "rate (see --forecast-window)")
    parser.add_argument("--critical-days", metavar="DAYS", type=_threshold("days"),
                        help="CRITICAL likewise")
    parser.add_argument("--forecast-window", metavar="HOURS", type=_bounded(1, 24 * 366, "hours"),
                        default=DEFAULT_WINDOW_HOURS,
                        help="the spending rate is measured over the last HOURS (default: %(default)s)")
    parser.add_argument("--state-file", metavar="PATH",
                        help="where this account's spending history is kept (default: one file per server and "
                             "account under $XDG_STATE_HOME or ~/.local/state/check_laozhang_balance/)")
    parser.add_argument("--warning-spend", metavar="USD_PER_DAY", type=_threshold("USD/day", above=True),
                        help="WARNING when the spending over the last --spend-window is above USD_PER_DAY (a "
                             "plain number N is the Nagios range '~:N'), to catch a leaked token or a runaway job")
    parser.add_argument("--critical-spend", metavar="USD_PER_DAY", type=_threshold("USD/day", above=True),
                        help="CRITICAL likewise")
    parser.add_argument("--spend-window", metavar="MINUTES", type=_bounded(10, 7 * 24 * 60, "minutes"),
                        default=DEFAULT_SPEND_MINUTES,
                        help="the spend thresholds look at the last MINUTES (default: %(default)s)")
    parser.add_argument("--warning-spend-ratio", metavar="N", type=_ratio,
                        help="WARNING when the spending over the last --spend-window is above N times the "
                             "average over --forecast-window (once that window holds 6 h of history)")
    parser.add_argument("--critical-spend-ratio", metavar="N", type=_ratio,
                        help="CRITICAL likewise")
    parser.add_argument("--key-file", metavar="PATH",
                        help="key mode: check a model API key's own remaining quota and expiry with the key itself "
                             "(read from the file PATH, or from the environment variable %s), so the monitoring "
                             "host needs no AccessToken" % KEY_ENV_VAR)
    parser.add_argument("--warning-expiry", metavar="DAYS", type=_threshold("days"),
                        help="key mode: WARNING when the key expires in fewer than DAYS")
    parser.add_argument("--critical-expiry", metavar="DAYS", type=_threshold("days"),
                        help="key mode: CRITICAL likewise (default: CRITICAL once the key has expired)")
    parser.add_argument("--format", choices=FORMATS, default="nagios",
                        help="output: nagios (status line and performance data), json (one object, for "
                             "Zabbix), prometheus (text exposition format); exit codes are the same in all "
                             "(default: %(default)s)")
    parser.add_argument("--label", metavar="NAME",
                        help="the account's name in --format prometheus (its 'account' label), which stays the "
                             "same when a run fails (default: the --token-file path, else $%s)" % ENV_VAR)
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more output: -v details, -vv progress, -vvv request diagnostics")
    parser.add_argument("-V", "--version", action="version", version="%(prog)s " + __version__)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise UsageError(_unrecognized(unknown))
    if args.response_file and args.quota_per_unit == "auto":
        raise UsageError("--quota-per-unit auto asks the server, --response-file does not: give the ratio as a number")
    history = [name for name in ("warning_days", "critical_days", "warning_spend", "critical_spend",
                                 "warning_spend_ratio", "critical_spend_ratio") if getattr(args, name) is not None]
    if args.response_file and history and not args.state_file:
        raise UsageError("--%s needs a spending history, which --response-file keeps only in a --state-file PATH "
                         "you name" % history[0].replace("_", "-"))
    return args


def _unrecognized(words):
    """argparse's complaint without echoing the words: one may be a pasted token."""
    options = [one_line(word.split("=", 1)[0], 40) for word in words if word.startswith("-")]
    others = len(words) - len(options)
    named = " ".join(options)
    if others:
        more = "%d %sword%s" % (others, "more " if named else "", "s" if others > 1 else "")
        named = "%s and %s" % (named, more) if named else more
    hint = ""
    if any("token" in option or "key" in option for option in options):
        hint = (" (the access token is read from --token-file or %s, a model API key from --key-file or %s, "
                "never from the command line)" % (ENV_VAR, KEY_ENV_VAR))
    return "unrecognized arguments: %s%s" % (named, hint)


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
                    critical_expiry=args.critical_expiry or expired, url=args.url, token_file=args.token_file, timeout=args.timeout, quota_per_usd=args.quota_per_unit,
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
        requested = _requested(words, "--format", "nagios")
        render = RENDERERS.get(requested)
        _encode_for(requested)
        if render:
            # The series of a usage error are the account's own, as far as
            # the words tell: a typo must not start new ones.
            url = _requested(words, "--url", DEFAULT_URL)
            label = _requested(words, "--label", None) or default_label(
                _requested(words, "--token-file", None) or _requested(words, "--key-file", None))
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


def _requested(argv, option, default):
    """The value of `option` in a command line argparse could not read, so Zabbix still gets JSON."""
    for index, word in enumerate(argv):
        if word.startswith(option + "="):
            return word.split("=", 1)[1]
        if word == option and index + 1 < len(argv):
            return argv[index + 1]
    return default
