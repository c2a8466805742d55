"""The account as the balance endpoint describes it, and reading it from an answer."""

import json
from collections import namedtuple
from decimal import Decimal

from nagiosplugin import CheckError

from .money import MAX_QUOTA_PER_USD, MIN_QUOTA_PER_USD, plain, plausible_ratio
from .safe_text import keep_secret, one_line

# Beyond any real account (2 trillion USD at the default ratio), and small
# enough that Decimal arithmetic on it stays cheap: "1e999999999" is valid JSON.
_IMPLAUSIBLE = 10 ** 18
_FINEST = Decimal("0.000001")

AUTH_HINT = "use the account's system AccessToken (console: account settings, System Token), not a model API key"


# namedtuple, not dataclass: dataclasses imports inspect, a tenth of the
# start-up time of the paths that need no network.
Account = namedtuple("Account", "quota used_quota request_count username group account_id expires_at unlimited "
                                "source scope",
                     defaults=("", "", "", None, False, "/api/user/self", "the account's"))
Account.__doc__ = """The figures (int, or Decimal if the server sends fractions) and names the server gave.

In key mode (key_usage.py) they are a model key's: `quota` is None for a key without a limit,
`request_count` None, `expires_at` unix seconds or None for never; `source` and `scope` say
which endpoint answered and whose figures they are.
"""

Reply = namedtuple("Reply", "status body retry_after location route", defaults=("", "", ""))
Reply.__doc__ = "What came back from the endpoint: status, decoded body, the headers that matter, the way it came."


def from_reply(reply):
    """The Account in `reply`, or CheckError saying why there is none."""
    if 300 <= reply.status < 400:
        raise CheckError(_redirect_problem(reply))
    if not 200 <= reply.status < 300:
        raise CheckError(status_problem(reply))
    document = decode(reply.body)
    if not isinstance(document, dict):
        raise CheckError("the answer is JSON but %s, not an object with 'data'" % kind(document))
    unambiguous(document, "", ("success", "data"))
    if document.get("success") is False:
        raise CheckError(_refused(reply.status, document))
    data = document.get("data")
    if not isinstance(data, dict):
        raise CheckError("the answer has no 'data' object (%s)" % (
            "%s instead" % kind(data) if "data" in document else "missing"))
    unambiguous(data, "data.", _RELIED_ON)
    return Account(
        quota=_number(data, "quota"),
        used_quota=_number(data, "used_quota"),
        request_count=_number(data, "request_count"),
        username=_text(document, "username"),
        group=_text(document, "group"),
        account_id=str(data["id"]) if isinstance(data.get("id"), int) and not isinstance(data["id"], bool) else "",
    )


def said(document):
    """The server's own words in an error document, its message and code, as a clause."""
    if not isinstance(document, dict):
        return ""
    words = [one_line(document[key], limit) for key, limit in (("message", 200), ("code", 60))
             if isinstance(document.get(key), str) and document[key].strip()]
    if len(words) == 2:
        words[1] = "[%s]" % words[1]
    return ", API says '%s'" % " ".join(words) if words else ""


def _redirect_problem(reply):
    if reply.status == 304:
        # The check sends no If-None-Match or If-Modified-Since, so nothing
        # may answer "not modified": a cache on the way or the server is wrong.
        return ("the server answered HTTP 304 Not Modified to a request that asked for no cached copy: "
                "a cache or proxy in front of the API, or the API itself, is misbehaving: ask its operator")
    if not reply.location:
        return ("the server answers %s without saying where to go: is --url the API endpoint?"
                % status_words(reply.status))
    return ("the server redirects (HTTP %d) to %s, and redirects are not followed so the token goes nowhere "
            "else: give the final address with --url" % (reply.status, one_line(reply.location)))


# What one-api and new-api say when they turn the token down (their Chinese
# messages, newer builds' English ones and the newest new-api's codes),
# and what to do about each; anything else gets AUTH_HINT.
_REFUSALS = (
    (("未提供 new-api-user", "new-api-user header not provided"),
     "this new-api server wants the user's id as well: give --user-id ID (the numeric id the console shows)"),
    (("new-api-user",),
     "--user-id must be the numeric id of the token's own user (the id the console shows)"),
    (("auth_user_disabled", "用户已被封禁", "has been banned", "has been disabled", "user is disabled"),
     "the account is disabled on this server: ask its administrator"),
    (("auth_insufficient_privilege", "权限不足", "insufficient privilege", "permission denied"),
     "the token's user lacks the role this endpoint needs: ask the server's administrator"),
)


def _refused(status, document):
    clause = said(document)
    words = clause.lower()
    hint = next((hint for needles, hint in _REFUSALS if any(n in words for n in needles)), AUTH_HINT)
    return "authentication refused (HTTP %d%s): %s" % (status, clause, hint)


