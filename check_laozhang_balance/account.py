"""The account as the balance endpoint describes it, and reading it from an answer."""

import json
from collections import namedtuple
from decimal import Decimal
from http import HTTPStatus

from nagiosplugin import CheckError

from .safe_text import one_line, redact

# Beyond any real account (2 trillion USD at the default ratio), and small
# enough that Decimal arithmetic on it stays cheap: "1e999999999" is valid JSON.
_IMPLAUSIBLE = 10 ** 18
_FINEST = Decimal("0.000001")

AUTH_HINT = "use the account's system AccessToken (console: account settings, System Token), not a model API key"


# namedtuple, not dataclass: dataclasses imports inspect, a tenth of the
# start-up time of the paths that need no network.
Account = namedtuple("Account", "quota used_quota request_count username group account_id", defaults=("", "", ""))
Account.__doc__ = "The balance endpoint's figures (int, or Decimal if the server sends fractions) and names."

Reply = namedtuple("Reply", "status body retry_after location", defaults=("", ""))
Reply.__doc__ = "What came back from the endpoint: status, decoded body, the headers that matter."


def from_reply(reply):
    """The Account in `reply`, or CheckError saying why there is none."""
    if 300 <= reply.status < 400:
        raise CheckError(
            "the server redirects (HTTP %d) to %s, and redirects are not followed so the token goes "
            "nowhere else: give the final address with --url" % (reply.status, one_line(reply.location) or "nowhere"))
    if not 200 <= reply.status < 300:
        raise CheckError(_status_problem(reply))
    document = _decode(reply.body)
    if not isinstance(document, dict):
        raise CheckError("the answer is JSON but %s, not an object with 'data'" % _kind(document))
    if document.get("success") is False:
        raise CheckError(_refused(reply.status, document))
    data = document.get("data")
    if not isinstance(data, dict):
        raise CheckError("the answer has no 'data' object (%s)" % (
            "%s instead" % _kind(data) if "data" in document else "missing"))
    return Account(
        quota=_number(data, "quota"),
        used_quota=_number(data, "used_quota"),
        request_count=_number(data, "request_count"),
        username=_text(document, "username"),
        group=_text(document, "group"),
        account_id=str(data["id"]) if isinstance(data.get("id"), int) and not isinstance(data["id"], bool) else "",
    )


def _said(document):
    """The server's own words in an error document, its message and code, as a clause."""
    if not isinstance(document, dict):
        return ""
    words = [one_line(document[key], limit) for key, limit in (("message", 200), ("code", 60))
             if isinstance(document.get(key), str) and document[key].strip()]
    if len(words) == 2:
        words[1] = "[%s]" % words[1]
    return ", API says '%s'" % redact(" ".join(words), _secrets(document)) if words else ""


def _secrets(document):
    """Values in the answer that must never be shown: old servers echo the access token."""
    data = document.get("data")
    secret = data.get("access_token") if isinstance(data, dict) else None
    return [secret] if isinstance(secret, str) else []


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
    said = _said(document)
    words = said.lower()
    hint = next((hint for needles, hint in _REFUSALS if any(n in words for n in needles)), AUTH_HINT)
    return "authentication refused (HTTP %d%s): %s" % (status, said, hint)


def quota_per_unit(reply):
    """The server's quota units per USD from its public /api/status, for --quota-per-unit auto."""
    fix = "give the ratio as --quota-per-unit N"
    if not 200 <= reply.status < 300:
        raise CheckError("--quota-per-unit auto: the server's /api/status answered HTTP %d %s, %s"
                         % (reply.status, _phrase(reply.status), fix))
    try:
        document = _decode(reply.body)
    except CheckError as exc:
        raise CheckError("--quota-per-unit auto: in the server's /api/status, %s, %s" % (exc, fix)) from None
    data = document.get("data") if isinstance(document, dict) else None
    ratio = data.get("quota_per_unit") if isinstance(data, dict) else None
    if isinstance(ratio, bool) or not isinstance(ratio, (int, Decimal)) or not 0 < ratio < _IMPLAUSIBLE:
        raise CheckError("--quota-per-unit auto: the server's /api/status has no positive data.quota_per_unit, %s"
                         % fix)
    return Decimal(ratio)


def _status_problem(reply):
    try:
        document = _decode(reply.body)
    except CheckError:
        document = None
    if reply.status in (401, 403):
        return _refused(reply.status, document)
    detail = "HTTP %d %s%s" % (reply.status, _phrase(reply.status), _said(document))
    wait = one_line(reply.retry_after, 40)
    if wait:
        detail += ", retry after %s" % (wait + " s" if wait.isdigit() else wait)
    if reply.status == 429:
        return "rate limited by the API (%s): check less often" % detail
    if reply.status == 404:
        return "no balance endpoint at this address (%s): check --url" % detail
    if reply.status >= 500:
        return "the API is failing (%s), a fault on the server's side: wait, or ask its operator" % detail
    return "the API rejected the request (%s)" % detail


def _phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _reject_constant(name):
    raise ValueError("%s is not a JSON number" % name)


def _decode(body):
    if not body.strip():
        raise CheckError("the answer is empty, not JSON")
    try:
        return json.loads(body.decode("utf-8-sig"), parse_float=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        if body.lstrip()[:1] == b"<":
            raise CheckError("the answer is an HTML page, not JSON: is --url the API endpoint?") from None
        raise CheckError("the answer is not valid JSON") from None


def _kind(value):
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def _number(data, field):
    if field not in data:
        raise CheckError("the answer's data has no '%s'" % field)
    value = data[field]
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise CheckError("the answer's data.%s is %s, not a number" % (field, _kind(value)))
    if not -_IMPLAUSIBLE < value < _IMPLAUSIBLE:
        raise CheckError("the answer's data.%s is not a plausible number" % field)
    # Quota units are whole numbers; a fraction finer than this is noise
    # that would only lengthen the performance data.
    return value.quantize(_FINEST) if isinstance(value, Decimal) else value


def _text(document, field):
    value = document["data"].get(field)
    return redact(one_line(value, 80), _secrets(document)) if isinstance(value, str) else ""
