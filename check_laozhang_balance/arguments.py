"""The command line's words: its options, and usage errors as UNKNOWN instead of argparse's exit 2."""

import argparse
import sys
from decimal import Decimal

from . import __version__
from . import option_types as types
from .credentials import ENV_VAR, KEY_ENV_VAR
from .forecast import DEFAULT_SPEND_MINUTES, DEFAULT_WINDOW_HOURS
from .formats import FORMATS
from .money import DEFAULT_QUOTA_PER_USD
from .safe_text import one_line

DEFAULT_URL = "https://api.laozhang.ai/api/user/self"
DEFAULT_TIMEOUT = 10


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
    parser.add_argument("-w", "--warning", metavar="USD", type=types.threshold("USD"),
                        help="WARNING when the balance is below USD; a value with ':', '@' or '~' is a "
                             "Nagios range; an empty value (a macro that is not set) is no threshold, here and "
                             "in the options below")
    parser.add_argument("-c", "--critical", metavar="USD", type=types.threshold("USD"),
                        help="CRITICAL when the balance is below USD, likewise; a plain 0 means at or below 0, "
                             "when the account is empty ('0:' is below 0) (default: CRITICAL at or below 0 USD)")
    parser.add_argument("-t", "--timeout", metavar="SECONDS", type=types.seconds, default=DEFAULT_TIMEOUT,
                        help="deadline for the whole check (default: %(default)s)")
    parser.add_argument("--url", default=DEFAULT_URL, type=types.url,
                        help="balance endpoint (default: %(default)s)")
    parser.add_argument("--token-file", metavar="PATH",
                        help="read the access token from the file PATH; without this option it comes from the "
                             "environment variable %s" % ENV_VAR)
    parser.add_argument("--ca-file", metavar="PATH",
                        help="trust only the CA certificates in PATH (PEM), for a self-hosted server with a "
                             "private CA (default: the first of $REQUESTS_CA_BUNDLE, $CURL_CA_BUNDLE, "
                             "$SSL_CERT_FILE, $SSL_CERT_DIR that is set, else the system's CA directory, "
                             "/etc/ssl/certs on Debian, else requests' bundle; -v says which)")
    parser.add_argument("--quota-per-unit", metavar="N", type=types.quota_per_usd, default=Decimal(DEFAULT_QUOTA_PER_USD),
                        help="quota units per USD, or 'auto' to read it from the server's /api/status "
                             "(one more request) (default: %s)" % DEFAULT_QUOTA_PER_USD)
    parser.add_argument("--user-id", metavar="ID", type=types.user_id,
                        help="send the header New-Api-User: ID, for a new-api server that refuses without it "
                             "('New-Api-User header not provided'); ID is the numeric user id its console shows")
    parser.add_argument("--response-file", metavar="PATH",
                        help="evaluate a saved API answer from PATH ('-' for stdin) instead of calling "
                             "the API: no token, no network")
    parser.add_argument("--warning-days", metavar="DAYS", type=types.threshold("days"),
                        help="WARNING when the balance will run out in fewer than DAYS at the recent spending "
                             "rate (see --forecast-window)")
    parser.add_argument("--critical-days", metavar="DAYS", type=types.threshold("days"),
                        help="CRITICAL likewise")
    parser.add_argument("--forecast-window", metavar="HOURS", type=types.bounded(1, 24 * 366, "hours"),
                        default=DEFAULT_WINDOW_HOURS,
                        help="the spending rate is measured over the last HOURS (default: %(default)s)")
    parser.add_argument("--state-file", metavar="PATH",
                        help="where this account's spending history is kept (default: one file per server and "
                             "account under $XDG_STATE_HOME or ~/.local/state/check_laozhang_balance/)")
    parser.add_argument("--warning-spend", metavar="USD_PER_DAY", type=types.threshold("USD/day", above=True),
                        help="WARNING when the spending over the last --spend-window is above USD_PER_DAY (a "
                             "plain number N is the Nagios range '~:N'), to catch a leaked token or a runaway job")
    parser.add_argument("--critical-spend", metavar="USD_PER_DAY", type=types.threshold("USD/day", above=True),
                        help="CRITICAL likewise")
    parser.add_argument("--spend-window", metavar="MINUTES", type=types.bounded(10, 7 * 24 * 60, "minutes"),
                        default=DEFAULT_SPEND_MINUTES,
                        help="the spend thresholds look at the last MINUTES (default: %(default)s)")
    parser.add_argument("--warning-spend-ratio", metavar="N", type=types.ratio,
                        help="WARNING when the spending over the last --spend-window is above N times the "
                             "average over --forecast-window (once that window holds 6 h of history)")
    parser.add_argument("--critical-spend-ratio", metavar="N", type=types.ratio,
                        help="CRITICAL likewise")
    parser.add_argument("--key-file", metavar="PATH",
                        help="key mode: check a model API key's own remaining quota and expiry with the key itself "
                             "(read from the file PATH, or from the environment variable %s), so the monitoring "
                             "host needs no AccessToken" % KEY_ENV_VAR)
    parser.add_argument("--warning-expiry", metavar="DAYS", type=types.threshold("days"),
                        help="key mode: WARNING when the key expires in fewer than DAYS")
    parser.add_argument("--critical-expiry", metavar="DAYS", type=types.threshold("days"),
                        help="key mode: CRITICAL likewise (default: CRITICAL once the key has expired)")
    parser.add_argument("--format", choices=FORMATS, default="nagios",
                        help="output: nagios (status line and performance data), json (one object, for "
                             "Zabbix), prometheus (text exposition format); exit codes are the same in all "
                             "(default: %(default)s)")
    parser.add_argument("--label", metavar="NAME",
                        help="the account's name in --format prometheus (its 'account' label), which stays the "
                             "same when a run fails (default: the --token-file or --key-file path, else $%s or "
                             "$%s)" % (ENV_VAR, KEY_ENV_VAR))
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


def requested(argv, option, default):
    """The value of `option` in a command line argparse could not read, so Zabbix still gets JSON."""
    for index, word in enumerate(argv):
        if word.startswith(option + "="):
            return word.split("=", 1)[1]
        if word == option and index + 1 < len(argv):
            return argv[index + 1]
    return default