def quota_per_unit(reply):
    """The server's quota units per USD from its public /api/status, for --quota-per-unit auto."""
    fix = "give the ratio as --quota-per-unit N"
    if not 200 <= reply.status < 300:
        raise CheckError("--quota-per-unit auto: the server's /api/status answered %s, %s"
                         % (status_words(reply.status), fix))
    try:
        document = decode(reply.body)
        data = document.get("data") if isinstance(document, dict) else None
        unambiguous(data, "data.", ("quota_per_unit",))
    except CheckError as exc:
        raise CheckError("--quota-per-unit auto: in the server's /api/status, %s, %s" % (exc, fix)) from None
    ratio = data.get("quota_per_unit") if isinstance(data, dict) else None
    if isinstance(ratio, bool) or not isinstance(ratio, (int, Decimal)) or not plausible_ratio(ratio):
        raise CheckError("--quota-per-unit auto: the server's /api/status has no positive data.quota_per_unit "
                         "(from %s to %s), %s"
                         % (plain(MIN_QUOTA_PER_USD), plain(MAX_QUOTA_PER_USD), fix))
    return Decimal(ratio)


def status_problem(reply):
    try:
        document = decode(reply.body)
    except CheckError:
        document = None
    if reply.status in (401, 403):
        return _refused(reply.status, document)
    detail = "%s%s" % (status_words(reply.status), said(document))
    wait = one_line(reply.retry_after, 40)
    if wait:
        detail += ", retry after %s" % (wait + " s" if wait.isdigit() else wait)
    if reply.status == 407:
        return ("a proxy between this check and the API wants credentials (%s): give them in the proxy variable "
                "as http://user:password@host:port, or add the API's host to NO_PROXY" % detail)
    if reply.status == 429:
        return "rate limited by the API (%s): check less often" % detail
    if reply.status == 404:
        return "no balance endpoint at this address (%s): check --url" % detail
    if reply.status >= 500:
        return "the API is failing (%s), a fault on the server's side: wait, or ask its operator" % detail
    return "the API rejected the request (%s)" % detail


def status_words(status):
    """'HTTP 404 Not Found', or 'HTTP 999' for a status HTTP does not name."""
    # Here, not at the top: building HTTPStatus costs every run, and only
    # errors need it.
    from http import HTTPStatus

    try:
        return "HTTP %d %s" % (status, HTTPStatus(status).phrase)
    except ValueError:
        return "HTTP %d" % status


def _reject_constant(name):
    raise ValueError("%s is not a JSON number" % name)


def decode(body):
    if not body.strip():
        raise CheckError("the answer is empty, not JSON")
    try:
        # A leading BOM dropped as "utf-8-sig" would, without loading that codec.
        text = body.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_Object)
    except (UnicodeDecodeError, ValueError, RecursionError):
        if body.lstrip()[:1] == b"<":
            raise CheckError("the answer is an HTML page, not JSON: is --url the API endpoint?") from None
        raise CheckError("the answer is not valid JSON") from None


class _Object(dict):
    """A JSON object that remembers the keys it held more than once with different values.

    Python keeps the last of duplicate keys, another parser the first: a
    reading that depends on which is no reading at all.
    """

    def __init__(self, pairs):
        super().__init__()
        self.ambiguous = set()
        for key, value in pairs:
            if key == "access_token":
                # Every copy is a secret, whichever one a reader would keep.
                keep_secret(value)
            if key in self and self[key] != value:
                self.ambiguous.add(key)
            self[key] = value


# The fields of data whose value the check uses.
_RELIED_ON = ("quota", "used_quota", "request_count", "username", "group", "id")


def unambiguous(obj, prefix, keys):
    """CheckError if the JSON object `obj` held one of `keys` twice with different values."""
    twice = sorted(set(keys) & getattr(obj, "ambiguous", set()))
    if twice:
        raise CheckError("the answer holds %s twice with different values, so parsers differ on which counts: "
                         "ask the server's operator" % " and ".join("'%s%s'" % (prefix, key) for key in twice))


def kind(value):
    if value is None:
        return "null"
    # isinstance: objects are _Object, a dict.
    return next((word for kind, word in ((bool, "a boolean"), (dict, "an object"), (list, "a list"),
                                         (str, "a string")) if isinstance(value, kind)), "a number")


def _number(data, field):
    if field not in data:
        raise CheckError("the answer's data has no '%s'" % field)
    value = data[field]
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise CheckError("the answer's data.%s is %s, not a number" % (field, kind(value)))
    if not -_IMPLAUSIBLE < value < _IMPLAUSIBLE:
        raise CheckError("the answer's data.%s is not a plausible number" % field)
    # Quota units are whole numbers; a fraction finer than this is noise
    # that would only lengthen the performance data.
    return value.quantize(_FINEST) if isinstance(value, Decimal) else value


def _text(document, field):
    value = document["data"].get(field)
    return one_line(value, 80) if isinstance(value, str) else ""
