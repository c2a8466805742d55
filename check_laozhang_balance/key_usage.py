"""Key mode: a model API key's own remaining quota and expiry, from the endpoints that take the key itself.

Two families of endpoint, both behind `Authorization: Bearer <model key>`:

- new-api's `GET /api/usage/token` (QuantumNous/new-api, controller/token.go `GetTokenUsage`):
  `data.total_available` / `data.total_used` in quota units, `unlimited_quota`, `expires_at`
  (unix seconds, 0 = never) and the key's `name`: always the key's own figures.
- the OpenAI-compatible billing pair `GET /v1/dashboard/billing/subscription` and `.../usage`
  (songquanpeng/one-api, controller/billing.go): `hard_limit_usd` is the remaining quota and
  `total_usage` the used quota times 100, the key's own when the server's DisplayTokenStatEnabled
  is on and the user's otherwise (the answer does not say which), divided by QuotaPerUnit only
  when DisplayInCurrencyEnabled is on; an unlimited key reads 100000000; `access_until` is the
  key's expiry (one-api keeps -1 for never, new-api 0). new-api's own subscription answer
  reports remaining plus used instead, which is why `/api/usage/token` is asked first.
"""

from collections import namedtuple
from decimal import Decimal
from urllib.parse import urlsplit

from nagiosplugin import CheckError

from .account import Account, decode, kind, quota_per_unit, said, status_problem, unambiguous
from .client import public_url
from .safe_text import one_line

TOKEN_USAGE = "/api/usage/token"
SUBSCRIPTION = "/v1/dashboard/billing/subscription"
_UNLIMITED = Decimal(100000000)
_IMPLAUSIBLE = 10 ** 18

KEY_HINT = "use the model API key (sk-...) the application uses, not the system AccessToken"

Plan = namedtuple("Plan", "kind url")
Plan.__doc__ = "One way to read a key's figures: 'token_usage' or 'billing', at `url`."


class NotOffered(Exception):
    """The server has no such endpoint (404, a redirect, or its web console's HTML page instead)."""


def plans(url):
    """The endpoints to try for `--url`, richest first.

    The default `--url` names the AccessToken endpoint `/api/user/self`; key mode
    keeps its server and path prefix. A `--url` naming one key endpoint pins it.
    """
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    at = lambda new_path: parts._replace(path=new_path, query="", fragment="").geturl()  # noqa: E731
    if path.endswith(TOKEN_USAGE):
        return [Plan("token_usage", at(path))]
    for suffix in (SUBSCRIPTION, SUBSCRIPTION[len("/v1"):]):
        if path.endswith(suffix):
            return [Plan("billing", at(path))]
    if path.endswith("/api/user/self") or not path:
        base = path[: -len("/api/user/self")] if path else ""
        return [Plan("token_usage", at(base + TOKEN_USAGE)), Plan("billing", at(base + SUBSCRIPTION))]
    raise CheckError("in key mode --url must end in %s, %s or /api/user/self (to try both)" % (TOKEN_USAGE,
                                                                                            SUBSCRIPTION))


def usage_url(subscription_url):
    """The billing pair's second half, beside the subscription."""
    parts = urlsplit(subscription_url)
    return parts._replace(path=parts.path.rstrip("/")[: -len("subscription")] + "usage").geturl()


def status_url(endpoint_url):
    """The server's public /api/status beside a key endpoint: its quota ratio and how billing counts."""
    parts = urlsplit(endpoint_url)
    path = parts.path.rstrip("/")
    for suffix in (TOKEN_USAGE, SUBSCRIPTION, SUBSCRIPTION[len("/v1"):]):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return parts._replace(path=path + "/api/status", query="", fragment="").geturl()


def _not_offered(reply):
    if reply.status == 404 or 300 <= reply.status < 400:
        return True
    return 200 <= reply.status < 300 and reply.body.lstrip()[:1] == b"<"


def _refused(reply, document):
    return CheckError("the API key was refused (HTTP %d%s): %s" % (reply.status, said(document), KEY_HINT))


def _checked(reply):
    """The JSON document of a key endpoint's answer, or why there is none."""
    if _not_offered(reply):
        raise NotOffered()
    if reply.status in (401, 403):
        try:
            document = decode(reply.body)
        except CheckError:
            document = None
        raise _refused(reply, _error_object(document))
    if not 200 <= reply.status < 300:
        raise CheckError(status_problem(reply))
    document = decode(reply.body)
    if not isinstance(document, dict):
        raise CheckError("the answer is JSON but %s, not an object" % kind(document))
    unambiguous(document, "", ("success", "error", "data", "object"))
    # new-api answers an unknown key at /api/usage/token with HTTP 200 and success false;
    # the billing pair reports its own failures (a database error) as HTTP 200 with an error object.
    if document.get("success") is False:
        raise _refused(reply, document)
    if isinstance(document.get("error"), dict):
        raise CheckError("the server could not report the key's figures (HTTP %d%s)"
                         % (reply.status, said(_error_object(document))))
    return document


def _error_object(document):
    """The OpenAI-style {"error": {"message", "type"}} as the flat {"message", "code"} that said() reads."""
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        error = document["error"]
        return {"message": error.get("message"), "code": error.get("type")}
    return document


def _amount(document, field, where):
    unambiguous(document, where, (field,))
    value = document.get(field) if isinstance(document, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise CheckError("the answer's %s%s is %s, not a number" % (where, field, "missing" if value is None
                                                                    else kind(value)))
    if not -_IMPLAUSIBLE < value < _IMPLAUSIBLE:
        raise CheckError("the answer's %s%s is not a plausible number" % (where, field))
    return value


def _expiry(document, field, where):
    """Unix seconds, or None for a key that never expires (0, or one-api's -1)."""
    value = _amount(document, field, where)
    return int(value) if value > 0 else None


def from_token_usage(reply):
    """The key's own figures from new-api's /api/usage/token."""
    document = _checked(reply)
    data = document.get("data")
    if not isinstance(data, dict) or data.get("object") != "token_usage":
        raise NotOffered()
    unambiguous(data, "data.", ("object", "unlimited_quota", "name"))
    unlimited = data.get("unlimited_quota") is True
    name = data.get("name") if isinstance(data.get("name"), str) else ""
    return Account(quota=None if unlimited else _amount(data, "total_available", "data."),
                   used_quota=_amount(data, "total_used", "data."), request_count=None, username=name,
                   expires_at=_expiry(data, "expires_at", "data."), unlimited=unlimited,
                   source=TOKEN_USAGE, scope="the key's own")


def from_billing(subscription, usage, quota_per_unit):
    """The figures of the billing pair, in quota units.

    `quota_per_unit` is None where the server counts in quota units
    (DisplayInCurrencyEnabled off), else what one USD is in quota units.
    """
    document = _checked(subscription)
    if document.get("object") != "billing_subscription":
        raise NotOffered()
    limit = _amount(document, "hard_limit_usd", "")
    used = _amount(_checked(usage), "total_usage", "") / 100
    scale = Decimal(quota_per_unit or 1)
    unlimited = limit == _UNLIMITED
    return Account(quota=None if unlimited else limit * scale, used_quota=used * scale, request_count=None,
                   expires_at=_expiry(document, "access_until", ""), unlimited=unlimited,
                   source="/v1/dashboard/billing/subscription and /usage",
                   scope="the key's own or the whole account's, by the server's DisplayTokenStatEnabled setting")


def not_offered_problem(url):
    return ("this server offers no key endpoint (%s or %s) at %s: key mode is not available here, use the "
            "AccessToken mode (--token-file) instead" % (TOKEN_USAGE, SUBSCRIPTION, url))



def read(url, key, get, quota_per_usd):
    """(Account, quota units per USD) from the richest key endpoint the server offers.

    `get(url, headers)` returns a Reply. /api/usage/token takes one request; the
    billing pair three, since only the server's public /api/status (asked without
    the key) says whether its amounts are USD or quota units.
    """
    headers = {"Authorization": key if key[:7].lower() == "bearer " else "Bearer " + key}
    for plan in plans(url):
        try:
            if plan.kind == "token_usage":
                found = from_token_usage(get(plan.url, headers))
                if quota_per_usd == "auto":
                    quota_per_usd = quota_per_unit(get(status_url(plan.url), {}))
                return found, quota_per_usd
            subscription = get(plan.url, headers)
            if _not_offered(subscription):
                raise NotOffered()
            currency, ratio = display(get(status_url(plan.url), {}), quota_per_usd == "auto")
            if quota_per_usd == "auto":
                quota_per_usd = ratio
            found = from_billing(subscription, get(usage_url(plan.url), headers),
                                 quota_per_usd if currency else None)
            return found, quota_per_usd
        except NotOffered:
            continue
    raise CheckError(not_offered_problem(public_url(url)))


def display(reply, need_ratio):
    """(amounts in currency?, quota units per USD or None) from /api/status, for the billing pair.

    one-api's DisplayInCurrencyEnabled is on unless an administrator turned it
    off, so a server that does not say is read as counting in USD; new-api's
    quota_display_type may also be CNY, which this check does not convert.
    """
    try:
        document = decode(reply.body) if 200 <= reply.status < 300 else None
    except CheckError:
        document = None
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        if need_ratio:
            quota_per_unit(reply)
        return True, None
    shown = data.get("quota_display_type")
    if isinstance(shown, str) and shown.upper() not in ("USD", "TOKENS"):
        raise CheckError("the server shows its billing amounts in %s, which key mode does not convert: use a "
                         "server with %s, or the AccessToken mode" % (one_line(shown, 20), TOKEN_USAGE))
    currency = data.get("display_in_currency") is not False and shown != "TOKENS"
    return currency, quota_per_unit(reply) if need_ratio else None
